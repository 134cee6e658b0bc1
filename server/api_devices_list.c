#include "server/api_devices_list.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "common/timefmt.h"
#include "server/api_principal.h"
#include "server/db.h"

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

/* Valid UTF-8 of 1..max_chars code points without control characters. */
static bool text_ok(const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0;

	while (*p) {
		unsigned char ch = *p;
		int extra = ch < 0x80 ? 0 : (ch & 0xE0) == 0xC0 ? 1 : (ch & 0xF0) == 0xE0 ? 2 : (ch & 0xF8) == 0xF0 ? 3 : -1;
		if (extra < 0 || (extra == 1 && ch < 0xC2) || ch < 0x20 || ch == 0x7f)
			return false;
		for (int i = 1; i <= extra; i++)
			if ((p[i] & 0xC0) != 0x80)
				return false;
		p += 1 + extra;
		chars++;
	}
	return chars >= 1 && chars <= max_chars;
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

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* A MAC prefix: 2..6 groups of one or two hex digits separated by ':' or '-' (one kind), only the last group
 * short, optionally ending with the separator. Writes the range of MACs it starts. */
static bool mac_prefix(const char *s, char lo[18], char hi[18])
{
	unsigned char b_lo[6] = { 0 }, b_hi[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	char sep = 0;
	int groups = 0;

	while (*s) {
		int d1 = hexval(s[0]), d2 = d1 >= 0 ? hexval(s[1]) : -1;
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

	if (!text_ok(v, 200))
		return bad(err, "q", "must be 1 to 200 characters without control characters");
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
		if (!text_ok(v, k == K_TAG ? 64 : 255))
			return bad(err, key, "must be 1 to %d characters without control characters", k == K_TAG ? 64 : 255);
		snprintf(k == K_TAG ? out->tag : out->vendor, DEVQ_TEXT_MAX, "%s", v);
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
	if (query && strlen(query) > 8192) {
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
	default:
		return *key == '\0' || text_ok(key, 1000);
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

/* ---- SQL ---- */

/* A statement being built with its parameters ($1...); overflow makes the statement unusable (500). */
struct sqlb {
	char buf[24576];
	size_t len;
	bool overflow;
	const char *params[32];
	int n;
};

static void sb_add(struct sqlb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sqlb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->buf + b->len, sizeof(b->buf) - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(b->buf) - b->len)
		b->overflow = true;
	else
		b->len += (size_t)n;
}

/* Adds a parameter; returns its number. */
static int sb_param(struct sqlb *b, const char *v)
{
	if (b->n >= (int)(sizeof(b->params) / sizeof(b->params[0]))) {
		b->overflow = true;
		return 1;
	}
	b->params[b->n++] = v;
	return b->n;
}

/* The sort key of each sort (the expressions of sql/016_inventory.sql's indexes), its text for the cursor, and
 * the cursor text back as a value. Site and zone sort by the zone's place (site name, zone name) instead. */
static const struct {
	const char *expr, *text, *pre, *post; /* the cursor's value is pre $N post */
} sort_keys[] = {
	[DEVQ_SORT_ID] = { "d.id", "''", "", "" },
	[DEVQ_SORT_NAME] = { "lower(coalesce(d.name, d.inv_hostname, ''))", NULL, "", "::text" },
	[DEVQ_SORT_TYPE] = { "coalesce(d.inv_type, '')", NULL, "", "::text" },
	[DEVQ_SORT_VENDOR] = { "lower(coalesce(d.inv_vendor, ''))", NULL, "", "::text" },
	[DEVQ_SORT_IP] = { "coalesce(d.inv_ip, '::'::inet)", NULL, "", "::inet" },
	[DEVQ_SORT_FIRST_SEEN] = { "d.first_seen", "(extract(epoch from d.first_seen) * 1000000)::bigint", "('epoch'::timestamptz + ",
				   "::bigint * interval '1 microsecond')" },
	[DEVQ_SORT_LAST_SEEN] = { "d.last_seen", "(extract(epoch from d.last_seen) * 1000000)::bigint", "('epoch'::timestamptz + ",
				  "::bigint * interval '1 microsecond')" },
	[DEVQ_SORT_SITE] = { NULL, NULL, NULL, NULL },
	[DEVQ_SORT_ZONE] = { NULL, NULL, NULL, NULL },
	[DEVQ_SORT_PURDUE] = { "coalesce(d.inv_purdue, 9)", NULL, "", "::int" },
};

/* Conditions on a device's address, protocol and sighting rows. A device with devices merged into it matches on
 * its group's rows; the page reads those few devices in a second branch (group = true), so that the first can
 * test the rows of the device itself with an EXISTS the planner turns into a semi-join: along the sort's index
 * when most devices match, from the row table's index when few do. */
static void group_cond(struct sqlb *b, bool group, const char *table, const char *cond)
{
	if (group)
		sb_add(b, " and exists (select 1 from devices m join %s x on x.device_id = m.id "
			  "where (m.id = d.id or m.merged_into = d.id) and %s)", table, cond);
	else
		sb_add(b, " and exists (select 1 from %s x where x.device_id = d.id and %s)", table, cond);
}

static bool has_group_filters(const struct devq *q)
{
	return q->sensor_id[0] || q->protocol[0] || q->is_new[0] || q->q_kind == DEVQ_Q_IP_PREFIX ||
	       q->q_kind == DEVQ_Q_CIDR || q->q_kind == DEVQ_Q_MAC;
}

/* The filters as " and ..." conditions on d (a listed device). zones: also the scope, site and zone filters (the
 * site and zone sorts apply those to the zones they walk). group: see group_cond. */
static void add_filters(struct sqlb *b, const struct devq *q, const char *scope, bool zones, bool group)
{
	char cond[160];

	if (zones && scope)
		sb_add(b, " and d.zone_id = any (array(select z.id from zones z where otw_zone_visible($%d::bigint[], z.id)))",
		       sb_param(b, scope));
	if (zones && q->site_id[0])
		sb_add(b, " and d.zone_id = any (array(select z.id from zones z where z.site_id = $%d::bigint))",
		       sb_param(b, q->site_id));
	if (zones && q->zone_id[0])
		sb_add(b, " and d.zone_id = $%d::bigint", sb_param(b, q->zone_id));
	if (q->sensor_id[0]) {
		snprintf(cond, sizeof(cond), "x.sensor_id = $%d::uuid", sb_param(b, q->sensor_id));
		group_cond(b, group, "device_sightings", cond);
	}
	switch (q->q_kind) {
	case DEVQ_Q_TEXT:
		sb_add(b, " and d.inv_search like lower($%d)", sb_param(b, q->q));
		break;
	case DEVQ_Q_IP_PREFIX:
		snprintf(cond, sizeof(cond), "host(x.ip) like $%d", sb_param(b, q->q));
		group_cond(b, group, "device_ips", cond);
		break;
	case DEVQ_Q_CIDR:
		snprintf(cond, sizeof(cond), "x.ip <<= $%d::inet", sb_param(b, q->q));
		group_cond(b, group, "device_ips", cond);
		break;
	case DEVQ_Q_MAC: {
		int lo = sb_param(b, q->mac_lo), hi = sb_param(b, q->mac_hi);
		snprintf(cond, sizeof(cond), "x.mac between $%d::macaddr and $%d::macaddr", lo, hi);
		group_cond(b, group, "device_macs", cond);
		break;
	}
	case DEVQ_Q_NONE:
		break;
	}
	if (q->types[0])
		sb_add(b, " and coalesce(d.inv_type, '') = any ($%d::text[])", sb_param(b, q->types));
	if (q->class_[0])
		sb_add(b, " and otw_device_class(d.inv_type) = $%d", sb_param(b, q->class_));
	if (q->vendor[0])
		sb_add(b, " and lower(coalesce(d.inv_vendor, '')) = lower($%d)", sb_param(b, q->vendor));
	if (q->protocol[0]) {
		snprintf(cond, sizeof(cond), "x.name = $%d", sb_param(b, q->protocol));
		group_cond(b, group, "device_protocols", cond);
	}
	if (q->authorized[0])
		sb_add(b, " and d.authorized = $%d::boolean", sb_param(b, q->authorized));
	if (q->importance[0])
		sb_add(b, " and d.importance = $%d", sb_param(b, q->importance));
	if (q->purdue[0])
		sb_add(b, " and coalesce(d.inv_purdue, 9) = $%d::int", sb_param(b, q->purdue));
	/* The item's "new": first seen (the group's first_seen, which the target's own is) after a sensor that
	 * saw it went operational. */
	if (q->is_new[0])
		sb_add(b, " and %sexists (select 1 from %s join sensors n on n.id = x.sensor_id where %s "
			  "and n.mode = 'operational' and n.mode_changed_at is not null and d.first_seen > n.mode_changed_at)",
		       strcmp(q->is_new, "true") == 0 ? "" : "not ",
		       group ? "devices m join device_sightings x on x.device_id = m.id" : "device_sightings x",
		       group ? "(m.id = d.id or m.merged_into = d.id)" : "x.device_id = d.id");
	if (q->seen_after[0])
		sb_add(b, " and d.last_seen >= $%d::timestamptz", sb_param(b, q->seen_after));
	if (q->seen_before[0])
		sb_add(b, " and d.last_seen < $%d::timestamptz", sb_param(b, q->seen_before));
	if (q->tag[0])
		sb_add(b, " and d.tags @> array[$%d::text] and d.tags <> '{}'", sb_param(b, q->tag));
}

/* "(select cols from devices d where base <filters> extra order by order limit $limit)" (without order by and
 * limit when order is NULL): the devices matching,
 * as two disjoint branches (UNION ALL) when group filters apply: devices without merged devices, tested on their
 * own rows, and the few with, tested on their group's. */
static void add_branches(struct sqlb *b, const struct devq *q, const char *scope, bool zones, const char *cols,
			 const char *base, const char *extra, const char *order, int limit)
{
	bool two = has_group_filters(q);

	sb_add(b, "(select %s from devices d where %s%s", cols, base,
	       two ? " and not exists (select 1 from devices m where m.merged_into = d.id)" : "");
	add_filters(b, q, scope, zones, false);
	if (order)
		sb_add(b, "%s order by %s limit $%d)", extra, order, limit);
	else
		sb_add(b, "%s)", extra);
	if (!two)
		return;
	sb_add(b, " union all (select %s from devices d where %s and d.id = any (array(select m.merged_into from devices m "
		  "where m.merged_into is not null))", cols, base);
	add_filters(b, q, scope, zones, true);
	if (order)
		sb_add(b, "%s order by %s limit $%d)", extra, order, limit);
	else
		sb_add(b, "%s)", extra);
}

/* The zones the site and zone sorts walk, in order, as CTE zo(id, r): visible ones matching the site and zone
 * filters; unrestricted callers without those filters also get the devices without a zone, last (id null). */
static void add_zone_order(struct sqlb *b, const struct devq *q, const char *scope)
{
	bool nullzone = !scope && !q->site_id[0] && !q->zone_id[0];

	sb_add(b, "with zo as (select id, r from (select z.id, row_number() over (order by %s, z.id) as r from zones z "
		  "join sites s on s.id = z.site_id where true",
	       q->sort == DEVQ_SORT_SITE ? "s.name, z.name" : "z.name, s.name");
	if (scope)
		sb_add(b, " and otw_zone_visible($%d::bigint[], z.id)", sb_param(b, scope));
	if (q->site_id[0])
		sb_add(b, " and z.site_id = $%d::bigint", sb_param(b, q->site_id));
	if (q->zone_id[0])
		sb_add(b, " and z.id = $%d::bigint", sb_param(b, q->zone_id));
	sb_add(b, ") o%s) ", nullzone ? " union all select null::bigint, 9223372036854775807" : "");
}

/* The page's (or export's) rows as subquery p(id, k, sk): id, the cursor key text, the sort value. `limit` is
 * the parameter number of the row limit; key/id the decoded cursor or NULL. */
static void add_page(struct sqlb *b, const struct devq *q, const char *scope, int limit, const char *key,
		     const char *id)
{
	const char *dir = q->desc ? "desc" : "asc", *op = q->desc ? "<" : ">";
	char extra[256] = "", order[160], cols[200];
	int pk, pid;

	if (q->sort == DEVQ_SORT_SITE || q->sort == DEVQ_SORT_ZONE) {
		bool nullzone = !scope && !q->site_id[0] && !q->zone_id[0];
		char cur[96] = "";
		if (id) {
			pk = sb_param(b, key);
			pid = sb_param(b, id);
			snprintf(cur, sizeof(cur), "(select r from zo where id is not distinct from nullif($%d, '')::bigint)",
				 pk);
			snprintf(extra, sizeof(extra), " and (zo.r <> %s or d.id %s $%d::bigint)", cur, op, pid);
		}
		snprintf(order, sizeof(order), "d.id %s", dir);
		/* Per zone at most `limit` devices in id order, zones in their order: bounded work whatever the size. */
		/* zo in order, so that an incremental sort stops after the zones the page needs. */
		sb_add(b, "(select x.id, coalesce(zo.id::text, '') as k, zo.r as sk from (select id, r from zo order by r %s) zo "
			  "cross join lateral (", dir);
		add_branches(b, q, scope, false, "d.id", "d.zone_id = zo.id and d.merged_into is null", extra, order, limit);
		if (nullzone) {
			sb_add(b, " union all ");
			add_branches(b, q, scope, false, "d.id", "zo.id is null and d.zone_id is null and d.merged_into is null",
				     extra, order, limit);
		}
		sb_add(b, ") x");
		if (id)
			sb_add(b, " where zo.r %s= %s", op, cur);
		sb_add(b, " order by zo.r %s, x.id %s limit $%d) p", dir, dir, limit);
		return;
	}
	if (id && q->sort == DEVQ_SORT_ID) {
		snprintf(extra, sizeof(extra), " and d.id %s $%d::bigint", op, sb_param(b, id));
	} else if (id) {
		pk = sb_param(b, key);
		pid = sb_param(b, id);
		snprintf(extra, sizeof(extra), " and (%s, d.id) %s (%s$%d%s, $%d::bigint)", sort_keys[q->sort].expr, op,
			 sort_keys[q->sort].pre, pk, sort_keys[q->sort].post, pid);
	}
	if (q->sort == DEVQ_SORT_ID)
		snprintf(order, sizeof(order), "d.id %s", dir);
	else
		snprintf(order, sizeof(order), "%s %s, d.id %s", sort_keys[q->sort].expr, dir, dir);
	snprintf(cols, sizeof(cols), "d.id, %s::text as k, %s as sk",
		 sort_keys[q->sort].text ? sort_keys[q->sort].text : sort_keys[q->sort].expr, sort_keys[q->sort].expr);
	sb_add(b, "(select id, k, sk from (");
	add_branches(b, q, scope, true, cols, "d.merged_into is null", extra, order, limit);
	sb_add(b, ") u order by sk %s, id %s limit $%d) p", dir, dir, limit);
}

static bool take_query(struct api_call *c, bool export_route, struct devq *q, char *key, size_t cap, char id[24])
{
	if (devq_parse(c->query, export_route, q, &c->err) != 0 ||
	    (q->cursor[0] && !devq_cursor_decode(q, key, cap, id, &c->err))) {
		c->status = c->err.status;
		return false;
	}
	return true;
}

static bool count_into(PGconn *db, const struct devq *q, const char *scope, json_t *out)
{
	struct sqlb *b = calloc(1, sizeof(*b));
	PGresult *res = NULL;
	bool ok = false;

	if (!b)
		return false;
	sb_add(b, "select count(*) from (");
	add_branches(b, q, scope, true, "1", "d.merged_into is null", "", NULL, 0);
	sb_add(b, ") c");
	if (!b->overflow && (res = db_exec(db, b->buf, b->n, b->params)) && PQntuples(res) == 1)
		ok = json_object_set_new(out, "total", json_integer(strtoll(PQgetvalue(res, 0, 0), NULL, 10))) == 0;
	PQclear(res);
	free(b);
	return ok;
}

void api_devices_list(struct api_call *c, PGconn *db)
{
	struct devq q;
	struct sqlb *b = calloc(1, sizeof(*b));
	char key[1100] = "", id[24] = "", limit[24], cursor[DEVQ_CURSOR_MAX];
	const char *scope = api_scope(c), *dir;
	json_t *items = NULL, *out = NULL;
	PGresult *res = NULL;
	int rows;

	if (!b) {
		api_fail_db(c);
		return;
	}
	if (!take_query(c, false, &q, key, sizeof(key), id))
		goto done;
	dir = q.desc ? "desc" : "asc";
	snprintf(limit, sizeof(limit), "%ld", q.limit + 1);
	if (q.sort == DEVQ_SORT_SITE || q.sort == DEVQ_SORT_ZONE)
		add_zone_order(b, &q, scope);
	sb_add(b, "select p.id::text, p.k, " DEVICE_JSON " from ");
	add_page(b, &q, scope, sb_param(b, limit), id[0] ? key : NULL, id[0] ? id : NULL);
	sb_add(b, " join devices d on d.id = p.id" DEVICE_JOINS " order by p.sk %s, p.id %s", dir, dir);
	if (b->overflow || !(res = db_exec(db, b->buf, b->n, b->params)))
		goto fail;
	if (!(items = json_array()))
		goto fail;
	rows = PQntuples(res);
	for (int i = 0; i < rows && i < q.limit; i++) {
		json_t *item = json_loads(PQgetvalue(res, i, 2), 0, NULL);
		if (!item || json_array_append_new(items, item) != 0)
			goto fail;
	}
	if (rows > q.limit) {
		if (!devq_cursor_encode(&q, PQgetvalue(res, (int)q.limit - 1, 1), PQgetvalue(res, (int)q.limit - 1, 0),
					cursor))
			goto fail;
		out = json_pack("{s:O, s:s}", "items", items, "next_cursor", cursor);
	} else {
		out = json_pack("{s:O, s:n}", "items", items, "next_cursor");
	}
	if (!out || (q.count && !count_into(db, &q, scope, out)))
		goto fail;
	api_ok(c, 200, out);
	out = NULL;
	goto done;
fail:
	api_fail_db(c);
done:
	json_decref(out);
	json_decref(items);
	PQclear(res);
	free(b);
}

/* ---- export ---- */

#define EXPORT_MAX_ROWS 100000
#define EXPORT_COLUMNS                                                                                         \
	"id,name,type,class,vendor,model,firmware,ips,macs,vlans,site,zone,purdue_level,authorized,importance,"   \
	"protocols,first_seen,last_seen\r\n"
/* The export's columns for device d with its group g.ids (the set members space-separated). */
#define EXPORT_SELECT                                                                                          \
	"select d.id::text, d.name, d.inv_type, otw_device_class(d.inv_type), d.inv_vendor, d.inv_model, "        \
	"coalesce(d.overrides->>'firmware', (select " REP("firmware") " from device_sightings s "                 \
	"where s.device_id = any (g.ids))), "                                                                    \
	"(select string_agg(host(x.ip), ' ' order by x.ip) from (select distinct i.ip from device_ips i "         \
	"where i.device_id = any (g.ids)) x), "                                                                  \
	"(select string_agg(x.mac::text, ' ' order by x.mac) from (select distinct m.mac from device_macs m "     \
	"where m.device_id = any (g.ids)) x), "                                                                  \
	"(select string_agg(x.vlan::text, ' ' order by x.vlan) from (select distinct v.vlan from device_vlans v " \
	"where v.device_id = any (g.ids)) x), "                                                                  \
	"st.name, z.name, d.inv_purdue::text, d.authorized::text, d.importance, "                                \
	"(select string_agg(x.name, ' ' order by x.name) from (select distinct p.name from device_protocols p "   \
	"where p.device_id = any (g.ids)) x), " API_TS("d.first_seen") ", " API_TS("d.last_seen") " from "
#define EXPORT_NCOLS 18

/* One CSV cell (RFC 4180). A cell a spreadsheet would read as a formula (starting with = + - @, tab or CR) gets
 * a leading apostrophe (OWASP "CSV injection"). */
static int csv_cell(FILE *f, const char *s)
{
	bool formula = strchr("=+-@\t\r", s[0]) && s[0], quote = formula || strpbrk(s, ",\"\r\n") != NULL;

	if (!quote)
		return fputs(s, f) < 0 ? -EIO : 0;
	if (fputc('"', f) == EOF || (formula && fputc('\'', f) == EOF))
		return -EIO;
	for (; *s; s++)
		if ((*s == '"' && fputc('"', f) == EOF) || fputc(*s, f) == EOF)
			return -EIO;
	return fputc('"', f) == EOF ? -EIO : 0;
}

static int write_csv(FILE *f, PGresult *res, int rows)
{
	if (fputs(EXPORT_COLUMNS, f) < 0)
		return -EIO;
	for (int i = 0; i < rows; i++) {
		for (int col = 0; col < EXPORT_NCOLS; col++)
			if ((col && fputc(',', f) == EOF) || csv_cell(f, PQgetvalue(res, i, col)) != 0)
				return -EIO;
		if (fputs("\r\n", f) < 0)
			return -EIO;
	}
	return 0;
}

/* The export is built on the worker and sent whole: the API answers from the event loop after the handler, so a
 * worker cannot stream. It is capped at EXPORT_MAX_ROWS rows (about 30 MB); a capped export is named
 * devices-truncated.csv. */
void api_devices_export(struct api_call *c, PGconn *db)
{
	struct devq q;
	struct sqlb *b = calloc(1, sizeof(*b));
	char key[8], id[24], limit[24];
	const char *scope = api_scope(c), *dir;
	PGresult *res = NULL;
	char *text = NULL;
	size_t size = 0;
	FILE *f = NULL;
	int rows, rc;

	if (!b) {
		api_fail_db(c);
		return;
	}
	if (!take_query(c, true, &q, key, sizeof(key), id))
		goto done;
	dir = q.desc ? "desc" : "asc";
	snprintf(limit, sizeof(limit), "%d", EXPORT_MAX_ROWS + 1);
	if (q.sort == DEVQ_SORT_SITE || q.sort == DEVQ_SORT_ZONE) {
		/* Walking the zones with a per-zone limit as the page does would read every zone's first rows; the
		 * export sorts its rows once instead. */
		sb_add(b, EXPORT_SELECT "devices d left join zones z on z.id = d.zone_id left join sites st on "
					"st.id = z.site_id cross join lateral (select array[d.id] || array(select m.id from devices m "
					"where m.merged_into = d.id) ids) g where d.merged_into is null");
		add_filters(b, &q, scope, true, true);
		if (q.sort == DEVQ_SORT_SITE)
			sb_add(b, " order by st.name %s, z.name %s, z.id %s, d.id %s limit $%d", dir, dir, dir, dir,
			       sb_param(b, limit));
		else
			sb_add(b, " order by z.name %s, st.name %s, z.id %s, d.id %s limit $%d", dir, dir, dir, dir,
			       sb_param(b, limit));
	} else {
		sb_add(b, EXPORT_SELECT);
		add_page(b, &q, scope, sb_param(b, limit), NULL, NULL);
		sb_add(b, " join devices d on d.id = p.id left join zones z on z.id = d.zone_id left join sites st on "
			  "st.id = z.site_id cross join lateral (select array[d.id] || array(select m.id from devices m "
			  "where m.merged_into = d.id) ids) g order by p.sk %s, p.id %s",
		       dir, dir);
	}
	if (b->overflow || !(res = db_exec(db, b->buf, b->n, b->params)))
		goto fail;
	rows = PQntuples(res);
	if (!(f = open_memstream(&text, &size)))
		goto fail;
	rc = write_csv(f, res, rows > EXPORT_MAX_ROWS ? EXPORT_MAX_ROWS : rows);
	if (fclose(f) != 0 || rc != 0)
		goto fail;
	c->resp_text = text;
	c->resp_len = size;
	text = NULL;
	c->resp_type = "text/csv; charset=utf-8";
	c->resp_filename = rows > EXPORT_MAX_ROWS ? "devices-truncated.csv" : "devices.csv";
	c->status = 200;
	goto done;
fail:
	api_fail_db(c);
done:
	free(text);
	PQclear(res);
	free(b);
}
