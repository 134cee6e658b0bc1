/* LLDP (IEEE 802.1AB-2016): one LLDPDU per frame, a sequence of TLVs whose 16-bit header holds a 7-bit type
 * and a 9-bit length (clause 8.4). Chassis ID, Port ID and TTL are mandatory and come first, in that order
 * (8.2); the End Of LLDPDU TLV is optional since the 2016 edition, so the walk also ends at the end of the
 * payload (Ethernet padding is zeros, which reads as an End TLV).
 *
 * Facts are about the announcing device (the frame's source): system name -> hostname, the first line of the
 * system description -> platform, port description (else the port id as text) -> port, enabled capabilities
 * -> capabilities, the first IPv4 (else IPv6) management address -> management address. Facts are reported when the TLV walk
 * stays inside the payload, even when an ordering rule was broken (the violation is recorded as well). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/cursor.h"
#include "sensor-agent/dissect/proto.h"
#include "sensor-agent/dissect/sysdescr.h"

enum {
	LLDP_TLV_END = 0,
	LLDP_TLV_CHASSIS_ID = 1,
	LLDP_TLV_PORT_ID = 2,
	LLDP_TLV_TTL = 3,
	LLDP_TLV_PORT_DESCR = 4,
	LLDP_TLV_SYS_NAME = 5,
	LLDP_TLV_SYS_DESCR = 6,
	LLDP_TLV_SYS_CAPS = 7,
	LLDP_TLV_MGMT_ADDR = 8,
	LLDP_TLV_ORG = 127,
};

/* Chassis ID and Port ID subtypes (802.1AB-2016 Tables 8-2 and 8-3) that are not plain text. */
#define LLDP_CHASSIS_MAC 4
#define LLDP_PORT_MAC 3
#define LLDP_PORT_NETADDR 4

/* IANA address family numbers, used by the management address and network-address port id. */
#define IANA_AF_IPV4 1
#define IANA_AF_IPV6 2

#define OUI_PROFINET 0x000ecfu
#define OUI_IEEE_8023 0x00120fu

/* What one LLDPDU announced; pointers into the PDU, valid for the parse() call only. */
struct lldp_info {
	const uint8_t *sys_name, *sys_descr, *port_descr, *port_id;
	size_t sys_name_len, sys_descr_len, port_descr_len, port_id_len;
	uint8_t port_subtype;
	bool has_caps;
	uint16_t caps_enabled;
	uint8_t mgmt_ver; /* 4 or 6 when a usable management address was seen */
	uint8_t mgmt[16];
	uint32_t seen;    /* bit per TLV type 1..8, to catch duplicates */
	bool bad;         /* a violation was reported */
};

/* Enabled-capability bits (802.1AB-2016 Table 8-4), lowest bit first. */
static const char *const lldp_cap_names[] = {
	"other", "repeater", "bridge", "wlan_ap", "router", "telephone", "docsis", "station",
	"c_vlan", "s_vlan", "tpmr",
};

static void lldp_violation(struct proto_ctx *ctx, struct lldp_info *in, const char *name, const char *detail)
{
	proto_violation(ctx, name, detail);
	in->bad = true;
}

/* An IANA-family address (family byte included) of alen bytes into in->mgmt when it is IPv4/IPv6, not
 * unspecified, and better than what is held (IPv4 wins over IPv6, the first of a family wins). */
static void lldp_take_addr(struct lldp_info *in, const uint8_t *a, size_t alen)
{
	static const uint8_t zero[16];
	uint8_t ver;
	size_t n;

	if (alen == 5 && a[0] == IANA_AF_IPV4) {
		ver = 4;
		n = 4;
	} else if (alen == 17 && a[0] == IANA_AF_IPV6) {
		ver = 6;
		n = 16;
	} else {
		return;
	}
	if (memcmp(a + 1, zero, n) == 0)
		return;
	if (in->mgmt_ver == 4 || (in->mgmt_ver == 6 && ver == 6))
		return;
	in->mgmt_ver = ver;
	memcpy(in->mgmt, a + 1, n);
}

/* Management Address TLV (8.5.9): address string length (1 + address), family + address, interface
 * numbering subtype, interface number, OID length, OID. */
static void lldp_mgmt_addr(struct proto_ctx *ctx, struct lldp_info *in, struct cursor *v)
{
	uint8_t alen, oid_len;
	const uint8_t *addr;

	if (!cursor_u8(v, &alen) || alen < 2 || alen > 32 || !cursor_bytes(v, alen, &addr) ||
	    !cursor_skip(v, 1 + 4) || !cursor_u8(v, &oid_len) || oid_len > 128 || cursor_remaining(v) != oid_len) {
		lldp_violation(ctx, in, "bad_tlv_length", "management address");
		return;
	}
	lldp_take_addr(in, addr, alen);
}

/* Organisationally specific TLVs: only the lengths of the fixed-size PROFINET and IEEE 802.3 ones are
 * checked; none of them carries a device fact the inventory keeps. */
static void lldp_org(struct proto_ctx *ctx, struct lldp_info *in, struct cursor *v)
{
	const uint8_t *o;
	uint8_t sub;
	uint32_t oui;
	size_t need = 0;

	if (!cursor_bytes(v, 3, &o) || !cursor_u8(v, &sub)) {
		lldp_violation(ctx, in, "bad_tlv_length", "organisation specific");
		return;
	}
	oui = (uint32_t)o[0] << 16 | (uint32_t)o[1] << 8 | o[2];
	if (oui == OUI_PROFINET)
		need = sub == 2 ? 4 : sub == 5 ? 6 : 0; /* port status, chassis MAC (IEC 61158-6-10) */
	else if (oui == OUI_IEEE_8023)
		need = sub == 1 ? 5 : sub == 4 ? 2 : 0; /* MAC/PHY status, maximum frame size (802.3 Annex 79) */
	if (need && cursor_remaining(v) != need)
		lldp_violation(ctx, in, "bad_tlv_length", oui == OUI_PROFINET ? "profinet" : "ieee 802.3");
}

/* Port description, system name and system description: strings of 0..255 bytes (8.5.5-8.5.7). */
static void lldp_text(struct proto_ctx *ctx, struct lldp_info *in, uint8_t type, const struct cursor *v)
{
	const uint8_t *s = cursor_ptr(v);
	size_t len = cursor_remaining(v);

	if (len > 255) {
		lldp_violation(ctx, in, "bad_tlv_length", "string longer than 255 bytes");
		return;
	}
	if (type == LLDP_TLV_PORT_DESCR) {
		in->port_descr = s;
		in->port_descr_len = len;
	} else if (type == LLDP_TLV_SYS_NAME) {
		in->sys_name = s;
		in->sys_name_len = len;
	} else {
		in->sys_descr = s;
		in->sys_descr_len = len;
	}
}

/* Checks one TLV's length against its type and records what it announces. */
static void lldp_tlv(struct proto_ctx *ctx, struct lldp_info *in, uint8_t type, struct cursor *v)
{
	size_t len = cursor_remaining(v);
	uint8_t sub;
	uint16_t sys_caps;

	if (type >= LLDP_TLV_CHASSIS_ID && type <= LLDP_TLV_SYS_CAPS) {
		if (in->seen & (1u << type))
			lldp_violation(ctx, in, "duplicate_tlv", NULL);
		in->seen |= 1u << type;
	}
	switch (type) {
	case LLDP_TLV_CHASSIS_ID:
		if (!cursor_u8(v, &sub) || len < 2 || len > 256 || (sub == LLDP_CHASSIS_MAC && len != 7))
			lldp_violation(ctx, in, "bad_tlv_length", "chassis id");
		break;
	case LLDP_TLV_PORT_ID:
		if (!cursor_u8(v, &sub) || len < 2 || len > 256 || (sub == LLDP_PORT_MAC && len != 7)) {
			lldp_violation(ctx, in, "bad_tlv_length", "port id");
			break;
		}
		in->port_subtype = sub;
		in->port_id = cursor_ptr(v);
		in->port_id_len = cursor_remaining(v);
		break;
	case LLDP_TLV_TTL:
		if (len < 2)
			lldp_violation(ctx, in, "bad_tlv_length", "ttl");
		break;
	case LLDP_TLV_PORT_DESCR:
	case LLDP_TLV_SYS_NAME:
	case LLDP_TLV_SYS_DESCR:
		lldp_text(ctx, in, type, v);
		break;
	case LLDP_TLV_SYS_CAPS:
		if (!cursor_u16be(v, &sys_caps) || !cursor_u16be(v, &in->caps_enabled)) {
			lldp_violation(ctx, in, "bad_tlv_length", "system capabilities");
			break;
		}
		in->has_caps = true;
		break;
	case LLDP_TLV_MGMT_ADDR:
		lldp_mgmt_addr(ctx, in, v);
		break;
	case LLDP_TLV_ORG:
		lldp_org(ctx, in, v);
		break;
	default: /* 9..126 are reserved: a receiver skips them */
		break;
	}
}

static void lldp_report_port(struct proto_ctx *ctx, const struct lldp_info *in)
{
	char buf[INET6_ADDRSTRLEN];
	const uint8_t *a = in->port_id;
	int n;

	if (in->port_descr_len) {
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_PORT, in->port_descr, in->port_descr_len);
		return;
	}
	if (!in->port_id_len)
		return;
	if (in->port_subtype == LLDP_PORT_MAC) { /* length checked: 6 bytes */
		n = snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5]);
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_PORT, buf, (size_t)n);
		return;
	}
	if (in->port_subtype == LLDP_PORT_NETADDR) {
		if (in->port_id_len == 5 && a[0] == IANA_AF_IPV4 && inet_ntop(AF_INET, a + 1, buf, sizeof(buf)))
			proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_PORT, buf, strlen(buf));
		else if (in->port_id_len == 17 && a[0] == IANA_AF_IPV6 && inet_ntop(AF_INET6, a + 1, buf, sizeof(buf)))
			proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_PORT, buf, strlen(buf));
		return;
	}
	proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_PORT, a, in->port_id_len);
}

static void lldp_report(struct proto_ctx *ctx, const struct lldp_info *in)
{
	char buf[96];
	size_t n = 0;

	if (in->sys_name_len) {
		/* A dotted system name is a FQDN; its first label is the host name CDP and NetBIOS would give. */
		const uint8_t *dot = memchr(in->sys_name, '.', in->sys_name_len);
		if (dot && dot != in->sys_name && (size_t)(dot - in->sys_name) + 1 < in->sys_name_len) {
			proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_FQDN, in->sys_name, in->sys_name_len);
			proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_HOSTNAME, in->sys_name,
					(size_t)(dot - in->sys_name));
		} else {
			proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_HOSTNAME, in->sys_name, in->sys_name_len);
		}
	}
	if (in->sys_descr_len) {
		/* Multi-line descriptions (Cisco's) lead with the line that matters; the rest is copyright. */
		const uint8_t *nl = memchr(in->sys_descr, '\n', in->sys_descr_len);
		n = nl ? (size_t)(nl - in->sys_descr) : in->sys_descr_len;
		if (n && in->sys_descr[n - 1] == '\r')
			n--;
		/* IEEE 802.1AB: the system description is the device's SNMP sysDescr (CDP's platform stays its own). */
		if (n) {
			proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_SYS_DESCR, in->sys_descr, n);
			sysdescr_facts(ctx, PROTO_TARGET_SRC, in->sys_descr, n);
		}
		n = 0;
	}
	lldp_report_port(ctx, in);
	if (in->has_caps && in->caps_enabled) {
		for (size_t i = 0; i < sizeof(lldp_cap_names) / sizeof(lldp_cap_names[0]); i++) {
			size_t l = strlen(lldp_cap_names[i]);
			if (!(in->caps_enabled & (1u << i)))
				continue;
			if (n)
				buf[n++] = ',';
			memcpy(buf + n, lldp_cap_names[i], l); /* all names with commas fit in buf */
			n += l;
		}
		if (n)
			proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_CAPABILITIES, buf, n);
	}
	if (in->mgmt_ver &&
	    inet_ntop(in->mgmt_ver == 4 ? AF_INET : AF_INET6, in->mgmt, buf, sizeof(buf)))
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_MGMT_ADDRESS, buf, strlen(buf));
}

static enum proto_result lldp_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	/* The mandatory TLVs in their required order (802.1AB-2016 8.2). */
	static const uint8_t mandatory[3] = { LLDP_TLV_CHASSIS_ID, LLDP_TLV_PORT_ID, LLDP_TLV_TTL };
	struct lldp_info in = { 0 };
	struct cursor c, v;
	uint16_t hdr;
	unsigned idx = 0;

	(void)state;
	cursor_init(&c, p, len);
	while (cursor_u16be(&c, &hdr)) {
		uint8_t type = (uint8_t)(hdr >> 9);
		size_t tlen = hdr & 0x1ff;

		if (!cursor_sub(&c, tlen, &v)) {
			proto_violation(ctx, "truncated", "tlv past the end of the frame");
			return PROTO_MALFORMED;
		}
		if (type == LLDP_TLV_END) {
			if (tlen != 0)
				lldp_violation(ctx, &in, "bad_tlv_length", "end of lldpdu");
			break;
		}
		if (idx < 3 && type != mandatory[idx]) {
			lldp_violation(ctx, &in, "bad_tlv_order", "chassis id, port id and ttl must come first");
			idx = 3; /* reported once */
		} else if (idx < 3) {
			idx++;
		}
		lldp_tlv(ctx, &in, type, &v);
	}
	if (in.seen == 0 && idx == 0) {
		proto_violation(ctx, "truncated", "empty lldpdu");
		return PROTO_MALFORMED;
	}
	for (unsigned i = 0; i < 3; i++) {
		if (!(in.seen & (1u << mandatory[i]))) {
			lldp_violation(ctx, &in, "missing_tlv",
				       i == 0 ? "chassis id" : i == 1 ? "port id" : "ttl");
		}
	}
	lldp_report(ctx, &in);
	return in.bad ? PROTO_MALFORMED : PROTO_OK;
}

const struct dissector dissector_lldp = {
	.name = "lldp",
	.parse = lldp_parse,
};
