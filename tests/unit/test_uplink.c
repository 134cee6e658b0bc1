#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/wire.h"
#include "sensor-agent/journal.h"
#include "sensor-agent/uplink.h"

static void test_backoff_bounds(void **state)
{
	(void)state;
	struct uplink_backoff b = { 0 };
	unsigned expect_base[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000 };
	for (size_t i = 0; i < sizeof(expect_base) / sizeof(expect_base[0]); i++) {
		struct uplink_backoff lo = b, hi = b;
		unsigned dmin = uplink_backoff_next(&lo, 0);
		unsigned dmax = uplink_backoff_next(&hi, UINT32_MAX);
		assert_int_equal(dmin, expect_base[i] / 2);
		assert_true(dmax <= expect_base[i] && dmax >= expect_base[i] / 2);
		for (uint32_t r = 1; r < 5000; r += 37) {
			struct uplink_backoff t = b;
			unsigned d = uplink_backoff_next(&t, r * 2654435761u);
			assert_true(d >= expect_base[i] / 2 && d <= expect_base[i]);
		}
		uplink_backoff_next(&b, 12345);
	}
	/* Many failures never overflow past the cap. */
	for (int i = 0; i < 1000; i++)
		assert_true(uplink_backoff_next(&b, (uint32_t)i * 7919u) <= UPLINK_BACKOFF_MAX_MS);
	uplink_backoff_reset(&b);
	assert_true(uplink_backoff_next(&b, UINT32_MAX) <= UPLINK_BACKOFF_MIN_MS);
}

static void test_window(void **state)
{
	(void)state;
	struct uplink_window w = { 0 };
	assert_false(uplink_window_full(&w));
	for (uint64_t i = 1; i <= UPLINK_WINDOW; i++)
		uplink_window_push(&w, i * 10);
	assert_true(uplink_window_full(&w));
	uplink_window_ack(&w, 15); /* acks the batch up to 10 only */
	assert_int_equal(w.n, UPLINK_WINDOW - 1);
	assert_int_equal(w.seq_to[0], 20);
	uplink_window_ack(&w, 1000);
	assert_int_equal(w.n, 0);
	assert_true(uplink_close_is_fatal(4001) && uplink_close_is_fatal(4003));
	assert_false(uplink_close_is_fatal(1000) || uplink_close_is_fatal(4002) || uplink_close_is_fatal(1009));
}

static void test_gap(void **state)
{
	(void)state;
	/* Console up to date, or behind but the journal still holds the next record: no gap. */
	assert_false(uplink_gap(100, 101, 200));
	assert_false(uplink_gap(100, 50, 200));
	assert_false(uplink_gap(0, 1, 10));
	assert_false(uplink_gap(300, 101, 200)); /* the console is ahead (it knows seqs this journal lost) */
	/* The journal dropped 101..149 before the console had them. */
	assert_true(uplink_gap(100, 150, 200));
	assert_true(uplink_gap(0, 2, 2));
	/* An empty journal (first_seq = next_seq > last_seq) has nothing to resend: no gap to report. */
	assert_false(uplink_gap(0, 51, 50));
	assert_false(uplink_gap(10, 51, 50));
	/* No wrap-around at the ends of the range. */
	assert_false(uplink_gap(UINT64_MAX, 1, 1));
	assert_false(uplink_gap(0, 1, UINT64_MAX));
	assert_true(uplink_gap(0, UINT64_MAX, UINT64_MAX));
	assert_false(uplink_gap(0, 0, 5)); /* seqs start at 1 */
}

struct fx {
	char dir[64];
	struct journal *j;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/otw-uplink-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(journal_open(f->dir, &f->j), 0);
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	journal_close(f->j);
	/* Whatever files the journal keeps (one file or segments). */
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void fill(struct journal *j, int n, size_t pad)
{
	char *s = malloc(pad + 1);
	memset(s, 'a', pad);
	s[pad] = '\0';
	for (int i = 0; i < n; i++) {
		json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "health", "at", "2026-01-01T00:00:00.000Z",
				      "event", "stats", "pad", s, "esc", "\"quoted\"\n");
		assert_int_equal(journal_append(j, r, NULL), 0);
		json_decref(r);
	}
	free(s);
	assert_int_equal(journal_sync(j), 0); /* the uplink sends only what is on disk */
}

/* Records not synced yet are not sent: after a power loss their seqs could be handed out again. */
static void test_batch_only_synced(void **state)
{
	struct fx *f = *state;
	char *t;
	size_t len;
	uint64_t to;
	fill(f->j, 3, 10);
	json_t *r = json_pack("{s:s, s:s, s:s}", "kind", "health", "at", "2026-01-01T00:00:00.000Z", "event", "stats");
	assert_int_equal(journal_append(f->j, r, NULL), 0); /* the default policy syncs it later */
	json_decref(r);
	assert_int_equal(uplink_build_batch(f->j, 1, UPLINK_BATCH_RECORDS, UPLINK_BATCH_BYTES, &t, &len, &to), 3);
	free(t);
	assert_int_equal(journal_sync(f->j), 0);
	assert_int_equal(uplink_build_batch(f->j, 1, UPLINK_BATCH_RECORDS, UPLINK_BATCH_BYTES, &t, &len, &to), 4);
	free(t);
}

/* Parses a built batch with the console's parser and checks its seqs. */
static void check_batch(const char *text, size_t len, uint64_t from, uint64_t to)
{
	struct wire_msg m;
	char err[256];
	int rc = wire_parse(text, len, &m, err, sizeof(err));
	if (rc < 0)
		fail_msg("wire_parse: %s", err);
	assert_int_equal(m.type, WIRE_BATCH);
	assert_int_equal(m.u.batch.seq_from, from);
	assert_int_equal(m.u.batch.seq_to, to);
	wire_msg_free(&m);
}

static void test_batch_cut_by_count(void **state)
{
	struct fx *f = *state;
	fill(f->j, 1200, 10);
	char *t;
	size_t len;
	uint64_t to;
	assert_int_equal(uplink_build_batch(f->j, 1, UPLINK_BATCH_RECORDS, UPLINK_BATCH_BYTES, &t, &len, &to), 500);
	assert_int_equal(to, 500);
	assert_true(len <= UPLINK_BATCH_BYTES);
	check_batch(t, len, 1, 500);
	free(t);
	assert_int_equal(uplink_build_batch(f->j, 1001, UPLINK_BATCH_RECORDS, UPLINK_BATCH_BYTES, &t, &len, &to), 200);
	check_batch(t, len, 1001, 1200);
	free(t);
	assert_int_equal(uplink_build_batch(f->j, 1201, UPLINK_BATCH_RECORDS, UPLINK_BATCH_BYTES, &t, &len, &to), 0);
	assert_null(t);
}

static void test_batch_cut_by_bytes(void **state)
{
	struct fx *f = *state;
	fill(f->j, 300, 2000); /* ~2.1 KB each: 256 KiB holds ~120 */
	char *t;
	size_t len;
	uint64_t to, from = 1;
	size_t batches = 0;
	while (from <= 300) {
		int n = uplink_build_batch(f->j, from, UPLINK_BATCH_RECORDS, UPLINK_BATCH_BYTES, &t, &len, &to);
		assert_true(n > 0 && n < 500);
		assert_true(len <= UPLINK_BATCH_BYTES);
		/* Full batches are really full: one more record would not have fit. */
		if (to < 300)
			assert_true(len + 2100 > UPLINK_BATCH_BYTES);
		check_batch(t, len, from, to);
		assert_int_equal(to - from + 1, (uint64_t)n);
		free(t);
		from = to + 1;
		batches++;
	}
	assert_int_equal(batches, 3);
	/* A tight limit cuts even when the journal's payload estimate would allow more. */
	int n = uplink_build_batch(f->j, 1, 500, 5000, &t, &len, &to);
	assert_int_equal(n, 2);
	assert_true(len <= 5000);
	free(t);
	/* A record bigger than the limit still goes, alone. */
	n = uplink_build_batch(f->j, 1, 500, 100, &t, &len, &to);
	assert_int_equal(n, 1);
	free(t);
}

static void test_renew_wanted(void **state)
{
	(void)state;
	/* A zero window (a zeroed uplink_opts, as the load generator's) never renews. */
	assert_false(uplink_renew_wanted(0, false, 1000, 0));
	assert_true(uplink_renew_wanted(30 * 86400, false, 1000, 0));
	/* One renew per connection: not while one is pending. */
	assert_false(uplink_renew_wanted(30 * 86400, true, 1000, 0));
	/* Held off after a failure until the hold ends, then asked again. */
	assert_false(uplink_renew_wanted(30 * 86400, false, 1000, 1000 + UPLINK_RENEW_RETRY_SEC));
	assert_true(uplink_renew_wanted(30 * 86400, false, 1000 + UPLINK_RENEW_RETRY_SEC, 1000 + UPLINK_RENEW_RETRY_SEC));
}

/* uplink_start refuses renewal options it cannot honour, before it connects anywhere. */
static void test_renew_opts(void **state)
{
	struct fx *f = *state;
	char key[128], crt[128];
	snprintf(key, sizeof(key), "%s/sensor.key", f->dir);
	snprintf(crt, sizeof(crt), "%s/sensor.crt", f->dir);
	struct uplink_opts o = {
		.sensor_id = "0b5e7c1a-3f7e-4c47-9a7d-1e2f3a4b5c6d",
		.url = "wss://127.0.0.1:1",
		.cert_path = crt,
		.key_path = key,
		.ca_path = "/nonexistent/ca.crt",
		.renew_before_sec = 30 * 86400,
	};
	struct uplink *u = (struct uplink *)1;
	/* No state directory to install into. */
	assert_int_equal(uplink_start(&o, f->j, &u), -EINVAL);
	assert_null(u);
	/* The pair loaded is not the one renewal installs. */
	o.state_dir = "/elsewhere";
	assert_int_equal(uplink_start(&o, f->j, &u), -EINVAL);
	/* A negative or absurd window. */
	o.state_dir = f->dir;
	o.renew_before_sec = -1;
	assert_int_equal(uplink_start(&o, f->j, &u), -EINVAL);
	o.renew_before_sec = UPLINK_RENEW_MAX_SEC + 1;
	assert_int_equal(uplink_start(&o, f->j, &u), -EINVAL);
	assert_null(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_renew_wanted),
		cmocka_unit_test_setup_teardown(test_renew_opts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_cut_by_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_only_synced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_cut_by_bytes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
