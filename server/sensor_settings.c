#include "server/sensor_settings.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.h"

static const char *const members[] = { "subnets", "vlan_names", "port_names", "dhcp_ranges",
					"learning_quiet_period" };
#define QUIET_DEFAULT (7 * 86400) /* seconds without a new baseline item that end learning */
#define NMEMBERS (sizeof(members) / sizeof(members[0]))

/* A decimal integer lo..hi without sign, blanks or leading zeros. */
static bool parse_dec(const char *s, long lo, long hi, long *out)
{
	long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 6 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* An IPv4 or IPv6 address: family and network-order bytes. */
static int parse_ip(const char *s, unsigned char bin[16])
{
	if (inet_pton(AF_INET, s, bin) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, bin) == 1)
		return AF_INET6;
	return 0;
}

__attribute__((format(printf, 3, 4))) static int bad(struct http_error *err, const char *field, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_error_set(err, 400, "invalid_field", field, "%s: %s", field, msg);
	return -EINVAL;
}

/* "a.b.c.d/n" or "x::/n" with no host bits set; *canon gets the canonical text. */
static int check_subnet(json_t *v, const char *field, json_t **canon, struct http_error *err)
{
	char addr[64], text[80];
	const char *s = json_string_value(v), *slash;
	unsigned char bin[16];
	long len;
	int fam, bits;

	if (!s || !(slash = strchr(s, '/')) || (size_t)(slash - s) >= sizeof(addr))
		return bad(err, field, "not a subnet in CIDR notation (\"10.0.0.0/24\")");
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (!(fam = parse_ip(addr, bin)))
		return bad(err, field, "\"%.64s\" is not an IP address", addr);
	bits = fam == AF_INET ? 32 : 128;
	if (!parse_dec(slash + 1, 0, bits, &len))
		return bad(err, field, "prefix length must be 0 to %s", fam == AF_INET ? "32" : "128");
	for (int i = (int)len; i < bits; i++) {
		if (bin[i / 8] & (0x80 >> (i % 8)))
			return bad(err, field, "host bits are set after the prefix length");
	}
	inet_ntop(fam, bin, addr, sizeof(addr));
	snprintf(text, sizeof(text), "%s/%ld", addr, len);
	*canon = json_string(text);
	return 0;
}

static int check_subnets(json_t *v, json_t **out, struct http_error *err)
{
	char field[64];
	size_t i;
	json_t *m, *arr;

	if (!json_is_array(v) || json_array_size(v) > SETTINGS_MAX_SUBNETS)
		return bad(err, "subnets", "must be an array of at most 256 CIDR strings");
	if (!(*out = arr = json_array()))
		return -ENOMEM;
	json_array_foreach(v, i, m) {
		json_t *c = NULL;
		snprintf(field, sizeof(field), "subnets[%zu]", i);
		if (check_subnet(m, field, &c, err) < 0)
			return -EINVAL;
		for (size_t j = 0; j < json_array_size(arr); j++) {
			if (json_equal(json_array_get(arr, j), c)) {
				json_decref(c);
				return bad(err, field, "duplicate subnet");
			}
		}
		if (!c || json_array_append_new(arr, c))
			return -ENOMEM;
	}
	return 0;
}

/* A name: 1..SETTINGS_NAME_MAX bytes of UTF-8 (jansson checked it) without control characters; bytes, because
 * the sensor's parser of the config message counts bytes (common/wire.c, WIRE_MAX_NAME). */
static bool name_ok(json_t *v)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if (!s || len == 0 || len > SETTINGS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static int check_names(json_t *v, const char *member, long hi, json_t **out, struct http_error *err)
{
	char field[64];
	const char *k;
	json_t *m;
	long n;

	if (!json_is_object(v) || json_object_size(v) > SETTINGS_MAX_NAMES)
		return bad(err, member, "must be an object of at most 4096 names");
	if (!(*out = json_object()))
		return -ENOMEM;
	json_object_foreach(v, k, m) {
		snprintf(field, sizeof(field), "%s.%.16s", member, k);
		if (!parse_dec(k, 1, hi, &n))
			return bad(err, field, "%s must be an integer from 1 to %ld", hi == 4094 ? "a VLAN id" : "a port",
				   hi);
		if (!name_ok(m))
			return bad(err, field, "a name must be 1 to 64 bytes of UTF-8 without control characters");
		if (json_object_set(*out, k, m))
			return -ENOMEM;
	}
	return 0;
}

static int check_ranges(json_t *v, json_t **out, struct http_error *err)
{
	char field[64], a[2][64];
	unsigned char bin[2][16];
	const char *k;
	json_t *r, *m;
	size_t i;
	int fam[2];

	if (!json_is_array(v) || json_array_size(v) > SETTINGS_MAX_RANGES)
		return bad(err, "dhcp_ranges", "must be an array of at most 256 {\"start\", \"end\"} objects");
	if (!(*out = json_array()))
		return -ENOMEM;
	json_array_foreach(v, i, r) {
		json_t *c;
		snprintf(field, sizeof(field), "dhcp_ranges[%zu]", i);
		if (!json_is_object(r))
			return bad(err, field, "must be an object {\"start\", \"end\"}");
		json_object_foreach(r, k, m) {
			if (strcmp(k, "start") != 0 && strcmp(k, "end") != 0) {
				snprintf(field, sizeof(field), "dhcp_ranges[%zu].%.16s", i, k);
				return bad(err, field, "unknown member");
			}
		}
		for (int e = 0; e < 2; e++) {
			const char *s = json_string_value(json_object_get(r, e ? "end" : "start"));
			snprintf(field, sizeof(field), "dhcp_ranges[%zu].%s", i, e ? "end" : "start");
			if (!s || !(fam[e] = parse_ip(s, bin[e])))
				return bad(err, field, "must be an IP address");
			inet_ntop(fam[e], bin[e], a[e], sizeof(a[e]));
		}
		if (fam[0] != fam[1])
			return bad(err, field, "start and end must be of one address family");
		if (memcmp(bin[0], bin[1], fam[0] == AF_INET ? 4 : 16) > 0)
			return bad(err, field, "end must not be below start");
		if (!(c = json_pack("{s:s, s:s}", "start", a[0], "end", a[1])))
			return -ENOMEM;
		for (size_t j = 0; j < json_array_size(*out); j++) {
			if (json_equal(json_array_get(*out, j), c)) {
				json_decref(c);
				snprintf(field, sizeof(field), "dhcp_ranges[%zu]", i);
				return bad(err, field, "duplicate range");
			}
		}
		if (json_array_append_new(*out, c))
			return -ENOMEM;
	}
	return 0;
}

int sensor_settings_check(json_t *body, json_t **out, struct http_error *err)
{
	json_t *doc = json_object(), *v, *canon = NULL;
	const char *k;
	int rc = 0;

	*out = NULL;
	if (!doc || !json_is_object(body)) {
		json_decref(doc);
		http_error_set(err, 400, "invalid_body", NULL, "request body must be a JSON object");
		return -EINVAL;
	}
	json_object_foreach(body, k, v) {
		size_t m;
		for (m = 0; m < NMEMBERS && strcmp(k, members[m]) != 0; m++)
			;
		if (m == NMEMBERS) {
			http_error_set(err, 400, "unknown_field", k, "unknown field '%.64s'", k);
			rc = -EINVAL;
			break;
		}
		if (json_is_null(v))
			continue;
		canon = NULL;
		switch (m) {
		case 0: rc = check_subnets(v, &canon, err); break;
		case 1: rc = check_names(v, "vlan_names", 4094, &canon, err); break;
		case 2: rc = check_names(v, "port_names", 65535, &canon, err); break;
		case 3: rc = check_ranges(v, &canon, err); break;
		default:
			if (!json_is_integer(v) || json_integer_value(v) < 60 || json_integer_value(v) > 365LL * 86400) {
				http_error_set(err, 400, "invalid_field", k,
					       "learning_quiet_period must be a number of seconds 60..31536000");
				rc = -EINVAL;
			} else {
				canon = json_incref(v);
			}
			break;
		}
		if (rc == 0 && json_object_set_new(doc, k, canon))
			rc = -ENOMEM;
		else if (rc)
			json_decref(canon);
		if (rc)
			break;
	}
	if (rc == -ENOMEM) {
		http_error_set(err, 500, "internal", NULL, "out of memory");
		rc = -EINVAL;
	}
	if (rc) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

static json_t *empty_of(size_t m)
{
	return m == 1 || m == 2 ? json_object() : m == 4 ? json_integer(QUIET_DEFAULT) : json_array();
}

json_t *sensor_settings_view(json_t *doc, bool absent_as_null)
{
	json_t *o = json_object();

	for (size_t m = 0; o && m < NMEMBERS; m++) {
		json_t *v = json_object_get(doc, members[m]);
		if (json_object_set_new(o, members[m], v ? json_deep_copy(v) : absent_as_null ? json_null() : empty_of(m))) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

json_t *sensor_settings_effective(json_t *zone, json_t *sensor)
{
	json_t *o = sensor_settings_view(zone, false);

	for (size_t m = 0; o && m < NMEMBERS; m++) {
		json_t *v = json_object_get(sensor, members[m]);
		int rc;
		if (!v)
			continue;
		/* Names overlay per key; lists replace. */
		rc = m == 1 || m == 2 ? json_object_update(json_object_get(o, members[m]), v)
				      : json_object_set(o, members[m], v);
		if (rc) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

char *sensor_settings_config_message(json_t *effective, const char *mode, int64_t mode_rev, json_t *learned)
{
	json_t *msg = wire_build_config(effective, mode, mode_rev, learned);
	char *text = msg ? json_dumps(msg, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(msg);
	return text;
}
