/* SNMP v2c (RFC 3416, BER per X.690): the site's monitoring server (the DHCP/DNS host) polls the router and
 * both switches every few minutes, and the engineering workstation reads the system group of every
 * SNMP-capable PROFINET device (as PRONETA and TIA Portal do): a GetRequest for sysDescr, sysObjectID,
 * sysUpTime and sysName, and the agent's GetResponse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/plantsim/sim.h"

static void ber_len(struct wbuf *b, size_t n)
{
	if (n < 0x80) {
		wbuf_u8(b, (uint8_t)n);
	} else if (n < 0x100) {
		wbuf_u8(b, 0x81);
		wbuf_u8(b, (uint8_t)n);
	} else {
		wbuf_u8(b, 0x82);
		wbuf_u16(b, (uint16_t)n);
	}
}

static void ber_tlv(struct wbuf *b, uint8_t tag, const void *v, size_t n)
{
	wbuf_u8(b, tag);
	ber_len(b, n);
	wbuf_bytes(b, v, n);
}

/* Non-negative INTEGER (or an application integer type) in the fewest octets. */
static void ber_uint(struct wbuf *b, uint8_t tag, uint32_t v)
{
	uint8_t x[5];
	size_t n = 0;

	for (int i = 3; i >= 0; i--) {
		uint8_t o = (uint8_t)(v >> (8 * i));
		if (n == 0 && o == 0 && i > 0)
			continue;
		if (n == 0 && (o & 0x80))
			x[n++] = 0;
		x[n++] = o;
	}
	ber_tlv(b, tag, x, n);
}

/* OBJECT IDENTIFIER from dotted text. */
static void ber_oid(struct wbuf *b, const char *dotted)
{
	uint8_t x[64];
	size_t n = 0;
	unsigned long arcs[32];
	size_t na = 0;
	const char *p = dotted;

	while (*p && na < 32) {
		char *end;
		arcs[na++] = strtoul(p, &end, 10);
		p = *end == '.' ? end + 1 : end;
		if (*end != '.')
			break;
	}
	if (na < 2)
		return;
	arcs[1] += arcs[0] * 40;
	for (size_t i = 1; i < na && n + 5 < sizeof(x); i++) {
		uint8_t tmp[5];
		int k = 0;
		unsigned long v = arcs[i];
		do {
			tmp[k++] = (uint8_t)(v & 0x7f);
			v >>= 7;
		} while (v);
		while (k-- > 0)
			x[n++] = (uint8_t)(tmp[k] | (k ? 0x80 : 0));
	}
	ber_tlv(b, 0x06, x, n);
}

static const char *const oids[] = { "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0",
	"1.3.6.1.2.1.1.5.0" };

/* One GetRequest (reply = false) or GetResponse for the four system-group objects of h. */
static void snmp_message(struct wbuf *b, bool reply, uint32_t req_id, const struct plant_host *h, uint32_t uptime)
{
	uint8_t vb_buf[600], list_buf[640], pdu_buf[700], msg_buf[760];
	struct wbuf vb, list, pdu, msg;
	char descr[192];

	wbuf_init(&list, list_buf, sizeof(list_buf));
	plant_sys_descr(h, descr, sizeof(descr));
	for (size_t i = 0; i < sizeof(oids) / sizeof(oids[0]); i++) {
		wbuf_init(&vb, vb_buf, sizeof(vb_buf));
		ber_oid(&vb, oids[i]);
		if (!reply)
			ber_tlv(&vb, 0x05, NULL, 0);
		else if (i == 0)
			ber_tlv(&vb, 0x04, descr, strlen(descr));
		else if (i == 1)
			ber_oid(&vb, h->model->sys_object_id);
		else if (i == 2)
			ber_uint(&vb, 0x43, uptime);    /* TimeTicks */
		else
			ber_tlv(&vb, 0x04, h->name, strlen(h->name));
		ber_tlv(&list, 0x30, vb.p, vb.len);
		list.overflow |= vb.overflow;
	}
	wbuf_init(&pdu, pdu_buf, sizeof(pdu_buf));
	ber_uint(&pdu, 0x02, req_id);
	ber_uint(&pdu, 0x02, 0);                /* error-status */
	ber_uint(&pdu, 0x02, 0);                /* error-index */
	ber_tlv(&pdu, 0x30, list.p, list.len);
	wbuf_init(&msg, msg_buf, sizeof(msg_buf));
	ber_uint(&msg, 0x02, 1);                /* version: v2c */
	ber_tlv(&msg, 0x04, "public", 6);
	ber_tlv(&msg, reply ? 0xa2 : 0xa0, pdu.p, pdu.len);
	ber_tlv(b, 0x30, msg.p, msg.len);
	b->overflow |= list.overflow || pdu.overflow || msg.overflow;
}

/* s->v: 0 request id, 1 source port, 2 uptime offset (ticks at capture start), 3 poll interval range. */
static int snmp_step(struct sim *t, struct sim_session *s)
{
	const struct plant_host *agent = sim_host(t, s->b);
	struct endpoint mgr = sim_host_ep(t, s->a), ag = sim_host_ep(t, s->b);
	uint64_t ts = s->at;
	struct wbuf b;
	int r;

	wbuf_init(&b, t->payload, sizeof(t->payload));
	if (s->state == 0) {
		s->v[0] = (uint32_t)prng_range(&s->rng, 1, 0x7fffffff);
		s->v[1] = sim_ephemeral_port(t, s->a);
		snmp_message(&b, false, s->v[0], agent, 0);
		r = sim_udp(t, ts, &mgr, ag.mac, ag.ip, (uint16_t)s->v[1], 161, &b);
		sim_seen(t, s->a, PP_SNMP, PR_CLIENT);
		s->state = 1;
		s->at += sim_us(s, 400, 6000);
		return r;
	}
	snmp_message(&b, true, s->v[0], agent, s->v[2] + (uint32_t)((ts - t->start) / 10000));
	r = sim_udp(t, ts, &ag, mgr.mac, mgr.ip, 161, (uint16_t)s->v[1], &b);
	sim_seen(t, s->b, PP_SNMP, PR_SERVER);
	sim_reveal(t, s->b, PP_SNMP, plant_sys_descr_facts(agent) | PF_BIT(PF_HOSTNAME));
	s->state = 0;
	s->at += sim_ms(s, s->v[3], 3 * s->v[3]);
	return r;
}

static int add_poll(struct sim *t, unsigned mgr, unsigned agent, uint64_t first_lo, uint64_t first_hi,
	uint32_t every_ms)
{
	struct sim_session *s;
	int r = sim_add(t, snmp_step, mgr, agent, 0, &s);

	if (r < 0)
		return r;
	s->at = t->start + sim_ms(s, first_lo, first_hi);
	s->v[2] = (uint32_t)prng_range(&s->rng, 360000, 900000000);   /* up 1 hour .. 100 days */
	s->v[3] = every_ms;
	return 0;
}

int mgmt_spawn(struct sim *t)
{
	const struct plant *p = t->plant;
	unsigned ews = plant_find(p, ROLE_EWS);
	int r;

	for (unsigned j = 0; j < p->n_devices; j++) {
		const struct plant_host *h = &p->hosts[j];
		if (!(h->model->serves & PP_BIT(PP_SNMP)) || !h->model->sys_object_id)
			continue;
		if (h->role == ROLE_ROUTER || h->role == ROLE_SWITCH)
			r = add_poll(t, p->dns, j, 5000, 25000, 60000);
		else if (ews < p->n_hosts)
			r = add_poll(t, ews, j, 4000, 12000, 300000);
		else
			r = 0;
		if (r < 0)
			return r;
	}
	return 0;
}
