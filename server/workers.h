/* Worker pool for blocking work (libpq queries, argon2 hashing) on behalf of the libevent loop.
 *
 * N threads, each with its own PGconn (connected lazily, reconnected when the connection is bad), take jobs
 * from one bounded FIFO. A job's `run` executes on a worker; its `done` then runs on the event loop thread,
 * woken with event_active() on the event embedded in the job (needs evthread_use_pthreads() before the base is
 * created). The loop therefore never waits on SQL or hashing. */
#pragma once
#include <event2/event.h>
#include <event2/event_struct.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

struct workers;
struct worker_job;

/* db is NULL when the database cannot be reached. */
typedef void (*worker_run_fn)(struct worker_job *job, PGconn *db);
/* cancelled is true when the pool stopped before the job ran. done owns the job from here on. */
typedef void (*worker_done_fn)(struct worker_job *job, bool cancelled);

/* Embed this in the job's owning struct; the pool does not allocate or free jobs. */
struct worker_job {
	worker_run_fn run;
	worker_done_fn done;
	/* private */
	struct event ev;
	struct worker_job *next;
	bool cancelled;
};

/* Starts n threads (1..256) with a queue of queue_max jobs. db_url is copied. */
int workers_start(struct event_base *base, const char *db_url, unsigned n, size_t queue_max, struct workers **out)
	__attribute__((warn_unused_result));
/* Queues a job (job->run and job->done set). Returns 0, -EAGAIN when the queue is full, -ESHUTDOWN after
 * workers_stop began. On failure the job is not touched again by the pool. Loop thread only. */
int workers_submit(struct workers *w, struct worker_job *job) __attribute__((warn_unused_result));
/* Lets running jobs finish, cancels queued ones (their done callbacks are activated with cancelled set; run the
 * loop once afterwards to deliver them), joins the threads, closes the connections and frees w. */
void workers_stop(struct workers *w);
