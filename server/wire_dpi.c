#include "server/wire_dpi.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Text members of a device record, each a string of at most WIRE_MAX_STR bytes or null. */
static const char *const device_texts[] = { "oui_vendor", "model", "firmware", "serial", "os", "fqdn", "plc_mode" };
#define NTEXTS (sizeof(device_texts) / sizeof(device_texts[0]))

__attribute__((format(printf, 5, 6))) static int fail(char *err, size_t errlen, size_t rec, const char *field,
						      const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "records[%zu].%s: ", rec, field);

	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A string of min..max bytes; null allowed when nullable; absent allowed when optional. */
static bool str_ok(json_t *v, size_t min, size_t max, bool nullable)
{
	if (json_is_null(v))
		return nullable;
	return json_is_string(v) && json_string_length(v) >= min && json_string_length(v) <= max &&
	       !memchr(json_string_value(v), '\0', json_string_length(v));
}

/* [a-z0-9_], 1..WIRE_MAX_NAME bytes: attribute names. */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > WIRE_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static int check_device(json_t *o, size_t i, char *err, size_t errlen)
{
	json_t *v, *m;
	const char *k;
	size_t j;

	for (j = 0; j < NTEXTS; j++)
		if ((v = json_object_get(o, device_texts[j])) && !str_ok(v, 0, WIRE_MAX_STR, true))
			return fail(err, errlen, i, device_texts[j], "not a string of at most %d bytes or null",
				    WIRE_MAX_STR);
	if ((v = json_object_get(o, "type_evidence"))) {
		if (!json_is_array(v) || json_array_size(v) > WIRE_MAX_LIST)
			return fail(err, errlen, i, "type_evidence", "not an array of at most %d strings", WIRE_MAX_LIST);
		json_array_foreach(v, j, m)
			if (!str_ok(m, 1, WIRE_MAX_STR, false))
				return fail(err, errlen, i, "type_evidence", "entry %zu: not a string of 1 to %d bytes", j,
					    WIRE_MAX_STR);
	}
	v = json_object_get(o, "purdue_level");
	if (v && !json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 5))
		return fail(err, errlen, i, "purdue_level", "not an integer 0..5 or null");
	for (j = 0; j < 2; j++) {
		const char *f = j ? "dynamic_address" : "external";
		if ((v = json_object_get(o, f)) && !json_is_boolean(v) && !json_is_null(v))
			return fail(err, errlen, i, f, "not a boolean or null");
	}
	if ((v = json_object_get(o, "vlan_names")) && !json_is_null(v)) {
		if (!json_is_object(v) || json_object_size(v) > 4096)
			return fail(err, errlen, i, "vlan_names", "not an object of at most 4096 names or null");
		json_object_foreach(v, k, m)
			if (!str_ok(m, 1, WIRE_MAX_STR, false))
				return fail(err, errlen, i, "vlan_names", "%.8s: not a string of 1 to %d bytes", k, WIRE_MAX_STR);
	}
	if ((v = json_object_get(o, "flags"))) {
		if (!json_is_object(v))
			return fail(err, errlen, i, "flags", "not an object");
		for (j = 0; j < 2; j++) {
			const char *f = j ? "programming_device" : "scanner";
			if ((m = json_object_get(v, f)) && !json_is_boolean(m))
				return fail(err, errlen, i, "flags", "%s: not a boolean", f);
		}
	}
	if ((v = json_object_get(o, "attributes"))) {
		if (!json_is_object(v) || json_object_size(v) > WIRE_DPI_MAX_ATTRS)
			return fail(err, errlen, i, "attributes", "not an object of at most %d members", WIRE_DPI_MAX_ATTRS);
		json_object_foreach(v, k, m) {
			json_t *val = json_object_get(m, "value");
			if (!name_ok(k))
				return fail(err, errlen, i, "attributes", "name \"%.64s\": not [a-z0-9_]{1,%d}", k,
					    WIRE_MAX_NAME);
			if (!json_is_object(m) || !(json_is_integer(val) || str_ok(val, 0, WIRE_MAX_STR, false)) ||
			    !str_ok(json_object_get(m, "source"), 1, WIRE_MAX_NAME, false))
				return fail(err, errlen, i, "attributes", "%s: not {\"value\": string|integer, \"source\": string}",
					    k);
		}
	}
	return 0;
}

static int check_connection(json_t *o, size_t i, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, "functions"), *f;
	size_t j;

	if (!v)
		return 0;
	if (!json_is_array(v) || json_array_size(v) > WIRE_DPI_MAX_FUNCS)
		return fail(err, errlen, i, "functions", "not an array of at most %d objects", WIRE_DPI_MAX_FUNCS);
	json_array_foreach(v, j, f) {
		json_t *code = json_object_get(f, "code");
		if (!json_is_object(f) || !str_ok(json_object_get(f, "proto"), 1, WIRE_MAX_NAME, false) ||
		    !json_is_integer(code) || json_integer_value(code) < 0 || json_integer_value(code) > UINT32_MAX ||
		    !str_ok(json_object_get(f, "name"), 1, WIRE_MAX_NAME, true))
			return fail(err, errlen, i, "functions",
				    "entry %zu: not {\"proto\": string, \"code\": integer 0..4294967295, \"name\": string|null}", j);
	}
	return 0;
}

json_t *wire_dpi_record(const struct wire_msg *m, size_t i)
{
	return json_array_get(json_object_get(m->root, "records"), i);
}

/* The DPI members of a parsed batch's device and connection records. */
static int check_batch(const struct wire_msg *m, char *err, size_t errlen)
{
	int rc = 0;

	for (size_t i = 0; i < m->u.batch.nrecords && !rc; i++) {
		json_t *o = wire_dpi_record(m, i);
		if (m->u.batch.records[i].kind == WIRE_REC_DEVICE)
			rc = check_device(o, i, err, errlen);
		else if (m->u.batch.records[i].kind == WIRE_REC_CONNECTION)
			rc = check_connection(o, i, err, errlen);
	}
	return rc;
}

int wire_dpi_parse(const char *buf, size_t len, struct wire_msg *out, char *err, size_t errlen)
{
	int rc;

	if (wire_parse(buf, len, out, err, errlen) < 0)
		return -EINVAL;
	if (out->type == WIRE_BATCH && (rc = check_batch(out, err, errlen)) < 0) {
		wire_msg_free(out);
		return rc;
	}
	return 0;
}

char *wire_dpi_device_report(const struct wire_device *d, json_t *rec)
{
	static const char *const members[] = { "oui_vendor",	 "model",	 "firmware",	  "serial",
					       "os",		 "fqdn",	 "type_evidence", "purdue_level",
					       "plc_mode",	 "flags",	 "attributes",	  "external",
					       "dynamic_address", "vlan_names" };
	json_t *o = json_object();
	char *text = NULL;

	if (!o)
		return NULL;
	if ((d->vendor && json_object_set_new(o, "vendor", json_string(d->vendor))) ||
	    (d->hostname && json_object_set_new(o, "hostname", json_string(d->hostname))) ||
	    (d->type && json_object_set_new(o, "type", json_string(d->type))))
		goto out;
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		json_t *v = json_object_get(rec, members[i]);
		if (v && !json_is_null(v) && json_object_set(o, members[i], v))
			goto out;
	}
	text = json_dumps(o, JSON_COMPACT);
out:
	json_decref(o);
	return text;
}
