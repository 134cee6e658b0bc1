/* Attack scenarios: the catalogue, the checks and extras each needs, and the sessions that play the attacks.
 *
 * Every scenario run also has the historian poll the Modbus PLCs' registers (read-only) in both periods, so that
 * the plant has a station that reads a controller and never writes to it. The attacks (times from the start of the
 * attack period, a minute in unless the period is shorter than four minutes):
 *   new-host                  a contractor's laptop (new MAC and address, static, on the OT VLAN) announces itself
 *                             (gratuitous ARP, NetBIOS names), ARPs for the first S7 PLC and goes online with it
 *                             over S7comm (identification and mode SZLs, a DB read)
 *   port-scan                 the first laptop SYN-scans 23 TCP ports of the first PLC (RST from closed ports,
 *                             SYN-ACK and the scanner's RST on open ones)
 *   s7-download-unauthorized  the HMI that polls the first S7 PLC opens a PG connection and downloads OB1
 *   modbus-write-new-source   the historian writes a holding register of the first Modbus PLC (function 6)
 *                             and reads it back
 *   dnp3-cold-restart         the SCADA master sends a cold restart to the first DNP3 RTU (which reboots and is
 *                             polled again 10-20 s later)
 *   arp-spoofing              the first laptop claims the gateway's address: a gratuitous ARP reply, then ARP
 *                             replies to the DNS server every two seconds for five minutes
 *   known-bad-indicator       the first laptop resolves the known-bad domain over the plant's DNS server and
 *                             beacons to the known-bad address over TLS (that name as SNI) every minute */
#include "tools/plantsim/scenarios.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tools/plantsim/it_names.h"
#include "tools/plantsim/it_web.h"
#include "tools/plantsim/ot_modbus.h"
#include "tools/plantsim/sim.h"

static const struct {
	const char *name, *description;
} catalogue[SCEN__COUNT] = {
	[SCEN_NEW_HOST] = { "new-host", "a contractor's laptop (new MAC and IP) appears and goes online with an S7 PLC" },
	[SCEN_PORT_SCAN] = { "port-scan", "a laptop SYN-scans 23 TCP ports of a PLC" },
	[SCEN_S7_DOWNLOAD] = { "s7-download-unauthorized",
		"the HMI, not the engineering workstation, downloads OB1 to the S7 PLC" },
	[SCEN_MODBUS_WRITE] = { "modbus-write-new-source",
		"the historian, which only reads the Modbus PLC, writes one of its registers" },
	[SCEN_DNP3_COLD_RESTART] = { "dnp3-cold-restart", "the SCADA master sends a DNP3 cold restart to the RTU" },
	[SCEN_ARP_SPOOFING] = { "arp-spoofing", "a laptop announces the gateway's IP address with its own MAC" },
	[SCEN_KNOWN_BAD] = { "known-bad-indicator",
		"a laptop resolves a known-bad domain and beacons to its address over TLS" },
};

const char *scenario_name(unsigned id) { return id > SCEN_NONE && id < SCEN__COUNT ? catalogue[id].name : NULL; }

const char *scenario_description(unsigned id)
{
	return id > SCEN_NONE && id < SCEN__COUNT ? catalogue[id].description : NULL;
}

unsigned scenario_find(const char *name)
{
	for (unsigned id = SCEN_NONE + 1; id < SCEN__COUNT; id++)
		if (name && strcmp(name, catalogue[id].name) == 0)
			return id;
	return SCEN_NONE;
}

/* ---- The hosts a scenario uses ----------------------------------------------------------------- */

static unsigned first_serving(const struct plant *p, enum plant_proto proto)
{
	for (unsigned i = 0; i < p->n_hosts; i++)
		if (p->hosts[i].model->serves & PP_BIT(proto))
			return i;
	return p->n_devices;
}

/* Attacker and target of the scenario (indices; n_devices when the plant has none). The first HMI polls the first
 * S7 PLC (the S7 and Modbus modules give each PLC the HMIs after its predecessors', starting with the first). */
static void actors(const struct plant *p, unsigned id, unsigned *attacker, unsigned *target)
{
	*attacker = *target = p->n_devices;
	switch ((enum scenario_id)id) {
	case SCEN_NEW_HOST:
		*attacker = p->has_visitor ? p->n_devices : p->n_devices + 1;
		*target = first_serving(p, PP_S7COMM);
		break;
	case SCEN_PORT_SCAN:
		*attacker = plant_find(p, ROLE_LAPTOP);
		*target = plant_find(p, ROLE_PLC);
		break;
	case SCEN_S7_DOWNLOAD:
		*attacker = plant_find(p, ROLE_HMI);
		*target = first_serving(p, PP_S7COMM);
		break;
	case SCEN_MODBUS_WRITE:
		*attacker = plant_find(p, ROLE_HISTORIAN);
		*target = first_serving(p, PP_MBTCP);
		break;
	case SCEN_DNP3_COLD_RESTART:
		*attacker = plant_find(p, ROLE_SCADA);
		*target = first_serving(p, PP_DNP3);
		break;
	case SCEN_ARP_SPOOFING:
		*attacker = plant_find(p, ROLE_LAPTOP);
		*target = p->router;
		break;
	case SCEN_KNOWN_BAD:
		*attacker = plant_find(p, ROLE_LAPTOP);
		*target = p->dns;
		break;
	default:
		break;
	}
}

int scenario_prepare(struct plant *p, unsigned id, uint64_t seed, const char *bad_domain, uint32_t bad_ip, char *err,
	size_t errlen)
{
	unsigned attacker, target;

	if (id == SCEN_NONE || id >= SCEN__COUNT) {
		snprintf(err, errlen, "unknown scenario");
		return -ENOENT;
	}
	if (id == SCEN_NEW_HOST)
		(void)plant_add_visitor(p, seed, SCENARIO_VISITOR_OCTET);
	if (id == SCEN_KNOWN_BAD) {
		p->offsite[PLANT_OFFSITE_EXTRA] = bad_ip;
		snprintf(p->offsite_name[PLANT_OFFSITE_EXTRA], sizeof(p->offsite_name[PLANT_OFFSITE_EXTRA]), "%s",
			bad_domain);
	}
	actors(p, id, &attacker, &target);
	if (attacker > p->n_devices || (attacker == p->n_devices && !p->has_visitor) || target >= p->n_devices) {
		snprintf(err, errlen, "scenario %s needs more hosts (this plant has no %s); try --hosts 12",
			catalogue[id].name, id == SCEN_MODBUS_WRITE ? "historian or Modbus PLC" :
			id == SCEN_DNP3_COLD_RESTART ? "SCADA master or DNP3 RTU" : "suitable host");
		return -ENOENT;
	}
	return 0;
}

/* ---- The historian's Modbus polling (both periods) and the modbus-write-new-source attack ---- */

enum { HM_ATTACK, HM_LIMIT, HM_TID, HM_FC, HM_ADDR, HM_QTY, HM_VALUE };

#define SETPOINT_REGISTER 1000

static bool hist_modbus_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	bool attack = s->v[HM_ATTACK] != 0;
	unsigned i = s->n / 2;
	uint16_t regs[16];

	if (s->n == 0)
		s->v[HM_LIMIT] = attack ? 2 : (uint32_t)prng_range(&s->rng, 300, 900);
	if (s->n % 2 == 1) {
		uint64_t now_s = (s->at - t->start) / USEC_PER_SEC;
		if (s->v[HM_FC] == 6) {
			mb_write_single(b, (uint16_t)s->v[HM_TID], 1, 6, (uint16_t)s->v[HM_ADDR], (uint16_t)s->v[HM_VALUE]);
		} else {
			for (uint32_t k = 0; k < s->v[HM_QTY]; k++)
				regs[k] = s->v[HM_ADDR] == SETPOINT_REGISTER ? (uint16_t)s->v[HM_VALUE] :
					(uint16_t)(200 + 37 * k + s->v[HM_ADDR] / 4 + (now_s / 16) % 50 + prng_range(&s->rng, 0, 3));
			mb_read_regs_rsp(b, (uint16_t)s->v[HM_TID], 1, (uint8_t)s->v[HM_FC], regs, (uint16_t)s->v[HM_QTY]);
		}
		m->from_server = true;
		m->gap_us = sim_us(s, 800, 6000);
		return true;
	}
	if (i >= s->v[HM_LIMIT]) {
		m->last = attack;
		return false;
	}
	s->v[HM_TID] = (s->v[HM_TID] + 1) & 0xffff;
	if (attack && i == 0) {
		/* A setpoint far outside its range, then a read-back to check it took. */
		s->v[HM_FC] = 6;
		s->v[HM_ADDR] = SETPOINT_REGISTER;
		s->v[HM_VALUE] = 9999;
		mb_write_single(b, (uint16_t)s->v[HM_TID], 1, 6, SETPOINT_REGISTER, 9999);
		sim_anomaly(t, s->at + m->gap_us, "unauthorized_write", PP_MBTCP, s->a, s->b);
	} else {
		s->v[HM_FC] = attack || i % 2 == 0 ? 3 : 4;
		s->v[HM_ADDR] = attack ? SETPOINT_REGISTER : s->v[HM_FC] == 3 ? 100 : 0;
		s->v[HM_QTY] = attack ? 1 : s->v[HM_FC] == 3 ? 10 : 8;
		mb_read_req(b, (uint16_t)s->v[HM_TID], 1, (uint8_t)s->v[HM_FC], (uint16_t)s->v[HM_ADDR],
			(uint16_t)s->v[HM_QTY]);
	}
	m->gap_us = s->n == 0 ? sim_ms(s, 2, 30) : attack ? sim_ms(s, 100, 400) : sim_ms(s, 1000, 2000);
	return true;
}

static const struct tcp_app app_hist_modbus = { PP_MBTCP, 502, false, 3000, 8000, hist_modbus_script };

static int spawn_historian_modbus(struct sim *t)
{
	const struct plant *p = t->plant;
	unsigned hist = plant_find(p, ROLE_HISTORIAN);
	struct sim_session *s;
	int r;

	if (hist >= p->n_hosts)
		return 0;
	for (unsigned j = 0; j < p->n_hosts; j++) {
		if (!(p->hosts[j].model->serves & PP_BIT(PP_MBTCP)))
			continue;
		r = tcp_add(t, &app_hist_modbus, hist, j, 0, &s);
		if (r < 0)
			return r;
		s->at = t->start + sim_ms(s, 1000, 6000);
	}
	return 0;
}

/* ---- new-host: the visitor's announcements and ARP --------------------------------------------- */

static const uint8_t mac_zero[6] = { 0 };

static int arp_frame(struct sim *t, uint64_t ts, const struct endpoint *from, const uint8_t *dst_mac, uint16_t op,
	uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
	struct frame_l2 l2 = { .vlan = from->vlan };

	memcpy(l2.dst, dst_mac, 6);
	memcpy(l2.src, from->mac, 6);
	return sim_emit(t, ts, frame_arp(t->frame, sizeof(t->frame), &l2, op, from->mac, spa, tha, tpa));
}

/* States: 0 gratuitous ARP, 1-3 NetBIOS registrations, 4 ARP request for the PLC, 5 the PLC's reply (then 4 again
 * now and then, as every host refreshes its ARP cache). */
static int visitor_step(struct sim *t, struct sim_session *s)
{
	static const struct { uint8_t suffix; bool group; } names[] = { { 0x00, false }, { 0x00, true },
		{ 0x20, false } };
	struct endpoint me = sim_host_ep(t, s->a), plc = sim_host_ep(t, s->b);
	uint64_t ts = s->at;
	struct wbuf b;
	int r;

	switch (s->state) {
	case 0:
		r = arp_frame(t, ts, &me, sim_mac_broadcast, ARP_OP_REQUEST, me.ip, mac_zero, me.ip);
		sim_seen(t, s->a, PP_ARP, PR_PEER);
		s->at += sim_ms(s, 300, 900);
		break;
	case 1:
	case 2:
	case 3:
		wbuf_init(&b, t->payload, sizeof(t->payload));
		nbns_register(&b, (uint16_t)(s->v[0] + s->state), names[s->state - 1].group ? "WORKGROUP" :
			sim_host(t, s->a)->name, names[s->state - 1].suffix, names[s->state - 1].group, me.ip);
		r = sim_udp(t, ts, &me, sim_mac_broadcast, plant_broadcast(t->plant), 137, 137, &b);
		sim_seen(t, s->a, PP_NBNS, PR_CLIENT);
		if (!names[s->state - 1].group)
			sim_reveal(t, s->a, PP_NBNS, PF_BIT(PF_HOSTNAME));
		s->at += s->state < 3 ? sim_ms(s, 5, 800) : sim_ms(s, 1000, 2000);
		break;
	case 4:
		r = arp_frame(t, ts, &me, sim_mac_broadcast, ARP_OP_REQUEST, me.ip, mac_zero, plc.ip);
		sim_seen(t, s->a, PP_ARP, PR_PEER);
		s->at += sim_us(s, 60, 900);
		break;
	default:
		r = arp_frame(t, ts, &plc, me.mac, ARP_OP_REPLY, plc.ip, me.mac, me.ip);
		sim_seen(t, s->b, PP_ARP, PR_PEER);
		s->state = 3;
		s->at += sim_ms(s, 30000, 120000);
		break;
	}
	s->state++;
	return r;
}

/* ---- port-scan --------------------------------------------------------------------------------- */

/* The usual IT and OT ports; 23 is prime, so any stride visits all of them. */
static const uint16_t scan_ports[] = { 21, 22, 23, 25, 53, 80, 102, 110, 135, 139, 143, 443, 445, 502, 1433, 1911,
	2404, 3389, 4840, 5900, 8080, 20000, 44818 };
#define N_SCAN_PORTS (sizeof(scan_ports) / sizeof(scan_ports[0]))
enum { SC_I, SC_STRIDE, SC_SPORT, SC_SEQ };

/* One probe per port, in a stride order (as scanners shuffle): state 0 the SYN, 1 the answer (SYN-ACK or RST-ACK),
 * 2 the scanner's RST after a SYN-ACK. One source port throughout, as a raw-socket scanner sends. */
static int scan_step(struct sim *t, struct sim_session *s)
{
	struct endpoint me = sim_host_ep(t, s->a), peer = sim_host_ep(t, s->b);
	uint16_t port = scan_ports[(s->v[SC_I] * s->v[SC_STRIDE]) % N_SCAN_PORTS];
	bool open = plant_port_open(sim_host(t, s->b), port);
	const struct endpoint *from = s->state == 1 ? &peer : &me, *to = s->state == 1 ? &me : &peer;
	struct frame_l2 l2 = { .vlan = me.vlan };
	struct frame_tcp tcp = { 0 };
	struct frame_ip ip;
	uint64_t ts = s->at;
	int r;

	memcpy(l2.src, from->mac, 6);
	memcpy(l2.dst, to->mac, 6);
	ip = (struct frame_ip){ from->ip, to->ip, (*from->ip_id)++, from->ttl };
	tcp.sport = s->state == 1 ? port : (uint16_t)s->v[SC_SPORT];
	tcp.dport = s->state == 1 ? (uint16_t)s->v[SC_SPORT] : port;
	if (s->state == 0) {
		s->v[SC_SEQ] = (uint32_t)prng_next(&s->rng);
		tcp.seq = s->v[SC_SEQ];
		tcp.flags = TCP_SYN;
		tcp.window = 1024;
		tcp.mss = 1460;
	} else if (s->state == 1) {
		tcp.seq = open ? (uint32_t)prng_next(&s->rng) : 0;
		tcp.ack = s->v[SC_SEQ] + 1;
		tcp.flags = open ? (TCP_SYN | TCP_ACK) : (TCP_RST | TCP_ACK);
		tcp.window = open ? peer.window : 0;
		tcp.mss = open ? 1460 : 0;
	} else {
		tcp.seq = s->v[SC_SEQ] + 1;
		tcp.flags = TCP_RST;
	}
	r = sim_emit(t, ts, frame_tcp(t->frame, sizeof(t->frame), &l2, &ip, &tcp, NULL, 0));
	if (s->state == 0 || (s->state == 1 && open)) {
		s->state++;
		s->at += s->state == 1 ? sim_us(s, 60, 400) : sim_us(s, 10, 80);
		return r;
	}
	s->state = 0;
	s->at += sim_us(s, 500, 3000);
	if (++s->v[SC_I] >= N_SCAN_PORTS)
		s->done = true;
	return r;
}

/* ---- arp-spoofing ------------------------------------------------------------------------------ */

#define SPOOF_REPLIES 150   /* one every two seconds: five minutes */

/* The attacker tells everyone (a gratuitous reply), then the victim again and again, that the gateway's address
 * is at its own MAC. s->b is the victim; the gateway is the plant's router. */
static int spoof_step(struct sim *t, struct sim_session *s)
{
	struct endpoint me = sim_host_ep(t, s->a), victim = sim_host_ep(t, s->b);
	uint32_t gw = sim_host(t, t->plant->router)->ip;
	uint64_t ts = s->at;
	int r;

	if (s->v[0] == 0)
		r = arp_frame(t, ts, &me, sim_mac_broadcast, ARP_OP_REPLY, gw, sim_mac_broadcast, gw);
	else
		r = arp_frame(t, ts, &me, victim.mac, ARP_OP_REPLY, gw, victim.mac, victim.ip);
	sim_seen(t, s->a, PP_ARP, PR_PEER);
	if (++s->v[0] > SPOOF_REPLIES)
		s->done = true;
	s->at += sim_ms(s, 1900, 2100);
	return r;
}

/* ---- known-bad-indicator ----------------------------------------------------------------------- */

/* The malware resolves its server when its DNS answer expires (TTL 300 s): query, then the server's answer. */
static int bad_dns_step(struct sim *t, struct sim_session *s)
{
	const struct plant *p = t->plant;
	struct endpoint client = sim_host_ep(t, s->a), server = sim_host_ep(t, p->dns);
	const char *name = p->offsite_name[PLANT_OFFSITE_EXTRA];
	uint64_t ts = s->at;
	struct wbuf b;
	int r;

	wbuf_init(&b, t->payload, sizeof(t->payload));
	if (s->state == 0) {
		s->v[0] = (uint32_t)prng_next(&s->rng) & 0xffff;
		s->v[1] = (uint32_t)prng_range(&s->rng, 49152, 65535);
		pl_dns_query(&b, (uint16_t)s->v[0], name);
		r = sim_udp(t, ts, &client, server.mac, server.ip, (uint16_t)s->v[1], 53, &b);
		sim_seen(t, s->a, PP_DNS, PR_CLIENT);
		s->state = 1;
		s->at += sim_us(s, 300, 4000);
		return r;
	}
	pl_dns_answer(&b, (uint16_t)s->v[0], name, p->offsite[PLANT_OFFSITE_EXTRA]);
	r = sim_udp(t, ts, &server, client.mac, client.ip, 53, (uint16_t)s->v[1], &b);
	sim_seen(t, p->dns, PP_DNS, PR_SERVER);
	s->state = 0;
	s->at += 300 * USEC_PER_SEC + sim_ms(s, 0, 5000);
	return r;
}

static void random_bytes(struct sim_session *s, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)prng_next(&s->rng);
}

/* A beacon: ClientHello with the server's name, ServerHello, a short request and the tasking, then close. */
static bool beacon_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	uint8_t rnd[32], sid[32], ct[900];
	bool reply = s->n % 2 == 1;
	uint16_t n;

	if (s->n >= 4)
		return false;
	m->from_server = reply;
	m->gap_us = s->n == 0 ? sim_us(s, 100, 3000) : reply ? sim_ms(s, 60, 180) : sim_ms(s, 5, 40);
	if (s->n <= 1) {
		random_bytes(s, rnd, sizeof(rnd));
		random_bytes(s, sid, sizeof(sid));
		if (reply)
			pl_tls_server_hello(b, rnd, sid);
		else
			pl_tls_client_hello(b, rnd, sid, t->plant->offsite_name[PLANT_OFFSITE_EXTRA]);
		return true;
	}
	n = (uint16_t)(reply ? prng_range(&s->rng, 200, sizeof(ct)) : prng_range(&s->rng, 80, 200));
	random_bytes(s, ct, n);
	pl_tls_app_data(b, ct, n);
	return true;
}

static const struct tcp_app app_beacon = { PP_TLS, 443, true, 55000, 65000, beacon_script };

/* ---- Set-up ------------------------------------------------------------------------------------ */

/* The attack begins a minute into the attack period (a quarter of a shorter one). */
static uint64_t attack_time(const struct sim *t)
{
	uint64_t part = t->end - t->attack_start, off = SCENARIO_ATTACK_OFFSET_S * USEC_PER_SEC;

	return t->attack_start + (part / 4 < off ? part / 4 : off);
}

static int spawn_attack(struct sim *t, unsigned id, unsigned attacker, unsigned target, uint64_t at)
{
	const struct plant *p = t->plant;
	struct sim_session *s;
	int r = 0;

	switch ((enum scenario_id)id) {
	case SCEN_NEW_HOST:
		r = sim_add(t, visitor_step, attacker, target, at, &s);
		if (r == 0)
			s->v[0] = (uint32_t)prng_next(&s->rng) & 0xffff;
		if (r == 0)
			r = s7_add_visit(t, attacker, target, false, at + 6 * USEC_PER_SEC);
		sim_anomaly(t, at, "new_host", PP_ARP, attacker, target);
		break;
	case SCEN_PORT_SCAN:
		r = sim_add(t, scan_step, attacker, target, at, &s);
		if (r == 0) {
			s->v[SC_STRIDE] = (uint32_t)prng_range(&s->rng, 1, N_SCAN_PORTS - 1);
			s->v[SC_SPORT] = (uint32_t)prng_range(&s->rng, 40000, 60000);
		}
		sim_anomaly(t, at, "port_scan", PP__COUNT, attacker, target);
		break;
	case SCEN_S7_DOWNLOAD:
		r = s7_add_visit(t, attacker, target, true, at);
		sim_anomaly(t, at, "unauthorized_program_download", PP_S7COMM, attacker, target);
		break;
	case SCEN_MODBUS_WRITE:
		r = tcp_add(t, &app_hist_modbus, attacker, target, at, &s);
		if (r == 0)
			s->v[HM_ATTACK] = 1;
		break;
	case SCEN_DNP3_COLD_RESTART:
		t->dnp3_cold_at = at;
		t->dnp3_cold_rtu = target;
		sim_anomaly(t, at, "cold_restart", PP_DNP3, attacker, target);
		break;
	case SCEN_ARP_SPOOFING:
		r = sim_add(t, spoof_step, attacker, p->dns, at, NULL);
		sim_anomaly(t, at, "arp_spoofing", PP_ARP, attacker, target);
		break;
	case SCEN_KNOWN_BAD:
		r = sim_add(t, bad_dns_step, attacker, p->dns, at, NULL);
		if (r == 0)
			r = tcp_add(t, &app_beacon, attacker, PLANT_OFFSITE_EXTRA, at + 250 * USEC_PER_MS, NULL);
		sim_anomaly(t, at, "known_bad_domain", PP_DNS, attacker, p->dns);
		sim_anomaly_ip(t, at + 250 * USEC_PER_MS, "known_bad_address", PP_TLS, attacker,
			p->offsite[PLANT_OFFSITE_EXTRA]);
		break;
	default:
		break;
	}
	return r;
}

int scenario_spawn(struct sim *t)
{
	unsigned attacker, target;
	int r;

	if (t->scenario == SCEN_NONE || t->scenario >= SCEN__COUNT)
		return 0;
	r = spawn_historian_modbus(t);
	if (r < 0)
		return r;
	actors(t->plant, t->scenario, &attacker, &target);
	if (target >= t->plant->n_devices || attacker > t->plant->n_devices)
		return -EINVAL;
	return spawn_attack(t, t->scenario, attacker, target, attack_time(t));
}
