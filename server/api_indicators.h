/* Indicator bundles for the sensors' malware engine (docs/alerts.md "Malware indicators"); admins only, since
 * every sensor gets them.
 *
 *   GET    /api/v1/indicator-bundles                 the bundles, without their indicators
 *   POST   /api/v1/indicator-bundles                 {"name", "version", "indicators": [...]}: import (the same
 *                                                    name replaces); 201 new, 200 replaced
 *   GET    /api/v1/indicator-bundles/{id}            one bundle with its indicators
 *   PATCH  /api/v1/indicator-bundles/{id}            {"enabled": bool}
 *   DELETE /api/v1/indicator-bundles/{id}
 *
 * A bundle is checked with the sensors' own parser (sensor-agent/indicators.c): a 400 names the field. */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

extern const struct http_body_spec api_indicators_import_body, api_indicators_update_body;

void api_indicators_list(struct api_call *c, PGconn *db);
void api_indicators_get(struct api_call *c, PGconn *db);
void api_indicators_import(struct api_call *c, PGconn *db);
void api_indicators_update(struct api_call *c, PGconn *db);
void api_indicators_delete(struct api_call *c, PGconn *db);
