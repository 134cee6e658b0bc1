/* API tokens for integrations (admins manage them): named, stored only as a SHA-256 hash, scoped to a role and
 * access groups, revocable, with the last time each was used. The token (`otw_` + 43 base64url characters, 256
 * random bits) is shown once, in the answer to its creation; it is never logged or audited. Requests present it
 * as `Authorization: Bearer otw_...` (server/api_auth.c, server/api_principal.c). */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

extern const struct http_body_spec api_tokens_create_body;

/* POST /api/v1/api-tokens {"name","role","access_group_ids"} -> 201 {"id","name","role","access_group_ids",
 * "created_by","created_at","last_used_at","revoked_at","token"} */
void api_tokens_create(struct api_call *c, PGconn *db);
/* GET /api/v1/api-tokens -> {"items":[...]} without secrets, newest first (revoked ones included). */
void api_tokens_list(struct api_call *c, PGconn *db);
/* DELETE /api/v1/api-tokens/{id}: revokes at once (204; 404 when unknown or already revoked). */
void api_tokens_delete(struct api_call *c, PGconn *db);
