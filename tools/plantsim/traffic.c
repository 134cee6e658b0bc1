#include "tools/plantsim/traffic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/plantsim/sim.h"

const uint8_t sim_mac_broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct endpoint sim_host_ep(struct sim *t, unsigned i)
{
	const struct plant_host *h = &t->plant->hosts[i];
	struct endpoint e = { h->mac, h->ip, h->vlan, 128, &t->ip_id[i], 64240 };

	switch (h->role) {
	case ROLE_PLC:
		e.ttl = h->vendor == VENDOR_SIEMENS ? 30 : 64;
		e.window = 8192;
		break;
	case ROLE_RTU:
	case ROLE_BACNET:
	case ROLE_IO:
		e.ttl = 64;
		e.window = 5840;
		break;
	case ROLE_ROUTER:
		e.ttl = 255;
		e.window = 4128;
		break;
	case ROLE_SWITCH:
		e.ttl = 64;
		e.window = 8192;
		break;
	case ROLE_FILESERVER:
		e.ttl = 64;
		e.window = 65160;
		break;
	case ROLE_HMI:
		if (h->vendor == VENDOR_ADVANTECH)
			e.ttl = 64;
		break;
	default:
		break;
	}
	return e;
}

void sim_anomaly(struct sim *t, uint64_t ts, const char *kind, enum plant_proto p, unsigned src, unsigned dst)
{
	struct traffic_stats *st = &t->stats;

	if (st->n_anomalies < TRAFFIC_MAX_ANOMALIES)
		st->anomalies[st->n_anomalies++] = (struct traffic_anomaly){ ts, kind, p, src, dst, 0 };
}

void sim_anomaly_ip(struct sim *t, uint64_t ts, const char *kind, enum plant_proto p, unsigned src, uint32_t dst_ip)
{
	struct traffic_stats *st = &t->stats;

	if (st->n_anomalies < TRAFFIC_MAX_ANOMALIES)
		st->anomalies[st->n_anomalies++] = (struct traffic_anomaly){ ts, kind, p, src, src, dst_ip };
}

int sim_emit(struct sim *t, uint64_t ts, int len)
{
	int r;

	if (len < 0)
		return len;
	bool attack = t->w_attack && ts >= t->attack_start;

	r = pcap_writer_write(attack ? t->w_attack : t->w, (uint32_t)(ts / USEC_PER_SEC), (uint32_t)(ts % USEC_PER_SEC),
		t->frame, (size_t)len);
	if (r < 0)
		return r;
	t->stats.packets++;
	t->stats.bytes += (uint64_t)len;
	if (attack) {
		t->stats.attack_packets++;
		t->stats.attack_bytes += (uint64_t)len;
	}
	return 0;
}

int sim_udp(struct sim *t, uint64_t ts, const struct endpoint *from, const uint8_t *dst_mac, uint32_t dst_ip,
	uint16_t sport, uint16_t dport, const struct wbuf *pl)
{
	struct frame_l2 l2 = { .vlan = from->vlan };
	struct frame_ip ip = { from->ip, dst_ip, (*from->ip_id)++, from->ttl };

	if (pl->overflow)
		return -EOVERFLOW;
	memcpy(l2.dst, dst_mac, 6);
	memcpy(l2.src, from->mac, 6);
	return sim_emit(t, ts, frame_udp(t->frame, sizeof(t->frame), &l2, &ip, sport, dport, pl->p, pl->len));
}

int sim_l2(struct sim *t, uint64_t ts, const uint8_t *src, const uint8_t *dst, uint16_t vlan, uint16_t type,
	const struct wbuf *pl)
{
	struct frame_l2 l2 = { .vlan = vlan };

	if (pl->overflow)
		return -EOVERFLOW;
	memcpy(l2.dst, dst, 6);
	memcpy(l2.src, src, 6);
	return sim_emit(t, ts, frame_eth(t->frame, sizeof(t->frame), &l2, type, pl->p, pl->len));
}

uint16_t sim_ephemeral_port(struct sim *t, unsigned host)
{
	uint16_t p = t->next_port[host];

	t->next_port[host] = p >= 65535 ? 49152 : (uint16_t)(p + 1);
	return p;
}

int sim_add(struct sim *t, sim_step_fn step, unsigned a, unsigned b, uint64_t at, struct sim_session **out)
{
	struct sim_session *s;

	if (t->n_sessions == t->cap_sessions) {
		size_t ncap = t->cap_sessions ? t->cap_sessions * 2 : 64;
		struct sim_session *ns;
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

/* ---- Schedule --------------------------------------------------------------------------------- */

static bool earlier(const struct sim_session *x, const struct sim_session *y)
{
	return x->at < y->at || (x->at == y->at && x->order < y->order);
}

static void heap_sift_down(struct sim_session **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		struct sim_session *tmp;
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

/* The order is part of the output: every module adds its sessions in a fixed order, so the session
 * numbers (and with them the random streams) are a function of the plant alone. */
static int spawn_all(struct sim *t)
{
	static int (*const spawners[])(struct sim *) = { l2_spawn, names_spawn, modbus_spawn, s7_spawn,
		s7plus_spawn, enip_spawn, opcua_spawn, dnp3_spawn, iec104_spawn, bacnet_spawn, pndcp_spawn,
		mgmt_spawn, web_spawn, anomaly_spawn, scenario_spawn };
	int r;

	for (size_t i = 0; i < sizeof(spawners) / sizeof(spawners[0]); i++) {
		r = spawners[i](t);
		if (r < 0)
			return r;
	}
	return 0;
}

int traffic_run(const struct plant *p, const struct traffic_config *cfg, struct pcap_writer *w,
	struct traffic_stats *stats)
{
	return traffic_run_scenario(p, cfg, NULL, w, stats);
}

int traffic_run_scenario(const struct plant *p, const struct traffic_config *cfg, const struct traffic_scenario *sc,
	struct pcap_writer *w, struct traffic_stats *stats)
{
	struct sim *t;
	struct prng r0;
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
	t->anomalies = cfg->anomalies;
	if (sc) {
		t->scenario = sc->id;
		t->w_attack = sc->w_attack;
		t->attack_start = sc->attack_start_usec;
		t->quiet = true;
	}
	prng_init(&r0, cfg->seed, 0);
	/* The plant's hosts and switches and its off-site services, then the scenarios' extras (in this order, so
	 * that the extras change nothing else). */
	for (unsigned i = 0; i < PLANT_MAX_HOSTS + PLANT_SWITCHES; i++) {
		t->ip_id[i] = (uint16_t)prng_next(&r0);
		t->next_port[i] = (uint16_t)prng_range(&r0, 49152, 60000);
	}
	for (unsigned i = 0; i < PLANT_OFFSITE_COUNT; i++)
		t->offsite_ip_id[i] = (uint16_t)prng_next(&r0);
	for (unsigned i = PLANT_MAX_HOSTS + PLANT_SWITCHES; i < PLANT_MAX_DEVICES; i++) {
		t->ip_id[i] = (uint16_t)prng_next(&r0);
		t->next_port[i] = (uint16_t)prng_range(&r0, 49152, 60000);
	}
	t->offsite_ip_id[PLANT_OFFSITE_EXTRA] = (uint16_t)prng_next(&r0);
	r = spawn_all(t);
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
		struct sim_session *s = t->heap[0];
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
	for (size_t i = 0; i < t->n_sessions; i++)
		tcp_free(&t->sessions[i]);
	free(t->heap);
	free(t->sessions);
	free(t);
	return r;
}
