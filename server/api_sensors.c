#include "server/api_sensors.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/api_principal.h"
#include "server/db.h"
#include "server/gateway.h"
#include "server/sensors_admin.h"

static const struct http_field create_fields[] = {
	{ "name", HTTP_FT_STRING, HTTP_FF_REQUIRED | HTTP_FF_NO_CTRL, 1, 200 },
	{ "zone_id", HTTP_FT_ID, HTTP_FF_NULLABLE, 0, 0 },
};
static const struct http_field update_fields[] = {
	{ "name", HTTP_FT_STRING, HTTP_FF_NO_CTRL, 1, 200 },
	{ "zone_id", HTTP_FT_ID, HTTP_FF_NULLABLE, 0, 0 },
	{ "mode", HTTP_FT_STRING, HTTP_FF_NO_CTRL, 1, 20 },
};
const struct http_body_spec api_sensors_create_body = { create_fields, 2, 0 };
const struct http_body_spec api_sensors_update_body = { update_fields, 3, 1 };

#define SENSOR_JSON                                                                                            \
	"json_build_object('id', s.id, 'name', s.name, 'zone_id', s.zone_id, 'site_id', z.site_id, 'status', "  \
	"case when s.revoked_at is not null then 'revoked' when s.zone_id is null then 'unassigned' "           \
	"else 'placed' end, 'connected', s.connected, 'last_seen', " API_TS("s.last_seen") ", "                \
	"'applied_seq', s.applied_seq, 'software_version', s.software_version, 'mode', s.mode, "               \
	"'learning', s.mode = 'learning', 'mode_changed_at', " API_TS("s.mode_changed_at") ", "                \
	"'mode_request', case when s.mode_request_rev > 0 then json_build_object('mode', s.mode_request, "      \
	"'rev', s.mode_request_rev) end, 'health', otw_sensor_health_json(s.id), "                             \
	"'created_at', " API_TS("s.created_at") ")::text"
#define SENSOR_FROM " from sensors s left join zones z on z.id = s.zone_id "

static bool id_param(struct api_call *c)
{
	if (sensors_admin_id_valid(c->param))
		return true;
	api_fail(c, 404, "not_found", NULL, "sensor not found");
	return false;
}

void api_sensors_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;
	const char *extra[3];

	if (!api_list_params(c, HTTP_FILTER_SITE_ID | HTTP_FILTER_ZONE_ID, HTTP_ID_UUID, &lp))
		return;
	extra[0] = lp.site_id;
	extra[1] = lp.zone_id;
	extra[2] = api_scope(c);
	/* Unassigned sensors have no zone: otw_zone_visible shows them to unrestricted callers only. */
	api_list(c, db,
		 "select s.id::text, " SENSOR_JSON SENSOR_FROM "where ($1::uuid is null or s.id > $1::uuid) "
		 "and ($3::bigint is null or z.site_id = $3::bigint) and ($4::bigint is null or s.zone_id = $4::bigint) "
		 "and otw_zone_visible($5::bigint[], s.zone_id) order by s.id limit $2::int",
		 &lp, 3, extra);
}

static void get_sensor(struct api_call *c, PGconn *db, int status)
{
	const char *params[2] = { c->param, api_scope(c) };

	api_get_one(c, db,
		    "select " SENSOR_JSON SENSOR_FROM "where s.id = $1::uuid and otw_zone_visible($2::bigint[], s.zone_id)",
		    2, params, "sensor");
	if (c->status == 200)
		c->status = status;
}

void api_sensors_get(struct api_call *c, PGconn *db)
{
	if (id_param(c))
		get_sensor(c, db, 200);
}

/* A target zone must exist inside the caller's scope (answered like a missing zone otherwise). A sensor without
 * a zone is outside every restricted scope, so only unrestricted callers may leave or put one there. */
static bool zone_in_scope(struct api_call *c, PGconn *db, const char *zone_id)
{
	int v = zone_id ? api_zone_visible(c, db, zone_id) : api_scope(c) == NULL;

	if (v < 0)
		api_fail_db(c);
	else if (v == 0)
		api_fail(c, 400, "invalid_field", "zone_id", "field 'zone_id' does not name an existing zone");
	return v == 1;
}

void api_sensors_create(struct api_call *c, PGconn *db)
{
	char zone[24], err[256] = "";
	const char *name = api_body_str(c, "name");
	json_t *activation = NULL, *details = NULL;
	int rc;

	if (!zone_in_scope(c, db, api_body_id(c, "zone_id", zone)))
		return;
	rc = sensors_admin_create(db, c->env->st, c->env->cfg, name, api_body_id(c, "zone_id", zone), &activation,
				  err, sizeof(err));
	switch (rc) {
	case 0:
		break;
	case -EEXIST:
		api_fail(c, 409, "conflict", "name", "a sensor with this name already exists");
		return;
	case -ENOENT:
		api_fail(c, 400, "invalid_field", "zone_id", "field 'zone_id' does not name an existing zone");
		return;
	case -EINVAL:
		api_fail(c, 400, "invalid_body", NULL, "%s", err);
		return;
	default:
		api_fail_db(c);
		return;
	}
	/* The activation document holds the enrollment token: audit only what is not secret. */
	details = json_pack("{s:s, s:O}", "name", name, "zone_id", json_object_get(activation, "zone_id"));
	api_audit(c, db, "sensor.create", json_string_value(json_object_get(activation, "sensor_id")), details);
	json_decref(details);
	api_ok(c, 201, activation);
}

/* Each statement pairs the old scope's rows with same-key rows of the new scope; children of a paired old row
 * move to the new one (merging on conflict), the old row goes, and the unpaired rows are re-scoped. A sensor's
 * counters in two scopes cover disjoint periods (they are increments), so they add up. */
#define DEV_PAIRS                                                                                              \
	"with p as (select o.id as old_id, n.id as new_id from devices o join devices n "                       \
	"on n.merge_scope = $2 and n.key = o.key where o.merge_scope = $1) "
#define CONN_PAIRS                                                                                             \
	"with p as (select o.id as old_id, n.id as new_id from connections o join connections n "               \
	"on n.merge_scope = $2 and n.transport = o.transport and n.src_addr = o.src_addr "                      \
	"and n.dst_addr = o.dst_addr and n.port is not distinct from o.port where o.merge_scope = $1) "

static const char *const move_sql[] = {
	DEV_PAIRS "insert into device_sightings (device_id, sensor_id, first_seen, last_seen, report) "
		  "select p.new_id, x.sensor_id, x.first_seen, x.last_seen, x.report from device_sightings x "
		  "join p on x.device_id = p.old_id on conflict (device_id, sensor_id) do update set "
		  "first_seen = least(device_sightings.first_seen, excluded.first_seen), "
		  "last_seen = greatest(device_sightings.last_seen, excluded.last_seen), "
		  "report = case when excluded.last_seen >= device_sightings.last_seen then excluded.report "
		  "else device_sightings.report end",
	DEV_PAIRS "insert into device_macs (device_id, sensor_id, mac) select p.new_id, x.sensor_id, x.mac "
		  "from device_macs x join p on x.device_id = p.old_id on conflict do nothing",
	DEV_PAIRS "insert into device_ips (device_id, sensor_id, ip) select p.new_id, x.sensor_id, x.ip "
		  "from device_ips x join p on x.device_id = p.old_id on conflict do nothing",
	DEV_PAIRS "insert into device_vlans (device_id, sensor_id, vlan) select p.new_id, x.sensor_id, x.vlan "
		  "from device_vlans x join p on x.device_id = p.old_id on conflict do nothing",
	DEV_PAIRS "insert into device_protocols (device_id, sensor_id, name, role) "
		  "select p.new_id, x.sensor_id, x.name, x.role from device_protocols x "
		  "join p on x.device_id = p.old_id on conflict do nothing",
	DEV_PAIRS "update devices n set first_seen = least(n.first_seen, o.first_seen), "
		  "last_seen = greatest(n.last_seen, o.last_seen), name = coalesce(n.name, o.name), "
		  "type = coalesce(n.type, o.type), vendor = coalesce(n.vendor, o.vendor), "
		  "hostname = coalesce(n.hostname, o.hostname), "
		  /* analyst data of both: the device already in the zone wins where both have a value */
		  "overrides = o.overrides || n.overrides, authorized = n.authorized or o.authorized, "
		  "importance = coalesce(n.importance, o.importance), "
		  "description = case when n.description = '' then o.description else n.description end, "
		  "tags = coalesce((select array_agg(t order by t) from (select distinct t "
		  "from unnest(n.tags || o.tags) t order by t limit 32) u), '{}'), updated_at = now() "
		  "from p join devices o on o.id = p.old_id where n.id = p.new_id",
	/* devices an analyst merged into a paired device follow it to the zone's device */
	DEV_PAIRS "update devices d set merged_into = p.new_id from p where d.merged_into = p.old_id",
	DEV_PAIRS "delete from devices d using p where d.id = p.old_id",
	"update devices set merge_scope = $2, zone_id = $3::bigint, updated_at = now() where merge_scope = $1",
	CONN_PAIRS "insert into connection_sightings (connection_id, sensor_id, packets, bytes, first_seen, last_seen) "
		   "select p.new_id, x.sensor_id, x.packets, x.bytes, x.first_seen, x.last_seen "
		   "from connection_sightings x join p on x.connection_id = p.old_id "
		   "on conflict (connection_id, sensor_id) do update set "
		   "packets = connection_sightings.packets + excluded.packets, "
		   "bytes = connection_sightings.bytes + excluded.bytes, "
		   "first_seen = least(connection_sightings.first_seen, excluded.first_seen), "
		   "last_seen = greatest(connection_sightings.last_seen, excluded.last_seen)",
	CONN_PAIRS "update connections n set first_seen = least(n.first_seen, o.first_seen), "
		   "last_seen = greatest(n.last_seen, o.last_seen), "
		   "protocols = array(select distinct u from unnest(n.protocols || o.protocols) u order by u) "
		   "from p join connections o on o.id = p.old_id where n.id = p.new_id",
	CONN_PAIRS "insert into connection_functions (connection_id, proto, code, name) "
		   "select p.new_id, x.proto, x.code, x.name from connection_functions x "
		   "join p on x.connection_id = p.old_id on conflict do nothing",
	CONN_PAIRS "delete from connections c using p where c.id = p.old_id",
	"update connections set merge_scope = $2, zone_id = $3::bigint where merge_scope = $1",
};

int api_sensors_move_scope(PGconn *db, const char *from, const char *to, const char *zone_id)
{
	const char *params[3] = { from, to, zone_id };

	for (size_t i = 0; i < sizeof(move_sql) / sizeof(move_sql[0]); i++) {
		int n = strstr(move_sql[i], "$3") ? 3 : 2;
		PGresult *res = db_exec(db, move_sql[i], n, params);
		if (!res)
			return -EIO;
		PQclear(res);
	}
	return 0;
}

void api_sensors_update(struct api_call *c, PGconn *db)
{
	char zone[24], state[6], from[API_PARAM_MAX + 2], to[32];
	const char *zone_id = api_body_id(c, "zone_id", zone);
	bool set_zone = api_body_has(c, "zone_id");
	const char *lock_params[2] = { c->param, api_scope(c) };
	const char *mode = api_body_str(c, "mode");
	const char *params[5] = { c->param, set_zone ? "1" : NULL, zone_id, api_body_str(c, "name"), mode };
	PGresult *res = NULL;
	json_t *before = NULL, *after = NULL, *details = NULL;
	bool was_unassigned;

	if (mode && strcmp(mode, "learning") != 0 && strcmp(mode, "operational") != 0) {
		api_fail(c, 400, "invalid_field", "mode", "field 'mode' must be \"learning\" or \"operational\"");
		return;
	}
	if (!id_param(c) || (set_zone && !zone_in_scope(c, db, zone_id)))
		return;
	if (!db_begin(db)) {
		api_fail_db(c);
		return;
	}
	/* The ingest writer locks the sensor row too, so no batch lands in the old scope while we move it. */
	res = db_exec(db,
		      "select s.zone_id is null, s.revoked_at is not null, " SENSOR_JSON SENSOR_FROM
		      "where s.id = $1::uuid and otw_zone_visible($2::bigint[], s.zone_id) for update of s",
		      2, lock_params);
	if (!res) {
		api_fail_db(c);
		goto out;
	}
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "sensor not found");
		goto out;
	}
	if (PQgetvalue(res, 0, 1)[0] == 't') {
		api_fail(c, 409, "conflict", NULL, "sensor is revoked");
		goto out;
	}
	was_unassigned = PQgetvalue(res, 0, 0)[0] == 't';
	before = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
	PQclear(res);
	res = db_exec_state(db,
			    "update sensors set zone_id = case when $2::int is null then zone_id else $3::bigint end, "
			    "name = coalesce($4, name), mode_request = coalesce($5, mode_request), "
			    "mode_request_rev = mode_request_rev + ($5::text is not null)::int, updated_at = now() "
			    "where id = $1::uuid",
			    5, params, state);
	if (!res) {
		if (strcmp(state, "23505") == 0)
			api_fail(c, 409, "conflict", "name", "a sensor with this name already exists");
		else if (strcmp(state, "23503") == 0)
			api_fail(c, 400, "invalid_field", "zone_id", "field 'zone_id' does not name an existing zone");
		else if (strcmp(state, "23514") == 0)
			api_fail(c, 400, "invalid_field", "name", "field 'name' is not valid");
		else
			api_fail_db(c);
		goto out;
	}
	if (was_unassigned && zone_id) {
		snprintf(from, sizeof(from), "s:%s", c->param);
		snprintf(to, sizeof(to), "z:%s", zone_id);
		if (api_sensors_move_scope(db, from, to, zone_id) != 0) {
			api_fail_db(c);
			goto out;
		}
	}
	PQclear(res);
	res = db_exec(db, "select " SENSOR_JSON SENSOR_FROM "where s.id = $1::uuid", 1, lock_params);
	if (!res || PQntuples(res) != 1 || !(after = json_loads(PQgetvalue(res, 0, 0), 0, NULL))) {
		api_fail_db(c);
		goto out;
	}
	details = json_pack("{s:O*, s:O*, s:O}", "request", c->body, "before", before, "after", after);
	api_audit(c, db, "sensor.update", c->param, details);
	if (!db_commit(db)) {
		api_fail_db(c);
		goto out;
	}
	api_ok(c, 200, after);
	after = NULL;
out:
	json_decref(before);
	json_decref(after);
	json_decref(details);
	PQclear(res);
	db_rollback(db);
}

void api_sensors_delete(struct api_call *c, PGconn *db)
{
	char err[256] = "";
	json_t *details = NULL;
	const char *params[2] = { c->param, api_scope(c) };
	PGresult *res;
	int rc;

	if (!id_param(c))
		return;
	res = db_exec(db,
		      "select " SENSOR_JSON SENSOR_FROM
		      "where s.id = $1::uuid and otw_zone_visible($2::bigint[], s.zone_id)",
		      2, params);
	if (!res) {
		api_fail_db(c);
		return;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		api_fail(c, 404, "not_found", NULL, "sensor not found");
		return;
	}
	details = json_pack("{s:o*}", "before", json_loads(PQgetvalue(res, 0, 0), 0, NULL));
	PQclear(res);
	rc = sensors_admin_revoke(db, c->param, err, sizeof(err));
	if (rc == -ENOENT) {
		api_fail(c, 404, "not_found", NULL, "sensor not found");
		goto out;
	}
	if (rc != 0) {
		api_fail_db(c);
		goto out;
	}
	if (c->env->gw)
		gateway_kick_sensor(c->env->gw, c->param, "sensor revoked");
	api_audit(c, db, "sensor.revoke", c->param, details);
	api_ok(c, 204, NULL);
out:
	json_decref(details);
}
