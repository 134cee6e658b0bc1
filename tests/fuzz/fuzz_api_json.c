/* libFuzzer target for the API's request parsing: the first byte picks a body spec (login, site, zone,
 * sensor, enroll, create or update) or the list-query parser; the rest is the body or query string. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_auth.h"
#include "server/api_enroll.h"
#include "server/api_sensors.h"
#include "server/api_sites.h"
#include "server/api_tokens.h"
#include "server/http_util.h"

static const struct http_body_spec *const specs[] = {
	&api_auth_login_body,	&api_sites_create_body,	  &api_sites_update_body, &api_zones_create_body,
	&api_zones_update_body, &api_sensors_create_body, &api_sensors_update_body, &api_enroll_body,
	&api_auth_refresh_body, &api_tokens_create_body,
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_error err;
	json_t *obj = NULL;
	unsigned sel;

	if (size < 1)
		return 0;
	sel = data[0];
	data++;
	size--;
	if (sel % (NSPECS + 2) < NSPECS) {
		size_t max = (sel & 0x80) ? HTTP_BODY_MAX_PUBLIC : HTTP_BODY_MAX;
		if (http_json_parse_body((const char *)data, size, max, specs[sel % (NSPECS + 2)], &obj, &err) == 0) {
			/* What handlers read back must agree with the validation. */
			const char *key;
			json_t *v;
			json_object_foreach(obj, key, v) {
				if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v))
					abort();
			}
			json_decref(obj);
		} else if (err.status != 400 && err.status != 413) {
			abort();
		}
	} else {
		struct http_list_params lp;
		char *q = malloc(size + 1);
		char cur[HTTP_CURSOR_MAX], id[HTTP_ID_MAX];
		if (!q)
			return 0;
		memcpy(q, data, size);
		q[size] = '\0';
		if (http_list_params_parse(q, HTTP_FILTER_SITE_ID | HTTP_FILTER_ZONE_ID | HTTP_FILTER_SENSOR_ID,
					   (sel & 1) ? HTTP_ID_UUID : HTTP_ID_INT, &lp, &err) == 0) {
			if (lp.limit < 1 || lp.limit > HTTP_LIMIT_MAX)
				abort();
			/* A decoded cursor re-encodes to a cursor that decodes to the same id. */
			if (lp.after[0] && (!http_cursor_encode(lp.after, cur) ||
					    !http_cursor_decode(cur, (sel & 1) ? HTTP_ID_UUID : HTTP_ID_INT, id) ||
					    strcmp(id, lp.after) != 0))
				abort();
		}
		free(q);
	}
	return 0;
}
