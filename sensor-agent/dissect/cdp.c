/* CDP (Cisco Discovery Protocol, versions 1 and 2), carried in 802.3 + LLC/SNAP with OUI 00000c and protocol id
 * 0x2000. A 4-byte header (version, TTL, checksum) is followed by TLVs whose 16-bit length includes their own
 * 4-byte header.
 *
 * Facts are about the announcing device (the frame's source): device id -> hostname, the first usable IPv4
 * address of the Addresses TLV (else of the Management Addresses TLV) -> management address, port id -> port,
 * capabilities -> capabilities, the software version up to its version number -> OS, platform -> platform, and vendor
 * "Cisco" when the platform or the software version says so (other vendors' CDP speakers exist). */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "common/cursor.h"
#include "sensor-agent/dissect/proto.h"

enum {
	CDP_TLV_DEVICE_ID = 0x0001,
	CDP_TLV_ADDRESSES = 0x0002,
	CDP_TLV_PORT_ID = 0x0003,
	CDP_TLV_CAPABILITIES = 0x0004,
	CDP_TLV_SOFTWARE = 0x0005,
	CDP_TLV_PLATFORM = 0x0006,
	CDP_TLV_MGMT_ADDRESSES = 0x0016,
};

/* Address entry: protocol type 1 (NLPID) with the one-byte protocol 0xcc is IPv4. */
#define CDP_PT_NLPID 1
#define CDP_NLPID_IP 0xcc

/* The OS fact keeps the software version up to its version number, at most this long. */
#define CDP_OS_MAX 160

/* Capability bits, lowest first. */
static const char *const cdp_cap_names[] = {
	"router", "bridge", "source_route_bridge", "switch", "host", "igmp", "repeater", "phone",
	"remote", "cvta", "mac_relay",
};

struct cdp_info {
	const uint8_t *device_id, *port_id, *software, *platform;
	size_t device_id_len, port_id_len, software_len, platform_len;
	bool has_caps;
	uint32_t caps;
	bool has_addr, has_mgmt_addr;
	uint8_t addr[4], mgmt_addr[4];
};

/* The Internet checksum (RFC 1071) over the PDU, checksum field included, folds to 0 when it is right.
 * Cisco's implementation adds a trailing odd byte as a sign-extended low-order byte instead of padding it
 * with a zero on the right, so an odd-length PDU from IOS only verifies that way; both sums are accepted
 * since other implementations (and even lengths) follow the RFC. */
static bool cdp_checksum_ok(const uint8_t *p, size_t len)
{
	uint32_t sum = 0, rfc, cisco;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	rfc = cisco = sum;
	if (len & 1) {
		uint8_t last = p[len - 1];
		rfc += (uint32_t)last << 8;
		/* IOS adds (int8_t)last to a two's-complement accumulator: in one's-complement terms that is
		 * 0xff00 | last less one for a negative byte, and the byte itself otherwise. */
		cisco += last & 0x80 ? (0xff00u | last) - 1u : last;
	}
	while (rfc >> 16)
		rfc = (rfc & 0xffff) + (rfc >> 16);
	while (cisco >> 16)
		cisco = (cisco & 0xffff) + (cisco >> 16);
	return rfc == 0xffff || cisco == 0xffff;
}

/* Addresses TLV: a 32-bit count, then entries of protocol type, protocol length, protocol, address length,
 * address. The first IPv4 address that is not 0.0.0.0 goes to *out. False when an entry overruns the TLV. */
static bool cdp_addresses(struct cursor *v, bool *has, uint8_t out[4])
{
	static const uint8_t zero[4];
	uint32_t count;

	if (!cursor_u32be(v, &count))
		return false;
	for (uint32_t i = 0; i < count; i++) {
		uint8_t pt, plen;
		uint16_t alen;
		const uint8_t *proto, *addr;

		if (!cursor_u8(v, &pt) || !cursor_u8(v, &plen) || !cursor_bytes(v, plen, &proto) ||
		    !cursor_u16be(v, &alen) || !cursor_bytes(v, alen, &addr))
			return false;
		if (!*has && pt == CDP_PT_NLPID && plen == 1 && proto[0] == CDP_NLPID_IP && alen == 4 &&
		    memcmp(addr, zero, 4) != 0) {
			memcpy(out, addr, 4);
			*has = true;
		}
	}
	return true;
}

static bool cdp_tlv(struct proto_ctx *ctx, struct cdp_info *in, uint16_t type, struct cursor *v)
{
	const uint8_t *s = cursor_ptr(v);
	size_t len = cursor_remaining(v);

	switch (type) {
	case CDP_TLV_DEVICE_ID:
		in->device_id = s;
		in->device_id_len = len;
		break;
	case CDP_TLV_PORT_ID:
		in->port_id = s;
		in->port_id_len = len;
		break;
	case CDP_TLV_SOFTWARE:
		in->software = s;
		in->software_len = len;
		break;
	case CDP_TLV_PLATFORM:
		in->platform = s;
		in->platform_len = len;
		break;
	case CDP_TLV_CAPABILITIES:
		if (len != 4 || !cursor_u32be(v, &in->caps)) {
			proto_violation(ctx, "bad_tlv_length", "capabilities");
			return false;
		}
		in->has_caps = true;
		break;
	case CDP_TLV_ADDRESSES:
	case CDP_TLV_MGMT_ADDRESSES:
		if (!(type == CDP_TLV_ADDRESSES ? cdp_addresses(v, &in->has_addr, in->addr)
						: cdp_addresses(v, &in->has_mgmt_addr, in->mgmt_addr))) {
			proto_violation(ctx, "bad_tlv_length", "addresses");
			return false;
		}
		break;
	default:
		break;
	}
	return true;
}

static bool has_prefix_ci(const uint8_t *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && strncasecmp((const char *)s, prefix, n) == 0;
}

/* The software version is several lines ("Cisco IOS Software, C3560 Software (...), Version 12.2(44)SE,
 * RELEASE SOFTWARE (fc1)\nCopyright ...\nCompiled ..."; older IOS puts the version on the second line). The
 * OS fact is the text up to the end of the version number ("Version 12.2(44)SE"), line breaks turned into
 * spaces; without "Version " it is the first line. */
static void cdp_report_os(struct proto_ctx *ctx, const uint8_t *s, size_t len)
{
	const uint8_t *v, *nl;
	size_t end, n = 0;
	char buf[CDP_OS_MAX];

	if (!s || !len)
		return;
	v = memmem(s, len, "Version ", 8);
	nl = memchr(s, '\n', len);
	end = nl ? (size_t)(nl - s) : len;
	if (v) {
		end = (size_t)(v - s) + 8;
		while (end < len && s[end] != ',' && s[end] != ' ' && s[end] != '\r' && s[end] != '\n')
			end++;
	}
	for (size_t i = 0; i < end && n < sizeof(buf); i++) {
		char ch = (char)s[i];
		if (ch == '\r' || ch == '\n') {
			if (n && buf[n - 1] != ' ')
				buf[n++] = ' ';
			continue;
		}
		buf[n++] = ch;
	}
	while (n && buf[n - 1] == ' ')
		n--;
	if (n)
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_OS, buf, n);
}

static void cdp_report(struct proto_ctx *ctx, const struct cdp_info *in)
{
	char buf[INET_ADDRSTRLEN + 96];
	size_t n = 0;

	if (in->device_id_len)
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_HOSTNAME, in->device_id, in->device_id_len);
	if (in->has_addr || in->has_mgmt_addr) {
		if (inet_ntop(AF_INET, in->has_addr ? in->addr : in->mgmt_addr, buf, sizeof(buf)))
			proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_MGMT_ADDRESS, buf, strlen(buf));
	}
	if (in->port_id_len)
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_PORT, in->port_id, in->port_id_len);
	if (in->has_caps) {
		for (size_t i = 0; i < sizeof(cdp_cap_names) / sizeof(cdp_cap_names[0]); i++) {
			size_t l = strlen(cdp_cap_names[i]);
			if (!(in->caps & (1u << i)))
				continue;
			if (n)
				buf[n++] = ',';
			memcpy(buf + n, cdp_cap_names[i], l); /* all names with commas fit in buf */
			n += l;
		}
		if (n)
			proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_CAPABILITIES, buf, n);
	}
	cdp_report_os(ctx, in->software, in->software_len);
	if (in->platform_len)
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_PLATFORM, in->platform, in->platform_len);
	if (has_prefix_ci(in->platform, in->platform_len, "cisco") ||
	    has_prefix_ci(in->software, in->software_len, "cisco"))
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_VENDOR, "Cisco", 5);
}

static enum proto_result cdp_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	struct cdp_info in = { 0 };
	struct cursor c, v;
	uint8_t version, ttl;
	uint16_t checksum, type, tlen;

	(void)state;
	cursor_init(&c, p, len);
	if (!cursor_u8(&c, &version) || !cursor_u8(&c, &ttl) || !cursor_u16be(&c, &checksum)) {
		proto_violation(ctx, "truncated", "header");
		return PROTO_MALFORMED;
	}
	if (version != 1 && version != 2) {
		proto_violation(ctx, "bad_version", NULL);
		return PROTO_MALFORMED;
	}
	if (!cdp_checksum_ok(p, len)) {
		proto_violation(ctx, "bad_checksum", NULL);
		return PROTO_MALFORMED;
	}
	while (cursor_remaining(&c) > 0) {
		if (!cursor_u16be(&c, &type) || !cursor_u16be(&c, &tlen) ||
		    (tlen >= 4 && !cursor_sub(&c, tlen - 4u, &v))) {
			proto_violation(ctx, "truncated", "tlv past the end of the frame");
			return PROTO_MALFORMED;
		}
		if (tlen < 4) {
			proto_violation(ctx, "bad_tlv_length", "shorter than its header");
			return PROTO_MALFORMED;
		}
		if (!cdp_tlv(ctx, &in, type, &v))
			return PROTO_MALFORMED;
	}
	cdp_report(ctx, &in);
	return PROTO_OK;
}

const struct dissector dissector_cdp = {
	.name = "cdp",
	.parse = cdp_parse,
};
