#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/cursor.h"

static void reads_in_order_and_stops_at_end(void **state)
{
	const uint8_t buf[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07 };
	struct cursor c;
	uint8_t b;
	uint16_t w;
	uint32_t d;

	cursor_init(&c, buf, sizeof(buf));
	assert_true(cursor_u8(&c, &b));
	assert_int_equal(b, 1);
	assert_true(cursor_u16be(&c, &w));
	assert_int_equal(w, 0x0203);
	assert_true(cursor_u32le(&c, &d));
	assert_int_equal(d, 0x07060504);
	assert_int_equal(cursor_remaining(&c), 0);
	assert_false(cursor_u8(&c, &b));
}

static void failed_read_leaves_cursor_unchanged(void **state)
{
	const uint8_t buf[] = { 0xaa, 0xbb, 0xcc };
	struct cursor c, sub;
	uint32_t d;
	uint64_t q;

	cursor_init(&c, buf, sizeof(buf));
	assert_false(cursor_u32be(&c, &d));
	assert_int_equal(c.off, 0);
	assert_false(cursor_u64be(&c, &q));
	assert_int_equal(c.off, 0);
	assert_false(cursor_skip(&c, 4));
	assert_true(cursor_sub(&c, 2, &sub));
	assert_int_equal(sub.len, 2);
	assert_int_equal(c.off, 2);
	assert_false(cursor_skip(&c, SIZE_MAX)); /* no overflow in the check */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_in_order_and_stops_at_end),
		cmocka_unit_test(failed_read_leaves_cursor_unchanged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
