/* TCP stream reassembly for one direction of a flow: turns segments (in any order, retransmitted, overlapping,
 * cut short by the snap length) into in-order bytes plus explicit gaps. Out-of-order segments are copied and
 * held, bounded in count and bytes; when a hole cannot be filled within those bounds the stream declares a gap
 * and moves on, so a lost segment costs one PDU, not the flow. Memory is taken through a callback so the owner
 * can enforce a global cap (dpi.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stream_seg;

struct stream_dir {
	struct stream_seg *ooo; /* held out-of-order segments, sorted by seq */
	uint32_t next_seq;      /* sequence number of the next in-order byte */
	uint32_t ooo_bytes;
	uint16_t n_ooo;
	bool have_seq;
	bool have_peer_ack;
	uint32_t peer_ack; /* the other side acknowledged up to here: bytes below it will not be resent */
};

struct stream_ops {
	/* In-order bytes. */
	void (*deliver)(void *ud, const uint8_t *p, size_t len);
	/* n bytes are missing before the next delivered byte (lost, or not captured). */
	void (*gap)(void *ud, uint32_t n);
	/* Accounts n more (grow) or fewer (!grow) held bytes; returns false to refuse holding n more. */
	bool (*mem)(void *ud, size_t n, bool grow);
	void *ud;
	uint32_t max_ooo_bytes; /* per direction */
	uint16_t max_ooo_segments;
};

/* One segment: seq and flags from the TCP header, p/caplen the captured payload, seglen the payload length
 * per the headers (caplen < seglen when the capture was cut short). */
void stream_segment(struct stream_dir *s, const struct stream_ops *ops, uint32_t seq, bool syn, const uint8_t *p,
		    size_t caplen, uint32_t seglen);
/* The other side acknowledged bytes up to ack: a hole below it was delivered to the peer but missed by the
 * capture, so it will never fill. Held segments are delivered past it at once, and later holes below the
 * acknowledged point are not waited for. */
void stream_peer_ack(struct stream_dir *s, const struct stream_ops *ops, uint32_t ack);
/* The stream ends: held segments are delivered after declaring the holes before them lost. */
void stream_flush(struct stream_dir *s, const struct stream_ops *ops);
/* Frees held segments (reporting them through ops->mem); the direction can be reused. */
void stream_reset(struct stream_dir *s, const struct stream_ops *ops);
