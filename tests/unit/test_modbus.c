/* Modbus/TCP dissector (sensor-agent/dissect/modbus.c): framing, function codes, length rules, exceptions,
 * Read Device Identification and UMAS, on PDUs taken from the public captures in /work/shared/pcaps and on
 * hand-built PDUs for what the captures lack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tests/unit/proto_harness.h"

/* modbus/ModbusTCP.pcap frame 14 */
static const uint8_t mbtcp_three_requests[] = {
	0x29, 0x77, 0x00, 0x00, 0x00, 0x06, 0xff, 0x04, 0x04, 0x4c, 0x00, 0x73, 0x29, 0x78, 0x00, 0x00,
	0x00, 0x06, 0xff, 0x04, 0x05, 0x14, 0x00, 0x04, 0x29, 0x79, 0x00, 0x00, 0x00, 0x06, 0xff, 0x02,
	0x00, 0xcb, 0x00, 0x1e,
};
/* modbus/ModbusTCP.pcap frame 24 */
static const uint8_t mbtcp_fc4_response[] = {
	0x29, 0x77, 0x00, 0x00, 0x00, 0xe9, 0xff, 0x04, 0xe6, 0x00, 0x32, 0x00, 0x03, 0x00, 0x00, 0x00,
	0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3c, 0x00,
	0x0b, 0x00, 0x3c, 0x00, 0x0b, 0x02, 0x58, 0x00, 0x1e, 0x00, 0x04, 0x01, 0xfe, 0x00, 0x6e, 0x00,
	0x00, 0x00, 0x05, 0x00, 0xe4, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x73, 0x00, 0x0f, 0x00,
	0x95, 0x00, 0x05, 0x00, 0x0f, 0x00, 0x10, 0x00, 0x15, 0x00, 0x83, 0x00, 0x2a, 0x00, 0x1c, 0x00,
	0x28, 0x00, 0x17, 0x00, 0x25, 0x00, 0x06, 0x00, 0x09, 0x00, 0x0a, 0x00, 0x0a, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x37, 0x00,
	0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x6b, 0x73, 0x74, 0x72, 0x79, 0x20, 0x6b, 0x73, 0x69, 0x65, 0x7a, 0x6e, 0x69, 0x63, 0x7a,
	0x6b, 0x61, 0x30, 0x39, 0x20, 0x20, 0x20, 0x6b, 0x73, 0x74, 0x72, 0x79, 0x20, 0x03, 0x84,
};
/* modbus/ModbusTCP.pcap frame 28 */
static const uint8_t mbtcp_fc15_request[] = {
	0x48, 0x5a, 0x00, 0x00, 0x00, 0x08, 0xff, 0x0f, 0x00, 0x07, 0x00, 0x03, 0x01, 0x00,
};
/* modbus/ModbusTCP.pcap frame 32 */
static const uint8_t mbtcp_fc15_response[] = {
	0x48, 0x5a, 0x00, 0x00, 0x00, 0x06, 0xff, 0x0f, 0x00, 0x07, 0x00, 0x03,
};
/* modbus/ModbusTCP.pcap frame 6023 */
static const uint8_t mbtcp_fc16_request[] = {
	0x03, 0x0c, 0x00, 0x00, 0x00, 0x09, 0xff, 0x10, 0x08, 0x34, 0x00, 0x01, 0x02, 0x00, 0x03,
};
/* modbus/ModbusTCP.pcap frame 6025 */
static const uint8_t mbtcp_fc16_response[] = {
	0x03, 0x0c, 0x00, 0x00, 0x00, 0x06, 0xff, 0x10, 0x08, 0x34, 0x00, 0x01,
};
/* modbus/modbus_test.pcap frame 2 */
static const uint8_t mb_fc6_request[] = {
	0x01, 0xf5, 0x00, 0x00, 0x00, 0x06, 0x07, 0x06, 0x00, 0x04, 0x09, 0xc4,
};
/* modbus/modbus_test_data_part2.pcap frame 6 */
static const uint8_t mb_fc0_request[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* modbus/modbus_test_data_part2.pcap frame 9 */
static const uint8_t mb_exception_response[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x01, 0x80, 0x01,
};
/* modbus/modbus_test_data_part2.pcap frame 22 */
static const uint8_t mb_fc6_long_request[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x01, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* modbus/modicon_test.pcap frame 4 */
static const uint8_t umas_read_id_request[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x5a, 0x00, 0x02,
};
/* modbus/modicon_test.pcap frame 6 */
static const uint8_t umas_read_id_response[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x32, 0x00, 0x5a, 0x00, 0xfe, 0x10, 0xff, 0x5a, 0x01, 0x01, 0x00,
	0x00, 0x00, 0x70, 0x02, 0x00, 0x00, 0x27, 0x00, 0x09, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x0e, 0x31, 0x34, 0x30, 0x20, 0x43, 0x50, 0x55, 0x20, 0x33, 0x31, 0x31, 0x20, 0x31, 0x30, 0x01,
	0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x11, 0x00,
};
/* modbus/modicon_test.pcap frame 76 */
static const uint8_t umas_init_download_request[] = {
	0x00, 0x23, 0x00, 0x00, 0x00, 0x08, 0x00, 0x5a, 0x01, 0x33, 0x00, 0x01, 0xfb, 0x00,
};
/* modbus/modicon_test.pcap frame 19 */
static const uint8_t umas_repeat_261[] = {
	0x00, 0x07, 0x00, 0x00, 0x00, 0xff, 0x00, 0x5a, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04,
	0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14,
	0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24,
	0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34,
	0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44,
	0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54,
	0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64,
	0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74,
	0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84,
	0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94,
	0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4,
	0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4,
	0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4,
	0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4,
	0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4,
	0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4,
	0xf5, 0xf6, 0xf7, 0xf8, 0xf9,
};
/* modbus/modbus_test_data_part2.pcap frame 13 */
static const uint8_t mb_fc1_exception_response[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x01, 0x81, 0x03,
};

/* Hand-built (Modbus Application Protocol V1.1b3 6.21): Read Device Identification, regular stream access. */
static const uint8_t devid_request[] = {
	0x00, 0x10, 0x00, 0x00, 0x00, 0x05, 0x01, 0x2b, 0x0e, 0x02, 0x00,
};
/* Objects 0 VendorName, 1 ProductCode, 2 MajorMinorRevision, 4 ProductName, 5 ModelName. */
static const uint8_t devid_response[] = {
	0x00, 0x10, 0x00, 0x00, 0x00, 0x47, 0x01, 0x2b, 0x0e, 0x02, 0x02, 0x00, 0x00, 0x05,
	0x00, 0x12, 'S', 'c', 'h', 'n', 'e', 'i', 'd', 'e', 'r', ' ', 'E', 'l', 'e', 'c', 't', 'r', 'i', 'c',
	0x01, 0x0c, 'B', 'M', 'X', ' ', 'N', 'O', 'E', ' ', '0', '1', '0', '0',
	0x02, 0x05, 'V', '2', '.', '6', '0',
	0x04, 0x06, 'M', '3', '4', '0', ' ', 'X',
	0x05, 0x0c, 'B', 'M', 'X', ' ', 'P', '3', '4', ' ', '2', '0', '0', '0',
};
/* The same without object 5: ProductName stands in for the model. */
static const uint8_t devid_response_no_model_name[] = {
	0x00, 0x11, 0x00, 0x00, 0x00, 0x24, 0x01, 0x2b, 0x0e, 0x01, 0x01, 0x00, 0x00, 0x02,
	0x00, 0x12, 'S', 'c', 'h', 'n', 'e', 'i', 'd', 'e', 'r', ' ', 'E', 'l', 'e', 'c', 't', 'r', 'i', 'c',
	0x04, 0x06, 'M', '3', '4', '0', ' ', 'X',
};
/* Object list overruns the PDU: object 1 claims 12 bytes, 3 follow. */
static const uint8_t devid_response_overrun[] = {
	0x00, 0x12, 0x00, 0x00, 0x00, 0x10, 0x01, 0x2b, 0x0e, 0x01, 0x01, 0x00, 0x00, 0x02,
	0x00, 0x01, 'S', 0x01, 0x0c, 'B', 'M', 'X',
};
/* UMAS (FC 90): session 0x01, START_PLC (0x40), STOP_PLC (0x41), INITIALIZE_UPLOAD (0x30), and an error
 * reply (status 0xfd) to the stop. */
static const uint8_t umas_start_plc[] = { 0x00, 0x30, 0x00, 0x00, 0x00, 0x06, 0x00, 0x5a, 0x01, 0x40, 0xff, 0x00 };
static const uint8_t umas_stop_plc[] = { 0x00, 0x31, 0x00, 0x00, 0x00, 0x06, 0x00, 0x5a, 0x01, 0x41, 0xff, 0x00 };
static const uint8_t umas_stop_plc_error[] = { 0x00, 0x31, 0x00, 0x00, 0x00, 0x05, 0x00, 0x5a, 0x01, 0xfd, 0x01 };
static const uint8_t umas_init_upload[] = { 0x00, 0x32, 0x00, 0x00, 0x00, 0x06, 0x00, 0x5a, 0x01, 0x30, 0x00, 0x01 };
/* FC 8 sub-function 4: Force Listen Only Mode. */
static const uint8_t diag_listen_only[] = { 0x00, 0x40, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, 0x00, 0x04, 0x00, 0x00 };
/* FC 1 asking for 0 coils: a well-framed request with an illegal quantity. */
static const uint8_t fc1_zero_qty[] = { 0x00, 0x41, 0x00, 0x00, 0x00, 0x06, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00 };
/* A user-defined function code (65) and a reserved one (125). */
static const uint8_t fc65_request[] = { 0x00, 0x42, 0x00, 0x00, 0x00, 0x03, 0x01, 0x41, 0x00 };
static const uint8_t fc125_request[] = { 0x00, 0x43, 0x00, 0x00, 0x00, 0x03, 0x01, 0x7d, 0x00 };

#define D (&dissector_modbus)
#define REQ PROTO_DIR_TO_SERVER
#define RSP PROTO_DIR_TO_CLIENT

/* The detail text of the first EVENT/VIOLATION observation named name, or NULL. */
static const char *obs_text(const struct harness *h, int kind, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->obs[i].o.kind == kind && h->obs[i].o.name && strcmp(h->obs[i].o.name, name) == 0)
			return h->obs[i].buf;
	return NULL;
}

static size_t count_kind(const struct harness *h, int kind)
{
	return harness_count(h, kind, NULL);
}

static void pdu_len_frames_mbap(void **state)
{
	const uint8_t *p = mbtcp_three_requests;
	const uint8_t bad_pid[] = { 0x00, 0x01, 0x00, 0x01, 0x00, 0x06 };
	const uint8_t too_long[] = { 0x00, 0x01, 0x00, 0x00, 0x01, 0x00 };
	const uint8_t too_short[] = { 0x00, 0x01, 0x00, 0x00, 0x00, 0x01 };
	const uint8_t http[] = "GET / HTTP/1.1\r\n";

	for (size_t n = 1; n < 6; n++)
		assert_int_equal(D->pdu_len(p, n), 0);
	assert_int_equal(D->pdu_len(p, 12), 12);
	assert_int_equal(D->pdu_len(p, sizeof(mbtcp_three_requests)), 12);
	assert_int_equal(D->pdu_len(p + 12, sizeof(mbtcp_three_requests) - 12), 12);
	assert_int_equal(D->pdu_len(p + 24, 12), 12);
	assert_int_equal(D->pdu_len(mbtcp_fc4_response, 10), sizeof(mbtcp_fc4_response));
	assert_int_equal(D->pdu_len(bad_pid, sizeof(bad_pid)), -1);
	assert_int_equal(D->pdu_len(bad_pid, 4), -1);
	assert_int_equal(D->pdu_len(too_long, sizeof(too_long)), -1);
	assert_int_equal(D->pdu_len(too_short, sizeof(too_short)), -1);
	assert_true(D->pdu_len(http, sizeof(http) - 1) < 0);
	/* Unity's 261-byte frames are framed (and flagged by parse). */
	assert_int_equal(D->pdu_len(umas_repeat_261, 6), 261);
	assert_true(D->max_pdu >= 261);
}

static void requests_report_function_codes(void **state)
{
	static struct harness h;
	const uint8_t *p = mbtcp_three_requests;

	harness_init(&h, D);
	for (size_t off = 0; off < sizeof(mbtcp_three_requests); off += 12)
		assert_int_equal(harness_parse(&h, D, REQ, p + off, 12), PROTO_OK);
	assert_true(harness_has_function(&h, 4));
	assert_true(harness_has_function(&h, 2));
	assert_int_equal(count_kind(&h, PROTO_OBS_FUNCTION), 3);
	assert_string_equal(h.obs[0].o.name, "read_input_registers");
	assert_string_equal(h.obs[2].o.name, "read_discrete_inputs");
	assert_int_equal(count_kind(&h, PROTO_OBS_VIOLATION), 0);

	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, REQ, mbtcp_fc15_request, sizeof(mbtcp_fc15_request)), PROTO_OK);
	assert_int_equal(harness_parse(&h, D, RSP, mbtcp_fc15_response, sizeof(mbtcp_fc15_response)), PROTO_OK);
	assert_int_equal(harness_parse(&h, D, REQ, mbtcp_fc16_request, sizeof(mbtcp_fc16_request)), PROTO_OK);
	assert_int_equal(harness_parse(&h, D, RSP, mbtcp_fc16_response, sizeof(mbtcp_fc16_response)), PROTO_OK);
	assert_int_equal(harness_parse(&h, D, REQ, mb_fc6_request, sizeof(mb_fc6_request)), PROTO_OK);
	assert_true(harness_has_function(&h, 15));
	assert_true(harness_has_function(&h, 16));
	assert_true(harness_has_function(&h, 6));
	assert_int_equal(count_kind(&h, PROTO_OBS_FUNCTION), 3); /* responses report no functions */
	assert_string_equal(h.obs[1].o.name, "write_multiple_registers");
	assert_int_equal(count_kind(&h, PROTO_OBS_VIOLATION), 0);

	/* User-defined and reserved codes are functions, not violations. */
	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, REQ, fc65_request, sizeof(fc65_request)), PROTO_OK);
	assert_int_equal(harness_parse(&h, D, REQ, fc125_request, sizeof(fc125_request)), PROTO_OK);
	assert_true(harness_has_function(&h, 65));
	assert_true(harness_has_function(&h, 125));
	assert_int_equal(count_kind(&h, PROTO_OBS_VIOLATION), 0);
}

static void response_length_follows_request(void **state)
{
	static struct harness h;
	uint8_t other[sizeof(mbtcp_fc4_response)];

	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, REQ, mbtcp_three_requests, 12), PROTO_OK);
	assert_int_equal(harness_parse(&h, D, RSP, mbtcp_fc4_response, sizeof(mbtcp_fc4_response)), PROTO_OK);
	assert_int_equal(count_kind(&h, PROTO_OBS_VIOLATION), 0);

	/* The second request of the segment (tid 0x2978) asked for 4 registers: 230 bytes do not answer it. */
	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, REQ, mbtcp_three_requests + 12, 12), PROTO_OK);
	memcpy(other, mbtcp_fc4_response, sizeof(other));
	other[1] = 0x78;
	assert_int_equal(harness_parse(&h, D, RSP, other, sizeof(other)), PROTO_MALFORMED);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "bad_length"), 1);

	/* An unanswered request whose transaction id is used again is forgotten: the response answers the
	 * newer request (read 115 registers), not the older one (read 4). */
	harness_init(&h, D);
	memcpy(other, mbtcp_three_requests + 12, 12);
	other[1] = 0x77;
	assert_int_equal(harness_parse(&h, D, REQ, other, 12), PROTO_OK);
	assert_int_equal(harness_parse(&h, D, REQ, mbtcp_three_requests, 12), PROTO_OK);
	assert_int_equal(harness_parse(&h, D, RSP, mbtcp_fc4_response, sizeof(mbtcp_fc4_response)), PROTO_OK);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, NULL), 0);

	/* Byte count disagreeing with the MBAP length. */
	harness_init(&h, D);
	memcpy(other, mbtcp_fc4_response, sizeof(other));
	other[8] = 0xe4;
	assert_int_equal(harness_parse(&h, D, RSP, other, sizeof(other)), PROTO_MALFORMED);
	assert_string_equal(obs_text(&h, PROTO_OBS_VIOLATION, "bad_length"), "read_input_registers");
}

static void illegal_and_malformed_requests(void **state)
{
	static struct harness h;
	uint8_t pid[sizeof(mb_fc6_request)];

	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, REQ, mb_fc0_request, sizeof(mb_fc0_request)), PROTO_OK);
	assert_string_equal(obs_text(&h, PROTO_OBS_VIOLATION, "illegal_function"), "function code 0");
	assert_int_equal(count_kind(&h, PROTO_OBS_FUNCTION), 0);

	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, REQ, mb_fc6_long_request, sizeof(mb_fc6_long_request)),
			 PROTO_MALFORMED);
	assert_string_equal(obs_text(&h, PROTO_OBS_VIOLATION, "bad_length"), "write_single_register");
	assert_true(harness_has_function(&h, 6));

	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, REQ, fc1_zero_qty, sizeof(fc1_zero_qty)), PROTO_OK);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "bad_value"), 1);

	/* A non-zero protocol id is not Modbus. */
	harness_init(&h, D);
	memcpy(pid, mb_fc6_request, sizeof(pid));
	pid[3] = 1;
	assert_int_equal(harness_parse(&h, D, REQ, pid, sizeof(pid)), PROTO_NOT_MINE);
	assert_int_equal(h.n, 0);
}

static void exception_responses_are_events(void **state)
{
	static struct harness h;

	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, RSP, mb_fc1_exception_response, sizeof(mb_fc1_exception_response)),
			 PROTO_OK);
	assert_string_equal(obs_text(&h, PROTO_OBS_EVENT, "exception_response"), "read_coils: illegal_data_value");

	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, RSP, mb_exception_response, sizeof(mb_exception_response)), PROTO_OK);
	assert_string_equal(obs_text(&h, PROTO_OBS_EVENT, "exception_response"),
			    "function code 0: illegal_function");
	assert_int_equal(count_kind(&h, PROTO_OBS_VIOLATION), 0);
}

static void device_identification(void **state)
{
	static struct harness h;

	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, REQ, devid_request, sizeof(devid_request)), PROTO_OK);
	assert_true(harness_has_function(&h, 43));
	assert_true(harness_has_function(&h, 43 << 8 | 14));
	assert_int_equal(harness_parse(&h, D, RSP, devid_response, sizeof(devid_response)), PROTO_OK);
	assert_string_equal(harness_attr(&h, PROTO_ATTR_VENDOR), "Schneider Electric");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_PRODUCT_CODE), "BMX NOE 0100");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_FIRMWARE), "V2.60");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_MODEL), "BMX P34 2000");
	for (size_t i = 0; i < h.n; i++)
		if (h.obs[i].o.kind == PROTO_OBS_ATTR) {
			assert_int_equal(h.obs[i].o.target.kind, PROTO_TARGET_SRC);
			assert_string_not_equal(h.obs[i].buf, "M340 X"); /* ModelName wins */
		}
	/* A later response with only a ProductName does not replace the ModelName. */
	assert_int_equal(harness_parse(&h, D, RSP, devid_response_no_model_name, sizeof(devid_response_no_model_name)),
			 PROTO_OK);
	assert_string_equal(harness_attr(&h, PROTO_ATTR_MODEL), "BMX P34 2000");

	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, RSP, devid_response_no_model_name, sizeof(devid_response_no_model_name)),
			 PROTO_OK);
	assert_string_equal(harness_attr(&h, PROTO_ATTR_MODEL), "M340 X");
	assert_null(harness_attr(&h, PROTO_ATTR_FIRMWARE));

	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, RSP, devid_response_overrun, sizeof(devid_response_overrun)),
			 PROTO_MALFORMED);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "bad_length"), 1);
	assert_null(harness_attr(&h, PROTO_ATTR_VENDOR));
}

static void umas_functions_identity_and_events(void **state)
{
	static struct harness h;

	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, REQ, umas_read_id_request, sizeof(umas_read_id_request)), PROTO_OK);
	assert_true(harness_has_function(&h, 90));
	assert_true(harness_has_function(&h, 90 << 8 | 0x02));
	assert_int_equal(harness_parse(&h, D, RSP, umas_read_id_response, sizeof(umas_read_id_response)), PROTO_OK);
	assert_string_equal(harness_attr(&h, PROTO_ATTR_MODULE), "140 CPU 311 10");

	/* Without its request the READ_ID reply cannot be told from any other UMAS reply. */
	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, RSP, umas_read_id_response, sizeof(umas_read_id_response)), PROTO_OK);
	assert_null(harness_attr(&h, PROTO_ATTR_MODULE));

	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, REQ, umas_init_download_request, sizeof(umas_init_download_request)),
			 PROTO_OK);
	assert_int_equal(harness_count(&h, PROTO_OBS_EVENT, "program_upload"), 1);
	assert_int_equal(harness_parse(&h, D, REQ, umas_init_upload, sizeof(umas_init_upload)), PROTO_OK);
	assert_int_equal(harness_count(&h, PROTO_OBS_EVENT, "program_download"), 1);
	assert_int_equal(harness_parse(&h, D, REQ, umas_start_plc, sizeof(umas_start_plc)), PROTO_OK);
	assert_int_equal(harness_count(&h, PROTO_OBS_EVENT, "plc_start"), 1);
	assert_int_equal(harness_parse(&h, D, REQ, umas_stop_plc, sizeof(umas_stop_plc)), PROTO_OK);
	assert_int_equal(harness_count(&h, PROTO_OBS_EVENT, "plc_stop"), 1);
	assert_true(harness_has_function(&h, 90 << 8 | 0x41));
	assert_int_equal(harness_parse(&h, D, RSP, umas_stop_plc_error, sizeof(umas_stop_plc_error)), PROTO_OK);
	assert_string_equal(obs_text(&h, PROTO_OBS_EVENT, "exception_response"), "umas_stop_plc: error");
	assert_int_equal(count_kind(&h, PROTO_OBS_VIOLATION), 0);

	/* The 261-byte frame Unity sends routinely: parsed, and not a violation for UMAS (tshark accepts it). */
	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, REQ, umas_repeat_261, sizeof(umas_repeat_261)), PROTO_OK);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "bad_length"), 0);
	assert_true(harness_has_function(&h, 90 << 8 | 0x0a));
}

static void diagnostics_listen_only(void **state)
{
	static struct harness h;

	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, REQ, diag_listen_only, sizeof(diag_listen_only)), PROTO_OK);
	assert_true(harness_has_function(&h, 8));
	assert_string_equal(obs_text(&h, PROTO_OBS_EVENT, "communication_control"), "force_listen_only_mode");
}

/* Every prefix of every PDU, in both directions, from a heap copy of exactly that length (so that the
 * sanitizer build catches any read past it). A prefix is never a whole PDU here: parse must say so. */
static void every_prefix_is_safe(void **state)
{
	static struct harness h;
	static const struct {
		const uint8_t *p;
		size_t len;
	} pdus[] = {
#define P(a) { a, sizeof(a) }
		P(mbtcp_fc4_response), P(mbtcp_fc15_request), P(mbtcp_fc15_response), P(mbtcp_fc16_request),
		P(mbtcp_fc16_response), P(mb_fc6_request), P(mb_fc0_request), P(mb_exception_response),
		P(mb_fc6_long_request), P(umas_read_id_request), P(umas_read_id_response),
		P(umas_init_download_request), P(umas_repeat_261), P(mb_fc1_exception_response), P(devid_request),
		P(devid_response), P(devid_response_no_model_name), P(devid_response_overrun), P(umas_start_plc),
		P(umas_stop_plc), P(umas_stop_plc_error), P(umas_init_upload), P(diag_listen_only), P(fc1_zero_qty),
		P(fc65_request), P(fc125_request),
#undef P
	};

	for (size_t i = 0; i < sizeof(pdus) / sizeof(pdus[0]); i++) {
		for (size_t n = 0; n < pdus[i].len; n++) {
			uint8_t *copy = malloc(n ? n : 1);
			assert_non_null(copy);
			memcpy(copy, pdus[i].p, n);
			if (n)
				assert_true(D->pdu_len(copy, n) <= 0 || (size_t)D->pdu_len(copy, n) > n);
			for (int dir = 0; dir < 2; dir++) {
				harness_init(&h, D);
				assert_int_not_equal(harness_parse(&h, D, dir, copy, n), PROTO_OK);
			}
			free(copy);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pdu_len_frames_mbap),
		cmocka_unit_test(requests_report_function_codes),
		cmocka_unit_test(response_length_follows_request),
		cmocka_unit_test(illegal_and_malformed_requests),
		cmocka_unit_test(exception_responses_are_events),
		cmocka_unit_test(device_identification),
		cmocka_unit_test(umas_functions_identity_and_events),
		cmocka_unit_test(diagnostics_listen_only),
		cmocka_unit_test(every_prefix_is_safe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
