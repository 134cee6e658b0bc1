#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hostport.h"
#include "server/config.h"

static char *write_temp(const char *text)
{
	char *path = strdup("/tmp/otw-config-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void defaults(void **state)
{
	struct console_config cfg;
	char err[256];

	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(config_finalize(&cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.api_listen, "127.0.0.1:8443");
	assert_string_equal(cfg.sensor_listen, "127.0.0.1:9443");
	assert_string_equal(cfg.public_api_url, "https://127.0.0.1:8443");
	assert_string_equal(cfg.public_sensor_url, "wss://127.0.0.1:9443");
	assert_string_equal(cfg.log_level, "info");
	assert_string_equal(cfg.state, "");
	assert_int_equal(cfg.workers, 4);
	assert_int_equal(cfg.session_ttl, 43200);
	assert_int_equal(cfg.session_idle, 1800);
	assert_int_equal(cfg.access_token_ttl, 300);
	assert_int_equal(cfg.enrollment_ttl, 86400 * 7);
	assert_int_equal(cfg.ingest_queue, 256);
	assert_int_equal(cfg.ingest_writers, 2);
	assert_int_equal(cfg.max_frame_bytes, 4 * 1024 * 1024);
	config_free(&cfg);
}

static void file_values(void **state)
{
	struct console_config cfg;
	char err[256];
	char *path = write_temp("# console\n\nstate = /var/lib/otw\n  api_listen=0.0.0.0:443  \nworkers = 8\n"
				"public_sensor_url = wss://sensors.example:9443\n");

	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(config_finalize(&cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.state, "/var/lib/otw");
	assert_string_equal(cfg.api_listen, "0.0.0.0:443");
	assert_string_equal(cfg.public_api_url, "https://0.0.0.0:443");
	assert_string_equal(cfg.public_sensor_url, "wss://sensors.example:9443");
	assert_int_equal(cfg.workers, 8);
	config_free(&cfg);
	unlink(path);
	free(path);
}

static void file_errors_name_key_and_line(void **state)
{
	struct console_config cfg;
	char err[256];
	char *p1 = write_temp("workers = 2\n# c\nwrokers = 3\n");
	char *p2 = write_temp("workers = 2\nworkers = lots\n");
	char *p3 = write_temp("api_listen = nope\n");
	char *p4 = write_temp("just words\n");

	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(config_load_file(&cfg, p1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":3:"));
	assert_non_null(strstr(err, "wrokers"));
	assert_int_equal(config_load_file(&cfg, p2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":2:"));
	assert_non_null(strstr(err, "workers"));
	assert_int_equal(config_load_file(&cfg, p3, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "api_listen"));
	assert_int_equal(config_load_file(&cfg, p4, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":1:"));
	assert_true(config_load_file(&cfg, "/nonexistent/otw.conf", err, sizeof(err)) < 0);
	config_free(&cfg);
	for (char **p = (char *[]){ p1, p2, p3, p4, NULL }; *p; p++) {
		unlink(*p);
		free(*p);
	}
}

static void set_validates(void **state)
{
	struct console_config cfg;
	char err[256];

	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(config_set(&cfg, "api-listen", "[::1]:8443", err, sizeof(err)), 0);
	assert_int_equal(config_set(&cfg, "workers", "0", err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set(&cfg, "workers", "4x", err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set(&cfg, "log_level", "loud", err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set(&cfg, "public_api_url", "http://x", err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set(&cfg, "sensor_listen", "host:70000", err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set(&cfg, "nope", "1", err, sizeof(err)), -ENOENT);
	config_free(&cfg);
}

static void flags_override_file(void **state)
{
	struct console_config cfg;
	struct config_strv pos = { 0 }, hosts = { 0 };
	const char *user = NULL;
	bool verbose = false;
	const struct config_cli_opt opts[] = {
		{ "admin-user", &user, NULL, NULL },
		{ "hostname", NULL, &hosts, NULL },
		{ "verbose", NULL, NULL, &verbose },
	};
	char err[256];
	char *path = write_temp("workers = 2\nlog_level = debug\nsession_ttl = 600\n");
	char *argv[] = { "cmd", "--workers=16", "sub", "--config", path, "--admin-user", "root", "--hostname", "a",
			 "--hostname=b", "--verbose", "--api-listen", "10.0.0.1:8443", NULL };

	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(config_parse_args(&cfg, 13, argv, 1, opts, 3, &pos, err, sizeof(err)), 0);
	assert_int_equal(cfg.workers, 16);         /* flag beats the file, though it came first */
	assert_int_equal(cfg.session_ttl, 600);    /* file */
	assert_string_equal(cfg.log_level, "debug");
	assert_string_equal(cfg.public_api_url, "https://10.0.0.1:8443");
	assert_string_equal(user, "root");
	assert_int_equal(hosts.n, 2);
	assert_string_equal(hosts.v[1], "b");
	assert_true(verbose);
	assert_int_equal(pos.n, 1);
	assert_string_equal(pos.v[0], "sub");
	config_strv_free(&pos);
	config_strv_free(&hosts);
	config_free(&cfg);

	char *bad[] = { "cmd", "--frobnicate", "1", NULL };
	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(config_parse_args(&cfg, 3, bad, 1, opts, 3, &pos, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "frobnicate"));
	char *bad2[] = { "cmd", "--workers", NULL };
	assert_int_equal(config_parse_args(&cfg, 2, bad2, 1, opts, 3, &pos, err, sizeof(err)), -EINVAL);
	char *bad3[] = { "cmd", "--workers", "0", NULL };
	assert_int_equal(config_parse_args(&cfg, 3, bad3, 1, opts, 3, &pos, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "workers"));
	char *help[] = { "cmd", "--help", NULL };
	assert_int_equal(config_parse_args(&cfg, 2, help, 1, opts, 3, &pos, err, sizeof(err)), 1);
	config_strv_free(&pos);
	config_free(&cfg);
	unlink(path);
	free(path);
}

static void split_listen(void **state)
{
	char host[64];
	int port;

	assert_int_equal(hostport_split("127.0.0.1:8443", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8443);
	assert_int_equal(hostport_split("[::]:9443", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::");
	assert_int_equal(hostport_split("::1:80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(hostport_split(":80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(hostport_split("h:0", host, sizeof(host), &port), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(file_values),
		cmocka_unit_test(file_errors_name_key_and_line),
		cmocka_unit_test(set_validates),
		cmocka_unit_test(flags_override_file),
		cmocka_unit_test(split_listen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
