#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/pki.h"

struct ca {
	EVP_PKEY *key;
	X509 *cert;
};

static int ca_setup(void **state)
{
	struct ca *ca = calloc(1, sizeof(*ca));
	if (!ca || pki_ca_create("Test CA", 30, &ca->key, &ca->cert) < 0)
		return -1;
	*state = ca;
	return 0;
}

static int ca_teardown(void **state)
{
	struct ca *ca = *state;
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca);
	return 0;
}

/* X509_verify_cert of cert against the CA alone, for `purpose` (X509_PURPOSE_SSL_SERVER / _CLIENT). */
static int verify_chain(X509 *ca, X509 *cert, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	assert_non_null(store);
	assert_non_null(ctx);
	assert_int_equal(X509_STORE_add_cert(store, ca), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, cert, NULL), 1);
	X509_STORE_CTX_set_purpose(ctx, purpose);
	ok = X509_verify_cert(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

static void ca_has_constraints(void **state)
{
	struct ca *ca = *state;
	char cn[64], serial[PKI_SERIAL_HEX_LEN];

	assert_true(X509_check_ca(ca->cert) >= 1);
	assert_true(X509_get_key_usage(ca->cert) & KU_KEY_CERT_SIGN);
	assert_true(X509_get_key_usage(ca->cert) & KU_CRL_SIGN);
	assert_non_null(X509_get0_subject_key_id(ca->cert));
	assert_int_equal(pki_cert_subject_cn(ca->cert, cn, sizeof(cn)), 0);
	assert_string_equal(cn, "Test CA");
	assert_int_equal(pki_cert_serial_hex(ca->cert, serial), 0);
	assert_int_equal(strlen(serial), 40);
	assert_true(serial[0] >= '4' && serial[0] <= '7'); /* positive, 160 bits */
	assert_int_equal(verify_chain(ca->cert, ca->cert, X509_PURPOSE_ANY), 1);
}

static void server_cert_verifies_with_sans(void **state)
{
	struct ca *ca = *state;
	const char *sans[] = { "console.example", "127.0.0.1", "::1" };
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;

	assert_int_equal(pki_server_cert_create(ca->key, ca->cert, "console.example", sans, 3, 30, &key, &cert), 0);
	assert_int_equal(verify_chain(ca->cert, cert, X509_PURPOSE_SSL_SERVER), 1);
	assert_int_equal(X509_check_host(cert, "console.example", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(cert, "::1", 0), 1);
	assert_int_not_equal(X509_check_host(cert, "other.example", 0, 0, NULL), 1);
	assert_true(X509_get_extended_key_usage(cert) & XKU_SSL_SERVER);
	assert_int_equal(X509_check_private_key(cert, key), 1);
	EVP_PKEY_free(key);
	X509_free(cert);

	const char *bad[] = { "evil,DNS:x" };
	assert_int_equal(pki_server_cert_create(ca->key, ca->cert, "x", bad, 1, 30, &key, &cert), -EINVAL);
}

static void csr_signed_with_forced_cn(void **state)
{
	struct ca *ca = *state;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	char *csr = NULL, *pem = NULL, serial[PKI_SERIAL_HEX_LEN], serial2[PKI_SERIAL_HEX_LEN], cn[64];
	int64_t not_after = 0;

	assert_int_equal(pki_ec_key_new(&key), 0);
	assert_int_equal(pki_csr_create(key, "i-want-to-be-admin", &csr), 0);
	assert_int_equal(pki_csr_sign(ca->key, ca->cert, csr, "sensor-1234", 365, &pem, serial, &not_after), 0);
	assert_int_equal(pki_cert_from_pem(pem, &cert), 0);
	assert_int_equal(pki_cert_subject_cn(cert, cn, sizeof(cn)), 0);
	assert_string_equal(cn, "sensor-1234");
	assert_int_equal(pki_cert_serial_hex(cert, serial2), 0);
	assert_string_equal(serial, serial2);
	assert_int_equal(verify_chain(ca->cert, cert, X509_PURPOSE_SSL_CLIENT), 1);
	assert_int_not_equal(verify_chain(ca->cert, cert, X509_PURPOSE_SSL_SERVER), 1);
	assert_true(X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT);
	assert_non_null(X509_get0_authority_key_id(cert));
	assert_int_equal(X509_check_private_key(cert, key), 1);
	/* about 365 days from now */
	assert_true(not_after > ((int64_t)time(NULL) + 364 * 86400) * 1000000);
	assert_true(not_after < ((int64_t)time(NULL) + 366 * 86400) * 1000000);
	free(csr);
	free(pem);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* A CSR whose public key was swapped after signing: its signature no longer matches. */
static void foreign_csr_signature_rejected(void **state)
{
	struct ca *ca = *state;
	EVP_PKEY *k1 = NULL, *k2 = NULL;
	X509_REQ *req = X509_REQ_new();
	BIO *bio = BIO_new(BIO_s_mem());
	char *csr, *pem = NULL, serial[PKI_SERIAL_HEX_LEN];
	int64_t na;
	long n;

	assert_int_equal(pki_ec_key_new(&k1), 0);
	assert_int_equal(pki_ec_key_new(&k2), 0);
	X509_REQ_set_pubkey(req, k1);
	assert_true(X509_REQ_sign(req, k2, EVP_sha256()) > 0); /* signed by a key it does not carry */
	PEM_write_bio_X509_REQ(bio, req);
	{
		char *mem;
		n = BIO_get_mem_data(bio, &mem);
		/* The BIO's data is not NUL-terminated: copy it with its length, not strndup. */
		csr = malloc((size_t)n + 1);
		assert_non_null(csr);
		memcpy(csr, mem, (size_t)n);
		csr[n] = '\0';
	}
	assert_int_equal(pki_csr_sign(ca->key, ca->cert, csr, "x", 365, &pem, serial, &na), -EINVAL);
	assert_null(pem);
	assert_int_equal(pki_csr_sign(ca->key, ca->cert, "not a csr", "x", 365, &pem, serial, &na), -EINVAL);
	free(csr);
	BIO_free(bio);
	X509_REQ_free(req);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

static void pem_round_trip(void **state)
{
	EVP_PKEY *key = NULL, *back = NULL;
	char *pem = NULL;

	assert_int_equal(pki_ec_key_new(&key), 0);
	assert_int_equal(pki_key_to_pem(key, &pem), 0);
	assert_int_equal(pki_key_from_pem(pem, &back), 0);
	assert_int_equal(EVP_PKEY_eq(key, back), 1);
	assert_int_equal(pki_key_from_pem("garbage", &back), -EINVAL);
	free(pem);
	EVP_PKEY_free(key);
	EVP_PKEY_free(back);
}

static void write_file_atomic_and_exclusive(void **state)
{
	char dir[] = "/tmp/otw-pki-XXXXXX", path[64], *data = NULL;
	struct stat sb;
	size_t len;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(pki_write_file(path, "one", 3, 0600, 1), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(pki_write_file(path, "two", 3, 0600, 1), -EEXIST);
	assert_int_equal(pki_read_file(path, 100, &data, &len), 0);
	assert_string_equal(data, "one");
	free(data);
	assert_int_equal(pki_write_file(path, "three", 5, 0644, 0), 0);
	assert_int_equal(pki_read_file(path, 100, &data, &len), 0);
	assert_string_equal(data, "three");
	assert_int_equal(len, 5);
	free(data);
	assert_int_equal(pki_read_file(path, 4, &data, &len), -EFBIG);
	unlink(path);
	assert_int_equal(rmdir(dir), 0); /* no temp files left */
}

static void encodings(void **state)
{
	const uint8_t in[] = { 0xfb, 0xff, 0x00, 0x10 };
	char out[16];
	uint8_t d[32];

	pki_base64url(in, 4, out);
	assert_string_equal(out, "-_8AEA");
	pki_base64url(in, 3, out);
	assert_string_equal(out, "-_8A");
	pki_hex(in, 4, out);
	assert_string_equal(out, "fbff0010");
	pki_sha256("abc", 3, d);
	assert_int_equal(d[0], 0xba);
	assert_int_equal(d[31], 0xad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(ca_has_constraints, ca_setup, ca_teardown),
		cmocka_unit_test_setup_teardown(server_cert_verifies_with_sans, ca_setup, ca_teardown),
		cmocka_unit_test_setup_teardown(csr_signed_with_forced_cn, ca_setup, ca_teardown),
		cmocka_unit_test_setup_teardown(foreign_csr_signature_rejected, ca_setup, ca_teardown),
		cmocka_unit_test(pem_round_trip),
		cmocka_unit_test(write_file_atomic_and_exclusive),
		cmocka_unit_test(encodings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
