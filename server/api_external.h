/* The incumbent-compatible management API under /external/... (issue 7; docs/external-api.md is the contract):
 * the incumbent's paths, parameters, field names and error shape, mapped onto OTWatch's model. Handlers run on
 * workers like every route; scope and roles are OTWatch's (API tokens keep their role and access groups).
 *
 *   GET    /external/v1/devices                         api_external_devices.c
 *   GET    /external/v1/alerts, /external/v2/alerts     api_external_alerts.c
 *   PUT    /external/v1/alerts/{id}                     api_external_alerts.c
 *   GET|POST|PUT|DELETE /external/v1/maintenanceWindow  api_external_maintenance.c
 *   GET    /external/v1/appliances                      api_external_appliances.c
 *   POST   /external/authentication/{validation,set_password,set_password_by_admin}   api_external_auth.c */
#pragma once
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/api_router.h"
#include "server/http_util.h"

#define API_EXTERNAL_PREFIX "/external/"
/* Most values a list query parameter (siteId=1,2,...) may hold. */
#define API_EXTERNAL_LIST_MAX 100
/* Most items one list answer holds (the incumbent had no paging; afterId pages beyond it). */
#define API_EXTERNAL_LIMIT_MAX 10000

extern const struct http_body_spec api_external_alert_put_body, api_external_window_body,
	api_external_window_delete_body, api_external_validation_body, api_external_set_password_body,
	api_external_set_password_admin_body;

void api_external_devices(struct api_call *c, PGconn *db);
void api_external_alerts_v1(struct api_call *c, PGconn *db);
void api_external_alerts_v2(struct api_call *c, PGconn *db);
void api_external_alert_put(struct api_call *c, PGconn *db);
void api_external_windows_list(struct api_call *c, PGconn *db);
void api_external_window_create(struct api_call *c, PGconn *db);
void api_external_window_update(struct api_call *c, PGconn *db);
void api_external_window_delete(struct api_call *c, PGconn *db);
void api_external_appliances(struct api_call *c, PGconn *db);
void api_external_validation(struct api_call *c, PGconn *db);
void api_external_set_password(struct api_call *c, PGconn *db);
void api_external_set_password_admin(struct api_call *c, PGconn *db);

/* True when the request path is under /external/ (its errors take the incumbent's shape, matched or not). */
bool api_external_path(const char *path);
/* The incumbent's error body {"error": {"userDisplayErrorMessage", "internalSystemErrorMessage"}} for e (new
 * reference; NULL only when out of memory). The internal message is e's code, plus " (field: <f>)" when set. */
json_t *api_external_error_json(const struct http_error *e);

/* Query parameters of one call. parse takes the call's raw query string and URL-decodes the values of the
 * `n` names into values[i] (heap, NULL when absent); other parameters are ignored, as the incumbent did. An empty
 * value (name=) is absent. Bit i of `lists` marks names[i] a list parameter: repeating it (siteId=1&siteId=2)
 * joins the values with commas; repeating any other answers 400 and returns false. Free with
 * api_external_query_free. */
bool api_external_query_parse(struct api_call *c, const char *const *names, size_t n, uint32_t lists,
			      char **values) __attribute__((warn_unused_result));
void api_external_query_free(char **values, size_t n);

/* Value checks; each answers 400 naming `name` and returns false on a bad value. NULL input gives "" (absent:
 * pass it as a NULL SQL parameter). */
/* A comma list of positive integer ids as a PostgreSQL array ("{1,2}") into out. */
bool api_external_ids(struct api_call *c, const char *name, const char *value, char *out, size_t outlen)
	__attribute__((warn_unused_result));
/* A comma list of sensor ids, each an external integer id or a UUID, as two arrays (either may stay ""). */
bool api_external_sensor_ids(struct api_call *c, const char *name, const char *value, char *ints, size_t ints_len,
			     char *uuids, size_t uuids_len) __attribute__((warn_unused_result));
/* A decimal integer from min to max (min >= 0) into out[24]. */
bool api_external_uint(struct api_call *c, const char *name, const char *value, long long min, long long max,
		       char out[24])
	__attribute__((warn_unused_result));
/* "true"/"false" into out ("" absent). */
bool api_external_bool(struct api_call *c, const char *name, const char *value, char out[8])
	__attribute__((warn_unused_result));

/* Runs a query returning rows of one json text column and answers 200 with them as one JSON array (500 when a
 * row is not JSON, logged). */
void api_external_array(struct api_call *c, PGconn *db, const char *sql, int nparams, const char *const *params);

/* SQL helpers shared by the resources. */
/* Epoch milliseconds of a timestamptz expression, as a JSON number. */
#define API_EXT_MS(col) "(floor(extract(epoch from (" col ")) * 1000))::bigint"
/* A sensor's external id from its UUID expression. */
#define API_EXT_SENSOR_NUM(uuid) "(select xs.external_id from sensors xs where xs.id = (" uuid "))"
/* Condition: sensor uuid expression `u` is in $ints (external ids) or $uuids, or both are NULL. */
#define API_EXT_SENSOR_MATCH(u, ints, uuids)                                                                  \
	"((" ints "::bigint[] is null and " uuids "::uuid[] is null) or exists (select 1 from sensors xm "       \
	"where xm.id = (" u ") and (xm.external_id = any (" ints "::bigint[]) or xm.id = any (" uuids "::uuid[]))))"

/* Defined in server/api_auth.c (the login's own checks, shared): verifies a username and password exactly as
 * POST /api/v1/auth/login does (local account or directory name, lock-out, a failure audited as
 * auth.login_failed and counted against the account). Returns 0 with the canonical username and role written,
 * -EACCES for wrong credentials, -EHOSTUNREACH when a directory account's domain could not be used (answer it
 * with api_fail_directory_unavailable), -EIO on a database error; answers nothing. */
int api_auth_verify_password(struct api_call *c, PGconn *db, const char *username, const char *password,
			     char user_out[257], char role_out[32]) __attribute__((warn_unused_result));
/* 503 directory_unavailable: the directory of a directory account could not be used (the log says why). */
void api_fail_directory_unavailable(struct api_call *c);

/* Defined in server/api_maintenance.c (its housekeeping, shared): deletes the maintenance windows that expired more
 * than 30 days ago, audited as maintenance_window.purge without a user. Call inside the writer's transaction.
 * Returns false on a database error (nothing answered). */
bool api_maintenance_purge_expired(PGconn *db) __attribute__((warn_unused_result));
