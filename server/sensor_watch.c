#include "server/sensor_watch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "server/db.h"

struct sensor_watch {
	struct worker_job job; /* first: the worker callbacks get &job */
	struct event *timer;
	struct workers *w;
	int64_t silent_sec;
	char since[32]; /* worker: see sensor_watch_check ("" until the database answered, and after it failed) */
	bool busy; /* loop thread: a check is queued or running */
};

int64_t sensor_watch_grace_sec(int64_t silent_sec)
{
	int64_t g = silent_sec / 5;

	return g < 1 ? 1 : g > 60 ? 60 : g;
}

int sensor_watch_check(PGconn *db, int64_t silent_sec, char *since, size_t sincelen)
{
	char sec[24], grace[24];
	const char *p[3] = { sec, grace, since };
	PGresult *res;
	int n;

	if (!since[0]) {
		if (!(res = db_exec(db, "select extract(epoch from now())::text", 0, NULL)))
			return -EIO;
		snprintf(since, sincelen, "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "");
		PQclear(res);
		if (!since[0])
			return -EIO;
	}
	snprintf(sec, sizeof(sec), "%lld", (long long)silent_sec);
	snprintf(grace, sizeof(grace), "%lld", (long long)sensor_watch_grace_sec(silent_sec));
	res = db_exec(db,
		      "select transition, sensor_id::text, sensor_name"
		      " from otw_sensor_watch($1::bigint, $2::bigint, to_timestamp($3::double precision))",
		      3, p);
	if (!res)
		return -EIO;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		const char *t = PQgetvalue(res, i, 0), *id = PQgetvalue(res, i, 1), *name = PQgetvalue(res, i, 2);
		if (strcmp(t, "silent") == 0)
			log_warn("sensor %s (%s): silent for more than %lld s; alert raised", id, name,
				 (long long)silent_sec);
		else if (strcmp(t, "disconnected") == 0)
			log_warn("sensor %s (%s): disconnected and not back after %lld s", id, name,
				 (long long)sensor_watch_grace_sec(silent_sec));
		else if (strcmp(t, "connected") == 0)
			log_info("sensor %s (%s): connected again after a disconnection", id, name);
		else
			log_info("sensor %s (%s): seen again after a silence", id, name);
	}
	PQclear(res);
	return n;
}

static void job_run(struct worker_job *job, PGconn *db)
{
	struct sensor_watch *sw = (struct sensor_watch *)job;

	/* Unreachable database: sensors cannot be heard meanwhile, so silence counts again from its return. */
	if (!db || sensor_watch_check(db, sw->silent_sec, sw->since, sizeof(sw->since)) < 0) {
		if (db)
			log_warn("sensor watch: check failed; retrying at the next tick");
		sw->since[0] = '\0';
	}
}

static void job_done(struct worker_job *job, bool cancelled)
{
	struct sensor_watch *sw = (struct sensor_watch *)job;

	(void)cancelled;
	sw->busy = false;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sensor_watch *sw = arg;

	(void)fd;
	(void)what;
	if (sw->busy)
		return;
	sw->job.run = job_run;
	sw->job.done = job_done;
	/* A full queue skips this tick: the next one tries again. */
	if (workers_submit(sw->w, &sw->job) == 0)
		sw->busy = true;
}

int sensor_watch_start(struct event_base *base, struct workers *w, int64_t silent_sec, struct sensor_watch **out)
{
	struct sensor_watch *sw = calloc(1, sizeof(*sw));
	int64_t tick = silent_sec / 4;
	struct timeval tv = { .tv_sec = (time_t)(tick < 1 ? 1 : tick > 30 ? 30 : tick), .tv_usec = 0 };

	if (!sw)
		return -ENOMEM;
	sw->w = w;
	sw->silent_sec = silent_sec;
	if (!(sw->timer = event_new(base, -1, EV_PERSIST, on_timer, sw)) || event_add(sw->timer, &tv) != 0) {
		sensor_watch_free(sw);
		return -ENOMEM;
	}
	*out = sw;
	return 0;
}

void sensor_watch_disarm(struct sensor_watch *sw)
{
	if (sw && sw->timer)
		event_del(sw->timer);
}

void sensor_watch_free(struct sensor_watch *sw)
{
	if (!sw)
		return;
	if (sw->timer)
		event_free(sw->timer);
	free(sw);
}
