/* The DHCP/BOOTP dissector (sensor-agent/dissect/dhcp.c): message types, client facts keyed by chaddr, roles,
 * lease addresses, overloaded options, and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/proto_harness.h"

static struct harness H;

/* The captures' messages are 236-byte headers that are zero after chaddr (sname and file empty): each is
 * stored as its first 44 bytes (op .. chaddr) and the options after the magic cookie, and rebuilt here. */
static size_t build(uint8_t *out, const uint8_t *hdr, size_t hdr_len, const uint8_t *opts, size_t opts_len)
{
	memset(out, 0, 240);
	memcpy(out, hdr, hdr_len);
	memcpy(out + 236, "\x63\x82\x53\x63", 4);
	memcpy(out + 240, opts, opts_len);
	return 240 + opts_len;
}

#define BUILD(buf, hdr, opts) build(buf, hdr, sizeof(hdr), opts, sizeof(opts))

/* dhcp/dhcp_client.pcap frame 1: DISCOVER 0.0.0.0 -> 255.255.255.255, hostname "bluedogblue". */
static const uint8_t DISCOVER_HDR[] = {
	0x01, 0x01, 0x06, 0x00, 0x05, 0x32, 0xaf, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1d, 0xe0, 0x8c,
	0xcf, 0xf3, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t DISCOVER_OPTS[] = {
	0x35, 0x01, 0x01, 0x32, 0x04, 0xc0, 0xa8, 0x0a, 0x64, 0x0c, 0x0b, 0x62, 0x6c, 0x75, 0x65, 0x64,
	0x6f, 0x67, 0x62, 0x6c, 0x75, 0x65, 0x37, 0x0d, 0x01, 0x1c, 0x02, 0x03, 0x0f, 0x06, 0x77, 0x0c,
	0x2c, 0x2f, 0x1a, 0x79, 0x2a, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* dhcp/dhcp_client.pcap frame 4: ACK 192.168.130.1 -> 192.168.130.28, yiaddr 192.168.130.28. */
static const uint8_t ACK_HDR[] = {
	0x02, 0x01, 0x06, 0x00, 0x05, 0x32, 0xaf, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xc0, 0xa8, 0x82, 0x1c, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x82, 0x01, 0x00, 0x1d, 0xe0, 0x8c,
	0xcf, 0xf3, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t ACK_OPTS[] = {
	0x35, 0x01, 0x05, 0x3a, 0x04, 0x00, 0x00, 0x01, 0xc2, 0x3b, 0x04, 0x00, 0x00, 0x03, 0x13, 0x33,
	0x04, 0x00, 0x00, 0x03, 0x84, 0x36, 0x04, 0x0a, 0x0b, 0xe0, 0x3a, 0x01, 0x04, 0xff, 0xff, 0xff,
	0x00, 0x03, 0x04, 0xc0, 0xa8, 0x82, 0x01, 0x0f, 0x09, 0x55, 0x55, 0x2e, 0x4c, 0x6f, 0x63, 0x61,
	0x6c, 0x00, 0x06, 0x08, 0x0a, 0x0b, 0xe0, 0x32, 0x0a, 0x0b, 0xe0, 0x33, 0xff,
};

/* dhcp/DHCP.pcap frame 78: REQUEST from a Raspberry Pi (dhcpcd), hostname "raspberrypi", option 60
 * "dhcpcd-6.11.5:Linux-4.1.18-v7+:armv7l:BCM2709". */
static const uint8_t RPI_HDR[] = {
	0x01, 0x01, 0x06, 0x01, 0x06, 0x8c, 0x48, 0x47, 0x00, 0x00, 0x00, 0x00, 0x3e, 0x0c, 0xad, 0x7b,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3e, 0x0c, 0xad, 0x79, 0xb8, 0x27, 0xeb, 0xb8,
	0x53, 0xc8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t RPI_OPTS[] = {
	0x35, 0x01, 0x03, 0x3d, 0x07, 0x01, 0xb8, 0x27, 0xeb, 0xb8, 0x53, 0xc8, 0x39, 0x02, 0x05, 0xc0,
	0xa1, 0x36, 0x68, 0x74, 0x74, 0x70, 0x73, 0x3a, 0x2f, 0x2f, 0x6d, 0x75, 0x64, 0x63, 0x74, 0x6c,
	0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f, 0x6d, 0x2f, 0x2e, 0x77, 0x65,
	0x6c, 0x6c, 0x2d, 0x6b, 0x6e, 0x6f, 0x77, 0x6e, 0x2f, 0x6d, 0x75, 0x64, 0x2f, 0x76, 0x31, 0x2f,
	0x72, 0x61, 0x73, 0x62, 0x70, 0x31, 0x30, 0x31, 0x3c, 0x2d, 0x64, 0x68, 0x63, 0x70, 0x63, 0x64,
	0x2d, 0x36, 0x2e, 0x31, 0x31, 0x2e, 0x35, 0x3a, 0x4c, 0x69, 0x6e, 0x75, 0x78, 0x2d, 0x34, 0x2e,
	0x31, 0x2e, 0x31, 0x38, 0x2d, 0x76, 0x37, 0x2b, 0x3a, 0x61, 0x72, 0x6d, 0x76, 0x37, 0x6c, 0x3a,
	0x42, 0x43, 0x4d, 0x32, 0x37, 0x30, 0x39, 0x0c, 0x0b, 0x72, 0x61, 0x73, 0x70, 0x62, 0x65, 0x72,
	0x72, 0x79, 0x70, 0x69, 0x91, 0x01, 0x01, 0x37, 0x10, 0x01, 0x79, 0x21, 0x03, 0x06, 0x0c, 0x0f,
	0x1c, 0x2a, 0x33, 0x36, 0x3a, 0x3b, 0x64, 0x65, 0x77, 0xff,
};

/* dhcp/DHCP.pcap frame 24: LEASEACTIVE (13) from server 10.40.2.3 to relay 10.30.1.1, ciaddr 10.30.4.4. */
static const uint8_t LA_HDR[] = {
	0x02, 0x01, 0x06, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x1e, 0x04, 0x04,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x1e, 0x01, 0x01, 0x5a, 0x4f, 0x34, 0xb1,
	0xaf, 0x66, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t LA_OPTS[] = {
	0x35, 0x01, 0x0d, 0x36, 0x04, 0x0a, 0x28, 0x02, 0x03, 0x33, 0x04, 0x00, 0x00, 0xa8, 0xb3, 0x3a,
	0x04, 0x00, 0x00, 0x54, 0x53, 0x3b, 0x04, 0x00, 0x00, 0x93, 0x9b, 0x5c, 0x04, 0x0a, 0x32, 0x04,
	0x04, 0x5b, 0x04, 0x00, 0x00, 0x00, 0x0d, 0xff,
};

/* dhcp/DHCP.pcap frame 13: ACK to an INFORM (yiaddr 0: no lease). */
static const uint8_t INFORM_ACK_HDR[] = {
	0x02, 0x01, 0x06, 0x00, 0xa4, 0x2c, 0xec, 0x51, 0x00, 0x00, 0x00, 0x00, 0x80, 0x02, 0x06, 0x7a,
	0x00, 0x00, 0x00, 0x00, 0xac, 0x13, 0xe6, 0x07, 0x00, 0x00, 0x00, 0x00, 0x90, 0xb1, 0x1c, 0x99,
	0x49, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t INFORM_ACK_OPTS[] = {
	0x35, 0x01, 0x05, 0x36, 0x04, 0x80, 0x02, 0x06, 0x98, 0x01, 0x04, 0xff, 0xff, 0xff, 0x00, 0xff,
};

static const uint8_t MAC_BLUEDOG[6] = { 0x00, 0x1d, 0xe0, 0x8c, 0xcf, 0xf3 };

static const struct harness_obs *find(enum proto_attr attr)
{
	for (size_t i = 0; i < H.n; i++)
		if (H.obs[i].o.kind == PROTO_OBS_ATTR && H.obs[i].o.attr == attr)
			return &H.obs[i];
	return NULL;
}

static void assert_mac_fact(enum proto_attr attr, const uint8_t mac[6], const char *text)
{
	const struct harness_obs *r = find(attr);

	assert_non_null(r);
	assert_int_equal(r->o.target.kind, PROTO_TARGET_MAC);
	assert_memory_equal(r->o.target.addr, mac, 6);
	assert_string_equal(r->buf, text);
}

static void set_v4(const uint8_t src[4], const uint8_t dst[4], bool bcast_mac)
{
	H.frame.ip_version = 4;
	memcpy(H.frame.src_ip, src, 4);
	memcpy(H.frame.dst_ip, dst, 4);
	H.frame.has_dst_mac = true;
	memset(H.frame.dst_mac, bcast_mac ? 0xff : 0x02, 6);
}

static void discover_broadcast(void **s)
{
	uint8_t buf[600];
	size_t n = BUILD(buf, DISCOVER_HDR, DISCOVER_OPTS);

	(void)s;
	harness_init(&H, &dissector_dhcp);
	set_v4((const uint8_t[]){ 0, 0, 0, 0 }, (const uint8_t[]){ 255, 255, 255, 255 }, true);
	assert_int_equal(harness_parse(&H, &dissector_dhcp, PROTO_DIR_TO_SERVER, buf, n), PROTO_OK);
	assert_true(harness_has_function(&H, 1));
	assert_int_equal(H.ctx.src_role, PROTO_ROLE_CLIENT);
	assert_int_equal(H.ctx.dst_role, PROTO_ROLE_NONE);
	assert_mac_fact(PROTO_ATTR_HOSTNAME, MAC_BLUEDOG, "bluedogblue");
	assert_null(find(PROTO_ATTR_DHCP_ADDRESS));
	assert_null(find(PROTO_ATTR_DHCP_VENDOR_CLASS));
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, NULL), 0);
}

static void ack_binds_lease_to_mac(void **s)
{
	uint8_t buf[600];
	size_t n = BUILD(buf, ACK_HDR, ACK_OPTS);

	(void)s;
	harness_init(&H, &dissector_dhcp);
	set_v4((const uint8_t[]){ 192, 168, 130, 1 }, (const uint8_t[]){ 192, 168, 130, 28 }, false);
	assert_int_equal(harness_parse(&H, &dissector_dhcp, PROTO_DIR_TO_CLIENT, buf, n), PROTO_OK);
	assert_true(harness_has_function(&H, 5));
	assert_int_equal(H.ctx.src_role, PROTO_ROLE_SERVER);
	assert_int_equal(H.ctx.dst_role, PROTO_ROLE_CLIENT);
	assert_mac_fact(PROTO_ATTR_DHCP_ADDRESS, MAC_BLUEDOG, "192.168.130.28");
	assert_null(find(PROTO_ATTR_HOSTNAME));
}

static void dhcpcd_request_vendor_class_and_os(void **s)
{
	static const uint8_t mac[6] = { 0xb8, 0x27, 0xeb, 0xb8, 0x53, 0xc8 };
	uint8_t buf[600];
	size_t n = BUILD(buf, RPI_HDR, RPI_OPTS);

	(void)s;
	harness_init(&H, &dissector_dhcp);
	assert_int_equal(harness_parse(&H, &dissector_dhcp, PROTO_DIR_TO_SERVER, buf, n), PROTO_OK);
	assert_true(harness_has_function(&H, 3));
	assert_mac_fact(PROTO_ATTR_HOSTNAME, mac, "raspberrypi");
	assert_mac_fact(PROTO_ATTR_DHCP_VENDOR_CLASS, mac, "dhcpcd-6.11.5:Linux-4.1.18-v7+:armv7l:BCM2709");
	assert_mac_fact(PROTO_ATTR_OS, mac, "Linux");
}

static void leaseactive_names_ciaddr(void **s)
{
	static const uint8_t mac[6] = { 0x5a, 0x4f, 0x34, 0xb1, 0xaf, 0x66 };
	uint8_t buf[600];
	size_t n = BUILD(buf, LA_HDR, LA_OPTS);

	(void)s;
	harness_init(&H, &dissector_dhcp);
	assert_int_equal(harness_parse(&H, &dissector_dhcp, PROTO_DIR_TO_CLIENT, buf, n), PROTO_OK);
	assert_true(harness_has_function(&H, 13));
	assert_mac_fact(PROTO_ATTR_DHCP_ADDRESS, mac, "10.30.4.4");
}

static void inform_ack_has_no_lease(void **s)
{
	uint8_t buf[600];
	size_t n = BUILD(buf, INFORM_ACK_HDR, INFORM_ACK_OPTS);

	(void)s;
	harness_init(&H, &dissector_dhcp);
	assert_int_equal(harness_parse(&H, &dissector_dhcp, PROTO_DIR_TO_CLIENT, buf, n), PROTO_OK);
	assert_true(harness_has_function(&H, 5));
	assert_null(find(PROTO_ATTR_DHCP_ADDRESS));
}

/* Hand-built from RFC 2132 / RFC 4702: a Windows REQUEST with option 60 "MSFT 5.0", option 81 in DNS wire
 * format, and every defined message type. */
static void windows_fqdn_and_os(void **s)
{
	static const uint8_t opts[] = {
		53, 1, 3,
		60, 8, 'M', 'S', 'F', 'T', ' ', '5', '.', '0',
		81, 3 + 17, 0x04 | 0x01, 0, 0, 4, 'w', 'k', '0', '1', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		255,
	};
	uint8_t buf[600];
	size_t n = BUILD(buf, DISCOVER_HDR, opts);

	(void)s;
	harness_init(&H, &dissector_dhcp);
	assert_int_equal(harness_parse(&H, &dissector_dhcp, PROTO_DIR_TO_SERVER, buf, n), PROTO_OK);
	assert_mac_fact(PROTO_ATTR_FQDN, MAC_BLUEDOG, "wk01.example.com");
	assert_mac_fact(PROTO_ATTR_OS, MAC_BLUEDOG, "Windows");
	assert_mac_fact(PROTO_ATTR_DHCP_VENDOR_CLASS, MAC_BLUEDOG, "MSFT 5.0");
}

static void other_os_hints_and_ascii_fqdn(void **s)
{
	static const struct {
		const char *vc, *os;
	} cases[] = {
		{ "android-dhcp-13", "Android" },
		{ "udhcp 1.36.1", "Linux" },
		{ "dhcpcd-9.4.1:NetBSD-10.0:amd64:x86", "NetBSD" },
		{ "dhcpcd-5.5.6", "Linux" },
		{ "PXEClient:Arch:00000:UNDI:002001", NULL },
	};

	(void)s;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t opts[128], buf[600];
		size_t l = strlen(cases[i].vc), k = 0, n;

		opts[k++] = 53, opts[k++] = 1, opts[k++] = 1;
		opts[k++] = 60, opts[k++] = (uint8_t)l;
		memcpy(opts + k, cases[i].vc, l);
		k += l;
		memcpy(opts + k, "\x51\x0b\x00\x00\x00host.lan\xff", 14); /* option 81, ASCII form (E bit clear) */
		k += 14;
		n = build(buf, DISCOVER_HDR, sizeof(DISCOVER_HDR), opts, k);
		harness_init(&H, &dissector_dhcp);
		assert_int_equal(harness_parse(&H, &dissector_dhcp, PROTO_DIR_TO_SERVER, buf, n), PROTO_OK);
		if (cases[i].os)
			assert_mac_fact(PROTO_ATTR_OS, MAC_BLUEDOG, cases[i].os);
		else
			assert_null(find(PROTO_ATTR_OS));
		assert_mac_fact(PROTO_ATTR_FQDN, MAC_BLUEDOG, "host.lan");
	}
}

static void all_message_types(void **s)
{
	uint8_t opts[] = { 53, 1, 0, 255 }, buf[600];

	(void)s;
	for (int t = 1; t <= 18; t++) {
		opts[2] = (uint8_t)t;
		harness_init(&H, &dissector_dhcp);
		assert_int_equal(harness_parse(&H, &dissector_dhcp, 0, buf, BUILD(buf, DISCOVER_HDR, opts)), PROTO_OK);
		assert_true(harness_has_function(&H, t));
		assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, NULL), 0);
	}
	for (size_t i = 0; i < 4; i++) {
		static const uint8_t bad[] = { 0, 19, 100, 254 };
		opts[2] = bad[i];
		harness_init(&H, &dissector_dhcp);
		assert_int_equal(harness_parse(&H, &dissector_dhcp, 0, buf, BUILD(buf, DISCOVER_HDR, opts)), PROTO_OK);
		assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "illegal_function"), 1);
		assert_false(harness_has_function(&H, bad[i]));
	}
}

/* Option 52 (RFC 2132 9.3): the hostname travels in the file field, the message type in sname. */
static void overloaded_options(void **s)
{
	static const uint8_t opts[] = { 52, 1, 3, 255 };
	uint8_t buf[600];
	size_t n = BUILD(buf, DISCOVER_HDR, opts);

	(void)s;
	memcpy(buf + 108, "\x0c\x05plc07\xff", 8);
	memcpy(buf + 44, "\x35\x01\x08\xff", 4);
	harness_init(&H, &dissector_dhcp);
	assert_int_equal(harness_parse(&H, &dissector_dhcp, 0, buf, n), PROTO_OK);
	assert_true(harness_has_function(&H, 8));
	assert_mac_fact(PROTO_ATTR_HOSTNAME, MAC_BLUEDOG, "plc07");

	buf[108 + 1] = 200; /* runs past the file field */
	harness_init(&H, &dissector_dhcp);
	assert_int_equal(harness_parse(&H, &dissector_dhcp, 0, buf, n), PROTO_MALFORMED);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "truncated"), 1);
}

/* Plain BOOTP (RFC 951): no cookie; a reply's yiaddr is still the client's address. */
static void plain_bootp(void **s)
{
	uint8_t buf[300];

	(void)s;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, ACK_HDR, sizeof(ACK_HDR));
	harness_init(&H, &dissector_dhcp);
	assert_int_equal(harness_parse(&H, &dissector_dhcp, 1, buf, sizeof(buf)), PROTO_OK);
	assert_mac_fact(PROTO_ATTR_DHCP_ADDRESS, MAC_BLUEDOG, "192.168.130.28");
	assert_false(harness_has_function(&H, 5));
	harness_init(&H, &dissector_dhcp);
	assert_int_equal(harness_parse(&H, &dissector_dhcp, 1, buf, 236), PROTO_OK);
}

static void malformed(void **s)
{
	uint8_t buf[600];
	size_t n = BUILD(buf, DISCOVER_HDR, DISCOVER_OPTS);

	(void)s;
	/* dhcp/DHCP.pcap frame 57 (tshark: malformed): the cookie sits two bytes early. */
	memmove(buf + 234, buf + 236, n - 236);
	harness_init(&H, &dissector_dhcp);
	assert_int_equal(harness_parse(&H, &dissector_dhcp, 0, buf, n - 2), PROTO_MALFORMED);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "bad_magic_cookie"), 1);

	n = BUILD(buf, DISCOVER_HDR, DISCOVER_OPTS);
	buf[0] = 3;
	harness_init(&H, &dissector_dhcp);
	assert_int_equal(harness_parse(&H, &dissector_dhcp, 0, buf, n), PROTO_MALFORMED);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "bad_header"), 1);

	n = BUILD(buf, DISCOVER_HDR, ((const uint8_t[]){ 53, 2, 1, 1, 12, 1, 'x', 255 })); /* option 53, length 2 */
	harness_init(&H, &dissector_dhcp);
	assert_int_equal(harness_parse(&H, &dissector_dhcp, 0, buf, n), PROTO_MALFORMED);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "bad_option"), 1);
	assert_int_equal(harness_count(&H, PROTO_OBS_ATTR, NULL), 0);

	harness_init(&H, &dissector_dhcp);
	assert_int_equal(harness_parse(&H, &dissector_dhcp, 0, buf, 100), PROTO_MALFORMED);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "truncated"), 1);
}

/* Every prefix of a valid message parses without reading past it (ASan build); a prefix that cuts an
 * option is malformed, one that ends between options is a valid message without its tail. */
static void every_prefix(void **s)
{
	uint8_t buf[600];
	size_t n = BUILD(buf, RPI_HDR, RPI_OPTS);

	(void)s;
	for (size_t l = 0; l <= n; l++) {
		uint8_t *copy = malloc(l ? l : 1);
		enum proto_result r;

		memcpy(copy, buf, l);
		harness_init(&H, &dissector_dhcp);
		r = harness_parse(&H, &dissector_dhcp, 0, copy, l);
		assert_true(r == PROTO_OK || r == PROTO_MALFORMED);
		if (l < 236)
			assert_int_equal(r, PROTO_MALFORMED);
		free(copy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(discover_broadcast),
		cmocka_unit_test(ack_binds_lease_to_mac),
		cmocka_unit_test(dhcpcd_request_vendor_class_and_os),
		cmocka_unit_test(leaseactive_names_ciaddr),
		cmocka_unit_test(inform_ack_has_no_lease),
		cmocka_unit_test(windows_fqdn_and_os),
		cmocka_unit_test(other_os_hints_and_ascii_fqdn),
		cmocka_unit_test(all_message_types),
		cmocka_unit_test(overloaded_options),
		cmocka_unit_test(plain_bootp),
		cmocka_unit_test(malformed),
		cmocka_unit_test(every_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
