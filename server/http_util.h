/* HTTP API helpers that do not depend on a request: error objects, list parameters (limit, cursor, filters),
 * opaque cursors, and strict JSON body parsing against a declarative field table. Everything here is pure
 * (no I/O, no global state) so the unit tests and the fuzz target call it directly. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_LIMIT_DEFAULT 100
#define HTTP_LIMIT_MAX 1000
#define HTTP_ID_MAX 40          /* longest id text: a UUID (36) + NUL, or a decimal int64 */
#define HTTP_CURSOR_MAX 64      /* base64url of HTTP_ID_MAX bytes, with room */
#define HTTP_BODY_MAX (1024 * 1024)
#define HTTP_BODY_MAX_PUBLIC (64 * 1024) /* bodies of routes that need no session (login, enroll) */

/* An API error: the HTTP status, a lower_snake code, a message for people, and the offending field when a
 * request value is at fault (empty otherwise). Rendered as {"error":{"code","message"[,"field"]}}. */
struct http_error {
	int status;
	char code[40];
	char message[256];
	char field[64];
};

void http_error_set(struct http_error *e, int status, const char *code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* A new JSON object for the error (caller owns the reference); NULL only when out of memory. */
json_t *http_error_json(const struct http_error *e);

/* Ids. An integer id is 1..INT64_MAX written in decimal without sign or leading zeros; a UUID is the
 * canonical 8-4-4-4-12 lowercase or uppercase hex form. */
bool http_id_parse_int(const char *s, int64_t *out) __attribute__((warn_unused_result));
bool http_id_is_uuid(const char *s) __attribute__((warn_unused_result));

/* Unpadded base64url. encode writes at most 4*ceil(n/3)+1 bytes into out (out_len), returns false if it does not
 * fit. decode accepts only the alphabet without padding, returns the decoded length or -1. */
bool http_base64url_encode(const uint8_t *in, size_t n, char *out, size_t out_len) __attribute__((warn_unused_result));
long http_base64url_decode(const char *in, uint8_t *out, size_t out_len) __attribute__((warn_unused_result));

/* Cursors are opaque to clients: base64url of the last returned id's text. */
enum http_id_kind { HTTP_ID_INT, HTTP_ID_UUID };
bool http_cursor_encode(const char *last_id, char out[HTTP_CURSOR_MAX]) __attribute__((warn_unused_result));
/* Decodes and checks that the id has the expected kind; id receives the id text. */
bool http_cursor_decode(const char *cursor, enum http_id_kind kind, char id[HTTP_ID_MAX])
	__attribute__((warn_unused_result));

/* Filters a list route accepts. */
enum {
	HTTP_FILTER_SITE_ID = 1u << 0,
	HTTP_FILTER_ZONE_ID = 1u << 1,
	HTTP_FILTER_SENSOR_ID = 1u << 2,
	HTTP_FILTER_REGION_ID = 1u << 3,
	HTTP_FILTER_BUSINESS_UNIT_ID = 1u << 4,
	HTTP_FILTER_TIME = 1u << 5,     /* from, to: RFC 3339 */
	HTTP_FILTER_USERNAME = 1u << 6, /* 1..256 characters, no control characters */
	HTTP_FILTER_ACTION = 1u << 7,   /* 1..64 characters of [a-z0-9._] */
	HTTP_FILTER_FORMAT = 1u << 8,   /* csv or jsonl (exports) */
	HTTP_FILTER_ALERT = 1u << 9,    /* status, severity, engine: comma-separated lists of the alert model's values */
};

/* List parameters. Absent values are empty strings, so they go to SQL as NULL parameters. */
struct http_list_params {
	long limit;
	char after[HTTP_ID_MAX];    /* decoded cursor: return items with id > after */
	char site_id[HTTP_ID_MAX];
	char zone_id[HTTP_ID_MAX];
	char sensor_id[HTTP_ID_MAX];
	char region_id[HTTP_ID_MAX];
	char business_unit_id[HTTP_ID_MAX];
	char from[64], to[64];     /* as given, validated as RFC 3339 */
	char username[257];
	char action[65];
	char format[8];
	/* PostgreSQL array literals ("{new,muted}") of validated values, "" when absent */
	char status[64], severity[64], engine[128];
};

/* Parses a raw (still percent-encoded) query string, NULL or "" for none. Accepts limit, cursor and the
 * filters in `filters`; anything else, a repeated key or a bad value fails with a 400 naming the parameter. */
int http_list_params_parse(const char *query, unsigned filters, enum http_id_kind id_kind,
			   struct http_list_params *out, struct http_error *err) __attribute__((warn_unused_result));

/* JSON bodies. */
enum http_field_type {
	HTTP_FT_STRING,  /* UTF-8 string, length counted in code points */
	HTTP_FT_ID,      /* positive integer id */
	HTTP_FT_BOOL,    /* true or false */
	HTTP_FT_IDS,     /* array of distinct positive integer ids, at most max_len of them */
	HTTP_FT_ARRAY,   /* array of at most max_len objects; the handler checks the members */
	HTTP_FT_ANY,     /* any JSON value (null only with HTTP_FF_NULLABLE); the handler checks it */
};
enum {
	HTTP_FF_REQUIRED = 1u << 0,
	HTTP_FF_NULLABLE = 1u << 1,
	HTTP_FF_NO_CTRL = 1u << 2, /* no control characters (names) */
};
struct http_field {
	const char *name;
	enum http_field_type type;
	unsigned flags;
	size_t min_len, max_len; /* strings only */
};
struct http_body_spec {
	const struct http_field *fields;
	size_t n;
	size_t min_fields; /* PATCH bodies: at least this many fields present */
};

/* Parses `len` bytes as one JSON object (duplicate keys rejected, at most max_len bytes) and checks it against
 * the spec: unknown fields, missing required fields, wrong types and lengths fail with 400 and the field
 * named in err. On success *out holds the object (caller owns the reference). */
int http_json_parse_body(const char *buf, size_t len, size_t max_len, const struct http_body_spec *spec,
			 json_t **out, struct http_error *err) __attribute__((warn_unused_result));
/* Checks an already-parsed value against the spec (used by http_json_parse_body). */
int http_json_validate(json_t *obj, const struct http_body_spec *spec, struct http_error *err)
	__attribute__((warn_unused_result));

/* Number of UTF-8 code points in a valid UTF-8 string of `len` bytes. */
size_t http_utf8_len(const char *s, size_t len);

/* Trusted reverse proxies (setting trusted_proxies) and the client address behind them. A request's client is
 * its TCP peer, unless the peer is a trusted proxy: then X-Forwarded-For is read right to left, each trusted hop
 * vouching for the address on its left, and the client is the right-most address that is not a trusted proxy.
 * Addresses to the left of it were written by the client itself and are never believed. */
#define HTTP_PROXIES_MAX 32  /* networks in trusted_proxies */
#define HTTP_XFF_HOPS_MAX 16 /* X-Forwarded-For entries read at most, from the right */
struct http_proxy_net {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network address, host bits zero; IPv4 in the first 4 bytes */
	unsigned prefix;  /* 0..32 or 0..128 */
};
struct http_proxies {
	size_t n; /* 0: no proxy is trusted, X-Forwarded-For is ignored */
	struct http_proxy_net net[HTTP_PROXIES_MAX];
};

/* Parses addresses and CIDR networks ("10.0.0.0/8", "127.0.0.1", "fd00::/8") separated by commas and/or
 * spaces; "" gives an empty list. A network with host bits set ("10.0.0.1/8") is refused as ambiguous.
 * Returns 0, or -EINVAL with the offending entry named in why. */
int http_proxies_parse(const char *list, struct http_proxies *out, char *why, size_t whylen)
	__attribute__((warn_unused_result));
/* True when addr (numeric IPv4 or IPv6 text; IPv4-mapped IPv6 counts as IPv4) is in one of the networks. */
bool http_proxies_match(const struct http_proxies *p, const char *addr);
/* Writes the client address of a request into out (at least INET6_ADDRSTRLEN bytes): peer is the TCP peer's
 * numeric address, xff the request's X-Forwarded-For header values in the order received (several header lines
 * count as one comma-joined list, RFC 9110 section 5.3). Entries may carry a port ("1.2.3.4:80", "[::1]:80").
 * An entry that is not an address stops the walk at the trusted hop that wrote it. Output addresses are in
 * canonical form; a peer that does not parse is copied as it is. */
void http_client_address(const struct http_proxies *p, const char *peer, const char *const *xff, size_t nxff,
			 char *out, size_t outlen);
