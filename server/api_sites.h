/* Sites and zones: /api/v1/sites[/{id}] and /api/v1/zones[/{id}] (list, get, create, update, delete).
 * Handlers run on worker threads (api_router.h). */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

extern const struct http_body_spec api_sites_create_body, api_sites_update_body;
extern const struct http_body_spec api_zones_create_body, api_zones_update_body;

void api_sites_list(struct api_call *c, PGconn *db);
void api_sites_get(struct api_call *c, PGconn *db);
void api_sites_create(struct api_call *c, PGconn *db);
void api_sites_update(struct api_call *c, PGconn *db);
void api_sites_delete(struct api_call *c, PGconn *db);

void api_zones_list(struct api_call *c, PGconn *db);
void api_zones_get(struct api_call *c, PGconn *db);
void api_zones_create(struct api_call *c, PGconn *db);
void api_zones_update(struct api_call *c, PGconn *db);
void api_zones_delete(struct api_call *c, PGconn *db);
