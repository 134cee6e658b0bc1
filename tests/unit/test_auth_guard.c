/* server/auth_guard.c: the per-source login throttle, the lockout backoff and the CSRF token compare. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "server/auth_guard.h"

static void throttle_counts_per_source(void **state)
{
	struct auth_throttle *t = auth_throttle_new(0);
	int64_t now = 1000;

	assert_non_null(t);
	for (int i = 0; i < AUTH_GUARD_LIMIT; i++) {
		assert_int_equal(auth_throttle_check(t, "127.0.0.1", now), 0);
		auth_throttle_fail(t, "127.0.0.1", now);
	}
	/* the LIMIT-th failure inside the window blocks the source, and only that source */
	assert_int_equal(auth_throttle_check(t, "127.0.0.1", now), AUTH_GUARD_WINDOW_SEC);
	assert_int_equal(auth_throttle_check(t, "127.0.0.1", now + 10), AUTH_GUARD_WINDOW_SEC - 10);
	assert_int_equal(auth_throttle_check(t, "127.0.0.2", now), 0);
	/* the window slides: once the oldest failure is a window old, one more attempt is allowed */
	assert_int_equal(auth_throttle_check(t, "127.0.0.1", now + AUTH_GUARD_WINDOW_SEC), 0);
	auth_throttle_fail(t, "127.0.0.1", now + AUTH_GUARD_WINDOW_SEC);
	assert_int_equal(auth_throttle_check(t, "127.0.0.1", now + AUTH_GUARD_WINDOW_SEC), 0);
	/* ten failures within one window again: blocked until the oldest of them is a window old */
	for (int i = 1; i < AUTH_GUARD_LIMIT; i++)
		auth_throttle_fail(t, "127.0.0.1", now + AUTH_GUARD_WINDOW_SEC + i);
	assert_int_equal(auth_throttle_check(t, "127.0.0.1", now + AUTH_GUARD_WINDOW_SEC + 9), AUTH_GUARD_WINDOW_SEC - 9);
	auth_throttle_free(t);
}

static void throttle_sliding_window(void **state)
{
	struct auth_throttle *t = auth_throttle_new(0);

	/* failures spread wider than the window never block */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(auth_throttle_check(t, "10.0.0.1", 1000 + i * 7), 0);
		auth_throttle_fail(t, "10.0.0.1", 1000 + i * 7);
	}
	auth_throttle_free(t);
}

static void throttle_is_bounded(void **state)
{
	struct auth_throttle *t = auth_throttle_new(4);
	char addr[32];

	for (int i = 0; i < AUTH_GUARD_LIMIT; i++)
		auth_throttle_fail(t, "a", 100);
	assert_true(auth_throttle_check(t, "a", 100) > 0);
	/* four other sources fail later: "a" (the oldest) is evicted, the table never grows */
	for (int s = 0; s < 4; s++) {
		snprintf(addr, sizeof(addr), "10.0.0.%d", s);
		auth_throttle_fail(t, addr, 200 + s);
	}
	assert_int_equal(auth_throttle_check(t, "a", 100), 0);
	assert_int_equal(auth_throttle_check(t, "10.0.0.3", 203), 0);
	auth_throttle_free(t);
}

static void lock_backoff(void **state)
{
	assert_int_equal(auth_lock_backoff_sec(0), 0);
	assert_int_equal(auth_lock_backoff_sec(4), 0);
	assert_int_equal(auth_lock_backoff_sec(5), 1);
	assert_int_equal(auth_lock_backoff_sec(6), 2);
	assert_int_equal(auth_lock_backoff_sec(10), 32);
	assert_int_equal(auth_lock_backoff_sec(14), 512);
	assert_int_equal(auth_lock_backoff_sec(15), AUTH_LOCK_MAX_SEC);
	assert_int_equal(auth_lock_backoff_sec(1000), AUTH_LOCK_MAX_SEC);
	assert_int_equal(auth_lock_backoff_sec(INT64_MAX), AUTH_LOCK_MAX_SEC);
}

static void csrf_compare(void **state)
{
	assert_true(auth_token_equal("abc", "abc"));
	assert_false(auth_token_equal("abc", "abd"));
	assert_false(auth_token_equal("abc", "abcd"));
	assert_false(auth_token_equal("", ""));
	assert_false(auth_token_equal(NULL, "abc"));
	assert_false(auth_token_equal("abc", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(throttle_counts_per_source),
		cmocka_unit_test(throttle_sliding_window),
		cmocka_unit_test(throttle_is_bounded),
		cmocka_unit_test(lock_backoff),
		cmocka_unit_test(csrf_compare),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
