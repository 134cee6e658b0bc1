/* Certificates and keys for the console's internal CA and the sensors (OpenSSL 3).
 * Keys are ECDSA P-256. Every PEM string returned is heap-allocated; the caller frees it with free().
 * Functions return 0 on success or a negative errno-style code; they never log key material. */
#pragma once
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PKI_SERIAL_HEX_LEN 41 /* 160-bit serial as lowercase hex + NUL */

int pki_ec_key_new(EVP_PKEY **out) __attribute__((warn_unused_result));
int pki_key_to_pem(EVP_PKEY *key, char **pem) __attribute__((warn_unused_result));
int pki_key_from_pem(const char *pem, EVP_PKEY **out) __attribute__((warn_unused_result));
int pki_cert_to_pem(X509 *cert, char **pem) __attribute__((warn_unused_result));
int pki_cert_from_pem(const char *pem, X509 **out) __attribute__((warn_unused_result));

/* A self-signed CA certificate (basicConstraints CA:TRUE, keyCertSign) valid for `days`. */
int pki_ca_create(const char *cn, int days, EVP_PKEY **key, X509 **cert) __attribute__((warn_unused_result));
/* A server certificate signed by the CA, with subjectAltNames (each an IP address or a DNS name). */
int pki_server_cert_create(EVP_PKEY *ca_key, X509 *ca_cert, const char *cn, const char *const *sans, size_t nsans,
			   int days, EVP_PKEY **key, X509 **cert) __attribute__((warn_unused_result));
/* A PEM CSR for `cn`, signed with `key`. */
int pki_csr_create(EVP_PKEY *key, const char *cn, char **csr_pem) __attribute__((warn_unused_result));
/* Signs a CSR as a client certificate whose subject is CN=subject_cn (whatever the CSR asked for), after
 * checking the CSR's own signature. Outputs the PEM, the serial as hex and notAfter (µs since the epoch). */
int pki_csr_sign(EVP_PKEY *ca_key, X509 *ca_cert, const char *csr_pem, const char *subject_cn, int days,
		 char **cert_pem, char serial_hex[PKI_SERIAL_HEX_LEN], int64_t *not_after_usec)
	__attribute__((warn_unused_result));
/* The certificate's subject CN and serial (hex); cn_len bytes at most, NUL-terminated. */
int pki_cert_subject_cn(X509 *cert, char *cn, size_t cn_len) __attribute__((warn_unused_result));
int pki_cert_serial_hex(X509 *cert, char serial_hex[PKI_SERIAL_HEX_LEN]) __attribute__((warn_unused_result));

/* Writes a file atomically (temp file + rename) with `mode`; with exclusive set, fails with -EEXIST when the
 * path exists. */
/* Writes all len bytes to fd, retrying short writes and EINTR; 0 or -errno. */
int pki_write_all(int fd, const void *data, size_t len) __attribute__((warn_unused_result));
int pki_write_file(const char *path, const void *data, size_t len, mode_t mode, int exclusive)
	__attribute__((warn_unused_result));
/* Reads a whole file (at most max_len bytes, else -EFBIG) into a NUL-terminated heap buffer. */
int pki_read_file(const char *path, size_t max_len, char **data, size_t *len) __attribute__((warn_unused_result));
/* Cryptographic random bytes; hex and unpadded base64url encodings (out must hold 2n+1 / 4n/3+3 bytes). */
int pki_random_bytes(uint8_t *buf, size_t n) __attribute__((warn_unused_result));
void pki_hex(const uint8_t *in, size_t n, char *out);
void pki_base64url(const uint8_t *in, size_t n, char *out);
/* SHA-256 of data into out[32]. */
void pki_sha256(const void *data, size_t len, uint8_t out[32]);
