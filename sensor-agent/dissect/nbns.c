/* NetBIOS Name Service (RFC 1001 / RFC 1002 4.2, UDP 137).
 *
 * The header and record layout are DNS's; a NetBIOS name travels first-level encoded (RFC 1001 14.1): each
 * of its 16 bytes (15 name characters padded with spaces, then a suffix byte naming the service) becomes two
 * characters 'A' + nibble, giving one 32-octet label, followed by the scope's labels. Compression pointers
 * are allowed (RFC 1002 4.1) and walked as in DNS: a pointer must point before the label run that contains
 * it, so walks terminate.
 *
 * Facts: a host registering or refreshing its unique workstation (<00>) or server (<20>) name, a positive
 * answer for such a name, and a node status answer (the host listing its own names) give the host's NetBIOS
 * name -> PROTO_ATTR_HOSTNAME, on the sender when the record's address is the sender's, else at that
 * address. Group names (workgroup / domain) have no inventory attribute and are not reported. */
#include <string.h>

#include "common/cursor.h"
#include "sensor-agent/dissect/dns_name.h"
#include "sensor-agent/dissect/proto.h"

#define NBNS_HDR_LEN 12
#define NBNS_MAX_FACTS 8
#define NBNS_FN_NODE_STATUS 0x21 /* function code of an NBSTAT query: outside the opcode space 0-15 */

enum { NB_TYPE_NB = 0x20, NB_TYPE_NBSTAT = 0x21 };
enum { OP_QUERY = 0, OP_REGISTRATION = 5, OP_RELEASE = 6, OP_WACK = 7, OP_REFRESH = 8, OP_REFRESH_ALT = 9,
       OP_MULTIHOMED = 15 };
enum { NB_SUFFIX_WORKSTATION = 0x00, NB_SUFFIX_SERVER = 0x20 };

static const char *const opcode_names[16] = {
	[OP_QUERY] = "query",     [OP_REGISTRATION] = "registration", [OP_RELEASE] = "release",
	[OP_WACK] = "wack",       [OP_REFRESH] = "refresh",           [OP_REFRESH_ALT] = "refresh",
	[OP_MULTIHOMED] = "multihomed_registration",
};

/* First-level decoding (RFC 1001 14.1) of the 32-character label into 16 bytes (nb may be NULL). */
static bool nb_decode(const uint8_t *label, size_t l, uint8_t nb[16])
{
	if (l != 32)
		return false;
	for (size_t i = 0; i < 32; i += 2) {
		uint8_t hi = label[i], lo = label[i + 1];
		if (hi < 'A' || hi > 'P' || lo < 'A' || lo > 'P')
			return false;
		if (nb)
			nb[i / 2] = (uint8_t)((hi - 'A') << 4 | (lo - 'A'));
	}
	return true;
}

/* Walks the encoded name at *off (past it on success; a pointer ends it in place) and, when nb is not NULL,
 * decodes its first label into the 16 NetBIOS bytes. The first label must be 32 characters 'A'..'P'. */
static bool nbns_name(const uint8_t *msg, size_t len, size_t *off, uint8_t nb[16])
{
	char text[DNS_NAME_MAX + 1];
	size_t n;
	const char *dot;

	if (!dns_name_read(msg, len, off, text, &n) || n == 0)
		return false;
	dot = memchr(text, '.', n);
	return nb_decode((const uint8_t *)text, dot ? (size_t)(dot - text) : n, nb);
}

/* The length of a host name in the 15 name bytes (trailing spaces and NULs trimmed); 0 when the name is not a
 * host's (the "*" wildcard, control-character names such as __MSBROWSE__'s). */
static size_t nb_host_len(const uint8_t nb[16])
{
	size_t n = 15;

	if (nb[0] == '*' || nb[0] < 0x20)
		return 0;
	while (n > 0 && (nb[n - 1] == ' ' || nb[n - 1] == 0))
		n--;
	return n;
}

struct nbns_msg {
	struct proto_ctx *ctx;
	unsigned facts;
};

static void nbns_host_fact(struct nbns_msg *m, const uint8_t *name, size_t n, const uint8_t *addr)
{
	const struct dissect_frame *f = m->ctx->frame;

	if (n == 0 || m->facts >= NBNS_MAX_FACTS)
		return;
	m->facts++;
	if (!addr || (f->ip_version == 4 && memcmp(f->src_ip, addr, 4) == 0)) {
		proto_attr_text(m->ctx, PROTO_TARGET_SRC, PROTO_ATTR_HOSTNAME, name, n);
	} else if (memcmp(addr, "\0\0\0\0", 4) != 0) {
		struct proto_target t = { .kind = PROTO_TARGET_IP, .ip_version = 4 };
		memcpy(t.addr, addr, 4);
		proto_attr_text_at(m->ctx, &t, PROTO_ATTR_HOSTNAME, name, n);
	}
}

/* NB RDATA (RFC 1002 4.2.2): entries of NB_FLAGS (G bit 0x8000 = group name) and a 4-byte address. */
static bool nbns_nb_rdata(struct nbns_msg *m, const uint8_t nb[16], const uint8_t *rd, size_t rdlen, bool facts)
{
	size_t n = nb_host_len(nb);

	if (rdlen % 6 != 0)
		return false;
	if (!facts || (nb[15] != NB_SUFFIX_WORKSTATION && nb[15] != NB_SUFFIX_SERVER))
		return true;
	for (size_t i = 0; i < rdlen; i += 6)
		if (!(rd[i] & 0x80))
			nbns_host_fact(m, nb, n, rd + i + 2);
	return true;
}

/* NODE STATUS RDATA (RFC 1002 4.2.18): a count, then 18 bytes a name (15 + suffix + 2 flag bytes, G bit
 * 0x8000), then the statistics. The first unique workstation name is the node's. */
static bool nbns_nbstat_rdata(struct nbns_msg *m, const uint8_t *rd, size_t rdlen, bool facts)
{
	size_t count;

	if (rdlen < 1 || (count = rd[0]) * 18 > rdlen - 1)
		return false;
	for (size_t i = 0; facts && i < count; i++) {
		const uint8_t *e = rd + 1 + 18 * i;
		if (e[15] == NB_SUFFIX_WORKSTATION && !(e[16] & 0x80)) {
			nbns_host_fact(m, e, nb_host_len(e), NULL);
			break;
		}
	}
	return true;
}

static bool nbns_rr(struct nbns_msg *m, const uint8_t *p, size_t len, size_t *off, bool facts, const char **why)
{
	uint8_t nb[16];
	uint16_t type, rdlen;
	const uint8_t *rd;
	struct cursor c;

	if (!nbns_name(p, len, off, nb)) {
		*why = "bad_name";
		return false;
	}
	cursor_init(&c, p, len);
	c.off = *off;
	if (!cursor_u16be(&c, &type) || !cursor_skip(&c, 2 + 4) || !cursor_u16be(&c, &rdlen) ||
	    !cursor_bytes(&c, rdlen, &rd)) {
		*why = "truncated";
		return false;
	}
	*off = c.off;
	*why = "bad_length";
	if (type == NB_TYPE_NB)
		return nbns_nb_rdata(m, nb, rd, rdlen, facts);
	if (type == NB_TYPE_NBSTAT)
		return nbns_nbstat_rdata(m, rd, rdlen, facts);
	return true;
}

static enum proto_result nbns_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	struct nbns_msg m = { .ctx = ctx };
	struct cursor c;
	uint16_t flags, qd, rr[3];
	uint8_t opcode, rcode;
	bool response, facts, group = proto_dst_is_group(ctx->frame), nbstat = false;
	size_t off = NBNS_HDR_LEN;
	const char *why = NULL;

	(void)state;
	cursor_init(&c, p, len);
	if (!cursor_skip(&c, 2) || !cursor_u16be(&c, &flags) || !cursor_u16be(&c, &qd) || !cursor_u16be(&c, &rr[0]) ||
	    !cursor_u16be(&c, &rr[1]) || !cursor_u16be(&c, &rr[2])) {
		proto_violation(ctx, "truncated", "shorter than the NBNS header");
		return PROTO_MALFORMED;
	}
	response = flags & 0x8000;
	opcode = (uint8_t)(flags >> 11 & 0xf);
	rcode = (uint8_t)(flags & 0xf);
	ctx->src_role = response ? PROTO_ROLE_SERVER : PROTO_ROLE_CLIENT;
	ctx->dst_role = group ? PROTO_ROLE_NONE : response ? PROTO_ROLE_CLIENT : PROTO_ROLE_SERVER;

	for (unsigned i = 0; i < qd; i++) {
		uint16_t qtype;

		if (!nbns_name(p, len, &off, NULL)) {
			proto_violation(ctx, "bad_name", "question name");
			return PROTO_MALFORMED;
		}
		c.off = off;
		if (!cursor_u16be(&c, &qtype) || !cursor_skip(&c, 2)) {
			proto_violation(ctx, "truncated", "question");
			return PROTO_MALFORMED;
		}
		off = c.off;
		nbstat |= qtype == NB_TYPE_NBSTAT;
	}

	/* Names a host states for itself: its registrations and refreshes, and positive answers. */
	facts = response ? rcode == 0 && (opcode == OP_QUERY || opcode == OP_REGISTRATION)
			 : opcode == OP_REGISTRATION || opcode == OP_REFRESH || opcode == OP_REFRESH_ALT ||
				   opcode == OP_MULTIHOMED;
	for (int s = 0; s < 3; s++) {
		for (unsigned i = 0; i < rr[s]; i++) {
			if (!nbns_rr(&m, p, len, &off, facts, &why)) {
				proto_violation(ctx, why, "resource record");
				return PROTO_MALFORMED;
			}
		}
	}

	if (!opcode_names[opcode])
		proto_violation(ctx, "illegal_function", "unknown NBNS opcode");
	else if (!response && opcode == OP_QUERY && nbstat)
		proto_function(ctx, NBNS_FN_NODE_STATUS, "node_status");
	else if (!response || opcode == OP_WACK)
		proto_function(ctx, opcode, opcode_names[opcode]);
	return PROTO_OK;
}

const struct dissector dissector_nbns = {
	.name = "nbns",
	.parse = nbns_parse,
};
