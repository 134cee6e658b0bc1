/* sensor-agent/cert_renew.c: the renewal window, key + CSR, the checked install of a renewed pair and the
 * recovery of an install a crash interrupted. Real certificates from common/pki.h, real files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/pki.h"
#include "sensor-agent/cert_renew.h"

#define SID "0b5e7c1a-3f7e-4c47-9a7d-1e2f3a4b5c6d"
#define DAY 86400

struct fx {
	char dir[64];
	EVP_PKEY *ca_key;
	X509 *ca;
	char *key_pem, *crt_pem; /* the current pair, as installed */
};

static char *path(struct fx *f, const char *name)
{
	static char buf[4][256];
	static int i;
	char *p = buf[i++ % 4];
	snprintf(p, sizeof(buf[0]), "%s/%s", f->dir, name);
	return p;
}

static char *slurp(const char *p)
{
	char *data = NULL;
	size_t len;
	if (pki_read_file(p, 1 << 20, &data, &len) < 0)
		return NULL;
	return data;
}

static void put(const char *p, const char *text)
{
	assert_int_equal(pki_write_file(p, text, strlen(text), 0600, 0), 0);
}

static bool exists(const char *p) { return access(p, F_OK) == 0; }

/* A key and a certificate for it: signed by (ca_key, ca) for cn, valid `days`. */
static void make_pair(EVP_PKEY *ca_key, X509 *ca, const char *cn, int days, EVP_PKEY **key, char **crt_pem)
{
	char *csr = NULL, serial[PKI_SERIAL_HEX_LEN];
	int64_t not_after;
	assert_int_equal(pki_ec_key_new(key), 0);
	assert_int_equal(pki_csr_create(*key, cn, &csr), 0);
	assert_int_equal(pki_csr_sign(ca_key, ca, csr, cn, days, crt_pem, serial, &not_after), 0);
	free(csr);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	EVP_PKEY *key = NULL;
	char *ca_pem = NULL;
	strcpy(f->dir, "/tmp/otw-cert-renew-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(pki_ca_create("test ca", 3650, &f->ca_key, &f->ca), 0);
	assert_int_equal(pki_cert_to_pem(f->ca, &ca_pem), 0);
	put(path(f, "ca.crt"), ca_pem);
	free(ca_pem);
	make_pair(f->ca_key, f->ca, SID, 365, &key, &f->crt_pem);
	assert_int_equal(pki_key_to_pem(key, &f->key_pem), 0);
	EVP_PKEY_free(key);
	put(path(f, "sensor.key"), f->key_pem);
	put(path(f, "sensor.crt"), f->crt_pem);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	const char *names[] = { "ca.crt", "sensor.key", "sensor.crt", "sensor.key.new", "sensor.crt.new", "x.crt" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(path(f, names[i]));
	rmdir(f->dir);
	EVP_PKEY_free(f->ca_key);
	X509_free(f->ca);
	free(f->key_pem);
	free(f->crt_pem);
	free(f);
	return 0;
}

/* The installed pair is still the original one and no .new file is left. */
static void assert_untouched(struct fx *f)
{
	char *k = slurp(path(f, "sensor.key")), *c = slurp(path(f, "sensor.crt"));
	assert_non_null(k);
	assert_non_null(c);
	assert_string_equal(k, f->key_pem);
	assert_string_equal(c, f->crt_pem);
	free(k);
	free(c);
	assert_false(exists(path(f, "sensor.key.new")));
	assert_false(exists(path(f, "sensor.crt.new")));
}

static void test_due(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *key = NULL;
	char *soon = NULL;
	bool due;
	int64_t not_after, now = (int64_t)time(NULL);

	/* The 365-day certificate: outside a 30-day window, inside a 400-day one. */
	assert_int_equal(cert_renew_due(path(f, "sensor.crt"), 30 * DAY, &due, &not_after), 0);
	assert_false(due);
	assert_true(not_after / 1000000 > now + 364 * DAY && not_after / 1000000 < now + 366 * DAY);
	assert_int_equal(cert_renew_due(path(f, "sensor.crt"), 400 * DAY, &due, &not_after), 0);
	assert_true(due);
	/* A certificate that expires tomorrow is due with a 2-day window, not with none. */
	make_pair(f->ca_key, f->ca, SID, 1, &key, &soon);
	put(path(f, "x.crt"), soon);
	assert_int_equal(cert_renew_due(path(f, "x.crt"), 2 * DAY, &due, &not_after), 0);
	assert_true(due);
	assert_int_equal(cert_renew_due(path(f, "x.crt"), 0, &due, &not_after), 0);
	assert_false(due);
	EVP_PKEY_free(key);
	free(soon);
	/* Not a certificate; no file. */
	put(path(f, "x.crt"), "hello\n");
	assert_int_equal(cert_renew_due(path(f, "x.crt"), DAY, &due, &not_after), -EINVAL);
	assert_int_equal(cert_renew_due(path(f, "sensor.key.new"), DAY, &due, &not_after), -ENOENT);
}

static void test_request(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	char *csr = NULL, *crt = NULL, serial[PKI_SERIAL_HEX_LEN], cn[64];
	int64_t not_after;

	assert_int_equal(cert_renew_request(SID, &key, &csr), 0);
	assert_non_null(key);
	assert_non_null(strstr(csr, "-----BEGIN CERTIFICATE REQUEST-----"));
	/* The console can sign it (its signature proves the key), and the result certifies our key. */
	assert_int_equal(pki_csr_sign(f->ca_key, f->ca, csr, SID, 365, &crt, serial, &not_after), 0);
	assert_int_equal(pki_cert_from_pem(crt, &cert), 0);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(cert), key), 1);
	assert_int_equal(pki_cert_subject_cn(cert, cn, sizeof(cn)), 0);
	assert_string_equal(cn, SID);
	X509_free(cert);
	free(crt);
	free(csr);
	EVP_PKEY_free(key);
}

static void test_install(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *key = NULL, *installed = NULL;
	X509 *cert = NULL;
	char *csr = NULL, *crt = NULL, serial[PKI_SERIAL_HEX_LEN], got_serial[PKI_SERIAL_HEX_LEN], err[256] = "";
	int64_t not_after;
	struct stat st;

	assert_int_equal(cert_renew_request(SID, &key, &csr), 0);
	assert_int_equal(pki_csr_sign(f->ca_key, f->ca, csr, SID, 365, &crt, serial, &not_after), 0);
	assert_int_equal(cert_renew_install(f->dir, path(f, "ca.crt"), SID, key, crt, err, sizeof(err)), 0);
	/* The new pair is in place, the key private, nothing left over. */
	char *k = slurp(path(f, "sensor.key")), *c = slurp(path(f, "sensor.crt"));
	assert_int_equal(pki_key_from_pem(k, &installed), 0);
	assert_int_equal(EVP_PKEY_eq(installed, key), 1);
	assert_int_equal(pki_cert_from_pem(c, &cert), 0);
	assert_int_equal(pki_cert_serial_hex(cert, got_serial), 0);
	assert_string_equal(got_serial, serial);
	assert_int_equal(stat(path(f, "sensor.key"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_false(exists(path(f, "sensor.key.new")));
	assert_false(exists(path(f, "sensor.crt.new")));
	X509_free(cert);
	EVP_PKEY_free(installed);
	free(k);
	free(c);
	free(crt);
	free(csr);
	EVP_PKEY_free(key);
}

static void test_install_trailing_text(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *key = NULL;
	char *csr = NULL, *crt = NULL, serial[PKI_SERIAL_HEX_LEN], err[256] = "";
	int64_t not_after;

	assert_int_equal(cert_renew_request(SID, &key, &csr), 0);
	assert_int_equal(pki_csr_sign(f->ca_key, f->ca, csr, SID, 365, &crt, serial, &not_after), 0);
	size_t n = strlen(crt);
	char *padded = malloc(n + 32);
	snprintf(padded, n + 32, "%strailing text\n", crt);
	assert_int_equal(cert_renew_install(f->dir, path(f, "ca.crt"), SID, key, padded, err, sizeof(err)), 0);
	char *c = slurp(path(f, "sensor.crt"));
	assert_string_equal(c, crt);
	free(c);
	free(padded);
	free(crt);
	free(csr);
	EVP_PKEY_free(key);
}

/* cert_renew_install refuses `crt` for `key` with an error containing `want`, and installs nothing. */
static void expect_refused(struct fx *f, EVP_PKEY *key, const char *crt, const char *want)
{
	char err[256] = "";
	assert_int_equal(cert_renew_install(f->dir, path(f, "ca.crt"), SID, key, crt, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
	assert_untouched(f);
}

static void test_install_refused(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *key = NULL, *other = NULL, *oca_key = NULL;
	X509 *oca = NULL;
	char *csr = NULL, *crt = NULL, serial[PKI_SERIAL_HEX_LEN];
	int64_t not_after;

	assert_int_equal(cert_renew_request(SID, &key, &csr), 0);
	assert_int_equal(pki_csr_sign(f->ca_key, f->ca, csr, SID, 365, &crt, serial, &not_after), 0);
	/* The certificate is for the key asked with, not another one. */
	assert_int_equal(pki_ec_key_new(&other), 0);
	expect_refused(f, other, crt, "not for the key");
	free(crt);
	/* It names this sensor. */
	assert_int_equal(pki_csr_sign(f->ca_key, f->ca, csr, "0b5e7c1a-0000-4c47-9a7d-1e2f3a4b5c6d", 365, &crt, serial,
				      &not_after), 0);
	expect_refused(f, key, crt, "does not name this sensor");
	free(crt);
	/* It comes from the console's CA, not another one (same CN, same key). */
	assert_int_equal(pki_ca_create("test ca", 3650, &oca_key, &oca), 0);
	assert_int_equal(pki_csr_sign(oca_key, oca, csr, SID, 365, &crt, serial, &not_after), 0);
	expect_refused(f, key, crt, "does not verify against the console's CA");
	free(crt);
	/* Not a certificate at all. */
	expect_refused(f, key, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a certificate");
	EVP_PKEY_free(oca_key);
	X509_free(oca);
	EVP_PKEY_free(other);
	EVP_PKEY_free(key);
	free(csr);
}

/* Crash after both .new files were written, before any rename: the old pair stays, the new files go. */
static void test_recover_before_rename(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *key = NULL;
	char *crt = NULL, *key_pem = NULL;

	make_pair(f->ca_key, f->ca, SID, 365, &key, &crt);
	assert_int_equal(pki_key_to_pem(key, &key_pem), 0);
	put(path(f, "sensor.key.new"), key_pem);
	put(path(f, "sensor.crt.new"), crt);
	assert_int_equal(cert_renew_recover(f->dir), 0);
	assert_untouched(f);
	/* Only the key written: the same. */
	put(path(f, "sensor.key.new"), key_pem);
	assert_int_equal(cert_renew_recover(f->dir), 0);
	assert_untouched(f);
	/* Nothing to do. */
	assert_int_equal(cert_renew_recover(f->dir), 0);
	assert_untouched(f);
	free(key_pem);
	free(crt);
	EVP_PKEY_free(key);
}

/* Crash after the key was renamed, before the certificate was: the install is finished. */
static void test_recover_after_key_rename(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *key = NULL;
	char *crt = NULL, *key_pem = NULL;

	make_pair(f->ca_key, f->ca, SID, 365, &key, &crt);
	assert_int_equal(pki_key_to_pem(key, &key_pem), 0);
	put(path(f, "sensor.key"), key_pem);
	put(path(f, "sensor.crt.new"), crt);
	assert_int_equal(cert_renew_recover(f->dir), 0);
	char *k = slurp(path(f, "sensor.key")), *c = slurp(path(f, "sensor.crt"));
	assert_string_equal(k, key_pem);
	assert_string_equal(c, crt);
	assert_false(exists(path(f, "sensor.crt.new")));
	assert_false(exists(path(f, "sensor.key.new")));
	free(k);
	free(c);
	free(key_pem);
	free(crt);
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_due, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_trailing_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_before_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_after_key_rename, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
