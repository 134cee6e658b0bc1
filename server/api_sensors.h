/* Sensors: /api/v1/sensors[/{id}]. Create returns the activation document (it holds the one-time
 * enrollment token); PATCH places a sensor in a zone (moving an unassigned sensor's inventory into the zone's
 * merge scope); DELETE revokes it and drops its gateway connection. */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

extern const struct http_body_spec api_sensors_create_body, api_sensors_update_body;

void api_sensors_list(struct api_call *c, PGconn *db);
void api_sensors_get(struct api_call *c, PGconn *db);
void api_sensors_create(struct api_call *c, PGconn *db);
void api_sensors_update(struct api_call *c, PGconn *db);
void api_sensors_delete(struct api_call *c, PGconn *db);

/* Moves everything in merge scope `from` ('s:<sensor>') into `to` ('z:<zone>', zone id `zone_id`), merging
 * devices and connections whose key already exists there. Runs inside the caller's transaction. */
int api_sensors_move_scope(PGconn *db, const char *from, const char *to, const char *zone_id)
	__attribute__((warn_unused_result));
