#include "server/devices_query.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>

#include "common/hex.h"
#include "common/timefmt.h"

const char *const api_device_types[] = {
	"plc",	  "rtu",    "ied",	   "hmi",	  "engineering_workstation", "historian", "opc_server",
	"scada_server", "bacnet_controller", "io_device",	"drive",	  "safety_controller", "switch",	  "router",
	"firewall",	  "wireless_ap",	   "it_host",	"server",	  "printer",	     "camera",	  "ip_phone",
	"iot_device",
};
const size_t api_device_types_n = sizeof(api_device_types) / sizeof(api_device_types[0]);

/* ---- parameters ---- */

enum devq_key {
	K_LIMIT, K_CURSOR, K_SITE, K_ZONE, K_SENSOR, K_Q, K_TYPE, K_CLASS, K_VENDOR, K_PROTOCOL, K_AUTHORIZED,
	K_IMPORTANCE, K_PURDUE, K_NEW, K_SEEN_AFTER, K_SEEN_BEFORE, K_TAG, K_SORT, K_ORDER, K_COUNT, K_FORMAT, NKEYS
};
enum { R_LIST = 1, R_EXPORT = 2 };
/* The per-route parameter table: which routes take each parameter. Filters from K_SITE to K_ORDER make the
 * fingerprint a cursor is bound to. */
static const struct {
	const char *name;
	unsigned routes;
} devq_keys[NKEYS] = {
	[K_LIMIT] = { "limit", R_LIST },
	[K_CURSOR] = { "cursor", R_LIST },
	[K_SITE] = { "site_id", R_LIST | R_EXPORT },
	[K_ZONE] = { "zone_id", R_LIST | R_EXPORT },
	[K_SENSOR] = { "sensor_id", R_LIST | R_EXPORT },
	[K_Q] = { "q", R_LIST | R_EXPORT },
	[K_TYPE] = { "type", R_LIST | R_EXPORT },
	[K_CLASS] = { "class", R_LIST | R_EXPORT },
	[K_VENDOR] = { "vendor", R_LIST | R_EXPORT },
	[K_PROTOCOL] = { "protocol", R_LIST | R_EXPORT },
	[K_AUTHORIZED] = { "authorized", R_LIST | R_EXPORT },
	[K_IMPORTANCE] = { "importance", R_LIST | R_EXPORT },
	[K_PURDUE] = { "purdue_level", R_LIST | R_EXPORT },
	[K_NEW] = { "new", R_LIST | R_EXPORT },
	[K_SEEN_AFTER] = { "seen_after", R_LIST | R_EXPORT },
	[K_SEEN_BEFORE] = { "seen_before", R_LIST | R_EXPORT },
	[K_TAG] = { "tag", R_LIST | R_EXPORT },
	[K_SORT] = { "sort", R_LIST | R_EXPORT },
	[K_ORDER] = { "order", R_LIST | R_EXPORT },
	[K_COUNT] = { "count", R_LIST },
	[K_FORMAT] = { "format", R_EXPORT },
};

static const char *const sort_names[] = { "id", "name", "type", "vendor", "ip", "first_seen", "last_seen",
					  "site", "zone", "purdue_level" };
#define NSORTS (sizeof(sort_names) / sizeof(sort_names[0]))
static const char *const classes[] = { "ics", "network", "it", "iot", "other" };

static int bad(struct http_error *err, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(struct http_error *err, const char *key, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_error_set(err, 400, "invalid_query", key, "%s %s", key, msg);
	return -EINVAL;
}

/* The length (1..4) of the UTF-8 sequence at p, or 0 when it is not one PostgreSQL takes as text (RFC 3629: no
 * overlong form, surrogate or code point above U+10FFFF). Reads no byte past a NUL. */
static int utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xBF;

	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xC2)
		return 0;
	if (p[0] < 0xE0)
		return (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (p[0] < 0xF0) {
		lo = p[0] == 0xE0 ? 0xA0 : 0x80;
		hi = p[0] == 0xED ? 0x9F : 0xBF;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
	}
	if (p[0] < 0xF5) {
		lo = p[0] == 0xF0 ? 0x90 : 0x80;
		hi = p[0] == 0xF4 ? 0x8F : 0xBF;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/* The number of code points of s if it is valid UTF-8 (and, unless controls, has no control character), else -1. */
static long utf8_chars(const char *s, bool controls)
{
	const unsigned char *p = (const unsigned char *)s;
	long chars = 0;

	while (*p) {
		int n = utf8_len(p);
		if (n == 0 || (!controls && (*p < 0x20 || *p == 0x7f)))
			return -1;
		p += n;
		chars++;
	}
	return chars;
}

/* Valid UTF-8 of 1..max_chars code points without control characters. */
static bool text_ok(const char *s, size_t max_chars)
{
	long chars = utf8_chars(s, false);

	return chars >= 1 && (size_t)chars <= max_chars;
}

static int index_of(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return (int)i;
	return -1;
}

static bool is_bool(const char *s)
{
	return strcmp(s, "true") == 0 || strcmp(s, "false") == 0;
}

/* LIKE-escapes s into out (backslash escapes, the default). */
static bool like_escape(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	for (; *s; s++) {
		if (o + 3 > cap)
			return false;
		if (*s == '%' || *s == '_' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o] = '\0';
	return true;
}

/* A MAC prefix: 2..6 groups of one or two hex digits separated by ':' or '-' (one kind), only the last group
 * short, optionally ending with the separator. Writes the range of MACs it starts. */
static bool mac_prefix(const char *s, char lo[18], char hi[18])
{
	unsigned char b_lo[6] = { 0 }, b_hi[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	char sep = 0;
	int groups = 0;

	while (*s) {
		int d1 = hex_value(s[0]), d2 = d1 >= 0 ? hex_value(s[1]) : -1;
		if (d1 < 0 || groups == 6)
			return false;
		if (d2 >= 0) {
			b_lo[groups] = b_hi[groups] = (unsigned char)(d1 << 4 | d2);
			s += 2;
		} else {
			b_lo[groups] = (unsigned char)(d1 << 4);
			b_hi[groups] = (unsigned char)(d1 << 4 | 0xf);
			s += 1;
			if (*s)
				return false; /* only the last group may be short */
		}
		groups++;
		if (*s == ':' || *s == '-') {
			if (sep && *s != sep)
				return false;
			sep = *s++;
			if (!*s)
				break;
		} else if (*s) {
			return false;
		}
	}
	if (groups < 2 || !sep)
		return false;
	snprintf(lo, 18, "%02x:%02x:%02x:%02x:%02x:%02x", b_lo[0], b_lo[1], b_lo[2], b_lo[3], b_lo[4], b_lo[5]);
	snprintf(hi, 18, "%02x:%02x:%02x:%02x:%02x:%02x", b_hi[0], b_hi[1], b_hi[2], b_hi[3], b_hi[4], b_hi[5]);
	return true;
}

/* "10.1.", "10.1.2.3": 1..4 groups of 1..3 digits (0..255) separated by dots, at least one dot. */
static bool ip_prefix(const char *s)
{
	int groups = 0, digits = 0, value = 0, dots = 0;

	for (; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			value = value * 10 + (*s - '0');
			if (++digits > 3 || value > 255)
				return false;
			if (digits == 1)
				groups++;
		} else if (*s == '.' && digits > 0 && ++dots <= 3) {
			digits = value = 0;
		} else {
			return false;
		}
	}
	return dots >= 1 && groups <= 4;
}

static bool cidr(const char *s)
{
	const char *slash = strchr(s, '/');
	char addr[INET6_ADDRSTRLEN];
	unsigned char buf[16];
	int64_t bits;
	bool v6;

	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return false;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	v6 = strchr(addr, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, buf) != 1)
		return false;
	if (strcmp(slash + 1, "0") == 0)
		return true;
	return http_id_parse_int(slash + 1, &bits) && bits <= (v6 ? 128 : 32);
}

static int parse_q(const char *v, struct devq *out, struct http_error *err)
{
	char esc[sizeof(out->q) - 2];

	if (!text_ok(v, DEVQ_Q_CHARS))
		return bad(err, "q", "must be 1 to %d characters without control characters", DEVQ_Q_CHARS);
	if (strchr(v, '/')) {
		if (!cidr(v))
			return bad(err, "q", "with a '/' must be a CIDR network (10.1.0.0/16)");
		out->q_kind = DEVQ_Q_CIDR;
		snprintf(out->q, sizeof(out->q), "%s", v);
	} else if (ip_prefix(v)) {
		size_t n = strlen(v); /* at most 15 */
		out->q_kind = DEVQ_Q_IP_PREFIX;
		memcpy(out->q, v, n);
		memcpy(out->q + n, "%", 2);
	} else if (mac_prefix(v, out->mac_lo, out->mac_hi)) {
		out->q_kind = DEVQ_Q_MAC;
	} else {
		if (!like_escape(v, esc, sizeof(esc)))
			return bad(err, "q", "is too long");
		out->q_kind = DEVQ_Q_TEXT;
		snprintf(out->q, sizeof(out->q), "%%%s%%", esc);
	}
	return 0;
}

/* "a,b" of device types, no repeats, as the array literal "{a,b}". */
static int parse_types(const char *v, struct devq *out, struct http_error *err)
{
	size_t used = 1, n = 0;
	bool seen[32] = { false };
	char one[64];

	out->types[0] = '{';
	while (*v) {
		size_t len = strcspn(v, ",");
		int i;
		if (len == 0 || len >= sizeof(one))
			return bad(err, "type", "must be a comma-separated list of device types");
		memcpy(one, v, len);
		one[len] = '\0';
		if ((i = index_of(one, api_device_types, api_device_types_n)) < 0 || seen[i])
			return bad(err, "type", "must be a comma-separated list of distinct device types (plc, hmi, ...)");
		seen[i] = true;
		used += (size_t)snprintf(out->types + used, sizeof(out->types) - used, "%s%s", n++ ? "," : "", one);
		v += len;
		if (*v == ',' && !*++v)
			return bad(err, "type", "must not end with a comma");
	}
	snprintf(out->types + used, sizeof(out->types) - used, "}");
	return 0;
}

static int parse_value(enum devq_key k, const char *v, struct devq *out, struct http_error *err)
{
	const char *key = devq_keys[k].name;
	int64_t n;
	int i;

	switch (k) {
	case K_LIMIT:
		if (!http_id_parse_int(v, &n) || n > HTTP_LIMIT_MAX)
			return bad(err, key, "must be an integer from 1 to %d", HTTP_LIMIT_MAX);
		out->limit = (long)n;
		return 0;
	case K_CURSOR:
		if (strlen(v) >= sizeof(out->cursor))
			return bad(err, key, "is not valid");
		snprintf(out->cursor, sizeof(out->cursor), "%s", v);
		return 0;
	case K_SITE:
	case K_ZONE:
		if (!http_id_parse_int(v, &n))
			return bad(err, key, "must be a positive integer");
		snprintf(k == K_SITE ? out->site_id : out->zone_id, sizeof(out->site_id), "%s", v);
		return 0;
	case K_SENSOR:
		if (!http_id_is_uuid(v))
			return bad(err, key, "must be a UUID");
		snprintf(out->sensor_id, sizeof(out->sensor_id), "%s", v);
		return 0;
	case K_Q:
		return parse_q(v, out, err);
	case K_TYPE:
		return parse_types(v, out, err);
	case K_CLASS:
		if (index_of(v, classes, sizeof(classes) / sizeof(classes[0])) < 0)
			return bad(err, key, "must be ics, network, it, iot or other");
		snprintf(out->class_, sizeof(out->class_), "%s", v);
		return 0;
	case K_VENDOR:
	case K_TAG:
		if (!text_ok(v, k == K_TAG ? DEVQ_TAG_CHARS : DEVQ_VENDOR_CHARS))
			return bad(err, key, "must be 1 to %d characters without control characters",
				   k == K_TAG ? DEVQ_TAG_CHARS : DEVQ_VENDOR_CHARS);
		/* Sized for the longest accepted value: a cut could split a character and fail in SQL. */
		if (k == K_TAG)
			snprintf(out->tag, sizeof(out->tag), "%s", v);
		else
			snprintf(out->vendor, sizeof(out->vendor), "%s", v);
		return 0;
	case K_PROTOCOL:
		if (strlen(v) > 64 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-.") != strlen(v) || !*v)
			return bad(err, key, "must be a protocol name (1 to 64 characters of [a-z0-9_.-])");
		snprintf(out->protocol, sizeof(out->protocol), "%s", v);
		return 0;
	case K_AUTHORIZED:
	case K_NEW:
	case K_COUNT:
		if (!is_bool(v))
			return bad(err, key, "must be true or false");
		if (k == K_COUNT)
			out->count = strcmp(v, "true") == 0;
		else
			snprintf(k == K_NEW ? out->is_new : out->authorized, sizeof(out->is_new), "%s", v);
		return 0;
	case K_IMPORTANCE:
		if (strcmp(v, "low") && strcmp(v, "medium") && strcmp(v, "high"))
			return bad(err, key, "must be low, medium or high");
		snprintf(out->importance, sizeof(out->importance), "%s", v);
		return 0;
	case K_PURDUE:
		if (strlen(v) != 1 || v[0] < '0' || v[0] > '5')
			return bad(err, key, "must be an integer from 0 to 5");
		snprintf(out->purdue, sizeof(out->purdue), "%s", v);
		return 0;
	case K_SEEN_AFTER:
	case K_SEEN_BEFORE:
		if (strlen(v) >= sizeof(out->seen_after) || !timefmt_parse_rfc3339(v, &n))
			return bad(err, key, "must be an RFC 3339 time");
		snprintf(k == K_SEEN_AFTER ? out->seen_after : out->seen_before, sizeof(out->seen_after), "%s", v);
		return 0;
	case K_SORT:
		if ((i = index_of(v, sort_names, NSORTS)) < 0)
			return bad(err, key, "must be one of id, name, type, vendor, ip, first_seen, last_seen, site, zone, "
					     "purdue_level");
		out->sort = (enum devq_sort)i;
		return 0;
	case K_ORDER:
		if (strcmp(v, "asc") && strcmp(v, "desc"))
			return bad(err, key, "must be asc or desc");
		out->desc = strcmp(v, "desc") == 0;
		return 0;
	case K_FORMAT:
		if (strcmp(v, "csv") != 0)
			return bad(err, key, "must be csv");
		return 0;
	default:
		return bad(err, key, "is not known");
	}
}

static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int devq_parse(const char *query, bool export_route, struct devq *out, struct http_error *err)
{
	struct evkeyvalq q;
	struct evkeyval *kv;
	const char *given[NKEYS] = { NULL };
	unsigned route = export_route ? R_EXPORT : R_LIST;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	out->limit = HTTP_LIMIT_DEFAULT;
	out->export_route = export_route;
	TAILQ_INIT(&q);
	if (query && strlen(query) > DEVQ_QUERY_MAX) {
		http_error_set(err, 400, "invalid_query", NULL, "query string too long");
		return -EINVAL;
	}
	if (query && *query && evhttp_parse_query_str(query, &q) != 0) {
		http_error_set(err, 400, "invalid_query", NULL, "malformed query string");
		goto out;
	}
	TAILQ_FOREACH(kv, &q, next) {
		size_t k;
		for (k = 0; k < NKEYS; k++)
			if (strcmp(kv->key, devq_keys[k].name) == 0 && (devq_keys[k].routes & route))
				break;
		if (k == NKEYS) {
			http_error_set(err, 400, "invalid_query", kv->key, "unknown query parameter '%.64s'", kv->key);
			goto out;
		}
		if (given[k]) {
			http_error_set(err, 400, "invalid_query", kv->key, "query parameter '%s' given twice", kv->key);
			goto out;
		}
		given[k] = kv->value;
		if (parse_value((enum devq_key)k, kv->value, out, err) != 0)
			goto out;
	}
	if (export_route && !given[K_FORMAT]) {
		http_error_set(err, 400, "invalid_query", "format", "format is required (csv)");
		goto out;
	}
	out->fingerprint = 0xcbf29ce484222325ULL;
	for (size_t k = K_SITE; k <= K_ORDER; k++) {
		const char *v = given[k] ? given[k] : "";
		out->fingerprint = fnv1a(out->fingerprint, devq_keys[k].name, strlen(devq_keys[k].name) + 1);
		out->fingerprint = fnv1a(out->fingerprint, v, strlen(v) + 1);
	}
	rc = 0;
out:
	evhttp_clear_headers(&q);
	return rc;
}

/* ---- cursors: base64url of "<fingerprint hex>|<id>|<sort key>" ---- */

bool devq_cursor_encode(const struct devq *q, const char *key, const char *id, char out[DEVQ_CURSOR_MAX])
{
	char raw[DEVQ_CURSOR_MAX / 4 * 3];
	int n = snprintf(raw, sizeof(raw), "%016llx|%s|%s", (unsigned long long)q->fingerprint, id, key);

	if (n < 0 || (size_t)n >= sizeof(raw))
		return false;
	return http_base64url_encode((const uint8_t *)raw, (size_t)n, out, DEVQ_CURSOR_MAX);
}

/* The key's shape for the sort: what SQL will cast it to must not fail. */
static bool key_ok(enum devq_sort sort, const char *key)
{
	unsigned char buf[16];
	int64_t v;

	switch (sort) {
	case DEVQ_SORT_ID:
		return *key == '\0';
	case DEVQ_SORT_SITE:
	case DEVQ_SORT_ZONE:
		return *key == '\0' || http_id_parse_int(key, &v); /* the zone; "" for devices without one */
	case DEVQ_SORT_PURDUE:
		return strlen(key) == 1 && key[0] >= '0' && key[0] <= '9';
	case DEVQ_SORT_FIRST_SEEN:
	case DEVQ_SORT_LAST_SEEN: /* microseconds since the epoch */
		return http_id_parse_int(key[0] == '-' ? key + 1 : key, &v) || strcmp(key, "0") == 0;
	case DEVQ_SORT_IP: /* inet text: an address, with /bits unless a host */
		return strchr(key, '/') ? cidr(key) : inet_pton(strchr(key, ':') ? AF_INET6 : AF_INET, key, buf) == 1;
	default: /* a name or vendor as stored: a sensor's report may hold control characters; the key is a bound
		  * parameter, so valid UTF-8 (NUL is refused by the decoder) is all SQL needs */
		return utf8_chars(key, true) >= 0;
	}
}

bool devq_cursor_decode(const struct devq *q, char *key, size_t cap, char id[24], struct http_error *err)
{
	uint8_t raw[DEVQ_CURSOR_MAX];
	char fp[17], *p, *bar;
	long n = http_base64url_decode(q->cursor, raw, sizeof(raw) - 1);
	int64_t v;

	if (n < 19 || memchr(raw, '\0', (size_t)n))
		goto bad;
	raw[n] = '\0';
	p = (char *)raw;
	if (p[16] != '|' || strspn(p, "0123456789abcdef") < 16)
		goto bad;
	snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)q->fingerprint);
	if (strncmp(p, fp, 16) != 0) {
		http_error_set(err, 400, "invalid_query", "cursor", "cursor was made for another sort, order or filter set");
		return false;
	}
	p += 17;
	if (!(bar = strchr(p, '|')) || (size_t)(bar - p) >= 24)
		goto bad;
	memcpy(id, p, (size_t)(bar - p));
	id[bar - p] = '\0';
	if (!http_id_parse_int(id, &v) || strlen(bar + 1) >= cap || !key_ok(q->sort, bar + 1))
		goto bad;
	snprintf(key, cap, "%s", bar + 1);
	return true;
bad:
	http_error_set(err, 400, "invalid_query", "cursor", "cursor is not valid");
	return false;
}
