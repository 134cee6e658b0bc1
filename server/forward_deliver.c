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

/* One attempt carries at most this many bytes of messages (the first message always goes). */
#define FWD_BATCH_BYTES (1024 * 1024)
#define FWD_ROWS_UNLIMITED 65536 /* max_rows doubled back up to this is no limit again */

struct rule_slot {
	int64_t rule_id;
	char version[64];
	struct fwd_action act;
	struct fwd_syslog *sys; /* syslog rules */
	int64_t used;           /* monotonic seconds */
	size_t max_rows;        /* syslog: rows an attempt takes at most, 0 no limit (halved after a timeout) */
};

struct fwd_deliverer {
	char hostname[256];
	int timeout_ms;
	int stop_fd;
	struct fwd_http *http;
	struct rule_slot *slots;
	size_t n, cap;
	struct fwd_buf msg;      /* the messages of one attempt, one after the other */
	size_t *off, *len;       /* each message's place in msg */
	size_t *row;             /* each message's row among the attempt's rows */
	const char **ptr;
	size_t cap_msgs;
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
	free(d->off);
	free(d->len);
	free(d->row);
	free(d->ptr);
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

static const char *col(PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? NULL : PQgetvalue(r, row, c);
}

static int64_t col_i64(PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? 0 : strtoll(PQgetvalue(r, row, c), NULL, 10);
}

#define EPOCH_US(c) "(extract(epoch from " c ") * 1000000)::bigint"

/* The rows among $2 (outbox ids) still queued for rule $1 while the rule is enabled and unchanged ($3: its
 * updated_at), in id order, each with its alert or notification: column 0 the outbox id, 1 'a', 's' or null (the
 * alert or notification is gone: purged), then the event from EV_COL on. One query for a whole batch. */
#define EV_COL 2
#define LOAD_ROWS                                                                                                      \
	"select o.id, e.* from forwarding_outbox o join forwarding_rules r on r.id = o.rule_id "                       \
	"left join lateral ((select 'a' kind, a.id, a.title, a.message, a.severity, a.engine, a.status, a.protocol, "  \
	"a.src_addr, a.dst_addr, a.src_mac, a.dst_mac, a.remediation, a.sensor_id::text, s.name, s.software_version, " \
	"a.zone_id, z.name, z.site_id, si.name, " EPOCH_US("a.detected_at") ", " EPOCH_US("a.last_seen") ", "         \
	EPOCH_US("a.received_at") ", a.occurrences, null details, null sys_kind "                                      \
	"from alerts a left join sensors s on s.id = a.sensor_id left join zones z on z.id = a.zone_id "               \
	"left join sites si on si.id = z.site_id where o.alert_id is not null and a.id = o.alert_id limit 1) "         \
	"union all (select 's', n.id, n.title, n.message, n.severity, null, null, null, null, null, null, null, null, " \
	"n.sensor_id::text, s.name, s.software_version, n.zone_id, z.name, z.site_id, si.name, " EPOCH_US("n.at")     \
	", null, null, null, n.details::text, n.kind from system_notifications n "                                     \
	"left join sensors s on s.id = n.sensor_id left join zones z on z.id = n.zone_id "                             \
	"left join sites si on si.id = z.site_id where n.id = o.notification_id)) e on true "                          \
	"where o.rule_id = $1::bigint and o.id = any($2::bigint[]) and o.dead_at is null and r.enabled "              \
	"and r.updated_at::text = $3 order by o.id"

/* The event of one row of LOAD_ROWS (strings point into r). False when it is gone. */
static bool event_at(PGresult *r, int row, struct fwd_event *e)
{
	const char *kind = col(r, row, 1);
	int c = EV_COL;

	memset(e, 0, sizeof(*e));
	if (!kind)
		return false;
	e->kind = kind[0] == 'a' ? FWD_ALERT : FWD_SYSTEM;
	e->id = col_i64(r, row, c);
	e->title = col(r, row, c + 1);
	e->message = col(r, row, c + 2);
	e->severity = col(r, row, c + 3);
	e->engine = col(r, row, c + 4);
	e->status = col(r, row, c + 5);
	e->protocol = col(r, row, c + 6);
	e->src_ip = col(r, row, c + 7);
	e->dst_ip = col(r, row, c + 8);
	e->src_mac = col(r, row, c + 9);
	e->dst_mac = col(r, row, c + 10);
	e->remediation = col(r, row, c + 11);
	e->sensor_id = col(r, row, c + 12);
	e->sensor_name = col(r, row, c + 13);
	e->sensor_version = col(r, row, c + 14);
	e->zone_id = col_i64(r, row, c + 15);
	e->zone_name = col(r, row, c + 16);
	e->site_id = col_i64(r, row, c + 17);
	e->site_name = col(r, row, c + 18);
	e->detected_usec = col_i64(r, row, c + 19);
	e->last_seen_usec = col_i64(r, row, c + 20);
	e->received_usec = col_i64(r, row, c + 21);
	e->occurrences = col_i64(r, row, c + 22);
	e->details_json = col(r, row, c + 23);
	if (e->kind == FWD_SYSTEM)
		e->sys_kind = col(r, row, c + 24);
	return true;
}

/* Reads the rows of ids[0..n) still queued (and their rule unchanged) into *res. Returns 0 or 2 (database error). */
static int load_rows(PGconn *db, int64_t rule_id, const char *version, const int64_t *ids, size_t n, PGresult **res,
		     char *err, size_t errlen)
{
	struct fwd_buf arr = { 0 };
	char rule[24];
	const char *params[3] = { rule, NULL, version };

	snprintf(rule, sizeof(rule), "%lld", (long long)rule_id);
	fwd_buf_adds(&arr, "{");
	for (size_t i = 0; i < n; i++)
		fwd_buf_printf(&arr, "%s%lld", i ? "," : "", (long long)ids[i]);
	fwd_buf_adds(&arr, "}");
	if (arr.oom) {
		fwd_buf_free(&arr);
		snprintf(err, errlen, "out of memory");
		return 2;
	}
	params[1] = arr.p;
	*res = db_exec(db, LOAD_ROWS, 3, params);
	fwd_buf_free(&arr);
	if (!*res) {
		snprintf(err, errlen, "database error reading the alerts to forward");
		return 2;
	}
	return 0;
}

static void format_record(struct fwd_buf *b, enum fwd_format f, const struct fwd_event *e)
{
	if (f == FWD_FMT_CEF)
		fwd_format_cef(b, e);
	else if (f == FWD_FMT_LEEF)
		fwd_format_leef(b, e);
	else if (f == FWD_FMT_TEXT)
		fwd_format_text(b, e);
	else
		fwd_format_json(b, e);
}

static bool reserve_msgs(struct fwd_deliverer *d, size_t n)
{
	size_t cap = d->cap_msgs ? d->cap_msgs : 16;
	size_t *off, *len, *row;
	const char **ptr;

	if (n <= d->cap_msgs)
		return true;
	while (cap < n)
		cap *= 2;
	if (!(off = realloc(d->off, cap * sizeof(*off))))
		return false;
	d->off = off;
	if (!(len = realloc(d->len, cap * sizeof(*len))))
		return false;
	d->len = len;
	if (!(row = realloc(d->row, cap * sizeof(*row))))
		return false;
	d->row = row;
	if (!(ptr = realloc(d->ptr, cap * sizeof(*ptr))))
		return false;
	d->ptr = ptr;
	d->cap_msgs = cap;
	return true;
}

/* Appends the message of e for action a to d->msg. */
static void format_message(struct fwd_deliverer *d, const struct fwd_action *a, const struct fwd_event *e)
{
	switch (a->type) {
	case FWD_ACT_SYSLOG:
		fwd_syslog_header(&d->msg, a->facility, d->hostname, e);
		format_record(&d->msg, a->format, e);
		break;
	case FWD_ACT_WEBHOOK:
		fwd_format_json(&d->msg, e);
		break;
	case FWD_ACT_HEC:
		fwd_format_hec(&d->msg, e, d->hostname, a->index, a->sourcetype);
		break;
	case FWD_ACT_EMAIL:
		fwd_format_email(&d->msg, e, a->from, a->to, a->nto, d->hostname, timefmt_now_usec());
		break;
	}
}

int fwd_deliver(struct fwd_deliverer *d, PGconn *db, int64_t rule_id, const char *rule_version,
		const char *action_json, const int64_t *outbox_ids, size_t n, size_t *taken, size_t *sent, char *err,
		size_t errlen)
{
	struct rule_slot *s = slot_get(d, rule_id, rule_version, action_json, err, errlen);
	const struct fwd_action *a;
	PGresult *res = NULL;
	size_t k = 0, m = 0, rows;
	long bad_event = -1;
	int rc;

	*taken = *sent = 0;
	if (!s) {
		*taken = 1;
		return -EINVAL;
	}
	a = &s->act;
	/* Syslog and HEC carry a batch in one attempt; a webhook POST and an email are one alert each. */
	if (a->type == FWD_ACT_WEBHOOK || a->type == FWD_ACT_EMAIL)
		n = n > 1 ? 1 : n;
	if (s->max_rows && n > s->max_rows)
		n = s->max_rows;
	if ((rc = load_rows(db, rule_id, rule_version, outbox_ids, n, &res, err, errlen)) != 0)
		return rc;
	rows = (size_t)PQntuples(res);
	fwd_buf_reset(&d->msg);
	if (!reserve_msgs(d, rows)) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* The batch is the head rows in order up to the first one no longer queued (or the rule changed: none). */
	for (k = 0; k < rows && k < n && strtoll(PQgetvalue(res, (int)k, 0), NULL, 10) == outbox_ids[k]; k++) {
		struct fwd_event e;
		size_t start = d->msg.len;
		if (!event_at(res, (int)k, &e))
			continue; /* purged before it was delivered: nothing to send, dropped with the batch */
		format_message(d, a, &e);
		if (m > 0 && d->msg.len > FWD_BATCH_BYTES) {
			d->msg.len = start; /* goes in the next attempt */
			d->msg.p[start] = '\0';
			break;
		}
		d->off[m] = start;
		d->len[m] = d->msg.len - start;
		d->row[m] = k;
		m++;
	}
	*taken = k;
	if (d->msg.oom) {
		snprintf(err, errlen, "out of memory formatting the messages");
		rc = -ENOMEM;
		goto out;
	}
	if (m == 0)
		goto out; /* nothing queued any more, or only purged rows */
	for (size_t i = 0; i < m; i++)
		d->ptr[i] = d->msg.p + d->off[i];
	switch (a->type) {
	case FWD_ACT_SYSLOG:
		rc = fwd_syslog_send(s->sys, d->ptr, d->len, m, err, errlen);
		/* A link too slow for the batch within the timeout would resend it for ever: the next attempts take
		 * half as many rows (down to one), and twice as many again after each success. */
		if (rc == -ETIMEDOUT && k > 1)
			s->max_rows = k / 2;
		else if (rc == 0 && s->max_rows)
			s->max_rows = s->max_rows * 2 >= FWD_ROWS_UNLIMITED ? 0 : s->max_rows * 2;
		break;
	case FWD_ACT_EMAIL:
		rc = fwd_mail_send(d->http, a, d->msg.p, d->msg.len, d->hostname, err, errlen);
		break;
	default: /* webhook: one record; HEC: m event objects, one after the other, in one POST */
		rc = fwd_http_post(d->http, a, d->msg.p, d->msg.len, outbox_ids[0], &bad_event, err, errlen);
		break;
	}
	if (rc == 0)
		*sent = m;
	if (rc == -EBADMSG && bad_event >= 0 && (size_t)bad_event < m) {
		/* HEC indexed the events before the one it named: the rows up to it are delivered, it is refused. */
		*taken = d->row[bad_event] + 1;
		*sent = (size_t)bad_event;
	}
out:
	PQclear(res);
	return rc;
}
