#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "auth/password.h"

static void hash_and_verify(void **state)
{
	char *h1 = NULL, *h2 = NULL;

	assert_int_equal(password_hash("correct horse battery", &h1), 0);
	assert_non_null(strstr(h1, "$argon2id$v=19$m=65536,t=3,p=1$"));
	assert_true(password_verify(h1, "correct horse battery"));
	assert_false(password_verify(h1, "correct horse batterY"));
	assert_false(password_verify(h1, ""));
	assert_false(password_verify(h1, NULL));
	/* fresh salt every time */
	assert_int_equal(password_hash("correct horse battery", &h2), 0);
	assert_string_not_equal(h1, h2);
	free(h1);
	free(h2);
}

static void unknown_user_is_false(void **state)
{
	assert_false(password_verify(NULL, "anything at all"));
	assert_false(password_verify(NULL, NULL));
	assert_false(password_verify("not an argon2 hash", "x"));
}

static void policy(void **state)
{
	char why[128];

	assert_false(password_acceptable("short", why, sizeof(why)));
	assert_non_null(strstr(why, "12"));
	assert_false(password_acceptable("twelve chars\n", why, sizeof(why)));
	assert_false(password_acceptable(NULL, why, sizeof(why)));
	assert_true(password_acceptable("twelve chars", why, sizeof(why)));
	/* characters, not bytes: 11 two-byte characters are too few */
	assert_false(password_acceptable("ééééééééééé", why, sizeof(why)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hash_and_verify),
		cmocka_unit_test(unknown_user_is_false),
		cmocka_unit_test(policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
