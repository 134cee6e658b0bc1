#include "server/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

const double metrics_tx_bounds[METRICS_TX_BOUNDS] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
						      0.1,   0.25,   0.5,   1,    2.5,   10 };

/* Zero-initialised statics are valid atomic objects (C11 7.17.2.1 allows the static zero initialisation). */
static atomic_uint_fast64_t http_counts[6];
static atomic_uint_fast64_t ingest_records, ingest_batches, ingest_tx;
static atomic_uint_fast64_t tx_buckets[METRICS_TX_BOUNDS + 1];
static atomic_uint_fast64_t tx_sum_usec;
static atomic_uint writers;
static atomic_uint_fast64_t queue_batches[METRICS_WRITERS_MAX], queue_bytes[METRICS_WRITERS_MAX];

static pthread_mutex_t lag_mu = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_lag *lag_snap;
static size_t lag_n;

void metrics_http_response(int status)
{
	unsigned cls = status >= 100 && status < 600 ? (unsigned)status / 100 : 0;

	atomic_fetch_add_explicit(&http_counts[cls], 1, memory_order_relaxed);
}

void metrics_ingest_commit(size_t batches, size_t records, int64_t usec)
{
	size_t b = 0;

	if (usec < 0)
		usec = 0;
	while (b < METRICS_TX_BOUNDS && (double)usec / 1e6 > metrics_tx_bounds[b])
		b++;
	atomic_fetch_add_explicit(&tx_buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&tx_sum_usec, (uint64_t)usec, memory_order_relaxed);
	atomic_fetch_add_explicit(&ingest_tx, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ingest_batches, batches, memory_order_relaxed);
	atomic_fetch_add_explicit(&ingest_records, records, memory_order_relaxed);
}

void metrics_ingest_queue(unsigned no, size_t batches, size_t bytes)
{
	if (no >= METRICS_WRITERS_MAX)
		return;
	atomic_store_explicit(&queue_batches[no], batches, memory_order_relaxed);
	atomic_store_explicit(&queue_bytes[no], bytes, memory_order_relaxed);
}

void metrics_ingest_writers(unsigned n)
{
	atomic_store(&writers, n > METRICS_WRITERS_MAX ? METRICS_WRITERS_MAX : n);
}

void metrics_lag_publish(const struct metrics_lag *lags, size_t n)
{
	struct metrics_lag *copy = NULL;

	if (n && (copy = malloc(n * sizeof(*copy))))
		memcpy(copy, lags, n * sizeof(*copy));
	pthread_mutex_lock(&lag_mu);
	free(lag_snap);
	lag_snap = copy;
	lag_n = copy ? n : 0;
	pthread_mutex_unlock(&lag_mu);
}

void metrics_snapshot(struct metrics_counters *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < 6; i++)
		c->http[i] = atomic_load_explicit(&http_counts[i], memory_order_relaxed);
	c->records = atomic_load_explicit(&ingest_records, memory_order_relaxed);
	c->batches = atomic_load_explicit(&ingest_batches, memory_order_relaxed);
	c->transactions = atomic_load_explicit(&ingest_tx, memory_order_relaxed);
	for (size_t i = 0; i < METRICS_TX_BOUNDS; i++)
		c->tx_buckets[i] = atomic_load_explicit(&tx_buckets[i], memory_order_relaxed);
	c->tx_overflow = atomic_load_explicit(&tx_buckets[METRICS_TX_BOUNDS], memory_order_relaxed);
	c->tx_sum_sec = (double)atomic_load_explicit(&tx_sum_usec, memory_order_relaxed) / 1e6;
	c->writers = atomic_load(&writers);
	for (unsigned i = 0; i < c->writers; i++) {
		c->queue_batches[i] = atomic_load_explicit(&queue_batches[i], memory_order_relaxed);
		c->queue_bytes[i] = atomic_load_explicit(&queue_bytes[i], memory_order_relaxed);
	}
	pthread_mutex_lock(&lag_mu);
	if (lag_n && (c->lags = malloc(lag_n * sizeof(*c->lags)))) {
		memcpy(c->lags, lag_snap, lag_n * sizeof(*c->lags));
		c->nlags = lag_n;
	}
	pthread_mutex_unlock(&lag_mu);
}
