/* The sensor's state directory: saved files, their modes, the token left out, and loading it back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sensor-agent/sensor_state.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/otw-sstate-%d", (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static mode_t mode_of(const char *name)
{
	char path[128];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_mode & 0777;
}

static void save_then_load(void **state)
{
	json_t *act = json_pack("{s:s, s:s}", "sensor_id", "965490dd-6be3-40e5-bf50-13729592daba", "enrollment_token",
				"secret-token");
	struct sensor_state_files f = {
		.sensor_id = "965490dd-6be3-40e5-bf50-13729592daba",
		.api_url = "https://127.0.0.1:8443",
		.sensor_url = "wss://127.0.0.1:9443",
		.name = "sensor-1",
		.activation = act,
		.key_pem = "KEY",
		.cert_pem = "CERT",
		.ca_pem = "CA",
	};
	struct sensor_state st;
	char err[256], *id = NULL, path[128];
	json_t *saved;

	assert_false(sensor_state_is_activated(dir, NULL));
	assert_int_equal(sensor_state_mkdir(dir, err, sizeof(err)), 0);
	assert_int_equal(mode_of("."), 0700);
	assert_int_equal(sensor_state_save(dir, &f, err, sizeof(err)), 0);
	assert_int_equal(mode_of("sensor.key"), 0600);
	assert_true(sensor_state_is_activated(dir, &id));
	assert_string_equal(id, f.sensor_id);
	free(id);

	/* The stored activation file no longer holds the one-time token. */
	snprintf(path, sizeof(path), "%s/activation.json", dir);
	saved = json_load_file(path, 0, NULL);
	assert_non_null(saved);
	assert_null(json_object_get(saved, "enrollment_token"));
	json_decref(saved);

	assert_int_equal(sensor_state_load(dir, &st, err, sizeof(err)), 0);
	assert_string_equal(st.sensor_id, f.sensor_id);
	assert_string_equal(st.sensor_url, f.sensor_url);
	sensor_state_free(&st);
	json_decref(act);
}

static void load_names_the_missing_file(void **state)
{
	struct sensor_state st;
	char err[256], path[128];

	snprintf(path, sizeof(path), "%s/sensor.crt", dir);
	assert_int_equal(unlink(path), 0);
	assert_true(sensor_state_load(dir, &st, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "sensor.crt"));
	sensor_state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(save_then_load),
		cmocka_unit_test(load_names_the_missing_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
