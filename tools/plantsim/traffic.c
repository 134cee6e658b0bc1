#include "tools/plantsim/traffic.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/plantsim/frames.h"
#include "tools/plantsim/payloads.h"
#include "tools/plantsim/prng.h"

#define USEC_PER_MS 1000ULL
#define USEC_PER_SEC 1000000ULL
#define PAYLOAD_MAX 1460

static const uint8_t mac_broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mac_zero[6] = { 0 };
static const uint8_t mac_lldp[6] = { 0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e };

struct traffic;
struct session;

typedef int (*session_step_fn)(struct traffic *t, struct session *s);

/* A request/response application over one TCP connection. The generic TCP machinery does the
 * handshake, sequence numbers, pacing and close; the payload function only fills request (reply =
 * false) or response bytes for exchange s->n of the current connection. Adding a TCP protocol is one
 * payload function plus one row in tcp_apps[]. */
typedef void (*tcp_payload_fn)(struct traffic *t, struct session *s, bool reply, struct wbuf *b);

enum pairing {
	PAIR_ALL,       /* every client with every matching server */
	PAIR_SPREAD,    /* each server polled by at most two clients, spread round-robin */
	PAIR_OFFSITE,   /* each client with a random off-site address behind the router, per connection */
};

struct tcp_app {
	const char *name;
	uint16_t port;
	enum plant_role client_role;
	enum plant_role server_role;
	int server_vendor;              /* enum plant_vendor, or -1 for any */
	enum pairing pairing;
	uint32_t first_min_ms, first_max_ms;    /* first connection after the capture start */
	uint32_t gap_min_ms, gap_max_ms;        /* from a response to the next request */
	uint32_t rsp_min_us, rsp_max_us;        /* server think time */
	uint32_t exch_min, exch_max;            /* request/response pairs per connection */
	uint32_t idle_min_ms, idle_max_ms;      /* from a close to the next connection */
	tcp_payload_fn payload;
};

enum tcp_state { TS_SYN, TS_SYNACK, TS_ACK, TS_REQ, TS_RSP, TS_FIN, TS_FINACK, TS_LASTACK };

struct session {
	uint64_t at;            /* packet time of the next step */
	uint32_t order;         /* creation number: breaks ties in the heap deterministically */
	bool done;
	session_step_fn step;
	struct prng rng;
	unsigned a;             /* initiating host */
	unsigned b;             /* peer host, or off-site index for PAIR_OFFSITE */
	unsigned state;
	unsigned n;             /* exchanges (TCP) or messages (UDP) so far */
	unsigned limit;
	const struct tcp_app *app;
	uint16_t sport;
	uint32_t cseq, sseq;    /* next sequence number to send, client and server side */
	uint32_t v[4];          /* per-protocol scratch */
};

struct traffic {
	const struct plant *plant;
	struct pcap_writer *w;
	uint64_t seed;
	uint64_t start;
	uint64_t end;
	struct session *sessions;
	size_t n_sessions, cap_sessions;
	struct session **heap;
	size_t heap_len;
	uint16_t ip_id[PLANT_MAX_HOSTS];
	uint16_t offsite_ip_id[PLANT_OFFSITE_COUNT];
	uint16_t next_port[PLANT_MAX_HOSTS];
	struct traffic_stats stats;
	uint8_t frame[FRAME_MAX_LEN + 64];
	uint8_t payload[PAYLOAD_MAX];
};

struct endpoint {
	const uint8_t *mac;
	uint32_t ip;
	uint16_t vlan;
	uint8_t ttl;
	uint16_t *ip_id;
	uint16_t window;
};

static uint64_t rand_ms(struct session *s, uint32_t lo, uint32_t hi)
{
	return prng_range(&s->rng, (uint64_t)lo * USEC_PER_MS, (uint64_t)hi * USEC_PER_MS);
}

static uint64_t rand_us(struct session *s, uint32_t lo, uint32_t hi) { return prng_range(&s->rng, lo, hi); }

static struct endpoint host_ep(struct traffic *t, unsigned i)
{
	const struct plant_host *h = &t->plant->hosts[i];
	struct endpoint e = { h->mac, h->ip, h->vlan, 128, &t->ip_id[i], 64240 };

	if (h->role == ROLE_PLC) {
		e.ttl = h->vendor == VENDOR_SIEMENS ? 30 : 64;
		e.window = 8192;
	} else if (h->role == ROLE_ROUTER) {
		e.ttl = 255;
	}
	return e;
}

static int emit(struct traffic *t, uint64_t ts, int len)
{
	int r;

	if (len < 0)
		return len;
	r = pcap_writer_write(t->w, (uint32_t)(ts / USEC_PER_SEC), (uint32_t)(ts % USEC_PER_SEC), t->frame, (size_t)len);
	if (r < 0)
		return r;
	t->stats.packets++;
	t->stats.bytes += (uint64_t)len;
	return 0;
}

static int emit_udp(struct traffic *t, uint64_t ts, const struct endpoint *from, const uint8_t *dst_mac,
	uint32_t dst_ip, uint16_t sport, uint16_t dport, const struct wbuf *pl)
{
	struct frame_l2 l2 = { .vlan = from->vlan };
	struct frame_ip ip = { from->ip, dst_ip, (*from->ip_id)++, from->ttl };

	if (pl->overflow)
		return -EOVERFLOW;
	memcpy(l2.dst, dst_mac, 6);
	memcpy(l2.src, from->mac, 6);
	return emit(t, ts, frame_udp(t->frame, sizeof(t->frame), &l2, &ip, sport, dport, pl->p, pl->len));
}

static uint16_t ephemeral_port(struct traffic *t, unsigned host)
{
	uint16_t p = t->next_port[host];

	t->next_port[host] = p >= 65535 ? 49152 : (uint16_t)(p + 1);
	return p;
}

/* ---- TCP applications ---------------------------------------------------------------------- */

static void modbus_payload(struct traffic *t, struct session *s, bool reply, struct wbuf *b)
{
	uint16_t regs[32];
	uint16_t qty;

	if (s->n == 0 && !reply) {
		static const uint16_t blocks[] = { 0, 100, 400, 1000 };
		s->v[0] = (uint32_t)prng_next(&s->rng);
		s->v[1] = blocks[prng_next(&s->rng) % 4];
		s->v[2] = (uint32_t)prng_range(&s->rng, 4, 32);
	}
	qty = (uint16_t)s->v[2];
	if (!reply) {
		s->v[0]++;
		pl_modbus_read_req(b, (uint16_t)s->v[0], 1, (uint16_t)s->v[1], qty);
		return;
	}
	/* Process values: a slow per-register level with a little noise. */
	for (uint16_t i = 0; i < qty; i++)
		regs[i] = (uint16_t)(200 + 37 * i + (s->n / 16) % 50 + prng_range(&s->rng, 0, 3));
	pl_modbus_read_rsp(b, (uint16_t)s->v[0], 1, regs, qty);
}

static void s7_payload(struct traffic *t, struct session *s, bool reply, struct wbuf *b)
{
	uint8_t data[32];

	if (s->n == 0) {
		if (!reply)
			s->v[1] = (uint32_t)prng_range(&s->rng, 1, 0xfffe);  /* client TSAP reference */
		pl_s7_cotp_connect(b, reply, reply ? (uint16_t)s->v[1] : 0, reply ? 0x0011 : (uint16_t)s->v[1]);
		return;
	}
	if (!reply)
		s->v[0]++;
	if (s->n == 1) {
		pl_s7_setup(b, reply, (uint16_t)s->v[0]);
		return;
	}
	if (!reply) {
		pl_s7_read_req(b, (uint16_t)s->v[0], (uint16_t)(1 + s->n % 3), 0, sizeof(data));
		return;
	}
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)((i & 3) == 3 ? prng_next(&s->rng) : i * 7);
	pl_s7_read_rsp(b, (uint16_t)s->v[0], data, sizeof(data));
}

static void enip_payload(struct traffic *t, struct session *s, bool reply, struct wbuf *b)
{
	const struct plant_host *plc = &t->plant->hosts[s->b];
	uint64_t ctx = ((uint64_t)s->v[2] << 32) | s->n;

	if (s->n == 0) {
		if (reply)
			s->v[0] = (uint32_t)prng_next(&s->rng) | 1;
		else
			s->v[2] = (uint32_t)prng_next(&s->rng);
		pl_enip_register(b, reply, s->v[0], ctx);
		return;
	}
	pl_enip_identity(b, reply, s->v[0], ctx, 0x60000000u | (plc->mac[3] << 16 | plc->mac[4] << 8 | plc->mac[5]),
		"1756-L83E/B");
}

static void tls_payload(struct traffic *t, struct session *s, bool reply, struct wbuf *b)
{
	uint8_t rnd[32], sid[32], ct[1400];
	uint16_t n;

	if (s->n == 0) {
		for (size_t i = 0; i < 32; i++) {
			rnd[i] = (uint8_t)prng_next(&s->rng);
			sid[i] = (uint8_t)prng_next(&s->rng);
		}
		if (reply)
			pl_tls_server_hello(b, rnd, sid);
		else
			pl_tls_client_hello(b, rnd, sid, t->plant->offsite_name[s->b]);
		return;
	}
	n = (uint16_t)(reply ? prng_range(&s->rng, 300, sizeof(ct)) : prng_range(&s->rng, 80, 600));
	for (uint16_t i = 0; i < n; i++)
		ct[i] = (uint8_t)prng_next(&s->rng);
	pl_tls_app_data(b, ct, n);
}

static const struct tcp_app tcp_apps[] = {
	{ "modbus", 502, ROLE_HMI, ROLE_PLC, -1, PAIR_SPREAD, 50, 2000, 100, 600, 800, 6000,
	  200, 2000, 3000, 8000, modbus_payload },
	{ "s7comm", 102, ROLE_HISTORIAN, ROLE_PLC, VENDOR_SIEMENS, PAIR_ALL, 100, 3000, 900, 1100, 2000, 12000,
	  60, 600, 5000, 15000, s7_payload },
	{ "enip", 44818, ROLE_EWS, ROLE_PLC, VENDOR_ROCKWELL, PAIR_ALL, 2000, 15000, 150, 900, 500, 4000,
	  2, 6, 10000, 40000, enip_payload },
	{ "https", 443, ROLE_LAPTOP, ROLE_ROUTER, -1, PAIR_OFFSITE, 3000, 8000, 30, 400, 15000, 60000,
	  2, 6, 2000, 20000, tls_payload },
};

static void tcp_ends(struct traffic *t, const struct session *s, struct endpoint *c, struct endpoint *srv)
{
	*c = host_ep(t, s->a);
	if (s->app->pairing == PAIR_OFFSITE) {
		*srv = (struct endpoint){ t->plant->hosts[t->plant->router].mac, t->plant->offsite[s->b], c->vlan, 52,
			&t->offsite_ip_id[s->b], 65535 };
	} else {
		*srv = host_ep(t, s->b);
		srv->vlan = c->vlan;
	}
}

static int emit_tcp(struct traffic *t, struct session *s, bool from_client, uint8_t flags, const struct wbuf *pl)
{
	struct endpoint c, srv, *from, *to;
	struct frame_l2 l2;
	struct frame_ip ip;
	struct frame_tcp tcp = { 0 };
	uint32_t *seq = from_client ? &s->cseq : &s->sseq;

	if (pl && pl->overflow)
		return -EOVERFLOW;
	tcp_ends(t, s, &c, &srv);
	from = from_client ? &c : &srv;
	to = from_client ? &srv : &c;
	l2.vlan = c.vlan;
	memcpy(l2.src, from->mac, 6);
	memcpy(l2.dst, to->mac, 6);
	ip = (struct frame_ip){ from->ip, to->ip, (*from->ip_id)++, from->ttl };
	tcp.sport = from_client ? s->sport : s->app->port;
	tcp.dport = from_client ? s->app->port : s->sport;
	tcp.seq = *seq;
	tcp.ack = (flags & TCP_ACK) ? (from_client ? s->sseq : s->cseq) : 0;
	tcp.flags = flags;
	tcp.window = from->window;
	tcp.mss = (flags & TCP_SYN) ? 1460 : 0;
	*seq += (uint32_t)(pl ? pl->len : 0) + ((flags & TCP_SYN) ? 1 : 0) + ((flags & TCP_FIN) ? 1 : 0);
	return emit(t, s->at, frame_tcp(t->frame, sizeof(t->frame), &l2, &ip, &tcp, pl ? pl->p : NULL,
		pl ? pl->len : 0));
}

/* Capture-point round trip: a few hundred microseconds on the plant LAN, tens of ms off-site. */
static uint64_t tcp_rtt(struct session *s)
{
	return s->app->pairing == PAIR_OFFSITE ? rand_ms(s, 8, 40) : rand_us(s, 80, 450);
}

static int tcp_step(struct traffic *t, struct session *s)
{
	const struct tcp_app *app = s->app;
	struct wbuf b;
	int r = 0;

	wbuf_init(&b, t->payload, sizeof(t->payload));
	switch ((enum tcp_state)s->state) {
	case TS_SYN:
		if (app->pairing == PAIR_OFFSITE)
			s->b = (unsigned)(prng_next(&s->rng) % PLANT_OFFSITE_COUNT);
		s->sport = ephemeral_port(t, s->a);
		s->cseq = (uint32_t)prng_next(&s->rng);
		s->sseq = (uint32_t)prng_next(&s->rng);
		s->n = 0;
		s->limit = (unsigned)prng_range(&s->rng, app->exch_min, app->exch_max);
		r = emit_tcp(t, s, true, TCP_SYN, NULL);
		s->state = TS_SYNACK;
		s->at += tcp_rtt(s);
		break;
	case TS_SYNACK:
		r = emit_tcp(t, s, false, TCP_SYN | TCP_ACK, NULL);
		s->state = TS_ACK;
		s->at += rand_us(s, 40, 200);
		break;
	case TS_ACK:
		r = emit_tcp(t, s, true, TCP_ACK, NULL);
		s->state = TS_REQ;
		s->at += rand_us(s, 100, 3000);
		break;
	case TS_REQ:
		app->payload(t, s, false, &b);
		r = emit_tcp(t, s, true, TCP_PSH | TCP_ACK, &b);
		s->state = TS_RSP;
		s->at += (app->pairing == PAIR_OFFSITE ? tcp_rtt(s) : 0) + rand_us(s, app->rsp_min_us, app->rsp_max_us);
		break;
	case TS_RSP:
		app->payload(t, s, true, &b);
		r = emit_tcp(t, s, false, TCP_PSH | TCP_ACK, &b);
		s->n++;
		s->state = s->n < s->limit ? TS_REQ : TS_FIN;
		s->at += s->n < s->limit ? rand_ms(s, app->gap_min_ms, app->gap_max_ms) : rand_ms(s, 5, 60);
		break;
	case TS_FIN:
		r = emit_tcp(t, s, true, TCP_FIN | TCP_ACK, NULL);
		s->state = TS_FINACK;
		s->at += tcp_rtt(s);
		break;
	case TS_FINACK:
		r = emit_tcp(t, s, false, TCP_FIN | TCP_ACK, NULL);
		s->state = TS_LASTACK;
		s->at += rand_us(s, 40, 200);
		break;
	case TS_LASTACK:
		r = emit_tcp(t, s, true, TCP_ACK, NULL);
		s->state = TS_SYN;
		s->at += rand_ms(s, app->idle_min_ms, app->idle_max_ms);
		break;
	}
	return r;
}

/* ---- Link-layer and UDP sessions ------------------------------------------------------------- */

/* A random ARP peer on the same segment: OT hosts ask for each other, IT hosts for the gateway or
 * the DNS server, the gateway for an IT host. */
static unsigned arp_peer(struct traffic *t, struct session *s)
{
	const struct plant *p = t->plant;
	const struct plant_host *me = &p->hosts[s->a];
	unsigned cand[PLANT_MAX_HOSTS], n = 0;

	for (unsigned i = 0; i < p->n_hosts; i++) {
		if (i == s->a || p->hosts[i].vlan != me->vlan)
			continue;
		if (me->vlan == 0 && me->role != ROLE_ROUTER && i != p->router && i != p->dns)
			continue;
		cand[n++] = i;
	}
	return n ? cand[prng_next(&s->rng) % n] : s->a;
}

static int arp_step(struct traffic *t, struct session *s)
{
	struct endpoint me = host_ep(t, s->a), peer;
	struct frame_l2 l2 = { .vlan = me.vlan };
	uint64_t ts = s->at;
	int len;

	switch (s->state) {
	case 0: /* gratuitous: a request for our own address (RFC 5227 section 3 announcement) */
		memcpy(l2.dst, mac_broadcast, 6);
		memcpy(l2.src, me.mac, 6);
		len = frame_arp(t->frame, sizeof(t->frame), &l2, ARP_OP_REQUEST, me.mac, me.ip, mac_zero, me.ip);
		s->state = 1;
		s->at += rand_ms(s, 1000, 30000);
		break;
	case 1:
		s->b = arp_peer(t, s);
		if (s->b == s->a) {
			s->done = true;
			return 0;
		}
		peer = host_ep(t, s->b);
		memcpy(l2.dst, mac_broadcast, 6);
		memcpy(l2.src, me.mac, 6);
		len = frame_arp(t->frame, sizeof(t->frame), &l2, ARP_OP_REQUEST, me.mac, me.ip, mac_zero, peer.ip);
		s->state = 2;
		s->at += rand_us(s, 60, 900);
		break;
	default:
		peer = host_ep(t, s->b);
		memcpy(l2.dst, me.mac, 6);
		memcpy(l2.src, peer.mac, 6);
		len = frame_arp(t->frame, sizeof(t->frame), &l2, ARP_OP_REPLY, peer.mac, peer.ip, me.mac, me.ip);
		s->state = 1;
		s->at += rand_ms(s, 30000, 120000);
		break;
	}
	return emit(t, ts, len);
}

/* The packet time of a step is s->at on entry; steps that advance s->at first emit at the old value. */
static int dhcp_step(struct traffic *t, struct session *s)
{
	const struct plant *p = t->plant;
	const struct plant_host *h = &p->hosts[s->a];
	struct endpoint client = host_ep(t, s->a), server = host_ep(t, p->dns);
	static const uint8_t types[] = { DHCP_DISCOVER, DHCP_OFFER, DHCP_REQUEST, DHCP_ACK };
	struct pl_dhcp m = { .type = types[s->state], .xid = s->v[0], .chaddr = h->mac, .yiaddr = h->ip,
		.server = server.ip, .router = p->hosts[p->router].ip, .mask = 0xffffff00u,
		.hostname = h->name, .vendor_class = "MSFT 5.0", .domain = "plant.local" };
	uint64_t ts = s->at;
	struct wbuf b;
	int r;

	wbuf_init(&b, t->payload, sizeof(t->payload));
	if (s->state == 0)
		s->v[0] = m.xid = (uint32_t)prng_next(&s->rng);
	m.secs = s->state >= 2 ? 1 : 0;
	pl_dhcp(&b, &m);
	if (m.type == DHCP_DISCOVER || m.type == DHCP_REQUEST) {
		client.ip = 0;  /* no address yet */
		r = emit_udp(t, ts, &client, mac_broadcast, 0xffffffffu, 68, 67, &b);
		s->at += m.type == DHCP_DISCOVER ? rand_ms(s, 1, 4) : rand_us(s, 300, 2000);
	} else {
		r = emit_udp(t, ts, &server, h->mac, h->ip, 67, 68, &b);
		s->at += rand_ms(s, 5, 30);
	}
	if (++s->state == 4)
		s->done = true;
	return r;
}

/* DNS client: A lookups for the off-site services and local servers. */
static int dns_step(struct traffic *t, struct session *s)
{
	const struct plant *p = t->plant;
	struct endpoint client = host_ep(t, s->a), server = host_ep(t, p->dns);
	char local[48];
	const char *name;
	uint32_t ip;
	unsigned pick = s->v[1];
	uint64_t ts = s->at;
	struct wbuf b;
	int r;

	if (pick < PLANT_OFFSITE_COUNT) {
		name = p->offsite_name[pick];
		ip = p->offsite[pick];
	} else {
		const struct plant_host *h = &p->hosts[pick - PLANT_OFFSITE_COUNT];
		snprintf(local, sizeof(local), "%s.plant.local", h->name);
		name = local;
		ip = h->ip;
	}
	wbuf_init(&b, t->payload, sizeof(t->payload));
	if (s->state == 0) {
		pl_dns_query(&b, (uint16_t)s->v[0], name);
		r = emit_udp(t, ts, &client, server.mac, server.ip, (uint16_t)s->v[2], 53, &b);
		s->state = 1;
		s->at += rand_us(s, 300, 4000);
		return r;
	}
	pl_dns_answer(&b, (uint16_t)s->v[0], name, ip);
	r = emit_udp(t, ts, &server, client.mac, client.ip, 53, (uint16_t)s->v[2], &b);
	s->state = 0;
	s->v[0] = (uint32_t)prng_next(&s->rng);
	s->v[1] = (unsigned)(prng_next(&s->rng) % (PLANT_OFFSITE_COUNT + p->n_hosts));
	s->v[2] = (uint32_t)prng_range(&s->rng, 49152, 65535);
	s->at += rand_ms(s, 2000, 20000);
	return r;
}

static int lldp_step(struct traffic *t, struct session *s)
{
	struct frame_l2 l2 = { .vlan = 0 };
	char sysname[32];
	struct wbuf b;
	uint64_t ts = s->at;

	snprintf(sysname, sizeof(sysname), "sw-ot-site%u", t->plant->site_octet);
	memcpy(l2.dst, mac_lldp, 6);
	memcpy(l2.src, t->plant->switch_mac, 6);
	wbuf_init(&b, t->payload, sizeof(t->payload));
	pl_lldp(&b, t->plant->switch_mac, "1/1", sysname, "Hirschmann Railswitch RSP35 HiOS-09.0.04", 120);
	if (b.overflow)
		return -EOVERFLOW;
	s->at += 30 * USEC_PER_SEC + rand_us(s, 0, 5000);
	return emit(t, ts, frame_eth(t->frame, sizeof(t->frame), &l2, ETHERTYPE_LLDP, b.p, b.len));
}

static int bacnet_step(struct traffic *t, struct session *s)
{
	struct endpoint me = host_ep(t, s->a);
	struct wbuf b;
	uint64_t ts = s->at;

	wbuf_init(&b, t->payload, sizeof(t->payload));
	pl_bacnet_whois(&b);
	s->at += rand_ms(s, 15000, 45000);
	return emit_udp(t, ts, &me, mac_broadcast, plant_broadcast(t->plant), 47808, 47808, &b);
}

/* ---- Session set-up --------------------------------------------------------------------------- */

static int add_session(struct traffic *t, session_step_fn step, unsigned a, unsigned b, uint64_t at,
	struct session **out)
{
	struct session *s;

	if (t->n_sessions == t->cap_sessions) {
		size_t ncap = t->cap_sessions ? t->cap_sessions * 2 : 64;
		struct session *ns;
		if (ncap > SIZE_MAX / sizeof(*ns))
			return -ENOMEM;
		ns = realloc(t->sessions, ncap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		t->sessions = ns;
		t->cap_sessions = ncap;
	}
	s = &t->sessions[t->n_sessions];
	memset(s, 0, sizeof(*s));
	s->order = (uint32_t)t->n_sessions++;
	s->step = step;
	s->a = a;
	s->b = b;
	s->at = at;
	/* Each session has its own stream, so sessions do not perturb each other's numbers. */
	prng_init(&s->rng, t->seed, 1 + s->order);
	if (out)
		*out = s;
	return 0;
}

static bool server_matches(const struct tcp_app *app, const struct plant_host *h)
{
	return h->role == app->server_role && (app->server_vendor < 0 || (int)h->vendor == app->server_vendor);
}

static int spawn_tcp(struct traffic *t)
{
	const struct plant *p = t->plant;
	struct session *s;
	int r;

	for (size_t k = 0; k < sizeof(tcp_apps) / sizeof(tcp_apps[0]); k++) {
		const struct tcp_app *app = &tcp_apps[k];
		unsigned clients[PLANT_MAX_HOSTS], nc = 0, ns = 0;

		for (unsigned i = 0; i < p->n_hosts; i++)
			if (p->hosts[i].role == app->client_role)
				clients[nc++] = i;
		for (unsigned j = 0; j < p->n_hosts || (app->pairing == PAIR_OFFSITE && j == 0); j++) {
			bool offsite = app->pairing == PAIR_OFFSITE;
			if (!offsite && !server_matches(app, &p->hosts[j]))
				continue;
			for (unsigned ci = 0; ci < nc; ci++) {
				if (app->pairing == PAIR_SPREAD && nc > 1 && ci != ns % nc && ci != (ns + 1) % nc)
					continue;
				r = add_session(t, tcp_step, clients[ci], offsite ? 0 : j, 0, &s);
				if (r < 0)
					return r;
				s->app = app;
				s->at = t->start + rand_ms(s, app->first_min_ms, app->first_max_ms);
			}
			ns++;
			if (offsite)
				break;
		}
	}
	return 0;
}

static int spawn_link_and_udp(struct traffic *t)
{
	const struct plant *p = t->plant;
	unsigned whois_host = p->n_hosts;
	struct session *s;
	int r;

	for (unsigned i = 0; i < p->n_hosts; i++) {
		const struct plant_host *h = &p->hosts[i];

		r = add_session(t, arp_step, i, 0, 0, &s);
		if (r < 0)
			return r;
		/* DHCP clients announce their address only after the lease is theirs. */
		s->at = t->start + (h->dhcp ? rand_ms(s, 2500, 4000) : rand_ms(s, 0, 5000));
		if (h->dhcp) {
			r = add_session(t, dhcp_step, i, p->dns, 0, &s);
			if (r < 0)
				return r;
			s->at = t->start + rand_ms(s, 100, 1500);
		}
		if (h->role == ROLE_LAPTOP || h->role == ROLE_FILESERVER) {
			r = add_session(t, dns_step, i, p->dns, 0, &s);
			if (r < 0)
				return r;
			s->at = t->start + rand_ms(s, 2500, 6000);
			s->v[0] = (uint32_t)prng_next(&s->rng);
			s->v[1] = (unsigned)(prng_next(&s->rng) % PLANT_OFFSITE_COUNT);
			s->v[2] = (uint32_t)prng_range(&s->rng, 49152, 65535);
		}
		if (h->role == ROLE_EWS || (whois_host == p->n_hosts && h->role == ROLE_HMI))
			whois_host = i;
	}
	r = add_session(t, lldp_step, 0, 0, 0, &s);
	if (r < 0)
		return r;
	s->at = t->start + rand_ms(s, 0, 30000);
	if (whois_host < p->n_hosts) {
		r = add_session(t, bacnet_step, whois_host, 0, 0, &s);
		if (r < 0)
			return r;
		s->at = t->start + rand_ms(s, 1000, 20000);
	}
	return 0;
}

/* ---- Schedule --------------------------------------------------------------------------------- */

static bool earlier(const struct session *x, const struct session *y)
{
	return x->at < y->at || (x->at == y->at && x->order < y->order);
}

static void heap_sift_down(struct session **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		struct session *tmp;
		if (l < n && earlier(h[l], h[m]))
			m = l;
		if (l + 1 < n && earlier(h[l + 1], h[m]))
			m = l + 1;
		if (m == i)
			return;
		tmp = h[i];
		h[i] = h[m];
		h[m] = tmp;
		i = m;
	}
}

int traffic_run(const struct plant *p, const struct traffic_config *cfg, struct pcap_writer *w,
	struct traffic_stats *stats)
{
	struct traffic *t;
	int r;

	if (cfg->start_usec / USEC_PER_SEC + cfg->duration_usec / USEC_PER_SEC + 1 > UINT32_MAX)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->plant = p;
	t->w = w;
	t->seed = cfg->seed;
	t->start = cfg->start_usec;
	t->end = cfg->start_usec + cfg->duration_usec;
	{
		struct prng r0;
		prng_init(&r0, cfg->seed, 0);
		for (unsigned i = 0; i < PLANT_MAX_HOSTS; i++) {
			t->ip_id[i] = (uint16_t)prng_next(&r0);
			t->next_port[i] = (uint16_t)prng_range(&r0, 49152, 60000);
		}
		for (unsigned i = 0; i < PLANT_OFFSITE_COUNT; i++)
			t->offsite_ip_id[i] = (uint16_t)prng_next(&r0);
	}
	r = spawn_link_and_udp(t);
	if (r == 0)
		r = spawn_tcp(t);
	if (r < 0)
		goto out;
	t->heap = calloc(t->n_sessions ? t->n_sessions : 1, sizeof(*t->heap));
	if (!t->heap) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < t->n_sessions; i++)
		t->heap[t->heap_len++] = &t->sessions[i];
	for (size_t i = t->heap_len / 2; i-- > 0;)
		heap_sift_down(t->heap, t->heap_len, i);

	/* Steps only move a session's time forward, so the heap top is never earlier than the last
	 * packet written: output timestamps are non-decreasing. */
	while (t->heap_len && t->heap[0]->at < t->end) {
		struct session *s = t->heap[0];
		r = s->step(t, s);
		if (r < 0)
			goto out;
		if (s->done)
			t->heap[0] = t->heap[--t->heap_len];
		heap_sift_down(t->heap, t->heap_len, 0);
	}
	r = 0;
out:
	if (stats)
		*stats = t->stats;
	free(t->heap);
	free(t->sessions);
	free(t);
	return r;
}
