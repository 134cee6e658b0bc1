/* Local users: /api/v1/users[/{id}] and /api/v1/users/{id}/password (admins), /api/v1/auth/password (any
 * signed-in local user changes their own password). Password hashes never leave the database; new passwords
 * pass password_acceptable() and are hashed with argon2id here, on the worker. The last enabled admin cannot be
 * deleted, disabled or demoted (409). Every change is audited with the user before and after. */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

extern const struct http_body_spec api_users_create_body, api_users_update_body, api_users_password_body,
	api_auth_password_body;

void api_users_list(struct api_call *c, PGconn *db);
void api_users_get(struct api_call *c, PGconn *db);
void api_users_create(struct api_call *c, PGconn *db);
void api_users_update(struct api_call *c, PGconn *db);
void api_users_delete(struct api_call *c, PGconn *db);
void api_users_password_reset(struct api_call *c, PGconn *db);
void api_auth_password_change(struct api_call *c, PGconn *db);

/* True for the roles the API accepts: admin, analyst, read_only. */
bool api_role_valid(const char *role);
