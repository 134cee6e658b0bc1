/* The console's own counters for GET /metrics (server/metrics_api.c renders them with the figures read from the
 * database at scrape time). One set per process: the HTTP server, the ingest writers and the gateway count here
 * with relaxed C11 atomics (no lock on any hot path); the gateway's per-sensor apply lag is a snapshot the service
 * thread publishes every few seconds under a mutex (metrics_gw_publish). docs/monitoring.md lists the families. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_WRITERS_MAX 64 /* ingest_writers' upper bound (server/config.c) */
/* Bounds of the ingest transaction time histogram, seconds. */
#define METRICS_TX_BOUNDS 12
extern const double metrics_tx_bounds[METRICS_TX_BOUNDS];

/* Any thread: one HTTP answer with this status. */
void metrics_http_response(int status);
/* Ingest writer thread: a transaction of `batches` batches holding `records` records committed after `usec`. */
void metrics_ingest_commit(size_t batches, size_t records, int64_t usec);
/* Ingest writer thread, under its queue lock: writer `no` holds `batches` batches of `bytes` wire bytes. */
void metrics_ingest_queue(unsigned no, size_t batches, size_t bytes);
/* Ingest start: how many writers there are (only those are reported). */
void metrics_ingest_writers(unsigned n);

/* One sensor connection's apply lag as the gateway sees it: the highest seq the sensor announced (hello's
 * last_seq, a batch's seq_to) against the seq the console applied (welcome, acks), and since when it has been
 * behind (0: caught up). */
struct metrics_lag {
	char sensor_id[40];
	uint64_t known_seq, applied_seq;
	int64_t behind_since_usec; /* wall clock */
};
/* Gateway service thread: replaces the snapshot (copied; n entries, n may be 0). Connections of this node. */
void metrics_lag_publish(const struct metrics_lag *lags, size_t n);

/* A copy of everything counted (for the renderer). lags: heap array (free()), NULL when none. */
struct metrics_counters {
	uint64_t http[6]; /* [0]: other, [1..5]: 1xx..5xx */
	uint64_t records, batches, transactions;
	uint64_t tx_buckets[METRICS_TX_BOUNDS], tx_overflow;
	double tx_sum_sec;
	unsigned writers;
	uint64_t queue_batches[METRICS_WRITERS_MAX], queue_bytes[METRICS_WRITERS_MAX];
	struct metrics_lag *lags;
	size_t nlags;
};
/* Fills c (c->lags is heap, or NULL when none or out of memory). */
void metrics_snapshot(struct metrics_counters *c);
