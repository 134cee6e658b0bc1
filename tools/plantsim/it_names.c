/* Naming sessions: laptops get their lease over DHCP (hostname option 12, vendor class option 60) and
 * resolve names with the site DNS server, as does the file server; laptops and Linux HMIs announce
 * themselves over mDNS; Windows hosts register their NetBIOS names by broadcast at start. */
#include "tools/plantsim/it_names.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "tools/plantsim/sim.h"

void dns_name(struct wbuf *b, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);
		if (n > 63)
			n = 63;
		wbuf_u8(b, (uint8_t)n);
		wbuf_bytes(b, name, n);
		name += n;
		if (*name == '.')
			name++;
	}
	wbuf_u8(b, 0);
}

static void dns_header(struct wbuf *b, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an)
{
	wbuf_u16(b, id);
	wbuf_u16(b, flags);
	wbuf_u16(b, qd);
	wbuf_u16(b, an);
	wbuf_u16(b, 0);
	wbuf_u16(b, 0);
}

void pl_dns_query(struct wbuf *b, uint16_t id, const char *name)
{
	dns_header(b, id, 0x0100, 1, 0);   /* RD */
	dns_name(b, name);
	wbuf_u16(b, 1);
	wbuf_u16(b, 1);
}

void pl_dns_answer(struct wbuf *b, uint16_t id, const char *name, uint32_t ip)
{
	dns_header(b, id, 0x8180, 1, 1);   /* QR RD RA, NOERROR */
	dns_name(b, name);
	wbuf_u16(b, 1);
	wbuf_u16(b, 1);
	wbuf_u16(b, 0xc00c);    /* pointer to the question name */
	wbuf_u16(b, 1);
	wbuf_u16(b, 1);
	wbuf_u32(b, 300);
	wbuf_u16(b, 4);
	wbuf_u32(b, ip);
}

void mdns_announce(struct wbuf *b, const char *host, uint32_t ip)
{
	char name[64];

	snprintf(name, sizeof(name), "%s.local", host);
	dns_header(b, 0, 0x8400, 0, 1);    /* response, authoritative */
	dns_name(b, name);
	wbuf_u16(b, 1);
	wbuf_u16(b, 0x8001);    /* IN, cache flush */
	wbuf_u32(b, 120);
	wbuf_u16(b, 4);
	wbuf_u32(b, ip);
}

void mdns_query(struct wbuf *b, const char *name)
{
	dns_header(b, 0, 0x0000, 1, 0);
	dns_name(b, name);
	wbuf_u16(b, 12);        /* PTR */
	wbuf_u16(b, 1);
}

static void dhcp_opt_str(struct wbuf *b, uint8_t code, const char *s)
{
	size_t n = strlen(s) > 255 ? 255 : strlen(s);
	wbuf_u8(b, code);
	wbuf_u8(b, (uint8_t)n);
	wbuf_bytes(b, s, n);
}

static void dhcp_opt_u32(struct wbuf *b, uint8_t code, uint32_t v)
{
	wbuf_u8(b, code);
	wbuf_u8(b, 4);
	wbuf_u32(b, v);
}

void pl_dhcp(struct wbuf *b, const struct pl_dhcp *m)
{
	static const uint8_t prl[] = { 1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252 };
	bool client = m->type == DHCP_DISCOVER || m->type == DHCP_REQUEST;
	size_t start = b->len;

	wbuf_u8(b, client ? 1 : 2);
	wbuf_u8(b, 1);
	wbuf_u8(b, 6);
	wbuf_u8(b, 0);
	wbuf_u32(b, m->xid);
	wbuf_u16(b, m->secs);
	wbuf_u16(b, 0);
	wbuf_u32(b, 0);                 /* ciaddr */
	wbuf_u32(b, client ? 0 : m->yiaddr);
	wbuf_u32(b, 0);                 /* siaddr */
	wbuf_u32(b, 0);                 /* giaddr */
	wbuf_bytes(b, m->chaddr, 6);
	wbuf_zero(b, 10 + 64 + 128);    /* chaddr padding, sname, file */
	wbuf_u32(b, 0x63825363);        /* magic cookie (RFC 2131 section 3) */
	wbuf_u8(b, 53);
	wbuf_u8(b, 1);
	wbuf_u8(b, m->type);
	if (client) {
		wbuf_u8(b, 61);
		wbuf_u8(b, 7);
		wbuf_u8(b, 1);
		wbuf_bytes(b, m->chaddr, 6);
		if (m->type == DHCP_REQUEST) {
			dhcp_opt_u32(b, 50, m->yiaddr);
			dhcp_opt_u32(b, 54, m->server);
		}
		dhcp_opt_str(b, 12, m->hostname);
		dhcp_opt_str(b, 60, m->vendor_class);
		wbuf_u8(b, 55);
		wbuf_u8(b, sizeof(prl));
		wbuf_bytes(b, prl, sizeof(prl));
	} else {
		dhcp_opt_u32(b, 54, m->server);
		dhcp_opt_u32(b, 51, 86400);
		dhcp_opt_u32(b, 58, 43200);
		dhcp_opt_u32(b, 59, 75600);
		dhcp_opt_u32(b, 1, m->mask);
		dhcp_opt_u32(b, 3, m->router);
		dhcp_opt_u32(b, 6, m->server);
		dhcp_opt_str(b, 15, m->domain);
	}
	wbuf_u8(b, 255);
	if (b->len - start < 300)
		wbuf_zero(b, 300 - (b->len - start));
}

void nbns_name(struct wbuf *b, const char *name, uint8_t suffix)
{
	char padded[16];

	memset(padded, ' ', 15);
	for (size_t i = 0; i < 15 && name[i]; i++)
		padded[i] = (char)toupper((unsigned char)name[i]);
	padded[15] = (char)suffix;
	wbuf_u8(b, 32);
	for (int i = 0; i < 16; i++) {
		wbuf_u8(b, (uint8_t)('A' + ((uint8_t)padded[i] >> 4)));
		wbuf_u8(b, (uint8_t)('A' + ((uint8_t)padded[i] & 15)));
	}
	wbuf_u8(b, 0);
}

void nbns_register(struct wbuf *b, uint16_t id, const char *name, uint8_t suffix, bool group, uint32_t ip)
{
	wbuf_u16(b, id);
	wbuf_u16(b, 0x2910);    /* opcode 5 registration, RD, broadcast */
	wbuf_u16(b, 1);
	wbuf_u16(b, 0);
	wbuf_u16(b, 0);
	wbuf_u16(b, 1);
	nbns_name(b, name, suffix);
	wbuf_u16(b, 0x0020);    /* NB */
	wbuf_u16(b, 1);
	wbuf_u16(b, 0xc00c);    /* the question's name */
	wbuf_u16(b, 0x0020);
	wbuf_u16(b, 1);
	wbuf_u32(b, 300000);
	wbuf_u16(b, 6);
	wbuf_u16(b, group ? 0x8000 : 0x0000);   /* B-node, unique or group */
	wbuf_u32(b, ip);
}

/* ---- Sessions ---------------------------------------------------------------------------------- */

/* The packet time of a step is s->at on entry; steps that advance s->at first emit at the old value. */
static int dhcp_step(struct sim *t, struct sim_session *s)
{
	const struct plant *p = t->plant;
	const struct plant_host *h = &p->hosts[s->a];
	struct endpoint client = sim_host_ep(t, s->a), server = sim_host_ep(t, p->dns);
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
		r = sim_udp(t, ts, &client, sim_mac_broadcast, 0xffffffffu, 68, 67, &b);
		sim_seen(t, s->a, PP_DHCP, PR_CLIENT);
		sim_reveal(t, s->a, PP_DHCP, PF_BIT(PF_HOSTNAME));
		s->at += m.type == DHCP_DISCOVER ? sim_ms(s, 1, 4) : sim_us(s, 300, 2000);
	} else {
		r = sim_udp(t, ts, &server, h->mac, h->ip, 67, 68, &b);
		sim_seen(t, p->dns, PP_DHCP, PR_SERVER);
		s->at += sim_ms(s, 5, 30);
	}
	if (++s->state == 4)
		s->done = true;
	return r;
}

/* DNS client: A lookups for the off-site services and local hosts. */
static int dns_step(struct sim *t, struct sim_session *s)
{
	const struct plant *p = t->plant;
	struct endpoint client = sim_host_ep(t, s->a), server = sim_host_ep(t, p->dns);
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
		r = sim_udp(t, ts, &client, server.mac, server.ip, (uint16_t)s->v[2], 53, &b);
		sim_seen(t, s->a, PP_DNS, PR_CLIENT);
		s->state = 1;
		s->at += sim_us(s, 300, 4000);
		return r;
	}
	pl_dns_answer(&b, (uint16_t)s->v[0], name, ip);
	r = sim_udp(t, ts, &server, client.mac, client.ip, 53, (uint16_t)s->v[2], &b);
	sim_seen(t, p->dns, PP_DNS, PR_SERVER);
	s->state = 0;
	s->v[0] = (uint32_t)prng_next(&s->rng);
	s->v[1] = (unsigned)(prng_next(&s->rng) % (PLANT_OFFSITE_COUNT + p->n_hosts));
	s->v[2] = (uint32_t)prng_range(&s->rng, 49152, 65535);
	s->at += sim_ms(s, 2000, 20000);
	return r;
}

static const uint8_t mac_mdns[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
#define MDNS_GROUP 0xe00000fbu

/* mDNS: an announcement, now and then a browse query; repeated every couple of minutes. */
static int mdns_step(struct sim *t, struct sim_session *s)
{
	const struct plant_host *h = sim_host(t, s->a);
	struct endpoint me = sim_host_ep(t, s->a);
	uint64_t ts = s->at;
	struct wbuf b;
	int r;

	me.ttl = 255;           /* RFC 6762 section 11 */
	wbuf_init(&b, t->payload, sizeof(t->payload));
	/* The announcement is a response (the host answers for its name), the browse a query. */
	if (s->state == 0) {
		mdns_announce(&b, h->name, h->ip);
		sim_seen(t, s->a, PP_MDNS, PR_SERVER);
		sim_reveal(t, s->a, PP_MDNS, PF_BIT(PF_HOSTNAME));
	} else {
		mdns_query(&b, h->role == ROLE_LAPTOP ? "_googlecast._tcp.local" : "_http._tcp.local");
		sim_seen(t, s->a, PP_MDNS, PR_CLIENT);
	}
	r = sim_udp(t, ts, &me, mac_mdns, MDNS_GROUP, 5353, 5353, &b);
	s->state ^= 1;
	s->at += s->state ? sim_ms(s, 200, 3000) : sim_ms(s, 60000, 180000);
	return r;
}

/* NetBIOS: the host's unique names <00> (workstation) and <20> (server) and the workgroup <00>, each
 * registered by broadcast once, then refreshed much later. */
static int nbns_step(struct sim *t, struct sim_session *s)
{
	static const struct { uint8_t suffix; bool group; } names[] = { { 0x00, false }, { 0x00, true },
		{ 0x20, false } };
	const struct plant_host *h = sim_host(t, s->a);
	struct endpoint me = sim_host_ep(t, s->a);
	uint64_t ts = s->at;
	struct wbuf b;
	int r;

	wbuf_init(&b, t->payload, sizeof(t->payload));
	nbns_register(&b, (uint16_t)(s->v[0] + s->state), names[s->state].group ? "PLANT" : h->name,
		names[s->state].suffix, names[s->state].group, h->ip);
	r = sim_udp(t, ts, &me, sim_mac_broadcast, plant_broadcast(t->plant), 137, 137, &b);
	sim_seen(t, s->a, PP_NBNS, PR_CLIENT);      /* a registration request */
	if (!names[s->state].group)
		sim_reveal(t, s->a, PP_NBNS, PF_BIT(PF_HOSTNAME));
	if (++s->state < 3) {
		s->at += sim_ms(s, 5, 800);
	} else {
		s->state = 0;
		s->v[0] = (uint32_t)prng_next(&s->rng);
		s->at += sim_ms(s, 600000, 1200000);
	}
	return r;
}

static bool windows_host(const struct plant_host *h)
{
	return h->model->os && strncmp(h->model->os, "Windows", 7) == 0;
}

int names_spawn(struct sim *t)
{
	const struct plant *p = t->plant;
	struct sim_session *s;
	int r;

	for (unsigned i = 0; i < p->n_hosts; i++) {
		const struct plant_host *h = &p->hosts[i];

		if (h->dhcp) {
			r = sim_add(t, dhcp_step, i, p->dns, 0, &s);
			if (r < 0)
				return r;
			s->at = t->start + sim_ms(s, 100, 1500);
		}
		if (h->role == ROLE_LAPTOP || h->role == ROLE_FILESERVER) {
			r = sim_add(t, dns_step, i, p->dns, 0, &s);
			if (r < 0)
				return r;
			s->at = t->start + sim_ms(s, 2500, 6000);
			s->v[0] = (uint32_t)prng_next(&s->rng);
			s->v[1] = (unsigned)(prng_next(&s->rng) % PLANT_OFFSITE_COUNT);
			s->v[2] = (uint32_t)prng_range(&s->rng, 49152, 65535);
		}
		if (h->role == ROLE_LAPTOP || (h->role == ROLE_HMI && h->vendor == VENDOR_ADVANTECH)) {
			r = sim_add(t, mdns_step, i, 0, 0, &s);
			if (r < 0)
				return r;
			s->at = t->start + (h->dhcp ? sim_ms(s, 4000, 9000) : sim_ms(s, 500, 8000));
		}
		if (windows_host(h)) {
			r = sim_add(t, nbns_step, i, 0, 0, &s);
			if (r < 0)
				return r;
			s->at = t->start + (h->dhcp ? sim_ms(s, 4500, 9000) : sim_ms(s, 300, 6000));
			s->v[0] = (uint32_t)prng_next(&s->rng);
		}
	}
	return 0;
}
