/* DNS (RFC 1035, UDP and TCP 53) and multicast DNS (RFC 6762, UDP 5353): one wire format, two registry
 * entries.
 *
 * Every name in the message is walked (decompressed) with its bounds checked; a compression pointer must
 * point before the start of the label run that contains it, so each jump strictly lowers the position and a
 * pointer loop cannot exist, and a name longer than 255 octets on the wire is refused (RFC 1035 3.1).
 *
 * Facts: a unicast DNS response's A/AAAA answers and in-addr.arpa / ip6.arpa PTR answers name an address
 * (PROTO_ATTR_FQDN at that address, which the inventory applies only to devices it knows); an mDNS response
 * names its sender (A/AAAA records carrying the sender's own address -> PROTO_ATTR_HOSTNAME without
 * ".local"), other addresses it answers for (a sleep proxy), its model (TXT "model=" / "md=" / "ty=") and OS
 * (HINFO). The querier reports each question's type as a function. The question names of standard queries
 * and of their responses go to the indicator matcher (proto_name). */
#include <string.h>
#include <strings.h>

#include "common/cursor.h"
#include "common/hex.h"
#include "sensor-agent/dissect/dns_name.h"
#include "sensor-agent/dissect/proto.h"

#define DNS_HDR_LEN 12
#define DNS_MAX_FACTS 16     /* facts reported from one message */
#define DNS_MAX_NAMES 4      /* question names reported from one message */
#define DNS_OPCODE_FN 0x10000 /* function code space of non-query opcodes: 0x10000 | opcode */

enum { T_A = 1, T_NS = 2, T_CNAME = 5, T_SOA = 6, T_PTR = 12, T_HINFO = 13, T_MX = 15, T_TXT = 16,
       T_AAAA = 28, T_SRV = 33 };

/* Query type names (IANA "Resource Record (RR) TYPEs"). NULL: reserved or unassigned. */
static const char *dns_type_name(uint16_t t)
{
	static const char *const low[] = {
		NULL, "a", "ns", "md", "mf", "cname", "soa", "mb", "mg", "mr", "null", "wks", "ptr", "hinfo",
		"minfo", "mx", "txt", "rp", "afsdb", "x25", "isdn", "rt", "nsap", "nsap_ptr", "sig", "key", "px",
		"gpos", "aaaa", "loc", "nxt", "eid", "nimloc", "srv", "atma", "naptr", "kx", "cert", "a6", "dname",
		"sink", "opt", "apl", "ds", "sshfp", "ipseckey", "rrsig", "nsec", "dnskey", "dhcid", "nsec3",
		"nsec3param", "tlsa", "smimea", NULL, "hip", "ninfo", "rkey", "talink", "cds", "cdnskey",
		"openpgpkey", "csync", "zonemd", "svcb", "https",
	};

	if (t < sizeof(low) / sizeof(low[0]))
		return low[t];
	switch (t) {
	case 99: return "spf";
	case 104: return "nid";
	case 105: return "l32";
	case 106: return "l64";
	case 107: return "lp";
	case 108: return "eui48";
	case 109: return "eui64";
	case 249: return "tkey";
	case 250: return "tsig";
	case 251: return "ixfr";
	case 252: return "axfr";
	case 253: return "mailb";
	case 254: return "maila";
	case 255: return "any";
	case 256: return "uri";
	case 257: return "caa";
	case 258: return "avc";
	case 259: return "doa";
	case 260: return "amtrelay";
	case 32768: return "ta";
	case 32769: return "dlv";
	default: return NULL;
	}
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t sl = strlen(suffix);
	return n >= sl && strncasecmp(s + n - sl, suffix, sl) == 0;
}

/* The address a reverse-lookup owner name stands for: "d.c.b.a.in-addr.arpa" (RFC 1035 3.5) or 32 nibbles
 * ".ip6.arpa" (RFC 3596 2.5). */
static bool dns_reverse_addr(const char *name, size_t n, struct proto_target *t)
{
	if (ends_with(name, n, ".in-addr.arpa")) {
		unsigned v[4];
		size_t i = 0, k = 0, end = n - strlen(".in-addr.arpa");

		for (k = 0; k < 4; k++) {
			size_t digits = 0;
			v[k] = 0;
			while (i < end && name[i] >= '0' && name[i] <= '9' && digits < 3) {
				v[k] = v[k] * 10 + (unsigned)(name[i++] - '0');
				digits++;
			}
			if (!digits || v[k] > 255 || (k < 3 && (i >= end || name[i++] != '.')))
				return false;
		}
		if (i != end)
			return false;
		t->ip_version = 4;
		for (k = 0; k < 4; k++)
			t->addr[k] = (uint8_t)v[3 - k];
		return true;
	}
	if (ends_with(name, n, ".ip6.arpa") && n == 64 + strlen(".ip6.arpa") - 1) {
		for (size_t k = 0; k < 32; k++) {
			int h = hex_value(name[2 * k]);
			if (h < 0 || (k < 31 && name[2 * k + 1] != '.'))
				return false;
			/* the first nibble in the name is the last of the address */
			if (k % 2 == 0)
				t->addr[15 - k / 2] = (uint8_t)h;
			else
				t->addr[15 - k / 2] |= (uint8_t)(h << 4);
		}
		t->ip_version = 6;
		return true;
	}
	return false;
}

struct dns_msg {
	struct proto_ctx *ctx;
	const uint8_t *p;
	size_t len;
	bool mdns;
	unsigned facts;
};

/* Loopback and unspecified addresses name no device on the network. */
static bool addr_is_local(const struct proto_target *t)
{
	static const uint8_t zero[16], v6_loopback[16] = { [15] = 1 };

	if (t->ip_version == 4)
		return t->addr[0] == 127 || memcmp(t->addr, zero, 4) == 0;
	return memcmp(t->addr, zero, 16) == 0 || memcmp(t->addr, v6_loopback, 16) == 0;
}

/* A name learnt for an address: unicast DNS gives an FQDN; mDNS a host name, on the sender itself when the
 * address is its own. An mDNS host name is one label before ".local" (RFC 6762 3.); service instance names
 * ("LDS-x._opcua-tcp._tcp.local") that some responders give A records are not host names. */
static void dns_name_fact(struct dns_msg *m, const struct proto_target *t, const char *name, size_t n)
{
	const struct dissect_frame *f = m->ctx->frame;
	size_t alen = t->ip_version == 4 ? 4 : 16;

	if (n == 0 || m->facts >= DNS_MAX_FACTS || addr_is_local(t))
		return;
	if (!m->mdns) {
		m->facts++;
		proto_attr_text_at(m->ctx, t, PROTO_ATTR_FQDN, name, n);
		return;
	}
	if (ends_with(name, n, ".local"))
		n -= strlen(".local");
	if (n == 0 || name[0] == '_' || memchr(name, '.', n))
		return;
	m->facts++;
	if (f->ip_version == t->ip_version && memcmp(f->src_ip, t->addr, alen) == 0)
		proto_attr_text(m->ctx, PROTO_TARGET_SRC, PROTO_ATTR_HOSTNAME, name, n);
	else
		proto_attr_text_at(m->ctx, t, PROTO_ATTR_HOSTNAME, name, n);
}

/* TXT (RFC 6763 6.): character-strings "key=value"; the model keys of Apple device-info ("model="), Google
 * Cast ("md=") and IPP printers ("ty="). */
static void dns_txt_model(struct dns_msg *m, const uint8_t *rd, size_t rdlen)
{
	static const char *const keys[] = { "model=", "md=", "ty=" };
	struct cursor c;
	uint8_t l;
	const uint8_t *s;

	cursor_init(&c, rd, rdlen);
	while (cursor_u8(&c, &l) && cursor_bytes(&c, l, &s)) {
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			size_t kl = strlen(keys[k]);
			if (l > kl && strncasecmp((const char *)s, keys[k], kl) == 0 && m->facts < DNS_MAX_FACTS) {
				m->facts++;
				proto_attr_text(m->ctx, PROTO_TARGET_SRC, PROTO_ATTR_MODEL, s + kl, l - kl);
				return;
			}
		}
	}
}

/* Checks the names inside the RDATA of the types that carry them (RFC 1035 3.3). */
static bool dns_rdata_names(const struct dns_msg *m, uint16_t type, size_t rd, size_t rdlen)
{
	size_t off = rd, end = rd + rdlen, skip = 0, names = 1;

	switch (type) {
	case T_NS: case T_CNAME: case T_PTR: break;
	case T_MX: skip = 2; break;
	case T_SRV: skip = 6; break;
	case T_SOA: names = 2; break;
	default: return true;
	}
	if (rdlen < skip)
		return false;
	off += skip;
	for (size_t i = 0; i < names; i++)
		if (!dns_name_read(m->p, end, &off, NULL, NULL))
			return false;
	return type != T_SOA || end - off == 20;
}

/* One resource record (RFC 1035 4.1.3) at *off of section sec (1 answer, 2 authority, 3 additional). The
 * owner name is decoded to text only for the record types that give facts. */
static bool dns_rr(struct dns_msg *m, size_t *off, int sec, bool response, const char **why)
{
	char owner[DNS_NAME_MAX + 1], target[DNS_NAME_MAX + 1];
	size_t owner_off = *off, owner_len, target_len, rd;
	uint16_t type, class, rdlen;
	struct cursor c;
	struct proto_target t = { .kind = PROTO_TARGET_IP };

	if (!dns_name_read(m->p, m->len, off, NULL, NULL)) {
		*why = "bad_name";
		return false;
	}
	cursor_init(&c, m->p, m->len);
	c.off = *off;
	if (!cursor_u16be(&c, &type) || !cursor_u16be(&c, &class) || !cursor_skip(&c, 4) ||
	    !cursor_u16be(&c, &rdlen) || !cursor_skip(&c, rdlen)) {
		*why = "truncated";
		return false;
	}
	rd = c.off - rdlen;
	*off = c.off;
	if (!dns_rdata_names(m, type, rd, rdlen)) {
		*why = "bad_name";
		return false;
	}
	if ((type == T_A && rdlen != 4) || (type == T_AAAA && rdlen != 16)) {
		*why = "bad_length";
		return false;
	}
	/* Facts: answers of a response (mDNS: every section), class IN; the top bit of an mDNS class is
	 * cache-flush (RFC 6762 10.2). */
	if (!response || (!m->mdns && sec != 1) || m->facts >= DNS_MAX_FACTS || (class & 0x7fff) != 1)
		return true;
	switch (type) {
	case T_A:
	case T_AAAA:
		t.ip_version = type == T_A ? 4 : 6;
		memcpy(t.addr, m->p + rd, rdlen);
		if (dns_name_read(m->p, m->len, &owner_off, owner, &owner_len))
			dns_name_fact(m, &t, owner, owner_len);
		break;
	case T_PTR:
		if (dns_name_read(m->p, m->len, &owner_off, owner, &owner_len) &&
		    dns_reverse_addr(owner, owner_len, &t) && dns_name_read(m->p, m->len, &rd, target, &target_len))
			dns_name_fact(m, &t, target, target_len);
		break;
	case T_TXT:
		if (m->mdns)
			dns_txt_model(m, m->p + rd, rdlen);
		break;
	case T_HINFO: { /* CPU and OS character-strings (RFC 1035 3.3.2) */
		struct cursor h;
		uint8_t l;
		const uint8_t *s;

		cursor_init(&h, m->p + rd, rdlen);
		if (m->mdns && cursor_u8(&h, &l) && cursor_skip(&h, l) && cursor_u8(&h, &l) && l &&
		    cursor_bytes(&h, l, &s)) {
			m->facts++;
			proto_attr_text(m->ctx, PROTO_TARGET_SRC, PROTO_ATTR_OS, s, l);
		}
		break;
	}
	default:
		break;
	}
	return true;
}

static const char *const opcode_names[16] = {
	[1] = "iquery", [2] = "status", [4] = "notify", [5] = "update", [6] = "dso",
};

static enum proto_result dns_message(struct proto_ctx *ctx, const uint8_t *p, size_t len, bool mdns)
{
	struct dns_msg m = { .ctx = ctx, .p = p, .len = len, .mdns = mdns };
	struct cursor c;
	uint16_t flags, counts[4];
	uint8_t opcode;
	bool response, group = proto_dst_is_group(ctx->frame);
	size_t off;
	int32_t last_fn = -1;
	const char *why = NULL;

	cursor_init(&c, p, len);
	if (!cursor_skip(&c, 2) || !cursor_u16be(&c, &flags) || !cursor_u16be(&c, &counts[0]) ||
	    !cursor_u16be(&c, &counts[1]) || !cursor_u16be(&c, &counts[2]) || !cursor_u16be(&c, &counts[3])) {
		proto_violation(ctx, "truncated", "shorter than the DNS header");
		return PROTO_MALFORMED;
	}
	response = flags & 0x8000;
	opcode = (uint8_t)(flags >> 11 & 0xf);
	ctx->src_role = response ? PROTO_ROLE_SERVER : PROTO_ROLE_CLIENT;
	ctx->dst_role = group ? PROTO_ROLE_NONE : response ? PROTO_ROLE_CLIENT : PROTO_ROLE_SERVER;

	off = DNS_HDR_LEN;
	for (unsigned i = 0; i < counts[0]; i++) {
		uint16_t qtype;
		const char *name;
		char qname[DNS_NAME_MAX + 1];
		size_t qlen = 0;

		if (!dns_name_read(p, len, &off, qname, &qlen)) {
			proto_violation(ctx, "bad_name", "question name");
			return PROTO_MALFORMED;
		}
		c.off = off;
		if (!cursor_u16be(&c, &qtype) || !cursor_skip(&c, 2)) {
			proto_violation(ctx, "truncated", "question");
			return PROTO_MALFORMED;
		}
		off = c.off;
		if (!response && opcode == 0 && qtype != last_fn) {
			last_fn = qtype;
			name = dns_type_name(qtype);
			if (qtype == 0 || qtype == 65535)
				proto_violation(ctx, "illegal_function", "reserved query type");
			else
				proto_function(ctx, qtype, name ? name : "other");
		}
		if (opcode == 0 && qlen && i < DNS_MAX_NAMES)
			proto_name(ctx, response ? PROTO_NAME_DNS_ANSWER : PROTO_NAME_DNS_QUERY, qname, qlen);
	}
	if (!response && opcode != 0) {
		if (opcode_names[opcode])
			proto_function(ctx, DNS_OPCODE_FN | opcode, opcode_names[opcode]);
		else
			proto_violation(ctx, "illegal_function", "unassigned opcode");
	}
	for (int sec = 1; sec <= 3; sec++) {
		for (unsigned i = 0; i < counts[sec]; i++) {
			if (!dns_rr(&m, &off, sec, response && opcode == 0, &why)) {
				proto_violation(ctx, why, sec == 1 ? "answer record" : sec == 2 ? "authority record"
												   : "additional record");
				return PROTO_MALFORMED;
			}
		}
	}
	return PROTO_OK;
}

/* DNS over TCP: each message is preceded by its two-byte length (RFC 1035 4.2.2). A message shorter than
 * the header is not a boundary. */
static long dns_pdu_len(const uint8_t *p, size_t len)
{
	uint16_t l;

	if (len < 2)
		return 0;
	l = (uint16_t)(p[0] << 8 | p[1]);
	if (l < DNS_HDR_LEN)
		return -1;
	return (long)l + 2;
}

static enum proto_result dns_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	(void)state;
	if (ctx->frame->transport == DISSECT_T_TCP) {
		if (len < 2 || (size_t)(p[0] << 8 | p[1]) != len - 2) {
			proto_violation(ctx, "bad_length", "TCP length prefix");
			return PROTO_MALFORMED;
		}
		p += 2;
		len -= 2;
	}
	return dns_message(ctx, p, len, false);
}

static enum proto_result mdns_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	(void)state;
	return dns_message(ctx, p, len, true);
}

const struct dissector dissector_dns = {
	.name = "dns",
	.pdu_len = dns_pdu_len,
	.parse = dns_parse,
	.max_pdu = 65535 + 2,
};

const struct dissector dissector_mdns = {
	.name = "mdns",
	.parse = mdns_parse,
};
