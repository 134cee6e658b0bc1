#include "sensor-agent/dissect/internal.h"

#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17

static void tcp_decode(struct cursor *c, struct dissect_frame *f, uint32_t seglen)
{
	uint16_t sport, dport;
	uint8_t doff, flags;
	uint32_t seq, ack;
	size_t hlen;

	if (!cursor_u16be(c, &sport) || !cursor_u16be(c, &dport) || !cursor_u32be(c, &seq) || !cursor_u32be(c, &ack) ||
	    !cursor_u8(c, &doff) ||
	    !cursor_u8(c, &flags) || !cursor_skip(c, 6))
		return;
	hlen = (size_t)(doff >> 4) * 4;
	if (hlen < 20 || hlen > seglen || !cursor_skip(c, hlen - 20))
		return;
	f->transport = DISSECT_T_TCP;
	f->src_port = sport;
	f->dst_port = dport;
	f->tcp_flags = flags;
	f->tcp_seq = seq;
	f->tcp_ack = ack;
	f->payload_len = seglen - (uint32_t)hlen;
	f->payload = cursor_ptr(c);
	f->payload_caplen = cursor_remaining(c);
}

static void udp_decode(struct cursor *c, struct dissect_frame *f, uint32_t seglen)
{
	uint16_t sport, dport, ulen;

	if (!cursor_u16be(c, &sport) || !cursor_u16be(c, &dport) || !cursor_u16be(c, &ulen) || !cursor_skip(c, 2))
		return;
	f->transport = DISSECT_T_UDP;
	f->src_port = sport;
	f->dst_port = dport;
	/* The UDP length wins when it is sane; a zero length is legal for IPv6 jumbograms. */
	f->payload_len = (ulen >= 8 && ulen <= seglen) ? ulen - 8u : (seglen >= 8 ? seglen - 8 : 0);
	f->payload = cursor_ptr(c);
	f->payload_caplen = cursor_remaining(c) < f->payload_len ? cursor_remaining(c) : f->payload_len;
}

void transport_decode(struct cursor *c, struct dissect_frame *f, uint32_t ip_payload_len)
{
	if (f->ip_proto == IP_PROTO_TCP)
		tcp_decode(c, f, ip_payload_len);
	else if (f->ip_proto == IP_PROTO_UDP)
		udp_decode(c, f, ip_payload_len);
}
