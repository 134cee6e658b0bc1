#include "server/api_auth.h"

#include <errno.h>
#include <event2/http.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/password.h"
#include "auth/session_token.h"
#include "common/log.h"
#include "common/pki.h"
#include "common/timefmt.h"
#include "server/api_external.h"
#include "server/auth_guard.h"
#include "server/db.h"
#include "server/directory_login.h"
#include "server/state.h"

#define API_AUTH_TOKEN_MAX 4096
#define SECRET_BYTES 32 /* refresh tokens and API tokens: 256 bits */
#define CSRF_BYTES 16

static const struct http_field login_fields[] = {
	{ "username", HTTP_FT_STRING, HTTP_FF_REQUIRED | HTTP_FF_NO_CTRL, 1, 256 },
	{ "password", HTTP_FT_STRING, HTTP_FF_REQUIRED, 1, 1024 },
};
const struct http_body_spec api_auth_login_body = { login_fields, 2, 0 };

static const struct http_field refresh_fields[] = {
	{ "refresh_token", HTTP_FT_STRING, HTTP_FF_NO_CTRL, 1, 100 },
};
const struct http_body_spec api_auth_refresh_body = { refresh_fields, 1, 0 };

/* Copies the value of cookie `name` out of a Cookie header. */
static bool cookie_value(const char *hdr, const char *name, char *out, size_t outlen)
{
	const char *p = hdr;
	size_t name_len = strlen(name);

	while (p && *p) {
		while (*p == ' ' || *p == ';')
			p++;
		if (strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
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

/* Double submit: the header must repeat the otw_csrf cookie, which only pages of our origin can read. */
static bool csrf_ok(struct evkeyvalq *h)
{
	const char *cookie = evhttp_find_header(h, "Cookie");
	const char *sent = evhttp_find_header(h, API_AUTH_CSRF_HEADER);
	char want[128];

	return cookie && sent && cookie_value(cookie, API_AUTH_CSRF_COOKIE, want, sizeof(want)) &&
	       auth_token_equal(want, sent);
}

/* Hex SHA-256 of a secret: what the database stores and looks up. */
static void secret_hash(const char *secret, char hex[65])
{
	uint8_t d[32];

	pki_sha256(secret, strlen(secret), d);
	pki_hex(d, sizeof(d), hex);
}

int api_auth_session(const struct api_env *env, struct evhttp_request *req, struct api_call *c)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *authz = evhttp_find_header(h, "Authorization");
	const char *cookie = evhttp_find_header(h, "Cookie");
	char token[API_AUTH_TOKEN_MAX + 1];
	struct session_claims claims;
	bool found = false;

	c->auth = API_AUTHN_NONE;
	if (authz) {
		/* The incumbent's scripts send a bare token (`Authorization: <token>`): accepted on /external routes,
		 * for API tokens only (docs/external-api.md). */
		bool bare = (c->route->flags & API_R_EXTERNAL) && strncasecmp(authz, "Bearer ", 7) != 0 &&
			    strncmp(authz, API_TOKEN_PREFIX, strlen(API_TOKEN_PREFIX)) == 0;
		const char *presented = bare ? authz : authz + 7;
		/* An Authorization header that is not a Bearer token is an error, not a cue to try the cookie. */
		if (!bare && strncasecmp(authz, "Bearer ", 7) != 0)
			return 401;
		snprintf(token, sizeof(token), "%s", presented);
		found = strlen(presented) <= API_AUTH_TOKEN_MAX;
		if (found && strncmp(token, API_TOKEN_PREFIX, strlen(API_TOKEN_PREFIX)) == 0) {
			/* An API token: checked against its hash on the worker (server/api_principal.c). */
			if (strlen(token) > 200)
				return 401;
			secret_hash(token, c->token_hash);
			c->auth = API_AUTHN_TOKEN;
			return 0;
		}
	} else if (cookie) {
		found = cookie_value(cookie, API_AUTH_COOKIE, token, sizeof(token));
	}
	if (!found || !token[0])
		return 401;
	if (session_token_verify(env->st->jwt_key, token, (int64_t)time(NULL), &claims) != 0)
		return 401;
	c->auth = authz ? API_AUTHN_BEARER : API_AUTHN_COOKIE;
	if (c->auth == API_AUTHN_COOKIE && c->method != API_GET && !csrf_ok(h))
		return 403;
	snprintf(c->username, sizeof(c->username), "%s", claims.username);
	snprintf(c->role, sizeof(c->role), "%s", claims.role);
	snprintf(c->sid, sizeof(c->sid), "%s", claims.sid);
	c->session_expires = claims.expires_at;
	return 0;
}

int api_auth_refresh_prepare(struct evhttp_request *req, struct api_call *c)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *cookie = evhttp_find_header(h, "Cookie");

	c->refresh[0] = '\0';
	if (!cookie || !cookie_value(cookie, API_AUTH_REFRESH_COOKIE, c->refresh, sizeof(c->refresh)))
		return 0;
	return csrf_ok(h) ? 0 : 403;
}

/* Appends one Set-Cookie value to c->set_cookie (values are separated by '\n'; http_server.c sends one header
 * each). */
static void add_cookie(struct api_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_cookie(struct api_call *c, const char *fmt, ...)
{
	va_list ap;
	char *one = NULL, *all = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&one, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (!c->set_cookie) {
		c->set_cookie = one;
		return;
	}
	if (asprintf(&all, "%s\n%s", c->set_cookie, one) >= 0) {
		free(c->set_cookie);
		c->set_cookie = all;
	}
	free(one);
}

static void clear_cookies(struct api_call *c)
{
	add_cookie(c, "%s=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0", API_AUTH_COOKIE);
	add_cookie(c, "%s=; HttpOnly; Secure; SameSite=Strict; Path=/api/v1/auth/refresh; Max-Age=0",
		   API_AUTH_REFRESH_COOKIE);
	add_cookie(c, "%s=; Secure; SameSite=Strict; Path=/; Max-Age=0", API_AUTH_CSRF_COOKIE);
}

/* A fresh random secret as unpadded base64url (43 characters for 32 bytes). */
static int new_secret(size_t nbytes, char *out)
{
	uint8_t raw[SECRET_BYTES];
	int rc;

	if (nbytes > sizeof(raw))
		return -EINVAL;
	if ((rc = pki_random_bytes(raw, nbytes)) < 0)
		return rc;
	pki_base64url(raw, nbytes, out);
	return 0;
}

/* Issues the JWT for session sid (valid for access_token_ttl, never past the session's end) and answers
 * {"token","expires_at","refresh_token","user"} with the three cookies. */
static void answer_session(struct api_call *c, const char *username, const char *role, const char *sid,
			   int64_t session_end, const char *refresh)
{
	int64_t now = (int64_t)time(NULL);
	int64_t ttl = c->env->access_ttl_sec, left = session_end - now;
	struct session_claims claims;
	char expires[TIMEFMT_LEN], csrf[64];
	char *jwt = NULL;

	if (left < ttl)
		ttl = left;
	if (ttl <= 0 || new_secret(CSRF_BYTES, csrf) < 0 ||
	    session_token_issue(c->env->st->jwt_key, username, role, sid, ttl, &jwt) != 0 ||
	    session_token_verify(c->env->st->jwt_key, jwt, now, &claims) != 0) {
		api_fail(c, 500, "internal", NULL, "cannot issue session");
		goto out;
	}
	/* otw_session first: clients that read one Set-Cookie header get the session. */
	add_cookie(c, "%s=%s; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=%lld", API_AUTH_COOKIE, jwt,
		   (long long)(claims.expires_at - claims.issued_at));
	add_cookie(c, "%s=%s; HttpOnly; Secure; SameSite=Strict; Path=/api/v1/auth/refresh; Max-Age=%lld",
		   API_AUTH_REFRESH_COOKIE, refresh, (long long)left);
	add_cookie(c, "%s=%s; Secure; SameSite=Strict; Path=/; Max-Age=%lld", API_AUTH_CSRF_COOKIE, csrf,
		   (long long)left);
	timefmt_rfc3339_ms(claims.expires_at * 1000000, expires);
	api_ok(c, 200,
	       json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "token", jwt, "expires_at", expires, "refresh_token",
			 refresh, "user", "username", username, "role", claims.role));
out:
	free(jwt);
}

/* Records a failed password for a local account and locks it with backoff (auth_guard.h). */
static void local_failure(struct api_call *c, PGconn *db, const char *user_id, const char *username)
{
	const char *p1[1] = { user_id };
	char secs[24];
	const char *p2[2] = { user_id, secs };
	PGresult *res = db_exec(db,
				"update users set failed_logins = failed_logins + 1 where id = $1::bigint "
				"returning failed_logins",
				1, p1);
	int64_t failures, backoff;
	json_t *details;

	if (!res || PQntuples(res) != 1)
		goto out;
	failures = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	backoff = auth_lock_backoff_sec(failures);
	if (backoff == 0)
		goto out;
	snprintf(secs, sizeof(secs), "%" PRId64, backoff);
	PQclear(res);
	res = db_exec(db,
		      "update users set locked_until = greatest(coalesce(locked_until, now()), "
		      "now() + $2::bigint * interval '1 second') where id = $1::bigint",
		      2, p2);
	log_warn("api: user '%.64s' locked for %" PRId64 "s after %" PRId64 " failed logins (last from %s)",
		 username, backoff, failures, c->client);
	details = json_pack("{s:s, s:I, s:I}", "username", username, "failures", (json_int_t)failures,
			    "locked_for_sec", (json_int_t)backoff);
	api_audit(c, db, "auth.locked", username, details);
	json_decref(details);
out:
	PQclear(res);
}

/* Creates the sessions row for username and answers the session. */
static void start_session(struct api_call *c, PGconn *db, const char *username, const char *role)
{
	char refresh[64], hash[65], ttl[24];
	const char *params[4] = { username, ttl, c->client, hash };
	PGresult *res;

	if (new_secret(SECRET_BYTES, refresh) < 0) {
		api_fail(c, 500, "internal", NULL, "cannot issue session");
		return;
	}
	secret_hash(refresh, hash);
	snprintf(ttl, sizeof(ttl), "%" PRId64, c->env->session_ttl_sec);
	res = db_exec(db,
		      "insert into sessions (user_id, expires_at, client, refresh_hash) "
		      "select id, now() + $2::bigint * interval '1 second', $3, decode($4, 'hex') from users "
		      "where username = $1 returning id::text, floor(extract(epoch from expires_at))::bigint",
		      4, params);
	if (!res || PQntuples(res) != 1) {
		api_fail_db(c);
		PQclear(res);
		return;
	}
	answer_session(c, username, role, PQgetvalue(res, 0, 0), strtoll(PQgetvalue(res, 0, 1), NULL, 10), refresh);
	PQclear(res);
}

int api_auth_verify_password(struct api_call *c, PGconn *db, const char *username, const char *password,
			     char user_out[257], char role_out[32])
{
	const char *params[1] = { username };
	PGresult *res = NULL;
	json_t *details = NULL;
	char dir_user[257], dir_role[32], why[256], user_id[24] = "";
	char role[32] = "";
	bool ok;
	int rc = -EACCES;

	if (directory_login_is_directory_name(username)) {
		/* user@domain and DOMAIN\user are directory accounts only; plain names are local accounts only. The
		 * client gets the same 401 as for a local failure, the log the real reason; only a directory that
		 * could not be used is told apart (-EHOSTUNREACH: the user can do nothing but wait or ask). */
		int drc = directory_login(db, username, password, dir_user, dir_role, why, sizeof(why));
		if (drc == -EIO) {
			rc = -EIO;
			goto out;
		}
		if (drc == -EHOSTUNREACH) {
			log_warn("api: directory login for '%.64s' from %s failed: %s", username, c->client, why);
			details = json_pack("{s:s, s:s}", "username", username, "reason", "directory_unavailable");
			api_audit(c, db, "auth.login_failed", username, details);
			rc = -EHOSTUNREACH;
			goto out;
		}
		if (drc != 0)
			log_info("api: directory login for '%.64s' from %s refused: %s", username, c->client, why);
		ok = drc == 0;
		snprintf(role, sizeof(role), "%s", dir_role);
		if (ok)
			username = params[0] = dir_user;
	} else {
		bool locked;
		res = db_exec(db,
			      "select password_hash, role, id::text, coalesce(locked_until > now(), false) from users "
			      "where username = $1 and source = 'local' and not disabled and password_hash is not null",
			      1, params);
		if (!res) {
			rc = -EIO;
			goto out;
		}
		locked = PQntuples(res) == 1 && PQgetvalue(res, 0, 3)[0] == 't';
		if (PQntuples(res) == 1)
			snprintf(user_id, sizeof(user_id), "%s", PQgetvalue(res, 0, 2));
		/* A locked account is refused whatever the password, after one hash against the dummy (an unknown user
		 * costs one as well): timing tells neither which part was wrong nor that the account is locked. */
		ok = password_verify(PQntuples(res) == 1 && !locked ? PQgetvalue(res, 0, 0) : NULL, password) && !locked;
		if (ok)
			snprintf(role, sizeof(role), "%s", PQgetvalue(res, 0, 1));
		if (locked)
			log_info("api: login for locked user '%.64s' from %s refused", username, c->client);
	}
	if (!ok) {
		details = json_pack("{s:s}", "username", username);
		api_audit(c, db, "auth.login_failed", username, details);
		log_info("api: failed login for user '%.64s' from %s", username, c->client);
		if (user_id[0])
			local_failure(c, db, user_id, username);
		goto out;
	}
	PQclear(db_exec(db,
			"update users set last_login_at = now(), failed_logins = 0, locked_until = null "
			"where username = $1",
			1, params));
	snprintf(user_out, 257, "%s", username);
	snprintf(role_out, 32, "%s", role);
	rc = 0;
out:
	json_decref(details);
	PQclear(res);
	return rc;
}

void api_fail_directory_unavailable(struct api_call *c)
{
	api_fail(c, 503, "directory_unavailable", NULL,
		 "the directory of this account cannot be used right now; try again later, sign in with a local "
		 "account, or ask an administrator to run the directory's connection test");
}

void api_auth_login(struct api_call *c, PGconn *db)
{
	char username[257], role[32];
	int rc = api_auth_verify_password(c, db, api_body_str(c, "username"), api_body_str(c, "password"), username,
					  role);

	if (rc == -EIO) {
		api_fail_db(c);
		return;
	}
	if (rc == -EHOSTUNREACH) {
		api_fail_directory_unavailable(c);
		return;
	}
	if (rc != 0) {
		api_fail(c, 401, "invalid_credentials", NULL, "invalid username or password");
		return;
	}
	snprintf(c->username, sizeof(c->username), "%s", username);
	api_audit(c, db, "auth.login", username, NULL);
	start_session(c, db, username, role);
}

void api_auth_refresh(struct api_call *c, PGconn *db)
{
	const char *presented = api_body_str(c, "refresh_token");
	char old_hash[65], new_hash[65], refresh[64], idle[24];
	const char *params[3] = { old_hash, new_hash, idle };
	PGresult *res = NULL;

	if (!presented)
		presented = c->refresh[0] ? c->refresh : NULL;
	if (!presented) {
		api_fail(c, 401, "unauthorized", NULL, "authentication required");
		return;
	}
	if (new_secret(SECRET_BYTES, refresh) < 0) {
		api_fail(c, 500, "internal", NULL, "cannot issue session");
		return;
	}
	secret_hash(presented, old_hash);
	secret_hash(refresh, new_hash);
	snprintf(idle, sizeof(idle), "%" PRId64, c->env->session_idle_sec);
	res = db_exec(db,
		      "update sessions s set prev_refresh_hash = s.refresh_hash, refresh_hash = decode($2, 'hex'), "
		      "last_seen_at = now() from users u "
		      "where u.id = s.user_id and not u.disabled and s.refresh_hash = decode($1, 'hex') "
		      "and s.revoked_at is null and s.expires_at > now() "
		      "and s.last_seen_at > now() - $3::bigint * interval '1 second' "
		      "returning s.id::text, u.username, u.role, floor(extract(epoch from s.expires_at))::bigint",
		      3, params);
	if (!res) {
		api_fail_db(c);
		return;
	}
	if (PQntuples(res) == 1) {
		snprintf(c->username, sizeof(c->username), "%s", PQgetvalue(res, 0, 1));
		answer_session(c, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 0),
			       strtoll(PQgetvalue(res, 0, 3), NULL, 10), refresh);
		goto out;
	}
	PQclear(res);
	/* A refresh token that was already replaced: someone kept a copy. End the session for both holders. */
	res = db_exec(db,
		      "update sessions s set revoked_at = now() from users u where u.id = s.user_id "
		      "and s.prev_refresh_hash = decode($1, 'hex') and s.revoked_at is null returning u.username",
		      1, params);
	if (res && PQntuples(res) == 1) {
		json_t *details = json_pack("{s:s}", "client", c->client);
		snprintf(c->username, sizeof(c->username), "%s", PQgetvalue(res, 0, 0));
		log_warn("api: replayed refresh token for user '%.64s' from %s: session revoked", c->username,
			 c->client);
		api_audit(c, db, "auth.refresh_reused", c->username, details);
		json_decref(details);
	}
	clear_cookies(c);
	api_fail(c, 401, "unauthorized", NULL, "authentication required");
out:
	PQclear(res);
}

void api_auth_logout(struct api_call *c, PGconn *db)
{
	/* The session row is revoked: the JWT, its refresh token and any copy stop working at once. */
	if (c->sid[0]) {
		const char *params[1] = { c->sid };
		PGresult *res = db_exec(db, "update sessions set revoked_at = now() where id = $1::uuid "
					    "and revoked_at is null", 1, params);
		if (!res) {
			api_fail_db(c);
			return;
		}
		PQclear(res);
	}
	clear_cookies(c);
	api_audit(c, db, "auth.logout", c->username, NULL);
	api_ok(c, 204, NULL);
}

void api_auth_me(struct api_call *c, PGconn *db)
{
	char expires[TIMEFMT_LEN];

	(void)db;
	if (c->auth == API_AUTHN_TOKEN) {
		api_ok(c, 200, json_pack("{s:{s:s, s:s}, s:n}", "user", "username", c->username, "role", c->role,
					 "expires_at"));
		return;
	}
	timefmt_rfc3339_ms(c->session_expires * 1000000, expires);
	api_ok(c, 200,
	       json_pack("{s:{s:s, s:s}, s:s}", "user", "username", c->username, "role", c->role, "expires_at",
			 expires));
}
