#include "server/ingest.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "server/ingest_apply.h"
#include "server/metrics.h"
#include "server/sensors_admin.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000

enum job_kind { JOB_MSG, JOB_BYE };

struct job {
	struct job *next;
	enum job_kind kind;
	uint64_t conn_id;
	char sensor_id[WIRE_SENSOR_ID_LEN + 1];
	char serial[64];
	char peer[64];        /* hello: the connection's address */
	bool console_stopping; /* bye: closed by this console's stop */
	int64_t received_usec; /* hello: when the gateway received it (wall clock, microseconds since the epoch) */
	size_t bytes; /* the message's size on the wire (a batch's share of the queue's byte budget) */
	struct wire_msg msg;
};

/* One writer: a thread with its own PostgreSQL connection and FIFO. A sensor's messages always go to the same
 * writer (by a hash of its id), so they are applied in the order they arrived. */
struct writer {
	struct ingest *in;
	unsigned no;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct job *head, *tail;
	size_t nbatches, qbytes; /* batches queued, and their bytes on the wire */
	bool throttled; /* reached queue_max or queue_bytes; stays so until the queue is down to half of both */
	PGconn *db;
	/* Connections whose batch was refused: their later queued batches are dropped, not applied past the gap
	 * (the gateway closes them; the sensor resends from its acked seq). Writer thread only. */
	uint64_t refused[8];
	unsigned nrefused;
};

static bool was_refused(const struct writer *w, uint64_t conn_id)
{
	for (size_t i = 0; i < sizeof(w->refused) / sizeof(w->refused[0]); i++)
		if (w->refused[i] == conn_id && conn_id)
			return true;
	return false;
}

static void mark_refused(struct writer *w, uint64_t conn_id)
{
	w->refused[w->nrefused++ % (sizeof(w->refused) / sizeof(w->refused[0]))] = conn_id;
}

struct ingest {
	struct writer *w;
	size_t nw;
	size_t group_max; /* batches per transaction */
	size_t queue_max;   /* batches queued per writer before backpressure */
	size_t queue_bytes; /* ... or bytes of them (their parsed form takes several times that) */
	atomic_bool stop;
	char *db_url;
	struct ingest_callbacks cb;
	const struct console_state *st; /* renewals: the CA (NULL: refused) */
	char node[17]; /* this process's random id: with a connection id, names a connection across the nodes */
};

/* The name of connection conn_id for sensors.conn_token. */
static void conn_token(const struct ingest *in, uint64_t conn_id, char out[40])
{
	snprintf(out, 40, "%s-%llu", in->node, (unsigned long long)conn_id);
}

static int64_t mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t real_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void job_free(struct job *j)
{
	wire_msg_free(&j->msg);
	free(j);
}

static struct writer *writer_of(struct ingest *in, const char *sensor_id)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = sensor_id; *p; p++) {
		h ^= (unsigned char)tolower((unsigned char)*p);
		h *= 0x100000001b3ull;
	}
	return &in->w[h % in->nw];
}

static void push(struct writer *w, struct job *j)
{
	pthread_mutex_lock(&w->mu);
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	if (j->kind == JOB_MSG && j->msg.type == WIRE_BATCH) {
		w->qbytes += j->bytes;
		if (++w->nbatches >= w->in->queue_max || w->qbytes >= w->in->queue_bytes)
			w->throttled = true;
		metrics_ingest_queue(w->no, w->nbatches, w->qbytes);
	}
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

bool ingest_submit(struct ingest *in, uint64_t conn_id, const char *sensor_id, const char *serial, const char *peer,
		   struct wire_msg *msg, size_t bytes)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j) {
		wire_msg_free(msg);
		in->cb.reply(in->cb.ctx, conn_id, INGEST_REPLY_CLOSE, 0, 1011, "console out of memory");
		return ingest_full(in, sensor_id);
	}
	j->kind = JOB_MSG;
	j->conn_id = conn_id;
	snprintf(j->sensor_id, sizeof(j->sensor_id), "%s", sensor_id);
	snprintf(j->serial, sizeof(j->serial), "%s", serial);
	snprintf(j->peer, sizeof(j->peer), "%s", peer ? peer : "");
	/* Orders the hellos of a sensor's connections across the nodes (a queued one may be applied late). */
	j->received_usec = real_usec();
	j->msg = *msg;
	j->bytes = bytes;
	memset(msg, 0, sizeof(*msg));
	push(writer_of(in, sensor_id), j);
	return ingest_full(in, sensor_id);
}

void ingest_submit_bye(struct ingest *in, uint64_t conn_id, const char *sensor_id, bool console_stopping)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j) {
		log_error("ingest: out of memory; sensor %s stays marked connected", sensor_id);
		return;
	}
	j->kind = JOB_BYE;
	j->conn_id = conn_id;
	j->console_stopping = console_stopping;
	snprintf(j->sensor_id, sizeof(j->sensor_id), "%s", sensor_id);
	push(writer_of(in, sensor_id), j);
}

bool ingest_full(struct ingest *in, const char *sensor_id)
{
	struct writer *w = writer_of(in, sensor_id);
	bool full;

	pthread_mutex_lock(&w->mu);
	full = w->throttled;
	pthread_mutex_unlock(&w->mu);
	return full;
}

bool ingest_writer_full(struct ingest *in, unsigned writer)
{
	bool full;

	if (writer >= in->nw)
		return false;
	pthread_mutex_lock(&in->w[writer].mu);
	full = in->w[writer].throttled;
	pthread_mutex_unlock(&in->w[writer].mu);
	return full;
}

unsigned ingest_writer_index(struct ingest *in, const char *sensor_id)
{
	return (unsigned)(writer_of(in, sensor_id) - in->w);
}

size_t ingest_queued(struct ingest *in)
{
	size_t n = 0;

	for (size_t i = 0; i < in->nw; i++) {
		pthread_mutex_lock(&in->w[i].mu);
		n += in->w[i].nbatches;
		pthread_mutex_unlock(&in->w[i].mu);
	}
	return n;
}

/* Sleeps ms unless stop is requested; returns false when stopping. Called with mu held. */
static bool wait_ms_locked(struct writer *w, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!atomic_load(&w->in->stop) && pthread_cond_timedwait(&w->cond, &w->mu, &ts) != ETIMEDOUT)
		;
	return !atomic_load(&w->in->stop);
}

/* Makes sure there is a usable, prepared connection; waits with backoff. Returns false when stopping. */
static bool ensure_db(struct writer *w)
{
	struct ingest *in = w->in;
	long backoff = BACKOFF_MIN_MS;
	bool run = true;

	while (run) {
		/* A connection left in pipeline mode or inside a transaction by a failure is not usable: start over. */
		if (w->db && PQstatus(w->db) == CONNECTION_OK && PQpipelineStatus(w->db) == PQ_PIPELINE_OFF &&
		    PQtransactionStatus(w->db) == PQTRANS_IDLE)
			return true;
		if (w->db) {
			PQfinish(w->db);
			w->db = NULL;
		}
		w->db = PQconnectdb(in->db_url);
		if (w->db && PQstatus(w->db) == CONNECTION_OK) {
			int rc = ingest_apply_prepare(w->db);
			if (rc == 0) {
				log_info("ingest: writer %u connected to the database", w->no);
				return true;
			}
		} else {
			/* libpq's message names host and database, never the password. */
			char msg[256];
			size_t n;
			snprintf(msg, sizeof(msg), "%s", w->db ? PQerrorMessage(w->db) : "out of memory");
			n = strlen(msg);
			while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
				msg[--n] = '\0';
			log_warn("ingest: writer %u cannot connect to the database (retry in %ld ms): %s", w->no, backoff, msg);
		}
		if (w->db) {
			PQfinish(w->db);
			w->db = NULL;
		}
		pthread_mutex_lock(&w->mu);
		run = wait_ms_locked(w, backoff);
		pthread_mutex_unlock(&w->mu);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	return false;
}

/* A certificate renewal: signs the CSR as the sensor's next certificate and answers with it (or the error). */
static int run_renew(struct writer *w, struct job *j)
{
	struct ingest *in = w->in;
	char err[160], *pem = NULL;
	int64_t not_after = 0;
	int rc = -EACCES;

	if (!in->st)
		snprintf(err, sizeof(err), "renewal is not available on this console");
	else
		rc = sensors_admin_renew(w->db, in->st, j->sensor_id, j->msg.u.renew.csr, &pem, &not_after, err,
					 sizeof(err));
	if (rc == -EIO && PQstatus(w->db) != CONNECTION_OK)
		return -EIO; /* retried after the reconnect */
	if (rc)
		log_warn("sensor %s: certificate renewal refused: %s", j->sensor_id, err);
	in->cb.reply(in->cb.ctx, j->conn_id, INGEST_REPLY_CERT, 0, rc ? 1 : 0, rc ? err : pem);
	free(pem);
	return 0;
}

/* Applies one job; returns -EIO/-EAGAIN when it must be retried (after a reconnect for -EIO). */
static int run_job(struct writer *w, struct job *j)
{
	struct ingest *in = w->in;
	uint64_t seq = 0;
	char token[40];
	int64_t t0;
	int rc;

	conn_token(in, j->conn_id, token);
	if (j->kind == JOB_BYE)
		return ingest_apply_bye(w->db, j->sensor_id, token, j->console_stopping);
	if (j->msg.type == WIRE_RENEW)
		return run_renew(w, j);
	if (j->msg.type == WIRE_HELLO) {
		rc = ingest_apply_hello(w->db, j->sensor_id, j->serial, &j->msg, token, j->received_usec,
					j->peer[0] ? j->peer : NULL, &seq);
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
	t0 = mono_usec();
	rc = ingest_apply_batch(w->db, j->sensor_id, &j->msg, &seq);
	if (rc == 0) {
		metrics_ingest_commit(1, j->msg.u.batch.nrecords, mono_usec() - t0);
		log_debug("sensor %s: batch %llu..%llu committed, ack %llu", j->sensor_id,
			  (unsigned long long)j->msg.u.batch.seq_from, (unsigned long long)j->msg.u.batch.seq_to,
			  (unsigned long long)seq);
		in->cb.reply(in->cb.ctx, j->conn_id, INGEST_REPLY_ACK, seq, 0, NULL);
	} else if (rc == -EPERM) {
		mark_refused(w, j->conn_id);
		in->cb.reply(in->cb.ctx, j->conn_id, INGEST_REPLY_CLOSE, 0, 4003, "sensor revoked or unknown");
	} else if (rc == -ERANGE) {
		mark_refused(w, j->conn_id);
		log_warn("sensor %s: batch %llu..%llu does not follow the seq applied; closing so that it resends",
			 j->sensor_id, (unsigned long long)j->msg.u.batch.seq_from,
			 (unsigned long long)j->msg.u.batch.seq_to);
		in->cb.reply(in->cb.ctx, j->conn_id, INGEST_REPLY_CLOSE, 0, 4002, "batch: does not follow the applied seq");
	} else if (rc == -EPROTO) {
		mark_refused(w, j->conn_id);
		log_warn("sensor %s: batch %llu..%llu refused by the database; nothing of it applied", j->sensor_id,
			 (unsigned long long)j->msg.u.batch.seq_from, (unsigned long long)j->msg.u.batch.seq_to);
		in->cb.reply(in->cb.ctx, j->conn_id, INGEST_REPLY_CLOSE, 0, 4002, "batch refused by the console");
	} else if (rc != -EIO && rc != -EAGAIN) {
		in->cb.reply(in->cb.ctx, j->conn_id, INGEST_REPLY_CLOSE, 0, 1011, "console error");
	}
	return rc;
}

static bool is_batch(const struct job *j) { return j->kind == JOB_MSG && j->msg.type == WIRE_BATCH; }

/* Applies the batches of a group in one transaction and acks them all after the commit. -EIO/-EAGAIN: retry the
 * group; -EPROTO or -EPERM from one batch: the caller applies them one by one, so only the culprit is refused. */
static int run_group(struct writer *w, struct job **group, size_t n)
{
	struct ingest *in = w->in;
	const char *ids[INGEST_GROUP_MAX];
	const struct wire_msg *msgs[INGEST_GROUP_MAX];
	uint64_t acks[INGEST_GROUP_MAX];
	size_t failed, records = 0;
	int64_t t0 = mono_usec();
	int rc;

	for (size_t i = 0; i < n; i++) {
		ids[i] = group[i]->sensor_id;
		msgs[i] = &group[i]->msg;
		records += group[i]->msg.u.batch.nrecords;
	}
	rc = ingest_apply_group(w->db, n, ids, msgs, acks, &failed);
	if (rc)
		return rc;
	metrics_ingest_commit(n, records, mono_usec() - t0);
	for (size_t i = 0; i < n; i++)
		in->cb.reply(in->cb.ctx, group[i]->conn_id, INGEST_REPLY_ACK, acks[i], 0, NULL);
	return 0;
}

/* Runs one job until it is done (retrying after reconnects); false when stopping. */
static bool run_one(struct writer *w, struct job *j)
{
	int rc;

	if (is_batch(j) && was_refused(w, j->conn_id))
		return true; /* after a refused batch of this connection: never applied past the gap */
	do {
		if (!ensure_db(w))
			return false;
		rc = run_job(w, j);
	} while (rc == -EIO || rc == -EAGAIN);
	return true;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct ingest *in = w->in;
	struct job *group[INGEST_GROUP_MAX];

	for (;;) {
		bool drained = false;
		size_t n = 0, records = 0, nb = 0;
		int rc;

		pthread_mutex_lock(&w->mu);
		while (!atomic_load(&in->stop) && !w->head)
			pthread_cond_wait(&w->cond, &w->mu);
		if (atomic_load(&in->stop)) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		/* Group commit: the batches at the head of the queue (up to group_max of them and about
		 * INGEST_GROUP_RECORDS records) share one transaction. Jobs stay queued until done, so a retry keeps
		 * the order. */
		group[n++] = w->head;
		records = is_batch(w->head) ? w->head->msg.u.batch.nrecords : 0;
		if (is_batch(w->head) && !was_refused(w, w->head->conn_id))
			for (struct job *j = w->head->next; j && n < in->group_max && is_batch(j) &&
							    !was_refused(w, j->conn_id) &&
							    records + j->msg.u.batch.nrecords <= INGEST_GROUP_RECORDS;
			     j = j->next) {
				group[n++] = j;
				records += j->msg.u.batch.nrecords;
			}
		pthread_mutex_unlock(&w->mu);

		if (n == 1) {
			if (!run_one(w, group[0]))
				goto stopping;
		} else {
			do {
				if (!ensure_db(w))
					goto stopping;
				rc = run_group(w, group, n);
			} while (rc == -EIO || rc == -EAGAIN);
			for (size_t i = 0; rc && i < n; i++) /* one batch is refused: find it, apply the others */
				if (!run_one(w, group[i]))
					goto stopping;
		}

		pthread_mutex_lock(&w->mu);
		for (size_t i = 0; i < n; i++) {
			w->head = group[i]->next;
			nb += is_batch(group[i]);
			w->qbytes -= is_batch(group[i]) ? group[i]->bytes : 0;
		}
		if (!w->head)
			w->tail = NULL;
		w->nbatches -= nb;
		metrics_ingest_queue(w->no, w->nbatches, w->qbytes);
		/* Hysteresis: reads resume at half the limit, so a full queue does not toggle every commit. */
		drained = w->throttled && w->nbatches <= in->queue_max / 2 && w->qbytes <= in->queue_bytes / 2;
		if (drained)
			w->throttled = false;
		pthread_mutex_unlock(&w->mu);
		for (size_t i = 0; i < n; i++)
			job_free(group[i]);
		if (drained && in->cb.drained)
			in->cb.drained(in->cb.ctx);
	}
stopping:
	return NULL;
}

static void writer_destroy(struct writer *w)
{
	struct job *j, *next;

	/* Queued batches are dropped unacknowledged (sensors resend them); "disconnected" marks are still written
	 * so that a stopped console does not show its sensors as connected. */
	for (j = w->head; j; j = next) {
		char token[40];
		next = j->next;
		conn_token(w->in, j->conn_id, token);
		if (j->kind == JOB_BYE && w->db && PQstatus(w->db) == CONNECTION_OK &&
		    ingest_apply_bye(w->db, j->sensor_id, token, j->console_stopping) < 0)
			log_warn("sensor %s: could not mark it disconnected", j->sensor_id);
		job_free(j);
	}
	if (w->db)
		PQfinish(w->db);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cond);
}

int ingest_start(const struct ingest_opts *o, const struct ingest_callbacks *cb, struct ingest **out)
{
	struct ingest *in = calloc(1, sizeof(*in));
	size_t nw = o->writers ? o->writers : 1, queue_max = o->queue_max;
	uint64_t node = 0;
	int rc = 0;

	if (!in || !(in->db_url = strdup(o->db_url)) || !(in->w = calloc(nw, sizeof(*in->w)))) {
		if (in)
			free(in->db_url);
		free(in);
		return -ENOMEM;
	}
	in->nw = nw;
	/* queue_max is the console's total; each writer holds its share. */
	in->queue_max = queue_max ? (queue_max + nw - 1) / nw : 1;
	in->queue_bytes = o->queue_bytes ? (o->queue_bytes + nw - 1) / nw : SIZE_MAX;
	in->cb = *cb;
	in->st = o->state;
	in->group_max = o->group_max == 0 ? 1 : o->group_max > INGEST_GROUP_MAX ? INGEST_GROUP_MAX : o->group_max;
	if (getrandom(&node, sizeof(node), 0) != (ssize_t)sizeof(node))
		node = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)mono_usec();
	snprintf(in->node, sizeof(in->node), "%016llx", (unsigned long long)node);
	atomic_init(&in->stop, false);
	metrics_ingest_writers((unsigned)nw);
	for (size_t i = 0; i < nw; i++) {
		struct writer *w = &in->w[i];
		w->in = in;
		w->no = (unsigned)i;
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cond, NULL);
	}
	for (size_t i = 0; i < nw && !rc; i++) {
		rc = pthread_create(&in->w[i].thread, NULL, writer_main, &in->w[i]);
		in->w[i].started = rc == 0;
	}
	if (rc) {
		ingest_stop(in);
		return -rc;
	}
	*out = in;
	return 0;
}

void ingest_stop(struct ingest *in)
{
	if (!in)
		return;
	atomic_store(&in->stop, true);
	for (size_t i = 0; i < in->nw; i++) {
		pthread_mutex_lock(&in->w[i].mu);
		pthread_cond_broadcast(&in->w[i].cond);
		pthread_mutex_unlock(&in->w[i].mu);
	}
	for (size_t i = 0; i < in->nw; i++) {
		if (in->w[i].started)
			pthread_join(in->w[i].thread, NULL);
		writer_destroy(&in->w[i]);
	}
	free(in->w);
	free(in->db_url);
	free(in);
}
