/* The alert engines (alerts.c): learning builds the baseline and raises no policy alert; operational mode
 * alerts once per new item (later occurrences count on the alert); scans, storms, conflicts and events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sensor-agent/alerts.h"

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
	alerts_ip_conflict(a, "10.0.0.5", "00:00:00:00:00:66", "00:00:00:00:00:05", 6 * SEC);
	out = alerts_json(a);
	assert_int_equal(json_array_size(out), 5);
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
	al = find(out, "ARP spoofing or IP address conflict");
	assert_string_equal(json_string_value(json_object_get(al, "src")), "00:00:00:00:00:66");
	json_decref(out);
	alerts_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(learning_then_operational),
		cmocka_unit_test(scans_storms_conflicts_and_operations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
