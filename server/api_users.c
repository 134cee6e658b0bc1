#include "server/api_users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "server/access_scope.h"
#include "server/db.h"

#define GROUP_IDS_MAX 200
#define GROUP_IDS_TEXT (GROUP_IDS_MAX * 21 + 3)

#define ROLE_FIELD(flags) { "role", HTTP_FT_STRING, (flags), 1, 32 }
#define GROUPS_FIELD { "access_group_ids", HTTP_FT_IDS, 0, 0, GROUP_IDS_MAX }
#define DISPLAY_FIELD { "display_name", HTTP_FT_STRING, HTTP_FF_NO_CTRL, 0, 200 }

static const struct http_field create_fields[] = {
	{ "username", HTTP_FT_STRING, HTTP_FF_REQUIRED | HTTP_FF_NO_CTRL, 1, 256 },
	{ "password", HTTP_FT_STRING, HTTP_FF_REQUIRED, 1, 1024 },
	ROLE_FIELD(HTTP_FF_REQUIRED), GROUPS_FIELD, DISPLAY_FIELD,
};
static const struct http_field update_fields[] = {
	ROLE_FIELD(0), GROUPS_FIELD, DISPLAY_FIELD, { "disabled", HTTP_FT_BOOL, 0, 0, 0 },
};
static const struct http_field password_fields[] = { { "password", HTTP_FT_STRING, HTTP_FF_REQUIRED, 1, 1024 } };
static const struct http_field change_fields[] = {
	{ "current_password", HTTP_FT_STRING, HTTP_FF_REQUIRED, 1, 1024 },
	{ "new_password", HTTP_FT_STRING, HTTP_FF_REQUIRED, 1, 1024 },
};
const struct http_body_spec api_users_create_body = { create_fields, 5, 0 };
const struct http_body_spec api_users_update_body = { update_fields, 4, 1 };
const struct http_body_spec api_users_password_body = { password_fields, 1, 0 };
const struct http_body_spec api_auth_password_body = { change_fields, 2, 0 };

#define USER_JSON                                                                                              \
	"json_build_object('id', u.id, 'username', u.username, 'display_name', u.display_name, 'role', u.role, " \
	"'source', u.source, 'disabled', u.disabled, 'access_group_ids', coalesce((select json_agg("             \
	"g.access_group_id order by g.access_group_id) from user_access_groups g where g.user_id = u.id), '[]'), " \
	"'created_at', " API_TS("u.created_at") ", 'last_login_at', " API_TS("u.last_login_at") ")::text"

bool api_role_valid(const char *role)
{
	return role && (strcmp(role, "admin") == 0 || strcmp(role, "analyst") == 0 || strcmp(role, "read_only") == 0);
}

static bool role_ok(struct api_call *c)
{
	const char *role = api_body_str(c, "role");

	if (!api_body_has(c, "role") || api_role_valid(role))
		return true;
	api_fail(c, 400, "invalid_field", "role", "field 'role' must be admin, analyst or read_only");
	return false;
}

/* Checks the policy and hashes (argon2id: this is the slow part, and we are on a worker). */
static char *new_hash(struct api_call *c, const char *password, const char *field)
{
	char why[128] = "";
	char *hash = NULL;

	if (!password_acceptable(password, why, sizeof(why))) {
		api_fail(c, 400, "weak_password", field, "%s", why);
		return NULL;
	}
	if (password_hash(password, &hash) != 0) {
		api_fail(c, 500, "internal", NULL, "internal error");
		return NULL;
	}
	return hash;
}

/* The user as JSON (new reference) or NULL. */
static json_t *user_json(PGconn *db, const char *id)
{
	const char *params[1] = { id };
	PGresult *res = db_exec(db, "select " USER_JSON " from users u where u.id = $1::bigint", 1, params);
	json_t *out = res && PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;

	PQclear(res);
	return out;
}

/* Replaces the user's access groups when the body has access_group_ids; 400 for an unknown group. */
static bool groups_store(struct api_call *c, PGconn *db, const char *id)
{
	json_t *ids = json_object_get(c->body, "access_group_ids");
	char text[GROUP_IDS_TEXT];
	const char *params[2] = { id, text };
	char state[6];
	PGresult *res;
	bool ok;

	if (!ids)
		return true;
	if (!access_ids_pg_array(ids, text, sizeof(text))) {
		api_fail(c, 400, "invalid_field", "access_group_ids", "field 'access_group_ids' is not valid");
		return false;
	}
	res = db_exec(db, "delete from user_access_groups where user_id = $1::bigint", 1, params);
	if (!res) {
		api_fail_db(c);
		return false;
	}
	PQclear(res);
	res = db_exec_state(db,
			    "insert into user_access_groups (user_id, access_group_id) "
			    "select $1::bigint, unnest($2::bigint[])",
			    2, params, state);
	ok = res != NULL;
	if (!res && strcmp(state, "23503") == 0)
		api_fail(c, 400, "invalid_field", "access_group_ids",
			 "field 'access_group_ids' names an access group that does not exist");
	else if (!res)
		api_fail_db(c);
	PQclear(res);
	return ok;
}

/* Audits before/after, commits, answers with the user. */
static void finish(struct api_call *c, PGconn *db, const char *id, json_t *before, int status, const char *action)
{
	api_commit_audited(c, db, action, id, before, user_json(db, id), status);
}

void api_users_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;

	if (!api_list_params(c, 0, HTTP_ID_INT, &lp))
		return;
	api_list(c, db,
		 "select u.id::text, " USER_JSON " from users u where ($1::bigint is null or u.id > $1::bigint) "
		 "order by u.id limit $2::int",
		 &lp, 0, NULL);
}

void api_users_get(struct api_call *c, PGconn *db)
{
	const char *params[1] = { c->param };

	if (api_id_param(c, "user"))
		api_get_one(c, db, "select " USER_JSON " from users u where u.id = $1::bigint", 1, params, "user");
}

void api_users_create(struct api_call *c, PGconn *db)
{
	char *hash = NULL;
	const char *params[4] = { api_body_str(c, "username"), NULL, api_body_str(c, "role"),
				  api_body_str(c, "display_name") };
	char state[6], id[24];
	PGresult *res = NULL;

	if (!role_ok(c) || !(hash = new_hash(c, api_body_str(c, "password"), "password")))
		return;
	params[1] = hash;
	if (!db_begin(db)) {
		api_fail_db(c);
		goto out;
	}
	res = db_exec_state(db,
			    "insert into users (username, password_hash, source, role, display_name) "
			    "values ($1, $2, 'local', $3, coalesce($4, '')) returning id",
			    4, params, state);
	if (!res) {
		if (strcmp(state, "23505") == 0)
			api_fail(c, 409, "conflict", "username", "a user with this username already exists");
		else
			api_fail_db(c);
		goto out;
	}
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	if (groups_store(c, db, id))
		finish(c, db, id, NULL, 201, "user.create");
out:
	PQclear(res);
	db_rollback(db);
	free(hash);
}

/* Inside a transaction: locks the enabled admins and answers 409 when `id` is the only one and the change
 * would leave none. Returns false after answering. */
static bool keeps_an_admin(struct api_call *c, PGconn *db, const char *id, bool removes_admin)
{
	const char *params[1] = { id };
	PGresult *res;
	bool ok = true;
	int n, self = 0;

	if (!removes_admin)
		return true;
	res = db_exec(db, "select id::text from users where role = 'admin' and not disabled order by id for update", 0,
		      NULL);
	if (!res) {
		api_fail_db(c);
		return false;
	}
	n = PQntuples(res);
	for (int i = 0; i < n; i++)
		self += strcmp(PQgetvalue(res, i, 0), params[0]) == 0;
	if (self && n <= 1) {
		api_fail(c, 409, "last_admin", NULL, "the last enabled admin cannot be removed, disabled or demoted");
		ok = false;
	}
	PQclear(res);
	return ok;
}

void api_users_update(struct api_call *c, PGconn *db)
{
	json_t *disabled = json_object_get(c->body, "disabled");
	const char *role = api_body_str(c, "role");
	const char *params[4] = { c->param, role, disabled ? (json_is_true(disabled) ? "t" : "f") : NULL,
				  api_body_str(c, "display_name") };
	PGresult *res = NULL;
	json_t *before = NULL;
	bool was_admin;

	if (!api_id_param(c, "user") || !role_ok(c))
		return;
	if (!db_begin(db)) {
		api_fail_db(c);
		return;
	}
	before = user_json(db, c->param);
	if (!before) {
		api_fail(c, 404, "not_found", NULL, "user not found");
		goto out;
	}
	was_admin = strcmp(json_string_value(json_object_get(before, "role")), "admin") == 0 &&
		    !json_is_true(json_object_get(before, "disabled"));
	if (!keeps_an_admin(c, db, c->param,
			    was_admin && ((role && strcmp(role, "admin") != 0) || json_is_true(disabled))))
		goto out;
	res = db_exec(db,
		      "update users set role = coalesce($2, role), disabled = coalesce($3::boolean, disabled), "
		      "display_name = coalesce($4, display_name) where id = $1::bigint",
		      4, params);
	if (!res) {
		api_fail_db(c);
		goto out;
	}
	if (groups_store(c, db, c->param))
		finish(c, db, c->param, before, 200, "user.update");
out:
	json_decref(before);
	PQclear(res);
	db_rollback(db);
}

void api_users_delete(struct api_call *c, PGconn *db)
{
	const char *params[1] = { c->param };
	PGresult *res = NULL;
	json_t *before = NULL, *details = NULL;

	if (!api_id_param(c, "user"))
		return;
	if (!db_begin(db)) {
		api_fail_db(c);
		return;
	}
	before = user_json(db, c->param);
	if (!before) {
		api_fail(c, 404, "not_found", NULL, "user not found");
		goto out;
	}
	if (!keeps_an_admin(c, db, c->param, strcmp(json_string_value(json_object_get(before, "role")), "admin") == 0))
		goto out;
	res = db_exec(db, "delete from users where id = $1::bigint", 1, params);
	if (!res) {
		api_fail_db(c);
		goto out;
	}
	details = json_pack("{s:O}", "before", before);
	api_audit(c, db, "user.delete", c->param, details);
	if (!db_commit(db)) {
		api_fail_db(c);
		goto out;
	}
	api_ok(c, 204, NULL);
out:
	json_decref(details);
	json_decref(before);
	PQclear(res);
	db_rollback(db);
}

/* Sets a local user's password hash and ends that user's other sessions (whoever knew the old password may be
 * signed in; the caller's own session stays); 404 when there is no such local user. */
static void store_password(struct api_call *c, PGconn *db, const char *id, const char *hash, const char *action)
{
	const char *params[3] = { id, hash, c->sid };
	PGresult *res = db_exec(db,
				"with u as (update users set password_hash = $2 where id = $1::bigint and source = 'local' "
				"returning id), "
				"s as (update sessions set revoked_at = now() where user_id in (select id from u) "
				"and revoked_at is null and id::text <> $3) "
				"select id from u",
				3, params);

	if (!res) {
		api_fail_db(c);
		return;
	}
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "local user not found");
	} else {
		/* The details never hold the password or its hash. */
		api_audit(c, db, action, id, NULL);
		api_ok(c, 204, NULL);
	}
	PQclear(res);
}

void api_users_password_reset(struct api_call *c, PGconn *db)
{
	char *hash;

	if (!api_id_param(c, "user") || !(hash = new_hash(c, api_body_str(c, "password"), "password")))
		return;
	store_password(c, db, c->param, hash, "user.password_reset");
	free(hash);
}

void api_auth_password_change(struct api_call *c, PGconn *db)
{
	const char *params[1] = { c->user_id };
	PGresult *res = db_exec(db,
				"select password_hash from users where id = $1::bigint and source = 'local' "
				"and password_hash is not null",
				1, params);
	char *hash = NULL;

	if (!res) {
		api_fail_db(c);
		return;
	}
	if (PQntuples(res) == 0) {
		api_fail(c, 409, "not_local", NULL, "only local users have a password to change here");
		goto out;
	}
	if (!password_verify(PQgetvalue(res, 0, 0), api_body_str(c, "current_password"))) {
		api_fail(c, 400, "invalid_credentials", "current_password", "the current password is not correct");
		goto out;
	}
	hash = new_hash(c, api_body_str(c, "new_password"), "new_password");
	if (hash)
		store_password(c, db, c->user_id, hash, "auth.password_change");
out:
	free(hash);
	PQclear(res);
}
