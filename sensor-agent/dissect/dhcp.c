/* DHCP / BOOTP (RFC 951, RFC 2131, options RFC 2132; lease query RFC 4388) on UDP 67/68.
 *
 * A BOOTP message is a fixed 236-byte header followed, for DHCP, by the magic cookie 99.130.83.99 and a TLV
 * option list. The facts are about the DHCP client, which the message names by its hardware address
 * (chaddr): a relay agent forwards the client's messages from its own address, so the frame's source is not
 * the device the facts describe. */
#include <stdio.h>
#include <string.h>

#include "common/cursor.h"
#include "sensor-agent/dissect/proto.h"

#define DHCP_HDR_LEN 236   /* op .. file, RFC 2131 figure 1 */
#define DHCP_SNAME_OFF 44
#define DHCP_SNAME_LEN 64
#define DHCP_FILE_OFF 108
#define DHCP_FILE_LEN 128
#define DHCP_COOKIE 0x63825363u

enum {
	OPT_PAD = 0,
	OPT_HOSTNAME = 12,
	OPT_OVERLOAD = 52,
	OPT_MSG_TYPE = 53,
	OPT_VENDOR_CLASS = 60,
	OPT_CLIENT_FQDN = 81,
	OPT_END = 255,
};

enum { DHCP_ACK = 5, DHCP_LEASEACTIVE = 13 };

/* Message types (option 53): RFC 2132 9.6, RFC 3203 (forcerenew), RFC 4388 and RFC 6926 (lease query),
 * RFC 7724 (active lease query). Index = type. */
static const char *const msg_names[] = {
	NULL,           "discover",          "offer",         "request",      "decline",
	"ack",          "nak",               "release",       "inform",       "forcerenew",
	"leasequery",   "leaseunassigned",   "leaseunknown",  "leaseactive",  "bulkleasequery",
	"leasequerydone", "activeleasequery", "leasequerystatus", "tls",
};

/* The option values one message carried (pointers into the datagram, valid during parse only). */
struct dhcp_opts {
	int msg_type; /* -1: no option 53 */
	uint8_t overload;
	const uint8_t *hostname, *fqdn, *vendor;
	uint8_t hostname_len, fqdn_len, vendor_len;
};

/* Walks one option area (the options field, or file/sname when option 52 says they are overloaded). The
 * first instance of an option wins; RFC 3396 concatenation of split options is not needed for the facts
 * read here. Returns false on an option that runs past its area. */
static bool dhcp_walk(struct cursor *c, struct dhcp_opts *o, bool main_area)
{
	while (cursor_remaining(c) > 0) {
		uint8_t code, len;
		const uint8_t *v;

		if (!cursor_u8(c, &code))
			return false;
		if (code == OPT_PAD)
			continue;
		if (code == OPT_END)
			return true;
		if (!cursor_u8(c, &len) || !cursor_bytes(c, len, &v))
			return false;
		switch (code) {
		case OPT_MSG_TYPE:
			if (o->msg_type < 0)
				o->msg_type = len == 1 ? v[0] : 256; /* 256: a bad length, reported by the caller */
			break;
		case OPT_OVERLOAD:
			if (main_area && len == 1)
				o->overload = v[0];
			break;
		case OPT_HOSTNAME:
			if (!o->hostname && len) {
				o->hostname = v;
				o->hostname_len = len;
			}
			break;
		case OPT_CLIENT_FQDN:
			if (!o->fqdn && len > 3) {
				o->fqdn = v;
				o->fqdn_len = len;
			}
			break;
		case OPT_VENDOR_CLASS:
			if (!o->vendor && len) {
				o->vendor = v;
				o->vendor_len = len;
			}
			break;
		default:
			break;
		}
	}
	return true; /* no end option: tolerated, several stacks pad to the end instead */
}

/* Option 81 (RFC 4702 2.): flags, two obsolete rcode bytes, then the name: in DNS wire format when the E bit
 * (0x04) is set, else (deprecated) ASCII. Writes the dotted name to out; returns its length (0: none). */
static size_t dhcp_fqdn(const uint8_t *v, size_t len, char *out, size_t cap)
{
	struct cursor c;
	size_t n = 0;
	uint8_t flags = v[0];

	cursor_init(&c, v + 3, len - 3);
	if (!(flags & 0x04)) {
		n = len - 3 < cap ? len - 3 : cap;
		memcpy(out, v + 3, n);
		return n;
	}
	for (;;) {
		uint8_t l;
		const uint8_t *label;

		if (!cursor_u8(&c, &l) || l == 0)
			break; /* end of a partial name, or the root label */
		if (l > 63 || !cursor_bytes(&c, l, &label) || n + l + 1 > cap)
			return 0;
		if (n)
			out[n++] = '.';
		memcpy(out + n, label, l);
		n += l;
	}
	return n;
}

static bool has_prefix(const uint8_t *s, size_t len, const char *prefix)
{
	size_t pl = strlen(prefix);
	return len >= pl && memcmp(s, prefix, pl) == 0;
}

/* The operating system a vendor class identifier (option 60) names. Our table, from the clients' own
 * documented formats:
 *   "MSFT 5.0", "MSFT 98", ...          Windows DHCP client
 *   "android-dhcp-<version>"            Android
 *   "dhcpcd-<ver>:<OS>-<release>:..."   dhcpcd: the OS field it states (e.g. "Linux", "NetBSD"), else "Linux"
 *   "udhcp <version>"                   BusyBox udhcpc (embedded Linux)
 * Returns the length written to out (0: no hint). */
static size_t dhcp_os_hint(const uint8_t *v, size_t len, char *out, size_t cap)
{
	static const struct {
		const char *prefix, *os;
	} table[] = {
		{ "MSFT ", "Windows" },
		{ "android-dhcp-", "Android" },
		{ "udhcp ", "Linux" },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (has_prefix(v, len, table[i].prefix)) {
			size_t n = strlen(table[i].os);
			memcpy(out, table[i].os, n < cap ? n : cap);
			return n < cap ? n : cap;
		}
	}
	if (has_prefix(v, len, "dhcpcd-")) {
		const uint8_t *colon = memchr(v, ':', len);
		size_t n = 0;

		if (colon) {
			const uint8_t *os = colon + 1, *end = v + len;
			while (os + n < end && n < cap && os[n] != '-' && os[n] != ':')
				n++;
			memcpy(out, os, n);
		}
		if (n == 0) {
			n = strlen("Linux");
			memcpy(out, "Linux", n);
		}
		return n;
	}
	return 0;
}

static void dhcp_facts(struct proto_ctx *ctx, const uint8_t *chaddr, const struct dhcp_opts *o, int op,
		       const uint8_t *yiaddr, const uint8_t *ciaddr)
{
	struct proto_target t = { .kind = PROTO_TARGET_MAC };
	char buf[256];
	size_t n;
	const uint8_t *lease = NULL;

	memcpy(t.addr, chaddr, 6);
	if (o->hostname)
		proto_attr_text_at(ctx, &t, PROTO_ATTR_HOSTNAME, o->hostname, o->hostname_len);
	if (o->fqdn && (n = dhcp_fqdn(o->fqdn, o->fqdn_len, buf, sizeof(buf))) > 0)
		proto_attr_text_at(ctx, &t, PROTO_ATTR_FQDN, buf, n);
	if (o->vendor && op == 1) { /* a server may echo option 60 with its own class: believe the client only */
		proto_attr_text_at(ctx, &t, PROTO_ATTR_DHCP_VENDOR_CLASS, o->vendor, o->vendor_len);
		if ((n = dhcp_os_hint(o->vendor, o->vendor_len, buf, sizeof(buf))) > 0)
			proto_attr_text_at(ctx, &t, PROTO_ATTR_OS, buf, n);
	}
	/* The address bound to the client: yiaddr of an ACK (or of a plain BOOTP reply), ciaddr of a lease query
	 * LEASEACTIVE answer (RFC 4388 6.4.2). */
	if (op == 2 && (o->msg_type == DHCP_ACK || o->msg_type < 0))
		lease = yiaddr;
	else if (op == 2 && o->msg_type == DHCP_LEASEACTIVE)
		lease = ciaddr;
	if (lease && memcmp(lease, "\0\0\0\0", 4) != 0) {
		n = (size_t)snprintf(buf, sizeof(buf), "%u.%u.%u.%u", lease[0], lease[1], lease[2], lease[3]);
		proto_attr_text_at(ctx, &t, PROTO_ATTR_DHCP_ADDRESS, buf, n);
	}
}

static enum proto_result dhcp_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	struct cursor c, area;
	struct dhcp_opts o = { .msg_type = -1 };
	uint8_t op, htype, hlen;
	uint32_t cookie;
	const uint8_t *hdr;
	bool group = proto_dst_is_group(ctx->frame);

	(void)state;
	cursor_init(&c, p, len);
	if (!cursor_bytes(&c, DHCP_HDR_LEN, &hdr)) {
		proto_violation(ctx, "truncated", "shorter than the BOOTP header");
		return PROTO_MALFORMED;
	}
	op = hdr[0];
	htype = hdr[1];
	hlen = hdr[2];
	if ((op != 1 && op != 2) || hlen > 16) {
		proto_violation(ctx, "bad_header", op != 1 && op != 2 ? "op not BOOTREQUEST/BOOTREPLY" : "hlen > 16");
		return PROTO_MALFORMED;
	}
	/* Plain BOOTP (RFC 951): a vendor area without the cookie is legal when it is empty or zero-filled. */
	if (!cursor_u32be(&c, &cookie)) {
		cookie = 0;
	} else if (cookie != DHCP_COOKIE && cookie != 0) {
		proto_violation(ctx, "bad_magic_cookie", NULL);
		return PROTO_MALFORMED;
	} else if (cookie == DHCP_COOKIE && !dhcp_walk(&c, &o, true)) {
		proto_violation(ctx, "truncated", "option runs past the end");
		return PROTO_MALFORMED;
	}
	if (o.overload & 1) {
		cursor_init(&area, hdr + DHCP_FILE_OFF, DHCP_FILE_LEN);
		if (!dhcp_walk(&area, &o, false)) {
			proto_violation(ctx, "truncated", "option runs past the file field");
			return PROTO_MALFORMED;
		}
	}
	if (o.overload & 2) {
		cursor_init(&area, hdr + DHCP_SNAME_OFF, DHCP_SNAME_LEN);
		if (!dhcp_walk(&area, &o, false)) {
			proto_violation(ctx, "truncated", "option runs past the sname field");
			return PROTO_MALFORMED;
		}
	}

	/* Roles from the message itself: the BOOTREQUEST sender is the client (or its relay), the BOOTREPLY
	 * sender the server; a broadcast receiver is nobody in particular. */
	ctx->src_role = op == 1 ? PROTO_ROLE_CLIENT : PROTO_ROLE_SERVER;
	ctx->dst_role = group ? PROTO_ROLE_NONE : op == 1 ? PROTO_ROLE_SERVER : PROTO_ROLE_CLIENT;

	if (o.msg_type > 255) {
		proto_violation(ctx, "bad_option", "option 53 length is not 1");
		return PROTO_MALFORMED;
	}
	if (o.msg_type >= 0) {
		if (o.msg_type > 0 && (size_t)o.msg_type < sizeof(msg_names) / sizeof(msg_names[0]))
			proto_function(ctx, (uint32_t)o.msg_type, msg_names[o.msg_type]);
		else
			proto_violation(ctx, "illegal_function", "unknown DHCP message type");
	}

	/* chaddr names the client only for Ethernet (htype 1, hlen 6) and when it is a real station address. */
	if (htype == 1 && hlen == 6 && !(hdr[28] & 1) && memcmp(hdr + 28, "\0\0\0\0\0\0", 6) != 0)
		dhcp_facts(ctx, hdr + 28, &o, op, hdr + 16, hdr + 12);
	return PROTO_OK;
}

const struct dissector dissector_dhcp = {
	.name = "dhcp",
	.parse = dhcp_parse,
};
