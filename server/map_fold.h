/* The map's endpoint backlog (sql/017_map.sql): new connections, and those whose addresses changed holders, wait
 * unresolved until folded into their stored endpoint devices; a map request resolves what is unresolved itself, so
 * answers stay exact, but it pays for the backlog. A timer on the event loop hands a bounded fold to the worker pool
 * every `map_fold_interval` seconds (never more than one at a time; several console nodes may run it: an advisory
 * lock lets one at a time, the others skip). */
#pragma once
#include <event2/event.h>
#include <stdint.h>

#include "server/workers.h"

struct map_fold;

/* Loop thread: arms the timer. 0 or -ENOMEM. */
int map_fold_start(struct event_base *base, struct workers *w, int64_t interval_sec, struct map_fold **out)
	__attribute__((warn_unused_result));
/* Loop thread, before workers_stop(): no further tick submits a job (NULL is fine). */
void map_fold_disarm(struct map_fold *f);
/* Loop thread, after workers_stop() delivered the pending job's completion: disarms and frees (NULL is fine). */
void map_fold_free(struct map_fold *f);
