/* Modbus/TCP sessions:
 * - every HMI polls the Modbus PLCs (each PLC by at most two HMIs): Read Device Identification once per
 *   connection, then cycles of function 3/4/1/2 reads, now and then a setpoint write (5, 6, 16), two
 *   pipelined requests in one segment, a read past the end of the register map (exception 02) or a poll of a
 *   serial slave behind the PLC that does not answer (unit 2, exception 0B);
 * - the engineering workstation now and then reads the full (extended) identification and downloads a
 *   parameter block with function 16. */
#include "tools/plantsim/ot_modbus.h"

#include <stdio.h>
#include <string.h>

#include "tools/plantsim/sim.h"

static size_t mbap(struct wbuf *b, uint16_t tid, uint8_t unit)
{
	size_t at = b->len;

	wbuf_u16(b, tid);
	wbuf_u16(b, 0);         /* protocol id */
	wbuf_u16(b, 0);         /* length, patched */
	wbuf_u8(b, unit);
	return at;
}

static void mbap_end(struct wbuf *b, size_t at) { wbuf_patch16(b, at + 4, (uint16_t)(b->len - at - 6)); }

void mb_read_req(struct wbuf *b, uint16_t tid, uint8_t unit, uint8_t fc, uint16_t addr, uint16_t qty)
{
	size_t at = mbap(b, tid, unit);

	wbuf_u8(b, fc);
	wbuf_u16(b, addr);
	wbuf_u16(b, qty);
	mbap_end(b, at);
}

void mb_read_regs_rsp(struct wbuf *b, uint16_t tid, uint8_t unit, uint8_t fc, const uint16_t *regs, uint16_t qty)
{
	size_t at = mbap(b, tid, unit);

	wbuf_u8(b, fc);
	wbuf_u8(b, (uint8_t)(2 * qty));
	for (uint16_t i = 0; i < qty; i++)
		wbuf_u16(b, regs[i]);
	mbap_end(b, at);
}

void mb_read_bits_rsp(struct wbuf *b, uint16_t tid, uint8_t unit, uint8_t fc, const uint8_t *bits, uint16_t qty)
{
	size_t at = mbap(b, tid, unit);
	uint8_t n = (uint8_t)((qty + 7) / 8);

	wbuf_u8(b, fc);
	wbuf_u8(b, n);
	for (uint8_t i = 0; i < n; i++)
		/* Unused high bits of the last byte are zero (spec section 6.1). */
		wbuf_u8(b, (uint8_t)(i + 1 == n && qty % 8 ? bits[i] & ((1u << (qty % 8)) - 1) : bits[i]));
	mbap_end(b, at);
}

void mb_write_single(struct wbuf *b, uint16_t tid, uint8_t unit, uint8_t fc, uint16_t addr, uint16_t value)
{
	mb_read_req(b, tid, unit, fc, addr, value);
}

void mb_write_regs_req(struct wbuf *b, uint16_t tid, uint8_t unit, uint16_t addr, const uint16_t *regs,
	uint16_t qty)
{
	size_t at = mbap(b, tid, unit);

	wbuf_u8(b, 16);
	wbuf_u16(b, addr);
	wbuf_u16(b, qty);
	wbuf_u8(b, (uint8_t)(2 * qty));
	for (uint16_t i = 0; i < qty; i++)
		wbuf_u16(b, regs[i]);
	mbap_end(b, at);
}

void mb_write_regs_rsp(struct wbuf *b, uint16_t tid, uint8_t unit, uint16_t addr, uint16_t qty)
{
	mb_read_req(b, tid, unit, 16, addr, qty);
}

void mb_devid_req(struct wbuf *b, uint16_t tid, uint8_t unit, uint8_t code, uint8_t object)
{
	size_t at = mbap(b, tid, unit);

	wbuf_u8(b, 43);
	wbuf_u8(b, 14);
	wbuf_u8(b, code);
	wbuf_u8(b, object);
	mbap_end(b, at);
}

void mb_devid_rsp(struct wbuf *b, uint16_t tid, uint8_t unit, uint8_t code, uint8_t conformity,
	uint8_t first_id, const char *const *objects, uint8_t n)
{
	size_t at = mbap(b, tid, unit);

	wbuf_u8(b, 43);
	wbuf_u8(b, 14);
	wbuf_u8(b, code);
	wbuf_u8(b, conformity);
	wbuf_u8(b, 0);          /* more follows: no */
	wbuf_u8(b, 0);          /* next object id */
	wbuf_u8(b, n);
	for (uint8_t i = 0; i < n; i++) {
		size_t len = strlen(objects[i]);
		if (len > 200)
			len = 200;
		wbuf_u8(b, (uint8_t)(first_id + i));
		wbuf_u8(b, (uint8_t)len);
		wbuf_bytes(b, objects[i], len);
	}
	mbap_end(b, at);
}

void mb_exception(struct wbuf *b, uint16_t tid, uint8_t unit, uint8_t fc, uint8_t code)
{
	size_t at = mbap(b, tid, unit);

	wbuf_u8(b, (uint8_t)(fc | 0x80));
	wbuf_u8(b, code);
	mbap_end(b, at);
}

void pl_modbus_read_req(struct wbuf *b, uint16_t tid, uint8_t unit, uint16_t addr, uint16_t qty)
{
	mb_read_req(b, tid, unit, 3, addr, qty);
}

void pl_modbus_read_rsp(struct wbuf *b, uint16_t tid, uint8_t unit, const uint16_t *regs, uint16_t qty)
{
	mb_read_regs_rsp(b, tid, unit, 3, regs, qty);
}

/* ---- Sessions --------------------------------------------------------------------------------- */

/* One request and what its response must say. */
enum mb_kind { MB_READ, MB_WRITE1, MB_WRITE16, MB_DEVID, MB_EXC };

struct mb_req {
	uint8_t kind, unit, fc, exc;
	uint16_t tid, addr, qty;
};

/* Pack/unpack a request in s->v[k], s->v[k+1]. */
static void req_save(struct sim_session *s, unsigned k, const struct mb_req *q)
{
	s->v[k] = (uint32_t)q->kind | (uint32_t)q->unit << 8 | (uint32_t)q->fc << 16 | (uint32_t)q->exc << 24;
	s->v[k + 1] = (uint32_t)q->tid << 16 | q->addr;
	s->v[k + 2] = q->qty;
}

static struct mb_req req_load(const struct sim_session *s, unsigned k)
{
	return (struct mb_req){ (uint8_t)s->v[k], (uint8_t)(s->v[k] >> 8), (uint8_t)(s->v[k] >> 16),
		(uint8_t)(s->v[k] >> 24), (uint16_t)(s->v[k + 1] >> 16), (uint16_t)s->v[k + 1], (uint16_t)s->v[k + 2] };
}

static const char *const *devid_objects(const struct plant_host *h, const char *app_name)
{
	static const char *o[7];

	o[0] = h->model->vendor;
	o[1] = h->model->order_number ? h->model->order_number : h->model->model;
	o[2] = h->model->firmware;
	o[3] = "www.se.com";
	o[4] = h->model->family;
	o[5] = h->model->model;
	o[6] = app_name;
	return o;
}

static void write_req(struct sim *t, struct sim_session *s, const struct mb_req *q, struct wbuf *b)
{
	uint16_t regs[16];

	switch (q->kind) {
	case MB_DEVID:
		mb_devid_req(b, q->tid, q->unit, q->exc, 0);
		break;
	case MB_WRITE1:
		mb_write_single(b, q->tid, q->unit, q->fc, q->addr, q->fc == 5 ? 0xff00 : (uint16_t)(500 + s->n % 300));
		break;
	case MB_WRITE16:
		for (uint16_t i = 0; i < q->qty; i++)
			regs[i] = (uint16_t)prng_range(&s->rng, 0, 4000);
		mb_write_regs_req(b, q->tid, q->unit, q->addr, regs, q->qty);
		break;
	default:
		mb_read_req(b, q->tid, q->unit, q->fc, q->addr, q->qty);
		break;
	}
}

static void write_rsp(struct sim *t, struct sim_session *s, const struct mb_req *q, struct wbuf *b)
{
	const struct plant_host *plc = sim_host(t, s->b);
	uint64_t now_s = (s->at - t->start) / USEC_PER_SEC;
	uint16_t regs[125];
	uint8_t bits[16];
	char app[32];

	switch (q->kind) {
	case MB_DEVID:
		snprintf(app, sizeof(app), "%s_APP", plc->name);
		mb_devid_rsp(b, q->tid, q->unit, q->exc, q->exc == 3 ? 0x83 : 0x82, 0, devid_objects(plc, app),
			q->exc == 1 ? 3 : q->exc == 2 ? 6 : 7);
		/* Basic: vendor, product code (the order number), revision; regular adds the model name. */
		sim_reveal(t, s->b, PP_MBTCP, PF_BIT(PF_VENDOR) | PF_BIT(PF_ORDER_NUMBER) | PF_BIT(PF_FIRMWARE) |
			(q->exc > 1 ? PF_BIT(PF_MODEL) : 0));
		break;
	case MB_EXC:
		mb_exception(b, q->tid, q->unit, q->fc, q->exc);
		break;
	case MB_WRITE1:
		mb_write_single(b, q->tid, q->unit, q->fc, q->addr, q->fc == 5 ? 0xff00 : (uint16_t)(500 + (s->n - 1) % 300));
		break;
	case MB_WRITE16:
		mb_write_regs_rsp(b, q->tid, q->unit, q->addr, q->qty);
		break;
	default:
		if (q->fc == 1 || q->fc == 2) {
			for (size_t i = 0; i < sizeof(bits); i++)
				bits[i] = (uint8_t)(0x5a ^ (now_s / 7 + i) ^ (prng_next(&s->rng) & 0x11));
			mb_read_bits_rsp(b, q->tid, q->unit, q->fc, bits, q->qty);
		} else {
			/* Process values: a slow per-register level with a little noise. */
			for (uint16_t i = 0; i < q->qty; i++)
				regs[i] = (uint16_t)(200 + 37 * i + q->addr / 4 + (now_s / 16) % 50 + prng_range(&s->rng, 0, 3));
			mb_read_regs_rsp(b, q->tid, q->unit, q->fc, regs, q->qty);
		}
		break;
	}
}

/* The HMI's next poll. */
static struct mb_req hmi_next(struct sim_session *s)
{
	static const uint16_t hold_base[] = { 0, 100, 400, 1000 };
	struct mb_req q = { .kind = MB_READ, .unit = 1, .tid = (uint16_t)++s->v[7] };
	unsigned step = s->v[6]++ % 4;

	if (sim_chance(s, 40)) {
		q.kind = MB_WRITE1;
		q.fc = sim_chance(s, 2) ? 5 : 6;
		q.addr = (uint16_t)(q.fc == 5 ? prng_range(&s->rng, 0, 15) : 1000 + prng_range(&s->rng, 0, 20));
		return q;
	}
	if (sim_chance(s, 80)) {
		q.kind = MB_WRITE16;
		q.addr = 1100;
		q.qty = (uint16_t)prng_range(&s->rng, 2, 10);
		return q;
	}
	q.fc = (uint8_t)(step == 0 ? 3 : step == 1 ? 4 : step == 2 ? 1 : 2);
	q.addr = q.fc == 3 ? hold_base[prng_next(&s->rng) % 4] : q.fc == 4 ? 0 : 0;
	q.qty = (uint16_t)(q.fc <= 2 ? prng_range(&s->rng, 8, 64) : prng_range(&s->rng, 4, 32));
	if (sim_chance(s, 60)) {
		q.kind = MB_EXC;            /* past the end of the register map */
		q.fc = 3;
		q.addr = 9000;
		q.exc = MB_EXC_ILLEGAL_ADDRESS;
	} else if (sim_chance(s, 120)) {
		q.kind = MB_EXC;            /* serial slave 2 behind the PLC's gateway does not answer */
		q.unit = 2;
		q.exc = MB_EXC_GATEWAY_TARGET;
	}
	return q;
}

static bool hmi_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	struct mb_req q;
	bool pipelined;

	if (s->n == 0)
		s->v[5] = (uint32_t)prng_range(&s->rng, 200, 2000);  /* exchanges before the HMI reconnects */
	if (s->n % 2 == 1) {
		/* The response (or both responses of a pipelined pair, in one segment). */
		q = req_load(s, 0);
		write_rsp(t, s, &q, b);
		if (s->phase) {
			q = req_load(s, 3);
			write_rsp(t, s, &q, b);
		}
		m->from_server = true;
		m->gap_us = sim_us(s, 800, 6000);
		return true;
	}
	if (s->n / 2 >= s->v[5])
		return false;
	if (s->n == 0) {
		q = (struct mb_req){ .kind = MB_DEVID, .unit = 0xff, .fc = 43, .exc = 1, .tid = (uint16_t)++s->v[7] };
		if (sim_chance(s, 2))
			q.exc = 2;
	} else {
		q = hmi_next(s);
	}
	req_save(s, 0, &q);
	write_req(t, s, &q, b);
	pipelined = s->n > 0 && q.kind == MB_READ && sim_chance(s, 12);
	s->phase = pipelined;
	if (pipelined) {
		q = hmi_next(s);
		if (q.kind != MB_READ)
			q = (struct mb_req){ .kind = MB_READ, .unit = 1, .fc = 4, .tid = q.tid, .addr = 0, .qty = 8 };
		req_save(s, 3, &q);
		write_req(t, s, &q, b);
	}
	m->gap_us = s->n == 0 ? sim_ms(s, 2, 30) : sim_ms(s, 100, 600);
	return true;
}

/* Engineering: extended identification, a read-back of the parameter area, a parameter download. */
static bool ews_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	static const uint8_t plan[][4] = {  /* kind, fc, code, qty */
		{ MB_DEVID, 43, 3, 0 }, { MB_READ, 3, 0, 100 }, { MB_WRITE16, 16, 0, 12 }, { MB_READ, 3, 0, 12 },
	};
	unsigned i = s->n / 2;
	struct mb_req q;

	if (s->n % 2 == 1) {
		q = req_load(s, 0);
		write_rsp(t, s, &q, b);
		m->from_server = true;
		m->gap_us = sim_us(s, 1500, 9000);
		return true;
	}
	if (i >= sizeof(plan) / sizeof(plan[0]))
		return false;
	q = (struct mb_req){ .kind = plan[i][0], .unit = plan[i][0] == MB_DEVID ? 0xff : 1, .fc = plan[i][1],
		.exc = plan[i][2], .tid = (uint16_t)(i + 1), .addr = i == 1 ? 2000 : 1100, .qty = plan[i][3] };
	req_save(s, 0, &q);
	write_req(t, s, &q, b);
	m->gap_us = i == 0 ? sim_ms(s, 5, 40) : sim_ms(s, 300, 2500);
	return true;
}

static const struct tcp_app app_hmi = { PP_MBTCP, 502, false, 3000, 8000, hmi_script };
static const struct tcp_app app_ews = { PP_MBTCP, 502, false, 300000, 1200000, ews_script };

int modbus_spawn(struct sim *t)
{
	const struct plant *p = t->plant;
	unsigned hmis[PLANT_MAX_HOSTS], nh = 0, ns = 0;
	unsigned ews = plant_find(p, ROLE_EWS);
	struct sim_session *s;
	int r;

	for (unsigned i = 0; i < p->n_hosts; i++)
		if (p->hosts[i].role == ROLE_HMI)
			hmis[nh++] = i;
	for (unsigned j = 0; j < p->n_hosts; j++) {
		if (!(p->hosts[j].model->serves & PP_BIT(PP_MBTCP)))
			continue;
		for (unsigned ci = 0; ci < nh; ci++) {
			if (nh > 1 && ci != ns % nh && ci != (ns + 1) % nh)
				continue;
			r = tcp_add(t, &app_hmi, hmis[ci], j, 0, &s);
			if (r < 0)
				return r;
			s->at = t->start + sim_ms(s, 50, 2000);
		}
		ns++;
		if (ews < p->n_hosts) {
			r = tcp_add(t, &app_ews, ews, j, 0, &s);
			if (r < 0)
				return r;
			s->at = t->start + sim_ms(s, 8000, 25000);
		}
	}
	return 0;
}
