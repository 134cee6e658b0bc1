#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "common/pki.h"
#include "server/state.h"

static char base[] = "/tmp/otw-state-XXXXXX";

static int setup(void **state)
{
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void create_load_and_modes(void **state)
{
	static const char *const files[] = { "ca.key", "ca.crt", "server.key", "server.crt", "jwt.key" };
	const char *hosts[] = { "console.plant", "10.1.2.3" };
	struct console_state st;
	char dir[128], path[160], err[512], cn[64];
	struct stat sb;
	X509 *srv = NULL;
	char *pem = NULL;
	size_t len;

	snprintf(dir, sizeof(dir), "%s/state", base);
	assert_int_equal(state_create(dir, hosts, 2, err, sizeof(err)), 0);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	for (size_t i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
	assert_int_equal(state_load(dir, &st, err, sizeof(err)), 0);
	assert_non_null(st.ca_key);
	assert_non_null(strstr(st.ca_pem, "BEGIN CERTIFICATE"));
	assert_int_equal(pki_cert_subject_cn(st.ca_cert, cn, sizeof(cn)), 0);
	assert_string_equal(cn, "OTWatch Console CA");
	assert_non_null(st.server_cert_path);
	assert_non_null(st.server_key_path);
	assert_int_equal(pki_read_file(st.server_cert_path, 65536, &pem, &len), 0);
	assert_int_equal(pki_cert_from_pem(pem, &srv), 0);
	assert_int_equal(pki_cert_subject_cn(srv, cn, sizeof(cn)), 0);
	assert_string_equal(cn, "console.plant");
	assert_int_equal(X509_check_ip_asc(srv, "10.1.2.3", 0), 1);
	assert_int_equal(X509_check_host(srv, "console.plant", 0, 0, NULL), 1);
	X509_free(srv);
	free(pem);
	state_free(&st);

	/* second create refused, nothing changed */
	assert_int_equal(state_create(dir, NULL, 0, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, dir));
	assert_int_equal(state_load(dir, &st, err, sizeof(err)), 0);
	state_free(&st);

	/* a key readable by others is refused, naming the file */
	snprintf(path, sizeof(path), "%s/jwt.key", dir);
	assert_int_equal(chmod(path, 0644), 0);
	assert_true(state_load(dir, &st, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "jwt.key"));
	assert_int_equal(chmod(path, 0600), 0);

	assert_int_equal(state_remove(dir), 0);
	assert_int_equal(stat(dir, &sb), -1);
}

static void defaults_and_empty_dir(void **state)
{
	struct console_state st;
	char dir[128], err[512];
	X509 *srv = NULL;
	char *pem = NULL;
	size_t len;

	snprintf(dir, sizeof(dir), "%s/empty", base);
	assert_int_equal(mkdir(dir, 0755), 0); /* an existing empty directory is fine */
	assert_int_equal(state_create(dir, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(state_load(dir, &st, err, sizeof(err)), 0);
	assert_int_equal(pki_read_file(st.server_cert_path, 65536, &pem, &len), 0);
	assert_int_equal(pki_cert_from_pem(pem, &srv), 0);
	assert_int_equal(X509_check_host(srv, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);
	X509_free(srv);
	free(pem);
	state_free(&st);
}

static void load_missing_names_file(void **state)
{
	struct console_state st;
	char err[512];

	assert_true(state_load("/nonexistent/otw", &st, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/nonexistent/otw/ca.key"));
}

static void refuses_bad_hostname(void **state)
{
	const char *hosts[] = { "bad,name" };
	char dir[128], err[512];
	struct stat sb;

	snprintf(dir, sizeof(dir), "%s/bad", base);
	assert_true(state_create(dir, hosts, 1, err, sizeof(err)) < 0);
	assert_int_equal(stat(dir, &sb), -1); /* nothing left behind */
}

/* A joining node's state: the same bytes, the same identity; never over an existing state; never from a broken
 * one. */
static void copy_for_another_node(void **state)
{
	static const char *const files[] = { "ca.key", "ca.crt", "server.key", "server.crt", "jwt.key" };
	struct console_state a, b;
	char src[128], dst[128], other[128], path[160], err[512], fpa[STATE_FINGERPRINT_LEN], fpb[STATE_FINGERPRINT_LEN];
	struct stat sb;

	snprintf(src, sizeof(src), "%s/node1", base);
	snprintf(dst, sizeof(dst), "%s/node2", base);
	snprintf(other, sizeof(other), "%s/other", base);
	assert_int_equal(state_create(src, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(state_copy(src, dst, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *x, *y;
		size_t nx, ny;
		snprintf(path, sizeof(path), "%s/%s", src, files[i]);
		assert_int_equal(pki_read_file(path, 65536, &x, &nx), 0);
		snprintf(path, sizeof(path), "%s/%s", dst, files[i]);
		assert_int_equal(pki_read_file(path, 65536, &y, &ny), 0);
		assert_int_equal(nx, ny);
		assert_memory_equal(x, y, nx);
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
		free(x);
		free(y);
	}
	assert_int_equal(stat(dst, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(state_load(src, &a, err, sizeof(err)), 0);
	assert_int_equal(state_load(dst, &b, err, sizeof(err)), 0);
	assert_int_equal(state_ca_fingerprint(&a, fpa), 0);
	assert_int_equal(state_ca_fingerprint(&b, fpb), 0);
	assert_string_equal(fpa, fpb);
	assert_int_equal(strlen(fpa), 64);
	assert_memory_equal(a.jwt_key, b.jwt_key, sizeof(a.jwt_key));
	state_free(&b);
	/* Another console has another identity. */
	assert_int_equal(state_create(other, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(state_load(other, &b, err, sizeof(err)), 0);
	assert_int_equal(state_ca_fingerprint(&b, fpb), 0);
	assert_string_not_equal(fpa, fpb);
	state_free(&b);
	state_free(&a);
	/* Refuses to overwrite, and leaves the target as it was. */
	assert_int_equal(state_copy(src, other, err, sizeof(err)), -EEXIST);
	assert_int_equal(state_load(other, &b, err, sizeof(err)), 0);
	assert_int_equal(state_ca_fingerprint(&b, fpb), 0);
	assert_string_not_equal(fpa, fpb);
	state_free(&b);
	/* A source with a readable secret is not copied; nothing is left behind. */
	snprintf(path, sizeof(path), "%s/jwt.key", src);
	assert_int_equal(chmod(path, 0644), 0);
	snprintf(dst, sizeof(dst), "%s/node3", base);
	assert_true(state_copy(src, dst, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "jwt.key"));
	assert_int_equal(stat(dst, &sb), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_load_and_modes),
		cmocka_unit_test(defaults_and_empty_dir),
		cmocka_unit_test(load_missing_names_file),
		cmocka_unit_test(refuses_bad_hostname),
		cmocka_unit_test(copy_for_another_node),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
