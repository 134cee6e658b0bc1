#include "server/state.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "common/log.h"
#include "common/pki.h"

#define STATE_CA_CN "OTWatch Console CA"
#define STATE_CA_DAYS 3650
#define STATE_SERVER_DAYS 825
#define STATE_MAX_FILE (64 * 1024)

static const char *const state_files[] = { "ca.key", "ca.crt", "server.key", "server.crt", "jwt.key" };
#define NSTATE_FILES (sizeof(state_files) / sizeof(state_files[0]))

static int load_file(const char *dir, const char *file, bool secret, char **data, size_t *len, char **path_out,
		     char *err, size_t errlen);

static char *path_join(const char *dir, const char *file)
{
	size_t n = strlen(dir) + strlen(file) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", dir, file);
	return p;
}

/* 0 when dir is absent (*created set) or an empty directory, -EEXIST when it holds anything. */
static int prepare_dir(const char *dir, bool *created, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	*created = false;
	if (mkdir(dir, 0700) == 0) {
		*created = true;
		return 0;
	}
	if (errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return rc;
	}
	d = opendir(dir);
	if (!d) {
		rc = -errno;
		snprintf(err, errlen, "%s exists and cannot be read: %s", dir, strerror(errno));
		return rc;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			snprintf(err, errlen, "%s is not empty; refusing to overwrite an existing state", dir);
			rc = -EEXIST;
			break;
		}
	}
	closedir(d);
	if (rc == 0 && chmod(dir, 0700) < 0) {
		rc = -errno;
		snprintf(err, errlen, "chmod %s: %s", dir, strerror(errno));
	}
	return rc;
}

static int write_state_file(const char *dir, const char *file, const void *data, size_t len, char *err, size_t errlen)
{
	char *path = path_join(dir, file);
	int rc;

	if (!path)
		return -ENOMEM;
	rc = pki_write_file(path, data, len, 0600, 1);
	if (rc < 0)
		snprintf(err, errlen, "writing %s: %s", path, strerror(-rc));
	free(path);
	return rc;
}

/* Leaves nothing half-made behind: the directory was empty (or absent, then `created`) before. */
static void undo_dir(const char *dir, bool created)
{
	for (size_t i = 0; i < NSTATE_FILES; i++) {
		char *path = path_join(dir, state_files[i]);
		if (path)
			unlink(path);
		free(path);
	}
	if (created)
		rmdir(dir);
}

int state_remove(const char *dir)
{
	int rc = 0;

	for (size_t i = 0; i < NSTATE_FILES; i++) {
		char *path = path_join(dir, state_files[i]);
		if (!path)
			return -ENOMEM;
		if (unlink(path) < 0 && errno != ENOENT)
			rc = -errno;
		free(path);
	}
	if (rmdir(dir) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

int state_create(const char *dir, const char *const *hostnames, size_t n, char *err, size_t errlen)
{
	static const char *const default_hosts[] = { "localhost", "127.0.0.1" };
	EVP_PKEY *ca_key = NULL, *srv_key = NULL;
	X509 *ca_cert = NULL, *srv_cert = NULL;
	char *pems[4] = { NULL, NULL, NULL, NULL };
	uint8_t jwt_key[SESSION_KEY_LEN];
	bool created = false, started = false;
	int rc;

	if (n == 0) {
		hostnames = default_hosts;
		n = sizeof(default_hosts) / sizeof(default_hosts[0]);
	}
	if ((rc = prepare_dir(dir, &created, err, errlen)) < 0)
		goto out;
	started = true;
	if ((rc = pki_ca_create(STATE_CA_CN, STATE_CA_DAYS, &ca_key, &ca_cert)) < 0) {
		snprintf(err, errlen, "creating the CA failed");
		goto out;
	}
	if ((rc = pki_server_cert_create(ca_key, ca_cert, hostnames[0], hostnames, n, STATE_SERVER_DAYS, &srv_key,
					 &srv_cert)) < 0) {
		snprintf(err, errlen, "creating the server certificate failed (is \"%s\" a valid host name?)",
			 hostnames[0]);
		goto out;
	}
	if ((rc = pki_random_bytes(jwt_key, sizeof(jwt_key))) < 0 || (rc = pki_key_to_pem(ca_key, &pems[0])) < 0 ||
	    (rc = pki_cert_to_pem(ca_cert, &pems[1])) < 0 || (rc = pki_key_to_pem(srv_key, &pems[2])) < 0 ||
	    (rc = pki_cert_to_pem(srv_cert, &pems[3])) < 0) {
		snprintf(err, errlen, "encoding keys failed");
		goto out;
	}
	for (size_t i = 0; i < 4; i++)
		if ((rc = write_state_file(dir, state_files[i], pems[i], strlen(pems[i]), err, errlen)) < 0)
			goto out;
	if ((rc = write_state_file(dir, "jwt.key", jwt_key, sizeof(jwt_key), err, errlen)) < 0)
		goto out;
out:
	OPENSSL_cleanse(jwt_key, sizeof(jwt_key));
	for (size_t i = 0; i < 4; i++) {
		if (pems[i])
			OPENSSL_cleanse(pems[i], strlen(pems[i]));
		free(pems[i]);
	}
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	X509_free(ca_cert);
	X509_free(srv_cert);
	if (rc < 0 && started)
		undo_dir(dir, created);
	return rc;
}

int state_copy(const char *src, const char *dst, char *err, size_t errlen)
{
	/* ca.key, server.key and jwt.key are secrets: state_load refused them if group/others could read them. */
	static const bool secret[NSTATE_FILES] = { true, false, true, false, true };
	struct console_state st;
	bool created = false, started = false;
	char *data = NULL;
	size_t len = 0;
	int rc;

	/* Only a state that loads is worth copying: the copy must start a node. */
	if ((rc = state_load(src, &st, err, errlen)) < 0)
		return rc;
	state_free(&st);
	if ((rc = prepare_dir(dst, &created, err, errlen)) < 0)
		goto out;
	started = true;
	for (size_t i = 0; i < NSTATE_FILES; i++) {
		if ((rc = load_file(src, state_files[i], secret[i], &data, &len, NULL, err, errlen)) < 0 ||
		    (rc = write_state_file(dst, state_files[i], data, len, err, errlen)) < 0)
			goto out;
		OPENSSL_cleanse(data, len);
		free(data);
		data = NULL;
	}
out:
	if (data) {
		OPENSSL_cleanse(data, len);
		free(data);
	}
	if (rc < 0 && started)
		undo_dir(dst, created);
	return rc;
}

int state_ca_fingerprint(const struct console_state *st, char out[STATE_FINGERPRINT_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!st->ca_cert || X509_digest(st->ca_cert, EVP_sha256(), md, &n) != 1 || n != 32)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* Reads one state file; secret ones must not be readable by group or others. */
static int load_file(const char *dir, const char *file, bool secret, char **data, size_t *len, char **path_out,
		     char *err, size_t errlen)
{
	char *path = path_join(dir, file);
	struct stat sb;
	int rc;

	if (!path)
		return -ENOMEM;
	if (stat(path, &sb) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (secret && (sb.st_mode & 077)) {
		snprintf(err, errlen, "%s: mode %03o gives group/others access; chmod 600 it", path,
			 (unsigned)(sb.st_mode & 0777));
		rc = -EPERM;
		goto out;
	}
	if ((rc = pki_read_file(path, STATE_MAX_FILE, data, len)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
out:
	if (rc == 0 && path_out)
		*path_out = path;
	else
		free(path);
	return rc;
}

int state_load(const char *dir, struct console_state *st, char *err, size_t errlen)
{
	char *data = NULL, *srv_pem = NULL, *srv_key_pem = NULL;
	EVP_PKEY *srv_key = NULL;
	X509 *srv_cert = NULL;
	size_t len = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	if (!(st->dir = strdup(dir))) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = load_file(dir, "ca.key", true, &data, &len, NULL, err, errlen)) < 0)
		goto out;
	if ((rc = pki_key_from_pem(data, &st->ca_key)) < 0) {
		snprintf(err, errlen, "%s/ca.key: not a PEM private key", dir);
		goto out;
	}
	OPENSSL_cleanse(data, len);
	free(data);
	data = NULL;
	if ((rc = load_file(dir, "ca.crt", false, &st->ca_pem, &len, &st->ca_cert_path, err, errlen)) < 0)
		goto out;
	if ((rc = pki_cert_from_pem(st->ca_pem, &st->ca_cert)) < 0) {
		snprintf(err, errlen, "%s: not a PEM certificate", st->ca_cert_path);
		goto out;
	}
	if (X509_check_private_key(st->ca_cert, st->ca_key) != 1) {
		snprintf(err, errlen, "%s does not match %s/ca.key", st->ca_cert_path, dir);
		rc = -EINVAL;
		goto out;
	}
	if ((rc = load_file(dir, "server.crt", false, &srv_pem, &len, &st->server_cert_path, err, errlen)) < 0 ||
	    (rc = load_file(dir, "server.key", true, &srv_key_pem, &len, &st->server_key_path, err, errlen)) < 0)
		goto out;
	if (pki_cert_from_pem(srv_pem, &srv_cert) < 0 || pki_key_from_pem(srv_key_pem, &srv_key) < 0 ||
	    X509_check_private_key(srv_cert, srv_key) != 1) {
		snprintf(err, errlen, "%s and %s are not a matching certificate and key", st->server_cert_path,
			 st->server_key_path);
		rc = -EINVAL;
		goto out;
	}
	if ((rc = load_file(dir, "jwt.key", true, &data, &len, NULL, err, errlen)) < 0)
		goto out;
	if (len != SESSION_KEY_LEN) {
		snprintf(err, errlen, "%s/jwt.key: expected %d bytes, found %zu", dir, SESSION_KEY_LEN, len);
		rc = -EINVAL;
		goto out;
	}
	memcpy(st->jwt_key, data, SESSION_KEY_LEN);
	rc = 0;
out:
	if (data) {
		OPENSSL_cleanse(data, len);
		free(data);
	}
	if (srv_key_pem) {
		OPENSSL_cleanse(srv_key_pem, strlen(srv_key_pem));
		free(srv_key_pem);
	}
	free(srv_pem);
	EVP_PKEY_free(srv_key);
	X509_free(srv_cert);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (rc < 0)
		state_free(st);
	return rc;
}

void state_free(struct console_state *st)
{
	free(st->dir);
	free(st->ca_cert_path);
	free(st->server_cert_path);
	free(st->server_key_path);
	free(st->ca_pem);
	EVP_PKEY_free(st->ca_key);
	X509_free(st->ca_cert);
	OPENSSL_cleanse(st->jwt_key, sizeof(st->jwt_key));
	memset(st, 0, sizeof(*st));
}
