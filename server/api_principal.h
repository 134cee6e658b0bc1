/* Who is calling: the user's id, role and access scope, loaded on the worker for every signed-in request, and
 * the helpers handlers use to keep every query inside that scope. Scope is enforced in SQL with the predicates of
 * sql/002_access.sql (otw_zone_visible, otw_site_visible); an object outside the caller's scope is answered
 * exactly like one that does not exist (404). */
#pragma once
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "server/api_router.h"

/* Worker thread: confirms the session is live (its sessions row is not revoked, idle or past its end; or the
 * API token is not revoked), that its user still exists and is enabled, and reads its id, role (a demoted
 * user loses rights at once) and access groups into c->user_id, c->role and c->scope (NULL for admins, the
 * group ids otherwise; a non-admin in no group gets "{}" and sees nothing). Answers 401 or 500 and returns false
 * otherwise. */
bool api_principal_load(struct api_call *c, PGconn *db) __attribute__((warn_unused_result));

/* The caller's scope parameter for `$N::bigint[]`: NULL when unrestricted. */
static inline const char *api_scope(const struct api_call *c)
{
	return c->scope;
}

/* Worker thread: 1 when the zone (site) with this decimal id exists inside the caller's scope, 0 when not,
 * -1 on a database error. */
int api_zone_visible(struct api_call *c, PGconn *db, const char *zone_id) __attribute__((warn_unused_result));
int api_site_visible(struct api_call *c, PGconn *db, const char *site_id) __attribute__((warn_unused_result));

/* Access level of a route as the API documents it: "public", "admin", "analyst" or "session". */
const char *api_route_access(unsigned flags);
/* "GET", "POST", ... for one enum api_method bit. */
const char *api_method_text(unsigned method);

/* GET /api/v1/meta/routes (admins): the server's route table, [{"method","pattern","access"}]. */
void api_meta_routes(struct api_call *c, PGconn *db);
