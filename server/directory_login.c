#include "server/directory_login.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/ldap_auth.h"
#include "common/log.h"
#include "server/audit.h"
#include "server/db.h"

bool directory_login_is_directory_name(const char *login)
{
	return strpbrk(login, "@\\") != NULL;
}

static const char *nz(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

int directory_domain_from_row(PGresult *res, int row, struct ldap_domain_cfg *d, json_t **uris_json)
{
	json_t *uris = json_loads(PQgetvalue(res, row, 3), 0, NULL);
	size_t i;
	json_t *u;

	memset(d, 0, sizeof(*d));
	*uris_json = uris;
	if (!json_is_array(uris) || json_array_size(uris) == 0 || json_array_size(uris) > LDAP_AUTH_URIS_MAX)
		return -EINVAL;
	json_array_foreach(uris, i, u) {
		if (!json_is_string(u))
			return -EINVAL;
		d->uris[d->n_uris++] = json_string_value(u);
	}
	d->name = PQgetvalue(res, row, 0);
	d->netbios = PQgetvalue(res, row, 1);
	d->upn_suffix = PQgetvalue(res, row, 2);
	d->start_tls = strcmp(PQgetvalue(res, row, 4), "t") == 0;
	d->ca_pem = PQgetvalue(res, row, 5);
	d->base_dn = PQgetvalue(res, row, 6);
	d->bind_dn = nz(res, row, 7);
	d->bind_password = nz(res, row, 8);
	d->timeout_ms = atoi(PQgetvalue(res, row, 9));
	return 0;
}

static const char *const role_names[] = { NULL, "read_only", "analyst", "admin" };

/* The users row, its access groups and the audit row, in one transaction. */
static int store_user(PGconn *db, const char *username, const char *role, const char *groups_json, const char *dn,
		      char *err, size_t errlen)
{
	const char *up[2] = { username, role };
	PGresult *res = NULL;
	json_t *details = NULL;
	int rc = -EIO;
	char id[24];

	if (!db_begin(db))
		return -EIO;
	/* Only a directory row is updated: a local account with the same name keeps the name (and the login). */
	res = db_exec(db,
		      "insert into users (username, source, role, password_hash) values ($1, 'ad', $2, null) "
		      "on conflict (username) do update set role = excluded.role, last_login_at = now() "
		      "where users.source = 'ad' returning id, disabled",
		      2, up);
	if (!res)
		goto out;
	if (PQntuples(res) != 1) {
		snprintf(err, errlen, "a local account named '%.64s' exists", username);
		rc = -EACCES;
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
		snprintf(err, errlen, "the console account '%.64s' is disabled", username);
		rc = -EACCES;
		goto out;
	}
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	{
		const char *p1[1] = { id };
		const char *p2[2] = { id, groups_json };
		res = db_exec(db, "delete from user_access_groups where user_id = $1", 1, p1);
		if (!res)
			goto out;
		PQclear(res);
		res = db_exec(db,
			      "insert into user_access_groups (user_id, access_group_id) "
			      "select distinct $1::bigint, ma.access_group_id from ad_group_mapping_access_groups ma "
			      "join ad_group_mappings m on m.id = ma.mapping_id "
			      "where m.group_dn in (select json_array_elements_text($2::json))",
			      2, p2);
		if (!res)
			goto out;
	}
	details = json_pack("{s:s, s:s, s:s}", "source", "ad", "role", role, "dn", dn);
	if (audit_write(db, username, "ldap", "auth.directory_sync", username, details) != 0)
		goto out;
	if (!db_commit(db))
		goto out;
	rc = 0;
	goto out_nocommit;
out:
	db_rollback(db);
out_nocommit:
	json_decref(details);
	PQclear(res);
	return rc;
}

int directory_login(PGconn *db, const char *login, const char *password, char username_out[257], char role_out[32],
		    char *err, size_t errlen)
{
	char user[LDAP_TEXT_USER_MAX + 1], domain[LDAP_TEXT_DOMAIN_MAX + 1], canon[257], *groups_json = NULL;
	struct ldap_auth_result ar = { 0 };
	struct ldap_domain_cfg d;
	json_t *uris = NULL, *garr = NULL;
	PGresult *res = NULL, *mres = NULL;
	const char *params[1] = { domain };
	int form, rank, rc = -EACCES;

	username_out[0] = role_out[0] = '\0';
	snprintf(err, errlen, "refused");
	form = ldap_text_login_split(login, user, domain);
	if (form != LDAP_LOGIN_UPN && form != LDAP_LOGIN_NETBIOS) {
		snprintf(err, errlen, "malformed directory login name");
		goto out;
	}
	res = db_exec(db,
		      form == LDAP_LOGIN_UPN
			      ? "select " DIRECTORY_DOMAIN_COLUMNS " from ldap_domains where enabled and "
				"(lower(name) = lower($1) or lower(upn_suffix) = lower($1)) order by id limit 1"
			      : "select " DIRECTORY_DOMAIN_COLUMNS " from ldap_domains where enabled and "
				"lower(netbios) = lower($1) order by id limit 1",
		      1, params);
	if (!res) {
		rc = -EIO;
		goto out;
	}
	if (PQntuples(res) != 1) {
		snprintf(err, errlen, "no enabled directory domain '%.64s'", domain);
		goto out;
	}
	if (directory_domain_from_row(res, 0, &d, &uris) != 0) {
		snprintf(err, errlen, "domain '%.64s' has unusable settings", domain);
		rc = -EHOSTUNREACH;
		goto out;
	}
	if (ldap_auth_login(&d, user, password, &ar) != 0) {
		snprintf(err, errlen, "domain %.64s: %s via %.100s: %s", d.name, ldap_auth_class_name(ar.err), ar.uri,
			 ar.message);
		/* Not the user's doing, and before the directory judged the password: no server of the domain could be
		 * resolved, reached or trusted, or its settings are unusable. Retrying the password cannot help, so the
		 * caller says so. Anything after a successful bind (the entry or groups unreadable) must look like a
		 * wrong password, or the answer would tell a guesser that the password was right. */
		if (ar.err == LDAP_AUTH_CONFIG || ar.err == LDAP_AUTH_DNS || ar.err == LDAP_AUTH_TCP ||
		    ar.err == LDAP_AUTH_TLS_CERTIFICATE)
			rc = -EHOSTUNREACH;
		goto out;
	}
	garr = json_array();
	for (size_t i = 0; garr && i < ar.n_groups; i++)
		if (json_array_append_new(garr, json_string(ar.groups[i])) != 0)
			break;
	if (!garr || json_array_size(garr) != ar.n_groups || !(groups_json = json_dumps(garr, JSON_COMPACT))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	{
		const char *mp[1] = { groups_json };
		mres = db_exec(db,
			       "select coalesce(max(case role when 'admin' then 3 when 'analyst' then 2 else 1 end), 0) "
			       "from ad_group_mappings where group_dn in (select json_array_elements_text($1::json))",
			       1, mp);
	}
	if (!mres) {
		rc = -EIO;
		goto out;
	}
	rank = atoi(PQgetvalue(mres, 0, 0));
	if (rank < 1 || rank > 3) {
		snprintf(err, errlen, "domain %.64s: user '%.64s' is in no mapped group (%zu groups)", d.name, user,
			 ar.n_groups);
		goto out;
	}
	snprintf(canon, sizeof(canon), "%s@%s", user, d.upn_suffix);
	for (char *p = canon; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	rc = store_user(db, canon, role_names[rank], groups_json, ar.user_dn, err, errlen);
	if (rc != 0)
		goto out;
	snprintf(username_out, 257, "%s", canon);
	snprintf(role_out, 32, "%s", role_names[rank]);
	err[0] = '\0';
out:
	ldap_auth_result_free(&ar);
	free(groups_json);
	json_decref(garr);
	json_decref(uris);
	PQclear(mres);
	PQclear(res);
	return rc;
}
