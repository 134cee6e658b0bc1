/* libFuzzer target for the query parameters of the incumbent-compatible API (server/api_external.h):
 * api_external_query_parse on the raw query string, then the value checks every /external handler runs on what
 * it returns (api_external_ids, api_external_sensor_ids, api_external_uint, api_external_bool), with the buffer
 * sizes the handlers use plus a small one, so the overflow path runs too.
 *
 * Checks, besides memory safety: a refusal is a 400 (500 only for memory) naming no more than the field; a value
 * the parser returns is non-empty and holds no NUL before its end; an accepted id list is "" or a PostgreSQL array
 * literal of what the checks allow (digits for ids; digits or canonical UUID text for sensors) with no empty item;
 * an accepted integer prints back within its bounds; an accepted boolean is "true" or "false". */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_external.h"

#define INPUT_MAX 8192

static const char *const names[] = { "authorized", "siteId", "zoneId", "sensorId", "limit", "fromTime", "state" };
enum { N = sizeof(names) / sizeof(names[0]) };

static bool is_uuid_text(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* out is "" or "{item,item,...}" with every item allowed by `ok`. */
static void check_array(const char *out, bool (*ok)(const char *, size_t))
{
	size_t n = strlen(out);
	const char *p;

	if (n == 0)
		return;
	if (n < 3 || out[0] != '{' || out[n - 1] != '}')
		abort();
	p = out + 1;
	while (p < out + n - 1) {
		size_t len = strcspn(p, ",}");
		if (len == 0 || !ok(p, len))
			abort();
		p += len + 1;
	}
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n > 0 && n <= 19;
}

static bool digits_or_uuid(const char *s, size_t n)
{
	return digits(s, n) || is_uuid_text(s, n);
}

static void check_refusal(const struct api_call *c)
{
	if (c->status != 400 && c->status != 500)
		abort();
	if (strlen(c->err.code) == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_call c;
	char *v[N];
	char big[4096], small[16], ints[4096], uuids[4096], num[24], flag[8];
	long long value;

	if (size > INPUT_MAX)
		return 0;
	memset(&c, 0, sizeof(c));
	if (!(c.query = malloc(size + 1)))
		return 0;
	memcpy(c.query, data, size);
	c.query[size] = '\0';
	/* siteId, zoneId and sensorId are lists, as in the handlers */
	if (!api_external_query_parse(&c, names, N, 0xeu, v)) {
		check_refusal(&c);
		goto out;
	}
	for (size_t k = 0; k < N; k++)
		if (v[k] && v[k][0] == '\0')
			abort(); /* empty values are absent */
	memset(&c.err, 0, sizeof(c.err));
	c.status = 0;
	if (api_external_ids(&c, "siteId", v[1], big, sizeof(big)))
		check_array(big, digits);
	else
		check_refusal(&c);
	c.status = 0;
	if (api_external_ids(&c, "zoneId", v[2], small, sizeof(small)))
		check_array(small, digits);
	else
		check_refusal(&c);
	c.status = 0;
	if (api_external_sensor_ids(&c, "sensorId", v[3], ints, sizeof(ints), uuids, sizeof(uuids))) {
		check_array(ints, digits);
		check_array(uuids, digits_or_uuid);
	} else {
		check_refusal(&c);
	}
	c.status = 0;
	if (api_external_uint(&c, "limit", v[4], 1, API_EXTERNAL_LIMIT_MAX, num)) {
		if (num[0] && (sscanf(num, "%lld", &value) != 1 || value < 1 || value > API_EXTERNAL_LIMIT_MAX))
			abort();
	} else {
		check_refusal(&c);
	}
	c.status = 0;
	if (api_external_uint(&c, "fromTime", v[5], 0, INT64_MAX / 2, num)) {
		if (num[0] && (sscanf(num, "%lld", &value) != 1 || value < 0))
			abort();
	} else {
		check_refusal(&c);
	}
	c.status = 0;
	if (api_external_bool(&c, "authorized", v[0], flag)) {
		if (flag[0] && strcmp(flag, "true") != 0 && strcmp(flag, "false") != 0)
			abort();
	} else {
		check_refusal(&c);
	}
	api_external_query_free(v, N);
out:
	free(c.query);
	return 0;
}
