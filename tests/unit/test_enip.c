/* EtherNet/IP + CIP dissector (sensor-agent/dissect/enip.c): encapsulation framing, commands, ListIdentity and
 * Identity Get_Attributes_All facts, CIP services (Multiple_Service_Packet, Unconnected_Send, Forward_Open, Logix
 * tag services), events (plc_stop, cold/factory reset, firmware_update, ip_change, name_change,
 * exception_response), implicit I/O on UDP 2222, truncation and violations. PDUs from the public captures in
 * /work/shared/pcaps (file and frame named above each) and hand-built ones from the ODVA specification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tests/unit/proto_harness.h"

/* enip/EIP-IPAddressChangeAttempt.pcap frame 3985 */
static const uint8_t li_req[] = {
	0x63, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* enip/EIP-IPAddressChangeAttempt.pcap frame 3986 */
static const uint8_t li_resp[] = {
	0x63, 0x00, 0x33, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0c, 0x00, 0x2d, 0x00, 0x01, 0x00,
	0x00, 0x02, 0xaf, 0x12, 0xc0, 0xa8, 0x0a, 0x78, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x0c, 0x00, 0x3a, 0x00, 0x04, 0x07, 0x30, 0x00, 0xc3, 0xae, 0x51, 0x00, 0x0b, 0x31,
	0x37, 0x35, 0x36, 0x2d, 0x45, 0x4e, 0x42, 0x54, 0x2f, 0x41, 0x03,
};
/* enip/cip_stop_plc.pcap frame 1 */
static const uint8_t stop_req[] = {
	0x70, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00,
	0xa1, 0x00, 0x04, 0x00, 0x22, 0x40, 0x95, 0xff, 0xb1, 0x00, 0x08, 0x00, 0x06, 0x01, 0x07, 0x02,
	0x20, 0x8e, 0x24, 0x01,
};
/* enip/EIP-FirmwareChange.pcap frame 26 */
static const uint8_t fw_begin_req[] = {
	0x6f, 0x00, 0x26, 0x00, 0x00, 0x01, 0x02, 0x12, 0x00, 0x00, 0x00, 0x00, 0x07, 0x02, 0x00, 0x00,
	0x48, 0x9a, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8b, 0x00, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xb2, 0x00, 0x16, 0x00, 0x51, 0x02, 0x20, 0xa1, 0x24, 0x01, 0x16, 0xff,
	0x1b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0xc3, 0xae, 0x51, 0x00,
};
/* enip/EIP-FirmwareChange.pcap frame 10592 */
static const uint8_t reset_req[] = {
	0x6f, 0x00, 0x17, 0x00, 0x00, 0x01, 0x02, 0x12, 0x00, 0x00, 0x00, 0x00, 0x7e, 0x3f, 0x00, 0x00,
	0x48, 0x9a, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xb2, 0x00, 0x07, 0x00, 0x05, 0x02, 0x20, 0x01, 0x24, 0x01, 0x00,
};
/* enip/EIP-FirmwareChange.pcap frame 10682 */
static const uint8_t gaa_req[] = {
	0x6f, 0x00, 0x16, 0x00, 0x00, 0x01, 0x02, 0x12, 0x00, 0x00, 0x00, 0x00, 0x8d, 0x3f, 0x00, 0x00,
	0x48, 0x9a, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xb2, 0x00, 0x06, 0x00, 0x01, 0x02, 0x20, 0x01, 0x24, 0x01,
};
/* enip/EIP-FirmwareChange.pcap frame 10683 */
static const uint8_t gaa_resp[] = {
	0x6f, 0x00, 0x2e, 0x00, 0x00, 0x01, 0x02, 0x12, 0x00, 0x00, 0x00, 0x00, 0x8d, 0x3f, 0x00, 0x00,
	0x48, 0x9a, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xb2, 0x00, 0x1e, 0x00, 0x81, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0c, 0x00,
	0x3a, 0x00, 0x04, 0x03, 0x30, 0x00, 0xc3, 0xae, 0x51, 0x00, 0x0b, 0x31, 0x37, 0x35, 0x36, 0x2d,
	0x45, 0x4e, 0x42, 0x54, 0x2f, 0x41,
};
/* enip/EIP-IPAddressChangeAttempt.pcap frame 2 */
static const uint8_t ucs_req[] = {
	0x6f, 0x00, 0x24, 0x00, 0x00, 0x01, 0x02, 0x11, 0x00, 0x00, 0x00, 0x00, 0x04, 0x81, 0x30, 0x00,
	0x18, 0xa7, 0xe1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xb2, 0x00, 0x14, 0x00, 0x52, 0x02, 0x20, 0x06, 0x24, 0x01, 0x06, 0x9a,
	0x06, 0x00, 0x01, 0x02, 0x20, 0x01, 0x24, 0x01, 0x01, 0x00, 0x01, 0x00,
};
/* enip/EIP-IPAddressChangeAttempt.pcap frame 4 */
static const uint8_t ucs_resp[] = {
	0x6f, 0x00, 0x37, 0x00, 0x00, 0x01, 0x02, 0x11, 0x00, 0x00, 0x00, 0x00, 0x04, 0x81, 0x30, 0x00,
	0x18, 0xa7, 0xe1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xb2, 0x00, 0x27, 0x00, 0x81, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0e, 0x00,
	0x36, 0x00, 0x10, 0x14, 0x60, 0x30, 0x3f, 0x82, 0x51, 0x00, 0x14, 0x31, 0x37, 0x35, 0x36, 0x2d,
	0x4c, 0x36, 0x31, 0x2f, 0x42, 0x20, 0x4c, 0x4f, 0x47, 0x49, 0x58, 0x35, 0x35, 0x36, 0x31,
};
/* enip/EIP-IPAddressChangeAttempt.pcap frame 8 */
static const uint8_t err_resp[] = {
	0x6f, 0x00, 0x14, 0x00, 0x00, 0x01, 0x02, 0x11, 0x00, 0x00, 0x00, 0x00, 0x06, 0x81, 0x30, 0x00,
	0x18, 0xa7, 0xe1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xb2, 0x00, 0x04, 0x00, 0x8e, 0x00, 0x05, 0x00,
};
/* enip/EthernetIP-CIP.pcap frame 1 */
static const uint8_t msp_req[] = {
	0x70, 0x00, 0x3a, 0x00, 0x00, 0x01, 0x02, 0x10, 0x00, 0x00, 0x00, 0x00, 0x1a, 0x39, 0x2f, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x02, 0x00,
	0xa1, 0x00, 0x04, 0x00, 0x09, 0x13, 0x35, 0x00, 0xb1, 0x00, 0x26, 0x00, 0xe4, 0x6a, 0x0a, 0x02,
	0x20, 0x02, 0x24, 0x01, 0x02, 0x00, 0x06, 0x00, 0x12, 0x00, 0x4c, 0x02, 0x20, 0x72, 0x24, 0x00,
	0x00, 0xce, 0x04, 0x00, 0x01, 0x00, 0x4c, 0x02, 0x20, 0x72, 0x24, 0x00, 0x2c, 0x3d, 0x04, 0x00,
	0x01, 0x00,
};
/* enip/ControlLogix_FactoryTalk_HMI.pcap frame 106 */
static const uint8_t fwdopen_req[] = {
	0x6f, 0x00, 0x40, 0x00, 0x00, 0x01, 0x02, 0x12, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xb2, 0x00, 0x30, 0x00, 0x54, 0x02, 0x20, 0x06, 0x24, 0x01, 0x06, 0x9b,
	0x00, 0x00, 0x00, 0x00, 0x4b, 0x05, 0x00, 0x80, 0x4b, 0x05, 0x4d, 0x00, 0x45, 0x61, 0xfa, 0x11,
	0x02, 0x00, 0x00, 0x00, 0x80, 0x84, 0x1e, 0x00, 0xf8, 0x43, 0x80, 0x84, 0x1e, 0x00, 0xf8, 0x43,
	0xa3, 0x03, 0x01, 0x00, 0x20, 0x02, 0x24, 0x01,
};

static struct harness H;

static enum proto_result parse(int dir, const uint8_t *p, size_t n)
{
	return harness_parse(&H, &dissector_enip, dir, p, n);
}

static void setup_tcp(void)
{
	harness_init(&H, &dissector_enip);
	H.frame.transport = DISSECT_T_TCP;
	H.frame.src_port = 50000;
	H.frame.dst_port = 44818;
}

static void setup_udp(uint16_t sport, uint16_t dport)
{
	harness_init(&H, &dissector_enip);
	H.frame.transport = DISSECT_T_UDP;
	H.frame.src_port = sport;
	H.frame.dst_port = dport;
}

static const struct harness_obs *find_event(const char *name)
{
	for (size_t i = 0; i < H.n; i++)
		if (H.obs[i].o.kind == PROTO_OBS_EVENT && strcmp(H.obs[i].o.name, name) == 0)
			return &H.obs[i];
	return NULL;
}

static const char *function_name(long long code)
{
	for (size_t i = 0; i < H.n; i++)
		if (H.obs[i].o.kind == PROTO_OBS_FUNCTION && H.obs[i].o.num == code)
			return H.obs[i].o.name;
	return NULL;
}

static void test_pdu_len(void **s)
{
	(void)s;
	assert_int_equal(dissector_enip.pdu_len(li_resp, 1), 0);
	assert_int_equal(dissector_enip.pdu_len(li_resp, 3), 0);
	assert_int_equal(dissector_enip.pdu_len(li_resp, 4), (long)sizeof(li_resp));
	assert_int_equal(dissector_enip.pdu_len(li_resp, sizeof(li_resp)), (long)sizeof(li_resp));
	assert_int_equal(dissector_enip.pdu_len(msp_req, 10), (long)sizeof(msp_req));
	/* a length beyond max_pdu is returned as is: the framework rejects it */
	static const uint8_t big[] = { 0x6f, 0x00, 0xff, 0xff };
	assert_true(dissector_enip.pdu_len(big, sizeof(big)) > (long)dissector_enip.max_pdu);
	/* garbage: not an encapsulation command */
	static const uint8_t junk[] = { 0x47, 0x45, 0x54, 0x20 };
	assert_true(dissector_enip.pdu_len(junk, sizeof(junk)) < 0);
	assert_true(dissector_enip.pdu_len(junk, 2) < 0);
	assert_int_equal(dissector_enip.max_pdu, 24 + 8192);
}

static void test_list_identity(void **s)
{
	(void)s;
	setup_udp(44818, 44818);
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, li_req, sizeof(li_req)), PROTO_OK);
	assert_true(harness_has_function(&H, 0x10000063));
	assert_string_equal(function_name(0x10000063), "list_identity");
	assert_int_equal(H.ctx.src_role, PROTO_ROLE_CLIENT);
	assert_int_equal(H.ctx.dst_role, PROTO_ROLE_NONE);

	setup_udp(44818, 44818);
	assert_int_equal(parse(PROTO_DIR_TO_CLIENT, li_resp, sizeof(li_resp)), PROTO_OK);
	assert_false(harness_has_function(&H, 0x10000063)); /* reported on the request only */
	assert_int_equal(H.ctx.src_role, PROTO_ROLE_SERVER);
	assert_int_equal(H.ctx.dst_role, PROTO_ROLE_CLIENT);
	assert_int_equal(harness_attr_num(&H, PROTO_ATTR_VENDOR_ID), 1);
	assert_string_equal(harness_attr(&H, PROTO_ATTR_VENDOR), "Rockwell Automation/Allen-Bradley");
	assert_string_equal(harness_attr(&H, PROTO_ATTR_DEVICE_TYPE), "Communications Adapter");
	assert_int_equal(harness_attr_num(&H, PROTO_ATTR_PRODUCT_CODE), 58);
	assert_string_equal(harness_attr(&H, PROTO_ATTR_FIRMWARE), "4.7");
	assert_string_equal(harness_attr(&H, PROTO_ATTR_SERIAL), "0051AEC3");
	assert_string_equal(harness_attr(&H, PROTO_ATTR_MODEL), "1756-ENBT/A");
	for (size_t i = 0; i < H.n; i++)
		if (H.obs[i].o.kind == PROTO_OBS_ATTR)
			assert_int_equal(H.obs[i].o.target.kind, PROTO_TARGET_SRC);
}

static void test_stop(void **s)
{
	(void)s;
	setup_tcp();
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, stop_req, sizeof(stop_req)), PROTO_OK);
	assert_string_equal(function_name(0x10000070), "send_unit_data");
	assert_string_equal(function_name(0x8e07), "stop");
	assert_int_equal(harness_count(&H, PROTO_OBS_EVENT, "plc_stop"), 1);
	assert_string_equal(find_event("plc_stop")->buf, "class 0x8E instance 1");
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, NULL), 0);

	/* the same request with Start (0x06) */
	uint8_t start[sizeof(stop_req)];
	memcpy(start, stop_req, sizeof(start));
	start[46] = 0x06;
	setup_tcp();
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, start, sizeof(start)), PROTO_OK);
	assert_string_equal(function_name(0x8e06), "start");
	assert_int_equal(harness_count(&H, PROTO_OBS_EVENT, "plc_start"), 1);
}

static void test_firmware_and_reset(void **s)
{
	(void)s;
	setup_tcp();
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, fw_begin_req, sizeof(fw_begin_req)), PROTO_OK);
	assert_string_equal(function_name(0xa151), "firmware_object_service");
	assert_int_equal(harness_count(&H, PROTO_OBS_EVENT, "firmware_update"), 1);
	/* once per flow */
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, fw_begin_req, sizeof(fw_begin_req)), PROTO_OK);
	assert_int_equal(harness_count(&H, PROTO_OBS_EVENT, "firmware_update"), 1);

	assert_int_equal(parse(PROTO_DIR_TO_SERVER, reset_req, sizeof(reset_req)), PROTO_OK);
	assert_string_equal(function_name(0x0105), "reset");
	assert_int_equal(harness_count(&H, PROTO_OBS_EVENT, "cold_restart"), 1);

	/* reset type 1: back to the out-of-box configuration */
	uint8_t factory[sizeof(reset_req)];
	memcpy(factory, reset_req, sizeof(factory));
	factory[sizeof(factory) - 1] = 1;
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, factory, sizeof(factory)), PROTO_OK);
	assert_int_equal(harness_count(&H, PROTO_OBS_EVENT, "factory_reset"), 1);
	assert_string_equal(find_event("factory_reset")->buf, "identity reset type 1");
}

static void test_identity_get_attributes_all(void **s)
{
	(void)s;
	setup_tcp();
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, gaa_req, sizeof(gaa_req)), PROTO_OK);
	assert_string_equal(function_name(0x0101), "get_attributes_all");
	assert_int_equal(harness_attr_num(&H, PROTO_ATTR_VENDOR_ID), -1);
	assert_int_equal(parse(PROTO_DIR_TO_CLIENT, gaa_resp, sizeof(gaa_resp)), PROTO_OK);
	assert_int_equal(harness_attr_num(&H, PROTO_ATTR_VENDOR_ID), 1);
	assert_string_equal(harness_attr(&H, PROTO_ATTR_FIRMWARE), "4.3");
	assert_string_equal(harness_attr(&H, PROTO_ATTR_SERIAL), "0051AEC3");
	assert_string_equal(harness_attr(&H, PROTO_ATTR_MODEL), "1756-ENBT/A");

	/* the same reply without its request says nothing */
	setup_tcp();
	assert_int_equal(parse(PROTO_DIR_TO_CLIENT, gaa_resp, sizeof(gaa_resp)), PROTO_OK);
	assert_int_equal(harness_attr_num(&H, PROTO_ATTR_VENDOR_ID), -1);
}

static void test_unconnected_send_routed(void **s)
{
	(void)s;
	setup_tcp();
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, ucs_req, sizeof(ucs_req)), PROTO_OK);
	assert_string_equal(function_name(0x0652), "unconnected_send");
	assert_string_equal(function_name(0x0101), "get_attributes_all"); /* the embedded request */
	assert_int_equal(parse(PROTO_DIR_TO_CLIENT, ucs_resp, sizeof(ucs_resp)), PROTO_OK);
	/* the reply describes the module the request was routed to (a 1756-L61), not this endpoint */
	assert_int_equal(harness_attr_num(&H, PROTO_ATTR_VENDOR_ID), -1);
	assert_null(harness_attr(&H, PROTO_ATTR_MODEL));
}

static void test_error_reply(void **s)
{
	(void)s;
	setup_tcp();
	assert_int_equal(parse(PROTO_DIR_TO_CLIENT, err_resp, sizeof(err_resp)), PROTO_OK);
	assert_int_equal(harness_count(&H, PROTO_OBS_EVENT, "exception_response"), 1);
	assert_string_equal(find_event("exception_response")->buf, "cip service 0x0E general status 0x05");
	assert_int_equal(H.n, 1); /* no function on a reply */
}

static void test_multiple_service_packet(void **s)
{
	(void)s;
	setup_tcp();
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, msp_req, sizeof(msp_req)), PROTO_OK);
	assert_string_equal(function_name(0x020a), "multiple_service_packet");
	assert_string_equal(function_name(0x724c), "read_tag");
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, NULL), 0);

	/* an offset pointing outside the packet */
	uint8_t bad[sizeof(msp_req)];
	memcpy(bad, msp_req, sizeof(bad));
	bad[56] = 0xf0;
	setup_tcp();
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, bad, sizeof(bad)), PROTO_OK);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "bad_length"), 1);
}

static void test_forward_open(void **s)
{
	(void)s;
	setup_tcp();
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, fwdopen_req, sizeof(fwdopen_req)), PROTO_OK);
	assert_string_equal(function_name(0x1000006f), "send_rr_data");
	assert_string_equal(function_name(0x0654), "forward_open");
}

/* SendRRData carrying one unconnected CIP request (hand-built: ODVA Vol. 2 2-4.7, Vol. 1 A-4). */
static size_t build_rr(uint8_t *out, const uint8_t *cip, size_t n)
{
	static const uint8_t hdr[] = {
		0x6f, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0,
		0, 0, 0, 0, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb2, 0x00, 0x00, 0x00,
	};
	memcpy(out, hdr, sizeof(hdr));
	memcpy(out + sizeof(hdr), cip, n);
	out[2] = (uint8_t)(sizeof(hdr) - 24 + n);
	out[38] = (uint8_t)n;
	return sizeof(hdr) + n;
}

static void test_tcpip_object(void **s)
{
	uint8_t buf[128];
	size_t n;
	(void)s;
	/* Set_Attribute_Single TCP/IP Interface instance 1 attribute 5: 192.168.1.50/24 gw 192.168.1.1 */
	static const uint8_t set_ip[] = { 0x10, 0x03, 0x20, 0xf5, 0x24, 0x01, 0x30, 0x05, 0x32, 0x01, 0xa8, 0xc0,
					  0x00, 0xff, 0xff, 0xff, 0x01, 0x01, 0xa8, 0xc0 };
	setup_tcp();
	n = build_rr(buf, set_ip, sizeof(set_ip));
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, buf, n), PROTO_OK);
	assert_string_equal(function_name(0xf510), "set_attribute_single");
	assert_string_equal(find_event("ip_change")->buf, "tcp/ip interface address 192.168.1.50");

	/* attribute 3, configuration control (static / BOOTP / DHCP) */
	static const uint8_t set_cfg[] = { 0x10, 0x03, 0x20, 0xf5, 0x24, 0x01, 0x30, 0x03, 0x02, 0x00, 0x00, 0x00 };
	setup_tcp();
	n = build_rr(buf, set_cfg, sizeof(set_cfg));
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, buf, n), PROTO_OK);
	assert_string_equal(find_event("ip_change")->buf, "tcp/ip interface attribute 3");

	/* attribute 6, host name */
	static const uint8_t set_name[] = { 0x10, 0x03, 0x20, 0xf5, 0x24, 0x01, 0x30, 0x06, 0x03, 0x00, 'p', 'l',
					    'c', 0x00 };
	setup_tcp();
	n = build_rr(buf, set_name, sizeof(set_name));
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, buf, n), PROTO_OK);
	assert_int_equal(harness_count(&H, PROTO_OBS_EVENT, "name_change"), 1);
	assert_int_equal(harness_count(&H, PROTO_OBS_EVENT, "ip_change"), 0);

	/* a Get on the same object changes nothing */
	static const uint8_t get_ip[] = { 0x0e, 0x03, 0x20, 0xf5, 0x24, 0x01, 0x30, 0x05 };
	setup_tcp();
	n = build_rr(buf, get_ip, sizeof(get_ip));
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, buf, n), PROTO_OK);
	assert_int_equal(harness_count(&H, PROTO_OBS_EVENT, NULL), 0);

	/* a reserved service code */
	static const uint8_t reserved[] = { 0x70, 0x01, 0x20, 0x01 };
	setup_tcp();
	n = build_rr(buf, reserved, sizeof(reserved));
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, buf, n), PROTO_OK);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "illegal_function"), 1);
}

static void test_encapsulation_errors(void **s)
{
	uint8_t buf[64];
	(void)s;
	/* RegisterSession reply with status 0x69 (unsupported protocol version) */
	static const uint8_t reg[] = { 0x65, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0x69, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8,
				       0, 0, 0, 0, 0x01, 0x00, 0x00, 0x00 };
	setup_tcp();
	assert_int_equal(parse(PROTO_DIR_TO_CLIENT, reg, sizeof(reg)), PROTO_OK);
	assert_int_equal(harness_count(&H, PROTO_OBS_EVENT, "exception_response"), 1);

	/* an unknown command, length consistent */
	memcpy(buf, li_req, sizeof(li_req));
	buf[0] = 0x55;
	setup_tcp();
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, buf, sizeof(li_req)), PROTO_OK);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "illegal_function"), 1);

	/* the header's length disagrees with the datagram */
	memcpy(buf, li_req, sizeof(li_req));
	buf[24] = 0xaa;
	setup_udp(44818, 44818);
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, buf, sizeof(li_req) + 1), PROTO_MALFORMED);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "bad_length"), 1);

	/* not EtherNet/IP at all */
	static const uint8_t junk[] = "GET / HTTP/1.0\r\n\r\nxxxxxxxxxxxxxxx";
	setup_udp(1234, 44818);
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, junk, sizeof(junk) - 1), PROTO_NOT_MINE);
}

static void test_implicit_io(void **s)
{
	(void)s;
	/* CPF: sequenced address item (connection id, sequence), connected data item (sequence count, data) */
	static const uint8_t io[] = { 0x02, 0x00, 0x02, 0x80, 0x08, 0x00, 0x11, 0x22, 0x33, 0x44, 0x01, 0x00, 0x00,
				      0x00, 0xb1, 0x00, 0x06, 0x00, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef };
	setup_udp(2222, 2222);
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, io, sizeof(io)), PROTO_OK);
	assert_int_equal(H.n, 0);
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, io, sizeof(io) - 1), PROTO_NOT_MINE);
	static const uint8_t junk[] = { 0x01, 0x00, 0x34, 0x12, 0x00, 0x00 };
	assert_int_equal(parse(PROTO_DIR_TO_SERVER, junk, sizeof(junk)), PROTO_NOT_MINE);
}

/* Every prefix of every sample: no crash, no read past the prefix (ASan: each copy is exactly that long), and
 * no prefix of a PDU passes for a whole one. */
static void test_prefixes(void **s)
{
	static const struct { const uint8_t *p; size_t n; int dir; } samples[] = {
		{ li_req, sizeof(li_req), 0 }, { li_resp, sizeof(li_resp), 1 }, { stop_req, sizeof(stop_req), 0 },
		{ fw_begin_req, sizeof(fw_begin_req), 0 }, { reset_req, sizeof(reset_req), 0 },
		{ gaa_req, sizeof(gaa_req), 0 }, { gaa_resp, sizeof(gaa_resp), 1 }, { ucs_req, sizeof(ucs_req), 0 },
		{ ucs_resp, sizeof(ucs_resp), 1 }, { err_resp, sizeof(err_resp), 1 }, { msp_req, sizeof(msp_req), 0 },
		{ fwdopen_req, sizeof(fwdopen_req), 0 },
	};
	(void)s;
	for (size_t k = 0; k < sizeof(samples) / sizeof(samples[0]); k++) {
		for (size_t n = 0; n <= samples[k].n; n++) {
			uint8_t *copy = malloc(n ? n : 1);
			assert_non_null(copy);
			memcpy(copy, samples[k].p, n);
			setup_tcp();
			enum proto_result r = parse(samples[k].dir, copy, n);
			if (n < samples[k].n)
				assert_true(r == PROTO_MALFORMED || r == PROTO_NOT_MINE);
			else
				assert_int_equal(r, PROTO_OK);
			(void)dissector_enip.pdu_len(copy, n);
			free(copy);
		}
	}
	/* the CIP part alone may be cut short inside a well-framed PDU: the encapsulation stays valid */
	for (size_t k = 0; k < sizeof(samples) / sizeof(samples[0]); k++) {
		for (size_t cut = 1; cut < 24 && cut < samples[k].n - 24; cut++) {
			size_t n = samples[k].n - cut;
			uint8_t *copy = malloc(n);
			assert_non_null(copy);
			memcpy(copy, samples[k].p, n);
			copy[2] = (uint8_t)(n - 24);
			copy[3] = (uint8_t)((n - 24) >> 8);
			setup_tcp();
			(void)parse(samples[k].dir, copy, n);
			free(copy);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pdu_len),
		cmocka_unit_test(test_list_identity),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_firmware_and_reset),
		cmocka_unit_test(test_identity_get_attributes_all),
		cmocka_unit_test(test_unconnected_send_routed),
		cmocka_unit_test(test_error_reply),
		cmocka_unit_test(test_multiple_service_packet),
		cmocka_unit_test(test_forward_open),
		cmocka_unit_test(test_tcpip_object),
		cmocka_unit_test(test_encapsulation_errors),
		cmocka_unit_test(test_implicit_io),
		cmocka_unit_test(test_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
