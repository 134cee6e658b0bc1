/* Vendor-id tables (sensor-agent/dissect/vendors.c): lookups at both ends and inside each table, misses, table
 * sizes, and that each generated table is strictly sorted (the binary search depends on it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sensor-agent/dissect/vendors.h"

static void test_cip(void **s)
{
	(void)s;
	assert_string_equal(vendors_cip(1), "Rockwell Automation/Allen-Bradley");
	assert_string_equal(vendors_cip(40), "WAGO");
	assert_string_equal(vendors_cip(90), "HMS Industrial Networks AB");
	assert_string_equal(vendors_cip(1251), "Siemens");
	assert_string_equal(vendors_cip(1256), "LMI Technologies");
	assert_null(vendors_cip(0));
	assert_null(vendors_cip(2));
	assert_null(vendors_cip(0xffff));
	assert_int_equal(vendors_cip_count(), 14);
}

static void test_bacnet(void **s)
{
	(void)s;
	assert_string_equal(vendors_bacnet(0), "ASHRAE");
	assert_string_equal(vendors_bacnet(5), "Johnson Controls, Inc.");
	assert_string_equal(vendors_bacnet(42), "Acuity Brands Lighting, Inc.");
	assert_string_equal(vendors_bacnet(260), "BACnet Stack at SourceForge");
	assert_string_equal(vendors_bacnet(1559), "Future Motors Ltd.");
	assert_string_equal(vendors_bacnet(73), "ABB Gebäudetechnik AG Bereich NetServ"); /* UTF-8 kept */
	assert_null(vendors_bacnet(1395)); /* a gap in the published list */
	assert_null(vendors_bacnet(1560));
	assert_null(vendors_bacnet(0xffff));
	assert_int_equal(vendors_bacnet_count(), 1556);
}

static void test_profinet(void **s)
{
	(void)s;
	assert_string_equal(vendors_profinet(0x002a), "Siemens AG");
	assert_string_equal(vendors_profinet(0x010c), "HMS Industrial Networks AB");
	assert_string_equal(vendors_profinet(0x0153), "TR-Electronic");
	assert_null(vendors_profinet(0));
	assert_null(vendors_profinet(0x015a));
	assert_int_equal(vendors_profinet_count(), 4);
}

/* Every id from 0 to 0xffff: a hit is never an empty name, and the number of hits equals the table size (so no
 * entry is unreachable, which an unsorted or duplicated table would cause). */
static void test_every_id(void **s)
{
	size_t cip = 0, bac = 0, pn = 0;
	(void)s;
	for (uint32_t id = 0; id <= 0xffff; id++) {
		const char *a = vendors_cip((uint16_t)id), *b = vendors_bacnet((uint16_t)id),
			   *c = vendors_profinet((uint16_t)id);
		if (a) {
			assert_true(strlen(a) > 0);
			cip++;
		}
		if (b) {
			assert_true(strlen(b) > 0);
			bac++;
		}
		if (c) {
			assert_true(strlen(c) > 0);
			pn++;
		}
	}
	assert_int_equal(cip, vendors_cip_count());
	assert_int_equal(bac, vendors_bacnet_count());
	assert_int_equal(pn, vendors_profinet_count());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cip),
		cmocka_unit_test(test_bacnet),
		cmocka_unit_test(test_profinet),
		cmocka_unit_test(test_every_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
