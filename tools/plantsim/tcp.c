/* The TCP engine: handshake (SYN, SYN-ACK, ACK with MSS options), data in MSS-sized segments with sequence
 * and acknowledgement numbers that follow the bytes, delayed pure ACKs when the receiver has nothing to send
 * soon, now and then one application message cut across two segments (so a receiver must reassemble it),
 * and the close (FIN, FIN-ACK, ACK). Scripts that put several PDUs in one message get several PDUs per
 * segment. The engine marks client and server in the ground truth whenever a data segment is written. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/plantsim/sim.h"

enum tcp_state { TS_SYN, TS_SYNACK, TS_HSACK, TS_DATA, TS_ACK, TS_FIN, TS_FINACK, TS_LASTACK };

struct tcp_conn {
	uint16_t sport;
	uint32_t cseq, sseq;     /* next sequence number each side sends */
	uint32_t len, off;       /* the pending message and how much of it is on the wire */
	uint32_t cut;            /* nonzero: the message's first segment ends here */
	bool from_server;        /* sender of the pending message */
	bool ack_from_server;    /* sender of the pending pure ACK */
	bool last;               /* do not reconnect after the close */
	uint64_t idle_us;        /* the script's time from the close to the next connection, 0: app's */
	uint64_t data_at;        /* when the pending message starts, after a pure ACK */
	uint8_t msg[TCP_MSG_MAX];
};

/* One in CUT_ONE_IN messages of at least 2 * CUT_MIN bytes is cut in two segments, the first at least CUT_MIN
 * bytes long (Wireshark reassembles only PDUs whose fixed header is in the first segment). */
#define CUT_ONE_IN 24
#define CUT_MIN 8

int tcp_add(struct sim *t, const struct tcp_app *app, unsigned client, unsigned server, uint64_t at,
	struct sim_session **out)
{
	struct sim_session *s;
	struct tcp_conn *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	r = sim_add(t, tcp_step, client, server, at, &s);
	if (r < 0) {
		free(c);
		return r;
	}
	s->app = app;
	s->tcp = c;
	if (out)
		*out = s;
	return 0;
}

int tcp_spawn_role(struct sim *t, const struct tcp_app *app, enum plant_role role, uint32_t first_min_ms,
		   uint32_t first_max_ms)
{
	const struct plant *p = t->plant;
	struct sim_session *s;
	int r;

	for (unsigned i = 0; i < p->n_hosts; i++) {
		if (p->hosts[i].role != role)
			continue;
		for (unsigned j = 0; j < p->n_hosts; j++) {
			if (!(p->hosts[j].model->serves & PP_BIT(app->proto)))
				continue;
			r = tcp_add(t, app, i, j, 0, &s);
			if (r < 0)
				return r;
			s->at = t->start + sim_ms(s, first_min_ms, first_max_ms);
		}
	}
	return 0;
}

void tcp_free(struct sim_session *s)
{
	free(s->tcp);
	s->tcp = NULL;
}

static void tcp_ends(struct sim *t, const struct sim_session *s, struct endpoint *c, struct endpoint *srv)
{
	*c = sim_host_ep(t, s->a);
	if (s->app->offsite) {
		*srv = (struct endpoint){ t->plant->hosts[t->plant->router].mac, t->plant->offsite[s->b], c->vlan, 52,
			&t->offsite_ip_id[s->b], 65535 };
	} else {
		*srv = sim_host_ep(t, s->b);
		srv->vlan = c->vlan;
	}
}

static int emit_seg(struct sim *t, struct sim_session *s, bool from_client, uint8_t flags, const uint8_t *data,
	size_t len)
{
	struct tcp_conn *tc = s->tcp;
	struct endpoint c, srv, *from, *to;
	struct frame_l2 l2;
	struct frame_ip ip;
	struct frame_tcp tcp = { 0 };
	uint32_t *seq = from_client ? &tc->cseq : &tc->sseq;

	tcp_ends(t, s, &c, &srv);
	from = from_client ? &c : &srv;
	to = from_client ? &srv : &c;
	l2.vlan = c.vlan;
	memcpy(l2.src, from->mac, 6);
	memcpy(l2.dst, to->mac, 6);
	ip = (struct frame_ip){ from->ip, to->ip, (*from->ip_id)++, from->ttl };
	tcp.sport = from_client ? tc->sport : s->app->port;
	tcp.dport = from_client ? s->app->port : tc->sport;
	tcp.seq = *seq;
	tcp.ack = (flags & TCP_ACK) ? (from_client ? tc->sseq : tc->cseq) : 0;
	tcp.flags = flags;
	tcp.window = from->window;
	tcp.mss = (flags & TCP_SYN) ? TCP_MSS : 0;
	*seq += (uint32_t)len + ((flags & TCP_SYN) ? 1 : 0) + ((flags & TCP_FIN) ? 1 : 0);
	if (len) {
		sim_seen(t, s->a, s->app->proto, PR_CLIENT);
		if (!s->app->offsite)
			sim_seen(t, s->b, s->app->proto, PR_SERVER);
	}
	return sim_emit(t, s->at, frame_tcp(t->frame, sizeof(t->frame), &l2, &ip, &tcp, data, len));
}

/* Capture-point round trip: a few hundred microseconds on the plant LAN, tens of ms off-site. */
static uint64_t tcp_rtt(struct sim_session *s)
{
	return s->app->offsite ? sim_ms(s, 8, 40) : sim_us(s, 80, 450);
}

/* Asks the script for the next message. had_prev: a message was just completed by prev_from_server's side;
 * its receiver acknowledges it on its own unless it answers within a delayed-ACK time. */
static int next_message(struct sim *t, struct sim_session *s, bool had_prev, bool prev_from_server)
{
	struct tcp_conn *c = s->tcp;
	struct tcp_msg m = { 0 };
	struct wbuf b;
	uint64_t ack_delay;
	bool more;

	wbuf_init(&b, c->msg, sizeof(c->msg));
	more = s->app->script(t, s, &m, &b);
	if (!more) {
		c->last = m.last;
		c->idle_us = m.idle_us;
		s->state = TS_FIN;
		s->at += m.gap_us ? m.gap_us : sim_ms(s, 5, 60);
		return 0;
	}
	if (b.overflow || b.len == 0)
		return -EOVERFLOW;
	s->n++;
	c->len = (uint32_t)b.len;
	c->off = 0;
	c->from_server = m.from_server;
	c->cut = 0;
	if (!m.whole && b.len >= 2 * CUT_MIN && sim_chance(s, CUT_ONE_IN))
		c->cut = (uint32_t)prng_range(&s->rng, CUT_MIN, b.len - 1);
	ack_delay = sim_us(s, 200, 40000);
	if (had_prev && (m.from_server == prev_from_server || m.gap_us > ack_delay)) {
		c->ack_from_server = !prev_from_server;
		c->data_at = s->at + m.gap_us;
		s->at += m.gap_us / 2 < ack_delay ? m.gap_us / 2 : ack_delay;
		s->state = TS_ACK;
	} else {
		s->at += m.gap_us;
		s->state = TS_DATA;
	}
	return 0;
}

static int send_data(struct sim *t, struct sim_session *s)
{
	struct tcp_conn *c = s->tcp;
	uint32_t n = c->len - c->off;
	bool from_server = c->from_server;
	int r;

	if (c->off == 0 && c->cut)
		n = c->cut;
	if (n > TCP_MSS)
		n = TCP_MSS;
	r = emit_seg(t, s, !from_server, (c->off + n == c->len ? TCP_PSH : 0) | TCP_ACK, c->msg + c->off, n);
	if (r < 0)
		return r;
	c->off += n;
	if (c->off < c->len) {
		/* The rest of a cut message follows after a visible pause; MSS-sized trains back to back. */
		s->at += (c->cut && c->off == c->cut) ? sim_us(s, 300, 15000) : sim_us(s, 10, 60);
		return 0;
	}
	return next_message(t, s, true, from_server);
}

int tcp_step(struct sim *t, struct sim_session *s)
{
	const struct tcp_app *app = s->app;
	struct tcp_conn *c = s->tcp;
	int r = 0;

	switch ((enum tcp_state)s->state) {
	case TS_SYN:
		/* An off-site client picks a service per connection; a scenario's session keeps its extra address. */
		if (app->offsite && s->b != PLANT_OFFSITE_EXTRA)
			s->b = (unsigned)(prng_next(&s->rng) % PLANT_OFFSITE_COUNT);
		c->sport = sim_ephemeral_port(t, s->a);
		c->cseq = (uint32_t)prng_next(&s->rng);
		c->sseq = (uint32_t)prng_next(&s->rng);
		s->n = 0;
		s->phase = 0;
		r = emit_seg(t, s, true, TCP_SYN, NULL, 0);
		s->state = TS_SYNACK;
		s->at += tcp_rtt(s);
		break;
	case TS_SYNACK:
		r = emit_seg(t, s, false, TCP_SYN | TCP_ACK, NULL, 0);
		s->state = TS_HSACK;
		s->at += sim_us(s, 40, 200);
		break;
	case TS_HSACK:
		r = emit_seg(t, s, true, TCP_ACK, NULL, 0);
		if (r == 0)
			r = next_message(t, s, false, false);
		break;
	case TS_DATA:
		r = send_data(t, s);
		break;
	case TS_ACK:
		r = emit_seg(t, s, !c->ack_from_server, TCP_ACK, NULL, 0);
		s->at = c->data_at;
		s->state = TS_DATA;
		break;
	case TS_FIN:
		r = emit_seg(t, s, true, TCP_FIN | TCP_ACK, NULL, 0);
		s->state = TS_FINACK;
		s->at += tcp_rtt(s);
		break;
	case TS_FINACK:
		r = emit_seg(t, s, false, TCP_FIN | TCP_ACK, NULL, 0);
		s->state = TS_LASTACK;
		s->at += sim_us(s, 40, 200);
		break;
	case TS_LASTACK:
		r = emit_seg(t, s, true, TCP_ACK, NULL, 0);
		s->state = TS_SYN;
		s->conn++;
		if (c->last)
			s->done = true;
		s->at += c->idle_us ? c->idle_us : sim_ms(s, app->idle_min_ms, app->idle_max_ms);
		break;
	}
	return r;
}
