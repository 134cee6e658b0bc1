/* server/devices_query.c: the query parameters and cursors of GET /api/v1/devices and its CSV export (the cells it
 * writes: tests/unit/test_access_scope.c, csv_write_field). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/devices_query.h"

static struct devq q;

static void parse_ok_route(const char *query, bool export_route)
{
	struct http_error err = { 0 };

	if (devq_parse(query, export_route, &q, &err) != 0)
		fail_msg("'%s' refused: %s", query, err.message);
}

static void parse_ok(const char *query)
{
	parse_ok_route(query, false);
}

/* Refused with a 400 naming field ("" for none); the message names it too. */
static void parse_bad_route(const char *query, bool export_route, const char *field)
{
	struct http_error err = { 0 };

	if (devq_parse(query, export_route, &q, &err) != -EINVAL)
		fail_msg("'%s' accepted", query);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.code, "invalid_query");
	assert_string_equal(err.field, field);
	if (*field && !strstr(err.message, field))
		fail_msg("'%s': message '%s' does not name %s", query, err.message, field);
}

static void parse_bad(const char *query, const char *field)
{
	parse_bad_route(query, false, field);
}

static char *repeat(const char *unit, size_t n)
{
	size_t len = strlen(unit);
	char *s = malloc(len * n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * len, unit, len);
	s[len * n] = '\0';
	return s;
}

static void defaults(void **state)
{
	(void)state;
	parse_ok(NULL);
	assert_int_equal(q.limit, 100);
	assert_int_equal(q.sort, DEVQ_SORT_ID);
	assert_false(q.desc);
	assert_false(q.count);
	assert_false(q.export_route);
	assert_int_equal(q.q_kind, DEVQ_Q_NONE);
	assert_string_equal(q.cursor, "");
	assert_string_equal(q.types, "");
	assert_string_equal(q.vendor, "");
	uint64_t fp = q.fingerprint;
	parse_ok("");
	assert_true(q.fingerprint == fp);
	parse_ok("limit=5&count=false");
	assert_true(q.fingerprint == fp); /* limit and count are not part of what a cursor is bound to */
}

static void every_parameter(void **state)
{
	(void)state;
	parse_ok("limit=1000&site_id=3&zone_id=4&sensor_id=0b7e1c7a-9f7c-4f5e-9d56-6f1c9d0e2a11&q=pump&type=plc,hmi"
		 "&class=ics&vendor=Siemens%20AG&protocol=modbus&authorized=false&importance=high&purdue_level=2"
		 "&new=true&seen_after=2024-01-01T00:00:00Z&seen_before=2024-02-01T00:00:00.5%2B01:00&tag=line%201"
		 "&sort=purdue_level&order=desc&count=true&cursor=abc");
	assert_int_equal(q.limit, 1000);
	assert_string_equal(q.site_id, "3");
	assert_string_equal(q.zone_id, "4");
	assert_string_equal(q.sensor_id, "0b7e1c7a-9f7c-4f5e-9d56-6f1c9d0e2a11");
	assert_int_equal(q.q_kind, DEVQ_Q_TEXT);
	assert_string_equal(q.q, "%pump%");
	assert_string_equal(q.types, "{plc,hmi}");
	assert_string_equal(q.class_, "ics");
	assert_string_equal(q.vendor, "Siemens AG");
	assert_string_equal(q.protocol, "modbus");
	assert_string_equal(q.authorized, "false");
	assert_string_equal(q.importance, "high");
	assert_string_equal(q.purdue, "2");
	assert_string_equal(q.is_new, "true");
	assert_string_equal(q.seen_after, "2024-01-01T00:00:00Z");
	assert_string_equal(q.seen_before, "2024-02-01T00:00:00.5+01:00");
	assert_string_equal(q.tag, "line 1");
	assert_int_equal(q.sort, DEVQ_SORT_PURDUE);
	assert_true(q.desc);
	assert_true(q.count);
	assert_string_equal(q.cursor, "abc");
	static const char *const sorts[] = { "id", "name", "type", "vendor", "ip", "first_seen", "last_seen",
					     "site", "zone", "purdue_level" };
	for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
		char query[64];
		snprintf(query, sizeof(query), "sort=%s&order=asc", sorts[i]);
		parse_ok(query);
		assert_int_equal(q.sort, (int)i);
		assert_false(q.desc);
	}
	for (size_t i = 0; i < api_device_types_n; i++) {
		char query[64];
		snprintf(query, sizeof(query), "type=%s", api_device_types[i]);
		parse_ok(query);
	}
	parse_ok("class=network");
	parse_ok("importance=low&authorized=true&new=false&purdue_level=0");
	parse_ok("type="); /* an empty list: no type matches (as before the split) */
	assert_string_equal(q.types, "{}");
	parse_ok("purdue_level=5");
}

static void bad_values(void **state)
{
	static const char *const cases[][2] = {
		{ "limit=0", "limit" },		  { "limit=-1", "limit" },	  { "limit=1001", "limit" },
		{ "limit=abc", "limit" },	  { "limit=", "limit" },	  { "site_id=0", "site_id" },
		{ "site_id=x", "site_id" },	  { "zone_id=1.5", "zone_id" },	  { "sensor_id=1", "sensor_id" },
		{ "q=", "q" },			  { "q=a%01b", "q" },		  { "q=%FF", "q" },
		{ "q=10.1.0.0/99", "q" },	  { "q=a/b", "q" },		  { "q=10.1.0.0/", "q" },
		{ "type=robot", "type" },	  { "type=plc,plc", "type" },	  { "type=plc,", "type" },
		{ "type=,plc", "type" },	  { "type=plc,,hmi", "type" },	  { "class=ot", "class" },
		{ "vendor=", "vendor" },	  { "vendor=a%0Ab", "vendor" },	  { "protocol=Modbus", "protocol" },
		{ "protocol=mod%20bus", "protocol" }, { "protocol=", "protocol" }, { "authorized=yes", "authorized" },
		{ "new=1", "new" },		  { "count=1", "count" },	  { "importance=urgent", "importance" },
		{ "purdue_level=6", "purdue_level" }, { "purdue_level=10", "purdue_level" },
		{ "purdue_level=", "purdue_level" }, { "seen_after=yesterday", "seen_after" },
		{ "seen_before=2024-13-01T00:00:00Z", "seen_before" }, { "tag=", "tag" }, { "sort=color", "sort" },
		{ "sort=", "sort" },		  { "order=up", "order" },	  { "colour=red", "colour" },
		{ "sort=id&sort=name", "sort" },  { "format=csv", "format" },	  { "limit=5&limit=5", "limit" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		parse_bad(cases[i][0], cases[i][1]);
}

static void routes(void **state)
{
	(void)state;
	parse_ok_route("format=csv&sort=name&q=pump", true);
	assert_true(q.export_route);
	assert_int_equal(q.sort, DEVQ_SORT_NAME);
	parse_bad_route(NULL, true, "format");
	parse_bad_route("", true, "format");
	parse_bad_route("sort=name", true, "format");
	parse_bad_route("format=json", true, "format");
	parse_bad_route("format=csv&limit=5", true, "limit");
	parse_bad_route("format=csv&count=true", true, "count");
	parse_bad_route("format=csv&cursor=abc", true, "cursor");
	parse_bad_route("format=csv&format=csv", true, "format");
}

static void limits(void **state)
{
	char *s, *query;

	(void)state;
	s = repeat("a", 200);
	assert_true(asprintf(&query, "q=%s", s) > 0);
	parse_ok(query);
	free(query);
	free(s);
	s = repeat("a", 201);
	assert_true(asprintf(&query, "q=%s", s) > 0);
	parse_bad(query, "q");
	free(query);
	free(s);
	s = repeat("%C3%A9", 200); /* 200 characters, 400 bytes */
	assert_true(asprintf(&query, "q=%s", s) > 0);
	parse_ok(query);
	assert_int_equal(q.q_kind, DEVQ_Q_TEXT);
	assert_int_equal(strlen(q.q), 402);
	free(query);
	free(s);
	s = repeat("%F0%9F%90%8D", 200); /* 200 characters of 4 bytes */
	assert_true(asprintf(&query, "q=%s", s) > 0);
	parse_ok(query);
	assert_int_equal(strlen(q.q), 802);
	free(query);
	free(s);
	s = repeat("%25", 200); /* every character escaped in the LIKE pattern */
	assert_true(asprintf(&query, "q=%s", s) > 0);
	parse_ok(query);
	assert_int_equal(strlen(q.q), 402);
	free(query);
	free(s);
	s = repeat("%F0%9F%90%8D", 255); /* 255 characters of 4 bytes */
	assert_true(asprintf(&query, "vendor=%s", s) > 0);
	parse_ok(query);
	assert_int_equal(strlen(q.vendor), 1020);
	free(query);
	free(s);
	s = repeat("v", 256);
	assert_true(asprintf(&query, "vendor=%s", s) > 0);
	parse_bad(query, "vendor");
	free(query);
	free(s);
	s = repeat("%F0%9F%90%8D", 64);
	assert_true(asprintf(&query, "tag=%s", s) > 0);
	parse_ok(query);
	assert_int_equal(strlen(q.tag), 256);
	free(query);
	free(s);
	s = repeat("t", 65);
	assert_true(asprintf(&query, "tag=%s", s) > 0);
	parse_bad(query, "tag");
	free(query);
	free(s);
	s = repeat("p", 64);
	assert_true(asprintf(&query, "protocol=%s", s) > 0);
	parse_ok(query);
	free(query);
	free(s);
	s = repeat("p", 65);
	assert_true(asprintf(&query, "protocol=%s", s) > 0);
	parse_bad(query, "protocol");
	free(query);
	free(s);
	/* Every type once fits the array literal. */
	size_t used = 0;
	char types[1024] = "type=";
	used = strlen(types);
	for (size_t i = 0; i < api_device_types_n; i++)
		used += (size_t)snprintf(types + used, sizeof(types) - used, "%s%s", i ? "," : "", api_device_types[i]);
	parse_ok(types);
	assert_int_equal(q.types[0], '{');
	assert_int_equal(q.types[strlen(q.types) - 1], '}');
	/* The whole query string. */
	s = repeat("a", DEVQ_QUERY_MAX - 2);
	assert_true(asprintf(&query, "q=%s", s) > 0); /* DEVQ_QUERY_MAX bytes: too long a q */
	parse_bad(query, "q");
	free(query);
	free(s);
	s = repeat("a", DEVQ_QUERY_MAX - 1);
	assert_true(asprintf(&query, "q=%s", s) > 0); /* one byte over */
	parse_bad(query, "");
	free(query);
	free(s);
	s = repeat("c", DEVQ_CURSOR_MAX);
	assert_true(asprintf(&query, "cursor=%s", s) > 0);
	parse_bad(query, "cursor");
	free(query);
	free(s);
}

static void search_kinds(void **state)
{
	static const struct {
		const char *in;
		enum devq_search kind;
		const char *q;
	} cases[] = {
		{ "10.1.", DEVQ_Q_IP_PREFIX, "10.1.%" },
		{ "10.1.2.3", DEVQ_Q_IP_PREFIX, "10.1.2.3%" },
		{ "192.168", DEVQ_Q_IP_PREFIX, "192.168%" },
		{ "255.255.255.255", DEVQ_Q_IP_PREFIX, "255.255.255.255%" },
		{ "10.1.0.0%2F16", DEVQ_Q_CIDR, "10.1.0.0/16" },
		{ "10.1.2.3/32", DEVQ_Q_CIDR, "10.1.2.3/32" },
		{ "0.0.0.0/0", DEVQ_Q_CIDR, "0.0.0.0/0" },
		{ "fe80::/10", DEVQ_Q_CIDR, "fe80::/10" },
		{ "2001:db8::/128", DEVQ_Q_CIDR, "2001:db8::/128" },
		{ "10", DEVQ_Q_TEXT, "%10%" },	       /* no dot: a name or serial as much as an address */
		{ "256.1", DEVQ_Q_TEXT, "%256.1%" },   /* not an address */
		{ "1.2.3.4.5", DEVQ_Q_TEXT, "%1.2.3.4.5%" },
		{ "1..2", DEVQ_Q_TEXT, "%1..2%" },
		{ "1234.5", DEVQ_Q_TEXT, "%1234.5%" },
		{ "Boiler Pump", DEVQ_Q_TEXT, "%Boiler Pump%" },
		{ "plc_1%25", DEVQ_Q_TEXT, "%plc\\_1\\%%" },
		{ "a%5Cb", DEVQ_Q_TEXT, "%a\\\\b%" },
		{ "00", DEVQ_Q_TEXT, "%00%" },
		{ "00:1d:9c:aa:bb:cc:dd", DEVQ_Q_TEXT, "%00:1d:9c:aa:bb:cc:dd%" }, /* 7 octets */
		{ "00:1d-9c", DEVQ_Q_TEXT, "%00:1d-9c%" },			     /* mixed separators */
		{ "0:1:2x", DEVQ_Q_TEXT, "%0:1:2x%" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char query[128];
		snprintf(query, sizeof(query), "q=%s", cases[i].in);
		parse_ok(query);
		if (q.q_kind != cases[i].kind)
			fail_msg("'%s': kind %d, want %d", cases[i].in, q.q_kind, cases[i].kind);
		assert_string_equal(q.q, cases[i].q);
	}
	parse_ok("q=00:1d:9c");
	assert_int_equal(q.q_kind, DEVQ_Q_MAC);
	assert_string_equal(q.mac_lo, "00:1d:9c:00:00:00");
	assert_string_equal(q.mac_hi, "00:1d:9c:ff:ff:ff");
	parse_ok("q=00-1D-9C-");
	assert_int_equal(q.q_kind, DEVQ_Q_MAC);
	assert_string_equal(q.mac_lo, "00:1d:9c:00:00:00");
	parse_ok("q=ab:cd:ef:01:02:03");
	assert_int_equal(q.q_kind, DEVQ_Q_MAC);
	assert_string_equal(q.mac_lo, "ab:cd:ef:01:02:03");
	assert_string_equal(q.mac_hi, "ab:cd:ef:01:02:03");
	parse_ok("q=00:1d:9");
	assert_int_equal(q.q_kind, DEVQ_Q_MAC); /* a short last group: a prefix of the octet's text */
	assert_string_equal(q.mac_lo, "00:1d:90:00:00:00");
	assert_string_equal(q.mac_hi, "00:1d:9f:ff:ff:ff");
}

static void fingerprint(void **state)
{
	static const char *const others[] = {
		"sort=name&order=desc", "sort=id", "sort=name&type=plc", "sort=name&q=plc", "sort=name&site_id=1",
		"sort=name&zone_id=1", "sort=name&vendor=x", "sort=name&tag=x", "sort=name&new=true",
		"sort=name&authorized=true", "sort=name&importance=low", "sort=name&purdue_level=1",
		"sort=name&protocol=modbus", "sort=name&class=it", "sort=name&seen_after=2024-01-01T00:00:00Z",
		"sort=name&seen_before=2024-01-01T00:00:00Z", "sort=name&sensor_id=0b7e1c7a-9f7c-4f5e-9d56-6f1c9d0e2a11",
	};
	uint64_t fp;

	(void)state;
	parse_ok("sort=name");
	fp = q.fingerprint;
	parse_ok("limit=3&sort=name&count=true");
	assert_true(q.fingerprint == fp);
	parse_ok_route("sort=name&format=csv", true);
	assert_true(q.fingerprint == fp);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		parse_ok(others[i]);
		if (q.fingerprint == fp)
			fail_msg("'%s' has the fingerprint of sort=name", others[i]);
	}
	/* The value and the parameter it belongs to both count. */
	parse_ok("vendor=abc");
	fp = q.fingerprint;
	parse_ok("tag=abc");
	assert_true(q.fingerprint != fp);
}

/* Encodes a cursor for (key, id) under query, then decodes it as the next request would. */
static void round_trip(const char *query, const char *key, const char *id)
{
	char cursor[DEVQ_CURSOR_MAX], got_key[DEVQ_KEY_MAX], got_id[24], *next;
	struct http_error err = { 0 };

	parse_ok(query);
	if (!devq_cursor_encode(&q, key, id, cursor))
		fail_msg("'%s': cursor for key '%s' does not fit", query, key);
	assert_true(strlen(cursor) < DEVQ_CURSOR_MAX);
	assert_int_equal(strspn(cursor, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
			 strlen(cursor));
	assert_true(asprintf(&next, "%s&cursor=%s", query, cursor) > 0);
	parse_ok(next);
	free(next);
	if (!devq_cursor_decode(&q, got_key, sizeof(got_key), got_id, &err))
		fail_msg("'%s': cursor for key '%s' refused: %s", query, key, err.message);
	assert_string_equal(got_key, key);
	assert_string_equal(got_id, id);
}

static void cursor_round_trip(void **state)
{
	char *big;

	(void)state;
	round_trip("sort=id", "", "42");
	round_trip("sort=id&order=desc&q=pump", "", "9223372036854775807");
	round_trip("sort=name", "boiler feed pump 7", "5");
	round_trip("sort=name", "", "5");
	round_trip("sort=name", "a|b|c", "6"); /* the separator inside the key */
	round_trip("sort=type&type=plc", "plc", "7");
	round_trip("sort=vendor", "siemens ag", "8");
	round_trip("sort=ip", "10.1.2.3", "9");
	round_trip("sort=ip", "fe80::1", "9");
	round_trip("sort=ip", "10.0.0.0/8", "9");
	round_trip("sort=ip", "::", "9");
	round_trip("sort=first_seen", "1700000000123456", "10");
	round_trip("sort=last_seen&order=desc", "-5", "11");
	round_trip("sort=last_seen", "0", "11");
	round_trip("sort=site", "12", "12");
	round_trip("sort=site", "", "12"); /* devices without a zone */
	round_trip("sort=zone&site_id=3", "4", "13");
	round_trip("sort=purdue_level", "9", "14");
	/* The longest key a vendor or name override gives: 255 characters of 4 bytes. */
	big = repeat("\xF0\x9F\x90\x8D", 255);
	round_trip("sort=vendor", big, "9223372036854775807");
	free(big);
}

static void decode_bad(const char *query, const char *cursor, const char *why)
{
	char *full, key[DEVQ_KEY_MAX], id[24];
	struct http_error err = { 0 };

	assert_true(asprintf(&full, "%s&cursor=%s", query, cursor) > 0);
	parse_ok(full);
	free(full);
	if (devq_cursor_decode(&q, key, sizeof(key), id, &err))
		fail_msg("'%s' cursor '%s' accepted", query, cursor);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.code, "invalid_query");
	assert_string_equal(err.field, "cursor");
	if (!strstr(err.message, why))
		fail_msg("'%s': message '%s', want '%s'", cursor, err.message, why);
}

/* A cursor from raw bytes (as a client could make one). */
static void raw_cursor(const char *raw, char out[DEVQ_CURSOR_MAX])
{
	assert_true(http_base64url_encode((const uint8_t *)raw, strlen(raw), out, DEVQ_CURSOR_MAX));
}

static void cursor_refused(void **state)
{
	char cursor[DEVQ_CURSOR_MAX], forged[DEVQ_CURSOR_MAX], raw[256], key[DEVQ_KEY_MAX], id[24];
	struct http_error err = { 0 };
	uint64_t fp;

	(void)state;
	/* Foreign: made for another sort, order or filter set. */
	parse_ok("sort=name");
	fp = q.fingerprint;
	assert_true(devq_cursor_encode(&q, "pump", "5", cursor));
	decode_bad("sort=id", cursor, "another sort");
	decode_bad("sort=name&order=desc", cursor, "another sort");
	decode_bad("sort=name&type=plc", cursor, "another sort");
	decode_bad("sort=name&q=pump", cursor, "another sort");
	decode_bad("sort=name&limit=5&vendor=x", cursor, "another sort");
	/* ... while the limit may change. */
	{
		char *full;
		assert_true(asprintf(&full, "sort=name&limit=7&cursor=%s", cursor) > 0);
		parse_ok(full);
		free(full);
		assert_true(devq_cursor_decode(&q, key, sizeof(key), id, &err));
	}
	/* Malformed or tampered. */
	decode_bad("sort=name", "%21%21", "not valid");
	decode_bad("sort=name", "abcd", "not valid");
	decode_bad("sort=name", "A", "not valid");
	snprintf(forged, sizeof(forged), "%s", cursor);
	forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == 'A' ? 'B' : 'A'; /* a changed last character */
	{
		char *full;
		assert_true(asprintf(&full, "sort=name&cursor=%s", forged) > 0);
		parse_ok(full);
		free(full);
		/* Whatever it decodes to, it is either refused or a well formed position of this query. */
		if (devq_cursor_decode(&q, key, sizeof(key), id, &err))
			assert_true(strlen(id) > 0 && strlen(id) < 24);
	}
	snprintf(raw, sizeof(raw), "%016llx|x5|pump", (unsigned long long)fp);
	raw_cursor(raw, forged);
	decode_bad("sort=name", forged, "not valid"); /* id not an integer */
	snprintf(raw, sizeof(raw), "%016llx|0|pump", (unsigned long long)fp);
	raw_cursor(raw, forged);
	decode_bad("sort=name", forged, "not valid"); /* id not positive */
	snprintf(raw, sizeof(raw), "%016llx|5", (unsigned long long)fp);
	raw_cursor(raw, forged);
	decode_bad("sort=name", forged, "not valid"); /* no key */
	snprintf(raw, sizeof(raw), "%016llx|12345678901234567890123|pump", (unsigned long long)fp);
	raw_cursor(raw, forged);
	decode_bad("sort=name", forged, "not valid"); /* id too long */
	snprintf(raw, sizeof(raw), "%016llX|5|pump", (unsigned long long)fp | 0xa000000000000000ULL);
	raw_cursor(raw, forged);
	decode_bad("sort=name", forged, "not valid"); /* upper-case hex */
	/* Not UTF-8 as PostgreSQL takes it: truncated, overlong, a surrogate, above U+10FFFF. */
	{
		static const char *const bad_keys[] = { "\xC3", "a\xC3", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80",
							"\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xE2\x82", "\x80" };
		for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
			snprintf(raw, sizeof(raw), "%016llx|5|%s", (unsigned long long)fp, bad_keys[i]);
			raw_cursor(raw, forged);
			decode_bad("sort=name", forged, "not valid");
		}
	}
	/* A NUL inside the decoded bytes. */
	{
		uint8_t bytes[40];
		int n = snprintf((char *)bytes, sizeof(bytes), "%016llx|5|ab", (unsigned long long)fp);
		bytes[n - 1] = '\0';
		assert_true(http_base64url_encode(bytes, (size_t)n, forged, sizeof(forged)));
		decode_bad("sort=name", forged, "not valid");
	}
	/* Keys that SQL could not cast for the sort. */
	parse_ok("sort=ip");
	snprintf(raw, sizeof(raw), "%016llx|5|10.1.2", (unsigned long long)q.fingerprint);
	raw_cursor(raw, forged);
	decode_bad("sort=ip", forged, "not valid");
	snprintf(raw, sizeof(raw), "%016llx|5|10.0.0.0/33", (unsigned long long)q.fingerprint);
	raw_cursor(raw, forged);
	decode_bad("sort=ip", forged, "not valid");
	parse_ok("sort=first_seen");
	snprintf(raw, sizeof(raw), "%016llx|5|yesterday", (unsigned long long)q.fingerprint);
	raw_cursor(raw, forged);
	decode_bad("sort=first_seen", forged, "not valid");
	parse_ok("sort=purdue_level");
	snprintf(raw, sizeof(raw), "%016llx|5|10", (unsigned long long)q.fingerprint);
	raw_cursor(raw, forged);
	decode_bad("sort=purdue_level", forged, "not valid");
	parse_ok("sort=site");
	snprintf(raw, sizeof(raw), "%016llx|5|-1", (unsigned long long)q.fingerprint);
	raw_cursor(raw, forged);
	decode_bad("sort=site", forged, "not valid");
	parse_ok("sort=id");
	snprintf(raw, sizeof(raw), "%016llx|5|x", (unsigned long long)q.fingerprint);
	raw_cursor(raw, forged);
	decode_bad("sort=id", forged, "not valid");
	/* A key longer than the caller's buffer. */
	parse_ok("sort=name");
	assert_true(devq_cursor_encode(&q, "a key of some length", "5", cursor));
	{
		char *full, small[8];
		assert_true(asprintf(&full, "sort=name&cursor=%s", cursor) > 0);
		parse_ok(full);
		free(full);
		assert_false(devq_cursor_decode(&q, small, sizeof(small), id, &err));
		assert_string_equal(err.field, "cursor");
	}
	/* A key too long for any cursor. */
	{
		char *huge = repeat("k", DEVQ_CURSOR_MAX);
		assert_false(devq_cursor_encode(&q, huge, "5", cursor));
		free(huge);
	}
}

/* A name or vendor a sensor reported with control characters (or any valid UTF-8) is a key paging goes on from. */
static void cursor_control_characters(void **state)
{
	static const char *const keys[] = { "a\x01b", "\t\r\n", "\x7f", "plc\x1b[31m", "\xE2\x82\xAC\x02",
					    "\xF0\x9F\x98\x80", "\xED\x9F\xBF", "\xEF\xBF\xBF" };
	char cursor[DEVQ_CURSOR_MAX], key[DEVQ_KEY_MAX], id[24];
	struct http_error err = { 0 };
	const char *sorts[] = { "sort=name", "sort=vendor", "sort=type" };

	(void)state;
	for (size_t s = 0; s < sizeof(sorts) / sizeof(sorts[0]); s++) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			char *full;
			parse_ok(sorts[s]);
			assert_true(devq_cursor_encode(&q, keys[i], "42", cursor));
			assert_true(asprintf(&full, "%s&cursor=%s", sorts[s], cursor) > 0);
			parse_ok(full);
			free(full);
			assert_true(devq_cursor_decode(&q, key, sizeof(key), id, &err));
			assert_string_equal(key, keys[i]);
			assert_string_equal(id, "42");
		}
	}
}

/* The export's cells: RFC 4180 quoting and the CSV-injection apostrophe, tab and CR included. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),	     cmocka_unit_test(every_parameter), cmocka_unit_test(bad_values),
		cmocka_unit_test(routes),	     cmocka_unit_test(limits),		cmocka_unit_test(search_kinds),
		cmocka_unit_test(fingerprint),	     cmocka_unit_test(cursor_round_trip), cmocka_unit_test(cursor_refused),
		cmocka_unit_test(cursor_control_characters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
