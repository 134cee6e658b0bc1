#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sensor-agent/journal.h"

struct fx {
	char dir[64];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/otw-journal-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[128];
	snprintf(p, sizeof(p), "%s/journal", f->dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/acked", f->dir);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void append_n(struct journal *j, int n, int base)
{
	for (int i = 0; i < n; i++) {
		json_t *r = json_pack("{s:s, s:i, s:s}", "kind", "connection", "n", base + i, "pad", "xxxxxxxxxxxxxxxx");
		uint64_t seq = 0;
		assert_int_equal(journal_append(j, r, &seq), 0);
		assert_int_equal(json_integer_value(json_object_get(r, "seq")), (json_int_t)seq);
		json_decref(r);
	}
	assert_int_equal(journal_sync(j), 0);
}

static off_t file_size(const char *dir)
{
	char p[128];
	struct stat st;
	snprintf(p, sizeof(p), "%s/journal", dir);
	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

static void test_append_read_reopen(void **state)
{
	struct fx *f = *state;
	struct journal *j;
	assert_int_equal(journal_open(f->dir, &j), 0);
	assert_int_equal(journal_next_seq(j), 1);
	assert_int_equal(journal_first_seq(j), 1);
	append_n(j, 10, 0);
	assert_int_equal(journal_last_seq(j), 10);

	json_t *arr;
	assert_int_equal(journal_read_from(j, 4, 3, 1 << 20, &arr), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 0), "seq")), 4);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 2), "n")), 5);
	json_decref(arr);
	/* Byte limit: each payload is ~70 bytes, so 100 bytes allow only one; at least one always comes back. */
	assert_int_equal(journal_read_from(j, 1, 100, 100, &arr), 1);
	json_decref(arr);
	assert_int_equal(journal_read_from(j, 1, 100, 1, &arr), 1);
	json_decref(arr);
	assert_int_equal(journal_read_from(j, 11, 100, 1 << 20, &arr), 0);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	journal_close(j);

	assert_int_equal(journal_open(f->dir, &j), 0);
	assert_int_equal(journal_count(j), 10);
	assert_int_equal(journal_next_seq(j), 11);
	append_n(j, 1, 100);
	assert_int_equal(journal_read_from(j, 1, 100, 1 << 20, &arr), 11);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 10), "seq")), 11);
	json_decref(arr);
	journal_close(j);
}

static void test_torn_tail(void **state)
{
	struct fx *f = *state;
	struct journal *j;
	assert_int_equal(journal_open(f->dir, &j), 0);
	append_n(j, 5, 0);
	off_t full = file_size(f->dir);
	journal_close(j);

	char p[128];
	snprintf(p, sizeof(p), "%s/journal", f->dir);
	/* Cut in the middle of the last record's payload, then in the middle of a header. */
	assert_int_equal(truncate(p, full - 10), 0);
	assert_int_equal(journal_open(f->dir, &j), 0);
	assert_int_equal(journal_count(j), 4);
	assert_int_equal(journal_next_seq(j), 5);
	off_t four = file_size(f->dir);
	assert_true(four < full - 10);
	journal_close(j);

	assert_int_equal(truncate(p, four + 7), 0);
	assert_int_equal(journal_open(f->dir, &j), 0);
	assert_int_equal(journal_count(j), 4);
	assert_int_equal(file_size(f->dir), four);
	/* Appending after recovery continues the sequence and the file stays readable. */
	append_n(j, 2, 50);
	journal_close(j);
	assert_int_equal(journal_open(f->dir, &j), 0);
	assert_int_equal(journal_count(j), 6);
	assert_int_equal(journal_last_seq(j), 6);
	journal_close(j);
}

static void test_crc_corruption(void **state)
{
	struct fx *f = *state;
	struct journal *j;
	assert_int_equal(journal_open(f->dir, &j), 0);
	append_n(j, 3, 0);
	off_t full = file_size(f->dir);

	char p[128];
	snprintf(p, sizeof(p), "%s/journal", f->dir);
	int fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	char c;
	assert_int_equal(pread(fd, &c, 1, full - 5), 1);
	c ^= 0x20;
	assert_int_equal(pwrite(fd, &c, 1, full - 5), 1);
	close(fd);

	/* An open journal re-checks CRCs on read. */
	json_t *arr = NULL;
	assert_int_equal(journal_read_from(j, 1, 100, 1 << 20, &arr), -EIO);
	assert_null(arr);
	journal_close(j);

	/* Reopening drops the corrupt record. */
	assert_int_equal(journal_open(f->dir, &j), 0);
	assert_int_equal(journal_count(j), 2);
	assert_int_equal(journal_read_from(j, 1, 100, 1 << 20, &arr), 2);
	json_decref(arr);
	journal_close(j);
}

static void test_ack_persistence(void **state)
{
	struct fx *f = *state;
	struct journal *j;
	assert_int_equal(journal_open(f->dir, &j), 0);
	append_n(j, 8, 0);
	assert_int_equal(journal_acked(j), 0);
	assert_int_equal(journal_ack(j, 5), 0);
	assert_int_equal(journal_ack(j, 3), 0); /* going back is a no-op */
	assert_int_equal(journal_acked(j), 5);
	journal_close(j);

	assert_int_equal(journal_open(f->dir, &j), 0);
	assert_int_equal(journal_acked(j), 5);
	assert_int_equal(journal_next_seq(j), 9);
	/* The console knows more than we have: new seqs must go above its applied seq. */
	assert_int_equal(journal_ack(j, 20), 0);
	assert_int_equal(journal_next_seq(j), 21);
	append_n(j, 1, 0);
	json_t *arr;
	/* A gap ends a read: records with consecutive seqs only. */
	assert_int_equal(journal_read_from(j, 6, 100, 1 << 20, &arr), 3);
	json_decref(arr);
	assert_int_equal(journal_read_from(j, 9, 100, 1 << 20, &arr), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 0), "seq")), 21);
	json_decref(arr);
	journal_close(j);

	/* Seqs never go back, even when the journal file is lost. */
	char p[128];
	snprintf(p, sizeof(p), "%s/journal", f->dir);
	unlink(p);
	assert_int_equal(journal_open(f->dir, &j), 0);
	assert_int_equal(journal_next_seq(j), 21);
	journal_close(j);
}

static void test_garbage_file(void **state)
{
	struct fx *f = *state;
	char p[128];
	snprintf(p, sizeof(p), "%s/journal", f->dir);
	FILE *fp = fopen(p, "w");
	fputs("\xff\xff\xff\xff garbage that is not a journal", fp);
	fclose(fp);
	struct journal *j;
	assert_int_equal(journal_open(f->dir, &j), 0);
	assert_int_equal(journal_count(j), 0);
	assert_int_equal(file_size(f->dir), 0);
	journal_close(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_read_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crc_corruption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_persistence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
