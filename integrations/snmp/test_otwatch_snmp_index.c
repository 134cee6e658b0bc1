/* snmp_cache_assign_indexes: otwSensorIndex from the uuid hash, clashes, the top of the range. */
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
	row(&rows[2], "b", 0x80000000u);  /* 2^31 mod (2^31 - 1) = 1 */
	snmp_cache_assign_indexes(rows, 3);
	/* Sorted by index; "a" (hash 0) has 1 and "b" (1 + 1 = 2) is next. */
	assert_string_equal(rows[0].uuid, "a");
	assert_int_equal(rows[0].index, 1);
	assert_string_equal(rows[1].uuid, "b");
	assert_int_equal(rows[1].index, 2);
	assert_string_equal(rows[2].uuid, "c");
	assert_int_equal(rows[2].index, 42);
}

static void test_clash_lower_uuid_keeps(void **state)
{
	struct snmp_sensor rows[3];

	(void)state;
	row(&rows[0], "f", 99);
	row(&rows[1], "e", 99);
	row(&rows[2], "x", 100);  /* home 101, taken by the pushed one: moves on */
	snmp_cache_assign_indexes(rows, 3);
	assert_string_equal(rows[0].uuid, "e");
	assert_int_equal(rows[0].index, 100);
	assert_string_equal(rows[1].uuid, "f");
	assert_int_equal(rows[1].index, 101);
	assert_string_equal(rows[2].uuid, "x");
	assert_int_equal(rows[2].index, 102);
}

static void test_clash_at_top_wraps(void **state)
{
	struct snmp_sensor rows[3];

	(void)state;
	row(&rows[0], "b", INT32_MAX - 1);  /* home INT32_MAX */
	row(&rows[1], "a", INT32_MAX - 1);
	row(&rows[2], "z", 0);              /* home 1 */
	snmp_cache_assign_indexes(rows, 3);
	assert_string_equal(rows[0].uuid, "z");
	assert_int_equal(rows[0].index, 1);
	assert_string_equal(rows[1].uuid, "b");
	assert_int_equal(rows[1].index, 2);
	assert_string_equal(rows[2].uuid, "a");
	assert_int_equal(rows[2].index, INT32_MAX);
}

static void test_empty(void **state)
{
	(void)state;
	snmp_cache_assign_indexes(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_home_slots),
		cmocka_unit_test(test_clash_lower_uuid_keeps),
		cmocka_unit_test(test_clash_at_top_wraps),
		cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
