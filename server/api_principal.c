#include "server/api_principal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/db.h"

/* Session: the sessions row must be live (not revoked, not past its absolute end, not idle); last_seen_at is
 * bumped at most every min(30 s, idle / 4) to spare writes. One statement: user, role, scope and session. */
static const char session_sql[] =
	"with live as (select s.id, s.user_id, s.last_seen_at from sessions s where s.id = $2::uuid "
	"and s.revoked_at is null and s.expires_at > now() "
	"and s.last_seen_at > now() - $3::bigint * interval '1 second'), "
	"bump as (update sessions s set last_seen_at = now() from live where s.id = live.id "
	"and live.last_seen_at < now() - least(30, $3::bigint / 4.0) * interval '1 second') "
	"select u.id::text, u.role, case when u.role = 'admin' then null else "
	"coalesce((select array_agg(g.access_group_id order by g.access_group_id) "
	"from user_access_groups g where g.user_id = u.id), '{}')::text end, u.username "
	"from users u join live on live.user_id = u.id where u.username = $1 and not u.disabled";

/* API token: not revoked; last_used_at bumped at most once a minute. Its principal is the token's own role and
 * access groups. */
static const char token_sql[] =
	"with t as (select id, name, role, last_used_at from api_tokens where token_hash = decode($1, 'hex') "
	"and revoked_at is null), "
	"bump as (update api_tokens a set last_used_at = now() from t where a.id = t.id "
	"and (t.last_used_at is null or t.last_used_at < now() - interval '60 seconds')) "
	"select '0', t.role, case when t.role = 'admin' then null else "
	"coalesce((select array_agg(g.access_group_id order by g.access_group_id) "
	"from api_token_access_groups g where g.api_token_id = t.id), '{}')::text end, 'api-token:' || t.name "
	"from t";

bool api_principal_load(struct api_call *c, PGconn *db)
{
	char idle[24];
	const char *params[3] = { c->username, c->sid, idle };
	const char *tparams[1] = { c->token_hash };
	PGresult *res = NULL;
	bool ok = false;

	snprintf(idle, sizeof(idle), "%lld", (long long)c->env->session_idle_sec);
	/* Default deny: only the two kinds of credentials api_auth_session accepted get a principal. */
	if (c->auth == API_AUTHN_TOKEN && c->token_hash[0])
		res = db_exec(db, token_sql, 1, tparams);
	else if ((c->auth == API_AUTHN_BEARER || c->auth == API_AUTHN_COOKIE) && c->sid[0])
		res = db_exec(db, session_sql, 3, params);
	else {
		api_fail(c, 401, "unauthorized", NULL, "authentication required");
		return false;
	}
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
	snprintf(c->username, sizeof(c->username), "%s", PQgetvalue(res, 0, 3));
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
