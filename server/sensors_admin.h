/* Sensor lifecycle shared by the CLI (`otwatch-console sensor ...`) and the HTTP API: create a sensor with a
 * one-time enrollment token, enroll it (sign its CSR), list, revoke.
 *
 * These functions block (libpq): call them from a worker thread, never from the event loop. Each runs its
 * own transaction on `db` (which must not be inside one). They do not write the audit log and do not touch
 * the gateway: the caller audits (audit_write) and kicks a revoked sensor (gateway_kick_sensor). Revocation
 * also sends NOTIFY on the channel SENSORS_ADMIN_REVOKE_CHANNEL with the sensor id as payload at commit,
 * so every console node's gateway can drop the sensor.
 *
 * Return codes: 0; -EINVAL bad input (message in err is safe to show the caller); -EEXIST duplicate name;
 * -ENOENT unknown zone / sensor; -EACCES enrollment refused (err is deliberately generic: do not tell the
 * caller whether the token was unknown, used, expired or its sensor revoked); -EIO database or crypto
 * failure (logged; answer 500). JSON results are new references the caller must json_decref. */
#pragma once
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "server/config.h"
#include "server/state.h"

#define SENSORS_ADMIN_CERT_DAYS 365
#define SENSORS_ADMIN_REVOKE_CHANNEL "otw_sensor_revoked"
#define SENSORS_ADMIN_TOKEN_MAX 128 /* longest enrollment token accepted (ours are 43 characters) */

/* Inserts the sensor and its enrollment token (256 random bits, base64url; only its SHA-256 is stored,
 * valid cfg->enrollment_ttl seconds). zone_id is a decimal string or NULL (unassigned). *activation is the
 * activation document:
 *   {"format":"otwatch-activation","version":1,"sensor_id":UUID,"sensor_name":str,"zone_id":int|null,
 *    "api_url":str,"sensor_url":str,"ca_certificate":PEM,"enrollment_token":str,"expires_at":RFC3339}
 * It holds the secret token: hand it only to the admin who asked for it, never log it. */
int sensors_admin_create(PGconn *db, const struct console_state *st, const struct console_config *cfg,
			 const char *name, const char *zone_id, json_t **activation, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Enrolls with a token and a PEM CSR: signs a client certificate with CN = sensor id (whatever the CSR says),
 * valid SENSORS_ADMIN_CERT_DAYS, consumes the token, records cert_serial/cert_not_after (a previous serial is
 * added to revoked_certificates). -EINVAL for a malformed CSR (the token stays usable). *result:
 *   {"sensor_id":UUID,"certificate":PEM,"ca_certificate":PEM,"not_after":RFC3339} */
int sensors_admin_enroll(PGconn *db, const struct console_state *st, const char *token, const char *csr_pem,
			 json_t **result, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Renewal over the sensor's authenticated websocket: signs a certificate for the CSR (CN = sensor id, valid
 * SENSORS_ADMIN_CERT_DAYS) and records it as the sensor's next certificate (otw_cert_renewed in
 * sql/011_cert_renewal.sql); the hello of the first connection made with it promotes it. *cert_pem is heap
 * (free()). -EINVAL malformed CSR, -EACCES revoked or unknown sensor, -EIO database. */
int sensors_admin_renew(PGconn *db, const struct console_state *st, const char *sensor_id, const char *csr_pem,
			char **cert_pem, int64_t *not_after_usec, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Marks the sensor revoked, adds its certificate serial to revoked_certificates, deletes its unused tokens,
 * and NOTIFYs SENSORS_ADMIN_REVOKE_CHANNEL. Revoking twice is not an error. -ENOENT if unknown. */
int sensors_admin_revoke(PGconn *db, const char *sensor_id, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* All sensors, by name: [{"id","name","zone_id":int|null,"cert_serial":str|null,"cert_not_after":str|null,
 * "connected":bool,"last_seen":str|null,"revoked_at":str|null,"created_at":str}] (times RFC 3339). */
int sensors_admin_list(PGconn *db, json_t **list, char *err, size_t errlen) __attribute__((warn_unused_result));

/* true when s has the canonical UUID text form (36 characters, hex and dashes). */
bool sensors_admin_id_valid(const char *s);
