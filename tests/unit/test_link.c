/* Link-layer decoding in libotw_dissect: every supported link type, VLAN tags and LLC/SNAP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sensor-agent/dissect/dissect.h"

static const uint8_t MAC_A[6] = { 0x00, 0x1d, 0x9c, 0xc6, 0x72, 0xe8 };
static const uint8_t MAC_B[6] = { 0x00, 0x0c, 0x29, 0x01, 0x02, 0x03 };

/* IPv4 (20 bytes) + UDP (8) + 4 payload bytes: 10.0.0.1:1234 -> 10.0.0.2:502. */
static size_t put_ipv4_udp(uint8_t *p)
{
	static const uint8_t pkt[] = {
		0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x04, 0xd2, 0x01, 0xf6, 0, 12, 0, 0, 'a', 'b', 'c', 'd',
	};
	memcpy(p, pkt, sizeof(pkt));
	return sizeof(pkt);
}

/* IPv6 + TCP SYN ::1:40000 -> ::2:4840. */
static size_t put_ipv6_tcp(uint8_t *p)
{
	uint8_t *q = p;
	memset(q, 0, 40);
	q[0] = 0x60;
	q[5] = 20; /* payload length */
	q[6] = 6;
	q[7] = 64;
	q[23] = 1;
	q[39] = 2;
	q += 40;
	memset(q, 0, 20);
	q[0] = 40000 >> 8;
	q[1] = 40000 & 0xff;
	q[2] = 4840 >> 8;
	q[3] = 4840 & 0xff;
	q[12] = 5 << 4;
	q[13] = 0x02;
	return 60;
}

static void check_udp(const struct dissect_frame *f)
{
	static const uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };
	assert_int_equal(f->ip_version, 4);
	assert_memory_equal(f->src_ip, a, 4);
	assert_memory_equal(f->dst_ip, b, 4);
	assert_int_equal(f->transport, DISSECT_T_UDP);
	assert_int_equal(f->src_port, 1234);
	assert_int_equal(f->dst_port, 502);
	assert_int_equal(f->payload_len, 4);
}

static size_t put_eth(uint8_t *p, uint16_t type)
{
	memcpy(p, MAC_B, 6);
	memcpy(p + 6, MAC_A, 6);
	p[12] = (uint8_t)(type >> 8);
	p[13] = (uint8_t)type;
	return 14;
}

static void ethernet_ipv4(void **state)
{
	uint8_t buf[128];
	struct dissect_frame f;
	size_t n = put_eth(buf, 0x0800);

	n += put_ipv4_udp(buf + n);
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n, &f));
	assert_true(f.has_src_mac && f.has_dst_mac);
	assert_memory_equal(f.src_mac, MAC_A, 6);
	assert_memory_equal(f.dst_mac, MAC_B, 6);
	assert_int_equal(f.ethertype, 0x0800);
	assert_false(f.has_vlan);
	check_udp(&f);
}

static void vlan_and_qinq(void **state)
{
	uint8_t buf[128];
	struct dissect_frame f;
	size_t n = put_eth(buf, 0x8100);

	buf[n++] = 0x20; /* PCP 1, VID 0x064 = 100 */
	buf[n++] = 0x64;
	buf[n++] = 0x08;
	buf[n++] = 0x00;
	n += put_ipv4_udp(buf + n);
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n, &f));
	assert_true(f.has_vlan);
	assert_int_equal(f.vlan, 100);
	check_udp(&f);

	/* 802.1ad outer 300, 802.1Q inner 42: the customer (inner) VLAN is recorded. */
	n = put_eth(buf, 0x88a8);
	const uint8_t tags[] = { 0x01, 0x2c, 0x81, 0x00, 0x00, 0x2a, 0x08, 0x00 };
	memcpy(buf + n, tags, sizeof(tags));
	n += sizeof(tags);
	n += put_ipv4_udp(buf + n);
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n, &f));
	assert_int_equal(f.vlan, 42);
	check_udp(&f);

	/* A tag cut short stops at Ethernet. */
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, 16, &f));
	assert_true(f.has_src_mac);
	assert_int_equal(f.ip_version, 0);
}

static void llc_snap_cdp_and_rfc1042(void **state)
{
	uint8_t buf[128];
	struct dissect_frame f;
	size_t n;
	static const uint8_t cdp_mac[6] = { 0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc };

	memcpy(buf, cdp_mac, 6);
	memcpy(buf + 6, MAC_A, 6);
	buf[12] = 0;
	buf[13] = 8 + 4;
	const uint8_t snap[] = { 0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00, 0x02, 0xb4, 0x00, 0x00 };
	memcpy(buf + 14, snap, sizeof(snap));
	n = 14 + sizeof(snap);
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n, &f));
	assert_string_equal(f.l2_proto, "cdp");

	/* SNAP with OUI 0 carries an ethertype (RFC 1042). */
	n = put_eth(buf, 8 + 32);
	const uint8_t rfc1042[] = { 0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00 };
	memcpy(buf + n, rfc1042, sizeof(rfc1042));
	n += sizeof(rfc1042);
	n += put_ipv4_udp(buf + n);
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n, &f));
	check_udp(&f);

	/* Plain 802.2 (STP): recognised as nothing, no crash. */
	n = put_eth(buf, 3);
	buf[n++] = 0x42;
	buf[n++] = 0x42;
	buf[n++] = 0x03;
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, buf, n, &f));
	assert_null(f.l2_proto);
	assert_int_equal(f.ip_version, 0);
}

static void linux_sll_and_sll2(void **state)
{
	uint8_t buf[128];
	struct dissect_frame f;
	size_t n = 0;

	memset(buf, 0, sizeof(buf));
	buf[1] = 0;  /* to us */
	buf[3] = 1;  /* ARPHRD_ETHER */
	buf[5] = 6;
	memcpy(buf + 6, MAC_A, 6);
	buf[14] = 0x08;
	buf[15] = 0x00;
	n = 16 + put_ipv4_udp(buf + 16);
	assert_true(dissect_frame(DISSECT_DLT_LINUX_SLL, buf, n, &f));
	assert_true(f.has_src_mac);
	assert_false(f.has_dst_mac);
	assert_memory_equal(f.src_mac, MAC_A, 6);
	check_udp(&f);

	memset(buf, 0, sizeof(buf));
	buf[0] = 0x86;
	buf[1] = 0xdd;
	buf[9] = 1;    /* ARPHRD_ETHER */
	buf[10] = 1;   /* broadcast */
	buf[11] = 6;
	memcpy(buf + 12, MAC_A, 6);
	n = 20 + put_ipv6_tcp(buf + 20);
	assert_true(dissect_frame(DISSECT_DLT_LINUX_SLL2, buf, n, &f));
	assert_true(f.link_multicast);
	assert_int_equal(f.ip_version, 6);
	assert_int_equal(f.transport, DISSECT_T_TCP);
	assert_int_equal(f.dst_port, 4840);
	assert_int_equal(f.tcp_flags, DISSECT_TCP_SYN);
}

static void bsd_loopback_both_orders(void **state)
{
	uint8_t buf[128];
	struct dissect_frame f;
	static const uint8_t af_le_inet[4] = { 2, 0, 0, 0 }, af_be_inet[4] = { 0, 0, 0, 2 };
	static const uint32_t inet6[] = { 24, 28, 30 };
	size_t n;

	memcpy(buf, af_le_inet, 4);
	n = 4 + put_ipv4_udp(buf + 4);
	assert_true(dissect_frame(DISSECT_DLT_NULL, buf, n, &f));
	check_udp(&f);
	memcpy(buf, af_be_inet, 4);
	assert_true(dissect_frame(DISSECT_DLT_LOOP, buf, n, &f));
	check_udp(&f);
	assert_false(f.has_src_mac);

	for (size_t i = 0; i < 3; i++) {
		n = 4 + put_ipv6_tcp(buf + 4);
		memset(buf, 0, 4);
		buf[0] = (uint8_t)inet6[i]; /* little-endian */
		assert_true(dissect_frame(DISSECT_DLT_NULL, buf, n, &f));
		assert_int_equal(f.ip_version, 6);
		memset(buf, 0, 4);
		buf[3] = (uint8_t)inet6[i]; /* big-endian */
		assert_true(dissect_frame(DISSECT_DLT_LOOP, buf, n, &f));
		assert_int_equal(f.ip_version, 6);
		assert_int_equal(f.transport, DISSECT_T_TCP);
	}
	/* An unknown family decodes nothing above the link. */
	buf[3] = 99;
	assert_true(dissect_frame(DISSECT_DLT_NULL, buf, n, &f));
	assert_int_equal(f.ip_version, 0);
}

static void raw_ip_linktypes(void **state)
{
	uint8_t v4[64], v6[80];
	struct dissect_frame f;
	size_t n4 = put_ipv4_udp(v4), n6 = put_ipv6_tcp(v6);
	static const int raw[] = { DISSECT_DLT_RAW, DISSECT_DLT_RAW_OPENBSD, DISSECT_LINKTYPE_RAW };

	for (size_t i = 0; i < 3; i++) {
		assert_true(dissect_frame(raw[i], v4, n4, &f));
		check_udp(&f);
		assert_true(dissect_frame(raw[i], v6, n6, &f));
		assert_int_equal(f.ip_version, 6);
	}
	assert_true(dissect_frame(DISSECT_LINKTYPE_IPV4, v4, n4, &f));
	check_udp(&f);
	assert_true(dissect_frame(DISSECT_LINKTYPE_IPV6, v6, n6, &f));
	assert_int_equal(f.ip_version, 6);
	/* The link type says IPv6 but the bytes are IPv4: nothing decodes. */
	assert_true(dissect_frame(DISSECT_LINKTYPE_IPV6, v4, n4, &f));
	assert_int_equal(f.ip_version, 0);
}

static void unsupported_linktype(void **state)
{
	uint8_t buf[4] = { 0 };
	struct dissect_frame f;

	assert_false(dissect_linktype_supported(105)); /* 802.11 */
	assert_false(dissect_frame(105, buf, sizeof(buf), &f));
	assert_true(dissect_linktype_supported(DISSECT_DLT_LINUX_SLL2));
	assert_true(dissect_frame(DISSECT_DLT_EN10MB, NULL, 0, &f));
	assert_false(f.has_src_mac);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ethernet_ipv4),
		cmocka_unit_test(vlan_and_qinq),
		cmocka_unit_test(llc_snap_cdp_and_rfc1042),
		cmocka_unit_test(linux_sll_and_sll2),
		cmocka_unit_test(bsd_loopback_both_orders),
		cmocka_unit_test(raw_ip_linktypes),
		cmocka_unit_test(unsupported_linktype),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
