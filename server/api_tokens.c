#include "server/api_tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/pki.h"
#include "server/access_scope.h"
#include "server/db.h"

#define GROUP_IDS_MAX 200
#define GROUP_IDS_TEXT (GROUP_IDS_MAX * 21 + 3)
#define TOKEN_BYTES 32

static const struct http_field create_fields[] = {
	{ "name", HTTP_FT_STRING, HTTP_FF_REQUIRED | HTTP_FF_NO_CTRL, 1, 128 },
	{ "role", HTTP_FT_STRING, HTTP_FF_REQUIRED, 1, 32 },
	{ "access_group_ids", HTTP_FT_IDS, 0, 0, GROUP_IDS_MAX },
};
const struct http_body_spec api_tokens_create_body = { create_fields, 3, 0 };

#define TOKEN_JSON                                                                                              \
	"json_build_object('id', t.id, 'name', t.name, 'role', t.role, 'access_group_ids', "                     \
	"coalesce((select json_agg(g.access_group_id order by g.access_group_id) from api_token_access_groups g " \
	"where g.api_token_id = t.id), '[]'), 'created_by', t.created_by, 'created_at', " API_TS("t.created_at")  \
	", 'last_used_at', " API_TS("t.last_used_at") ", 'revoked_at', " API_TS("t.revoked_at") ")::text"

static bool role_ok(const char *r)
{
	return r && (strcmp(r, "admin") == 0 || strcmp(r, "analyst") == 0 || strcmp(r, "read_only") == 0);
}

void api_tokens_create(struct api_call *c, PGconn *db)
{
	const char *name = api_body_str(c, "name"), *role = api_body_str(c, "role");
	json_t *ids = json_object_get(c->body, "access_group_ids");
	uint8_t raw[TOKEN_BYTES], digest[32];
	char token[4 + TOKEN_BYTES * 4 / 3 + 4], hash[65], groups[GROUP_IDS_TEXT] = "{}", state[6];
	const char *params[4] = { name, hash, role, c->username };
	const char *gparams[2] = { NULL, groups };
	PGresult *res = NULL, *gres;
	json_t *out = NULL, *details = NULL;
	bool in_tx = false;

	if (!role_ok(role)) {
		api_fail(c, 400, "invalid_field", "role", "field 'role' must be admin, analyst or read_only");
		return;
	}
	if (ids && !access_ids_pg_array(ids, groups, sizeof(groups))) {
		api_fail(c, 400, "invalid_field", "access_group_ids", "field 'access_group_ids' is not valid");
		return;
	}
	if (pki_random_bytes(raw, sizeof(raw)) < 0) {
		api_fail(c, 500, "internal", NULL, "internal error");
		return;
	}
	memcpy(token, "otw_", 4);
	pki_base64url(raw, sizeof(raw), token + 4);
	pki_sha256(token, strlen(token), digest);
	pki_hex(digest, sizeof(digest), hash);
	if (!db_begin(db)) {
		api_fail_db(c);
		return;
	}
	in_tx = true;
	res = db_exec_state(db,
			    "insert into api_tokens (name, token_hash, role, created_by) "
			    "values ($1, decode($2, 'hex'), $3, $4) returning id::text",
			    4, params, state);
	if (!res) {
		if (strcmp(state, "23505") == 0)
			api_fail(c, 409, "conflict", "name", "an API token with this name exists");
		else
			api_fail_db(c);
		goto out;
	}
	gparams[0] = PQgetvalue(res, 0, 0);
	gres = db_exec_state(db,
				       "insert into api_token_access_groups (api_token_id, access_group_id) "
				       "select $1::bigint, unnest($2::bigint[])",
				       2, gparams, state);
	if (!gres) {
		if (strcmp(state, "23503") == 0)
			api_fail(c, 400, "invalid_field", "access_group_ids",
				 "field 'access_group_ids' names an access group that does not exist");
		else
			api_fail_db(c);
		goto out;
	}
	PQclear(gres);
	gres = db_exec(db, "select " TOKEN_JSON " from api_tokens t where t.id = $1::bigint", 1, gparams);
	if (!gres || PQntuples(gres) != 1 || !(out = json_loads(PQgetvalue(gres, 0, 0), 0, NULL))) {
		PQclear(gres);
		api_fail_db(c);
		goto out;
	}
	PQclear(gres);
	/* The audit gets the token's description, never the token or its hash. */
	details = json_pack("{s:O}", "after", out);
	api_audit(c, db, "api_token.create", name, details);
	if (!db_commit(db)) {
		in_tx = false;
		api_fail_db(c);
		goto out;
	}
	in_tx = false;
	json_object_set_new(out, "token", json_string(token));
	api_ok(c, 201, out);
	out = NULL;
out:
	if (in_tx)
		db_rollback(db);
	OPENSSL_cleanse(token, sizeof(token));
	json_decref(out);
	json_decref(details);
	PQclear(res);
}

void api_tokens_list(struct api_call *c, PGconn *db)
{
	PGresult *res = db_exec(db,
				"select coalesce(json_agg(x.j order by x.id desc), '[]')::text from "
				"(select t.id, (" TOKEN_JSON ")::json as j from api_tokens t) x",
				0, NULL);
	json_t *items;

	if (!res || PQntuples(res) != 1) {
		PQclear(res);
		api_fail_db(c);
		return;
	}
	items = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	api_ok(c, 200, items ? json_pack("{s:o}", "items", items) : NULL);
}

void api_tokens_delete(struct api_call *c, PGconn *db)
{
	const char *params[1] = { c->param };
	PGresult *res;
	json_t *details;

	if (strspn(c->param, "0123456789") != strlen(c->param) || strlen(c->param) > 18) {
		api_fail(c, 404, "not_found", NULL, "API token not found");
		return;
	}
	res = db_exec(db,
		      "update api_tokens set revoked_at = now() where id = $1::bigint and revoked_at is null "
		      "returning name",
		      1, params);
	if (!res) {
		api_fail_db(c);
		return;
	}
	if (PQntuples(res) != 1) {
		api_fail(c, 404, "not_found", NULL, "API token not found");
		PQclear(res);
		return;
	}
	details = json_pack("{s:s}", "id", c->param);
	api_audit(c, db, "api_token.revoke", PQgetvalue(res, 0, 0), details);
	json_decref(details);
	PQclear(res);
	api_ok(c, 204, NULL);
}
