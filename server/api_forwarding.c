#include "server/api_forwarding.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/db.h"
#include "server/forward_rule.h"

#define ZONE_IDS_MAX 1000 /* also the most sites a rule names */
#define PROTOCOLS_MAX 64

#define RULE_FIELDS(name_flags, action_flags)                                                                  \
	{ "name", HTTP_FT_STRING, (name_flags) | HTTP_FF_NO_CTRL, 1, 200 },                                     \
	{ "enabled", HTTP_FT_BOOL, 0, 0, 0 },                                                                    \
	{ "min_severity", HTTP_FT_STRING, 0, 1, 16 },                                                            \
	{ "engines", HTTP_FT_ANY, 0, 0, 0 },                                                                     \
	{ "protocols", HTTP_FT_ANY, 0, 0, 0 },                                                                   \
	{ "zone_ids", HTTP_FT_IDS, 0, 0, ZONE_IDS_MAX },                                                         \
	{ "site_ids", HTTP_FT_IDS, 0, 0, ZONE_IDS_MAX },                                                         \
	{ "include_alerts", HTTP_FT_BOOL, 0, 0, 0 },                                                             \
	{ "include_system", HTTP_FT_BOOL, 0, 0, 0 },                                                             \
	{ "action", HTTP_FT_ANY, (action_flags), 0, 0 }
static const struct http_field create_fields[] = { RULE_FIELDS(HTTP_FF_REQUIRED, HTTP_FF_REQUIRED) };
static const struct http_field update_fields[] = { RULE_FIELDS(0, 0) };
const struct http_body_spec api_forwarding_create_body = { create_fields, 10, 0 };
const struct http_body_spec api_forwarding_update_body = { update_fields, 10, 1 };

/* The action as the API shows it: secrets removed, has_secret in their place. */
#define ACTION_SHOWN                                                                                           \
	"((r.action - 'token' - 'secret' - 'password' - 'client_key_pem') || jsonb_build_object('has_secret', "  \
	"r.action ?| array['token', 'secret', 'password', 'client_key_pem']))"
#define RULE_JSON                                                                                              \
	"json_build_object('id', r.id, 'name', r.name, 'enabled', r.enabled, 'min_severity', r.min_severity, "   \
	"'engines', r.engines, 'protocols', r.protocols, 'zone_ids', r.zone_ids, 'site_ids', r.site_ids, "  \
	"'include_alerts', r.include_alerts, 'include_system', r.include_system, 'action', " ACTION_SHOWN ", "  \
	"'backlog', (select count(*) from forwarding_outbox o where o.rule_id = r.id and o.dead_at is null), "       \
	"'dead_letters', (select count(*) from forwarding_outbox o where o.rule_id = r.id and o.dead_at is not null), "                       \
	"'delivered_count', r.delivered_count, 'last_delivered_at', " API_TS("r.last_delivered_at") ", "        \
	"'last_error', r.last_error, 'last_error_at', " API_TS("r.last_error_at") ", "                          \
	"'created_by', r.created_by, 'created_at', " API_TS("r.created_at") ", "                                \
	"'updated_at', " API_TS("r.updated_at") ")::text"

static const char *const engine_names[] = { "policy_violation", "protocol_violation", "anomaly", "operational",
					    "malware" };
static const char *const severity_names[] = { "warning", "minor", "major", "critical" };

/* What a body sets, as SQL parameter text (NULL: not set). */
struct rule_params {
	char engines[128];
	char protocols[PROTOCOLS_MAX * 34 + 3];
	char *zone_ids; /* heap */
	char *site_ids; /* heap */
	char *action;   /* heap: the action JSON to store */
	bool has_engines, has_protocols;
};

static void params_free(struct rule_params *p)
{
	free(p->zone_ids);
	free(p->site_ids);
	if (p->action) {
		/* may hold secrets */
		memset(p->action, 0, strlen(p->action));
		free(p->action);
	}
}

static bool bad(struct api_call *c, const char *field, const char *msg)
{
	api_fail(c, 400, "invalid_field", field, "field '%s' %s", field, msg);
	return false;
}

static bool check_engines(struct api_call *c, json_t *v, struct rule_params *p)
{
	bool seen[5] = { false };
	size_t i, n = 0;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) > 5)
		return bad(c, "engines", "must be an array of engines (policy_violation, protocol_violation, anomaly, "
					 "operational, malware); empty for all");
	json_array_foreach(v, i, e) {
		size_t k = 0;
		while (k < 5 && !(json_is_string(e) && strcmp(json_string_value(e), engine_names[k]) == 0))
			k++;
		if (k == 5 || seen[k])
			return bad(c, "engines", "must hold distinct engines: policy_violation, protocol_violation, "
						 "anomaly, operational or malware");
		seen[k] = true;
	}
	p->engines[n++] = '{';
	for (size_t k = 0; k < 5; k++)
		if (seen[k])
			n += (size_t)snprintf(p->engines + n, sizeof(p->engines) - n, "%s%s", n > 1 ? "," : "",
					      engine_names[k]);
	snprintf(p->engines + n, sizeof(p->engines) - n, "}");
	p->has_engines = true;
	return true;
}

static bool check_protocols(struct api_call *c, json_t *v, struct rule_params *p)
{
	size_t i, n = 0;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) > PROTOCOLS_MAX)
		return bad(c, "protocols", "must be an array of at most 64 protocol names; empty for all");
	p->protocols[n++] = '{';
	json_array_foreach(v, i, e) {
		const char *s = json_string_value(e);
		size_t len = s ? strlen(s) : 0;
		if (len < 1 || len > 32)
			return bad(c, "protocols", "must hold protocol names of 1 to 32 characters");
		if (i)
			p->protocols[n++] = ',';
		for (size_t k = 0; k < len; k++) {
			if (!isalnum((unsigned char)s[k]) && !strchr("_-.", s[k]))
				return bad(c, "protocols", "must hold protocol names of letters, digits, '_', '-', '.'");
			p->protocols[n++] = (char)tolower((unsigned char)s[k]);
		}
	}
	p->protocols[n++] = '}';
	p->protocols[n] = '\0';
	p->has_protocols = true;
	return true;
}

/* zone_ids or site_ids: every id names a row of `table` (one of two constants). *out gets the array literal. */
static bool check_ids(struct api_call *c, PGconn *db, json_t *v, const char *field, const char *table, char **out)
{
	size_t i, n = 0, cap = json_array_size(v) * 21 + 3;
	const char *params[1];
	char sql[128], why[64];
	PGresult *res;
	json_t *e;
	bool ok;

	if (!(*out = malloc(cap))) {
		api_fail_db(c);
		return false;
	}
	(*out)[n++] = '{';
	json_array_foreach(v, i, e)
		n += (size_t)snprintf(*out + n, cap - n, "%s%" JSON_INTEGER_FORMAT, i ? "," : "", json_integer_value(e));
	snprintf(*out + n, cap - n, "}");
	params[0] = *out;
	snprintf(sql, sizeof(sql), "select count(*) = cardinality($1::bigint[]) from %s where id = any ($1::bigint[])",
		 table);
	res = db_exec(db, sql, 1, params);
	if (!res) {
		api_fail_db(c);
		return false;
	}
	ok = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	snprintf(why, sizeof(why), "names a %.*s that does not exist", (int)strlen(table) - 1, table);
	return ok || bad(c, field, why);
}

/* The stored action of a PATCH: secrets the new action leaves out are taken from the stored one when the type and
 * the destination are the same (clients never see them, so they cannot send them back). When the destination
 * changed they must be given again: false, 400 answered. */
static bool keep_secrets(struct api_call *c, json_t *action, json_t *stored)
{
	const char *t = json_string_value(json_object_get(action, "type"));
	const char *st = json_string_value(json_object_get(stored, "type"));
	bool same;

	if (!t || !st || strcmp(t, st) != 0)
		return true;
	same = fwd_action_same_destination(action, stored);
	for (size_t i = 0; i < fwd_secret_keys_n; i++) {
		json_t *v = json_object_get(stored, fwd_secret_keys[i]);
		char field[64];
		if (!v || json_object_get(action, fwd_secret_keys[i]))
			continue;
		if (!same) {
			snprintf(field, sizeof(field), "action.%s", fwd_secret_keys[i]);
			api_fail(c, 400, "invalid_field", field,
				 "field '%s' must be given again: the action's destination changed, and a stored secret "
				 "is only kept for the same destination", field);
			return false;
		}
		json_object_set(action, fwd_secret_keys[i], v);
	}
	return true;
}

/* Checks the body's members the field table cannot. stored: the rule's stored action (PATCH), or NULL. */
static bool check_body(struct api_call *c, PGconn *db, json_t *stored, struct rule_params *p)
{
	const char *sev = api_body_str(c, "min_severity");
	json_t *v, *action = NULL;
	struct fwd_action parsed;
	char field[64], why[160];
	bool ok = false;

	if (sev) {
		size_t k = 0;
		while (k < 4 && strcmp(sev, severity_names[k]) != 0)
			k++;
		if (k == 4)
			return bad(c, "min_severity", "must be warning, minor, major or critical");
	}
	if ((v = json_object_get(c->body, "engines")) && !check_engines(c, v, p))
		return false;
	if ((v = json_object_get(c->body, "protocols")) && !check_protocols(c, v, p))
		return false;
	if ((v = json_object_get(c->body, "zone_ids")) && !check_ids(c, db, v, "zone_ids", "zones", &p->zone_ids))
		return false;
	if ((v = json_object_get(c->body, "site_ids")) && !check_ids(c, db, v, "site_ids", "sites", &p->site_ids))
		return false;
	if (!(v = json_object_get(c->body, "action")))
		return true;
	if (!json_is_object(v))
		return bad(c, "action", "must be an object with a type");
	if (!(action = json_deep_copy(v))) {
		api_fail_db(c);
		return false;
	}
	if (stored && !keep_secrets(c, action, stored))
		goto out;
	if (fwd_action_parse(action, &parsed, field, why) < 0) {
		api_fail(c, 400, "invalid_field", field, "field '%s' %s", field, why);
		goto out;
	}
	fwd_action_clear(&parsed);
	if (!(p->action = json_dumps(action, JSON_COMPACT))) {
		api_fail_db(c);
		goto out;
	}
	ok = true;
out:
	json_decref(action);
	return ok;
}

static const char *flag(struct api_call *c, const char *name)
{
	json_t *v = json_object_get(c->body, name);

	return v ? (json_is_true(v) ? "true" : "false") : NULL;
}

static void write_failed(struct api_call *c, const char *state)
{
	if (strcmp(state, "23505") == 0)
		api_fail(c, 409, "conflict", "name", "a forwarding rule with this name exists");
	else
		api_fail_db(c);
}

void api_forwarding_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;

	if (!api_list_params(c, 0, HTTP_ID_INT, &lp))
		return;
	api_list(c, db,
		 "select r.id::text, " RULE_JSON " from forwarding_rules r where ($1::bigint is null or r.id > $1::bigint) "
		 "order by r.id limit $2::int",
		 &lp, 0, NULL);
}

void api_forwarding_get(struct api_call *c, PGconn *db)
{
	const char *params[1] = { c->param };

	if (api_id_param(c, "forwarding rule"))
		api_get_one(c, db, "select " RULE_JSON " from forwarding_rules r where r.id = $1::bigint", 1, params,
			    "forwarding rule");
}

void api_forwarding_status(struct api_call *c, PGconn *db)
{
	const char *params[1] = { c->param };

	if (api_id_param(c, "forwarding rule"))
		api_get_one(c, db,
			    "select json_build_object('id', r.id, 'enabled', r.enabled, 'backlog', b.n, 'dead_letters', "
			    "(select count(*) from forwarding_outbox o where o.rule_id = r.id and o.dead_at is not null), "
			    "'delivered', r.delivered_count, 'last_delivered_at', " API_TS("r.last_delivered_at") ", "
			    "'last_error', r.last_error, 'last_error_at', " API_TS("r.last_error_at") ", "
			    "'oldest_pending_at', " API_TS("b.oldest") ", 'failing', coalesce(h.attempts > 0, false), "
			    "'attempts', coalesce(h.attempts, 0), 'next_attempt_at', " API_TS("h.next_attempt_at") ")::text "
			    "from forwarding_rules r "
			    "cross join lateral (select count(*) n, min(o.created_at) oldest from forwarding_outbox o "
			    "where o.rule_id = r.id and o.dead_at is null) b "
			    "left join lateral (select o.attempts, o.next_attempt_at from forwarding_outbox o "
			    "where o.rule_id = r.id and o.dead_at is null order by o.id limit 1) h on true "
			    "where r.id = $1::bigint",
			    1, params, "forwarding rule");
}

void api_forwarding_create(struct api_call *c, PGconn *db)
{
	struct rule_params p = { 0 };
	const char *params[11];
	char state[6];
	PGresult *res = NULL;

	if (!check_body(c, db, NULL, &p))
		goto out;
	if (json_is_false(json_object_get(c->body, "include_alerts")) &&
	    !json_is_true(json_object_get(c->body, "include_system"))) {
		bad(c, "include_alerts", "or include_system must be true: the rule would forward nothing");
		goto out;
	}
	params[0] = api_body_str(c, "name");
	params[1] = flag(c, "enabled");
	params[2] = api_body_str(c, "min_severity");
	params[3] = p.has_engines ? p.engines : NULL;
	params[4] = p.has_protocols ? p.protocols : NULL;
	params[5] = p.zone_ids;
	params[6] = flag(c, "include_alerts");
	params[7] = flag(c, "include_system");
	params[8] = p.action;
	params[9] = c->username;
	params[10] = p.site_ids;
	if (!db_begin(db)) {
		api_fail_db(c);
		goto out;
	}
	res = db_exec_state(db,
			    "insert into forwarding_rules as r (name, enabled, min_severity, engines, protocols, zone_ids, "
			    "include_alerts, include_system, action, created_by, site_ids) values ($1, "
			    "coalesce($2::boolean, true), coalesce($3, 'warning'), coalesce($4::text[], '{}'), "
			    "coalesce($5::text[], '{}'), coalesce($6::bigint[], '{}'), coalesce($7::boolean, true), "
			    "coalesce($8::boolean, false), $9::jsonb, $10, coalesce($11::bigint[], '{}')) "
			    "returning r.id::text, " RULE_JSON,
			    11, params, state);
	if (!res)
		write_failed(c, state);
	else
		api_commit_audited(c, db, "forwarding_rule.create", PQgetvalue(res, 0, 0), NULL,
				   json_loads(PQgetvalue(res, 0, 1), 0, NULL), 201);
	db_rollback(db);
out:
	PQclear(res);
	params_free(&p);
}

void api_forwarding_update(struct api_call *c, PGconn *db)
{
	struct rule_params p = { 0 };
	const char *params[11], *lock[1] = { c->param };
	char state[6];
	json_t *before = NULL, *stored = NULL;
	PGresult *res = NULL;

	if (!api_id_param(c, "forwarding rule"))
		return;
	if (!db_begin(db))
		goto fail;
	res = db_exec(db, "select " RULE_JSON ", r.action::text from forwarding_rules r where r.id = $1::bigint "
		      "for no key update",
		      1, lock);
	if (!res)
		goto fail;
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "forwarding rule not found");
		goto out;
	}
	before = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	stored = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
	PQclear(res);
	res = NULL;
	if (!before || !stored)
		goto fail;
	if (!check_body(c, db, stored, &p))
		goto out;
	{
		json_t *ia = json_object_get(c->body, "include_alerts"), *is = json_object_get(c->body, "include_system");
		bool alerts = ia ? json_is_true(ia) : json_is_true(json_object_get(before, "include_alerts"));
		bool system = is ? json_is_true(is) : json_is_true(json_object_get(before, "include_system"));
		if (!alerts && !system) {
			bad(c, ia ? "include_alerts" : "include_system",
			    "leaves the rule forwarding nothing (include_alerts and include_system both false)");
			goto out;
		}
	}
	params[0] = c->param;
	params[1] = api_body_str(c, "name");
	params[2] = flag(c, "enabled");
	params[3] = api_body_str(c, "min_severity");
	params[4] = p.has_engines ? p.engines : NULL;
	params[5] = p.has_protocols ? p.protocols : NULL;
	params[6] = p.zone_ids;
	params[7] = flag(c, "include_alerts");
	params[8] = flag(c, "include_system");
	params[9] = p.action;
	params[10] = p.site_ids;
	res = db_exec_state(db,
			    "update forwarding_rules r set name = coalesce($2, r.name), "
			    "enabled = coalesce($3::boolean, r.enabled), min_severity = coalesce($4, r.min_severity), "
			    "engines = coalesce($5::text[], r.engines), protocols = coalesce($6::text[], r.protocols), "
			    "zone_ids = coalesce($7::bigint[], r.zone_ids), site_ids = coalesce($11::bigint[], r.site_ids), "
			    "include_alerts = coalesce($8::boolean, r.include_alerts), "
			    "include_system = coalesce($9::boolean, r.include_system), "
			    "action = coalesce($10::jsonb, r.action), updated_at = clock_timestamp() "
			    "where r.id = $1::bigint returning " RULE_JSON,
			    11, params, state);
	if (!res) {
		write_failed(c, state);
		goto out;
	}
	/* A changed rule starts afresh: its head row (held back by failures against the old settings) is due now. */
	{
		PGresult *r2 = db_exec(db,
				       "with o as (update forwarding_outbox set attempts = 0, next_attempt_at = now() "
				       "where rule_id = $1::bigint and dead_at is null and attempts > 0) "
				       "select pg_notify('otw_forward', 'r')",
				       1, lock);
		if (!r2)
			goto fail;
		PQclear(r2);
	}
	api_commit_audited(c, db, "forwarding_rule.update", c->param, before, json_loads(PQgetvalue(res, 0, 0), 0, NULL),
			   200);
	goto out;
fail:
	api_fail_db(c);
out:
	db_rollback(db);
	PQclear(res);
	json_decref(before);
	json_decref(stored);
	params_free(&p);
}

void api_forwarding_delete(struct api_call *c, PGconn *db)
{
	const char *params[1] = { c->param };
	PGresult *res;
	json_t *details;

	if (!api_id_param(c, "forwarding rule"))
		return;
	res = db_exec(db, "delete from forwarding_rules r where r.id = $1::bigint returning " RULE_JSON, 1, params);
	if (!res) {
		api_fail_db(c);
		return;
	}
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "forwarding rule not found");
	} else {
		details = json_pack("{s:o*}", "before", json_loads(PQgetvalue(res, 0, 0), 0, NULL));
		api_audit(c, db, "forwarding_rule.delete", c->param, details);
		json_decref(details);
		api_ok(c, 204, NULL);
	}
	PQclear(res);
}

/* --- dead letters ------------------------------------------------------------------------------------------ */

static const struct http_field dead_fields[] = { { "ids", HTTP_FT_IDS, 0, 0, 1000 } };
const struct http_body_spec api_forwarding_dead_body = { dead_fields, 1, 0 };

/* 404 answered (false) when the rule does not exist. */
static bool rule_exists(struct api_call *c, PGconn *db)
{
	const char *params[1] = { c->param };
	PGresult *res;
	bool ok;

	if (!api_id_param(c, "forwarding rule"))
		return false;
	if (!(res = db_exec(db, "select 1 from forwarding_rules where id = $1::bigint", 1, params))) {
		api_fail_db(c);
		return false;
	}
	ok = PQntuples(res) == 1;
	PQclear(res);
	if (!ok)
		api_fail(c, 404, "not_found", NULL, "forwarding rule not found");
	return ok;
}

void api_forwarding_dead_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;
	const char *extra[1] = { c->param };

	if (!api_list_params(c, 0, HTTP_ID_INT, &lp) || !rule_exists(c, db))
		return;
	api_list(c, db,
		 "select o.id::text, json_build_object('id', o.id, 'alert_id', o.alert_id, 'notification_id', "
		 "o.notification_id, 'created_at', " API_TS("o.created_at") ", 'attempts', o.attempts, "
		 "'refusals', o.refusals, 'dead_at', " API_TS("o.dead_at") ", 'error', o.dead_error)::text "
		 "from forwarding_outbox o "
		 "where o.rule_id = $3::bigint and o.dead_at is not null and ($1::bigint is null or o.id > $1::bigint) "
		 "order by o.id limit $2::int",
		 &lp, 1, extra);
}

/* The ids of the body as a bigint[] literal into buf, or NULL (all dead letters of the rule). */
static const char *body_ids(struct api_call *c, char *buf, size_t len)
{
	json_t *ids = json_object_get(c->body, "ids"), *e;
	size_t i, n = 0;

	if (!ids || json_is_null(ids))
		return NULL;
	buf[n++] = '{';
	json_array_foreach(ids, i, e)
		n += (size_t)snprintf(buf + n, len - n, "%s%" JSON_INTEGER_FORMAT, i ? "," : "", json_integer_value(e));
	snprintf(buf + n, len - n, "}");
	return buf;
}

/* retry: back into the queue (at their place: their ids are older than what came since), attempts reset. */
static void dead_apply(struct api_call *c, PGconn *db, bool retry)
{
	const size_t len = 1000 * 21 + 3;
	char *buf = NULL;
	const char *params[2] = { c->param, NULL };
	PGresult *res;
	json_t *details;

	if (!rule_exists(c, db))
		return;
	if (!(buf = malloc(len))) {
		api_fail_db(c);
		return;
	}
	params[1] = body_ids(c, buf, len);
	res = db_exec(db,
		      retry ? "with u as (update forwarding_outbox set dead_at = null, dead_error = null, attempts = 0, "
			      "next_attempt_at = now() where rule_id = $1::bigint and dead_at is not null "
			      "and ($2::bigint[] is null or id = any ($2::bigint[])) returning id) "
			      "select count(*), pg_notify('otw_forward', 'r') from u"
		            : "with d as (delete from forwarding_outbox where rule_id = $1::bigint and dead_at is not null "
			      "and ($2::bigint[] is null or id = any ($2::bigint[])) returning id) select count(*) from d",
		      2, params);
	if (!res) {
		api_fail_db(c);
		goto out;
	}
	details = json_pack("{s:s*,s:I}", "ids", params[1], retry ? "retried" : "discarded",
			    (json_int_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10));
	api_audit(c, db, retry ? "forwarding_rule.dead_letters.retry" : "forwarding_rule.dead_letters.discard", c->param,
		  details);
	json_decref(details);
	api_ok(c, 200, json_pack("{s:I}", retry ? "retried" : "discarded",
				 (json_int_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10)));
	PQclear(res);
out:
	free(buf);
}

void api_forwarding_dead_retry(struct api_call *c, PGconn *db)
{
	dead_apply(c, db, true);
}

void api_forwarding_dead_discard(struct api_call *c, PGconn *db)
{
	dead_apply(c, db, false);
}
