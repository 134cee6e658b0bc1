#include "server/api_access_groups.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/access_scope.h"
#include "server/db.h"

#define ACCESS_SCOPE_MAX 1000

static const struct http_field create_fields[] = {
	{ "name", HTTP_FT_STRING, HTTP_FF_REQUIRED | HTTP_FF_NO_CTRL, 1, 200 },
	{ "description", HTTP_FT_STRING, 0, 0, 2000 },
	{ "scope", HTTP_FT_ARRAY, HTTP_FF_REQUIRED, 0, ACCESS_SCOPE_MAX },
};
static const struct http_field update_fields[] = {
	{ "name", HTTP_FT_STRING, HTTP_FF_NO_CTRL, 1, 200 },
	{ "description", HTTP_FT_STRING, 0, 0, 2000 },
	{ "scope", HTTP_FT_ARRAY, 0, 0, ACCESS_SCOPE_MAX },
};
const struct http_body_spec api_access_groups_create_body = { create_fields, 3, 0 };
const struct http_body_spec api_access_groups_update_body = { update_fields, 3, 1 };

#define GROUP_JSON                                                                                             \
	"json_build_object('id', g.id, 'name', g.name, 'description', g.description, 'scope', "                 \
	"coalesce((select json_agg(json_build_object('business_unit_id', e.business_unit_id, 'region_id', "     \
	"e.region_id, 'site_id', e.site_id, 'zone_id', e.zone_id) order by e.id) from access_group_entries e "   \
	"where e.access_group_id = g.id), '[]'), 'created_at', " API_TS("g.created_at") ", 'updated_at', "      \
	API_TS("g.updated_at") ")::text"

static bool scope_ok(struct api_call *c)
{
	json_t *scope = json_object_get(c->body, "scope");

	if (!scope || access_scope_check(scope, &c->err) == 0)
		return true;
	c->status = c->err.status;
	return false;
}

/* The group as JSON (new reference), or NULL when it does not exist or on error (*failed then set). */
static json_t *group_json(PGconn *db, const char *id, bool *failed)
{
	const char *params[1] = { id };
	PGresult *res = db_exec(db, "select " GROUP_JSON " from access_groups g where g.id = $1::bigint", 1, params);
	json_t *out = NULL;

	*failed = !res;
	if (res && PQntuples(res) == 1)
		out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	return out;
}

/* Replaces the group's entries with the body's scope. Answers 400 when an entry names a missing object. */
static bool scope_store(struct api_call *c, PGconn *db, const char *id)
{
	json_t *scope = json_object_get(c->body, "scope");
	char *text = scope ? json_dumps(scope, JSON_COMPACT) : NULL;
	const char *params[2] = { id, text };
	char state[6];
	PGresult *res = NULL;
	bool ok = false;

	if (!scope)
		return true;
	if (!text) {
		api_fail(c, 500, "internal", NULL, "internal error");
		return false;
	}
	res = db_exec(db, "delete from access_group_entries where access_group_id = $1::bigint", 1, params);
	if (!res) {
		api_fail_db(c);
		goto out;
	}
	PQclear(res);
	res = db_exec_state(db,
			    "insert into access_group_entries (access_group_id, business_unit_id, region_id, site_id, "
			    "zone_id) select $1::bigint, (e->>'business_unit_id')::bigint, (e->>'region_id')::bigint, "
			    "(e->>'site_id')::bigint, (e->>'zone_id')::bigint from jsonb_array_elements($2::jsonb) e",
			    2, params, state);
	if (!res && strcmp(state, "23503") == 0)
		api_fail(c, 400, "invalid_field", "scope", "field 'scope' names an object that does not exist");
	else if (!res)
		api_fail_db(c);
	else
		ok = true;
out:
	PQclear(res);
	free(text);
	return ok;
}

/* Commits and answers with the group, auditing before (NULL on create) and after. */
static void finish(struct api_call *c, PGconn *db, const char *id, json_t *before, int status, const char *action)
{
	bool failed;

	api_commit_audited(c, db, action, id, before, group_json(db, id, &failed), status);
}

static void write_failed(struct api_call *c, const char *state)
{
	if (strcmp(state, "23505") == 0)
		api_fail(c, 409, "conflict", "name", "an access group with this name already exists");
	else if (strcmp(state, "23514") == 0)
		api_fail(c, 400, "invalid_field", "name", "field 'name' is not valid");
	else
		api_fail_db(c);
}

void api_access_groups_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;

	if (!api_list_params(c, 0, HTTP_ID_INT, &lp))
		return;
	api_list(c, db,
		 "select g.id::text, " GROUP_JSON " from access_groups g where ($1::bigint is null or g.id > $1::bigint) "
		 "order by g.id limit $2::int",
		 &lp, 0, NULL);
}

void api_access_groups_get(struct api_call *c, PGconn *db)
{
	const char *params[1] = { c->param };

	if (api_id_param(c, "access group"))
		api_get_one(c, db, "select " GROUP_JSON " from access_groups g where g.id = $1::bigint", 1, params,
			    "access group");
}

void api_access_groups_create(struct api_call *c, PGconn *db)
{
	const char *params[2] = { api_body_str(c, "name"), api_body_str(c, "description") };
	char state[6], id[24];
	PGresult *res = NULL;

	if (!scope_ok(c))
		return;
	if (!db_begin(db)) {
		api_fail_db(c);
		return;
	}
	res = db_exec_state(db,
			    "insert into access_groups (name, description) values ($1, coalesce($2, '')) returning id",
			    2, params, state);
	if (!res) {
		write_failed(c, state);
		goto out;
	}
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	if (scope_store(c, db, id))
		finish(c, db, id, NULL, 201, "access_group.create");
out:
	PQclear(res);
	db_rollback(db);
}

void api_access_groups_update(struct api_call *c, PGconn *db)
{
	const char *params[3] = { c->param, api_body_str(c, "name"), api_body_str(c, "description") };
	char state[6];
	PGresult *res = NULL;
	json_t *before = NULL;
	bool failed;

	if (!api_id_param(c, "access group") || !scope_ok(c))
		return;
	if (!db_begin(db)) {
		api_fail_db(c);
		return;
	}
	res = db_exec(db, "select 1 from access_groups where id = $1::bigint for update", 1, params);
	if (!res) {
		api_fail_db(c);
		goto out;
	}
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "access group not found");
		goto out;
	}
	before = group_json(db, c->param, &failed);
	PQclear(res);
	res = db_exec_state(db,
			    "update access_groups set name = coalesce($2, name), description = coalesce($3, description), "
			    "updated_at = now() where id = $1::bigint",
			    3, params, state);
	if (!res) {
		write_failed(c, state);
		goto out;
	}
	if (scope_store(c, db, c->param))
		finish(c, db, c->param, before, 200, "access_group.update");
out:
	json_decref(before);
	PQclear(res);
	db_rollback(db);
}

void api_access_groups_delete(struct api_call *c, PGconn *db)
{
	const char *params[1] = { c->param };
	PGresult *res;
	json_t *details;

	if (!api_id_param(c, "access group"))
		return;
	res = db_exec(db, "delete from access_groups g where g.id = $1::bigint returning " GROUP_JSON, 1, params);
	if (!res) {
		api_fail_db(c);
		return;
	}
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "access group not found");
	} else {
		details = json_pack("{s:o*}", "before", json_loads(PQgetvalue(res, 0, 0), 0, NULL));
		api_audit(c, db, "access_group.delete", c->param, details);
		json_decref(details);
		api_ok(c, 204, NULL);
	}
	PQclear(res);
}
