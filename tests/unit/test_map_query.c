/* server/api_map_query.c: the query parameters of GET /api/v1/map. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_map_query.h"

static struct map_query q;

static void parse_ok(const char *query)
{
	struct http_error err = { 0 };
	int rc = map_query_parse(query, &q, &err);
	if (rc != 0)
		fail_msg("'%s' refused: %s", query, err.message);
}

static void parse_bad(const char *query, const char *field)
{
	struct http_error err = { 0 };
	assert_int_equal(map_query_parse(query, &q, &err), -EINVAL);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.code, "invalid_query");
	assert_string_equal(err.field, field);
}

static void defaults(void **state)
{
	parse_ok(NULL);
	assert_int_equal(q.nlevels, 2);
	assert_int_equal(q.levels[0], MAP_SITE);
	assert_int_equal(q.levels[1], MAP_ZONE);
	assert_int_equal(q.nexpand, 0);
	assert_int_equal(q.max_devices, 2000);
	assert_string_equal(q.types, "");
	assert_string_equal(q.protocols, "");
	parse_ok("");
	assert_int_equal(q.nlevels, 2);
}

static void group_by(void **state)
{
	parse_ok("group_by=purdue_level,vlan,subnet,zone,site");
	assert_int_equal(q.nlevels, 5);
	assert_int_equal(q.levels[0], MAP_PURDUE);
	assert_int_equal(q.levels[4], MAP_SITE);
	assert_string_equal(map_level_name(q.levels[1]), "vlan");
	parse_ok("group_by=subnet");
	assert_int_equal(q.nlevels, 1);
	parse_ok("group_by=site%2Czone");
	assert_int_equal(q.nlevels, 2);
	parse_bad("group_by=site,site", "group_by");
	parse_bad("group_by=site,", "group_by");
	parse_bad("group_by=rack", "group_by");
	parse_bad("group_by=", "group_by");
	parse_bad("group_by=site&group_by=zone", "group_by");
}

static void expand_ids(void **state)
{
	char arr[MAP_EXPAND_MAX * (MAP_ID_MAX + 3) + 3];

	parse_ok("expand=site:12&expand=site:12/zone:34,site:3");
	assert_int_equal(q.nexpand, 3);
	assert_string_equal(q.expand[1], "site:12/zone:34");
	assert_true(map_query_expand_array(&q, arr, sizeof(arr)));
	assert_string_equal(arr, "{\"site:12\",\"site:12/zone:34\",\"site:3\"}");
	/* percent-encoded separators */
	parse_ok("expand=site%3A12%2Fzone%3A34&expand=site%3A12");
	assert_int_equal(q.nexpand, 2);
	/* a group whose parent is collapsed does not open; duplicates count once */
	parse_ok("expand=site:12/zone:34&expand=site:5&expand=site:5");
	assert_int_equal(q.nexpand, 1);
	assert_string_equal(q.expand[0], "site:5");
	/* ids of another hierarchy are ignored, not refused */
	parse_ok("group_by=subnet,vlan&expand=site:1,subnet:10.1.2.0,subnet:10.1.2.0/vlan:untagged,subnet:none");
	assert_int_equal(q.nexpand, 3);
	parse_ok("group_by=purdue_level&expand=purdue_level:0,purdue_level:unknown,purdue_level:5");
	assert_int_equal(q.nexpand, 3);
	parse_ok("group_by=vlan&expand=vlan:4095,vlan:0");
	assert_int_equal(q.nexpand, 2);
	parse_ok("expand=");
	assert_int_equal(q.nexpand, 0);
	/* malformed ids */
	parse_bad("expand=site:012", "expand");
	parse_bad("expand=site:0", "expand");
	parse_bad("expand=site:", "expand");
	parse_bad("expand=site", "expand");
	parse_bad("expand=rack:1", "expand");
	parse_bad("expand=site:1/", "expand");
	parse_bad("expand=site:1//zone:2", "expand");
	parse_bad("expand=site:1,,site:2", "expand");
	parse_bad("group_by=subnet&expand=subnet:10.1.2.1", "expand");
	parse_bad("group_by=subnet&expand=subnet:10.1.256.0", "expand");
	parse_bad("group_by=subnet&expand=subnet:10.1.2", "expand");
	parse_bad("group_by=vlan&expand=vlan:4096", "expand");
	parse_bad("group_by=purdue_level&expand=purdue_level:6", "expand");
	parse_bad("expand=site:1/zone:2/vlan:3/subnet:none/purdue_level:1/site:4", "expand");
	parse_bad("expand=site%00:1", "expand");
	parse_bad("expand=site%3", "expand");
}

static void expand_bounds(void **state)
{
	char *query = malloc(65 * 16 + 1), id[MAP_ID_MAX + 2], qbuf[300];
	size_t o = 0;

	assert_non_null(query);
	for (int i = 1; i <= 64; i++)
		o += (size_t)sprintf(query + o, "%sexpand=site:%d", i > 1 ? "&" : "", i);
	parse_ok(query);
	assert_int_equal(q.nexpand, 64);
	sprintf(query + o, "&expand=site:65");
	parse_bad(query, "expand");
	free(query);
	/* 200 bytes is the longest id */
	memset(id, '1', sizeof(id));
	memcpy(id, "site:", 5);
	id[MAP_ID_MAX] = '\0';
	/* a local buffer: GCC's -Wformat-overflow under ASan does not see that assert_non_null(malloc()) stops */
	snprintf(qbuf, sizeof(qbuf), "expand=%s", id);
	parse_bad(qbuf, "expand"); /* 195 digits is no id, but the length passes */
	id[MAP_ID_MAX] = '1';
	id[MAP_ID_MAX + 1] = '\0';
	snprintf(qbuf, sizeof(qbuf), "expand=%s", id);
	parse_bad(qbuf, "expand");
}

static void filters(void **state)
{
	parse_ok("protocol=modbus,s7comm&type=plc,unknown&authorized=false&new=true&seen_after=2024-01-02T03:04:05Z"
		 "&site_id=3&zone_id=4&max_devices=10000");
	assert_string_equal(q.protocols, "{\"modbus\",\"s7comm\"}");
	assert_string_equal(q.types, "{\"plc\",\"unknown\"}");
	assert_string_equal(q.authorized, "false");
	assert_string_equal(q.is_new, "true");
	assert_string_equal(q.seen_after, "2024-01-02T03:04:05Z");
	assert_string_equal(q.site_id, "3");
	assert_string_equal(q.zone_id, "4");
	assert_int_equal(q.max_devices, 10000);
	parse_bad("type=plc,toaster", "type");
	parse_bad("protocol=Modbus", "protocol");
	parse_bad("protocol=modbus,,dnp3", "protocol");
	parse_bad("authorized=yes", "authorized");
	parse_bad("new=1", "new");
	parse_bad("seen_after=yesterday", "seen_after");
	parse_bad("site_id=0", "site_id");
	parse_bad("zone_id=-1", "zone_id");
	parse_bad("max_devices=0", "max_devices");
	parse_bad("max_devices=10001", "max_devices");
	parse_bad("max_devices=", "max_devices");
	parse_bad("limit=5", "limit");
	parse_bad("site_id=1&site_id=2", "site_id");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),	 cmocka_unit_test(group_by), cmocka_unit_test(expand_ids),
		cmocka_unit_test(expand_bounds), cmocka_unit_test(filters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
