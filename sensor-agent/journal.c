#include "sensor-agent/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cursor.h"
#include "common/log.h"

#define HDR_LEN 16u

struct jentry {
	uint64_t seq;
	uint64_t off; /* offset of the frame header */
	uint32_t len; /* payload length */
};

struct journal {
	pthread_mutex_t mu;
	int fd;
	char *path, *acked_path;
	struct jentry *idx;
	size_t n, cap;
	uint64_t end;      /* file size: the next frame goes here */
	uint64_t next_seq; /* >= 1 */
	uint64_t acked;
};

/* CRC-32C (Castagnoli), reflected, table driven; the table is built once. */
static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint32_t frame_crc(uint64_t seq, const uint8_t *payload, size_t len)
{
	uint8_t s[8];
	for (int i = 0; i < 8; i++)
		s[i] = (uint8_t)(seq >> (8 * i));
	return crc_update(crc_update(0, s, 8), payload, len);
}

static void put_u32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static bool get_u64le(struct cursor *c, uint64_t *v)
{
	uint32_t lo, hi;
	size_t save = c->off;
	if (!cursor_u32le(c, &lo) || !cursor_u32le(c, &hi)) {
		c->off = save;
		return false;
	}
	*v = ((uint64_t)hi << 32) | lo;
	return true;
}

static int idx_push(struct journal *j, uint64_t seq, uint64_t off, uint32_t len)
{
	if (j->n == j->cap) {
		size_t ncap = j->cap ? j->cap * 2 : 1024;
		if (ncap > SIZE_MAX / sizeof(*j->idx))
			return -ENOMEM;
		struct jentry *ni = realloc(j->idx, ncap * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		j->idx = ni;
		j->cap = ncap;
	}
	j->idx[j->n++] = (struct jentry){ .seq = seq, .off = off, .len = len };
	return 0;
}

static int read_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t r = pread(fd, p, len, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ENODATA;
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int load_acked(struct journal *j)
{
	FILE *f = fopen(j->acked_path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	char buf[32] = { 0 };
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (n == 0 || end == buf || errno || (*end && *end != '\n')) {
		log_warn("journal: %s is malformed; treating nothing as acked", j->acked_path);
		return 0;
	}
	j->acked = v;
	return 0;
}

static int store_acked(struct journal *j, uint64_t seq)
{
	size_t tl = strlen(j->acked_path) + 5;
	char *tmp = malloc(tl);
	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, tl, "%s.tmp", j->acked_path);
	int rc = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", seq);
	rc = write_full(fd, buf, (size_t)n);
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, j->acked_path) < 0)
		rc = -errno;
out:
	if (rc < 0) {
		unlink(tmp);
		log_error("journal: cannot store %s: %s", j->acked_path, strerror(-rc));
	}
	free(tmp);
	return rc;
}

/* Walks the file frame by frame; stops at the first invalid one and truncates the tail there. */
static int scan(struct journal *j)
{
	struct stat st;
	if (fstat(j->fd, &st) < 0)
		return -errno;
	uint64_t size = (uint64_t)st.st_size, off = 0, prev = 0;
	uint8_t *buf = NULL;
	size_t bufcap = 0;
	int rc = 0;
	const char *why = NULL;
	while (off < size) {
		uint8_t hdr[HDR_LEN];
		if (size - off < HDR_LEN) {
			why = "torn frame header";
			break;
		}
		if ((rc = read_full(j->fd, hdr, HDR_LEN, off)) < 0)
			goto out;
		struct cursor c;
		uint32_t len, crc;
		uint64_t seq;
		cursor_init(&c, hdr, sizeof(hdr));
		if (!cursor_u32le(&c, &len) || !cursor_u32le(&c, &crc) || !get_u64le(&c, &seq)) {
			why = "unreadable frame header";
			break;
		}
		if (len == 0 || len > JOURNAL_MAX_RECORD) {
			why = "bad frame length";
			break;
		}
		if (size - off - HDR_LEN < len) {
			why = "torn record";
			break;
		}
		if (seq == 0 || seq <= prev) {
			why = "sequence out of order";
			break;
		}
		if (len > bufcap) {
			uint8_t *nb = realloc(buf, len);
			if (!nb) {
				rc = -ENOMEM;
				goto out;
			}
			buf = nb;
			bufcap = len;
		}
		if ((rc = read_full(j->fd, buf, len, off + HDR_LEN)) < 0)
			goto out;
		if (frame_crc(seq, buf, len) != crc) {
			why = "CRC mismatch";
			break;
		}
		if ((rc = idx_push(j, seq, off, len)) < 0)
			goto out;
		prev = seq;
		off += HDR_LEN + len;
	}
	if (off < size) {
		log_warn("journal: %s: %s at offset %" PRIu64 "; dropping the last %" PRIu64 " bytes", j->path,
			 why ? why : "invalid frame", off, size - off);
		if (ftruncate(j->fd, (off_t)off) < 0 || fdatasync(j->fd) < 0) {
			rc = -errno;
			goto out;
		}
	}
	j->end = off;
	j->next_seq = prev + 1;
out:
	free(buf);
	return rc;
}

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

int journal_open(const char *dir, struct journal **out)
{
	pthread_once(&crc_once, crc_init);
	*out = NULL;
	struct journal *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	pthread_mutex_init(&j->mu, NULL);
	j->fd = -1;
	int rc = -ENOMEM;
	j->path = path_join(dir, "journal");
	j->acked_path = path_join(dir, "acked");
	if (!j->path || !j->acked_path)
		goto fail;
	j->fd = open(j->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		rc = -errno;
		log_error("journal: cannot open %s: %s", j->path, strerror(errno));
		goto fail;
	}
	if ((rc = scan(j)) < 0 || (rc = load_acked(j)) < 0)
		goto fail;
	if (j->acked >= j->next_seq)
		j->next_seq = j->acked + 1;
	log_debug("journal: %s: %zu records, next seq %" PRIu64 ", acked %" PRIu64, j->path, j->n, j->next_seq,
		  j->acked);
	*out = j;
	return 0;
fail:
	journal_close(j);
	return rc;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	pthread_mutex_destroy(&j->mu);
	free(j->idx);
	free(j->path);
	free(j->acked_path);
	free(j);
}

int journal_append(struct journal *j, json_t *record, uint64_t *seq_out)
{
	pthread_mutex_lock(&j->mu);
	uint64_t seq = j->next_seq;
	uint8_t *frame = NULL;
	int rc = 0;
	char *payload = NULL;
	if (!json_is_object(record) || json_object_set_new(record, "seq", json_integer((json_int_t)seq)) < 0) {
		rc = -EINVAL;
		goto out;
	}
	payload = json_dumps(record, JSON_COMPACT);
	if (!payload) {
		rc = -ENOMEM;
		goto out;
	}
	size_t len = strlen(payload);
	if (len == 0 || len > JOURNAL_MAX_RECORD) {
		rc = -EMSGSIZE;
		goto out;
	}
	frame = malloc(HDR_LEN + len);
	if (!frame) {
		rc = -ENOMEM;
		goto out;
	}
	put_u32le(frame, (uint32_t)len);
	put_u32le(frame + 4, frame_crc(seq, (const uint8_t *)payload, len));
	put_u64le(frame + 8, seq);
	memcpy(frame + HDR_LEN, payload, len);
	if ((rc = idx_push(j, seq, j->end, (uint32_t)len)) < 0)
		goto out;
	/* pwrite at our own end offset: a failed partial write is overwritten by the next append. */
	size_t done = 0;
	while (done < HDR_LEN + len) {
		ssize_t w = pwrite(j->fd, frame + done, HDR_LEN + len - done, (off_t)(j->end + done));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			j->n--;
			log_error("journal: write to %s failed: %s", j->path, strerror(errno));
			goto out;
		}
		done += (size_t)w;
	}
	j->end += HDR_LEN + len;
	j->next_seq++;
	if (seq_out)
		*seq_out = seq;
out:
	if (rc < 0 && json_is_object(record))
		json_object_del(record, "seq");
	pthread_mutex_unlock(&j->mu);
	free(payload);
	free(frame);
	return rc;
}

int journal_sync(struct journal *j)
{
	pthread_mutex_lock(&j->mu);
	int rc = fdatasync(j->fd) < 0 ? -errno : 0;
	pthread_mutex_unlock(&j->mu);
	if (rc < 0)
		log_error("journal: fdatasync %s: %s", j->path, strerror(-rc));
	return rc;
}

/* First index entry with seq >= from (binary search; seqs are strictly increasing). */
static size_t idx_lower_bound(const struct journal *j, uint64_t from)
{
	size_t lo = 0, hi = j->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (j->idx[mid].seq < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int journal_read_from(struct journal *j, uint64_t from, size_t max_records, size_t max_bytes, json_t **out_array)
{
	*out_array = NULL;
	json_t *arr = json_array();
	if (!arr)
		return -ENOMEM;
	pthread_mutex_lock(&j->mu);
	int rc = 0;
	uint8_t *buf = NULL;
	size_t bytes = 0, count = 0;
	for (size_t i = idx_lower_bound(j, from); i < j->n && count < max_records; i++) {
		const struct jentry *e = &j->idx[i];
		if (count > 0 && (e->seq != j->idx[i - 1].seq + 1 || bytes + e->len > max_bytes))
			break;
		uint8_t *nb = realloc(buf, HDR_LEN + e->len);
		if (!nb) {
			rc = -ENOMEM;
			goto out;
		}
		buf = nb;
		if ((rc = read_full(j->fd, buf, HDR_LEN + e->len, e->off)) < 0)
			goto out;
		struct cursor c;
		uint32_t len, crc;
		uint64_t seq;
		const uint8_t *payload;
		cursor_init(&c, buf, HDR_LEN + e->len);
		if (!cursor_u32le(&c, &len) || !cursor_u32le(&c, &crc) || !get_u64le(&c, &seq) || len != e->len ||
		    seq != e->seq || !cursor_bytes(&c, len, &payload) || frame_crc(seq, payload, len) != crc) {
			log_error("journal: %s: record %" PRIu64 " is corrupt", j->path, e->seq);
			rc = -EIO;
			goto out;
		}
		json_error_t jerr;
		json_t *rec = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(rec)) {
			json_decref(rec);
			log_error("journal: %s: record %" PRIu64 " is not a JSON object", j->path, e->seq);
			rc = -EIO;
			goto out;
		}
		json_array_append_new(arr, rec);
		bytes += e->len;
		count++;
	}
out:
	pthread_mutex_unlock(&j->mu);
	free(buf);
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*out_array = arr;
	return (int)count;
}

int journal_ack(struct journal *j, uint64_t seq)
{
	pthread_mutex_lock(&j->mu);
	int rc = 0;
	if (seq > j->acked) {
		if ((rc = store_acked(j, seq)) == 0) {
			j->acked = seq;
			if (seq >= j->next_seq)
				j->next_seq = seq + 1;
		}
	}
	pthread_mutex_unlock(&j->mu);
	return rc;
}

#define GETTER(type, name, expr)                 \
	type name(struct journal *j)             \
	{                                        \
		pthread_mutex_lock(&j->mu);      \
		type v = (expr);                 \
		pthread_mutex_unlock(&j->mu);    \
		return v;                        \
	}

GETTER(uint64_t, journal_acked, j->acked)
GETTER(uint64_t, journal_next_seq, j->next_seq)
GETTER(uint64_t, journal_first_seq, j->n ? j->idx[0].seq : j->next_seq)
GETTER(uint64_t, journal_last_seq, j->next_seq - 1)
GETTER(size_t, journal_count, j->n)
