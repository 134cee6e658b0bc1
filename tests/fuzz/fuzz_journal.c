/* libFuzzer: the sensor journal's recovery (sensor-agent/journal_scan.c) on arbitrary segment files. The first
 * byte chooses the layout: bit 0 the older single file (<dir>/journal) instead of a segment, bit 1 the input cut
 * into two segments at the offset in bytes 1-2, bit 2 the input as newline-separated payloads that the harness
 * frames with valid CRCs (so arbitrary JSON reaches the scan and the reads), bit 3 a small disk cap. The journal
 * is opened, read, appended to and acked, closed and opened again: it must never crash, and the accounting must
 * survive the reopen exactly (records and digest), since the first open repaired what it found. */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "sensor-agent/journal.h"

static char dir[64], segdir[96];

static uint32_t crc32c(const uint8_t *p, size_t n, uint32_t crc)
{
	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
	}
	return ~crc;
}

static void put_frame(FILE *f, uint64_t seq, const uint8_t *payload, size_t len)
{
	uint8_t hdr[16], s[8];
	for (int i = 0; i < 8; i++)
		s[i] = (uint8_t)(seq >> (8 * i));
	uint32_t crc = crc32c(payload, len, crc32c(s, 8, 0));
	for (int i = 0; i < 4; i++) {
		hdr[i] = (uint8_t)(len >> (8 * i));
		hdr[4 + i] = (uint8_t)(crc >> (8 * i));
	}
	memcpy(hdr + 8, s, 8);
	fwrite(hdr, 1, 16, f);
	fwrite(payload, 1, len, f);
}

static void write_file(const char *path, const uint8_t *data, size_t size, bool framed, uint64_t first_seq)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return;
	if (!framed) {
		if (size)
			fwrite(data, 1, size, f);
	} else {
		uint64_t seq = first_seq;
		size_t start = 0;
		for (size_t i = 0; i <= size; i++)
			if (i == size || data[i] == '\n') {
				if (i > start)
					put_frame(f, seq++, data + start, i - start);
				start = i + 1;
			}
	}
	fclose(f);
}

static void clean(void)
{
	DIR *d = opendir(segdir);
	struct dirent *e;
	char p[400];
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", segdir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(segdir);
	unlink(segdir); /* the single-file layout */
	snprintf(p, sizeof(p), "%s/acked", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/journal.migrating", dir);
	unlink(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/fuzz-journal-%d", (int)getpid());
		snprintf(segdir, sizeof(segdir), "%s/journal", dir);
		mkdir(dir, 0700);
		log_level_current = -1; /* the scan logs every torn frame */
	}
	if (size < 3)
		return 0;
	uint8_t flags = data[0];
	size_t cut = (size_t)data[1] | (size_t)data[2] << 8;
	data += 3;
	size -= 3;
	clean();
	bool framed = flags & 4;
	if (flags & 1) {
		write_file(segdir, data, size, framed, 1);
	} else {
		char p[400];
		mkdir(segdir, 0700);
		if (!(flags & 2) || cut > size)
			cut = size;
		snprintf(p, sizeof(p), "%s/00000000000000000001.seg", segdir);
		write_file(p, data, cut, framed, 1);
		if (cut < size) {
			snprintf(p, sizeof(p), "%s/00000000000000001000.seg", segdir);
			write_file(p, data + cut, size - cut, framed, 1000);
		}
	}

	struct journal_opts o;
	journal_opts_default(&o);
	o.segment_bytes = 4096;
	if (flags & 8)
		o.cap_bytes = 64 << 10;
	struct journal *j;
	if (journal_open_opts(dir, &o, &j) < 0)
		return 0;
	struct journal_status s1, s2, s3;
	journal_get_status(j, &s1);
	json_t *arr;
	int n = journal_read_from(j, 0, SIZE_MAX, SIZE_MAX, &arr);
	if (n >= 0) {
		if ((size_t)n != journal_count(j))
			__builtin_trap();
		json_decref(arr);
	}
	json_t *rec = json_pack("{s:s, s:s, s:s, s:s}", "kind", "health", "at", "2024-01-01T00:00:00.000Z", "event",
				"stats", "pad", "fuzz");
	uint64_t seq = 0;
	bool appended = rec && journal_append(j, rec, &seq) == 0;
	json_decref(rec);
	if (appended && journal_ack(j, seq / 2) < 0)
		appended = false;
	journal_get_status(j, &s2);
	if (appended && s2.records < s1.records + 1 && !(flags & 8))
		__builtin_trap();
	journal_close(j);
	if (journal_open_opts(dir, &o, &j) < 0)
		__builtin_trap(); /* the first open repaired everything */
	journal_get_status(j, &s3);
	if (appended && (s3.records != s2.records || s3.digest != s2.digest || s3.last_seq != s2.last_seq))
		__builtin_trap();
	journal_close(j);
	return 0;
}
