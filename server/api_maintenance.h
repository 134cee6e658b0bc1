/* Maintenance windows (alert suppression, docs/alerts.md "Suppression"; sql/007_suppression.sql).
 *
 *   GET    /api/v1/maintenance-windows[?active=true|false&zone_id=&site_id=&sensor_id=]   every role, in scope
 *   POST   /api/v1/maintenance-windows      {"name", "ttl_seconds", "zone_id"|"site_id"|"sensor_id", "starts_at"}
 *                                           analysts and admins, in scope
 *   GET    /api/v1/maintenance-windows/{id}                                            every role, in scope
 *   DELETE /api/v1/maintenance-windows/{id} ends it now (expires_at = now()); analysts and admins, in scope
 *
 * A window: {"id", "name", "zone_id", "site_id", "sensor_id", "starts_at", "expires_at", "active",
 * "suppressed_count", "last_suppressed_at", "created_by", "created_at"}. While active (starts_at <= now() <
 * expires_at) it suppresses every alert of its scope that arrives at the console. A window without scope is global:
 * admins only. Expired windows stay listed for 30 days, then creating a window purges them. Audited as
 * maintenance_window.create / .end (and .purge, without a user). */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

extern const struct http_body_spec api_maintenance_create_body;

void api_maintenance_list(struct api_call *c, PGconn *db);
void api_maintenance_get(struct api_call *c, PGconn *db);
void api_maintenance_create(struct api_call *c, PGconn *db);
void api_maintenance_delete(struct api_call *c, PGconn *db);
