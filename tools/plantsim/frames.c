#include "tools/plantsim/frames.h"

#include <errno.h>
#include <string.h>

#define IPV4_HDR_LEN 20
#define UDP_HDR_LEN 8
#define TCP_HDR_LEN 20
#define IPPROTO_TCP_NUM 6
#define IPPROTO_UDP_NUM 17

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t frame_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	/* Fold as we go so long buffers cannot overflow 32 bits. */
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

uint16_t frame_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t frame_csum(const void *data, size_t len)
{
	return frame_csum_fold(frame_csum_add(0, data, len));
}

/* Writes the Ethernet (and 802.1Q) header; returns its length. */
static size_t put_l2(uint8_t *buf, const struct frame_l2 *l2, uint16_t ethertype)
{
	size_t off = 12;

	memcpy(buf, l2->dst, 6);
	memcpy(buf + 6, l2->src, 6);
	if (l2->vlan) {
		put16(buf + off, ETHERTYPE_VLAN);
		put16(buf + off + 2, l2->vlan & 0x0fff);
		off += 4;
	}
	put16(buf + off, ethertype);
	return off + 2;
}

static size_t l2_len(const struct frame_l2 *l2) { return l2->vlan ? 18 : 14; }

static int pad(uint8_t *buf, size_t cap, size_t len)
{
	if (len >= FRAME_MIN_LEN)
		return (int)len;
	if (cap < FRAME_MIN_LEN)
		return -ENOSPC;
	memset(buf + len, 0, FRAME_MIN_LEN - len);
	return FRAME_MIN_LEN;
}

int frame_eth(uint8_t *buf, size_t cap, const struct frame_l2 *l2, uint16_t ethertype,
	const void *payload, size_t plen)
{
	size_t hl = l2_len(l2);

	if (plen > FRAME_MAX_LEN || cap < hl + plen)
		return -ENOSPC;
	put_l2(buf, l2, ethertype);
	if (plen)
		memcpy(buf + hl, payload, plen);
	return pad(buf, cap, hl + plen);
}

int frame_arp(uint8_t *buf, size_t cap, const struct frame_l2 *l2, uint16_t op, const uint8_t sha[6],
	uint32_t spa, const uint8_t tha[6], uint32_t tpa)
{
	uint8_t a[28];

	put16(a, 1);              /* Ethernet */
	put16(a + 2, ETHERTYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	put32(a + 14, spa);
	memcpy(a + 18, tha, 6);
	put32(a + 24, tpa);
	return frame_eth(buf, cap, l2, ETHERTYPE_ARP, a, sizeof(a));
}

/* Writes the IPv4 header at ip_hdr for a payload of l4_len bytes. */
static void put_ipv4(uint8_t *h, const struct frame_ip *ip, uint8_t proto, size_t l4_len)
{
	h[0] = 0x45;
	h[1] = 0;
	put16(h + 2, (uint16_t)(IPV4_HDR_LEN + l4_len));
	put16(h + 4, ip->id);
	put16(h + 6, 0x4000); /* DF */
	h[8] = ip->ttl;
	h[9] = proto;
	put16(h + 10, 0);
	put32(h + 12, ip->src);
	put32(h + 16, ip->dst);
	put16(h + 10, frame_csum(h, IPV4_HDR_LEN));
}

/* TCP/UDP checksum over the pseudo-header (RFC 793 section 3.1, RFC 768) and the segment. */
static uint16_t l4_csum(const struct frame_ip *ip, uint8_t proto, const uint8_t *seg, size_t len)
{
	uint8_t ph[12];

	put32(ph, ip->src);
	put32(ph + 4, ip->dst);
	ph[8] = 0;
	ph[9] = proto;
	put16(ph + 10, (uint16_t)len);
	return frame_csum_fold(frame_csum_add(frame_csum_add(0, ph, sizeof(ph)), seg, len));
}

int frame_udp(uint8_t *buf, size_t cap, const struct frame_l2 *l2, const struct frame_ip *ip,
	uint16_t sport, uint16_t dport, const void *payload, size_t plen)
{
	size_t hl = l2_len(l2), ulen = UDP_HDR_LEN + plen;
	uint8_t *u;
	uint16_t sum;

	if (plen > FRAME_MAX_LEN || cap < hl + IPV4_HDR_LEN + ulen)
		return -ENOSPC;
	put_l2(buf, l2, ETHERTYPE_IPV4);
	put_ipv4(buf + hl, ip, IPPROTO_UDP_NUM, ulen);
	u = buf + hl + IPV4_HDR_LEN;
	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)ulen);
	put16(u + 6, 0);
	if (plen)
		memcpy(u + UDP_HDR_LEN, payload, plen);
	sum = l4_csum(ip, IPPROTO_UDP_NUM, u, ulen);
	put16(u + 6, sum ? sum : 0xffff); /* RFC 768: a computed zero is sent as all ones */
	return pad(buf, cap, hl + IPV4_HDR_LEN + ulen);
}

int frame_tcp(uint8_t *buf, size_t cap, const struct frame_l2 *l2, const struct frame_ip *ip,
	const struct frame_tcp *tcp, const void *payload, size_t plen)
{
	size_t hl = l2_len(l2), thl = TCP_HDR_LEN + (tcp->mss ? 4 : 0), seglen = thl + plen;
	uint8_t *t;

	if (plen > FRAME_MAX_LEN || cap < hl + IPV4_HDR_LEN + seglen)
		return -ENOSPC;
	put_l2(buf, l2, ETHERTYPE_IPV4);
	put_ipv4(buf + hl, ip, IPPROTO_TCP_NUM, seglen);
	t = buf + hl + IPV4_HDR_LEN;
	put16(t, tcp->sport);
	put16(t + 2, tcp->dport);
	put32(t + 4, tcp->seq);
	put32(t + 8, tcp->ack);
	t[12] = (uint8_t)((thl / 4) << 4);
	t[13] = tcp->flags;
	put16(t + 14, tcp->window);
	put16(t + 16, 0);
	put16(t + 18, 0);
	if (tcp->mss) {
		t[20] = 2;
		t[21] = 4;
		put16(t + 22, tcp->mss);
	}
	if (plen)
		memcpy(t + thl, payload, plen);
	put16(t + 16, l4_csum(ip, IPPROTO_TCP_NUM, t, seglen));
	return pad(buf, cap, hl + IPV4_HDR_LEN + seglen);
}
