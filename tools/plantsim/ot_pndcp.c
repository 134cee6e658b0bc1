/* PROFINET DCP (IEC 61158-6-10, Discovery and basic Configuration Protocol) in PN-RT frames (ethertype
 * 0x8892): the engineering workstation multicasts Identify All (frame id 0xfefe) to 01:0e:cf:00:00:00 every
 * few minutes, and every PROFINET device answers (frame id 0xfeff, within its response delay) with its
 * device vendor value, name of station, vendor and device id, role, options and IP parameters. */
#include <string.h>

#include "tools/plantsim/sim.h"

#define ETHERTYPE_PN 0x8892
#define DCP_IDENTIFY 5

static const uint8_t mac_dcp[6] = { 0x01, 0x0e, 0xcf, 0x00, 0x00, 0x00 };

/* Response block: option, suboption, length (block info + data), block info, data, pad to even. */
static void block(struct wbuf *b, uint8_t opt, uint8_t sub, uint16_t info, const void *data, size_t n)
{
	wbuf_u8(b, opt);
	wbuf_u8(b, sub);
	wbuf_u16(b, (uint16_t)(2 + n));
	wbuf_u16(b, info);
	wbuf_bytes(b, data, n);
	if (n & 1)
		wbuf_u8(b, 0);
}

static void identify_response(struct wbuf *b, const struct sim *t, unsigned i, uint32_t xid)
{
	const struct plant_host *h = sim_host(t, i);
	const struct plant *p = t->plant;
	uint8_t id[4] = { (uint8_t)(h->model->pn_vendor >> 8), (uint8_t)h->model->pn_vendor,
		(uint8_t)(h->model->pn_device >> 8), (uint8_t)h->model->pn_device };
	uint8_t role[2] = { h->model->pn_role, 0 };
	static const uint8_t options[] = { 0x01, 0x01, 0x01, 0x02, 0x02, 0x01, 0x02, 0x02, 0x02, 0x03, 0x02, 0x04,
		0x02, 0x05, 0x05, 0x02 };
	uint32_t gw = p->hosts[p->router].ip;
	uint8_t ip[12] = { (uint8_t)(h->ip >> 24), (uint8_t)(h->ip >> 16), (uint8_t)(h->ip >> 8), (uint8_t)h->ip,
		255, 255, 255, 0, (uint8_t)(gw >> 24), (uint8_t)(gw >> 16), (uint8_t)(gw >> 8), (uint8_t)gw };
	size_t len_at;

	wbuf_u16(b, 0xfeff);
	wbuf_u8(b, DCP_IDENTIFY);
	wbuf_u8(b, 1);                      /* response, success */
	wbuf_u32(b, xid);
	wbuf_u16(b, 0);                     /* reserved */
	len_at = b->len;
	wbuf_u16(b, 0);
	block(b, 0x02, 0x05, 0, options, sizeof(options));
	block(b, 0x02, 0x01, 0, h->model->family, strlen(h->model->family));
	block(b, 0x02, 0x02, 0, h->name, strlen(h->name));
	block(b, 0x02, 0x03, 0, id, sizeof(id));
	block(b, 0x02, 0x04, 0, role, sizeof(role));
	block(b, 0x01, 0x02, 0x0001, ip, sizeof(ip));   /* IP set */
	wbuf_patch16(b, len_at, (uint16_t)(b->len - len_at - 2));
}

static int dcp_step(struct sim *t, struct sim_session *s)
{
	const struct plant *p = t->plant;
	const struct plant_host *ews = sim_host(t, s->a);
	uint64_t ts = s->at;
	struct wbuf b;
	int r;

	wbuf_init(&b, t->payload, sizeof(t->payload));
	if (s->state == 0) {
		s->v[0] = (uint32_t)prng_next(&s->rng);
		s->v[1] = 0;
		wbuf_u16(&b, 0xfefe);
		wbuf_u8(&b, DCP_IDENTIFY);
		wbuf_u8(&b, 0);                 /* request */
		wbuf_u32(&b, s->v[0]);
		wbuf_u16(&b, 0x0080);           /* response delay factor */
		wbuf_u16(&b, 4);
		wbuf_u8(&b, 0xff);              /* all selector */
		wbuf_u8(&b, 0xff);
		wbuf_u16(&b, 0);
		r = sim_l2(t, ts, ews->mac, mac_dcp, ews->vlan, ETHERTYPE_PN, &b);
		sim_seen(t, s->a, PP_PN_DCP, PR_CLIENT);
	} else {
		unsigned i = s->v[1]++;
		identify_response(&b, t, i, s->v[0]);
		r = sim_l2(t, ts, p->hosts[i].mac, ews->mac, p->hosts[i].vlan, ETHERTYPE_PN, &b);
		sim_seen(t, i, PP_PN_DCP, PR_SERVER);
		sim_reveal(t, i, PP_PN_DCP, PF_BIT(PF_VENDOR) | PF_BIT(PF_HOSTNAME));  /* vendor id, name of station */
	}
	while (s->v[1] < p->n_hosts && !(p->hosts[s->v[1]].model->serves & PP_BIT(PP_PN_DCP)))
		s->v[1]++;
	if (s->v[1] < p->n_hosts) {
		s->state = 1;
		s->at += sim_us(s, 1000, 60000);
	} else {
		s->state = 0;
		s->at += sim_ms(s, 120000, 600000);
	}
	return r;
}

int pndcp_spawn(struct sim *t)
{
	unsigned ews = plant_find(t->plant, ROLE_EWS);
	struct sim_session *s;
	int r;

	if (ews >= t->plant->n_hosts)
		return 0;
	r = sim_add(t, dcp_step, ews, 0, 0, &s);
	if (r < 0)
		return r;
	s->at = t->start + sim_ms(s, 2000, 7000);
	return 0;
}
