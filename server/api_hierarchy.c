#include "server/api_hierarchy.h"

#include <string.h>

#include "server/api_principal.h"
#include "server/db.h"

#define NAME_FIELD(flags) { "name", HTTP_FT_STRING, (flags) | HTTP_FF_NO_CTRL, 1, 200 }
#define DESC_FIELD { "description", HTTP_FT_STRING, 0, 0, 2000 }
#define BU_FIELD(flags) { "business_unit_id", HTTP_FT_ID, (flags), 0, 0 }

static const struct http_field bu_create_fields[] = { NAME_FIELD(HTTP_FF_REQUIRED), DESC_FIELD };
static const struct http_field bu_update_fields[] = { NAME_FIELD(0), DESC_FIELD };
static const struct http_field region_create_fields[] = { NAME_FIELD(HTTP_FF_REQUIRED), DESC_FIELD,
							  BU_FIELD(HTTP_FF_NULLABLE) };
static const struct http_field region_update_fields[] = { NAME_FIELD(0), DESC_FIELD, BU_FIELD(HTTP_FF_NULLABLE) };

const struct http_body_spec api_business_units_create_body = { bu_create_fields, 2, 0 };
const struct http_body_spec api_business_units_update_body = { bu_update_fields, 2, 1 };
const struct http_body_spec api_regions_create_body = { region_create_fields, 3, 0 };
const struct http_body_spec api_regions_update_body = { region_update_fields, 3, 1 };

#define BU_JSON                                                                                                \
	"json_build_object('id', b.id, 'name', b.name, 'description', b.description, 'created_at', "            \
	API_TS("b.created_at") ", 'updated_at', " API_TS("b.updated_at") ")::text"
#define REGION_JSON                                                                                            \
	"json_build_object('id', r.id, 'business_unit_id', r.business_unit_id, 'name', r.name, 'description', "  \
	"r.description, 'created_at', " API_TS("r.created_at") ", 'updated_at', " API_TS("r.updated_at") ")::text"

/* Scope predicates; g is the caller's `$N::bigint[]` (NULL = unrestricted). */
#define BU_VISIBLE(g)                                                                                          \
	"(" g " is null or exists (select 1 from access_group_entries e where e.access_group_id = any (" g ") " \
	"and e.business_unit_id = b.id and e.region_id is null and e.site_id is null and e.zone_id is null) "   \
	"or exists (select 1 from sites s left join regions sr on sr.id = "     \
	"s.region_id where coalesce(s.business_unit_id, sr.business_unit_id) = b.id and otw_site_visible(" g   \
	", s.id)))"
#define REGION_VISIBLE(g)                                                                                      \
	"(" g " is null or exists (select 1 from access_group_entries e where e.access_group_id = any (" g ") " \
	"and e.site_id is null and e.zone_id is null and (e.region_id = r.id and (e.business_unit_id is null "  \
	"or e.business_unit_id = r.business_unit_id) or (e.region_id is null and e.business_unit_id = "        \
	"r.business_unit_id))) or exists (select 1 from sites s where s.region_id = "  \
	"r.id and otw_site_visible(" g ", s.id)))"

/* Answers a write: 201/200 with the object (and an audit row), 404 when no row matched, or the SQLSTATE's
 * meaning. */
static void write_answer(struct api_call *c, PGconn *db, PGresult *res, const char *state, int status,
			 const char *what, const char *action)
{
	if (!res) {
		if (strcmp(state, "23505") == 0)
			api_fail(c, 409, "conflict", "name", "a %s with this name already exists", what);
		else if (strcmp(state, "23503") == 0)
			api_fail(c, 400, "invalid_field", "business_unit_id",
				 "field 'business_unit_id' does not name an existing business unit");
		else
			api_fail_db(c);
		return;
	}
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "%s not found", what);
	} else {
		json_t *obj = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
		json_t *details = json_pack("{s:O*, s:O*}", "request", c->body, "after", obj);
		api_audit(c, db, action, PQgetvalue(res, 0, 0), details);
		json_decref(details);
		api_ok(c, status, obj);
	}
	PQclear(res);
}

/* Deletes after checking, under a row lock, that nothing references the row: `check_sql` ($1 id, $2 scope)
 * returns (referenced bool, before json) for a visible row. */
static void delete_checked(struct api_call *c, PGconn *db, const char *check_sql, const char *delete_sql,
			   const char *what, const char *children, const char *action)
{
	const char *params[2] = { c->param, api_scope(c) };
	PGresult *res = NULL;
	json_t *details = NULL;

	if (!api_id_param(c, what))
		return;
	if (!db_begin(db)) {
		api_fail_db(c);
		return;
	}
	res = db_exec(db, check_sql, 2, params);
	if (!res) {
		api_fail_db(c);
		goto out;
	}
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "%s not found", what);
		goto out;
	}
	if (PQgetvalue(res, 0, 0)[0] == 't') {
		api_fail(c, 409, "conflict", NULL, "%s still has %s", what, children);
		goto out;
	}
	details = json_pack("{s:o*}", "before", json_loads(PQgetvalue(res, 0, 1), 0, NULL));
	PQclear(res);
	res = db_exec(db, delete_sql, 1, params);
	if (!res) {
		api_fail_db(c);
		goto out;
	}
	api_audit(c, db, action, c->param, details);
	if (!db_commit(db)) {
		api_fail_db(c);
		goto out;
	}
	api_ok(c, 204, NULL);
out:
	json_decref(details);
	PQclear(res);
	db_rollback(db);
}

void api_business_units_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;
	const char *extra[1];

	if (!api_list_params(c, 0, HTTP_ID_INT, &lp))
		return;
	extra[0] = api_scope(c);
	api_list(c, db,
		 "select b.id::text, " BU_JSON " from business_units b where ($1::bigint is null or b.id > $1::bigint) "
		 "and " BU_VISIBLE("$3::bigint[]") " order by b.id limit $2::int",
		 &lp, 1, extra);
}

void api_business_units_get(struct api_call *c, PGconn *db)
{
	const char *params[2] = { c->param, api_scope(c) };

	if (api_id_param(c, "business unit"))
		api_get_one(c, db,
			    "select " BU_JSON " from business_units b where b.id = $1::bigint and "
			    BU_VISIBLE("$2::bigint[]"),
			    2, params, "business unit");
}

void api_business_units_create(struct api_call *c, PGconn *db)
{
	const char *params[2] = { api_body_str(c, "name"), api_body_str(c, "description") };
	char state[6];
	PGresult *res = db_exec_state(db,
				      "insert into business_units as b (name, description) values ($1, coalesce($2, '')) "
				      "returning b.id::text, " BU_JSON,
				      2, params, state);

	write_answer(c, db, res, state, 201, "business unit", "business_unit.create");
}

void api_business_units_update(struct api_call *c, PGconn *db)
{
	const char *params[4] = { c->param, api_body_str(c, "name"), api_body_str(c, "description"), api_scope(c) };
	char state[6];
	PGresult *res;

	if (!api_id_param(c, "business unit"))
		return;
	res = db_exec_state(db,
			    "update business_units as b set name = coalesce($2, b.name), "
			    "description = coalesce($3, b.description), updated_at = now() "
			    "where b.id = $1::bigint and " BU_VISIBLE("$4::bigint[]") " returning b.id::text, " BU_JSON,
			    4, params, state);
	write_answer(c, db, res, state, 200, "business unit", "business_unit.update");
}

void api_business_units_delete(struct api_call *c, PGconn *db)
{
	delete_checked(c, db,
		       "select exists (select 1 from regions where business_unit_id = b.id) or exists (select 1 "
		       "from sites where business_unit_id = b.id), " BU_JSON " from business_units b "
		       "where b.id = $1::bigint and " BU_VISIBLE("$2::bigint[]") " for update",
		       "delete from business_units where id = $1::bigint", "business unit", "regions or sites",
		       "business_unit.delete");
}

void api_regions_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;
	const char *extra[2];

	if (!api_list_params(c, HTTP_FILTER_BUSINESS_UNIT_ID, HTTP_ID_INT, &lp))
		return;
	extra[0] = api_scope(c);
	extra[1] = lp.business_unit_id;
	api_list(c, db,
		 "select r.id::text, " REGION_JSON " from regions r where ($1::bigint is null or r.id > $1::bigint) "
		 "and " REGION_VISIBLE("$3::bigint[]") " and ($4::bigint is null or r.business_unit_id = $4::bigint) "
		 "order by r.id limit $2::int",
		 &lp, 2, extra);
}

void api_regions_get(struct api_call *c, PGconn *db)
{
	const char *params[2] = { c->param, api_scope(c) };

	if (api_id_param(c, "region"))
		api_get_one(c, db,
			    "select " REGION_JSON " from regions r where r.id = $1::bigint and "
			    REGION_VISIBLE("$2::bigint[]"),
			    2, params, "region");
}

void api_regions_create(struct api_call *c, PGconn *db)
{
	char bu[24];
	const char *params[3] = { api_body_str(c, "name"), api_body_str(c, "description"),
				  api_body_id(c, "business_unit_id", bu) };
	char state[6];
	PGresult *res = db_exec_state(db,
				      "insert into regions as r (name, description, business_unit_id) "
				      "values ($1, coalesce($2, ''), $3::bigint) returning r.id::text, " REGION_JSON,
				      3, params, state);

	write_answer(c, db, res, state, 201, "region", "region.create");
}

void api_regions_update(struct api_call *c, PGconn *db)
{
	char bu[24];
	const char *params[6] = { c->param, api_body_str(c, "name"), api_body_str(c, "description"),
				  api_body_has(c, "business_unit_id") ? "1" : NULL, api_body_id(c, "business_unit_id", bu),
				  api_scope(c) };
	char state[6];
	PGresult *res;

	if (!api_id_param(c, "region"))
		return;
	res = db_exec_state(db,
			    "update regions as r set name = coalesce($2, r.name), "
			    "description = coalesce($3, r.description), "
			    "business_unit_id = case when $4::int is null then r.business_unit_id else $5::bigint end, "
			    "updated_at = now() where r.id = $1::bigint and " REGION_VISIBLE("$6::bigint[]")
			    " returning r.id::text, " REGION_JSON,
			    6, params, state);
	write_answer(c, db, res, state, 200, "region", "region.update");
}

void api_regions_delete(struct api_call *c, PGconn *db)
{
	delete_checked(c, db,
		       "select exists (select 1 from sites where region_id = r.id), " REGION_JSON " from regions r "
		       "where r.id = $1::bigint and " REGION_VISIBLE("$2::bigint[]") " for update",
		       "delete from regions where id = $1::bigint", "region", "sites", "region.delete");
}
