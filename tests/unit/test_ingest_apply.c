/* Exactly-once application of batches, against a real PostgreSQL (OTW_TEST_DB_URL; skipped without it). */
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

#include "common/wire.h"
#include "server/ingest_apply.h"
#include "server/wire_dpi.h"
#include "tests/integration/gw_testdb.h"
#include "tests/unit/dpi_records.h"

#define SA "11111111-1111-4111-8111-111111111111" /* zone 1 */
#define SB "22222222-2222-4222-8222-222222222222" /* zone 1 */
#define SC "33333333-3333-4333-8333-333333333333" /* unassigned */
#define SD "44444444-4444-4444-8444-4444444444dd" /* zone 1: the DPI tests */
#define T0 1790000000000000LL /* a hello's receive time (microseconds since the epoch) */

static const char *admin_url;
static char dbname[64];
static PGconn *db;

static const char *dev_rec(int seq, const char *ips, const char *hostname)
{
	static char buf[1024];
	snprintf(buf, sizeof(buf),
		 "{\"seq\":%d,\"kind\":\"device\",\"key\":\"mac:00:1D:9C:C6:72:E8\",\"macs\":[\"00:1d:9c:c6:72:e8\"],"
		 "\"ips\":%s,\"vlans\":[12],\"vendor\":\"Rockwell\",\"hostname\":%s,\"type\":null,"
		 "\"protocols\":[{\"name\":\"enip\",\"role\":\"server\"},{\"name\":\"modbus\",\"role\":\"server\"}],"
		 "\"first_seen\":\"2024-01-01T00:00:%02dZ\",\"last_seen\":\"2024-01-01T00:01:%02dZ\"}",
		 seq, ips, hostname, seq, seq);
	return buf;
}

static const char *conn_rec(int seq, int packets, const char *proto)
{
	static char buf[1024];
	snprintf(buf, sizeof(buf),
		 "{\"seq\":%d,\"kind\":\"connection\",\"transport\":\"tcp\",\"src_addr\":\"10.0.0.1\","
		 "\"dst_addr\":\"10.0.0.9\",\"port\":502,\"broadcast\":false,\"protocols\":[\"%s\"],\"packets\":%d,"
		 "\"bytes\":%d,\"first_seen\":\"2024-01-01T00:00:%02dZ\",\"last_seen\":\"2024-01-01T00:02:%02dZ\"}",
		 seq, proto, packets, packets * 100, seq, seq);
	return buf;
}

static const char *health_rec(int seq)
{
	static char buf[256];
	snprintf(buf, sizeof(buf),
		 "{\"seq\":%d,\"kind\":\"health\",\"at\":\"2024-01-01T00:00:00Z\",\"event\":\"capture_truncated\","
		 "\"file\":\"x.pcap\"}",
		 seq);
	return buf;
}

/* The record for seq n of sensor A's journal (the same record however batches are cut). */
static const char *journal_a(int n)
{
	switch (n) {
	case 1: return dev_rec(1, "[\"10.0.0.9\",\"10.0.0.10\"]", "null");
	case 2: return conn_rec(2, 10, "modbus");
	case 3: return health_rec(3);
	case 4: return conn_rec(4, 5, "modbus");
	case 5: return dev_rec(5, "[\"10.0.0.9\",\"10.0.0.11\"]", "null");
	case 6: return conn_rec(6, 1, "modbus");
	}
	return NULL;
}

static int parse_batch(int from, int to, const char *(*journal)(int), struct wire_msg *m)
{
	char *buf = malloc(65536), err[256];
	size_t n = 0;
	int rc;

	n += (size_t)snprintf(buf + n, 65536 - n, "{\"type\":\"batch\",\"seq_from\":%d,\"seq_to\":%d,\"records\":[", from,
			      to);
	for (int s = from; s <= to; s++)
		n += (size_t)snprintf(buf + n, 65536 - n, "%s%s", s > from ? "," : "", journal(s));
	snprintf(buf + n, 65536 - n, "]}");
	rc = wire_dpi_parse(buf, strlen(buf), m, err, sizeof(err));
	free(buf);
	return rc;
}

static int apply(const char *sensor, int from, int to, const char *(*journal)(int), uint64_t *ack)
{
	struct wire_msg m;
	int rc = parse_batch(from, to, journal, &m);

	if (rc)
		fail_msg("parse of batch %d..%d failed", from, to);
	rc = ingest_apply_batch(db, sensor, &m, ack);
	wire_msg_free(&m);
	return rc;
}

static long long num(const char *sql)
{
	long long v = testdb_num(db, sql);
	return v;
}

static int setup(void **state)
{
	char *info;

	snprintf(dbname, sizeof(dbname), "otw_t_ingest_%d", (int)getpid());
	info = testdb_create(admin_url, dbname);
	if (!info)
		return -1;
	db = PQconnectdb(info);
	free(info);
	if (PQstatus(db) != CONNECTION_OK || ingest_apply_prepare(db) != 0)
		return -1;
	return testdb_exec(db,
			   "insert into sites (id, name) values (1, 'plant');"
			   "insert into zones (id, site_id, name) values (1, 1, 'cell');"
			   "insert into sensors (id, name, zone_id, cert_serial) values"
			   " ('" SA "', 'a', 1, '00ab12'), ('" SB "', 'b', 1, 'cd'), ('" SC "', 'c', null, 'ef'),"
			   " ('" SD "', 'd', 1, '0d');"
			   "insert into revoked_certificates (serial, sensor_id) values ('0099', '" SA "')");
}

static int teardown(void **state)
{
	PQfinish(db);
	testdb_drop(admin_url, dbname);
	return 0;
}

static void test_apply_once(void **state)
{
	uint64_t ack = 0;

	assert_int_equal(apply(SA, 1, 4, journal_a, &ack), 0);
	assert_int_equal(ack, 4);
	assert_int_equal(num("select applied_seq from sensors where name = 'a'"), 4);
	assert_int_equal(num("select count(*) from devices"), 1);
	assert_int_equal(num("select count(*) from devices where merge_scope = 'z:1' and zone_id = 1"
			     " and key = 'mac:00:1d:9c:c6:72:e8'"), 1);
	assert_int_equal(num("select count(*) from device_ips"), 2);
	assert_int_equal(num("select count(*) from device_macs"), 1);
	assert_int_equal(num("select count(*) from device_vlans"), 1);
	assert_int_equal(num("select count(*) from device_protocols"), 2);
	assert_int_equal(num("select count(*) from device_sightings"), 1);
	assert_int_equal(num("select count(*) from connections"), 1);
	assert_int_equal(num("select packets from connection_sightings"), 15);
	assert_int_equal(num("select bytes from connection_sightings"), 1500);
	assert_int_equal(num("select count(*) from sensor_events where kind = 'capture_truncated'"
			     " and details->>'file' = 'x.pcap' and seq = 3 and details ? 'seq' = false"), 1);

	/* The same batch again: acked, nothing changes. */
	assert_int_equal(apply(SA, 1, 4, journal_a, &ack), 0);
	assert_int_equal(ack, 4);
	assert_int_equal(num("select packets from connection_sightings"), 15);
	assert_int_equal(num("select bytes from connection_sightings"), 1500);
	assert_int_equal(num("select count(*) from sensor_events"), 1);
	assert_int_equal(num("select count(*) from device_ips"), 2);

	/* A part of it: acked at the applied seq. */
	assert_int_equal(apply(SA, 2, 3, journal_a, &ack), 0);
	assert_int_equal(ack, 4);
	assert_int_equal(num("select packets from connection_sightings"), 15);

	/* Re-cut, overlapping: 3..6 applies only 5 and 6. */
	assert_int_equal(apply(SA, 3, 6, journal_a, &ack), 0);
	assert_int_equal(ack, 6);
	assert_int_equal(num("select packets from connection_sightings"), 16);
	assert_int_equal(num("select bytes from connection_sightings"), 1600);
	assert_int_equal(num("select count(*) from sensor_events"), 1);
	/* The device record replaced A's addresses: .10 went, .11 came. */
	assert_int_equal(num("select count(*) from device_ips"), 2);
	assert_int_equal(num("select count(*) from device_ips where ip = '10.0.0.11'"), 1);
	assert_int_equal(num("select count(*) from device_ips where ip = '10.0.0.10'"), 0);
	assert_int_equal(num("select extract(epoch from last_seen)::bigint - extract(epoch from first_seen)::bigint"
			     " from devices"),
			 60 + 4);
	assert_int_equal(num("select applied_seq from sensors where name = 'a'"), 6);

	/* Accounting: six records applied once each, their digests summed as the sensor's journal sums them. */
	uint64_t sum = 0;
	for (int i = 1; i <= 6; i++) {
		json_t *rec = json_loads(journal_a(i), 0, NULL);
		uint64_t d;
		assert_non_null(rec);
		assert_true(wire_record_digest(rec, &d));
		sum += d;
		json_decref(rec);
	}
	char q[160];
	snprintf(q, sizeof(q), "select (records_digest = %llu::numeric)::int from sensors where name = 'a'",
		 (unsigned long long)sum);
	assert_int_equal(num("select records_applied from sensors where name = 'a'"), 6);
	assert_int_equal(num(q), 1);
}

static const char *journal_b(int n)
{
	switch (n) {
	case 1: return dev_rec(1, "[\"10.0.0.9\",\"10.0.0.20\"]", "\"plc-1\"");
	case 2: return conn_rec(2, 7, "enip");
	}
	return NULL;
}

static const char *journal_c(int n) { return n == 1 ? dev_rec(1, "[\"10.0.0.9\"]", "null") : NULL; }

static void test_zone_union_and_unassigned(void **state)
{
	uint64_t ack = 0;

	assert_int_equal(apply(SB, 1, 2, journal_b, &ack), 0);
	assert_int_equal(ack, 2);
	/* One device for the zone, seen by two sensors; addresses are the union of their rows. */
	assert_int_equal(num("select count(*) from devices"), 1);
	assert_int_equal(num("select count(*) from device_sightings"), 2);
	assert_int_equal(num("select count(distinct ip) from device_ips"), 3);
	assert_int_equal(num("select count(*) from devices where hostname = 'plc-1' and vendor = 'Rockwell'"), 1);
	/* One connection with both sensors' counters and the union of protocols. */
	assert_int_equal(num("select count(*) from connections"), 1);
	assert_int_equal(num("select count(*) from connection_sightings"), 2);
	assert_int_equal(num("select count(*) from connections where protocols = '{enip,modbus}'"), 1);

	/* A's next record (hostname null) does not erase B's hostname. */
	assert_int_equal(apply(SA, 5, 5, journal_a, &ack), 0);
	assert_int_equal(num("select count(*) from devices where hostname = 'plc-1'"), 1);

	/* The unassigned sensor gets its own scope. */
	assert_int_equal(apply(SC, 1, 1, journal_c, &ack), 0);
	assert_int_equal(num("select count(*) from devices"), 2);
	assert_int_equal(num("select count(*) from devices where merge_scope = 's:" SC "' and zone_id is null"), 1);
}

static const char *remove_rec(int seq)
{
	static char buf[128];
	snprintf(buf, sizeof(buf), "{\"seq\":%d,\"kind\":\"device_remove\",\"key\":\"mac:00:1d:9c:c6:72:e8\"}", seq);
	return buf;
}

static const char *journal_c_remove(int n) { return n == 2 ? remove_rec(2) : NULL; }
static const char *journal_b_remove(int n) { return n == 3 ? remove_rec(3) : NULL; }

/* device_remove withdraws one sensor's view: the device stays while another sensor reports it. */
static void test_device_remove(void **state)
{
	uint64_t ack = 0;

	assert_int_equal(apply(SC, 2, 2, journal_c_remove, &ack), 0);
	assert_int_equal(num("select count(*) from devices where merge_scope = 's:" SC "'"), 0);
	assert_int_equal(num("select count(*) from device_ips where sensor_id = '" SC "'"), 0);

	assert_int_equal(apply(SB, 3, 3, journal_b_remove, &ack), 0);
	assert_int_equal(num("select count(*) from devices where merge_scope = 'z:1'"), 1);
	assert_int_equal(num("select count(*) from device_sightings"), 1);
	assert_int_equal(num("select count(*) from device_ips where sensor_id = '" SB "'"), 0);
	assert_int_equal(num("select count(*) from device_ips where sensor_id = '" SA "'"), 2);
	/* Applied once: resending it changes nothing and is acked. */
	assert_int_equal(apply(SB, 3, 3, journal_b_remove, &ack), 0);
	assert_int_equal(ack, 3);
}

/* The set-based writer merges records of one key within a batch: the result must be what applying them one by
 * one leaves. Sensor E (zone 2) gets the journal in one batch, sensor F (zone 3) one record per batch. */
#define SE "55555555-5555-4555-8555-555555555555"
#define SF "66666666-6666-4666-8666-666666666666"

#define DEV_FMT "{\"seq\":%d,\"kind\":\"device\",\"key\":\"%s\",\"macs\":%s,\"ips\":%s,\"vlans\":%s," \
	"\"vendor\":%s,\"hostname\":%s,\"type\":%s,\"protocols\":%s," \
	"\"first_seen\":\"2024-01-01T00:00:%02dZ\",\"last_seen\":\"2024-01-01T00:01:%02dZ\"}"
#define CONN_FMT "{\"seq\":%d,\"kind\":\"connection\",\"transport\":\"%s\",\"src_addr\":\"%s\"," \
	 "\"dst_addr\":\"%s\",\"port\":%s,\"broadcast\":false,\"protocols\":[\"%s\"],\"packets\":%d," \
	 "\"bytes\":%d,\"first_seen\":\"2024-01-01T00:00:%02dZ\",\"last_seen\":\"2024-01-01T00:02:%02dZ\"" \
	 "%s}"

static const char *journal_sets(int n)
{
	static char buf[1024];
	const char *k1 = "mac:00:1D:9C:00:00:01", *k2 = "ip:10.1.0.9";
	switch (n) {
	case 1:
		snprintf(buf, sizeof(buf), DEV_FMT, n, k1, "[\"00:1d:9c:00:00:01\"]", "[\"10.1.0.1\",\"10.1.0.2\"]", "[]",
			 "\"Rockwell\"", "\"h1\"", "\"plc\"", "[{\"name\":\"enip\",\"role\":\"server\"}]", 30, 10);
		break;
	case 2:
		snprintf(buf, sizeof(buf), CONN_FMT, n, "tcp", "10.1.0.5", "10.1.0.1", "502", "modbus", 10, 1000, 20, 20,
			 ",\"functions\":[{\"proto\":\"modbus\",\"code\":3,\"name\":null}]");
		break;
	case 3:
		snprintf(buf, sizeof(buf), DEV_FMT, n, k1, "[\"00:1d:9c:00:00:01\"]", "[\"10.1.0.3\"]", "[7]", "null",
			 "null", "null", "[{\"name\":\"modbus\",\"role\":\"server\"}]", 10, 40);
		break;
	case 4:
		snprintf(buf, sizeof(buf), CONN_FMT, n, "tcp", "10.1.0.5", "10.1.0.1", "502", "enip", 5, 500, 10, 50,
			 ",\"functions\":[{\"proto\":\"modbus\",\"code\":3,\"name\":\"Read Holding Registers\"},"
			 "{\"proto\":\"modbus\",\"code\":16,\"name\":null}]");
		break;
	case 5:
		snprintf(buf, sizeof(buf), DEV_FMT, n, k2, "[]", "[\"10.1.0.9\"]", "[]", "null", "\"x\"", "null", "[]", 1, 1);
		break;
	case 6: snprintf(buf, sizeof(buf), "{\"seq\":%d,\"kind\":\"device_remove\",\"key\":\"%s\"}", n, k2); break;
	case 7:
		snprintf(buf, sizeof(buf), DEV_FMT, n, k2, "[]", "[\"10.1.0.9\"]", "[]", "null", "null", "null", "[]", 2, 2);
		break;
	case 8:
		snprintf(buf, sizeof(buf), CONN_FMT, n, "eth", "00:1d:9c:00:00:01", "ff:ff:ff:ff:ff:ff", "null", "pn_dcp", 3,
			 180, 5, 5, "");
		break;
	case 9:
		snprintf(buf, sizeof(buf), CONN_FMT, n, "eth", "00:1D:9C:00:00:01", "ff:ff:ff:ff:ff:ff", "null", "lldp", 1,
			 60, 6, 6, "");
		break;
	case 10:
		snprintf(buf, sizeof(buf), DEV_FMT, n, "mac:00:1d:9c:00:00:03", "[\"00:1d:9c:00:00:03\"]", "[]", "[]",
			 "null", "null", "null", "[]", 3, 3);
		break;
	case 11: snprintf(buf, sizeof(buf), "{\"seq\":%d,\"kind\":\"device_remove\",\"key\":\"%s\"}", n, "mac:00:1d:9c:00:00:03"); break;
	default: return NULL;
	}
	return buf;
}

/* Everything stored for one merge scope, as text without ids or sensor ids. */
/* Everything stored for one merge scope, as text without ids or sensor ids; each part sorted by its own text, so
 * that two sensors' rows of one key compare whatever order they were written in. */
#define AGG(x) "string_agg(" x ", ';' order by " x ")"
static char *scope_state(const char *scope)
{
	char sql[4096];
	snprintf(sql, sizeof(sql),
		 "select concat_ws('|',"
		 " (select " AGG("concat_ws(',', key, type, vendor, hostname, first_seen, last_seen)")
		 "  from devices where merge_scope = '%1$s'),"
		 " (select " AGG("concat_ws(',', d.key, s.first_seen, s.last_seen, s.report)")
		 "  from device_sightings s join devices d on d.id = s.device_id where d.merge_scope = '%1$s'),"
		 " (select " AGG("d.key || ' ' || m.mac") " from device_macs m"
		 "  join devices d on d.id = m.device_id where d.merge_scope = '%1$s'),"
		 " (select " AGG("d.key || ' ' || m.ip") " from device_ips m"
		 "  join devices d on d.id = m.device_id where d.merge_scope = '%1$s'),"
		 " (select " AGG("d.key || ' ' || m.vlan") " from device_vlans m"
		 "  join devices d on d.id = m.device_id where d.merge_scope = '%1$s'),"
		 " (select " AGG("d.key || ' ' || m.name || m.role")
		 "  from device_protocols m join devices d on d.id = m.device_id where d.merge_scope = '%1$s'),"
		 " (select " AGG("concat_ws(',', transport, src_addr, dst_addr, port, protocols, c.first_seen, c.last_seen,"
				 " s.packets, s.bytes, s.first_seen, s.last_seen)")
		 "  from connections c join connection_sightings s on s.connection_id = c.id where c.merge_scope = '%1$s'),"
		 " (select " AGG("concat_ws(',', c.src_addr, f.proto, f.code, f.name)") " from connection_functions f"
		 "  join connections c on c.id = f.connection_id where c.merge_scope = '%1$s'))",
		 scope);
	PGresult *res = PQexec(db, sql);
	char *out = NULL;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		out = strdup(PQgetvalue(res, 0, 0));
	else
		fail_msg("scope_state: %s", PQerrorMessage(db));
	PQclear(res);
	return out;
}

static void test_sets_equal_sequential(void **state)
{
	uint64_t ack = 0;

	assert_int_equal(testdb_exec(db, "insert into zones (id, site_id, name) values (2, 1, 'e'), (3, 1, 'f');"
					 "insert into sensors (id, name, zone_id, cert_serial) values"
					 " ('" SE "', 'e', 2, 'e1'), ('" SF "', 'f', 3, 'f1')"),
			 0);
	assert_int_equal(apply(SE, 1, 11, journal_sets, &ack), 0);
	assert_int_equal(ack, 11);
	for (int i = 1; i <= 11; i++)
		assert_int_equal(apply(SF, i, i, journal_sets, &ack), 0);
	char *e = scope_state("z:2"), *f = scope_state("z:3");
	assert_string_equal(e, f);
	/* And the merged values are the expected ones. */
	assert_int_equal(num("select count(*) from devices where merge_scope = 'z:2'"), 2);
	assert_int_equal(num("select count(*) from devices where merge_scope = 'z:2' and key = 'mac:00:1d:9c:00:00:01'"
			     " and vendor = 'Rockwell' and hostname = 'h1' and type = 'plc'"),
			 1);
	assert_int_equal(num("select count(*) from device_ips i join devices d on d.id = i.device_id"
			     " where d.merge_scope = 'z:2' and d.key = 'mac:00:1d:9c:00:00:01'"),
			 1);
	assert_int_equal(num("select s.packets from connection_sightings s join connections c on c.id = s.connection_id"
			     " where c.merge_scope = 'z:2' and c.port = 502"),
			 15);
	assert_int_equal(num("select count(*) from connections where merge_scope = 'z:2' and transport = 'eth'"
			     " and protocols = '{lldp,pn_dcp}'"),
			 1);
	assert_int_equal(num("select count(*) from connection_functions f join connections c on c.id = f.connection_id"
			     " where c.merge_scope = 'z:2'"),
			 2);
	free(e);
	free(f);
}

static const char *journal_g(int n) { return n >= 1 && n <= 4 ? conn_rec(n, n, "modbus") : NULL; }

/* Group commit: batches of several sensors (and two of one sensor, in order) in one transaction; a refused one
 * leaves nothing of the group committed. */
static void test_group(void **state)
{
	struct wire_msg m[4];
	uint64_t acks[4];
	size_t failed;

	assert_int_equal(testdb_exec(db, "insert into zones (id, site_id, name) values (4, 1, 'g');"
					 "insert into sensors (id, name, zone_id, cert_serial) values"
					 " ('77777777-7777-4777-8777-777777777777', 'g1', 4, 'a7'),"
					 " ('88888888-8888-4888-8888-888888888888', 'g2', 4, 'a8')"),
			 0);
	const char *ids[4] = { "77777777-7777-4777-8777-777777777777", "88888888-8888-4888-8888-888888888888",
			       "77777777-7777-4777-8777-777777777777", "99999999-9999-4999-8999-999999999999" };
	assert_int_equal(parse_batch(1, 2, journal_g, &m[0]), 0);
	assert_int_equal(parse_batch(1, 4, journal_g, &m[1]), 0);
	assert_int_equal(parse_batch(3, 4, journal_g, &m[2]), 0);
	assert_int_equal(parse_batch(1, 1, journal_g, &m[3]), 0);
	const struct wire_msg *ms[4] = { &m[0], &m[1], &m[2], &m[3] };

	/* The unknown sensor's batch spoils the group: nothing of it is committed. */
	assert_int_equal(ingest_apply_group(db, 4, ids, ms, acks, &failed), -EPERM);
	assert_int_equal(failed, 3);
	assert_int_equal(PQtransactionStatus(db), PQTRANS_IDLE);
	assert_int_equal(num("select coalesce(sum(applied_seq), 0) from sensors where zone_id = 4"), 0);

	assert_int_equal(ingest_apply_group(db, 3, ids, ms, acks, &failed), 0);
	assert_int_equal(acks[0], 2);
	assert_int_equal(acks[1], 4);
	assert_int_equal(acks[2], 4);
	assert_int_equal(num("select applied_seq + records_applied from sensors where name = 'g1'"), 8);
	assert_int_equal(num("select applied_seq + records_applied from sensors where name = 'g2'"), 8);
	/* One connection (10.0.0.1 -> 10.0.0.9:502) in zone 4, both sensors' counters: 1+2+3+4 each. */
	assert_int_equal(num("select sum(s.packets) from connection_sightings s join connections c"
			     " on c.id = s.connection_id where c.zone_id = 4"),
			 20);
	for (int i = 0; i < 4; i++)
		wire_msg_free(&m[i]);
}

/* A group of several batches of two sensors of one zone (the same devices and connections seen by both, and one
 * sensor's batches twice in the group) leaves what applying their records one by one in the same order leaves. */
static void test_group_equal_sequential(void **state)
{
	static const char *const zone5[2] = { "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa1", "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa2" };
	static const char *const zone6[2] = { "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbb1", "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbb2" };
	/* (sensor, from, to) in arrival order */
	static const int cuts[4][3] = { { 0, 1, 5 }, { 1, 1, 4 }, { 0, 6, 11 }, { 1, 5, 11 } };
	struct wire_msg m[4];
	const struct wire_msg *ms[4];
	const char *ids[4];
	uint64_t acks[4], ack;
	size_t failed;

	assert_int_equal(testdb_exec(db, "insert into zones (id, site_id, name) values (5, 1, 'h'), (6, 1, 'k');"
					 "insert into sensors (id, name, zone_id, cert_serial) values"
					 " ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa1', 'h1', 5, 'b1'),"
					 " ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa2', 'h2', 5, 'b2'),"
					 " ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbb1', 'k1', 6, 'b3'),"
					 " ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbb2', 'k2', 6, 'b4')"),
			 0);
	for (int b = 0; b < 4; b++) {
		assert_int_equal(parse_batch(cuts[b][1], cuts[b][2], journal_sets, &m[b]), 0);
		ms[b] = &m[b];
		ids[b] = zone5[cuts[b][0]];
	}
	assert_int_equal(ingest_apply_group(db, 4, ids, ms, acks, &failed), 0);
	assert_int_equal(acks[0], 5);
	assert_int_equal(acks[3], 11);
	for (int b = 0; b < 4; b++) {
		wire_msg_free(&m[b]);
		for (int r = cuts[b][1]; r <= cuts[b][2]; r++)
			assert_int_equal(apply(zone6[cuts[b][0]], r, r, journal_sets, &ack), 0);
	}
	char *g = scope_state("z:5"), *q = scope_state("z:6");
	assert_string_equal(g, q);
	assert_int_equal(num("select count(*) from device_sightings s join devices d on d.id = s.device_id"
			     " where d.merge_scope = 'z:5'"),
			 4);
	free(g);
	free(q);
}

static void test_unknown_sensor(void **state)
{
	uint64_t ack = 0;
	assert_int_equal(apply("44444444-4444-4444-8444-444444444444", 1, 1, journal_c, &ack), -EPERM);
	assert_int_equal(PQtransactionStatus(db), PQTRANS_IDLE);
}

static void test_hello(void **state)
{
	const char *h = "{\"type\":\"hello\",\"proto\":\"1.0\",\"sensor_id\":\"" SB "\",\"version\":\"0.2.0\","
			"\"mode\":\"operational\",\"first_seq\":1,\"last_seq\":9}";
	struct wire_msg m;
	char err[128];
	uint64_t applied = 99;

	assert_int_equal(wire_parse(h, strlen(h), &m, err, sizeof(err)), 0);
	/* Serials compare without case and leading zeros ("00cd" == "CD"). */
	assert_int_equal(ingest_apply_hello(db, SB, "00CD", &m, "n1-7", T0, "192.0.2.7", &applied), 0);
	assert_int_equal(applied, 3); /* after test_device_remove */
	assert_int_equal(num("select count(*) from sensors where name = 'b' and connected and mode = 'operational'"
			     " and software_version = '0.2.0' and last_seen is not null and journal_last_seq = 9"
			     " and last_address = '192.0.2.7' and conn_token = 'n1-7' and disconnected_at is null"),
			 1);
	/* The close of a connection that is no longer the sensor's latest hello (it moved) changes nothing. */
	assert_int_equal(ingest_apply_bye(db, SB, "n0-3", false), 0);
	assert_int_equal(num("select count(*) from sensors where connected"), 1);
	assert_int_equal(ingest_apply_bye(db, SB, "n1-7", false), 0);
	assert_int_equal(num("select count(*) from sensors where name = 'b' and not connected and disconnected_at is not null"),
			 1);
	/* Closed by the console's own stop: disconnected, and no disconnection of the sensor's. */
	assert_int_equal(ingest_apply_hello(db, SB, "cd", &m, "n1-8", T0 + 1, NULL, &applied), 0);
	assert_int_equal(ingest_apply_bye(db, SB, "n1-8", true), 0);
	assert_int_equal(num("select count(*) from sensors where name = 'b' and not connected and disconnected_at is null"
			     " and conn_token is null"),
			 1);
	assert_int_equal(num("select count(*) from sensors where connected"), 0);
	/* Not its current certificate. */
	assert_int_equal(ingest_apply_hello(db, SB, "ce", &m, "n1-9", T0 + 2, NULL, &applied), -EPERM);
	/* A revoked serial, even if it were current. */
	assert_int_equal(testdb_exec(db, "update sensors set cert_serial = '99' where name = 'a'"), 0);
	assert_int_equal(ingest_apply_hello(db, SA, "99", &m, "n1-9", T0 + 2, NULL, &applied), -EPERM);
	/* A revoked sensor. */
	assert_int_equal(testdb_exec(db, "update sensors set revoked_at = now() where name = 'b'"), 0);
	assert_int_equal(ingest_apply_hello(db, SB, "cd", &m, "n1-9", T0 + 2, NULL, &applied), -EPERM);
	/* Unknown. */
	assert_int_equal(ingest_apply_hello(db, "44444444-4444-4444-8444-444444444444", "cd", &m, "n1-9", T0 + 2, NULL,
					    &applied),
			 -EPERM);
	assert_int_equal(num("select count(*) from sensors where connected"), 0);
	wire_msg_free(&m);
}

/* A hello applied late (its node's writer was backlogged: the sensor had meanwhile reconnected to another node
 * and said hello there) does not take the sensor back, so its connection's close does not mark the sensor
 * disconnected while it sends through the other node; and the watchdog notes no disconnection of a sensor whose
 * batches were applied after it. */
static void test_hello_late(void **state)
{
	const char *h = "{\"type\":\"hello\",\"proto\":\"1.0\",\"sensor_id\":\"" SB "\",\"version\":\"0.2.0\","
			"\"mode\":\"operational\",\"first_seq\":1,\"last_seq\":9}";
	struct wire_msg m;
	char err[128];
	uint64_t applied = 99;

	assert_int_equal(wire_parse(h, strlen(h), &m, err, sizeof(err)), 0);
	/* Node B's hello (received at T0 + 5 s) is applied first, then node A's (received at T0 + 1 s), then A's bye. */
	assert_int_equal(ingest_apply_hello(db, SB, "cd", &m, "nb-1", T0 + 5000000, NULL, &applied), 0);
	assert_int_equal(ingest_apply_hello(db, SB, "cd", &m, "na-1", T0 + 1000000, NULL, &applied), 0);
	assert_int_equal(applied, 3);
	assert_int_equal(ingest_apply_bye(db, SB, "na-1", false), 0);
	assert_int_equal(num("select count(*) from sensors where name = 'b' and connected and conn_token = 'nb-1'"
			     " and disconnected_at is null"
			     " and hello_at = timestamptz 'epoch' + 1790000005000000 * interval '1 microsecond'"),
			 1);
	/* A newer hello takes it (B's connection is not closed yet: its bye comes later and changes nothing). */
	assert_int_equal(ingest_apply_hello(db, SB, "cd", &m, "na-2", T0 + 9000000, NULL, &applied), 0);
	assert_int_equal(ingest_apply_bye(db, SB, "nb-1", false), 0);
	assert_int_equal(num("select count(*) from sensors where name = 'b' and connected and conn_token = 'na-2'"),
			 1);
	/* Once its connection closed, any hello takes the sensor (a node's clock behind the other's). */
	assert_int_equal(ingest_apply_bye(db, SB, "na-2", false), 0);
	assert_int_equal(ingest_apply_hello(db, SB, "cd", &m, "nb-2", T0 + 2000000, NULL, &applied), 0);
	assert_int_equal(num("select count(*) from sensors where name = 'b' and connected and conn_token = 'nb-2'"
			     " and disconnected_at is null"),
			 1);
	/* The watchdog: disconnected a minute ago (grace 0), but a batch was applied since: not noted; without it,
	 * noted. */
	assert_int_equal(testdb_exec(db, "update sensors set connected = false, conn_token = null,"
				     " disconnected_at = now() - interval '1 minute', last_seen = now() where name = 'b'"),
			 0);
	assert_int_equal(num("select count(*) from otw_sensor_watch(3600, 0, now()) where transition = 'disconnected'"),
			 0);
	assert_int_equal(testdb_exec(db, "update sensors set last_seen = now() - interval '2 minutes' where name = 'b'"),
			 0);
	assert_int_equal(num("select count(*) from otw_sensor_watch(3600, 0, now()) where transition = 'disconnected'"),
			 1);
	/* Back to what test_hello expects. */
	assert_int_equal(testdb_exec(db, "update sensors set disconnected_at = null, disconnect_noted_at = null,"
				     " hello_at = null where name = 'b'"),
			 0);
	assert_int_equal(testdb_exec(db, "delete from system_notifications"), 0);
	wire_msg_free(&m);
}

static void test_large_batch(void **state)
{
	/* More records than one pipeline chunk, all different connections. */
	enum { N = 1000 };
	char *buf = malloc(N * 400 + 256), err[256];
	size_t n = 0;
	struct wire_msg m;
	uint64_t ack = 0;

	n += (size_t)sprintf(buf + n, "{\"type\":\"batch\",\"seq_from\":7,\"seq_to\":%d,\"records\":[", 6 + N);
	for (int i = 0; i < N; i++)
		n += (size_t)sprintf(buf + n,
				     "%s{\"seq\":%d,\"kind\":\"connection\",\"transport\":\"udp\",\"src_addr\":\"10.1.%d.%d\","
				     "\"dst_addr\":\"10.0.0.9\",\"port\":null,\"broadcast\":false,\"protocols\":[],"
				     "\"packets\":1,\"bytes\":60,\"first_seen\":\"2024-01-01T00:00:00Z\","
				     "\"last_seen\":\"2024-01-01T00:00:00Z\"}",
				     i ? "," : "", 7 + i, i / 256, i % 256);
	sprintf(buf + n, "]}");
	assert_int_equal(wire_parse(buf, strlen(buf), &m, err, sizeof(err)), 0);
	free(buf);
	assert_int_equal(ingest_apply_batch(db, SA, &m, &ack), 0);
	assert_int_equal(ack, 6 + N);
	assert_int_equal(num("select count(*) from connections where transport = 'udp' and port is null"), N);
	/* Null ports are one key (unique nulls not distinct): applying the same rows again as new seqs adds up. */
	for (size_t i = 0; i < m.u.batch.nrecords; i++)
		m.u.batch.records[i].seq += N;
	m.u.batch.seq_from += N;
	m.u.batch.seq_to += N;
	assert_int_equal(ingest_apply_batch(db, SA, &m, &ack), 0);
	assert_int_equal(num("select count(*) from connections where transport = 'udp'"), N);
	assert_int_equal(num("select sum(packets) from connection_sightings s join connections c on c.id = s.connection_id"
			     " where transport = 'udp'"),
			 2 * N);
	wire_msg_free(&m);
}

static const char *journal_d(int n)
{
	switch (n) {
	case 1: return dpi_dev_rec(1, "CPU 315-2 PN/DP", 1);
	case 2: return dpi_conn_rec(2, 5, "write_var");
	case 3: return dpi_event_rec(3, "event", "plc_stop", 1, "\"stop requested\"");
	case 4: return dpi_event_rec(4, "violation", "bad_length", 2, "null");
	case 5: return dpi_conn_rec(5, 0x28, "pi_service");
	case 6: return dpi_event_rec(6, "event", "plc_stop", 3, "null");
	case 7: return dpi_dev_rec(7, "CPU 315-2 PN/DP V2", 2);
	}
	return NULL;
}

static void test_dpi_records(void **state)
{
	uint64_t ack = 0;

	assert_int_equal(apply(SD, 1, 4, journal_d, &ack), 0);
	assert_int_equal(ack, 4);
	assert_int_equal(num("select count(*) from device_sightings s join devices d on d.id = s.device_id"
			     " where s.sensor_id = '" SD "' and d.key = 'mac:00:0e:8c:00:00:01'"
			     " and s.report->>'model' = 'CPU 315-2 PN/DP' and s.report->>'vendor' = 'Siemens'"
			     " and s.report->>'type' = 'plc' and (s.report->>'purdue_level')::int = 1"
			     " and s.report->'flags'->>'scanner' = 'false' and s.report->>'plc_mode' = 'run'"
			     " and s.report->'attributes'->'rack'->>'value' = '0'"
			     " and s.report->'type_evidence'->>0 = 'answers S7comm as a server' and not s.report ? 'os'"),
			 1);
	assert_int_equal(num("select count(*) from connection_functions"), 2);
	assert_int_equal(num("select count(*) from dpi_events where sensor_id = '" SD "'"), 2);
	assert_int_equal(num("select count from dpi_events where kind = 'event' and name = 'plc_stop'"
			     " and proto = 's7comm' and src_addr = '10.9.0.9' and dst_addr = '10.9.0.5'"
			     " and detail = 'stop requested'"),
			 1);
	assert_int_equal(num("select count from dpi_events where kind = 'violation' and name = 'bad_length'"), 2);

	/* Again, and re-cut: nothing twice. Then the rest: functions are a set, event counts add up, the detail
	 * stays when the next record has none, the device record replaces the sensor's report. */
	assert_int_equal(apply(SD, 1, 4, journal_d, &ack), 0);
	assert_int_equal(apply(SD, 3, 4, journal_d, &ack), 0);
	assert_int_equal(num("select count from dpi_events where name = 'plc_stop'"), 1);
	assert_int_equal(apply(SD, 2, 7, journal_d, &ack), 0);
	assert_int_equal(ack, 7);
	assert_int_equal(num("select count(*) from connection_functions"), 3);
	assert_int_equal(num("select count(*) from connection_functions where proto = 's7comm' and code = 40"
			     " and name = 'pi_service'"),
			 1);
	assert_int_equal(num("select count from dpi_events where name = 'plc_stop' and detail = 'stop requested'"), 4);
	assert_int_equal(num("select extract(second from last_seen)::int from dpi_events where name = 'plc_stop'"), 6);
	assert_int_equal(num("select count(*) from device_sightings where sensor_id = '" SD "'"
			     " and report->>'model' = 'CPU 315-2 PN/DP V2' and (report->>'purdue_level')::int = 2"),
			 1);
}

static const char *journal_d_remove(int n)
{
	return n == 8 ? "{\"seq\":8,\"kind\":\"device_remove\",\"key\":\"mac:00:0e:8c:00:00:01\"}" : NULL;
}

/* A device another was merged into stays when its own sensor retracts it: the merge keeps it alive. */
static void test_remove_keeps_merge_target(void **state)
{
	uint64_t ack = 0;

	assert_int_equal(testdb_exec(db, "update devices set merged_into = (select id from devices"
				     " where key = 'mac:00:0e:8c:00:00:01') where key = 'mac:00:1d:9c:c6:72:e8'"
				     " and merge_scope = 'z:1'"),
			 0);
	assert_int_equal(apply(SD, 8, 8, journal_d_remove, &ack), 0);
	assert_int_equal(num("select count(*) from devices where key = 'mac:00:0e:8c:00:00:01'"), 1);
	assert_int_equal(num("select count(*) from device_sightings s join devices d on d.id = s.device_id"
			     " where d.key = 'mac:00:0e:8c:00:00:01'"),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_once),
		cmocka_unit_test(test_zone_union_and_unassigned),
		cmocka_unit_test(test_device_remove),
		cmocka_unit_test(test_unknown_sensor),
		cmocka_unit_test(test_large_batch),
		cmocka_unit_test(test_hello_late),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_dpi_records),
		cmocka_unit_test(test_remove_keeps_merge_target),
		cmocka_unit_test(test_sets_equal_sequential), /* last: the others count rows over all zones */
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_group_equal_sequential),
	};

	admin_url = getenv("OTW_TEST_DB_URL");
	if (!admin_url || !admin_url[0]) {
		printf("test_ingest_apply: OTW_TEST_DB_URL not set; skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
