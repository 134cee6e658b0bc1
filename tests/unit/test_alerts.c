/* The alert engines (alerts.c): learning builds the baseline and raises no policy alert; operational mode
 * alerts once per new item (later occurrences count on the alert); scans, storms, conflicts and events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <errno.h>

#include "sensor-agent/alerts.h"
#include "sensor-agent/alerts_internal.h"

#define SEC 1000000LL

static json_t *find(json_t *arr, const char *title)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (strcmp(json_string_value(json_object_get(v, "title")), title) == 0)
			return v;
	return NULL;
}

static void learning_then_operational(void **unused)
{
	struct alerts *a = alerts_new();
	json_t *out, *al;

	(void)unused;
	alerts_new_device(a, "mac:00:11:22:33:44:55", "00:11:22:33:44:55", 1 * SEC);
	alerts_new_connection(a, "tcp", "10.0.0.9", "10.0.0.5", 502, 1 * SEC);
	alerts_pair_protocol(a, "10.0.0.9", "10.0.0.5", "mbtcp", 1 * SEC);
	alerts_pair_function(a, "10.0.0.9", "10.0.0.5", "mbtcp", 3, "read_holding_registers", 1 * SEC);
	alerts_pair_function(a, "10.0.0.9", "10.0.0.5", "mbtcp", 16, "write_multiple_registers", 1 * SEC);
	alerts_dpi(a, false, "s7comm", "program_download", "DB1", "10.0.0.20", "10.0.0.6", true, 2 * SEC);
	assert_int_equal(alerts_count(a), 0); /* learning: no policy alert, and a programming station learnt */

	alerts_set_mode(a, ALERTS_OPERATIONAL);
	/* everything of the baseline again: nothing */
	alerts_new_device(a, "mac:00:11:22:33:44:55", "00:11:22:33:44:55", 10 * SEC);
	alerts_new_connection(a, "tcp", "10.0.0.9", "10.0.0.5", 502, 10 * SEC);
	alerts_pair_function(a, "10.0.0.9", "10.0.0.5", "mbtcp", 16, "write_multiple_registers", 10 * SEC);
	alerts_dpi(a, false, "s7comm", "program_download", "DB1", "10.0.0.20", "10.0.0.6", true, 10 * SEC);
	assert_int_equal(alerts_count(a), 0);

	/* new items: one alert each, repeated occurrences counted on it */
	alerts_new_device(a, "mac:00:11:22:33:44:66", "00:11:22:33:44:66", 11 * SEC);
	alerts_new_device(a, "mac:00:11:22:33:44:66", "00:11:22:33:44:66", 12 * SEC);
	alerts_pair_function(a, "10.0.0.77", "10.0.0.5", "mbtcp", 6, "write_single_register", 13 * SEC);
	alerts_pair_function(a, "10.0.0.9", "10.0.0.5", "mbtcp", 1, "read_coils", 14 * SEC);
	alerts_dpi(a, false, "s7comm", "program_download", "DB2", "10.0.0.77", "10.0.0.6", true, 15 * SEC);
	alerts_dpi(a, false, "s7comm", "program_download", "DB3", "10.0.0.77", "10.0.0.6", true, 16 * SEC);
	out = alerts_json(a);
	assert_int_equal(json_array_size(out), 4);
	al = find(out, "New device");
	assert_non_null(al);
	assert_string_equal(json_string_value(json_object_get(al, "engine")), "policy_violation");
	assert_int_equal(json_integer_value(json_object_get(al, "count")), 1); /* the item is learnt once alerted */
	al = find(out, "Write from a new source");
	assert_non_null(al);
	assert_string_equal(json_string_value(json_object_get(al, "severity")), "major");
	assert_string_equal(json_string_value(json_object_get(al, "src")), "10.0.0.77");
	assert_non_null(find(out, "New function code between devices"));
	al = find(out, "Program download from an unauthorized station");
	assert_non_null(al);
	assert_string_equal(json_string_value(json_object_get(al, "severity")), "critical");
	assert_int_equal(json_integer_value(json_object_get(al, "count")), 2);
	assert_string_equal(json_string_value(json_object_get(al, "first_seen")), "1970-01-01T00:00:15.000Z");
	json_decref(out);
	alerts_clear(a);
	assert_int_equal(alerts_count(a), 0);
	alerts_free(a);
}

static void scans_storms_conflicts_and_operations(void **unused)
{
	struct alerts *a = alerts_new();
	json_t *out, *al;

	(void)unused;
	/* 7 ports in a minute is not a scan; the 8th is; a repeated port does not count twice */
	for (unsigned p = 1; p <= 7; p++)
		alerts_syn(a, "10.0.0.66", "10.0.0.5", p, (int64_t)p * SEC);
	alerts_syn(a, "10.0.0.66", "10.0.0.5", 7, 8 * SEC);
	assert_int_equal(alerts_count(a), 0);
	alerts_syn(a, "10.0.0.66", "10.0.0.5", 8, 9 * SEC);
	/* slow probing (one port a minute) is not */
	for (unsigned p = 1; p <= 10; p++)
		alerts_syn(a, "10.0.0.67", "10.0.0.5", p, (int64_t)p * 61 * SEC);
	/* 19 exceptions a minute are not a storm, 20 are */
	for (int i = 0; i < 19; i++)
		alerts_dpi(a, false, "mbtcp", "exception_response", NULL, "10.0.0.5", "10.0.0.9", false, i * 3 * SEC);
	assert_int_equal(alerts_count(a), 1);
	for (int i = 0; i < 20; i++)
		alerts_dpi(a, false, "mbtcp", "exception_response", NULL, "10.0.0.5", "10.0.0.8", false, 100 * SEC + i);
	alerts_dpi(a, true, "dnp3", "bad_crc", "user data block", "10.0.0.17", "10.0.0.18", true, 5 * SEC);
	alerts_dpi(a, false, "dnp3", "cold_restart", NULL, "10.0.0.17", "10.0.0.18", true, 5 * SEC);
	alerts_dpi(a, false, "mbtcp", "not_an_event_name", NULL, "10.0.0.17", "10.0.0.18", true, 5 * SEC);
	/* ARP: while learning a conflict is an address change to learn; afterwards a MAC that never owned the address
	 * is an alert, and the owners learnt announcing it again are not */
	alerts_arp_binding(a, "10.0.0.5", "00:00:00:00:00:05", 1 * SEC);
	alerts_ip_conflict(a, "10.0.0.5", "00:00:00:00:00:66", "00:00:00:00:00:05", 6 * SEC);
	assert_int_equal(alerts_count(a), 4);
	alerts_set_mode(a, ALERTS_OPERATIONAL);
	alerts_ip_conflict(a, "10.0.0.5", "00:00:00:00:00:77", "00:00:00:00:00:66", 7 * SEC);
	alerts_ip_conflict(a, "10.0.0.5", "00:00:00:00:00:05", "00:00:00:00:00:77", 8 * SEC);
	alerts_ip_conflict(a, "10.0.0.5", "00:00:00:00:00:66", "00:00:00:00:00:05", 9 * SEC);
	out = alerts_json(a);
	assert_int_equal(json_array_size(out), 5);
	al = find(out, "ARP spoofing or IP address conflict");
	assert_string_equal(json_string_value(json_object_get(al, "src")), "00:00:00:00:00:77");
	assert_int_equal(json_integer_value(json_object_get(al, "count")), 1);
	al = find(out, "Port scan");
	assert_string_equal(json_string_value(json_object_get(al, "engine")), "anomaly");
	assert_string_equal(json_string_value(json_object_get(al, "src")), "10.0.0.66");
	al = find(out, "Exception storm");
	assert_string_equal(json_string_value(json_object_get(al, "dst")), "10.0.0.8");
	al = find(out, "Protocol violation");
	assert_string_equal(json_string_value(json_object_get(al, "engine")), "protocol_violation");
	al = find(out, "Device cold restart");
	assert_string_equal(json_string_value(json_object_get(al, "engine")), "operational");
	assert_string_equal(json_string_value(json_object_get(al, "severity")), "major");
	json_decref(out);
	alerts_free(a);
}

static void learning_clock(void **unused)
{
	struct alerts *a = alerts_new();
	const int64_t quiet = 600 * SEC;

	(void)unused;
	assert_false(alerts_learning_done(a, 1000 * SEC, quiet)); /* the period starts */
	alerts_new_device(a, "mac:00:11:22:33:44:55", "00:11:22:33:44:55", 1100 * SEC);
	assert_false(alerts_learning_done(a, 1650 * SEC, quiet));
	alerts_new_device(a, "mac:00:11:22:33:44:55", "00:11:22:33:44:55", 1690 * SEC); /* known: no reset */
	assert_true(alerts_learning_done(a, 1700 * SEC, quiet));
	alerts_set_mode(a, ALERTS_OPERATIONAL);
	assert_false(alerts_learning_done(a, 9000 * SEC, quiet));
	alerts_set_mode(a, ALERTS_LEARNING); /* learning again: a new period from the next packet */
	assert_false(alerts_learning_done(a, 9000 * SEC, quiet));
	assert_false(alerts_learning_done(a, 9500 * SEC, quiet));
	assert_true(alerts_learning_done(a, 9600 * SEC, quiet));
	alerts_free(a);
}

struct sink {
	json_t *recs;
};

static int collect(void *ud, json_t *rec)
{
	struct sink *s = ud;
	return json_array_append(s->recs, rec);
}

static const char *fake_mac(void *ud, const char *addr, char out[18])
{
	(void)ud;
	if (strcmp(addr, "10.0.0.9") != 0)
		return NULL;
	snprintf(out, 18, "00:1b:1b:00:00:09");
	return out;
}

static void learned_items_and_records(void **unused)
{
	struct alerts *a = alerts_new();
	struct sink s = { json_array() };
	json_t *learned, *r;

	(void)unused;
	alerts_set_mode(a, ALERTS_OPERATIONAL);
	alerts_dpi(a, false, "s7comm", "plc_stop", NULL, "10.0.0.9", "10.0.0.5", true, 10 * SEC);
	alerts_dpi(a, false, "s7comm", "plc_stop", NULL, "10.0.0.9", "10.0.0.5", true, 12 * SEC);
	alerts_new_connection(a, "tcp", "10.0.0.9", "10.0.0.7", 502, 13 * SEC);
	assert_int_equal(alerts_flush(a, 13 * SEC, fake_mac, NULL, collect, &s), 0);
	assert_int_equal(json_array_size(s.recs), 2);
	r = find(s.recs, "PLC stop command");
	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 2);
	assert_string_equal(json_string_value(json_object_get(r, "first_seen")), "1970-01-01T00:00:10.000Z");
	assert_string_equal(json_string_value(json_object_get(r, "last_seen")), "1970-01-01T00:00:12.000Z");
	assert_string_equal(json_string_value(json_object_get(r, "src_mac")), "00:1b:1b:00:00:09");
	assert_true(json_is_null(json_object_get(r, "dst_mac")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "learn"), "kind")), "alert");
	r = find(s.recs, "New connection");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "learn"), "kind")), "connection");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "learn"), "code")), 502);
	/* nothing new: no record; one more stop: a record of one occurrence since the last */
	json_array_clear(s.recs);
	assert_int_equal(alerts_flush(a, 14 * SEC, fake_mac, NULL, collect, &s), 0);
	assert_int_equal(json_array_size(s.recs), 0);
	alerts_dpi(a, false, "s7comm", "plc_stop", NULL, "10.0.0.9", "10.0.0.5", true, 20 * SEC);
	assert_int_equal(alerts_flush(a, 20 * SEC, NULL, NULL, collect, &s), 0);
	assert_int_equal(json_array_size(s.recs), 1);
	r = json_array_get(s.recs, 0);
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
	assert_string_equal(json_string_value(json_object_get(r, "first_seen")), "1970-01-01T00:00:20.000Z");
	/* the console learns the stop and the connection to .8: neither alerts any more */
	learned = json_loads("[{\"kind\":\"alert\",\"a\":\"10.0.0.9\",\"b\":\"10.0.0.5\",\"proto\":\"s7comm\","
			     "\"code\":0,\"title\":\"PLC stop command\"},{\"kind\":\"connection\",\"a\":\"10.0.0.9\","
			     "\"b\":\"10.0.0.8\",\"proto\":\"tcp\",\"code\":502}]",
			     0, NULL);
	assert_int_equal(alerts_set_learned(a, learned), 0);
	assert_int_equal(alerts_learned_count(a), 2);
	json_array_clear(s.recs);
	alerts_dpi(a, false, "s7comm", "plc_stop", NULL, "10.0.0.9", "10.0.0.5", true, 30 * SEC);
	alerts_new_connection(a, "tcp", "10.0.0.9", "10.0.0.8", 502, 30 * SEC);
	alerts_dpi(a, false, "s7comm", "plc_stop", NULL, "10.0.0.10", "10.0.0.5", true, 30 * SEC); /* another source */
	assert_int_equal(alerts_flush(a, 30 * SEC, NULL, NULL, collect, &s), 0);
	assert_int_equal(json_array_size(s.recs), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(s.recs, 0), "src")), "10.0.0.10");
	/* reported alerts idle for an hour are forgotten */
	json_array_clear(s.recs);
	assert_int_equal(alerts_flush(a, 30 * SEC + 3601 * SEC, NULL, NULL, collect, &s), 0);
	assert_int_equal(alerts_count(a), 0);
	json_decref(learned);
	json_decref(s.recs);
	alerts_free(a);
}

static void baseline_file(void **unused)
{
	char path[] = "/tmp/otw-baseline-XXXXXX";
	int fd = mkstemp(path);
	struct alerts *a = alerts_new(), *b = alerts_new();
	FILE *f;

	(void)unused;
	assert_true(fd >= 0);
	close(fd);
	alerts_new_device(a, "mac:00:11:22:33:44:55", "00:11:22:33:44:55", 1 * SEC);
	alerts_new_connection(a, "tcp", "10.0.0.9", "10.0.0.5", 502, 2 * SEC);
	alerts_dpi(a, false, "s7comm", "program_download", NULL, "10.0.0.20", "10.0.0.6", true, 3 * SEC);
	assert_int_equal(alerts_unsaved(a), 3);
	alerts_set_applied_rev(a, 7);
	assert_int_equal(alerts_save(a, path), 0);
	assert_int_equal(alerts_unsaved(a), 0);
	assert_int_equal(alerts_load(b, path), 0);
	assert_int_equal(alerts_baseline_size(b), 3);
	assert_int_equal(alerts_applied_rev(b), 7);
	assert_int_equal(alerts_mode(b), ALERTS_LEARNING);
	alerts_set_mode(b, ALERTS_OPERATIONAL);
	alerts_new_connection(b, "tcp", "10.0.0.9", "10.0.0.5", 502, 4 * SEC);
	alerts_dpi(b, false, "s7comm", "program_download", NULL, "10.0.0.20", "10.0.0.6", true, 4 * SEC);
	assert_int_equal(alerts_count(b), 0); /* restored: known */
	/* a truncated or foreign file is refused and leaves the baseline empty */
	assert_non_null(f = fopen(path, "r+b"));
	assert_int_equal(ftruncate(fileno(f), 40), 0);
	fclose(f);
	alerts_free(b);
	b = alerts_new();
	assert_int_equal(alerts_load(b, path), -EINVAL);
	assert_int_equal(alerts_baseline_size(b), 0);
	unlink(path);
	assert_int_equal(alerts_load(b, path), -ENOENT);
	alerts_free(a);
	alerts_free(b);
}

/* An alert that aggregates new items carries all of them for "learn", up to a cap where its own item covers the
 * rest; learning them on another sensor silences the same traffic there. */
static void aggregated_learn_items(void **unused)
{
	struct alerts *a = alerts_new(), *b = alerts_new();
	struct sink s = { json_array() };
	json_t *learn, *flat = json_array(), *it;
	size_t i;

	(void)unused;
	alerts_set_mode(a, ALERTS_OPERATIONAL);
	alerts_set_mode(b, ALERTS_OPERATIONAL);
	for (uint32_t code = 1; code <= 3; code++)
		alerts_pair_function(a, "10.0.0.9", "10.0.0.5", "s7comm", code, "read_var", 1 * SEC);
	for (unsigned port = 1; port <= 40; port++)
		alerts_new_connection(a, "tcp", "10.0.0.9", "10.0.0.6", port, 2 * SEC);
	assert_int_equal(alerts_flush(a, 2 * SEC, NULL, NULL, collect, &s), 0);
	learn = json_object_get(find(s.recs, "New function code between devices"), "learn");
	assert_true(json_is_array(learn) && json_array_size(learn) == 3);
	learn = json_object_get(find(s.recs, "New connection"), "learn");
	assert_int_equal(json_array_size(learn), 32);
	assert_string_equal(json_string_value(json_object_get(json_array_get(learn, 31), "kind")), "alert");
	/* the console flattens the learned alerts' items for the zone's sensors */
	json_array_foreach(s.recs, i, it) {
		json_t *l = json_object_get(it, "learn");
		if (json_is_array(l))
			json_array_extend(flat, l);
		else
			json_array_append(flat, l);
	}
	assert_int_equal(alerts_set_learned(b, flat), 0);
	for (uint32_t code = 1; code <= 3; code++)
		alerts_pair_function(b, "10.0.0.9", "10.0.0.5", "s7comm", code, "read_var", 3 * SEC);
	for (unsigned port = 1; port <= 40; port++)
		alerts_new_connection(b, "tcp", "10.0.0.9", "10.0.0.6", port, 3 * SEC);
	assert_int_equal(alerts_count(b), 0);
	json_decref(flat);
	json_decref(s.recs);
	alerts_free(a);
	alerts_free(b);
}

/* Rates, silences, the capture's traffic and internet connections, fed minute by minute as the inventory does. */
static void engines_over_time(void **unused)
{
	struct alerts *a = alerts_new();
	const int64_t MIN = 60 * SEC;
	json_t *out, *al;

	(void)unused;
	/* learning: the pair peaks at 120 packets a minute; the PLC talks every 5 minutes at most; the capture never
	 * sees fewer than 1000 packets a minute */
	alerts_new_device(a, "mac:00:00:00:00:00:05", "00:00:00:00:00:05", 0);
	alerts_new_device(a, "ip:10.0.0.7", "10.0.0.7", 0);
	for (int m = 1; m <= 30; m++) {
		alerts_conn_rate(a, "10.0.0.9", "10.0.0.5", "tcp", 502, m % 2 ? 60 : 120, MIN, m * MIN);
		alerts_device_activity(a, "mac:00:00:00:00:00:05", "00:00:00:00:00:05", (m - m % 5) * MIN, m * MIN);
		alerts_device_activity(a, "ip:10.0.0.7", "10.0.0.7", 0, m * MIN); /* never active: no gap learnt */
		alerts_total_rate(a, 1000 + (uint64_t)m, MIN, m * MIN);
	}
	alerts_new_connection(a, "tcp", "10.0.0.9", "8.8.8.8", 443, 1 * SEC); /* learnt: no alert later */
	alerts_set_mode(a, ALERTS_OPERATIONAL);
	/* operational: 10x the peak and 600 more is a change, less is not */
	alerts_conn_rate(a, "10.0.0.9", "10.0.0.5", "tcp", 502, 1199, MIN, 31 * MIN);
	assert_int_equal(alerts_count(a), 0);
	alerts_conn_rate(a, "10.0.0.9", "10.0.0.5", "tcp", 502, 1300, MIN, 32 * MIN);
	alerts_conn_rate(a, "10.0.0.9", "10.0.0.6", "tcp", 502, 100000, MIN, 32 * MIN); /* not in the baseline */
	assert_int_equal(alerts_count(a), 1);
	/* the PLC, silent since minute 30: 3x its 5-minute gap would be 15 minutes, the floor is 15 */
	alerts_device_activity(a, "mac:00:00:00:00:00:05", "00:00:00:00:00:05", 30 * MIN, 44 * MIN);
	assert_int_equal(alerts_count(a), 1);
	alerts_device_activity(a, "mac:00:00:00:00:00:05", "00:00:00:00:00:05", 30 * MIN, 46 * MIN);
	alerts_device_activity(a, "mac:00:00:00:00:00:05", "00:00:00:00:00:05", 30 * MIN, 60 * MIN); /* once */
	alerts_device_activity(a, "ip:10.0.0.7", "10.0.0.7", 0, 90 * MIN);
	assert_int_equal(alerts_count(a), 2);
	/* the capture: 150 a minute is under a tenth of 1001; once per drop */
	alerts_total_rate(a, 150, MIN, 61 * MIN);
	alerts_total_rate(a, 90, MIN, 62 * MIN);
	assert_int_equal(alerts_count(a), 3);
	/* internet: a new connection to a public address, not to a private or a learnt one */
	alerts_new_connection(a, "tcp", "10.0.0.9", "8.8.8.8", 443, 63 * MIN);
	alerts_new_connection(a, "tcp", "10.0.0.9", "192.168.1.1", 443, 63 * MIN);
	alerts_new_connection(a, "tcp", "10.0.0.9", "203.0.113.66", 443, 63 * MIN);
	out = alerts_json(a);
	assert_non_null(al = find(out, "Traffic rate change"));
	assert_string_equal(json_string_value(json_object_get(al, "dst")), "10.0.0.5");
	assert_non_null(al = find(out, "Device stopped communicating"));
	assert_string_equal(json_string_value(json_object_get(al, "src")), "00:00:00:00:00:05");
	assert_int_equal(json_integer_value(json_object_get(al, "count")), 1);
	assert_non_null(al = find(out, "Sensor traffic drop"));
	assert_int_equal(json_integer_value(json_object_get(al, "count")), 1);
	assert_non_null(al = find(out, "New internet connection from the OT network"));
	assert_string_equal(json_string_value(json_object_get(al, "dst")), "203.0.113.66");
	assert_int_equal(json_integer_value(json_object_get(al, "count")), 1);
	assert_true(alerts_is_public_ip("2001:4860::8888"));
	assert_false(alerts_is_public_ip("fd00::1"));
	assert_false(alerts_is_public_ip("100.64.0.1"));
	json_decref(out);
	alerts_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(learning_then_operational),
		cmocka_unit_test(scans_storms_conflicts_and_operations),
		cmocka_unit_test(learning_clock),
		cmocka_unit_test(learned_items_and_records),
		cmocka_unit_test(baseline_file),
		cmocka_unit_test(aggregated_learn_items),
		cmocka_unit_test(engines_over_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
