/* Sessions: login/logout/me handlers and the session check every non-public route passes.
 * A session is a JWT (auth/session_token.h) sent as `Authorization: Bearer <jwt>` or the otw_session cookie. */
#pragma once
#include <libpq-fe.h>
#include <stdbool.h>

#include "server/api_router.h"

#define API_AUTH_COOKIE "otw_session"

extern const struct http_body_spec api_auth_login_body;

/* Loop thread: finds and verifies the request's session token (signature and expiry only, no database),
 * filling c->username/role/session_expires. Returns false when there is no valid token. */
bool api_auth_session(const struct api_env *env, struct evhttp_request *req, struct api_call *c)
	__attribute__((warn_unused_result));

void api_auth_login(struct api_call *c, PGconn *db);
void api_auth_logout(struct api_call *c, PGconn *db);
void api_auth_me(struct api_call *c, PGconn *db);
