/* Saved views of the web UI (sql/018_saved_views.sql): a named set of query parameters (filters, sorting,
 * columns) for one page, inventory, alerts or map, owned by the user who saved it and optionally shared with
 * every user. Every signed-in role has its own; a view never carries data, so a shared one shows each user only
 * what their scope allows. */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

extern const struct http_body_spec api_saved_views_create_body;
extern const struct http_body_spec api_saved_views_update_body;

/* GET /api/v1/saved-views[?page=inventory|alerts|map] -> {"items":[{"id","page","name","query","shared","owner",
 * "mine","created_at","updated_at"}]}: the caller's views and the shared ones whose owner saw, when last saving,
 * no zone the caller cannot see (a shared view reveals its owner, ids and search terms), by page then name. */
void api_saved_views_list(struct api_call *c, PGconn *db);
/* POST /api/v1/saved-views {"page","name","query":{param: string | [string...]},"shared"?} -> 201 the view;
 * 409 `name` when the caller already has a view of that name on that page; 403 `shared` for a read-only user
 * sharing (only analysts and admins share). */
void api_saved_views_create(struct api_call *c, PGconn *db);
/* PATCH /api/v1/saved-views/{id} {"name"?,"query"?,"shared"?}: the owner's only (404 for anybody else). */
void api_saved_views_update(struct api_call *c, PGconn *db);
/* DELETE /api/v1/saved-views/{id}: the owner, or an admin for a shared view (204). */
void api_saved_views_delete(struct api_call *c, PGconn *db);

/* Checks a view's `query`: an object of at most 40 parameters named [a-z0-9_]{1,64}, each a string of at most
 * 1024 bytes or an array of at most 64 such strings, 16 KiB in all. On failure writes the reason to why. */
bool saved_view_query_ok(const json_t *q, char *why, size_t whylen);
