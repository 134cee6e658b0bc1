/* EtherNet/IP in the plant:
 * - the engineering workstation broadcasts ListIdentity (UDP 44818) every few minutes; every CIP device
 *   answers with its identity (vendor, device type, product code, revision, serial, product name);
 * - it also opens a session to each CIP PLC now and then: RegisterSession, Get_Attribute_All and
 *   Get_Attribute_Single on the Identity object, UnRegisterSession;
 * - HMIs poll tags with Read Tag (and now and then Write Tag) in unconnected SendRRData messages. */
#include "tools/plantsim/ot_enip.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tools/plantsim/sim.h"

void enip_header(struct wbuf *b, uint16_t cmd, uint16_t len, uint32_t handle, uint64_t ctx)
{
	wbuf_u16le(b, cmd);
	wbuf_u16le(b, len);
	wbuf_u32le(b, handle);
	wbuf_u32le(b, 0);       /* status */
	wbuf_u32le(b, (uint32_t)ctx);
	wbuf_u32le(b, (uint32_t)(ctx >> 32));
	wbuf_u32le(b, 0);       /* options */
}

void enip_list_identity_req(struct wbuf *b, uint64_t ctx) { enip_header(b, ENIP_LIST_IDENTITY, 0, 0, ctx); }

void cip_identity_attrs(struct wbuf *c, const struct enip_identity *id)
{
	size_t n = strlen(id->product_name) > 32 ? 32 : strlen(id->product_name);

	wbuf_u16le(c, id->vendor);
	wbuf_u16le(c, id->device_type);
	wbuf_u16le(c, id->product_code);
	wbuf_u8(c, id->major);
	wbuf_u8(c, id->minor);
	wbuf_u16le(c, id->status);
	wbuf_u32le(c, id->serial);
	wbuf_u8(c, (uint8_t)n);
	wbuf_bytes(c, id->product_name, n);
}

void enip_list_identity_rsp(struct wbuf *b, uint64_t ctx, const struct enip_identity *id)
{
	uint8_t item[128];
	struct wbuf c;

	wbuf_init(&c, item, sizeof(item));
	wbuf_u16le(&c, 1);      /* encapsulation protocol version */
	wbuf_u16(&c, 2);        /* socket address, big-endian: AF_INET, port, address, zero */
	wbuf_u16(&c, 44818);
	wbuf_u32(&c, id->ip);
	wbuf_zero(&c, 8);
	cip_identity_attrs(&c, id);
	wbuf_u8(&c, 3);         /* state: operational */
	if (c.overflow) {
		b->overflow = true;
		return;
	}
	enip_header(b, ENIP_LIST_IDENTITY, (uint16_t)(2 + 4 + c.len), 0, ctx);
	wbuf_u16le(b, 1);       /* item count */
	wbuf_u16le(b, 0x000c);  /* CIP Identity item */
	wbuf_u16le(b, (uint16_t)c.len);
	wbuf_bytes(b, c.p, c.len);
}

void pl_enip_register(struct wbuf *b, bool reply, uint32_t handle, uint64_t ctx)
{
	enip_header(b, ENIP_REGISTER_SESSION, 4, reply ? handle : 0, ctx);
	wbuf_u16le(b, 1);       /* protocol version */
	wbuf_u16le(b, 0);       /* options */
}

void enip_unregister(struct wbuf *b, uint32_t handle, uint64_t ctx)
{
	enip_header(b, ENIP_UNREGISTER_SESSION, 0, handle, ctx);
}

void enip_rr(struct wbuf *b, uint32_t handle, uint64_t ctx, bool reply, const uint8_t *cip, size_t n)
{
	enip_header(b, ENIP_SEND_RR_DATA, (uint16_t)(16 + n), handle, ctx);
	wbuf_u32le(b, 0);       /* interface handle: CIP */
	wbuf_u16le(b, reply ? 0 : 10);  /* timeout */
	wbuf_u16le(b, 2);       /* items: null address, unconnected data */
	wbuf_u16le(b, 0x0000);
	wbuf_u16le(b, 0);
	wbuf_u16le(b, 0x00b2);
	wbuf_u16le(b, (uint16_t)n);
	wbuf_bytes(b, cip, n);
}

/* Logical path: 8-bit class (0x20), instance (0x24) and optionally attribute (0x30) segments. */
static void logical_path(struct wbuf *c, uint8_t cls, uint8_t inst, int attr)
{
	wbuf_u8(c, attr >= 0 ? 3 : 2);
	wbuf_u8(c, 0x20);
	wbuf_u8(c, cls);
	wbuf_u8(c, 0x24);
	wbuf_u8(c, inst);
	if (attr >= 0) {
		wbuf_u8(c, 0x30);
		wbuf_u8(c, (uint8_t)attr);
	}
}

void cip_get_attribute_all(struct wbuf *c, uint8_t cls, uint8_t inst)
{
	wbuf_u8(c, 0x01);
	logical_path(c, cls, inst, -1);
}

void cip_get_attribute_single(struct wbuf *c, uint8_t cls, uint8_t inst, uint8_t attr)
{
	wbuf_u8(c, 0x0e);
	logical_path(c, cls, inst, attr);
}

/* ANSI extended symbolic segment (0x91), padded to a whole word. */
static void symbolic_path(struct wbuf *c, const char *tag)
{
	size_t n = strlen(tag) > 200 ? 200 : strlen(tag), seg = 2 + n + (n & 1);

	wbuf_u8(c, (uint8_t)(seg / 2));
	wbuf_u8(c, 0x91);
	wbuf_u8(c, (uint8_t)n);
	wbuf_bytes(c, tag, n);
	if (n & 1)
		wbuf_u8(c, 0);
}

void cip_read_tag(struct wbuf *c, const char *tag, uint16_t elements)
{
	wbuf_u8(c, 0x4c);
	symbolic_path(c, tag);
	wbuf_u16le(c, elements);
}

void cip_write_tag(struct wbuf *c, const char *tag, uint16_t type, const void *value, size_t n)
{
	wbuf_u8(c, 0x4d);
	symbolic_path(c, tag);
	wbuf_u16le(c, type);
	wbuf_u16le(c, 1);
	wbuf_bytes(c, value, n);
}

void cip_reply(struct wbuf *c, uint8_t service, uint8_t status)
{
	wbuf_u8(c, (uint8_t)(service | 0x80));
	wbuf_u8(c, 0);
	wbuf_u8(c, status);
	wbuf_u8(c, 0);
}

/* ---- Sessions ---------------------------------------------------------------------------------- */

static struct enip_identity identity_of(const struct plant_host *h)
{
	return (struct enip_identity){ h->model->cip_vendor, h->model->cip_device_type, h->model->cip_product_code,
		h->model->cip_major, h->model->cip_minor, 0x3060, (uint32_t)strtoul(h->serial, NULL, 16),
		h->model->model, h->ip };
}

#define CIP_REAL 0x00ca
#define CIP_DINT 0x00c4

static uint32_t float_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static const char *const tags[] = { "Line1_Speed", "Tank2_Level", "Pump3_Run", "Valve4_Pos", "Batch_Count" };

/* Session scratch: handle, context high word, current CIP service, tag index. */
enum { V_HANDLE, V_CTX, V_SVC, V_TAG, V_LIMIT };

static bool enip_tcp_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b, bool ews)
{
	const struct plant_host *plc = sim_host(t, s->b);
	struct enip_identity id = identity_of(plc);
	uint64_t ctx = (uint64_t)s->v[V_CTX] << 32 | s->n / 2;
	unsigned i = s->n / 2;
	uint8_t cip[128];
	struct wbuf c;
	uint8_t le[4];
	uint32_t fb;
	float f;

	wbuf_init(&c, cip, sizeof(cip));
	if (s->n == 0) {
		s->v[V_CTX] = (uint32_t)prng_next(&s->rng);
		s->v[V_HANDLE] = (uint32_t)prng_next(&s->rng) | 1;
		s->v[V_LIMIT] = ews ? 4 : (uint32_t)prng_range(&s->rng, 200, 1500);
	}
	if (s->n % 2 == 1) {
		m->from_server = true;
		m->gap_us = sim_us(s, 400, 4000);
		if (i == 0) {
			pl_enip_register(b, true, s->v[V_HANDLE], ctx);
			return true;
		}
		cip_reply(&c, (uint8_t)s->v[V_SVC], 0);
		switch (s->v[V_SVC]) {
		case 0x01:
			cip_identity_attrs(&c, &id);
			sim_reveal(t, s->b, PP_ENIP, PF_BIT(PF_VENDOR) | PF_BIT(PF_MODEL) | PF_BIT(PF_FIRMWARE) |
				PF_BIT(PF_SERIAL));
			break;
		case 0x0e:
			if (i == 3) {
				wbuf_u32le(&c, id.serial);          /* attribute 6: serial number */
			} else {
				wbuf_u8(&c, (uint8_t)strlen(id.product_name));
				wbuf_bytes(&c, id.product_name, strlen(id.product_name));
			}
			break;
		case 0x4c:
			if (s->v[V_TAG] == 2 || s->v[V_TAG] == 4) {
				wbuf_u16le(&c, CIP_DINT);
				wbuf_u32le(&c, (uint32_t)((s->at - t->start) / USEC_PER_SEC / 7 + s->v[V_TAG]));
			} else {
				wbuf_u16le(&c, CIP_REAL);
				f = (float)(40.0 + 10.0 * s->v[V_TAG] + (double)prng_range(&s->rng, 0, 99) / 100.0);
				wbuf_u32le(&c, float_bits(f));
			}
			break;
		default:
			break;
		}
		enip_rr(b, s->v[V_HANDLE], ctx, true, c.p, c.len);
		return !c.overflow;
	}
	if (i > s->v[V_LIMIT])
		return false;
	m->gap_us = ews ? sim_ms(s, 30, 400) : sim_ms(s, 200, 1000);
	if (i == 0) {
		m->gap_us = sim_us(s, 300, 3000);
		pl_enip_register(b, false, 0, ctx);
		return true;
	}
	if (i == s->v[V_LIMIT]) {
		/* UnRegisterSession has no reply: the client closes right after it. */
		enip_unregister(b, s->v[V_HANDLE], ctx);
		s->n++;
		return true;
	}
	if (ews) {
		s->v[V_SVC] = i == 1 ? 0x01 : 0x0e;
		if (i == 1)
			cip_get_attribute_all(&c, 0x01, 1);
		else
			cip_get_attribute_single(&c, 0x01, 1, i == 3 ? 6 : 7);
	} else if (sim_chance(s, 40)) {
		s->v[V_SVC] = 0x4d;
		s->v[V_TAG] = 0;
		f = (float)prng_range(&s->rng, 30, 70);
		fb = float_bits(f);
		le[0] = (uint8_t)fb;
		le[1] = (uint8_t)(fb >> 8);
		le[2] = (uint8_t)(fb >> 16);
		le[3] = (uint8_t)(fb >> 24);
		cip_write_tag(&c, "Line1_Speed_SP", CIP_REAL, le, 4);
	} else {
		s->v[V_SVC] = 0x4c;
		s->v[V_TAG] = (uint32_t)(prng_next(&s->rng) % (sizeof(tags) / sizeof(tags[0])));
		cip_read_tag(&c, tags[s->v[V_TAG]], 1);
	}
	enip_rr(b, s->v[V_HANDLE], ctx, false, c.p, c.len);
	return !c.overflow;
}

static bool ews_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	return enip_tcp_script(t, s, m, b, true);
}

static bool hmi_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	return enip_tcp_script(t, s, m, b, false);
}

static const struct tcp_app app_ews = { PP_ENIP, 44818, false, 300000, 900000, ews_script };
static const struct tcp_app app_hmi = { PP_ENIP, 44818, false, 2000, 6000, hmi_script };

/* ListIdentity: step 0 the broadcast, step k the k-th CIP device's answer. */
static int list_identity_step(struct sim *t, struct sim_session *s)
{
	const struct plant *p = t->plant;
	struct endpoint ews = sim_host_ep(t, s->a);
	uint64_t ts = s->at;
	struct wbuf b;
	int r;

	wbuf_init(&b, t->payload, sizeof(t->payload));
	if (s->state == 0) {
		s->v[0] = (uint32_t)prng_next(&s->rng);
		s->v[1] = sim_ephemeral_port(t, s->a);
		s->v[2] = 0;
		enip_list_identity_req(&b, s->v[0]);
		r = sim_udp(t, ts, &ews, sim_mac_broadcast, plant_broadcast(p), (uint16_t)s->v[1], 44818, &b);
		sim_seen(t, s->a, PP_ENIP, PR_CLIENT);
	} else {
		unsigned j = s->v[2];
		struct endpoint dev = sim_host_ep(t, j);
		struct enip_identity id = identity_of(&p->hosts[j]);
		s->v[2]++;
		enip_list_identity_rsp(&b, s->v[0], &id);
		r = sim_udp(t, ts, &dev, ews.mac, ews.ip, 44818, (uint16_t)s->v[1], &b);
		sim_seen(t, j, PP_ENIP, PR_SERVER);
		sim_reveal(t, j, PP_ENIP, PF_BIT(PF_VENDOR) | PF_BIT(PF_MODEL) | PF_BIT(PF_FIRMWARE) | PF_BIT(PF_SERIAL));
	}
	/* Next responder, or the next broadcast. */
	while (s->v[2] < p->n_hosts && !(p->hosts[s->v[2]].model->serves & PP_BIT(PP_ENIP)))
		s->v[2]++;
	if (s->v[2] < p->n_hosts) {
		s->state = 1;
		s->at += sim_us(s, 300, 30000);
	} else {
		s->state = 0;
		s->at += sim_ms(s, 60000, 300000);
	}
	return r;
}

int enip_spawn(struct sim *t)
{
	const struct plant *p = t->plant;
	unsigned ews = plant_find(p, ROLE_EWS);
	unsigned hmis[PLANT_MAX_HOSTS], nh = 0, ns = 0;
	struct sim_session *s;
	int r;

	for (unsigned i = 0; i < p->n_hosts; i++)
		if (p->hosts[i].role == ROLE_HMI)
			hmis[nh++] = i;
	if (ews < p->n_hosts) {
		r = sim_add(t, list_identity_step, ews, 0, 0, &s);
		if (r < 0)
			return r;
		s->at = t->start + sim_ms(s, 1500, 6000);
	}
	for (unsigned j = 0; j < p->n_hosts; j++) {
		if (!(p->hosts[j].model->serves & PP_BIT(PP_ENIP)))
			continue;
		for (unsigned ci = 0; ci < nh; ci++) {
			if (nh > 1 && ci != ns % nh && ci != (ns + 1) % nh)
				continue;
			r = tcp_add(t, &app_hmi, hmis[ci], j, 0, &s);
			if (r < 0)
				return r;
			s->at = t->start + sim_ms(s, 100, 2500);
		}
		ns++;
		if (ews < p->n_hosts) {
			r = tcp_add(t, &app_ews, ews, j, 0, &s);
			if (r < 0)
				return r;
			s->at = t->start + sim_ms(s, 7000, 16000);
		}
	}
	return 0;
}
