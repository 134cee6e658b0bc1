#include "server/api_alerts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_principal.h"
#include "server/db.h"
#include "server/gateway.h"

#define BULK_MAX 1000
#define EVIDENCE_TIMEOUT_MS 10000
#define COMMENT_MAX 4000

static const struct http_field action_fields[] = {
	{ "action", HTTP_FT_STRING, HTTP_FF_REQUIRED, 1, 16 },
	{ "comment", HTTP_FT_STRING, HTTP_FF_NULLABLE, 1, COMMENT_MAX },
};
static const struct http_field bulk_fields[] = {
	{ "ids", HTTP_FT_IDS, HTTP_FF_REQUIRED, 0, BULK_MAX },
	{ "action", HTTP_FT_STRING, HTTP_FF_REQUIRED, 1, 16 },
	{ "comment", HTTP_FT_STRING, HTTP_FF_NULLABLE, 1, COMMENT_MAX },
};
static const struct http_field comment_fields[] = {
	{ "comment", HTTP_FT_STRING, HTTP_FF_REQUIRED, 1, COMMENT_MAX },
};
const struct http_body_spec api_alerts_action_body = { action_fields, 2, 0 };
const struct http_body_spec api_alerts_bulk_body = { bulk_fields, 3, 0 };
const struct http_body_spec api_alerts_comment_body = { comment_fields, 1, 0 };

#define ENDPOINT(p)                                                                                            \
	"json_build_object('address', a." p "_addr, 'mac', a." p "_mac, 'device_id', a." p "_device_id, "       \
	"'device_name', (select coalesce(d.overrides ->> 'name', d.name, d.hostname) from devices d "          \
	"where d.id = a." p "_device_id))"

#define ALERT_FIELDS                                                                                           \
	"'id', a.id, 'detected_at', " API_TS("a.detected_at") ", 'last_seen', " API_TS("a.last_seen") ", "      \
	"'received_at', " API_TS("a.received_at") ", 'updated_at', " API_TS("a.updated_at") ", "                \
	"'site_id', z.site_id, 'zone_id', a.zone_id, 'sensor_id', a.sensor_id, 'sensor_ids', a.sensor_ids, "    \
	"'engine', a.engine, 'severity', a.severity, 'title', a.title, 'message', a.message, "                 \
	"'remediation', a.remediation, 'protocol', a.protocol, 'src', " ENDPOINT("src") ", "                    \
	"'dst', " ENDPOINT("dst") ", 'occurrences', a.occurrences, 'status', a.status, "                        \
	"'status_changed_at', " API_TS("a.status_changed_at") ", 'learnable', a.learn is not null, "            \
	"'evidence_available', jsonb_array_length(a.evidence) > 0"
#define ALERT_FROM " from alerts a left join zones z on z.id = a.zone_id "

void api_alerts_list(struct api_call *c, PGconn *db)
{
	static const char *const names[] = { "device_id" };
	char device[1][API_QUERY_VALUE_MAX];
	struct http_list_params lp;
	const char *extra[10];

	if (!api_list_params_plus(c, HTTP_FILTER_SITE_ID | HTTP_FILTER_ZONE_ID | HTTP_FILTER_SENSOR_ID |
					     HTTP_FILTER_TIME | HTTP_FILTER_ALERT,
				  HTTP_ID_INT, &lp, names, 1, device) ||
	    !api_query_int_id(c, "device_id", device[0]))
		return;
	extra[0] = lp.site_id;
	extra[1] = lp.zone_id;
	extra[2] = lp.sensor_id;
	extra[3] = lp.from;
	extra[4] = lp.to;
	extra[5] = lp.status;
	extra[6] = lp.severity;
	extra[7] = lp.engine;
	extra[8] = api_scope(c);
	extra[9] = device[0][0] ? device[0] : NULL;
	/* Newest first: the cursor is the last id of a page, and the next page has smaller ids. device_id: alerts whose
	 * source or destination is the device or one merged into it. */
	api_list(c, db,
		 "select a.id::text, json_build_object(" ALERT_FIELDS ")::text" ALERT_FROM
		 "where ($1::bigint is null or a.id < $1::bigint) "
		 "and ($3::bigint is null or z.site_id = $3::bigint) and ($4::bigint is null or a.zone_id = $4::bigint) "
		 "and ($5::uuid is null or $5::uuid = any (a.sensor_ids)) "
		 "and ($6::timestamptz is null or a.detected_at >= $6::timestamptz) "
		 "and ($7::timestamptz is null or a.detected_at < $7::timestamptz) "
		 "and ($8::text[] is null or a.status = any ($8::text[])) "
		 "and ($9::text[] is null or a.severity = any ($9::text[])) "
		 "and ($10::text[] is null or a.engine = any ($10::text[])) "
		 "and otw_zone_visible($11::bigint[], a.zone_id) "
		 "and ($12::bigint is null or a.src_device_id = any (array(select g.id from devices g where g.id = "
		 "$12::bigint or g.merged_into = $12::bigint)) or a.dst_device_id = any (array(select g.id from devices g "
		 "where g.id = $12::bigint or g.merged_into = $12::bigint))) order by a.id desc limit $2::int",
		 &lp, 10, extra);
}

void api_alerts_get(struct api_call *c, PGconn *db)
{
	const char *params[2] = { c->param, api_scope(c) };

	if (!api_id_param(c, "alert"))
		return;
	api_get_one(c, db,
		    "select json_build_object(" ALERT_FIELDS ", 'learn', a.learn, 'evidence', a.evidence, 'activity', "
		    "(select coalesce(json_agg(json_build_object('at', " API_TS("t.at") ", 'username', t.username, "
		    "'action', t.action, 'comment', t.comment) order by t.id), '[]') from alert_activity t "
		    "where t.alert_id = a.id))::text" ALERT_FROM
		    "where a.id = $1::bigint and otw_zone_visible($2::bigint[], a.zone_id)",
		    2, params, "alert");
}

static const char *action_ok(struct api_call *c)
{
	static const char *const actions[] = { "close", "learn", "mute", "reopen" };
	const char *a = api_body_str(c, "action");

	for (size_t i = 0; a && i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(a, actions[i]) == 0)
			return a;
	api_fail(c, 400, "invalid_field", "action", "field 'action' must be close, learn, mute or reopen");
	return NULL;
}

/* One action inside the caller's transaction; the function's outcome text into out (NULL: database error). */
static const char *act(struct api_call *c, PGconn *db, const char *id, const char *action, char out[16])
{
	const char *params[6] = { id, action, c->user_id[0] ? c->user_id : NULL, c->username,
				  api_body_str(c, "comment"), api_scope(c) };
	PGresult *res = db_exec(db,
				"select otw_alert_action($1::bigint, $2, $3::bigint, $4, $5, $6::bigint[])", 6,
				params);

	if (!res || PQntuples(res) != 1) {
		PQclear(res);
		return NULL;
	}
	snprintf(out, 16, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return out;
}

void api_alerts_action(struct api_call *c, PGconn *db)
{
	const char *action;
	char outcome[16], name[32];
	const char *params[2] = { c->param, api_scope(c) };
	PGresult *res = NULL;
	json_t *after = NULL;

	if (!api_id_param(c, "alert") || !(action = action_ok(c)))
		return;
	if (!db_begin(db)) {
		api_fail_db(c);
		return;
	}
	if (!act(c, db, c->param, action, outcome)) {
		api_fail_db(c);
		goto out;
	}
	if (strcmp(outcome, "not_found") == 0) {
		api_fail(c, 404, "not_found", NULL, "alert not found");
		goto out;
	}
	if (strcmp(outcome, "not_learnable") == 0) {
		api_fail(c, 409, "not_learnable", "action",
			 "this alert has no baseline item to learn (close or mute it instead)");
		goto out;
	}
	res = db_exec(db, "select json_build_object(" ALERT_FIELDS ")::text" ALERT_FROM "where a.id = $1::bigint", 1,
		      params);
	if (!res || PQntuples(res) != 1 || !(after = json_loads(PQgetvalue(res, 0, 0), 0, NULL))) {
		api_fail_db(c);
		goto out;
	}
	snprintf(name, sizeof(name), "alert.%s", action);
	api_commit_audited(c, db, name, c->param, NULL, after, 200);
	after = NULL;
out:
	json_decref(after);
	PQclear(res);
	db_rollback(db);
}

void api_alerts_bulk_action(struct api_call *c, PGconn *db)
{
	json_t *ids = json_object_get(c->body, "ids"), *v, *lists[3] = { NULL, NULL, NULL }, *details = NULL;
	const char *action;
	char outcome[16], id[24], name[32];
	size_t i, updated = 0, unchanged = 0;

	if (!(action = action_ok(c)))
		return;
	if (json_array_size(ids) == 0) {
		api_fail(c, 400, "invalid_field", "ids", "field 'ids' must name at least one alert");
		return;
	}
	for (i = 0; i < 3; i++)
		if (!(lists[i] = json_array()))
			goto oom;
	if (!db_begin(db)) {
		api_fail_db(c);
		goto out;
	}
	json_array_foreach(ids, i, v) {
		snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(v));
		if (!act(c, db, id, action, outcome)) {
			api_fail_db(c);
			goto out;
		}
		if (strcmp(outcome, "updated") == 0)
			updated++;
		else if (strcmp(outcome, "unchanged") == 0)
			unchanged++;
		else if (json_array_append(strcmp(outcome, "not_found") == 0 ? lists[0] : lists[1], v))
			goto oom;
		if (strcmp(outcome, "updated") == 0 && json_array_append(lists[2], v))
			goto oom;
	}
	details = json_pack("{s:s, s:O, s:O*}", "action", action, "ids", lists[2], "comment",
			    json_object_get(c->body, "comment"));
	snprintf(name, sizeof(name), "alert.bulk_%s", action);
	if (updated)
		api_audit(c, db, name, NULL, details);
	if (!db_commit(db)) {
		api_fail_db(c);
		goto out;
	}
	api_ok(c, 200,
	       json_pack("{s:I, s:I, s:O, s:O}", "updated", (json_int_t)updated, "unchanged", (json_int_t)unchanged,
			 "not_found", lists[0], "not_learnable", lists[1]));
	goto out;
oom:
	api_fail(c, 500, "internal", NULL, "out of memory");
out:
	for (i = 0; i < 3; i++)
		json_decref(lists[i]);
	json_decref(details);
	db_rollback(db);
}

void api_alerts_comment(struct api_call *c, PGconn *db)
{
	const char *params[5] = { c->param, api_scope(c), c->user_id[0] ? c->user_id : NULL, c->username,
				  api_body_str(c, "comment") };
	PGresult *res;

	if (!api_id_param(c, "alert"))
		return;
	res = db_exec(db,
		      "insert into alert_activity (alert_id, user_id, username, action, comment) "
		      "select a.id, $3::bigint, $4, 'comment', $5 from alerts a "
		      "where a.id = $1::bigint and otw_zone_visible($2::bigint[], a.zone_id) "
		      "returning json_build_object('at', " API_TS("at") ", 'username', username, 'action', action, "
		      "'comment', comment)::text",
		      5, params);
	if (!res) {
		api_fail_db(c);
		return;
	}
	if (PQntuples(res) == 0)
		api_fail(c, 404, "not_found", NULL, "alert not found");
	else
		api_ok(c, 201, json_loads(PQgetvalue(res, 0, 0), 0, NULL));
	PQclear(res);
}

/* The evidence capture of an alert, fetched from a sensor that kept one (the first that answers). */
void api_alerts_pcap(struct api_call *c, PGconn *db)
{
	const char *params[2] = { c->param, api_scope(c) };
	PGresult *res;
	json_t *ev = NULL, *e;
	char err[160] = "", why[200] = "no sensor kept an evidence capture for this alert";
	uint8_t *data = NULL;
	size_t len = 0, i;
	int rc = -ENOENT;

	if (!api_id_param(c, "alert"))
		return;
	res = db_exec(db,
		      "select a.evidence::text from alerts a where a.id = $1::bigint "
		      "and otw_zone_visible($2::bigint[], a.zone_id)",
		      2, params);
	if (!res) {
		api_fail_db(c);
		return;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		api_fail(c, 404, "not_found", NULL, "alert not found");
		return;
	}
	ev = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	json_array_foreach(ev, i, e) {
		const char *sensor = json_string_value(json_object_get(e, "sensor_id"));
		const char *ref = json_string_value(json_object_get(e, "ref"));
		if (!sensor || !ref || !c->env->gw)
			continue;
		rc = gateway_fetch_evidence(c->env->gw, sensor, ref, EVIDENCE_TIMEOUT_MS, &data, &len, err, sizeof(err));
		if (rc == 0)
			break;
		snprintf(why, sizeof(why), "sensor %.36s: %s", sensor,
			 rc == -ENOTCONN    ? "not connected"
			 : rc == -ETIMEDOUT ? "did not answer in time"
			 : err[0]	    ? err
					    : "no such capture");
	}
	json_decref(ev);
	if (rc != 0) {
		api_fail(c, rc == -ENOTCONN || rc == -ETIMEDOUT ? 503 : 404, "evidence_unavailable", NULL, "%s", why);
		return;
	}
	c->resp_text = (char *)data;
	c->resp_len = len;
	c->resp_type = "application/vnd.tcpdump.pcap";
	c->resp_filename = "alert-evidence.pcap";
	c->status = 200;
}
