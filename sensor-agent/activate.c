#include "sensor-agent/activate.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "common/log.h"
#include "common/pki.h"
#include "common/timefmt.h"
#include "sensor-agent/https_client.h"
#include "sensor-agent/sensor_state.h"

#define TOKEN_MAX 512
#define URL_MAX 2048
#define NAME_MAX_LEN 256

static bool is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* scheme://host[:port][/path] with a non-empty host and no spaces or control characters. */
static bool url_ok(const char *s, const char *scheme)
{
	size_t sl = strlen(scheme), n = strlen(s);
	if (n > URL_MAX || strncmp(s, scheme, sl) != 0 || strncmp(s + sl, "://", 3) != 0)
		return false;
	const char *host = s + sl + 3;
	if (*host == '\0' || *host == '/' || *host == ':' || *host == '@')
		return false;
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	}
	return true;
}

static bool printable(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	}
	return true;
}

void activation_free(struct activation *act)
{
	free(act->name);
	free(act->api_url);
	free(act->sensor_url);
	free(act->ca_pem);
	if (act->token) {
		OPENSSL_cleanse(act->token, strlen(act->token));
		free(act->token);
	}
	json_decref(act->doc);
	memset(act, 0, sizeof(*act));
}

static const char *str_field(json_t *doc, const char *key, char *err, size_t errlen)
{
	json_t *v = json_object_get(doc, key);
	const char *s = json_string_value(v);
	if (!v)
		snprintf(err, errlen, "field \"%s\" is missing", key);
	else if (!s)
		snprintf(err, errlen, "field \"%s\" must be a string", key);
	else if (strlen(s) != json_string_length(v))
		snprintf(err, errlen, "field \"%s\" contains a NUL byte", key);
	else
		return s;
	return NULL;
}

int activation_parse(const void *data, size_t len, struct activation *act, char *err, size_t errlen)
{
	memset(act, 0, sizeof(*act));
	if (len > ACTIVATION_MAX_BYTES) {
		snprintf(err, errlen, "larger than %u bytes", ACTIVATION_MAX_BYTES);
		return -EFBIG;
	}
	json_error_t jerr;
	act->doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!act->doc) {
		snprintf(err, errlen, "not valid JSON (line %d: %s)", jerr.line, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(act->doc)) {
		snprintf(err, errlen, "not a JSON object");
		return -EINVAL;
	}
	json_t *doc = act->doc;
	const char *s;
	if (!(s = str_field(doc, "format", err, errlen)))
		return -EINVAL;
	if (strcmp(s, "otwatch-activation") != 0) {
		snprintf(err, errlen, "field \"format\" must be \"otwatch-activation\"");
		return -EINVAL;
	}
	json_t *ver = json_object_get(doc, "version");
	if (!json_is_integer(ver) || json_integer_value(ver) != 1) {
		snprintf(err, errlen, "field \"version\" must be 1 (this sensor reads version 1 activation files)");
		return -EINVAL;
	}
	if (!(s = str_field(doc, "sensor_id", err, errlen)))
		return -EINVAL;
	if (!is_uuid(s)) {
		snprintf(err, errlen, "field \"sensor_id\" is not a UUID");
		return -EINVAL;
	}
	memcpy(act->sensor_id, s, sizeof(act->sensor_id));
	const char *name_key = json_object_get(doc, "sensor_name") ? "sensor_name" : "name";
	if (json_object_get(doc, name_key) && !json_is_null(json_object_get(doc, name_key))) {
		if (!(s = str_field(doc, name_key, err, errlen)))
			return -EINVAL;
		if (strlen(s) > NAME_MAX_LEN) {
			snprintf(err, errlen, "field \"%s\" is longer than %d bytes", name_key, NAME_MAX_LEN);
			return -EINVAL;
		}
		if (!(act->name = strdup(s)))
			goto nomem;
	}
	if (!(s = str_field(doc, "api_url", err, errlen)))
		return -EINVAL;
	if (!url_ok(s, "https")) {
		snprintf(err, errlen, "field \"api_url\" must be an https:// URL");
		return -EINVAL;
	}
	if (!(act->api_url = strdup(s)))
		goto nomem;
	if (!(s = str_field(doc, "sensor_url", err, errlen)))
		return -EINVAL;
	if (!url_ok(s, "wss")) {
		snprintf(err, errlen, "field \"sensor_url\" must be a wss:// URL");
		return -EINVAL;
	}
	if (!(act->sensor_url = strdup(s)))
		goto nomem;
	if (!(s = str_field(doc, "ca_certificate", err, errlen)))
		return -EINVAL;
	X509 *ca = NULL;
	if (pki_cert_from_pem(s, &ca) < 0) {
		snprintf(err, errlen, "field \"ca_certificate\" is not a PEM certificate");
		return -EINVAL;
	}
	X509_free(ca);
	if (!(act->ca_pem = strdup(s)))
		goto nomem;
	if (!(s = str_field(doc, "enrollment_token", err, errlen)))
		return -EINVAL;
	if (!*s || strlen(s) > TOKEN_MAX || !printable(s)) {
		snprintf(err, errlen, "field \"enrollment_token\" must be 1 to %d printable characters", TOKEN_MAX);
		return -EINVAL;
	}
	if (!(act->token = strdup(s)))
		goto nomem;
	if (!(s = str_field(doc, "expires_at", err, errlen)))
		return -EINVAL;
	if (!timefmt_parse_rfc3339(s, &act->expires_usec)) {
		snprintf(err, errlen, "field \"expires_at\" is not an RFC 3339 time");
		return -EINVAL;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* Checks what the console signed: it chains to the file's CA, names this sensor and matches our key. */
static int check_certificate(const char *cert_pem, const char *ca_pem, EVP_PKEY *key, const char *sensor_id,
			     char *err, size_t errlen)
{
	X509 *cert = NULL, *ca = NULL;
	int rc = -EINVAL;
	char cn[64];
	if (pki_cert_from_pem(cert_pem, &cert) < 0 || pki_cert_from_pem(ca_pem, &ca) < 0) {
		snprintf(err, errlen, "the console's answer holds no valid certificate");
		goto out;
	}
	EVP_PKEY *ca_pub = X509_get0_pubkey(ca);
	if (!ca_pub || X509_verify(cert, ca_pub) != 1) {
		snprintf(err, errlen, "the certificate the console returned is not signed by the activation file's CA");
		goto out;
	}
	if (pki_cert_subject_cn(cert, cn, sizeof(cn)) < 0 || strcasecmp(cn, sensor_id) != 0) {
		snprintf(err, errlen, "the certificate the console returned is not for sensor %s", sensor_id);
		goto out;
	}
	if (X509_check_private_key(cert, key) != 1) {
		snprintf(err, errlen, "the certificate the console returned does not match the sensor's key");
		goto out;
	}
	rc = 0;
out:
	X509_free(cert);
	X509_free(ca);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: otwatch-sensor activate FILE --state DIR [--force] [--log-level L]\n");
}

int cmd_activate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *state_dir = NULL, *file = NULL;
	bool force = false;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "s:fl:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': state_dir = optarg; break;
		case 'f': force = true; break;
		case 'l':
			if (log_set_level_name(optarg) < 0) {
				fprintf(stderr, "activate: unknown log level \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc || !state_dir) {
		usage(stderr);
		return 2;
	}
	file = argv[optind];

	int status = 1;
	char err[512] = "";
	char *data = NULL, *key_pem = NULL, *csr_pem = NULL, *old_id = NULL;
	size_t len = 0;
	struct activation act = { 0 };
	EVP_PKEY *key = NULL;
	json_t *req = NULL, *resp = NULL;
	int rc = pki_read_file(file, ACTIVATION_MAX_BYTES, &data, &len);
	if (rc < 0) {
		fprintf(stderr, "activate: cannot read activation file %s: %s\n", file, strerror(-rc));
		goto out;
	}
	if (activation_parse(data, len, &act, err, sizeof(err)) < 0) {
		fprintf(stderr, "activate: activation file %s is malformed: %s\n", file, err);
		goto out;
	}
	if (act.expires_usec <= timefmt_now_usec()) {
		char t[TIMEFMT_LEN];
		fprintf(stderr, "activate: activation file expired at %s; download a new one from the console\n",
			timefmt_rfc3339_ms(act.expires_usec, t));
		goto out;
	}
	if (sensor_state_is_activated(state_dir, &old_id) && !force) {
		fprintf(stderr,
			"activate: %s already holds an activated sensor (%s); use --force to replace its identity\n",
			state_dir, old_id ? old_id : "unreadable sensor.json");
		goto out;
	}
	if (pki_ec_key_new(&key) < 0 || pki_key_to_pem(key, &key_pem) < 0 ||
	    pki_csr_create(key, act.sensor_id, &csr_pem) < 0) {
		fprintf(stderr, "activate: cannot create the sensor key and certificate request\n");
		goto out;
	}
	size_t ul = strlen(act.api_url);
	char url[URL_MAX + 32];
	snprintf(url, sizeof(url), "%.*s/api/v1/enroll", (int)(ul && act.api_url[ul - 1] == '/' ? ul - 1 : ul),
		 act.api_url);
	req = json_pack("{s:s, s:s}", "token", act.token, "csr", csr_pem);
	if (!req) {
		fprintf(stderr, "activate: out of memory\n");
		goto out;
	}
	log_info("activate: enrolling sensor %s at %s", act.sensor_id, url);
	long http = 0;
	rc = https_post_json(url, act.ca_pem, req, 30, &http, &resp, err, sizeof(err));
	if (rc != HTTPS_OK) {
		fprintf(stderr, "activate: %s\n", err);
		goto out;
	}
	if (http == 401 || http == 403) {
		fprintf(stderr, "activate: enrollment token rejected (used, expired or revoked)\n");
		goto out;
	}
	if (http < 200 || http > 299) {
		const char *msg = json_string_value(json_object_get(resp, "error"));
		if (!msg)
			msg = json_string_value(json_object_get(resp, "message"));
		fprintf(stderr, "activate: enrollment failed: HTTP %ld%s%s\n", http, msg ? ": " : "", msg ? msg : "");
		goto out;
	}
	const char *cert_pem = json_string_value(json_object_get(resp, "certificate"));
	if (!cert_pem)
		cert_pem = json_string_value(json_object_get(resp, "cert"));
	if (!cert_pem) {
		fprintf(stderr, "activate: the console's answer has no \"certificate\"\n");
		goto out;
	}
	if (check_certificate(cert_pem, act.ca_pem, key, act.sensor_id, err, sizeof(err)) < 0) {
		fprintf(stderr, "activate: %s\n", err);
		goto out;
	}
	/* A new identity starts a new journal: its seqs and acks belonged to the old sensor. */
	if (old_id && strcasecmp(old_id, act.sensor_id) != 0) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/journal", state_dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/acked", state_dir);
		unlink(p);
	}
	struct sensor_state_files f = {
		.sensor_id = act.sensor_id,
		.api_url = act.api_url,
		.sensor_url = act.sensor_url,
		.name = act.name,
		.activation = act.doc,
		.key_pem = key_pem,
		.cert_pem = cert_pem,
		.ca_pem = act.ca_pem,
	};
	if (sensor_state_save(state_dir, &f, err, sizeof(err)) < 0) {
		fprintf(stderr, "activate: %s\n", err);
		goto out;
	}
	printf("sensor %s activated; state in %s\n", act.sensor_id, state_dir);
	status = 0;
out:
	if (key_pem) {
		OPENSSL_cleanse(key_pem, strlen(key_pem));
		free(key_pem);
	}
	free(csr_pem);
	free(data);
	free(old_id);
	EVP_PKEY_free(key);
	json_decref(req);
	json_decref(resp);
	activation_free(&act);
	return status;
}
