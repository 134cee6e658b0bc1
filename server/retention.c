#include "server/retention.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "server/audit.h"
#include "server/db.h"

/* Key of the transaction-level advisory lock of a purge ("OTWR"). */
#define RETENTION_LOCK_KEY "1330927442"
#define RETENTION_AUDIT_IDS "1000" /* devices named in the audit record; the count is always exact */

struct retention {
	struct worker_job job; /* first: the worker callbacks get &job */
	struct event *timer;
	struct workers *w;
	int64_t days, alert_days;
	bool busy; /* loop thread: a purge is queued or running */
};

/* $1 days. Roots not merged into another device whose group (root and merged devices) is untouched since the
 * cutoff go with their merged devices; one row: the purged roots as [{id, key}] (the first RETENTION_AUDIT_IDS),
 * their count, the cutoff. */
static const char *const devices_sql =
	"with cutoff as (select now() - $1::bigint * interval '1 day' t), "
	"roots as (select d.id from devices d, cutoff where d.merged_into is null and d.last_seen < cutoff.t "
	"and d.updated_at < cutoff.t and not exists (select 1 from devices m where m.merged_into = d.id "
	"and (m.last_seen >= cutoff.t or m.updated_at >= cutoff.t))), "
	"del as (delete from devices x where x.id in (select id from roots) or x.merged_into in (select id from roots) "
	"returning x.id, x.key, x.merged_into) "
	"select coalesce((select jsonb_agg(jsonb_build_object('id', p.id, 'key', p.key) order by p.id) from "
	"(select id, key from del where merged_into is null order by id limit " RETENTION_AUDIT_IDS ") p), '[]')::text, "
	"(select count(*) from del where merged_into is null), "
	"(select to_char(t at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') from cutoff)";

static bool exec_count(PGconn *db, const char *sql, const char *days, long long *n)
{
	PGresult *res = db_exec(db, sql, 1, &days);

	if (!res)
		return false;
	*n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return true;
}

int64_t retention_purge(PGconn *db, int64_t days)
{
	char days_text[24];
	const char *p = days_text;
	long long ndev = 0, nconn = 0, nev = 0;
	PGresult *res = NULL;
	json_t *details = NULL;
	int64_t rc = -EIO;

	snprintf(days_text, sizeof(days_text), "%lld", (long long)days);
	if (!db_begin(db))
		return -EIO;
	res = db_exec(db, "select pg_try_advisory_xact_lock(" RETENTION_LOCK_KEY ")", 0, NULL);
	if (!res)
		goto out;
	if (PQgetvalue(res, 0, 0)[0] != 't') {
		rc = 0; /* another node is purging */
		goto out;
	}
	PQclear(res);
	if (!(res = db_exec(db, devices_sql, 1, &p)))
		goto out;
	ndev = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	if (!exec_count(db,
			"delete from connections where last_seen < now() - $1::bigint * interval '1 day' "
			"and updated_at < now() - $1::bigint * interval '1 day'",
			days_text, &nconn) ||
	    !exec_count(db,
			"delete from dpi_events where last_seen < now() - $1::bigint * interval '1 day' "
			"and received_at < now() - $1::bigint * interval '1 day'",
			days_text, &nev))
		goto out;
	if (ndev || nconn || nev) {
		details = json_pack("{s:I, s:s, s:I, s:o, s:I, s:I}", "retention_days", (json_int_t)days, "cutoff",
				    PQgetvalue(res, 0, 2), "devices", (json_int_t)ndev, "purged",
				    json_loads(PQgetvalue(res, 0, 0), 0, NULL), "connections", (json_int_t)nconn, "events",
				    (json_int_t)nev);
		if (!details || audit_write(db, NULL, "console", "device.purge", NULL, details) != 0)
			goto out;
	}
	if (!db_commit(db))
		goto out;
	if (ndev || nconn || nev)
		log_info("retention: purged %lld devices, %lld connections and %lld DPI events inactive for %lld days",
			 ndev, nconn, nev, (long long)days);
	rc = ndev;
out:
	db_rollback(db);
	PQclear(res);
	json_decref(details);
	return rc;
}

int64_t retention_purge_alerts(PGconn *db, int64_t alert_days)
{
	char days_text[24];
	const char *p = days_text;
	PGresult *res = NULL;
	json_t *details = NULL;
	int64_t rc = -EIO, n;

	snprintf(days_text, sizeof(days_text), "%lld", (long long)alert_days);
	if (!db_begin(db))
		return -EIO;
	res = db_exec(db, "select pg_try_advisory_xact_lock(" RETENTION_LOCK_KEY ")", 0, NULL);
	if (!res)
		goto out;
	if (PQgetvalue(res, 0, 0)[0] != 't') {
		rc = 0; /* another node is at it */
		goto out;
	}
	PQclear(res);
	if (!(res = db_exec(db, "select otw_alert_partitions($1::bigint), otw_alert_retention($1::bigint)", 1, &p)))
		goto out;
	n = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	if (n > 0) {
		details = json_pack("{s:I, s:I}", "retention_days", (json_int_t)alert_days, "alerts", (json_int_t)n);
		if (!details || audit_write(db, NULL, "console", "alert.purge", NULL, details) != 0)
			goto out;
	}
	if (!db_commit(db))
		goto out;
	if (n > 0)
		log_info("retention: purged %lld alerts older than %lld days", (long long)n, (long long)alert_days);
	rc = n;
out:
	db_rollback(db);
	PQclear(res);
	json_decref(details);
	return rc;
}

static void job_run(struct worker_job *job, PGconn *db)
{
	struct retention *r = (struct retention *)job;

	if (db && retention_purge(db, r->days) < 0)
		log_warn("retention: purge failed; retrying at the next interval");
	if (db && retention_purge_alerts(db, r->alert_days) < 0)
		log_warn("retention: alert purge failed; retrying at the next interval");
}

static void job_done(struct worker_job *job, bool cancelled)
{
	struct retention *r = (struct retention *)job;

	(void)cancelled;
	r->busy = false;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct retention *r = arg;

	(void)fd;
	(void)what;
	if (r->busy)
		return;
	r->job.run = job_run;
	r->job.done = job_done;
	/* A full queue skips this round: the next tick tries again. */
	if (workers_submit(r->w, &r->job) == 0)
		r->busy = true;
}

int retention_start(struct event_base *base, struct workers *w, int64_t days, int64_t alert_days,
		    int64_t interval_sec, struct retention **out)
{
	struct retention *r = calloc(1, sizeof(*r));
	struct timeval tv = { .tv_sec = (time_t)interval_sec, .tv_usec = 0 };

	if (!r)
		return -ENOMEM;
	r->w = w;
	r->days = days;
	r->alert_days = alert_days;
	if (!(r->timer = event_new(base, -1, EV_PERSIST, on_timer, r)) || event_add(r->timer, &tv) != 0) {
		retention_free(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

void retention_disarm(struct retention *r)
{
	if (r && r->timer)
		event_del(r->timer);
}

void retention_free(struct retention *r)
{
	if (!r)
		return;
	if (r->timer)
		event_free(r->timer);
	free(r);
}
