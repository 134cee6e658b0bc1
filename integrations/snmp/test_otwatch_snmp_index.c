/* snmp_cache_assign_indexes: otwSensorIndex from the uuid hash, clashes in enrollment order, stability when
 * sensors are enrolled or revoked, the top of the range; snmp_text_ascii: DisplayString text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "integrations/snmp/otwatch_snmp_cache.h"

static void row(struct snmp_sensor *r, const char *uuid, uint32_t hash)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
	r->hash = hash;
}

static void test_home_slots(void **state)
{
	struct snmp_sensor rows[3];

	(void)state;
	row(&rows[0], "c", 41);
	row(&rows[1], "a", 0);
	row(&rows[2], "b", 0x80000000u);  /* 2^31 mod (2^31 - 1) = 1, home 2 */
	assert_int_equal(snmp_cache_assign_indexes(rows, 3), 0);
	assert_int_equal(rows[0].index, 42);
	assert_int_equal(rows[1].index, 1);
	assert_int_equal(rows[2].index, 2);
}

/* The earlier enrolled keeps its home value whatever the uuids; the later takes the next free one, and a
 * sensor whose home is that value moves on in turn. */
static void test_clash_earlier_keeps(void **state)
{
	struct snmp_sensor rows[3];

	(void)state;
	row(&rows[0], "f", 99);
	row(&rows[1], "e", 99);
	row(&rows[2], "x", 100);  /* home 101, taken by "e": 102 */
	assert_int_equal(snmp_cache_assign_indexes(rows, 3), 0);
	assert_int_equal(rows[0].index, 100);
	assert_int_equal(rows[1].index, 101);
	assert_int_equal(rows[2].index, 102);
}

/* Enrolling a sensor (always the latest) never moves one enrolled before it, even when it clashes with it or
 * with a sensor moved up by an earlier clash; revoking keeps the row in the assignment, so nothing moves. */
static void test_stable_on_enroll_and_revoke(void **state)
{
	struct snmp_sensor rows[4];

	(void)state;
	row(&rows[0], "z", 7);
	row(&rows[1], "a", 7);    /* clashes with "z": 9 */
	assert_int_equal(snmp_cache_assign_indexes(rows, 2), 0);
	assert_int_equal(rows[0].index, 8);
	assert_int_equal(rows[1].index, 9);
	row(&rows[2], "0", 7);    /* a lower uuid than both, enrolled later: 10 */
	row(&rows[3], "m", 8);    /* home 9, taken by the moved "a": 11 */
	assert_int_equal(snmp_cache_assign_indexes(rows, 4), 0);
	assert_int_equal(rows[0].index, 8);
	assert_int_equal(rows[1].index, 9);
	assert_int_equal(rows[2].index, 10);
	assert_int_equal(rows[3].index, 11);
	rows[0].revoked = true;   /* revoked rows stay in the input */
	assert_int_equal(snmp_cache_assign_indexes(rows, 4), 0);
	assert_int_equal(rows[1].index, 9);
	assert_int_equal(rows[2].index, 10);
	assert_int_equal(rows[3].index, 11);
}

static void test_clash_at_top_wraps(void **state)
{
	struct snmp_sensor rows[4];

	(void)state;
	row(&rows[0], "b", INT32_MAX - 1);  /* home INT32_MAX */
	row(&rows[1], "z", 0);              /* home 1 */
	row(&rows[2], "a", INT32_MAX - 1);  /* INT32_MAX taken, then 1: 2 */
	row(&rows[3], "c", UINT32_MAX);     /* 2^32 - 1 mod (2^31 - 1) = 1, home 2, taken: 3 */
	assert_int_equal(snmp_cache_assign_indexes(rows, 4), 0);
	assert_int_equal(rows[0].index, INT32_MAX);
	assert_int_equal(rows[1].index, 1);
	assert_int_equal(rows[2].index, 2);
	assert_int_equal(rows[3].index, 3);
}

/* Many rows on few home values: every index distinct (the set grows past its first size). */
static void test_many_clashes_distinct(void **state)
{
	enum { N = 600 };
	static struct snmp_sensor rows[N];

	(void)state;
	for (int i = 0; i < N; i++)
		row(&rows[i], "u", (uint32_t)INT32_MAX - 4u + (uint32_t)(i % 5)); /* the top five values */
	assert_int_equal(snmp_cache_assign_indexes(rows, N), 0);
	for (int i = 0; i < N; i++) {
		assert_true(rows[i].index >= 1);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(rows[i].index, rows[j].index);
	}
}

static void test_empty(void **state)
{
	(void)state;
	assert_int_equal(snmp_cache_assign_indexes(NULL, 0), 0);
}

static void test_text_ascii(void **state)
{
	char out[SNMP_TEXT_MAX + 1], in[600];

	(void)state;
	snmp_text_ascii("Plant A / Cell-1", out, sizeof(out));
	assert_string_equal(out, "Plant A / Cell-1");
	/* ü (2 bytes), € (3), 😀 (4), a tab, DEL, a stray continuation byte: one '?' each. */
	snmp_text_ascii("K\xc3\xbchlung \xe2\x82\xac \xf0\x9f\x98\x80\tx\x7f\x80.", out, sizeof(out));
	assert_string_equal(out, "K?hlung ? ??x??.");
	/* A long name is cut to 255 bytes, never inside a character: 254 'a' then 'é' becomes "...a?". */
	memset(in, 'a', 254);
	memcpy(in + 254, "\xc3\xa9\xc3\xa9", 5);
	snmp_text_ascii(in, out, sizeof(out));
	assert_int_equal(strlen(out), SNMP_TEXT_MAX);
	assert_int_equal(out[254], '?');
	snmp_text_ascii("abc", out, 3);
	assert_string_equal(out, "ab");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_home_slots),
		cmocka_unit_test(test_clash_earlier_keeps),
		cmocka_unit_test(test_stable_on_enroll_and_revoke),
		cmocka_unit_test(test_clash_at_top_wraps),
		cmocka_unit_test(test_many_clashes_distinct),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_text_ascii),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
