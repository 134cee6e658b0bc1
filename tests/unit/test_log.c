/* Logging: level names, and that an oversized message is cut to one whole line. */
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

#include "common/log.h"

static void level_names(void **state)
{
	assert_int_equal(log_set_level_name("debug"), 0);
	assert_int_equal(log_level_current, LOG_LVL_DEBUG);
	assert_int_equal(log_set_level_name("warn"), 0);
	assert_int_equal(log_level_current, LOG_LVL_WARN);
	assert_int_equal(log_set_level_name("verbose"), -EINVAL);
	assert_int_equal(log_level_current, LOG_LVL_WARN); /* unchanged by a bad name */
}

static int evaluated;
static const char *side_effect(void)
{
	evaluated++;
	return "x";
}

static void long_line_is_cut_and_disabled_level_is_free(void **state)
{
	char path[] = "/tmp/otw-log-XXXXXX", line[8192];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	char *big = malloc(5000);
	FILE *f;

	assert_true(fd >= 0 && saved >= 0 && big);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	assert_int_equal(log_set_level_name("info"), 0);
	log_info("big %s", big);
	log_debug("%s", side_effect()); /* off: the argument is not evaluated */
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_int_equal(evaluated, 0);

	f = fdopen(fd, "r");
	assert_non_null(f);
	rewind(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_true(strlen(line) < 2048 + 1);
	assert_int_equal(line[strlen(line) - 1], '\n');
	assert_non_null(strstr(line, " info big aaa"));
	assert_null(fgets(line, sizeof(line), f)); /* exactly one line */
	fclose(f);
	unlink(path);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(level_names),
		cmocka_unit_test(long_line_is_cut_and_disabled_level_is_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
