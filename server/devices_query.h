/* The query parameters and keyset cursors of the inventory list and its CSV export (server/api_devices_list.h),
 * parsed from untrusted bytes into fixed-size buffers. Pure: no I/O, no allocation that outlives a call, no
 * global state, so the unit test (tests/unit/test_devices_query.c) and the fuzz target
 * (tests/fuzz/fuzz_devices_query.c) call it directly.
 *
 * What it accepts (docs/architecture.md "Device inventory"); every refusal is a 400 "invalid_query" whose field
 * names the parameter:
 *   limit         1..HTTP_LIMIT_MAX (list only; default HTTP_LIMIT_DEFAULT)
 *   cursor        a cursor this module made (list only; shorter than DEVQ_CURSOR_MAX)
 *   site_id, zone_id  positive integer ids; sensor_id a UUID
 *   q             1..200 code points of UTF-8 without control characters, classified by shape (enum devq_search)
 *   type          comma-separated distinct api_device_types; class ics|network|it|iot|other
 *   vendor        1..255 code points, tag 1..64 code points (UTF-8, no control characters)
 *   protocol      1..64 of [a-z0-9_.-]; authorized, new, count true|false; importance low|medium|high
 *   purdue_level  0..5; seen_after, seen_before RFC 3339 times
 *   sort          id|name|type|vendor|ip|first_seen|last_seen|site|zone|purdue_level; order asc|desc
 *   format        csv (export only, required there)
 * Unknown parameters, parameters of the other route, repeated parameters and query strings longer than
 * DEVQ_QUERY_MAX bytes are refused too. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/http_util.h"

/* Types an analyst may set and the type filter takes (sql/005_dpi.sql otw_device_class maps them to a class). */
extern const char *const api_device_types[];
extern const size_t api_device_types_n;

enum devq_sort {
	DEVQ_SORT_ID,
	DEVQ_SORT_NAME,
	DEVQ_SORT_TYPE,
	DEVQ_SORT_VENDOR,
	DEVQ_SORT_IP,
	DEVQ_SORT_FIRST_SEEN,
	DEVQ_SORT_LAST_SEEN,
	DEVQ_SORT_SITE,
	DEVQ_SORT_ZONE,
	DEVQ_SORT_PURDUE,
};

/* What q searches, from its shape: a CIDR ("10.1.0.0/16"), an IP prefix (digits and dots with at least one dot:
 * "10.1.", "10.1.2.3"), a MAC prefix (two or more hex octets with ':' or '-': "00:1d:9c"), else text. */
enum devq_search { DEVQ_Q_NONE, DEVQ_Q_TEXT, DEVQ_Q_IP_PREFIX, DEVQ_Q_CIDR, DEVQ_Q_MAC };

#define DEVQ_QUERY_MAX 8192  /* longest raw query string (bytes) */
#define DEVQ_Q_CHARS 200      /* longest q, vendor and tag, in characters (code points of up to 4 bytes) */
#define DEVQ_VENDOR_CHARS 255
#define DEVQ_TAG_CHARS 64
/* A cursor: base64url of the fingerprint, the id and the sort key, which is a name or vendor of up to 255
 * characters of up to 4 bytes (lowercased, which may lengthen it a little). */
#define DEVQ_CURSOR_MAX 2048
#define DEVQ_KEY_MAX 1536    /* a decoded cursor's sort key (bytes + NUL): all a cursor can carry */

/* Parsed query parameters; absent strings are "". Every string is NUL-terminated within its array. */
struct devq {
	long limit;
	bool export_route; /* the export: format required, no limit, cursor or count */
	char cursor[DEVQ_CURSOR_MAX];
	char site_id[24], zone_id[24], sensor_id[40];
	enum devq_search q_kind;
	char q[4 * DEVQ_Q_CHARS + 8];  /* text: LIKE pattern '%..%' (the SQL lowercases it); IP prefix: LIKE
					* pattern '..%'; CIDR: the network */
	char mac_lo[18], mac_hi[18];   /* MAC prefix as a range */
	char types[512];               /* PostgreSQL array literal of validated types */
	char class_[16], vendor[4 * DEVQ_VENDOR_CHARS + 1], protocol[65], authorized[6], importance[8], purdue[2];
	char is_new[6], seen_after[64], seen_before[64], tag[4 * DEVQ_TAG_CHARS + 1];
	enum devq_sort sort;
	bool desc, count;
	uint64_t fingerprint; /* of sort, order and every filter: a cursor must match it */
};

/* Parses a raw (percent-encoded) query string (NULL or "" for none) for the list (export_route = false) or the
 * export into *out, which it overwrites. Returns 0, or -EINVAL with the 400 in *err naming the parameter (no
 * field for a query string too long or not decodable). A cursor is only copied here: devq_cursor_decode checks
 * it against the parsed query. */
int devq_parse(const char *query, bool export_route, struct devq *out, struct http_error *err)
	__attribute__((warn_unused_result));

/* Writes the cursor text (NUL-terminated) for the row (sort key text, id text) of query q into out. Returns false
 * when it does not fit. */
bool devq_cursor_encode(const struct devq *q, const char *key, const char *id, char out[DEVQ_CURSOR_MAX])
	__attribute__((warn_unused_result));

/* Decodes q->cursor into key (cap bytes; DEVQ_KEY_MAX always suffices) and id (a positive decimal id). The key
 * is checked to be what SQL casts it to for q's sort (an address for ip, microseconds for the times, ...).
 * Returns false, with a 400 naming "cursor" in *err, when it is malformed, tampered with or was made for another
 * sort, order or filter set. */
bool devq_cursor_decode(const struct devq *q, char *key, size_t cap, char id[24], struct http_error *err)
	__attribute__((warn_unused_result));
