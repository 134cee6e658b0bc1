/* Deep packet inspection: runs the registry's dissectors (proto.h) over flows. Owns per-flow dissector state
 * and TCP reassembly (stream.h), under a per-flow and a global memory cap, and counts per protocol what it
 * parsed, what was malformed and what was lost. Packet time throughout; nothing here blocks or logs per packet.
 *
 * The caller (the inventory) keeps one `struct dpi_flow *` per transport flow, hands every TCP/UDP packet of
 * the flow to dpi_packet() and every layer-2 frame with a registered protocol to dpi_l2(), and receives what
 * the dissectors report through the sink it gives dpi_new(). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sensor-agent/dissect/dissect.h"
#include "sensor-agent/dissect/proto.h"

struct dpi;
struct dpi_flow;

struct dpi_limits {
	size_t flow_bytes;  /* reassembly bytes buffered per flow direction (default 64 KiB) */
	size_t total_bytes; /* reassembly + dissector state over all flows (default 64 MiB) */
	unsigned ooo_segments; /* out-of-order segments held per direction before declaring a gap (default 16) */
	unsigned unsynced_segments; /* segments without one valid PDU before a flow is given up (default 16) */
};

/* The sink receives every observation; PROTO_OBS_* plus the framework's own confirmations (below). ctx->ud is
 * the per-call user data passed to dpi_packet()/dpi_l2(). */
typedef void (*dpi_sink_fn)(void *ud, const struct proto_ctx *ctx, const struct proto_obs *o);

/* The framework's own observation kind, after the dissector ones: one valid PDU of ctx->proto was parsed,
 * with ctx->src_role/dst_role resolved to CLIENT/SERVER/PEER/NONE. Sent when the (proto, roles) of a flow
 * direction change, not for every PDU. */
#define DPI_OBS_CONFIRM 100

/* limits may be NULL (defaults). */
struct dpi *dpi_new(const struct dpi_limits *limits, dpi_sink_fn sink);
/* Frees the context; every flow must have been ended with dpi_flow_end() first. */
void dpi_free(struct dpi *d);

/* One TCP/UDP packet of a flow. *pf is the flow's slot (NULL before its first packet; dpi_packet allocates
 * it when a dissector applies). dis: the dissector for the flow's server port (NULL: nothing to do).
 * to_server: the packet's direction. src_role/dst_role: the roles its endpoints take when the dissector does
 * not say (enum proto_role, e.g. CLIENT/SERVER by direction, PEER/NONE for a broadcast). ud: passed to the
 * sink for PDUs travelling like this packet; ud_rev for PDUs of the other direction that this packet releases
 * (its acknowledgement shows a hole in them will never fill). */
void dpi_packet(struct dpi *d, struct dpi_flow **pf, const struct dissector *dis, const struct dissect_frame *f,
		bool to_server, uint8_t src_role, uint8_t dst_role, int64_t ts, void *ud, void *ud_rev);
/* Ends a flow; *pf becomes NULL. With to_server (a frame oriented client -> server, payload unused) the
 * segments still held beyond a hole are parsed first, reported with ud_to_server / ud_to_client; with
 * NULL they are dropped (teardown). */
void dpi_flow_end(struct dpi *d, struct dpi_flow **pf, const struct dissect_frame *to_server, void *ud_to_server,
		  void *ud_to_client);
/* The frame seen from the other side: addresses and ports swapped, no payload. */
void dpi_frame_reverse(const struct dissect_frame *in, struct dissect_frame *out);
/* True when the flow's inspection has finished (PROTO_DONE, given up, or closed). */
bool dpi_flow_finished(const struct dpi_flow *fl);

/* A layer-2 frame whose protocol has a dissector (f->l2_payload); the sender defaults to PEER, the receiver
 * to NONE. */
void dpi_l2(struct dpi *d, const struct dissector *dis, const struct dissect_frame *f, int64_t ts, void *ud);

/* Fault injection for the fuzz targets: when set, every allocation the framework makes (flow state,
 * reassembly buffers, held segments) first asks it, and fails when it returns true. NULL in the product. */
extern bool (*dpi_alloc_fail)(size_t n);
void *dpi_malloc(size_t n);
void *dpi_calloc(size_t n);
void *dpi_realloc(void *p, size_t n);

/* Counters per protocol name (registry names; static storage). */
struct dpi_proto_stats {
	const char *name;
	uint64_t pdus;       /* valid PDUs parsed */
	uint64_t malformed;  /* PROTO_MALFORMED results + framing failures after sync */
	uint64_t not_mine;   /* PROTO_NOT_MINE results and flows given up unsynced */
	uint64_t violations; /* violation observations (dissector and framework) */
	uint64_t gaps;       /* stream gaps (lost or uncaptured bytes) */
	uint64_t oversized;  /* PDUs larger than the dissector's max_pdu */
};

struct dpi_totals {
	size_t mem_used, mem_peak, mem_cap; /* reassembly + state bytes */
	uint64_t evictions;  /* flow buffers dropped to stay under the global cap */
	uint64_t flows;      /* flows given a dissector */
	uint64_t flows_live; /* flows holding dissector state now */
};

/* Copies up to max per-protocol counters (protocols seen so far, in first-seen order); returns how many. */
size_t dpi_stats(const struct dpi *d, struct dpi_proto_stats *out, size_t max);
void dpi_totals(const struct dpi *d, struct dpi_totals *out);
