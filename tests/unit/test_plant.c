/* Tests for tools/plantsim: plant.c (hosts and addressing), traffic.c (schedule and determinism)
 * and the payload builders in payloads.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cursor.h"
#include "tools/plantsim/payloads.h"
#include "tools/plantsim/pcap_writer.h"
#include "tools/plantsim/plant.h"
#include "tools/plantsim/traffic.h"

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
	unsigned count[ROLE_FILESERVER + 1] = { 0 };

	for (unsigned i = 0; i < p->n_hosts; i++)
		count[p->hosts[i].role]++;
	assert_int_equal(count[ROLE_ROUTER], 1);
	assert_int_equal(count[ROLE_DHCP_DNS], 1);
	assert_int_equal(count[ROLE_EWS], 1);
	assert_int_equal(count[ROLE_HISTORIAN], 1);
	assert_int_equal(count[ROLE_FILESERVER], 1);
	assert_int_equal(count[ROLE_PLC], 3);
	assert_int_equal(count[ROLE_HMI], 2);
	assert_int_equal(count[ROLE_LAPTOP], 2);
	assert_int_equal(p->hosts[p->router].ip, 0x0a0a0101);
	assert_int_equal(p->hosts[p->dns].ip, 0x0a0a0102);
	free(p);
}

static void addresses_unique_and_in_subnet(void **state)
{
	struct plant *p = build(3, PLANT_MAX_HOSTS, 42);

	for (unsigned i = 0; i < p->n_hosts; i++) {
		const struct plant_host *h = &p->hosts[i];
		assert_int_equal(h->ip >> 8, 0x0a2a01);
		assert_true((h->ip & 0xff) != 0 && (h->ip & 0xff) != 255);
		assert_int_equal(h->mac[0] & 1, 0);          /* unicast */
		for (unsigned j = 0; j < i; j++) {
			assert_int_not_equal(h->ip, p->hosts[j].ip);
			assert_false(memcmp(h->mac, p->hosts[j].mac, 6) == 0);
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

	for (unsigned i = 0; i < p->n_hosts; i++) {
		const struct plant_host *h = &p->hosts[i];
		uint32_t oui = (uint32_t)(h->mac[0] << 16 | h->mac[1] << 8 | h->mac[2]);
		switch (h->vendor) {
		case VENDOR_SIEMENS: assert_true(oui == 0x001b1b || oui == 0x000e8c); break;
		case VENDOR_ROCKWELL: assert_true(oui == 0x0000bc || oui == 0x001d9c); break;
		case VENDOR_SCHNEIDER: assert_int_equal(oui, 0x0080f4); break;
		case VENDOR_CISCO: assert_true(oui == 0x001b54 || oui == 0x00000c); break;
		default: break;
		}
		if (h->role == ROLE_PLC || h->role == ROLE_HMI)
			assert_int_equal(h->vlan, PLANT_OT_VLAN);
		if (h->role == ROLE_LAPTOP)
			assert_true(h->dhcp);
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

static void payload_vectors(void **state)
{
	static const uint8_t modbus_req[] = { 0x00, 0x07, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x64, 0x00, 0x02 };
	static const uint8_t modbus_rsp[] = { 0x00, 0x07, 0x00, 0x00, 0x00, 0x07, 0x01, 0x03, 0x04, 0x01, 0x02, 0x03, 0x04 };
	static const uint8_t whois[] = { 0x81, 0x0b, 0x00, 0x0c, 0x01, 0x20, 0xff, 0xff, 0x00, 0xff, 0x10, 0x08 };
	const uint16_t regs[2] = { 0x0102, 0x0304 };
	uint8_t buf[400];
	struct wbuf b;
	struct pl_dhcp m = { .type = DHCP_DISCOVER, .xid = 1, .chaddr = (const uint8_t *)"\x00\x1b\x21\x01\x02\x03",
		.hostname = "LT-1234", .vendor_class = "MSFT 5.0" };

	wbuf_init(&b, buf, sizeof(buf));
	pl_modbus_read_req(&b, 7, 1, 100, 2);
	assert_int_equal(b.len, sizeof(modbus_req));
	assert_memory_equal(buf, modbus_req, sizeof(modbus_req));

	wbuf_init(&b, buf, sizeof(buf));
	pl_modbus_read_rsp(&b, 7, 1, regs, 2);
	assert_memory_equal(buf, modbus_rsp, sizeof(modbus_rsp));

	wbuf_init(&b, buf, sizeof(buf));
	pl_bacnet_whois(&b);
	assert_memory_equal(buf, whois, sizeof(whois));

	wbuf_init(&b, buf, sizeof(buf));
	pl_s7_read_req(&b, 1, 1, 0, 32);
	assert_int_equal(b.len, 31);
	assert_int_equal(buf[2] << 8 | buf[3], 31);    /* TPKT length covers the whole PDU */

	wbuf_init(&b, buf, sizeof(buf));
	pl_dhcp(&b, &m);
	assert_int_equal(b.len, 300);                  /* BOOTP minimum */
	assert_false(b.overflow);

	wbuf_init(&b, buf, 10);
	pl_dhcp(&b, &m);
	assert_true(b.overflow);
}

static char *generate(uint64_t seed, unsigned hosts, uint64_t seconds, struct traffic_stats *st)
{
	char *path = strdup("/tmp/otw-test-plant-XXXXXX");
	struct traffic_config cfg = { seed, START_USEC, seconds * 1000000ULL };
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
	struct traffic_stats s1, s2, s3;
	char *a = generate(42, 12, 30, &s1), *b = generate(42, 12, 30, &s2), *c = generate(43, 12, 30, &s3);
	size_t la, lb, lc;
	uint8_t *da = load(a, &la), *db = load(b, &lb), *dc = load(c, &lc);

	assert_true(s1.packets > 500);
	assert_int_equal(s1.packets, s2.packets);
	assert_int_equal(la, lb);
	assert_memory_equal(da, db, la);
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
}

/* Walks the records: timestamps never go backwards, stay inside [start, start + duration),
 * caplen equals len, and every frame is at least the 60-byte Ethernet minimum. */
static void timestamps_monotonic_and_in_window(void **state)
{
	struct traffic_stats st;
	char *path = generate(9, 20, 40, &st);
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
	assert_int_equal(count, st.packets);
	unlink(path);
	free(path);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rejects_bad_arguments),
		cmocka_unit_test(default_site_has_every_role),
		cmocka_unit_test(addresses_unique_and_in_subnet),
		cmocka_unit_test(vendors_use_their_ouis),
		cmocka_unit_test(plant_is_a_function_of_the_seed),
		cmocka_unit_test(payload_vectors),
		cmocka_unit_test(same_seed_same_bytes),
		cmocka_unit_test(timestamps_monotonic_and_in_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
