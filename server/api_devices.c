#include "server/api_devices.h"

#include <errno.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/access_scope.h"
#include "server/api_devices_list.h"
#include "server/api_principal.h"
#include "server/db.h"

/* Sensor-reported fields an analyst may override (devices.overrides); the other PATCH fields exist only on the
 * analyst's side. */
static const char *const override_fields[] = { "type", "vendor", "model",    "firmware",    "serial",
					       "os",   "hostname", "fqdn", "purdue_level" };
#define NOVERRIDES (sizeof(override_fields) / sizeof(override_fields[0]))

static const char *const importances[] = { "low", "medium", "high" };

#define TEXT_FIELD(n) { n, HTTP_FT_STRING, HTTP_FF_NULLABLE | HTTP_FF_NO_CTRL, 1, 255 }
static const struct http_field update_fields[] = {
	{ "name", HTTP_FT_STRING, HTTP_FF_NULLABLE | HTTP_FF_NO_CTRL, 1, 200 },
	{ "type", HTTP_FT_STRING, HTTP_FF_NULLABLE | HTTP_FF_NO_CTRL, 1, 64 },
	{ "authorized", HTTP_FT_BOOL, 0, 0, 0 },
	{ "importance", HTTP_FT_STRING, HTTP_FF_NULLABLE | HTTP_FF_NO_CTRL, 1, 16 },
	{ "description", HTTP_FT_STRING, HTTP_FF_NULLABLE, 0, 2000 },
	{ "tags", HTTP_FT_ANY, HTTP_FF_NULLABLE, 0, 0 },
	TEXT_FIELD("vendor"),
	TEXT_FIELD("model"),
	TEXT_FIELD("firmware"),
	TEXT_FIELD("serial"),
	TEXT_FIELD("os"),
	TEXT_FIELD("hostname"),
	TEXT_FIELD("fqdn"),
	{ "purdue_level", HTTP_FT_ANY, HTTP_FF_NULLABLE, 0, 0 },
};
const struct http_body_spec api_devices_update_body = { update_fields, sizeof(update_fields) / sizeof(update_fields[0]),
							1 };
static const struct http_field merge_fields[] = {
	{ "ids", HTTP_FT_IDS, HTTP_FF_REQUIRED, 0, 100 },
	{ "into", HTTP_FT_ID, HTTP_FF_REQUIRED, 0, 0 },
};
const struct http_body_spec api_devices_merge_body = { merge_fields, 2, 0 };

/* The analyst's side of a device, for the audit log. */
#define ANALYST_JSON                                                                                           \
	"json_build_object('name', d.name, 'authorized', d.authorized, 'importance', d.importance, "            \
	"'description', d.description, 'tags', to_jsonb(d.tags), 'overrides', d.overrides)::text"

static void get_device(struct api_call *c, PGconn *db, const char *id)
{
	const char *params[2] = { id, api_scope(c) };

	api_get_one(c, db,
		    "select " DEVICE_JSON DEVICE_FROM "where d.id = $1::bigint and d.merged_into is null "
		    "and otw_zone_visible($2::bigint[], d.zone_id)",
		    2, params, "device");
}

void api_devices_get(struct api_call *c, PGconn *db)
{
	if (api_id_param(c, "device"))
		get_device(c, db, c->param);
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static int field_error(struct http_error *err, const char *field, const char *msg)
{
	http_error_set(err, 400, "invalid_field", field, "field '%s' %s", field, msg);
	return -EINVAL;
}

static bool tag_ok(json_t *t)
{
	const char *s = json_string_value(t);
	size_t len = json_string_length(t), chars;

	if (!s)
		return false;
	chars = http_utf8_len(s, len);
	if (chars < 1 || chars > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int api_devices_check_update(json_t *body, struct http_error *err)
{
	json_t *v;
	const char *s;

	if ((s = json_string_value(json_object_get(body, "type"))) &&
	    !in_list(s, api_device_types, api_device_types_n))
		return field_error(err, "type", "is not a known device type (plc, rtu, hmi, historian, ...)");
	if ((s = json_string_value(json_object_get(body, "importance"))) && !in_list(s, importances, 3))
		return field_error(err, "importance", "must be low, medium, high or null");
	if ((s = json_string_value(json_object_get(body, "description")))) {
		for (; *s; s++)
			if (((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t') || *s == 0x7f)
				return field_error(err, "description", "must not contain control characters");
	}
	v = json_object_get(body, "purdue_level");
	if (v && !json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 5))
		return field_error(err, "purdue_level", "must be an integer from 0 to 5 or null");
	v = json_object_get(body, "tags");
	if (v && !json_is_null(v)) {
		size_t i, j;
		json_t *t;
		if (!json_is_array(v) || json_array_size(v) > 32)
			return field_error(err, "tags", "must be an array of at most 32 tags");
		json_array_foreach(v, i, t) {
			if (!tag_ok(t))
				return field_error(err, "tags", "must hold tags of 1 to 64 characters without control characters");
			for (j = 0; j < i; j++)
				if (json_equal(json_array_get(v, j), t))
					return field_error(err, "tags", "must not repeat a tag");
		}
	}
	return 0;
}

/* A JSON array of strings as PostgreSQL array text (heap), every element quoted. NULL when out of memory. */
static char *pg_text_array(json_t *arr)
{
	size_t cap = 3, i, n = 0;
	json_t *v;
	char *out, *p;

	json_array_foreach(arr, i, v)
		cap += 3 + 2 * json_string_length(v);
	if (!(out = malloc(cap)))
		return NULL;
	p = out;
	*p++ = '{';
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (n++)
			*p++ = ',';
		*p++ = '"';
		for (; *s; s++) {
			if (*s == '"' || *s == '\\')
				*p++ = '\\';
			*p++ = *s;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return out;
}

/* The request's fields as the analyst state `state` (ANALYST_JSON) has them: override fields from overrides. */
static json_t *project(json_t *state, json_t *body)
{
	json_t *o = json_object(), *v;
	const char *k;

	json_object_foreach(body, k, v) {
		json_t *cur = in_list(k, override_fields, NOVERRIDES) ? json_object_get(json_object_get(state, "overrides"), k)
								   : json_object_get(state, k);
		if (o && json_object_set_new(o, k, cur ? json_incref(cur) : json_null())) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

static json_t *analyst_state(PGconn *db, const char *const *params, int nparams, const char *sql)
{
	PGresult *res = db_exec(db, sql, nparams, params);
	json_t *o = NULL;

	if (res && PQntuples(res) == 1)
		o = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	return o;
}

void api_devices_update(struct api_call *c, PGconn *db)
{
	json_t *body = c->body, *set = json_object(), *unset = json_array(), *v, *before = NULL, *after = NULL,
	       *state = NULL, *details = NULL;
	const char *lock[2] = { c->param, api_scope(c) };
	const char *params[10];
	char *set_text = NULL, *unset_text = NULL, *tags_text = NULL;
	PGresult *res = NULL;

	if (!api_id_param(c, "device"))
		goto out;
	if (api_devices_check_update(body, &c->err) < 0) {
		c->status = c->err.status;
		goto out;
	}
	if (!set || !unset)
		goto fail;
	for (size_t i = 0; i < NOVERRIDES; i++) {
		if (!(v = json_object_get(body, override_fields[i])))
			continue;
		if (json_is_null(v) ? json_array_append_new(unset, json_string(override_fields[i]))
				    : json_object_set(set, override_fields[i], v))
			goto fail;
	}
	v = json_object_get(body, "tags");
	if (v && !(tags_text = json_is_null(v) ? strdup("{}") : pg_text_array(v)))
		goto fail;
	if (!(set_text = json_dumps(set, JSON_COMPACT)) || !(unset_text = pg_text_array(unset)))
		goto fail;
	params[0] = c->param;
	params[1] = api_body_has(c, "name") ? "true" : "false";
	params[2] = api_body_str(c, "name");
	v = json_object_get(body, "authorized");
	params[3] = v ? (json_is_true(v) ? "true" : "false") : NULL;
	params[4] = api_body_has(c, "importance") ? "true" : "false";
	params[5] = api_body_str(c, "importance");
	params[6] = api_body_has(c, "description") ? (api_body_str(c, "description") ? api_body_str(c, "description") : "")
						   : NULL;
	params[7] = tags_text;
	params[8] = set_text;
	params[9] = unset_text;
	if (!db_begin(db))
		goto fail;
	/* Locks the device; a merged-away or out-of-scope device is not found. */
	if (!(res = db_exec(db,
			    "select " ANALYST_JSON " from devices d where d.id = $1::bigint and d.merged_into is null "
			    "and otw_zone_visible($2::bigint[], d.zone_id) for update",
			    2, lock)))
		goto fail;
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "device not found");
		goto out;
	}
	state = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	before = project(state, body);
	json_decref(state);
	PQclear(res);
	res = db_exec(db,
		      "update devices d set name = case when $2::boolean then $3 else d.name end, "
		      "authorized = coalesce($4::boolean, d.authorized), "
		      "importance = case when $5::boolean then $6 else d.importance end, "
		      "description = coalesce($7, d.description), tags = coalesce($8::text[], d.tags), "
		      "overrides = (d.overrides || $9::jsonb) - $10::text[], updated_at = now() where d.id = $1::bigint",
		      10, params);
	if (!res)
		goto fail;
	state = analyst_state(db, params, 1, "select " ANALYST_JSON " from devices d where d.id = $1::bigint");
	after = state ? project(state, body) : NULL;
	json_decref(state);
	if (!before || !after || !(details = json_pack("{s:O, s:O}", "before", before, "after", after)))
		goto fail;
	api_audit(c, db, "device.update", c->param, details);
	get_device(c, db, c->param);
	if (c->status == 200) {
		/* Live event, sent at commit (sql/010_events.sql). */
		PQclear(res);
		if (!(res = db_exec(db, "select otw_events_device($1::bigint, 'update', null)", 1, params)))
			goto fail;
	}
	if (c->status == 200 && !db_commit(db))
		goto fail;
	goto out;
fail:
	api_fail_db(c);
out:
	db_rollback(db);
	PQclear(res);
	json_decref(set);
	json_decref(unset);
	json_decref(before);
	json_decref(after);
	json_decref(details);
	free(set_text);
	free(unset_text);
	free(tags_text);
}

/* Folds the analyst data of the merged devices ($2) into the target ($1): its own values win, a merged device's
 * fill what it lacks, tags and "authorized" add up, overrides merge per field. */
static const char *const fold_sql =
	"update devices t set name = coalesce(t.name, (select o.name from devices o where o.id = any ($2::bigint[]) "
	"and o.name is not null order by o.id limit 1)), "
	"authorized = t.authorized or exists (select 1 from devices o where o.id = any ($2::bigint[]) and o.authorized), "
	"importance = coalesce(t.importance, (select o.importance from devices o where o.id = any ($2::bigint[]) "
	"and o.importance is not null order by case o.importance when 'high' then 0 when 'medium' then 1 else 2 end "
	"limit 1)), "
	"description = case when t.description <> '' then t.description else coalesce((select o.description from "
	"devices o where o.id = any ($2::bigint[]) and o.description <> '' order by o.id limit 1), '') end, "
	"tags = (array(select distinct u from unnest(t.tags || array(select x from devices o, unnest(o.tags) x "
	"where o.id = any ($2::bigint[]))) u order by u))[1:32], "
	"overrides = coalesce((select jsonb_object_agg(a.k, a.v) from (select distinct on (e.key) e.key k, e.value v "
	"from devices o, jsonb_each(o.overrides) e where o.id = any ($2::bigint[]) order by e.key, o.id) a), '{}') "
	"|| t.overrides, updated_at = now() where t.id = $1::bigint";

void api_devices_merge(struct api_call *c, PGconn *db)
{
	json_t *ids = json_object_get(c->body, "ids"), *before = NULL, *after = NULL, *v;
	json_int_t into = json_integer_value(json_object_get(c->body, "into"));
	char ids_text[100 * 21 + 3], into_text[24];
	const char *params[3] = { ids_text, into_text, api_scope(c) };
	const char *scope = NULL;
	PGresult *res = NULL;
	size_t i;
	int found_into = -1;

	snprintf(into_text, sizeof(into_text), "%" JSON_INTEGER_FORMAT, into);
	if (json_array_size(ids) == 0) {
		api_fail(c, 400, "invalid_field", "ids", "field 'ids' must name at least one device");
		return;
	}
	json_array_foreach(ids, i, v) {
		if (json_integer_value(v) == into) {
			api_fail(c, 400, "invalid_field", "ids", "field 'ids' must not contain 'into'");
			return;
		}
	}
	if (!access_ids_pg_array(ids, ids_text, sizeof(ids_text))) {
		api_fail(c, 400, "invalid_field", "ids", "field 'ids' is not valid");
		return;
	}
	if (!db_begin(db))
		goto fail;
	/* Locks every row of the merge in id order (two merges cannot deadlock); merged-away or out-of-scope
	 * devices are not found. */
	res = db_exec(db,
		      "select d.id::text, d.merge_scope, " DEVICE_JSON DEVICE_FROM
		      "where (d.id = any ($1::bigint[]) or d.id = $2::bigint) and d.merged_into is null "
		      "and otw_zone_visible($3::bigint[], d.zone_id) order by d.id for update of d",
		      3, params);
	if (!res)
		goto fail;
	for (int r = 0; r < PQntuples(res); r++)
		if (strcmp(PQgetvalue(res, r, 0), into_text) == 0)
			found_into = r;
	if (found_into < 0) {
		api_fail(c, 400, "invalid_field", "into", "field 'into' does not name an existing device");
		goto out;
	}
	if ((size_t)PQntuples(res) != json_array_size(ids) + 1) {
		api_fail(c, 400, "invalid_field", "ids", "field 'ids' names a device that does not exist");
		goto out;
	}
	scope = PQgetvalue(res, found_into, 1);
	if (!(before = json_array()))
		goto fail;
	for (int r = 0; r < PQntuples(res); r++) {
		if (strcmp(PQgetvalue(res, r, 1), scope) != 0) {
			api_fail(c, 400, "invalid_field", "ids", "devices can only be merged within one zone");
			goto out;
		}
		if (json_array_append_new(before, json_loads(PQgetvalue(res, r, 2), 0, NULL)))
			goto fail;
	}
	PQclear(res);
	params[0] = into_text;
	params[1] = ids_text;
	if (!(res = db_exec(db, fold_sql, 2, params)))
		goto fail;
	PQclear(res);
	/* One level: what was merged into a merged device now points at the target too. */
	res = db_exec(db,
		      "update devices set merged_into = $1::bigint, updated_at = now() "
		      "where id = any ($2::bigint[]) or merged_into = any ($2::bigint[])",
		      2, params);
	if (!res)
		goto fail;
	PQclear(res);
	/* Live event, sent at commit (sql/010_events.sql). */
	if (!(res = db_exec(db, "select otw_events_device($1::bigint, 'merge', $2::bigint[])", 2, params)))
		goto fail;
	PQclear(res);
	res = db_exec(db, "select " DEVICE_JSON DEVICE_FROM "where d.id = $1::bigint", 1, params);
	if (!res || PQntuples(res) != 1 || !(after = json_loads(PQgetvalue(res, 0, 0), 0, NULL)))
		goto fail;
	api_commit_audited(c, db, "device.merge", into_text, before, after, 200);
	after = NULL;
	goto out;
fail:
	api_fail_db(c);
out:
	db_rollback(db);
	PQclear(res);
	json_decref(before);
	json_decref(after);
}

/* ---- DPI events ---- */

/* The merge scope of the event's sensor, where its addresses name devices. */
#define EV_SCOPE "(case when s.zone_id is null then 's:' || s.id::text else 'z:' || s.zone_id::text end)"
/* The device (merged devices give their target) of that scope with the address: a MAC or an IP. */
#define EV_ENDPOINT(col)                                                                                       \
	"case when " col " is null then null when " col " ~ '^([0-9a-f]{2}:){5}[0-9a-f]{2}$' then "             \
	"(select min(coalesce(dm.merged_into, dm.id)) from device_macs m join devices dm on dm.id = m.device_id " \
	"where m.mac = " col "::macaddr and dm.merge_scope = " EV_SCOPE ") "                                      \
	"else (select min(coalesce(di.merged_into, di.id)) from device_ips i join devices di on di.id = i.device_id " \
	"where i.ip = " col "::inet and di.merge_scope = " EV_SCOPE ") end"
#define EVENT_JSON                                                                                             \
	"json_build_object('id', e.id, 'kind', e.kind, 'sensor_id', e.sensor_id, 'zone_id', s.zone_id, "       \
	"'site_id', z.site_id, 'proto', e.proto, 'name', e.name, 'src_addr', e.src_addr, 'dst_addr', e.dst_addr, " \
	"'src', " EV_ENDPOINT("e.src_addr") ", 'dst', " EV_ENDPOINT("e.dst_addr") ", 'count', e.count, "        \
	"'first_seen', " API_TS("e.first_seen") ", 'last_seen', " API_TS("e.last_seen") ", "                    \
	"'detail', e.detail)::text"

/* device_id and kind (not shared list filters) into v[0] and v[1] ("" when absent); false (400 answered) when bad. */
static bool events_query(struct api_call *c, char *rest, size_t restlen, char v[2][API_QUERY_VALUE_MAX])
{
	static const char *const names[] = { "device_id", "kind" };
	int64_t id;

	if (!api_query_take(c, names, 2, v, rest, restlen))
		return false;
	if (v[0][0] && (!http_id_parse_int(v[0], &id) || strlen(v[0]) >= 24)) {
		api_fail(c, 400, "invalid_query", "device_id", "device_id must be a positive integer");
		return false;
	}
	if (v[1][0] && strcmp(v[1], "event") != 0 && strcmp(v[1], "violation") != 0) {
		api_fail(c, 400, "invalid_query", "kind", "kind must be event or violation");
		return false;
	}
	return true;
}

void api_dpi_events_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;
	char rest[4096 + 1], v[2][API_QUERY_VALUE_MAX], *saved = c->query;
	const char *extra[6];
	bool ok;

	if (!events_query(c, rest, sizeof(rest), v))
		return;
	c->query = rest;
	ok = api_list_params(c, HTTP_FILTER_SITE_ID | HTTP_FILTER_ZONE_ID | HTTP_FILTER_SENSOR_ID, HTTP_ID_INT, &lp);
	c->query = saved;
	if (!ok)
		return;
	extra[0] = lp.site_id;
	extra[1] = lp.zone_id;
	extra[2] = lp.sensor_id;
	extra[3] = api_scope(c);
	extra[4] = v[0];
	extra[5] = v[1];
	/* A device filter matches the events whose source or destination is one of the device's addresses (its
	 * merged devices' included) as seen by a sensor of its merge scope. */
	api_list(c, db,
		 "with dev as (select d.merge_scope, array(select host(i.ip) from device_ips i join devices m "
		 "on m.id = i.device_id where m.id = d.id or m.merged_into = d.id union select x.mac::text "
		 "from device_macs x join devices m on m.id = x.device_id where m.id = d.id or m.merged_into = d.id) addrs "
		 "from devices d where d.id = $7::bigint and d.merged_into is null) "
		 "select e.id::text, " EVENT_JSON " from dpi_events e join sensors s on s.id = e.sensor_id "
		 "left join zones z on z.id = s.zone_id where ($1::bigint is null or e.id > $1::bigint) "
		 "and ($3::bigint is null or z.site_id = $3::bigint) and ($4::bigint is null or s.zone_id = $4::bigint) "
		 "and ($5::uuid is null or e.sensor_id = $5::uuid) and otw_zone_visible($6::bigint[], s.zone_id) "
		 "and ($7::bigint is null or exists (select 1 from dev where dev.merge_scope = " EV_SCOPE " "
		 "and (e.src_addr = any (dev.addrs) or e.dst_addr = any (dev.addrs)))) "
		 "and ($8::text is null or e.kind = $8) order by e.id limit $2::int",
		 &lp, 6, extra);
}
