#include "server/http_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timefmt.h"

void http_error_set(struct http_error *e, int status, const char *code, const char *field, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	snprintf(e->code, sizeof(e->code), "%s", code);
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

json_t *http_error_json(const struct http_error *e)
{
	json_t *inner = json_pack("{s:s, s:s}", "code", e->code, "message", e->message);

	if (!inner)
		return NULL;
	if (e->field[0] && json_object_set_new(inner, "field", json_string(e->field)) != 0) {
		json_decref(inner);
		return NULL;
	}
	return json_pack("{s:o}", "error", inner);
}

bool http_id_parse_int(const char *s, int64_t *out)
{
	int64_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 19 || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		int d = s[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool http_id_is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!is_hex(s[i])) {
			return false;
		}
	}
	return true;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool http_base64url_encode(const uint8_t *in, size_t n, char *out, size_t out_len)
{
	size_t need = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0) + 1;
	size_t o = 0;

	if (n > SIZE_MAX / 2 || need > out_len)
		return false;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t left = n - i;
		if (left > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		if (left > 1)
			out[o++] = b64url[(v >> 6) & 63];
		if (left > 2)
			out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
	return true;
}

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long http_base64url_decode(const char *in, uint8_t *out, size_t out_len)
{
	size_t n = strlen(in), o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64url_value(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= out_len)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero, so every cursor has exactly one spelling. */
	if (acc != 0)
		return -1;
	return (long)o;
}

bool http_cursor_encode(const char *last_id, char out[HTTP_CURSOR_MAX])
{
	size_t n = strlen(last_id);

	if (n == 0 || n >= HTTP_ID_MAX)
		return false;
	return http_base64url_encode((const uint8_t *)last_id, n, out, HTTP_CURSOR_MAX);
}

bool http_cursor_decode(const char *cursor, enum http_id_kind kind, char id[HTTP_ID_MAX])
{
	uint8_t buf[HTTP_ID_MAX];
	long n;
	int64_t v;

	if (strlen(cursor) >= HTTP_CURSOR_MAX)
		return false;
	n = http_base64url_decode(cursor, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	memcpy(id, buf, (size_t)n);
	id[n] = '\0';
	if (memchr(buf, '\0', (size_t)n))
		return false;
	return kind == HTTP_ID_INT ? http_id_parse_int(id, &v) : http_id_is_uuid(id);
}

static bool has_ctrl(const char *s, size_t len);

static int parse_limit(const char *s, long *out)
{
	int64_t v;

	if (!http_id_parse_int(s, &v) || v > HTTP_LIMIT_MAX)
		return -EINVAL;
	*out = (long)v;
	return 0;
}

static bool action_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_'))
			return false;
	}
	return true;
}

/* "a,b" of values in `allowed` (no repeats) as the array literal "{a,b}". */
static bool parse_set(const char *value, const char *const *allowed, char *out, size_t cap)
{
	size_t n = 0, used = 1;
	const char *p = value;

	if (cap < 3 || !*value)
		return false;
	out[0] = '{';
	out[1] = '\0';
	while (*p) {
		size_t len = strcspn(p, ","), i;
		for (i = 0; allowed[i]; i++)
			if (strlen(allowed[i]) == len && strncmp(p, allowed[i], len) == 0)
				break;
		if (!allowed[i] || used + len + 2 > cap)
			return false;
		if (n++)
			out[used++] = ',';
		memcpy(out + used, p, len);
		used += len;
		out[used] = '\0';
		p += len;
		if (*p == ',' && !*++p)
			return false; /* a trailing comma */
	}
	out[used++] = '}';
	out[used] = '\0';
	return true;
}

/* One list parameter: k indexes the key table of http_list_params_parse. */
static int parse_one(size_t k, const char *key, const char *value, enum http_id_kind id_kind,
		     struct http_list_params *out, struct http_error *err)
{
	char *id_dest[] = { NULL, NULL, out->site_id, out->zone_id, NULL, out->region_id, out->business_unit_id };
	int64_t v;

	switch (k) {
	case 0:
		if (parse_limit(value, &out->limit) == 0)
			return 0;
		http_error_set(err, 400, "invalid_query", "limit", "limit must be an integer from 1 to %d",
			       HTTP_LIMIT_MAX);
		return -EINVAL;
	case 1:
		if (http_cursor_decode(value, id_kind, out->after))
			return 0;
		http_error_set(err, 400, "invalid_query", "cursor", "cursor is not valid");
		return -EINVAL;
	case 4:
		if (http_id_is_uuid(value)) {
			snprintf(out->sensor_id, HTTP_ID_MAX, "%s", value);
			return 0;
		}
		http_error_set(err, 400, "invalid_query", "sensor_id", "sensor_id must be a UUID");
		return -EINVAL;
	case 2:
	case 3:
	case 5:
	case 6:
		if (http_id_parse_int(value, &v)) {
			snprintf(id_dest[k], HTTP_ID_MAX, "%s", value);
			return 0;
		}
		http_error_set(err, 400, "invalid_query", key, "%s must be a positive integer", key);
		return -EINVAL;
	case 7:
	case 8:
		if (strlen(value) < sizeof(out->from) && timefmt_parse_rfc3339(value, &v)) {
			snprintf(k == 7 ? out->from : out->to, sizeof(out->from), "%s", value);
			return 0;
		}
		http_error_set(err, 400, "invalid_query", key, "%s must be an RFC 3339 time", key);
		return -EINVAL;
	case 9:
		if (*value && http_utf8_len(value, strlen(value)) <= 256 && strlen(value) < sizeof(out->username) &&
		    !has_ctrl(value, strlen(value))) {
			snprintf(out->username, sizeof(out->username), "%s", value);
			return 0;
		}
		http_error_set(err, 400, "invalid_query", key, "username must be 1 to 256 characters");
		return -EINVAL;
	case 12:
	case 13:
	case 14: {
		static const char *const statuses[] = { "new", "closed", "learned", "muted", NULL };
		static const char *const severities[] = { "warning", "minor", "major", "critical", NULL };
		static const char *const engines[] = { "policy_violation", "protocol_violation", "anomaly", "operational",
						       "malware", NULL };
		const char *const *allowed = k == 12 ? statuses : k == 13 ? severities : engines;
		char *dest = k == 12 ? out->status : k == 13 ? out->severity : out->engine;
		size_t cap = k == 14 ? sizeof(out->engine) : sizeof(out->status);
		if (parse_set(value, allowed, dest, cap))
			return 0;
		http_error_set(err, 400, "invalid_query", key, "%s must be a comma-separated list of %s", key,
			       k == 12 ? "new, closed, learned, muted"
			       : k == 13 ? "warning, minor, major, critical"
					 : "policy_violation, protocol_violation, anomaly, operational, malware");
		dest[0] = '\0';
		return -EINVAL;
	}
	case 11:
		if (strcmp(value, "csv") == 0 || strcmp(value, "jsonl") == 0) {
			snprintf(out->format, sizeof(out->format), "%s", value);
			return 0;
		}
		http_error_set(err, 400, "invalid_query", key, "format must be csv or jsonl");
		return -EINVAL;
	default:
		if (action_ok(value)) {
			snprintf(out->action, sizeof(out->action), "%s", value);
			return 0;
		}
		http_error_set(err, 400, "invalid_query", key, "action must be 1 to 64 characters of [a-z0-9._]");
		return -EINVAL;
	}
}

int http_list_params_parse(const char *query, unsigned filters, enum http_id_kind id_kind,
			   struct http_list_params *out, struct http_error *err)
{
	struct evkeyvalq q;
	struct evkeyval *kv;
	unsigned seen = 0;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	out->limit = HTTP_LIMIT_DEFAULT;
	TAILQ_INIT(&q);
	if (!query || !*query)
		return 0;
	if (strlen(query) > 4096) {
		http_error_set(err, 400, "invalid_query", NULL, "query string too long");
		goto out;
	}
	if (evhttp_parse_query_str(query, &q) != 0) {
		http_error_set(err, 400, "invalid_query", NULL, "malformed query string");
		goto out;
	}
	TAILQ_FOREACH(kv, &q, next) {
		static const char *const keys[] = { "limit", "cursor", "site_id", "zone_id", "sensor_id", "region_id",
						    "business_unit_id", "from", "to", "username", "action", "format",
						    "status", "severity", "engine" };
		/* the filter bit each key needs (limit and cursor: none) */
		static const unsigned need[] = { 0, 0, HTTP_FILTER_SITE_ID, HTTP_FILTER_ZONE_ID,
						 HTTP_FILTER_SENSOR_ID, HTTP_FILTER_REGION_ID,
						 HTTP_FILTER_BUSINESS_UNIT_ID, HTTP_FILTER_TIME, HTTP_FILTER_TIME,
						 HTTP_FILTER_USERNAME, HTTP_FILTER_ACTION, HTTP_FILTER_FORMAT,
						 HTTP_FILTER_ALERT, HTTP_FILTER_ALERT, HTTP_FILTER_ALERT };
		const size_t nkeys = sizeof(keys) / sizeof(keys[0]);
		unsigned bit = 0;
		size_t k;

		for (k = 0; k < nkeys; k++) {
			if (strcmp(kv->key, keys[k]) == 0)
				break;
		}
		if (k < nkeys && need[k] && !(filters & need[k]))
			k = nkeys; /* a filter this list does not have */
		if (k == nkeys) {
			http_error_set(err, 400, "invalid_query", kv->key, "unknown query parameter '%.64s'", kv->key);
			goto out;
		}
		bit = 1u << k;
		if (seen & bit) {
			http_error_set(err, 400, "invalid_query", kv->key, "query parameter '%s' given twice", keys[k]);
			goto out;
		}
		seen |= bit;
		if (parse_one(k, keys[k], kv->value, id_kind, out, err) != 0)
			goto out;
	}
	rc = 0;
out:
	evhttp_clear_headers(&q);
	return rc;
}

size_t http_utf8_len(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	}
	return n;
}

static bool has_ctrl(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return true;
	}
	return false;
}

static int check_array(const struct http_field *f, json_t *v, struct http_error *err)
{
	size_t n = json_is_array(v) ? json_array_size(v) : 0;

	if (!json_is_array(v) || n > f->max_len) {
		http_error_set(err, 400, "invalid_field", f->name, "field '%s' must be an array of at most %zu %s",
			       f->name, f->max_len, f->type == HTTP_FT_IDS ? "ids" : "objects");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *m = json_array_get(v, i);
		bool ok = f->type == HTTP_FT_IDS ? json_is_integer(m) && json_integer_value(m) > 0 : json_is_object(m);
		for (size_t j = 0; ok && f->type == HTTP_FT_IDS && j < i; j++)
			ok = json_integer_value(json_array_get(v, j)) != json_integer_value(m);
		if (!ok) {
			http_error_set(err, 400, "invalid_field", f->name, "field '%s' has an invalid member at %zu",
				       f->name, i);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_field(const struct http_field *f, json_t *v, struct http_error *err)
{
	if (json_is_null(v)) {
		if (f->flags & HTTP_FF_NULLABLE)
			return 0;
		http_error_set(err, 400, "invalid_field", f->name, "field '%s' must not be null", f->name);
		return -EINVAL;
	}
	switch (f->type) {
	case HTTP_FT_STRING: {
		const char *s;
		size_t len, chars;
		if (!json_is_string(v)) {
			http_error_set(err, 400, "invalid_field", f->name, "field '%s' must be a string", f->name);
			return -EINVAL;
		}
		s = json_string_value(v);
		len = json_string_length(v);
		chars = http_utf8_len(s, len);
		if (chars < f->min_len || chars > f->max_len) {
			http_error_set(err, 400, "invalid_field", f->name, "field '%s' must be %zu to %zu characters",
				       f->name, f->min_len, f->max_len);
			return -EINVAL;
		}
		if ((f->flags & HTTP_FF_NO_CTRL) && has_ctrl(s, len)) {
			http_error_set(err, 400, "invalid_field", f->name,
				       "field '%s' must not contain control characters", f->name);
			return -EINVAL;
		}
		return 0;
	}
	case HTTP_FT_ID:
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			http_error_set(err, 400, "invalid_field", f->name, "field '%s' must be a positive integer id",
				       f->name);
			return -EINVAL;
		}
		return 0;
	case HTTP_FT_BOOL:
		if (!json_is_boolean(v)) {
			http_error_set(err, 400, "invalid_field", f->name, "field '%s' must be true or false", f->name);
			return -EINVAL;
		}
		return 0;
	case HTTP_FT_IDS:
	case HTTP_FT_ARRAY:
		return check_array(f, v, err);
	case HTTP_FT_ANY:
		return 0;
	}
	http_error_set(err, 400, "invalid_field", f->name, "field '%s' is not valid", f->name);
	return -EINVAL;
}

int http_json_validate(json_t *obj, const struct http_body_spec *spec, struct http_error *err)
{
	const char *key;
	json_t *v;
	size_t present = 0;

	if (!json_is_object(obj)) {
		http_error_set(err, 400, "invalid_body", NULL, "request body must be a JSON object");
		return -EINVAL;
	}
	json_object_foreach(obj, key, v) {
		const struct http_field *f = NULL;
		for (size_t i = 0; i < spec->n; i++) {
			if (strcmp(spec->fields[i].name, key) == 0) {
				f = &spec->fields[i];
				break;
			}
		}
		if (!f) {
			http_error_set(err, 400, "unknown_field", key, "unknown field '%.64s'", key);
			return -EINVAL;
		}
		if (check_field(f, v, err) != 0)
			return -EINVAL;
		present++;
	}
	for (size_t i = 0; i < spec->n; i++) {
		if ((spec->fields[i].flags & HTTP_FF_REQUIRED) && !json_object_get(obj, spec->fields[i].name)) {
			http_error_set(err, 400, "missing_field", spec->fields[i].name, "field '%s' is required",
				       spec->fields[i].name);
			return -EINVAL;
		}
	}
	if (present < spec->min_fields) {
		http_error_set(err, 400, "invalid_body", NULL, "request body must set at least %zu field(s)",
			       spec->min_fields);
		return -EINVAL;
	}
	return 0;
}

int http_json_parse_body(const char *buf, size_t len, size_t max_len, const struct http_body_spec *spec,
			 json_t **out, struct http_error *err)
{
	json_error_t jerr;
	json_t *obj = NULL;
	int rc = -EINVAL;

	*out = NULL;
	if (len > max_len) {
		http_error_set(err, 413, "body_too_large", NULL, "request body exceeds %zu bytes", max_len);
		goto out;
	}
	if (len == 0) {
		http_error_set(err, 400, "invalid_body", NULL, "request body must be a JSON object");
		goto out;
	}
	obj = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj) {
		http_error_set(err, 400, "invalid_json", NULL, "malformed JSON at line %d column %d", jerr.line,
			       jerr.column);
		goto out;
	}
	if (http_json_validate(obj, spec, err) != 0)
		goto out;
	*out = obj;
	obj = NULL;
	rc = 0;
out:
	json_decref(obj);
	return rc;
}

/* One address: IPv4 or IPv6, and with_port also "[v6]", "[v6]:port" or "v4:port"; spaces around are skipped. IPv4-mapped IPv6 becomes
 * IPv4, so that a dual-stack listener's peers match IPv4 networks. */
static bool ip_parse(const char *s, size_t len, bool with_port, int *family, uint8_t addr[16])
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *colon;
	size_t n;

	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!with_port) {
		/* a bare address */
	} else if (buf[0] == '[') {
		char *close = strchr(buf, ']');
		if (!close || (close[1] && close[1] != ':'))
			return false;
		*close = '\0';
		memmove(buf, buf + 1, strlen(buf + 1) + 1);
	} else if ((colon = strchr(buf, ':')) && !strchr(colon + 1, ':')) {
		buf[colon - buf] = '\0'; /* "v4:port" */
	}
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, buf, addr) != 1)
		return false;
	*family = AF_INET6;
	n = 0;
	while (n < 10 && addr[n] == 0)
		n++;
	if (n == 10 && addr[10] == 0xff && addr[11] == 0xff) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		*family = AF_INET;
	}
	return true;
}

static bool net_contains(const struct http_proxy_net *net, int family, const uint8_t addr[16])
{
	unsigned bits = net->prefix, full = bits / 8, rest = bits % 8;

	if (net->family != family || memcmp(net->addr, addr, full) != 0)
		return false;
	return rest == 0 || ((net->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static bool proxies_match_bin(const struct http_proxies *p, int family, const uint8_t addr[16])
{
	for (size_t i = 0; i < p->n; i++)
		if (net_contains(&p->net[i], family, addr))
			return true;
	return false;
}

int http_proxies_parse(const char *list, struct http_proxies *out, char *why, size_t whylen)
{
	const char *s = list;

	memset(out, 0, sizeof(*out));
	while (*s) {
		size_t len = strcspn(s, ", \t");
		struct http_proxy_net net = { 0 };
		const char *slash;
		unsigned max;

		if (len == 0) {
			s++;
			continue;
		}
		slash = memchr(s, '/', len);
		if (!ip_parse(s, slash ? (size_t)(slash - s) : len, false, &net.family, net.addr)) {
			snprintf(why, whylen, "\"%.*s\" is not an address or a network (a.b.c.d[/n], x::y[/n])",
				 (int)(len > 64 ? 64 : len), s);
			return -EINVAL;
		}
		if (net.family == AF_INET && memchr(s, ':', len)) {
			snprintf(why, whylen, "\"%.*s\": write IPv4-mapped addresses as IPv4", (int)(len > 64 ? 64 : len), s);
			return -EINVAL;
		}
		max = net.family == AF_INET ? 32 : 128;
		net.prefix = max;
		if (slash) {
			const char *d = slash + 1, *end = s + len;
			unsigned v = 0;
			if (d == end || end - d > 3)
				goto bad_prefix;
			for (; d < end; d++) {
				if (*d < '0' || *d > '9')
					goto bad_prefix;
				v = v * 10 + (unsigned)(*d - '0');
			}
			if (v > max)
				goto bad_prefix;
			net.prefix = v;
		}
		{
			struct http_proxy_net masked = net;
			unsigned full = net.prefix / 8, rest = net.prefix % 8;
			if (full < 16) {
				masked.addr[full] &= (uint8_t)(rest ? 0xff << (8 - rest) : 0);
				memset(masked.addr + full + 1, 0, 16 - full - 1);
			}
			if (memcmp(masked.addr, net.addr, 16) != 0) {
				snprintf(why, whylen, "\"%.*s\" has host bits set beyond /%u", (int)(len > 64 ? 64 : len), s,
					 net.prefix);
				return -EINVAL;
			}
		}
		if (out->n == HTTP_PROXIES_MAX) {
			snprintf(why, whylen, "at most %d addresses or networks", HTTP_PROXIES_MAX);
			return -EINVAL;
		}
		out->net[out->n++] = net;
		s += len;
		continue;
bad_prefix:
		snprintf(why, whylen, "\"%.*s\": the prefix length must be 0 to %u", (int)(len > 64 ? 64 : len), s, max);
		return -EINVAL;
	}
	return 0;
}

bool http_proxies_match(const struct http_proxies *p, const char *addr)
{
	uint8_t bin[16];
	int family;

	return p->n && ip_parse(addr, strlen(addr), false, &family, bin) && proxies_match_bin(p, family, bin);
}

void http_client_address(const struct http_proxies *p, const char *peer, const char *const *xff, size_t nxff,
			 char *out, size_t outlen)
{
	uint8_t cur[16], next[16];
	int family, next_family;
	unsigned hops = 0;

	if (!ip_parse(peer, strlen(peer), false, &family, cur)) {
		snprintf(out, outlen, "%s", peer);
		return;
	}
	/* Right to left over the header lines, and within a line over its comma-separated entries. */
	for (size_t line = nxff; line-- > 0 && proxies_match_bin(p, family, cur) && hops < HTTP_XFF_HOPS_MAX;) {
		const char *v = xff[line];
		size_t end = strlen(v);
		for (;;) {
			const char *comma = end ? memrchr(v, ',', end) : NULL;
			size_t start = comma ? (size_t)(comma - v) + 1 : 0;
			if (!proxies_match_bin(p, family, cur) || hops++ >= HTTP_XFF_HOPS_MAX)
				goto done;
			if (!ip_parse(v + start, end - start, true, &next_family, next))
				goto done; /* a trusted hop wrote something that is not an address: keep the hop */
			memcpy(cur, next, sizeof(cur));
			family = next_family;
			if (!comma)
				break;
			end = start - 1;
		}
	}
done:
	if (!inet_ntop(family, cur, out, (socklen_t)outlen))
		snprintf(out, outlen, "?");
}
