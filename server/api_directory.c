#include "server/api_directory.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/ldap_auth.h"
#include "server/db.h"
#include "server/directory_login.h"

#define LDAP_DOMAINS_MAX 16

static const struct http_field settings_fields[] = {
	{ "domains", HTTP_FT_ARRAY, HTTP_FF_REQUIRED, 0, LDAP_DOMAINS_MAX },
};
const struct http_body_spec api_ldap_settings_body = { settings_fields, 1, 0 };

/* The members of one element of "domains" but "uris" (an array of strings, checked by domain_ok), checked with
 * the same table as a body. */
static const struct http_field domain_fields[] = {
	{ "name", HTTP_FT_STRING, HTTP_FF_REQUIRED | HTTP_FF_NO_CTRL, 1, 253 },
	{ "netbios", HTTP_FT_STRING, HTTP_FF_REQUIRED | HTTP_FF_NO_CTRL, 1, 15 },
	{ "upn_suffix", HTTP_FT_STRING, HTTP_FF_NO_CTRL, 1, 253 },
	{ "start_tls", HTTP_FT_BOOL, 0, 0, 0 },
	{ "ca_pem", HTTP_FT_STRING, HTTP_FF_REQUIRED, 1, 65536 },
	{ "base_dn", HTTP_FT_STRING, HTTP_FF_REQUIRED | HTTP_FF_NO_CTRL, 1, LDAP_TEXT_DN_MAX },
	{ "bind_dn", HTTP_FT_STRING, HTTP_FF_NULLABLE | HTTP_FF_NO_CTRL, 1, LDAP_TEXT_DN_MAX },
	{ "bind_password", HTTP_FT_STRING, HTTP_FF_NULLABLE, 1, 1024 },
	{ "timeout_ms", HTTP_FT_ID, 0, 0, 0 },
	{ "enabled", HTTP_FT_BOOL, 0, 0, 0 },
};
static const struct http_body_spec domain_spec = { domain_fields, sizeof(domain_fields) / sizeof(domain_fields[0]), 0 };

static const struct http_field test_fields[] = {
	{ "domain", HTTP_FT_STRING, HTTP_FF_REQUIRED | HTTP_FF_NO_CTRL, 1, 253 },
	{ "username", HTTP_FT_STRING, HTTP_FF_NO_CTRL, 1, LDAP_TEXT_USER_MAX },
	{ "password", HTTP_FT_STRING, 0, 1, 1024 },
};
const struct http_body_spec api_ldap_test_body = { test_fields, 3, 0 };

static const struct http_field mapping_fields[] = {
	{ "group_dn", HTTP_FT_STRING, HTTP_FF_REQUIRED | HTTP_FF_NO_CTRL, 1, LDAP_TEXT_DN_MAX },
	{ "role", HTTP_FT_STRING, HTTP_FF_REQUIRED, 1, 16 },
	{ "access_group_ids", HTTP_FT_IDS, 0, 0, 1000 },
};
const struct http_body_spec api_ad_mapping_create_body = { mapping_fields, 3, 0 };

#define DOMAIN_JSON                                                                                              \
	"json_build_object('name', name, 'netbios', netbios, 'upn_suffix', upn_suffix, 'uris', uris, "            \
	"'start_tls', start_tls, 'ca_pem', ca_pem, 'base_dn', base_dn, 'bind_dn', bind_dn, "                       \
	"'has_bind_password', bind_password is not null, 'timeout_ms', timeout_ms, 'enabled', enabled, "        \
	"'updated_at', " API_TS("updated_at") ")"

#define MAPPING_JSON                                                                                             \
	"json_build_object('id', m.id, 'group_dn', m.group_dn, 'role', m.role, 'access_group_ids', "              \
	"coalesce((select json_agg(a.access_group_id order by a.access_group_id) from "                          \
	"ad_group_mapping_access_groups a where a.mapping_id = m.id), '[]'::json), 'created_at', "                 \
	API_TS("m.created_at") ")::text"

void api_ldap_settings_get(struct api_call *c, PGconn *db)
{
	api_get_one(c, db,
		    "select json_build_object('domains', coalesce(json_agg(" DOMAIN_JSON " order by name), "
		    "'[]'::json))::text from ldap_domains",
		    0, NULL, "settings");
}

static bool dns_name_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
		      *s == '-'))
			return false;
	return true;
}

/* At least one certificate, and nothing in the PEM that OpenSSL cannot read. */
static bool ca_pem_ok(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x;
	int n = 0;

	if (!b)
		return false;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		X509_free(x);
		n++;
	}
	BIO_free(b);
	return n > 0;
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Checks one domain object beyond the field table; answers 400 naming the field and returns false. */
static bool domain_ok(struct api_call *c, json_t *dom, size_t idx)
{
	char field[96], norm[LDAP_TEXT_DN_MAX + 1];
	json_t *uris = json_object_get(dom, "uris"), *u, *st = json_object_get(dom, "start_tls");
	json_t *tmo = json_object_get(dom, "timeout_ms");
	const char *name = jstr(dom, "name"), *netbios = jstr(dom, "netbios"), *upn = jstr(dom, "upn_suffix");
	const char *base = jstr(dom, "base_dn"), *bind_dn = jstr(dom, "bind_dn");
	bool start_tls = json_is_true(st);
	size_t i;

	json_t *rest = json_copy(dom);
	int vrc;

	if (!rest) {
		api_fail(c, 500, "internal", NULL, "out of memory");
		return false;
	}
	json_object_del(rest, "uris");
	vrc = http_json_validate(rest, &domain_spec, &c->err);
	json_decref(rest);
	if (vrc != 0) {
		snprintf(field, sizeof(field), "domains[%zu].%.40s", idx, c->err.field);
		snprintf(c->err.field, sizeof(c->err.field), "%.63s", field);
		c->status = c->err.status;
		return false;
	}
#define BAD(f, ...)                                                                                             \
	do {                                                                                                    \
		snprintf(field, sizeof(field), "domains[%zu].%s", idx, f);                                      \
		api_fail(c, 400, "invalid_field", field, __VA_ARGS__);                                          \
		return false;                                                                                   \
	} while (0)
	if (!dns_name_ok(name) || name[0] == '.' || name[0] == '-')
		BAD("name", "name must be a DNS domain name");
	if (!dns_name_ok(netbios))
		BAD("netbios", "netbios must be letters, digits and '-'");
	if (upn && !dns_name_ok(upn))
		BAD("upn_suffix", "upn_suffix must be a DNS domain name");
	if (!json_is_array(uris) || json_array_size(uris) == 0 || json_array_size(uris) > LDAP_AUTH_URIS_MAX)
		BAD("uris", "uris must list 1 to %d URIs", LDAP_AUTH_URIS_MAX);
	json_array_foreach(uris, i, u) {
		const char *s = json_is_string(u) ? json_string_value(u) : NULL;
		bool ldaps = s && strncmp(s, "ldaps://", 8) == 0, ldap = s && strncmp(s, "ldap://", 7) == 0;
		if (!s || strlen(s) >= LDAP_AUTH_URI_MAX || (!ldaps && !ldap) || strpbrk(s, " \t\r\n") ||
		    !ldap_auth_uri_ok(s))
			BAD("uris", "each URI must be ldaps://host[:port] or ldap://host[:port]");
		if (ldap && !start_tls)
			BAD("uris", "ldap:// URIs need start_tls (plain LDAP binds are refused)");
	}
	if (!ca_pem_ok(jstr(dom, "ca_pem")))
		BAD("ca_pem", "ca_pem must hold at least one PEM certificate");
	if (ldap_text_dn_normalize(base, strlen(base), norm) < 0)
		BAD("base_dn", "base_dn is not a valid DN");
	if (bind_dn && ldap_text_dn_normalize(bind_dn, strlen(bind_dn), norm) < 0)
		BAD("bind_dn", "bind_dn is not a valid DN");
	if (tmo && (json_integer_value(tmo) < 100 || json_integer_value(tmo) > 60000))
		BAD("timeout_ms", "timeout_ms must be 100 to 60000");
#undef BAD
	return true;
}

static void lower_copy(char *out, size_t outlen, const char *s, bool upper)
{
	size_t i = 0;

	for (; s[i] && i + 1 < outlen; i++) {
		char ch = s[i];
		if (!upper && ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (upper && ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		out[i] = ch;
	}
	out[i] = '\0';
}

static bool upsert_domain(struct api_call *c, PGconn *db, json_t *dom)
{
	char name[254], netbios[16], upn[254], tmo[24];
	json_t *st = json_object_get(dom, "start_tls"), *en = json_object_get(dom, "enabled");
	json_t *t = json_object_get(dom, "timeout_ms");
	const char *bind_dn = jstr(dom, "bind_dn"), *upn_in = jstr(dom, "upn_suffix");
	char *uris = json_dumps(json_object_get(dom, "uris"), JSON_COMPACT);
	const char *p[12];
	char sqlstate[6] = "";
	PGresult *res;

	lower_copy(name, sizeof(name), jstr(dom, "name"), false);
	lower_copy(netbios, sizeof(netbios), jstr(dom, "netbios"), true);
	lower_copy(upn, sizeof(upn), upn_in ? upn_in : name, false);
	snprintf(tmo, sizeof(tmo), "%lld", t ? (long long)json_integer_value(t) : 5000LL);
	p[0] = name;
	p[1] = netbios;
	p[2] = upn;
	p[3] = uris;
	p[4] = json_is_true(st) ? "t" : "f";
	p[5] = jstr(dom, "ca_pem");
	p[6] = jstr(dom, "base_dn");
	p[7] = bind_dn;
	p[8] = jstr(dom, "bind_password");
	/* An absent bind_password keeps the stored one (GET never returns it, so a GET-edit-PUT round trip must
	 * not erase it); null clears it. */
	p[9] = json_object_get(dom, "bind_password") ? "f" : "t";
	p[10] = tmo;
	p[11] = en && json_is_false(en) ? "f" : "t";
	if (!uris) {
		api_fail_db(c);
		return false;
	}
	res = db_exec_state(db,
			    "insert into ldap_domains as d (name, netbios, upn_suffix, uris, start_tls, ca_pem, base_dn, "
			    "bind_dn, bind_password, timeout_ms, enabled) values ($1, $2, $3, "
			    "array(select json_array_elements_text($4::json)), $5, $6, $7, $8, "
			    "case when $8::text is null then null else $9 end, $11, $12) "
			    "on conflict (name) do update set netbios = excluded.netbios, upn_suffix = excluded.upn_suffix, "
			    "uris = excluded.uris, start_tls = excluded.start_tls, ca_pem = excluded.ca_pem, "
			    "base_dn = excluded.base_dn, bind_dn = excluded.bind_dn, "
			    "bind_password = case when excluded.bind_dn is null then null when $10::boolean "
			    "then d.bind_password else excluded.bind_password end, timeout_ms = excluded.timeout_ms, "
			    "enabled = excluded.enabled, updated_at = now()",
			    12, p, sqlstate);
	free(uris);
	if (res) {
		PQclear(res);
		return true;
	}
	if (strcmp(sqlstate, "23505") == 0)
		api_fail(c, 409, "conflict", "netbios", "two domains have the NetBIOS name '%s'", netbios);
	else if (strcmp(sqlstate, "23514") == 0)
		api_fail(c, 400, "invalid_field", "domains", "domain '%s' has an invalid value", name);
	else
		api_fail_db(c);
	return false;
}

void api_ldap_settings_put(struct api_call *c, PGconn *db)
{
	json_t *domains = json_object_get(c->body, "domains"), *dom, *names = json_array(), *details = NULL;
	char *names_txt = NULL;
	const char *p[1];
	PGresult *res = NULL;
	size_t i;

	if (!names)
		goto oom;
	json_array_foreach(domains, i, dom) {
		char lname[254];
		if (!domain_ok(c, dom, i))
			goto out;
		lower_copy(lname, sizeof(lname), jstr(dom, "name"), false);
		for (size_t j = 0; j < json_array_size(names); j++)
			if (strcmp(json_string_value(json_array_get(names, j)), lname) == 0) {
				api_fail(c, 400, "invalid_field", "domains", "domain '%s' is listed twice", lname);
				goto out;
			}
		if (json_array_append_new(names, json_string(lname)) != 0)
			goto oom;
	}
	if (!(names_txt = json_dumps(names, JSON_COMPACT)) || !(details = json_pack("{s:O}", "domains", names)))
		goto oom;
	if (!db_begin(db)) {
		api_fail_db(c);
		goto out;
	}
	p[0] = names_txt;
	res = db_exec(db, "delete from ldap_domains where name not in (select json_array_elements_text($1::json))", 1,
		      p);
	if (!res) {
		api_fail_db(c);
		goto rollback;
	}
	json_array_foreach(domains, i, dom)
		if (!upsert_domain(c, db, dom))
			goto rollback;
	api_audit(c, db, "settings.ldap.update", "ldap", details);
	if (!db_commit(db)) {
		api_fail_db(c);
		goto rollback;
	}
	api_ldap_settings_get(c, db);
	goto out;
oom:
	api_fail(c, 500, "internal", NULL, "out of memory");
	goto out;
rollback:
	db_rollback(db);
out:
	PQclear(res);
	free(names_txt);
	json_decref(details);
	json_decref(names);
}

static json_t *test_uri_json(const struct ldap_test_uri *u)
{
	static const char *const stages[] = { "dns", "tcp", "tls", "bind", "search" };
	/* The stage at which each failure class stops the test. */
	int failed_at = 5;
	json_t *st = json_object();

	switch (u->failed) {
	case LDAP_AUTH_OK: failed_at = 5; break;
	case LDAP_AUTH_CONFIG:
	case LDAP_AUTH_DNS: failed_at = 0; break;
	case LDAP_AUTH_TCP: failed_at = 1; break;
	case LDAP_AUTH_TLS_CERTIFICATE: failed_at = 2; break;
	case LDAP_AUTH_BIND:
	case LDAP_AUTH_DISABLED: failed_at = 3; break;
	case LDAP_AUTH_SEARCH: failed_at = 4; break;
	}
	for (int i = 0; st && i < 5; i++) {
		const char *v = i < failed_at ? "ok" : i == failed_at ? "failed" : "skipped";
		if (u->bind_skipped && i >= 3)
			v = "skipped";
		json_object_set_new(st, stages[i], json_string(v));
	}
	return json_pack("{s:s, s:b, s:o?, s:o?, s:s}", "uri", u->uri, "ok", u->failed == LDAP_AUTH_OK, "stages", st,
			 "error", u->failed == LDAP_AUTH_OK ? NULL : json_string(ldap_auth_class_name(u->failed)),
			 "message", u->message);
}

void api_ldap_settings_test(struct api_call *c, PGconn *db)
{
	const char *dname = api_body_str(c, "domain");
	const char *p[1] = { dname };
	struct ldap_test_report *rep = NULL;
	struct ldap_domain_cfg d;
	json_t *uris = NULL, *results = NULL, *details = NULL;
	PGresult *res = db_exec(db, "select " DIRECTORY_DOMAIN_COLUMNS " from ldap_domains where lower(name) = lower($1)",
				1, p);
	bool all_ok = true;

	if (!res) {
		api_fail_db(c);
		goto out;
	}
	if (PQntuples(res) != 1) {
		api_fail(c, 404, "not_found", "domain", "no domain named '%.64s'", dname);
		goto out;
	}
	if (!(rep = calloc(1, sizeof(*rep))) || !(results = json_array())) {
		api_fail(c, 500, "internal", NULL, "out of memory");
		goto out;
	}
	if (directory_domain_from_row(res, 0, &d, &uris) != 0) {
		rep->n = 1;
		rep->u[0].failed = LDAP_AUTH_CONFIG;
		snprintf(rep->u[0].message, sizeof(rep->u[0].message), "the stored settings are unusable");
	} else {
		ldap_auth_test(&d, api_body_str(c, "username"), api_body_str(c, "password"), rep);
	}
	for (size_t i = 0; i < rep->n; i++) {
		all_ok = all_ok && rep->u[i].failed == LDAP_AUTH_OK;
		json_array_append_new(results, test_uri_json(&rep->u[i]));
	}
	details = json_pack("{s:s, s:b}", "domain", dname, "ok", all_ok);
	api_audit(c, db, "settings.ldap.test", dname, details);
	api_ok(c, 200, json_pack("{s:s, s:b, s:O}", "domain", dname, "ok", all_ok, "results", results));
out:
	json_decref(details);
	json_decref(results);
	json_decref(uris);
	free(rep);
	PQclear(res);
}

void api_ad_mappings_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;

	if (!api_list_params(c, 0, HTTP_ID_INT, &lp))
		return;
	api_list(c, db,
		 "select m.id::text, " MAPPING_JSON " from ad_group_mappings m "
		 "where ($1::bigint is null or m.id > $1::bigint) order by m.id limit $2",
		 &lp, 0, NULL);
}

void api_ad_mappings_create(struct api_call *c, PGconn *db)
{
	const char *dn = api_body_str(c, "group_dn"), *role = api_body_str(c, "role");
	json_t *ids = json_object_get(c->body, "access_group_ids"), *details = NULL;
	char norm[LDAP_TEXT_DN_MAX + 1], id[24], sqlstate[6] = "", *ids_txt = NULL;
	PGresult *res = NULL;

	if (ldap_text_dn_normalize(dn, strlen(dn), norm) < 0) {
		api_fail(c, 400, "invalid_field", "group_dn", "group_dn is not a valid DN");
		goto out;
	}
	if (strcmp(role, "admin") != 0 && strcmp(role, "analyst") != 0 && strcmp(role, "read_only") != 0) {
		api_fail(c, 400, "invalid_field", "role", "role must be admin, analyst or read_only");
		goto out;
	}
	if (!(ids_txt = ids ? json_dumps(ids, JSON_COMPACT) : strdup("[]"))) {
		api_fail(c, 500, "internal", NULL, "out of memory");
		goto out;
	}
	if (!db_begin(db)) {
		api_fail_db(c);
		goto out;
	}
	{
		const char *p[2] = { norm, role };
		res = db_exec_state(db, "insert into ad_group_mappings (group_dn, role) values ($1, $2) returning id", 2,
				    p, sqlstate);
	}
	if (!res) {
		if (strcmp(sqlstate, "23505") == 0)
			api_fail(c, 409, "conflict", "group_dn", "this group already has a mapping");
		else
			api_fail_db(c);
		goto rollback;
	}
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	{
		const char *p[2] = { id, ids_txt };
		res = db_exec_state(db,
				    "insert into ad_group_mapping_access_groups (mapping_id, access_group_id) "
				    "select $1::bigint, v::bigint from json_array_elements_text($2::json) v",
				    2, p, sqlstate);
	}
	if (!res) {
		if (strcmp(sqlstate, "23503") == 0)
			api_fail(c, 400, "invalid_field", "access_group_ids", "an access group does not exist");
		else
			api_fail_db(c);
		goto rollback;
	}
	PQclear(res);
	res = NULL;
	details = json_pack("{s:s, s:s, s:O?}", "group_dn", norm, "role", role, "access_group_ids", ids);
	api_audit(c, db, "ad_group_mapping.create", id, details);
	if (!db_commit(db)) {
		api_fail_db(c);
		goto rollback;
	}
	{
		const char *p[1] = { id };
		api_get_one(c, db, "select " MAPPING_JSON " from ad_group_mappings m where m.id = $1", 1, p,
			    "mapping");
		if (c->status == 200)
			c->status = 201;
	}
	goto out;
rollback:
	db_rollback(db);
out:
	free(ids_txt);
	json_decref(details);
	PQclear(res);
}

void api_ad_mappings_delete(struct api_call *c, PGconn *db)
{
	const char *p[1] = { c->param };
	int64_t id;
	PGresult *res;

	if (!http_id_parse_int(c->param, &id)) {
		api_fail(c, 404, "not_found", NULL, "mapping not found");
		return;
	}
	res = db_exec(db, "delete from ad_group_mappings where id = $1 returning group_dn", 1, p);
	if (!res) {
		api_fail_db(c);
		return;
	}
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "mapping not found");
	} else {
		json_t *details = json_pack("{s:s}", "group_dn", PQgetvalue(res, 0, 0));
		api_audit(c, db, "ad_group_mapping.delete", c->param, details);
		json_decref(details);
		api_ok(c, 204, NULL);
	}
	PQclear(res);
}
