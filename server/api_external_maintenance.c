/* /external/v1/maintenanceWindow (docs/external-api.md): maintenance windows the incumbent's way, stored in
 * OTWatch's maintenance_windows with the columns of sql/015_external.sql (ticket_id, engines, sensor_ids,
 * subnets), which otw_alert_suppressor applies. A window is addressed by its ticketId: one active window per
 * ticket among the windows a caller may see (lock_ticket). Writes are audited like POST/DELETE
 * /api/v1/maintenance-windows. */
#include "server/api_external.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_principal.h"
#include "server/db.h"

#define TTL_MIN_MINUTES 1
#define TTL_MAX_MINUTES 43200 /* 30 days, as /api/v1/maintenance-windows */
#define TICKET_MAX 200

static const struct http_field window_fields[] = {
	{ "ticketId", HTTP_FT_ANY, HTTP_FF_REQUIRED, 0, 0 },
	{ "ttl", HTTP_FT_ANY, HTTP_FF_NULLABLE, 0, 0 },
	{ "engines", HTTP_FT_ANY, HTTP_FF_NULLABLE, 0, 0 },
	{ "sensorIds", HTTP_FT_ANY, HTTP_FF_NULLABLE, 0, 0 },
	{ "subnets", HTTP_FT_ANY, HTTP_FF_NULLABLE, 0, 0 },
};
const struct http_body_spec api_external_window_body = { window_fields, 5, 0 };
static const struct http_field delete_fields[] = {
	{ "ticketId", HTTP_FT_ANY, HTTP_FF_REQUIRED, 0, 0 },
};
const struct http_body_spec api_external_window_delete_body = { delete_fields, 1, 0 };

#define EXT_WINDOW_JSON                                                                                        \
	"json_build_object('id', w.id, 'ticketId', w.ticket_id, "                                               \
	"'ttl', round(extract(epoch from (w.expires_at - w.starts_at)) / 60)::bigint, "                         \
	"'engines', coalesce((select json_agg(upper(e) order by e) from unnest(w.engines) e), '[]'), "          \
	"'sensorIds', coalesce((select json_agg(s.external_id order by s.external_id) from sensors s "          \
	"where s.id = any (w.sensor_ids)), '[]'), "                                                             \
	"'subnets', coalesce((select json_agg(n::text order by n) from unnest(w.subnets) n), '[]'), "           \
	"'startTime', " API_EXT_MS("w.starts_at") ", 'endTime', " API_EXT_MS("w.expires_at") ")::text"
/* An active window with a ticket, visible to the scope in $N. */
#define EXT_WINDOW_ACTIVE(n)                                                                                   \
	"w.ticket_id is not null and w.starts_at <= now() and now() < w.expires_at "                            \
	"and otw_window_visible($" n "::bigint[], w.zone_id, w.site_id, w.sensor_id, w.sensor_ids)"

/* A body, checked; "" members are absent (NULL in SQL), has_* says whether the field was given. */
struct window_in {
	char ticket[4 * TICKET_MAX + 1];
	char ttl[16];
	bool has_engines, has_sensors, has_subnets;
	char engines[128];
	char sensor_ints[4096], sensor_uuids[4096];
	char subnets[8192];
};

static bool ticket_of(struct api_call *c, json_t *v, char *out, size_t outlen)
{
	const char *s = json_string_value(v);

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return true;
	}
	if (s && json_string_length(v) > 0 && http_utf8_len(s, json_string_length(v)) <= TICKET_MAX &&
	    strlen(s) < outlen) {
		for (const char *p = s; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				goto bad;
		snprintf(out, outlen, "%s", s);
		return true;
	}
bad:
	api_fail(c, 400, "invalid_field", "ticketId", "field 'ticketId' must be a string of 1 to %d characters or an "
		 "integer", TICKET_MAX);
	return false;
}

/* Appends item to the PostgreSQL array text in out (used bytes in *used); false when it does not fit. */
static bool arr_add(char *out, size_t len, size_t *used, const char *item)
{
	int n = snprintf(out + *used, len - *used, "%s%s", *used > 1 ? "," : "", item);

	if (n < 0 || (size_t)n >= len - *used - 1)
		return false;
	*used += (size_t)n;
	return true;
}

static bool engines_of(struct api_call *c, json_t *v, char *out, size_t len)
{
	static const char *const names[] = { "POLICY_VIOLATION", "PROTOCOL_VIOLATION", "ANOMALY", "OPERATIONAL",
					     "MALWARE" };
	size_t i, used = 1;
	json_t *e;

	out[0] = '{';
	out[1] = '\0';
	if (!json_is_array(v) || json_array_size(v) > 5)
		goto bad;
	json_array_foreach(v, i, e) {
		const char *s = json_string_value(e);
		char lower[32];
		size_t k;
		for (k = 0; s && k < sizeof(names) / sizeof(names[0]); k++)
			if (strcmp(s, names[k]) == 0)
				break;
		if (!s || k == sizeof(names) / sizeof(names[0]))
			goto bad;
		for (k = 0; s[k] && k < sizeof(lower) - 1; k++)
			lower[k] = (char)tolower((unsigned char)s[k]);
		lower[k] = '\0';
		if (!arr_add(out, len, &used, lower))
			goto bad;
	}
	if (used == 1)
		out[0] = '\0'; /* [] is every engine */
	else
		snprintf(out + used, len - used, "}");
	return true;
bad:
	api_fail(c, 400, "invalid_field", "engines", "field 'engines' must be an array of ANOMALY, MALWARE, "
		 "OPERATIONAL, POLICY_VIOLATION, PROTOCOL_VIOLATION");
	return false;
}

static bool sensors_of(struct api_call *c, json_t *v, struct window_in *in)
{
	size_t i, ui = 1, uu = 1;
	json_t *e;
	char num[24];

	in->sensor_ints[0] = in->sensor_uuids[0] = '{';
	in->sensor_ints[1] = in->sensor_uuids[1] = '\0';
	if (!json_is_array(v) || json_array_size(v) > API_EXTERNAL_LIST_MAX)
		goto bad;
	json_array_foreach(v, i, e) {
		const char *s = json_string_value(e);
		int64_t id;
		bool ok;
		if (json_is_integer(e) && json_integer_value(e) > 0) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(e));
			ok = arr_add(in->sensor_ints, sizeof(in->sensor_ints), &ui, num);
		} else if (s && http_id_parse_int(s, &id)) {
			ok = arr_add(in->sensor_ints, sizeof(in->sensor_ints), &ui, s);
		} else if (s && http_id_is_uuid(s)) {
			ok = arr_add(in->sensor_uuids, sizeof(in->sensor_uuids), &uu, s);
		} else {
			ok = false;
		}
		if (!ok)
			goto bad;
	}
	snprintf(in->sensor_ints + ui, sizeof(in->sensor_ints) - ui, "}");
	snprintf(in->sensor_uuids + uu, sizeof(in->sensor_uuids) - uu, "}");
	return true;
bad:
	api_fail(c, 400, "invalid_field", "sensorIds", "field 'sensorIds' must be an array of at most %d sensor ids "
		 "(integers or UUIDs)", API_EXTERNAL_LIST_MAX);
	return false;
}

/* "a.b.c.d", "a.b.c.d/n", IPv6 with or without /n. */
static bool subnet_ok(const char *s)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned char buf[16];
	long prefix, max;
	char *end;

	if (alen == 0 || alen >= sizeof(addr))
		return false;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, buf) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, addr, buf) == 1)
		max = 128;
	else
		return false;
	if (!slash)
		return true;
	if (!isdigit((unsigned char)slash[1]))
		return false;
	prefix = strtol(slash + 1, &end, 10);
	return *end == '\0' && prefix >= 0 && prefix <= max;
}

static bool subnets_of(struct api_call *c, json_t *v, char *out, size_t len)
{
	size_t i, used = 1;
	json_t *e;

	out[0] = '{';
	out[1] = '\0';
	if (!json_is_array(v) || json_array_size(v) > API_EXTERNAL_LIST_MAX)
		goto bad;
	json_array_foreach(v, i, e) {
		const char *s = json_string_value(e);
		if (!s || !subnet_ok(s) || !arr_add(out, len, &used, s))
			goto bad;
	}
	if (used == 1)
		out[0] = '\0';
	else
		snprintf(out + used, len - used, "}");
	return true;
bad:
	api_fail(c, 400, "invalid_field", "subnets", "field 'subnets' must be an array of at most %d IP addresses or "
		 "CIDR subnets", API_EXTERNAL_LIST_MAX);
	return false;
}

static bool given(struct api_call *c, const char *name)
{
	json_t *v = c->body ? json_object_get(c->body, name) : NULL;

	return v && !json_is_null(v);
}

/* Checks the body into in; answers 400 and returns false otherwise. */
static bool window_body(struct api_call *c, struct window_in *in, bool need_ttl)
{
	json_t *ttl = json_object_get(c->body, "ttl");

	memset(in, 0, sizeof(*in));
	if (!ticket_of(c, json_object_get(c->body, "ticketId"), in->ticket, sizeof(in->ticket)))
		return false;
	if (given(c, "ttl") || need_ttl) {
		if (!json_is_integer(ttl) || json_integer_value(ttl) < TTL_MIN_MINUTES ||
		    json_integer_value(ttl) > TTL_MAX_MINUTES) {
			api_fail(c, 400, "invalid_field", "ttl", "field 'ttl' must be an integer number of minutes from %d "
				 "to %d", TTL_MIN_MINUTES, TTL_MAX_MINUTES);
			return false;
		}
		snprintf(in->ttl, sizeof(in->ttl), "%" JSON_INTEGER_FORMAT, json_integer_value(ttl));
	}
	if ((in->has_engines = given(c, "engines")) &&
	    !engines_of(c, json_object_get(c->body, "engines"), in->engines, sizeof(in->engines)))
		return false;
	if ((in->has_sensors = given(c, "sensorIds")) && !sensors_of(c, json_object_get(c->body, "sensorIds"), in))
		return false;
	if ((in->has_subnets = given(c, "subnets")) &&
	    !subnets_of(c, json_object_get(c->body, "subnets"), in->subnets, sizeof(in->subnets)))
		return false;
	return true;
}

static const char *nz(const char *s)
{
	return s && *s ? s : NULL;
}

/* Resolves in's sensor ids to a uuid[] text (out; "" for an empty list: every sensor). Every id must name a
 * sensor the caller may see; otherwise 400. A window on every sensor is global: unrestricted callers only (403).
 * Returns false after answering. */
static bool sensors_resolve(struct api_call *c, PGconn *db, const struct window_in *in, char *out, size_t len)
{
	const char *params[3] = { in->sensor_ints, in->sensor_uuids, api_scope(c) };
	PGresult *res;
	bool ok = false;

	out[0] = '\0';
	if (!in->has_sensors || (strcmp(in->sensor_ints, "{}") == 0 && strcmp(in->sensor_uuids, "{}") == 0)) {
		if (!api_scope(c))
			return true;
		api_fail(c, 403, "forbidden", "sensorIds", "a maintenance window on every sensor needs an unrestricted "
			 "(admin) token; list sensorIds");
		return false;
	}
	res = db_exec(db,
		      "select (select count(*) from unnest($1::bigint[]) x where not exists (select 1 from sensors s "
		      "where s.external_id = x and otw_zone_visible($3::bigint[], s.zone_id))) + "
		      "(select count(*) from unnest($2::uuid[]) x where not exists (select 1 from sensors s "
		      "where s.id = x and otw_zone_visible($3::bigint[], s.zone_id))), "
		      "(select array_agg(s.id order by s.external_id) from sensors s "
		      "where s.external_id = any ($1::bigint[]) or s.id = any ($2::uuid[]))::text",
		      3, params);
	if (!res)
		api_fail_db(c);
	else if (strcmp(PQgetvalue(res, 0, 0), "0") != 0)
		api_fail(c, 400, "invalid_field", "sensorIds", "field 'sensorIds' names a sensor that does not exist");
	else if (PQgetlength(res, 0, 1) >= (int)len)
		api_fail(c, 400, "invalid_field", "sensorIds", "field 'sensorIds' names too many sensors");
	else
		ok = snprintf(out, len, "%s", PQgetvalue(res, 0, 1)) >= 0;
	PQclear(res);
	return ok;
}

/* Inside the transaction: serialises writers of one ticket, then locks the active windows of the ticket that the
 * caller (scope: api_scope) may see. A ticketId is unique among the windows one caller sees, never console-wide:
 * windows outside the caller's scope neither conflict with nor reveal themselves to it. */
static PGresult *lock_ticket(PGconn *db, const char *ticket, const char *scope)
{
	const char *params[2] = { ticket, scope };
	PGresult *res = db_exec(db, "select pg_advisory_xact_lock(hashtextextended('otw_ticket:' || $1, 0))", 1,
				params);

	if (!res)
		return NULL;
	PQclear(res);
	return db_exec(db, "select w.id::text from maintenance_windows w where w.ticket_id = $1 and "
		       EXT_WINDOW_ACTIVE("2") " order by w.id for update", 2, params);
}

static PGresult *window_get(PGconn *db, const char *id)
{
	const char *params[1] = { id };

	return db_exec(db, "select " EXT_WINDOW_JSON " from maintenance_windows w where w.id = $1::bigint", 1, params);
}

void api_external_windows_list(struct api_call *c, PGconn *db)
{
	static const char *const names[] = { "ticketId" };
	char *v[1];
	const char *params[2];

	if (!api_external_query_parse(c, names, 1, 0, v))
		return;
	params[0] = api_scope(c);
	params[1] = v[0];
	api_external_array(c, db,
			   "select " EXT_WINDOW_JSON " from maintenance_windows w where " EXT_WINDOW_ACTIVE("1")
			   " and ($2::text is null or w.ticket_id = $2) order by w.id",
			   2, params);
	api_external_query_free(v, 1);
}

void api_external_window_create(struct api_call *c, PGconn *db)
{
	struct window_in in;
	char sensors[8192];
	const char *params[6] = { in.ticket, in.ttl, NULL, NULL, NULL, c->username };
	PGresult *res = NULL;

	if (!window_body(c, &in, true))
		return;
	if (!db_begin(db) || !api_maintenance_purge_expired(db))
		goto fail;
	if (!sensors_resolve(c, db, &in, sensors, sizeof(sensors)))
		goto out;
	if (!(res = lock_ticket(db, in.ticket, api_scope(c))))
		goto fail;
	if (PQntuples(res) > 0) {
		api_fail(c, 409, "conflict", "ticketId", "an active maintenance window has this ticketId; change it with "
			 "PUT or end it with DELETE");
		goto out;
	}
	PQclear(res);
	params[2] = nz(in.engines);
	params[3] = nz(sensors);
	params[4] = nz(in.subnets);
	res = db_exec(db,
		      "insert into maintenance_windows as w (name, ticket_id, engines, sensor_ids, subnets, starts_at, "
		      "expires_at, created_by) select left('ticket ' || $1, 200), $1, $3::text[], $4::uuid[], "
		      "(select array_agg(network(x)) from unnest($5::inet[]) x), now(), "
		      "now() + $2::int * interval '1 minute', $6 returning w.id::text, " EXT_WINDOW_JSON,
		      6, params);
	if (!res)
		goto fail;
	api_commit_audited(c, db, "maintenance_window.create", PQgetvalue(res, 0, 0), NULL,
			   json_loads(PQgetvalue(res, 0, 1), 0, NULL), 200);
	goto out;
fail:
	api_fail_db(c);
out:
	db_rollback(db);
	PQclear(res);
}

/* The active window of the ticket the caller may see, locked: its id into id[24]. Answers 404 when there is none,
 * 409 when the caller sees several (restricted callers of different scopes each opened one). */
static bool find_window(struct api_call *c, PGconn *db, const char *ticket, char id[24])
{
	PGresult *res = lock_ticket(db, ticket, api_scope(c));
	bool ok = false;

	if (!res)
		api_fail_db(c);
	else if (PQntuples(res) == 0)
		api_fail(c, 404, "not_found", "ticketId", "no active maintenance window has this ticketId");
	else if (PQntuples(res) > 1)
		api_fail(c, 409, "ambiguous", "ticketId", "%d active maintenance windows have this ticketId; end them in "
			 "the console (/api/v1/maintenance-windows)", PQntuples(res));
	else
		ok = snprintf(id, 24, "%s", PQgetvalue(res, 0, 0)) > 0;
	PQclear(res);
	return ok;
}

void api_external_window_update(struct api_call *c, PGconn *db)
{
	struct window_in in;
	char id[24], sensors[8192];
	const char *params[9] = { id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
	PGresult *res = NULL;
	json_t *before = NULL;

	if (!window_body(c, &in, false))
		return;
	if (!db_begin(db))
		goto fail;
	if (!find_window(c, db, in.ticket, id))
		goto out;
	if (in.has_sensors && !sensors_resolve(c, db, &in, sensors, sizeof(sensors)))
		goto out;
	if (!(res = window_get(db, id)) || !(before = json_loads(PQgetvalue(res, 0, 0), 0, NULL)))
		goto fail;
	PQclear(res);
	params[1] = nz(in.ttl);
	params[2] = in.has_engines ? "t" : "f";
	params[3] = nz(in.engines);
	params[4] = in.has_sensors ? "t" : "f";
	params[5] = in.has_sensors ? nz(sensors) : NULL;
	params[6] = in.has_subnets ? "t" : "f";
	params[7] = nz(in.subnets);
	res = db_exec(db,
		      "update maintenance_windows w set "
		      "starts_at = case when $2::int is null then w.starts_at else now() end, "
		      "expires_at = case when $2::int is null then w.expires_at else now() + $2::int * interval '1 minute' end, "
		      "engines = case when $3::boolean then $4::text[] else w.engines end, "
		      "sensor_ids = case when $5::boolean then $6::uuid[] else w.sensor_ids end, "
		      "subnets = case when $7::boolean then (select array_agg(network(x)) from unnest($8::inet[]) x) "
		      "else w.subnets end where w.id = $1::bigint returning " EXT_WINDOW_JSON,
		      8, params);
	if (!res)
		goto fail;
	api_commit_audited(c, db, "maintenance_window.update", id, before, json_loads(PQgetvalue(res, 0, 0), 0, NULL),
			   200);
	goto out;
fail:
	api_fail_db(c);
out:
	db_rollback(db);
	PQclear(res);
	json_decref(before);
}

void api_external_window_delete(struct api_call *c, PGconn *db)
{
	static const char *const names[] = { "ticketId" };
	char *v[1] = { NULL };
	char ticket[4 * TICKET_MAX + 1], id[24];
	const char *params[1] = { id };
	PGresult *res = NULL;
	json_t *before = NULL, *query_ticket = NULL;

	if (!api_external_query_parse(c, names, 1, 0, v))
		return;
	if (v[0] && c->body) {
		api_fail(c, 400, "invalid_field", "ticketId", "give ticketId in the query or in the body, not both");
		goto out;
	}
	query_ticket = v[0] ? json_string(v[0]) : NULL;
	if (!(v[0] ? query_ticket : c->body)) {
		api_fail(c, 400, "invalid_field", "ticketId", "ticketId is required (query or body)");
		goto out;
	}
	if (!ticket_of(c, v[0] ? query_ticket : json_object_get(c->body, "ticketId"), ticket, sizeof(ticket)))
		goto out;
	if (!db_begin(db))
		goto fail;
	if (!find_window(c, db, ticket, id))
		goto out;
	if (!(res = window_get(db, id)) || !(before = json_loads(PQgetvalue(res, 0, 0), 0, NULL)))
		goto fail;
	PQclear(res);
	res = db_exec(db, "update maintenance_windows w set expires_at = now() where w.id = $1::bigint returning "
		      EXT_WINDOW_JSON, 1, params);
	if (!res)
		goto fail;
	api_commit_audited(c, db, "maintenance_window.end", id, before, json_loads(PQgetvalue(res, 0, 0), 0, NULL), 200);
	goto out;
fail:
	api_fail_db(c);
out:
	db_rollback(db);
	PQclear(res);
	json_decref(before);
	json_decref(query_ticket);
	api_external_query_free(v, 1);
}
