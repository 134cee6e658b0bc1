#include "server/forward_deliver.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/timefmt.h"
#include "server/db.h"
#include "server/forward_format.h"
#include "server/forward_http.h"
#include "server/forward_rule.h"
#include "server/forward_syslog.h"

struct rule_slot {
	int64_t rule_id;
	char version[64];
	struct fwd_action act;
	struct fwd_syslog *sys; /* syslog rules */
	int64_t used;           /* monotonic seconds */
};

struct fwd_deliverer {
	char hostname[256];
	int timeout_ms;
	int stop_fd;
	struct fwd_http *http;
	struct rule_slot *slots;
	size_t n, cap;
	struct fwd_buf msg;
};

static int64_t mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

int fwd_deliverer_new(const char *hostname, int timeout_ms, const volatile int *stop, int stop_fd,
		      struct fwd_deliverer **out)
{
	struct fwd_deliverer *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return -ENOMEM;
	snprintf(d->hostname, sizeof(d->hostname), "%s", hostname);
	d->timeout_ms = timeout_ms;
	d->stop_fd = stop_fd;
	if (fwd_http_new(timeout_ms, stop, &d->http) < 0) {
		free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

static void slot_clear(struct rule_slot *s)
{
	fwd_syslog_free(s->sys);
	fwd_action_clear(&s->act);
	memset(s, 0, sizeof(*s));
}

void fwd_deliverer_free(struct fwd_deliverer *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		slot_clear(&d->slots[i]);
	free(d->slots);
	fwd_http_free(d->http);
	fwd_buf_free(&d->msg);
	free(d);
}

void fwd_deliverer_prune(struct fwd_deliverer *d, int64_t idle_sec)
{
	int64_t now = mono_sec();

	for (size_t i = 0; i < d->n;) {
		if (now - d->slots[i].used >= idle_sec) {
			slot_clear(&d->slots[i]);
			d->slots[i] = d->slots[--d->n];
		} else {
			i++;
		}
	}
}

/* The rule's slot, (re)built when the rule is new or changed. */
static struct rule_slot *slot_get(struct fwd_deliverer *d, int64_t rule_id, const char *version,
				  const char *action_json, char *err, size_t errlen)
{
	struct rule_slot *s = NULL;
	char field[64], why[160];
	json_t *j;
	int rc;

	for (size_t i = 0; i < d->n && !s; i++)
		if (d->slots[i].rule_id == rule_id)
			s = &d->slots[i];
	if (s && strcmp(s->version, version) == 0) {
		s->used = mono_sec();
		return s;
	}
	if (s) {
		slot_clear(s);
	} else {
		if (d->n == d->cap) {
			size_t cap = d->cap ? d->cap * 2 : 8;
			struct rule_slot *p = realloc(d->slots, cap * sizeof(*p));
			if (!p) {
				snprintf(err, errlen, "out of memory");
				return NULL;
			}
			d->slots = p;
			d->cap = cap;
		}
		s = &d->slots[d->n++];
		memset(s, 0, sizeof(*s));
	}
	s->rule_id = rule_id;
	snprintf(s->version, sizeof(s->version), "%s", version);
	s->used = mono_sec();
	j = json_loads(action_json, 0, NULL);
	rc = j ? fwd_action_parse(j, &s->act, field, why) : -EINVAL;
	json_decref(j);
	if (rc < 0) {
		/* The API stored it validated: only a hand-edited row gets here. */
		snprintf(err, errlen, "the rule's action is invalid: %s %s", j ? field : "action", j ? why : "is not JSON");
		s->version[0] = '\0';
		return NULL;
	}
	if (s->act.type == FWD_ACT_SYSLOG && fwd_syslog_new(&s->act, d->timeout_ms, d->stop_fd, &s->sys) < 0) {
		snprintf(err, errlen, "out of memory");
		s->version[0] = '\0';
		return NULL;
	}
	return s;
}

static const char *col(PGresult *r, int c)
{
	return PQgetisnull(r, 0, c) ? NULL : PQgetvalue(r, 0, c);
}

static int64_t col_i64(PGresult *r, int c)
{
	return PQgetisnull(r, 0, c) ? 0 : strtoll(PQgetvalue(r, 0, c), NULL, 10);
}

#define EPOCH_US(c) "(extract(epoch from " c ") * 1000000)::bigint"

/* Reads the alert or notification into *e (strings point into *res, which the caller clears). 1: gone, 2: database
 * error. */
static int load_event(PGconn *db, int64_t alert_id, int64_t notification_id, struct fwd_event *e, PGresult **res,
		      char *err, size_t errlen)
{
	char id[24];
	const char *params[1] = { id };
	PGresult *r;

	memset(e, 0, sizeof(*e));
	snprintf(id, sizeof(id), "%lld", (long long)(alert_id > 0 ? alert_id : notification_id));
	if (alert_id > 0)
		r = db_exec(db,
			    "select a.id, a.title, a.message, a.severity, a.engine, a.status, a.protocol, a.src_addr, "
			    "a.dst_addr, a.src_mac, a.dst_mac, a.remediation, a.sensor_id::text, s.name, s.software_version, "
			    "a.zone_id, z.name, z.site_id, si.name, " EPOCH_US("a.detected_at") ", " EPOCH_US("a.last_seen")
			    ", " EPOCH_US("a.received_at") ", a.occurrences, null "
			    "from alerts a left join sensors s on s.id = a.sensor_id left join zones z on z.id = a.zone_id "
			    "left join sites si on si.id = z.site_id where a.id = $1::bigint limit 1",
			    1, params);
	else
		r = db_exec(db,
			    "select n.id, n.title, n.message, n.severity, null, null, null, null, null, null, null, null, "
			    "n.sensor_id::text, s.name, s.software_version, n.zone_id, z.name, z.site_id, si.name, "
			    EPOCH_US("n.at") ", null, null, null, n.details::text, n.kind "
			    "from system_notifications n left join sensors s on s.id = n.sensor_id "
			    "left join zones z on z.id = n.zone_id left join sites si on si.id = z.site_id "
			    "where n.id = $1::bigint",
			    1, params);
	if (!r) {
		snprintf(err, errlen, "database error reading the %s", alert_id > 0 ? "alert" : "notification");
		return 2;
	}
	*res = r;
	if (PQntuples(r) == 0)
		return 1;
	e->kind = alert_id > 0 ? FWD_ALERT : FWD_SYSTEM;
	e->id = col_i64(r, 0);
	e->title = col(r, 1);
	e->message = col(r, 2);
	e->severity = col(r, 3);
	e->engine = col(r, 4);
	e->status = col(r, 5);
	e->protocol = col(r, 6);
	e->src_ip = col(r, 7);
	e->dst_ip = col(r, 8);
	e->src_mac = col(r, 9);
	e->dst_mac = col(r, 10);
	e->remediation = col(r, 11);
	e->sensor_id = col(r, 12);
	e->sensor_name = col(r, 13);
	e->sensor_version = col(r, 14);
	e->zone_id = col_i64(r, 15);
	e->zone_name = col(r, 16);
	e->site_id = col_i64(r, 17);
	e->site_name = col(r, 18);
	e->detected_usec = col_i64(r, 19);
	e->last_seen_usec = col_i64(r, 20);
	e->received_usec = col_i64(r, 21);
	e->occurrences = col_i64(r, 22);
	e->details_json = col(r, 23);
	if (e->kind == FWD_SYSTEM)
		e->sys_kind = col(r, 24);
	return 0;
}

static void format_record(struct fwd_buf *b, enum fwd_format f, const struct fwd_event *e)
{
	if (f == FWD_FMT_CEF)
		fwd_format_cef(b, e);
	else if (f == FWD_FMT_LEEF)
		fwd_format_leef(b, e);
	else
		fwd_format_json(b, e);
}

int fwd_deliver(struct fwd_deliverer *d, PGconn *db, int64_t rule_id, const char *rule_version,
		const char *action_json, int64_t outbox_id, int64_t alert_id, int64_t notification_id, char *err,
		size_t errlen)
{
	struct rule_slot *s = slot_get(d, rule_id, rule_version, action_json, err, errlen);
	const struct fwd_action *a;
	struct fwd_event e;
	PGresult *res = NULL;
	int rc;

	if (!s)
		return -EINVAL;
	a = &s->act;
	if ((rc = load_event(db, alert_id, notification_id, &e, &res, err, errlen)) != 0)
		goto out;
	fwd_buf_reset(&d->msg);
	switch (a->type) {
	case FWD_ACT_SYSLOG:
		fwd_syslog_header(&d->msg, a->facility, d->hostname, &e);
		format_record(&d->msg, a->format, &e);
		break;
	case FWD_ACT_WEBHOOK:
		fwd_format_json(&d->msg, &e);
		break;
	case FWD_ACT_HEC:
		fwd_format_hec(&d->msg, &e, d->hostname, a->index, a->sourcetype);
		break;
	case FWD_ACT_EMAIL:
		fwd_format_email(&d->msg, &e, a->from, a->to, a->nto, d->hostname, timefmt_now_usec());
		break;
	}
	if (d->msg.oom || !d->msg.p) {
		snprintf(err, errlen, "out of memory formatting the message");
		rc = -ENOMEM;
		goto out;
	}
	switch (a->type) {
	case FWD_ACT_SYSLOG:
		rc = fwd_syslog_send(s->sys, d->msg.p, d->msg.len, err, errlen);
		break;
	case FWD_ACT_EMAIL:
		rc = fwd_mail_send(d->http, a, d->msg.p, d->msg.len, d->hostname, err, errlen);
		break;
	default:
		rc = fwd_http_post(d->http, a, d->msg.p, d->msg.len, outbox_id, err, errlen);
		break;
	}
out:
	PQclear(res);
	return rc;
}
