/* The NetBIOS name service dissector (sensor-agent/dissect/nbns.c): first-level encoded names, opcodes as
 * functions, host names from registrations, answers and node status, roles, malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/proto_harness.h"

/* dnp3/dnp3value.pcap frame 924: 192.168.1.150 -> 192.168.1.255 (eth dst ff:ff:ff:ff:ff:ff), 68 bytes */
static const uint8_t REG_WORKSTATION[] = {
	0xf9, 0x95, 0x29, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x45, 0x45, 0x45,
	0x46, 0x46, 0x44, 0x45, 0x4c, 0x46, 0x45, 0x45, 0x50, 0x46, 0x41, 0x43, 0x4e, 0x45, 0x4e, 0x44,
	0x46, 0x45, 0x44, 0x44, 0x48, 0x45, 0x4d, 0x44, 0x42, 0x44, 0x45, 0x41, 0x41, 0x00, 0x00, 0x20,
	0x00, 0x01, 0xc0, 0x0c, 0x00, 0x20, 0x00, 0x01, 0x00, 0x04, 0x93, 0xe0, 0x00, 0x06, 0x60, 0x00,
	0xc0, 0xa8, 0x01, 0x96,
};
/* dnp3/dnp3value.pcap frame 926: 192.168.1.150 -> 192.168.1.255 (eth dst ff:ff:ff:ff:ff:ff), 68 bytes */
static const uint8_t REG_SERVER[] = {
	0xf9, 0x97, 0x29, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x45, 0x45, 0x45,
	0x46, 0x46, 0x44, 0x45, 0x4c, 0x46, 0x45, 0x45, 0x50, 0x46, 0x41, 0x43, 0x4e, 0x45, 0x4e, 0x44,
	0x46, 0x45, 0x44, 0x44, 0x48, 0x45, 0x4d, 0x44, 0x42, 0x44, 0x45, 0x43, 0x41, 0x00, 0x00, 0x20,
	0x00, 0x01, 0xc0, 0x0c, 0x00, 0x20, 0x00, 0x01, 0x00, 0x04, 0x93, 0xe0, 0x00, 0x06, 0x60, 0x00,
	0xc0, 0xa8, 0x01, 0x96,
};
/* dnp3/dnp3value.pcap frame 925: 192.168.1.150 -> 192.168.1.255 (eth dst ff:ff:ff:ff:ff:ff), 68 bytes */
static const uint8_t REG_WORKGROUP[] = {
	0xf9, 0x96, 0x29, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x46, 0x48, 0x45,
	0x50, 0x46, 0x43, 0x45, 0x4c, 0x45, 0x48, 0x46, 0x43, 0x45, 0x50, 0x46, 0x46, 0x46, 0x41, 0x43,
	0x41, 0x43, 0x41, 0x43, 0x41, 0x43, 0x41, 0x43, 0x41, 0x43, 0x41, 0x41, 0x41, 0x00, 0x00, 0x20,
	0x00, 0x01, 0xc0, 0x0c, 0x00, 0x20, 0x00, 0x01, 0x00, 0x04, 0x93, 0xe0, 0x00, 0x06, 0xe0, 0x00,
	0xc0, 0xa8, 0x01, 0x96,
};
/* dnp3/dnp3value.pcap frame 1163: 192.168.1.200 -> 192.168.1.255 (eth dst ff:ff:ff:ff:ff:ff), 68 bytes */
static const uint8_t REG_MSBROWSE[] = {
	0xce, 0x01, 0x29, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x41, 0x42, 0x41,
	0x43, 0x46, 0x50, 0x46, 0x50, 0x45, 0x4e, 0x46, 0x44, 0x45, 0x43, 0x46, 0x43, 0x45, 0x50, 0x46,
	0x48, 0x46, 0x44, 0x45, 0x46, 0x46, 0x50, 0x46, 0x50, 0x41, 0x43, 0x41, 0x42, 0x00, 0x00, 0x20,
	0x00, 0x01, 0xc0, 0x0c, 0x00, 0x20, 0x00, 0x01, 0x00, 0x04, 0x93, 0xe0, 0x00, 0x06, 0xe0, 0x00,
	0xc0, 0xa8, 0x01, 0xc8,
};
/* dnp3/dnp3value.pcap frame 942: 192.168.1.200 -> 192.168.1.255 (eth dst ff:ff:ff:ff:ff:ff), 50 bytes */
static const uint8_t QUERY_ISATAP[] = {
	0xcd, 0xef, 0x01, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x45, 0x4a, 0x46,
	0x44, 0x45, 0x42, 0x46, 0x45, 0x45, 0x42, 0x46, 0x41, 0x43, 0x41, 0x43, 0x41, 0x43, 0x41, 0x43,
	0x41, 0x43, 0x41, 0x43, 0x41, 0x43, 0x41, 0x43, 0x41, 0x43, 0x41, 0x41, 0x41, 0x00, 0x00, 0x20,
	0x00, 0x01,
};
/* profinet/PROFINET.pcap frame 21: 169.254.216.43 -> 169.254.255.255 (eth dst ff:ff:ff:ff:ff:ff), 50 bytes */
static const uint8_t QUERY_PN[] = {
	0xd5, 0x7c, 0x01, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x45, 0x4f, 0x46,
	0x45, 0x46, 0x44, 0x43, 0x4e, 0x45, 0x42, 0x45, 0x4e, 0x43, 0x4e, 0x45, 0x4e, 0x45, 0x4a, 0x46,
	0x41, 0x46, 0x44, 0x44, 0x41, 0x44, 0x42, 0x43, 0x41, 0x43, 0x41, 0x43, 0x41, 0x00, 0x00, 0x20,
	0x00, 0x01,
};

static struct harness H;

static void frame_v4(const uint8_t src[4], const uint8_t dst[4], bool bcast)
{
	memset(&H.frame, 0, sizeof(H.frame));
	H.frame.ip_version = 4;
	memcpy(H.frame.src_ip, src, 4);
	memcpy(H.frame.dst_ip, dst, 4);
	H.frame.transport = DISSECT_T_UDP;
	H.frame.has_dst_mac = true;
	memset(H.frame.dst_mac, bcast ? 0xff : 0x02, 6);
}

static const struct harness_obs *find_attr(enum proto_attr attr, size_t nth)
{
	for (size_t i = 0; i < H.n; i++)
		if (H.obs[i].o.kind == PROTO_OBS_ATTR && H.obs[i].o.attr == attr && nth-- == 0)
			return &H.obs[i];
	return NULL;
}

static enum proto_result parse(const uint8_t *p, size_t len)
{
	return harness_parse(&H, &dissector_nbns, PROTO_DIR_TO_SERVER, p, len);
}

static const uint8_t HOST_150[4] = { 192, 168, 1, 150 };
static const uint8_t BCAST[4] = { 192, 168, 1, 255 };

static void registration_names_sender(void **s)
{
	const struct harness_obs *r;

	(void)s;
	harness_init(&H, &dissector_nbns);
	frame_v4(HOST_150, BCAST, true);
	assert_int_equal(parse(REG_WORKSTATION, sizeof(REG_WORKSTATION)), PROTO_OK);
	assert_true(harness_has_function(&H, 5));
	assert_string_equal(H.obs[H.n - 1].o.name, "registration");
	assert_int_equal(H.ctx.src_role, PROTO_ROLE_CLIENT);
	assert_int_equal(H.ctx.dst_role, PROTO_ROLE_NONE);
	r = find_attr(PROTO_ATTR_HOSTNAME, 0);
	assert_non_null(r);
	assert_int_equal(r->o.target.kind, PROTO_TARGET_SRC);
	assert_string_equal(r->buf, "DESKTOP-M5C7L14");

	harness_init(&H, &dissector_nbns);
	frame_v4(HOST_150, BCAST, true);
	assert_int_equal(parse(REG_SERVER, sizeof(REG_SERVER)), PROTO_OK);
	assert_string_equal(harness_attr(&H, PROTO_ATTR_HOSTNAME), "DESKTOP-M5C7L14");
}

static void group_and_special_names_are_not_hosts(void **s)
{
	(void)s;
	harness_init(&H, &dissector_nbns);
	frame_v4(HOST_150, BCAST, true);
	assert_int_equal(parse(REG_WORKGROUP, sizeof(REG_WORKGROUP)), PROTO_OK); /* WORKGROUP<00>, G bit */
	assert_null(find_attr(PROTO_ATTR_HOSTNAME, 0));
	assert_true(harness_has_function(&H, 5));

	harness_init(&H, &dissector_nbns);
	frame_v4((const uint8_t[]){ 192, 168, 1, 200 }, BCAST, true);
	assert_int_equal(parse(REG_MSBROWSE, sizeof(REG_MSBROWSE)), PROTO_OK); /* \x01\x02__MSBROWSE__\x02<01> */
	assert_null(find_attr(PROTO_ATTR_HOSTNAME, 0));
}

static void queries(void **s)
{
	(void)s;
	harness_init(&H, &dissector_nbns);
	frame_v4((const uint8_t[]){ 192, 168, 1, 200 }, BCAST, true);
	assert_int_equal(parse(QUERY_ISATAP, sizeof(QUERY_ISATAP)), PROTO_OK);
	assert_true(harness_has_function(&H, 0));
	assert_string_equal(H.obs[0].o.name, "query");
	assert_int_equal(H.n, 1);
	assert_int_equal(H.ctx.src_role, PROTO_ROLE_CLIENT);
	assert_int_equal(H.ctx.dst_role, PROTO_ROLE_NONE);

	harness_init(&H, &dissector_nbns);
	frame_v4((const uint8_t[]){ 169, 254, 216, 43 }, (const uint8_t[]){ 169, 254, 255, 255 }, true);
	assert_int_equal(parse(QUERY_PN, sizeof(QUERY_PN)), PROTO_OK);
	assert_true(harness_has_function(&H, 0));
}

/* Hand-built messages (RFC 1002 4.2). */
#define HDR(id, flags, qd, an, ns, ar) \
	(id) >> 8, (id) & 0xff, (flags) >> 8, (flags) & 0xff, 0, qd, 0, an, 0, ns, 0, ar

/* Writes the first-level encoding of a 15-character name padded with spaces plus its suffix. */
static size_t put_name(uint8_t *p, const char *name, uint8_t suffix)
{
	uint8_t nb[16];
	size_t l = strlen(name);

	memset(nb, ' ', 15);
	memcpy(nb, name, l);
	nb[15] = suffix;
	p[0] = 32;
	for (int i = 0; i < 16; i++) {
		p[1 + 2 * i] = (uint8_t)('A' + (nb[i] >> 4));
		p[2 + 2 * i] = (uint8_t)('A' + (nb[i] & 0xf));
	}
	p[33] = 0;
	return 34;
}

/* A positive name query response (R, AA, opcode 0, rcode 0) for name<suffix> with one NB entry. */
static size_t positive_response(uint8_t *p, const char *name, uint8_t suffix, uint16_t nb_flags,
				const uint8_t addr[4])
{
	static const uint8_t hdr[] = { HDR(0x1234, 0x8500, 0, 1, 0, 0) };
	size_t k = sizeof(hdr);

	memcpy(p, hdr, k);
	k += put_name(p + k, name, suffix);
	memcpy(p + k, "\x00\x20\x00\x01\x00\x04\x93\xe0\x00\x06", 10);
	k += 10;
	p[k++] = (uint8_t)(nb_flags >> 8);
	p[k++] = (uint8_t)nb_flags;
	memcpy(p + k, addr, 4);
	return k + 4;
}

static void positive_answers(void **s)
{
	static const uint8_t plc[4] = { 10, 0, 0, 7 }, wins[4] = { 10, 0, 0, 1 };
	uint8_t msg[128];
	size_t n;
	const struct harness_obs *r;

	(void)s;
	/* The host answering for itself. */
	n = positive_response(msg, "HMI-LINE3", 0x20, 0x0000, plc);
	harness_init(&H, &dissector_nbns);
	frame_v4(plc, (const uint8_t[]){ 10, 0, 0, 9 }, false);
	assert_int_equal(parse(msg, n), PROTO_OK);
	assert_int_equal(H.ctx.src_role, PROTO_ROLE_SERVER);
	assert_int_equal(H.ctx.dst_role, PROTO_ROLE_CLIENT);
	r = find_attr(PROTO_ATTR_HOSTNAME, 0);
	assert_non_null(r);
	assert_int_equal(r->o.target.kind, PROTO_TARGET_SRC);
	assert_string_equal(r->buf, "HMI-LINE3");
	assert_int_equal(harness_count(&H, PROTO_OBS_FUNCTION, NULL), 0);

	/* A WINS server answering about another host: the fact goes to that address. */
	harness_init(&H, &dissector_nbns);
	frame_v4(wins, (const uint8_t[]){ 10, 0, 0, 9 }, false);
	assert_int_equal(parse(msg, n), PROTO_OK);
	r = find_attr(PROTO_ATTR_HOSTNAME, 0);
	assert_non_null(r);
	assert_int_equal(r->o.target.kind, PROTO_TARGET_IP);
	assert_int_equal(r->o.target.ip_version, 4);
	assert_memory_equal(r->o.target.addr, plc, 4);

	/* Negative answers (rcode 3) and other suffixes give nothing. */
	msg[3] = 0x03;
	harness_init(&H, &dissector_nbns);
	frame_v4(plc, (const uint8_t[]){ 10, 0, 0, 9 }, false);
	assert_int_equal(parse(msg, n), PROTO_OK);
	assert_null(find_attr(PROTO_ATTR_HOSTNAME, 0));
	n = positive_response(msg, "HMI-LINE3", 0x03, 0x0000, plc);
	harness_init(&H, &dissector_nbns);
	assert_int_equal(parse(msg, n), PROTO_OK);
	assert_null(find_attr(PROTO_ATTR_HOSTNAME, 0));
}

/* Node status (RFC 1002 4.2.17/4.2.18): the "*" query and the answer listing the node's names. */
static void node_status(void **s)
{
	static const uint8_t plc[4] = { 10, 0, 0, 7 };
	uint8_t msg[256] = { HDR(0x55, 0x0000, 1, 0, 0, 0) };
	size_t k = 12;
	static const struct {
		const char *name;
		uint8_t suffix, flags;
	} names[] = { { "WORKGROUP", 0x00, 0x84 }, { "ENG-WS02", 0x20, 0x04 }, { "ENG-WS02", 0x00, 0x04 } };

	(void)s;
	msg[k++] = 32;
	msg[k++] = 'C', msg[k++] = 'K'; /* '*' = 0x2a */
	for (int i = 0; i < 15; i++)
		msg[k++] = 'A', msg[k++] = 'A';
	msg[k++] = 0;
	memcpy(msg + k, "\x00\x21\x00\x01", 4);
	k += 4;
	harness_init(&H, &dissector_nbns);
	frame_v4((const uint8_t[]){ 10, 0, 0, 9 }, plc, false);
	assert_int_equal(parse(msg, k), PROTO_OK);
	assert_true(harness_has_function(&H, 0x21));
	assert_string_equal(H.obs[0].o.name, "node_status");
	assert_int_equal(H.ctx.dst_role, PROTO_ROLE_SERVER);

	/* The answer (no question section): the same name, NBSTAT, three names and 46 bytes of statistics. */
	msg[2] = 0x84;
	msg[5] = 0, msg[7] = 1;
	k = 12 + 34;
	memcpy(msg + k, "\x00\x21\x00\x01\x00\x00\x00\x00", 8);
	k += 8;
	msg[k++] = 0;
	msg[k++] = (uint8_t)(1 + 3 * 18 + 46);
	msg[k++] = 3;
	for (size_t i = 0; i < 3; i++) {
		memset(msg + k, ' ', 15);
		memcpy(msg + k, names[i].name, strlen(names[i].name));
		msg[k + 15] = names[i].suffix;
		msg[k + 16] = names[i].flags;
		msg[k + 17] = 0;
		k += 18;
	}
	memset(msg + k, 0, 46);
	memcpy(msg + k, "\x00\x1b\x1b\x01\x02\x03", 6); /* unit id */
	k += 46;
	harness_init(&H, &dissector_nbns);
	frame_v4(plc, (const uint8_t[]){ 10, 0, 0, 9 }, false);
	assert_int_equal(parse(msg, k), PROTO_OK);
	assert_int_equal(harness_count(&H, PROTO_OBS_ATTR, NULL), 1);
	assert_string_equal(harness_attr(&H, PROTO_ATTR_HOSTNAME), "ENG-WS02");
	assert_int_equal(find_attr(PROTO_ATTR_HOSTNAME, 0)->o.target.kind, PROTO_TARGET_SRC);

	/* A name count larger than the RDATA. */
	msg[12 + 34 + 10] = 9;
	harness_init(&H, &dissector_nbns);
	assert_int_equal(parse(msg, k), PROTO_MALFORMED);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "bad_length"), 1);
}

static void opcodes(void **s)
{
	uint8_t msg[sizeof(REG_WORKSTATION)];

	(void)s;
	memcpy(msg, REG_WORKSTATION, sizeof(msg));
	msg[2] = (uint8_t)(6 << 3); /* release: a function, no host name */
	harness_init(&H, &dissector_nbns);
	assert_int_equal(parse(msg, sizeof(msg)), PROTO_OK);
	assert_true(harness_has_function(&H, 6));
	assert_null(find_attr(PROTO_ATTR_HOSTNAME, 0));
	for (uint8_t op = 8; op <= 9; op++) { /* refresh (RFC 1002 says 8; Windows sends 9) */
		msg[2] = (uint8_t)(op << 3);
		harness_init(&H, &dissector_nbns);
		frame_v4(HOST_150, BCAST, true);
		assert_int_equal(parse(msg, sizeof(msg)), PROTO_OK);
		assert_true(harness_has_function(&H, op));
		assert_string_equal(harness_attr(&H, PROTO_ATTR_HOSTNAME), "DESKTOP-M5C7L14");
	}
	msg[2] = 0x80 | (7 << 3); /* WACK, a response */
	harness_init(&H, &dissector_nbns);
	assert_int_equal(parse(msg, sizeof(msg)), PROTO_OK);
	assert_true(harness_has_function(&H, 7));
	assert_int_equal(H.ctx.src_role, PROTO_ROLE_SERVER);
	msg[2] = (uint8_t)(3 << 3);
	harness_init(&H, &dissector_nbns);
	assert_int_equal(parse(msg, sizeof(msg)), PROTO_OK);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "illegal_function"), 1);
}

static void expect_malformed(const uint8_t *p, size_t len, const char *why)
{
	harness_init(&H, &dissector_nbns);
	assert_int_equal(parse(p, len), PROTO_MALFORMED);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, why), 1);
}

static void malformed(void **s)
{
	uint8_t msg[sizeof(REG_WORKSTATION)];
	static const uint8_t loop[] = { HDR(1, 0, 1, 0, 0, 0), 0xc0, 12, 0, 0x20, 0, 1 };

	(void)s;
	memcpy(msg, REG_WORKSTATION, sizeof(msg));
	msg[20] = 'Z'; /* not 'A'..'P' */
	expect_malformed(msg, sizeof(msg), "bad_name");
	memcpy(msg, REG_WORKSTATION, sizeof(msg));
	msg[12] = 31; /* the NetBIOS label must be 32 characters */
	expect_malformed(msg, sizeof(msg), "bad_name");
	memcpy(msg, REG_WORKSTATION, sizeof(msg));
	msg[sizeof(msg) - 7] = 5; /* NB RDATA not a multiple of 6 */
	expect_malformed(msg, sizeof(msg) - 1, "bad_length");
	memcpy(msg, REG_WORKSTATION, sizeof(msg));
	msg[sizeof(msg) - 7] = 12; /* RDATA longer than the datagram */
	expect_malformed(msg, sizeof(msg), "truncated");
	expect_malformed(loop, sizeof(loop), "bad_name");
	expect_malformed(REG_WORKSTATION, 11, "truncated");
	expect_malformed(QUERY_ISATAP, sizeof(QUERY_ISATAP) - 1, "truncated");
}

static void every_prefix(void **s)
{
	(void)s;
	for (size_t l = 0; l <= sizeof(REG_WORKSTATION); l++) {
		uint8_t *copy = malloc(l ? l : 1);
		enum proto_result r;

		memcpy(copy, REG_WORKSTATION, l);
		harness_init(&H, &dissector_nbns);
		frame_v4(HOST_150, BCAST, true);
		r = parse(copy, l);
		assert_int_equal(r, l == sizeof(REG_WORKSTATION) ? PROTO_OK : PROTO_MALFORMED);
		free(copy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(registration_names_sender),
		cmocka_unit_test(group_and_special_names_are_not_hosts),
		cmocka_unit_test(queries),
		cmocka_unit_test(positive_answers),
		cmocka_unit_test(node_status),
		cmocka_unit_test(opcodes),
		cmocka_unit_test(malformed),
		cmocka_unit_test(every_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
