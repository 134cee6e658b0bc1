/* Layer-2 sessions: ARP of every device (a gratuitous announcement, then requests for its peers), LLDP from
 * the Hirschmann cell switch (every 30 s) and from every PROFINET device (every 5 s, chassis id = name of
 * station, system description with order number and versions), CDP from the Cisco switch and the router
 * (every 60 s). */
#include "tools/plantsim/it_l2.h"

#include <stdio.h>
#include <string.h>

#include "tools/plantsim/frames.h"
#include "tools/plantsim/sim.h"

static const uint8_t mac_zero[6] = { 0 };
static const uint8_t mac_lldp[6] = { 0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e };
static const uint8_t mac_cdp[6] = { 0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc };

static void lldp_tlv(struct wbuf *b, uint8_t type, int subtype, const void *v, size_t n)
{
	size_t len = n + (subtype >= 0 ? 1 : 0);

	wbuf_u16(b, (uint16_t)((type << 9) | (len & 0x1ff)));
	if (subtype >= 0)
		wbuf_u8(b, (uint8_t)subtype);
	wbuf_bytes(b, v, n);
}

void lldp_pdu(struct wbuf *b, const struct lldp_info *li)
{
	uint8_t ttl[2] = { (uint8_t)(li->ttl >> 8), (uint8_t)li->ttl };
	uint8_t caps[4] = { (uint8_t)(li->caps >> 8), (uint8_t)li->caps, (uint8_t)(li->caps >> 8), (uint8_t)li->caps };

	lldp_tlv(b, 1, li->chassis_subtype, li->chassis, li->chassis_len);
	lldp_tlv(b, 2, li->port_subtype, li->port, strlen(li->port));
	lldp_tlv(b, 3, -1, ttl, 2);
	if (li->port_descr)
		lldp_tlv(b, 4, -1, li->port_descr, strlen(li->port_descr));
	if (li->sys_name)
		lldp_tlv(b, 5, -1, li->sys_name, strlen(li->sys_name));
	if (li->sys_descr)
		lldp_tlv(b, 6, -1, li->sys_descr, strlen(li->sys_descr));
	if (li->caps)
		lldp_tlv(b, 7, -1, caps, 4);
	if (li->mgmt_ip) {
		/* Address string length (subtype + address), IPv4, interface numbering ifIndex, no OID. */
		uint8_t m[12] = { 5, 1, (uint8_t)(li->mgmt_ip >> 24), (uint8_t)(li->mgmt_ip >> 16),
			(uint8_t)(li->mgmt_ip >> 8), (uint8_t)li->mgmt_ip, 2, (uint8_t)(li->if_index >> 24),
			(uint8_t)(li->if_index >> 16), (uint8_t)(li->if_index >> 8), (uint8_t)li->if_index, 0 };
		lldp_tlv(b, 8, -1, m, sizeof(m));
	}
	wbuf_u16(b, 0);
}

uint16_t cdp_checksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		/* Cisco adds the odd octet sign-extended to 32 bits, which ends one lower after folding. */
		sum += (p[n - 1] & 0x80) ? 0xff00u | (uint32_t)(p[n - 1] - 1) : p[n - 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void cdp_tlv(struct wbuf *b, uint16_t type, const void *v, size_t n)
{
	wbuf_u16(b, type);
	wbuf_u16(b, (uint16_t)(4 + n));
	wbuf_bytes(b, v, n);
}

void cdp_pdu(struct wbuf *b, const struct cdp_info *ci)
{
	static const uint8_t snap[8] = { 0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00 };
	uint8_t addr[13] = { 0, 0, 0, 1, 1, 1, 0xcc, 0, 4, (uint8_t)(ci->ip >> 24), (uint8_t)(ci->ip >> 16),
		(uint8_t)(ci->ip >> 8), (uint8_t)ci->ip };
	uint8_t caps[4] = { (uint8_t)(ci->caps >> 24), (uint8_t)(ci->caps >> 16), (uint8_t)(ci->caps >> 8),
		(uint8_t)ci->caps };
	uint8_t vlan[2] = { (uint8_t)(ci->native_vlan >> 8), (uint8_t)ci->native_vlan }, duplex = 1;
	size_t start;
	uint16_t sum;

	wbuf_bytes(b, snap, sizeof(snap));
	start = b->len;
	wbuf_u8(b, 2);                      /* version */
	wbuf_u8(b, 180);                    /* hold time */
	wbuf_u16(b, 0);
	cdp_tlv(b, 0x0001, ci->device_id, strlen(ci->device_id));
	cdp_tlv(b, 0x0002, addr, sizeof(addr));     /* one address: NLPID IP */
	cdp_tlv(b, 0x0003, ci->port, strlen(ci->port));
	cdp_tlv(b, 0x0004, caps, 4);
	cdp_tlv(b, 0x0005, ci->version, strlen(ci->version));
	cdp_tlv(b, 0x0006, ci->platform, strlen(ci->platform));
	cdp_tlv(b, 0x000a, vlan, 2);
	cdp_tlv(b, 0x000b, &duplex, 1);
	cdp_tlv(b, 0x0016, addr, sizeof(addr));     /* management address */
	if (b->overflow)
		return;
	sum = cdp_checksum(b->p + start, b->len - start);
	b->p[start + 2] = (uint8_t)(sum >> 8);
	b->p[start + 3] = (uint8_t)sum;
}

/* ---- ARP --------------------------------------------------------------------------------------- */

/* A random ARP peer on the same segment: OT hosts ask for each other, IT hosts for the gateway or the DNS
 * server, the gateway for an IT host. */
static unsigned arp_peer(struct sim *t, struct sim_session *s)
{
	const struct plant *p = t->plant;
	const struct plant_host *me = &p->hosts[s->a];
	unsigned cand[PLANT_MAX_DEVICES], n = 0;

	for (unsigned i = 0; i < p->n_devices; i++) {
		if (i == s->a || p->hosts[i].vlan != me->vlan)
			continue;
		if (me->vlan == 0 && me->role != ROLE_ROUTER && i != p->router && i != p->dns)
			continue;
		cand[n++] = i;
	}
	return n ? cand[prng_next(&s->rng) % n] : s->a;
}

static int arp_step(struct sim *t, struct sim_session *s)
{
	struct endpoint me = sim_host_ep(t, s->a), peer;
	struct frame_l2 l2 = { .vlan = me.vlan };
	uint64_t ts = s->at;
	int len;

	switch (s->state) {
	case 0: /* gratuitous: a request for our own address (RFC 5227 section 3 announcement) */
		memcpy(l2.dst, sim_mac_broadcast, 6);
		memcpy(l2.src, me.mac, 6);
		len = frame_arp(t->frame, sizeof(t->frame), &l2, ARP_OP_REQUEST, me.mac, me.ip, mac_zero, me.ip);
		s->state = 1;
		s->at += sim_ms(s, 1000, 30000);
		break;
	case 1:
		s->b = arp_peer(t, s);
		if (s->b == s->a) {
			s->done = true;
			return 0;
		}
		peer = sim_host_ep(t, s->b);
		memcpy(l2.dst, sim_mac_broadcast, 6);
		memcpy(l2.src, me.mac, 6);
		len = frame_arp(t->frame, sizeof(t->frame), &l2, ARP_OP_REQUEST, me.mac, me.ip, mac_zero, peer.ip);
		s->state = 2;
		s->at += sim_us(s, 60, 900);
		break;
	default:
		peer = sim_host_ep(t, s->b);
		memcpy(l2.dst, me.mac, 6);
		memcpy(l2.src, peer.mac, 6);
		len = frame_arp(t->frame, sizeof(t->frame), &l2, ARP_OP_REPLY, peer.mac, peer.ip, me.mac, me.ip);
		sim_seen(t, s->b, PP_ARP, PR_PEER);
		s->state = 1;
		s->at += sim_ms(s, 30000, 120000);
		break;
	}
	sim_seen(t, s->a, PP_ARP, PR_PEER);
	return sim_emit(t, ts, len);
}

/* ---- LLDP and CDP ------------------------------------------------------------------------------ */

static int lldp_step(struct sim *t, struct sim_session *s)
{
	const struct plant_host *h = sim_host(t, s->a);
	char descr[192], port_descr[96];
	struct lldp_info li;
	struct wbuf b;
	uint64_t ts = s->at;
	int r;

	plant_sys_descr(h, descr, sizeof(descr));
	if (h->role == ROLE_SWITCH) {
		li = (struct lldp_info){ 4, h->mac, 6, 5, "1/1", 120, "Module: 1 Port: 1 - 1 Gbit", h->name, descr,
			LLDP_CAP_BRIDGE, h->ip, 1 };
		s->at += 30 * USEC_PER_SEC + sim_us(s, 0, 5000);
	} else {
		/* PROFINET devices: chassis id = name of station, port "port-001" (IEC 61158-6-10 LLDP profile). */
		snprintf(port_descr, sizeof(port_descr), "Siemens, %s, Ethernet Port, X1 P1", h->model->family);
		li = (struct lldp_info){ 7, h->name, strlen(h->name), 7, "port-001", 20, port_descr, NULL, descr,
			LLDP_CAP_STATION, h->ip, 1 };
		s->at += 5 * USEC_PER_SEC + sim_us(s, 0, 2000);
	}
	wbuf_init(&b, t->payload, sizeof(t->payload));
	lldp_pdu(&b, &li);
	r = sim_l2(t, ts, h->mac, mac_lldp, 0, ETHERTYPE_LLDP, &b);
	sim_seen(t, s->a, PP_LLDP, PR_PEER);
	sim_reveal(t, s->a, PP_LLDP, plant_sys_descr_facts(h) | PF_BIT(PF_HOSTNAME));
	return r;
}

static int cdp_step(struct sim *t, struct sim_session *s)
{
	const struct plant_host *h = sim_host(t, s->a);
	char descr[192], platform[48], device_id[48];
	struct cdp_info ci;
	struct wbuf b;
	uint64_t ts = s->at;
	int r;

	plant_sys_descr(h, descr, sizeof(descr));
	snprintf(platform, sizeof(platform), "cisco %s", h->model->model);
	snprintf(device_id, sizeof(device_id), "%s.plant.local", h->name);
	ci = (struct cdp_info){ device_id, h->ip, h->role == ROLE_ROUTER ? "GigabitEthernet0/0/1" : "GigabitEthernet1/1",
		h->role == ROLE_ROUTER ? 0x01u : 0x28u, descr, platform, 1 };
	wbuf_init(&b, t->payload, sizeof(t->payload));
	cdp_pdu(&b, &ci);
	/* 802.3 frame: the type field is the length of the LLC payload. */
	r = sim_l2(t, ts, h->mac, mac_cdp, 0, (uint16_t)b.len, &b);
	sim_seen(t, s->a, PP_CDP, PR_PEER);
	sim_reveal(t, s->a, PP_CDP, plant_sys_descr_facts(h) | PF_BIT(PF_MODEL) | PF_BIT(PF_HOSTNAME));
	s->at += 60 * USEC_PER_SEC + sim_us(s, 0, 3000);
	return r;
}

int l2_spawn(struct sim *t)
{
	const struct plant *p = t->plant;
	struct sim_session *s;
	int r;

	for (unsigned i = 0; i < p->n_devices; i++) {
		const struct plant_host *h = &p->hosts[i];

		r = sim_add(t, arp_step, i, 0, 0, &s);
		if (r < 0)
			return r;
		/* DHCP clients announce their address only after the lease is theirs. */
		s->at = t->start + (h->dhcp ? sim_ms(s, 2500, 4000) : sim_ms(s, 0, 5000));
		if (h->model->serves & PP_BIT(PP_LLDP)) {
			r = sim_add(t, lldp_step, i, 0, 0, &s);
			if (r < 0)
				return r;
			s->at = t->start + (h->role == ROLE_SWITCH ? sim_ms(s, 0, 30000) : sim_ms(s, 0, 5000));
		}
		if (h->model->serves & PP_BIT(PP_CDP)) {
			r = sim_add(t, cdp_step, i, 0, 0, &s);
			if (r < 0)
				return r;
			s->at = t->start + sim_ms(s, 0, 30000);
		}
	}
	return 0;
}
