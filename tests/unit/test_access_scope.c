#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "server/access_scope.h"

static int check(const char *text, char *field)
{
	struct http_error err;
	json_t *v = json_loads(text, 0, NULL);
	int rc;

	assert_non_null(v);
	memset(&err, 0, sizeof(err));
	rc = access_scope_check(v, &err);
	json_decref(v);
	if (rc != 0) {
		assert_int_equal(err.status, 400);
		strcpy(field, err.field);
	}
	return rc;
}

static void scope_entries(void **state)
{
	char field[64] = "";

	(void)state;
	assert_int_equal(check("[]", field), 0);
	assert_int_equal(check("[{\"site_id\":1},{\"business_unit_id\":2,\"region_id\":3,\"zone_id\":null}]", field), 0);
	static const char *const bad[] = {
		"{}", "[{}]", "[{\"site_id\":null}]", "[{\"site_id\":0}]", "[{\"site_id\":-1}]", "[{\"site_id\":\"1\"}]",
		"[{\"site_id\":1.5}]", "[{\"plant\":1}]", "[1]", "[{\"site_id\":1},[]]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		field[0] = '\0';
		assert_int_not_equal(check(bad[i], field), 0);
		assert_string_equal(field, "scope");
	}
}

static void pg_arrays(void **state)
{
	char out[32];
	json_t *v;

	(void)state;
	v = json_loads("[]", 0, NULL);
	assert_true(access_ids_pg_array(v, out, sizeof(out)));
	assert_string_equal(out, "{}");
	json_decref(v);
	v = json_loads("[1,22,9223372036854775807]", 0, NULL);
	assert_true(access_ids_pg_array(v, out, sizeof(out)));
	assert_string_equal(out, "{1,22,9223372036854775807}");
	assert_false(access_ids_pg_array(v, out, 10)); /* too small */
	json_decref(v);
	v = json_loads("[1,0]", 0, NULL);
	assert_false(access_ids_pg_array(v, out, sizeof(out)));
	json_decref(v);
	v = json_loads("[\"1\"]", 0, NULL);
	assert_false(access_ids_pg_array(v, out, sizeof(out)));
	json_decref(v);
}

static void csv_fields(void **state)
{
	static const char *const cases[][2] = {
		{ "plain", "plain" },
		{ "a,b", "\"a,b\"" },
		{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
		{ "two\nlines", "\"two\nlines\"" },
		{ "cr\r", "\"cr\r\"" },
		{ "=SUM(A1)", "\"'=SUM(A1)\"" },
		{ "+1", "\"'+1\"" },
		{ "-1", "\"'-1\"" },
		{ "@x", "\"'@x\"" },
		{ "\t=1", "\"'\t=1\"" },
		{ "\rx", "\"'\rx\"" },
		{ "", "" },
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f = open_memstream(&buf, &len);
		assert_non_null(f);
		assert_int_equal(csv_write_field(f, cases[i][0]), 0);
		assert_int_equal(fclose(f), 0);
		assert_string_equal(buf, cases[i][1]);
		free(buf);
		buf = NULL;
	}
	f = open_memstream(&buf, &len);
	assert_int_equal(csv_write_field(f, NULL), 0);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, "");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scope_entries),
		cmocka_unit_test(pg_arrays),
		cmocka_unit_test(csv_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
