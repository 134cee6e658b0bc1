/* The silent-sensor watchdog: a timer on the event loop hands a check to the worker pool (never more than one at a
 * time). The check (otw_sensor_watch, sql/014_sensor_health.sql) gives every activated, non-revoked sensor unseen
 * for `sensor_silent_sec` one "Sensor silent: <name>" alert (operational, major, through the alert ingest) and a
 * sensor_silent system notification, and a silent sensor seen again a sensor_reconnected notification; a sensor
 * whose connection closed (not by a console's stop) and that stayed away for the grace (sensor_watch_grace_sec) a
 * sensor_disconnected notification, and a sensor_connected one when it is back. Every console node runs it: the
 * database's guards make each transition happen once. A node counts silence only from when its watchdog began to
 * reach the database (its start, or the end of a database outage): before, every sensor looks silent because none
 * could reach a console. */
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
/* Loop thread, before workers_stop(): no further tick submits a check (NULL is fine). */
void sensor_watch_disarm(struct sensor_watch *sw);

/* How long a sensor may stay disconnected before a sensor_disconnected notification: silent_sec / 5, 1..60 s
 * (longer than a sensor's quick restart; its reconnection backoff stays under 30 s plus jitter). */
int64_t sensor_watch_grace_sec(int64_t silent_sec);

/* One check on db (blocking). `since`: the database's time (epoch seconds, text) from which this node counts
 * silence; "" is "now": it is fetched into since (sincelen bytes) and the check runs from it. Returns the number of
 * transitions (logged), or -EIO. */
int sensor_watch_check(PGconn *db, int64_t silent_sec, char *since, size_t sincelen)
	__attribute__((warn_unused_result));
