#include "server/api_external.h"

#include <errno.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "server/db.h"

bool api_external_path(const char *path)
{
	return path && strncmp(path, API_EXTERNAL_PREFIX, strlen(API_EXTERNAL_PREFIX)) == 0;
}

json_t *api_external_error_json(const struct http_error *e)
{
	char internal[sizeof(e->code) + sizeof(e->field) + 16];

	if (e->field[0])
		snprintf(internal, sizeof(internal), "%s (field: %s)", e->code, e->field);
	else
		snprintf(internal, sizeof(internal), "%s", e->code);
	return json_pack("{s:{s:s, s:s}}", "error", "userDisplayErrorMessage", e->message,
			 "internalSystemErrorMessage", internal);
}

void api_external_query_free(char **values, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(values[i]);
		values[i] = NULL;
	}
}

/* Appends ",item" (or "item" to an empty list) to *list; false without memory. */
static bool list_append(char **list, const char *item)
{
	size_t have = *list ? strlen(*list) : 0, add = strlen(item);
	char *grown = realloc(*list, have + add + 2);

	if (!grown)
		return false;
	if (have)
		grown[have++] = ',';
	memcpy(grown + have, item, add + 1);
	*list = grown;
	return true;
}

bool api_external_query_parse(struct api_call *c, const char *const *names, size_t n, uint32_t lists,
			      char **values)
{
	const char *p = c->query ? c->query : "";

	for (size_t k = 0; k < n; k++)
		values[k] = NULL;
	while (*p) {
		size_t len = strcspn(p, "&"), k, nl = 0;
		for (k = 0; k < n; k++) {
			nl = strlen(names[k]);
			if (len >= nl + 1 && strncmp(p, names[k], nl) == 0 && p[nl] == '=')
				break;
		}
		if (k < n) {
			char *raw = strndup(p + nl + 1, len - nl - 1), *value = raw ? evhttp_uridecode(raw, 1, NULL) : NULL;
			bool list = k < 32 && (lists & (1u << k));
			free(raw);
			if (!value) {
				api_fail(c, 500, "internal", NULL, "out of memory");
				goto fail;
			}
			if (!value[0]) {
				/* name= is absent, as the incumbent's scripts send it (authorized=&zoneId=) */
			} else if (!values[k]) {
				values[k] = value;
				value = NULL;
			} else if (!list) {
				free(value);
				api_fail(c, 400, "invalid_query", names[k], "query parameter '%s' given twice", names[k]);
				goto fail;
			} else if (!list_append(&values[k], value)) {
				free(value);
				api_fail(c, 500, "internal", NULL, "out of memory");
				goto fail;
			}
			free(value);
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return true;
fail:
	api_external_query_free(values, n);
	return false;
}

/* Splits value at commas; calls one(item) for each, at most API_EXTERNAL_LIST_MAX. */
static bool each_item(struct api_call *c, const char *name, const char *value,
		      bool (*one)(const char *item, void *arg), void *arg, const char *what)
{
	char item[64];
	size_t count = 0;

	for (const char *p = value;;) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= sizeof(item) || ++count > API_EXTERNAL_LIST_MAX) {
			api_fail(c, 400, "invalid_query", name, "query parameter '%s' must be a comma list of at most %d %s",
				 name, API_EXTERNAL_LIST_MAX, what);
			return false;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (!one(item, arg)) {
			api_fail(c, 400, "invalid_query", name, "query parameter '%s': '%.40s' is not %s", name, item,
				 what);
			return false;
		}
		p += len;
		if (!*p)
			return true;
		p++;
	}
}

struct pg_array {
	char *out;
	size_t len, used;
	bool overflow;
};

static void array_add(struct pg_array *a, const char *item)
{
	int n = snprintf(a->out + a->used, a->len - a->used, "%s%s", a->used > 1 ? "," : "", item);

	if (n < 0 || (size_t)n >= a->len - a->used - 1) /* keep room for '}' */
		a->overflow = true;
	else
		a->used += (size_t)n;
}

static bool array_open(struct api_call *c, struct pg_array *a, char *out, size_t len)
{
	if (len < 3) {
		api_fail(c, 500, "internal", NULL, "internal error");
		return false;
	}
	*a = (struct pg_array){ out, len, 1, false };
	out[0] = '{';
	out[1] = '\0';
	return true;
}

/* Closes a; an empty list becomes "" (absent). */
static bool array_close(struct api_call *c, struct pg_array *a)
{
	if (a->overflow) {
		api_fail(c, 400, "invalid_query", NULL, "query parameter list too long");
		return false;
	}
	if (a->used == 1)
		a->out[0] = '\0';
	else
		snprintf(a->out + a->used, a->len - a->used, "}");
	return true;
}

static bool int_item(const char *item, void *arg)
{
	int64_t v;

	if (!http_id_parse_int(item, &v))
		return false;
	array_add(arg, item);
	return true;
}

bool api_external_ids(struct api_call *c, const char *name, const char *value, char *out, size_t outlen)
{
	struct pg_array a;

	if (!array_open(c, &a, out, outlen))
		return false;
	if (!value) {
		out[0] = '\0';
		return true;
	}
	return each_item(c, name, value, int_item, &a, "positive integer ids") && array_close(c, &a);
}

struct sensor_arrays {
	struct pg_array ints, uuids;
};

static bool sensor_item(const char *item, void *arg)
{
	struct sensor_arrays *s = arg;
	int64_t v;

	if (http_id_parse_int(item, &v)) {
		array_add(&s->ints, item);
		return true;
	}
	if (http_id_is_uuid(item)) {
		array_add(&s->uuids, item);
		return true;
	}
	return false;
}

bool api_external_sensor_ids(struct api_call *c, const char *name, const char *value, char *ints, size_t ints_len,
			     char *uuids, size_t uuids_len)
{
	struct sensor_arrays s;

	if (!array_open(c, &s.ints, ints, ints_len) || !array_open(c, &s.uuids, uuids, uuids_len))
		return false;
	if (!value) {
		ints[0] = uuids[0] = '\0';
		return true;
	}
	if (!each_item(c, name, value, sensor_item, &s, "sensor ids (integers or UUIDs)"))
		return false;
	return array_close(c, &s.ints) && array_close(c, &s.uuids);
}

bool api_external_uint(struct api_call *c, const char *name, const char *value, long long min, long long max,
		       char out[24])
{
	long long v = 0;
	size_t n = value ? strlen(value) : 0;

	out[0] = '\0';
	if (!value)
		return true;
	for (size_t i = 0; i < n; i++) {
		if (value[i] < '0' || value[i] > '9' || n > 18)
			goto bad;
		v = v * 10 + (value[i] - '0');
	}
	if (n == 0 || v < min || v > max)
		goto bad;
	snprintf(out, 24, "%lld", v);
	return true;
bad:
	api_fail(c, 400, "invalid_query", name, "query parameter '%s' must be an integer from %lld to %lld", name, min,
		 max);
	return false;
}

bool api_external_bool(struct api_call *c, const char *name, const char *value, char out[8])
{
	out[0] = '\0';
	if (!value)
		return true;
	if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
		api_fail(c, 400, "invalid_query", name, "query parameter '%s' must be true or false", name);
		return false;
	}
	snprintf(out, 8, "%s", value);
	return true;
}

void api_external_array(struct api_call *c, PGconn *db, const char *sql, int nparams, const char *const *params)
{
	const char *vals[16];
	PGresult *res;
	json_t *items = NULL;
	bool bad_row = false;

	if (nparams < 0 || nparams > 16) {
		api_fail(c, 500, "internal", NULL, "internal error");
		return;
	}
	/* "" is an absent filter: NULL in SQL. */
	for (int i = 0; i < nparams; i++)
		vals[i] = params[i] && params[i][0] ? params[i] : NULL;
	res = db_exec(db, sql, nparams, vals);
	if (!res) {
		api_fail_db(c);
		return;
	}
	items = json_array();
	for (int i = 0; items && !bad_row && i < PQntuples(res); i++) {
		json_error_t err;
		json_t *item = json_loads(PQgetvalue(res, i, 0), 0, &err);
		if (!item) {
			/* the SQL built it with json_build_object: a bug, or jansson refusing what PostgreSQL wrote */
			log_error("api: %s: row %d is not JSON: %s", c->route ? c->route->pattern : "?", i, err.text);
			bad_row = true;
		} else if (json_array_append_new(items, item) != 0) {
			json_decref(items);
			items = NULL;
		}
	}
	PQclear(res);
	if (bad_row) {
		json_decref(items);
		api_fail(c, 500, "internal", NULL, "internal error");
	} else if (!items) {
		api_fail(c, 500, "internal", NULL, "out of memory");
	} else {
		api_ok(c, 200, items);
	}
}
