#include "server/workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "server/db.h"

#define WORKERS_MAX 256
#define WORKERS_RECONNECT_GAP_SEC 1

struct workers {
	struct event_base *base;
	char *db_url;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct worker_job *head, *tail;
	size_t queued, queue_max;
	bool stopping;
	unsigned n, started;
	pthread_t threads[];
};

static void job_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker_job *job = arg;

	job->done(job, job->cancelled);
}

/* Returns a usable connection or NULL; a failed attempt is retried at most once per gap so that a database
 * outage answers 503 quickly instead of every job waiting for a connect timeout. */
static PGconn *worker_conn(struct workers *w, PGconn **conn, time_t *last_try)
{
	char err[256];
	time_t now = time(NULL);

	if (*conn && PQstatus(*conn) == CONNECTION_OK)
		return *conn;
	if (*conn) {
		PQfinish(*conn);
		*conn = NULL;
	}
	if (*last_try && now - *last_try < WORKERS_RECONNECT_GAP_SEC)
		return NULL;
	*last_try = now;
	*conn = db_connect(w->db_url, err, sizeof(err));
	if (!*conn) {
		log_warn("workers: database connection failed: %s", err);
		return NULL;
	}
	*last_try = 0;
	return *conn;
}

static void *worker_main(void *arg)
{
	struct workers *w = arg;
	PGconn *conn = NULL;
	time_t last_try = 0;

	for (;;) {
		struct worker_job *job;
		PGconn *db;

		pthread_mutex_lock(&w->mu);
		while (!w->head && !w->stopping)
			pthread_cond_wait(&w->cond, &w->mu);
		if (w->stopping) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		job = w->head;
		w->head = job->next;
		if (!w->head)
			w->tail = NULL;
		w->queued--;
		pthread_mutex_unlock(&w->mu);

		db = worker_conn(w, &conn, &last_try);
		job->run(job, db);
		/* A handler that left a transaction open (a bug) must not leak it into the next job. */
		if (db && PQtransactionStatus(db) != PQTRANS_IDLE)
			db_rollback(db);
		job->cancelled = false;
		event_active(&job->ev, 0, 0);
	}
	if (conn)
		PQfinish(conn);
	return NULL;
}

int workers_start(struct event_base *base, const char *db_url, unsigned n, size_t queue_max, struct workers **out)
{
	struct workers *w;
	int rc;

	*out = NULL;
	if (n == 0 || n > WORKERS_MAX || queue_max == 0)
		return -EINVAL;
	w = calloc(1, sizeof(*w) + n * sizeof(pthread_t));
	if (!w)
		return -ENOMEM;
	w->base = base;
	w->queue_max = queue_max;
	w->n = n;
	w->db_url = strdup(db_url);
	if (!w->db_url) {
		free(w);
		return -ENOMEM;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	for (unsigned i = 0; i < n; i++) {
		rc = pthread_create(&w->threads[i], NULL, worker_main, w);
		if (rc != 0) {
			log_error("workers: cannot start thread: %s", strerror(rc));
			workers_stop(w);
			return -rc;
		}
		w->started++;
	}
	*out = w;
	return 0;
}

int workers_submit(struct workers *w, struct worker_job *job)
{
	int rc = 0;

	if (event_assign(&job->ev, w->base, -1, 0, job_done_cb, job) != 0)
		return -ENOMEM;
	job->next = NULL;
	job->cancelled = false;
	pthread_mutex_lock(&w->mu);
	if (w->stopping) {
		rc = -ESHUTDOWN;
	} else if (w->queued >= w->queue_max) {
		rc = -EAGAIN;
	} else {
		if (w->tail)
			w->tail->next = job;
		else
			w->head = job;
		w->tail = job;
		w->queued++;
		pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

void workers_stop(struct workers *w)
{
	struct worker_job *job;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	job = w->head;
	w->head = w->tail = NULL;
	w->queued = 0;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
	while (job) {
		struct worker_job *next = job->next;
		job->cancelled = true;
		event_active(&job->ev, 0, 0);
		job = next;
	}
	for (unsigned i = 0; i < w->started; i++)
		pthread_join(w->threads[i], NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mu);
	free(w->db_url);
	free(w);
}
