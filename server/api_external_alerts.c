/* GET /external/v1/alerts, GET /external/v2/alerts and PUT /external/v1/alerts/{id} (docs/external-api.md).
 * Triage goes through otw_alert_action (sql/006_alerts.sql), the function POST /api/v1/alerts/{id}/actions uses:
 * the same activity rows, learned items pushed to the sensors, live events (row triggers) and audit actions. */
#include "server/api_external.h"

#include <stdio.h>
#include <string.h>

#include "server/api_principal.h"
#include "server/db.h"

static const struct http_field put_fields[] = {
	{ "action", HTTP_FT_STRING, HTTP_FF_REQUIRED, 1, 32 },
};
const struct http_body_spec api_external_alert_put_body = { put_fields, 1, 0 };

#define EXT_INFO_LINE(n, text) "(" #n ", " text ")"
#define EXT_ALERT_V1                                                                                           \
	"'id', a.id, 'sensorId', " API_EXT_SENSOR_NUM("a.sensor_id") ", 'zoneId', a.zone_id, "                   \
	"'time', " API_EXT_MS("a.detected_at") ", 'title', a.title, 'message', a.message, "                       \
	"'severity', initcap(a.severity), 'engine', upper(a.engine), 'sourceDevice', a.src_device_id, "         \
	"'destinationDevice', a.dst_device_id, 'remediationSteps', coalesce(a.remediation, ''), "              \
	"'additionalInformation', json_build_object('description', a.message, 'information', "                 \
	"(select coalesce(json_agg(v.l order by v.n), '[]') from (values "                                       \
	EXT_INFO_LINE(1, "'Protocol: ' || a.protocol") ", "                                                     \
	EXT_INFO_LINE(2, "'Source: ' || a.src_addr || coalesce(' (' || a.src_mac || ')', '')") ", "            \
	EXT_INFO_LINE(3, "'Destination: ' || a.dst_addr || coalesce(' (' || a.dst_mac || ')', '')") ", "       \
	EXT_INFO_LINE(4, "'Occurrences: ' || a.occurrences") ", "                                               \
	EXT_INFO_LINE(5, "'Last seen: ' || " API_TS("a.last_seen")) ", "                                        \
	EXT_INFO_LINE(6, "'Status: ' || initcap(a.status)") ") v(n, l) where v.l is not null)), "               \
	"'handled', a.status <> 'new'"
#define EXT_ALERT_V2                                                                                           \
	EXT_ALERT_V1 ", 'sourceDeviceAddress', coalesce(a.src_addr, ''), "                                      \
	"'destinationDeviceAddress', coalesce(a.dst_addr, ''), "                                               \
	"'sensorName', coalesce((select xn.name from sensors xn where xn.id = a.sensor_id), ''), "             \
	"'zoneName', z.name, 'siteName', st.name"
#define EXT_ALERT_FROM " from alerts a left join zones z on z.id = a.zone_id left join sites st on st.id = z.site_id "
#define EXT_ALERT_WHERE                                                                                        \
	"where a.id > $1::bigint "                                                                              \
	"and ($3::text is null or (a.status <> 'new') = ($3::text = 'handled')) "                              \
	"and ($4::bigint is null or a.detected_at >= timestamptz 'epoch' + $4::bigint * interval '1 millisecond') " \
	"and ($5::bigint is null or a.detected_at < timestamptz 'epoch' + $5::bigint * interval '1 millisecond') " \
	"and ($6::bigint[] is null or z.site_id = any ($6::bigint[])) "                                        \
	"and ($7::bigint[] is null or a.zone_id = any ($7::bigint[])) "                                        \
	"and (($8::bigint[] is null and $9::uuid[] is null) or exists (select 1 from sensors xm "              \
	"where xm.id = any (a.sensor_ids) and (xm.external_id = any ($8::bigint[]) or xm.id = any ($9::uuid[])))) " \
	"and otw_zone_visible($10::bigint[], a.zone_id) order by a.id limit $2::int"

#define EXT_EPOCH_MS_MAX 253402300799999LL /* 9999-12-31T23:59:59.999Z */

static void alerts_list(struct api_call *c, PGconn *db, const char *sql)
{
	static const char *const names[] = { "state",	 "fromTime", "toTime", "siteId",
					     "zoneId", "sensorId", "limit",  "afterId" };
	enum { N = sizeof(names) / sizeof(names[0]) };
	char *v[N];
	char from[24], to[24], sites[4096], zones[4096], ints[4096], uuids[4096], limit[24], after[24];
	const char *params[10] = { after, limit, NULL, from, to, sites, zones, ints, uuids, api_scope(c) };

	/* siteId, zoneId and sensorId are lists */
	if (!api_external_query_parse(c, names, N, 0x38u, v))
		return;
	params[2] = v[0];
	if (v[0] && strcmp(v[0], "handled") != 0 && strcmp(v[0], "unhandled") != 0) {
		api_fail(c, 400, "invalid_query", "state", "query parameter 'state' must be handled or unhandled");
		goto out;
	}
	if (api_external_uint(c, "fromTime", v[1], 0, EXT_EPOCH_MS_MAX, from) &&
	    api_external_uint(c, "toTime", v[2], 0, EXT_EPOCH_MS_MAX, to) &&
	    api_external_ids(c, "siteId", v[3], sites, sizeof(sites)) &&
	    api_external_ids(c, "zoneId", v[4], zones, sizeof(zones)) &&
	    api_external_sensor_ids(c, "sensorId", v[5], ints, sizeof(ints), uuids, sizeof(uuids)) &&
	    api_external_uint(c, "limit", v[6], 1, API_EXTERNAL_LIMIT_MAX, limit) &&
	    api_external_uint(c, "afterId", v[7], 0, INT64_MAX / 2, after)) {
		if (!limit[0])
			snprintf(limit, sizeof(limit), "%d", API_EXTERNAL_LIMIT_MAX);
		if (!after[0])
			snprintf(after, sizeof(after), "0");
		api_external_array(c, db, sql, 10, params);
	}
out:
	api_external_query_free(v, N);
}

void api_external_alerts_v1(struct api_call *c, PGconn *db)
{
	alerts_list(c, db, "select json_build_object(" EXT_ALERT_V1 ")::text" EXT_ALERT_FROM EXT_ALERT_WHERE);
}

void api_external_alerts_v2(struct api_call *c, PGconn *db)
{
	alerts_list(c, db, "select json_build_object(" EXT_ALERT_V2 ")::text" EXT_ALERT_FROM EXT_ALERT_WHERE);
}

/* The alert in the v1 shape (new reference) or NULL. */
static json_t *alert_v1(PGconn *db, const char *id)
{
	const char *params[1] = { id };
	PGresult *res = db_exec(db, "select json_build_object(" EXT_ALERT_V1 ")::text" EXT_ALERT_FROM
				"where a.id = $1::bigint", 1, params);
	json_t *out = res && PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;

	PQclear(res);
	return out;
}

void api_external_alert_put(struct api_call *c, PGconn *db)
{
	const char *verb = api_body_str(c, "action"), *action, *status;
	const char *params[6] = { c->param, api_scope(c), NULL, NULL, NULL, NULL };
	PGresult *res = NULL;
	char name[32];

	if (!api_id_param(c, "alert"))
		return;
	if (verb && strcmp(verb, "handle") == 0) {
		action = "close";
	} else if (verb && strcmp(verb, "handleAndLearn") == 0) {
		action = "learn";
	} else {
		api_fail(c, 400, "invalid_field", "action", "field 'action' must be handle or handleAndLearn");
		return;
	}
	if (!db_begin(db))
		goto fail;
	res = db_exec(db,
		      "select a.status from alerts a where a.id = $1::bigint and otw_zone_visible($2::bigint[], a.zone_id) "
		      "for update",
		      2, params);
	if (!res)
		goto fail;
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "alert not found");
		goto out;
	}
	status = PQgetvalue(res, 0, 0);
	/* Handling an alert that is handled already changes nothing (closing a learned one would withdraw its
	 * baseline item). */
	if ((strcmp(action, "close") == 0 && strcmp(status, "new") != 0) ||
	    (strcmp(action, "learn") == 0 && strcmp(status, "learned") == 0)) {
		db_rollback(db);
		api_ok(c, 200, alert_v1(db, c->param));
		goto out;
	}
	PQclear(res);
	params[1] = action;
	params[2] = c->user_id[0] ? c->user_id : NULL;
	params[3] = c->username;
	params[5] = api_scope(c);
	res = db_exec(db, "select otw_alert_action($1::bigint, $2, $3::bigint, $4, $5, $6::bigint[])", 6, params);
	if (!res || PQntuples(res) != 1)
		goto fail;
	if (strcmp(PQgetvalue(res, 0, 0), "not_learnable") == 0) {
		api_fail(c, 409, "not_learnable", "action",
			 "this alert has no baseline item to learn (handle it instead)");
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "not_found") == 0) {
		api_fail(c, 404, "not_found", NULL, "alert not found");
		goto out;
	}
	snprintf(name, sizeof(name), "alert.%s", action);
	api_commit_audited(c, db, name, c->param, NULL, alert_v1(db, c->param), 200);
	goto out;
fail:
	api_fail_db(c);
out:
	db_rollback(db);
	PQclear(res);
}
