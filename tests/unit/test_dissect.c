/* Network/transport decoding and the protocol registry in libotw_dissect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sensor-agent/dissect/dissect.h"
#include "sensor-agent/dissect/registry.h"

static size_t eth(uint8_t *p, uint16_t type)
{
	static const uint8_t hdr[12] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x1d, 0x9c, 0xc6, 0x72, 0xe8 };
	memcpy(p, hdr, 12);
	p[12] = (uint8_t)(type >> 8);
	p[13] = (uint8_t)type;
	return 14;
}

/* IPv4 header with the given protocol, flags/offset word and payload length. */
static size_t ipv4(uint8_t *p, uint8_t proto, uint16_t frag, uint16_t plen)
{
	uint16_t tot = (uint16_t)(20 + plen);
	const uint8_t h[20] = { 0x45, 0, (uint8_t)(tot >> 8), (uint8_t)tot, 0x12, 0x34, (uint8_t)(frag >> 8),
				(uint8_t)frag, 64, proto, 0, 0, 192, 168, 0, 1, 192, 168, 0, 2 };
	memcpy(p, h, 20);
	return 20;
}

static size_t tcp(uint8_t *p, uint16_t sport, uint16_t dport, uint8_t flags)
{
	memset(p, 0, 20);
	p[0] = (uint8_t)(sport >> 8);
	p[1] = (uint8_t)sport;
	p[2] = (uint8_t)(dport >> 8);
	p[3] = (uint8_t)dport;
	p[12] = 5 << 4;
	p[13] = flags;
	return 20;
}

static void arp_request(void **state)
{
	uint8_t buf[64];
	struct dissect_frame f;
	size_t n = eth(buf, 0x0806);
	const uint8_t arp[] = { 0, 1, 8, 0, 6, 4, 0, 1, 0x00, 0x1d, 0x9c, 0xc6, 0x72, 0xe8, 10, 0, 0, 5,
				0, 0, 0, 0, 0, 0, 10, 0, 0, 1 };

	memcpy(buf + n, arp, sizeof(arp));
	n += sizeof(arp);
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n, &f));
	assert_string_equal(f.l2_proto, "arp");
	assert_true(f.has_arp);
	assert_int_equal(f.arp_op, 1);
	assert_int_equal(f.arp_spa[3], 5);
	assert_int_equal(f.arp_tpa[3], 1);
	/* Truncated ARP: still "arp", but no addresses. */
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n - 1, &f));
	assert_string_equal(f.l2_proto, "arp");
	assert_false(f.has_arp);
}

static void ipv4_tcp_and_bad_headers(void **state)
{
	uint8_t buf[128];
	struct dissect_frame f;
	size_t n = eth(buf, 0x0800);
	size_t ip = n;

	n += ipv4(buf + n, 6, 0x4000, 20 + 5);
	n += tcp(buf + n, 50000, 502, DISSECT_TCP_SYN | DISSECT_TCP_ACK);
	memcpy(buf + n, "hello", 5);
	n += 5;
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n, &f));
	assert_int_equal(f.ip_version, 4);
	assert_false(f.ip_fragment);
	assert_int_equal(f.transport, DISSECT_T_TCP);
	assert_int_equal(f.src_port, 50000);
	assert_int_equal(f.dst_port, 502);
	assert_int_equal(f.tcp_flags, DISSECT_TCP_SYN | DISSECT_TCP_ACK);
	assert_int_equal(f.payload_len, 5);
	assert_int_equal(f.payload_caplen, 5);

	/* Ethernet padding after the IP datagram is not payload. */
	memset(buf + n, 0, 10);
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n + 10, &f));
	assert_int_equal(f.payload_len, 5);
	assert_int_equal(f.payload_caplen, 5);

	/* IHL < 5 is malformed: stop at Ethernet. */
	buf[ip] = 0x44;
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n, &f));
	assert_int_equal(f.ip_version, 0);
	assert_true(f.has_src_mac);
	/* IHL pointing past the capture. */
	buf[ip] = 0x4f;
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, ip + 30, &f));
	assert_int_equal(f.ip_version, 0);
	buf[ip] = 0x45;
	/* Total length shorter than the header. */
	buf[ip + 2] = 0;
	buf[ip + 3] = 10;
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n, &f));
	assert_int_equal(f.ip_version, 0);
	/* TCP data offset < 5: stop at IP. */
	buf[ip + 3] = 45;
	buf[ip + 20 + 12] = 4 << 4;
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n, &f));
	assert_int_equal(f.ip_version, 4);
	assert_int_equal(f.transport, DISSECT_T_NONE);
}

static void ipv4_fragments(void **state)
{
	uint8_t buf[128];
	struct dissect_frame f;
	size_t n = eth(buf, 0x0800);

	/* First fragment (MF, offset 0) carries the UDP header. */
	n += ipv4(buf + n, 17, 0x2000, 16);
	const uint8_t udp[] = { 0x13, 0x88, 0x00, 0x35, 0x01, 0x00, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 };
	memcpy(buf + n, udp, sizeof(udp));
	n += sizeof(udp);
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n, &f));
	assert_true(f.ip_fragment);
	assert_false(f.ip_later_fragment);
	assert_int_equal(f.transport, DISSECT_T_UDP);
	assert_int_equal(f.dst_port, 53);
	assert_int_equal(f.ip_frag_id, 0x1234);

	/* A later fragment: no ports, even though its bytes look like a header. */
	buf[14 + 6] = 0x00;
	buf[14 + 7] = 0x02;
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n, &f));
	assert_true(f.ip_fragment);
	assert_true(f.ip_later_fragment);
	assert_int_equal(f.transport, DISSECT_T_NONE);
	assert_int_equal(f.ip_proto, 17);
}

static size_t ipv6_hdr(uint8_t *p, uint8_t nh, uint16_t plen)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	p[4] = (uint8_t)(plen >> 8);
	p[5] = (uint8_t)plen;
	p[6] = nh;
	p[7] = 64;
	p[8] = 0xfe;
	p[9] = 0x80;
	p[23] = 1;
	p[24] = 0xff;
	p[25] = 0x02;
	p[39] = 0xfb;
	return 40;
}

static void ipv6_extension_headers(void **state)
{
	uint8_t buf[256];
	struct dissect_frame f;
	size_t n = eth(buf, 0x86dd), ip6 = n;
	size_t ext;

	n += ipv6_hdr(buf + n, 0, 8 + 16 + 8 + 8 + 13);
	ext = n;
	/* hop-by-hop (8) -> routing (16) -> fragment (8, offset 0) -> dest opts (8) -> UDP */
	const uint8_t hbh[8] = { 43, 0, 1, 4, 0, 0, 0, 0 };
	const uint8_t rt[16] = { 44, 1, 0, 0, 0, 0, 0, 0 };
	const uint8_t fr[8] = { 60, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef };
	const uint8_t dst[8] = { 17, 0, 1, 4, 0, 0, 0, 0 };
	const uint8_t udp[13] = { 0x14, 0xe9, 0x14, 0xe9, 0, 13, 0, 0, 'h', 'e', 'l', 'l', 'o' };
	memcpy(buf + n, hbh, 8), n += 8;
	memcpy(buf + n, rt, 16), n += 16;
	memcpy(buf + n, fr, 8), n += 8;
	memcpy(buf + n, dst, 8), n += 8;
	memcpy(buf + n, udp, 13), n += 13;
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n, &f));
	assert_int_equal(f.ip_version, 6);
	assert_int_equal(f.ip_proto, 17);
	assert_true(f.ip_fragment);
	assert_false(f.ip_later_fragment);
	assert_int_equal(f.ip_frag_id, 0xdeadbeef);
	assert_int_equal(f.transport, DISSECT_T_UDP);
	assert_int_equal(f.src_port, 5353);
	assert_int_equal(f.payload_len, 5);

	/* A later fragment stops at the fragment header. */
	buf[ext + 24 + 2] = 0x01;
	buf[ext + 24 + 3] = 0x00;
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n, &f));
	assert_true(f.ip_later_fragment);
	assert_int_equal(f.transport, DISSECT_T_NONE);
	buf[ext + 24 + 2] = 0x00;
	buf[ext + 24 + 3] = 0x01;

	/* A routing header whose length runs past the payload: stop at IPv6. */
	buf[ext + 8 + 1] = 200;
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n, &f));
	assert_int_equal(f.ip_version, 6);
	assert_int_equal(f.transport, DISSECT_T_NONE);
	(void)ip6;
}

/* Cutting a valid frame at every length never crashes and never decodes beyond the bytes kept. */
static void truncated_everywhere(void **state)
{
	uint8_t buf[128];
	struct dissect_frame f;
	size_t n = eth(buf, 0x8100);

	buf[n++] = 0;
	buf[n++] = 7;
	buf[n++] = 0x08;
	buf[n++] = 0x00;
	n += ipv4(buf + n, 6, 0, 20 + 3);
	n += tcp(buf + n, 1024, 102, DISSECT_TCP_ACK);
	memcpy(buf + n, "\x03\x00\x00", 3);
	n += 3;
	for (size_t cut = 0; cut <= n; cut++) {
		assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, cut, &f));
		assert_int_equal(f.has_src_mac, cut >= 14);
		assert_int_equal(f.has_vlan, cut >= 18);
		assert_int_equal(f.ip_version, cut >= 38 ? 4 : 0);
		assert_int_equal(f.transport, cut >= 58 ? DISSECT_T_TCP : DISSECT_T_NONE);
		if (f.transport)
			assert_int_equal(f.payload_caplen, cut - 58);
	}
}

static void l2_protocols(void **state)
{
	uint8_t buf[64];
	struct dissect_frame f;
	size_t n = eth(buf, 0x88cc);

	memset(buf + n, 0, 16);
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n + 16, &f));
	assert_string_equal(f.l2_proto, "lldp");
	n = eth(buf, 0x8892);
	buf[n] = 0xfe;
	buf[n + 1] = 0xfe;
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n + 16, &f));
	assert_string_equal(f.l2_proto, "pn_dcp");
	buf[n + 1] = 0xfb;
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n + 16, &f));
	assert_string_equal(f.l2_proto, "pn_rt");
	n = eth(buf, 0x88b5); /* local experimental */
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n + 16, &f));
	assert_null(f.l2_proto);
	assert_int_equal(f.ethertype, 0x88b5);
}

static void registry_ports(void **state)
{
	static const struct {
		enum dissect_transport t;
		uint16_t port;
		const char *name;
	} want[] = {
		{ DISSECT_T_TCP, 502, "mbtcp" },      { DISSECT_T_TCP, 102, "s7comm" },
		{ DISSECT_T_TCP, 20000, "dnp3" },     { DISSECT_T_UDP, 20000, "dnp3" },
		{ DISSECT_T_TCP, 44818, "enip" },     { DISSECT_T_UDP, 2222, "enip" },
		{ DISSECT_T_UDP, 47808, "bacnet" },   { DISSECT_T_TCP, 2404, "iec60870_104" },
		{ DISSECT_T_TCP, 4840, "opcua" },     { DISSECT_T_UDP, 67, "dhcp" },
		{ DISSECT_T_UDP, 68, "dhcp" },        { DISSECT_T_UDP, 53, "dns" },
		{ DISSECT_T_TCP, 53, "dns" },         { DISSECT_T_UDP, 5353, "mdns" },
		{ DISSECT_T_UDP, 137, "nbns" },       { DISSECT_T_UDP, 161, "snmp" },
		{ DISSECT_T_UDP, 162, "snmp" },       { DISSECT_T_TCP, 80, "http" },
		{ DISSECT_T_TCP, 443, "tls" },        { DISSECT_T_TCP, 22, "ssh" },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *got = registry_by_port(want[i].t, want[i].port);
		assert_non_null(got);
		assert_string_equal(got, want[i].name);
	}
	assert_null(registry_by_port(DISSECT_T_UDP, 80));
	assert_null(registry_by_port(DISSECT_T_TCP, 0));
	assert_null(registry_by_port(DISSECT_T_NONE, 502));
	assert_true(registry_is_peer("lldp"));
	assert_true(registry_is_peer("nbns"));
	assert_false(registry_is_peer("mbtcp"));
	assert_false(registry_is_peer(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(arp_request),
		cmocka_unit_test(ipv4_tcp_and_bad_headers),
		cmocka_unit_test(ipv4_fragments),
		cmocka_unit_test(ipv6_extension_headers),
		cmocka_unit_test(truncated_everywhere),
		cmocka_unit_test(l2_protocols),
		cmocka_unit_test(registry_ports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
