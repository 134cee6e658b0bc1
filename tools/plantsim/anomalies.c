/* --anomalies: a rogue laptop (the first laptop, else the engineering workstation) misbehaves once, between
 * about 20 and 45 s into the capture (earlier in short captures):
 * - a TCP SYN scan of the OT hosts on the usual IT and OT ports (RST from closed ports, SYN-ACK and the
 *   scanner's RST on open ones);
 * - Modbus: an undefined function code (exception 01), a truncated read request (exception 03) and an
 *   unauthorised setpoint write;
 * - S7comm: an unauthorised PLC stop, then a PDU whose parameter length overruns it;
 * - DNP3: a frame with a corrupt header CRC, then a request with an undefined function code (IIN2 "function
 *   code not supported");
 * - IEC 104: an ASDU with an undefined type id (negative confirmation, cause 44), then an APDU whose length
 *   field is too short for an APCI;
 * - BACnet: a truncated ReadProperty (Reject-PDU, missing required parameter);
 * - EtherNet/IP: a ListIdentity over TCP, then an undefined encapsulation command (status 0x0001).
 * Every anomaly is recorded for the ground truth. */
#include <stdlib.h>
#include <string.h>

#include "tools/plantsim/ot_bacnet.h"
#include "tools/plantsim/ot_dnp3.h"
#include "tools/plantsim/ot_enip.h"
#include "tools/plantsim/ot_iec104.h"
#include "tools/plantsim/ot_modbus.h"
#include "tools/plantsim/ot_s7.h"
#include "tools/plantsim/sim.h"

/* ---- Port scan --------------------------------------------------------------------------------- */

static const uint16_t scan_ports[] = { 21, 22, 23, 80, 102, 443, 502, 1911, 2404, 3389, 4840, 5900, 8080, 20000,
	44818 };

/* One probe per target and port: state 0 SYN, 1 answer (SYN-ACK or RST-ACK), 2 the scanner's RST. */
static int scan_step(struct sim *t, struct sim_session *s)
{
	const struct plant *p = t->plant;
	unsigned target = s->v[0], port_i = s->v[1];
	struct endpoint me = sim_host_ep(t, s->a), peer = sim_host_ep(t, target);
	uint16_t port = scan_ports[port_i];
	bool open = plant_port_open(&p->hosts[target], port);
	struct frame_l2 l2 = { .vlan = me.vlan };
	struct frame_tcp tcp = { 0 };
	struct frame_ip ip;
	const struct endpoint *from = s->state == 1 ? &peer : &me, *to = s->state == 1 ? &me : &peer;
	uint64_t ts = s->at;
	int r;

	memcpy(l2.src, from->mac, 6);
	memcpy(l2.dst, to->mac, 6);
	ip = (struct frame_ip){ from->ip, to->ip, (*from->ip_id)++, from->ttl };
	tcp.sport = s->state == 1 ? port : (uint16_t)s->v[2];
	tcp.dport = s->state == 1 ? (uint16_t)s->v[2] : port;
	if (s->state == 0) {
		s->v[3] = (uint32_t)prng_next(&s->rng);
		tcp.seq = s->v[3];
		tcp.flags = TCP_SYN;
		tcp.window = 1024;
		tcp.mss = 1460;
		if (port_i == 0 && target == s->b)
			sim_anomaly(t, ts, "port_scan", PP__COUNT, s->a, target);
	} else if (s->state == 1) {
		tcp.seq = open ? (uint32_t)prng_next(&s->rng) : 0;
		tcp.ack = s->v[3] + 1;
		tcp.flags = open ? (TCP_SYN | TCP_ACK) : (TCP_RST | TCP_ACK);
		tcp.window = open ? peer.window : 0;
		tcp.mss = open ? 1460 : 0;
	} else {
		tcp.seq = s->v[3] + 1;
		tcp.flags = TCP_RST;
	}
	r = sim_emit(t, ts, frame_tcp(t->frame, sizeof(t->frame), &l2, &ip, &tcp, NULL, 0));
	if (s->state == 0 || (s->state == 1 && open)) {
		s->state++;
		s->at += s->state == 1 ? sim_us(s, 60, 400) : sim_us(s, 10, 80);
		return r;
	}
	/* Next probe: the next port, then the next OT host. */
	s->state = 0;
	s->v[2] = s->v[2] >= 65535 ? 40000 : s->v[2] + 1;
	s->at += sim_us(s, 500, 3000);
	if (++s->v[1] < sizeof(scan_ports) / sizeof(scan_ports[0]))
		return r;
	s->v[1] = 0;
	do
		s->v[0]++;
	while (s->v[0] < p->n_hosts && p->hosts[s->v[0]].vlan != PLANT_OT_VLAN);
	if (s->v[0] >= p->n_hosts)
		s->done = true;
	return r;
}

/* ---- Protocol violations ---------------------------------------------------------------------- */

static bool modbus_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	bool reply = s->n % 2 == 1;
	unsigned i = s->n / 2;

	m->from_server = reply;
	m->gap_us = reply ? sim_us(s, 500, 3000) : sim_ms(s, 200, 900);
	m->last = true;
	switch (i) {
	case 0:
		if (!reply) {
			/* Function 9 is not defined by the Modbus application protocol. */
			static const uint8_t req[] = { 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x09, 0x00, 0x00, 0x00, 0x01 };
			wbuf_bytes(b, req, sizeof(req));
			sim_anomaly(t, s->at + m->gap_us, "illegal_function", PP_MBTCP, s->a, s->b);
		} else {
			mb_exception(b, 1, 1, 0x09, MB_EXC_ILLEGAL_FUNCTION);
		}
		return true;
	case 1:
		if (!reply) {
			/* Read holding registers without its quantity: the PDU is two bytes short. */
			static const uint8_t req[] = { 0x00, 0x02, 0x00, 0x00, 0x00, 0x04, 0x01, 0x03, 0x00, 0x00 };
			wbuf_bytes(b, req, sizeof(req));
			sim_anomaly(t, s->at + m->gap_us, "bad_length", PP_MBTCP, s->a, s->b);
		} else {
			mb_exception(b, 2, 1, 0x03, 0x03);
		}
		return true;
	case 2:
		if (!reply)
			sim_anomaly(t, s->at + m->gap_us, "unauthorized_write", PP_MBTCP, s->a, s->b);
		mb_write_single(b, 3, 1, 6, 1000, 0x7fff);
		return true;
	default:
		return false;
	}
}

static bool s7_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	static const uint8_t tsap_src[2] = { 0x01, 0x00 };
	const struct plant_host *plc = sim_host(t, s->b);
	uint8_t tsap_dst[2] = { 0x01, plc->model->slot };
	bool reply = s->n % 2 == 1;
	unsigned i = s->n / 2;
	struct s7_pdu pdu;

	m->from_server = reply;
	m->gap_us = reply ? sim_us(s, 800, 5000) : sim_ms(s, 50, 600);
	m->last = true;
	switch (i) {
	case 0:
		s7_cotp_connect(b, reply, reply ? 0x0002 : 0, reply ? 0x4402 : 0x0002, tsap_src, 2, tsap_dst, 2);
		return true;
	case 1:
		pl_s7_setup(b, reply, 1, 240);
		return true;
	case 2:
		if (reply) {
			s7_ack_fn(b, 2, 0x29);
		} else {
			s7_plc_stop(b, 2);
			sim_anomaly(t, s->at + m->gap_us, "unauthorized_plc_stop", PP_S7COMM, s->a, s->b);
		}
		return true;
	case 3:
		if (reply)
			return false;
		/* Parameter length 40, but only two parameter bytes follow. */
		s7_begin(b, &pdu, S7_ROSCTR_JOB, 3);
		wbuf_u8(b, 0x04);
		wbuf_u8(b, 1);
		s7_end(b, &pdu);
		wbuf_patch16(b, pdu.hdr + 6, 40);
		sim_anomaly(t, s->at + m->gap_us, "bad_length", PP_S7COMM, s->a, s->b);
		s->n++;
		return true;
	default:
		return false;
	}
}

static bool dnp3_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	const struct plant_host *rtu = sim_host(t, s->b);
	uint16_t addr = (uint16_t)rtu->address;
	uint8_t tseq = (uint8_t)s->n;
	size_t at;

	m->from_server = s->n == 2;
	m->gap_us = s->n == 2 ? sim_ms(s, 5, 30) : sim_ms(s, 100, 900);
	m->last = true;
	switch (s->n) {
	case 0:
		/* A link frame whose header CRC is wrong. */
		at = b->len;
		dnp3_link_frame(b, DNP3_CTRL_DIR | DNP3_CTRL_PRM | DNP3_LINK_REQUEST_STATUS, addr, 3, NULL, 0);
		if (!b->overflow)
			b->p[at + 8] ^= 0x5a;
		sim_anomaly(t, s->at + m->gap_us, "bad_crc", PP_DNP3, s->a, s->b);
		return true;
	case 1: {
		const uint8_t apdu[] = { DNP3_AC_FIR | DNP3_AC_FIN | 1, 0x70 };    /* undefined function */
		dnp3_frames(b, true, addr, 3, &tseq, apdu, sizeof(apdu));
		sim_anomaly(t, s->at + m->gap_us, "illegal_function", PP_DNP3, s->a, s->b);
		return true;
	}
	case 2: {
		const uint8_t apdu[] = { DNP3_AC_FIR | DNP3_AC_FIN | 1, DNP3_RESPONSE, 0x00, 0x01 };  /* IIN2.0 */
		dnp3_frames(b, false, 3, addr, &tseq, apdu, sizeof(apdu));
		return true;
	}
	default:
		return false;
	}
}

static bool iec104_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	uint16_t ca = (uint16_t)(sim_host(t, s->b)->address - 9);
	static const uint8_t short_apdu[] = { 0x68, 0x03, 0x00, 0x00, 0x00 };
	size_t at;

	m->from_server = s->n % 2 == 1;
	m->gap_us = m->from_server ? sim_ms(s, 2, 30) : sim_ms(s, 100, 800);
	m->last = true;
	switch (s->n) {
	case 0:
	case 1:
		iec104_u(b, s->n ? IEC104_STARTDT_CON : IEC104_STARTDT_ACT);
		return true;
	case 2:
	case 3:
		/* Type id 99 is reserved (undefined) in IEC 60870-5-101: the RTU answers cause 44, negative. */
		at = iec104_i_begin(b, 0, s->n == 3 ? 1 : 0, 99, 1, (uint8_t)(s->n == 3 ? 0x40 | 44 : IEC104_COT_ACT), ca);
		iec104_ioa(b, 0);
		wbuf_u8(b, 0);
		iec104_i_end(b, at);
		if (s->n == 2)
			sim_anomaly(t, s->at + m->gap_us, "illegal_function", PP_IEC104, s->a, s->b);
		return true;
	case 4:
		wbuf_bytes(b, short_apdu, sizeof(short_apdu));
		sim_anomaly(t, s->at + m->gap_us, "bad_length", PP_IEC104, s->a, s->b);
		s->n++;
		return true;
	default:
		return false;
	}
}

/* EtherNet/IP: a ListIdentity over TCP (as reconnaissance tools send it), then an undefined command. */
static bool enip_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	const struct plant_host *plc = sim_host(t, s->b);
	struct enip_identity id = { plc->model->cip_vendor, plc->model->cip_device_type, plc->model->cip_product_code,
		plc->model->cip_major, plc->model->cip_minor, 0x3060, 0, plc->model->model, plc->ip };

	m->from_server = s->n % 2 == 1;
	m->gap_us = m->from_server ? sim_us(s, 500, 3000) : sim_ms(s, 50, 500);
	m->last = true;
	switch (s->n) {
	case 0:
		enip_list_identity_req(b, 0x1122334455667788ULL);
		return true;
	case 1:
		id.serial = (uint32_t)strtoul(plc->serial, NULL, 16);
		enip_list_identity_rsp(b, 0x1122334455667788ULL, &id);
		return true;
	case 2:
	case 3:
		enip_header(b, 0x00ff, 0, 0, 0x1122334455667789ULL);
		if (s->n == 3 && !b->overflow)
			b->p[8] = 0x01; /* status: invalid or unsupported encapsulation command */
		else
			sim_anomaly(t, s->at + m->gap_us, "illegal_function", PP_ENIP, s->a, s->b);
		return true;
	default:
		return false;
	}
}

/* BACnet: a ReadProperty without its property identifier, and the controller's Reject. */
static int bacnet_step(struct sim *t, struct sim_session *s)
{
	struct endpoint me = sim_host_ep(t, s->a), dev = sim_host_ep(t, s->b);
	uint64_t ts = s->at;
	struct wbuf b;
	size_t at;
	int r;

	wbuf_init(&b, t->payload, sizeof(t->payload));
	if (s->state == 0) {
		at = bacnet_begin(&b, false, true);
		wbuf_u8(&b, 0x00);
		wbuf_u8(&b, 0x05);
		wbuf_u8(&b, 0x42);
		wbuf_u8(&b, 0x0c);
		bacnet_objid(&b, 0, 8, sim_host(t, s->b)->address);
		bacnet_end(&b, at);
		r = sim_udp(t, ts, &me, dev.mac, dev.ip, 47808, 47808, &b);
		sim_anomaly(t, ts, "bad_length", PP_BACNET, s->a, s->b);
		sim_seen(t, s->a, PP_BACNET, PR_CLIENT);
		s->state = 1;
		s->at += sim_ms(s, 2, 20);
		return r;
	}
	at = bacnet_begin(&b, false, false);
	wbuf_u8(&b, 0x60);      /* Reject-PDU */
	wbuf_u8(&b, 0x42);
	wbuf_u8(&b, 5);         /* missing required parameter */
	bacnet_end(&b, at);
	s->done = true;
	sim_seen(t, s->b, PP_BACNET, PR_SERVER);
	return sim_udp(t, ts, &dev, me.mac, me.ip, 47808, 47808, &b);
}

static const struct tcp_app app_modbus = { PP_MBTCP, 502, false, 1000, 1000, modbus_script };
static const struct tcp_app app_s7 = { PP_S7COMM, 102, false, 1000, 1000, s7_script };
static const struct tcp_app app_dnp3 = { PP_DNP3, 20000, false, 1000, 1000, dnp3_script };
static const struct tcp_app app_iec104 = { PP_IEC104, 2404, false, 1000, 1000, iec104_script };
static const struct tcp_app app_enip = { PP_ENIP, 44818, false, 1000, 1000, enip_script };

static unsigned first_serving(const struct plant *p, enum plant_proto proto)
{
	for (unsigned i = 0; i < p->n_hosts; i++)
		if (p->hosts[i].model->serves & PP_BIT(proto))
			return i;
	return p->n_devices;
}

int anomaly_spawn(struct sim *t)
{
	static const struct { const struct tcp_app *app; uint16_t at_ms; } tcp_ones[] = {
		{ &app_modbus, 3000 }, { &app_s7, 6000 }, { &app_dnp3, 9000 }, { &app_iec104, 12000 }, { &app_enip, 15000 },
	};
	const struct plant *p = t->plant;
	unsigned rogue = plant_find(p, ROLE_LAPTOP), target;
	uint64_t base, dur = t->end - t->start;
	struct sim_session *s;
	int r;

	if (!t->anomalies)
		return 0;
	if (rogue >= p->n_hosts)
		rogue = plant_find(p, ROLE_EWS);
	if (rogue >= p->n_hosts)
		return 0;
	/* 20 s in, or a quarter of a shorter capture. */
	base = t->start + (dur / 4 < 20 * USEC_PER_SEC ? dur / 4 : 20 * USEC_PER_SEC);
	target = 0;
	while (target < p->n_hosts && p->hosts[target].vlan != PLANT_OT_VLAN)
		target++;
	if (target < p->n_hosts) {
		r = sim_add(t, scan_step, rogue, target, 0, &s);
		if (r < 0)
			return r;
		s->at = base + sim_ms(s, 0, 500);
		s->v[0] = target;
		s->v[2] = (uint32_t)prng_range(&s->rng, 40000, 60000);
	}
	for (size_t k = 0; k < sizeof(tcp_ones) / sizeof(tcp_ones[0]); k++) {
		target = first_serving(p, tcp_ones[k].app->proto);
		if (target >= p->n_hosts)
			continue;
		r = tcp_add(t, tcp_ones[k].app, rogue, target, 0, &s);
		if (r < 0)
			return r;
		s->at = base + (dur / 4 < 20 * USEC_PER_SEC ? (uint64_t)tcp_ones[k].at_ms * dur / 80000 :
			(uint64_t)tcp_ones[k].at_ms * USEC_PER_MS) + sim_ms(s, 0, 800);
	}
	target = first_serving(p, PP_BACNET);
	if (target < p->n_hosts) {
		r = sim_add(t, bacnet_step, rogue, target, 0, &s);
		if (r < 0)
			return r;
		s->at = base + (dur / 4 < 20 * USEC_PER_SEC ? dur / 5 : 18 * USEC_PER_SEC) + sim_ms(s, 0, 800);
	}
	return 0;
}
