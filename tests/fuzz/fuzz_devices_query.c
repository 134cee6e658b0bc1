/* libFuzzer target for the query parameters and cursors of GET /api/v1/devices and its export
 * (server/devices_query.h): devq_parse on the raw query string, devq_cursor_decode on a fuzzer-made cursor, and
 * devq_cursor_encode/decode of a fuzzer-made sort key.
 *
 * Input: a flags byte (bit 0 the export route, bit 1 a small key buffer for decoding, bit 2 the largest id), then
 * the query string up to the first '\n', then the cursor text up to the next '\n' (decoded as the cursor of the
 * parsed query), then a sort key (encoded as the cursor of a row of the parsed query, then decoded back).
 *
 * Checks, besides memory safety and leaks: a refusal is a 400 "invalid_query"; an accepted query has its strings
 * NUL-terminated inside their arrays, a limit of 1..HTTP_LIMIT_MAX, a known sort, q kind and types literal, and
 * nothing of the list route (limit, cursor, count) on the export; a decoded cursor gives a positive decimal id
 * and a key that fits the buffer, a refused one a 400 naming "cursor"; a cursor this module made decodes, when
 * accepted, to exactly its key and id (keys the sort cannot hold, e.g. "x" for sort=ip, are refused). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/devices_query.h"

#define INPUT_MAX (DEVQ_QUERY_MAX + DEVQ_CURSOR_MAX + DEVQ_KEY_MAX + 8)

#define TERMINATED(field) (strnlen((field), sizeof(field)) < sizeof(field))

static void check_query(const struct devq *q, bool export_route)
{
	size_t n;

	if (!TERMINATED(q->cursor) || !TERMINATED(q->site_id) || !TERMINATED(q->zone_id) ||
	    !TERMINATED(q->sensor_id) || !TERMINATED(q->q) || !TERMINATED(q->mac_lo) || !TERMINATED(q->mac_hi) ||
	    !TERMINATED(q->types) || !TERMINATED(q->class_) || !TERMINATED(q->vendor) || !TERMINATED(q->protocol) ||
	    !TERMINATED(q->authorized) || !TERMINATED(q->importance) || !TERMINATED(q->purdue) ||
	    !TERMINATED(q->is_new) || !TERMINATED(q->seen_after) || !TERMINATED(q->seen_before) ||
	    !TERMINATED(q->tag))
		abort();
	if (q->limit < 1 || q->limit > HTTP_LIMIT_MAX || q->export_route != export_route)
		abort();
	if (export_route && (q->cursor[0] || q->count || q->limit != HTTP_LIMIT_DEFAULT))
		abort();
	if ((unsigned)q->sort > DEVQ_SORT_PURDUE || (unsigned)q->q_kind > DEVQ_Q_MAC)
		abort();
	if ((q->q_kind == DEVQ_Q_NONE) != (q->q[0] == '\0' && q->mac_lo[0] == '\0'))
		abort();
	if (q->q_kind == DEVQ_Q_MAC && (strlen(q->mac_lo) != 17 || strlen(q->mac_hi) != 17 ||
					strcmp(q->mac_lo, q->mac_hi) > 0))
		abort();
	n = strlen(q->types);
	if (n && (n < 2 || q->types[0] != '{' || q->types[n - 1] != '}'))
		abort();
	if (q->purdue[0] && (q->purdue[0] < '0' || q->purdue[0] > '5'))
		abort();
}

static void check_decoded(bool ok, const char *key, size_t cap, const char *id, const struct http_error *err)
{
	size_t n;

	if (!ok) {
		if (err->status != 400 || strcmp(err->code, "invalid_query") != 0 || strcmp(err->field, "cursor") != 0)
			abort();
		return;
	}
	n = strlen(id);
	if (n == 0 || n > 19 || strspn(id, "0123456789") != n || id[0] == '0' || strlen(key) >= cap)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct devq q;
	static char key[DEVQ_KEY_MAX], cursor[DEVQ_CURSOR_MAX];
	char small[8], id[24], *input = NULL, *query, *cur = NULL, *rowkey = NULL, *nl;
	struct http_error err;
	bool export_route, ok;
	const char *rowid;
	size_t cap;

	if (size < 1 || size > INPUT_MAX || !(input = malloc(size)))
		return 0;
	export_route = data[0] & 1;
	cap = (data[0] & 2) ? sizeof(small) : sizeof(key);
	rowid = (data[0] & 4) ? "9223372036854775807" : "17";
	memcpy(input, data + 1, size - 1);
	input[size - 1] = '\0';
	query = input;
	if ((nl = strchr(query, '\n'))) {
		*nl = '\0';
		cur = nl + 1;
		if ((nl = strchr(cur, '\n'))) {
			*nl = '\0';
			rowkey = nl + 1;
		}
	}
	memset(&err, 0, sizeof(err));
	if (devq_parse(query, export_route, &q, &err) != 0) {
		if (err.status != 400 || strcmp(err.code, "invalid_query") != 0)
			abort();
		goto out;
	}
	check_query(&q, export_route);
	if (cur && strlen(cur) < sizeof(q.cursor)) {
		snprintf(q.cursor, sizeof(q.cursor), "%s", cur);
		memset(&err, 0, sizeof(err));
		ok = devq_cursor_decode(&q, cap == sizeof(key) ? key : small, cap, id, &err);
		check_decoded(ok, cap == sizeof(key) ? key : small, cap, id, &err);
	}
	if (rowkey && devq_cursor_encode(&q, rowkey, rowid, cursor)) {
		if (strnlen(cursor, sizeof(cursor)) >= sizeof(cursor) ||
		    strspn(cursor, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(cursor))
			abort();
		memcpy(q.cursor, cursor, sizeof(cursor));
		memset(&err, 0, sizeof(err));
		ok = devq_cursor_decode(&q, key, sizeof(key), id, &err);
		check_decoded(ok, key, sizeof(key), id, &err);
		if (ok && (strcmp(key, rowkey) != 0 || strcmp(id, rowid) != 0))
			abort();
	}
out:
	free(input);
	return 0;
}
