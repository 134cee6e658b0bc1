/* Link-layer headers: Ethernet II / 802.3+LLC, 802.1Q/802.1ad, Linux cooked (SLL, SLL2), BSD loopback and raw IP. */
#include <string.h>

#include "sensor-agent/dissect/internal.h"
#include "sensor-agent/dissect/registry.h"

/* Tags deeper than this are treated as malformed: real networks stack two (QinQ), attackers stack many. */
#define LINK_MAX_TAGS 4

#define ARPHRD_ETHER 1
#define SLL_HOST_BCAST 1
#define SLL_HOST_MCAST 2
/* SLL protocol values that are not ethertypes (linux/if_ether.h): the payload is an 802.2 LLC frame. */
#define SLL_P_802_3 0x0001
#define SLL_P_802_2 0x0004

void link_ethernet(struct cursor *c, struct dissect_frame *f)
{
	const uint8_t *dst, *src;
	uint16_t type;
	struct cursor llc;

	if (!cursor_bytes(c, 6, &dst) || !cursor_bytes(c, 6, &src) || !cursor_u16be(c, &type))
		return;
	memcpy(f->dst_mac, dst, 6);
	memcpy(f->src_mac, src, 6);
	f->has_src_mac = f->has_dst_mac = true;
	if (type <= 1500) {
		/* 802.3: the field is the LLC length; anything after it is padding. */
		size_t n = type < cursor_remaining(c) ? type : cursor_remaining(c);
		if (cursor_sub(c, n, &llc))
			link_llc(&llc, f, 0);
		return;
	}
	if (type < 0x0600) /* 1501..1535 is neither a length nor an ethertype */
		return;
	dissect_ethertype(c, type, f, 0);
}

void link_llc(struct cursor *c, struct dissect_frame *f, int depth)
{
	uint8_t dsap, ssap, ctrl, ctrl2;
	const uint8_t *oui;
	uint16_t pid;
	uint32_t oui_v;

	if (!cursor_u8(c, &dsap) || !cursor_u8(c, &ssap) || !cursor_u8(c, &ctrl))
		return;
	/* I- and S-format PDUs have a two-byte control field (IEEE 802.2 5.2); U-format has one. */
	if ((ctrl & 0x03) != 0x03 && !cursor_u8(c, &ctrl2))
		return;
	if (dsap != 0xaa || ssap != 0xaa)
		return;
	if (!cursor_bytes(c, 3, &oui) || !cursor_u16be(c, &pid))
		return;
	oui_v = (uint32_t)oui[0] << 16 | (uint32_t)oui[1] << 8 | oui[2];
	if (oui_v == 0) { /* RFC 1042: SNAP with OUI 0 carries an ethertype */
		dissect_ethertype(c, pid, f, depth);
		return;
	}
	f->l2_proto = registry_by_snap(oui_v, pid);
	f->l2_payload = cursor_ptr(c);
	f->l2_payload_len = cursor_remaining(c);
}

void link_vlan(struct cursor *c, struct dissect_frame *f, int depth)
{
	uint16_t tci, type;

	if (depth >= LINK_MAX_TAGS || !cursor_u16be(c, &tci) || !cursor_u16be(c, &type))
		return;
	/* Each tag overwrites the previous one, so the innermost (customer) VLAN is what remains. */
	f->has_vlan = true;
	f->vlan = tci & 0x0fff;
	if (type <= 1500) {
		struct cursor llc;
		size_t n = type < cursor_remaining(c) ? type : cursor_remaining(c);
		if (cursor_sub(c, n, &llc))
			link_llc(&llc, f, depth + 1);
		return;
	}
	dissect_ethertype(c, type, f, depth + 1);
}

static void sll_common(struct cursor *c, struct dissect_frame *f, uint16_t hatype, uint16_t pkttype,
		       uint16_t halen, const uint8_t *addr, uint16_t proto)
{
	if (hatype == ARPHRD_ETHER && halen == 6) {
		memcpy(f->src_mac, addr, 6);
		f->has_src_mac = true;
	}
	f->link_multicast = pkttype == SLL_HOST_BCAST || pkttype == SLL_HOST_MCAST;
	if (proto == SLL_P_802_2 || proto == SLL_P_802_3) {
		if (proto == SLL_P_802_2)
			link_llc(c, f, 0);
		return;
	}
	if (proto >= 0x0600)
		dissect_ethertype(c, proto, f, 0);
}

void link_sll(struct cursor *c, struct dissect_frame *f)
{
	uint16_t pkttype, hatype, halen, proto;
	const uint8_t *addr;

	if (!cursor_u16be(c, &pkttype) || !cursor_u16be(c, &hatype) || !cursor_u16be(c, &halen) ||
	    !cursor_bytes(c, 8, &addr) || !cursor_u16be(c, &proto))
		return;
	sll_common(c, f, hatype, pkttype, halen, addr, proto);
}

void link_sll2(struct cursor *c, struct dissect_frame *f)
{
	uint16_t proto, hatype;
	uint8_t pkttype, halen;
	const uint8_t *addr;

	if (!cursor_u16be(c, &proto) || !cursor_skip(c, 2 + 4) || !cursor_u16be(c, &hatype) ||
	    !cursor_u8(c, &pkttype) || !cursor_u8(c, &halen) || !cursor_bytes(c, 8, &addr))
		return;
	sll_common(c, f, hatype, pkttype, halen, addr, proto);
}

/* DLT_NULL stores the address family in the capturing host's byte order and DLT_LOOP in network order, and
 * files move between hosts, so both orders are accepted for both: a family is small, so the zero half tells
 * the order. AF_INET6 differs per BSD (24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS; 10 is Linux). */
void link_null(struct cursor *c, struct dissect_frame *f)
{
	const uint8_t *b;
	uint32_t af;

	if (!cursor_bytes(c, 4, &b))
		return;
	if (b[0] == 0 && b[1] == 0)
		af = (uint32_t)b[2] << 8 | b[3];
	else
		af = (uint32_t)b[0] | (uint32_t)b[1] << 8;
	if (af == 2)
		ip_decode(c, f, 4);
	else if (af == 24 || af == 28 || af == 30 || af == 10)
		ip_decode(c, f, 6);
}

void link_raw(struct cursor *c, struct dissect_frame *f, int version)
{
	ip_decode(c, f, version);
}
