/* Connections: /api/v1/connections[/{id}], filtered by site_id, zone_id and sensor_id and always by the caller's
 * scope. A connection's counters are the largest of its sensors' totals (two sensors on one link see the same
 * packets); its function codes are the union of what its sensors reported; src/dst are the devices that hold its
 * addresses. The device routes are in api_devices.h. */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

void api_connections_list(struct api_call *c, PGconn *db);
void api_connections_get(struct api_call *c, PGconn *db);
