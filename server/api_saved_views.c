#include "server/api_saved_views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_principal.h"
#include "server/db.h"

#define QUERY_PARAMS_MAX 40
#define QUERY_VALUES_MAX 64
#define QUERY_VALUE_BYTES 1024
#define QUERY_TOTAL_BYTES (16 * 1024)

static const struct http_field create_fields[] = {
	{ "page", HTTP_FT_STRING, HTTP_FF_REQUIRED, 1, 16 },
	{ "name", HTTP_FT_STRING, HTTP_FF_REQUIRED | HTTP_FF_NO_CTRL, 1, 100 },
	{ "query", HTTP_FT_ANY, HTTP_FF_REQUIRED, 0, 0 },
	{ "shared", HTTP_FT_BOOL, 0, 0, 0 },
};
const struct http_body_spec api_saved_views_create_body = { create_fields, 4, 0 };
static const struct http_field update_fields[] = {
	{ "name", HTTP_FT_STRING, HTTP_FF_NO_CTRL, 1, 100 },
	{ "query", HTTP_FT_ANY, 0, 0, 0 },
	{ "shared", HTTP_FT_BOOL, 0, 0, 0 },
};
const struct http_body_spec api_saved_views_update_body = { update_fields, 3, 1 };

/* The zones the saving user sees (scope parameter `p`: access group ids, NULL when unrestricted), kept with the
 * view as they are at the save. */
#define OWNER_ZONES(p)                                                                                          \
	"case when " p "::bigint[] is null then null else array(select z.id from zones z where "                   \
	"otw_zone_visible(" p "::bigint[], z.id) order by z.id) end"
/* $1 is the caller's user name. */
#define VIEW_JSON                                                                                              \
	"json_build_object('id', v.id, 'page', v.page, 'name', v.name, 'query', v.query, 'shared', v.shared, "   \
	"'owner', v.owner, 'mine', v.owner = $1, 'created_at', " API_TS("v.created_at") ", "                    \
	"'updated_at', " API_TS("v.updated_at") ")::text"

static bool page_ok(const char *p)
{
	return p && (strcmp(p, "inventory") == 0 || strcmp(p, "alerts") == 0 || strcmp(p, "map") == 0);
}

static bool name_ok(const char *k)
{
	size_t n = strlen(k);

	return n >= 1 && n <= 64 && strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static bool value_ok(const json_t *v)
{
	return json_is_string(v) && json_string_length(v) <= QUERY_VALUE_BYTES;
}

bool saved_view_query_ok(const json_t *q, char *why, size_t whylen)
{
	const char *k;
	json_t *v;
	char *text;
	size_t total;

	if (!json_is_object(q)) {
		snprintf(why, whylen, "field 'query' must be an object of query parameters");
		return false;
	}
	if (json_object_size(q) > QUERY_PARAMS_MAX) {
		snprintf(why, whylen, "field 'query' has more than %d parameters", QUERY_PARAMS_MAX);
		return false;
	}
	json_object_foreach((json_t *)q, k, v) {
		bool ok = name_ok(k);
		if (ok && json_is_array(v)) {
			size_t i;
			json_t *e;
			ok = json_array_size(v) <= QUERY_VALUES_MAX;
			json_array_foreach(v, i, e) ok = ok && value_ok(e);
		} else if (ok) {
			ok = value_ok(v);
		}
		if (!ok) {
			snprintf(why, whylen,
				 "field 'query': each parameter needs a name of [a-z0-9_] (at most 64) and a string value "
				 "(or a list of at most %d) of at most %d bytes",
				 QUERY_VALUES_MAX, QUERY_VALUE_BYTES);
			return false;
		}
	}
	text = json_dumps(q, JSON_COMPACT);
	total = text ? strlen(text) : QUERY_TOTAL_BYTES + 1;
	free(text);
	if (total > QUERY_TOTAL_BYTES) {
		snprintf(why, whylen, "field 'query' is larger than %d bytes", QUERY_TOTAL_BYTES);
		return false;
	}
	return true;
}

static bool query_checked(struct api_call *c)
{
	json_t *q = json_object_get(c->body, "query");
	char why[200];

	if (!q || saved_view_query_ok(q, why, sizeof(why)))
		return true;
	api_fail(c, 400, "invalid_field", "query", "%s", why);
	return false;
}

static bool id_ok(struct api_call *c)
{
	size_t n = strlen(c->param);

	if (n >= 1 && n <= 18 && strspn(c->param, "0123456789") == n)
		return true;
	api_fail(c, 404, "not_found", NULL, "saved view not found");
	return false;
}

/* Only analysts and admins share: a read-only user's shared view would be listed to admins. */
static bool share_ok(struct api_call *c)
{
	if (!json_is_true(json_object_get(c->body, "shared")) || strcmp(c->role, "read_only") != 0)
		return true;
	api_fail(c, 403, "forbidden", "shared", "read-only users cannot share views");
	return false;
}

static void write_failed(struct api_call *c, const char *state)
{
	if (strcmp(state, "23505") == 0)
		api_fail(c, 409, "conflict", "name", "you already have a saved view of this name on this page");
	else
		api_fail_db(c);
}

void api_saved_views_list(struct api_call *c, PGconn *db)
{
	static const char *const names[] = { "page" };
	char rest[1024], page[1][API_QUERY_VALUE_MAX];
	const char *params[3];
	PGresult *res;
	json_t *items;

	if (!api_query_take(c, names, 1, page, rest, sizeof(rest)))
		return;
	if (rest[0]) {
		api_fail(c, 400, "invalid_query", NULL, "only the query parameter 'page' is accepted");
		return;
	}
	if (page[0][0] && !page_ok(page[0])) {
		api_fail(c, 400, "invalid_query", "page", "page must be inventory, alerts or map");
		return;
	}
	params[0] = c->username;
	params[1] = page[0][0] ? page[0] : NULL;
	params[2] = api_scope(c);
	/* Another user's shared view only when the caller sees every zone its owner saw when saving it ($3 null:
	 * unrestricted; an unrestricted owner's views reach unrestricted users only, an owner who saw nothing shares
	 * nothing). */
	res = db_exec(db,
		      "select coalesce(json_agg(x.j order by x.page, x.name, x.id), '[]')::text from "
		      "(select v.id, v.page, v.name, (" VIEW_JSON ")::json j from saved_views v "
		      "where (v.owner = $1 or (v.shared and ($3::bigint[] is null or (cardinality(v.owner_zones) > 0 "
		      "and v.owner_zones <@ array(select z.id from zones z where otw_zone_visible($3::bigint[], z.id))))))"
		      " and ($2::text is null or v.page = $2)) x",
		      3, params);
	if (!res || PQntuples(res) != 1) {
		PQclear(res);
		api_fail_db(c);
		return;
	}
	items = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	api_ok(c, 200, items ? json_pack("{s:o}", "items", items) : NULL);
}

void api_saved_views_create(struct api_call *c, PGconn *db)
{
	const char *page = api_body_str(c, "page");
	json_t *shared = json_object_get(c->body, "shared");
	char *query = NULL, state[6];
	const char *params[6];
	PGresult *res = NULL;

	if (!page_ok(page)) {
		api_fail(c, 400, "invalid_field", "page", "field 'page' must be inventory, alerts or map");
		return;
	}
	if (!query_checked(c) || !share_ok(c))
		return;
	query = json_dumps(json_object_get(c->body, "query"), JSON_COMPACT);
	if (!query) {
		api_fail(c, 500, "internal", NULL, "internal error");
		return;
	}
	params[0] = c->username;
	params[1] = page;
	params[2] = api_body_str(c, "name");
	params[3] = query;
	params[4] = json_is_true(shared) ? "true" : "false";
	params[5] = api_scope(c);
	if (!db_begin(db)) {
		api_fail_db(c);
		goto out;
	}
	res = db_exec_state(db,
			    "insert into saved_views as v (owner, page, name, query, shared, owner_zones) "
			    "values ($1, $2, $3, $4::jsonb, $5::boolean, " OWNER_ZONES("$6") ") returning v.id::text, "
			    VIEW_JSON,
			    6, params, state);
	if (!res) {
		write_failed(c, state);
		db_rollback(db);
		goto out;
	}
	api_commit_audited(c, db, "saved_view.create", PQgetvalue(res, 0, 0), NULL,
			   json_loads(PQgetvalue(res, 0, 1), 0, NULL), 201);
	db_rollback(db); /* a no-op after the commit; ends the transaction when the answer could not be built */
out:
	free(query);
	PQclear(res);
}

void api_saved_views_update(struct api_call *c, PGconn *db)
{
	json_t *shared = json_object_get(c->body, "shared"), *before = NULL;
	char *query = NULL, state[6];
	const char *params[7];
	PGresult *res = NULL;

	if (!id_ok(c) || !query_checked(c) || !share_ok(c))
		return;
	if (api_body_has(c, "query") && !(query = json_dumps(json_object_get(c->body, "query"), JSON_COMPACT))) {
		api_fail(c, 500, "internal", NULL, "internal error");
		return;
	}
	params[0] = c->username;
	params[1] = c->param;
	if (!db_begin(db)) {
		api_fail_db(c);
		goto out;
	}
	res = db_exec(db, "select " VIEW_JSON " from saved_views v where v.id = $2::bigint and v.owner = $1 for update",
		      2, params);
	if (!res)
		goto fail;
	if (PQntuples(res) != 1) {
		api_fail(c, 404, "not_found", NULL, "saved view not found");
		goto rollback;
	}
	before = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	params[2] = api_body_str(c, "name");
	params[3] = query;
	params[4] = shared ? (json_is_true(shared) ? "true" : "false") : NULL;
	params[5] = api_scope(c);
	params[6] = c->role;
	/* The owner's zones are taken anew: they are what the view's query was last written with. A read-only owner's view
	 * stops being shared (its role may have been lowered since). */
	res = db_exec_state(db,
			    "update saved_views v set name = coalesce($3, v.name), query = coalesce($4::jsonb, v.query), "
			    "shared = coalesce($5::boolean, v.shared) and $7::text <> 'read_only', owner_zones = "
			    OWNER_ZONES("$6") ", "
			    "updated_at = now() where v.id = $2::bigint and v.owner = $1 returning " VIEW_JSON,
			    7, params, state);
	if (!res) {
		write_failed(c, state);
		goto rollback;
	}
	api_commit_audited(c, db, "saved_view.update", c->param, before, json_loads(PQgetvalue(res, 0, 0), 0, NULL),
			   200);
	goto rollback;
fail:
	api_fail_db(c);
rollback:
	db_rollback(db); /* a no-op after the commit */
out:
	json_decref(before);
	free(query);
	PQclear(res);
}

void api_saved_views_delete(struct api_call *c, PGconn *db)
{
	const char *params[3] = { c->username, c->param, strcmp(c->role, "admin") == 0 ? "true" : "false" };
	PGresult *res;
	json_t *details;

	if (!id_ok(c))
		return;
	res = db_exec(db,
		      "delete from saved_views v where v.id = $2::bigint and (v.owner = $1 or (v.shared and $3::boolean)) "
		      "returning v.owner, v.page, v.name",
		      3, params);
	if (!res) {
		api_fail_db(c);
		return;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		api_fail(c, 404, "not_found", NULL, "saved view not found");
		return;
	}
	details = json_pack("{s:s, s:s, s:s}", "owner", PQgetvalue(res, 0, 0), "page", PQgetvalue(res, 0, 1), "name",
			    PQgetvalue(res, 0, 2));
	api_audit(c, db, "saved_view.delete", c->param, details);
	json_decref(details);
	PQclear(res);
	api_ok(c, 204, NULL);
}
