#include "server/ingest.h"

#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "server/ingest_apply.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000

enum job_kind { JOB_MSG, JOB_BYE };

struct job {
	struct job *next;
	enum job_kind kind;
	uint64_t conn_id;
	char sensor_id[WIRE_SENSOR_ID_LEN + 1];
	char serial[64];
	struct wire_msg msg;
};

struct ingest {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct job *head, *tail;
	size_t nbatches, queue_max;
	bool stop;
	char *db_url;
	PGconn *db;
	struct ingest_callbacks cb;
};

static void job_free(struct job *j)
{
	wire_msg_free(&j->msg);
	free(j);
}

static void push(struct ingest *in, struct job *j)
{
	pthread_mutex_lock(&in->mu);
	if (in->tail)
		in->tail->next = j;
	else
		in->head = j;
	in->tail = j;
	if (j->kind == JOB_MSG && j->msg.type == WIRE_BATCH)
		in->nbatches++;
	pthread_cond_signal(&in->cond);
	pthread_mutex_unlock(&in->mu);
}

bool ingest_submit(struct ingest *in, uint64_t conn_id, const char *sensor_id, const char *serial,
		   struct wire_msg *msg)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j) {
		wire_msg_free(msg);
		in->cb.reply(in->cb.ctx, conn_id, INGEST_REPLY_CLOSE, 0, 1011, "console out of memory");
		return ingest_full(in);
	}
	j->kind = JOB_MSG;
	j->conn_id = conn_id;
	snprintf(j->sensor_id, sizeof(j->sensor_id), "%s", sensor_id);
	snprintf(j->serial, sizeof(j->serial), "%s", serial);
	j->msg = *msg;
	memset(msg, 0, sizeof(*msg));
	push(in, j);
	return ingest_full(in);
}

void ingest_submit_bye(struct ingest *in, const char *sensor_id)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j) {
		log_error("ingest: out of memory; sensor %s stays marked connected", sensor_id);
		return;
	}
	j->kind = JOB_BYE;
	snprintf(j->sensor_id, sizeof(j->sensor_id), "%s", sensor_id);
	push(in, j);
}

bool ingest_full(struct ingest *in)
{
	bool full;

	pthread_mutex_lock(&in->mu);
	full = in->nbatches >= in->queue_max;
	pthread_mutex_unlock(&in->mu);
	return full;
}

/* Sleeps ms unless stop is requested; returns false when stopping. Called with mu held. */
static bool wait_ms_locked(struct ingest *in, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!in->stop && pthread_cond_timedwait(&in->cond, &in->mu, &ts) != ETIMEDOUT)
		;
	return !in->stop;
}

/* Makes sure there is a usable, prepared connection; waits with backoff. Returns false when stopping. */
static bool ensure_db(struct ingest *in)
{
	long backoff = BACKOFF_MIN_MS;
	bool run = true;

	while (run) {
		if (in->db && PQstatus(in->db) == CONNECTION_OK)
			return true;
		if (in->db) {
			PQfinish(in->db);
			in->db = NULL;
		}
		in->db = PQconnectdb(in->db_url);
		if (in->db && PQstatus(in->db) == CONNECTION_OK) {
			int rc = ingest_apply_prepare(in->db);
			if (rc == 0) {
				log_info("ingest: connected to the database");
				return true;
			}
		} else {
			/* libpq's message names host and database, never the password. */
			char msg[256];
			size_t n;
			snprintf(msg, sizeof(msg), "%s", in->db ? PQerrorMessage(in->db) : "out of memory");
			n = strlen(msg);
			while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
				msg[--n] = '\0';
			log_warn("ingest: cannot connect to the database (retry in %ld ms): %s", backoff, msg);
		}
		if (in->db) {
			PQfinish(in->db);
			in->db = NULL;
		}
		pthread_mutex_lock(&in->mu);
		run = wait_ms_locked(in, backoff);
		pthread_mutex_unlock(&in->mu);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	return false;
}

/* Applies one job; returns -EIO/-EAGAIN when it must be retried (after a reconnect for -EIO). */
static int run_job(struct ingest *in, struct job *j)
{
	uint64_t seq = 0;
	int rc;

	if (j->kind == JOB_BYE)
		return ingest_apply_bye(in->db, j->sensor_id);
	if (j->msg.type == WIRE_HELLO) {
		rc = ingest_apply_hello(in->db, j->sensor_id, j->serial, &j->msg, &seq);
		if (rc == 0) {
			log_info("sensor %s: connected (version %s, %s mode, journal %llu..%llu, applied %llu)", j->sensor_id,
				 j->msg.u.hello.version, j->msg.u.hello.mode, (unsigned long long)j->msg.u.hello.first_seq,
				 (unsigned long long)j->msg.u.hello.last_seq, (unsigned long long)seq);
			in->cb.reply(in->cb.ctx, j->conn_id, INGEST_REPLY_WELCOME, seq, 0, NULL);
		} else if (rc == -EPERM) {
			log_warn("sensor %s: refused: revoked, unknown, or not its current certificate (serial %s)",
				 j->sensor_id, j->serial);
			in->cb.reply(in->cb.ctx, j->conn_id, INGEST_REPLY_CLOSE, 0, 4003, "sensor revoked or unknown");
		} else if (rc != -EIO && rc != -EAGAIN) {
			in->cb.reply(in->cb.ctx, j->conn_id, INGEST_REPLY_CLOSE, 0, 1011, "console database error");
		}
		return rc;
	}
	rc = ingest_apply_batch(in->db, j->sensor_id, &j->msg, &seq);
	if (rc == 0) {
		log_debug("sensor %s: batch %llu..%llu committed, ack %llu", j->sensor_id,
			  (unsigned long long)j->msg.u.batch.seq_from, (unsigned long long)j->msg.u.batch.seq_to,
			  (unsigned long long)seq);
		in->cb.reply(in->cb.ctx, j->conn_id, INGEST_REPLY_ACK, seq, 0, NULL);
	} else if (rc == -EPERM) {
		in->cb.reply(in->cb.ctx, j->conn_id, INGEST_REPLY_CLOSE, 0, 4003, "sensor revoked or unknown");
	} else if (rc == -EPROTO) {
		log_warn("sensor %s: batch %llu..%llu refused by the database; nothing of it applied", j->sensor_id,
			 (unsigned long long)j->msg.u.batch.seq_from, (unsigned long long)j->msg.u.batch.seq_to);
		in->cb.reply(in->cb.ctx, j->conn_id, INGEST_REPLY_CLOSE, 0, 4002, "batch refused by the console");
	} else if (rc != -EIO && rc != -EAGAIN) {
		in->cb.reply(in->cb.ctx, j->conn_id, INGEST_REPLY_CLOSE, 0, 1011, "console error");
	}
	return rc;
}

static void *writer_main(void *arg)
{
	struct ingest *in = arg;

	for (;;) {
		struct job *j;
		bool was_full, drained = false;
		int rc;

		pthread_mutex_lock(&in->mu);
		while (!in->stop && !in->head)
			pthread_cond_wait(&in->cond, &in->mu);
		if (in->stop) {
			pthread_mutex_unlock(&in->mu);
			break;
		}
		j = in->head;
		pthread_mutex_unlock(&in->mu);

		/* The job stays at the head of the queue until it is done, so a retry keeps the order. */
		do {
			if (!ensure_db(in))
				goto stopping;
			rc = run_job(in, j);
		} while (rc == -EIO || rc == -EAGAIN);

		pthread_mutex_lock(&in->mu);
		in->head = j->next;
		if (!in->head)
			in->tail = NULL;
		if (j->kind == JOB_MSG && j->msg.type == WIRE_BATCH) {
			was_full = in->nbatches >= in->queue_max;
			in->nbatches--;
			drained = was_full && in->nbatches < in->queue_max;
		}
		pthread_mutex_unlock(&in->mu);
		job_free(j);
		if (drained && in->cb.drained)
			in->cb.drained(in->cb.ctx);
	}
stopping:
	return NULL;
}

int ingest_start(const char *db_url, size_t queue_max, const struct ingest_callbacks *cb, struct ingest **out)
{
	struct ingest *in = calloc(1, sizeof(*in));
	int rc;

	if (!in || !(in->db_url = strdup(db_url))) {
		free(in);
		return -ENOMEM;
	}
	in->queue_max = queue_max ? queue_max : 1;
	in->cb = *cb;
	pthread_mutex_init(&in->mu, NULL);
	pthread_cond_init(&in->cond, NULL);
	rc = pthread_create(&in->thread, NULL, writer_main, in);
	if (rc) {
		pthread_mutex_destroy(&in->mu);
		pthread_cond_destroy(&in->cond);
		free(in->db_url);
		free(in);
		return -rc;
	}
	*out = in;
	return 0;
}

void ingest_stop(struct ingest *in)
{
	struct job *j, *next;

	if (!in)
		return;
	pthread_mutex_lock(&in->mu);
	in->stop = true;
	pthread_cond_broadcast(&in->cond);
	pthread_mutex_unlock(&in->mu);
	pthread_join(in->thread, NULL);
	/* Queued batches are dropped unacknowledged (sensors resend them); "disconnected" marks are still written
	 * so that a stopped console does not show its sensors as connected. */
	for (j = in->head; j; j = next) {
		next = j->next;
		if (j->kind == JOB_BYE && in->db && PQstatus(in->db) == CONNECTION_OK &&
		    ingest_apply_bye(in->db, j->sensor_id) < 0)
			log_warn("sensor %s: could not mark it disconnected", j->sensor_id);
		job_free(j);
	}
	if (in->db)
		PQfinish(in->db);
	pthread_mutex_destroy(&in->mu);
	pthread_cond_destroy(&in->cond);
	free(in->db_url);
	free(in);
}
