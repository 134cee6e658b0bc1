#include "server/api_indicators.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sensor-agent/indicators.h"
#include "server/db.h"

/* The members are checked by indicators_parse, the sensors' own parser. */
static const struct http_field import_fields[] = {
	{ "name", HTTP_FT_ANY, HTTP_FF_REQUIRED, 0, 0 },
	{ "version", HTTP_FT_ANY, HTTP_FF_REQUIRED, 0, 0 },
	{ "indicators", HTTP_FT_ANY, HTTP_FF_REQUIRED, 0, 0 },
};
static const struct http_field update_fields[] = {
	{ "enabled", HTTP_FT_BOOL, HTTP_FF_REQUIRED, 0, 0 },
};
const struct http_body_spec api_indicators_import_body = { import_fields, 3, 0 };
const struct http_body_spec api_indicators_update_body = { update_fields, 1, 0 };

#define BUNDLE_FIELDS                                                                                          \
	"'id', b.id, 'name', b.name, 'version', b.version, 'count', b.count, 'enabled', b.enabled, "            \
	"'imported_by', b.imported_by, 'imported_at', " API_TS("b.imported_at") ", 'updated_at', "               \
	API_TS("b.updated_at")

void api_indicators_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;

	if (!api_list_params(c, 0, HTTP_ID_INT, &lp))
		return;
	api_list(c, db,
		 "select b.id::text, json_build_object(" BUNDLE_FIELDS ")::text from indicator_bundles b "
		 "where ($1::bigint is null or b.id > $1::bigint) order by b.id limit $2::int",
		 &lp, 0, NULL);
}

void api_indicators_get(struct api_call *c, PGconn *db)
{
	const char *params[1] = { c->param };

	if (!api_id_param(c, "indicator bundle"))
		return;
	api_get_one(c, db,
		    "select json_build_object(" BUNDLE_FIELDS ", 'indicators', b.indicators)::text "
		    "from indicator_bundles b where b.id = $1::bigint",
		    1, params, "indicator bundle");
}

/* "indicators[3].value: not an IP address" -> field "indicators[3].value". */
static void parse_error(struct api_call *c, const char *err)
{
	char field[96];
	const char *colon = strstr(err, ": ");
	size_t n = colon ? (size_t)(colon - err) : 0;

	if (n == 0 || n >= sizeof(field)) {
		api_fail(c, 400, "invalid_field", NULL, "%s", err);
		return;
	}
	memcpy(field, err, n);
	field[n] = '\0';
	api_fail(c, 400, "invalid_field", field, "%s", err);
}

void api_indicators_import(struct api_call *c, PGconn *db)
{
	struct indicators *ind = NULL;
	char err[256], count[24];
	char *list = NULL;
	const char *params[5];
	PGresult *res = NULL;
	json_t *after = NULL;
	int status;

	if (indicators_parse(c->body, &ind, err, sizeof(err)) < 0) {
		parse_error(c, err);
		return;
	}
	snprintf(count, sizeof(count), "%zu", indicators_count(ind));
	indicators_free(ind);
	if (!(list = json_dumps(json_object_get(c->body, "indicators"), JSON_COMPACT))) {
		api_fail(c, 500, "internal", NULL, "out of memory");
		return;
	}
	params[0] = json_string_value(json_object_get(c->body, "name"));
	params[1] = json_string_value(json_object_get(c->body, "version"));
	params[2] = list;
	params[3] = count;
	params[4] = c->username;
	if (!db_begin(db)) {
		api_fail_db(c);
		goto out;
	}
	/* xmax = 0: the row was inserted, not updated (a replaced bundle keeps its id). */
	res = db_exec(db,
		      "insert into indicator_bundles as o (name, version, indicators, count, imported_by) "
		      "values ($1, $2, $3::jsonb, $4::int, $5) on conflict (name) do update set "
		      "version = excluded.version, indicators = excluded.indicators, count = excluded.count, "
		      "imported_by = excluded.imported_by, imported_at = now(), updated_at = now() "
		      "returning (xmax = 0)::text, json_build_object('id', o.id, 'name', o.name, 'version', o.version, "
		      "'count', o.count, 'enabled', o.enabled, 'imported_by', o.imported_by, 'imported_at', "
		      API_TS("o.imported_at") ", 'updated_at', " API_TS("o.updated_at") ")::text",
		      5, params);
	if (!res || PQntuples(res) != 1 || !(after = json_loads(PQgetvalue(res, 0, 1), 0, NULL))) {
		api_fail_db(c);
		goto out;
	}
	status = strcmp(PQgetvalue(res, 0, 0), "true") == 0 ? 201 : 200;
	api_commit_audited(c, db, "indicator_bundle.import", json_string_value(json_object_get(after, "name")), NULL,
			   after, status);
	after = NULL;
out:
	json_decref(after);
	PQclear(res);
	free(list);
	db_rollback(db);
}

void api_indicators_update(struct api_call *c, PGconn *db)
{
	const char *params[2] = { c->param, json_is_true(json_object_get(c->body, "enabled")) ? "true" : "false" };
	PGresult *res;
	json_t *after;

	if (!api_id_param(c, "indicator bundle"))
		return;
	if (!db_begin(db)) {
		api_fail_db(c);
		return;
	}
	res = db_exec(db,
		      "update indicator_bundles b set enabled = $2::boolean, updated_at = now() where b.id = $1::bigint "
		      "returning json_build_object(" BUNDLE_FIELDS ")::text",
		      2, params);
	if (!res) {
		api_fail_db(c);
	} else if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "indicator bundle not found");
	} else if (!(after = json_loads(PQgetvalue(res, 0, 0), 0, NULL))) {
		api_fail(c, 500, "internal", NULL, "out of memory");
	} else {
		api_commit_audited(c, db, "indicator_bundle.update", c->param, NULL, after, 200);
	}
	PQclear(res);
	db_rollback(db);
}

void api_indicators_delete(struct api_call *c, PGconn *db)
{
	const char *params[1] = { c->param };
	PGresult *res;

	if (!api_id_param(c, "indicator bundle"))
		return;
	res = db_exec(db, "delete from indicator_bundles where id = $1::bigint returning name", 1, params);
	if (!res) {
		api_fail_db(c);
		return;
	}
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "indicator bundle not found");
	} else {
		json_t *details = json_pack("{s:s}", "name", PQgetvalue(res, 0, 0));
		api_audit(c, db, "indicator_bundle.delete", c->param, details);
		json_decref(details);
		api_ok(c, 204, NULL);
	}
	PQclear(res);
}
