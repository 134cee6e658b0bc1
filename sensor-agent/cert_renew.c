#include "sensor-agent/cert_renew.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "common/pki.h"

#define CERT_MAX 65536

static char *path_in(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static int read_cert(const char *path, X509 **out)
{
	char *pem = NULL;
	size_t len;
	int rc = pki_read_file(path, CERT_MAX, &pem, &len);
	if (rc == 0)
		rc = pki_cert_from_pem(pem, out);
	free(pem);
	return rc;
}

int cert_renew_due(const char *cert_path, int64_t before_sec, bool *due, int64_t *not_after_usec)
{
	X509 *cert = NULL;
	struct tm tm;
	int rc = read_cert(cert_path, &cert);

	if (rc < 0)
		return rc;
	if (!ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm)) {
		X509_free(cert);
		return -EINVAL;
	}
	X509_free(cert);
	int64_t end = (int64_t)timegm(&tm);
	*not_after_usec = end * 1000000;
	*due = end - (int64_t)time(NULL) <= before_sec;
	return 0;
}

int cert_renew_request(const char *sensor_id, EVP_PKEY **key, char **csr_pem)
{
	int rc = pki_ec_key_new(key);

	if (rc < 0)
		return rc;
	if ((rc = pki_csr_create(*key, sensor_id, csr_pem)) < 0) {
		EVP_PKEY_free(*key);
		*key = NULL;
	}
	return rc;
}

/* The certificate must be for our key, name us, chain to our CA, be valid now and be meant for a TLS client. */
static int check_cert(X509 *cert, const char *ca_path, const char *sensor_id, EVP_PKEY *key, char *err,
		      size_t errlen)
{
	X509 *ca = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	char cn[128];
	int rc = -EINVAL;

	EVP_PKEY *pub = X509_get0_pubkey(cert);
	if (!pub || EVP_PKEY_eq(pub, key) != 1) {
		snprintf(err, errlen, "the certificate is not for the key this sensor asked with");
		goto out;
	}
	if (pki_cert_subject_cn(cert, cn, sizeof(cn)) < 0 || strcasecmp(cn, sensor_id) != 0) {
		snprintf(err, errlen, "the certificate does not name this sensor");
		goto out;
	}
	if ((rc = read_cert(ca_path, &ca)) < 0) {
		snprintf(err, errlen, "cannot read the console's CA: %s", strerror(-rc));
		goto out;
	}
	rc = -ENOMEM;
	if (!(store = X509_STORE_new()) || !X509_STORE_add_cert(store, ca) || !(ctx = X509_STORE_CTX_new()) ||
	    !X509_STORE_CTX_init(ctx, store, cert, NULL) ||
	    !X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = -EINVAL;
	if (X509_verify_cert(ctx) != 1) {
		snprintf(err, errlen, "the certificate does not verify against the console's CA: %s",
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	rc = 0;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(ca);
	return rc;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int cert_renew_install(const char *state_dir, const char *ca_path, const char *sensor_id, EVP_PKEY *key,
		       const char *cert_pem, char *err, size_t errlen)
{
	char *key_new = path_in(state_dir, "sensor.key.new"), *crt_new = path_in(state_dir, "sensor.crt.new");
	char *key_path = path_in(state_dir, "sensor.key"), *crt_path = path_in(state_dir, "sensor.crt");
	char *key_pem = NULL, *crt_pem = NULL;
	X509 *cert = NULL;
	int rc = -ENOMEM;

	if (!key_new || !crt_new || !key_path || !crt_path) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((rc = pki_cert_from_pem(cert_pem, &cert)) < 0) {
		snprintf(err, errlen, "not a certificate");
		goto out;
	}
	if ((rc = check_cert(cert, ca_path, sensor_id, key, err, errlen)) < 0)
		goto out;
	/* What is written is the certificate that was checked, re-encoded: nothing the PEM text carried besides. */
	if ((rc = pki_key_to_pem(key, &key_pem)) < 0 || (rc = pki_cert_to_pem(cert, &crt_pem)) < 0) {
		snprintf(err, errlen, "cannot encode the key and certificate");
		goto out;
	}
	if ((rc = pki_write_file(key_new, key_pem, strlen(key_pem), 0600, 0)) < 0 ||
	    (rc = pki_write_file(crt_new, crt_pem, strlen(crt_pem), 0644, 0)) < 0 || (rc = sync_dir(state_dir)) < 0) {
		snprintf(err, errlen, "cannot write the new key and certificate: %s", strerror(-rc));
		unlink(crt_new); /* the certificate first: "only sensor.crt.new left" means "finish" to recover */
		unlink(key_new);
		goto out;
	}
	/* The key first: cert_renew_recover() reads "only sensor.crt.new left" as "finish". */
	if (rename(key_new, key_path) < 0 || rename(crt_new, crt_path) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot install the new key and certificate: %s", strerror(-rc));
		goto out;
	}
	/* Both renames are done: the new pair is what a restart loads, so this is an install, if not yet a durable one. */
	if ((rc = sync_dir(state_dir)) < 0)
		log_warn("certificate renewal: cannot sync %s after the install: %s", state_dir, strerror(-rc));
	rc = 0;
out:
	if (key_pem) {
		OPENSSL_cleanse(key_pem, strlen(key_pem));
		free(key_pem);
	}
	free(crt_pem);
	X509_free(cert);
	free(key_new);
	free(crt_new);
	free(key_path);
	free(crt_path);
	return rc;
}

/* True when the certificate at crt_path is for the private key at key_path. */
static bool crt_matches_key(const char *crt_path, const char *key_path)
{
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	char *pem = NULL;
	size_t len;
	bool ok = false;

	if (read_cert(crt_path, &cert) == 0 && pki_read_file(key_path, CERT_MAX, &pem, &len) == 0 &&
	    pki_key_from_pem(pem, &key) == 0)
		ok = EVP_PKEY_eq(X509_get0_pubkey(cert), key) == 1;
	if (pem) {
		OPENSSL_cleanse(pem, strlen(pem));
		free(pem);
	}
	EVP_PKEY_free(key);
	X509_free(cert);
	return ok;
}

/* pki_write_file's temporaries of an install a crash interrupted ("sensor.key.new.tmp.XXXXXX" holds a key). */
static void remove_temporaries(const char *state_dir)
{
	DIR *d = opendir(state_dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "sensor.key.new.tmp.", 19) == 0 || strncmp(e->d_name, "sensor.crt.new.tmp.", 19) == 0)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

int cert_renew_recover(const char *state_dir)
{
	char *key_new = path_in(state_dir, "sensor.key.new"), *crt_new = path_in(state_dir, "sensor.crt.new");
	char *crt_path = path_in(state_dir, "sensor.crt"), *key_path = path_in(state_dir, "sensor.key");
	int rc = 0;

	if (!key_new || !crt_new || !crt_path || !key_path) {
		rc = -ENOMEM;
		goto out;
	}
	remove_temporaries(state_dir);
	if (access(crt_new, F_OK) != 0) {
		unlink(key_new); /* a key whose certificate was never written: the renewal is asked again */
		goto out;
	}
	if (access(key_new, F_OK) == 0) {
		log_warn("certificate renewal: an install was interrupted before it began; keeping the current pair");
		unlink(crt_new);
		unlink(key_new);
	} else if (!crt_matches_key(crt_new, key_path)) {
		log_warn("certificate renewal: a left-over new certificate is not for the installed key; removed");
		unlink(crt_new);
	} else {
		log_warn("certificate renewal: finishing an install that was interrupted");
		if (rename(crt_new, crt_path) < 0)
			rc = -errno;
	}
	if (!rc)
		rc = sync_dir(state_dir);
out:
	free(key_new);
	free(crt_new);
	free(crt_path);
	free(key_path);
	return rc;
}
