#include "server/forward_outbox.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "server/db.h"
#include "server/forward_deliver.h"
#include "server/forward_format.h"

#define FWD_CHANNEL "otw_forward"
#define FWD_LOCK_CLASS "1330927430" /* 'OTWF': first key of the rules' advisory locks */
#define FWD_LOCKED_RETRY_MS 1000     /* a rule another node holds is looked at again after this */
#define FWD_DB_RETRY_MAX_SEC 30
#define FWD_IDLE_SEC 300             /* transports of rules unused this long are closed */
#define FWD_DB_TIMEOUT_MS "30000"    /* statement_timeout; TCP_USER_TIMEOUT of the connection */

struct forward {
	struct forward_opts o;
	char *db_url;
	char hostname[256];
	pthread_t thread;
	bool started, curl_init;
	int pipe[2];
	volatile int stop;
	PGconn *db;
	struct fwd_deliverer *d;
	int64_t next_ms; /* during a pass: the earliest retry a failure in it scheduled */
};

/* Drains libpq's notification queue; true when it held any. */
static bool drain_notifies(struct forward *f)
{
	PGnotify *nt;
	bool any = false;

	while ((nt = PQnotifies(f->db)) != NULL) {
		PQfreemem(nt);
		any = true;
	}
	return any;
}

/* Sleeps until timeout_ms passed, a notification arrives or stop. Notifications libpq already read while the
 * last pass ran its queries sit in its queue, not in the socket: they end the wait at once. */
static void wait_for(struct forward *f, int64_t timeout_ms)
{
	struct pollfd p[2] = { { .fd = f->pipe[0], .events = POLLIN }, { .fd = -1, .events = POLLIN } };
	int n = 1;

	if (f->db && PQsocket(f->db) >= 0) {
		if (!PQconsumeInput(f->db))
			goto lost;
		if (drain_notifies(f))
			return;
		p[1].fd = PQsocket(f->db);
		n = 2;
	}
	if (poll(p, (nfds_t)n, timeout_ms > INT32_MAX ? INT32_MAX : (int)timeout_ms) > 0 && n == 2 &&
	    (p[1].revents & POLLIN)) {
		if (!PQconsumeInput(f->db))
			goto lost;
		drain_notifies(f);
	}
	return;
lost:
	log_warn("forward: lost the database connection");
	PQfinish(f->db);
	f->db = NULL;
}

/* A database that vanishes (host down, network cut) must not hold the thread (and so shutdown) for the kernel's
 * TCP timeouts: keepalive and TCP_USER_TIMEOUT on the connection (a Unix socket ignores them), a statement
 * timeout on the session. */
static bool bound_db(struct forward *f)
{
	int fd = PQsocket(f->db), on = 1, idle = 30, intvl = 10, cnt = 3;
	unsigned int uto = (unsigned int)atoi(FWD_DB_TIMEOUT_MS);
	PGresult *r;

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) == 0) {
		/* best effort: not every socket is TCP */
		(void)!setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		(void)!setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
		(void)!setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
		(void)!setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof(uto));
	}
	/* The server's side too: a rule's advisory lock is held by this session across a delivery; if this node
	 * vanishes (power, network) the server must end the backend (and free the lock for the other nodes) within
	 * about a minute, not after the OS's default keepalive of two hours. */
	r = PQexec(f->db, "set statement_timeout = " FWD_DB_TIMEOUT_MS "; set tcp_keepalives_idle = 30; "
			  "set tcp_keepalives_interval = 10; set tcp_keepalives_count = 3; "
			  "set tcp_user_timeout = " FWD_DB_TIMEOUT_MS);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		log_warn("forward: cannot set the session's timeouts: %s", PQerrorMessage(f->db));
		PQclear(r);
		return false;
	}
	PQclear(r);
	return true;
}

static bool connect_db(struct forward *f)
{
	char err[512];
	PGresult *r;

	if (!(f->db = db_connect(f->db_url, err, sizeof(err)))) {
		log_warn("forward: cannot connect to the database: %s", err);
		return false;
	}
	if (!bound_db(f)) {
		PQfinish(f->db);
		f->db = NULL;
		return false;
	}
	r = PQexec(f->db, "LISTEN " FWD_CHANNEL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		log_warn("forward: LISTEN failed: %s", PQerrorMessage(f->db));
		PQclear(r);
		PQfinish(f->db);
		f->db = NULL;
		return false;
	}
	PQclear(r);
	log_info("forward: delivery thread connected");
	return true;
}

/* A failed attempt: the head row waits 1 s doubling per attempt up to backoff_max_sec. refused: the destination
 * refused the row for good (counted in its refusals too). */
static void record_failure(struct forward *f, const char *rule, const char *row, int attempts, bool refused,
			   const char *err)
{
	int64_t delay = 1;
	char secs[24];
	const char *params[5] = { rule, row, secs, err, refused ? "1" : "0" };
	PGresult *r;

	for (int i = 1; i < attempts && delay < f->o.backoff_max_sec; i++)
		delay *= 2;
	if (delay > f->o.backoff_max_sec)
		delay = f->o.backoff_max_sec;
	snprintf(secs, sizeof(secs), "%lld", (long long)delay);
	if (delay * 1000 < f->next_ms)
		f->next_ms = delay * 1000;
	r = db_exec(f->db,
		    "with o as (update forwarding_outbox set attempts = attempts + 1, refusals = refusals + $5::int, "
		    "next_attempt_at = now() + make_interval(secs => $3::int) where id = $2::bigint) "
		    "update forwarding_rules set last_error = $4, last_error_at = now() where id = $1::bigint",
		    5, params);
	PQclear(r);
	if (attempts == 1)
		log_warn("forward: rule %s: delivery failed, retrying with backoff: %s", rule, err);
	else
		log_debug("forward: rule %s: attempt %d failed (next in %lld s): %s", rule, attempts, (long long)delay,
			  err);
}

/* A row the destination refused for good while it accepted the next one: out of the queue, kept as a dead letter
 * (the API lists, retries or discards them) so that the rule moves on. */
static bool dead_letter(struct forward *f, const char *rule, const char *row, int attempts, const char *err)
{
	const char *params[3] = { rule, row, err };
	PGresult *r = db_exec(f->db,
			      "with o as (update forwarding_outbox set attempts = attempts + 1, "
			      "refusals = refusals + 1, dead_at = now(), dead_error = $3 where id = $2::bigint) "
			      "update forwarding_rules set last_error = 'dead letter ' || $2 || ': ' || $3, "
			      "last_error_at = now() where id = $1::bigint",
			      3, params);

	PQclear(r);
	if (r)
		log_warn("forward: rule %s: outbox row %s refused (attempt %d) while the next was accepted, kept as a dead "
			 "letter: %s", rule, row, attempts, err);
	return r != NULL;
}

/* The rows ids[0..n) of the rule were delivered (sent of them sent, the others purged): deleted and counted in one
 * statement. */
static bool delivered(struct forward *f, const char *rule, const int64_t *ids, size_t n, size_t sent)
{
	struct fwd_buf arr = { 0 };
	char count[24];
	const char *params[3] = { NULL, count, rule };
	PGresult *r = NULL;

	snprintf(count, sizeof(count), "%zu", sent);
	fwd_buf_adds(&arr, "{");
	for (size_t i = 0; i < n; i++)
		fwd_buf_printf(&arr, "%s%lld", i ? "," : "", (long long)ids[i]);
	fwd_buf_adds(&arr, "}");
	if (!arr.oom) {
		params[0] = arr.p;
		r = db_exec(f->db,
			    "with d as (delete from forwarding_outbox where rule_id = $3::bigint and id = any($1::bigint[])) "
			    "update forwarding_rules set delivered_count = delivered_count + $2::int, "
			    "last_delivered_at = case when $2::int > 0 then now() else last_delivered_at end "
			    "where id = $3::bigint",
			    3, params);
	}
	fwd_buf_free(&arr);
	PQclear(r);
	return r != NULL;
}

/* After the row ids[i] was refused for good: are the messages at fault, or the destination (a wrong HEC index, a
 * bad webhook signature, a relay that denies relaying refuse every message)? The rows after it are tried one at a
 * time until one is sent (true: the destination accepts messages, the refused row is at fault) or fails (false:
 * the rule is held, nothing dead-lettered). Rows purged meanwhile are dropped on the way. *next: the index after
 * the last row handled; *done grows by the rows delivered. *dberr on a database error. */
static bool next_accepted(struct forward *f, const char *rule, int64_t rule_id, const char *version,
			  const char *action, const int64_t *ids, int nrows, int i, int *next, int *done, bool *dberr)
{
	for (int j = i + 1; j < nrows && !f->stop; j++) {
		char err[512] = "";
		size_t taken = 0, sent = 0;
		int rc = fwd_deliver(f->d, f->db, rule_id, version, action, ids + j, 1, &taken, &sent, err, sizeof(err));

		if (rc == 2) {
			*dberr = true;
			return false;
		}
		if (rc < 0 || taken == 0)
			return false;
		if (!delivered(f, rule, ids + j, 1, sent)) {
			*dberr = true;
			return false;
		}
		(*done)++;
		*next = j + 1;
		if (sent > 0)
			return true;
	}
	return false;
}

/* Delivers the due head rows of one rule, a batch per attempt (fwd_deliver); *locked_elsewhere when another node
 * holds it. Returns rows delivered (or skipped), -1 on a database error. */
static int deliver_rule(struct forward *f, const char *rule, const char *action, const char *version,
			bool *locked_elsewhere, bool *more)
{
	char limit[24];
	const char *p1[1] = { rule }, *p2[2] = { rule, limit };
	PGresult *lock, *rows = NULL;
	int64_t *ids = NULL, rule_id = strtoll(rule, NULL, 10);
	bool single = false;
	int done = 0, n, nrows;

	lock = db_exec(f->db, "select pg_try_advisory_lock(" FWD_LOCK_CLASS ", ($1::bigint % 2147483647)::int)", 1, p1);
	if (!lock)
		return -1;
	if (PQgetvalue(lock, 0, 0)[0] != 't') {
		*locked_elsewhere = true;
		PQclear(lock);
		return 0;
	}
	PQclear(lock);
	/* One row past the batch: a refused last row can be told from a refusing destination (next_accepted). */
	snprintf(limit, sizeof(limit), "%lld", (long long)f->o.batch + 1);
	rows = db_exec(f->db,
		       "select o.id, coalesce(o.alert_id, 0), coalesce(o.notification_id, 0), o.attempts, "
		       "o.next_attempt_at <= now() from forwarding_outbox o where o.rule_id = $1::bigint "
		       "and o.dead_at is null order by o.id limit $2::int",
		       2, p2);
	if (!rows) {
		done = -1;
		goto unlock;
	}
	nrows = PQntuples(rows);
	n = nrows > f->o.batch ? (int)f->o.batch : nrows;
	if (n == 0 || PQgetvalue(rows, 0, 4)[0] != 't')
		goto unlock; /* the head row waits for its retry, and the rule with it */
	if (!(ids = malloc((size_t)nrows * sizeof(*ids)))) {
		done = -1;
		goto unlock;
	}
	for (int i = 0; i < nrows; i++)
		ids[i] = strtoll(PQgetvalue(rows, i, 0), NULL, 10);
	for (int i = 0; i < n && !f->stop;) {
		char err[512] = "";
		const char *row = PQgetvalue(rows, i, 0);
		int attempts = atoi(PQgetvalue(rows, i, 3));
		size_t taken = 0, sent = 0;
		int rc = fwd_deliver(f->d, f->db, rule_id, version, action, ids + i, single ? 1 : (size_t)(n - i), &taken,
				     &sent, err, sizeof(err));

		if (rc == 2) {
			done = -1; /* the database, not the destination, failed */
			break;
		}
		if (rc == -ECANCELED || (rc < 0 && f->stop))
			break; /* cut short by shutdown: not the destination's failure */
		if (rc == -EBADMSG && sent > 0 && taken > 1) {
			/* HEC indexed the events before the one it refused: those rows are delivered, not sent again. */
			if (!delivered(f, rule, ids + i, taken - 1, sent)) {
				done = -1;
				break;
			}
			done += (int)taken - 1;
			i += (int)taken - 1;
			row = PQgetvalue(rows, i, 0);
			attempts = atoi(PQgetvalue(rows, i, 3));
			taken = 1;
		}
		if (rc == -EBADMSG && taken > 1) {
			single = true; /* a batch refused for good: one at a time finds the message at fault */
			continue;
		}
		if (rc == -EBADMSG) {
			int next = i + 1, before = done;
			bool dberr = false, other = next_accepted(f, rule, rule_id, version, action, ids, nrows, i, &next,
								  &done, &dberr);
			if (dberr) {
				done = -1;
				break;
			}
			if (!other) {
				/* Nothing after it was accepted: the destination may refuse everything (its configuration),
				 * so nothing becomes a dead letter; the rule is held, failing, until it accepts again. */
				char why[700];
				snprintf(why, sizeof(why), "%s%s", err,
					 done > before || next >= nrows ? " (held: no later alert was accepted yet)"
									 : " (held: the next alert was not accepted either)");
				record_failure(f, rule, row, attempts + 1, true, why);
				break;
			}
			if (!dead_letter(f, rule, row, attempts + 1, err)) {
				done = -1;
				break;
			}
			done++;
			i = next;
			single = false; /* the message at fault is found: batches again */
			continue;
		}
		if (rc < 0) {
			/* The head row carries the attempt (and the backoff) for the whole batch. */
			record_failure(f, rule, row, attempts + 1, false, err[0] ? err : "delivery failed");
			break;
		}
		if (taken == 0)
			break; /* the head row left the queue, or the rule was disabled or changed */
		if (!delivered(f, rule, ids + i, taken, sent)) {
			done = -1;
			break;
		}
		if (attempts > 0)
			log_info("forward: rule %s: delivering again after %d failed attempts", rule, attempts);
		done += (int)taken;
		i += (int)taken;
	}
	*more = *more || (done >= n && n == f->o.batch);
unlock:
	free(ids);
	PQclear(rows);
	lock = db_exec(f->db, "select pg_advisory_unlock(" FWD_LOCK_CLASS ", ($1::bigint % 2147483647)::int)", 1, p1);
	if (!lock || PQgetvalue(lock, 0, 0)[0] != 't') {
		/* The lock is re-entrant: left held, it would keep the other nodes off the rule for as long as this
		 * session lives. Ending the session frees it. */
		log_warn("forward: rule %s: cannot release its lock: dropping the database connection", rule);
		PQclear(lock);
		PQfinish(f->db);
		f->db = NULL;
		return -1;
	}
	PQclear(lock);
	return done;
}

/* One pass over the rules with a backlog. Returns the milliseconds to wait before the next one, -1 on a database
 * error. */
static int64_t pass(struct forward *f)
{
	PGresult *r = db_exec(f->db,
			      "select r.id, r.action::text, r.updated_at::text, h.next_attempt_at <= now(), "
			      "greatest(0, ceil(extract(epoch from h.next_attempt_at - now()) * 1000))::bigint "
			      "from forwarding_rules r cross join lateral (select o.next_attempt_at from forwarding_outbox o "
			      "where o.rule_id = r.id and o.dead_at is null order by o.id limit 1) h where r.enabled "
			      "order by r.id",
			      0, NULL);
	int64_t wait = f->o.poll_ms;
	bool locked = false, more = false;

	if (!r)
		return -1;
	f->next_ms = wait;
	for (int i = 0; i < PQntuples(r) && !f->stop; i++) {
		if (PQgetvalue(r, i, 3)[0] == 't') {
			if (deliver_rule(f, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), &locked,
					 &more) < 0) {
				PQclear(r);
				return -1;
			}
		} else {
			int64_t due = strtoll(PQgetvalue(r, i, 4), NULL, 10);
			if (due < wait)
				wait = due;
		}
	}
	PQclear(r);
	if (f->next_ms < wait)
		wait = f->next_ms;
	if (locked && wait > FWD_LOCKED_RETRY_MS)
		wait = FWD_LOCKED_RETRY_MS;
	/* Rows delivered during the pass may have been followed by failures that are due in a second: look again
	 * soon; a full batch means more rows are waiting now. */
	return more ? 0 : wait;
}

static void *forward_main(void *arg)
{
	struct forward *f = arg;
	int64_t retry = 1;

	while (!f->stop) {
		int64_t wait;
		if (!f->db && !connect_db(f)) {
			wait_for(f, retry * 1000);
			retry = retry * 2 > FWD_DB_RETRY_MAX_SEC ? FWD_DB_RETRY_MAX_SEC : retry * 2;
			continue;
		}
		retry = 1;
		wait = pass(f);
		if (wait < 0) {
			/* A broken connection is dropped; a failed statement on a good one just waits for the poll. */
			if (PQstatus(f->db) != CONNECTION_OK) {
				PQfinish(f->db);
				f->db = NULL;
				continue;
			}
			wait = f->o.poll_ms;
		}
		fwd_deliverer_prune(f->d, FWD_IDLE_SEC);
		if (wait > 0)
			wait_for(f, wait);
	}
	return NULL;
}

int forward_start(const struct forward_opts *o, struct forward **out)
{
	struct forward *f = calloc(1, sizeof(*f));
	int rc = -ENOMEM;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	f->pipe[0] = f->pipe[1] = -1;
	f->o = *o;
	if (o->hostname)
		snprintf(f->hostname, sizeof(f->hostname), "%s", o->hostname);
	else if (gethostname(f->hostname, sizeof(f->hostname) - 1) != 0)
		snprintf(f->hostname, sizeof(f->hostname), "otwatch");
	if (!(f->db_url = strdup(o->db_url)))
		goto fail;
	/* Before any thread uses libcurl (paired with curl_global_cleanup in forward_stop). */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto fail;
	f->curl_init = true;
	if (pipe2(f->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = fwd_deliverer_new(f->hostname, (int)o->timeout_ms, &f->stop, f->pipe[0], &f->d)) < 0)
		goto fail;
	if ((rc = -pthread_create(&f->thread, NULL, forward_main, f)) < 0)
		goto fail;
	f->started = true;
	*out = f;
	return 0;
fail:
	forward_stop(f);
	return rc;
}

void forward_stop(struct forward *f)
{
	if (!f)
		return;
	f->stop = 1;
	if (f->pipe[1] >= 0 && write(f->pipe[1], "x", 1) < 0 && errno != EAGAIN)
		log_warn("forward: cannot wake the delivery thread: %s", strerror(errno));
	if (f->started)
		pthread_join(f->thread, NULL);
	fwd_deliverer_free(f->d);
	PQfinish(f->db);
	if (f->pipe[0] >= 0)
		close(f->pipe[0]);
	if (f->pipe[1] >= 0)
		close(f->pipe[1]);
	free(f->db_url);
	if (f->curl_init)
		curl_global_cleanup();
	free(f);
}
