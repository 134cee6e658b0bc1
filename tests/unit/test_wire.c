#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.h"

#define SID "0b5e7c1a-3f7e-4c47-9a7d-1e2f3a4b5c6d"
#define DEV "{\"seq\":%d,\"kind\":\"device\",\"key\":\"mac:00:1d:9c:c6:72:e8\",\"macs\":[\"00:1d:9c:c6:72:e8\"]," \
	    "\"ips\":[\"10.0.0.9\",\"fe80::1\"],\"vlans\":[0,12],\"vendor\":\"Rockwell\",\"hostname\":null,"     \
	    "\"type\":\"plc\",\"protocols\":[{\"name\":\"enip\",\"role\":\"server\"}],"                         \
	    "\"first_seen\":\"2024-01-01T00:00:00.000Z\",\"last_seen\":\"2024-01-01T00:01:00.000Z\"}"
#define CONN "{\"seq\":%d,\"kind\":\"connection\",\"transport\":\"tcp\",\"src_addr\":\"10.0.0.1\","        \
	     "\"dst_addr\":\"10.0.0.9\",\"port\":502,\"broadcast\":false,\"protocols\":[\"modbus\"],"          \
	     "\"packets\":10,\"bytes\":1200,\"first_seen\":\"2024-01-01T00:00:00Z\","                          \
	     "\"last_seen\":\"2024-01-01T00:00:05.5Z\"}"
#define ALERT "{\"seq\":%d,\"kind\":\"alert\",\"engine\":\"policy_violation\",\"severity\":\"minor\","      \
	      "\"title\":\"New connection\",\"message\":\"m\",\"remediation\":\"r\",\"src\":\"10.0.0.1\","         \
	      "\"dst\":\"10.0.0.9\",\"src_mac\":\"00:1d:9c:c6:72:e8\",\"dst_mac\":null,\"protocol\":null,"        \
	      "\"count\":2,\"first_seen\":\"2024-01-01T00:00:00Z\",\"last_seen\":\"2024-01-01T00:00:01Z\","         \
	      "\"learn\":{\"kind\":\"connection\",\"a\":\"10.0.0.1\",\"b\":\"10.0.0.9\",\"proto\":\"tcp\","        \
	      "\"code\":502},\"evidence\":\"e-1\"}"
#define EVENT "{\"seq\":%d,\"kind\":\"event\",\"proto\":\"s7comm\",\"name\":\"plc_stop\",\"src_addr\":\"10.0.0.1\"," \
	      "\"dst_addr\":null,\"count\":1,\"first_seen\":null,\"last_seen\":\"2024-01-01T00:00:01Z\"}"
#define HEALTH "{\"seq\":%d,\"kind\":\"health\",\"at\":\"2024-01-01T00:00:00.000Z\",\"event\":\"stats\"," \
	       "\"drops\":3}"

static int parse(const char *s, struct wire_msg *m, char *err, size_t errlen)
{
	return wire_parse(s, strlen(s), m, err, errlen);
}

static void expect_error(const char *json, const char *want)
{
	struct wire_msg m;
	char err[256];

	if (parse(json, &m, err, sizeof(err)) != -EINVAL)
		fail_msg("accepted: %s", json);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not contain \"%s\" for %s", err, want, json);
}

/* Replaces the value of one member inside a record template: "<name>":<value>. */
static char rec1_buf[4096];
#define REC1(T) (snprintf(rec1_buf, sizeof(rec1_buf), T, 1), rec1_buf)

static char *batch_with(const char *rec1, const char *member, const char *value)
{
	static char out[8192];
	char rec[4096], edited[4096];
	snprintf(rec, sizeof(rec), "%s", rec1);
	if (member) {
		char key[64];
		snprintf(key, sizeof(key), "\"%s\":", member);
		char *p = strstr(rec, key);
		assert_non_null(p);
		char *v = p + strlen(key);
		/* The value ends at the next ',' or '}' outside brackets and strings. */
		int depth = 0;
		bool str = false;
		char *e = v;
		for (; *e; e++) {
			if (str) {
				if (*e == '"')
					str = false;
				continue;
			}
			if (*e == '"')
				str = true;
			else if (*e == '[' || *e == '{')
				depth++;
			else if (*e == ']' || *e == '}') {
				if (depth == 0)
					break;
				depth--;
			} else if (*e == ',' && depth == 0)
				break;
		}
		if (value)
			snprintf(edited, sizeof(edited), "%.*s%s%s", (int)(v - rec), rec, value, e);
		else /* drop the member (and its comma) */
			snprintf(edited, sizeof(edited), "%.*s%s", (int)(p - rec), rec, *e == ',' ? e + 1 : e);
		snprintf(rec, sizeof(rec), "%s", edited);
	}
	snprintf(out, sizeof(out), "{\"type\":\"batch\",\"seq_from\":1,\"seq_to\":1,\"records\":[%s]}", rec);
	return out;
}

static void test_round_trip(void **state)
{
	struct wire_msg m;
	char err[256];
	size_t len;
	char *s;

	s = wire_encode(wire_build_hello(SID, "0.1.0", "learning", 5, 9), &len);
	assert_non_null(s);
	assert_int_equal(wire_parse(s, len, &m, err, sizeof(err)), 0);
	assert_int_equal(m.type, WIRE_HELLO);
	assert_int_equal(m.u.hello.major, WIRE_PROTO_MAJOR);
	assert_int_equal(m.u.hello.minor, WIRE_PROTO_MINOR);
	assert_string_equal(m.u.hello.sensor_id, SID);
	assert_string_equal(m.u.hello.mode, "learning");
	assert_int_equal(m.u.hello.first_seq, 5);
	assert_int_equal(m.u.hello.last_seq, 9);
	wire_msg_free(&m);
	free(s);

	s = wire_encode(wire_build_welcome(42), &len);
	assert_int_equal(wire_parse(s, len, &m, err, sizeof(err)), 0);
	assert_int_equal(m.type, WIRE_WELCOME);
	assert_int_equal(m.u.welcome.applied_seq, 42);
	wire_msg_free(&m);
	free(s);

	s = wire_encode(wire_build_ack(INT64_MAX), &len);
	assert_int_equal(wire_parse(s, len, &m, err, sizeof(err)), 0);
	assert_int_equal(m.type, WIRE_ACK);
	assert_true(m.u.ack.seq == (uint64_t)INT64_MAX);
	wire_msg_free(&m);
	free(s);

	s = wire_encode(wire_build_ping(), &len);
	assert_int_equal(wire_parse(s, len, &m, err, sizeof(err)), 0);
	assert_int_equal(m.type, WIRE_PING);
	wire_msg_free(&m);
	free(s);
	s = wire_encode(wire_build_pong(), &len);
	assert_int_equal(wire_parse(s, len, &m, err, sizeof(err)), 0);
	assert_int_equal(m.type, WIRE_PONG);
	wire_msg_free(&m);
	free(s);
}

static void test_batch_round_trip(void **state)
{
	char rec[4096];
	json_error_t je;
	json_t *recs = json_array();
	struct wire_msg m;
	char err[256];
	size_t len;

	snprintf(rec, sizeof(rec), DEV, 7);
	json_array_append_new(recs, json_loads(rec, 0, &je));
	snprintf(rec, sizeof(rec), CONN, 8);
	json_array_append_new(recs, json_loads(rec, 0, &je));
	snprintf(rec, sizeof(rec), HEALTH, 9);
	json_array_append_new(recs, json_loads(rec, 0, &je));
	assert_int_equal(wire_check_record(json_array_get(recs, 0), err, sizeof(err)), 0);
	char *s = wire_encode(wire_build_batch(7, 9, recs), &len);
	assert_non_null(s);
	assert_int_equal(wire_parse(s, len, &m, err, sizeof(err)), 0);
	assert_int_equal(m.type, WIRE_BATCH);
	assert_int_equal(m.u.batch.nrecords, 3);
	const struct wire_record *r = m.u.batch.records;
	assert_int_equal(r[0].kind, WIRE_REC_DEVICE);
	assert_int_equal(r[0].seq, 7);
	assert_string_equal(r[0].u.dev.key, "mac:00:1d:9c:c6:72:e8");
	assert_string_equal(r[0].u.dev.vendor, "Rockwell");
	assert_null(r[0].u.dev.hostname);
	assert_int_equal(json_array_size(r[0].u.dev.ips), 2);
	assert_true(r[0].u.dev.last_seen - r[0].u.dev.first_seen == 60000000);
	assert_int_equal(r[1].kind, WIRE_REC_CONNECTION);
	assert_int_equal(r[1].u.conn.transport, WIRE_TR_TCP);
	assert_int_equal(r[1].u.conn.port, 502);
	assert_int_equal(r[1].u.conn.packets, 10);
	assert_int_equal(r[1].u.conn.bytes, 1200);
	assert_false(r[1].u.conn.broadcast);
	assert_true(r[1].u.conn.last_seen - r[1].u.conn.first_seen == 5500000);
	assert_int_equal(r[2].kind, WIRE_REC_HEALTH);
	assert_string_equal(r[2].u.health.event, "stats");
	wire_msg_free(&m);
	free(s);
}

/* After the sensor's journal compacted or dropped records, a batch has gaps: seqs increase within the range,
 * which may be wider than WIRE_MAX_RECORDS; the record count may not. */
static void test_batch_gaps(void **state)
{
	char a[2048], b[2048], c[2048], buf[8192];
	struct wire_msg m;
	char err[256];

	(void)state;
	snprintf(a, sizeof(a), HEALTH, 5);
	snprintf(b, sizeof(b), HEALTH, 9);
	snprintf(c, sizeof(c), HEALTH, 40000);
	snprintf(buf, sizeof(buf), "{\"type\":\"batch\",\"seq_from\":3,\"seq_to\":50000,\"records\":[%s,%s,%s]}", a, b,
		 c);
	assert_int_equal(wire_parse(buf, strlen(buf), &m, err, sizeof(err)), 0);
	assert_int_equal(m.u.batch.nrecords, 3);
	assert_int_equal(m.u.batch.records[0].seq, 5);
	assert_int_equal(m.u.batch.records[1].seq, 9);
	assert_int_equal(m.u.batch.records[2].seq, 40000);
	assert_int_equal(m.u.batch.seq_to, 50000);
	wire_msg_free(&m);
	/* Decreasing seqs are refused. */
	snprintf(buf, sizeof(buf), "{\"type\":\"batch\",\"seq_from\":1,\"seq_to\":50,\"records\":[%s,%s]}", b, a);
	expect_error(buf, "records[1].seq: 5, not above the previous record's 9");

	/* WIRE_MAX_RECORDS + 1 records are refused whatever the range. */
	size_t cap = (size_t)(WIRE_MAX_RECORDS + 1) * 160 + 128, off = 0;
	char *big = malloc(cap);
	assert_non_null(big);
	off += (size_t)snprintf(big + off, cap - off, "{\"type\":\"batch\",\"seq_from\":1,\"seq_to\":%d,\"records\":[",
				2 * (WIRE_MAX_RECORDS + 1));
	for (int i = 0; i <= WIRE_MAX_RECORDS; i++) {
		char r[256];
		snprintf(r, sizeof(r), HEALTH, 2 * i + 1);
		off += (size_t)snprintf(big + off, cap - off, "%s%s", i ? "," : "", r);
		assert_true(off < cap);
	}
	off += (size_t)snprintf(big + off, cap - off, "]}");
	assert_int_equal(wire_parse(big, off, &m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "records: 10001 records; a batch holds 1..10000"));
	free(big);
}

static void test_device_remove_record(void **state)
{
	char err[256];
	json_t *ok = json_pack("{s:i, s:s, s:s}", "seq", 3, "kind", "device_remove", "key", "ip:10.0.0.7");
	json_t *bad = json_pack("{s:i, s:s, s:s}", "seq", 3, "kind", "device_remove", "key", "host:plc");

	assert_int_equal(wire_check_record(ok, err, sizeof(err)), 0);
	assert_int_not_equal(wire_check_record(bad, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "key"));
	json_decref(ok);
	json_decref(bad);
}

static void test_message_errors(void **state)
{
	expect_error("", "not JSON");
	expect_error("{\"type\":\"ack\",\"seq\":1", "not JSON");
	expect_error("[1,2]", "message: not an object");
	expect_error("{}", "type: missing");
	expect_error("{\"type\":7}", "type: not a string");
	expect_error("{\"type\":\"bogus\"}", "type: unknown value");
	expect_error("{\"type\":\"ack\",\"seq\":1,\"seq\":2}", "not JSON"); /* duplicate keys */
	expect_error("{\"type\":\"ack\",\"seq\":-1}", "seq: not an integer 0..");
	expect_error("{\"type\":\"ack\",\"seq\":1.5}", "seq: not an integer");
	expect_error("{\"type\":\"ack\",\"seq\":\"1\"}", "seq: not an integer");
	expect_error("{\"type\":\"ack\"}", "seq: missing");
	expect_error("{\"type\":\"welcome\"}", "applied_seq: missing");
	expect_error("{\"type\":\"ack\",\"seq\":99999999999999999999}", "not JSON"); /* beyond int64 */
}

static void test_hello_errors(void **state)
{
	char buf[1024];
	struct wire_msg m;
	char err[256];

#define H(p, s, mo)                                                                                           \
	(snprintf(buf, sizeof(buf),                                                                           \
		  "{\"type\":\"hello\",\"proto\":%s,\"sensor_id\":%s,\"version\":\"0.1.0\",\"mode\":%s,"           \
		  "\"first_seq\":1,\"last_seq\":2}",                                                              \
		  p, s, mo),                                                                                  \
	 buf)
	assert_int_equal(parse(H("\"1.0\"", "\"" SID "\"", "\"learning\""), &m, err, sizeof(err)), 0);
	wire_msg_free(&m);
	/* An unknown major version parses: the gateway answers it with 4001. */
	assert_int_equal(parse(H("\"7.3\"", "\"" SID "\"", "\"operational\""), &m, err, sizeof(err)), 0);
	assert_int_equal(m.u.hello.major, 7);
	assert_int_equal(m.u.hello.minor, 3);
	wire_msg_free(&m);
	expect_error(H("\"1\"", "\"" SID "\"", "\"learning\""), "proto: not \"MAJOR.MINOR\"");
	expect_error(H("\"1.x\"", "\"" SID "\"", "\"learning\""), "proto: not");
	expect_error(H("\"-1.0\"", "\"" SID "\"", "\"learning\""), "proto: not");
	expect_error(H("\"1.0.1\"", "\"" SID "\"", "\"learning\""), "proto: not");
	expect_error(H("1", "\"" SID "\"", "\"learning\""), "proto: not a string");
	expect_error(H("\"1.0\"", "\"sensor-7\"", "\"learning\""), "sensor_id: not a UUID");
	expect_error(H("\"1.0\"", "\"" SID "x\"", "\"learning\""), "sensor_id: longer than");
	expect_error(H("\"1.0\"", "null", "\"learning\""), "sensor_id: not a string");
	expect_error(H("\"1.0\"", "\"" SID "\"", "\"sleeping\""), "mode: unknown value");
#undef H
	expect_error("{\"type\":\"hello\",\"proto\":\"1.0\",\"sensor_id\":\"" SID "\",\"version\":\"1\",\"mode\":\"learning\","
		     "\"first_seq\":1}",
		     "last_seq: missing");
}

static void test_batch_shape_errors(void **state)
{
	char rec[2048], buf[8192];

	snprintf(rec, sizeof(rec), HEALTH, 5);
	expect_error("{\"type\":\"batch\",\"seq_from\":0,\"seq_to\":0,\"records\":[]}", "seq_from: must be at least 1");
	expect_error("{\"type\":\"batch\",\"seq_from\":5,\"seq_to\":4,\"records\":[]}", "seq_to: less than seq_from");
	expect_error("{\"type\":\"batch\",\"seq_from\":1,\"seq_to\":20000,\"records\":[]}",
		     "records: 0 records; a batch holds 1..10000");
	expect_error("{\"type\":\"batch\",\"seq_from\":1,\"seq_to\":1}", "records: missing");
	expect_error("{\"type\":\"batch\",\"seq_from\":1,\"seq_to\":1,\"records\":{}}", "records: not an array");
	snprintf(buf, sizeof(buf), "{\"type\":\"batch\",\"seq_from\":5,\"seq_to\":6,\"records\":[%s,%s,%s]}", rec, rec,
		 rec);
	expect_error(buf, "records: 3 records for seq 5..6");
	/* Seqs must increase: 5 then 5. */
	snprintf(buf, sizeof(buf), "{\"type\":\"batch\",\"seq_from\":5,\"seq_to\":6,\"records\":[%s,%s]}", rec, rec);
	expect_error(buf, "records[1].seq: 5, not above the previous record's 5");
	snprintf(buf, sizeof(buf), "{\"type\":\"batch\",\"seq_from\":4,\"seq_to\":4,\"records\":[%s]}", rec);
	expect_error(buf, "records[0].seq: 5, outside seq_from..seq_to 4..4");
	snprintf(buf, sizeof(buf), "{\"type\":\"batch\",\"seq_from\":6,\"seq_to\":9,\"records\":[%s]}", rec);
	expect_error(buf, "records[0].seq: 5, outside seq_from..seq_to 6..9");
	expect_error("{\"type\":\"batch\",\"seq_from\":1,\"seq_to\":1,\"records\":[7]}", "records[0]: not an object");
	expect_error(batch_with(REC1(HEALTH), "kind", "\"alarm\""), "records[0].kind: unknown value");
	expect_error(batch_with(REC1(HEALTH), "seq", NULL), "records[0].seq: missing");
}

static void test_device_errors(void **state)
{
	struct wire_msg m;
	char err[256];

	assert_int_equal(parse(batch_with(REC1(DEV), NULL, NULL), &m, err, sizeof(err)), 0);
	wire_msg_free(&m);
	assert_int_equal(parse(batch_with(REC1(DEV), "key", "\"ip:2001:db8::1\""), &m, err, sizeof(err)), 0);
	wire_msg_free(&m);
	expect_error(batch_with(REC1(DEV), "key", "\"host:plc1\""), "records[0].key: not \"mac:<mac>\"");
	expect_error(batch_with(REC1(DEV), "key", "\"mac:00:1d:9c:c6:72\""), "records[0].key:");
	expect_error(batch_with(REC1(DEV), "key", "\"ip:10.0.0.300\""), "records[0].key:");
	expect_error(batch_with(REC1(DEV), "key", NULL), "records[0].key: missing");
	expect_error(batch_with(REC1(DEV), "macs", "[\"00:1d:9c:c6:72:zz\"]"), "records[0].macs: entry 0: not a MAC");
	expect_error(batch_with(REC1(DEV), "macs", "\"00:1d:9c:c6:72:e8\""), "records[0].macs: not an array");
	expect_error(batch_with(REC1(DEV), "ips", "[\"10.0.0.1\",5]"), "records[0].ips: entry 1: not an IP");
	expect_error(batch_with(REC1(DEV), "vlans", "[4096]"), "records[0].vlans: entry 0: not an integer 0..4095");
	expect_error(batch_with(REC1(DEV), "vlans", "[-1]"), "records[0].vlans: entry 0");
	expect_error(batch_with(REC1(DEV), "vendor", "5"), "records[0].vendor: not a string or null");
	expect_error(batch_with(REC1(DEV), "hostname", NULL), "records[0].hostname: missing");
	expect_error(batch_with(REC1(DEV), "protocols", "[{\"name\":\"enip\",\"role\":\"boss\"}]"),
		     "records[0].protocols[0].role: unknown value");
	expect_error(batch_with(REC1(DEV), "protocols", "[{\"role\":\"peer\"}]"), "records[0].protocols[0].name: missing");
	expect_error(batch_with(REC1(DEV), "protocols", "[\"enip\"]"), "records[0].protocols: entry 0: not an object");
	expect_error(batch_with(REC1(DEV), "first_seen", "\"yesterday\""), "records[0].first_seen: not an RFC 3339 time");
	expect_error(batch_with(REC1(DEV), "last_seen", "0"), "records[0].last_seen: not a string");

	/* Bounds: strings and arrays. */
	char big[400], arr[8192];
	memset(big, 'a', sizeof(big));
	big[0] = '"';
	big[WIRE_MAX_STR + 2] = '"';
	big[WIRE_MAX_STR + 3] = '\0';
	expect_error(batch_with(REC1(DEV), "vendor", big), "records[0].vendor: longer than 255 bytes");
	big[WIRE_MAX_STR + 1] = '"';
	big[WIRE_MAX_STR + 2] = '\0';
	assert_int_equal(parse(batch_with(REC1(DEV), "vendor", big), &m, err, sizeof(err)), 0);
	wire_msg_free(&m);
	size_t n = 0;
	n += (size_t)snprintf(arr + n, sizeof(arr) - n, "[");
	for (int i = 0; i <= WIRE_MAX_LIST; i++)
		n += (size_t)snprintf(arr + n, sizeof(arr) - n, "%s%d", i ? "," : "", i % 4096);
	snprintf(arr + n, sizeof(arr) - n, "]");
	expect_error(batch_with(REC1(DEV), "vlans", arr), "records[0].vlans: more than 256 entries");
}

static void test_connection_errors(void **state)
{
	struct wire_msg m;
	char err[256];

	assert_int_equal(parse(batch_with(REC1(CONN), "port", "null"), &m, err, sizeof(err)), 0);
	assert_int_equal(m.u.batch.records[0].u.conn.port, -1);
	wire_msg_free(&m);
	expect_error(batch_with(REC1(CONN), "port", "65536"), "records[0].port: not an integer 0..65535");
	expect_error(batch_with(REC1(CONN), "port", "\"502\""), "records[0].port: not an integer 0..65535");
	expect_error(batch_with(REC1(CONN), "port", NULL), "records[0].port: missing");
	expect_error(batch_with(REC1(CONN), "transport", "\"sctp\""), "records[0].transport: unknown value");
	expect_error(batch_with(REC1(CONN), "src_addr", "\"00:11:22:33:44:55\""), "records[0].src_addr: not an IP address");
	expect_error(batch_with(REC1(CONN), "dst_addr", "\"host\""), "records[0].dst_addr: not an IP address");
	expect_error(batch_with(REC1(CONN), "broadcast", "0"), "records[0].broadcast: not a boolean");
	expect_error(batch_with(REC1(CONN), "protocols", "[\"\"]"), "records[0].protocols: entry 0");
	expect_error(batch_with(REC1(CONN), "packets", "-5"), "records[0].packets: not an integer");
	expect_error(batch_with(REC1(CONN), "bytes", "1e3"), "records[0].bytes: not an integer");
	expect_error(batch_with(REC1(CONN), "last_seen", "\"2024-13-01T00:00:00Z\""), "records[0].last_seen: not an RFC");
	/* eth connections carry MACs. */
	char rec[2048], buf[4096];
	snprintf(rec, sizeof(rec), "%s", batch_with(REC1(CONN), "transport", "\"eth\""));
	expect_error(rec, "records[0].src_addr: not a MAC address");
	snprintf(buf, sizeof(buf), "%s", rec);
	char *p = strstr(buf, "\"10.0.0.1\"");
	memcpy(p, "\"01:02\"", 7);
	memmove(p + 7, p + 10, strlen(p + 10) + 1);
	expect_error(buf, "records[0].src_addr: not a MAC address");
}

static void test_health_errors(void **state)
{
	expect_error(batch_with(REC1(HEALTH), "event", "\"panic\""), "records[0].event: unknown value");
	expect_error(batch_with(REC1(HEALTH), "at", NULL), "records[0].at: missing");
}

static void test_config(void **state)
{
	struct wire_msg m;
	char err[256];
	json_t *settings;
	char *text;

	assert_int_equal(parse("{\"type\":\"config\",\"settings\":{\"subnets\":[\"10.0.0.0/24\",\"fd00::/8\"],"
			       "\"vlan_names\":{\"10\":\"PLC net\"},\"port_names\":{\"502\":\"Modbus\"},"
			       "\"dhcp_ranges\":[{\"start\":\"10.0.0.100\",\"end\":\"10.0.0.200\"}]}}",
			       &m, err, sizeof(err)),
			 0);
	assert_int_equal(m.type, WIRE_CONFIG);
	settings = json_deep_copy(m.u.config.settings);
	wire_msg_free(&m);
	text = wire_encode(wire_build_config(settings, NULL, 0, NULL), NULL);
	assert_non_null(text);
	assert_int_equal(parse(text, &m, err, sizeof(err)), 0);
	assert_true(json_equal(m.u.config.settings, settings));
	wire_msg_free(&m);
	free(text);
	json_decref(settings);
	expect_error("{\"type\":\"config\"}", "settings: not an object");
	expect_error("{\"type\":\"config\",\"settings\":{\"subnets\":[\"10.0.0.0/33\"]}}",
		     "settings.subnets: entry 0 is not a CIDR subnet");
	expect_error("{\"type\":\"config\",\"settings\":{\"vlan_names\":{\"4095\":\"x\"}}}",
		     "settings.vlan_names: key \"4095\" is not a number 1..4094");
	expect_error("{\"type\":\"config\",\"settings\":{\"dhcp_ranges\":[{\"start\":\"10.0.0.1\",\"end\":\"::1\"}]}}",
		     "settings.dhcp_ranges: entry 0 needs start and end addresses of one family");
	assert_true(wire_is_cidr("192.168.0.0/16"));
	assert_false(wire_is_cidr("192.168.0.0/"));
	assert_false(wire_is_cidr("192.168.0.0"));
	assert_false(wire_is_cidr("::1/129"));
}

static void test_alert_and_event(void **state)
{
	struct wire_msg m;
	char err[256], b[8192];

	snprintf(b, sizeof(b), "{\"type\":\"batch\",\"seq_from\":1,\"seq_to\":2,\"records\":[" ALERT "," EVENT "]}", 1, 2);
	assert_int_equal(parse(b, &m, err, sizeof(err)), 0);
	assert_int_equal(m.u.batch.records[0].kind, WIRE_REC_ALERT);
	assert_string_equal(m.u.batch.records[0].u.alert.engine, "policy_violation");
	assert_string_equal(m.u.batch.records[0].u.alert.src_mac, "00:1d:9c:c6:72:e8");
	assert_null(m.u.batch.records[0].u.alert.dst_mac);
	assert_null(m.u.batch.records[0].u.alert.protocol);
	assert_int_equal(m.u.batch.records[0].u.alert.count, 2);
	assert_non_null(m.u.batch.records[0].u.alert.learn);
	assert_string_equal(m.u.batch.records[0].u.alert.evidence, "e-1");
	assert_int_equal(m.u.batch.records[1].kind, WIRE_REC_EVENT);
	assert_int_equal(m.u.batch.records[1].u.ev.first_seen, 0);
	assert_true(m.u.batch.records[1].u.ev.last_seen > 0);
	assert_ptr_equal(m.u.batch.records[1].obj, json_array_get(json_object_get(m.root, "records"), 1));
	wire_msg_free(&m);
	expect_error(batch_with(REC1(ALERT), "engine", "\"magic\""), "records[0].engine: unknown value");
	expect_error(batch_with(REC1(ALERT), "severity", "\"high\""), "records[0].severity: unknown value");
	expect_error(batch_with(REC1(ALERT), "count", "0"), "records[0].count: not an integer 1..");
	expect_error(batch_with(REC1(ALERT), "src", "\"nowhere\""), "records[0].src: not an IP address, a MAC");
	expect_error(batch_with(REC1(ALERT), "src_mac", "\"10.0.0.1\""), "records[0].src_mac: not a MAC address");
	expect_error(batch_with(REC1(ALERT), "title", "\"\""), "records[0].title: empty");
	expect_error(batch_with(REC1(ALERT), "last_seen", "\"2023-01-01T00:00:00Z\""),
		     "records[0].last_seen: before first_seen");
	expect_error(batch_with(REC1(ALERT), "learn", "{\"kind\":\"x\"}"), "records[0].learn.kind: unknown value");
	expect_error(batch_with(REC1(ALERT), "learn", "{\"kind\":\"alert\",\"a\":\"\",\"b\":\"\",\"proto\":\"\",\"code\":1}"),
		     "records[0].learn.title: missing");
	expect_error(batch_with(REC1(ALERT), "learn", "[]"), "records[0].learn: not an array of 1..64 items");
	expect_error(batch_with(REC1(ALERT), "learn", "7"), "records[0].learn: not an object");
	expect_error(batch_with(REC1(ALERT), "learn", "[{\"kind\":\"device\",\"a\":\"x\",\"b\":\"\",\"proto\":\"\",\"code\":0},{}]"),
		     "records[0].learn[1].kind: missing");
	expect_error(batch_with(REC1(EVENT), "count", "-1"), "records[0].count: not an integer");
	expect_error(batch_with(REC1(EVENT), "src_addr", "7"), "records[0].src_addr: not a string or null");
	expect_error(batch_with(REC1(EVENT), "first_seen", "\"yesterday\""), "records[0].first_seen: not an RFC 3339");
	expect_error(batch_with(REC1(HEALTH), "event", "\"mode\""), "records[0].mode: missing");
}

static void test_config_mode_and_learned(void **state)
{
	struct wire_msg m;
	char err[256];
	json_t *settings = json_object(), *learned = json_loads("[{\"kind\":\"device\",\"a\":\"mac:00:01:02:03:04:05\","
								  "\"b\":\"\",\"proto\":\"\",\"code\":0}]", 0, NULL);
	char *text = wire_encode(wire_build_config(settings, "operational", 3, learned), NULL);

	assert_non_null(text);
	assert_int_equal(parse(text, &m, err, sizeof(err)), 0);
	assert_string_equal(m.u.config.mode, "operational");
	assert_int_equal(m.u.config.mode_rev, 3);
	assert_int_equal(json_array_size(m.u.config.learned), 1);
	wire_msg_free(&m);
	free(text);
	assert_int_equal(parse("{\"type\":\"config\",\"settings\":{}}", &m, err, sizeof(err)), 0);
	assert_null(m.u.config.mode);
	assert_null(m.u.config.learned);
	wire_msg_free(&m);
	expect_error("{\"type\":\"config\",\"settings\":{},\"mode_request\":{\"mode\":\"x\",\"rev\":1}}",
		     "mode_request.mode: unknown value");
	expect_error("{\"type\":\"config\",\"settings\":{},\"mode_request\":{\"mode\":\"learning\",\"rev\":0}}",
		     "mode_request.rev: not an integer 1..");
	expect_error("{\"type\":\"config\",\"settings\":{},\"learned\":[{\"kind\":\"device\"}]}",
		     "learned[0].a: missing");
	expect_error("{\"type\":\"config\",\"settings\":{\"learning_quiet_period\":5}}",
		     "settings.learning_quiet_period: not a number of seconds");
	json_decref(settings);
	json_decref(learned);
}

static void test_evidence(void **state)
{
	static const uint8_t pcap[] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0xff };
	struct wire_msg m;
	char err[256];
	uint8_t *out;
	size_t n;
	char *text = wire_encode(wire_build_evidence_request(7, "a-1_B"), NULL);

	assert_int_equal(parse(text, &m, err, sizeof(err)), 0);
	assert_int_equal(m.type, WIRE_EVIDENCE_REQUEST);
	assert_int_equal(m.u.evidence_request.id, 7);
	assert_string_equal(m.u.evidence_request.ref, "a-1_B");
	wire_msg_free(&m);
	free(text);
	for (size_t len = 0; len <= sizeof(pcap); len++) {
		text = wire_encode(wire_build_evidence(8, "r", pcap, len, NULL), NULL);
		assert_int_equal(parse(text, &m, err, sizeof(err)), 0);
		assert_int_equal(m.type, WIRE_EVIDENCE);
		assert_null(m.u.evidence.error);
		assert_int_equal(wire_base64_decode(m.u.evidence.pcap, m.u.evidence.pcap_len, &out, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(out, pcap, len);
		free(out);
		wire_msg_free(&m);
		free(text);
	}
	text = wire_encode(wire_build_evidence(9, "r", NULL, 0, "no such capture"), NULL);
	assert_int_equal(parse(text, &m, err, sizeof(err)), 0);
	assert_string_equal(m.u.evidence.error, "no such capture");
	assert_null(m.u.evidence.pcap);
	wire_msg_free(&m);
	free(text);
	expect_error("{\"type\":\"evidence_request\",\"id\":1,\"ref\":\"../etc/passwd\"}", "ref: not 1..64 characters");
	expect_error("{\"type\":\"evidence\",\"id\":1,\"ref\":\"x\"}", "pcap: missing");
	expect_error("{\"type\":\"evidence_request\",\"id\":-1,\"ref\":\"x\"}", "id: not an integer");
	assert_int_equal(wire_base64_decode("abc", 3, &out, &n), -EINVAL);
	assert_int_equal(wire_base64_decode("ab=c", 4, &out, &n), -EINVAL);
	assert_int_equal(wire_base64_decode("a*bc", 4, &out, &n), -EINVAL);
}

static void test_renew_and_certificate(void **state)
{
	static const char csr[] = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";
	static const char crt[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
	struct wire_msg m;
	char err[256], *text;

	text = wire_encode(wire_build_renew(csr), NULL);
	assert_int_equal(parse(text, &m, err, sizeof(err)), 0);
	assert_int_equal(m.type, WIRE_RENEW);
	assert_string_equal(m.u.renew.csr, csr);
	wire_msg_free(&m);
	free(text);
	text = wire_encode(wire_build_certificate(crt, NULL), NULL);
	assert_int_equal(parse(text, &m, err, sizeof(err)), 0);
	assert_int_equal(m.type, WIRE_CERTIFICATE);
	assert_string_equal(m.u.certificate.certificate, crt);
	assert_null(m.u.certificate.error);
	wire_msg_free(&m);
	free(text);
	text = wire_encode(wire_build_certificate(NULL, "malformed or unacceptable CSR"), NULL);
	assert_int_equal(parse(text, &m, err, sizeof(err)), 0);
	assert_int_equal(m.type, WIRE_CERTIFICATE);
	assert_null(m.u.certificate.certificate);
	assert_string_equal(m.u.certificate.error, "malformed or unacceptable CSR");
	wire_msg_free(&m);
	free(text);

	/* Not PEM, or PEM of the other kind. */
	expect_error("{\"type\":\"renew\",\"csr\":\"MIIB\"}", "csr: not a PEM CERTIFICATE REQUEST");
	expect_error("{\"type\":\"renew\",\"csr\":\"-----BEGIN CERTIFICATE-----\\n\"}",
		     "csr: not a PEM CERTIFICATE REQUEST");
	expect_error("{\"type\":\"certificate\",\"certificate\":\"-----BEGIN PRIVATE KEY-----\\n\"}",
		     "certificate: not a PEM CERTIFICATE");
	expect_error("{\"type\":\"renew\",\"csr\":7}", "csr: not a string");
	expect_error("{\"type\":\"renew\"}", "csr: missing");
	expect_error("{\"type\":\"certificate\"}", "certificate: missing");
	expect_error("{\"type\":\"certificate\",\"error\":null}", "error: not a string");

	/* Too long: WIRE_MAX_PEM bytes pass, one more does not. */
	for (size_t extra = 0; extra <= 1; extra++) {
		size_t n = WIRE_MAX_PEM + extra;
		char *big = malloc(n + 1);
		size_t hl = strlen("-----BEGIN CERTIFICATE-----");
		memcpy(big, "-----BEGIN CERTIFICATE-----", hl);
		memset(big + hl, 'A', n - hl);
		big[n] = '\0';
		text = wire_encode(wire_build_certificate(big, NULL), NULL);
		if (extra == 0) {
			assert_int_equal(parse(text, &m, err, sizeof(err)), 0);
			wire_msg_free(&m);
		} else {
			assert_int_equal(parse(text, &m, err, sizeof(err)), -EINVAL);
			assert_non_null(strstr(err, "certificate: longer than"));
		}
		free(text);
		memcpy(big, "-----BEGIN CERTIFICATE REQUEST-----", strlen("-----BEGIN CERTIFICATE REQUEST-----"));
		text = wire_encode(wire_build_renew(big), NULL);
		if (extra == 0) {
			assert_int_equal(parse(text, &m, err, sizeof(err)), 0);
			wire_msg_free(&m);
		} else {
			assert_int_equal(parse(text, &m, err, sizeof(err)), -EINVAL);
			assert_non_null(strstr(err, "csr: longer than"));
		}
		free(text);
		free(big);
	}
}

static void test_truncated_error_buffer(void **state)
{
	struct wire_msg m;
	char err[8];

	assert_int_equal(parse(batch_with(REC1(CONN), "port", "70000"), &m, err, sizeof(err)), -EINVAL);
	assert_true(strlen(err) < sizeof(err));
	assert_int_equal(parse("{}", &m, NULL, 0), -EINVAL);
}

static void test_helpers(void **state)
{
	assert_true(wire_is_mac("00:1D:9c:c6:72:e8"));
	assert_false(wire_is_mac("00:1d:9c:c6:72:e8:"));
	assert_false(wire_is_mac("00-1d-9c-c6-72-e8"));
	assert_true(wire_is_ip("::"));
	assert_false(wire_is_ip("10.0.0"));
	assert_true(wire_is_uuid(SID));
	assert_false(wire_is_uuid("0b5e7c1a3f7e-4c47-9a7d-1e2f3a4b5c6d0"));
	assert_string_equal(wire_transport_name(WIRE_TR_ETH), "eth");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),	   cmocka_unit_test(test_batch_round_trip),
		cmocka_unit_test(test_batch_gaps),
		cmocka_unit_test(test_device_remove_record),
		cmocka_unit_test(test_message_errors),	   cmocka_unit_test(test_hello_errors),
		cmocka_unit_test(test_batch_shape_errors), cmocka_unit_test(test_device_errors),
		cmocka_unit_test(test_connection_errors),  cmocka_unit_test(test_health_errors),
		cmocka_unit_test(test_truncated_error_buffer), cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_config),		   cmocka_unit_test(test_alert_and_event),
		cmocka_unit_test(test_config_mode_and_learned), cmocka_unit_test(test_evidence),
		cmocka_unit_test(test_renew_and_certificate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
