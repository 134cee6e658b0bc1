#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/timefmt.h"

static void formats_milliseconds_utc(void **state)
{
	char buf[TIMEFMT_LEN];
	assert_string_equal(timefmt_rfc3339_ms(0, buf), "1970-01-01T00:00:00.000Z");
	assert_string_equal(timefmt_rfc3339_ms(1795819121123456LL, buf), "2026-11-27T22:38:41.123Z");
	assert_string_equal(timefmt_rfc3339_ms(-1000, buf), "1969-12-31T23:59:59.999Z");
}

static void parses_and_round_trips(void **state)
{
	int64_t t;
	char buf[TIMEFMT_LEN];
	assert_true(timefmt_parse_rfc3339("2026-11-27T22:38:41.123Z", &t));
	assert_string_equal(timefmt_rfc3339_ms(t, buf), "2026-11-27T22:38:41.123Z");
	assert_true(timefmt_parse_rfc3339("2026-11-27T23:38:41+01:00", &t));
	assert_string_equal(timefmt_rfc3339_ms(t, buf), "2026-11-27T22:38:41.000Z");
}

static void rejects_malformed(void **state)
{
	int64_t t;
	assert_false(timefmt_parse_rfc3339("", &t));
	assert_false(timefmt_parse_rfc3339("2026-13-01T00:00:00Z", &t));
	assert_false(timefmt_parse_rfc3339("2026-11-27T22:38:41", &t));
	assert_false(timefmt_parse_rfc3339("2026-11-27T22:38:41.Z", &t));
	assert_false(timefmt_parse_rfc3339("2026-11-27T22:38:41Zjunk", &t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(formats_milliseconds_utc),
		cmocka_unit_test(parses_and_round_trips),
		cmocka_unit_test(rejects_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
