#include "server/sensors_admin.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pki.h"
#include "common/timefmt.h"
#include "server/db.h"

#define TOKEN_BYTES 32
/* Microseconds since the epoch of a timestamptz column, as text libpq hands back. */
#define USEC(col) "(extract(epoch from " col ") * 1000000)::bigint"

bool sensors_admin_id_valid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		char c = s[i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

/* Names: 1..200 bytes, no control characters, no leading/trailing blanks (they'd make look-alikes). */
static bool name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 200 || name[0] == ' ' || name[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

static bool zone_valid(const char *z)
{
	size_t n = strlen(z);

	if (n == 0 || n > 18 || z[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++)
		if (z[i] < '0' || z[i] > '9')
			return false;
	return true;
}

/* A bigint µs column as an RFC 3339 JSON string, or null. */
static json_t *time_value(PGresult *res, int row, int col)
{
	char buf[TIMEFMT_LEN];

	if (PQgetisnull(res, row, col))
		return json_null();
	return json_string(timefmt_rfc3339_ms(strtoll(PQgetvalue(res, row, col), NULL, 10), buf));
}

static json_t *int_or_null(PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return json_null();
	return json_integer(strtoll(PQgetvalue(res, row, col), NULL, 10));
}

/* "\x<hex>": bytea in text form, for a parameter. */
static void token_hash_param(const char *token, char out[2 + 64 + 1])
{
	uint8_t digest[32];

	pki_sha256(token, strlen(token), digest);
	out[0] = '\\';
	out[1] = 'x';
	pki_hex(digest, sizeof(digest), out + 2);
}

int sensors_admin_create(PGconn *db, const struct console_state *st, const struct console_config *cfg,
			 const char *name, const char *zone_id, json_t **activation, char *err, size_t errlen)
{
	uint8_t raw[TOKEN_BYTES];
	char token[TOKEN_BYTES * 4 / 3 + 3], hash[67], ttl[24], sqlstate[6], sensor_id[37];
	const char *params[3];
	PGresult *res = NULL;
	json_t *doc = NULL;
	int rc = -EINVAL;

	if (!name_valid(name)) {
		snprintf(err, errlen, "a sensor name has 1 to 200 characters, no control characters and no "
				      "leading or trailing space");
		goto out;
	}
	if (zone_id && !zone_valid(zone_id)) {
		snprintf(err, errlen, "zone id must be a positive integer");
		goto out;
	}
	rc = -EIO;
	if (pki_random_bytes(raw, sizeof(raw)) < 0) {
		snprintf(err, errlen, "no random bytes");
		goto out;
	}
	pki_base64url(raw, sizeof(raw), token);
	token_hash_param(token, hash);
	if (!db_begin(db)) {
		snprintf(err, errlen, "database error");
		goto out;
	}
	params[0] = name;
	params[1] = zone_id;
	res = db_exec_state(db, "insert into sensors (name, zone_id) values ($1, $2::bigint) returning id::text, zone_id",
			    2, params, sqlstate);
	if (!res) {
		if (strcmp(sqlstate, "23505") == 0) {
			snprintf(err, errlen, "a sensor named \"%s\" exists already", name);
			rc = -EEXIST;
		} else if (strcmp(sqlstate, "23503") == 0) {
			snprintf(err, errlen, "zone %s does not exist", zone_id);
			rc = -ENOENT;
		} else if (strncmp(sqlstate, "23", 2) == 0 || strncmp(sqlstate, "22", 2) == 0) {
			snprintf(err, errlen, "invalid sensor name or zone");
			rc = -EINVAL;
		} else {
			snprintf(err, errlen, "database error");
		}
		goto out;
	}
	doc = json_pack("{s:s, s:i, s:s, s:s, s:o, s:s, s:s, s:s, s:s}", "format", "otwatch-activation", "version", 1,
			"sensor_id", PQgetvalue(res, 0, 0), "sensor_name", name, "zone_id", int_or_null(res, 0, 1),
			"api_url", cfg->public_api_url, "sensor_url", cfg->public_sensor_url, "ca_certificate",
			st->ca_pem, "enrollment_token", token);
	if (!doc) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	snprintf(ttl, sizeof(ttl), "%lld", (long long)cfg->enrollment_ttl);
	snprintf(sensor_id, sizeof(sensor_id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	params[0] = hash;
	params[1] = sensor_id;
	params[2] = ttl;
	/* The database's clock decides expiry at enrollment, so it decides it here too. */
	res = db_exec(db,
		      "insert into enrollment_tokens (token_hash, sensor_id, expires_at) "
		      "values ($1::bytea, $2::uuid, now() + $3::bigint * interval '1 second') returning " USEC("expires_at"),
		      3, params);
	if (!res || !PQgetvalue(res, 0, 0)) {
		snprintf(err, errlen, "database error");
		goto out;
	}
	if (json_object_set_new(doc, "expires_at", time_value(res, 0, 0)) < 0 || !db_commit(db)) {
		snprintf(err, errlen, "database error");
		goto out;
	}
	log_info("sensor %s created", sensor_id);
	*activation = doc;
	doc = NULL;
	rc = 0;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(token, sizeof(token));
	PQclear(res);
	if (rc < 0)
		db_rollback(db);
	json_decref(doc);
	return rc;
}

int sensors_admin_renew(PGconn *db, const struct console_state *st, const char *sensor_id, const char *csr_pem,
			char **cert_pem, int64_t *not_after_usec, char *err, size_t errlen)
{
	char serial[PKI_SERIAL_HEX_LEN], not_after[24];
	const char *params[3];
	PGresult *res;
	int rc;

	*cert_pem = NULL;
	rc = pki_csr_sign(st->ca_key, st->ca_cert, csr_pem, sensor_id, SENSORS_ADMIN_CERT_DAYS, cert_pem, serial,
			  not_after_usec);
	if (rc < 0) {
		snprintf(err, errlen, rc == -EINVAL ? "malformed or unacceptable CSR" : "signing failed");
		return rc == -EINVAL ? -EINVAL : -EIO;
	}
	snprintf(not_after, sizeof(not_after), "%lld", (long long)*not_after_usec);
	params[0] = sensor_id;
	params[1] = serial;
	params[2] = not_after;
	res = db_exec(db, "select otw_cert_renewed($1::uuid, $2, to_timestamp($3::bigint / 1000000.0))", 3, params);
	rc = !res ? -EIO : strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? 0 : -EACCES;
	PQclear(res);
	if (rc < 0) {
		snprintf(err, errlen, rc == -EIO ? "database error" : "sensor revoked or unknown");
		free(*cert_pem);
		*cert_pem = NULL;
		return rc;
	}
	log_info("sensor %s: renewal certificate serial %s signed", sensor_id, serial);
	return 0;
}

int sensors_admin_enroll(PGconn *db, const struct console_state *st, const char *token, const char *csr_pem,
			 json_t **result, char *err, size_t errlen)
{
	char hash[67], serial[PKI_SERIAL_HEX_LEN], not_after[24], sensor_id[37], buf[TIMEFMT_LEN];
	const char *params[3];
	PGresult *res = NULL;
	char *cert_pem = NULL;
	int64_t not_after_usec = 0;
	bool ok;
	int rc = -EACCES;

	if (!token || !*token || strlen(token) > SENSORS_ADMIN_TOKEN_MAX) {
		snprintf(err, errlen, "enrollment refused");
		goto out;
	}
	token_hash_param(token, hash);
	rc = -EIO;
	if (!db_begin(db)) {
		snprintf(err, errlen, "database error");
		goto out;
	}
	params[0] = hash;
	/* Locks the token and its sensor: a concurrent enrollment with the same token waits and then sees it
	 * used; a concurrent revoke waits for this one and then revokes the new serial too. */
	res = db_exec(db,
		      "select t.sensor_id::text, t.used_at is null and t.expires_at > now() and s.revoked_at is null "
		      "from enrollment_tokens t join sensors s on s.id = t.sensor_id where t.token_hash = $1::bytea "
		      "for update",
		      1, params);
	if (!res) {
		snprintf(err, errlen, "database error");
		goto out;
	}
	ok = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	if (!ok) {
		snprintf(err, errlen, "enrollment refused");
		rc = -EACCES;
		goto out;
	}
	snprintf(sensor_id, sizeof(sensor_id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;
	rc = pki_csr_sign(st->ca_key, st->ca_cert, csr_pem, sensor_id, SENSORS_ADMIN_CERT_DAYS, &cert_pem, serial,
			  &not_after_usec);
	if (rc < 0) {
		snprintf(err, errlen, rc == -EINVAL ? "malformed or unacceptable CSR" : "signing failed");
		goto out;
	}
	rc = -EIO;
	snprintf(not_after, sizeof(not_after), "%lld", (long long)not_after_usec);
	params[0] = sensor_id;
	res = db_exec(db,
		      "insert into revoked_certificates (serial, sensor_id) select cert_serial, id from sensors "
		      "where id = $1::uuid and cert_serial is not null on conflict (serial) do nothing",
		      1, params);
	if (!res)
		goto dberr;
	PQclear(res);
	params[0] = hash;
	res = db_exec(db, "update enrollment_tokens set used_at = now() where token_hash = $1::bytea", 1, params);
	if (!res)
		goto dberr;
	PQclear(res);
	params[0] = sensor_id;
	params[1] = serial;
	params[2] = not_after;
	res = db_exec(db,
		      "update sensors set cert_serial = $2, cert_not_after = to_timestamp($3::bigint / 1000000.0), "
		      "updated_at = now() where id = $1::uuid",
		      3, params);
	if (!res || !db_commit(db))
		goto dberr;
	*result = json_pack("{s:s, s:s, s:s, s:s}", "sensor_id", sensor_id, "certificate", cert_pem, "ca_certificate",
			    st->ca_pem, "not_after", timefmt_rfc3339_ms(not_after_usec, buf));
	if (!*result) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	log_info("sensor %s enrolled, certificate serial %s", sensor_id, serial);
	rc = 0;
	goto out;
dberr:
	snprintf(err, errlen, "database error");
out:
	PQclear(res);
	if (rc < 0)
		db_rollback(db);
	free(cert_pem);
	return rc;
}

int sensors_admin_revoke(PGconn *db, const char *sensor_id, char *err, size_t errlen)
{
	const char *params[2] = { sensor_id, SENSORS_ADMIN_REVOKE_CHANNEL };
	PGresult *res = NULL;
	int rc = -ENOENT;

	if (!sensors_admin_id_valid(sensor_id)) {
		snprintf(err, errlen, "no sensor with id \"%s\"", sensor_id ? sensor_id : "");
		goto out;
	}
	rc = -EIO;
	if (!db_begin(db))
		goto dberr;
	res = db_exec(db,
		      "update sensors set revoked_at = coalesce(revoked_at, now()), connected = false, "
		      "updated_at = now() where id = $1::uuid returning cert_serial",
		      1, params);
	if (!res)
		goto dberr;
	if (PQntuples(res) == 0) {
		snprintf(err, errlen, "no sensor with id \"%s\"", sensor_id);
		rc = -ENOENT;
		goto out;
	}
	PQclear(res);
	res = db_exec(db,
		      "insert into revoked_certificates (serial, sensor_id) select u.serial, s.id from sensors s,"
		      " unnest(array[s.cert_serial, s.next_cert_serial]) u(serial)"
		      " where s.id = $1::uuid and u.serial is not null on conflict (serial) do nothing",
		      1, params);
	if (!res)
		goto dberr;
	PQclear(res);
	/* A renewed certificate not used yet is revoked with the current one. */
	res = db_exec(db, "update sensors set next_cert_serial = null, next_cert_not_after = null where id = $1::uuid",
		      1, params);
	if (!res)
		goto dberr;
	PQclear(res);
	res = db_exec(db, "delete from enrollment_tokens where sensor_id = $1::uuid and used_at is null", 1, params);
	if (!res)
		goto dberr;
	PQclear(res);
	res = db_exec(db, "select pg_notify($2, $1)", 2, params);
	if (!res || !db_commit(db))
		goto dberr;
	log_info("sensor %s revoked", sensor_id);
	rc = 0;
	goto out;
dberr:
	snprintf(err, errlen, "database error");
out:
	PQclear(res);
	if (rc < 0)
		db_rollback(db);
	return rc;
}

int sensors_admin_list(PGconn *db, json_t **list, char *err, size_t errlen)
{
	PGresult *res = db_exec(db,
				"select id::text, name, zone_id, cert_serial, " USEC("cert_not_after") ", connected, " USEC(
					"last_seen") ", " USEC("revoked_at") ", " USEC("created_at") " from sensors order by name",
				0, NULL);
	json_t *arr = NULL;
	int rc = -EIO;

	if (!res) {
		snprintf(err, errlen, "database error");
		goto out;
	}
	arr = json_array();
	for (int r = 0; arr && r < PQntuples(res); r++) {
		json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:b, s:o, s:o, s:o}", "id", PQgetvalue(res, r, 0),
				      "name", PQgetvalue(res, r, 1), "zone_id", int_or_null(res, r, 2), "cert_serial",
				      PQgetisnull(res, r, 3) ? json_null() : json_string(PQgetvalue(res, r, 3)),
				      "cert_not_after", time_value(res, r, 4), "connected",
				      strcmp(PQgetvalue(res, r, 5), "t") == 0, "last_seen", time_value(res, r, 6),
				      "revoked_at", time_value(res, r, 7), "created_at", time_value(res, r, 8));
		if (!o || json_array_append_new(arr, o) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	if (!arr) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	*list = arr;
	arr = NULL;
	rc = 0;
out:
	json_decref(arr);
	PQclear(res);
	return rc;
}
