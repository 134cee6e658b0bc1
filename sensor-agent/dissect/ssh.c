/* SSH (RFC 4253) on TCP 22: only the identification strings ("banners") are read.
 *
 * Framing (pdu_len): a line ending in LF (CR LF per RFC 4253 4.2, bare LF accepted), at most 255 bytes with
 * its line ending, of printable text; or, first byte 0 (a packet length below 2^24, which no text line
 * starts with), one unencrypted binary packet (RFC 4253 6: uint32 length, padding length >= 4, payload):
 * the key exchange that follows a banner, read only so that it does not knock framing out of sync before the
 * other side's banner arrives.
 *
 * The server may send other lines before its banner (4.2); the client may not. A banner is a fact about its
 * sender (client and server), and its software/comments part may name the OS (table below). The banner's
 * protocol version is the pair's function code (200 ssh2_0, 199 ssh1_99, 1xx ssh1). The flow is done once
 * both banners were read, or at a direction's NEWKEYS (everything after it is encrypted). */
#include <stdio.h>
#include <string.h>

#include "common/cursor.h"
#include "sensor-agent/dissect/proto.h"

#define SSH_MAX_LINE 255
#define SSH_MAX_PACKET 35000u /* RFC 4253 6.1: the packet size every implementation handles */
#define SSH_MAX_PDU (4 + SSH_MAX_PACKET)
#define SSH_MAX_PRE_LINES 32 /* server lines before its banner accepted before giving up */
#define SSH_MSG_NEWKEYS 21

#define SSH_BANNER_C2S 0x01
#define SSH_BANNER_S2C 0x02

struct ssh_state {
	uint8_t flags;
	uint8_t pre_lines;
};

/* OS hints in the software version and comments, e.g. "OpenSSH_9.2p1 Debian-2+deb12u6" (Debian's and
 * Ubuntu's packages append their name and release; Raspberry Pi OS says "Raspbian"; Windows' port and
 * MikroTik's and Cisco's servers name themselves). The first match wins. */
struct ssh_os_hint {
	const char *needle;
	const char *os;
};

static const struct ssh_os_hint ssh_os_hints[] = {
	{ "Ubuntu", "Ubuntu" },
	{ "Raspbian", "Raspbian" },
	{ "Debian", "Debian" },
	{ "FreeBSD", "FreeBSD" },
	{ "NetBSD", "NetBSD" },
	{ "OpenSSH_for_Windows", "Windows" },
	{ "ROSSSH", "RouterOS" },
	{ "Cisco-", "Cisco IOS" }, /* IOS and IOS-XE; ASA sends the same string */
};

static bool ssh_text_byte(uint8_t ch)
{
	return ch == '\t' || ch == '\r' || ch >= 0x20; /* bytes >= 0x80: UTF-8 is allowed in pre-banner lines */
}

static long ssh_pdu_len(const uint8_t *p, size_t len)
{
	size_t scan = len < SSH_MAX_LINE ? len : SSH_MAX_LINE;

	if (p[0] == 0) {
		uint32_t plen;
		if (len < 6)
			return 0;
		plen = (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		/* Unencrypted packets are a multiple of 8 bytes long, length field included (RFC 4253 6). */
		if (plen < 12 || plen > SSH_MAX_PACKET || ((4 + plen) & 7) || p[4] < 4 || p[4] >= plen)
			return -1;
		return 4 + (long)plen;
	}
	for (size_t i = 0; i < scan; i++) {
		if (p[i] == '\n')
			return (long)i + 1;
		if (!ssh_text_byte(p[i]))
			return -1;
	}
	return len >= SSH_MAX_LINE ? -1 : 0;
}

/* Debian's release tag ("+deb12u6") makes "Debian 12" (and "Raspbian 11"). */
static void ssh_report_os(struct proto_ctx *ctx, const uint8_t *sw, size_t len)
{
	const uint8_t *end = sw + len, *tag;
	char buf[32];
	unsigned rel = 0;
	int n;

	for (size_t i = 0; i < sizeof(ssh_os_hints) / sizeof(ssh_os_hints[0]); i++) {
		const struct ssh_os_hint *h = &ssh_os_hints[i];
		bool debian = strcmp(h->os, "Debian") == 0 || strcmp(h->os, "Raspbian") == 0;

		if (!memmem(sw, len, h->needle, strlen(h->needle)))
			continue;
		tag = debian ? memmem(sw, len, "+deb", 4) : NULL;
		for (const uint8_t *d = tag ? tag + 4 : end; d < end && *d >= '0' && *d <= '9' && rel < 1000; d++)
			rel = rel * 10 + (unsigned)(*d - '0');
		if (rel) {
			n = snprintf(buf, sizeof(buf), "%s %u", h->os, rel);
			proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_OS, buf, (size_t)n);
		} else {
			proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_OS, h->os, strlen(h->os));
		}
		return;
	}
}

/* "SSH-protoversion-softwareversion[ SP comments]" without its line ending. */
static enum proto_result ssh_banner(struct ssh_state *st, struct proto_ctx *ctx, const uint8_t *p, size_t n)
{
	const uint8_t *dash = n > 4 ? memchr(p + 4, '-', n - 4) : NULL;
	const uint8_t *ver = p + 4, *sw;
	size_t vlen, swlen;
	bool to_server = ctx->dir == PROTO_DIR_TO_SERVER;

	if (!dash || dash == ver || (size_t)(dash - p) + 1 >= n) {
		proto_violation(ctx, "bad_banner", "no protocol or software version");
		return PROTO_MALFORMED;
	}
	vlen = (size_t)(dash - ver);
	sw = dash + 1;
	swlen = n - (size_t)(sw - p);
	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e) {
			proto_violation(ctx, "bad_banner", "control or non-ASCII character");
			return PROTO_MALFORMED;
		}
	}
	st->flags |= to_server ? SSH_BANNER_C2S : SSH_BANNER_S2C;
	proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_SSH_BANNER, p, n);
	ssh_report_os(ctx, sw, swlen);
	if (vlen == 3 && memcmp(ver, "2.0", 3) == 0) {
		if (to_server)
			proto_function(ctx, 200, "ssh2_0");
	} else if (vlen == 4 && memcmp(ver, "1.99", 4) == 0) {
		if (to_server)
			proto_function(ctx, 199, "ssh1_99");
	} else if (vlen == 3 && ver[0] == '1' && ver[1] == '.' && ver[2] >= '0' && ver[2] <= '9') {
		if (to_server)
			proto_function(ctx, 100u + (uint32_t)(ver[2] - '0'), "ssh1");
	} else {
		proto_violation(ctx, "bad_version", "protocol version");
	}
	if ((st->flags & (SSH_BANNER_C2S | SSH_BANNER_S2C)) == (SSH_BANNER_C2S | SSH_BANNER_S2C))
		return PROTO_DONE;
	return PROTO_OK;
}

static enum proto_result ssh_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	struct ssh_state *st = state;
	uint8_t mine = ctx->dir == PROTO_DIR_TO_SERVER ? SSH_BANNER_C2S : SSH_BANNER_S2C;
	size_t n = len;

	if (len == 0)
		return PROTO_NOT_MINE;
	if (p[0] == 0) {
		struct cursor c;
		uint32_t plen;
		uint8_t pad, msg;

		/* Binary packets only after this side's banner. */
		if (!(st->flags & mine))
			return PROTO_NOT_MINE;
		cursor_init(&c, p, len);
		if (!cursor_u32be(&c, &plen) || plen != len - 4 || !cursor_u8(&c, &pad) || pad < 4 || pad >= plen ||
		    !cursor_u8(&c, &msg)) {
			proto_violation(ctx, "bad_length", "binary packet");
			return PROTO_MALFORMED;
		}
		return msg == SSH_MSG_NEWKEYS ? PROTO_DONE : PROTO_OK;
	}
	if (p[len - 1] != '\n' || len > SSH_MAX_LINE)
		return PROTO_NOT_MINE;
	n--;
	if (n && p[n - 1] == '\r')
		n--;
	if (n >= 4 && memcmp(p, "SSH-", 4) == 0) {
		if (st->flags & mine) {
			proto_violation(ctx, "bad_banner", "second banner");
			return PROTO_MALFORMED;
		}
		return ssh_banner(st, ctx, p, n);
	}
	/* Any other line: only a server may send some, and only before its banner. */
	if (ctx->dir == PROTO_DIR_TO_SERVER || (st->flags & mine) || st->pre_lines >= SSH_MAX_PRE_LINES)
		return PROTO_NOT_MINE;
	for (size_t i = 0; i < n; i++)
		if (!ssh_text_byte(p[i]))
			return PROTO_NOT_MINE;
	st->pre_lines++;
	return PROTO_OK;
}

const struct dissector dissector_ssh = {
	.name = "ssh",
	.state_size = sizeof(struct ssh_state),
	.pdu_len = ssh_pdu_len,
	.parse = ssh_parse,
	.max_pdu = SSH_MAX_PDU,
};
