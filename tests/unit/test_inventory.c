/* Devices, connections, the router rule and incremental flushes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sensor-agent/inventory.h"

static const uint8_t MAC_A[6] = { 0x00, 0x1d, 0x9c, 0x00, 0x00, 0x0a };
static const uint8_t MAC_B[6] = { 0x00, 0x1d, 0x9c, 0x00, 0x00, 0x0b };
static const uint8_t MAC_R[6] = { 0x00, 0x1d, 0x9c, 0x00, 0x00, 0x0f };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static int64_t clock_s = 1700000000;

static void feed(struct inventory *inv, int linktype, const uint8_t *buf, size_t n, uint32_t wire_len)
{
	struct pcap_pkthdr h;

	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = clock_s++;
	h.caplen = (uint32_t)n;
	h.len = wire_len ? wire_len : (uint32_t)n;
	inventory_packet(inv, linktype, &h, buf);
}

static void ip4(uint8_t *out, const char *dotted)
{
	unsigned a, b, c, d;
	assert_int_equal(sscanf(dotted, "%u.%u.%u.%u", &a, &b, &c, &d), 4);
	out[0] = (uint8_t)a, out[1] = (uint8_t)b, out[2] = (uint8_t)c, out[3] = (uint8_t)d;
}

/* Ethernet + IPv4 + TCP (proto 6) or UDP (17) carrying pl (TCP: at sequence number seq). */
static size_t frame_pl(uint8_t *p, const uint8_t *smac, const uint8_t *dmac, const char *sip, const char *dip,
		       uint8_t proto, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, const void *pl,
		       size_t pl_len)
{
	size_t l4 = proto == 6 ? 20 : 8;
	uint16_t tot = (uint16_t)(20 + l4 + pl_len);

	memcpy(p, dmac, 6);
	memcpy(p + 6, smac, 6);
	p[12] = 0x08;
	p[13] = 0x00;
	memset(p + 14, 0, 20 + l4);
	p[14] = 0x45;
	p[16] = (uint8_t)(tot >> 8);
	p[17] = (uint8_t)tot;
	p[22] = 64;
	p[23] = proto;
	ip4(p + 26, sip);
	ip4(p + 30, dip);
	p[34] = (uint8_t)(sport >> 8);
	p[35] = (uint8_t)sport;
	p[36] = (uint8_t)(dport >> 8);
	p[37] = (uint8_t)dport;
	if (proto == 6) {
		p[38] = (uint8_t)(seq >> 24);
		p[39] = (uint8_t)(seq >> 16);
		p[40] = (uint8_t)(seq >> 8);
		p[41] = (uint8_t)seq;
		p[46] = 5 << 4;
		p[47] = flags;
	} else {
		p[38] = (uint8_t)((l4 + pl_len) >> 8);
		p[39] = (uint8_t)(l4 + pl_len);
	}
	if (pl_len)
		memcpy(p + 14 + 20 + l4, pl, pl_len);
	return 14 + 20 + l4 + pl_len;
}

/* The same without payload. */
static size_t frame(uint8_t *p, const uint8_t *smac, const uint8_t *dmac, const char *sip, const char *dip,
		    uint8_t proto, uint16_t sport, uint16_t dport, uint8_t flags)
{
	return frame_pl(p, smac, dmac, sip, dip, proto, sport, dport, flags, 0, NULL, 0);
}

static size_t arp_frame(uint8_t *p, const uint8_t *smac, const char *sip, const char *tip)
{
	memcpy(p, BCAST, 6);
	memcpy(p + 6, smac, 6);
	p[12] = 0x08;
	p[13] = 0x06;
	const uint8_t hdr[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	memcpy(p + 14, hdr, 8);
	memcpy(p + 22, smac, 6);
	ip4(p + 28, sip);
	memset(p + 32, 0, 6);
	ip4(p + 38, tip);
	return 42;
}

static json_t *find_by(json_t *arr, const char *field, const char *value)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		json_t *f = json_object_get(v, field);
		if (json_is_string(f) && strcmp(json_string_value(f), value) == 0)
			return v;
	}
	return NULL;
}

static bool has_proto(json_t *dev, const char *name, const char *role)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(dev, "protocols"), i, p) {
		if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0 &&
		    strcmp(json_string_value(json_object_get(p, "role")), role) == 0)
			return true;
	}
	return false;
}

static void client_server_connection(void **state)
{
	struct inventory *inv = inventory_new(NULL);
	uint8_t buf[128];
	size_t n;
	json_t *doc, *devs, *conns, *a, *b, *c;

	/* Mid-stream capture: the first packet is the server's reply; port 502 still makes B the server, and the
	 * Modbus PDUs confirm the protocol for both. The request is sent twice (a retransmission). */
	static const uint8_t rsp[] = { 0, 1, 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 2 };
	static const uint8_t req[] = { 0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 2 };
	n = frame_pl(buf, MAC_B, MAC_A, "10.0.0.2", "10.0.0.1", 6, 502, 40000, 0x18, 7000, rsp, sizeof(rsp));
	feed(inv, 1, buf, n, 100);
	n = frame_pl(buf, MAC_A, MAC_B, "10.0.0.1", "10.0.0.2", 6, 40000, 502, 0x18, 100, req, sizeof(req));
	feed(inv, 1, buf, n, 80);
	feed(inv, 1, buf, n, 0);
	doc = inventory_to_json(inv);
	devs = json_object_get(doc, "devices");
	conns = json_object_get(doc, "connections");
	assert_int_equal(json_array_size(devs), 2);
	assert_int_equal(json_array_size(conns), 1);
	a = find_by(devs, "key", "mac:00:1d:9c:00:00:0a");
	b = find_by(devs, "key", "mac:00:1d:9c:00:00:0b");
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(json_string_value(json_array_get(json_object_get(a, "ips"), 0)), "10.0.0.1");
	assert_true(has_proto(a, "mbtcp", "client"));
	assert_true(has_proto(b, "mbtcp", "server"));
	c = json_array_get(conns, 0);
	assert_string_equal(json_string_value(json_object_get(c, "transport")), "tcp");
	assert_string_equal(json_string_value(json_object_get(c, "src_addr")), "10.0.0.1");
	assert_string_equal(json_string_value(json_object_get(c, "dst_addr")), "10.0.0.2");
	assert_int_equal(json_integer_value(json_object_get(c, "port")), 502);
	assert_int_equal(json_integer_value(json_object_get(c, "packets")), 3);
	assert_int_equal(json_integer_value(json_object_get(c, "bytes")), 100 + 80 + 54 + sizeof(req));
	assert_int_equal(json_integer_value(json_object_get(c, "src")), json_integer_value(json_object_get(a, "id")));
	assert_int_equal(json_integer_value(json_object_get(c, "dst")), json_integer_value(json_object_get(b, "id")));
	assert_false(json_is_true(json_object_get(c, "broadcast")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(c, "protocols"), 0)), "mbtcp");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "stats"), "packets")), 3);
	json_decref(doc);
	inventory_free(inv);
}

static void router_unbinds_ips(void **state)
{
	struct inventory *inv = inventory_new(NULL);
	uint8_t buf[128];
	size_t n;
	json_t *doc, *devs, *r;

	/* The router announces its own address; then forwards traffic from two remote hosts to B. */
	n = arp_frame(buf, MAC_R, "10.0.0.254", "10.0.0.2");
	feed(inv, 1, buf, n, 0);
	n = frame(buf, MAC_R, MAC_B, "10.0.0.254", "10.0.0.2", 17, 1000, 161, 0);
	feed(inv, 1, buf, n, 0);
	static const char banner[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
	n = frame_pl(buf, MAC_R, MAC_B, "8.8.8.8", "10.0.0.2", 6, 22, 50000, 0x18, 1, banner, sizeof(banner) - 1);
	feed(inv, 1, buf, n, 0);
	doc = inventory_to_json(inv);
	devs = json_object_get(doc, "devices");
	/* Two IPv4 addresses on R in IP traffic: R is a router; 8.8.8.8 is an IP-only device, 10.0.0.254
	 * (claimed in ARP) stays. */
	assert_non_null(find_by(devs, "key", "ip:8.8.8.8"));
	assert_null(find_by(devs, "key", "ip:10.0.0.254"));
	r = find_by(devs, "key", "mac:00:1d:9c:00:00:0f");
	assert_non_null(r);
	assert_int_equal(json_array_size(json_object_get(r, "ips")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(r, "ips"), 0)), "10.0.0.254");
	assert_true(has_proto(r, "arp", "peer"));
	assert_true(has_proto(find_by(devs, "key", "ip:8.8.8.8"), "ssh", "server"));
	assert_false(has_proto(r, "ssh", "server"));
	/* the banner's facts stay with the address behind the router, not with the router's MAC */
	assert_string_equal(json_string_value(json_object_get(find_by(devs, "key", "ip:8.8.8.8"), "os")), "Debian");
	assert_true(json_is_null(json_object_get(r, "os")));
	json_decref(doc);

	/* Later addresses seen behind R never bind to it. */
	n = frame(buf, MAC_R, MAC_B, "1.1.1.1", "10.0.0.2", 17, 53, 40000, 0);
	feed(inv, 1, buf, n, 0);
	doc = inventory_to_json(inv);
	devs = json_object_get(doc, "devices");
	assert_non_null(find_by(devs, "key", "ip:1.1.1.1"));
	assert_int_equal(json_array_size(devs), 4); /* R, B, 8.8.8.8, 1.1.1.1 */
	json_decref(doc);
	inventory_free(inv);
}

struct sink {
	json_t *records;
	int fail_after; /* -1: never */
};

static int collect(void *ud, json_t *record)
{
	struct sink *s = ud;
	if (s->fail_after == 0)
		return 7;
	if (s->fail_after > 0)
		s->fail_after--;
	json_array_append(s->records, record);
	return 0;
}

static size_t count_kind(json_t *records, const char *kind)
{
	size_t i, k = 0;
	json_t *v;
	json_array_foreach(records, i, v)
		k += strcmp(json_string_value(json_object_get(v, "kind")), kind) == 0;
	return k;
}

static void flush_emits_increments(void **state)
{
	struct inventory *inv = inventory_new(NULL);
	struct sink s = { json_array(), -1 };
	uint8_t buf[128];
	size_t n;
	json_t *c;

	n = frame(buf, MAC_A, MAC_B, "10.0.0.1", "10.0.0.2", 6, 40000, 102, 0x02);
	feed(inv, 1, buf, n, 0);
	feed(inv, 1, buf, n, 0);
	assert_int_equal(inventory_flush(inv, collect, &s), 0);
	assert_int_equal(count_kind(s.records, "device"), 2);
	assert_int_equal(count_kind(s.records, "connection"), 1);
	c = json_array_get(s.records, 2);
	assert_int_equal(json_integer_value(json_object_get(c, "packets")), 2);
	assert_int_equal(json_integer_value(json_object_get(c, "bytes")), 2 * 54);
	assert_null(json_object_get(c, "seq"));
	assert_string_equal(json_string_value(json_object_get(c, "first_seen")) + 20, "000Z");

	/* Nothing new: nothing emitted. */
	json_array_clear(s.records);
	assert_int_equal(inventory_flush(inv, collect, &s), 0);
	assert_int_equal(json_array_size(s.records), 0);

	/* One more packet: the connection with an increment of 1, and the two devices it touched. */
	feed(inv, 1, buf, n, 60);
	assert_int_equal(inventory_flush(inv, collect, &s), 0);
	assert_int_equal(count_kind(s.records, "device"), 2);
	assert_int_equal(count_kind(s.records, "connection"), 1);
	c = json_array_get(s.records, 2);
	assert_int_equal(json_integer_value(json_object_get(c, "packets")), 1);
	assert_int_equal(json_integer_value(json_object_get(c, "bytes")), 60);

	/* A callback failure stops the flush and keeps the rest pending. */
	json_array_clear(s.records);
	feed(inv, 1, buf, n, 0);
	s.fail_after = 1;
	assert_int_equal(inventory_flush(inv, collect, &s), 7);
	assert_int_equal(json_array_size(s.records), 1);
	s.fail_after = -1;
	json_array_clear(s.records);
	assert_int_equal(inventory_flush(inv, collect, &s), 0);
	assert_int_equal(count_kind(s.records, "device"), 1);
	assert_int_equal(count_kind(s.records, "connection"), 1);
	json_decref(s.records);
	inventory_free(inv);
}

/* An IP first seen without a link layer is an ip: device; once a MAC claims it, that device is retracted
 * with a device_remove record ahead of the MAC device's record. */
static void merged_ip_device_is_retracted(void **state)
{
	struct inventory *inv = inventory_new(NULL);
	struct sink s = { json_array(), -1 };
	uint8_t buf[128];
	size_t n;
	json_t *first;

	n = frame(buf, MAC_A, MAC_B, "10.0.0.1", "10.0.0.2", 17, 40000, 161, 0);
	feed(inv, DLT_RAW, buf + 14, n - 14, 0);
	assert_int_equal(inventory_flush(inv, collect, &s), 0);
	assert_int_equal(count_kind(s.records, "device"), 2);
	assert_int_equal(count_kind(s.records, "device_remove"), 0);

	json_array_clear(s.records);
	feed(inv, 1, buf, n, 0);
	assert_int_equal(inventory_flush(inv, collect, &s), 0);
	assert_int_equal(count_kind(s.records, "device_remove"), 2);
	first = json_array_get(s.records, 0);
	assert_string_equal(json_string_value(json_object_get(first, "kind")), "device_remove");
	assert_non_null(find_by(s.records, "key", "ip:10.0.0.1"));
	assert_non_null(find_by(s.records, "key", "mac:00:1d:9c:00:00:0a"));

	/* Retractions are sent once. */
	json_array_clear(s.records);
	assert_int_equal(inventory_flush(inv, collect, &s), 0);
	assert_int_equal(count_kind(s.records, "device_remove"), 0);
	json_decref(s.records);
	inventory_free(inv);
}

static void broadcast_and_l2(void **state)
{
	struct inventory *inv = inventory_new(NULL);
	uint8_t buf[128];
	size_t n;
	json_t *doc, *devs, *conns, *c, *a;
	static const uint8_t LLDP_MC[6] = { 0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e };

	/* A NetBIOS name registration of "PLC" broadcast by A, and an LLDP announcement (chassis MAC, port
	 * "1", TTL 120, end) from B. */
	uint8_t reg[12 + 34 + 4 + 2 + 10 + 6] = { 0x12, 0x34, 0x29, 0x10, 0, 1, 0, 0, 0, 0, 0, 1, 0x20 };
	size_t o = 13;
	const char name[16] = "PLC            ";
	for (int i = 0; i < 16; i++) {
		reg[o++] = (uint8_t)('A' + ((uint8_t)name[i] >> 4));
		reg[o++] = (uint8_t)('A' + ((uint8_t)name[i] & 15));
	}
	const uint8_t tail[] = { 0, 0, 0x20, 0, 1, 0xc0, 0x0c, 0, 0x20, 0, 1, 0, 0, 0x0e, 0x10, 0, 6, 0, 0,
				 10, 0, 0, 1 };
	memcpy(reg + o, tail, sizeof(tail));
	o += sizeof(tail);
	n = frame_pl(buf, MAC_A, BCAST, "10.0.0.1", "255.255.255.255", 17, 137, 137, 0, 0, reg, o);
	feed(inv, 1, buf, n, 0);
	static const uint8_t lldp[] = { 0x02, 0x07, 0x04, 0x00, 0x1d, 0x9c, 0x00, 0x00, 0x0b, 0x04, 0x02, 0x07, '1',
					0x06, 0x02, 0x00, 0x78, 0x00, 0x00 };
	memcpy(buf, LLDP_MC, 6);
	memcpy(buf + 6, MAC_B, 6);
	buf[12] = 0x88;
	buf[13] = 0xcc;
	memset(buf + 14, 0, 46);
	memcpy(buf + 14, lldp, sizeof(lldp));
	feed(inv, 1, buf, 60, 0);
	doc = inventory_to_json(inv);
	devs = json_object_get(doc, "devices");
	conns = json_object_get(doc, "connections");
	assert_int_equal(json_array_size(devs), 2);
	a = find_by(devs, "key", "mac:00:1d:9c:00:00:0a");
	assert_true(has_proto(a, "nbns", "client")); /* a registration request */
	assert_true(has_proto(find_by(devs, "key", "mac:00:1d:9c:00:00:0b"), "lldp", "peer"));
	c = find_by(conns, "transport", "udp");
	assert_true(json_is_true(json_object_get(c, "broadcast")));
	assert_true(json_is_null(json_object_get(c, "dst")));
	assert_string_equal(json_string_value(json_object_get(c, "dst_addr")), "255.255.255.255");
	c = find_by(conns, "transport", "eth");
	assert_non_null(c);
	assert_true(json_is_null(json_object_get(c, "port")));
	assert_true(json_is_true(json_object_get(c, "broadcast")));
	assert_string_equal(json_string_value(json_object_get(c, "src_addr")), "00:1d:9c:00:00:0b");
	assert_string_equal(json_string_value(json_array_get(json_object_get(c, "protocols"), 0)), "lldp");
	json_decref(doc);
	inventory_free(inv);
}

static void no_link_layer_gives_ip_devices(void **state)
{
	struct inventory *inv = inventory_new(NULL);
	uint8_t buf[128];
	size_t n = frame(buf, MAC_A, MAC_B, "127.0.0.1", "127.0.0.1", 6, 50000, 4840, 0x02);
	json_t *doc, *devs, *c;
	/* An OPC UA Hello after the SYN: protocol 0, buffers 65536, no limits, endpoint "opc.tcp://x:4840". */
	static const uint8_t hel[] = { 'H', 'E', 'L', 'F', 48, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
				       0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 'o', 'p', 'c', '.', 't', 'c', 'p', ':', '/',
				       '/', 'x', ':', '4', '8', '4', '0' };

	/* Feed the IP part through the raw-IP link type. */
	feed(inv, 101, buf + 14, n - 14, 0);
	n = frame_pl(buf, MAC_A, MAC_B, "127.0.0.1", "127.0.0.1", 6, 50000, 4840, 0x18, 1, hel, sizeof(hel));
	feed(inv, 101, buf + 14, n - 14, 0);
	doc = inventory_to_json(inv);
	devs = json_object_get(doc, "devices");
	assert_int_equal(json_array_size(devs), 1);
	assert_non_null(find_by(devs, "key", "ip:127.0.0.1"));
	c = json_array_get(json_object_get(doc, "connections"), 0);
	assert_int_equal(json_integer_value(json_object_get(c, "src")), 0);
	assert_int_equal(json_integer_value(json_object_get(c, "dst")), 0);
	assert_true(has_proto(json_array_get(devs, 0), "opcua", "client"));
	assert_true(has_proto(json_array_get(devs, 0), "opcua", "server"));
	json_decref(doc);
	inventory_free(inv);
}

static void deterministic_output(void **state)
{
	char *out[2];

	for (int k = 0; k < 2; k++) {
		struct inventory *inv = inventory_new(NULL);
		uint8_t buf[128];
		for (int i = 0; i < 50; i++) {
			char sip[16];
			snprintf(sip, sizeof(sip), "10.0.1.%d", i + 1);
			uint8_t mac[6] = { 0, 1, 2, 3, 4, (uint8_t)i };
			size_t n = frame(buf, mac, MAC_B, sip, "10.0.0.2", 17, (uint16_t)(30000 + i), 20000, 0);
			feed(inv, 1, buf, n, 0);
		}
		json_t *doc = inventory_to_json(inv);
		json_object_del(json_object_get(doc, "stats"), "first_packet");
		json_object_del(json_object_get(doc, "stats"), "last_packet");
		json_t *d;
		size_t i;
		json_array_foreach(json_object_get(doc, "devices"), i, d) {
			json_object_del(d, "first_seen");
			json_object_del(d, "last_seen");
		}
		json_array_foreach(json_object_get(doc, "connections"), i, d) {
			json_object_del(d, "first_seen");
			json_object_del(d, "last_seen");
		}
		out[k] = json_dumps(doc, JSON_SORT_KEYS);
		json_decref(doc);
		inventory_free(inv);
	}
	assert_string_equal(out[0], out[1]);
	free(out[0]);
	free(out[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(client_server_connection),
		cmocka_unit_test(router_unbinds_ips),
		cmocka_unit_test(flush_emits_increments),
		cmocka_unit_test(merged_ip_device_is_retracted),
		cmocka_unit_test(broadcast_and_l2),
		cmocka_unit_test(no_link_layer_gives_ip_devices),
		cmocka_unit_test(deterministic_output),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
