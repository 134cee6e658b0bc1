/* Renewal of the sensor's client certificate before it expires (issue 6).
 *
 * Over its authenticated websocket the uplink sends `renew {csr}` for a new key once the certificate expires
 * within the renewal window (default CERT_RENEW_BEFORE_DAYS); the console signs it as the sensor's *next*
 * certificate and answers `certificate {certificate}`. The uplink checks the answer, installs key and certificate
 * in the state directory and reconnects with them; the console promotes the next certificate at that hello and
 * revokes the old one. Until then both are accepted, so a lost answer or a crash never locks the sensor out: it
 * simply asks again.
 *
 * Install is crash-safe: sensor.key.new and sensor.crt.new are written and synced, then renamed over sensor.key
 * and sensor.crt in that order. cert_renew_recover() finishes or undoes an install a crash interrupted: with both
 * .new files present nothing was renamed yet (the old pair is intact: they are removed); with only sensor.crt.new
 * the key is already new (the certificate is renamed too). */
#pragma once
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CERT_RENEW_BEFORE_DAYS 30

/* *due = the certificate at cert_path expires within before_sec from now (or has expired). *not_after_usec gets its
 * end of validity. 0 or a negative errno (-EINVAL: not a certificate). */
int cert_renew_due(const char *cert_path, int64_t before_sec, bool *due, int64_t *not_after_usec)
	__attribute__((warn_unused_result));

/* A new EC P-256 key (*key, EVP_PKEY_free) and a PEM CSR for CN = sensor_id (*csr_pem, free()). */
int cert_renew_request(const char *sensor_id, EVP_PKEY **key, char **csr_pem) __attribute__((warn_unused_result));

/* Checks that cert_pem certifies `key`, names CN = sensor_id, is signed by the CA in ca_path, is valid now and is
 * a TLS client certificate; then installs key and the checked certificate (re-encoded: nothing else the text
 * carried) as state_dir/sensor.key and sensor.crt. 0, or a negative errno with err set: nothing installed, unless a
 * rename failed half way, which cert_renew_recover() then completes. */
int cert_renew_install(const char *state_dir, const char *ca_path, const char *sensor_id, EVP_PKEY *key,
		       const char *cert_pem, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Completes or undoes an install that a crash interrupted (see above). 0 or a negative errno. */
int cert_renew_recover(const char *state_dir) __attribute__((warn_unused_result));
