/* Sensor settings (docs/architecture.md "Sensor settings"): a zone's document and a sensor's own, which overrides
 * it. PUT replaces the document and is audited; every change reaches the connected sensors as a `config` message
 * (server/config_push.c, through the database's notification). Scoped like the zone or sensor itself.
 *
 *   GET/PUT /api/v1/zones/{id}/settings     the zone's: all four members, empty when unset
 *   GET/PUT /api/v1/sensors/{id}/settings   the sensor's own: a null member inherits the zone's
 *   GET     /api/v1/sensors/{id}/settings/effective   what the sensor gets (the `config` message's settings) */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

extern const struct http_body_spec api_settings_body;

void api_zone_settings_get(struct api_call *c, PGconn *db);
void api_zone_settings_put(struct api_call *c, PGconn *db);
void api_sensor_settings_get(struct api_call *c, PGconn *db);
void api_sensor_settings_put(struct api_call *c, PGconn *db);
void api_sensor_settings_effective(struct api_call *c, PGconn *db);
