/* POST /external/authentication/{validation,set_password,set_password_by_admin} (docs/external-api.md): the
 * incumbent's password calls, without a token. Credentials are checked by the login's own code
 * (api_auth_verify_password: lock-out, directory accounts, failures audited); the routes carry API_R_LOGIN and
 * API_R_COSTLY, so a 401 counts against the client's address and the hashing cannot starve the workers. */
#include "server/api_external.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "server/db.h"
#include "server/directory_login.h"

#define USER_FIELD(n) { n, HTTP_FT_STRING, HTTP_FF_REQUIRED | HTTP_FF_NO_CTRL, 1, 256 }
#define PASSWORD_FIELD(n) { n, HTTP_FT_STRING, HTTP_FF_REQUIRED, 1, 1024 }
static const struct http_field validation_fields[] = { USER_FIELD("username"), PASSWORD_FIELD("password") };
static const struct http_field set_fields[] = { USER_FIELD("username"), PASSWORD_FIELD("password"),
						PASSWORD_FIELD("new_password") };
static const struct http_field admin_fields[] = { USER_FIELD("admin_username"), PASSWORD_FIELD("admin_password"),
						  USER_FIELD("username"), PASSWORD_FIELD("new_password") };
const struct http_body_spec api_external_validation_body = { validation_fields, 2, 0 };
const struct http_body_spec api_external_set_password_body = { set_fields, 3, 0 };
const struct http_body_spec api_external_set_password_admin_body = { admin_fields, 4, 0 };

/* Verifies the credentials; on success the caller is that user (c->username). Answers 401/500 otherwise. */
static bool verify(struct api_call *c, PGconn *db, const char *user_field, const char *password_field, char role[32])
{
	char user[257];
	int rc = api_auth_verify_password(c, db, api_body_str(c, user_field), api_body_str(c, password_field), user,
					  role);

	if (rc == -EIO) {
		api_fail_db(c);
		return false;
	}
	if (rc == -EHOSTUNREACH) {
		api_fail_directory_unavailable(c);
		return false;
	}
	if (rc != 0) {
		api_fail(c, 401, "invalid_credentials", NULL, "invalid username or password");
		return false;
	}
	snprintf(c->username, sizeof(c->username), "%s", user);
	return true;
}

/* The new password: policy checked (400), then hashed (heap). */
static char *new_hash(struct api_call *c)
{
	const char *password = api_body_str(c, "new_password");
	char why[128] = "";
	char *hash = NULL;

	if (!password_acceptable(password, why, sizeof(why))) {
		api_fail(c, 400, "weak_password", "new_password", "%s", why);
		return NULL;
	}
	if (password_hash(password, &hash) != 0) {
		api_fail(c, 500, "internal", NULL, "internal error");
		return NULL;
	}
	return hash;
}

/* Sets the local user's password and ends its sessions; audits `action`. 404 for no such local user. */
static void store(struct api_call *c, PGconn *db, const char *username, const char *hash, const char *action)
{
	const char *params[2] = { username, hash };
	PGresult *res = db_exec(db,
				"with u as (update users set password_hash = $2 where username = $1 and source = 'local' "
				"returning id), "
				"s as (update sessions set revoked_at = now() where user_id in (select id from u) "
				"and revoked_at is null) "
				"select id::text from u",
				2, params);

	if (!res) {
		api_fail_db(c);
		return;
	}
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", "username", "local user not found");
	} else {
		json_t *details = json_pack("{s:s, s:s}", "username", username, "via", "external_api");
		/* The details never hold the password or its hash. */
		api_audit(c, db, action, PQgetvalue(res, 0, 0), details);
		json_decref(details);
		api_ok(c, 200, json_pack("{s:s}", "msg", "Password changed."));
	}
	PQclear(res);
}

/* Directory accounts have no password here; answered before any hashing. */
static bool local_name(struct api_call *c, const char *username)
{
	if (!directory_login_is_directory_name(username))
		return true;
	api_fail(c, 409, "not_local", "username", "only local users have a password to change here");
	return false;
}

void api_external_validation(struct api_call *c, PGconn *db)
{
	char role[32];

	if (!verify(c, db, "username", "password", role))
		return;
	api_audit(c, db, "auth.validation", c->username, NULL);
	api_ok(c, 200, json_pack("{s:s}", "msg", "Authentication succeeded."));
}

void api_external_set_password(struct api_call *c, PGconn *db)
{
	char role[32], why[128] = "";
	char *hash = NULL;

	if (!local_name(c, api_body_str(c, "username")))
		return;
	if (!password_acceptable(api_body_str(c, "new_password"), why, sizeof(why))) {
		api_fail(c, 400, "weak_password", "new_password", "%s", why);
		return;
	}
	if (!verify(c, db, "username", "password", role) || !(hash = new_hash(c)))
		return;
	store(c, db, c->username, hash, "auth.password_change");
	free(hash);
}

void api_external_set_password_admin(struct api_call *c, PGconn *db)
{
	const char *target = api_body_str(c, "username");
	char role[32], why[128] = "";
	char *hash = NULL;

	if (!local_name(c, target))
		return;
	if (!password_acceptable(api_body_str(c, "new_password"), why, sizeof(why))) {
		api_fail(c, 400, "weak_password", "new_password", "%s", why);
		return;
	}
	if (!verify(c, db, "admin_username", "admin_password", role))
		return;
	if (strcmp(role, "admin") != 0) {
		api_fail(c, 403, "forbidden", "admin_username", "setting another user's password needs an admin");
		return;
	}
	if (!(hash = new_hash(c)))
		return;
	store(c, db, target, hash, "user.password_reset");
	free(hash);
}
