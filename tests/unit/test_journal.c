#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/wire.h"
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

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static json_t *rec_of(const char *kind, int n)
{
	if (strcmp(kind, "alert") == 0)
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:n, s:i, s:s, s:s, s:i}", "kind", "alert", "engine",
				 "anomaly", "severity", "major", "title", "Port scan", "message", "scan", "src",
				 "10.0.0.1", "dst", "protocol", "count", 1, "first_seen", "2024-01-01T00:00:00.000Z",
				 "last_seen", "2024-01-01T00:00:00.000Z", "n", n);
	return json_pack("{s:s, s:i, s:s}", "kind", kind, "n", n, "pad", "xxxxxxxxxxxxxxxx");
}

static uint64_t append_kind(struct journal *j, const char *kind, int n)
{
	json_t *r = rec_of(kind, n);
	uint64_t seq = 0;
	assert_int_equal(journal_append(j, r, &seq), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "seq")), (json_int_t)seq);
	json_decref(r);
	return seq;
}

static void append_n(struct journal *j, int n, int base)
{
	for (int i = 0; i < n; i++)
		append_kind(j, "connection", base + i);
	assert_int_equal(journal_sync(j), 0);
}

static struct journal *open_opts(const char *dir, uint64_t seg, uint64_t cap)
{
	struct journal_opts o;
	struct journal *j;
	journal_opts_default(&o);
	o.segment_bytes = seg;
	o.cap_bytes = cap;
	assert_int_equal(journal_open_opts(dir, &o, &j), 0);
	return j;
}

/* The segment files, sorted; returns how many (paths in out[i], 400 bytes each). */
static int segments(const char *dir, char out[][400], int max)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/journal", dir);
	struct dirent **list;
	int n = scandir(p, &list, NULL, alphasort), k = 0;
	for (int i = 0; i < n; i++) {
		if (strstr(list[i]->d_name, ".seg") && k < max)
			snprintf(out[k++], 400, "%s/%s", p, list[i]->d_name);
		free(list[i]);
	}
	free(list);
	return k;
}

static off_t size_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void flip_byte(const char *path, off_t at)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	char c;
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x20;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

/* Every stored record, read back: count and digest sum; checks the seqs increase. */
static void stored_sum(struct journal *j, uint64_t *count, uint64_t *digest)
{
	json_t *arr;
	int n = journal_read_from(j, 0, SIZE_MAX, SIZE_MAX, &arr);
	assert_true(n >= 0);
	*count = (uint64_t)n;
	*digest = 0;
	uint64_t prev = 0;
	for (int i = 0; i < n; i++) {
		json_t *r = json_array_get(arr, (size_t)i);
		uint64_t d, seq = (uint64_t)json_integer_value(json_object_get(r, "seq"));
		assert_true(seq > prev);
		prev = seq;
		assert_true(wire_record_digest(r, &d));
		*digest += d;
	}
	json_decref(arr);
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
	/* One writer at a time; a read-only open sees the same. */
	struct journal *j2;
	assert_int_equal(journal_open(f->dir, &j2), -EBUSY);
	struct journal_opts ro;
	journal_opts_default(&ro);
	ro.read_only = true;
	assert_int_equal(journal_open_opts(f->dir, &ro, &j2), 0);
	assert_int_equal(journal_count(j2), 10);
	json_t *o = json_object();
	assert_int_equal(journal_append(j2, o, NULL), -EROFS);
	json_decref(o);
	journal_close(j2);
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
	char seg[8][400];
	struct journal *j = open_opts(f->dir, 4096, 1 << 20);
	append_n(j, 120, 0); /* ~100 bytes a frame: three segments */
	journal_close(j);
	int nseg = segments(f->dir, seg, 8);
	assert_true(nseg >= 3);
	const char *last = seg[nseg - 1];
	off_t full = size_of(last);

	/* Cut in the middle of the last record's payload, then in the middle of a header. */
	assert_int_equal(truncate(last, full - 10), 0);
	j = open_opts(f->dir, 4096, 1 << 20);
	assert_int_equal(journal_count(j), 119);
	assert_int_equal(journal_next_seq(j), 120);
	off_t cut = size_of(last);
	assert_true(cut < full - 10);
	journal_close(j);

	assert_int_equal(truncate(last, cut + 7), 0);
	j = open_opts(f->dir, 4096, 1 << 20);
	assert_int_equal(journal_count(j), 119);
	assert_int_equal(size_of(last), cut);
	/* Appending after recovery continues the sequence. */
	append_n(j, 2, 50);
	journal_close(j);

	/* A flipped byte in the newest record: its CRC fails, it is cut. */
	nseg = segments(f->dir, seg, 8);
	flip_byte(seg[nseg - 1], size_of(seg[nseg - 1]) - 5);
	j = open_opts(f->dir, 4096, 1 << 20);
	assert_int_equal(journal_count(j), 120);
	assert_int_equal(journal_last_seq(j), 120);
	struct journal_status st;
	journal_get_status(j, &st);
	assert_int_equal(st.corrupt_bytes, 0); /* a torn tail is not corruption */
	uint64_t n, d;
	stored_sum(j, &n, &d);
	assert_int_equal(st.records, n);
	assert_true(st.digest == d);
	journal_close(j);
}

static void test_crc_corruption(void **state)
{
	struct fx *f = *state;
	char seg[8][400];
	struct journal *j;
	assert_int_equal(journal_open(f->dir, &j), 0);
	append_n(j, 3, 0);
	assert_int_equal(segments(f->dir, seg, 8), 1);
	flip_byte(seg[0], size_of(seg[0]) - 5);

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

/* Corruption in an older segment: its remainder goes (counted), the later segments stay. */
static void test_corrupt_middle(void **state)
{
	struct fx *f = *state;
	char seg[8][400];
	struct journal *j = open_opts(f->dir, 4096, 1 << 20);
	append_n(j, 120, 0);
	journal_close(j);
	int nseg = segments(f->dir, seg, 8);
	assert_true(nseg >= 3);
	off_t first = size_of(seg[0]);
	flip_byte(seg[0], first / 2);

	j = open_opts(f->dir, 4096, 1 << 20);
	struct journal_status st;
	journal_get_status(j, &st);
	assert_true(st.corrupt_bytes > 0 && st.corrupt_bytes <= (uint64_t)first / 2 + 200);
	assert_int_equal(st.last_seq, 120);
	assert_true(st.records < 120 && st.records > 60);
	/* The reads skip the hole. */
	json_t *arr;
	int n = journal_read_from(j, 1, 1000, 1 << 20, &arr);
	assert_int_equal(n, (int)st.records);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, (size_t)n - 1), "seq")), 120);
	json_decref(arr);
	uint64_t cnt, d;
	stored_sum(j, &cnt, &d);
	assert_true(d == st.digest);
	journal_close(j);
	/* The count persists. */
	j = open_opts(f->dir, 4096, 1 << 20);
	struct journal_status st2;
	journal_get_status(j, &st2);
	assert_int_equal(st2.corrupt_bytes, st.corrupt_bytes);
	assert_int_equal(st2.records, st.records);
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
	/* Reads go over gaps: 6, 7, 8, 21. */
	assert_int_equal(journal_read_from(j, 6, 100, 1 << 20, &arr), 4);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 3), "seq")), 21);
	json_decref(arr);
	assert_int_equal(journal_read_from(j, 9, 100, 1 << 20, &arr), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 0), "seq")), 21);
	json_decref(arr);
	journal_close(j);

	/* Seqs never go back, even when the segments are lost. */
	char seg[8][400];
	int n = segments(f->dir, seg, 8);
	for (int i = 0; i < n; i++)
		unlink(seg[i]);
	assert_int_equal(journal_open(f->dir, &j), 0);
	assert_int_equal(journal_next_seq(j), 21);
	journal_close(j);
}

/* Segments roll at their size; a wholly acked one is deleted, and the accounting keeps it. */
static void test_rollover_and_delete(void **state)
{
	struct fx *f = *state;
	char seg[64][400];
	struct journal *j = open_opts(f->dir, 4096, 1 << 20);
	append_n(j, 200, 0);
	int n = segments(f->dir, seg, 64);
	assert_true(n >= 4);
	for (int i = 0; i < n; i++)
		assert_true(size_of(seg[i]) <= 4096);
	/* Segment names are the 20-digit first seq. */
	assert_non_null(strstr(seg[0], "/journal/00000000000000000001.seg"));
	struct journal_status before;
	journal_get_status(j, &before);
	assert_int_equal(before.records, 200);
	assert_int_equal(before.segments, (size_t)n);

	/* Ack into the third segment: the first two go. */
	char *base3 = strrchr(seg[2], '/') + 1;
	uint64_t third = strtoull(base3, NULL, 10);
	assert_int_equal(journal_ack(j, third + 1), 0);
	assert_int_equal(segments(f->dir, seg, 64), n - 2);
	assert_int_equal(journal_first_seq(j), third);
	struct journal_status after;
	journal_get_status(j, &after);
	assert_int_equal(after.records, 200);
	assert_true(after.digest == before.digest);
	assert_true(after.bytes < before.bytes);
	/* Acking everything keeps the newest segment (still appended to). */
	assert_int_equal(journal_ack(j, 200), 0);
	assert_int_equal(segments(f->dir, seg, 64), 1);
	journal_close(j);

	j = open_opts(f->dir, 4096, 1 << 20);
	journal_get_status(j, &after);
	assert_int_equal(after.records, 200);
	assert_true(after.digest == before.digest);
	assert_int_equal(after.acked, 200);
	assert_int_equal(journal_next_seq(j), 201);
	journal_close(j);
}

/* The records the kill-9 child writes: record i (seq i) is a connection with n = i. */
static uint64_t expected_digest(uint64_t last)
{
	uint64_t sum = 0;
	for (uint64_t s = 1; s <= last; s++) {
		json_t *r = rec_of("connection", (int)s);
		uint64_t d;
		json_object_set_new(r, "seq", json_integer((json_int_t)s));
		assert_true(wire_record_digest(r, &d));
		sum += d;
		json_decref(r);
	}
	return sum;
}

static void test_kill9(void **state)
{
	struct fx *f = *state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct journal_opts o;
		struct journal *j;
		close(p[0]);
		journal_opts_default(&o);
		o.segment_bytes = 8192;
		if (journal_open_opts(f->dir, &o, &j) < 0)
			_exit(1);
		for (int i = 1;; i++) {
			json_t *r = rec_of("connection", i);
			if (journal_append(j, r, NULL) < 0)
				_exit(2);
			json_decref(r);
			if (i % 50 == 0 && journal_ack(j, (uint64_t)i - 20) < 0) /* segments get deleted as it goes */
				_exit(3);
			if (i == 3000 && write(p[1], "x", 1) != 1)
				_exit(4);
		}
	}
	close(p[1]);
	char c;
	assert_int_equal(read(p[0], &c, 1), 1); /* the child appended 3000 and keeps going */
	close(p[0]);
	assert_int_equal(kill(pid, SIGKILL), 0);
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFSIGNALED(ws));

	struct journal *j;
	assert_int_equal(journal_open(f->dir, &j), 0);
	struct journal_status st;
	journal_get_status(j, &st);
	assert_true(st.last_seq >= 3000);
	assert_true(st.first_seq > 1); /* acked segments were deleted */
	/* Every record 1..last was appended once, none compacted or dropped: the freed totals from the state file
	 * plus the scanned segments are exactly the records up to the last whole one. */
	assert_int_equal(st.records, st.last_seq);
	assert_true(st.digest == expected_digest(st.last_seq));
	uint64_t n, d;
	stored_sum(j, &n, &d);
	assert_int_equal(n, st.last_seq - st.first_seq + 1);
	journal_close(j);
}

/* Records the uplink sent and the console has not acked yet may already be applied: the cap neither compacts nor
 * drops them (the journal goes over its cap instead) until they are acked. */
static void test_cap_spares_sent_records(void **state)
{
	struct fx *f = *state;
	const uint64_t cap = 64 << 10;
	struct journal *j = open_opts(f->dir, 4096, cap);
	uint64_t seq = 0, sent;
	struct journal_status st;

	for (int i = 0; i < 300; i++)
		seq = append_kind(j, i % 2 ? "device" : "alert", i);
	sent = seq;
	journal_note_sent(j, sent);
	for (int i = 0; i < 3000; i++)
		seq = append_kind(j, i % 2 ? "device" : "alert", i);
	json_t *arr;
	int n = journal_read_from(j, 1, SIZE_MAX, SIZE_MAX, &arr);
	assert_true(n > 0);
	/* Every sent record is still there, inventory included, in order from seq 1. */
	for (uint64_t k = 0; k < sent; k++)
		assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, k), "seq")), k + 1);
	json_decref(arr);
	journal_get_status(j, &st);
	assert_int_equal(st.lost[JOURNAL_KIND_ALERT], 0); /* held over the cap instead */
	assert_true(st.bytes > cap && st.bytes <= cap + JOURNAL_INFLIGHT_SLACK);
	/* Once the console acked them, the cap may take the old records (the acked ones go at once). */
	assert_int_equal(journal_ack(j, sent), 0);
	for (int i = 0; i < 3000; i++)
		seq = append_kind(j, "alert", i);
	journal_get_status(j, &st);
	assert_true(st.first_seq > sent);
	assert_true(st.bytes <= cap);
	assert_true(st.lost[JOURNAL_KIND_ALERT] > 0);
	journal_close(j);
}

static size_t kind_count(json_t *arr, const char *kind, uint64_t below)
{
	size_t i, n = 0;
	json_t *r;
	json_array_foreach(arr, i, r)
		if (strcmp(json_string_value(json_object_get(r, "kind")), kind) == 0 &&
		    (uint64_t)json_integer_value(json_object_get(r, "seq")) < below)
			n++;
	return n;
}

/* The cap: first the unacked inventory is compacted away (and reported), then the oldest segments are dropped
 * behind an overflow record that counts them. */
static void test_cap_compaction_overflow(void **state)
{
	struct fx *f = *state;
	const uint64_t cap = 64 << 10;
	struct journal *j = open_opts(f->dir, 4096, cap);
	/* Remember every appended seq's kind. */
	enum { MAXSEQ = 20000 };
	char *kinds = calloc(MAXSEQ, 1);
	uint64_t seq = 0, compacted_at = 0;
	int i;
	for (i = 0; i < 5000 && !compacted_at; i++) {
		const char *k = i % 6 == 0 ? "alert" : i % 6 == 1 ? "event" : i % 6 == 2 ? "device" : "connection";
		seq = append_kind(j, k, i);
		kinds[seq] = k[0];
		if (journal_take_compacted(j))
			compacted_at = seq;
	}
	assert_true(compacted_at > 0);
	assert_false(journal_take_compacted(j)); /* once */
	json_t *arr;
	int n = journal_read_from(j, 0, SIZE_MAX, SIZE_MAX, &arr);
	assert_true(n > 0);
	/* No inventory before the record that triggered compaction; all alerts and events are kept. */
	assert_int_equal(kind_count(arr, "device", compacted_at), 0);
	assert_int_equal(kind_count(arr, "connection", compacted_at), 0);
	size_t alerts = 0, events = 0;
	for (uint64_t s = 1; s < compacted_at; s++) {
		alerts += kinds[s] == 'a';
		events += kinds[s] == 'e';
	}
	assert_int_equal(kind_count(arr, "alert", compacted_at), alerts);
	assert_int_equal(kind_count(arr, "event", compacted_at), events);
	json_decref(arr);
	struct journal_status st;
	journal_get_status(j, &st);
	assert_true(st.compacted > 0);
	assert_true(st.bytes <= cap);
	uint64_t cnt, dig;
	stored_sum(j, &cnt, &dig);
	assert_int_equal(st.records, cnt);
	assert_true(st.digest == dig);

	/* Alerts only from now on: no inventory left to compact, so the oldest segments are dropped. */
	uint64_t compacted = st.compacted;
	for (int k = 0; k < 2000; k++) {
		seq = append_kind(j, "alert", k);
		kinds[seq] = 'a';
	}
	journal_get_status(j, &st);
	assert_int_equal(st.compacted, compacted);
	assert_true(st.bytes <= cap);
	assert_true(st.lost[JOURNAL_KIND_ALERT] > 0);
	n = journal_read_from(j, 0, SIZE_MAX, SIZE_MAX, &arr);
	assert_true(n > 0);
	char *present = calloc(MAXSEQ, 1);
	size_t idx;
	json_t *r;
	json_array_foreach(arr, idx, r)
		present[json_integer_value(json_object_get(r, "seq"))] = 1;
	/* Missing and not compacted = lost; seqs the test did not append are overflow records (alerts too). */
#define LOST(s) (!present[s] && !((kinds[s] == 'd' || kinds[s] == 'c') && (s) < compacted_at))
	uint64_t lost[JOURNAL_KINDS] = { 0 };
	for (uint64_t s = 1; s <= seq; s++)
		if (LOST(s))
			lost[kinds[s] == 'e' ? JOURNAL_KIND_EVENT : kinds[s] == 'd' ? JOURNAL_KIND_DEVICE
					: kinds[s] == 'c' ? JOURNAL_KIND_CONNECTION : JOURNAL_KIND_ALERT]++;
	assert_memory_equal(st.lost, lost, sizeof(lost));
	/* Each overflow record: a valid alert for the console that counts exactly what its range lost. */
	size_t overflows = 0;
	char err[256];
	json_array_foreach(arr, idx, r) {
		const char *title = json_string_value(json_object_get(r, "title"));
		if (!title || strcmp(title, "Sensor journal overflow") != 0)
			continue;
		overflows++;
		assert_int_equal(wire_check_record(r, err, sizeof(err)), 0);
		assert_string_equal(json_string_value(json_object_get(r, "engine")), "operational");
		assert_string_equal(json_string_value(json_object_get(r, "severity")), "major");
		assert_non_null(strstr(json_string_value(json_object_get(r, "message")), " alert"));
		uint64_t from = (uint64_t)json_integer_value(json_object_get(r, "lost_from"));
		uint64_t to = (uint64_t)json_integer_value(json_object_get(r, "lost_to"));
		assert_true(from >= 1 && from <= to && to < (uint64_t)json_integer_value(json_object_get(r, "seq")));
		uint64_t want_alerts = 0, want_events = 0, total = 0;
		for (uint64_t s = from; s <= to; s++) {
			if (!LOST(s))
				continue;
			want_alerts += kinds[s] == 'a' || kinds[s] == 0;
			want_events += kinds[s] == 'e';
		}
		json_t *l = json_object_get(r, "lost"), *v;
		const char *kname;
		json_object_foreach(l, kname, v)
			total += (uint64_t)json_integer_value(v);
		assert_int_equal(json_integer_value(json_object_get(l, "alert")), want_alerts);
		assert_int_equal(json_integer_value(json_object_get(l, "event")), want_events);
		assert_int_equal(total, want_alerts + want_events);
	}
#undef LOST
	assert_true(overflows > 0);
	/* The newest overflow record also says what was lost in all (the console keeps one alert for repeats). */
	json_t *last_ov = NULL;
	json_array_foreach(arr, idx, r)
		if (json_object_get(r, "lost_total"))
			last_ov = r;
	assert_non_null(last_ov);
	char want[80];
	uint64_t all = 0;
	for (int k = 0; k < JOURNAL_KINDS; k++)
		all += st.lost[k];
	snprintf(want, sizeof(want), "In all, the journal has dropped %" PRIu64 " records (%" PRIu64 " alert", all,
		 st.lost[JOURNAL_KIND_ALERT]);
	if (!strstr(json_string_value(json_object_get(last_ov, "message")), want))
		fail_msg("%s not in %s", want, json_string_value(json_object_get(last_ov, "message")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(last_ov, "lost_total"), "alert")),
			 st.lost[JOURNAL_KIND_ALERT]);
	free(present);
	json_decref(arr);
	stored_sum(j, &cnt, &dig);
	assert_int_equal(st.records, cnt);
	assert_true(st.digest == dig);
	journal_close(j);

	/* All of it survives a reopen. */
	j = open_opts(f->dir, 4096, cap);
	struct journal_status st2;
	journal_get_status(j, &st2);
	assert_int_equal(st2.records, st.records);
	assert_true(st2.digest == st.digest);
	assert_memory_equal(st2.lost, st.lost, sizeof(st.lost));
	assert_int_equal(st2.compacted, st.compacted);
	journal_close(j);
	free(kinds);
}

/* A crash after the drop was stored but before the overflow record was written: the next open writes it. */
static void test_overflow_pending_on_open(void **state)
{
	struct fx *f = *state;
	struct journal *j;
	assert_int_equal(journal_open(f->dir, &j), 0);
	append_n(j, 3, 0);
	journal_close(j);
	char p[128];
	snprintf(p, sizeof(p), "%s/acked", f->dir);
	FILE *fp = fopen(p, "w");
	fputs("{\"acked\":0,\"lost\":{\"alert\":2},\"overflow\":{\"seq\":4,\"from\":1,\"to\":2,\"lost\":{\"alert\":2}}}\n",
	      fp);
	fclose(fp);
	for (int round = 0; round < 2; round++) { /* the second open finds it written */
		assert_int_equal(journal_open(f->dir, &j), 0);
		assert_int_equal(journal_count(j), 4);
		json_t *arr;
		assert_int_equal(journal_read_from(j, 4, 10, 1 << 20, &arr), 1);
		json_t *r = json_array_get(arr, 0);
		assert_string_equal(json_string_value(json_object_get(r, "title")), "Sensor journal overflow");
		assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "lost"), "alert")), 2);
		json_decref(arr);
		struct journal_status st;
		journal_get_status(j, &st);
		assert_int_equal(st.lost[JOURNAL_KIND_ALERT], 2);
		journal_close(j);
	}
}

/* A state dir of the single-file journal keeps working: the file becomes the first segment. */
static void test_migrate_old_layout(void **state)
{
	struct fx *f = *state;
	char seg[8][400], p[128], q[128];
	struct journal *j;
	assert_int_equal(journal_open(f->dir, &j), 0);
	append_n(j, 6, 0);
	journal_close(j);
	/* Make it look like the old layout: <dir>/journal is the frames, <dir>/acked a decimal seq. */
	assert_int_equal(segments(f->dir, seg, 8), 1);
	snprintf(p, sizeof(p), "%s/journal.old", f->dir);
	assert_int_equal(rename(seg[0], p), 0);
	snprintf(q, sizeof(q), "%s/journal", f->dir);
	assert_int_equal(rmdir(q), 0);
	assert_int_equal(rename(p, q), 0);
	snprintf(p, sizeof(p), "%s/acked", f->dir);
	FILE *fp = fopen(p, "w");
	fputs("2\n", fp);
	fclose(fp);

	assert_int_equal(journal_open(f->dir, &j), 0);
	assert_int_equal(journal_count(j), 6);
	assert_int_equal(journal_acked(j), 2);
	assert_int_equal(journal_next_seq(j), 7);
	assert_int_equal(segments(f->dir, seg, 8), 1);
	assert_non_null(strstr(seg[0], "00000000000000000001.seg"));
	append_n(j, 1, 0);
	assert_int_equal(journal_ack(j, 3), 0);
	journal_close(j);
	assert_int_equal(journal_open(f->dir, &j), 0);
	assert_int_equal(journal_count(j), 7);
	assert_int_equal(journal_acked(j), 3);
	journal_close(j);
}

static void test_garbage_file(void **state)
{
	struct fx *f = *state;
	char p[128], seg[8][400];
	snprintf(p, sizeof(p), "%s/journal", f->dir);
	FILE *fp = fopen(p, "w");
	fputs("\xff\xff\xff\xff garbage that is not a journal", fp);
	fclose(fp);
	struct journal *j;
	assert_int_equal(journal_open(f->dir, &j), 0);
	assert_int_equal(journal_count(j), 0);
	assert_int_equal(segments(f->dir, seg, 8), 0); /* an empty segment is deleted */
	append_n(j, 1, 0);
	assert_int_equal(journal_count(j), 1);
	journal_close(j);
}

/* Sync policy 0/0 syncs every append; the thresholds do not change what is stored. */
/* Records the uplink may send: those on disk (journal_read_for_send stops at the last synced one). */
static int sendable_from(struct journal *j, uint64_t from)
{
	json_t *arr;
	int n = journal_read_for_send(j, from, SIZE_MAX, SIZE_MAX, &arr);
	json_decref(arr);
	return n;
}

/* The sync policy, seen through what may be sent: 0/0 syncs every append; a threshold in bytes syncs once it is
 * passed; otherwise records wait for the interval or an explicit sync. */
static void test_sync_policy(void **state)
{
	struct fx *f = *state;
	struct journal_opts o;
	struct journal *j;
	journal_opts_default(&o);
	o.sync_interval_ms = 0;
	o.sync_bytes = 0;
	assert_int_equal(journal_open_opts(f->dir, &o, &j), 0);
	append_kind(j, "event", 1);
	assert_int_equal(sendable_from(j, 1), 1);
	journal_close(j);

	journal_opts_default(&o);
	o.sync_interval_ms = 60000;
	o.sync_bytes = 1 << 30;
	assert_int_equal(journal_open_opts(f->dir, &o, &j), 0);
	assert_int_equal(sendable_from(j, 1), 1); /* found on disk at open */
	append_kind(j, "event", 2);
	assert_int_equal(journal_sync_due(j), 0); /* not due: nothing synced */
	assert_int_equal(sendable_from(j, 2), 0);
	assert_int_equal(journal_sync(j), 0);
	assert_int_equal(sendable_from(j, 2), 1);
	assert_int_equal(journal_count(j), 2);
	journal_close(j);

	journal_opts_default(&o);
	o.sync_interval_ms = 60000;
	o.sync_bytes = 1; /* any append passes it */
	assert_int_equal(journal_open_opts(f->dir, &o, &j), 0);
	append_kind(j, "event", 3);
	assert_int_equal(sendable_from(j, 3), 1);
	journal_close(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_read_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crc_corruption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_persistence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollover_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_compaction_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_spares_sent_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow_pending_on_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_old_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_policy, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
