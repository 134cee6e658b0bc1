#include "server/api_sites.h"

#include <string.h>

#include "server/api_principal.h"
#include "server/db.h"

#define NAME_FIELD(flags) { "name", HTTP_FT_STRING, (flags) | HTTP_FF_NO_CTRL, 1, 200 }
#define DESC_FIELD { "description", HTTP_FT_STRING, 0, 0, 2000 }

#define SITE_REFS                                                                                              \
	{ "region_id", HTTP_FT_ID, HTTP_FF_NULLABLE, 0, 0 }, { "business_unit_id", HTTP_FT_ID, HTTP_FF_NULLABLE, 0, 0 }

static const struct http_field site_create_fields[] = { NAME_FIELD(HTTP_FF_REQUIRED), DESC_FIELD, SITE_REFS };
static const struct http_field site_update_fields[] = { NAME_FIELD(0), DESC_FIELD, SITE_REFS };
static const struct http_field zone_create_fields[] = {
	{ "site_id", HTTP_FT_ID, HTTP_FF_REQUIRED, 0, 0 }, NAME_FIELD(HTTP_FF_REQUIRED), DESC_FIELD
};
static const struct http_field zone_update_fields[] = { { "site_id", HTTP_FT_ID, 0, 0, 0 }, NAME_FIELD(0), DESC_FIELD };

const struct http_body_spec api_sites_create_body = { site_create_fields, 4, 0 };
const struct http_body_spec api_sites_update_body = { site_update_fields, 4, 1 };
const struct http_body_spec api_zones_create_body = { zone_create_fields, 3, 0 };
const struct http_body_spec api_zones_update_body = { zone_update_fields, 3, 1 };

#define SITE_JSON_OF(s)                                                                                        \
	"json_build_object('id', " s ".id, 'name', " s ".name, 'description', " s ".description, 'region_id', "  \
	s ".region_id, 'business_unit_id', " s ".business_unit_id, 'created_at', " API_TS(s ".created_at") ", "  \
	"'updated_at', " API_TS(s ".updated_at") ")::text"
#define ZONE_JSON_OF(z)                                                                                        \
	"json_build_object('id', " z ".id, 'site_id', " z ".site_id, 'name', " z ".name, 'description', "       \
	z ".description, 'created_at', " API_TS(z ".created_at") ", 'updated_at', " API_TS(z ".updated_at") ")::text"
#define SITE_JSON SITE_JSON_OF("s")
#define ZONE_JSON ZONE_JSON_OF("z")

/* Route ids are [0-9A-Za-z-]; anything but a positive integer is simply not found. */
/* Turns a failed write's SQLSTATE into the API's answer. */
static void write_failed(struct api_call *c, const char *sqlstate, const char *what, const char *ref_field)
{
	if (strcmp(sqlstate, "23505") == 0)
		api_fail(c, 409, "conflict", "name", "a %s with this name already exists", what);
	else if (strcmp(sqlstate, "23503") == 0 && ref_field)
		api_fail(c, 400, "invalid_field", ref_field, "field '%s' does not name an existing site", ref_field);
	else if (strcmp(sqlstate, "23514") == 0)
		api_fail(c, 400, "invalid_field", "name", "field 'name' is not valid");
	else
		api_fail_db(c);
}

/* Answers a write whose result row is (id, object json[, object before json]) and audits it with the request,
 * the object before (updates) and after. */
static void write_done(struct api_call *c, PGconn *db, PGresult *res, int status, const char *action)
{
	json_t *obj = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
	json_t *before = PQnfields(res) > 2 ? json_loads(PQgetvalue(res, 0, 2), 0, NULL) : NULL;
	json_t *details = json_pack("{s:O*, s:o*, s:O*}", "request", c->body, "before", before, "after", obj);

	api_audit(c, db, action, PQgetvalue(res, 0, 0), details);
	json_decref(details);
	api_ok(c, status, obj);
}

void api_sites_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;

	const char *extra[3];

	if (!api_list_params(c, HTTP_FILTER_REGION_ID | HTTP_FILTER_BUSINESS_UNIT_ID, HTTP_ID_INT, &lp))
		return;
	extra[0] = api_scope(c);
	extra[1] = lp.region_id;
	extra[2] = lp.business_unit_id;
	api_list(c, db,
		 "select s.id::text, " SITE_JSON " from sites s where ($1::bigint is null or s.id > $1::bigint) "
		 "and otw_site_visible($3::bigint[], s.id) and ($4::bigint is null or s.region_id = $4::bigint) "
		 "and ($5::bigint is null or s.business_unit_id = $5::bigint) order by s.id limit $2::int",
		 &lp, 3, extra);
}

void api_sites_get(struct api_call *c, PGconn *db)
{
	const char *params[2] = { c->param, api_scope(c) };

	if (api_id_param(c, "site"))
		api_get_one(c, db,
			    "select " SITE_JSON " from sites s where s.id = $1::bigint "
			    "and otw_site_visible($2::bigint[], s.id)",
			    2, params, "site");
}

/* Checks that the body's region_id and business_unit_id name existing objects; answers 400 naming the field. */
static bool site_refs_ok(struct api_call *c, PGconn *db, const char *region, const char *bu)
{
	const char *params[2] = { region, bu };
	PGresult *res = db_exec(db,
				"select $1::bigint is null or exists (select 1 from regions where id = $1::bigint), "
				"$2::bigint is null or exists (select 1 from business_units where id = $2::bigint)",
				2, params);
	bool ok = false;

	if (!res)
		api_fail_db(c);
	else if (PQgetvalue(res, 0, 0)[0] != 't')
		api_fail(c, 400, "invalid_field", "region_id", "field 'region_id' does not name an existing region");
	else if (PQgetvalue(res, 0, 1)[0] != 't')
		api_fail(c, 400, "invalid_field", "business_unit_id",
			 "field 'business_unit_id' does not name an existing business unit");
	else
		ok = true;
	PQclear(res);
	return ok;
}

void api_sites_create(struct api_call *c, PGconn *db)
{
	char region[24], bu[24];
	const char *params[4] = { api_body_str(c, "name"), api_body_str(c, "description"),
				  api_body_id(c, "region_id", region), api_body_id(c, "business_unit_id", bu) };
	char state[6];
	PGresult *res;

	if (!site_refs_ok(c, db, params[2], params[3]))
		return;
	res = db_exec_state(db,
			    "insert into sites as s (name, description, region_id, business_unit_id) "
			    "values ($1, coalesce($2, ''), $3::bigint, $4::bigint) returning s.id::text, " SITE_JSON,
			    4, params, state);
	if (!res) {
		write_failed(c, state, "site", NULL);
		return;
	}
	write_done(c, db, res, 201, "site.create");
	PQclear(res);
}

void api_sites_update(struct api_call *c, PGconn *db)
{
	char region[24], bu[24];
	const char *params[8] = { c->param, api_body_str(c, "name"), api_body_str(c, "description"),
				  api_body_has(c, "region_id") ? "1" : NULL, api_body_id(c, "region_id", region),
				  api_body_has(c, "business_unit_id") ? "1" : NULL,
				  api_body_id(c, "business_unit_id", bu), api_scope(c) };
	char state[6];
	PGresult *res;

	if (!api_id_param(c, "site") || !site_refs_ok(c, db, params[4], params[6]))
		return;
	res = db_exec_state(db,
			    "update sites as s set name = coalesce($2, s.name), "
			    "description = coalesce($3, s.description), "
			    "region_id = case when $4::int is null then s.region_id else $5::bigint end, "
			    "business_unit_id = case when $6::int is null then s.business_unit_id else $7::bigint end, "
			    "updated_at = now() from (select " SITE_JSON_OF("o") " as j from sites o "
			    "where o.id = $1::bigint for update) old "
			    "where s.id = $1::bigint and otw_site_visible($8::bigint[], s.id) "
			    "returning s.id::text, " SITE_JSON ", old.j",
			    8, params, state);
	if (!res) {
		write_failed(c, state, "site", NULL);
		return;
	}
	if (PQntuples(res) == 0)
		api_fail(c, 404, "not_found", NULL, "site not found");
	else
		write_done(c, db, res, 200, "site.update");
	PQclear(res);
}

/* Deletes one row by id ($1) inside the caller's scope ($2), returning the row as json; a foreign key that
 * refuses it means children exist (409). */
static void delete_row(struct api_call *c, PGconn *db, const char *sql, const char *what, const char *children,
		       const char *action)
{
	const char *params[2] = { c->param, api_scope(c) };
	char state[6];
	PGresult *res;

	if (!api_id_param(c, what))
		return;
	res = db_exec_state(db, sql, 2, params, state);
	if (!res) {
		if (strcmp(state, "23503") == 0)
			api_fail(c, 409, "conflict", NULL, "%s still has %s", what, children);
		else
			api_fail_db(c);
		return;
	}
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "%s not found", what);
	} else {
		json_t *details = json_pack("{s:o*}", "before", json_loads(PQgetvalue(res, 0, 0), 0, NULL));
		api_audit(c, db, action, c->param, details);
		json_decref(details);
		api_ok(c, 204, NULL);
	}
	PQclear(res);
}

void api_sites_delete(struct api_call *c, PGconn *db)
{
	delete_row(c, db,
		   "delete from sites s where s.id = $1::bigint and otw_site_visible($2::bigint[], s.id) "
		   "returning " SITE_JSON,
		   "site", "zones", "site.delete");
}

void api_zones_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;
	const char *extra[2];

	if (!api_list_params(c, HTTP_FILTER_SITE_ID, HTTP_ID_INT, &lp))
		return;
	extra[0] = lp.site_id;
	extra[1] = api_scope(c);
	api_list(c, db,
		 "select z.id::text, " ZONE_JSON " from zones z where ($1::bigint is null or z.id > $1::bigint) "
		 "and ($3::bigint is null or z.site_id = $3::bigint) and otw_zone_visible($4::bigint[], z.id) "
		 "order by z.id limit $2::int",
		 &lp, 2, extra);
}

void api_zones_get(struct api_call *c, PGconn *db)
{
	const char *params[2] = { c->param, api_scope(c) };

	if (api_id_param(c, "zone"))
		api_get_one(c, db,
			    "select " ZONE_JSON " from zones z where z.id = $1::bigint "
			    "and otw_zone_visible($2::bigint[], z.id)",
			    2, params, "zone");
}

/* A zone's site must exist inside the caller's scope; one outside it is answered like a missing one. */
static bool site_in_scope(struct api_call *c, PGconn *db, const char *site_id)
{
	int v = api_site_visible(c, db, site_id);

	if (v < 0)
		api_fail_db(c);
	else if (v == 0)
		api_fail(c, 400, "invalid_field", "site_id", "field 'site_id' does not name an existing site");
	return v == 1;
}

void api_zones_create(struct api_call *c, PGconn *db)
{
	char site[24];
	const char *params[3] = { api_body_id(c, "site_id", site), api_body_str(c, "name"),
				  api_body_str(c, "description") };
	char state[6];
	PGresult *res;

	if (!site_in_scope(c, db, params[0]))
		return;
	res = db_exec_state(db,
			    "insert into zones as z (site_id, name, description) "
			    "values ($1::bigint, $2, coalesce($3, '')) returning z.id::text, " ZONE_JSON,
			    3, params, state);
	if (!res) {
		write_failed(c, state, "zone in this site", "site_id");
		return;
	}
	write_done(c, db, res, 201, "zone.create");
	PQclear(res);
}

void api_zones_update(struct api_call *c, PGconn *db)
{
	char site[24];
	const char *params[5] = { c->param, api_body_id(c, "site_id", site), api_body_str(c, "name"),
				  api_body_str(c, "description"), api_scope(c) };
	char state[6];
	PGresult *res;

	if (!api_id_param(c, "zone") || (params[1] && !site_in_scope(c, db, params[1])))
		return;
	res = db_exec_state(db,
			    "update zones as z set site_id = coalesce($2::bigint, z.site_id), "
			    "name = coalesce($3, z.name), description = coalesce($4, z.description), "
			    "updated_at = now() from (select " ZONE_JSON_OF("o") " as j from zones o "
			    "where o.id = $1::bigint for update) old "
			    "where z.id = $1::bigint and otw_zone_visible($5::bigint[], z.id) "
			    "returning z.id::text, " ZONE_JSON ", old.j",
			    5, params, state);
	if (!res) {
		write_failed(c, state, "zone in this site", "site_id");
		return;
	}
	if (PQntuples(res) == 0)
		api_fail(c, 404, "not_found", NULL, "zone not found");
	else
		write_done(c, db, res, 200, "zone.update");
	PQclear(res);
}

void api_zones_delete(struct api_call *c, PGconn *db)
{
	delete_row(c, db,
		   "delete from zones z where z.id = $1::bigint and otw_zone_visible($2::bigint[], z.id) "
		   "returning " ZONE_JSON,
		   "zone", "sensors placed in it", "zone.delete");
}
