/* Inventory: /api/v1/devices[/{id}] and /api/v1/connections[/{id}], filtered by site_id, zone_id and
 * sensor_id and always by the caller's scope; PATCH /api/v1/devices/{id} {"name": str|null} sets the name people
 * give a device (analysts and admins; ingest never touches it). Addresses and protocols of a device are the union over the sensors that see it; a connection's
 * counters are the largest of its sensors' totals (two sensors on one link see the same packets). */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

void api_devices_list(struct api_call *c, PGconn *db);
void api_devices_get(struct api_call *c, PGconn *db);
void api_devices_update(struct api_call *c, PGconn *db);

extern const struct http_body_spec api_devices_update_body;
void api_connections_list(struct api_call *c, PGconn *db);
void api_connections_get(struct api_call *c, PGconn *db);
