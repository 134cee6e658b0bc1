/* Retention: devices that neither traffic (last_seen, packet time) nor a sensor record or an edit (updated_at,
 * console time) touched for `device_retention_days` are purged, with the devices merged into them, and so are the
 * connections and DPI events untouched for as long. A timer on the event loop hands the purge to the worker pool
 * every `retention_interval` seconds (never more than one at a time); each purge that removed something writes one
 * audit record (action device.purge). Several console nodes may run it: an advisory lock lets one at a time. */
#pragma once
#include <event2/event.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "server/workers.h"

struct retention;

/* Loop thread: arms the timer. 0 or -ENOMEM. */
int retention_start(struct event_base *base, struct workers *w, int64_t days, int64_t alert_days,
		    int64_t interval_sec, struct retention **out) __attribute__((warn_unused_result));
/* Loop thread, before workers_stop(): no further tick submits a job (NULL is fine). */
void retention_disarm(struct retention *r);
/* Loop thread, after workers_stop() delivered the pending job's completion: disarms and frees (NULL is fine). */
void retention_free(struct retention *r);

/* One purge on db (blocking, its own transaction). Returns the number of devices purged (merged ones not
 * counted), or -EIO; 0 also when another node holds the purge lock. */
int64_t retention_purge(PGconn *db, int64_t days) __attribute__((warn_unused_result));
/* Alerts: keeps the month partitions of the managed range, purges what is past alert_days (partitions whole),
 * closes alerts without occurrences for that long; audits "alert.purge" with the count. The number purged or
 * -EIO. */
int64_t retention_purge_alerts(PGconn *db, int64_t alert_days) __attribute__((warn_unused_result));
