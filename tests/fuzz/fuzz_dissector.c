/* libFuzzer: one dissector (built once per dissector with -DFUZZ_DISSECTOR=dissector_<name>) through the real
 * deep-inspection framework (dpi.c), so framing, reassembly and the dissector's parse() are exercised as in the
 * sensor. Input layout:
 *   byte 0: chunking seed (how the rest is cut into TCP segments / datagrams, and whether segments arrive
 *           out of order or retransmitted)
 *   byte 1: memory cap selector: 0-31 small global caps (down to a few hundred bytes) so allocation refusals
 *           and evictions happen; 32-63 real allocation failures (every allocation of the framework fails
 *           with a probability the byte sets, through dpi_alloc_fail); otherwise the default caps
 *   rest:   the application bytes, alternating direction per chunk when the seed says so.
 * TCP dissectors (pdu_len set) get segments, datagram dissectors one datagram per chunk, layer-2 dissectors
 * one frame per chunk. Observations go to a sink that checks their invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensor-agent/dissect/dpi.h"
#include "sensor-agent/dissect/proto.h"

#ifndef FUZZ_DISSECTOR
#error "build with -DFUZZ_DISSECTOR=dissector_<name>"
#endif

static size_t seen;

static void sink(void *ud, const struct proto_ctx *ctx, const struct proto_obs *o)
{
	(void)ud;
	/* Borrowed text must be readable for its whole length; names must be strings. */
	if (o->text && o->text_len) {
		volatile uint8_t x = 0;
		for (size_t i = 0; i < o->text_len; i++)
			x ^= o->text[i];
		(void)x;
	}
	if (o->name)
		seen += strlen(o->name);
	if (ctx->proto)
		seen += strlen(ctx->proto);
	if (o->kind == PROTO_OBS_ATTR && o->attr >= PROTO_ATTR__COUNT)
		abort();
}

static uint32_t fail_state, fail_every;

/* Fails one allocation in fail_every, pseudo-randomly but reproducibly for an input. */
static bool fail_some(size_t n)
{
	(void)n;
	fail_state = fail_state * 1103515245u + 12345u;
	return fail_every && (fail_state >> 16) % fail_every == 0;
}

static uint32_t rng(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

static void frame_init(struct dissect_frame *f, bool tcp, bool to_server)
{
	static const uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };
	static const uint8_t ma[6] = { 0, 1, 2, 3, 4, 5 }, mb[6] = { 0, 1, 2, 3, 4, 6 };

	memset(f, 0, sizeof(*f));
	f->has_src_mac = f->has_dst_mac = true;
	memcpy(f->src_mac, to_server ? ma : mb, 6);
	memcpy(f->dst_mac, to_server ? mb : ma, 6);
	f->ip_version = 4;
	memcpy(f->src_ip, to_server ? a : b, 4);
	memcpy(f->dst_ip, to_server ? b : a, 4);
	f->transport = tcp ? DISSECT_T_TCP : DISSECT_T_UDP;
	f->src_port = to_server ? 40000 : 502;
	f->dst_port = to_server ? 502 : 40000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct dissector *dis = &FUZZ_DISSECTOR;
	struct dpi_limits lim = { 0 };
	struct dpi *d;
	struct dpi_flow *fl = NULL;
	uint32_t seed, seq[2] = { 1000, 5000000 };
	size_t off = 2;
	bool l2 = !dis->pdu_len && (strcmp(dis->name, "lldp") == 0 || strcmp(dis->name, "cdp") == 0 ||
				    strcmp(dis->name, "pn_dcp") == 0);

	if (size < 2 || !dis->parse)
		return 0;
	seed = data[0];
	if (data[1] < 32) {
		lim.total_bytes = 256 + (size_t)data[1] * 512;
		lim.flow_bytes = 64 + (size_t)data[1] * 128;
		lim.ooo_segments = 1 + data[1] % 4;
	}
	fail_every = data[1] >= 32 && data[1] < 64 ? 1 + (data[1] & 7) : 0;
	fail_state = data[0];
	d = dpi_new(&lim, sink);
	if (!d)
		return 0;
	dpi_alloc_fail = fail_every ? fail_some : NULL;
	while (off < size) {
		size_t n = 1 + rng(&seed) % 600, dir = (seed & 0x100) ? 1 : 0;
		struct dissect_frame f;
		if (n > size - off)
			n = size - off;
		if (!(data[0] & 0x80))
			dir = 0;
		frame_init(&f, dis->pdu_len != NULL, dir == 0);
		f.payload = data + off;
		f.payload_caplen = n;
		f.payload_len = (uint32_t)n;
		if (l2) {
			f.ip_version = 0;
			f.transport = DISSECT_T_NONE;
			f.l2_payload = data + off;
			f.l2_payload_len = n;
			dpi_l2(d, dis, &f, 1, NULL);
		} else if (dis->pdu_len) {
			uint32_t r = rng(&seed) % 16;
			f.tcp_seq = seq[dir];
			f.tcp_ack = seq[dir ^ 1] - (uint32_t)(rng(&seed) % 64);
			f.tcp_flags = DISSECT_TCP_ACK;
			if (r == 0 && off > 2) /* a retransmission of part of what came before */
				f.tcp_seq -= (uint32_t)(n / 2);
			else if (r == 1) /* a segment from the future: a hole before it */
				f.tcp_seq += 1 + rng(&seed) % 300;
			else if (r == 2) /* cut short by the snap length */
				f.payload_caplen = n / 2;
			dpi_packet(d, &fl, dis, &f, dir == 0, PROTO_ROLE_CLIENT, PROTO_ROLE_SERVER, 1, NULL, NULL);
			if (r != 1)
				seq[dir] += (uint32_t)n;
		} else {
			dpi_packet(d, &fl, dis, &f, dir == 0, PROTO_ROLE_CLIENT, PROTO_ROLE_SERVER, 1, NULL, NULL);
		}
		off += n;
	}
	{
		struct dissect_frame f;
		frame_init(&f, dis->pdu_len != NULL, true);
		dpi_flow_end(d, &fl, (data[0] & 0x40) ? &f : NULL, NULL, NULL);
	}
	{
		struct dpi_totals t;
		dpi_totals(d, &t);
		if (t.mem_used != 0 || t.mem_peak > t.mem_cap)
			abort(); /* everything given back, and never above the cap */
	}
	dpi_alloc_fail = NULL;
	dpi_free(d);
	return 0;
}
