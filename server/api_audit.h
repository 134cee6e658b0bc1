/* The audit log through the API (admins): GET /api/v1/audit-log, newest first and paged like every list, and
 * GET /api/v1/audit-log/export?format=csv|jsonl (oldest first, the whole filtered log in one answer). Both take
 * from/to (RFC 3339; from inclusive, to exclusive), username and action. */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

void api_audit_list(struct api_call *c, PGconn *db);
void api_audit_export(struct api_call *c, PGconn *db);
