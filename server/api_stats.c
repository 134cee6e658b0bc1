#include "server/api_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_principal.h"
#include "server/db.h"

#define BUCKETS_MAX 1000

/* One row, one json text column: 200 with it. */
static void answer_row(struct api_call *c, PGresult *res)
{
	json_t *out;

	if (!res || PQntuples(res) != 1) {
		api_fail_db(c);
		return;
	}
	out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	if (!out) {
		api_fail_db(c);
		return;
	}
	api_ok(c, 200, out);
}

/* $1 scope, $2 site, $3 zone. The visibility function runs once per zone, never per device: a scoped or filtered
 * caller's devices are read through their zones (devices_stats_idx), an unrestricted one's from that whole index.
 * The type is the one the inventory lists and filters by (devices.inv_type, sql/016_inventory.sql). */
static const char SUMMARY_SQL[] =
	"with z as (select z.id, z.site_id from zones z where otw_zone_visible($1::bigint[], z.id) "
	"  and ($2::bigint is null or z.site_id = $2::bigint) and ($3::bigint is null or z.id = $3::bigint)), "
	"unplaced as (select $1::bigint[] is null and $2::bigint is null and $3::bigint is null as ok), "
	"s as (select s.* from sensors s where s.zone_id in (select id from z) "
	"  or (s.zone_id is null and (select ok from unplaced))), "
	"dz as (select d.zone_id, d.inv_type as type, count(*) n, count(*) filter (where not d.authorized) un "
	"  from devices d where d.merged_into is null and ((select ok from unplaced) "
	"  or d.zone_id = any (array(select id from z))) group by 1, 2), "
	"d as (select dz.* from dz where (dz.zone_id is null and (select ok from unplaced)) "
	"  or dz.zone_id in (select id from z)), "
	"a as (select a.severity, count(*) n from alerts a where a.status = 'new' and (a.zone_id in (select id from z) "
	"  or (a.zone_id is null and (select ok from unplaced))) group by 1) "
	"select json_build_object("
	"'sensors', (select json_build_object('total', count(*) filter (where revoked_at is null), "
	"  'connected', count(*) filter (where revoked_at is null and connected), "
	"  'disconnected', count(*) filter (where revoked_at is null and not connected), "
	"  'silent', count(*) filter (where revoked_at is null and silent_since is not null), "
	"  'learning', count(*) filter (where revoked_at is null and mode = 'learning'), "
	"  'operational', count(*) filter (where revoked_at is null and mode = 'operational'), "
	"  'unassigned', count(*) filter (where revoked_at is null and zone_id is null), "
	"  'revoked', count(*) filter (where revoked_at is not null)) from s), "
	"'devices', json_build_object('total', (select coalesce(sum(n), 0) from d), "
	"  'unauthorized', (select coalesce(sum(un), 0) from d), "
	"  'by_type', (select coalesce(json_agg(json_build_object('type', t.type, 'count', t.n) "
	"    order by t.n desc, t.type nulls last), '[]') from (select type, sum(n) n from d group by 1) t), "
	"  'by_class', (select coalesce(json_agg(json_build_object('class', t.cls, 'count', t.n) "
	"    order by t.n desc, t.cls), '[]') from (select otw_device_class(type) cls, sum(n) n from d group by 1) t), "
	"  'by_site', (select coalesce(json_agg(json_build_object('site_id', t.site_id, 'name', t.name, 'count', t.n) "
	"    order by t.n desc, t.site_id nulls last), '[]') from (select z.site_id, si.name, sum(d.n) n from d "
	"    left join zones z on z.id = d.zone_id left join sites si on si.id = z.site_id group by 1, 2) t)), "
	"'alerts', json_build_object('open', (select coalesce(sum(n), 0) from a), 'open_by_severity', "
	"  json_build_object('critical', coalesce((select n from a where severity = 'critical'), 0), "
	"  'major', coalesce((select n from a where severity = 'major'), 0), "
	"  'minor', coalesce((select n from a where severity = 'minor'), 0), "
	"  'warning', coalesce((select n from a where severity = 'warning'), 0))), "
	"'at', " API_TS("now()") ")::text";

void api_stats_summary(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;
	const char *params[3];

	if (!api_list_params(c, HTTP_FILTER_SITE_ID | HTTP_FILTER_ZONE_ID, HTTP_ID_INT, &lp))
		return;
	params[0] = api_scope(c);
	params[1] = lp.site_id[0] ? lp.site_id : NULL;
	params[2] = lp.zone_id[0] ? lp.zone_id : NULL;
	PGresult *res = db_exec(db, SUMMARY_SQL, 3, params);
	answer_row(c, res);
	PQclear(res);
}

/* $1 scope, $2 site, $3 zone, $4 from, $5 to, $6 bucket interval. Buckets start at `from` truncated to the
 * bucket; an alert counts in the bucket of its detected_at. */
static const char ALERTS_SQL[] =
	"with b as (select g as t from generate_series(date_trunc($7, $4::timestamptz at time zone 'UTC') at time zone "
	"  'UTC', $5::timestamptz - interval '1 microsecond', $6::interval) g), "
	"z as (select z.id from zones z where otw_zone_visible($1::bigint[], z.id) "
	"  and ($2::bigint is null or z.site_id = $2::bigint) and ($3::bigint is null or z.id = $3::bigint)), "
	"a as (select date_trunc($7, a.detected_at at time zone 'UTC') at time zone 'UTC' as t, "
	"  count(*) filter (where severity = 'critical') cr, count(*) filter (where severity = 'major') ma, "
	"  count(*) filter (where severity = 'minor') mi, count(*) filter (where severity = 'warning') wa "
	"  from alerts a where a.detected_at >= $4::timestamptz and a.detected_at < $5::timestamptz "
	"  and (a.zone_id in (select id from z) or (a.zone_id is null and $1::bigint[] is null and $2::bigint is null "
	"  and $3::bigint is null)) group by 1) "
	"select json_build_object('bucket', $7::text, 'from', " API_TS("$4::timestamptz") ", 'to', "
	API_TS("$5::timestamptz") ", 'series', coalesce((select json_agg(json_build_object('t', " API_TS("b.t")
	", 'critical', coalesce(a.cr, 0), 'major', coalesce(a.ma, 0), 'minor', coalesce(a.mi, 0), "
	"'warning', coalesce(a.wa, 0)) order by b.t) from b left join a using (t)), '[]'))::text";

void api_stats_alerts(struct api_call *c, PGconn *db)
{
	static const char *const names[] = { "bucket" };
	char rest[1024], bucket[1][API_QUERY_VALUE_MAX], *saved = c->query;
	struct http_list_params lp;
	const char *params[7], *unit;
	PGresult *res;
	bool ok;

	if (!api_query_take(c, names, 1, bucket, rest, sizeof(rest)))
		return;
	if (!bucket[0][0] || strcmp(bucket[0], "hour") == 0) {
		unit = "hour";
	} else if (strcmp(bucket[0], "day") == 0) {
		unit = "day";
	} else {
		api_fail(c, 400, "invalid_query", "bucket", "bucket must be hour or day");
		return;
	}
	c->query = rest;
	ok = api_list_params(c, HTTP_FILTER_SITE_ID | HTTP_FILTER_ZONE_ID | HTTP_FILTER_TIME, HTTP_ID_INT, &lp);
	c->query = saved;
	if (!ok)
		return;
	params[0] = api_scope(c);
	params[1] = lp.site_id[0] ? lp.site_id : NULL;
	params[2] = lp.zone_id[0] ? lp.zone_id : NULL;
	params[3] = lp.from[0] ? lp.from : NULL;
	params[4] = lp.to[0] ? lp.to : NULL;
	params[5] = strcmp(unit, "hour") == 0 ? "1 hour" : "1 day";
	params[6] = unit;
	/* Defaults and the bucket cap, decided by the database's clock and arithmetic. */
	res = db_exec(db,
		      "with r as (select coalesce($2::timestamptz, now()) t, $3::interval b) "
		      "select r.t::text, coalesce($1::timestamptz, r.t - case when $4 = 'hour' then interval '24 hours' "
		      "else interval '30 days' end)::text, extract(epoch from (r.t - coalesce($1::timestamptz, r.t - "
		      "case when $4 = 'hour' then interval '24 hours' else interval '30 days' end))) / "
		      "extract(epoch from r.b) from r",
		      4, params + 3);
	if (!res || PQntuples(res) != 1) {
		PQclear(res);
		api_fail_db(c);
		return;
	}
	char to[64], from[64];
	double n = strtod(PQgetvalue(res, 0, 2), NULL);
	snprintf(to, sizeof(to), "%s", PQgetvalue(res, 0, 0));
	snprintf(from, sizeof(from), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	if (n <= 0) {
		api_fail(c, 400, "invalid_query", "from", "from must be before to");
		return;
	}
	if (n > BUCKETS_MAX) {
		api_fail(c, 400, "invalid_query", "bucket", "at most %d buckets: choose a shorter range or bucket=day",
			 BUCKETS_MAX);
		return;
	}
	params[3] = from;
	params[4] = to;
	res = db_exec(db, ALERTS_SQL, 7, params);
	answer_row(c, res);
	PQclear(res);
}
