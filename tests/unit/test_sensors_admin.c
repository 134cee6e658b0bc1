#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/pki.h"
#include "server/config.h"
#include "server/db.h"
#include "server/migrate.h"
#include "server/sensors_admin.h"
#include "server/state.h"
#include "pg_scratch.h"

struct fixture {
	struct pg_scratch *pg;
	PGconn *db;
	char dir[64];
	struct console_state st;
	struct console_config cfg;
	char zone[24];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[1024], sdir[96];
	PGresult *r;

	*state = f;
	f->pg = pg_scratch_create("sensors");
	if (!f->pg)
		return 0;
	snprintf(f->dir, sizeof(f->dir), "/tmp/otw-sa-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(sdir, sizeof(sdir), "%s/state", f->dir);
	if (state_create(sdir, NULL, 0, err, sizeof(err)) < 0 || state_load(sdir, &f->st, err, sizeof(err)) < 0 ||
	    config_init(&f->cfg) < 0 || config_finalize(&f->cfg, err, sizeof(err)) < 0)
		return -1;
	f->db = db_connect(f->pg->conninfo, err, sizeof(err));
	if (!f->db || migrate_run(f->db, migrate_default_sql_dir(), err, sizeof(err)) < 0)
		return -1;
	r = db_exec(f->db,
		    "with s as (insert into sites (name) values ('plant') returning id) "
		    "insert into zones (site_id, name) select id, 'cell 1' from s returning id::text",
		    0, NULL);
	if (!r)
		return -1;
	snprintf(f->zone, sizeof(f->zone), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	if (f->pg) {
		PQfinish(f->db);
		pg_scratch_drop(f->pg);
		state_free(&f->st);
		config_free(&f->cfg);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
		if (system(cmd) != 0)
			return -1;
	}
	free(f);
	return 0;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static char *new_csr(void)
{
	EVP_PKEY *key = NULL;
	char *csr = NULL;

	assert_int_equal(pki_ec_key_new(&key), 0);
	assert_int_equal(pki_csr_create(key, "whatever", &csr), 0);
	EVP_PKEY_free(key);
	return csr;
}

static void create_validates(void **state)
{
	struct fixture *f = *state;
	json_t *doc = NULL;
	char err[256];

	if (!f->pg)
		skip();
	assert_int_equal(sensors_admin_create(f->db, &f->st, &f->cfg, "s1", f->zone, &doc, err, sizeof(err)), 0);
	assert_string_equal(jstr(doc, "format"), "otwatch-activation");
	assert_int_equal(json_integer_value(json_object_get(doc, "version")), 1);
	assert_true(sensors_admin_id_valid(jstr(doc, "sensor_id")));
	assert_string_equal(jstr(doc, "sensor_name"), "s1");
	assert_int_equal(json_integer_value(json_object_get(doc, "zone_id")), atoll(f->zone));
	assert_string_equal(jstr(doc, "api_url"), "https://127.0.0.1:8443");
	assert_string_equal(jstr(doc, "sensor_url"), "wss://127.0.0.1:9443");
	assert_string_equal(jstr(doc, "ca_certificate"), f->st.ca_pem);
	assert_int_equal(strlen(jstr(doc, "enrollment_token")), 43);
	assert_int_equal(strlen(jstr(doc, "expires_at")), 24);
	json_decref(doc);

	assert_int_equal(sensors_admin_create(f->db, &f->st, &f->cfg, "s1", NULL, &doc, err, sizeof(err)), -EEXIST);
	assert_int_equal(sensors_admin_create(f->db, &f->st, &f->cfg, "s2", "999999", &doc, err, sizeof(err)), -ENOENT);
	assert_int_equal(sensors_admin_create(f->db, &f->st, &f->cfg, "s2", "1x", &doc, err, sizeof(err)), -EINVAL);
	assert_int_equal(sensors_admin_create(f->db, &f->st, &f->cfg, "", NULL, &doc, err, sizeof(err)), -EINVAL);
	assert_int_equal(sensors_admin_create(f->db, &f->st, &f->cfg, "a\nb", NULL, &doc, err, sizeof(err)), -EINVAL);
	/* unassigned sensor: zone_id null */
	assert_int_equal(sensors_admin_create(f->db, &f->st, &f->cfg, "s2", NULL, &doc, err, sizeof(err)), 0);
	assert_true(json_is_null(json_object_get(doc, "zone_id")));
	json_decref(doc);
}

static void enroll_once_then_revoke(void **state)
{
	struct fixture *f = *state;
	json_t *doc = NULL, *res = NULL, *list = NULL;
	char err[256], cn[64], serial[PKI_SERIAL_HEX_LEN], *csr;
	const char *params[1];
	X509 *cert = NULL;
	PGresult *r;

	if (!f->pg)
		skip();
	csr = new_csr();
	assert_int_equal(sensors_admin_create(f->db, &f->st, &f->cfg, "e1", f->zone, &doc, err, sizeof(err)), 0);
	const char *token = jstr(doc, "enrollment_token"), *id = jstr(doc, "sensor_id");

	/* a malformed CSR does not consume the token */
	assert_int_equal(sensors_admin_enroll(f->db, &f->st, token, "junk", &res, err, sizeof(err)), -EINVAL);
	assert_int_equal(sensors_admin_enroll(f->db, &f->st, "wrong-token", csr, &res, err, sizeof(err)), -EACCES);
	assert_int_equal(sensors_admin_enroll(f->db, &f->st, token, csr, &res, err, sizeof(err)), 0);
	assert_string_equal(jstr(res, "sensor_id"), id);
	assert_int_equal(pki_cert_from_pem(jstr(res, "certificate"), &cert), 0);
	assert_int_equal(pki_cert_subject_cn(cert, cn, sizeof(cn)), 0);
	assert_string_equal(cn, id);
	assert_int_equal(pki_cert_serial_hex(cert, serial), 0);
	assert_int_equal(strlen(jstr(res, "not_after")), 24);
	json_decref(res);
	X509_free(cert);

	/* one time only */
	assert_int_equal(sensors_admin_enroll(f->db, &f->st, token, csr, &res, err, sizeof(err)), -EACCES);

	params[0] = id;
	r = db_exec(f->db, "select cert_serial, cert_not_after is not null from sensors where id = $1", 1, params);
	assert_non_null(r);
	assert_string_equal(PQgetvalue(r, 0, 0), serial);
	assert_string_equal(PQgetvalue(r, 0, 1), "t");
	PQclear(r);

	assert_int_equal(sensors_admin_list(f->db, &list, err, sizeof(err)), 0);
	assert_true(json_array_size(list) >= 1);
	json_decref(list);

	assert_int_equal(sensors_admin_revoke(f->db, id, err, sizeof(err)), 0);
	assert_int_equal(sensors_admin_revoke(f->db, id, err, sizeof(err)), 0);
	params[0] = serial;
	r = db_exec(f->db, "select count(*) from revoked_certificates where serial = $1", 1, params);
	assert_string_equal(PQgetvalue(r, 0, 0), "1");
	PQclear(r);
	assert_int_equal(sensors_admin_revoke(f->db, "00000000-0000-0000-0000-000000000000", err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(sensors_admin_revoke(f->db, "'; drop table sensors; --", err, sizeof(err)), -ENOENT);
	json_decref(doc);
	free(csr);
}

static void expired_and_revoked_refused(void **state)
{
	struct fixture *f = *state;
	json_t *doc = NULL, *res = NULL;
	char err[256], *csr;
	const char *params[1];
	PGresult *r;

	if (!f->pg)
		skip();
	csr = new_csr();
	assert_int_equal(sensors_admin_create(f->db, &f->st, &f->cfg, "x1", NULL, &doc, err, sizeof(err)), 0);
	params[0] = jstr(doc, "sensor_id");
	r = db_exec(f->db, "update enrollment_tokens set expires_at = now() - interval '1 second' where sensor_id = $1",
		    1, params);
	PQclear(r);
	assert_int_equal(sensors_admin_enroll(f->db, &f->st, jstr(doc, "enrollment_token"), csr, &res, err, sizeof(err)),
			 -EACCES);
	json_decref(doc);

	assert_int_equal(sensors_admin_create(f->db, &f->st, &f->cfg, "x2", NULL, &doc, err, sizeof(err)), 0);
	assert_int_equal(sensors_admin_revoke(f->db, jstr(doc, "sensor_id"), err, sizeof(err)), 0);
	assert_int_equal(sensors_admin_enroll(f->db, &f->st, jstr(doc, "enrollment_token"), csr, &res, err, sizeof(err)),
			 -EACCES);
	json_decref(doc);
	free(csr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_validates),
		cmocka_unit_test(enroll_once_then_revoke),
		cmocka_unit_test(expired_and_revoked_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
