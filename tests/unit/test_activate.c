/* The activation file parser: a valid file, and each malformed field named in the error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/pki.h"
#include "sensor-agent/activate.h"

static char *ca_pem;

static int setup(void **state)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int rc = pki_ca_create("test CA", 30, &key, &cert);
	if (rc == 0)
		rc = pki_cert_to_pem(cert, &ca_pem);
	EVP_PKEY_free(key);
	X509_free(cert);
	return rc;
}

static int teardown(void **state)
{
	free(ca_pem);
	return 0;
}

/* A valid document with one field replaced (value NULL removes it; a JSON text otherwise). */
static char *doc_with(const char *field, const char *json_value)
{
	json_t *d = json_pack("{s:s, s:i, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s}", "format", "otwatch-activation",
			      "version", 1, "sensor_id", "965490dd-6be3-40e5-bf50-13729592daba", "sensor_name",
			      "sensor-1", "zone_id", 2, "api_url", "https://127.0.0.1:8443", "sensor_url",
			      "wss://127.0.0.1:9443", "ca_certificate", ca_pem, "enrollment_token",
			      "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE", "expires_at", "2099-01-01T00:00:00.000Z");
	char *txt;

	if (field) {
		if (json_value)
			json_object_set_new(d, field, json_loads(json_value, JSON_DECODE_ANY, NULL));
		else
			json_object_del(d, field);
	}
	txt = json_dumps(d, 0);
	json_decref(d);
	return txt;
}

static void expect_refused(const char *field, const char *json_value, const char *needle)
{
	struct activation act;
	char err[256] = "";
	char *txt = doc_with(field, json_value);

	assert_true(activation_parse(txt, strlen(txt), &act, err, sizeof(err)) < 0);
	if (!strstr(err, needle))
		fail_msg("error for %s=%s is \"%s\", wanted it to mention %s", field, json_value ? json_value : "(absent)",
			 err, needle);
	activation_free(&act);
	free(txt);
}

static void valid_file(void **state)
{
	struct activation act;
	char err[256];
	char *txt = doc_with(NULL, NULL);

	assert_int_equal(activation_parse(txt, strlen(txt), &act, err, sizeof(err)), 0);
	assert_string_equal(act.sensor_id, "965490dd-6be3-40e5-bf50-13729592daba");
	assert_string_equal(act.api_url, "https://127.0.0.1:8443");
	assert_string_equal(act.sensor_url, "wss://127.0.0.1:9443");
	assert_string_equal(act.ca_pem, ca_pem);
	assert_true(act.expires_usec > 4000000000LL * 1000000);
	activation_free(&act);
	free(txt);
	/* Unknown keys are ignored (newer consoles may add some). */
	txt = doc_with("new_feature", "true");
	assert_int_equal(activation_parse(txt, strlen(txt), &act, err, sizeof(err)), 0);
	activation_free(&act);
	free(txt);
}

static void malformed_fields_are_named(void **state)
{
	expect_refused("format", "\"something-else\"", "format");
	expect_refused("version", "2", "version");
	expect_refused("sensor_id", "\"not-a-uuid\"", "sensor_id");
	expect_refused("sensor_id", NULL, "sensor_id");
	expect_refused("api_url", "\"http://127.0.0.1:8443\"", "api_url");
	expect_refused("sensor_url", "\"ws://127.0.0.1:9443\"", "sensor_url");
	expect_refused("ca_certificate", "\"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\"",
		       "ca_certificate");
	expect_refused("enrollment_token", "\"\"", "enrollment_token");
	expect_refused("expires_at", "\"next tuesday\"", "expires_at");
	expect_refused("expires_at", "17", "expires_at");
}

static void not_json_or_too_big(void **state)
{
	struct activation act;
	char err[256];
	size_t big = ACTIVATION_MAX_BYTES + 1;
	char *buf = malloc(big);

	assert_true(activation_parse("{\"format\":", 10, &act, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "JSON"));
	activation_free(&act);
	assert_true(activation_parse("[1]", 3, &act, err, sizeof(err)) < 0);
	activation_free(&act);
	memset(buf, ' ', big);
	assert_true(activation_parse(buf, big, &act, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "larger"));
	activation_free(&act);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_file),
		cmocka_unit_test(malformed_fields_are_named),
		cmocka_unit_test(not_json_or_too_big),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
