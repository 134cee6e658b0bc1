/* The deep-inspection framework (dpi.c + stream.c) with a toy TCP protocol: each PDU is one length byte
 * (including itself) followed by that many - 1 bytes; a PDU starting with 0xee is "malformed", 0 is not a
 * boundary. The tests feed segments in and out of order and check what reaches parse() and the caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sensor-agent/dissect/dpi.h"

static size_t n_pdus, n_bytes, n_confirms, n_violations;
static uint8_t last_pdu[256];

static long toy_pdu_len(const uint8_t *p, size_t len)
{
	(void)len;
	return p[0] == 0 ? -1 : p[0];
}

static enum proto_result toy_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	unsigned *count = state;

	(*count)++;
	n_pdus++;
	n_bytes += len;
	memcpy(last_pdu, p, len);
	if (len > 1 && p[1] == 0xee) {
		proto_violation(ctx, "toy_bad", NULL);
		return PROTO_MALFORMED;
	}
	return len > 1 && p[1] == 0xdd ? PROTO_DONE : PROTO_OK;
}

static const struct dissector toy = {
	.name = "mbtcp", /* a registry name, so statistics have a static name to use */
	.state_size = sizeof(unsigned),
	.pdu_len = toy_pdu_len,
	.parse = toy_parse,
	.max_pdu = 200,
};

static void sink(void *ud, const struct proto_ctx *ctx, const struct proto_obs *o)
{
	(void)ud;
	(void)ctx;
	if (o->kind == DPI_OBS_CONFIRM)
		n_confirms++;
	if (o->kind == PROTO_OBS_VIOLATION)
		n_violations++;
}

static void reset(void)
{
	n_pdus = n_bytes = n_confirms = n_violations = 0;
}

static void seg(struct dpi *d, struct dpi_flow **fl, uint32_t seq, const void *p, size_t len, bool to_server)
{
	struct dissect_frame f;

	memset(&f, 0, sizeof(f));
	f.ip_version = 4;
	f.transport = DISSECT_T_TCP;
	f.tcp_seq = seq;
	f.tcp_flags = DISSECT_TCP_ACK;
	f.payload = p;
	f.payload_caplen = len;
	f.payload_len = (uint32_t)len;
	dpi_packet(d, fl, &toy, &f, to_server, PROTO_ROLE_CLIENT, PROTO_ROLE_SERVER, 1, NULL, NULL);
}

static struct dpi_proto_stats stats_of(struct dpi *d)
{
	struct dpi_proto_stats st[8];
	size_t n = dpi_stats(d, st, 8);
	for (size_t i = 0; i < n; i++)
		if (strcmp(st[i].name, "mbtcp") == 0)
			return st[i];
	return (struct dpi_proto_stats){ 0 };
}

static void frames_pdus_across_segments(void **unused)
{
	struct dpi *d = dpi_new(NULL, sink);
	struct dpi_flow *fl = NULL;
	const uint8_t s1[] = { 3, 'a', 'b', 4, 'c' }, s2[] = { 'd', 'e', 2, 'f' };
	struct dpi_totals t;

	(void)unused;
	reset();
	seg(d, &fl, 100, s1, sizeof(s1), true);
	assert_int_equal(n_pdus, 1); /* the second PDU waits for its rest */
	seg(d, &fl, 105, s2, sizeof(s2), true);
	assert_int_equal(n_pdus, 3);
	assert_memory_equal(last_pdu, "\x02" "f", 2);
	assert_int_equal(n_confirms, 1); /* confirmations only on change */
	seg(d, &fl, 100, s1, sizeof(s1), true); /* a retransmission changes nothing */
	assert_int_equal(n_pdus, 3);
	dpi_totals(d, &t);
	assert_int_equal(t.flows_live, 1);
	dpi_flow_end(d, &fl, NULL, NULL, NULL);
	dpi_totals(d, &t);
	assert_int_equal(t.mem_used, 0);
	assert_int_equal(t.flows_live, 0);
	dpi_free(d);
}

static void reorders_out_of_order_segments(void **unused)
{
	struct dpi *d = dpi_new(NULL, sink);
	struct dpi_flow *fl = NULL;
	const uint8_t a[] = { 4, 1 }, b[] = { 2, 3 }, c[] = { 2, 9 };

	(void)unused;
	reset();
	seg(d, &fl, 10, b, sizeof(b), true); /* mid-stream start: seq 10 is the first byte */
	assert_int_equal(n_pdus, 1);         /* {2,3} is a whole PDU */
	seg(d, &fl, 14, c, sizeof(c), true); /* 12..13 missing: held */
	assert_int_equal(n_pdus, 1);
	seg(d, &fl, 12, a, sizeof(a), true); /* fills the hole: {4,1,2,9} */
	assert_int_equal(n_pdus, 2);
	assert_memory_equal(last_pdu, "\x04\x01\x02\x09", 4);
	assert_int_equal(stats_of(d).gaps, 0);
	dpi_flow_end(d, &fl, NULL, NULL, NULL);
	dpi_free(d);
}

static void gap_resynchronises(void **unused)
{
	struct dpi_limits lim = { .ooo_segments = 1 };
	struct dpi *d = dpi_new(&lim, sink);
	struct dpi_flow *fl = NULL;
	const uint8_t head[] = { 2, 0, 5, 1 }, far1[] = { 2, 7 }, far2[] = { 2, 8 };

	(void)unused;
	reset();
	seg(d, &fl, 1, head, sizeof(head), true); /* one PDU, then the start of a 5-byte one */
	assert_int_equal(n_pdus, 1);
	seg(d, &fl, 100, far1, sizeof(far1), true); /* held (one segment allowed) */
	seg(d, &fl, 200, far2, sizeof(far2), true); /* cannot be held: the hole is given up */
	assert_true(stats_of(d).gaps >= 1);
	assert_int_equal(n_pdus, 3); /* both later PDUs parsed after resynchronising */
	assert_int_equal(n_violations, 0); /* a gap is not the peer's fault */
	dpi_flow_end(d, &fl, NULL, NULL, NULL);
	dpi_free(d);
}

static void violations_and_done(void **unused)
{
	struct dpi *d = dpi_new(NULL, sink);
	struct dpi_flow *fl = NULL;
	const uint8_t bad[] = { 2, 0xee, 0, 1, 2 }, done[] = { 2, 0xdd, 3, 1, 1 };

	(void)unused;
	reset();
	seg(d, &fl, 1, bad, sizeof(bad), true);
	/* the dissector's own violation, not a second generic one; then a framing failure while in sync */
	assert_int_equal(n_violations, 2);
	assert_int_equal(stats_of(d).malformed, 2);
	seg(d, &fl, 6, done, sizeof(done), true);
	assert_true(dpi_flow_finished(fl));
	assert_int_equal(n_pdus, 2); /* nothing after PROTO_DONE */
	dpi_flow_end(d, &fl, NULL, NULL, NULL);
	dpi_free(d);
}

static void oversized_pdu_is_dropped(void **unused)
{
	struct dpi *d = dpi_new(NULL, sink);
	struct dpi_flow *fl = NULL;
	const uint8_t ok[] = { 2, 1 }, huge[] = { 250, 1, 2, 3 }, next[] = { 2, 5 };

	(void)unused;
	reset();
	seg(d, &fl, 1, ok, sizeof(ok), true);
	seg(d, &fl, 3, huge, sizeof(huge), true); /* 250 > max_pdu 200 */
	assert_int_equal(stats_of(d).oversized, 1);
	seg(d, &fl, 7, next, sizeof(next), true);
	assert_int_equal(n_pdus, 2);
	dpi_flow_end(d, &fl, NULL, NULL, NULL);
	dpi_free(d);
}

/* Bytes the capture missed but the receiver acknowledged: the segments after the hole are parsed as soon as
 * the acknowledgement shows the hole will not fill, and what is still held when the flow ends is parsed then. */
static void acknowledged_hole_releases_held_segments(void **unused)
{
	struct dpi *d = dpi_new(NULL, sink);
	struct dpi_flow *fl = NULL;
	const uint8_t a[] = { 2, 1 }, b[] = { 3, 7, 7 }, c[] = { 2, 9 };
	struct dissect_frame f;

	(void)unused;
	reset();
	seg(d, &fl, 1, a, sizeof(a), true);  /* bytes 1-2 */
	seg(d, &fl, 10, b, sizeof(b), true); /* bytes 3-9 missing: held */
	assert_int_equal(n_pdus, 1);
	memset(&f, 0, sizeof(f));
	f.ip_version = 4;
	f.transport = DISSECT_T_TCP;
	f.tcp_flags = DISSECT_TCP_ACK;
	f.tcp_seq = 500;
	f.tcp_ack = 13; /* the server has everything up to 12 */
	dpi_packet(d, &fl, &toy, &f, false, PROTO_ROLE_SERVER, PROTO_ROLE_CLIENT, 2, NULL, NULL);
	assert_int_equal(n_pdus, 2);
	assert_memory_equal(last_pdu, b, sizeof(b));
	seg(d, &fl, 20, c, sizeof(c), true); /* 13-19 missing, not yet acknowledged: held */
	assert_int_equal(n_pdus, 2);
	memset(&f, 0, sizeof(f));
	f.ip_version = 4;
	f.transport = DISSECT_T_TCP;
	dpi_flow_end(d, &fl, &f, NULL, NULL); /* the end parses it */
	assert_int_equal(n_pdus, 3);
	assert_memory_equal(last_pdu, c, sizeof(c));
	dpi_free(d);
}

/* Many half-open flows, each leaving an unfinished PDU behind: memory stays under the global cap (older
 * flows' buffers are dropped first) and is all given back. */
static void global_cap_holds_under_half_open_flood(void **unused)
{
	struct dpi_limits lim = { .total_bytes = 64 * 1024, .flow_bytes = 4096 };
	struct dpi *d = dpi_new(&lim, sink);
	enum { N = 5000 };
	static struct dpi_flow *fls[N];
	uint8_t part[150];
	struct dpi_totals t;

	(void)unused;
	reset();
	memset(part, 7, sizeof(part));
	part[0] = 200; /* a 200-byte PDU of which 150 bytes arrive */
	for (int i = 0; i < N; i++) {
		seg(d, &fls[i], 1, part, sizeof(part), true);
		seg(d, &fls[i], 1000, part, 50, true); /* and a segment from beyond a hole */
	}
	dpi_totals(d, &t);
	assert_true(t.mem_peak <= lim.total_bytes);
	assert_true(t.evictions > 0);
	for (int i = 0; i < N; i++)
		dpi_flow_end(d, &fls[i], NULL, NULL, NULL);
	dpi_totals(d, &t);
	assert_int_equal(t.mem_used, 0);
	dpi_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(frames_pdus_across_segments),
		cmocka_unit_test(reorders_out_of_order_segments),
		cmocka_unit_test(gap_resynchronises),
		cmocka_unit_test(violations_and_done),
		cmocka_unit_test(oversized_pdu_is_dropped),
		cmocka_unit_test(acknowledged_hole_releases_held_segments),
		cmocka_unit_test(global_cap_holds_under_half_open_flood),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
