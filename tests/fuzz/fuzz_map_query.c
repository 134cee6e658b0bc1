/* libFuzzer target for the query parameters of GET /api/v1/map (server/api_map_query.h): map_query_parse on the
 * raw query string, then map_query_expand_array into the handler's buffer size and into a small one.
 *
 * Checks, besides memory safety: a refusal is a 400 `invalid_query` naming a field; an accepted query has 1..5
 * distinct levels, at most 64 distinct expand ids of 1..200 bytes over [a-z0-9_.:/] whose every ancestor is
 * expanded too, max_devices in 1..10000, list filters "" or a quoted array literal, booleans "true"/"false"/"";
 * the array literal of the expand ids always fits the handler's buffer. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_map_query.h"

#define INPUT_MAX (MAP_QUERY_MAX + 16)

static bool id_chars(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == ':' ||
		      *s == '/'))
			return false;
	return true;
}

static bool has_id(const struct map_query *q, const char *id, size_t len)
{
	for (size_t i = 0; i < q->nexpand; i++)
		if (strlen(q->expand[i]) == len && memcmp(q->expand[i], id, len) == 0)
			return true;
	return false;
}

static void check_list(const char *s)
{
	size_t n = strlen(s);

	if (n && (n < 4 || s[0] != '{' || s[1] != '"' || s[n - 1] != '}' || s[n - 2] != '"'))
		abort();
}

static void check_bool(const char *s)
{
	if (s[0] && strcmp(s, "true") != 0 && strcmp(s, "false") != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct map_query q;
	static char big[MAP_EXPAND_MAX * (MAP_ID_MAX + 3) + 3];
	char small[32], *query;
	struct http_error err;

	if (size > INPUT_MAX || !(query = malloc(size + 1)))
		return 0;
	memcpy(query, data, size);
	query[size] = '\0';
	memset(&err, 0, sizeof(err));
	if (map_query_parse(query, &q, &err) != 0) {
		if (err.status != 400 || strcmp(err.code, "invalid_query") != 0 || !err.field[0])
			abort();
		goto out;
	}
	if (q.nlevels < 1 || q.nlevels > MAP_LEVELS_MAX || q.nexpand > MAP_EXPAND_MAX)
		abort();
	for (size_t i = 0; i < q.nlevels; i++)
		for (size_t j = 0; j < i; j++)
			if (q.levels[i] == q.levels[j] || (unsigned)q.levels[i] >= MAP_NLEVELS)
				abort();
	for (size_t i = 0; i < q.nexpand; i++) {
		const char *id = q.expand[i];
		size_t len = strlen(id);
		if (len == 0 || len > MAP_ID_MAX || !id_chars(id))
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(q.expand[j], id) == 0)
				abort();
		for (const char *s = strchr(id, '/'); s; s = strchr(s + 1, '/'))
			if (!has_id(&q, id, (size_t)(s - id)))
				abort();
	}
	if (q.max_devices < 1 || q.max_devices > MAP_MAX_DEVICES_MAX)
		abort();
	check_list(q.protocols);
	check_list(q.types);
	check_bool(q.authorized);
	check_bool(q.is_new);
	if (!map_query_expand_array(&q, big, sizeof(big)))
		abort();
	if (map_query_expand_array(&q, small, sizeof(small)) && strlen(small) >= sizeof(small))
		abort();
out:
	free(query);
	return 0;
}
