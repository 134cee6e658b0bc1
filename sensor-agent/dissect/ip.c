/* IPv4 and IPv6 headers (with IPv6 extension headers). Lengths come from the IP header but every read is
 * bounded by what was captured, so a lying length field can only shorten the walk. */
#include <string.h>

#include "sensor-agent/dissect/internal.h"

#define IP_PROTO_HOPOPTS 0
#define IP_PROTO_ROUTING 43
#define IP_PROTO_FRAGMENT 44
#define IP_PROTO_AH 51
#define IP_PROTO_DSTOPTS 60
/* More extension headers than this is an evasion attempt or garbage, not a real packet. */
#define IP6_MAX_EXT 8

static void ipv4_decode(struct cursor *c, struct dissect_frame *f)
{
	uint8_t vihl, proto;
	uint16_t totlen, id, frag;
	const uint8_t *src, *dst;
	size_t ihl, plen;
	struct cursor payload;

	if (!cursor_u8(c, &vihl) || vihl >> 4 != 4)
		return;
	ihl = (size_t)(vihl & 0x0f) * 4;
	if (ihl < 20 || !cursor_skip(c, 1) || !cursor_u16be(c, &totlen) || !cursor_u16be(c, &id) ||
	    !cursor_u16be(c, &frag) || !cursor_skip(c, 1) || !cursor_u8(c, &proto) || !cursor_skip(c, 2) ||
	    !cursor_bytes(c, 4, &src) || !cursor_bytes(c, 4, &dst) || !cursor_skip(c, ihl - 20))
		return;
	/* A zero total length is what TCP segmentation offload leaves in locally captured packets: use the
	 * captured length, as Wireshark does. */
	if (totlen == 0)
		totlen = (uint16_t)(cursor_remaining(c) + ihl > 0xffff ? 0xffff : cursor_remaining(c) + ihl);
	if (totlen < ihl)
		return;
	f->ip_version = 4;
	memcpy(f->src_ip, src, 4);
	memcpy(f->dst_ip, dst, 4);
	f->ip_proto = proto;
	f->ip_frag_id = id;
	f->ip_fragment = (frag & 0x2000) || (frag & 0x1fff);
	f->ip_later_fragment = (frag & 0x1fff) != 0;
	plen = totlen - ihl;
	f->ip_payload_len = (uint32_t)plen;
	if (f->ip_later_fragment)
		return;
	if (plen > cursor_remaining(c))
		plen = cursor_remaining(c);
	if (cursor_sub(c, plen, &payload))
		transport_decode(&payload, f, f->ip_payload_len);
}

static void ipv6_decode(struct cursor *c, struct dissect_frame *f)
{
	uint8_t b0, nh, len8;
	uint16_t plen, offflags;
	uint32_t id;
	const uint8_t *src, *dst;
	size_t avail;
	struct cursor payload;

	if (!cursor_u8(c, &b0) || b0 >> 4 != 6 || !cursor_skip(c, 3) || !cursor_u16be(c, &plen) ||
	    !cursor_u8(c, &nh) || !cursor_skip(c, 1) || !cursor_bytes(c, 16, &src) || !cursor_bytes(c, 16, &dst))
		return;
	f->ip_version = 6;
	memcpy(f->src_ip, src, 16);
	memcpy(f->dst_ip, dst, 16);
	f->ip_proto = nh;
	/* Payload length 0 means a jumbogram (RFC 2675) whose length sits in hop-by-hop options: use what
	 * was captured. */
	avail = plen == 0 ? cursor_remaining(c) : plen;
	f->ip_payload_len = (uint32_t)avail;
	if (avail > cursor_remaining(c))
		avail = cursor_remaining(c);
	if (!cursor_sub(c, avail, &payload))
		return;
	for (int i = 0; i < IP6_MAX_EXT; i++) {
		size_t hdr;
		size_t before = payload.off;

		switch (nh) {
		case IP_PROTO_HOPOPTS:
		case IP_PROTO_ROUTING:
		case IP_PROTO_DSTOPTS:
			if (!cursor_u8(&payload, &nh) || !cursor_u8(&payload, &len8))
				return;
			hdr = ((size_t)len8 + 1) * 8;
			if (!cursor_skip(&payload, hdr - 2))
				return;
			break;
		case IP_PROTO_AH: /* RFC 4302: length in 4-octet units, minus 2 */
			if (!cursor_u8(&payload, &nh) || !cursor_u8(&payload, &len8))
				return;
			hdr = ((size_t)len8 + 2) * 4;
			if (!cursor_skip(&payload, hdr - 2))
				return;
			break;
		case IP_PROTO_FRAGMENT:
			if (!cursor_u8(&payload, &nh) || !cursor_skip(&payload, 1) || !cursor_u16be(&payload, &offflags) ||
			    !cursor_u32be(&payload, &id))
				return;
			f->ip_fragment = true;
			f->ip_frag_id = id;
			f->ip_later_fragment = (offflags >> 3) != 0;
			break;
		default:
			goto upper;
		}
		f->ip_proto = nh;
		hdr = payload.off - before;
		f->ip_payload_len = hdr > f->ip_payload_len ? 0 : f->ip_payload_len - (uint32_t)hdr;
		if (f->ip_later_fragment)
			return;
	}
	return; /* too many extension headers: stop at IPv6 */
upper:
	transport_decode(&payload, f, f->ip_payload_len);
}

void ip_decode(struct cursor *c, struct dissect_frame *f, int version)
{
	if (version == 0) {
		if (!cursor_has(c, 1))
			return;
		version = cursor_ptr(c)[0] >> 4;
	}
	if (version == 4)
		ipv4_decode(c, f);
	else if (version == 6)
		ipv6_decode(c, f);
}
