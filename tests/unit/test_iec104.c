/* IEC 60870-5-104 dissector (sensor-agent/dissect/iec104.c): APCI framing, I/S/U formats, type ids,
 * causes of transmission, events, roles and sequence numbers, on APDUs from the public captures in
 * /work/shared/pcaps and on APDUs built here for what the captures lack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tests/unit/proto_harness.h"

/* iec104/iec104.pcap frame 4 */
static const uint8_t testfr_act[] = {
	0x68, 0x04, 0x43, 0x00, 0x00, 0x00,
};
/* iec104/iec104.pcap frame 5 */
static const uint8_t testfr_con[] = {
	0x68, 0x04, 0x83, 0x00, 0x00, 0x00,
};
/* iec104/iec104.pcap frame 7 */
static const uint8_t startdt_act[] = {
	0x68, 0x04, 0x07, 0x00, 0x00, 0x00,
};
/* iec104/iec104.pcap frame 8 */
static const uint8_t startdt_con[] = {
	0x68, 0x04, 0x0b, 0x00, 0x00, 0x00,
};
/* iec104/iec104.pcap frame 9 */
static const uint8_t interrogation_act[] = {
	0x68, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x64, 0x01, 0x06, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x14,
};
/* iec104/iec104.pcap frame 10 */
static const uint8_t end_of_init[] = {
	0x68, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x46, 0x01, 0x04, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* iec104/iec104.pcap frame 15 */
static const uint8_t s_frame[] = {
	0x68, 0x04, 0x01, 0x00, 0x1a, 0x00,
};
/* iec104/iec104.pcap frame 20 */
static const uint8_t single_command_act[] = {
	0x68, 0x0e, 0x04, 0x00, 0x42, 0x00, 0x2d, 0x01, 0x06, 0x00, 0x0a, 0x00, 0x02, 0x00, 0x00, 0x01,
};
/* iec104/iec104.pcap frame 21 */
static const uint8_t single_command_con_term_and_sp[] = {
	0x68, 0x0e, 0x42, 0x00, 0x06, 0x00, 0x2d, 0x01, 0x07, 0x00, 0x0a, 0x00, 0x02, 0x00, 0x00, 0x01,
	0x68, 0x0e, 0x44, 0x00, 0x06, 0x00, 0x2d, 0x01, 0x0a, 0x00, 0x0a, 0x00, 0x02, 0x00, 0x00, 0x01,
	0x68, 0x0e, 0x46, 0x00, 0x06, 0x00, 0x01, 0x01, 0x03, 0x00, 0x0a, 0x00, 0x02, 0x00, 0x00, 0x01,
};
/* iec104/iec104.pcap frame 14 */
static const uint8_t nine_monitor_apdus[] = {
	0x68, 0x1e, 0x08, 0x00, 0x04, 0x00, 0x05, 0x04, 0x14, 0x00, 0x0a, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
	0x68, 0x2a, 0x0a, 0x00, 0x04, 0x00, 0x07, 0x04, 0x14, 0x00, 0x0a, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x68, 0x22, 0x0c, 0x00,
	0x04, 0x00, 0x09, 0x04, 0x14, 0x00, 0x0a, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x68, 0x22, 0x0e, 0x00, 0x04, 0x00, 0x0b, 0x04, 0x14, 0x00, 0x0a, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x68, 0x2a, 0x10, 0x00, 0x04, 0x00, 0x0d, 0x04, 0x14, 0x00, 0x0a, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x68, 0x36, 0x12, 0x00, 0x04, 0x00, 0x1e, 0x04, 0x14, 0x00, 0x0a, 0x00, 0x0b, 0x00, 0x00, 0x00,
	0x31, 0x10, 0x17, 0x08, 0x84, 0x07, 0x0d, 0x0c, 0x00, 0x00, 0x00, 0x31, 0x10, 0x17, 0x08, 0x84,
	0x07, 0x0d, 0x0d, 0x00, 0x00, 0x00, 0x31, 0x10, 0x17, 0x08, 0x84, 0x07, 0x0d, 0x0e, 0x00, 0x00,
	0x00, 0x31, 0x10, 0x17, 0x08, 0x84, 0x07, 0x0d, 0x68, 0x36, 0x14, 0x00, 0x04, 0x00, 0x1f, 0x04,
	0x14, 0x00, 0x0a, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x31, 0x10, 0x17, 0x08, 0x84, 0x07, 0x0d, 0x0c,
	0x00, 0x00, 0x00, 0x31, 0x10, 0x17, 0x08, 0x84, 0x07, 0x0d, 0x0d, 0x00, 0x00, 0x00, 0x31, 0x10,
	0x17, 0x08, 0x84, 0x07, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x31, 0x10, 0x17, 0x08, 0x84, 0x07, 0x0d,
	0x68, 0x3a, 0x16, 0x00, 0x04, 0x00, 0x20, 0x04, 0x14, 0x00, 0x0a, 0x00, 0x0b, 0x00, 0x00, 0x00,
	0x00, 0x31, 0x10, 0x17, 0x08, 0x84, 0x07, 0x0d, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x31, 0x10, 0x17,
	0x08, 0x84, 0x07, 0x0d, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x31, 0x10, 0x17, 0x08, 0x84, 0x07, 0x0d,
	0x0e, 0x00, 0x00, 0x00, 0x00, 0x31, 0x10, 0x17, 0x08, 0x84, 0x07, 0x0d, 0x68, 0x46, 0x18, 0x00,
	0x04, 0x00, 0x21, 0x04, 0x14, 0x00, 0x0a, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x31, 0x10, 0x17, 0x08, 0x84, 0x07, 0x0d, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x31,
	0x10, 0x17, 0x08, 0x84, 0x07, 0x0d, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x31, 0x10,
	0x17, 0x08, 0x84, 0x07, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x31, 0x10, 0x17,
	0x08, 0x84, 0x07, 0x0d,
};
/* iec104/104deneme.pcap frame 10 */
static const uint8_t clock_sync_gi_ci[] = {
	0x68, 0x14, 0x00, 0x00, 0x00, 0x00, 0x67, 0x01, 0x06, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0xfa,
	0x04, 0x13, 0x11, 0x18, 0x0a, 0x13, 0x68, 0x0e, 0x02, 0x00, 0x00, 0x00, 0x64, 0x01, 0x06, 0x00,
	0xff, 0xff, 0x00, 0x00, 0x00, 0x14, 0x68, 0x0e, 0x04, 0x00, 0x00, 0x00, 0x65, 0x01, 0x06, 0x00,
	0xff, 0xff, 0x00, 0x00, 0x00, 0x05,
};
/* iec104/104deneme.pcap frame 11 */
static const uint8_t clock_sync_con[] = {
	0x68, 0x14, 0x00, 0x00, 0x02, 0x00, 0x67, 0x01, 0x07, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xfa,
	0x04, 0x13, 0x11, 0x18, 0x0a, 0x13,
};
/* iec104/104deneme.pcap frame 450 */
static const uint8_t single_command_unknown_ioa[] = {
	0x68, 0x0e, 0x48, 0x00, 0x08, 0x00, 0x2d, 0x01, 0x6f, 0x00, 0x01, 0x00, 0x32, 0x00, 0x00, 0x01,
};
/* iec104/104deneme.pcap frame 620 */
static const uint8_t setpoint_negative_con[] = {
	0x68, 0x10, 0x74, 0x00, 0x1c, 0x00, 0x31, 0x01, 0x47, 0x00, 0x01, 0x00, 0xc8, 0x00, 0x00, 0x29,
	0x00, 0x80,
};

/* Hand-built (IEC 60870-5-101 7.3.4.x): C_RP_NA_1 activations with QRP 1 and 2, STOPDT act/con. */
static const uint8_t reset_process_qrp1[] = {
	0x68, 0x0e, 0x08, 0x00, 0x00, 0x00, 0x69, 0x01, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01,
};
static const uint8_t reset_process_qrp2[] = {
	0x68, 0x0e, 0x0a, 0x00, 0x00, 0x00, 0x69, 0x01, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x02,
};
static const uint8_t stopdt_act[] = { 0x68, 0x04, 0x13, 0x00, 0x00, 0x00 };
static const uint8_t stopdt_con[] = { 0x68, 0x04, 0x23, 0x00, 0x00, 0x00 };

#define D (&dissector_iec104)
#define TO_SERVER PROTO_DIR_TO_SERVER
#define TO_CLIENT PROTO_DIR_TO_CLIENT

static const char *obs_text(const struct harness *h, int kind, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->obs[i].o.kind == kind && h->obs[i].o.name && strcmp(h->obs[i].o.name, name) == 0)
			return h->obs[i].buf;
	return NULL;
}

static const char *function_name(const struct harness *h, long long code)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->obs[i].o.kind == PROTO_OBS_FUNCTION && h->obs[i].o.num == code)
			return h->obs[i].o.name;
	return NULL;
}

/* Frames a TCP payload with pdu_len and parses every APDU in it; returns the number of APDUs, all of which
 * must parse as PROTO_OK. */
static size_t parse_segment(struct harness *h, int dir, const uint8_t *p, size_t len)
{
	size_t off = 0, n = 0;

	while (off < len) {
		long l = D->pdu_len(p + off, len - off);
		assert_true(l > 0 && (size_t)l <= len - off && l <= (long)D->max_pdu);
		assert_int_equal(harness_parse(h, D, dir, p + off, (size_t)l), PROTO_OK);
		off += (size_t)l;
		n++;
	}
	return n;
}

static void pdu_len_frames_apci(void **state)
{
	const uint8_t garbage[] = { 0x03, 0x00, 0x00, 0x16 };
	const uint8_t short_l[] = { 0x68, 0x03, 0x01, 0x00, 0x00 };
	const uint8_t long_l[] = { 0x68, 0xfe };

	assert_int_equal(D->pdu_len(startdt_act, 1), 0);
	assert_int_equal(D->pdu_len(startdt_act, 2), 6);
	assert_int_equal(D->pdu_len(startdt_act, sizeof(startdt_act)), 6);
	assert_int_equal(D->pdu_len(clock_sync_gi_ci, sizeof(clock_sync_gi_ci)), 22);
	assert_int_equal(D->pdu_len(garbage, sizeof(garbage)), -1);
	assert_int_equal(D->pdu_len(short_l, sizeof(short_l)), -1);
	assert_int_equal(D->pdu_len(long_l, sizeof(long_l)), -1);
	assert_int_equal(D->max_pdu, 255);
}

static void u_and_s_formats(void **state)
{
	static struct harness h;

	harness_init(&h, D);
	assert_int_equal(parse_segment(&h, TO_SERVER, startdt_act, sizeof(startdt_act)), 1);
	assert_string_equal(function_name(&h, 0x107), "startdt_act");
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_CLIENT);
	assert_int_equal(parse_segment(&h, TO_CLIENT, startdt_con, sizeof(startdt_con)), 1);
	assert_string_equal(function_name(&h, 0x10b), "startdt_con");
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_SERVER);
	assert_int_equal(parse_segment(&h, TO_SERVER, testfr_act, sizeof(testfr_act)), 1);
	assert_string_equal(function_name(&h, 0x143), "testfr_act");
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_DEFAULT); /* either station may test */
	assert_int_equal(parse_segment(&h, TO_CLIENT, testfr_con, sizeof(testfr_con)), 1);
	assert_string_equal(function_name(&h, 0x183), "testfr_con");
	assert_int_equal(parse_segment(&h, TO_SERVER, stopdt_act, sizeof(stopdt_act)), 1);
	assert_string_equal(function_name(&h, 0x113), "stopdt_act");
	assert_int_equal(parse_segment(&h, TO_CLIENT, stopdt_con, sizeof(stopdt_con)), 1);
	assert_string_equal(function_name(&h, 0x123), "stopdt_con");
	assert_int_equal(harness_count(&h, PROTO_OBS_FUNCTION, NULL), 6);

	harness_init(&h, D);
	assert_int_equal(parse_segment(&h, TO_SERVER, s_frame, sizeof(s_frame)), 1);
	assert_int_equal(h.n, 0);
}

static void asdu_type_ids_and_roles(void **state)
{
	static struct harness h;

	harness_init(&h, D);
	assert_int_equal(parse_segment(&h, TO_SERVER, interrogation_act, sizeof(interrogation_act)), 1);
	assert_string_equal(function_name(&h, 100), "C_IC_NA_1");
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_CLIENT);
	assert_int_equal(parse_segment(&h, TO_CLIENT, end_of_init, sizeof(end_of_init)), 1);
	assert_string_equal(function_name(&h, 70), "M_EI_NA_1");
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_SERVER);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, NULL), 0);
	harness_init(&h, D); /* frames 11-19 are not replayed: start the sequence numbers afresh */
	assert_int_equal(parse_segment(&h, TO_SERVER, single_command_act, sizeof(single_command_act)), 1);
	assert_string_equal(function_name(&h, 45), "C_SC_NA_1");
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_CLIENT);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, NULL), 0);

	/* Activation confirmation, termination and a spontaneous M_SP_NA_1 in one segment: all from the
	 * controlled station. */
	harness_init(&h, D);
	assert_int_equal(parse_segment(&h, TO_CLIENT, single_command_con_term_and_sp,
				       sizeof(single_command_con_term_and_sp)), 3);
	assert_string_equal(function_name(&h, 1), "M_SP_NA_1");
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_SERVER);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, NULL), 0);
	assert_int_equal(harness_count(&h, PROTO_OBS_EVENT, NULL), 0);

	/* Nine monitor-direction APDUs (types 5 ... 33, some SQ=1) in one 436-byte segment. */
	harness_init(&h, D);
	assert_int_equal(parse_segment(&h, TO_CLIENT, nine_monitor_apdus, sizeof(nine_monitor_apdus)), 9);
	assert_string_equal(function_name(&h, 5), "M_ST_NA_1");
	assert_string_equal(function_name(&h, 13), "M_ME_NC_1");
	assert_string_equal(function_name(&h, 33), "M_BO_TB_1");
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, NULL), 0);
}

static void clock_sync_and_reset_events(void **state)
{
	static struct harness h;

	harness_init(&h, D);
	assert_int_equal(parse_segment(&h, TO_SERVER, clock_sync_gi_ci, sizeof(clock_sync_gi_ci)), 3);
	assert_string_equal(function_name(&h, 103), "C_CS_NA_1");
	assert_string_equal(function_name(&h, 100), "C_IC_NA_1");
	assert_string_equal(function_name(&h, 101), "C_CI_NA_1");
	assert_string_equal(obs_text(&h, PROTO_OBS_EVENT, "time_sync"), "C_CS_NA_1");
	/* The confirmation is no second clock synchronisation. */
	assert_int_equal(parse_segment(&h, TO_CLIENT, clock_sync_con, sizeof(clock_sync_con)), 1);
	assert_int_equal(harness_count(&h, PROTO_OBS_EVENT, "time_sync"), 1);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, NULL), 0);

	harness_init(&h, D);
	assert_int_equal(parse_segment(&h, TO_SERVER, reset_process_qrp1, sizeof(reset_process_qrp1)), 1);
	assert_string_equal(function_name(&h, 105), "C_RP_NA_1");
	assert_string_equal(obs_text(&h, PROTO_OBS_EVENT, "cold_restart"), "C_RP_NA_1 qrp 1");
	harness_init(&h, D);
	assert_int_equal(parse_segment(&h, TO_SERVER, reset_process_qrp2, sizeof(reset_process_qrp2)), 1);
	assert_string_equal(obs_text(&h, PROTO_OBS_EVENT, "warm_restart"), "C_RP_NA_1 qrp 2");
	assert_int_equal(harness_count(&h, PROTO_OBS_EVENT, "cold_restart"), 0);
}

static void negative_replies(void **state)
{
	static struct harness h;

	harness_init(&h, D);
	assert_int_equal(parse_segment(&h, TO_CLIENT, single_command_unknown_ioa, sizeof(single_command_unknown_ioa)),
			 1);
	assert_string_equal(obs_text(&h, PROTO_OBS_EVENT, "exception_response"),
			    "C_SC_NA_1: unknown_object_address");
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_SERVER);

	harness_init(&h, D);
	assert_int_equal(parse_segment(&h, TO_CLIENT, setpoint_negative_con, sizeof(setpoint_negative_con)), 1);
	assert_string_equal(obs_text(&h, PROTO_OBS_EVENT, "exception_response"), "C_SE_NB_1: negative confirmation");
}

static void violations(void **state)
{
	static struct harness h;
	uint8_t a[sizeof(single_command_act)];
	uint8_t u[sizeof(startdt_act)];

	/* Type id 22 is not defined. */
	harness_init(&h, D);
	memcpy(a, single_command_act, sizeof(a));
	a[6] = 22;
	assert_int_equal(harness_parse(&h, D, TO_SERVER, a, sizeof(a)), PROTO_OK);
	assert_string_equal(obs_text(&h, PROTO_OBS_VIOLATION, "illegal_function"), "type id 22");
	assert_int_equal(harness_count(&h, PROTO_OBS_FUNCTION, NULL), 0);

	/* Two objects announced, one present. */
	harness_init(&h, D);
	memcpy(a, single_command_act, sizeof(a));
	a[7] = 2;
	assert_int_equal(harness_parse(&h, D, TO_SERVER, a, sizeof(a)), PROTO_MALFORMED);
	assert_string_equal(obs_text(&h, PROTO_OBS_VIOLATION, "bad_length"), "C_SC_NA_1");

	/* Zero objects. */
	harness_init(&h, D);
	memcpy(a, single_command_act, sizeof(a));
	a[7] = 0;
	assert_int_equal(harness_parse(&h, D, TO_SERVER, a, sizeof(a)), PROTO_MALFORMED);

	/* Cause of transmission 0 is not used. */
	harness_init(&h, D);
	memcpy(a, single_command_act, sizeof(a));
	a[8] = 0;
	assert_int_equal(harness_parse(&h, D, TO_SERVER, a, sizeof(a)), PROTO_OK);
	assert_string_equal(obs_text(&h, PROTO_OBS_VIOLATION, "bad_cause"), "C_SC_NA_1: cause 0");

	/* APCI length disagreeing with the APDU handed over. */
	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, TO_SERVER, single_command_act, sizeof(single_command_act) - 1),
			 PROTO_MALFORMED);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "bad_length"), 1);

	/* U format with two function bits, and with a non-zero second octet. */
	harness_init(&h, D);
	memcpy(u, startdt_act, sizeof(u));
	u[2] = 0x0f;
	assert_int_equal(harness_parse(&h, D, TO_SERVER, u, sizeof(u)), PROTO_OK);
	assert_string_equal(obs_text(&h, PROTO_OBS_VIOLATION, "illegal_function"), "u-format function");
	harness_init(&h, D);
	memcpy(u, startdt_act, sizeof(u));
	u[3] = 0x01;
	assert_int_equal(harness_parse(&h, D, TO_SERVER, u, sizeof(u)), PROTO_MALFORMED);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "bad_header"), 1);

	/* Not IEC 104 at all. */
	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, TO_SERVER, "\x03\x00\x00\x16", 4), PROTO_NOT_MINE);
}

static void send_sequence_numbers(void **state)
{
	static struct harness h;
	uint8_t a[sizeof(single_command_act)];

	/* single_command_act has N(S) 2; the next I-format APDU towards the server must have N(S) 3. */
	harness_init(&h, D);
	memcpy(a, single_command_act, sizeof(a));
	assert_int_equal(harness_parse(&h, D, TO_SERVER, a, sizeof(a)), PROTO_OK);
	a[2] = 3 << 1;
	assert_int_equal(harness_parse(&h, D, TO_SERVER, a, sizeof(a)), PROTO_OK);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "bad_sequence"), 0);
	/* The other direction counts on its own. */
	assert_int_equal(harness_parse(&h, D, TO_CLIENT, clock_sync_con, sizeof(clock_sync_con)), PROTO_OK);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "bad_sequence"), 0);
	a[2] = 9 << 1; /* skips 4..8 */
	assert_int_equal(harness_parse(&h, D, TO_SERVER, a, sizeof(a)), PROTO_OK);
	assert_string_equal(obs_text(&h, PROTO_OBS_VIOLATION, "bad_sequence"), "N(S) 9, expected 4");
	/* Wrap-around at 32768. */
	a[2] = 0xfe;
	a[3] = 0xff;
	harness_init(&h, D);
	assert_int_equal(harness_parse(&h, D, TO_SERVER, a, sizeof(a)), PROTO_OK);
	a[2] = 0;
	a[3] = 0;
	assert_int_equal(harness_parse(&h, D, TO_SERVER, a, sizeof(a)), PROTO_OK);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "bad_sequence"), 0);
}

static void every_prefix_is_safe(void **state)
{
	static struct harness h;
	static const struct {
		const uint8_t *p;
		size_t len;
	} apdus[] = {
#define P(a) { a, sizeof(a) }
		P(testfr_act), P(testfr_con), P(startdt_act), P(startdt_con), P(interrogation_act), P(end_of_init),
		P(s_frame), P(single_command_act), P(single_command_con_term_and_sp), P(nine_monitor_apdus),
		P(clock_sync_gi_ci), P(clock_sync_con), P(single_command_unknown_ioa), P(setpoint_negative_con),
		P(reset_process_qrp1), P(reset_process_qrp2), P(stopdt_act), P(stopdt_con),
#undef P
	};

	for (size_t i = 0; i < sizeof(apdus) / sizeof(apdus[0]); i++) {
		size_t whole = (size_t)D->pdu_len(apdus[i].p, apdus[i].len);
		for (size_t n = 0; n < whole; n++) {
			uint8_t *copy = malloc(n ? n : 1);
			assert_non_null(copy);
			memcpy(copy, apdus[i].p, n);
			if (n)
				assert_true(D->pdu_len(copy, n) <= 0 || (size_t)D->pdu_len(copy, n) > n);
			harness_init(&h, D);
			assert_int_not_equal(harness_parse(&h, D, TO_SERVER, copy, n), PROTO_OK);
			free(copy);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pdu_len_frames_apci),
		cmocka_unit_test(u_and_s_formats),
		cmocka_unit_test(asdu_type_ids_and_roles),
		cmocka_unit_test(clock_sync_and_reset_events),
		cmocka_unit_test(negative_replies),
		cmocka_unit_test(violations),
		cmocka_unit_test(send_sequence_numbers),
		cmocka_unit_test(every_prefix_is_safe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
