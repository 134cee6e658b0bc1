#include "server/api_settings.h"

#include <stdlib.h>
#include <string.h>

#include "server/api_principal.h"
#include "server/db.h"
#include "server/sensor_settings.h"
#include "server/sensors_admin.h"

/* The members are checked by sensor_settings_check (subnets and names are not shapes the body table knows). */
static const struct http_field settings_fields[] = {
	{ "subnets", HTTP_FT_ANY, HTTP_FF_NULLABLE, 0, 0 },
	{ "vlan_names", HTTP_FT_ANY, HTTP_FF_NULLABLE, 0, 0 },
	{ "port_names", HTTP_FT_ANY, HTTP_FF_NULLABLE, 0, 0 },
	{ "dhcp_ranges", HTTP_FT_ANY, HTTP_FF_NULLABLE, 0, 0 },
	{ "learning_quiet_period", HTTP_FT_ANY, HTTP_FF_NULLABLE, 0, 0 },
};
const struct http_body_spec api_settings_body = { settings_fields, 5, 0 };

/* A scoped object's settings document(s): `sql` ($1 id, $2 scope) returns one row of nullable jsonb text
 * columns for a visible object, none otherwise. Returns the row count (0 answered 404), -1 answered 500. */
static int load_docs(struct api_call *c, PGconn *db, const char *sql, const char *what, json_t **docs, int ndocs)
{
	const char *params[2] = { c->param, api_scope(c) };
	PGresult *res = db_exec(db, sql, 2, params);
	int rows;

	if (!res) {
		api_fail_db(c);
		return -1;
	}
	rows = PQntuples(res);
	if (rows == 0)
		api_fail(c, 404, "not_found", NULL, "%s not found", what);
	for (int i = 0; i < ndocs; i++)
		docs[i] = rows && !PQgetisnull(res, 0, i) ? json_loads(PQgetvalue(res, 0, i), 0, NULL) : NULL;
	PQclear(res);
	return rows;
}

static bool sensor_id_param(struct api_call *c)
{
	if (sensors_admin_id_valid(c->param))
		return true;
	api_fail(c, 404, "not_found", NULL, "sensor not found");
	return false;
}

void api_zone_settings_get(struct api_call *c, PGconn *db)
{
	json_t *doc = NULL;

	if (!api_id_param(c, "zone") ||
	    load_docs(c, db,
		      "select zs.settings::text from zones z left join zone_settings zs on zs.zone_id = z.id "
		      "where z.id = $1::bigint and otw_zone_visible($2::bigint[], z.id)",
		      "zone", &doc, 1) <= 0)
		return;
	api_ok(c, 200, sensor_settings_view(doc, false));
	json_decref(doc);
}

void api_sensor_settings_get(struct api_call *c, PGconn *db)
{
	json_t *doc = NULL;

	if (!sensor_id_param(c) ||
	    load_docs(c, db,
		      "select ss.settings::text from sensors s left join sensor_settings ss on ss.sensor_id = s.id "
		      "where s.id = $1::uuid and otw_zone_visible($2::bigint[], s.zone_id)",
		      "sensor", &doc, 1) <= 0)
		return;
	api_ok(c, 200, sensor_settings_view(doc, true));
	json_decref(doc);
}

void api_sensor_settings_effective(struct api_call *c, PGconn *db)
{
	json_t *docs[2] = { NULL, NULL };

	if (!sensor_id_param(c) ||
	    load_docs(c, db,
		      "select zs.settings::text, ss.settings::text from sensors s "
		      "left join zone_settings zs on zs.zone_id = s.zone_id "
		      "left join sensor_settings ss on ss.sensor_id = s.id "
		      "where s.id = $1::uuid and otw_zone_visible($2::bigint[], s.zone_id)",
		      "sensor", docs, 2) <= 0)
		return;
	api_ok(c, 200, sensor_settings_effective(docs[0], docs[1]));
	json_decref(docs[0]);
	json_decref(docs[1]);
}

/* PUT: checks the body, locks the visible object (lock_sql, as load_docs), stores the document (store_sql: $1 id,
 * $2 document) and answers the stored view, audited with the view before. */
static void put_settings(struct api_call *c, PGconn *db, const char *lock_sql, const char *store_sql,
			 const char *what, const char *action, bool absent_as_null)
{
	json_t *doc = NULL, *prev = NULL, *before = NULL;
	char *text = NULL;
	const char *params[2];
	PGresult *res;

	if (sensor_settings_check(c->body, &doc, &c->err) < 0) {
		c->status = c->err.status;
		return;
	}
	if (!(text = json_dumps(doc, JSON_COMPACT)) || !db_begin(db)) {
		api_fail_db(c);
		goto out;
	}
	if (load_docs(c, db, lock_sql, what, &prev, 1) <= 0)
		goto out;
	before = sensor_settings_view(prev, absent_as_null);
	params[0] = c->param;
	params[1] = text;
	if (!(res = db_exec(db, store_sql, 2, params))) {
		api_fail_db(c);
		goto out;
	}
	PQclear(res);
	/* Committing also announces the change to the config pushers (sql/005_dpi.sql). */
	api_commit_audited(c, db, action, c->param, before, sensor_settings_view(doc, absent_as_null), 200);
out:
	db_rollback(db);
	free(text);
	json_decref(doc);
	json_decref(prev);
	json_decref(before);
}

void api_zone_settings_put(struct api_call *c, PGconn *db)
{
	if (api_id_param(c, "zone"))
		put_settings(c, db,
			     "select zs.settings::text from zones z left join zone_settings zs on zs.zone_id = z.id "
			     "where z.id = $1::bigint and otw_zone_visible($2::bigint[], z.id) for update of z",
			     "insert into zone_settings (zone_id, settings) values ($1::bigint, $2::jsonb) "
			     "on conflict (zone_id) do update set settings = excluded.settings, updated_at = now()",
			     "zone", "zone.settings", false);
}

void api_sensor_settings_put(struct api_call *c, PGconn *db)
{
	if (sensor_id_param(c))
		put_settings(c, db,
			     "select ss.settings::text from sensors s left join sensor_settings ss on ss.sensor_id = s.id "
			     "where s.id = $1::uuid and otw_zone_visible($2::bigint[], s.zone_id) for update of s",
			     "insert into sensor_settings (sensor_id, settings) values ($1::uuid, $2::jsonb) "
			     "on conflict (sensor_id) do update set settings = excluded.settings, updated_at = now()",
			     "sensor", "sensor.settings", true);
}
