/* Facts from system description texts (SNMP sysDescr, LLDP system description). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proto_harness.h"
#include "sensor-agent/dissect/sysdescr.h"

static const struct dissector fake = { .name = "snmp" };

static void run(struct harness *h, const char *text)
{
	harness_init(h, &fake);
	sysdescr_facts(&h->ctx, PROTO_TARGET_SRC, (const uint8_t *)text, strlen(text));
}

static void siemens_layouts(void **unused)
{
	static struct harness h;

	(void)unused;
	/* lldp/simens.pcap, an S7-1200 */
	run(&h, "Siemens, SIMATIC S7, CPU-1200, 6ES7 214-1AG40-0XB0, HW: 7, FW: V.4.2.1, S V-K2C13707");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_VENDOR), "Siemens AG");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_MODEL), "CPU-1200");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_ORDER_NUMBER), "6ES7 214-1AG40-0XB0");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_HARDWARE), "7");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_FIRMWARE), "V4.2.1");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_SERIAL), "S V-K2C13707");
	/* the same capture's HMI: "SW.V" and no serial */
	run(&h, "Siemens, SIMATIC HMI, KTP700 Basic, 6AV2 123-2GB03-0AX0, HW:0, SW.V 13.0.1");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_MODEL), "KTP700 Basic");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_FIRMWARE), "V13.0.1");
	assert_null(harness_attr(&h, PROTO_ATTR_SERIAL));
	/* the long form */
	run(&h, "Siemens, SIMATIC S7, CPU 1516-3 PN/DP, 6ES7 516-3AN01-0AB0, HW: Version 5, FW: Version V2.6.0, "
		"S C-J9U12345");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_HARDWARE), "5");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_FIRMWARE), "V2.6.0");
	/* a port description is not a model */
	run(&h, "Siemens, SIMATIC S7, Ethernet Port, X1 P1");
	assert_null(harness_attr(&h, PROTO_ATTR_MODEL));
}

static void other_vendors(void **unused)
{
	static struct harness h;

	(void)unused;
	run(&h, "Cisco IOS Software, C3560 Software (C3560-ADVIPSERVICESK9-M), Version 12.2(44)SE, RELEASE SOFTWARE "
		"(fc1)");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_VENDOR), "Cisco");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_FIRMWARE), "12.2(44)SE");
	run(&h, "Hirschmann Rail Switch Power RSP35 09.0.04");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_VENDOR), "Hirschmann");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_MODEL), "RSP35");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_FIRMWARE), "09.0.04");
	run(&h, "Linux plc 5.10.0 #1 SMP armv7l");
	assert_int_equal(h.n, 0);
	run(&h, "");
	assert_int_equal(h.n, 0);
	run(&h, ",,,,,,,,,,,,,,,,,,,,,");
	assert_int_equal(h.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(siemens_layouts),
		cmocka_unit_test(other_vendors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
