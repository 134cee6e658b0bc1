/* SNMP (UDP 161 agent, 162 notification receiver): versions 1 (RFC 1157), 2c (RFC 1901, PDUs RFC 3416) and 3
 * (RFC 3412 message, RFC 3414 USM).
 *
 * BER is decoded with definite lengths only (X.690 8.1.3; SNMP forbids the indefinite form), lengths of at
 * most four octets, and single-octet tags. The decoder is not recursive: it follows the fixed shape
 * message -> PDU -> varbind list -> varbind -> value, so nesting is bounded by construction (depth 4 for
 * v1/v2c, 5 for a plaintext v3 scoped PDU); values are never descended into.
 *
 * The community string is a password: it is never reported, logged or put in a detail text. The only use
 * made of it is comparing it with the factory defaults "public" and "private" (event
 * "snmp_default_community", once per flow, when an agent answers to one or a notification carries one).
 *
 * Functions: the PDU type (get 0 ... report 8) of every PDU, and once per flow the version as code
 * 0x100 | version ("snmpv1" 0x100, "snmpv2c" 0x101, "snmpv3" 0x103). Facts from responses and notifications:
 * sysDescr.0 -> PROTO_ATTR_SYS_DESCR, sysName.0 -> PROTO_ATTR_HOSTNAME, sysObjectID.0 (dotted text) ->
 * PROTO_ATTR_PRODUCT_CODE, all on the agent that sent them. An encrypted v3 scoped PDU is not parsed. */
#include <string.h>

#include "common/cursor.h"
#include "sensor-agent/dissect/proto.h"
#include "sensor-agent/dissect/sysdescr.h"

#define SNMP_FN_VERSION 0x100

enum { BER_INTEGER = 0x02, BER_OCTETS = 0x04, BER_OID = 0x06, BER_SEQUENCE = 0x30,
       BER_IPADDR = 0x40, BER_TIMETICKS = 0x43 };

enum { PDU_GET = 0, PDU_GETNEXT, PDU_RESPONSE, PDU_SET, PDU_TRAP, PDU_GETBULK, PDU_INFORM, PDU_TRAPV2,
       PDU_REPORT };

static const char *const pdu_names[] = {
	"get", "getnext", "response", "set", "trap", "getbulk", "inform", "trapv2", "report",
};

struct snmp_state {
	uint8_t versions_seen;     /* bit v: the version function was reported on this flow */
	bool default_community;    /* the snmp_default_community event was reported on this flow */
};

struct ber {
	uint8_t tag;
	const uint8_t *v;
	size_t len;
};

/* Reads one TLV. *why says what was wrong when it returns false. */
static bool ber_next(struct cursor *c, struct ber *b, const char **why)
{
	uint8_t l;

	*why = "truncated";
	if (!cursor_u8(c, &b->tag) || !cursor_u8(c, &l))
		return false;
	if ((b->tag & 0x1f) == 0x1f) {
		*why = "bad_ber"; /* high tag numbers: nothing in SNMP uses them */
		return false;
	}
	if (l < 0x80) {
		b->len = l;
	} else {
		size_t n = l & 0x7f;
		if (n == 0 || n > 4) {
			*why = "bad_length"; /* indefinite form, or a length no datagram holds */
			return false;
		}
		b->len = 0;
		for (size_t i = 0; i < n; i++) {
			uint8_t x;
			if (!cursor_u8(c, &x))
				return false;
			b->len = b->len << 8 | x;
		}
	}
	return cursor_bytes(c, b->len, &b->v);
}

static bool ber_expect(struct cursor *c, uint8_t tag, struct ber *b, const char **why)
{
	if (!ber_next(c, b, why))
		return false;
	if (b->tag != tag) {
		*why = "bad_ber";
		return false;
	}
	return true;
}

/* An INTEGER of 1..4 octets (two's complement). */
static bool ber_int(struct cursor *c, int32_t *v, const char **why)
{
	struct ber b;
	uint32_t u;

	if (!ber_expect(c, BER_INTEGER, &b, why))
		return false;
	if (b.len == 0 || b.len > 4) {
		*why = "bad_ber";
		return false;
	}
	u = b.v[0] & 0x80 ? UINT32_MAX : 0;
	for (size_t i = 0; i < b.len; i++)
		u = u << 8 | b.v[i];
	*v = (int32_t)u;
	return true;
}

/* Appends ".v" (or "v" when first) to out at *n; false when it does not fit. */
static bool put_arc(char *out, size_t cap, size_t *n, uint32_t v, bool first)
{
	char d[10];
	size_t k = 0;

	do {
		d[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (cap - *n < k + 1 + !first)
		return false;
	if (!first)
		out[(*n)++] = '.';
	while (k)
		out[(*n)++] = d[--k];
	return true;
}

/* Dotted text of an encoded OID (X.690 8.19); returns the length, 0 when it does not decode or fit. */
static size_t oid_text(const uint8_t *v, size_t len, char *out, size_t cap)
{
	size_t n = 0;
	uint32_t sub = 0;
	unsigned bytes = 0;
	bool first = true;

	for (size_t i = 0; i < len; i++) {
		if (++bytes > 5 || (bytes == 1 && v[i] == 0x80))
			return 0; /* wider than 32 bits, or a non-minimal encoding */
		sub = sub << 7 | (v[i] & 0x7f);
		if (v[i] & 0x80)
			continue;
		if (first) {
			uint32_t a = sub < 40 ? 0 : sub < 80 ? 1 : 2;
			if (!put_arc(out, cap, &n, a, true) || !put_arc(out, cap, &n, sub - 40 * a, false))
				return 0;
			first = false;
		} else if (!put_arc(out, cap, &n, sub, false)) {
			return 0;
		}
		sub = 0;
		bytes = 0;
	}
	return bytes ? 0 : n;
}

/* The MIB-2 system group scalars (RFC 3418), as encoded OIDs. */
static const uint8_t OID_SYS_DESCR[] = { 0x2b, 6, 1, 2, 1, 1, 1, 0 };
static const uint8_t OID_SYS_OBJECT_ID[] = { 0x2b, 6, 1, 2, 1, 1, 2, 0 };
static const uint8_t OID_SYS_NAME[] = { 0x2b, 6, 1, 2, 1, 1, 5, 0 };

static bool oid_is(const struct ber *b, const uint8_t *oid, size_t len)
{
	return b->len == len && memcmp(b->v, oid, len) == 0;
}

static void snmp_varbind_fact(struct proto_ctx *ctx, const struct ber *name, const struct ber *value)
{
	char buf[256];
	size_t n;

	if (name->len != sizeof(OID_SYS_DESCR) || memcmp(name->v, OID_SYS_DESCR, 6) != 0)
		return; /* cheap filter: not under system (1.3.6.1.2.1.1) */
	if (value->tag == BER_OCTETS && value->len && oid_is(name, OID_SYS_DESCR, sizeof(OID_SYS_DESCR))) {
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_SYS_DESCR, value->v, value->len);
		sysdescr_facts(ctx, PROTO_TARGET_SRC, value->v, value->len);
	} else if (value->tag == BER_OCTETS && value->len && oid_is(name, OID_SYS_NAME, sizeof(OID_SYS_NAME)))
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_HOSTNAME, value->v, value->len);
	else if (value->tag == BER_OID && oid_is(name, OID_SYS_OBJECT_ID, sizeof(OID_SYS_OBJECT_ID)) &&
		 (n = oid_text(value->v, value->len, buf, sizeof(buf))) > 0)
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_PRODUCT_CODE, buf, n);
}

/* The PDU body after its tag (RFC 3416 3., RFC 1157 4.1.6 for the v1 trap). */
static bool snmp_pdu_body(struct proto_ctx *ctx, uint8_t type, const struct ber *pdu, const char **why)
{
	struct cursor c, list;
	struct ber b, vb, name, value;
	int32_t id, error_status = 0, error_index;
	bool facts;

	cursor_init(&c, pdu->v, pdu->len);
	if (type == PDU_TRAP) {
		if (!ber_expect(&c, BER_OID, &b, why) || !ber_expect(&c, BER_IPADDR, &b, why) ||
		    !ber_int(&c, &id, why) || !ber_int(&c, &id, why) || !ber_expect(&c, BER_TIMETICKS, &b, why))
			return false;
	} else if (!ber_int(&c, &id, why) || !ber_int(&c, &error_status, why) || !ber_int(&c, &error_index, why)) {
		return false;
	}
	if (!ber_expect(&c, BER_SEQUENCE, &b, why))
		return false;
	facts = (type == PDU_RESPONSE && error_status == 0) || type == PDU_TRAP || type == PDU_TRAPV2 ||
		type == PDU_INFORM;
	cursor_init(&list, b.v, b.len);
	while (cursor_remaining(&list) > 0) {
		struct cursor one;

		if (!ber_expect(&list, BER_SEQUENCE, &vb, why))
			return false;
		cursor_init(&one, vb.v, vb.len);
		if (!ber_expect(&one, BER_OID, &name, why) || !ber_next(&one, &value, why))
			return false;
		if (facts)
			snmp_varbind_fact(ctx, &name, &value);
	}
	return true;
}

static bool is_default_community(const struct ber *b)
{
	return (b->len == 6 && memcmp(b->v, "public", 6) == 0) || (b->len == 7 && memcmp(b->v, "private", 7) == 0);
}

/* Manager = client, agent = server. A response from port 162 answers an inform, so its sender is the
 * manager; notifications come from the agent. */
static void snmp_roles(struct proto_ctx *ctx, uint8_t type)
{
	bool agent_sends = type == PDU_RESPONSE || type == PDU_TRAP || type == PDU_INFORM || type == PDU_TRAPV2 ||
			   type == PDU_REPORT;

	if (type == PDU_RESPONSE && ctx->frame->src_port == 162)
		agent_sends = false;
	ctx->src_role = agent_sends ? PROTO_ROLE_SERVER : PROTO_ROLE_CLIENT;
	ctx->dst_role = proto_dst_is_group(ctx->frame) ? PROTO_ROLE_NONE : agent_sends ? PROTO_ROLE_CLIENT
										 : PROTO_ROLE_SERVER;
}

/* Reads the PDU at c: the type, the function, the roles, the facts. */
static enum proto_result snmp_pdu(struct proto_ctx *ctx, struct cursor *c, const struct ber *community,
				  struct snmp_state *st)
{
	struct ber pdu;
	const char *why;
	uint8_t type;

	if (!ber_next(c, &pdu, &why)) {
		proto_violation(ctx, why, "PDU");
		return PROTO_MALFORMED;
	}
	if ((pdu.tag & 0xe0) != 0xa0) { /* context-specific, constructed */
		proto_violation(ctx, "bad_ber", "PDU tag");
		return PROTO_MALFORMED;
	}
	type = pdu.tag & 0x1f;
	if (type >= sizeof(pdu_names) / sizeof(pdu_names[0])) {
		proto_violation(ctx, "illegal_function", "unknown PDU type");
		return PROTO_OK;
	}
	snmp_roles(ctx, type);
	proto_function(ctx, type, pdu_names[type]);
	if (!snmp_pdu_body(ctx, type, &pdu, &why)) {
		proto_violation(ctx, why, pdu_names[type]);
		return PROTO_MALFORMED;
	}
	if (community && st && !st->default_community && is_default_community(community) &&
	    type != PDU_GET && type != PDU_GETNEXT && type != PDU_GETBULK && type != PDU_SET) {
		st->default_community = true;
		proto_event(ctx, "snmp_default_community",
			    type == PDU_RESPONSE ? "agent answers a factory-default community"
						 : "notification carries a factory-default community");
	}
	return PROTO_OK;
}

/* SNMPv3 (RFC 3412 6.): msgGlobalData, msgSecurityParameters, then a plaintext ScopedPDU or, with the
 * privacy flag, an encrypted one (an OCTET STRING) that is left alone. */
static enum proto_result snmp_v3(struct proto_ctx *ctx, struct cursor *c, struct snmp_state *st)
{
	struct cursor g, scoped;
	struct ber b;
	int32_t id, max_size, model;
	const char *why;

	if (!ber_expect(c, BER_SEQUENCE, &b, &why))
		goto bad;
	cursor_init(&g, b.v, b.len);
	if (!ber_int(&g, &id, &why) || !ber_int(&g, &max_size, &why) || !ber_expect(&g, BER_OCTETS, &b, &why) ||
	    !ber_int(&g, &model, &why))
		goto bad;
	if (!ber_expect(c, BER_OCTETS, &b, &why) || !ber_next(c, &b, &why))
		goto bad;
	if (b.tag == BER_OCTETS)
		return PROTO_OK; /* encrypted scopedPDU */
	if (b.tag != BER_SEQUENCE) {
		why = "bad_ber";
		goto bad;
	}
	cursor_init(&scoped, b.v, b.len);
	if (!ber_expect(&scoped, BER_OCTETS, &b, &why) || !ber_expect(&scoped, BER_OCTETS, &b, &why))
		goto bad;
	return snmp_pdu(ctx, &scoped, NULL, st);
bad:
	proto_violation(ctx, why, "SNMPv3 header");
	return PROTO_MALFORMED;
}

static enum proto_result snmp_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	struct snmp_state *st = state;
	struct cursor c, msg;
	struct ber b, community;
	int32_t version;
	const char *why;

	cursor_init(&c, p, len);
	if (len < 2 || p[0] != BER_SEQUENCE)
		return PROTO_NOT_MINE;
	if (!ber_next(&c, &b, &why)) {
		proto_violation(ctx, why, "message");
		return PROTO_MALFORMED;
	}
	cursor_init(&msg, b.v, b.len);
	if (!ber_int(&msg, &version, &why)) {
		proto_violation(ctx, why, "version");
		return PROTO_MALFORMED;
	}
	if (version != 0 && version != 1 && version != 3) {
		proto_violation(ctx, "bad_version", "SNMP version not 1, 2c or 3");
		return PROTO_MALFORMED;
	}
	if (st && !(st->versions_seen & 1u << version)) {
		static const char *const vnames[] = { "snmpv1", "snmpv2c", NULL, "snmpv3" };
		st->versions_seen |= (uint8_t)(1u << version);
		proto_function(ctx, SNMP_FN_VERSION | (uint32_t)version, vnames[version]);
	}
	if (version == 3)
		return snmp_v3(ctx, &msg, st);
	if (!ber_expect(&msg, BER_OCTETS, &community, &why)) {
		proto_violation(ctx, why, "community");
		return PROTO_MALFORMED;
	}
	return snmp_pdu(ctx, &msg, &community, st);
}

const struct dissector dissector_snmp = {
	.name = "snmp",
	.state_size = sizeof(struct snmp_state),
	.parse = snmp_parse,
};
