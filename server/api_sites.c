#include "server/api_sites.h"

#include <string.h>

#include "server/db.h"

#define NAME_FIELD(flags) { "name", HTTP_FT_STRING, (flags) | HTTP_FF_NO_CTRL, 1, 200 }
#define DESC_FIELD { "description", HTTP_FT_STRING, 0, 0, 2000 }

static const struct http_field site_create_fields[] = { NAME_FIELD(HTTP_FF_REQUIRED), DESC_FIELD };
static const struct http_field site_update_fields[] = { NAME_FIELD(0), DESC_FIELD };
static const struct http_field zone_create_fields[] = {
	{ "site_id", HTTP_FT_ID, HTTP_FF_REQUIRED, 0, 0 }, NAME_FIELD(HTTP_FF_REQUIRED), DESC_FIELD
};
static const struct http_field zone_update_fields[] = { { "site_id", HTTP_FT_ID, 0, 0, 0 }, NAME_FIELD(0), DESC_FIELD };

const struct http_body_spec api_sites_create_body = { site_create_fields, 2, 0 };
const struct http_body_spec api_sites_update_body = { site_update_fields, 2, 1 };
const struct http_body_spec api_zones_create_body = { zone_create_fields, 3, 0 };
const struct http_body_spec api_zones_update_body = { zone_update_fields, 3, 1 };

#define SITE_JSON                                                                                              \
	"json_build_object('id', s.id, 'name', s.name, 'description', s.description, 'created_at', " API_TS(   \
		"s.created_at") ", 'updated_at', " API_TS("s.updated_at") ")::text"
#define ZONE_JSON                                                                                              \
	"json_build_object('id', z.id, 'site_id', z.site_id, 'name', z.name, 'description', z.description, "    \
	"'created_at', " API_TS("z.created_at") ", 'updated_at', " API_TS("z.updated_at") ")::text"

/* Route ids are [0-9A-Za-z-]; anything but a positive integer is simply not found. */
static bool id_param(struct api_call *c, const char *what)
{
	int64_t id;

	if (http_id_parse_int(c->param, &id))
		return true;
	api_fail(c, 404, "not_found", NULL, "%s not found", what);
	return false;
}

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

static void write_done(struct api_call *c, PGconn *db, PGresult *res, int status, const char *action)
{
	json_t *obj = json_loads(PQgetvalue(res, 0, 1), 0, NULL);

	api_audit(c, db, action, PQgetvalue(res, 0, 0), c->body);
	api_ok(c, status, obj);
}

void api_sites_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;

	if (!api_list_params(c, 0, HTTP_ID_INT, &lp))
		return;
	api_list(c, db,
		 "select s.id::text, " SITE_JSON " from sites s where ($1::bigint is null or s.id > $1::bigint) "
		 "order by s.id limit $2::int",
		 &lp, 0, NULL);
}

void api_sites_get(struct api_call *c, PGconn *db)
{
	const char *params[1] = { c->param };

	if (id_param(c, "site"))
		api_get_one(c, db, "select " SITE_JSON " from sites s where s.id = $1::bigint", 1, params, "site");
}

void api_sites_create(struct api_call *c, PGconn *db)
{
	const char *params[2] = { api_body_str(c, "name"), api_body_str(c, "description") };
	char state[6];
	PGresult *res = db_exec_state(db,
				      "insert into sites as s (name, description) values ($1, coalesce($2, '')) "
				      "returning s.id::text, " SITE_JSON,
				      2, params, state);

	if (!res) {
		write_failed(c, state, "site", NULL);
		return;
	}
	write_done(c, db, res, 201, "site.create");
	PQclear(res);
}

void api_sites_update(struct api_call *c, PGconn *db)
{
	const char *params[3] = { c->param, api_body_str(c, "name"), api_body_str(c, "description") };
	char state[6];
	PGresult *res;

	if (!id_param(c, "site"))
		return;
	res = db_exec_state(db,
			    "update sites as s set name = coalesce($2, s.name), "
			    "description = coalesce($3, s.description), updated_at = now() "
			    "where s.id = $1::bigint returning s.id::text, " SITE_JSON,
			    3, params, state);
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

/* Deletes one row by id; a foreign key that refuses it means children exist (409). */
static void delete_row(struct api_call *c, PGconn *db, const char *sql, const char *what, const char *children,
		       const char *action)
{
	const char *params[1] = { c->param };
	char state[6];
	PGresult *res;

	if (!id_param(c, what))
		return;
	res = db_exec_state(db, sql, 1, params, state);
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
		api_audit(c, db, action, c->param, NULL);
		api_ok(c, 204, NULL);
	}
	PQclear(res);
}

void api_sites_delete(struct api_call *c, PGconn *db)
{
	delete_row(c, db, "delete from sites where id = $1::bigint returning id", "site", "zones", "site.delete");
}

void api_zones_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;
	const char *extra[1];

	if (!api_list_params(c, HTTP_FILTER_SITE_ID, HTTP_ID_INT, &lp))
		return;
	extra[0] = lp.site_id;
	api_list(c, db,
		 "select z.id::text, " ZONE_JSON " from zones z where ($1::bigint is null or z.id > $1::bigint) "
		 "and ($3::bigint is null or z.site_id = $3::bigint) order by z.id limit $2::int",
		 &lp, 1, extra);
}

void api_zones_get(struct api_call *c, PGconn *db)
{
	const char *params[1] = { c->param };

	if (id_param(c, "zone"))
		api_get_one(c, db, "select " ZONE_JSON " from zones z where z.id = $1::bigint", 1, params, "zone");
}

void api_zones_create(struct api_call *c, PGconn *db)
{
	char site[24];
	const char *params[3] = { api_body_id(c, "site_id", site), api_body_str(c, "name"),
				  api_body_str(c, "description") };
	char state[6];
	PGresult *res = db_exec_state(db,
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
	const char *params[4] = { c->param, api_body_id(c, "site_id", site), api_body_str(c, "name"),
				  api_body_str(c, "description") };
	char state[6];
	PGresult *res;

	if (!id_param(c, "zone"))
		return;
	res = db_exec_state(db,
			    "update zones as z set site_id = coalesce($2::bigint, z.site_id), "
			    "name = coalesce($3, z.name), description = coalesce($4, z.description), "
			    "updated_at = now() where z.id = $1::bigint returning z.id::text, " ZONE_JSON,
			    4, params, state);
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
	delete_row(c, db, "delete from zones where id = $1::bigint returning id", "zone", "sensors placed in it",
		   "zone.delete");
}
