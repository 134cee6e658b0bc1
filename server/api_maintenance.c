#include "server/api_maintenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timefmt.h"
#include "server/api_exclusions.h"
#include "server/api_external.h"
#include "server/api_principal.h"
#include "server/audit.h"
#include "server/db.h"

#define TTL_MIN 60
#define TTL_MAX 2592000                        /* 30 days */
#define STARTS_AHEAD_MAX (365LL * 86400 * 1000000) /* a window may be scheduled up to a year ahead */

static const struct http_field create_fields[] = {
	{ "name", HTTP_FT_STRING, HTTP_FF_REQUIRED | HTTP_FF_NO_CTRL, 1, 200 },
	{ "ttl_seconds", HTTP_FT_ANY, HTTP_FF_REQUIRED, 0, 0 },
	{ "zone_id", HTTP_FT_ID, HTTP_FF_NULLABLE, 0, 0 },
	{ "site_id", HTTP_FT_ID, HTTP_FF_NULLABLE, 0, 0 },
	{ "sensor_id", HTTP_FT_ANY, HTTP_FF_NULLABLE, 0, 0 },
	{ "starts_at", HTTP_FT_STRING, HTTP_FF_NULLABLE, 1, 64 },
};
const struct http_body_spec api_maintenance_create_body = { create_fields, 6, 0 };

/* ticket_id, engines, sensor_ids and subnets: the conditions of a window made through /external/v1/maintenanceWindow
 * (sql/015_external.sql; null for windows made here). */
#define WINDOW_JSON_OF(w)                                                                                      \
	"json_build_object('id', " w ".id, 'name', " w ".name, 'zone_id', " w ".zone_id, 'site_id', " w          \
	".site_id, 'sensor_id', " w ".sensor_id, 'ticket_id', " w ".ticket_id, 'engines', " w ".engines, "     \
	"'sensor_ids', " w ".sensor_ids, 'subnets', (select array_agg(n::text order by n) from unnest(" w        \
	".subnets) n), 'starts_at', " API_TS(w ".starts_at") ", 'expires_at', "                                  \
	API_TS(w ".expires_at") ", 'active', " w ".starts_at <= now() and now() < " w ".expires_at, "            \
	"'suppressed_count', " w ".suppressed_count, 'last_suppressed_at', " API_TS(w ".last_suppressed_at")     \
	", 'created_by', " w ".created_by, 'created_at', " API_TS(w ".created_at") ")::text"
#define WINDOW_JSON WINDOW_JSON_OF("w")
/* Windows a caller sees: in scope ($N; a window on sensor_ids when every sensor it names is), and not expired for
 * more than 30 days (those wait for the purge). */
#define WINDOW_VISIBLE(n)                                                                                      \
	"otw_window_visible($" n "::bigint[], w.zone_id, w.site_id, w.sensor_id, w.sensor_ids) "                \
	"and w.expires_at >= now() - interval '30 days'"

/* `active` (not a shared list filter): "true", "false" or "" (absent) into active; false (400 answered) otherwise. */
static bool active_query(struct api_call *c, char *rest, size_t restlen, char active[1][API_QUERY_VALUE_MAX])
{
	static const char *const names[] = { "active" };

	if (!api_query_take(c, names, 1, active, rest, restlen))
		return false;
	if (active[0][0] && strcmp(active[0], "true") != 0 && strcmp(active[0], "false") != 0) {
		api_fail(c, 400, "invalid_query", "active", "active must be true or false");
		return false;
	}
	return true;
}

void api_maintenance_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;
	char rest[4096 + 1], active[1][API_QUERY_VALUE_MAX], *saved = c->query;
	const char *extra[5];
	bool ok;

	if (!active_query(c, rest, sizeof(rest), active))
		return;
	c->query = rest;
	ok = api_list_params(c, HTTP_FILTER_SITE_ID | HTTP_FILTER_ZONE_ID | HTTP_FILTER_SENSOR_ID, HTTP_ID_INT, &lp);
	c->query = saved;
	if (!ok)
		return;
	extra[0] = api_scope(c);
	extra[1] = active[0];
	extra[2] = lp.zone_id;
	extra[3] = lp.site_id;
	extra[4] = lp.sensor_id;
	api_list(c, db,
		 "select w.id::text, " WINDOW_JSON " from maintenance_windows w "
		 "where ($1::bigint is null or w.id > $1::bigint) and " WINDOW_VISIBLE("3") " "
		 "and ($4::boolean is null or (w.starts_at <= now() and now() < w.expires_at) = $4::boolean) "
		 "and ($5::bigint is null or w.zone_id = $5::bigint) and ($6::bigint is null or w.site_id = $6::bigint) "
		 "and ($7::uuid is null or w.sensor_id = $7::uuid or $7::uuid = any (w.sensor_ids)) "
		 "order by w.id limit $2::int",
		 &lp, 5, extra);
}

void api_maintenance_get(struct api_call *c, PGconn *db)
{
	const char *params[2] = { c->param, api_scope(c) };

	if (api_id_param(c, "maintenance window"))
		api_get_one(c, db,
			    "select " WINDOW_JSON " from maintenance_windows w where w.id = $1::bigint and "
			    WINDOW_VISIBLE("2"),
			    2, params, "maintenance window");
}

/* Windows that expired more than 30 days ago go; the console's own housekeeping, audited without a user. Declared
 * in server/api_external.h (POST /external/v1/maintenanceWindow purges as well). */
bool api_maintenance_purge_expired(PGconn *db)
{
	PGresult *res = db_exec(db, "select to_json(otw_suppression_purge())::text", 0, NULL);
	json_t *details;

	if (!res)
		return false;
	if (strcmp(PQgetvalue(res, 0, 0), "[]") != 0) {
		details = json_pack("{s:o}", "ids", json_loads(PQgetvalue(res, 0, 0), 0, NULL));
		if (audit_write(db, NULL, NULL, "maintenance_window.purge", NULL, details) != 0)
			log_warn("api: audit write failed for maintenance_window.purge");
		json_decref(details);
	}
	PQclear(res);
	return true;
}

/* Checks ttl_seconds, sensor_id and starts_at; writes the TTL as text. Answers 400 and returns false otherwise. */
static bool create_body_ok(struct api_call *c, char ttl[16])
{
	json_t *v = json_object_get(c->body, "ttl_seconds");
	const char *starts = api_body_str(c, "starts_at");
	int64_t at, now = timefmt_now_usec();

	if (!json_is_integer(v) || json_integer_value(v) < TTL_MIN || json_integer_value(v) > TTL_MAX) {
		api_fail(c, 400, "invalid_field", "ttl_seconds",
			 "field 'ttl_seconds' must be an integer from %d (1 minute) to %d (30 days)", TTL_MIN, TTL_MAX);
		return false;
	}
	snprintf(ttl, 16, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	v = json_object_get(c->body, "sensor_id");
	if (v && !json_is_null(v) && !(json_is_string(v) && http_id_is_uuid(json_string_value(v)))) {
		api_fail(c, 400, "invalid_field", "sensor_id", "field 'sensor_id' must be a sensor id (UUID) or null");
		return false;
	}
	if (!starts)
		return true;
	if (!timefmt_parse_rfc3339(starts, &at)) {
		api_fail(c, 400, "invalid_field", "starts_at", "field 'starts_at' must be an RFC 3339 time");
		return false;
	}
	if (at + json_integer_value(json_object_get(c->body, "ttl_seconds")) * 1000000 <= now) {
		api_fail(c, 400, "invalid_field", "starts_at", "field 'starts_at' puts the whole window in the past");
		return false;
	}
	if (at > now + STARTS_AHEAD_MAX) {
		api_fail(c, 400, "invalid_field", "starts_at", "field 'starts_at' must be at most a year ahead");
		return false;
	}
	return true;
}

void api_maintenance_create(struct api_call *c, PGconn *db)
{
	char zone[24], site[24], ttl[16];
	const char *zone_id = api_body_id(c, "zone_id", zone), *site_id = api_body_id(c, "site_id", site);
	const char *sensor = api_body_str(c, "sensor_id");
	const char *params[7];
	PGresult *res = NULL;
	int scopes = (zone_id != NULL) + (site_id != NULL) + (sensor != NULL);

	if (!create_body_ok(c, ttl))
		return;
	if (scopes > 1) {
		api_fail(c, 400, "invalid_field", sensor ? "sensor_id" : "site_id",
			 "set only one of zone_id, site_id and sensor_id");
		return;
	}
	if (!api_suppression_refs_ok(c, db, zone_id, site_id, sensor) || !api_suppression_global_ok(c, scopes == 0))
		return;
	params[0] = api_body_str(c, "name");
	params[1] = zone_id;
	params[2] = site_id;
	params[3] = sensor;
	params[4] = api_body_str(c, "starts_at");
	params[5] = ttl;
	params[6] = c->username;
	if (!db_begin(db) || !api_maintenance_purge_expired(db))
		goto fail;
	res = db_exec(db,
		      "insert into maintenance_windows as w (name, zone_id, site_id, sensor_id, starts_at, expires_at, "
		      "created_by) select $1, $2::bigint, $3::bigint, $4::uuid, t.at, t.at + $6::int * interval '1 second', "
		      "$7 from (select coalesce($5::timestamptz, now()) at) t returning w.id::text, " WINDOW_JSON,
		      7, params);
	if (!res)
		goto fail;
	api_commit_audited(c, db, "maintenance_window.create", PQgetvalue(res, 0, 0), NULL,
			   json_loads(PQgetvalue(res, 0, 1), 0, NULL), 201);
	goto out;
fail:
	api_fail_db(c);
out:
	db_rollback(db);
	PQclear(res);
}

void api_maintenance_delete(struct api_call *c, PGconn *db)
{
	const char *params[2] = { c->param, api_scope(c) };
	PGresult *res = NULL;
	json_t *before = NULL;

	if (!api_id_param(c, "maintenance window"))
		return;
	if (!db_begin(db))
		goto fail;
	res = db_exec(db,
		      "select " WINDOW_JSON ", w.expires_at <= now() from maintenance_windows w where w.id = $1::bigint "
		      "and " WINDOW_VISIBLE("2") " for update",
		      2, params);
	if (!res)
		goto fail;
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "maintenance window not found");
		goto out;
	}
	before = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	if (PQgetvalue(res, 0, 1)[0] == 't') {
		/* Over already: nothing to end, nothing to audit. */
		api_ok(c, 200, before);
		before = NULL;
		goto out;
	}
	PQclear(res);
	res = db_exec(db, "update maintenance_windows w set expires_at = now() where w.id = $1::bigint returning "
		      WINDOW_JSON, 1, params);
	if (!res || !before)
		goto fail;
	api_commit_audited(c, db, "maintenance_window.end", c->param, before, json_loads(PQgetvalue(res, 0, 0), 0, NULL),
			   200);
	goto out;
fail:
	api_fail_db(c);
out:
	db_rollback(db);
	PQclear(res);
	json_decref(before);
}
