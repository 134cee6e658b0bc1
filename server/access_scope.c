#include "server/access_scope.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

static const char *const scope_keys[] = { "business_unit_id", "region_id", "site_id", "zone_id" };

static bool scope_key(const char *k)
{
	for (size_t i = 0; i < sizeof(scope_keys) / sizeof(scope_keys[0]); i++) {
		if (strcmp(k, scope_keys[i]) == 0)
			return true;
	}
	return false;
}

int access_scope_check(json_t *scope, struct http_error *err)
{
	size_t i;
	json_t *e;

	if (!json_is_array(scope)) {
		http_error_set(err, 400, "invalid_field", "scope", "field 'scope' must be an array");
		return -EINVAL;
	}
	json_array_foreach(scope, i, e) {
		const char *k;
		json_t *v;
		size_t set = 0;

		if (!json_is_object(e)) {
			http_error_set(err, 400, "invalid_field", "scope", "scope entry %zu must be an object", i);
			return -EINVAL;
		}
		json_object_foreach(e, k, v) {
			if (!scope_key(k)) {
				http_error_set(err, 400, "invalid_field", "scope",
					       "scope entry %zu: unknown field '%.64s'", i, k);
				return -EINVAL;
			}
			if (json_is_null(v))
				continue;
			if (!json_is_integer(v) || json_integer_value(v) <= 0) {
				http_error_set(err, 400, "invalid_field", "scope",
					       "scope entry %zu: '%s' must be a positive integer id", i, k);
				return -EINVAL;
			}
			set++;
		}
		if (set == 0) {
			http_error_set(err, 400, "invalid_field", "scope",
				       "scope entry %zu must set business_unit_id, region_id, site_id or zone_id", i);
			return -EINVAL;
		}
	}
	return 0;
}

bool access_ids_pg_array(json_t *ids, char *out, size_t out_len)
{
	size_t i, used = 0;
	json_t *v;
	int n;

	if (!json_is_array(ids) || out_len < 3)
		return false;
	out[used++] = '{';
	json_array_foreach(ids, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			return false;
		n = snprintf(out + used, out_len - used, "%s%" JSON_INTEGER_FORMAT, i ? "," : "", json_integer_value(v));
		if (n < 0 || (size_t)n >= out_len - used)
			return false;
		used += (size_t)n;
	}
	if (used + 2 > out_len)
		return false;
	out[used++] = '}';
	out[used] = '\0';
	return true;
}

int csv_write_field(FILE *f, const char *s)
{
	bool formula, quote;

	if (!s)
		return 0;
	/* Tab and CR too: spreadsheets strip them before reading a formula (OWASP "CSV injection"). */
	formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
	quote = formula || strpbrk(s, ",\"\r\n") != NULL;
	if (!quote)
		return fputs(s, f) < 0 ? -EIO : 0;
	if (fputc('"', f) == EOF || (formula && fputc('\'', f) == EOF))
		return -EIO;
	for (; *s; s++) {
		if ((*s == '"' && fputc('"', f) == EOF) || fputc(*s, f) == EOF)
			return -EIO;
	}
	return fputc('"', f) == EOF ? -EIO : 0;
}
