#include "server/api_router.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timefmt.h"
#include "server/api_auth.h"
#include "server/api_devices.h"
#include "server/api_directory.h"
#include "server/api_enroll.h"
#include "server/api_events.h"
#include "server/api_exclusions.h"
#include "server/api_external.h"
#include "server/api_forwarding.h"
#include "server/api_inventory.h"
#include "server/api_maintenance.h"
#include "server/api_map.h"
#include "server/metrics_api.h"
#include "server/api_principal.h"
#include "server/api_access_groups.h"
#include "server/api_alerts.h"
#include "server/api_indicators.h"
#include "server/api_audit.h"
#include "server/api_hierarchy.h"
#include "server/api_users.h"
#include "server/api_sensors.h"
#include "server/api_settings.h"
#include "server/api_sites.h"
#include "server/api_saved_views.h"
#include "server/api_stats.h"
#include "server/api_tokens.h"
#include "server/audit.h"
#include "server/db.h"

static void api_health(struct api_call *c, PGconn *db);

static const struct api_route routes[] = {
	{ API_GET, "/api/v1/health", api_health, API_R_PUBLIC | API_R_DB_OPTIONAL, NULL },
	{ API_POST, "/api/v1/auth/login", api_auth_login, API_R_PUBLIC | API_R_COSTLY | API_R_LOGIN,
	  &api_auth_login_body },
	{ API_POST, "/api/v1/auth/refresh", api_auth_refresh, API_R_PUBLIC | API_R_BODY_OPTIONAL,
	  &api_auth_refresh_body },
	{ API_POST, "/api/v1/auth/logout", api_auth_logout, 0, NULL },
	{ API_GET, "/api/v1/auth/me", api_auth_me, 0, NULL },
	{ API_POST, "/api/v1/enroll", api_enroll, API_R_PUBLIC, &api_enroll_body },
	{ API_GET, "/api/v1/sites", api_sites_list, 0, NULL },
	{ API_POST, "/api/v1/sites", api_sites_create, API_R_ADMIN, &api_sites_create_body },
	{ API_GET, "/api/v1/sites/{id}", api_sites_get, 0, NULL },
	{ API_PATCH, "/api/v1/sites/{id}", api_sites_update, API_R_ADMIN, &api_sites_update_body },
	{ API_DELETE, "/api/v1/sites/{id}", api_sites_delete, API_R_ADMIN, NULL },
	{ API_GET, "/api/v1/zones", api_zones_list, 0, NULL },
	{ API_POST, "/api/v1/zones", api_zones_create, API_R_ADMIN, &api_zones_create_body },
	{ API_GET, "/api/v1/zones/{id}", api_zones_get, 0, NULL },
	{ API_PATCH, "/api/v1/zones/{id}", api_zones_update, API_R_ADMIN, &api_zones_update_body },
	{ API_DELETE, "/api/v1/zones/{id}", api_zones_delete, API_R_ADMIN, NULL },
	{ API_GET, "/api/v1/zones/{id}/settings", api_zone_settings_get, 0, NULL },
	{ API_PUT, "/api/v1/zones/{id}/settings", api_zone_settings_put, API_R_ANALYST, &api_settings_body },
	{ API_GET, "/api/v1/sensors", api_sensors_list, 0, NULL },
	{ API_POST, "/api/v1/sensors", api_sensors_create, API_R_ADMIN, &api_sensors_create_body },
	{ API_GET, "/api/v1/sensors/{id}", api_sensors_get, 0, NULL },
	{ API_PATCH, "/api/v1/sensors/{id}", api_sensors_update, API_R_ADMIN, &api_sensors_update_body },
	{ API_DELETE, "/api/v1/sensors/{id}", api_sensors_delete, API_R_ADMIN, NULL },
	{ API_GET, "/api/v1/sensors/{id}/settings", api_sensor_settings_get, 0, NULL },
	{ API_PUT, "/api/v1/sensors/{id}/settings", api_sensor_settings_put, API_R_ANALYST, &api_settings_body },
	{ API_GET, "/api/v1/sensors/{id}/settings/effective", api_sensor_settings_effective, 0, NULL },
	{ API_GET, "/api/v1/devices", api_devices_list, 0, NULL },
	{ API_GET, "/api/v1/devices/export", api_devices_export, 0, NULL }, /* before {id} */
	{ API_GET, "/api/v1/devices/{id}", api_devices_get, 0, NULL },
	{ API_PATCH, "/api/v1/devices/{id}", api_devices_update, API_R_ANALYST, &api_devices_update_body },
	{ API_POST, "/api/v1/devices/merge", api_devices_merge, API_R_ANALYST, &api_devices_merge_body },
	{ API_GET, "/api/v1/dpi-events", api_dpi_events_list, 0, NULL },
	{ API_GET, "/api/v1/connections", api_connections_list, 0, NULL },
	{ API_GET, "/api/v1/connections/{id}", api_connections_get, 0, NULL },
	{ API_GET, "/api/v1/map", api_map_get, 0, NULL },
	{ API_GET, "/api/v1/alerts", api_alerts_list, 0, NULL },
	{ API_GET, "/api/v1/events", api_events_get, 0, NULL },
	{ API_GET, "/api/v1/stats/summary", api_stats_summary, 0, NULL },
	{ API_GET, "/api/v1/stats/alerts", api_stats_alerts, 0, NULL },
	{ API_POST, "/api/v1/alerts/actions", api_alerts_bulk_action, API_R_ANALYST, &api_alerts_bulk_body },
	{ API_GET, "/api/v1/alerts/{id}", api_alerts_get, 0, NULL },
	{ API_POST, "/api/v1/alerts/{id}/actions", api_alerts_action, API_R_ANALYST, &api_alerts_action_body },
	{ API_POST, "/api/v1/alerts/{id}/comments", api_alerts_comment, API_R_ANALYST, &api_alerts_comment_body },
	{ API_GET, "/api/v1/alerts/{id}/pcap", api_alerts_pcap, 0, NULL },
	{ API_GET, "/api/v1/exclusion-rules", api_exclusions_list, 0, NULL },
	{ API_POST, "/api/v1/exclusion-rules", api_exclusions_create, API_R_ANALYST, &api_exclusions_create_body },
	{ API_GET, "/api/v1/exclusion-rules/{id}", api_exclusions_get, 0, NULL },
	{ API_PATCH, "/api/v1/exclusion-rules/{id}", api_exclusions_update, API_R_ANALYST,
	  &api_exclusions_update_body },
	{ API_DELETE, "/api/v1/exclusion-rules/{id}", api_exclusions_delete, API_R_ANALYST, NULL },
	{ API_GET, "/api/v1/maintenance-windows", api_maintenance_list, 0, NULL },
	{ API_POST, "/api/v1/maintenance-windows", api_maintenance_create, API_R_ANALYST,
	  &api_maintenance_create_body },
	{ API_GET, "/api/v1/maintenance-windows/{id}", api_maintenance_get, 0, NULL },
	{ API_DELETE, "/api/v1/maintenance-windows/{id}", api_maintenance_delete, API_R_ANALYST, NULL },
	{ API_GET, "/api/v1/indicator-bundles", api_indicators_list, API_R_ADMIN, NULL },
	{ API_POST, "/api/v1/indicator-bundles", api_indicators_import, API_R_ADMIN, &api_indicators_import_body },
	{ API_GET, "/api/v1/indicator-bundles/{id}", api_indicators_get, API_R_ADMIN, NULL },
	{ API_PATCH, "/api/v1/indicator-bundles/{id}", api_indicators_update, API_R_ADMIN, &api_indicators_update_body },
	{ API_DELETE, "/api/v1/indicator-bundles/{id}", api_indicators_delete, API_R_ADMIN, NULL },
	{ API_GET, "/api/v1/meta/routes", api_meta_routes, API_R_ADMIN, NULL },
	{ API_GET, "/api/v1/business-units", api_business_units_list, 0, NULL },
	{ API_POST, "/api/v1/business-units", api_business_units_create, API_R_ADMIN, &api_business_units_create_body },
	{ API_GET, "/api/v1/business-units/{id}", api_business_units_get, 0, NULL },
	{ API_PATCH, "/api/v1/business-units/{id}", api_business_units_update, API_R_ADMIN,
	  &api_business_units_update_body },
	{ API_DELETE, "/api/v1/business-units/{id}", api_business_units_delete, API_R_ADMIN, NULL },
	{ API_GET, "/api/v1/regions", api_regions_list, 0, NULL },
	{ API_POST, "/api/v1/regions", api_regions_create, API_R_ADMIN, &api_regions_create_body },
	{ API_GET, "/api/v1/regions/{id}", api_regions_get, 0, NULL },
	{ API_PATCH, "/api/v1/regions/{id}", api_regions_update, API_R_ADMIN, &api_regions_update_body },
	{ API_DELETE, "/api/v1/regions/{id}", api_regions_delete, API_R_ADMIN, NULL },
	{ API_GET, "/api/v1/access-groups", api_access_groups_list, API_R_ADMIN, NULL },
	{ API_POST, "/api/v1/access-groups", api_access_groups_create, API_R_ADMIN, &api_access_groups_create_body },
	{ API_GET, "/api/v1/access-groups/{id}", api_access_groups_get, API_R_ADMIN, NULL },
	{ API_PATCH, "/api/v1/access-groups/{id}", api_access_groups_update, API_R_ADMIN,
	  &api_access_groups_update_body },
	{ API_DELETE, "/api/v1/access-groups/{id}", api_access_groups_delete, API_R_ADMIN, NULL },
	{ API_GET, "/api/v1/users", api_users_list, API_R_ADMIN, NULL },
	{ API_POST, "/api/v1/users", api_users_create, API_R_ADMIN, &api_users_create_body },
	{ API_GET, "/api/v1/users/{id}", api_users_get, API_R_ADMIN, NULL },
	{ API_PATCH, "/api/v1/users/{id}", api_users_update, API_R_ADMIN, &api_users_update_body },
	{ API_DELETE, "/api/v1/users/{id}", api_users_delete, API_R_ADMIN, NULL },
	{ API_POST, "/api/v1/users/{id}/password", api_users_password_reset, API_R_ADMIN, &api_users_password_body },
	{ API_POST, "/api/v1/auth/password", api_auth_password_change, 0, &api_auth_password_body },
	{ API_GET, "/api/v1/audit-log", api_audit_list, API_R_ADMIN, NULL },
	{ API_GET, "/api/v1/audit-log/export", api_audit_export, API_R_ADMIN, NULL },
	{ API_GET, "/api/v1/settings/ldap", api_ldap_settings_get, API_R_ADMIN, NULL },
	{ API_PUT, "/api/v1/settings/ldap", api_ldap_settings_put, API_R_ADMIN, &api_ldap_settings_body },
	{ API_POST, "/api/v1/settings/ldap/test", api_ldap_settings_test, API_R_ADMIN, &api_ldap_test_body },
	{ API_GET, "/api/v1/ad-group-mappings", api_ad_mappings_list, API_R_ADMIN, NULL },
	{ API_POST, "/api/v1/ad-group-mappings", api_ad_mappings_create, API_R_ADMIN, &api_ad_mapping_create_body },
	{ API_DELETE, "/api/v1/ad-group-mappings/{id}", api_ad_mappings_delete, API_R_ADMIN, NULL },
	{ API_GET, "/api/v1/api-tokens", api_tokens_list, API_R_ADMIN, NULL },
	{ API_POST, "/api/v1/api-tokens", api_tokens_create, API_R_ADMIN, &api_tokens_create_body },
	{ API_DELETE, "/api/v1/api-tokens/{id}", api_tokens_delete, API_R_ADMIN, NULL },
	{ API_GET, "/api/v1/saved-views", api_saved_views_list, 0, NULL },
	{ API_POST, "/api/v1/saved-views", api_saved_views_create, 0, &api_saved_views_create_body },
	{ API_PATCH, "/api/v1/saved-views/{id}", api_saved_views_update, 0, &api_saved_views_update_body },
	{ API_DELETE, "/api/v1/saved-views/{id}", api_saved_views_delete, 0, NULL },
	/* Alert forwarding (docs/forwarding.md): admins only, reads included. */
	{ API_GET, "/api/v1/forwarding-rules", api_forwarding_list, API_R_ADMIN, NULL },
	{ API_POST, "/api/v1/forwarding-rules", api_forwarding_create, API_R_ADMIN, &api_forwarding_create_body },
	{ API_GET, "/api/v1/forwarding-rules/{id}", api_forwarding_get, API_R_ADMIN, NULL },
	{ API_PATCH, "/api/v1/forwarding-rules/{id}", api_forwarding_update, API_R_ADMIN, &api_forwarding_update_body },
	{ API_DELETE, "/api/v1/forwarding-rules/{id}", api_forwarding_delete, API_R_ADMIN, NULL },
	{ API_GET, "/api/v1/forwarding-rules/{id}/status", api_forwarding_status, API_R_ADMIN, NULL },
	{ API_GET, "/api/v1/forwarding-rules/{id}/dead-letters", api_forwarding_dead_list, API_R_ADMIN, NULL },
	{ API_POST, "/api/v1/forwarding-rules/{id}/dead-letters/retry", api_forwarding_dead_retry, API_R_ADMIN,
	  &api_forwarding_dead_body },
	{ API_POST, "/api/v1/forwarding-rules/{id}/dead-letters/discard", api_forwarding_dead_discard, API_R_ADMIN,
	  &api_forwarding_dead_body },
	{ API_GET, "/metrics", api_metrics_get, 0, NULL }, /* Prometheus (docs/monitoring.md) */
	/* The incumbent-compatible API (docs/external-api.md). */
	{ API_GET, "/external/v1/devices", api_external_devices, API_R_EXTERNAL, NULL },
	{ API_GET, "/external/v1/alerts", api_external_alerts_v1, API_R_EXTERNAL, NULL },
	{ API_GET, "/external/v2/alerts", api_external_alerts_v2, API_R_EXTERNAL, NULL },
	{ API_PUT, "/external/v1/alerts/{id}", api_external_alert_put, API_R_EXTERNAL | API_R_ANALYST,
	  &api_external_alert_put_body },
	{ API_GET, "/external/v1/maintenanceWindow", api_external_windows_list, API_R_EXTERNAL, NULL },
	{ API_POST, "/external/v1/maintenanceWindow", api_external_window_create, API_R_EXTERNAL | API_R_ANALYST,
	  &api_external_window_body },
	{ API_PUT, "/external/v1/maintenanceWindow", api_external_window_update, API_R_EXTERNAL | API_R_ANALYST,
	  &api_external_window_body },
	{ API_DELETE, "/external/v1/maintenanceWindow", api_external_window_delete,
	  API_R_EXTERNAL | API_R_ANALYST | API_R_BODY_OPTIONAL, &api_external_window_delete_body },
	{ API_GET, "/external/v1/appliances", api_external_appliances, API_R_EXTERNAL, NULL },
	{ API_POST, "/external/authentication/validation", api_external_validation,
	  API_R_EXTERNAL | API_R_PUBLIC | API_R_COSTLY | API_R_LOGIN, &api_external_validation_body },
	{ API_POST, "/external/authentication/set_password", api_external_set_password,
	  API_R_EXTERNAL | API_R_PUBLIC | API_R_COSTLY | API_R_LOGIN, &api_external_set_password_body },
	{ API_POST, "/external/authentication/set_password_by_admin", api_external_set_password_admin,
	  API_R_EXTERNAL | API_R_PUBLIC | API_R_COSTLY | API_R_LOGIN, &api_external_set_password_admin_body },
};

const struct api_route *api_routes(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}

static bool param_char_ok(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '-';
}

/* Matches one pattern; a {id} segment takes 1..API_PARAM_MAX-1 characters of [0-9A-Za-z-]. */
static bool pattern_match(const char *pat, const char *path, char param[API_PARAM_MAX])
{
	param[0] = '\0';
	while (*pat) {
		if (strncmp(pat, "{id}", 4) == 0) {
			size_t n = 0;
			while (path[n] && path[n] != '/') {
				if (!param_char_ok(path[n]) || n + 1 >= API_PARAM_MAX)
					return false;
				n++;
			}
			if (n == 0)
				return false;
			memcpy(param, path, n);
			param[n] = '\0';
			path += n;
			pat += 4;
			continue;
		}
		if (*pat != *path)
			return false;
		pat++;
		path++;
	}
	return *path == '\0';
}

int api_route_match(const struct api_route *tbl, size_t n, unsigned method, const char *path,
		    const struct api_route **route, char param[API_PARAM_MAX], unsigned *allowed)
{
	char tmp[API_PARAM_MAX];

	*route = NULL;
	*allowed = 0;
	param[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!pattern_match(tbl[i].pattern, path, tmp))
			continue;
		if (tbl[i].method & method) {
			*route = &tbl[i];
			memcpy(param, tmp, sizeof(tmp));
			return 0;
		}
		*allowed |= tbl[i].method;
	}
	return *allowed ? 405 : 404;
}

void api_ok(struct api_call *c, int status, json_t *body)
{
	c->status = status;
	json_decref(c->resp);
	c->resp = body;
	if (status != 204 && !body)
		api_fail(c, 500, "internal", NULL, "out of memory");
}

void api_fail(struct api_call *c, int status, const char *code, const char *field, const char *fmt, ...)
{
	va_list ap;

	c->status = status;
	c->err.status = status;
	snprintf(c->err.code, sizeof(c->err.code), "%s", code);
	snprintf(c->err.field, sizeof(c->err.field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(c->err.message, sizeof(c->err.message), fmt, ap);
	va_end(ap);
	json_decref(c->resp);
	c->resp = NULL;
}

void api_fail_db(struct api_call *c)
{
	api_fail(c, 500, "internal", NULL, "internal error");
}

void api_audit(struct api_call *c, PGconn *db, const char *action, const char *object, json_t *details)
{
	if (audit_write(db, c->username[0] ? c->username : NULL, c->client, action, object, details) != 0)
		log_warn("api: audit write failed for %s", action);
}

void api_commit_audited(struct api_call *c, PGconn *db, const char *action, const char *object, json_t *before,
			json_t *after, int status)
{
	json_t *details;

	if (!after) {
		api_fail_db(c);
		return;
	}
	details = json_pack("{s:O*, s:O}", "before", before, "after", after);
	api_audit(c, db, action, object, details);
	json_decref(details);
	if (!db_commit(db)) {
		json_decref(after);
		api_fail_db(c);
		return;
	}
	api_ok(c, status, after);
}

bool api_query_take(struct api_call *c, const char *const *names, size_t n, char values[][API_QUERY_VALUE_MAX],
		    char *rest, size_t restlen)
{
	const char *p = c->query ? c->query : "";
	size_t used = 0;

	rest[0] = '\0';
	for (size_t k = 0; k < n; k++)
		values[k][0] = '\0';
	if (strlen(p) >= restlen) {
		api_fail(c, 400, "invalid_query", NULL, "query string too long");
		return false;
	}
	while (*p) {
		size_t len = strcspn(p, "&"), k, nl = 0;
		for (k = 0; k < n; k++) {
			nl = strlen(names[k]);
			if (len > nl && strncmp(p, names[k], nl) == 0 && p[nl] == '=')
				break;
		}
		if (k < n) {
			char raw[3 * API_QUERY_VALUE_MAX], *val;
			bool ok;
			if (values[k][0]) {
				api_fail(c, 400, "invalid_query", names[k], "query parameter '%s' given twice", names[k]);
				return false;
			}
			snprintf(raw, sizeof(raw), "%.*s", (int)(len - nl - 1 < sizeof(raw) - 1 ? len - nl - 1 : sizeof(raw) - 1),
				 p + nl + 1);
			val = evhttp_uridecode(raw, 1, NULL);
			ok = val && *val && strlen(val) < API_QUERY_VALUE_MAX && len - nl - 1 < sizeof(raw) - 1;
			if (ok)
				snprintf(values[k], API_QUERY_VALUE_MAX, "%s", val);
			free(val);
			if (!ok) {
				api_fail(c, 400, "invalid_query", names[k], "query parameter '%s' is empty or too long",
					 names[k]);
				return false;
			}
		} else if (len) {
			used += (size_t)snprintf(rest + used, restlen - used, "%s%.*s", used ? "&" : "", (int)len, p);
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return true;
}

bool api_list_params(struct api_call *c, unsigned filters, enum http_id_kind kind, struct http_list_params *lp)
{
	if (http_list_params_parse(c->query, filters, kind, lp, &c->err) == 0)
		return true;
	c->status = c->err.status;
	return false;
}

bool api_list_params_plus(struct api_call *c, unsigned filters, enum http_id_kind kind, struct http_list_params *lp,
			  const char *const *names, size_t n, char values[][API_QUERY_VALUE_MAX])
{
	char rest[4096 + 1], *saved = c->query;
	bool ok;

	if (!api_query_take(c, names, n, values, rest, sizeof(rest)))
		return false;
	c->query = rest;
	ok = api_list_params(c, filters, kind, lp);
	c->query = saved;
	return ok;
}

bool api_query_int_id(struct api_call *c, const char *name, const char *value)
{
	int64_t id;

	if (!value[0] || http_id_parse_int(value, &id))
		return true;
	api_fail(c, 400, "invalid_query", name, "%s must be a positive integer id", name);
	return false;
}

bool api_id_param(struct api_call *c, const char *what)
{
	int64_t id;

	if (http_id_parse_int(c->param, &id))
		return true;
	api_fail(c, 404, "not_found", NULL, "%s not found", what);
	return false;
}

const char *api_body_str(struct api_call *c, const char *name)
{
	json_t *v = c->body ? json_object_get(c->body, name) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *api_body_id(struct api_call *c, const char *name, char buf[24])
{
	json_t *v = c->body ? json_object_get(c->body, name) : NULL;

	if (!json_is_integer(v))
		return NULL;
	snprintf(buf, 24, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return buf;
}

bool api_body_has(struct api_call *c, const char *name)
{
	return c->body && json_object_get(c->body, name) != NULL;
}

static const char *nz(const char *s)
{
	return s && *s ? s : NULL;
}

void api_list(struct api_call *c, PGconn *db, const char *sql, const struct http_list_params *lp, int nextra,
	      const char *const *extra)
{
	const char *params[12];
	char limit[24], cursor[HTTP_CURSOR_MAX];
	PGresult *res = NULL;
	json_t *items = NULL, *out = NULL;
	int rows;

	if (nextra < 0 || nextra > 10) {
		api_fail(c, 500, "internal", NULL, "internal error");
		return;
	}
	snprintf(limit, sizeof(limit), "%ld", lp->limit + 1);
	params[0] = nz(lp->after);
	params[1] = limit;
	for (int i = 0; i < nextra; i++)
		params[2 + i] = nz(extra[i]);
	res = db_exec(db, sql, 2 + nextra, params);
	if (!res) {
		api_fail_db(c);
		goto out;
	}
	items = json_array();
	if (!items)
		goto oom;
	rows = PQntuples(res);
	for (int i = 0; i < rows && i < lp->limit; i++) {
		json_t *item = json_loads(PQgetvalue(res, i, 1), 0, NULL);
		if (!item || json_array_append_new(items, item) != 0)
			goto oom;
	}
	if (rows > lp->limit) {
		if (!http_cursor_encode(PQgetvalue(res, (int)lp->limit - 1, 0), cursor))
			goto oom;
		out = json_pack("{s:O, s:s}", "items", items, "next_cursor", cursor);
	} else {
		out = json_pack("{s:O, s:n}", "items", items, "next_cursor");
	}
	if (!out)
		goto oom;
	api_ok(c, 200, out);
	goto out;
oom:
	api_fail(c, 500, "internal", NULL, "internal error");
out:
	json_decref(items);
	PQclear(res);
}

void api_get_one(struct api_call *c, PGconn *db, const char *sql, int nparams, const char *const *params,
		 const char *what)
{
	PGresult *res = db_exec(db, sql, nparams, params);

	if (!res) {
		api_fail_db(c);
		return;
	}
	if (PQntuples(res) == 0)
		api_fail(c, 404, "not_found", NULL, "%s not found", what);
	else
		api_ok(c, 200, json_loads(PQgetvalue(res, 0, 0), 0, NULL));
	PQclear(res);
}

static void api_health(struct api_call *c, PGconn *db)
{
	char now[TIMEFMT_LEN];
	PGresult *res = db ? db_exec(db, "select 1", 0, NULL) : NULL;
	bool ok = res != NULL;

	PQclear(res);
	timefmt_rfc3339_ms(timefmt_now_usec(), now);
	api_ok(c, ok ? 200 : 503,
	       json_pack("{s:s, s:s, s:s, s:s}", "status", ok ? "ok" : "degraded", "version", OTW_VERSION,
			 "database", ok ? "ok" : "unavailable", "time", now));
}
