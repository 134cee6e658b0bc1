/* The silent-sensor watchdog: a timer on the event loop hands a check to the worker pool (never more than one at a
 * time). The check (otw_sensor_watch, sql/014_sensor_health.sql) gives every enrolled, non-revoked sensor unseen for
 * `sensor_silent_sec` one "Sensor silent" alert (operational, major, through the alert ingest) and a sensor_silent
 * system notification, and a silent sensor seen again a sensor_reconnected notification. Every console node runs
 * it: the database's guards make each transition happen once. */
#pragma once
#include <event2/event.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "server/workers.h"

struct sensor_watch;

/* Loop thread: arms the timer (every silent_sec / 4 seconds, between 1 and 30). 0 or -ENOMEM. */
int sensor_watch_start(struct event_base *base, struct workers *w, int64_t silent_sec, struct sensor_watch **out)
	__attribute__((warn_unused_result));
/* Loop thread, after workers_stop() delivered the pending job's completion: disarms and frees (NULL is fine). */
void sensor_watch_free(struct sensor_watch *sw);

/* One check on db (blocking). Returns the number of transitions (logged), or -EIO. */
int sensor_watch_check(PGconn *db, int64_t silent_sec) __attribute__((warn_unused_result));
