#include "common/pki.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define PKI_SERIAL_BYTES 20
/* Certificates start 5 minutes in the past so that a peer whose clock is slightly behind accepts them. */
#define PKI_BACKDATE_SEC 300

static void bio_free_p(BIO **b) { BIO_free(*b); }
#define _cleanup_bio_ __attribute__((cleanup(bio_free_p)))

/* Copies a memory BIO's contents into a NUL-terminated heap string. */
static int bio_to_string(BIO *bio, char **out)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	char *s;

	if (n < 0)
		return -EIO;
	s = malloc((size_t)n + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	*out = s;
	return 0;
}

int pki_ec_key_new(EVP_PKEY **out)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");

	if (!key)
		return -EIO;
	*out = key;
	return 0;
}

int pki_key_to_pem(EVP_PKEY *key, char **pem)
{
	_cleanup_bio_ BIO *bio = BIO_new(BIO_s_mem());

	if (!bio)
		return -ENOMEM;
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
		return -EIO;
	return bio_to_string(bio, pem);
}

int pki_key_from_pem(const char *pem, EVP_PKEY **out)
{
	_cleanup_bio_ BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key;

	if (!bio)
		return -ENOMEM;
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (!key)
		return -EINVAL;
	*out = key;
	return 0;
}

int pki_cert_to_pem(X509 *cert, char **pem)
{
	_cleanup_bio_ BIO *bio = BIO_new(BIO_s_mem());

	if (!bio)
		return -ENOMEM;
	if (PEM_write_bio_X509(bio, cert) != 1)
		return -EIO;
	return bio_to_string(bio, pem);
}

int pki_cert_from_pem(const char *pem, X509 **out)
{
	_cleanup_bio_ BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert;

	if (!bio)
		return -ENOMEM;
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (!cert)
		return -EINVAL;
	*out = cert;
	return 0;
}

/* 160 random bits with the top bit cleared: positive and at most 20 octets in DER (RFC 5280 4.1.2.2). The
 * second-highest bit is set so that the serial always has exactly 20 significant octets (fixed-width hex). */
static int set_random_serial(X509 *cert)
{
	uint8_t raw[PKI_SERIAL_BYTES];
	BIGNUM *bn = NULL;
	int rc = -EIO;

	if (pki_random_bytes(raw, sizeof(raw)) < 0)
		goto out;
	raw[0] = (uint8_t)((raw[0] & 0x7f) | 0x40);
	bn = BN_bin2bn(raw, sizeof(raw), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)))
		goto out;
	rc = 0;
out:
	BN_free(bn);
	return rc;
}

static int set_validity(X509 *cert, int days)
{
	if (days <= 0)
		return -EINVAL;
	if (!X509_gmtime_adj(X509_getm_notBefore(cert), -PKI_BACKDATE_SEC))
		return -EIO;
	if (!X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, NULL))
		return -EIO;
	return 0;
}

static int set_subject_cn(X509 *cert, const char *cn)
{
	X509_NAME *name = X509_NAME_new();
	int rc = -EIO;

	if (!name)
		return -ENOMEM;
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0))
		goto out;
	if (!X509_set_subject_name(cert, name))
		goto out;
	rc = 0;
out:
	X509_NAME_free(name);
	return rc;
}

/* Adds one extension in OpenSSL's config syntax ("critical,CA:TRUE"); ctx names issuer and subject. */
static int add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	int ok;

	if (!ext)
		return -EINVAL;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -EIO;
}

/* A new X509 v3 with a random serial, the given subject CN, issuer, public key and validity. */
static int cert_skeleton(const char *cn, X509 *issuer, EVP_PKEY *pub, int days, X509 **out)
{
	X509 *cert = X509_new();
	int rc = -ENOMEM;

	if (!cert)
		goto out;
	rc = -EIO;
	if (!X509_set_version(cert, X509_VERSION_3))
		goto out;
	if ((rc = set_random_serial(cert)) < 0 || (rc = set_subject_cn(cert, cn)) < 0 ||
	    (rc = set_validity(cert, days)) < 0)
		goto out;
	rc = -EIO;
	if (!X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(cert)))
		goto out;
	if (!X509_set_pubkey(cert, pub))
		goto out;
	*out = cert;
	cert = NULL;
	rc = 0;
out:
	X509_free(cert);
	return rc;
}

int pki_ca_create(const char *cn, int days, EVP_PKEY **key, X509 **cert)
{
	EVP_PKEY *k = NULL;
	X509 *c = NULL;
	X509V3_CTX ctx;
	int rc;

	if ((rc = pki_ec_key_new(&k)) < 0 || (rc = cert_skeleton(cn, NULL, k, days, &c)) < 0)
		goto out;
	X509V3_set_ctx(&ctx, c, c, NULL, NULL, 0);
	if ((rc = add_ext(c, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")) < 0 ||
	    (rc = add_ext(c, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign")) < 0 ||
	    (rc = add_ext(c, &ctx, NID_subject_key_identifier, "hash")) < 0)
		goto out;
	if (X509_sign(c, k, EVP_sha256()) <= 0) {
		rc = -EIO;
		goto out;
	}
	*key = k;
	*cert = c;
	k = NULL;
	c = NULL;
out:
	EVP_PKEY_free(k);
	X509_free(c);
	return rc;
}

/* A DNS name for a SAN: letters, digits, '-' and '.', which also keeps OpenSSL's "a,b" syntax intact. */
static bool dns_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '.'))
			return false;
	}
	return true;
}

/* Builds "IP:a,DNS:b" for subjectAltName: IP when the string parses as an address, else DNS. */
static int build_san(const char *const *sans, size_t nsans, char **out)
{
	size_t cap = 1, len = 0;
	char *s;

	if (nsans == 0)
		return -EINVAL;
	for (size_t i = 0; i < nsans; i++)
		cap += strlen(sans[i]) + 5;
	s = malloc(cap);
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < nsans; i++) {
		ASN1_OCTET_STRING *ip = a2i_IPADDRESS(sans[i]);
		const char *kind = ip ? "IP" : "DNS";

		ASN1_OCTET_STRING_free(ip);
		if (!ip && !dns_name_ok(sans[i])) {
			free(s);
			return -EINVAL;
		}
		len += (size_t)snprintf(s + len, cap - len, "%s%s:%s", i ? "," : "", kind, sans[i]);
	}
	*out = s;
	return 0;
}

int pki_server_cert_create(EVP_PKEY *ca_key, X509 *ca_cert, const char *cn, const char *const *sans, size_t nsans,
			   int days, EVP_PKEY **key, X509 **cert)
{
	EVP_PKEY *k = NULL;
	X509 *c = NULL;
	char *san = NULL;
	X509V3_CTX ctx;
	int rc;

	if ((rc = build_san(sans, nsans, &san)) < 0)
		goto out;
	if ((rc = pki_ec_key_new(&k)) < 0 || (rc = cert_skeleton(cn, ca_cert, k, days, &c)) < 0)
		goto out;
	X509V3_set_ctx(&ctx, ca_cert, c, NULL, NULL, 0);
	if ((rc = add_ext(c, &ctx, NID_basic_constraints, "critical,CA:FALSE")) < 0 ||
	    (rc = add_ext(c, &ctx, NID_key_usage, "critical,digitalSignature")) < 0 ||
	    (rc = add_ext(c, &ctx, NID_ext_key_usage, "serverAuth")) < 0 ||
	    (rc = add_ext(c, &ctx, NID_subject_key_identifier, "hash")) < 0 ||
	    (rc = add_ext(c, &ctx, NID_authority_key_identifier, "keyid:always")) < 0 ||
	    (rc = add_ext(c, &ctx, NID_subject_alt_name, san)) < 0)
		goto out;
	if (X509_sign(c, ca_key, EVP_sha256()) <= 0) {
		rc = -EIO;
		goto out;
	}
	*key = k;
	*cert = c;
	k = NULL;
	c = NULL;
out:
	free(san);
	EVP_PKEY_free(k);
	X509_free(c);
	return rc;
}

int pki_csr_create(EVP_PKEY *key, const char *cn, char **csr_pem)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = NULL;
	_cleanup_bio_ BIO *bio = NULL;
	int rc = -ENOMEM;

	if (!req || !(name = X509_NAME_new()) || !(bio = BIO_new(BIO_s_mem())))
		goto out;
	rc = -EIO;
	if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_REQ_set_subject_name(req, name) || !X509_REQ_set_pubkey(req, key) ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0 || PEM_write_bio_X509_REQ(bio, req) != 1)
		goto out;
	rc = bio_to_string(bio, csr_pem);
out:
	X509_NAME_free(name);
	X509_REQ_free(req);
	return rc;
}

/* Sensor keys: EC P-256/P-384 (what pki_ec_key_new makes) or RSA of at least 2048 bits. */
static bool csr_key_acceptable(EVP_PKEY *pub)
{
	char group[32];

	switch (EVP_PKEY_get_base_id(pub)) {
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL))
			return false;
		return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0 ||
		       strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0;
	case EVP_PKEY_RSA:
		return EVP_PKEY_get_bits(pub) >= 2048;
	default:
		return false;
	}
}

static int asn1_time_to_usec(const ASN1_TIME *t, int64_t *usec)
{
	struct tm tm;

	if (!ASN1_TIME_to_tm(t, &tm))
		return -EINVAL;
	*usec = (int64_t)timegm(&tm) * 1000000;
	return 0;
}

int pki_csr_sign(EVP_PKEY *ca_key, X509 *ca_cert, const char *csr_pem, const char *subject_cn, int days,
		 char **cert_pem, char serial_hex[PKI_SERIAL_HEX_LEN], int64_t *not_after_usec)
{
	_cleanup_bio_ BIO *bio = NULL;
	X509_REQ *req = NULL;
	EVP_PKEY *pub;
	X509 *c = NULL;
	X509V3_CTX ctx;
	int rc = -EINVAL;

	if (!csr_pem || strlen(csr_pem) > 16384)
		goto out;
	bio = BIO_new_mem_buf(csr_pem, -1);
	if (!bio) {
		rc = -ENOMEM;
		goto out;
	}
	req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	if (!req || !(pub = X509_REQ_get0_pubkey(req)))
		goto out;
	/* Proof of possession: the CSR must be signed by the key it carries. */
	if (X509_REQ_verify(req, pub) != 1 || !csr_key_acceptable(pub))
		goto out;
	/* Only the public key is taken from the CSR; subject and extensions are the console's. */
	if ((rc = cert_skeleton(subject_cn, ca_cert, pub, days, &c)) < 0)
		goto out;
	X509V3_set_ctx(&ctx, ca_cert, c, NULL, NULL, 0);
	if ((rc = add_ext(c, &ctx, NID_basic_constraints, "critical,CA:FALSE")) < 0 ||
	    (rc = add_ext(c, &ctx, NID_key_usage, "critical,digitalSignature")) < 0 ||
	    (rc = add_ext(c, &ctx, NID_ext_key_usage, "clientAuth")) < 0 ||
	    (rc = add_ext(c, &ctx, NID_subject_key_identifier, "hash")) < 0 ||
	    (rc = add_ext(c, &ctx, NID_authority_key_identifier, "keyid:always")) < 0)
		goto out;
	if (X509_sign(c, ca_key, EVP_sha256()) <= 0) {
		rc = -EIO;
		goto out;
	}
	if ((rc = pki_cert_serial_hex(c, serial_hex)) < 0 ||
	    (rc = asn1_time_to_usec(X509_get0_notAfter(c), not_after_usec)) < 0 || (rc = pki_cert_to_pem(c, cert_pem)) < 0)
		goto out;
out:
	X509_free(c);
	X509_REQ_free(req);
	return rc;
}

int pki_cert_subject_cn(X509 *cert, char *cn, size_t cn_len)
{
	X509_NAME *name = X509_get_subject_name(cert);
	unsigned char *utf8 = NULL;
	int idx, n, rc = -ENOENT;

	idx = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
	if (idx < 0)
		goto out;
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
	rc = -EINVAL;
	if (n < 0 || memchr(utf8, '\0', (size_t)n))
		goto out;
	rc = -ENOSPC;
	if ((size_t)n >= cn_len)
		goto out;
	memcpy(cn, utf8, (size_t)n);
	cn[n] = '\0';
	rc = 0;
out:
	OPENSSL_free(utf8);
	return rc;
}

int pki_cert_serial_hex(X509 *cert, char serial_hex[PKI_SERIAL_HEX_LEN])
{
	uint8_t raw[PKI_SERIAL_BYTES];
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	int rc = -ERANGE;

	if (!bn)
		return -EINVAL;
	if (BN_is_negative(bn) || BN_bn2binpad(bn, raw, sizeof(raw)) < 0)
		goto out;
	pki_hex(raw, sizeof(raw), serial_hex);
	rc = 0;
out:
	BN_free(bn);
	return rc;
}

int pki_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char *dir = strdup(path);
	char *slash;
	int fd, rc = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

int pki_write_file(const char *path, const void *data, size_t len, mode_t mode, int exclusive)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + sizeof(".tmp.XXXXXX"));
	int fd = -1, rc = 0;

	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
	/* The temporary file lives in the target's directory so that rename()/link() cannot cross filesystems;
	 * mkstemp creates it 0600, so the data is never readable by others in between. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		free(tmp);
		return rc;
	}
	if (fchmod(fd, mode) < 0 || (rc = pki_write_all(fd, data, len)) < 0 || fsync(fd) < 0) {
		rc = rc < 0 ? rc : -errno;
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto out;
	}
	fd = -1;
	/* link() fails with EEXIST instead of replacing, which is what "exclusive" promises. */
	if (exclusive ? link(tmp, path) < 0 : rename(tmp, path) < 0) {
		rc = -errno;
		goto out;
	}
	rc = fsync_dir_of(path);
out:
	if (fd >= 0)
		close(fd);
	unlink(tmp); /* after rename it is gone already; after link it is the second name */
	free(tmp);
	return rc;
}

int pki_read_file(const char *path, size_t max_len, char **data, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r;
		if (n == cap || !buf) {
			char *nb;
			if (buf)
				cap *= 2;
			if (cap > max_len + 1)
				cap = max_len + 1;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				rc = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		if (n > max_len) {
			rc = -EFBIG;
			goto out;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max_len) {
			rc = -EFBIG;
			goto out;
		}
	}
	buf[n] = '\0';
	*data = buf;
	buf = NULL;
	if (len)
		*len = n;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

int pki_random_bytes(uint8_t *buf, size_t n)
{
	while (n > 0) {
		int chunk = n > INT_MAX ? INT_MAX : (int)n;
		if (RAND_bytes(buf, chunk) != 1)
			return -EIO;
		buf += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

void pki_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

void pki_base64url(const uint8_t *in, size_t n, char *out)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0, i = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
}

void pki_sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	/* Only fails when OpenSSL cannot allocate or its provider is broken; a wrong digest would silently
	 * match or reject tokens, so stop instead. */
	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
		abort();
}
