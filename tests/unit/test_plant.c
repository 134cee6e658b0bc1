/* Tests for tools/plantsim: plant.c (hosts, addressing, identities), traffic.c and tcp.c (schedule,
 * determinism, TCP sequence numbers), the payload builders (ot_*.c, it_*.c) and truth.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cursor.h"
#include "tools/plantsim/it_l2.h"
#include "tools/plantsim/it_names.h"
#include "tools/plantsim/ot_bacnet.h"
#include "tools/plantsim/ot_dnp3.h"
#include "tools/plantsim/ot_enip.h"
#include "tools/plantsim/ot_iec104.h"
#include "tools/plantsim/ot_modbus.h"
#include "tools/plantsim/ot_s7.h"
#include "tools/plantsim/pcap_writer.h"
#include "tools/plantsim/plant.h"
#include "tools/plantsim/traffic.h"
#include "tools/plantsim/truth.h"

#define START_USEC (1767600000ULL * 1000000ULL)

static struct plant *build(uint64_t seed, unsigned hosts, unsigned site)
{
	struct plant *p = malloc(sizeof(*p));

	assert_non_null(p);
	assert_int_equal(plant_build(p, seed, hosts, site), 0);
	return p;
}

static void rejects_bad_arguments(void **state)
{
	struct plant *p = malloc(sizeof(*p));

	assert_non_null(p);
	assert_int_equal(plant_build(p, 1, PLANT_MIN_HOSTS - 1, 10), -EINVAL);
	assert_int_equal(plant_build(p, 1, PLANT_MAX_HOSTS + 1, 10), -EINVAL);
	assert_int_equal(plant_build(p, 1, 12, 0), -EINVAL);
	assert_int_equal(plant_build(p, 1, 12, 200), -EINVAL);
	assert_int_equal(plant_build(p, 1, 12, 255), -EINVAL);
	free(p);
}

static void default_site_has_every_role(void **state)
{
	struct plant *p = build(7, 12, 10);
	unsigned count[ROLE__COUNT] = { 0 };
	uint32_t serves = 0;

	for (unsigned i = 0; i < p->n_devices; i++) {
		count[p->hosts[i].role]++;
		serves |= p->hosts[i].model->serves;
	}
	assert_int_equal(p->n_devices, 12 + PLANT_SWITCHES);
	assert_int_equal(count[ROLE_ROUTER], 1);
	assert_int_equal(count[ROLE_DHCP_DNS], 1);
	assert_int_equal(count[ROLE_EWS], 1);
	assert_int_equal(count[ROLE_HISTORIAN], 1);
	assert_int_equal(count[ROLE_PLC], 3);
	assert_int_equal(count[ROLE_HMI], 1);
	assert_int_equal(count[ROLE_LAPTOP], 1);
	assert_int_equal(count[ROLE_SCADA], 1);
	assert_int_equal(count[ROLE_RTU], 1);
	assert_int_equal(count[ROLE_BACNET], 1);
	assert_int_equal(count[ROLE_SWITCH], 2);
	assert_int_equal(p->hosts[p->router].ip, 0x0a0a0101);
	assert_int_equal(p->hosts[p->dns].ip, 0x0a0a0102);
	assert_int_equal(p->hosts[p->ot_switch].ip, 0x0a0a01fc);
	/* Every server-side OT protocol has a device at the default size. */
	for (unsigned pp = PP_MBTCP; pp <= PP_OPCUA; pp++)
		assert_true(serves & PP_BIT(pp));
	/* The first PLCs: one of each vendor. */
	assert_int_equal(p->hosts[3].vendor, VENDOR_SIEMENS);
	assert_string_equal(p->hosts[3].model->family, "S7-1500");
	free(p);
}

static void addresses_unique_and_in_subnet(void **state)
{
	struct plant *p = build(3, PLANT_MAX_HOSTS, 42);

	for (unsigned i = 0; i < p->n_devices; i++) {
		const struct plant_host *h = &p->hosts[i];
		assert_int_equal(h->ip >> 8, 0x0a2a01);
		assert_true((h->ip & 0xff) != 0 && (h->ip & 0xff) != 255);
		assert_int_equal(h->mac[0] & 1, 0);          /* unicast */
		assert_true(strlen(h->serial) > 5);
		for (unsigned j = 0; j < i; j++) {
			assert_int_not_equal(h->ip, p->hosts[j].ip);
			assert_false(memcmp(h->mac, p->hosts[j].mac, 6) == 0);
			/* BACnet instances are unique on the site. */
			if (h->role == ROLE_BACNET && p->hosts[j].role == ROLE_BACNET)
				assert_int_not_equal(h->address, p->hosts[j].address);
		}
	}
	for (unsigned i = 0; i < PLANT_OFFSITE_COUNT; i++) {
		assert_int_equal(p->offsite[i] >> 16, 0x0ac8);
		for (unsigned j = 0; j < i; j++)
			assert_int_not_equal(p->offsite[i], p->offsite[j]);
	}
	free(p);
}

static void vendors_use_their_ouis(void **state)
{
	struct plant *p = build(11, 30, 10);

	for (unsigned i = 0; i < p->n_devices; i++) {
		const struct plant_host *h = &p->hosts[i];
		uint32_t oui = (uint32_t)(h->mac[0] << 16 | h->mac[1] << 8 | h->mac[2]);
		switch (h->vendor) {
		case VENDOR_SIEMENS: assert_true(oui == 0x001b1b || oui == 0x000e8c); break;
		case VENDOR_ROCKWELL: assert_true(oui == 0x0000bc || oui == 0x001d9c); break;
		case VENDOR_SCHNEIDER: assert_int_equal(oui, 0x0080f4); break;
		case VENDOR_CISCO: assert_true(oui == 0x001b54 || oui == 0x00000c); break;
		case VENDOR_SEL: assert_int_equal(oui, 0x0030a7); break;
		default: break;
		}
		if (h->role == ROLE_PLC || h->role == ROLE_HMI || h->role == ROLE_RTU)
			assert_int_equal(h->vlan, PLANT_OT_VLAN);
		if (h->role == ROLE_LAPTOP)
			assert_true(h->dhcp);
		if (h->model->cip_vendor)
			assert_int_equal(h->serial[0], '6');     /* CIP serial: 8 hex digits */
	}
	free(p);
}

static void plant_is_a_function_of_the_seed(void **state)
{
	struct plant *a = build(5, 12, 10), *b = build(5, 12, 10), *c = build(6, 12, 10);

	assert_memory_equal(a, b, sizeof(*a));
	assert_false(memcmp(a->hosts, c->hosts, sizeof(a->hosts)) == 0);
	free(a);
	free(b);
	free(c);
}

static void sys_descr_states_identity(void **state)
{
	struct plant *p = build(1, 12, 10);
	char buf[256];

	plant_sys_descr(&p->hosts[3], buf, sizeof(buf));
	assert_non_null(strstr(buf, "Siemens, SIMATIC S7, CPU 1516-3 PN/DP, 6ES7 516-3AN02-0AB0"));
	assert_non_null(strstr(buf, "FW: Version V2.9.4"));
	assert_non_null(strstr(buf, p->hosts[3].serial));
	plant_sys_descr(&p->hosts[p->router], buf, sizeof(buf));
	assert_non_null(strstr(buf, "Cisco IOS Software"));
	free(p);
}

static void modbus_vectors(void **state)
{
	static const uint8_t read_req[] = { 0x00, 0x07, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x64, 0x00, 0x02 };
	static const uint8_t read_rsp[] = { 0x00, 0x07, 0x00, 0x00, 0x00, 0x07, 0x01, 0x03, 0x04, 0x01, 0x02, 0x03, 0x04 };
	static const uint8_t devid[] = { 0x00, 0x09, 0x00, 0x00, 0x00, 0x11, 0xff, 0x2b, 0x0e, 0x01, 0x81, 0x00, 0x00,
		0x02, 0x00, 0x02, 'S', 'E', 0x01, 0x03, 'M', '3', '4' };
	static const uint8_t exc[] = { 0x00, 0x05, 0x00, 0x00, 0x00, 0x03, 0x01, 0x83, 0x02 };
	static const char *const objs[] = { "SE", "M34" };
	const uint16_t regs[2] = { 0x0102, 0x0304 };
	uint8_t buf[64];
	struct wbuf b;

	wbuf_init(&b, buf, sizeof(buf));
	pl_modbus_read_req(&b, 7, 1, 100, 2);
	assert_int_equal(b.len, sizeof(read_req));
	assert_memory_equal(buf, read_req, sizeof(read_req));
	wbuf_init(&b, buf, sizeof(buf));
	pl_modbus_read_rsp(&b, 7, 1, regs, 2);
	assert_memory_equal(buf, read_rsp, sizeof(read_rsp));
	wbuf_init(&b, buf, sizeof(buf));
	mb_devid_rsp(&b, 9, 0xff, 1, 0x81, 0, objs, 2);
	assert_int_equal(b.len, sizeof(devid));
	assert_memory_equal(buf, devid, sizeof(devid));
	wbuf_init(&b, buf, sizeof(buf));
	mb_exception(&b, 5, 1, 3, MB_EXC_ILLEGAL_ADDRESS);
	assert_memory_equal(buf, exc, sizeof(exc));
}

static void s7_vectors(void **state)
{
	/* Snap7's PLC stop telegram. */
	static const uint8_t stop[] = { 0x03, 0x00, 0x00, 0x21, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x00, 0x0e,
		0x00, 0x10, 0x00, 0x00, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 'P', '_', 'P', 'R', 'O', 'G', 'R', 'A',
		'M' };
	uint8_t buf[300], rec[28] = { 0 };
	uint16_t g, e;
	struct wbuf b;

	wbuf_init(&b, buf, sizeof(buf));
	s7_plc_stop(&b, 14);
	assert_int_equal(b.len, sizeof(stop));
	assert_memory_equal(buf, stop, sizeof(stop));

	wbuf_init(&b, buf, sizeof(buf));
	pl_s7_read_req(&b, 1, 1, 0, 32);
	assert_int_equal(b.len, 31);
	assert_int_equal(buf[2] << 8 | buf[3], 31);    /* TPKT length covers the whole PDU */

	wbuf_init(&b, buf, sizeof(buf));
	s7_szl_rsp(&b, 2, 1, 0x0011, 0, 28, 1, rec);
	assert_false(b.overflow);
	assert_int_equal(buf[2] << 8 | buf[3], b.len);
	assert_int_equal(buf[7 + 6] << 8 | buf[7 + 7], 12);             /* parameter length */
	assert_int_equal(buf[7 + 8] << 8 | buf[7 + 9], 4 + 8 + 28);     /* data length */

	s7_fw_words("V2.9.4", &g, &e);
	assert_int_equal(g, 0x5602);
	assert_int_equal(e, 0x0904);
}

static void dnp3_crc_and_frames(void **state)
{
	/* A link-status request header from the DNP3 users group's examples. */
	static const uint8_t hdr[] = { 0x05, 0x64, 0x05, 0xc0, 0x01, 0x00, 0x00, 0x04 };
	uint8_t apdu[300], buf[600], tseq = 62;
	struct wbuf b;

	assert_int_equal(dnp3_crc(hdr, sizeof(hdr)), 0x21e9);
	wbuf_init(&b, buf, sizeof(buf));
	dnp3_link_frame(&b, 0xc9, 10, 1, NULL, 0);
	assert_int_equal(b.len, 10);
	/* An APDU of 300 bytes needs two transport segments: FIR then FIN, sequence wrapping at 64. */
	memset(apdu, 0xab, sizeof(apdu));
	wbuf_init(&b, buf, sizeof(buf));
	dnp3_frames(&b, true, 10, 1, &tseq, apdu, sizeof(apdu));
	assert_false(b.overflow);
	assert_int_equal(tseq, 0);
	assert_int_equal(buf[10], 0x40 | 62);          /* FIR, seq 62 */
	assert_int_equal(buf[2], 255);                 /* 5 + 1 + 249 */
	assert_int_equal(b.len, 10 + 250 + 2 * 16 + 10 + 52 + 2 * 4);
}

static void iec104_and_bacnet_vectors(void **state)
{
	static const uint8_t startdt[] = { 0x68, 0x04, 0x07, 0x00, 0x00, 0x00 };
	static const uint8_t sframe[] = { 0x68, 0x04, 0x01, 0x00, 0x0e, 0x01 };
	static const uint8_t whois[] = { 0x81, 0x0b, 0x00, 0x0c, 0x01, 0x20, 0xff, 0xff, 0x00, 0xff, 0x10, 0x08 };
	static const uint8_t iam[] = { 0x10, 0x00, 0xc4, 0x02, 0x00, 0x27, 0x74, 0x22, 0x05, 0xc4, 0x91, 0x03, 0x21,
		0x05 };
	uint8_t buf[64];
	struct wbuf b;
	size_t at;

	wbuf_init(&b, buf, sizeof(buf));
	iec104_u(&b, IEC104_STARTDT_ACT);
	assert_memory_equal(buf, startdt, sizeof(startdt));
	wbuf_init(&b, buf, sizeof(buf));
	iec104_s(&b, 135);
	assert_memory_equal(buf, sframe, sizeof(sframe));
	wbuf_init(&b, buf, sizeof(buf));
	at = iec104_i_begin(&b, 1, 2, IEC104_C_IC_NA_1, 1, IEC104_COT_ACT, 1);
	iec104_ioa(&b, 0);
	wbuf_u8(&b, 20);
	iec104_i_end(&b, at);
	assert_int_equal(buf[1], 14);
	assert_int_equal(buf[2], 2);                   /* N(S) 1 */
	assert_int_equal(buf[4], 4);                   /* N(R) 2 */

	wbuf_init(&b, buf, sizeof(buf));
	pl_bacnet_whois(&b);
	assert_memory_equal(buf, whois, sizeof(whois));
	wbuf_init(&b, buf, sizeof(buf));
	bacnet_iam(&b, 10100, 5);
	assert_int_equal(b.len, sizeof(iam));
	assert_memory_equal(buf, iam, sizeof(iam));
}

static void l2_and_names_vectors(void **state)
{
	static const uint8_t cdp_odd[] = { 0x02, 0xb4, 0x00, 0x00, 0xfd };
	uint8_t buf[400];
	struct lldp_info li = { 4, "\x00\x80\x63\x01\x02\x03", 6, 5, "1/1", 120, NULL, "sw", NULL, LLDP_CAP_BRIDGE,
		0x0a0a01fc, 1 };
	struct pl_dhcp m = { .type = DHCP_DISCOVER, .xid = 1, .chaddr = (const uint8_t *)"\x00\x1b\x21\x01\x02\x03",
		.hostname = "LT-1234", .vendor_class = "MSFT 5.0" };
	struct wbuf b;

	/* Cisco's odd-octet rule: 0x02b4 + 0x0000 + (0xfd - 1 | 0xff00). */
	assert_int_equal(cdp_checksum(cdp_odd, sizeof(cdp_odd)), (uint16_t)~(0x02b4 + 0xfffc - 0xffff));
	wbuf_init(&b, buf, sizeof(buf));
	lldp_pdu(&b, &li);
	assert_int_equal(buf[0] >> 1, 1);              /* chassis id first */
	assert_int_equal(buf[b.len - 2], 0);           /* end of LLDPDU */
	assert_int_equal(buf[b.len - 1], 0);

	wbuf_init(&b, buf, sizeof(buf));
	nbns_name(&b, "ews-01", 0x20);
	assert_int_equal(b.len, 34);
	assert_int_equal(buf[1], 'E');                 /* 'E' = 0x45 -> "EF" */
	assert_int_equal(buf[2], 'F');
	assert_int_equal(buf[31], 'C');                /* suffix 0x20 -> "CA" */
	assert_int_equal(buf[32], 'A');

	wbuf_init(&b, buf, sizeof(buf));
	pl_dhcp(&b, &m);
	assert_int_equal(b.len, 300);                  /* BOOTP minimum */
	assert_false(b.overflow);
	wbuf_init(&b, buf, 10);
	pl_dhcp(&b, &m);
	assert_true(b.overflow);
}

static void enip_vectors(void **state)
{
	struct enip_identity id = { 1, 0x0e, 166, 33, 11, 0x3060, 0x60a1b2c3, "1756-L83E/B", 0x0a0a010f };
	uint8_t buf[200];
	struct wbuf b;

	wbuf_init(&b, buf, sizeof(buf));
	enip_list_identity_rsp(&b, 7, &id);
	assert_false(b.overflow);
	assert_int_equal(buf[0] | buf[1] << 8, ENIP_LIST_IDENTITY);
	assert_int_equal(buf[2] | buf[3] << 8, b.len - 24);   /* encapsulation length */
	assert_int_equal(buf[26] | buf[27] << 8, 0x000c);     /* CIP identity item */
	assert_memory_equal(buf + b.len - 12, "1756-L83E/B", 11);
	assert_int_equal(buf[b.len - 1], 3);                  /* state */
}

static char *generate(uint64_t seed, unsigned hosts, uint64_t seconds, bool anomalies, struct traffic_stats *st)
{
	char *path = strdup("/tmp/otw-test-plant-XXXXXX");
	struct traffic_config cfg = { seed, START_USEC, seconds * 1000000ULL, anomalies };
	struct pcap_writer *w;
	struct plant *p = build(seed, hosts, 10);
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(pcap_writer_open(path, 65535, PCAP_LINKTYPE_ETHERNET, &w), 0);
	assert_int_equal(traffic_run(p, &cfg, w, st), 0);
	assert_int_equal(pcap_writer_close(w), 0);
	free(p);
	return path;
}

static uint8_t *load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void same_seed_same_bytes(void **state)
{
	struct traffic_stats *s = calloc(3, sizeof(*s));
	char *a, *b, *c;
	size_t la, lb, lc;
	uint8_t *da, *db, *dc;

	assert_non_null(s);
	a = generate(42, 12, 30, true, &s[0]);
	b = generate(42, 12, 30, true, &s[1]);
	c = generate(43, 12, 30, true, &s[2]);
	da = load(a, &la);
	db = load(b, &lb);
	dc = load(c, &lc);
	assert_true(s[0].packets > 500);
	assert_int_equal(s[0].packets, s[1].packets);
	assert_int_equal(la, lb);
	assert_memory_equal(da, db, la);
	assert_memory_equal(&s[0], &s[1], sizeof(s[0]));
	assert_false(la == lc && memcmp(da, dc, la) == 0);
	unlink(a);
	unlink(b);
	unlink(c);
	free(a);
	free(b);
	free(c);
	free(da);
	free(db);
	free(dc);
	free(s);
}

/* Walks the records: timestamps never go backwards, stay inside [start, start + duration),
 * caplen equals len, and every frame is at least the 60-byte Ethernet minimum. */
static void timestamps_monotonic_and_in_window(void **state)
{
	struct traffic_stats *st = calloc(1, sizeof(*st));
	char *path = generate(9, 20, 40, false, st);
	size_t len;
	uint8_t *d = load(path, &len);
	struct cursor c;
	uint64_t prev = 0, count = 0;

	cursor_init(&c, d, len);
	assert_true(cursor_skip(&c, PCAP_GLOBAL_HEADER_LEN));
	while (cursor_remaining(&c) > 0) {
		uint32_t sec = 0, usec = 0, caplen = 0, wirelen = 0;
		uint64_t ts;
		assert_true(cursor_u32le(&c, &sec));
		assert_true(cursor_u32le(&c, &usec));
		assert_true(cursor_u32le(&c, &caplen));
		assert_true(cursor_u32le(&c, &wirelen));
		assert_int_equal(caplen, wirelen);
		assert_true(caplen >= 60 && caplen <= 1518);
		assert_true(usec < 1000000);
		ts = (uint64_t)sec * 1000000 + usec;
		assert_true(ts >= prev);
		assert_true(ts >= START_USEC && ts < START_USEC + 40 * 1000000ULL);
		prev = ts;
		assert_true(cursor_skip(&c, caplen));
		count++;
	}
	assert_int_equal(count, st->packets);
	unlink(path);
	free(path);
	free(d);
	free(st);
}


/* ---- Whole captures ---------------------------------------------------------------------------- */

struct flow {
	uint32_t a_ip, b_ip;
	uint16_t a_port, b_port;      /* a: the SYN's sender */
	uint32_t next[2];             /* next sequence number from a (0) and from b (1) */
	bool synack, fin[2];
};

struct tcp_summary {
	unsigned flows, closed, bad_seq, bad_ack, data_segments, unpushed, multi_pdu;
};

/* Parses Ethernet (802.1Q-tagged or not), IPv4 and TCP; returns false for anything else. */
static bool parse_tcp(const uint8_t *f, size_t n, uint32_t *sip, uint32_t *dip, uint16_t *sp, uint16_t *dp,
	uint32_t *seq, uint32_t *ack, uint8_t *flags, const uint8_t **pl, size_t *plen)
{
	size_t off = 12, ihl, thl, ip_len;
	uint16_t type;

	if (n < 14)
		return false;
	type = (uint16_t)(f[12] << 8 | f[13]);
	if (type == 0x8100) {
		off += 4;
		type = (uint16_t)(f[16] << 8 | f[17]);
	}
	off += 2;
	if (type != 0x0800 || n < off + 20 || f[off + 9] != 6)
		return false;
	ihl = (size_t)(f[off] & 15) * 4;
	ip_len = (size_t)(f[off + 2] << 8 | f[off + 3]);
	*sip = (uint32_t)f[off + 12] << 24 | (uint32_t)f[off + 13] << 16 | (uint32_t)f[off + 14] << 8 | f[off + 15];
	*dip = (uint32_t)f[off + 16] << 24 | (uint32_t)f[off + 17] << 16 | (uint32_t)f[off + 18] << 8 | f[off + 19];
	f += off + ihl;
	thl = (size_t)(f[12] >> 4) * 4;
	*sp = (uint16_t)(f[0] << 8 | f[1]);
	*dp = (uint16_t)(f[2] << 8 | f[3]);
	*seq = (uint32_t)f[4] << 24 | (uint32_t)f[5] << 16 | (uint32_t)f[6] << 8 | f[7];
	*ack = (uint32_t)f[8] << 24 | (uint32_t)f[9] << 16 | (uint32_t)f[10] << 8 | f[11];
	*flags = f[13];
	*pl = f + thl;
	*plen = ip_len - ihl - thl;
	return true;
}

static void check_segment(struct flow *fl, size_t *nf, struct tcp_summary *sum, uint32_t sip, uint32_t dip,
	uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack, uint8_t flags, const uint8_t *pl, size_t plen)
{
	struct flow *f = NULL;
	int dir = 0;

	for (size_t i = *nf; i-- > 0 && !f;) {
		if (fl[i].a_ip == sip && fl[i].a_port == sp && fl[i].b_ip == dip && fl[i].b_port == dp)
			f = &fl[i], dir = 0;
		else if (fl[i].a_ip == dip && fl[i].a_port == dp && fl[i].b_ip == sip && fl[i].b_port == sp)
			f = &fl[i], dir = 1;
	}
	if ((flags & 0x12) == 0x02) {       /* SYN: a new connection */
		assert_true(*nf < 4096);
		f = &fl[(*nf)++];
		memset(f, 0, sizeof(*f));
		*f = (struct flow){ sip, dip, sp, dp, { seq + 1, 0 }, false, { false, false } };
		sum->flows++;
		return;
	}
	assert_non_null(f);
	if ((flags & 0x12) == 0x12) {
		f->synack = true;
		f->next[1] = seq + 1;
		sum->bad_ack += ack != f->next[0];
		return;
	}
	sum->bad_seq += seq != f->next[dir];
	if (flags & 0x10)
		sum->bad_ack += ack != f->next[!dir];
	f->next[dir] += (uint32_t)plen + ((flags & 0x01) ? 1 : 0);
	if (flags & 0x01) {
		f->fin[dir] = true;
		sum->closed += f->fin[0] && f->fin[1];
	}
	if (plen) {
		sum->data_segments++;
		sum->unpushed += !(flags & 0x08);
		/* Modbus: an MBAP length shorter than the segment means several ADUs in it. */
		if ((sp == 502 || dp == 502) && plen >= 7 && (size_t)(pl[4] << 8 | pl[5]) + 6 < plen)
			sum->multi_pdu++;
	}
}

/* Every TCP segment's sequence number continues its direction and acknowledges the other; connections
 * close with FIN both ways; some messages are cut across segments, some segments carry several PDUs. */
static void tcp_streams_are_consistent(void **state)
{
	struct traffic_stats *st = calloc(1, sizeof(*st));
	struct flow *fl = calloc(4096, sizeof(*fl));
	struct tcp_summary sum = { 0 };
	char *path = generate(3, 12, 120, false, st);
	size_t len, nf = 0;
	uint8_t *d = load(path, &len);
	struct cursor c;

	assert_non_null(fl);
	cursor_init(&c, d, len);
	assert_true(cursor_skip(&c, PCAP_GLOBAL_HEADER_LEN));
	while (cursor_remaining(&c) > 0) {
		uint32_t caplen = 0, sip, dip, seq, ack;
		uint16_t sp, dp;
		uint8_t flags;
		const uint8_t *f = NULL, *pl;
		size_t plen;

		assert_true(cursor_skip(&c, 8));
		assert_true(cursor_u32le(&c, &caplen));
		assert_true(cursor_skip(&c, 4));
		assert_true(cursor_bytes(&c, caplen, &f));
		if (parse_tcp(f, caplen, &sip, &dip, &sp, &dp, &seq, &ack, &flags, &pl, &plen))
			check_segment(fl, &nf, &sum, sip, dip, sp, dp, seq, ack, flags, pl, plen);
	}
	assert_true(sum.flows > 20);
	assert_int_equal(sum.bad_seq, 0);
	assert_int_equal(sum.bad_ack, 0);
	assert_true(sum.closed > 5);
	assert_true(sum.data_segments > 1000);
	assert_true(sum.unpushed > 0);
	assert_true(sum.multi_pdu > 0);
	unlink(path);
	free(path);
	free(d);
	free(fl);
	free(st);
}

static bool seen(const struct traffic_stats *st, const struct plant *p, enum plant_role role, enum plant_proto pp,
	enum plant_proto_role r)
{
	for (unsigned i = 0; i < p->n_devices; i++)
		if (p->hosts[i].role == role && (st->seen[i][r] & PP_BIT(pp)))
			return true;
	return false;
}

/* The default plant speaks every protocol within a minute, each device in the role it should have. */
static void every_protocol_and_role_is_seen(void **state)
{
	struct traffic_stats *st = calloc(1, sizeof(*st));
	struct plant *p = build(1, 12, 10);
	char *path = generate(1, 12, 60, false, st);
	uint32_t any = 0;

	for (unsigned i = 0; i < p->n_devices; i++)
		for (unsigned r = 0; r < PR__COUNT; r++)
			any |= st->seen[i][r];
	for (unsigned pp = 0; pp < PP__COUNT; pp++)
		assert_true(any & PP_BIT(pp));
	assert_true(seen(st, p, ROLE_PLC, PP_S7COMM, PR_SERVER));
	assert_true(seen(st, p, ROLE_PLC, PP_S7COMM_PLUS, PR_SERVER));
	assert_true(seen(st, p, ROLE_PLC, PP_MBTCP, PR_SERVER));
	assert_true(seen(st, p, ROLE_PLC, PP_ENIP, PR_SERVER));
	assert_true(seen(st, p, ROLE_PLC, PP_OPCUA, PR_SERVER));
	assert_true(seen(st, p, ROLE_PLC, PP_PN_DCP, PR_SERVER));
	assert_true(seen(st, p, ROLE_HMI, PP_MBTCP, PR_CLIENT));
	assert_true(seen(st, p, ROLE_EWS, PP_S7COMM, PR_CLIENT));
	assert_true(seen(st, p, ROLE_EWS, PP_PN_DCP, PR_CLIENT));
	assert_true(seen(st, p, ROLE_HISTORIAN, PP_OPCUA, PR_CLIENT));
	assert_true(seen(st, p, ROLE_SCADA, PP_DNP3, PR_CLIENT));
	assert_true(seen(st, p, ROLE_SCADA, PP_IEC104, PR_CLIENT));
	assert_true(seen(st, p, ROLE_RTU, PP_DNP3, PR_SERVER));
	assert_true(seen(st, p, ROLE_RTU, PP_IEC104, PR_SERVER));
	assert_true(seen(st, p, ROLE_BACNET, PP_BACNET, PR_SERVER));
	assert_true(seen(st, p, ROLE_SWITCH, PP_CDP, PR_PEER));
	assert_true(seen(st, p, ROLE_SWITCH, PP_LLDP, PR_PEER));
	assert_true(seen(st, p, ROLE_LAPTOP, PP_DHCP, PR_CLIENT));
	assert_true(seen(st, p, ROLE_DHCP_DNS, PP_DNS, PR_SERVER));
	assert_false(seen(st, p, ROLE_PLC, PP_S7COMM, PR_CLIENT));
	assert_false(seen(st, p, ROLE_RTU, PP_DNP3, PR_CLIENT));
	unlink(path);
	free(path);
	free(p);
	free(st);
}

static void anomalies_only_when_asked(void **state)
{
	struct traffic_stats *st = calloc(2, sizeof(*st));
	char *a = generate(2, 12, 60, false, &st[0]), *b = generate(2, 12, 60, true, &st[1]);
	bool scan = false;

	assert_int_equal(st[0].n_anomalies, 0);
	assert_true(st[1].n_anomalies >= 10);
	assert_true(st[1].packets > st[0].packets);
	for (unsigned i = 0; i < st[1].n_anomalies; i++) {
		assert_true(st[1].anomalies[i].ts_usec >= START_USEC);
		scan |= strcmp(st[1].anomalies[i].kind, "port_scan") == 0;
	}
	assert_true(scan);
	unlink(a);
	unlink(b);
	free(a);
	free(b);
	free(st);
}

static json_t *find_device(json_t *devices, const char *name)
{
	size_t i;
	json_t *d;

	json_array_foreach(devices, i, d)
		if (strcmp(json_string_value(json_object_get(d, "name")), name) == 0)
			return d;
	return NULL;
}

static bool has_proto(json_t *dev, const char *name, const char *role)
{
	size_t i;
	json_t *p;

	json_array_foreach(json_object_get(dev, "protocols"), i, p)
		if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0 &&
		    strcmp(json_string_value(json_object_get(p, "role")), role) == 0)
			return true;
	return false;
}

static void truth_lists_every_device(void **state)
{
	struct traffic_stats *st = calloc(1, sizeof(*st));
	struct traffic_config cfg = { 1, START_USEC, 60 * 1000000ULL, true };
	struct plant *p = build(1, 12, 10);
	char *pcap = generate(1, 12, 60, true, st), tpath[] = "/tmp/otw-test-truth-XXXXXX";
	json_t *root, *devs, *plc, *rtu;
	json_error_t err;
	int fd = mkstemp(tpath);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(truth_write(tpath, p, &cfg, st), 0);
	root = json_load_file(tpath, 0, &err);
	assert_non_null(root);
	devs = json_object_get(root, "devices");
	assert_int_equal(json_array_size(devs), p->n_devices);
	assert_int_equal(json_array_size(json_object_get(root, "anomalies")), st->n_anomalies);
	plc = find_device(devs, "plc-01");
	assert_non_null(plc);
	assert_string_equal(json_string_value(json_object_get(plc, "vendor")), "Siemens AG");
	assert_string_equal(json_string_value(json_object_get(plc, "order_number")), "6ES7 516-3AN02-0AB0");
	assert_string_equal(json_string_value(json_object_get(plc, "firmware")), "V2.9.4");
	assert_string_equal(json_string_value(json_object_get(plc, "serial")), p->hosts[3].serial);
	assert_string_equal(json_string_value(json_object_get(plc, "type")), "plc");
	assert_true(has_proto(plc, "s7comm", "server"));
	assert_true(has_proto(plc, "pn_dcp", "server"));
	rtu = find_device(devs, "rtu-01");
	assert_non_null(rtu);
	assert_true(has_proto(rtu, "dnp3", "server"));
	assert_true(has_proto(rtu, "iec60870_104", "server"));
	assert_int_equal(json_integer_value(json_object_get(rtu, "dnp3_address")), 10);
	json_decref(root);
	unlink(tpath);
	unlink(pcap);
	free(pcap);
	free(p);
	free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rejects_bad_arguments),
		cmocka_unit_test(default_site_has_every_role),
		cmocka_unit_test(addresses_unique_and_in_subnet),
		cmocka_unit_test(vendors_use_their_ouis),
		cmocka_unit_test(plant_is_a_function_of_the_seed),
		cmocka_unit_test(sys_descr_states_identity),
		cmocka_unit_test(modbus_vectors),
		cmocka_unit_test(s7_vectors),
		cmocka_unit_test(dnp3_crc_and_frames),
		cmocka_unit_test(iec104_and_bacnet_vectors),
		cmocka_unit_test(l2_and_names_vectors),
		cmocka_unit_test(enip_vectors),
		cmocka_unit_test(same_seed_same_bytes),
		cmocka_unit_test(timestamps_monotonic_and_in_window),
		cmocka_unit_test(tcp_streams_are_consistent),
		cmocka_unit_test(every_protocol_and_role_is_seen),
		cmocka_unit_test(anomalies_only_when_asked),
		cmocka_unit_test(truth_lists_every_device),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
