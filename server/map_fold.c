#include "server/map_fold.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/log.h"
#include "server/api_map.h"

/* Rounds of one fold (api_map.c folds 5,000 connections a round, about 0.7 s here): 40,000 connections a tick at
 * most, so that a worker is never held for long and a shutdown never waits more than a few seconds for it. */
#define MAP_FOLD_ROUNDS 8

struct map_fold {
	struct worker_job job; /* first: the worker callbacks get &job */
	struct event *timer;
	struct workers *w;
	bool busy; /* loop thread: a fold is queued or running */
};

static void job_run(struct worker_job *job, PGconn *db)
{
	(void)job;
	if (db && api_map_fold_backlog(db, MAP_FOLD_ROUNDS) < 0)
		log_warn("map: the endpoint backlog could not be folded; retrying at the next interval");
}

static void job_done(struct worker_job *job, bool cancelled)
{
	(void)cancelled;
	((struct map_fold *)job)->busy = false;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct map_fold *f = arg;

	(void)fd;
	(void)what;
	if (f->busy)
		return;
	f->job.run = job_run;
	f->job.done = job_done;
	/* A full queue skips this round: the next tick tries again. */
	if (workers_submit(f->w, &f->job) == 0)
		f->busy = true;
}

int map_fold_start(struct event_base *base, struct workers *w, int64_t interval_sec, struct map_fold **out)
{
	struct map_fold *f = calloc(1, sizeof(*f));
	struct timeval tv = { .tv_sec = (time_t)interval_sec, .tv_usec = 0 };

	if (!f)
		return -ENOMEM;
	f->w = w;
	if (!(f->timer = event_new(base, -1, EV_PERSIST, on_timer, f)) || event_add(f->timer, &tv) != 0) {
		map_fold_free(f);
		return -ENOMEM;
	}
	*out = f;
	return 0;
}

void map_fold_disarm(struct map_fold *f)
{
	if (f && f->timer)
		event_del(f->timer);
}

void map_fold_free(struct map_fold *f)
{
	if (!f)
		return;
	if (f->timer)
		event_free(f->timer);
	free(f);
}
