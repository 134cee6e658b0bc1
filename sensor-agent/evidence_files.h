/* The evidence directory (evidence.h), internal to evidence.c: the index of its captures that keeps it within
 * its bounds, and a writer thread that does the file system work (write + rename, delete) in order, off the
 * capture thread: creating a file costs from tens to hundreds of µs, a stall a live capture cannot afford for
 * every new alert of a burst. The index lives on the caller's thread, so refs and stats do not wait for the
 * disk; the files follow within the writer's queue. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sensor-agent/evidence.h"

#define EV_QUEUE_MAX 64                     /* captures waiting for the writer */
#define EV_QUEUE_BYTES ((size_t)4 << 20)

struct ev_dir;

/* Opens dir (created 0700 when missing), indexes the captures there, oldest first by modification time (trimmed
 * to the bounds; temporary files of interrupted writes removed), and starts the writer. drop_when_busy: a save
 * finding the queue full is dropped (live capture) instead of waiting for room. NULL with err filled. */
struct ev_dir *ev_dir_open(const char *dir, unsigned max_files, uint64_t max_bytes, bool drop_when_busy, char *err,
			   size_t errlen);
/* Writes what is queued, stops the writer, frees d (NULL is fine). */
void ev_dir_close(struct ev_dir *d);
/* Waits until everything queued is written. */
void ev_dir_sync(struct ev_dir *d);

/* Names a capture of len bytes (ref: "<first_ts hex>-<counter hex>"), makes room for it in the index (the oldest
 * captures are deleted) and queues it; build(ud, out) writes its len bytes. Returns ref, or NULL when the queue
 * is full and drop_when_busy, or out of memory (counted). */
const char *ev_dir_add(struct ev_dir *d, int64_t first_ts, size_t len, void (*build)(const void *ud, uint8_t *out),
		       const void *ud, char ref[EVIDENCE_REF_LEN]);
/* Fills the directory's part of the stats: saved, save_errors, dropped, files, dir_bytes, deleted. */
void ev_dir_stats(struct ev_dir *d, struct evidence_stats *st);
