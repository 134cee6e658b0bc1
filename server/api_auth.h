/* Sessions: login/refresh/logout/me handlers and the authentication check every non-public route passes.
 *
 * A login creates a `sessions` row (sql/004_sessions.sql) and answers a short-lived JWT (access_token_ttl) naming
 * it (claim sid), plus a refresh token. Browsers get three cookies: otw_session (the JWT; HttpOnly), otw_refresh
 * (HttpOnly, only sent to /api/v1/auth/refresh) and otw_csrf (readable by the page: double-submit CSRF token).
 * Every request re-checks the session row (server/api_principal.c): revoked, idle longer than session_idle or
 * older than session_ttl ends it. POST /api/v1/auth/refresh rotates the refresh token; presenting a replaced one
 * again revokes the session (a stolen copy was used). Integrations use API tokens (`Bearer otw_...`,
 * server/api_tokens.h). */
#pragma once
#include <libpq-fe.h>
#include <stdbool.h>

#include "server/api_router.h"

#define API_AUTH_COOKIE "otw_session"
#define API_AUTH_REFRESH_COOKIE "otw_refresh"
#define API_AUTH_CSRF_COOKIE "otw_csrf"
#define API_AUTH_CSRF_HEADER "X-CSRF-Token"
#define API_TOKEN_PREFIX "otw_"

extern const struct http_body_spec api_auth_login_body;
extern const struct http_body_spec api_auth_refresh_body;

/* Loop thread: finds and checks the request's credentials without the database: a session JWT (signature and
 * expiry; fills c->username/role/sid/session_expires) or an API token (fills c->token_hash). A request that
 * authenticates with the session cookie and is not a GET must carry X-CSRF-Token equal to the otw_csrf cookie.
 * Returns 0, 401 (no valid credentials) or 403 (CSRF check failed). */
int api_auth_session(const struct api_env *env, struct evhttp_request *req, struct api_call *c)
	__attribute__((warn_unused_result));

/* Loop thread, POST /api/v1/auth/refresh: copies the otw_refresh cookie into c->refresh; when the cookie is
 * used the CSRF header must match (returns 403), else 0. */
int api_auth_refresh_prepare(struct evhttp_request *req, struct api_call *c) __attribute__((warn_unused_result));

void api_auth_login(struct api_call *c, PGconn *db);
void api_auth_refresh(struct api_call *c, PGconn *db);
void api_auth_logout(struct api_call *c, PGconn *db);
void api_auth_me(struct api_call *c, PGconn *db);
