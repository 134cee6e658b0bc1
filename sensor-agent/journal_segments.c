/* The journal's files (journal_internal.h): frames and their CRC, segment files and descriptors, the segment
 * array and its totals, the state file, sealing and deleting segments. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cursor.h"
#include "common/log.h"
#include "common/timefmt.h"
#include "common/wire.h"
#include "sensor-agent/journal_internal.h"

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

uint32_t jn_frame_crc(uint64_t seq, const uint8_t *payload, size_t len)
{
	uint8_t s[8];
	pthread_once(&crc_once, crc_init);
	for (int i = 0; i < 8; i++)
		s[i] = (uint8_t)(seq >> (8 * i));
	return crc_update(crc_update(0, s, 8), payload, len);
}

void jn_put_header(uint8_t hdr[JOURNAL_HDR_LEN], uint32_t len, uint32_t crc, uint64_t seq)
{
	for (int i = 0; i < 4; i++) {
		hdr[i] = (uint8_t)(len >> (8 * i));
		hdr[4 + i] = (uint8_t)(crc >> (8 * i));
	}
	for (int i = 0; i < 8; i++)
		hdr[8 + i] = (uint8_t)(seq >> (8 * i));
}

bool jn_get_header(const uint8_t *hdr, uint32_t *len, uint32_t *crc, uint64_t *seq)
{
	struct cursor c;
	uint32_t lo, hi;
	cursor_init(&c, hdr, JOURNAL_HDR_LEN);
	if (!cursor_u32le(&c, len) || !cursor_u32le(&c, crc) || !cursor_u32le(&c, &lo) || !cursor_u32le(&c, &hi))
		return false;
	*seq = ((uint64_t)hi << 32) | lo;
	return true;
}

int jn_read_full(int fd, void *buf, size_t len, uint64_t off)
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

int jn_write_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int jn_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	if (rc < 0)
		log_error("journal: fsync %s: %s", dir, strerror(-rc));
	return rc;
}

char *jn_seg_path(const struct journal *j, uint64_t base)
{
	if (j->legacy_path)
		return strdup(j->legacy_path);
	size_t n = strlen(j->segdir) + 32;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%020" PRIu64 ".seg", j->segdir, base);
	return p;
}

int jn_seg_open_read(struct journal *j, uint64_t base)
{
	if (j->wfd >= 0 && j->nseg && j->segs[j->nseg - 1].base == base)
		return j->wfd; /* the segment appended to: no second descriptor */
	if (j->rfd >= 0 && j->rbase == base)
		return j->rfd;
	if (j->rfd >= 0)
		close(j->rfd);
	j->rfd = -1;
	char *p = jn_seg_path(j, base);
	if (!p)
		return -ENOMEM;
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	int rc = fd < 0 ? -errno : 0;
	if (fd < 0)
		log_error("journal: cannot open %s: %s", p, strerror(errno));
	free(p);
	if (rc < 0)
		return rc;
	j->rfd = fd;
	j->rbase = base;
	return fd;
}

void jn_seg_forget_fd(struct journal *j, uint64_t base)
{
	if (j->rfd >= 0 && j->rbase == base) {
		close(j->rfd);
		j->rfd = -1;
	}
}

int jn_seg_push(struct jseg *s, uint64_t seq, uint32_t off, uint32_t len)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 256;
		if (ncap > SIZE_MAX / sizeof(*s->recs))
			return -ENOMEM;
		struct jrec *nr = realloc(s->recs, ncap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		s->recs = nr;
		s->cap = ncap;
	}
	s->recs[s->n++] = (struct jrec){ .seq = seq, .off = off, .len = len };
	return 0;
}

struct jseg *jn_segs_add(struct journal *j, uint64_t base)
{
	if (j->nseg == j->segcap) {
		size_t ncap = j->segcap ? j->segcap * 2 : 16;
		if (ncap > SIZE_MAX / sizeof(*j->segs))
			return NULL;
		struct jseg *ns = realloc(j->segs, ncap * sizeof(*ns));
		if (!ns)
			return NULL;
		j->segs = ns;
		j->segcap = ncap;
	}
	struct jseg *s = &j->segs[j->nseg++];
	*s = (struct jseg){ .base = base };
	return s;
}

void jn_segs_remove(struct journal *j, size_t i)
{
	struct jseg *s = &j->segs[i];
	j->bytes -= s->size;
	j->stored_records -= s->n;
	j->stored_digest -= s->digest;
	free(s->recs);
	memmove(&j->segs[i], &j->segs[i + 1], (j->nseg - i - 1) * sizeof(*s));
	j->nseg--;
}

int jn_read_payload(struct journal *j, const struct jseg *s, const struct jrec *r, char **payload)
{
	*payload = NULL;
	int fd = jn_seg_open_read(j, s->base);
	if (fd < 0)
		return fd;
	uint8_t hdr[JOURNAL_HDR_LEN];
	char *buf = malloc((size_t)r->len + 1);
	if (!buf)
		return -ENOMEM;
	uint32_t len, crc;
	uint64_t seq;
	int rc = jn_read_full(fd, hdr, sizeof(hdr), r->off);
	if (rc == 0)
		rc = jn_read_full(fd, buf, r->len, (uint64_t)r->off + JOURNAL_HDR_LEN);
	if (rc == -ENODATA || (rc == 0 && (!jn_get_header(hdr, &len, &crc, &seq) || len != r->len || seq != r->seq ||
					   jn_frame_crc(seq, (const uint8_t *)buf, len) != crc))) {
		log_error("journal: segment %020" PRIu64 ": record %" PRIu64 " is corrupt", s->base, r->seq);
		rc = -EIO;
	}
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[r->len] = '\0';
	*payload = buf;
	return 0;
}

static const char *const kind_names[JOURNAL_KINDS] = { "device", "connection", "health", "device_remove",
							"event",  "violation",  "alert",  "other" };

const char *journal_kind_name(enum journal_kind k)
{
	return (unsigned)k < JOURNAL_KINDS ? kind_names[k] : "other";
}

enum journal_kind jn_kind_of(const json_t *record)
{
	const char *k = json_string_value(json_object_get(record, "kind"));
	for (int i = 0; k && i < JOURNAL_KIND_OTHER; i++)
		if (strcmp(k, kind_names[i]) == 0)
			return (enum journal_kind)i;
	return JOURNAL_KIND_OTHER;
}

bool jn_payload_info(const char *payload, size_t len, enum journal_kind *kind, uint64_t *digest)
{
	json_error_t jerr;
	json_t *rec = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
	bool ok = json_is_object(rec) && wire_record_digest(rec, digest);
	if (ok)
		*kind = jn_kind_of(rec);
	json_decref(rec);
	return ok;
}

/* --- the state file --- */

static bool get_u64(json_t *o, const char *k, uint64_t *v)
{
	json_t *x = json_object_get(o, k);
	if (!x)
		return true;
	if (!json_is_integer(x) || json_integer_value(x) < 0)
		return false;
	*v = (uint64_t)json_integer_value(x);
	return true;
}

static bool get_u64_str(json_t *o, const char *k, uint64_t *v)
{
	const char *s = json_string_value(json_object_get(o, k));
	if (!json_object_get(o, k))
		return true;
	if (!s || !*s || *s == '-')
		return false;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*v = x;
	return true;
}

static bool get_kinds(json_t *o, const char *k, uint64_t out[JOURNAL_KINDS])
{
	json_t *m = json_object_get(o, k);
	if (!m)
		return true;
	if (!json_is_object(m))
		return false;
	for (int i = 0; i < JOURNAL_KINDS; i++)
		if (!get_u64(m, kind_names[i], &out[i]))
			return false;
	return true;
}

static int parse_state(struct journal *j, const char *buf, size_t n)
{
	if (n > 0 && buf[0] >= '0' && buf[0] <= '9') { /* an older journal: the acked seq alone */
		char *end;
		errno = 0;
		unsigned long long v = strtoull(buf, &end, 10);
		if (errno || (*end && *end != '\n'))
			return -EINVAL;
		j->acked = v;
		return 0;
	}
	json_error_t jerr;
	json_t *o = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr);
	json_t *ov = json_object_get(o, "overflow");
	int rc = 0;
	if (!json_is_object(o) || !get_u64(o, "acked", &j->acked) ||
	    !get_u64(o, "discard_through", &j->discard_through) || !get_u64(o, "freed_records", &j->freed_records) ||
	    !get_u64_str(o, "freed_digest", &j->freed_digest) || !get_u64(o, "compacted", &j->compacted) ||
	    !get_u64(o, "corrupt_bytes", &j->corrupt_bytes) || !get_kinds(o, "lost", j->lost))
		rc = -EINVAL;
	else if (ov && (!json_is_object(ov) || !get_u64(ov, "seq", &j->ov_seq) || !get_u64(ov, "from", &j->ov_from) ||
			!get_u64(ov, "to", &j->ov_to) || !get_kinds(ov, "lost", j->ov_lost) || j->ov_seq == 0))
		rc = -EINVAL;
	else
		j->overflow_pending = ov != NULL;
	json_decref(o);
	return rc;
}

int jn_state_load(struct journal *j)
{
	int fd = open(j->state_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (n == 0 || (size_t)n == sizeof(buf) - 1 || parse_state(j, buf, (size_t)n) < 0) {
		log_error("journal: %s is malformed; treating nothing as acked or freed", j->state_path);
		j->acked = j->discard_through = j->freed_records = j->freed_digest = j->compacted = 0;
		j->corrupt_bytes = 0;
		j->overflow_pending = false;
		memset(j->lost, 0, sizeof(j->lost));
	}
	return 0;
}

static json_t *kinds_json(const uint64_t v[JOURNAL_KINDS])
{
	json_t *o = json_object();
	for (int i = 0; o && i < JOURNAL_KINDS; i++)
		if (v[i] && json_object_set_new(o, kind_names[i], json_integer((json_int_t)v[i])) < 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

int jn_state_store(struct journal *j, bool sync_dir)
{
	char dig[24];
	snprintf(dig, sizeof(dig), "%" PRIu64, j->freed_digest);
	json_t *o = json_pack("{s:I, s:I, s:I, s:s, s:I, s:I, s:o}", "acked", (json_int_t)j->acked, "discard_through",
			      (json_int_t)j->discard_through, "freed_records", (json_int_t)j->freed_records,
			      "freed_digest", dig, "compacted", (json_int_t)j->compacted, "corrupt_bytes",
			      (json_int_t)j->corrupt_bytes, "lost", kinds_json(j->lost));
	if (o && j->overflow_pending &&
	    json_object_set_new(o, "overflow",
				json_pack("{s:I, s:I, s:I, s:o}", "seq", (json_int_t)j->ov_seq, "from",
					  (json_int_t)j->ov_from, "to", (json_int_t)j->ov_to, "lost",
					  kinds_json(j->ov_lost))) < 0) {
		json_decref(o);
		o = NULL;
	}
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	size_t tl = strlen(j->state_path) + 5;
	char *tmp = malloc(tl);
	int rc = 0, fd = -1;
	if (!text || !tmp) {
		rc = -ENOMEM;
		goto out;
	}
	snprintf(tmp, tl, "%s.tmp", j->state_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	size_t len = strlen(text);
	text[len] = '\n'; /* json_dumps leaves room for its NUL: a line for people who cat it */
	rc = jn_write_full(fd, text, len + 1, 0);
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, j->state_path) < 0)
		rc = -errno;
	if (rc == 0 && sync_dir)
		rc = jn_fsync_dir(j->statedir);
out:
	if (rc < 0) {
		if (tmp)
			unlink(tmp);
		log_error("journal: cannot store %s: %s", j->state_path, strerror(-rc));
	}
	free(tmp);
	free(text);
	return rc;
}

int jn_seal(struct journal *j)
{
	if (j->wfd < 0)
		return 0;
	int rc = fdatasync(j->wfd) < 0 ? -errno : 0;
	close(j->wfd);
	j->wfd = -1;
	if (rc < 0) {
		log_error("journal: fdatasync of a segment in %s: %s", j->segdir, strerror(-rc));
		return rc;
	}
	jn_mark_synced(j);
	return 0;
}

int jn_delete_front(struct journal *j, size_t k, uint64_t partial_digest)
{
	if (k == 0)
		return 0;
	uint64_t old_through = j->discard_through, old_recs = j->freed_records, old_dig = j->freed_digest;
	for (size_t i = 0; i < k; i++) {
		const struct jseg *s = &j->segs[i];
		for (size_t r = 0; r < s->n && s->recs[r].seq <= j->acked; r++)
			j->freed_records++;
		if (s->n && s->recs[s->n - 1].seq > j->discard_through)
			j->discard_through = s->recs[s->n - 1].seq;
	}
	/* Digests of the acked records: whole segments come from their sum; the caller read a segment with
	 * unacked records (an overflow drop) record by record and passes the digests of its acked ones. */
	j->freed_digest += partial_digest;
	for (size_t i = 0; i < k; i++) {
		const struct jseg *s = &j->segs[i];
		if (s->n && s->recs[s->n - 1].seq <= j->acked)
			j->freed_digest += s->digest;
	}
	int rc = jn_state_store(j, true);
	if (rc < 0) {
		j->discard_through = old_through;
		j->freed_records = old_recs;
		j->freed_digest = old_dig;
		return rc;
	}
	for (size_t i = 0; i < k; i++) {
		char *p = jn_seg_path(j, j->segs[0].base);
		jn_seg_forget_fd(j, j->segs[0].base);
		if (p && unlink(p) < 0 && errno != ENOENT)
			log_error("journal: cannot delete %s: %s", p, strerror(errno));
		free(p);
		jn_segs_remove(j, 0);
	}
	return jn_fsync_dir(j->segdir);
}
