#include "server/api_exclusions.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_principal.h"
#include "server/db.h"

#define RULE_FIELDS(name_flags)                                                                                \
	{ "name", HTTP_FT_STRING, (name_flags) | HTTP_FF_NO_CTRL, 1, 200 },                                     \
	{ "enabled", HTTP_FT_BOOL, 0, 0, 0 },                                                                    \
	{ "time_window", HTTP_FT_ANY, HTTP_FF_NULLABLE, 0, 0 },                                                  \
	{ "address", HTTP_FT_ANY, HTTP_FF_NULLABLE, 0, 0 },                                                      \
	{ "title", HTTP_FT_STRING, HTTP_FF_NULLABLE | HTTP_FF_NO_CTRL, 1, 255 },                                 \
	{ "sensor_id", HTTP_FT_ANY, HTTP_FF_NULLABLE, 0, 0 },                                                    \
	{ "zone_id", HTTP_FT_ID, HTTP_FF_NULLABLE, 0, 0 },                                                       \
	{ "site_id", HTTP_FT_ID, HTTP_FF_NULLABLE, 0, 0 }
static const struct http_field create_fields[] = { RULE_FIELDS(HTTP_FF_REQUIRED) };
static const struct http_field update_fields[] = { RULE_FIELDS(0) };
const struct http_body_spec api_exclusions_create_body = { create_fields, 8, 0 };
const struct http_body_spec api_exclusions_update_body = { update_fields, 8, 1 };

/* The conditions of a rule: at least one must be set. */
static const char *const condition_fields[] = { "time_window", "address", "title", "sensor_id" };
static const char *const day_names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

#define RULE_JSON                                                                                              \
	"json_build_object('id', r.id, 'name', r.name, 'enabled', r.enabled, 'time_window', "                   \
	"case when r.tw_timezone is null then null else json_build_object('days', (select json_agg("            \
	"(array['mon','tue','wed','thu','fri','sat','sun'])[d] order by d) from unnest(r.tw_days) d), "           \
	"'start', to_char(r.tw_start, 'HH24:MI'), 'end', to_char(r.tw_end, 'HH24:MI'), "                        \
	"'timezone', r.tw_timezone) end, 'address', case when r.addr_direction is null then null else "          \
	"json_build_object('value', coalesce(r.addr_mac::text, case when masklen(r.addr_ip) = "                 \
	"case family(r.addr_ip) when 4 then 32 else 128 end then host(r.addr_ip) else r.addr_ip::text end), "    \
	"'direction', r.addr_direction) end, 'title', r.title, 'sensor_id', r.sensor_id, 'zone_id', r.zone_id, " \
	"'site_id', r.site_id, 'suppressed_count', r.suppressed_count, "                                        \
	"'last_suppressed_at', " API_TS("r.last_suppressed_at") ", 'created_by', r.created_by, "               \
	"'created_at', " API_TS("r.created_at") ", 'updated_at', " API_TS("r.updated_at") ")::text"
/* Rules a caller sees (and may change, with a writing role): $N is the caller's scope. */
#define RULE_VISIBLE(n) "otw_suppression_visible($" n "::bigint[], r.zone_id, r.site_id, null)"

static int bad(struct http_error *err, const char *field, const char *msg)
{
	http_error_set(err, 400, "invalid_field", field, "field '%s' %s", field, msg);
	return -EINVAL;
}

/* "HH:MM", 00:00-23:59 (24:00 too when allow_24). */
static bool parse_hhmm(const char *s, bool allow_24, char out[8])
{
	int h, m;

	if (!s || strlen(s) != 5 || s[2] != ':' || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return false;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || (h > 23 && !(allow_24 && h == 24 && m == 0)))
		return false;
	memcpy(out, s, 6);
	return true;
}

static bool tz_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("/_+-", s[i]))
			return false;
	return true;
}

static int check_days(json_t *v, char out[24], struct http_error *err)
{
	bool seen[7] = { false };
	size_t i, n = 0;
	json_t *d;

	if (!v || json_is_null(v)) {
		snprintf(out, 24, "{1,2,3,4,5,6,7}");
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > 7)
		return bad(err, "time_window.days", "must be an array of 1 to 7 days (\"mon\" .. \"sun\")");
	json_array_foreach(v, i, d) {
		size_t k = 0;
		while (k < 7 && !(json_is_string(d) && strcmp(json_string_value(d), day_names[k]) == 0))
			k++;
		if (k == 7)
			return bad(err, "time_window.days", "must hold mon, tue, wed, thu, fri, sat or sun");
		if (seen[k])
			return bad(err, "time_window.days", "must not repeat a day");
		seen[k] = true;
	}
	out[n++] = '{';
	for (int k = 0; k < 7; k++)
		if (seen[k])
			n += (size_t)snprintf(out + n, 24 - n, "%s%d", n > 1 ? "," : "", k + 1);
	snprintf(out + n, 24 - n, "}");
	return 0;
}

static int check_time_window(json_t *tw, struct exclusion_params *p, struct http_error *err)
{
	static const char *const keys[] = { "days", "start", "end", "timezone" };
	const char *k;
	json_t *v;

	if (json_is_null(tw))
		return 0;
	if (!json_is_object(tw))
		return bad(err, "time_window", "must be an object {days, start, end, timezone} or null");
	json_object_foreach(tw, k, v) {
		size_t i = 0;
		while (i < 4 && strcmp(k, keys[i]) != 0)
			i++;
		if (i == 4) {
			char field[64];
			snprintf(field, sizeof(field), "time_window.%.40s", k);
			http_error_set(err, 400, "unknown_field", field, "unknown field '%s'", field);
			return -EINVAL;
		}
	}
	if (check_days(json_object_get(tw, "days"), p->days, err) < 0)
		return -EINVAL;
	if (!parse_hhmm(json_string_value(json_object_get(tw, "start")), false, p->start))
		return bad(err, "time_window.start", "must be a local time \"HH:MM\" from 00:00 to 23:59");
	if (!parse_hhmm(json_string_value(json_object_get(tw, "end")), true, p->end))
		return bad(err, "time_window.end", "must be a local time \"HH:MM\" from 00:00 to 24:00");
	v = json_object_get(tw, "timezone");
	if (!tz_ok(json_string_value(v)))
		return bad(err, "time_window.timezone", "must be an IANA time zone name (\"Europe/Berlin\")");
	snprintf(p->tz, sizeof(p->tz), "%s", json_string_value(v));
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)tolower((unsigned char)ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* "aa:bb:cc:dd:ee:ff" or "aa-bb-cc-dd-ee-ff" (either case) into lowercase colon form. */
static bool parse_mac(const char *s, char out[18])
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2) {
			if (s[i] != s[2] || (s[i] != ':' && s[i] != '-'))
				return false;
			out[i] = ':';
		} else if (hexval(s[i]) < 0) {
			return false;
		} else {
			out[i] = (char)tolower((unsigned char)s[i]);
		}
	}
	out[17] = '\0';
	return true;
}

/* An address or a subnet without host bits into "address/prefix" (inet_ntop form). */
static bool parse_net(const char *s, char out[64])
{
	char addr[64], text[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	unsigned char bin[16];
	int af, bits, prefix;
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);

	if (alen == 0 || alen >= sizeof(addr))
		return false;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1)
		af = AF_INET, bits = 32;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		af = AF_INET6, bits = 128;
	else
		return false;
	prefix = bits;
	if (slash) {
		const char *d = slash + 1;
		size_t n = strlen(d);
		if (n < 1 || n > 3 || strspn(d, "0123456789") != n || (n > 1 && d[0] == '0'))
			return false;
		prefix = atoi(d);
		if (prefix > bits)
			return false;
	}
	for (int b = prefix; b < bits; b++)
		if (bin[b / 8] & (0x80 >> (b % 8)))
			return false;
	if (!inet_ntop(af, bin, text, sizeof(text)))
		return false;
	snprintf(out, 64, "%s/%d", text, prefix);
	return true;
}

static int check_address(json_t *a, struct exclusion_params *p, struct http_error *err)
{
	const char *k, *value, *dir;
	json_t *v;

	if (json_is_null(a))
		return 0;
	if (!json_is_object(a))
		return bad(err, "address", "must be an object {value, direction} or null");
	json_object_foreach(a, k, v) {
		if (strcmp(k, "value") != 0 && strcmp(k, "direction") != 0) {
			char field[64];
			snprintf(field, sizeof(field), "address.%.40s", k);
			http_error_set(err, 400, "unknown_field", field, "unknown field '%s'", field);
			return -EINVAL;
		}
	}
	value = json_string_value(json_object_get(a, "value"));
	if (!value || strlen(value) > 64 || (!parse_mac(value, p->mac) && !parse_net(value, p->ip)))
		return bad(err, "address.value", "must be an IP address, a subnet (\"10.1.2.0/24\") or a MAC");
	v = json_object_get(a, "direction");
	dir = v && !json_is_null(v) ? json_string_value(v) : "both";
	if (!dir || (strcmp(dir, "source") != 0 && strcmp(dir, "destination") != 0 && strcmp(dir, "both") != 0))
		return bad(err, "address.direction", "must be source, destination or both");
	snprintf(p->direction, sizeof(p->direction), "%s", dir);
	return 0;
}

int api_exclusion_check(json_t *body, struct exclusion_params *out, struct http_error *err)
{
	json_t *v;

	memset(out, 0, sizeof(*out));
	if ((v = json_object_get(body, "time_window"))) {
		out->has_tw = true;
		if (check_time_window(v, out, err) < 0)
			return -EINVAL;
	}
	if ((v = json_object_get(body, "address"))) {
		out->has_addr = true;
		if (check_address(v, out, err) < 0)
			return -EINVAL;
	}
	v = json_object_get(body, "sensor_id");
	if (v && !json_is_null(v) && !(json_is_string(v) && http_id_is_uuid(json_string_value(v))))
		return bad(err, "sensor_id", "must be a sensor id (UUID) or null");
	return 0;
}

bool api_suppression_refs_ok(struct api_call *c, PGconn *db, const char *zone, const char *site, const char *sensor)
{
	const char *params[4] = { zone, site, sensor, api_scope(c) };
	PGresult *res;
	bool ok = false;

	if (!zone && !site && !sensor)
		return true;
	res = db_exec(db,
		      "select ($1::bigint is null or exists (select 1 from zones z where z.id = $1::bigint "
		      "and otw_zone_visible($4::bigint[], z.id))), "
		      "($2::bigint is null or exists (select 1 from sites s where s.id = $2::bigint "
		      "and otw_site_fully_visible($4::bigint[], s.id))), "
		      "($3::uuid is null or exists (select 1 from sensors s where s.id = $3::uuid "
		      "and otw_zone_visible($4::bigint[], s.zone_id)))",
		      4, params);
	if (!res)
		api_fail_db(c);
	else if (PQgetvalue(res, 0, 0)[0] != 't')
		api_fail(c, 400, "invalid_field", "zone_id", "field 'zone_id' does not name an existing zone");
	else if (PQgetvalue(res, 0, 1)[0] != 't')
		api_fail(c, 400, "invalid_field", "site_id", "field 'site_id' does not name an existing site");
	else if (PQgetvalue(res, 0, 2)[0] != 't')
		api_fail(c, 400, "invalid_field", "sensor_id", "field 'sensor_id' does not name an existing sensor");
	else
		ok = true;
	PQclear(res);
	return ok;
}

bool api_suppression_global_ok(struct api_call *c, bool global)
{
	if (!global || !api_scope(c))
		return true;
	api_fail(c, 403, "forbidden", "zone_id", "only admins may manage global suppression; set zone_id or site_id");
	return false;
}

static const char *nz(const char *s)
{
	return s && *s ? s : NULL;
}

/* A failed insert or update: an unknown time zone (checked by the table's trigger) is the client's fault. */
static void write_failed(struct api_call *c, const char *sqlstate)
{
	if (strcmp(sqlstate, "22023") == 0)
		api_fail(c, 400, "invalid_field", "time_window.timezone",
			 "field 'time_window.timezone' is not a time zone PostgreSQL knows");
	else if (strcmp(sqlstate, "23503") == 0)
		api_fail(c, 400, "invalid_field", NULL, "a referenced zone, site or sensor no longer exists");
	else
		api_fail_db(c);
}

static bool body_set(struct api_call *c, const char *name)
{
	json_t *v = c->body ? json_object_get(c->body, name) : NULL;

	return v && !json_is_null(v);
}

void api_exclusions_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;
	const char *extra[4];

	if (!api_list_params(c, HTTP_FILTER_SITE_ID | HTTP_FILTER_ZONE_ID | HTTP_FILTER_SENSOR_ID, HTTP_ID_INT, &lp))
		return;
	extra[0] = api_scope(c);
	extra[1] = lp.zone_id;
	extra[2] = lp.site_id;
	extra[3] = lp.sensor_id;
	api_list(c, db,
		 "select r.id::text, " RULE_JSON " from exclusion_rules r where ($1::bigint is null or r.id > $1::bigint) "
		 "and " RULE_VISIBLE("3") " and ($4::bigint is null or r.zone_id = $4::bigint) "
		 "and ($5::bigint is null or r.site_id = $5::bigint) and ($6::uuid is null or r.sensor_id = $6::uuid) "
		 "order by r.id limit $2::int",
		 &lp, 4, extra);
}

void api_exclusions_get(struct api_call *c, PGconn *db)
{
	const char *params[2] = { c->param, api_scope(c) };

	if (api_id_param(c, "exclusion rule"))
		api_get_one(c, db,
			    "select " RULE_JSON " from exclusion_rules r where r.id = $1::bigint and " RULE_VISIBLE("2"),
			    2, params, "exclusion rule");
}

void api_exclusions_create(struct api_call *c, PGconn *db)
{
	struct exclusion_params p;
	char zone[24], site[24], state[6];
	const char *zone_id = api_body_id(c, "zone_id", zone), *site_id = api_body_id(c, "site_id", site);
	const char *sensor = api_body_str(c, "sensor_id");
	json_t *enabled = json_object_get(c->body, "enabled");
	const char *params[14];
	PGresult *res = NULL;

	if (api_exclusion_check(c->body, &p, &c->err) < 0) {
		c->status = c->err.status;
		return;
	}
	if (zone_id && site_id) {
		api_fail(c, 400, "invalid_field", "site_id", "set only one of zone_id and site_id");
		return;
	}
	if (!p.tz[0] && !p.direction[0] && !body_set(c, "title") && !sensor) {
		api_fail(c, 400, "missing_condition", "conditions",
			 "a rule needs at least one condition: time_window, address, title or sensor_id");
		return;
	}
	if (!api_suppression_refs_ok(c, db, zone_id, site_id, sensor) ||
	    !api_suppression_global_ok(c, !zone_id && !site_id))
		return;
	params[0] = api_body_str(c, "name");
	params[1] = enabled ? (json_is_true(enabled) ? "true" : "false") : NULL;
	params[2] = p.tz[0] ? p.days : NULL;
	params[3] = nz(p.start);
	params[4] = nz(p.end);
	params[5] = nz(p.tz);
	params[6] = nz(p.ip);
	params[7] = nz(p.mac);
	params[8] = nz(p.direction);
	params[9] = api_body_str(c, "title");
	params[10] = sensor;
	params[11] = zone_id;
	params[12] = site_id;
	params[13] = c->username;
	if (!db_begin(db)) {
		api_fail_db(c);
		return;
	}
	res = db_exec_state(db,
			    "insert into exclusion_rules as r (name, enabled, tw_days, tw_start, tw_end, tw_timezone, "
			    "addr_ip, addr_mac, addr_direction, title, sensor_id, zone_id, site_id, created_by) values "
			    "($1, coalesce($2::boolean, true), $3::int[], $4::time, $5::time, $6, $7::cidr, $8::macaddr, $9, "
			    "$10, $11::uuid, $12::bigint, $13::bigint, $14) returning r.id::text, " RULE_JSON,
			    14, params, state);
	if (!res)
		write_failed(c, state);
	else
		api_commit_audited(c, db, "exclusion_rule.create", PQgetvalue(res, 0, 0), NULL,
				   json_loads(PQgetvalue(res, 0, 1), 0, NULL), 201);
	db_rollback(db);
	PQclear(res);
}

/* The rule after a PATCH keeps a condition and a legal scope; answers 400/403 otherwise. `before` is the rule's
 * JSON as stored. */
static bool patched_rule_ok(struct api_call *c, json_t *before, const char **zone_id, const char **site_id,
			    char zone[24], char site[24])
{
	bool cond = false;

	for (size_t i = 0; i < sizeof(condition_fields) / sizeof(condition_fields[0]); i++) {
		const char *f = condition_fields[i];
		json_t *v = json_object_get(c->body, f);
		cond = cond || (v ? !json_is_null(v) : !json_is_null(json_object_get(before, f)));
	}
	if (!cond) {
		api_fail(c, 400, "missing_condition", "conditions",
			 "a rule needs at least one condition: time_window, address, title or sensor_id");
		return false;
	}
	*zone_id = api_body_has(c, "zone_id") ? api_body_id(c, "zone_id", zone) : NULL;
	*site_id = api_body_has(c, "site_id") ? api_body_id(c, "site_id", site) : NULL;
	{
		bool has_zone = api_body_has(c, "zone_id") ? *zone_id != NULL
							    : !json_is_null(json_object_get(before, "zone_id"));
		bool has_site = api_body_has(c, "site_id") ? *site_id != NULL
							    : !json_is_null(json_object_get(before, "site_id"));
		if (has_zone && has_site) {
			api_fail(c, 400, "invalid_field", api_body_has(c, "site_id") ? "site_id" : "zone_id",
				 "set only one of zone_id and site_id (set the other to null)");
			return false;
		}
		return api_suppression_global_ok(c, !has_zone && !has_site);
	}
}

void api_exclusions_update(struct api_call *c, PGconn *db)
{
	struct exclusion_params p;
	char zone[24], site[24], state[6];
	const char *zone_id = NULL, *site_id = NULL, *lock[2] = { c->param, api_scope(c) };
	json_t *enabled = json_object_get(c->body, "enabled"), *before = NULL;
	const char *params[20];
	PGresult *res = NULL;

	if (!api_id_param(c, "exclusion rule"))
		return;
	if (api_exclusion_check(c->body, &p, &c->err) < 0) {
		c->status = c->err.status;
		return;
	}
	if (!db_begin(db))
		goto fail;
	res = db_exec(db,
		      "select " RULE_JSON " from exclusion_rules r where r.id = $1::bigint and " RULE_VISIBLE("2")
		      " for update",
		      2, lock);
	if (!res)
		goto fail;
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "exclusion rule not found");
		goto out;
	}
	if (!(before = json_loads(PQgetvalue(res, 0, 0), 0, NULL)))
		goto fail;
	PQclear(res);
	res = NULL;
	if (!patched_rule_ok(c, before, &zone_id, &site_id, zone, site) ||
	    !api_suppression_refs_ok(c, db, zone_id, site_id, api_body_str(c, "sensor_id")))
		goto out;
	params[0] = c->param;
	params[1] = api_body_str(c, "name");
	params[2] = enabled ? (json_is_true(enabled) ? "true" : "false") : NULL;
	params[3] = p.has_tw ? "true" : "false";
	params[4] = p.tz[0] ? p.days : NULL;
	params[5] = nz(p.start);
	params[6] = nz(p.end);
	params[7] = nz(p.tz);
	params[8] = p.has_addr ? "true" : "false";
	params[9] = nz(p.ip);
	params[10] = nz(p.mac);
	params[11] = nz(p.direction);
	params[12] = api_body_has(c, "title") ? "true" : "false";
	params[13] = api_body_str(c, "title");
	params[14] = api_body_has(c, "sensor_id") ? "true" : "false";
	params[15] = api_body_str(c, "sensor_id");
	params[16] = api_body_has(c, "zone_id") ? "true" : "false";
	params[17] = zone_id;
	params[18] = api_body_has(c, "site_id") ? "true" : "false";
	params[19] = site_id;
	res = db_exec_state(db,
			    "update exclusion_rules r set name = coalesce($2, r.name), "
			    "enabled = coalesce($3::boolean, r.enabled), "
			    "tw_days = case when $4::boolean then $5::int[] else r.tw_days end, "
			    "tw_start = case when $4::boolean then $6::time else r.tw_start end, "
			    "tw_end = case when $4::boolean then $7::time else r.tw_end end, "
			    "tw_timezone = case when $4::boolean then $8 else r.tw_timezone end, "
			    "addr_ip = case when $9::boolean then $10::cidr else r.addr_ip end, "
			    "addr_mac = case when $9::boolean then $11::macaddr else r.addr_mac end, "
			    "addr_direction = case when $9::boolean then $12 else r.addr_direction end, "
			    "title = case when $13::boolean then $14 else r.title end, "
			    "sensor_id = case when $15::boolean then $16::uuid else r.sensor_id end, "
			    "zone_id = case when $17::boolean then $18::bigint else r.zone_id end, "
			    "site_id = case when $19::boolean then $20::bigint else r.site_id end, "
			    "updated_at = now() where r.id = $1::bigint returning " RULE_JSON,
			    20, params, state);
	if (!res) {
		write_failed(c, state);
		goto out;
	}
	api_commit_audited(c, db, "exclusion_rule.update", c->param, before, json_loads(PQgetvalue(res, 0, 0), 0, NULL),
			   200);
	goto out;
fail:
	api_fail_db(c);
out:
	db_rollback(db);
	PQclear(res);
	json_decref(before);
}

void api_exclusions_delete(struct api_call *c, PGconn *db)
{
	const char *params[2] = { c->param, api_scope(c) };
	PGresult *res;
	json_t *details;

	if (!api_id_param(c, "exclusion rule"))
		return;
	res = db_exec(db,
		      "delete from exclusion_rules r where r.id = $1::bigint and " RULE_VISIBLE("2") " returning " RULE_JSON,
		      2, params);
	if (!res) {
		api_fail_db(c);
		return;
	}
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "exclusion rule not found");
	} else {
		details = json_pack("{s:o*}", "before", json_loads(PQgetvalue(res, 0, 0), 0, NULL));
		api_audit(c, db, "exclusion_rule.delete", c->param, details);
		json_decref(details);
		api_ok(c, 204, NULL);
	}
	PQclear(res);
}
