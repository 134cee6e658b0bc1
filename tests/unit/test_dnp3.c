/* DNP3 dissector (sensor-agent/dissect/dnp3.c): link framing and CRCs, transport FIR handling, application
 * function codes, events and roles, on frames from the public captures in /work/shared/pcaps and on frames
 * built here (with an independent bitwise CRC) for what the captures lack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tests/unit/proto_harness.h"

/* dnp3/cold_restart_and_response.pcap frame 4 */
static const uint8_t dnp3_cold_restart[] = {
	0x05, 0x64, 0x08, 0xc4, 0x0a, 0x00, 0x01, 0x00, 0xfc, 0x42, 0xc0, 0xc0, 0x0d, 0x9c, 0x86,
};
/* dnp3/cold_restart_and_response.pcap frame 6 */
static const uint8_t dnp3_cold_restart_response[] = {
	0x05, 0x64, 0x0a, 0x44, 0x01, 0x00, 0x0a, 0x00, 0x6e, 0x25, 0xc0, 0xc0, 0x81, 0x00, 0x01, 0xc2,
	0xde,
};
/* dnp3/dnp3value.pcap frame 467 */
static const uint8_t dnp3_warm_restart[] = {
	0x05, 0x64, 0x08, 0xc4, 0x01, 0x00, 0x02, 0x00, 0x39, 0x0d, 0xd8, 0xc0, 0x0e, 0x47, 0xc7,
};
/* dnp3/dnp3value.pcap frame 497 */
static const uint8_t dnp3_delay_measure[] = {
	0x05, 0x64, 0x08, 0xc4, 0x01, 0x00, 0x02, 0x00, 0x39, 0x0d, 0xdf, 0xc7, 0x17, 0xb2, 0x77,
};
/* dnp3/dnp3value.pcap frame 499 */
static const uint8_t dnp3_write_time[] = {
	0x05, 0x64, 0x12, 0xc4, 0x01, 0x00, 0x02, 0x00, 0x93, 0xc9, 0xe0, 0xc8, 0x02, 0x32, 0x01, 0x07,
	0x01, 0x65, 0xbf, 0x16, 0xb5, 0x6d, 0x01, 0x32, 0x32,
};
/* dnp3/DNP3.pcap frame 13 */
static const uint8_t dnp3_record_current_time[] = {
	0x05, 0x64, 0x08, 0xc4, 0x04, 0x00, 0x03, 0x00, 0xb4, 0xb8, 0xc8, 0xc9, 0x18, 0xcb, 0xd2,
};
/* dnp3/DNP3.pcap frame 1659 */
static const uint8_t dnp3_stop_application[] = {
	0x05, 0x64, 0x11, 0xc4, 0x04, 0x00, 0x03, 0x00, 0x4e, 0xef, 0xc1, 0xc1, 0x12, 0x3c, 0x02, 0x06,
	0x01, 0x07, 0x06, 0x3c, 0x04, 0xed, 0x87, 0x63,
};
/* dnp3/DNP3.pcap frame 1084 */
static const uint8_t dnp3_open_file[] = {
	0x05, 0x64, 0x32, 0xc4, 0x04, 0x00, 0x03, 0x00, 0x9c, 0x8d, 0xf7, 0xce, 0x19, 0x46, 0x03, 0x5b,
	0x01, 0x24, 0x00, 0x1a, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0xb3, 0xc5, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x47, 0xe6, 0x04, 0x04,
	0x00, 0x2e, 0x2f, 0x74, 0x65, 0x73, 0x74, 0x2e, 0x78, 0x6d, 0x6c, 0xed, 0x8f,
};
/* dnp3/DNP3.pcap frame 1096 */
static const uint8_t dnp3_udp_enable_unsolicited[] = {
	0x05, 0x64, 0x11, 0xc4, 0x01, 0x00, 0x64, 0x00, 0xee, 0x2e, 0xcd, 0xcf, 0x14, 0x3c, 0x02, 0x06,
	0x3c, 0x03, 0x06, 0x3c, 0x04, 0x06, 0x7c, 0x03,
};
/* dnp3/DNP3.pcap frame 1128 */
static const uint8_t dnp3_disable_unsolicited[] = {
	0x05, 0x64, 0x11, 0xc4, 0x0a, 0x00, 0x01, 0x00, 0x06, 0x15, 0xc0, 0xc0, 0x15, 0x3c, 0x02, 0x06,
	0x3c, 0x03, 0x06, 0x3c, 0x04, 0x06, 0x1a, 0x55,
};
/* dnp3/DNP3.pcap frame 1668 */
static const uint8_t dnp3_unsolicited_response[] = {
	0x05, 0x64, 0x0a, 0x44, 0x03, 0x00, 0x06, 0x00, 0x99, 0xb5, 0xc6, 0xf6, 0x82, 0x95, 0x01, 0x0f,
	0xd6,
};
/* dnp3/DNP3.pcap frame 1207 */
static const uint8_t dnp3_first_of_three[] = {
	0x05, 0x64, 0xff, 0x44, 0x64, 0x00, 0x01, 0x00, 0xff, 0x2f, 0x72, 0xcb, 0x81, 0x90, 0x00, 0x0a,
	0x02, 0x01, 0x00, 0x00, 0xff, 0x01, 0x01, 0x81, 0x01, 0x01, 0xbc, 0xb8, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x8d, 0x7b,
};
/* dnp3/DNP3.pcap frame 1208 */
static const uint8_t dnp3_second_of_three[] = {
	0x05, 0x64, 0xff, 0x44, 0x64, 0x00, 0x01, 0x00, 0xff, 0x2f, 0x33, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x3d, 0xf5, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xbb, 0xc3, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x8d, 0x7b,
};
/* dnp3/DNP3.pcap frame 1190 */
static const uint8_t dnp3_request_link_status[] = {
	0x05, 0x64, 0x05, 0x49, 0x64, 0x00, 0x01, 0x00, 0x7e, 0x5f,
};
/* dnp3/DNP3.pcap frame 1192 */
static const uint8_t dnp3_link_status[] = {
	0x05, 0x64, 0x05, 0x8b, 0x01, 0x00, 0x64, 0x00, 0xa0, 0x97,
};

#define D (&dissector_dnp3)
#define FROM_MASTER PROTO_DIR_TO_SERVER
#define FROM_OUTSTATION PROTO_DIR_TO_CLIENT

/* CRC-16/DNP computed bit by bit (not from a table, so that it checks the dissector's table). */
static uint16_t crc_dnp(const uint8_t *p, size_t n)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xa6bc) : (uint16_t)(crc >> 1);
	}
	return (uint16_t)~crc;
}

static void put_crc(uint8_t *p, size_t n)
{
	uint16_t c = crc_dnp(p, n);

	p[n] = (uint8_t)(c & 0xff);
	p[n + 1] = (uint8_t)(c >> 8);
}

/* Builds a link frame (destination 4, source 3) around user data; returns its size. */
static size_t build_frame(uint8_t *out, uint8_t ctl, const uint8_t *user, size_t ulen)
{
	size_t o = 10;

	out[0] = 0x05;
	out[1] = 0x64;
	out[2] = (uint8_t)(5 + ulen);
	out[3] = ctl;
	out[4] = 4;
	out[5] = 0;
	out[6] = 3;
	out[7] = 0;
	put_crc(out, 8);
	for (size_t u = 0; u < ulen; u += 16) {
		size_t b = ulen - u < 16 ? ulen - u : 16;
		memcpy(out + o, user + u, b);
		put_crc(out + o, b);
		o += b + 2;
	}
	return o;
}

static const char *obs_text(const struct harness *h, int kind, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->obs[i].o.kind == kind && h->obs[i].o.name && strcmp(h->obs[i].o.name, name) == 0)
			return h->obs[i].buf;
	return NULL;
}

static enum proto_result parse1(struct harness *h, int dir, const uint8_t *p, size_t len)
{
	harness_init(h, D);
	return harness_parse(h, D, dir, p, len);
}

static void pdu_len_frames_link_layer(void **state)
{
	const uint8_t garbage[] = { 0x16, 0x03, 0x01, 0x00 };
	const uint8_t wrong_second[] = { 0x05, 0x65, 0x0a };
	const uint8_t short_len[] = { 0x05, 0x64, 0x04, 0xc4 };

	assert_int_equal(D->pdu_len(dnp3_cold_restart, 1), 0);
	assert_int_equal(D->pdu_len(dnp3_cold_restart, 2), 0);
	assert_int_equal(D->pdu_len(dnp3_cold_restart, 3), sizeof(dnp3_cold_restart));
	assert_int_equal(D->pdu_len(dnp3_cold_restart, sizeof(dnp3_cold_restart)), sizeof(dnp3_cold_restart));
	/* length 0xff: 250 bytes of user data in 16 blocks, 292 bytes on the wire */
	assert_int_equal(D->pdu_len(dnp3_first_of_three, 3), 292);
	assert_int_equal(sizeof(dnp3_first_of_three), 292);
	assert_int_equal(D->max_pdu, 292);
	assert_int_equal(D->pdu_len(dnp3_link_status, 3), 10);
	assert_int_equal(D->pdu_len(garbage, sizeof(garbage)), -1);
	assert_int_equal(D->pdu_len(wrong_second, sizeof(wrong_second)), -1);
	assert_int_equal(D->pdu_len(wrong_second, 2), -1);
	assert_int_equal(D->pdu_len(short_len, sizeof(short_len)), -1);
}

static void restart_requests_and_roles(void **state)
{
	static struct harness h;

	assert_int_equal(parse1(&h, FROM_MASTER, dnp3_cold_restart, sizeof(dnp3_cold_restart)), PROTO_OK);
	assert_true(harness_has_function(&h, 13));
	assert_int_equal(harness_count(&h, PROTO_OBS_EVENT, "cold_restart"), 1);
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_CLIENT);
	assert_int_equal(h.ctx.dst_role, PROTO_ROLE_SERVER);

	/* The outstation's reply: DIR=0 makes its sender the server whatever the flow says. It sets IIN2.0
	 * (function code not supported) in this capture. */
	assert_int_equal(parse1(&h, FROM_MASTER, dnp3_cold_restart_response, sizeof(dnp3_cold_restart_response)),
			 PROTO_OK);
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_SERVER);
	assert_int_equal(h.ctx.dst_role, PROTO_ROLE_CLIENT);
	assert_int_equal(harness_count(&h, PROTO_OBS_FUNCTION, NULL), 0);
	assert_string_equal(obs_text(&h, PROTO_OBS_EVENT, "exception_response"), "function code not supported");

	assert_int_equal(parse1(&h, FROM_MASTER, dnp3_warm_restart, sizeof(dnp3_warm_restart)), PROTO_OK);
	assert_true(harness_has_function(&h, 14));
	assert_int_equal(harness_count(&h, PROTO_OBS_EVENT, "warm_restart"), 1);
}

static void time_synchronisation(void **state)
{
	static struct harness h;

	assert_int_equal(parse1(&h, FROM_MASTER, dnp3_delay_measure, sizeof(dnp3_delay_measure)), PROTO_OK);
	assert_true(harness_has_function(&h, 23));
	assert_string_equal(obs_text(&h, PROTO_OBS_EVENT, "time_sync"), "delay_measure");

	assert_int_equal(parse1(&h, FROM_MASTER, dnp3_write_time, sizeof(dnp3_write_time)), PROTO_OK);
	assert_true(harness_has_function(&h, 2));
	assert_string_equal(obs_text(&h, PROTO_OBS_EVENT, "time_sync"), "write g50v1");

	assert_int_equal(parse1(&h, FROM_MASTER, dnp3_record_current_time, sizeof(dnp3_record_current_time)),
			 PROTO_OK);
	assert_true(harness_has_function(&h, 24));
	assert_string_equal(obs_text(&h, PROTO_OBS_EVENT, "time_sync"), "record_current_time");
}

static void application_and_file_events(void **state)
{
	static struct harness h;
	uint8_t f[64];
	const uint8_t start_app[] = { 0xc0, 0xc3, 0x11, 0x5a, 0x01, 0x5b, 0x01, 0x00, 0x00 };
	const uint8_t abort_file[] = { 0xc1, 0xc4, 0x1e };
	size_t n;

	assert_int_equal(parse1(&h, FROM_MASTER, dnp3_stop_application, sizeof(dnp3_stop_application)), PROTO_OK);
	assert_true(harness_has_function(&h, 18));
	assert_string_equal(obs_text(&h, PROTO_OBS_EVENT, "plc_stop"), "stop_application");

	n = build_frame(f, 0xc4, start_app, sizeof(start_app));
	assert_int_equal(parse1(&h, FROM_MASTER, f, n), PROTO_OK);
	assert_true(harness_has_function(&h, 17));
	assert_int_equal(harness_count(&h, PROTO_OBS_EVENT, "plc_start"), 1);

	assert_int_equal(parse1(&h, FROM_MASTER, dnp3_open_file, sizeof(dnp3_open_file)), PROTO_OK);
	assert_true(harness_has_function(&h, 25));
	assert_string_equal(obs_text(&h, PROTO_OBS_EVENT, "file_operation"), "open_file");

	n = build_frame(f, 0xc4, abort_file, sizeof(abort_file));
	assert_int_equal(parse1(&h, FROM_MASTER, f, n), PROTO_OK);
	assert_string_equal(obs_text(&h, PROTO_OBS_EVENT, "file_operation"), "abort_file");
}

static void unsolicited_control_and_responses(void **state)
{
	static struct harness h;

	/* A UDP datagram (DNP3.pcap carries DNP3 over udp/20000 too). */
	assert_int_equal(parse1(&h, FROM_MASTER, dnp3_udp_enable_unsolicited, sizeof(dnp3_udp_enable_unsolicited)),
			 PROTO_OK);
	assert_true(harness_has_function(&h, 20));
	assert_int_equal(harness_count(&h, PROTO_OBS_EVENT, "unsolicited_enabled"), 1);

	assert_int_equal(parse1(&h, FROM_MASTER, dnp3_disable_unsolicited, sizeof(dnp3_disable_unsolicited)),
			 PROTO_OK);
	assert_true(harness_has_function(&h, 21));
	assert_int_equal(harness_count(&h, PROTO_OBS_EVENT, "unsolicited_disabled"), 1);

	assert_int_equal(parse1(&h, FROM_OUTSTATION, dnp3_unsolicited_response, sizeof(dnp3_unsolicited_response)),
			 PROTO_OK);
	assert_true(harness_has_function(&h, 130));
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_SERVER);
}

static void multi_block_and_link_frames(void **state)
{
	static struct harness h;

	/* 250 bytes of user data, 16 CRCs; FIR set: a response starts here. */
	assert_int_equal(parse1(&h, FROM_OUTSTATION, dnp3_first_of_three, sizeof(dnp3_first_of_three)), PROTO_OK);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, NULL), 0);
	assert_int_equal(harness_count(&h, PROTO_OBS_FUNCTION, NULL), 0);
	/* A later transport segment: nothing to report, but valid. */
	assert_int_equal(parse1(&h, FROM_OUTSTATION, dnp3_second_of_three, sizeof(dnp3_second_of_three)), PROTO_OK);
	assert_int_equal(h.n, 0);

	assert_int_equal(parse1(&h, FROM_OUTSTATION, dnp3_request_link_status, sizeof(dnp3_request_link_status)),
			 PROTO_OK);
	assert_int_equal(h.n, 0);
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_SERVER); /* DIR=0 */
	assert_int_equal(parse1(&h, FROM_MASTER, dnp3_link_status, sizeof(dnp3_link_status)), PROTO_OK);
	assert_int_equal(h.n, 0);
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_CLIENT); /* DIR=1 */
}

static void crc_errors(void **state)
{
	static struct harness h;
	uint8_t f[sizeof(dnp3_first_of_three)];

	memcpy(f, dnp3_first_of_three, sizeof(f));
	f[10 + 5 * 18 + 3] ^= 0x01; /* a byte in the sixth data block */
	assert_int_equal(parse1(&h, FROM_OUTSTATION, f, sizeof(f)), PROTO_MALFORMED);
	assert_string_equal(obs_text(&h, PROTO_OBS_VIOLATION, "bad_crc"), "user data block");

	memcpy(f, dnp3_first_of_three, sizeof(f));
	f[4] ^= 0x01; /* destination address */
	assert_int_equal(parse1(&h, FROM_OUTSTATION, f, sizeof(f)), PROTO_MALFORMED);
	assert_string_equal(obs_text(&h, PROTO_OBS_VIOLATION, "bad_crc"), "header");

	memcpy(f, dnp3_cold_restart, sizeof(dnp3_cold_restart));
	f[sizeof(dnp3_cold_restart) - 1] ^= 0xff; /* the last block's CRC itself */
	assert_int_equal(parse1(&h, FROM_MASTER, f, sizeof(dnp3_cold_restart)), PROTO_MALFORMED);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "bad_crc"), 1);
	assert_int_equal(harness_count(&h, PROTO_OBS_EVENT, NULL), 0);
}

static void datagrams_with_several_frames(void **state)
{
	static struct harness h;
	uint8_t d[128];
	size_t n = 0;

	memcpy(d, dnp3_request_link_status, sizeof(dnp3_request_link_status));
	n += sizeof(dnp3_request_link_status);
	memcpy(d + n, dnp3_cold_restart, sizeof(dnp3_cold_restart));
	n += sizeof(dnp3_cold_restart);
	assert_int_equal(parse1(&h, FROM_MASTER, d, n), PROTO_OK);
	assert_int_equal(harness_count(&h, PROTO_OBS_EVENT, "cold_restart"), 1);

	/* Trailing bytes that are not a frame. */
	d[n] = 0x00;
	d[n + 1] = 0x01;
	assert_int_equal(parse1(&h, FROM_MASTER, d, n + 2), PROTO_MALFORMED);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "truncated"), 1);
	/* A second frame cut short. */
	assert_int_equal(parse1(&h, FROM_MASTER, d, n - 3), PROTO_MALFORMED);
}

static void violations(void **state)
{
	static struct harness h;
	uint8_t f[64];
	const uint8_t bad_app_fc[] = { 0xc0, 0xc1, 0x40 };
	const uint8_t no_app[] = { 0xc0, 0xc1 };
	const uint8_t short_response[] = { 0xc0, 0xc1, 0x81, 0x00 };
	const uint8_t http[] = "HTTP/1.1 200 OK\r\n";
	size_t n;

	n = build_frame(f, 0xc4, bad_app_fc, sizeof(bad_app_fc));
	assert_int_equal(parse1(&h, FROM_MASTER, f, n), PROTO_OK);
	assert_string_equal(obs_text(&h, PROTO_OBS_VIOLATION, "illegal_function"), "application function code");

	n = build_frame(f, 0xc7, NULL, 0); /* PRM=1 link function 7: not defined */
	assert_int_equal(parse1(&h, FROM_MASTER, f, n), PROTO_OK);
	assert_string_equal(obs_text(&h, PROTO_OBS_VIOLATION, "illegal_function"), "link function code");

	n = build_frame(f, 0xc4, NULL, 0); /* unconfirmed user data without data */
	assert_int_equal(parse1(&h, FROM_MASTER, f, n), PROTO_MALFORMED);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "bad_length"), 1);

	n = build_frame(f, 0xc9, bad_app_fc, sizeof(bad_app_fc)); /* request link status carrying data */
	assert_int_equal(parse1(&h, FROM_MASTER, f, n), PROTO_MALFORMED);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "bad_length"), 1);

	n = build_frame(f, 0xc4, no_app, sizeof(no_app)); /* FIR segment with only an application control */
	assert_int_equal(parse1(&h, FROM_MASTER, f, n), PROTO_MALFORMED);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "bad_length"), 1);

	n = build_frame(f, 0x44, short_response, sizeof(short_response)); /* response without its IIN */
	assert_int_equal(parse1(&h, FROM_OUTSTATION, f, n), PROTO_MALFORMED);

	assert_int_equal(parse1(&h, FROM_OUTSTATION, http, sizeof(http) - 1), PROTO_NOT_MINE);
	assert_int_equal(h.n, 0);
}

static void every_prefix_is_safe(void **state)
{
	static struct harness h;
	static const struct {
		const uint8_t *p;
		size_t len;
	} frames[] = {
#define P(a) { a, sizeof(a) }
		P(dnp3_cold_restart), P(dnp3_cold_restart_response), P(dnp3_warm_restart), P(dnp3_delay_measure),
		P(dnp3_write_time), P(dnp3_record_current_time), P(dnp3_stop_application), P(dnp3_open_file),
		P(dnp3_udp_enable_unsolicited), P(dnp3_disable_unsolicited), P(dnp3_unsolicited_response),
		P(dnp3_first_of_three), P(dnp3_second_of_three), P(dnp3_request_link_status), P(dnp3_link_status),
#undef P
	};

	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		for (size_t n = 0; n < frames[i].len; n++) {
			uint8_t *copy = malloc(n ? n : 1);
			assert_non_null(copy);
			memcpy(copy, frames[i].p, n);
			if (n)
				assert_true(D->pdu_len(copy, n) <= 0 || (size_t)D->pdu_len(copy, n) > n);
			assert_int_not_equal(parse1(&h, FROM_MASTER, copy, n), PROTO_OK);
			free(copy);
		}
	}
}

/* A response with device attributes (group 0): vendor, model, firmware, serial of the outstation; the walk
 * stops at the first object of another group and at a truncated one. */
static void device_attributes(void **state)
{
	static struct harness h;
	uint8_t user[200], frame[300];
	size_t u = 0, n;
	static const struct {
		uint8_t var;
		const char *s;
	} attrs[] = { { 252, "ABB" }, { 250, "RTU560 560CMU05" }, { 242, "13.2.1" }, { 248, "1KGT596508" } };

	(void)state;
	user[u++] = 0xc0; /* transport: FIR, FIN, seq 0 */
	user[u++] = 0xc1; /* application control */
	user[u++] = 129;  /* response */
	user[u++] = 0;
	user[u++] = 0; /* IIN */
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		size_t l = strlen(attrs[i].s);
		const uint8_t hdr[] = { 0, attrs[i].var, 0x00, 0, 0, 1, (uint8_t)l };
		memcpy(user + u, hdr, sizeof(hdr));
		u += sizeof(hdr);
		memcpy(user + u, attrs[i].s, l);
		u += l;
	}
	user[u++] = 30; /* g30v1, ends the walk */
	user[u++] = 1;
	n = build_frame(frame, 0x44, user, u);
	harness_init(&h, D);
	assert_int_equal(parse1(&h, FROM_OUTSTATION, frame, n), PROTO_OK);
	assert_string_equal(harness_attr(&h, PROTO_ATTR_VENDOR), "ABB");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_MODEL), "RTU560 560CMU05");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_FIRMWARE), "13.2.1");
	assert_string_equal(harness_attr(&h, PROTO_ATTR_SERIAL), "1KGT596508");
	/* cut inside the last string: the complete ones before it are still reported, nothing read past */
	n = build_frame(frame, 0x44, user, u - 2 - 4);
	harness_init(&h, D);
	assert_int_equal(parse1(&h, FROM_OUTSTATION, frame, n), PROTO_OK);
	assert_string_equal(harness_attr(&h, PROTO_ATTR_FIRMWARE), "13.2.1");
	assert_null(harness_attr(&h, PROTO_ATTR_SERIAL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pdu_len_frames_link_layer),
		cmocka_unit_test(restart_requests_and_roles),
		cmocka_unit_test(time_synchronisation),
		cmocka_unit_test(application_and_file_events),
		cmocka_unit_test(unsolicited_control_and_responses),
		cmocka_unit_test(multi_block_and_link_frames),
		cmocka_unit_test(crc_errors),
		cmocka_unit_test(datagrams_with_several_frames),
		cmocka_unit_test(violations),
		cmocka_unit_test(every_prefix_is_safe),
		cmocka_unit_test(device_attributes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
