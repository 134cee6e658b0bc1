/* The top of the hierarchy: /api/v1/business-units[/{id}] and /api/v1/regions[/{id}] (list, get, create,
 * update, delete). A business unit or region is visible to a scoped caller when one of its access group entries
 * names it (or, for a region, its business unit alone) or when one of its sites is visible. Deleting one that
 * regions or sites still reference answers 409. Handlers run on worker threads (api_router.h). */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

extern const struct http_body_spec api_business_units_create_body, api_business_units_update_body;
extern const struct http_body_spec api_regions_create_body, api_regions_update_body;

void api_business_units_list(struct api_call *c, PGconn *db);
void api_business_units_get(struct api_call *c, PGconn *db);
void api_business_units_create(struct api_call *c, PGconn *db);
void api_business_units_update(struct api_call *c, PGconn *db);
void api_business_units_delete(struct api_call *c, PGconn *db);

void api_regions_list(struct api_call *c, PGconn *db);
void api_regions_get(struct api_call *c, PGconn *db);
void api_regions_create(struct api_call *c, PGconn *db);
void api_regions_update(struct api_call *c, PGconn *db);
void api_regions_delete(struct api_call *c, PGconn *db);
