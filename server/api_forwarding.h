/* Forwarding rules (docs/forwarding.md; sql/013_forwarding.sql). Admins only, reads included: a rule spans every
 * zone and names the SOC's collectors.
 *
 *   GET    /api/v1/forwarding-rules              list ({"items", "next_cursor"})
 *   POST   /api/v1/forwarding-rules              create -> 201 with the rule
 *   GET    /api/v1/forwarding-rules/{id}
 *   PATCH  /api/v1/forwarding-rules/{id}         any of the fields; "action" replaces the action as a whole, except
 *                                                that secrets it leaves out are kept when the type stays the same
 *   DELETE /api/v1/forwarding-rules/{id}         the rule and its backlog
 *   GET    /api/v1/forwarding-rules/{id}/status  {"id", "enabled", "backlog", "delivered", "last_delivered_at",
 *                                                 "last_error", "last_error_at", "oldest_pending_at", "failing",
 *                                                 "attempts", "next_attempt_at"}
 *
 * A rule: {"id", "name", "enabled", "min_severity", "engines", "protocols", "zone_ids", "include_alerts",
 * "include_system", "action", "backlog", "delivered_count", "last_delivered_at", "last_error", "last_error_at",
 * "created_by", "created_at", "updated_at"}. The action comes back without its secrets (token, secret, password,
 * client_key_pem) and with "has_secret": true when it holds any. Changes are audited as forwarding_rule.create /
 * .update / .delete, also without secrets. */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

extern const struct http_body_spec api_forwarding_create_body, api_forwarding_update_body;

void api_forwarding_list(struct api_call *c, PGconn *db);
void api_forwarding_get(struct api_call *c, PGconn *db);
void api_forwarding_create(struct api_call *c, PGconn *db);
void api_forwarding_update(struct api_call *c, PGconn *db);
void api_forwarding_delete(struct api_call *c, PGconn *db);
void api_forwarding_status(struct api_call *c, PGconn *db);
