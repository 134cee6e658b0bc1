#include "server/api_enroll.h"

#include <errno.h>

#include "common/log.h"
#include "server/sensors_admin.h"

static const struct http_field enroll_fields[] = {
	{ "token", HTTP_FT_STRING, HTTP_FF_REQUIRED | HTTP_FF_NO_CTRL, 1, SENSORS_ADMIN_TOKEN_MAX },
	{ "csr", HTTP_FT_STRING, HTTP_FF_REQUIRED, 1, 16384 },
};
const struct http_body_spec api_enroll_body = { enroll_fields, 2, 0 };

void api_enroll(struct api_call *c, PGconn *db)
{
	char err[256] = "";
	json_t *result = NULL, *details = NULL;
	const char *sensor_id;
	int rc = sensors_admin_enroll(db, c->env->st, api_body_str(c, "token"), api_body_str(c, "csr"), &result, err,
				      sizeof(err));

	switch (rc) {
	case 0:
		break;
	case -EACCES:
		/* Generic on purpose: unknown, used, expired and revoked look the same. */
		log_info("api: enrollment refused from %s", c->client);
		api_audit(c, db, "sensor.enroll_failed", NULL, NULL);
		api_fail(c, 401, "invalid_token", NULL, "enrollment token is invalid, used or expired");
		return;
	case -EINVAL:
		api_fail(c, 400, "invalid_field", "csr", "field 'csr': %s", err);
		return;
	default:
		api_fail_db(c);
		return;
	}
	sensor_id = json_string_value(json_object_get(result, "sensor_id"));
	details = json_pack("{s:O}", "not_after", json_object_get(result, "not_after"));
	api_audit(c, db, "sensor.enroll", sensor_id, details);
	json_decref(details);
	log_info("api: sensor %s enrolled from %s", sensor_id ? sensor_id : "?", c->client);
	api_ok(c, 200, result);
}
