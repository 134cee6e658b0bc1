#include "server/api_auth.h"

#include <errno.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/password.h"
#include "auth/session_token.h"
#include "common/log.h"
#include "common/timefmt.h"
#include "server/db.h"
#include "server/directory_login.h"
#include "server/state.h"

#define API_AUTH_TOKEN_MAX 4096

static const struct http_field login_fields[] = {
	{ "username", HTTP_FT_STRING, HTTP_FF_REQUIRED | HTTP_FF_NO_CTRL, 1, 256 },
	{ "password", HTTP_FT_STRING, HTTP_FF_REQUIRED, 1, 1024 },
};
const struct http_body_spec api_auth_login_body = { login_fields, 2, 0 };

/* Copies the otw_session cookie value out of a Cookie header. */
static bool cookie_token(const char *hdr, char *out, size_t outlen)
{
	const char *p = hdr;
	size_t name_len = strlen(API_AUTH_COOKIE);

	while (p && *p) {
		while (*p == ' ' || *p == ';')
			p++;
		if (strncmp(p, API_AUTH_COOKIE, name_len) == 0 && p[name_len] == '=') {
			const char *v = p + name_len + 1;
			size_t n = strcspn(v, ";");
			if (n == 0 || n >= outlen)
				return false;
			memcpy(out, v, n);
			out[n] = '\0';
			return true;
		}
		p = strchr(p, ';');
	}
	return false;
}

bool api_auth_session(const struct api_env *env, struct evhttp_request *req, struct api_call *c)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *authz = evhttp_find_header(h, "Authorization");
	const char *cookie = evhttp_find_header(h, "Cookie");
	char token[API_AUTH_TOKEN_MAX + 1];
	struct session_claims claims;
	bool found = false;

	if (authz) {
		/* An Authorization header that is not a Bearer token is an error, not a cue to try the cookie. */
		if (strncasecmp(authz, "Bearer ", 7) != 0)
			return false;
		snprintf(token, sizeof(token), "%s", authz + 7);
		found = strlen(authz + 7) <= API_AUTH_TOKEN_MAX;
	} else if (cookie) {
		found = cookie_token(cookie, token, sizeof(token));
	}
	if (!found || !token[0])
		return false;
	if (session_token_verify(env->st->jwt_key, token, (int64_t)time(NULL), &claims) != 0)
		return false;
	snprintf(c->username, sizeof(c->username), "%s", claims.username);
	snprintf(c->role, sizeof(c->role), "%s", claims.role);
	c->session_expires = claims.expires_at;
	return true;
}

static char *session_cookie(const char *jwt, int64_t max_age)
{
	char *s = NULL;

	if (asprintf(&s, "%s=%s; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=%lld", API_AUTH_COOKIE, jwt,
		     (long long)max_age) < 0)
		return NULL;
	return s;
}

void api_auth_login(struct api_call *c, PGconn *db)
{
	const char *username = api_body_str(c, "username");
	const char *password = api_body_str(c, "password");
	const char *params[1] = { username };
	struct session_claims claims;
	char expires[TIMEFMT_LEN];
	char *jwt = NULL;
	PGresult *res = NULL;
	json_t *details = NULL;
	char dir_user[257], dir_role[32], why[256];
	const char *role = NULL;
	bool ok;

	if (directory_login_is_directory_name(username)) {
		/* user@domain and DOMAIN\user are directory accounts only; plain names are local accounts only. The
		 * client gets the same 401 as for a local failure, the log the real reason. */
		int drc = directory_login(db, username, password, dir_user, dir_role, why, sizeof(why));
		if (drc == -EIO) {
			api_fail_db(c);
			goto out;
		}
		if (drc != 0)
			log_info("api: directory login for '%.64s' from %s refused: %s", username, c->client, why);
		ok = drc == 0;
		role = dir_role;
		if (ok)
			username = params[0] = dir_user;
	} else {
		res = db_exec(db,
			      "select password_hash, role from users "
			      "where username = $1 and source = 'local' and not disabled and password_hash is not null",
			      1, params);
		if (!res) {
			api_fail_db(c);
			goto out;
		}
		/* An unknown user still costs one hash, so timing does not tell which part was wrong. */
		ok = password_verify(PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : NULL, password);
		role = ok ? PQgetvalue(res, 0, 1) : NULL;
	}
	details = json_pack("{s:s}", "username", username);
	if (!ok) {
		api_audit(c, db, "auth.login_failed", username, details);
		log_info("api: failed login for user '%.64s' from %s", username, c->client);
		api_fail(c, 401, "invalid_credentials", NULL, "invalid username or password");
		goto out;
	}
	if (session_token_issue(c->env->st->jwt_key, username, role, c->env->session_ttl_sec, &jwt) != 0 ||
	    session_token_verify(c->env->st->jwt_key, jwt, (int64_t)time(NULL), &claims) != 0) {
		api_fail(c, 500, "internal", NULL, "cannot issue session");
		goto out;
	}
	snprintf(c->username, sizeof(c->username), "%s", username);
	PQclear(db_exec(db, "update users set last_login_at = now() where username = $1", 1, params));
	api_audit(c, db, "auth.login", username, NULL);
	c->set_cookie = session_cookie(jwt, claims.expires_at - claims.issued_at);
	timefmt_rfc3339_ms(claims.expires_at * 1000000, expires);
	api_ok(c, 200,
	       json_pack("{s:s, s:s, s:{s:s, s:s}}", "token", jwt, "expires_at", expires, "user", "username", username,
			 "role", claims.role));
out:
	json_decref(details);
	free(jwt);
	PQclear(res);
}

void api_auth_logout(struct api_call *c, PGconn *db)
{
	/* Sessions are stateless JWTs: logout clears the browser's cookie; a copied token stays valid until it
	 * expires (session_ttl). */
	if (asprintf(&c->set_cookie, "%s=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0", API_AUTH_COOKIE) < 0)
		c->set_cookie = NULL;
	api_audit(c, db, "auth.logout", c->username, NULL);
	api_ok(c, 204, NULL);
}

void api_auth_me(struct api_call *c, PGconn *db)
{
	char expires[TIMEFMT_LEN];

	timefmt_rfc3339_ms(c->session_expires * 1000000, expires);
	api_ok(c, 200,
	       json_pack("{s:{s:s, s:s}, s:s}", "user", "username", c->username, "role", c->role, "expires_at",
			 expires));
}
