#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "server/http_util.h"

static void int_ids(void **state)
{
	int64_t v;
	assert_true(http_id_parse_int("1", &v));
	assert_int_equal(v, 1);
	assert_true(http_id_parse_int("9223372036854775807", &v));
	assert_true(v == INT64_MAX);
	assert_false(http_id_parse_int("9223372036854775808", &v));
	assert_false(http_id_parse_int("0", &v));
	assert_false(http_id_parse_int("01", &v));
	assert_false(http_id_parse_int("-1", &v));
	assert_false(http_id_parse_int("", &v));
	assert_false(http_id_parse_int("1a", &v));
	assert_false(http_id_parse_int(" 1", &v));
}

static void uuids(void **state)
{
	assert_true(http_id_is_uuid("0b9e6c2a-1f0e-4c39-9d0e-3f1f6f6c2a11"));
	assert_true(http_id_is_uuid("0B9E6C2A-1F0E-4C39-9D0E-3F1F6F6C2A11"));
	assert_false(http_id_is_uuid("0b9e6c2a1f0e-4c39-9d0e-3f1f6f6c2a11-"));
	assert_false(http_id_is_uuid("0b9e6c2a-1f0e-4c39-9d0e-3f1f6f6c2a1"));
	assert_false(http_id_is_uuid("0b9e6c2a-1f0e-4c39-9d0e-3f1f6f6c2a1g"));
	assert_false(http_id_is_uuid(""));
}

static void base64url_round_trip(void **state)
{
	char out[64];
	uint8_t back[64];
	const char *samples[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	const char *expect[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };

	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		size_t n = strlen(samples[i]);
		assert_true(http_base64url_encode((const uint8_t *)samples[i], n, out, sizeof(out)));
		assert_string_equal(out, expect[i]);
		assert_int_equal(http_base64url_decode(out, back, sizeof(back)), (long)n);
		assert_memory_equal(back, samples[i], n);
	}
	assert_true(http_base64url_encode((const uint8_t *)"\xfb\xff", 2, out, sizeof(out)));
	assert_string_equal(out, "-_8");
	/* too small an output buffer */
	assert_false(http_base64url_encode((const uint8_t *)"foobar", 6, out, 8));
	assert_int_equal(http_base64url_decode("Zm9vYmFy", back, 5), -1);
	/* padding, foreign alphabet, impossible length, non-zero trailing bits */
	assert_int_equal(http_base64url_decode("Zg==", back, sizeof(back)), -1);
	assert_int_equal(http_base64url_decode("Zm+v", back, sizeof(back)), -1);
	assert_int_equal(http_base64url_decode("Zm9vY", back, sizeof(back)), -1);
	assert_int_equal(http_base64url_decode("Zh", back, sizeof(back)), -1);
}

static void cursors(void **state)
{
	char cur[HTTP_CURSOR_MAX], id[HTTP_ID_MAX];

	assert_true(http_cursor_encode("42", cur));
	assert_true(http_cursor_decode(cur, HTTP_ID_INT, id));
	assert_string_equal(id, "42");
	assert_false(http_cursor_decode(cur, HTTP_ID_UUID, id));
	assert_true(http_cursor_encode("0b9e6c2a-1f0e-4c39-9d0e-3f1f6f6c2a11", cur));
	assert_true(http_cursor_decode(cur, HTTP_ID_UUID, id));
	assert_string_equal(id, "0b9e6c2a-1f0e-4c39-9d0e-3f1f6f6c2a11");
	assert_false(http_cursor_decode(cur, HTTP_ID_INT, id));
	assert_false(http_cursor_encode("", cur));
	/* "0", "-1", "x" are not ids; "MQA" decodes to "1\0" */
	assert_false(http_cursor_decode("MA", HTTP_ID_INT, id));
	assert_false(http_cursor_decode("LTE", HTTP_ID_INT, id));
	assert_false(http_cursor_decode("eA", HTTP_ID_INT, id));
	assert_false(http_cursor_decode("MQA", HTTP_ID_INT, id));
	assert_false(http_cursor_decode("", HTTP_ID_INT, id));
	assert_false(http_cursor_decode("!!!", HTTP_ID_INT, id));
	assert_false(http_cursor_decode("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB", HTTP_ID_INT,
					id));
}

static void list_params(void **state)
{
	struct http_list_params lp;
	struct http_error err;
	char cur[HTTP_CURSOR_MAX], q[256];
	const unsigned all = HTTP_FILTER_SITE_ID | HTTP_FILTER_ZONE_ID | HTTP_FILTER_SENSOR_ID;

	assert_int_equal(http_list_params_parse(NULL, 0, HTTP_ID_INT, &lp, &err), 0);
	assert_int_equal(lp.limit, HTTP_LIMIT_DEFAULT);
	assert_string_equal(lp.after, "");
	assert_int_equal(http_list_params_parse("", 0, HTTP_ID_INT, &lp, &err), 0);

	assert_true(http_cursor_encode("17", cur));
	snprintf(q, sizeof(q), "limit=1000&cursor=%s&site_id=3&zone_id=4&sensor_id=0b9e6c2a-1f0e-4c39-9d0e-3f1f6f6c2a11",
		 cur);
	assert_int_equal(http_list_params_parse(q, all, HTTP_ID_INT, &lp, &err), 0);
	assert_int_equal(lp.limit, 1000);
	assert_string_equal(lp.after, "17");
	assert_string_equal(lp.site_id, "3");
	assert_string_equal(lp.zone_id, "4");
	assert_string_equal(lp.sensor_id, "0b9e6c2a-1f0e-4c39-9d0e-3f1f6f6c2a11");

	static const char *const bad[][2] = {
		{ "limit=0", "limit" },	       { "limit=1001", "limit" },   { "limit=abc", "limit" },
		{ "limit=-1", "limit" },       { "limit=", "limit" },	     { "limit=1&limit=2", "limit" },
		{ "cursor=xyz!", "cursor" },   { "cursor=MA", "cursor" },   { "site_id=0", "site_id" },
		{ "zone_id=x", "zone_id" },    { "sensor_id=1", "sensor_id" }, { "colour=red", "colour" },
		{ "sort=name&limit=1", "sort" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_not_equal(http_list_params_parse(bad[i][0], all, HTTP_ID_INT, &lp, &err), 0);
		assert_int_equal(err.status, 400);
		assert_string_equal(err.code, "invalid_query");
		assert_string_equal(err.field, bad[i][1]);
	}
	/* a filter the list does not have is an unknown parameter */
	assert_int_not_equal(http_list_params_parse("sensor_id=0b9e6c2a-1f0e-4c39-9d0e-3f1f6f6c2a11",
						    HTTP_FILTER_SITE_ID, HTTP_ID_INT, &lp, &err),
			     0);
	assert_string_equal(err.field, "sensor_id");
	/* no '=' */
	assert_int_not_equal(http_list_params_parse("limit", all, HTTP_ID_INT, &lp, &err), 0);
}

static void list_filters_for_hierarchy_and_audit(void **state)
{
	struct http_list_params lp;
	struct http_error err;
	const unsigned all = HTTP_FILTER_REGION_ID | HTTP_FILTER_BUSINESS_UNIT_ID | HTTP_FILTER_TIME |
			     HTTP_FILTER_USERNAME | HTTP_FILTER_ACTION | HTTP_FILTER_FORMAT;

	(void)state;
	assert_int_equal(http_list_params_parse("region_id=2&business_unit_id=3&from=2026-01-01T00:00:00Z"
						"&to=2026-01-02T00:00:00.5%2B01:00&username=ann%20b&action=site.create"
						"&format=jsonl",
						all, HTTP_ID_INT, &lp, &err),
			 0);
	assert_string_equal(lp.region_id, "2");
	assert_string_equal(lp.business_unit_id, "3");
	assert_string_equal(lp.from, "2026-01-01T00:00:00Z");
	assert_string_equal(lp.to, "2026-01-02T00:00:00.5+01:00");
	assert_string_equal(lp.username, "ann b");
	assert_string_equal(lp.action, "site.create");
	assert_string_equal(lp.format, "jsonl");

	static const char *const bad[][2] = {
		{ "region_id=0", "region_id" }, { "business_unit_id=x", "business_unit_id" },
		{ "from=yesterday", "from" },   { "to=2026-13-01T00:00:00Z", "to" },
		{ "username=", "username" },    { "username=a%0Ab", "username" },
		{ "action=Site", "action" },    { "action=", "action" },
		{ "format=xml", "format" },     { "from=2026-01-01T00:00:00Z&from=2026-01-01T00:00:00Z", "from" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_not_equal(http_list_params_parse(bad[i][0], all, HTTP_ID_INT, &lp, &err), 0);
		assert_int_equal(err.status, 400);
		assert_string_equal(err.field, bad[i][1]);
	}
	/* filters the list does not take */
	assert_int_not_equal(http_list_params_parse("action=x", HTTP_FILTER_TIME, HTTP_ID_INT, &lp, &err), 0);
	assert_string_equal(err.field, "action");
	assert_int_not_equal(http_list_params_parse("format=csv", 0, HTTP_ID_INT, &lp, &err), 0);
}

static const struct http_field fields[] = {
	{ "name", HTTP_FT_STRING, HTTP_FF_REQUIRED | HTTP_FF_NO_CTRL, 1, 5 },
	{ "note", HTTP_FT_STRING, 0, 0, 10 },
	{ "zone_id", HTTP_FT_ID, HTTP_FF_NULLABLE, 0, 0 },
};
static const struct http_body_spec spec = { fields, 3, 0 };
static const struct http_body_spec patch_spec = { fields + 1, 2, 1 };

static void expect_bad(const struct http_body_spec *s, const char *body, int status, const char *code,
		       const char *field)
{
	struct http_error err;
	json_t *obj = (json_t *)1;

	memset(&err, 0, sizeof(err));
	assert_int_not_equal(http_json_parse_body(body, strlen(body), 100, s, &obj, &err), 0);
	assert_null(obj);
	assert_int_equal(err.status, status);
	assert_string_equal(err.code, code);
	assert_string_equal(err.field, field);
}

static void json_bodies(void **state)
{
	struct http_error err;
	json_t *obj;
	const char *ok = "{\"name\":\"h\\u00e9llo\",\"zone_id\":null}";

	assert_int_equal(http_json_parse_body(ok, strlen(ok), 100, &spec, &obj, &err), 0);
	assert_string_equal(json_string_value(json_object_get(obj, "name")), "h\xc3\xa9llo");
	json_decref(obj);

	expect_bad(&spec, "{\"name\":\"abcdef\"}", 400, "invalid_field", "name");
	expect_bad(&spec, "{\"name\":\"\"}", 400, "invalid_field", "name");
	expect_bad(&spec, "{\"name\":\"a\\nb\"}", 400, "invalid_field", "name");
	expect_bad(&spec, "{\"name\":5}", 400, "invalid_field", "name");
	expect_bad(&spec, "{\"name\":null}", 400, "invalid_field", "name");
	expect_bad(&spec, "{\"name\":\"a\",\"zone_id\":0}", 400, "invalid_field", "zone_id");
	expect_bad(&spec, "{\"name\":\"a\",\"zone_id\":1.5}", 400, "invalid_field", "zone_id");
	expect_bad(&spec, "{\"name\":\"a\",\"zone_id\":\"1\"}", 400, "invalid_field", "zone_id");
	expect_bad(&spec, "{\"name\":\"a\",\"extra\":1}", 400, "unknown_field", "extra");
	expect_bad(&spec, "{\"note\":\"a\"}", 400, "missing_field", "name");
	expect_bad(&spec, "{\"name\":\"a\",\"name\":\"b\"}", 400, "invalid_json", "");
	expect_bad(&spec, "[1]", 400, "invalid_body", "");
	expect_bad(&spec, "{\"name\":", 400, "invalid_json", "");
	expect_bad(&spec, "", 400, "invalid_body", "");
	expect_bad(&spec, "{\"name\":\"a\\u0000\"}", 400, "invalid_json", "");
	expect_bad(&patch_spec, "{}", 400, "invalid_body", "");
	{
		char big[200];
		memset(big, ' ', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		expect_bad(&spec, big, 413, "body_too_large", "");
	}
}

static const struct http_field typed_fields[] = {
	{ "on", HTTP_FT_BOOL, 0, 0, 0 },
	{ "ids", HTTP_FT_IDS, 0, 0, 3 },
	{ "things", HTTP_FT_ARRAY, 0, 0, 2 },
};
static const struct http_body_spec typed_spec = { typed_fields, 3, 0 };

static void bool_and_array_fields(void **state)
{
	struct http_error err;
	json_t *obj;
	const char *ok = "{\"on\":false,\"ids\":[1,2,3],\"things\":[{},{\"a\":1}]}";

	(void)state;
	assert_int_equal(http_json_parse_body(ok, strlen(ok), 100, &typed_spec, &obj, &err), 0);
	json_decref(obj);
	expect_bad(&typed_spec, "{\"on\":1}", 400, "invalid_field", "on");
	expect_bad(&typed_spec, "{\"ids\":[1,2,3,4]}", 400, "invalid_field", "ids");
	expect_bad(&typed_spec, "{\"ids\":[1,1]}", 400, "invalid_field", "ids");
	expect_bad(&typed_spec, "{\"ids\":[0]}", 400, "invalid_field", "ids");
	expect_bad(&typed_spec, "{\"ids\":1}", 400, "invalid_field", "ids");
	expect_bad(&typed_spec, "{\"things\":[1]}", 400, "invalid_field", "things");
	expect_bad(&typed_spec, "{\"things\":[{},{},{}]}", 400, "invalid_field", "things");
}

static void error_json(void **state)
{
	struct http_error err;
	json_t *j;
	char *s;

	http_error_set(&err, 400, "unknown_field", "colour", "unknown field '%s'", "colour");
	j = http_error_json(&err);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"error\":{\"code\":\"unknown_field\",\"field\":\"colour\",\"message\":\"unknown field "
			       "'colour'\"}}");
	free(s);
	json_decref(j);
	http_error_set(&err, 404, "not_found", NULL, "site not found");
	j = http_error_json(&err);
	assert_null(json_object_get(json_object_get(j, "error"), "field"));
	json_decref(j);
}

static void utf8_length(void **state)
{
	assert_int_equal(http_utf8_len("abc", 3), 3);
	assert_int_equal(http_utf8_len("h\xc3\xa9", 3), 2);
	assert_int_equal(http_utf8_len("\xf0\x9f\x98\x80", 4), 1);
}

static void trusted_proxies_parse(void **state)
{
	struct http_proxies p;
	char why[160];

	assert_int_equal(http_proxies_parse("", &p, why, sizeof(why)), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(http_proxies_parse("127.0.0.1, 10.0.0.0/8 fd00::/8,::1", &p, why, sizeof(why)), 0);
	assert_int_equal(p.n, 4);
	assert_int_equal(p.net[0].prefix, 32);
	assert_int_equal(p.net[1].prefix, 8);
	assert_int_equal(p.net[3].prefix, 128);
	assert_int_equal(http_proxies_parse("0.0.0.0/0", &p, why, sizeof(why)), 0);
	assert_int_equal(http_proxies_parse("10.0.0.1/8", &p, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "host bits"));
	assert_int_equal(http_proxies_parse("10.0.0.0/33", &p, why, sizeof(why)), -EINVAL);
	assert_int_equal(http_proxies_parse("10.0.0.0/", &p, why, sizeof(why)), -EINVAL);
	assert_int_equal(http_proxies_parse("10.0.0.0/8x", &p, why, sizeof(why)), -EINVAL);
	assert_int_equal(http_proxies_parse("proxy.example", &p, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "proxy.example"));
	assert_int_equal(http_proxies_parse("127.0.0.1:80", &p, why, sizeof(why)), -EINVAL);
	assert_int_equal(http_proxies_parse("[::1]", &p, why, sizeof(why)), -EINVAL);
	assert_int_equal(http_proxies_parse("::ffff:10.0.0.1", &p, why, sizeof(why)), -EINVAL);
	char many[40 * 12] = "";
	for (int i = 0; i < 33; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "10.0.0.%d,", i);
	assert_int_equal(http_proxies_parse(many, &p, why, sizeof(why)), -EINVAL);
}

static void trusted_proxies_match(void **state)
{
	struct http_proxies p;
	char why[160];

	assert_int_equal(http_proxies_parse("", &p, why, sizeof(why)), 0);
	assert_false(http_proxies_match(&p, "127.0.0.1"));
	assert_int_equal(http_proxies_parse("10.1.0.0/17,2001:db8::/33,192.0.2.7", &p, why, sizeof(why)), 0);
	assert_true(http_proxies_match(&p, "10.1.127.255"));
	assert_false(http_proxies_match(&p, "10.1.128.0"));
	assert_true(http_proxies_match(&p, "::ffff:10.1.0.9")); /* dual-stack listener */
	assert_true(http_proxies_match(&p, "2001:db8:7fff::1"));
	assert_false(http_proxies_match(&p, "2001:db8:8000::1"));
	assert_true(http_proxies_match(&p, "192.0.2.7"));
	assert_false(http_proxies_match(&p, "192.0.2.8"));
	assert_false(http_proxies_match(&p, "?"));
}

static void client_address(void **state)
{
	struct http_proxies p, none;
	char out[64], why[160];
	const char *forged[] = { "198.51.100.1" };
	const char *chain[] = { "198.51.100.1, 203.0.113.9", "10.0.0.2" };
	const char *lines[] = { "198.51.100.1", "203.0.113.9" };
	const char *ports[] = { "[2001:db8::5]:4711, 203.0.113.9:80" };
	const char *garbage[] = { "203.0.113.9, not-an-address" };
	const char *all_trusted[] = { "10.0.0.3, 10.0.0.2" };

	assert_int_equal(http_proxies_parse("10.0.0.0/8", &p, why, sizeof(why)), 0);
	assert_int_equal(http_proxies_parse("", &none, why, sizeof(why)), 0);
	/* Without trusted proxies, or from an untrusted peer, the header is ignored. */
	http_client_address(&none, "10.0.0.1", forged, 1, out, sizeof(out));
	assert_string_equal(out, "10.0.0.1");
	http_client_address(&p, "192.0.2.1", forged, 1, out, sizeof(out));
	assert_string_equal(out, "192.0.2.1");
	/* Right-most untrusted: 10.0.0.1 vouches for 10.0.0.2, which vouches for 203.0.113.9; the left-most
	 * entry is whatever the client wrote. */
	http_client_address(&p, "10.0.0.1", chain, 2, out, sizeof(out));
	assert_string_equal(out, "203.0.113.9");
	/* Several header lines are one list (HAProxy adds a line next to a client's own). */
	http_client_address(&p, "10.0.0.1", lines, 2, out, sizeof(out));
	assert_string_equal(out, "203.0.113.9");
	http_client_address(&p, "::ffff:10.0.0.1", ports, 1, out, sizeof(out));
	assert_string_equal(out, "203.0.113.9");
	ports[0] = "[2001:db8::5]:4711";
	http_client_address(&p, "10.0.0.1", ports, 1, out, sizeof(out));
	assert_string_equal(out, "2001:db8::5");
	/* A trusted hop that wrote no address: the hop is the client we know. */
	http_client_address(&p, "10.0.0.1", garbage, 1, out, sizeof(out));
	assert_string_equal(out, "10.0.0.1");
	/* Every hop trusted: the left-most. No header: the proxy itself (health checks). */
	http_client_address(&p, "10.0.0.1", all_trusted, 1, out, sizeof(out));
	assert_string_equal(out, "10.0.0.3");
	http_client_address(&p, "10.0.0.1", NULL, 0, out, sizeof(out));
	assert_string_equal(out, "10.0.0.1");
	/* Canonical form; an unparsable peer is kept as it is. */
	http_client_address(&none, "2001:DB8:0::1", NULL, 0, out, sizeof(out));
	assert_string_equal(out, "2001:db8::1");
	http_client_address(&p, "?", forged, 1, out, sizeof(out));
	assert_string_equal(out, "?");
	/* The walk is bounded: 20 trusted hops stop after HTTP_XFF_HOPS_MAX. */
	char longchain[400] = "203.0.113.9";
	for (int i = 0; i < 20; i++)
		snprintf(longchain + strlen(longchain), sizeof(longchain) - strlen(longchain), ", 10.0.1.%d", i);
	const char *lc[] = { longchain };
	http_client_address(&p, "10.0.0.1", lc, 1, out, sizeof(out));
	assert_string_equal(out, "10.0.1.4");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(int_ids),     cmocka_unit_test(uuids),	      cmocka_unit_test(base64url_round_trip),
		cmocka_unit_test(cursors),     cmocka_unit_test(list_params), cmocka_unit_test(json_bodies),
		cmocka_unit_test(error_json), cmocka_unit_test(utf8_length),
		cmocka_unit_test(list_filters_for_hierarchy_and_audit), cmocka_unit_test(bool_and_array_fields),
		cmocka_unit_test(trusted_proxies_parse), cmocka_unit_test(trusted_proxies_match),
		cmocka_unit_test(client_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
