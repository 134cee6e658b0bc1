/* The load generator's records are ones the console accepts: each kind, for plants of several sizes, goes through
 * the console's batch parser (common/wire.c plus server/wire_dpi.c) inside a real batch message. Also the latency
 * histogram's quantiles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.h"
#include "server/wire_dpi.h"
#include "tools/loadgen/lg_fleet.h"
#include "tools/loadgen/lg_hist.h"

#define NOW 1767225600000000ll /* 2026-01-01T00:00:00Z */

/* Wraps records (given seqs from 1) in a batch and parses it as the console does. */
static void accept_all(json_t *records)
{
	size_t i, n = json_array_size(records);
	json_t *r;
	char err[256];
	struct wire_msg m;

	json_array_foreach(records, i, r) {
		json_object_set_new(r, "seq", json_integer((json_int_t)i + 1));
		if (wire_check_record(r, err, sizeof(err)) < 0)
			fail_msg("record %zu: %s", i, err);
	}
	size_t len;
	char *text = wire_encode(wire_build_batch(1, n, records), &len);
	assert_non_null(text);
	if (wire_dpi_parse(text, len, &m, err, sizeof(err)) < 0)
		fail_msg("batch refused: %s", err);
	assert_int_equal(m.u.batch.nrecords, n);
	wire_msg_free(&m);
	free(text);
}

static void test_records_accepted(void **state)
{
	(void)state;
	static const unsigned sizes[] = { 1, 2, 7, 50, 1000 };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct lg_fleet f;
		json_t *recs = json_array();
		assert_int_equal(lg_fleet_init(&f, 16383, sizes[k], 7), 0);
		for (size_t i = 0; i < f.n_dev; i++)
			json_array_append_new(recs, lg_fleet_device(&f, i, NOW));
		for (unsigned i = 0; i < 2 * sizes[k] + 3; i++)
			json_array_append_new(recs, lg_fleet_next(&f, NOW));
		for (unsigned i = 0; i < 9; i++)
			json_array_append_new(recs, lg_fleet_alert(&f, NOW));
		for (size_t i = 0; i < json_array_size(recs); i++)
			assert_non_null(json_array_get(recs, i));
		assert_int_equal(json_array_size(recs), f.n_dev + 2 * sizes[k] + 3 + 9);
		accept_all(recs);
		lg_fleet_free(&f);
	}
}

static void test_plant_shape(void **state)
{
	(void)state;
	struct lg_fleet f;
	assert_int_equal(lg_fleet_init(&f, 3, 50, 1), 0);
	/* 50 devices: 15 controllers, 20 clients (HMIs, workstations, historians): 50 of the 300 pairs. */
	assert_int_equal(f.n_conn, 50);
	json_t *d = lg_fleet_device(&f, 0, NOW);
	assert_string_equal(json_string_value(json_object_get(d, "key")), "mac:00:1b:1b:00:0c:01");
	assert_string_equal(json_string_value(json_array_get(json_object_get(d, "ips"), 0)), "10.0.12.1");
	assert_string_equal(json_string_value(json_object_get(d, "type")), "plc");
	json_decref(d);
	/* Devices and connections alternate; device records go round the plant and come back (upserts). */
	int devices = 0, conns = 0;
	for (int i = 0; i < 200; i++) {
		json_t *r = lg_fleet_next(&f, NOW);
		const char *kind = json_string_value(json_object_get(r, "kind"));
		devices += strcmp(kind, "device") == 0;
		conns += strcmp(kind, "connection") == 0;
		if (i == 100)
			assert_string_equal(json_string_value(json_object_get(r, "key")), "mac:00:1b:1b:00:0c:01");
		json_decref(r);
	}
	assert_int_equal(devices, 100);
	assert_int_equal(conns, 100);
	lg_fleet_free(&f);
	assert_int_equal(lg_fleet_init(&f, LG_FLEET_MAX_SENSORS, 10, 1), -EINVAL);
	assert_int_equal(lg_fleet_init(&f, 0, LG_FLEET_MAX_DEVICES + 1, 1), -EINVAL);
	assert_int_equal(lg_fleet_init(&f, 0, 0, 1), -EINVAL);
}

static void test_hist(void **state)
{
	(void)state;
	struct lg_hist h = { 0 }, back = { 0 };
	assert_true(lg_hist_quantile_ms(&h, 0.5) < 0);
	lg_hist_add(&h, 10000, 98);    /* 10 ms */
	lg_hist_add(&h, 900000, 1);    /* 900 ms */
	lg_hist_add(&h, 5000000, 1);   /* 5 s */
	double p50 = lg_hist_quantile_ms(&h, 0.5), p99 = lg_hist_quantile_ms(&h, 0.99);
	assert_true(p50 > 9.4 && p50 < 10.7);
	assert_true(p99 > 840 && p99 < 960);
	assert_true(lg_hist_quantile_ms(&h, 1.0) > 4700);
	json_t *j = lg_hist_to_json(&h);
	assert_int_equal(lg_hist_add_json(&back, j), 0);
	json_decref(j);
	assert_memory_equal(&h, &back, sizeof(h));
	j = json_pack("[[i, i]]", LG_HIST_BUCKETS, 1);
	assert_int_equal(lg_hist_add_json(&back, j), -EINVAL);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_accepted),
		cmocka_unit_test(test_plant_shape),
		cmocka_unit_test(test_hist),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
