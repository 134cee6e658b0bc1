/* Parsing of batches with deep packet inspection records (server/wire_dpi.c): what it refuses, and the kinds found
 * however the JSON is spaced. No database needed (test_ingest_apply.c applies such batches). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/wire.h"
#include "server/wire_dpi.h"
#include "tests/unit/dpi_records.h"

/* Records common/wire.c does not know stay refused; DPI members are checked like the rest of the record. */
static void test_dpi_parse_refusals(void **state)
{
	static const struct {
		const char *rec, *err;
	} bad[] = {
		{ "{\"seq\":1,\"kind\":\"alarm\"}", "records[0].kind: unknown value" },
		{ "{\"seq\":1,\"kind\":\"event\",\"proto\":\"s7comm\",\"name\":\"\",\"src_addr\":null,"
		  "\"dst_addr\":null,\"count\":1,\"first_seen\":null,\"last_seen\":null}",
		  "records[0].name" },
		{ "{\"seq\":1,\"kind\":\"violation\",\"proto\":\"s7comm\",\"name\":\"x\",\"src_addr\":\"nope\","
		  "\"dst_addr\":null,\"count\":1,\"first_seen\":null,\"last_seen\":null}",
		  "records[0].src_addr" },
		{ "{\"seq\":1,\"kind\":\"event\",\"proto\":\"s7comm\",\"name\":\"x\",\"src_addr\":null,"
		  "\"dst_addr\":null,\"count\":-1,\"first_seen\":null,\"last_seen\":null}",
		  "records[0].count" },
	};
	char buf[4096], err[256];
	struct wire_msg m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"type\":\"batch\",\"seq_from\":1,\"seq_to\":1,\"records\":[%s]}",
			 bad[i].rec);
		assert_int_equal(wire_dpi_parse(buf, strlen(buf), &m, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].err))
			fail_msg("case %zu: \"%s\" does not name %s", i, err, bad[i].err);
	}
	/* A DPI member of a device record with a bad value; and an event among records with an unknown kind. */
	snprintf(buf, sizeof(buf), "{\"type\":\"batch\",\"seq_from\":1,\"seq_to\":1,\"records\":[%s]}",
		 dpi_dev_rec(1, "x", 9));
	assert_int_equal(wire_dpi_parse(buf, strlen(buf), &m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "records[0].purdue_level"));
	snprintf(buf, sizeof(buf), "{\"type\":\"batch\",\"seq_from\":1,\"seq_to\":1,\"records\":[%s]}",
		 dpi_dev_rec(1, "x", 1));
	memcpy(strstr(buf, "\"os\":null"), "\"os\":3333", 9);
	assert_int_equal(wire_dpi_parse(buf, strlen(buf), &m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "records[0].os"));
	snprintf(buf, sizeof(buf),
		 "{\"type\":\"batch\",\"seq_from\":1,\"seq_to\":2,\"records\":[%s,{\"seq\":2,\"kind\":\"alarm\"}]}",
		 dpi_event_rec(1, "event", "plc_stop", 1, "null"));
	assert_int_equal(wire_dpi_parse(buf, strlen(buf), &m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "records[1].kind"));
}

/* The kinds are found however the JSON is spaced (the fast path looks for the compact form only). */
static void test_dpi_parse_spaced(void **state)
{
	const char *b = "{\"type\": \"batch\", \"seq_from\": 1, \"seq_to\": 2, \"records\": ["
			"{\"seq\": 1, \"kind\": \"violation\", \"proto\": \"mbtcp\", \"name\": \"bad_length\","
			" \"src_addr\": \"00:1D:9C:C6:72:E8\", \"dst_addr\": null, \"count\": 1, \"first_seen\": null,"
			" \"last_seen\": \"2024-01-01T00:00:00Z\", \"detail\": null},"
			" {\"seq\": 2, \"kind\": \"event\", \"proto\": \"mbtcp\", \"name\": \"plc_stop\","
			" \"src_addr\": null, \"dst_addr\": null, \"count\": 1, \"first_seen\": null, \"last_seen\": null}]}";
	char err[256];
	struct wire_msg m;

	assert_int_equal(wire_dpi_parse(b, strlen(b), &m, err, sizeof(err)), 0);
	assert_true(m.u.batch.records[0].kind == WIRE_REC_VIOLATION);
	assert_true(m.u.batch.records[1].kind == WIRE_REC_EVENT);
	wire_msg_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dpi_parse_refusals),
		cmocka_unit_test(test_dpi_parse_spaced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
