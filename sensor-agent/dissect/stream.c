#include "sensor-agent/dissect/stream.h"

#include <stdlib.h>
#include <string.h>

#include "sensor-agent/dissect/dpi.h"

/* A hole further ahead than this is not waited for: the bytes before it are declared lost at once. */
#define STREAM_MAX_AHEAD (1u << 20)

struct stream_seg {
	struct stream_seg *next;
	uint32_t seq, len;
	uint8_t data[];
};

static int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static void seg_free(const struct stream_ops *ops, struct stream_seg *g)
{
	ops->mem(ops->ud, sizeof(*g) + g->len, false);
	free(g);
}

void stream_reset(struct stream_dir *s, const struct stream_ops *ops)
{
	struct stream_seg *g = s->ooo, *n;

	for (; g; g = n) {
		n = g->next;
		seg_free(ops, g);
	}
	s->ooo = NULL;
	s->n_ooo = 0;
	s->ooo_bytes = 0;
}

/* Delivers bytes [seq, seq+len) given that next_seq is within or at their start. */
static void deliver_from(struct stream_dir *s, const struct stream_ops *ops, uint32_t seq, const uint8_t *p,
			 uint32_t len)
{
	uint32_t skip = (uint32_t)seq_diff(s->next_seq, seq);

	if (skip >= len)
		return;
	s->next_seq = seq + len;
	ops->deliver(ops->ud, p + skip, len - skip);
}

/* Delivers held segments that have become contiguous. */
static void drain(struct stream_dir *s, const struct stream_ops *ops)
{
	struct stream_seg *g;

	while ((g = s->ooo) && seq_diff(g->seq, s->next_seq) <= 0) {
		s->ooo = g->next;
		s->n_ooo--;
		s->ooo_bytes -= g->len;
		deliver_from(s, ops, g->seq, g->data, g->len);
		seg_free(ops, g);
	}
}

/* Gives up on the hole before the first held segment (or before seq when nothing is held). */
static void skip_hole(struct stream_dir *s, const struct stream_ops *ops, uint32_t seq)
{
	uint32_t to = s->ooo && seq_diff(s->ooo->seq, seq) < 0 ? s->ooo->seq : seq;

	if (seq_diff(to, s->next_seq) > 0) {
		ops->gap(ops->ud, (uint32_t)seq_diff(to, s->next_seq));
		s->next_seq = to;
	}
	drain(s, ops);
}

static bool hold(struct stream_dir *s, const struct stream_ops *ops, uint32_t seq, const uint8_t *p, uint32_t len)
{
	struct stream_seg **at = &s->ooo, *g;

	if (s->n_ooo >= ops->max_ooo_segments || len > ops->max_ooo_bytes - s->ooo_bytes ||
	    !ops->mem(ops->ud, sizeof(*g) + len, true))
		return false;
	g = dpi_malloc(sizeof(*g) + len);
	if (!g) {
		ops->mem(ops->ud, sizeof(*g) + len, false);
		return false;
	}
	g->seq = seq;
	g->len = len;
	memcpy(g->data, p, len);
	while (*at && seq_diff((*at)->seq, seq) <= 0)
		at = &(*at)->next;
	g->next = *at;
	*at = g;
	s->n_ooo++;
	s->ooo_bytes += len;
	return true;
}

void stream_segment(struct stream_dir *s, const struct stream_ops *ops, uint32_t seq, bool syn, const uint8_t *p,
		    size_t caplen, uint32_t seglen)
{
	uint32_t have = caplen < seglen ? (uint32_t)caplen : seglen;
	int32_t d;

	if (syn) {
		/* The SYN takes one sequence number; a retransmitted SYN restarts nothing. */
		if (!s->have_seq) {
			s->next_seq = seq + 1;
			s->have_seq = true;
		}
		return;
	}
	if (seglen == 0)
		return;
	if (!s->have_seq) { /* the capture started mid-stream */
		s->next_seq = seq;
		s->have_seq = true;
	}
	d = seq_diff(seq, s->next_seq);
	if (d <= 0 && (uint32_t)-d >= seglen)
		return; /* a retransmission of bytes already delivered */
	if (d > 0) {
		/* A hole: hold this segment and wait for the missing bytes, within bounds, unless the receiver
		 * acknowledged them already (they were sent, and the capture missed them). */
		bool acked = s->have_peer_ack && seq_diff(s->peer_ack, s->next_seq) > 0;
		if (!acked && (uint32_t)d < STREAM_MAX_AHEAD && have == seglen && hold(s, ops, seq, p, have))
			return;
		skip_hole(s, ops, seq);
		d = seq_diff(seq, s->next_seq);
		if (d > 0) { /* still ahead: the held segments ended before it */
			ops->gap(ops->ud, (uint32_t)d);
			s->next_seq = seq;
		} else if ((uint32_t)-d >= seglen) {
			return;
		}
	}
	if (have < seglen) {
		/* Cut short by the snap length: deliver what was captured, the rest is a gap. */
		deliver_from(s, ops, seq, p, have);
		if (seq_diff(seq + seglen, s->next_seq) > 0) {
			ops->gap(ops->ud, (uint32_t)seq_diff(seq + seglen, s->next_seq));
			s->next_seq = seq + seglen;
		}
	} else {
		deliver_from(s, ops, seq, p, seglen);
	}
	drain(s, ops);
}

void stream_flush(struct stream_dir *s, const struct stream_ops *ops)
{
	while (s->ooo)
		skip_hole(s, ops, s->ooo->seq);
}

void stream_peer_ack(struct stream_dir *s, const struct stream_ops *ops, uint32_t ack)
{
	if (!s->have_peer_ack || seq_diff(ack, s->peer_ack) > 0) {
		s->peer_ack = ack;
		s->have_peer_ack = true;
	}
	if (!s->have_seq)
		return;
	while (s->ooo && seq_diff(s->peer_ack, s->next_seq) > 0) {
		uint32_t next = s->next_seq;
		skip_hole(s, ops, seq_diff(s->peer_ack, s->ooo->seq) < 0 ? s->peer_ack : s->ooo->seq);
		if (s->next_seq == next)
			break;
	}
}
