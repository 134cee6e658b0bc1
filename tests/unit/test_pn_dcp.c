/* PROFINET DCP dissector (sensor-agent/dissect/pn_dcp.c): service/type functions, Identify response facts
 * (name of station, type of station, vendor/device id, role, IP), Set events (ip_change, name_change,
 * factory_reset), Set response errors, roles, truncation and violations. Frames (from the FrameID on) from the
 * public captures in /work/shared/pcaps (file and frame named above each) and hand-built ones from IEC 61158-6-10. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tests/unit/proto_harness.h"

/* profinet/ChangeIPUsingDCP.pcap frame 1 */
static const uint8_t ident_req[] = {
	0xfe, 0xfe, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x04, 0xff, 0xff, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* profinet/ChangeIPUsingDCP.pcap frame 2 */
static const uint8_t ident_resp[] = {
	0xfe, 0xff, 0x05, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x5e, 0x02, 0x05, 0x00, 0x1c,
	0x00, 0x00, 0x01, 0x01, 0x01, 0x02, 0x02, 0x01, 0x02, 0x02, 0x02, 0x03, 0x02, 0x04, 0x02, 0x05,
	0x03, 0x3d, 0x05, 0x01, 0x05, 0x02, 0x05, 0x03, 0x05, 0x04, 0xff, 0xff, 0x02, 0x01, 0x00, 0x05,
	0x00, 0x00, 0x49, 0x4e, 0x43, 0x00, 0x02, 0x02, 0x00, 0x0b, 0x00, 0x00, 0x58, 0x32, 0x30, 0x38,
	0x2d, 0x42, 0x4f, 0x52, 0x44, 0x00, 0x02, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x2a, 0x0a, 0x01,
	0x02, 0x04, 0x00, 0x04, 0x00, 0x00, 0x01, 0x00, 0x01, 0x02, 0x00, 0x0e, 0x00, 0x01, 0xc0, 0xa8,
	0x00, 0x06, 0xff, 0xff, 0xff, 0x00, 0xc0, 0xa8, 0x00, 0x01,
};
/* profinet/ChangeIPUsingDCP.pcap frame 3 */
static const uint8_t set_ip_req[] = {
	0xfe, 0xfd, 0x04, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x12, 0x01, 0x02, 0x00, 0x0e,
	0x00, 0x01, 0xc0, 0xa8, 0x00, 0x0a, 0xff, 0xff, 0xff, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* profinet/ChangeIPUsingDCP.pcap frame 4 */
static const uint8_t set_resp[] = {
	0xfe, 0xfd, 0x04, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x08, 0x05, 0x04, 0x00, 0x03,
	0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* profinet/PROFINET-RT.pcap frame 1 */
static const uint8_t ident_req_name[] = {
	0xfe, 0xfe, 0x05, 0x00, 0x03, 0x00, 0xbf, 0x9a, 0x00, 0x01, 0x00, 0x0c, 0x02, 0x02, 0x00, 0x07,
	0x73, 0x77, 0x69, 0x74, 0x63, 0x68, 0x33, 0x00, 0x69, 0x65, 0x6d, 0x65, 0x6e, 0x73, 0x2c, 0x20,
	0x53, 0x49, 0x4d, 0x41, 0x54, 0x49, 0x00, 0x00, 0x00, 0x00,
};
/* profinet/PROFINET.pcap frame 466 */
static const uint8_t ident_resp_versamax[] = {
	0xfe, 0xff, 0x05, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x64, 0x02, 0x02, 0x00, 0x10,
	0x00, 0x00, 0x76, 0x65, 0x72, 0x73, 0x61, 0x6d, 0x61, 0x78, 0x2d, 0x70, 0x6e, 0x73, 0x31, 0x31,
	0x02, 0x05, 0x00, 0x0e, 0x00, 0x00, 0x01, 0x02, 0x02, 0x01, 0x02, 0x02, 0x02, 0x03, 0x02, 0x04,
	0x06, 0x01, 0x02, 0x01, 0x00, 0x0d, 0x00, 0x00, 0x49, 0x43, 0x32, 0x30, 0x30, 0x50, 0x4e, 0x53,
	0x30, 0x30, 0x31, 0x00, 0x02, 0x03, 0x00, 0x06, 0x00, 0x00, 0x01, 0x5a, 0x00, 0x03, 0x02, 0x04,
	0x00, 0x04, 0x00, 0x00, 0x01, 0x00, 0x01, 0x02, 0x00, 0x0e, 0x00, 0x01, 0xc0, 0xa8, 0x01, 0x02,
	0xff, 0xff, 0xff, 0x00, 0xc0, 0xa8, 0x01, 0x02, 0x06, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,
};

static struct harness H;

static enum proto_result parse(const uint8_t *p, size_t n)
{
	return harness_parse(&H, &dissector_pn_dcp, PROTO_DIR_TO_SERVER, p, n);
}

static void reset(bool multicast)
{
	static const uint8_t mc[6] = { 0x01, 0x0e, 0xcf, 0x00, 0x00, 0x00 };
	static const uint8_t uc[6] = { 0x08, 0x00, 0x06, 0x93, 0xcf, 0x32 };
	harness_init(&H, &dissector_pn_dcp);
	H.frame.has_src_mac = H.frame.has_dst_mac = true;
	memcpy(H.frame.dst_mac, multicast ? mc : uc, 6);
	H.frame.ethertype = 0x8892;
}

static const char *event_detail(const char *name)
{
	for (size_t i = 0; i < H.n; i++)
		if (H.obs[i].o.kind == PROTO_OBS_EVENT && strcmp(H.obs[i].o.name, name) == 0)
			return H.obs[i].buf;
	return NULL;
}

static const char *function_name(long long code)
{
	for (size_t i = 0; i < H.n; i++)
		if (H.obs[i].o.kind == PROTO_OBS_FUNCTION && H.obs[i].o.num == code)
			return H.obs[i].o.name;
	return NULL;
}

static void test_identify(void **s)
{
	(void)s;
	reset(false);
	assert_int_equal(parse(ident_req, sizeof(ident_req)), PROTO_OK);
	assert_string_equal(function_name(0x0500), "identify_request");
	assert_int_equal(H.ctx.src_role, PROTO_ROLE_CLIENT);
	assert_int_equal(H.ctx.dst_role, PROTO_ROLE_SERVER); /* sent unicast in this capture */

	reset(true);
	assert_int_equal(parse(ident_req_name, sizeof(ident_req_name)), PROTO_OK);
	assert_int_equal(H.ctx.dst_role, PROTO_ROLE_NONE);
	assert_null(harness_attr(&H, PROTO_ATTR_STATION_NAME)); /* a filter, not a fact about the sender */

	reset(false);
	assert_int_equal(parse(ident_resp, sizeof(ident_resp)), PROTO_OK);
	assert_string_equal(function_name(0x0501), "identify_response");
	assert_int_equal(H.ctx.src_role, PROTO_ROLE_SERVER);
	assert_int_equal(H.ctx.dst_role, PROTO_ROLE_CLIENT);
	assert_string_equal(harness_attr(&H, PROTO_ATTR_STATION_NAME), "X208-BORD");
	assert_string_equal(harness_attr(&H, PROTO_ATTR_HOSTNAME), "X208-BORD");
	assert_string_equal(harness_attr(&H, PROTO_ATTR_MODEL), "INC");
	assert_int_equal(harness_attr_num(&H, PROTO_ATTR_VENDOR_ID), 0x002a);
	assert_string_equal(harness_attr(&H, PROTO_ATTR_VENDOR), "Siemens AG");
	assert_int_equal(harness_attr_num(&H, PROTO_ATTR_PRODUCT_CODE), 0x0a01);
	assert_string_equal(harness_attr(&H, PROTO_ATTR_DEVICE_TYPE), "io-device");
	assert_string_equal(harness_attr(&H, PROTO_ATTR_MGMT_ADDRESS), "192.168.0.6");
	for (size_t i = 0; i < H.n; i++)
		if (H.obs[i].o.kind == PROTO_OBS_ATTR)
			assert_int_equal(H.obs[i].o.target.kind, PROTO_TARGET_SRC);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, NULL), 0);

	reset(false);
	assert_int_equal(parse(ident_resp_versamax, sizeof(ident_resp_versamax)), PROTO_OK);
	assert_string_equal(harness_attr(&H, PROTO_ATTR_STATION_NAME), "versamax-pns11");
	assert_string_equal(harness_attr(&H, PROTO_ATTR_MODEL), "IC200PNS001");
	assert_int_equal(harness_attr_num(&H, PROTO_ATTR_VENDOR_ID), 0x015a);
	assert_null(harness_attr(&H, PROTO_ATTR_VENDOR)); /* not in the table: the number alone */
	assert_int_equal(harness_attr_num(&H, PROTO_ATTR_PRODUCT_CODE), 3);
	assert_string_equal(harness_attr(&H, PROTO_ATTR_MGMT_ADDRESS), "192.168.1.2");
}

static void test_set(void **s)
{
	(void)s;
	reset(false);
	assert_int_equal(parse(set_ip_req, sizeof(set_ip_req)), PROTO_OK);
	assert_string_equal(function_name(0x0400), "set_request");
	assert_string_equal(event_detail("ip_change"), "address 192.168.0.10");
	assert_int_equal(H.ctx.src_role, PROTO_ROLE_CLIENT);
	assert_int_equal(H.ctx.dst_role, PROTO_ROLE_SERVER);
	assert_null(harness_attr(&H, PROTO_ATTR_MGMT_ADDRESS)); /* the address asked for, not the sender's */

	reset(false);
	assert_int_equal(parse(set_resp, sizeof(set_resp)), PROTO_OK);
	assert_string_equal(function_name(0x0401), "set_response");
	assert_int_equal(harness_count(&H, PROTO_OBS_EVENT, NULL), 0);

	/* the same response with error 3 (suboption not set) */
	uint8_t bad[sizeof(set_resp)];
	memcpy(bad, set_resp, sizeof(bad));
	bad[18] = 0x03;
	reset(false);
	assert_int_equal(parse(bad, sizeof(bad)), PROTO_OK);
	assert_string_equal(event_detail("exception_response"), "set 1/2 error 3");

	/* Set NameOfStation "plc-1" (qualifier: permanent), then Reset to factory (5/6) */
	static const uint8_t set_name[] = { 0xfe, 0xfd, 0x04, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x14,
					    0x02, 0x02, 0x00, 0x07, 0x00, 0x01, 'p', 'l', 'c', '-', '1', 0x00,
					    0x05, 0x06, 0x00, 0x04, 0x00, 0x00, 0x00, 0x02 };
	reset(false);
	assert_int_equal(parse(set_name, sizeof(set_name)), PROTO_OK);
	assert_string_equal(event_detail("name_change"), "plc-1");
	assert_string_equal(event_detail("factory_reset"), "reset to factory");
}

static void test_hello(void **s)
{
	(void)s;
	/* Hello (FrameID 0xfefc): NameOfStation "io-1", DeviceID 0x002a/0x0301, role IO-Device + IO-Controller */
	static const uint8_t hello[] = { 0xfe, 0xfc, 0x06, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x1c,
					 0x02, 0x02, 0x00, 0x06, 0x00, 0x00, 'i', 'o', '-', '1',
					 0x02, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x2a, 0x03, 0x01,
					 0x02, 0x04, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00 };
	reset(true);
	assert_int_equal(parse(hello, sizeof(hello)), PROTO_OK);
	assert_string_equal(function_name(0x0600), "hello");
	assert_int_equal(H.ctx.src_role, PROTO_ROLE_SERVER);
	assert_int_equal(H.ctx.dst_role, PROTO_ROLE_NONE);
	assert_string_equal(harness_attr(&H, PROTO_ATTR_STATION_NAME), "io-1");
	assert_int_equal(harness_attr_num(&H, PROTO_ATTR_PRODUCT_CODE), 0x0301);
	assert_string_equal(harness_attr(&H, PROTO_ATTR_DEVICE_TYPE), "io-device,io-controller");
}

static void test_violations(void **s)
{
	uint8_t buf[64];
	(void)s;
	/* another PN-RT frame (cyclic data, FrameID 0x8000) */
	static const uint8_t rt[] = { 0x80, 0x00, 0x01, 0x02, 0x03, 0x04 };
	reset(true);
	assert_int_equal(parse(rt, sizeof(rt)), PROTO_NOT_MINE);
	/* DCPDataLength beyond the frame */
	memcpy(buf, ident_req_name, sizeof(ident_req_name));
	buf[11] = 0x40;
	reset(true);
	assert_int_equal(parse(buf, sizeof(ident_req_name)), PROTO_MALFORMED);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "truncated"), 1);
	/* an unknown ServiceID */
	memcpy(buf, ident_req_name, sizeof(ident_req_name));
	buf[2] = 0x09;
	reset(true);
	assert_int_equal(parse(buf, sizeof(ident_req_name)), PROTO_OK);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "illegal_function"), 1);
	/* a block longer than the DCP data */
	memcpy(buf, ident_resp, 32);
	buf[11] = 20;
	buf[15] = 40;
	reset(false);
	assert_int_equal(parse(buf, 32), PROTO_MALFORMED);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "truncated"), 1);
}

/* Every prefix: no crash, no read past it (ASan), never OK once the DCP data is cut; then every DCP data
 * length over the whole frame, so the block walker sees every truncation. */
static void test_prefixes(void **s)
{
	static const struct { const uint8_t *p; size_t n; } samples[] = {
		{ ident_req, sizeof(ident_req) }, { ident_resp, sizeof(ident_resp) },
		{ set_ip_req, sizeof(set_ip_req) }, { set_resp, sizeof(set_resp) },
		{ ident_req_name, sizeof(ident_req_name) }, { ident_resp_versamax, sizeof(ident_resp_versamax) },
	};
	(void)s;
	for (size_t k = 0; k < sizeof(samples) / sizeof(samples[0]); k++) {
		size_t whole = 12u + (size_t)(samples[k].p[10] << 8 | samples[k].p[11]);
		for (size_t n = 0; n <= samples[k].n; n++) {
			uint8_t *copy = malloc(n ? n : 1);
			assert_non_null(copy);
			memcpy(copy, samples[k].p, n);
			reset(false);
			enum proto_result r = parse(copy, n);
			if (n < whole)
				assert_true(r == PROTO_MALFORMED || r == PROTO_NOT_MINE);
			else
				assert_int_equal(r, PROTO_OK);
			if (n >= 12) {
				copy[10] = (uint8_t)((n - 12) >> 8);
				copy[11] = (uint8_t)(n - 12);
				reset(false);
				(void)parse(copy, n);
			}
			free(copy);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identify),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_violations),
		cmocka_unit_test(test_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
