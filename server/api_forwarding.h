/* Forwarding rules (docs/forwarding.md; sql/013_forwarding.sql). Admins only, reads included: a rule spans every
 * zone and names the SOC's collectors.
 *
 *   GET    /api/v1/forwarding-rules              list ({"items", "next_cursor"})
 *   POST   /api/v1/forwarding-rules              create -> 201 with the rule
 *   GET    /api/v1/forwarding-rules/{id}
 *   PATCH  /api/v1/forwarding-rules/{id}         any of the fields; "action" replaces the action as a whole, except
 *                                                that secrets it leaves out are kept when the type and the
 *                                                destination stay the same (else 400 naming the secret)
 *   DELETE /api/v1/forwarding-rules/{id}         the rule and its backlog
 *   GET    /api/v1/forwarding-rules/{id}/status  {"id", "enabled", "backlog", "delivered", "last_delivered_at",
 *                                                 "last_error", "last_error_at", "oldest_pending_at", "failing",
 *                                                 "attempts", "next_attempt_at", "dead_letters"}
 *   GET    /api/v1/forwarding-rules/{id}/dead-letters          messages the destination refused for good
 *                                                             ({"items": [{"id", "alert_id", "notification_id",
 *                                                             "created_at", "attempts", "dead_at", "error"}]})
 *   POST   /api/v1/forwarding-rules/{id}/dead-letters/retry    {"ids"?: [...]} (all without) back into the queue
 *   POST   /api/v1/forwarding-rules/{id}/dead-letters/discard  {"ids"?: [...]} (all without) deleted
 *                                                             both answer {"retried"|"discarded": n}, audited
 *
 * A rule: {"id", "name", "enabled", "min_severity", "engines", "protocols", "zone_ids", "include_alerts",
 * "include_system", "action", "backlog", "delivered_count", "last_delivered_at", "last_error", "last_error_at",
 * "created_by", "created_at", "updated_at"}. The action comes back without its secrets (token, secret, password,
 * client_key_pem) and with "has_secret": true when it holds any. Changes are audited as forwarding_rule.create /
 * .update / .delete, also without secrets. */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

extern const struct http_body_spec api_forwarding_create_body, api_forwarding_update_body, api_forwarding_dead_body;

void api_forwarding_list(struct api_call *c, PGconn *db);
void api_forwarding_get(struct api_call *c, PGconn *db);
void api_forwarding_create(struct api_call *c, PGconn *db);
void api_forwarding_update(struct api_call *c, PGconn *db);
void api_forwarding_delete(struct api_call *c, PGconn *db);
void api_forwarding_status(struct api_call *c, PGconn *db);
void api_forwarding_dead_list(struct api_call *c, PGconn *db);
void api_forwarding_dead_retry(struct api_call *c, PGconn *db);
void api_forwarding_dead_discard(struct api_call *c, PGconn *db);
