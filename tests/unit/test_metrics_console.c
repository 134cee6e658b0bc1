/* The console's process-wide counters (server/metrics.c): histogram bucketing, status classes, queue gauges and
 * the gateway's lag snapshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "server/metrics.h"

static void counts_and_buckets(void **state)
{
	struct metrics_counters a, b;
	uint64_t sum_a = 0, sum_b = 0;

	metrics_snapshot(&a);
	metrics_ingest_writers(3);
	metrics_ingest_commit(2, 40, 500);      /* 0.5 ms: the first bucket (<= 1 ms) */
	metrics_ingest_commit(1, 7, 1000);      /* exactly 1 ms: still the first (le is inclusive) */
	metrics_ingest_commit(1, 1, 30000);     /* 30 ms: the <= 50 ms bucket */
	metrics_ingest_commit(1, 1, 60000000);  /* a minute: past the last bound */
	metrics_ingest_queue(2, 5, 4096);
	metrics_ingest_queue(99, 1, 1);         /* out of range: ignored */
	metrics_http_response(200);
	metrics_http_response(404);
	metrics_http_response(503);
	metrics_http_response(0);
	metrics_snapshot(&b);
	assert_int_equal(b.records - a.records, 49);
	assert_int_equal(b.batches - a.batches, 5);
	assert_int_equal(b.transactions - a.transactions, 4);
	assert_int_equal(b.tx_buckets[0] - a.tx_buckets[0], 2);
	assert_int_equal(b.tx_buckets[5] - a.tx_buckets[5], 1);
	assert_int_equal(b.tx_overflow - a.tx_overflow, 1);
	for (size_t i = 0; i < METRICS_TX_BOUNDS; i++) {
		sum_a += a.tx_buckets[i];
		sum_b += b.tx_buckets[i];
	}
	assert_int_equal(sum_b + b.tx_overflow - sum_a - a.tx_overflow, 4);
	assert_true(b.tx_sum_sec - a.tx_sum_sec > 60.0 && b.tx_sum_sec - a.tx_sum_sec < 60.1);
	assert_int_equal(b.writers, 3);
	assert_int_equal(b.queue_batches[2], 5);
	assert_int_equal(b.queue_bytes[2], 4096);
	assert_int_equal(b.http[2] - a.http[2], 1);
	assert_int_equal(b.http[4] - a.http[4], 1);
	assert_int_equal(b.http[5] - a.http[5], 1);
	assert_int_equal(b.http[0] - a.http[0], 1);
	free(a.lags);
	free(b.lags);
}

static void publishes_lag(void **state)
{
	struct metrics_lag l[2] = { { "a", 10, 4, 123 }, { "b", 3, 3, 0 } };
	struct metrics_counters c;

	metrics_lag_publish(l, 2);
	metrics_snapshot(&c);
	assert_int_equal(c.nlags, 2);
	assert_string_equal(c.lags[0].sensor_id, "a");
	assert_int_equal(c.lags[0].known_seq - c.lags[0].applied_seq, 6);
	free(c.lags);
	metrics_lag_publish(NULL, 0);
	metrics_snapshot(&c);
	assert_int_equal(c.nlags, 0);
	assert_null(c.lags);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counts_and_buckets),
		cmocka_unit_test(publishes_lag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
