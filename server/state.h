/* The console's state directory: the internal CA, the server certificate, the JWT key. Every node of a
 * console holds a copy. Files (all 0600 in a 0700 directory):
 *   ca.key ca.crt server.key server.crt jwt.key (32 raw bytes) */
#pragma once
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/session_token.h"

struct console_state {
	char *dir;
	char *ca_cert_path, *server_cert_path, *server_key_path;
	EVP_PKEY *ca_key;
	X509 *ca_cert;
	char *ca_pem;
	uint8_t jwt_key[SESSION_KEY_LEN];
};

/* Creates a new state directory; fails with -EEXIST if it holds a state already. `hostnames` become the
 * server certificate's SANs (default localhost and 127.0.0.1 when n == 0). */
int state_create(const char *dir, const char *const *hostnames, size_t n, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Loads it; on error writes a message naming the file into err. */
int state_load(const char *dir, struct console_state *st, char *err, size_t errlen) __attribute__((warn_unused_result));
void state_free(struct console_state *st);
/* Removes a state directory made by state_create (its known files, then the directory, which must then be
 * empty); used by `init` when a later step fails. Returns 0 or a negative errno. */
int state_remove(const char *dir) __attribute__((warn_unused_result));
/* Copies the state in src (which must load: state_load) into dst, absent or empty (-EEXIST otherwise): the same
 * CA, server certificate and JWT key byte for byte, nothing generated, files 0600 in a 0700 directory. This is
 * how a second console node gets its state (init --join). On failure dst is left as it was. */
int state_copy(const char *src, const char *dst, char *err, size_t errlen) __attribute__((warn_unused_result));
/* The console's identity: SHA-256 of the CA certificate (DER) as 64 lowercase hex digits and a NUL. Every node
 * of one console has the same; init records it in the database so that init --join can check it. Returns 0 or
 * -EINVAL. */
#define STATE_FINGERPRINT_LEN 65
int state_ca_fingerprint(const struct console_state *st, char out[STATE_FINGERPRINT_LEN])
	__attribute__((warn_unused_result));
