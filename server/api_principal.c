#include "server/api_principal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/db.h"

bool api_principal_load(struct api_call *c, PGconn *db)
{
	const char *params[1] = { c->username };
	PGresult *res = db_exec(db,
				"select u.id::text, u.role, case when u.role = 'admin' then null else "
				"coalesce((select array_agg(g.access_group_id order by g.access_group_id) "
				"from user_access_groups g where g.user_id = u.id), '{}')::text end "
				"from users u where u.username = $1 and not u.disabled",
				1, params);
	bool ok = false;

	if (!res) {
		api_fail_db(c);
		return false;
	}
	if (PQntuples(res) != 1) {
		api_fail(c, 401, "unauthorized", NULL, "authentication required");
		goto out;
	}
	snprintf(c->user_id, sizeof(c->user_id), "%s", PQgetvalue(res, 0, 0));
	snprintf(c->role, sizeof(c->role), "%s", PQgetvalue(res, 0, 1));
	free(c->scope);
	c->scope = NULL;
	if (!PQgetisnull(res, 0, 2) && !(c->scope = strdup(PQgetvalue(res, 0, 2)))) {
		api_fail(c, 500, "internal", NULL, "internal error");
		goto out;
	}
	ok = true;
out:
	PQclear(res);
	return ok;
}

static int visible(struct api_call *c, PGconn *db, const char *sql, const char *id)
{
	const char *params[2] = { id, api_scope(c) };
	PGresult *res = db_exec(db, sql, 2, params);
	int rc;

	if (!res)
		return -1;
	rc = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return rc;
}

int api_zone_visible(struct api_call *c, PGconn *db, const char *zone_id)
{
	return visible(c, db,
		       "select exists (select 1 from zones where id = $1::bigint) "
		       "and otw_zone_visible($2::bigint[], $1::bigint)",
		       zone_id);
}

int api_site_visible(struct api_call *c, PGconn *db, const char *site_id)
{
	return visible(c, db,
		       "select exists (select 1 from sites where id = $1::bigint) "
		       "and otw_site_visible($2::bigint[], $1::bigint)",
		       site_id);
}

const char *api_route_access(unsigned flags)
{
	if (flags & API_R_PUBLIC)
		return "public";
	if (flags & API_R_ADMIN)
		return "admin";
	if (flags & API_R_ANALYST)
		return "analyst";
	return "session";
}

const char *api_method_text(unsigned method)
{
	switch (method) {
	case API_GET: return "GET";
	case API_POST: return "POST";
	case API_PATCH: return "PATCH";
	case API_DELETE: return "DELETE";
	case API_PUT: return "PUT";
	default: return "OTHER";
	}
}

void api_meta_routes(struct api_call *c, PGconn *db)
{
	size_t n;
	const struct api_route *tbl = api_routes(&n);
	json_t *items = json_array();

	(void)db;
	for (size_t i = 0; items && i < n; i++) {
		for (unsigned m = API_GET; m <= API_PUT; m <<= 1) {
			if (!(tbl[i].method & m))
				continue;
			if (json_array_append_new(items, json_pack("{s:s, s:s, s:s}", "method", api_method_text(m),
								   "pattern", tbl[i].pattern, "access",
								   api_route_access(tbl[i].flags))) != 0) {
				json_decref(items);
				items = NULL;
				break;
			}
		}
	}
	api_ok(c, 200, items ? json_pack("{s:o}", "items", items) : NULL);
}
