/* Access groups: /api/v1/access-groups[/{id}] (admins). A group is a name, a description and a list of scope
 * entries (sql/002_access.sql); PATCH with "scope" replaces the whole list. Every change is audited with the
 * group before and after. Handlers run on worker threads (api_router.h). */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

extern const struct http_body_spec api_access_groups_create_body, api_access_groups_update_body;

void api_access_groups_list(struct api_call *c, PGconn *db);
void api_access_groups_get(struct api_call *c, PGconn *db);
void api_access_groups_create(struct api_call *c, PGconn *db);
void api_access_groups_update(struct api_call *c, PGconn *db);
void api_access_groups_delete(struct api_call *c, PGconn *db);
