#include "sensor-agent/dissect/dpi.h"

#include <stdlib.h>
#include <string.h>

#include "sensor-agent/dissect/stream.h"

#define DPI_MAX_PROTOS 48

struct dpi_dir {
	struct stream_dir st;
	uint8_t *buf; /* bytes of an unfinished PDU */
	uint32_t len, cap;
	bool synced; /* framed at least one PDU: framing failures count as violations from now on */
	bool desync; /* a framing failure: the rest of this delivery is dropped */
	uint16_t unsynced; /* deliveries that did not frame while !synced */
	/* The last confirmation sent for this direction (confirmations are sent on change only). */
	const char *conf_proto;
	uint8_t conf_src, conf_dst;
};

struct dpi_flow {
	const struct dissector *dis;
	struct dpi_flow *lru_prev, *lru_next; /* all live flows, least recently active first */
	struct dpi_flow **owner;              /* the caller's slot, cleared when the flow is evicted */
	struct dpi_dir dir[2];
	size_t held; /* reassembly bytes this flow holds (buffers + out-of-order segments) */
	bool in_lru;
	bool finished;
	bool tcp;
	uint8_t src_role, dst_role; /* defaults for the packet being handled */
	const struct dissect_frame *frame;
	int64_t ts;
	uint8_t cur; /* direction of the packet being handled */
	void *ud;
	struct dpi *d;
	struct stream_ops ops; /* callbacks into this flow for stream.c */
	_Alignas(max_align_t) unsigned char state[];
};

struct dpi {
	struct dpi_limits lim;
	dpi_sink_fn sink;
	struct dpi_flow *lru_head, *lru_tail;
	struct dpi_totals tot;
	struct dpi_proto_stats stats[DPI_MAX_PROTOS];
	size_t n_stats;
	/* Per parse() call: violations the dissector reported (to avoid a second, generic one). */
	unsigned call_violations;
	void *call_ud;
};

bool (*dpi_alloc_fail)(size_t n);

void *dpi_malloc(size_t n)
{
	return dpi_alloc_fail && dpi_alloc_fail(n) ? NULL : malloc(n);
}

void *dpi_calloc(size_t n)
{
	return dpi_alloc_fail && dpi_alloc_fail(n) ? NULL : calloc(1, n);
}

void *dpi_realloc(void *p, size_t n)
{
	return dpi_alloc_fail && dpi_alloc_fail(n) ? NULL : realloc(p, n);
}

static const struct dpi_limits default_limits = {
	.flow_bytes = 64 * 1024,
	.total_bytes = 64 * 1024 * 1024,
	.ooo_segments = 16,
	.unsynced_segments = 16,
};

struct dpi *dpi_new(const struct dpi_limits *limits, dpi_sink_fn sink)
{
	struct dpi *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->lim = limits ? *limits : default_limits;
	if (!d->lim.flow_bytes)
		d->lim.flow_bytes = default_limits.flow_bytes;
	if (!d->lim.total_bytes)
		d->lim.total_bytes = default_limits.total_bytes;
	if (!d->lim.ooo_segments)
		d->lim.ooo_segments = default_limits.ooo_segments;
	if (!d->lim.unsynced_segments)
		d->lim.unsynced_segments = default_limits.unsynced_segments;
	d->tot.mem_cap = d->lim.total_bytes;
	d->sink = sink;
	return d;
}

static struct dpi_proto_stats *stats_for(struct dpi *d, const char *name)
{
	for (size_t i = 0; i < d->n_stats; i++)
		if (d->stats[i].name == name || strcmp(d->stats[i].name, name) == 0)
			return &d->stats[i];
	if (d->n_stats == DPI_MAX_PROTOS)
		return &d->stats[DPI_MAX_PROTOS - 1]; /* the registry has fewer names than this */
	d->stats[d->n_stats].name = name;
	return &d->stats[d->n_stats++];
}

size_t dpi_stats(const struct dpi *d, struct dpi_proto_stats *out, size_t max)
{
	size_t n = d->n_stats < max ? d->n_stats : max;
	memcpy(out, d->stats, n * sizeof(*out));
	return n;
}

void dpi_totals(const struct dpi *d, struct dpi_totals *out)
{
	*out = d->tot;
}

/* ---- memory: every reassembly byte and every flow's state counts against the global cap ---- */

static bool mem_take(struct dpi *d, size_t n)
{
	if (n > d->lim.total_bytes - d->tot.mem_used)
		return false;
	d->tot.mem_used += n;
	if (d->tot.mem_used > d->tot.mem_peak)
		d->tot.mem_peak = d->tot.mem_used;
	return true;
}

static void mem_give(struct dpi *d, size_t n)
{
	d->tot.mem_used -= n;
}

static void lru_unlink(struct dpi *d, struct dpi_flow *fl)
{
	if (!fl->in_lru)
		return;
	if (fl->lru_prev)
		fl->lru_prev->lru_next = fl->lru_next;
	else
		d->lru_head = fl->lru_next;
	if (fl->lru_next)
		fl->lru_next->lru_prev = fl->lru_prev;
	else
		d->lru_tail = fl->lru_prev;
	fl->lru_prev = fl->lru_next = NULL;
	fl->in_lru = false;
}

static void lru_touch(struct dpi *d, struct dpi_flow *fl)
{
	if (fl->in_lru && d->lru_tail == fl)
		return;
	lru_unlink(d, fl);
	fl->lru_prev = d->lru_tail;
	if (d->lru_tail)
		d->lru_tail->lru_next = fl;
	else
		d->lru_head = fl;
	d->lru_tail = fl;
	fl->in_lru = true;
}

static const struct stream_ops *ops_for(struct dpi_flow *fl);

/* Drops what a flow holds for reassembly (its parse state stays): its next bytes resynchronise. */
static void flow_drop_buffers(struct dpi_flow *fl)
{
	struct dpi *d = fl->d;

	for (int i = 0; i < 2; i++) {
		struct dpi_dir *dr = &fl->dir[i];
		stream_reset(&dr->st, ops_for(fl));
		if (dr->buf) {
			mem_give(d, dr->cap);
			fl->held -= dr->cap;
			free(dr->buf);
		}
		dr->buf = NULL;
		dr->len = dr->cap = 0;
		dr->desync = true;
	}
}

static void flow_free(struct dpi *d, struct dpi_flow *fl);

/* Makes room for n bytes by evicting the least recently active other flows: their buffers and state go, and
 * their next packet starts them afresh (resynchronising at a PDU boundary). Under a flood of half-open flows
 * the sensor keeps inspecting what is active now rather than what was opened first. */
static bool mem_reserve(struct dpi *d, struct dpi_flow *self, size_t n)
{
	struct dpi_flow *fl = d->lru_head;

	while (!mem_take(d, n)) {
		while (fl && fl == self)
			fl = fl->lru_next;
		if (!fl)
			return false;
		struct dpi_flow *next = fl->lru_next;
		stats_for(d, fl->dis->name)->gaps++;
		d->tot.evictions++;
		if (fl->owner)
			*fl->owner = NULL;
		flow_free(d, fl);
		fl = next;
	}
	return true;
}

/* ---- observations ---- */

static void emit_wrap(void *ud, const struct proto_ctx *ctx, const struct proto_obs *o)
{
	struct dpi *d = ud;

	if (o->kind == PROTO_OBS_VIOLATION) {
		d->call_violations++;
		stats_for(d, ctx->proto ? ctx->proto : "?")->violations++;
	}
	if (d->sink)
		d->sink(d->call_ud, ctx, o);
}

static void ctx_init(struct dpi *d, struct proto_ctx *ctx, const struct dissector *dis,
		     const struct dissect_frame *f, int64_t ts, uint8_t dir, void *ud)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->frame = f;
	ctx->ts = ts;
	ctx->dir = dir;
	ctx->proto = dis->name;
	ctx->emit = emit_wrap;
	ctx->ud = d;
	d->call_ud = ud;
	d->call_violations = 0;
}

static void violation(struct dpi *d, struct proto_ctx *ctx, const char *name, const char *detail)
{
	proto_violation(ctx, name, detail);
	(void)d;
}

/* Runs parse() on one PDU and accounts for its result. Returns false when the flow should stop. */
static bool run_parse(struct dpi *d, struct dpi_flow *fl, struct dpi_dir *dr, const struct dissector *dis,
		      struct proto_ctx *ctx, void *state, const uint8_t *p, size_t len, uint8_t def_src,
		      uint8_t def_dst)
{
	enum proto_result r;
	struct proto_obs conf = { .kind = DPI_OBS_CONFIRM };

	ctx->proto = dis->name;
	ctx->src_role = ctx->dst_role = PROTO_ROLE_DEFAULT;
	d->call_violations = 0;
	r = dis->parse(state, ctx, p, len);
	if (!ctx->proto)
		ctx->proto = dis->name;
	switch (r) {
	case PROTO_MALFORMED:
		stats_for(d, ctx->proto)->malformed++;
		if (!d->call_violations)
			violation(d, ctx, "malformed", NULL);
		if (dr)
			dr->synced = true;
		return true;
	case PROTO_NOT_MINE:
		stats_for(d, ctx->proto)->not_mine++;
		return true;
	case PROTO_OK:
	case PROTO_DONE:
		break;
	}
	stats_for(d, ctx->proto)->pdus++;
	if (dr)
		dr->synced = true;
	if (ctx->src_role == PROTO_ROLE_DEFAULT)
		ctx->src_role = def_src;
	if (ctx->dst_role == PROTO_ROLE_DEFAULT)
		ctx->dst_role = def_dst;
	if (!(ctx->src_role == PROTO_ROLE_NONE && ctx->dst_role == PROTO_ROLE_NONE) &&
	    (!dr || dr->conf_proto != ctx->proto || dr->conf_src != ctx->src_role || dr->conf_dst != ctx->dst_role)) {
		if (dr) {
			dr->conf_proto = ctx->proto;
			dr->conf_src = ctx->src_role;
			dr->conf_dst = ctx->dst_role;
		}
		if (d->sink)
			d->sink(d->call_ud, ctx, &conf);
	}
	if (r == PROTO_DONE && fl) {
		fl->finished = true;
		return false;
	}
	return true;
}

/* ---- TCP framing over the reassembled stream ---- */

/* Frames and parses whole PDUs in p[0..len); returns the bytes consumed (all of them after a framing
 * failure, which drops the rest of the delivery). */
static size_t frame_run(struct dpi_flow *fl, struct dpi_dir *dr, const uint8_t *p, size_t len)
{
	struct dpi *d = fl->d;
	const struct dissector *dis = fl->dis;
	struct proto_ctx ctx;
	size_t off = 0;

	ctx_init(d, &ctx, dis, fl->frame, fl->ts, fl->cur, fl->ud);
	while (off < len && !fl->finished) {
		long n = dis->pdu_len(p + off, len - off);
		bool oversized;

		if (n == 0 && len - off < dis->max_pdu)
			break; /* need more bytes */
		if (n > 0 && n <= (long)dis->max_pdu) {
			if ((size_t)n > len - off)
				break;
			dr->desync = false;
			if (!run_parse(d, fl, dr, dis, &ctx, dis->state_size ? fl->state : NULL, p + off, (size_t)n,
				       fl->src_role, fl->dst_role))
				return len;
			off += (size_t)n;
			continue;
		}
		/* Not a PDU boundary, or a PDU larger than the dissector accepts. While in sync that is a
		 * violation; while looking for a boundary (after a gap, or before the first PDU) it is not. */
		oversized = n >= 0;
		if (!dr->desync && dr->synced) {
			struct dpi_proto_stats *st = stats_for(d, dis->name);
			if (oversized)
				st->oversized++;
			else
				st->malformed++;
			violation(d, &ctx, oversized ? "oversized_pdu" : "bad_framing", NULL);
		}
		if (!dr->synced)
			dr->unsynced++;
		dr->desync = true;
		return len;
	}
	return off;
}

static bool buf_append(struct dpi_flow *fl, struct dpi_dir *dr, const uint8_t *p, size_t len)
{
	struct dpi *d = fl->d;
	size_t need = (size_t)dr->len + len, ncap;
	uint8_t *nb;

	if (need > d->lim.flow_bytes)
		return false;
	if (need > dr->cap) {
		ncap = dr->cap ? dr->cap : 512;
		while (ncap < need)
			ncap *= 2;
		if (ncap > d->lim.flow_bytes)
			ncap = d->lim.flow_bytes;
		if (!mem_reserve(d, fl, ncap - dr->cap))
			return false;
		nb = dpi_realloc(dr->buf, ncap);
		if (!nb) {
			mem_give(d, ncap - dr->cap);
			return false;
		}
		fl->held += ncap - dr->cap;
		dr->buf = nb;
		dr->cap = (uint32_t)ncap;
	}
	memcpy(dr->buf + dr->len, p, len);
	dr->len = (uint32_t)need;
	return true;
}

static void buf_release(struct dpi_flow *fl, struct dpi_dir *dr)
{
	if (!dr->buf)
		return;
	mem_give(fl->d, dr->cap);
	fl->held -= dr->cap;
	free(dr->buf);
	dr->buf = NULL;
	dr->len = dr->cap = 0;
}

static void on_deliver(void *ud, const uint8_t *p, size_t len)
{
	struct dpi_flow *fl = ud;
	struct dpi_dir *dr = &fl->dir[fl->cur];
	size_t used;

	if (fl->finished)
		return;
	if (!dr->len) {
		used = frame_run(fl, dr, p, len);
		if (used < len && !buf_append(fl, dr, p + used, len - used)) {
			stats_for(fl->d, fl->dis->name)->gaps++;
			dr->desync = true;
		}
	} else if (!buf_append(fl, dr, p, len)) {
		/* The unfinished PDU outgrew the per-flow cap or memory: drop it and resynchronise. */
		stats_for(fl->d, fl->dis->name)->gaps++;
		buf_release(fl, dr);
		dr->desync = true;
	} else {
		used = frame_run(fl, dr, dr->buf, dr->len);
		if (used >= dr->len) {
			buf_release(fl, dr);
		} else if (used) {
			memmove(dr->buf, dr->buf + used, dr->len - used);
			dr->len -= (uint32_t)used;
		}
	}
	if (!dr->synced && dr->unsynced >= fl->d->lim.unsynced_segments && !fl->finished) {
		stats_for(fl->d, fl->dis->name)->not_mine++;
		fl->finished = true;
	}
	if (fl->finished)
		flow_drop_buffers(fl);
}

static void on_gap(void *ud, uint32_t n)
{
	struct dpi_flow *fl = ud;
	struct dpi_dir *dr = &fl->dir[fl->cur];

	(void)n;
	stats_for(fl->d, fl->dis->name)->gaps++;
	buf_release(fl, dr);
	dr->desync = true;
}

static bool on_mem(void *ud, size_t n, bool grow)
{
	struct dpi_flow *fl = ud;

	if (!grow) {
		mem_give(fl->d, n);
		fl->held -= n;
		return true;
	}
	if (!mem_reserve(fl->d, fl, n))
		return false;
	fl->held += n;
	return true;
}

static const struct stream_ops *ops_for(struct dpi_flow *fl)
{
	return &fl->ops;
}

/* ---- flows ---- */

static size_t flow_size(const struct dissector *dis)
{
	return sizeof(struct dpi_flow) + dis->state_size;
}

static struct dpi_flow *flow_new(struct dpi *d, const struct dissector *dis, bool tcp)
{
	struct dpi_flow *fl;

	if (!mem_reserve(d, NULL, flow_size(dis))) {
		d->tot.evictions++;
		return NULL;
	}
	fl = dpi_calloc(flow_size(dis));
	if (!fl) {
		mem_give(d, flow_size(dis));
		return NULL;
	}
	fl->dis = dis;
	fl->d = d;
	fl->tcp = tcp;
	fl->ops = (struct stream_ops){
		.deliver = on_deliver,
		.gap = on_gap,
		.mem = on_mem,
		.ud = fl,
		.max_ooo_bytes = (uint32_t)d->lim.flow_bytes,
		.max_ooo_segments = (uint16_t)d->lim.ooo_segments,
	};
	d->tot.flows++;
	d->tot.flows_live++;
	return fl;
}

static void flow_free(struct dpi *d, struct dpi_flow *fl)
{
	flow_drop_buffers(fl);
	lru_unlink(d, fl);
	if (fl->dis->state_free && fl->dis->state_size)
		fl->dis->state_free(fl->state);
	mem_give(d, flow_size(fl->dis));
	d->tot.flows_live--;
	free(fl);
}

void dpi_frame_reverse(const struct dissect_frame *in, struct dissect_frame *out)
{
	*out = *in;
	out->has_src_mac = in->has_dst_mac;
	out->has_dst_mac = in->has_src_mac;
	memcpy(out->src_mac, in->dst_mac, 6);
	memcpy(out->dst_mac, in->src_mac, 6);
	memcpy(out->src_ip, in->dst_ip, 16);
	memcpy(out->dst_ip, in->src_ip, 16);
	out->src_port = in->dst_port;
	out->dst_port = in->src_port;
	out->payload = NULL;
	out->payload_len = 0;
	out->payload_caplen = 0;
}

/* Delivers what direction dir holds beyond holes, as PDUs sent like frame f with sink data ud. */
static void flush_dir(struct dpi_flow *fl, int dir, const struct dissect_frame *f, void *ud, uint8_t src_role,
		      uint8_t dst_role, bool to_ack, uint32_t ack)
{
	fl->frame = f;
	fl->ud = ud;
	fl->cur = (uint8_t)dir;
	fl->src_role = src_role;
	fl->dst_role = dst_role;
	if (to_ack)
		stream_peer_ack(&fl->dir[dir].st, ops_for(fl), ack);
	else
		stream_flush(&fl->dir[dir].st, ops_for(fl));
}

void dpi_flow_end(struct dpi *d, struct dpi_flow **pf, const struct dissect_frame *to_server, void *ud_to_server,
		  void *ud_to_client)
{
	struct dpi_flow *fl = *pf;
	struct dissect_frame rev;

	if (!fl)
		return;
	if (to_server && fl->tcp) {
		dpi_frame_reverse(to_server, &rev);
		if (!fl->finished)
			flush_dir(fl, PROTO_DIR_TO_SERVER, to_server, ud_to_server, PROTO_ROLE_CLIENT,
				  PROTO_ROLE_SERVER, false, 0);
		if (!fl->finished)
			flush_dir(fl, PROTO_DIR_TO_CLIENT, &rev, ud_to_client, PROTO_ROLE_SERVER, PROTO_ROLE_CLIENT,
				  false, 0);
	}
	flow_free(d, fl);
	*pf = NULL;
}

bool dpi_flow_finished(const struct dpi_flow *fl)
{
	return fl && fl->finished;
}

void dpi_packet(struct dpi *d, struct dpi_flow **pf, const struct dissector *dis, const struct dissect_frame *f,
		bool to_server, uint8_t src_role, uint8_t dst_role, int64_t ts, void *ud, void *ud_rev)
{
	struct dpi_flow *fl = *pf;
	bool tcp = f->transport == DISSECT_T_TCP;
	struct proto_ctx ctx;

	if (!dis || !dis->parse)
		return;
	if (!tcp && (!dis->state_size || !fl) && f->payload_caplen == 0)
		return;
	if (!tcp && !dis->state_size) {
		/* A stateless datagram protocol needs no per-flow memory. */
		ctx_init(d, &ctx, dis, f, ts, to_server ? PROTO_DIR_TO_SERVER : PROTO_DIR_TO_CLIENT, ud);
		run_parse(d, NULL, NULL, dis, &ctx, NULL, f->payload, f->payload_caplen, src_role, dst_role);
		return;
	}
	if (!fl) {
		/* A TCP flow gets state on its first packet (SYN included) so the stream learns its ISN. */
		fl = *pf = flow_new(d, dis, tcp);
		if (!fl)
			return;
		fl->owner = pf;
	}
	fl->owner = pf;
	lru_touch(d, fl);
	if (fl->finished)
		return;
	fl->frame = f;
	fl->ts = ts;
	fl->cur = to_server ? PROTO_DIR_TO_SERVER : PROTO_DIR_TO_CLIENT;
	fl->src_role = src_role;
	fl->dst_role = dst_role;
	fl->ud = ud;
	if (!tcp) {
		if (f->payload_caplen == 0)
			return;
		ctx_init(d, &ctx, dis, f, ts, fl->cur, ud);
		run_parse(d, fl, &fl->dir[fl->cur], dis, &ctx, dis->state_size ? fl->state : NULL, f->payload,
			  f->payload_caplen, src_role, dst_role);
		return;
	}
	if (!dis->pdu_len)
		return;
	stream_segment(&fl->dir[fl->cur].st, ops_for(fl), f->tcp_seq, f->tcp_flags & DISSECT_TCP_SYN, f->payload,
		       f->payload_caplen, f->payload_len);
	if ((f->tcp_flags & DISSECT_TCP_ACK) && !fl->finished && *pf == fl) {
		/* This packet acknowledges the other direction: bytes it acknowledged will not come again. */
		struct dissect_frame rev;
		dpi_frame_reverse(f, &rev);
		flush_dir(fl, fl->cur ^ 1, &rev, ud_rev, dst_role, src_role, true, f->tcp_ack);
	}
	fl->frame = NULL;
	fl->ud = NULL;
}

void dpi_l2(struct dpi *d, const struct dissector *dis, const struct dissect_frame *f, int64_t ts, void *ud)
{
	struct proto_ctx ctx;

	if (!dis || !dis->parse || !f->l2_payload)
		return;
	ctx_init(d, &ctx, dis, f, ts, PROTO_DIR_TO_SERVER, ud);
	run_parse(d, NULL, NULL, dis, &ctx, NULL, f->l2_payload, f->l2_payload_len, PROTO_ROLE_PEER,
		  PROTO_ROLE_NONE);
}

void dpi_free(struct dpi *d)
{
	free(d);
}
