#include "server/api_map_query.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/hex.h"
#include "common/timefmt.h"

static const char *const level_names[MAP_NLEVELS] = { "site", "zone", "subnet", "vlan", "purdue_level" };

/* Device types a filter may name (docs/architecture.md "Device inventory"), and `unknown` for none. */
static const char *const type_names[] = {
	"plc",	       "rtu",	     "ied",	      "hmi",   "engineering_workstation", "historian",
	"opc_server",  "scada_server", "bacnet_controller", "io_device", "drive",	  "safety_controller",
	"switch",      "router",       "firewall",	      "wireless_ap", "it_host",	  "server",
	"printer",     "camera",       "ip_phone",	      "iot_device", "unknown",
};

enum param { P_GROUP_BY, P_EXPAND, P_PROTOCOL, P_TYPE, P_AUTHORIZED, P_NEW, P_SEEN_AFTER, P_SITE_ID, P_ZONE_ID,
	     P_MAX_DEVICES, P_N };
static const char *const param_names[P_N] = { "group_by",   "expand",  "protocol", "type",    "authorized",
					      "new",	    "seen_after", "site_id", "zone_id", "max_devices" };

const char *map_level_name(enum map_level l)
{
	return (unsigned)l < MAP_NLEVELS ? level_names[l] : "?";
}

static int fail(struct http_error *err, const char *field, const char *msg)
{
	http_error_set(err, 400, "invalid_query", field, "query parameter '%s' %s", field, msg);
	return -EINVAL;
}

/* Percent-decodes n bytes of s into out (outlen bytes, NUL-terminated); '+' is a space. False when a %XX is
 * broken, the result holds a NUL, or it does not fit. */
static bool decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '%') {
			int hi, lo;
			if (n - i < 3 || (hi = hex_value(s[i + 1])) < 0 || (lo = hex_value(s[i + 2])) < 0)
				return false;
			ch = (char)(hi * 16 + lo);
			i += 2;
		} else if (ch == '+') {
			ch = ' ';
		}
		if (ch == '\0' || o + 1 >= outlen)
			return false;
		out[o++] = ch;
	}
	out[o] = '\0';
	return true;
}

/* A decimal integer without sign or leading zeros in [lo, hi]. */
static bool small_uint(const char *s, size_t n, long lo, long hi, long *out)
{
	long v = 0;

	if (n == 0 || n > 9 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	if (out)
		*out = v;
	return true;
}

static bool id_text(const char *s, size_t n)
{
	char buf[24];
	int64_t id;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return http_id_parse_int(buf, &id);
}

static bool is_word(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(s, w, n) == 0;
}

/* a.b.c.0 with canonical decimal octets. */
static bool subnet_key(const char *s, size_t n)
{
	size_t i = 0;

	for (int octet = 0; octet < 4; octet++) {
		size_t start = i;
		long v;
		while (i < n && s[i] != '.')
			i++;
		if (!small_uint(s + start, i - start, 0, 255, &v) || (octet == 3 && v != 0))
			return false;
		if (octet < 3) {
			if (i >= n)
				return false;
			i++;
		}
	}
	return i == n;
}

static bool key_ok(enum map_level l, const char *k, size_t n)
{
	switch (l) {
	case MAP_SITE:
	case MAP_ZONE:
		return is_word(k, n, "none") || id_text(k, n);
	case MAP_SUBNET:
		return is_word(k, n, "none") || subnet_key(k, n);
	case MAP_VLAN:
		return is_word(k, n, "untagged") || small_uint(k, n, 0, 4095, NULL);
	case MAP_PURDUE:
		return is_word(k, n, "unknown") || small_uint(k, n, 0, 5, NULL);
	default:
		return false;
	}
}

static int level_of(const char *s, size_t n)
{
	for (int l = 0; l < MAP_NLEVELS; l++)
		if (is_word(s, n, level_names[l]))
			return l;
	return -1;
}

/* Checks the syntax of a group id (any hierarchy). Returns its depth (1..MAP_LEVELS_MAX) or -1; *follows is set
 * when its levels are a prefix of q's hierarchy. */
static int id_check(const struct map_query *q, const char *id, bool *follows)
{
	const char *p = id;
	int depth = 0;

	*follows = true;
	for (;;) {
		size_t len = strcspn(p, "/"), ln = strcspn(p, ":");
		int l;
		if (len == 0 || ln >= len || depth == MAP_LEVELS_MAX || (l = level_of(p, ln)) < 0 ||
		    !key_ok((enum map_level)l, p + ln + 1, len - ln - 1))
			return -1;
		if ((size_t)depth >= q->nlevels || q->levels[depth] != (enum map_level)l)
			*follows = false;
		depth++;
		p += len;
		if (!*p)
			return depth;
		p++;
	}
}

static bool in_list(const char *s, size_t n, const char *const *list, size_t nlist)
{
	for (size_t i = 0; i < nlist; i++)
		if (is_word(s, n, list[i]))
			return true;
	return false;
}

static bool proto_name(const char *s, size_t n)
{
	if (n == 0 || n > MAP_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* A comma list of names into a quoted PostgreSQL array literal (out is sized for MAP_LIST_MAX names). */
static int name_list(const char *v, const char *field, bool (*ok)(const char *, size_t), char *out, size_t outlen,
		     struct http_error *err)
{
	size_t o = 0, count = 0;

	out[o++] = '{';
	for (const char *p = v;;) {
		size_t len = strcspn(p, ",");
		if (!ok(p, len) || ++count > MAP_LIST_MAX)
			return fail(err, field, "must be a comma list of at most 32 known names");
		if (o + len + 5 > outlen)
			return fail(err, field, "is too long");
		if (count > 1)
			out[o++] = ',';
		out[o++] = '"';
		memcpy(out + o, p, len);
		o += len;
		out[o++] = '"';
		p += len;
		if (!*p)
			break;
		p++;
	}
	out[o++] = '}';
	out[o] = '\0';
	return 0;
}

static bool type_name(const char *s, size_t n)
{
	return in_list(s, n, type_names, sizeof(type_names) / sizeof(type_names[0]));
}

static int parse_group_by(const char *v, struct map_query *q, struct http_error *err)
{
	q->nlevels = 0;
	for (const char *p = v;;) {
		size_t len = strcspn(p, ",");
		int l = level_of(p, len);
		if (l < 0)
			return fail(err, "group_by", "must list levels from site, zone, subnet, vlan, purdue_level");
		if (q->nlevels == MAP_LEVELS_MAX)
			return fail(err, "group_by", "has more than 5 levels");
		for (size_t i = 0; i < q->nlevels; i++)
			if (q->levels[i] == (enum map_level)l)
				return fail(err, "group_by", "repeats a level");
		q->levels[q->nlevels++] = (enum map_level)l;
		p += len;
		if (!*p)
			return 0;
		p++;
	}
}

static int parse_bool(const char *v, const char *field, char out[8], struct http_error *err)
{
	if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
		return fail(err, field, "must be true or false");
	snprintf(out, 8, "%s", v);
	return 0;
}

static int parse_id(const char *v, const char *field, char out[24], struct http_error *err)
{
	int64_t id;

	if (strlen(v) >= 24 || !http_id_parse_int(v, &id))
		return fail(err, field, "must be a positive integer");
	snprintf(out, 24, "%s", v);
	return 0;
}

/* Collects the raw expand ids (before the hierarchy is known): repeated parameters and comma lists. */
struct raw_expand {
	char id[MAP_EXPAND_MAX][MAP_ID_MAX + 1];
	size_t n;
};

static int add_expand(struct raw_expand *r, const char *v, struct http_error *err)
{
	for (const char *p = v;;) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len > MAP_ID_MAX)
			return fail(err, "expand", "must hold group ids of 1 to 200 bytes");
		if (r->n == MAP_EXPAND_MAX)
			return fail(err, "expand", "names more than 64 groups");
		memcpy(r->id[r->n], p, len);
		r->id[r->n][len] = '\0';
		r->n++;
		p += len;
		if (!*p)
			return 0;
		p++;
	}
}

static bool raw_has(const struct raw_expand *r, const char *id, size_t len)
{
	for (size_t i = 0; i < r->n; i++)
		if (strlen(r->id[i]) == len && memcmp(r->id[i], id, len) == 0)
			return true;
	return false;
}

/* Keeps the ids that follow the hierarchy and whose ancestors are all expanded, once each. */
static int settle_expand(struct map_query *q, const struct raw_expand *r, struct http_error *err)
{
	q->nexpand = 0;
	for (size_t i = 0; i < r->n; i++) {
		const char *id = r->id[i];
		bool follows, open = true;
		if (id_check(q, id, &follows) < 0)
			return fail(err, "expand", "holds a malformed group id");
		if (!follows)
			continue;
		for (const char *s = strchr(id, '/'); s && open; s = strchr(s + 1, '/'))
			open = raw_has(r, id, (size_t)(s - id));
		for (size_t j = 0; open && j < q->nexpand; j++)
			if (strcmp(q->expand[j], id) == 0)
				open = false;
		if (open)
			memcpy(q->expand[q->nexpand++], id, strlen(id) + 1);
	}
	return 0;
}

static int parse_one(struct map_query *q, struct raw_expand *r, enum param k, const char *v, struct http_error *err)
{
	int64_t usec;

	switch (k) {
	case P_GROUP_BY:
		return parse_group_by(v, q, err);
	case P_EXPAND:
		return add_expand(r, v, err);
	case P_PROTOCOL:
		return name_list(v, "protocol", proto_name, q->protocols, sizeof(q->protocols), err);
	case P_TYPE:
		return name_list(v, "type", type_name, q->types, sizeof(q->types), err);
	case P_AUTHORIZED:
		return parse_bool(v, "authorized", q->authorized, err);
	case P_NEW:
		return parse_bool(v, "new", q->is_new, err);
	case P_SEEN_AFTER:
		if (strlen(v) >= sizeof(q->seen_after) || !timefmt_parse_rfc3339(v, &usec))
			return fail(err, "seen_after", "must be an RFC 3339 time");
		snprintf(q->seen_after, sizeof(q->seen_after), "%s", v);
		return 0;
	case P_SITE_ID:
		return parse_id(v, "site_id", q->site_id, err);
	case P_ZONE_ID:
		return parse_id(v, "zone_id", q->zone_id, err);
	case P_MAX_DEVICES:
		if (!small_uint(v, strlen(v), 1, MAP_MAX_DEVICES_MAX, &q->max_devices))
			return fail(err, "max_devices", "must be an integer from 1 to 10000");
		return 0;
	default:
		return -EINVAL;
	}
}

int map_query_parse(const char *query, struct map_query *q, struct http_error *err)
{
	struct raw_expand *r;
	bool seen[P_N] = { false };
	const char *p = query ? query : "";
	/* The decoded value of one parameter: an expand list may hold 64 ids with their commas. */
	char value[MAP_EXPAND_MAX * (MAP_ID_MAX + 1) + 1];
	struct raw_expand raw;
	int rc;

	r = &raw;
	memset(q, 0, sizeof(*q));
	r->n = 0;
	q->levels[0] = MAP_SITE;
	q->levels[1] = MAP_ZONE;
	q->nlevels = 2;
	q->max_devices = MAP_MAX_DEVICES_DEFAULT;
	if (strlen(p) > MAP_QUERY_MAX)
		return fail(err, "query", "is too long");
	while (*p) {
		size_t len = strcspn(p, "&"), nl = strcspn(p, "=");
		int k;
		if (len == 0) {
			p++;
			continue;
		}
		if (nl > len)
			nl = len;
		for (k = 0; k < P_N; k++)
			if (is_word(p, nl, param_names[k]))
				break;
		if (k == P_N) {
			char name[65];
			if (nl == 0 || !decode(p, nl < 63 ? nl : 63, name, sizeof(name)))
				snprintf(name, sizeof(name), "query");
			http_error_set(err, 400, "invalid_query", name, "unknown query parameter '%.64s'", name);
			return -EINVAL;
		}
		if (seen[k] && k != P_EXPAND)
			return fail(err, param_names[k], "is given twice");
		seen[k] = true;
		if (nl == len || !decode(p + nl + 1, len - nl - 1, value, sizeof(value)))
			return fail(err, param_names[k], "is not a valid value");
		if (value[0] == '\0' && k != P_EXPAND)
			return fail(err, param_names[k], "is empty");
		if (value[0] && (rc = parse_one(q, r, (enum param)k, value, err)) < 0)
			return rc;
		p += len;
		if (*p == '&')
			p++;
	}
	return settle_expand(q, r, err);
}

bool map_query_expand_array(const struct map_query *q, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen < 3)
		return false;
	out[o++] = '{';
	for (size_t i = 0; i < q->nexpand; i++) {
		size_t len = strlen(q->expand[i]);
		/* ids hold only [a-z0-9_.:/]: nothing to escape inside the quotes */
		if (o + len + 5 > outlen)
			return false;
		if (i)
			out[o++] = ',';
		out[o++] = '"';
		memcpy(out + o, q->expand[i], len);
		o += len;
		out[o++] = '"';
	}
	out[o++] = '}';
	out[o] = '\0';
	return true;
}
