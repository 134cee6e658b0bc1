/* Exclusion rules (alert suppression, docs/alerts.md "Suppression"; sql/007_suppression.sql).
 *
 *   GET    /api/v1/exclusion-rules[?zone_id=&site_id=&sensor_id=]   every role, in scope
 *   POST   /api/v1/exclusion-rules                                  analysts and admins, in scope
 *   GET    /api/v1/exclusion-rules/{id}                             every role, in scope
 *   PATCH  /api/v1/exclusion-rules/{id}                             analysts and admins, in scope
 *   DELETE /api/v1/exclusion-rules/{id}                             analysts and admins, in scope
 *
 * A rule: {"id", "name", "enabled", "time_window": {"days", "start", "end", "timezone"} | null,
 * "address": {"value", "direction"} | null, "title", "sensor_id", "zone_id", "site_id", "suppressed_count",
 * "last_suppressed_at", "created_by", "created_at", "updated_at"}. Its conditions (time_window, address, title,
 * sensor_id; at least one) AND together; zone_id or site_id (at most one) scope it. A rule without scope is global:
 * only admins see and manage it. A site scope needs access to the whole site. Changes are audited as
 * exclusion_rule.create / .update / .delete with before and after. */
#pragma once
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "server/api_router.h"
#include "server/http_util.h"

extern const struct http_body_spec api_exclusions_create_body, api_exclusions_update_body;

void api_exclusions_list(struct api_call *c, PGconn *db);
void api_exclusions_get(struct api_call *c, PGconn *db);
void api_exclusions_create(struct api_call *c, PGconn *db);
void api_exclusions_update(struct api_call *c, PGconn *db);
void api_exclusions_delete(struct api_call *c, PGconn *db);

/* The time window and address of a rule body as SQL parameter text. has_* is true when the body has the member
 * (null included); a null member leaves the strings empty. */
struct exclusion_params {
	bool has_tw, has_addr;
	char days[24];     /* "{1,3,5}": ISO days of week, sorted, distinct */
	char start[8];     /* "08:00" */
	char end[8];       /* "17:30", "24:00" allowed */
	char tz[65];       /* IANA name, checked again by PostgreSQL */
	char ip[64];       /* "10.1.2.0/24", "10.1.2.3/32", "2001:db8::/32" (cidr), or "" */
	char mac[18];      /* "00:1b:1b:00:00:01", or "" */
	char direction[12]; /* source, destination, both */
};

/* Checks what the body table cannot: time_window {"days": ["mon".."sun"] (1-7 distinct; absent = every day),
 * "start": "HH:MM", "end": "HH:MM" (24:00 allowed), "timezone": 1-64 of [A-Za-z0-9/_+-]}, address {"value": an
 * IPv4/IPv6 address, a subnet in CIDR notation without host bits, or a MAC (":" or "-" separated), "direction":
 * source|destination|both (default both)}, sensor_id a UUID. Fills *out. 0, or -EINVAL with a 400 naming the field
 * ("time_window.start", "address.value", ...) in err. Pure (no I/O). */
int api_exclusion_check(json_t *body, struct exclusion_params *out, struct http_error *err)
	__attribute__((warn_unused_result));

/* Shared with maintenance windows (worker thread). Checks that the ids a body names exist inside the caller's
 * scope: zone (otw_zone_visible), site (the whole site: otw_site_fully_visible), sensor (its zone visible); NULL
 * skips one. Answers 400 naming the field (out of scope looks missing) or 500 and returns false. */
bool api_suppression_refs_ok(struct api_call *c, PGconn *db, const char *zone, const char *site,
			     const char *sensor) __attribute__((warn_unused_result));
/* A global object (no scope left) is for admins only: answers 403 and returns false for a scoped caller. */
bool api_suppression_global_ok(struct api_call *c, bool global) __attribute__((warn_unused_result));
