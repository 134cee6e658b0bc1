#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "server/api_router.h"

static void h_a(struct api_call *c, PGconn *db) {}
static void h_b(struct api_call *c, PGconn *db) {}
static void h_c(struct api_call *c, PGconn *db) {}

static const struct api_route tbl[] = {
	{ API_GET, "/api/v1/things", h_a, 0, NULL },
	{ API_POST, "/api/v1/things", h_b, API_R_ADMIN, NULL },
	{ API_GET | API_PATCH, "/api/v1/things/{id}", h_c, 0, NULL },
	{ API_GET, "/api/v1/things/{id}/parts", h_a, 0, NULL },
};
#define NTBL (sizeof(tbl) / sizeof(tbl[0]))

static void matches_static_and_params(void **state)
{
	const struct api_route *r;
	char param[API_PARAM_MAX];
	unsigned allowed;

	assert_int_equal(api_route_match(tbl, NTBL, API_GET, "/api/v1/things", &r, param, &allowed), 0);
	assert_ptr_equal(r, &tbl[0]);
	assert_string_equal(param, "");
	assert_int_equal(api_route_match(tbl, NTBL, API_POST, "/api/v1/things", &r, param, &allowed), 0);
	assert_ptr_equal(r, &tbl[1]);
	assert_int_equal(api_route_match(tbl, NTBL, API_PATCH, "/api/v1/things/42", &r, param, &allowed), 0);
	assert_ptr_equal(r, &tbl[2]);
	assert_string_equal(param, "42");
	assert_int_equal(api_route_match(tbl, NTBL, API_GET, "/api/v1/things/0b9e6c2a-1f0e-4c39-9d0e-3f1f6f6c2a11",
					 &r, param, &allowed),
			 0);
	assert_string_equal(param, "0b9e6c2a-1f0e-4c39-9d0e-3f1f6f6c2a11");
	assert_int_equal(api_route_match(tbl, NTBL, API_GET, "/api/v1/things/7/parts", &r, param, &allowed), 0);
	assert_ptr_equal(r, &tbl[3]);
	assert_string_equal(param, "7");
}

static void not_found_vs_method(void **state)
{
	const struct api_route *r;
	char param[API_PARAM_MAX], longseg[128];
	unsigned allowed;

	assert_int_equal(api_route_match(tbl, NTBL, API_DELETE, "/api/v1/things", &r, param, &allowed), 405);
	assert_null(r);
	assert_int_equal(allowed, API_GET | API_POST);
	assert_int_equal(api_route_match(tbl, NTBL, API_DELETE, "/api/v1/things/3", &r, param, &allowed), 405);
	assert_int_equal(allowed, API_GET | API_PATCH);
	assert_int_equal(api_route_match(tbl, NTBL, 0, "/api/v1/things/3", &r, param, &allowed), 405);

	static const char *const missing[] = {
		"/api/v1/thing", "/api/v1/things/", "/api/v1/things//parts", "/api/v1/things/1/2", "/api/v1/thingsx",
		"/api/v1/things/a%20b", "/api/v1/things/a.b", "/", "", "/api/v1/things/1/parts/",
	};
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		assert_int_equal(api_route_match(tbl, NTBL, API_GET, missing[i], &r, param, &allowed), 404);
		assert_null(r);
	}
	memset(longseg, 0, sizeof(longseg));
	memcpy(longseg, "/api/v1/things/", 15);
	memset(longseg + 15, 'a', API_PARAM_MAX);
	assert_int_equal(api_route_match(tbl, NTBL, API_GET, longseg, &r, param, &allowed), 404);
	longseg[15 + API_PARAM_MAX - 1] = '\0';
	assert_int_equal(api_route_match(tbl, NTBL, API_GET, longseg, &r, param, &allowed), 0);
	assert_int_equal(strlen(param), API_PARAM_MAX - 1);
}

/* The console's own table: public routes are exactly health, login, refresh, enroll and the incumbent's three
 * authentication calls (each a password check, so throttled as a login); every write but logout, the caller's own
 * password change and the caller's own saved views names the least role allowed (admin or analyst); no two routes
 * share method and pattern. */
static void console_table_policy(void **state)
{
	size_t n;
	const struct api_route *t = api_routes(&n);

	assert_true(n > 10);
	for (size_t i = 0; i < n; i++) {
		bool is_public = t[i].flags & API_R_PUBLIC;
		bool external_auth = strncmp(t[i].pattern, "/external/authentication/", 25) == 0;
		bool expect_public = strcmp(t[i].pattern, "/api/v1/health") == 0 ||
				     strcmp(t[i].pattern, "/api/v1/auth/login") == 0 ||
				     strcmp(t[i].pattern, "/api/v1/auth/refresh") == 0 ||
				     strcmp(t[i].pattern, "/api/v1/enroll") == 0 || external_auth;
		assert_int_equal(is_public, expect_public);
		/* /external routes, and only they, answer in the incumbent's error shape */
		assert_int_equal(!!(t[i].flags & API_R_EXTERNAL), strncmp(t[i].pattern, "/external/", 10) == 0);
		if (t[i].method != API_GET && !is_public && strcmp(t[i].pattern, "/api/v1/auth/logout") != 0 &&
		    strcmp(t[i].pattern, "/api/v1/auth/password") != 0 &&
		    strncmp(t[i].pattern, "/api/v1/saved-views", 19) != 0)
			assert_true(t[i].flags & (API_R_ADMIN | API_R_ANALYST));
		if (t[i].method & (API_POST | API_PATCH | API_PUT) && strcmp(t[i].pattern, "/api/v1/auth/logout") != 0)
			assert_non_null(t[i].body);
		/* only the password logins are throttled as such */
		assert_int_equal(!!(t[i].flags & API_R_LOGIN),
				 strcmp(t[i].pattern, "/api/v1/auth/login") == 0 || external_auth);
		for (size_t j = i + 1; j < n; j++)
			assert_false(strcmp(t[i].pattern, t[j].pattern) == 0 && (t[i].method & t[j].method));
	}
	{
		const struct api_route *r;
		char param[API_PARAM_MAX];
		unsigned allowed;
		assert_int_equal(api_route_match(t, n, API_DELETE, "/api/v1/sites/5", &r, param, &allowed), 0);
		assert_true(r->flags & API_R_ADMIN);
		assert_int_equal(api_route_match(t, n, API_PUT, "/api/v1/sites/5", &r, param, &allowed), 405);
		assert_int_equal(api_route_match(t, n, API_GET, "/api/v1/nothing", &r, param, &allowed), 404);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(matches_static_and_params),
		cmocka_unit_test(not_found_vs_method),
		cmocka_unit_test(console_table_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
