/* Opening the journal (journal_internal.h): moving an older single-file journal into the segment directory,
 * and scanning every segment in order to rebuild the index and the stored totals, cutting torn or corrupt
 * tails (journal.h says which is which). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "sensor-agent/journal_internal.h"

char *jn_path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* The seq of the first frame of a file when that frame is whole and passes its CRC, else 0. */
static uint64_t first_frame_seq(const char *path)
{
	uint8_t hdr[JOURNAL_HDR_LEN], *buf = NULL;
	uint32_t len, crc;
	uint64_t seq = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (jn_read_full(fd, hdr, sizeof(hdr), 0) < 0 || !jn_get_header(hdr, &len, &crc, &seq) || len == 0 ||
	    len > JOURNAL_MAX_RECORD || !(buf = malloc(len)) || jn_read_full(fd, buf, len, JOURNAL_HDR_LEN) < 0 ||
	    jn_frame_crc(seq, buf, len) != crc)
		seq = 0;
	free(buf);
	close(fd);
	return seq;
}

/* An older journal is one file, <dir>/journal, in the segment format: it becomes the first segment. Each step
 * is a rename followed by a directory fsync, so a crash anywhere is finished by the next open. */
static int migrate(struct journal *j)
{
	struct stat st;
	char *mig = jn_path_join(j->statedir, JOURNAL_MIGRATING_NAME), *seg = NULL;
	int rc = 0;
	if (!mig)
		return -ENOMEM;
	if (lstat(j->segdir, &st) == 0 && S_ISREG(st.st_mode)) {
		log_info("journal: moving the single-file journal %s into segments", j->segdir);
		if (rename(j->segdir, mig) < 0 || (rc = jn_fsync_dir(j->statedir)) < 0) {
			rc = rc ? rc : -errno;
			goto out;
		}
	}
	if (mkdir(j->segdir, 0700) == 0) {
		if ((rc = jn_fsync_dir(j->statedir)) < 0)
			goto out;
	} else if (errno != EEXIST) {
		rc = -errno;
		log_error("journal: cannot create %s: %s", j->segdir, strerror(errno));
		goto out;
	}
	if (access(mig, F_OK) < 0)
		goto out;
	uint64_t base = first_frame_seq(mig);
	if (base == 0 || base > INT64_MAX)
		base = j->acked + 1; /* no readable first frame: the scan will find nothing in it */
	if (!(seg = jn_seg_path(j, base))) {
		rc = -ENOMEM;
		goto out;
	}
	if (access(seg, F_OK) == 0) {
		rc = -EEXIST;
		log_error("journal: cannot move %s to %s: it exists; resolve by hand", mig, seg);
		goto out;
	}
	if (rename(mig, seg) < 0) {
		rc = -errno;
		goto out;
	}
	if ((rc = jn_fsync_dir(j->segdir)) == 0)
		rc = jn_fsync_dir(j->statedir);
	log_info("journal: %s is now segment %s", mig, seg);
out:
	if (rc < 0)
		log_error("journal: moving the single-file journal failed: %s", strerror(-rc));
	free(mig);
	free(seg);
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The bases of the segment files, sorted; leftover temporary files of a compaction are removed. */
static int list_segments(struct journal *j, uint64_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(j->segdir);
	if (!d)
		return errno == ENOENT && j->o.read_only ? 0 : -errno;
	size_t cap = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		bool digits = l >= 24;
		for (size_t i = 0; digits && i < 20; i++)
			digits = e->d_name[i] >= '0' && e->d_name[i] <= '9';
		if (digits && l == 28 && strcmp(e->d_name + 20, ".seg.tmp") == 0 && !j->o.read_only) {
			char *p = jn_path_join(j->segdir, e->d_name);
			if (p)
				unlink(p);
			free(p);
			continue;
		}
		if (!digits || l != 24 || strcmp(e->d_name + 20, ".seg") != 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			uint64_t *nb = cap <= SIZE_MAX / sizeof(*nb) ? realloc(*out, cap * sizeof(*nb)) : NULL;
			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			*out = nb;
		}
		(*out)[(*n)++] = strtoull(e->d_name, NULL, 10);
	}
	closedir(d);
	if (rc == 0 && *n)
		qsort(*out, *n, sizeof(**out), cmp_u64);
	return rc;
}

/* Scans one segment: indexes its whole frames with seq > *prev and > discard_through, cuts what follows the
 * first bad frame. */
static int scan_segment(struct journal *j, uint64_t base, uint64_t *prev, bool newest)
{
	char *path = jn_seg_path(j, base), *buf = NULL;
	size_t bufcap = 0;
	int rc = 0, fd = -1;
	struct jseg *s = jn_segs_add(j, base);
	if (!path || !s) {
		rc = -ENOMEM;
		goto out;
	}
	fd = open(path, (j->o.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	struct stat st;
	if (fd < 0 && errno == ENOENT && j->o.read_only) { /* the live writer deleted it since the listing */
		free(s->recs);
		j->nseg--;
		goto out;
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		log_error("journal: cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	uint64_t size = (uint64_t)st.st_size, off = 0, stale = 0;
	const char *why = NULL;
	while (off < size) {
		uint8_t hdr[JOURNAL_HDR_LEN];
		uint32_t len, crc;
		uint64_t seq, digest;
		enum journal_kind kind;
		if (size - off < JOURNAL_HDR_LEN) {
			why = "torn frame header";
			break;
		}
		if ((rc = jn_read_full(fd, hdr, JOURNAL_HDR_LEN, off)) < 0)
			goto out;
		if (!jn_get_header(hdr, &len, &crc, &seq)) {
			why = "unreadable frame header";
			break;
		}
		if (len == 0 || len > JOURNAL_MAX_RECORD || off > UINT32_MAX) {
			why = "bad frame length";
			break;
		}
		if (size - off - JOURNAL_HDR_LEN < len) {
			why = "torn record";
			break;
		}
		if (seq == 0 || seq > INT64_MAX || seq <= *prev || seq < base) {
			why = "sequence out of order";
			break;
		}
		if (len + 1u > bufcap) {
			char *nb = realloc(buf, len + 1u);
			if (!nb) {
				rc = -ENOMEM;
				goto out;
			}
			buf = nb;
			bufcap = len + 1u;
		}
		if ((rc = jn_read_full(fd, buf, len, off + JOURNAL_HDR_LEN)) < 0)
			goto out;
		if (jn_frame_crc(seq, (const uint8_t *)buf, len) != crc) {
			why = "CRC mismatch";
			break;
		}
		if (!jn_payload_info(buf, len, &kind, &digest)) {
			why = "record is not a JSON object";
			break;
		}
		if (seq <= j->discard_through) {
			stale++; /* a segment whose deletion was interrupted: counted in the freed totals already */
		} else {
			if ((rc = jn_seg_push(s, seq, (uint32_t)off, len)) < 0)
				goto out;
			s->digest += digest;
			if (jn_kind_is_inventory(kind))
				s->inv_bytes += JOURNAL_HDR_LEN + len;
		}
		*prev = seq;
		off += JOURNAL_HDR_LEN + len;
	}
	if (off < size) {
		if (newest) {
			log_warn("journal: %s: %s at offset %" PRIu64 "; dropping the last %" PRIu64
				 " bytes (a write torn by a crash)",
				 path, why ? why : "invalid frame", off, size - off);
		} else {
			log_error("journal: CORRUPTION in %s: %s at offset %" PRIu64 "; the remaining %" PRIu64
				  " bytes of this segment are dropped and counted in corrupt_bytes",
				  path, why ? why : "invalid frame", off, size - off);
			j->corrupt_bytes += size - off;
		}
		if (!j->o.read_only && (ftruncate(fd, (off_t)off) < 0 || fdatasync(fd) < 0)) {
			rc = -errno;
			goto out;
		}
	}
	s->size = off;
	if (s->n == 0 && !j->o.read_only && !j->legacy_path) {
		if (stale)
			log_info("journal: %s holds only freed records; deleting it", path);
		if (unlink(path) < 0)
			log_warn("journal: cannot delete %s: %s", path, strerror(errno));
		free(s->recs);
		j->nseg--;
		goto out;
	}
	j->bytes += s->size;
	j->stored_records += s->n;
	j->stored_digest += s->digest;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(path);
	return rc;
}

int jn_scan(struct journal *j)
{
	struct stat st;
	uint64_t *bases = NULL, prev = 0;
	size_t n = 0;
	int rc = 0;
	if (j->o.read_only) {
		if (lstat(j->segdir, &st) == 0 && S_ISREG(st.st_mode)) {
			if (!(j->legacy_path = strdup(j->segdir)))
				return -ENOMEM;
			rc = scan_segment(j, 0, &prev, true);
			goto done;
		}
	} else {
		if ((rc = migrate(j)) < 0)
			return rc;
		j->lockfd = open(j->segdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (j->lockfd < 0)
			return -errno;
		if (flock(j->lockfd, LOCK_EX | LOCK_NB) < 0) {
			rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
			log_error("journal: %s is in use by another process", j->segdir);
			return rc;
		}
	}
	uint64_t corrupt_before = j->corrupt_bytes;
	if ((rc = list_segments(j, &bases, &n)) < 0)
		goto out;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = scan_segment(j, bases[i], &prev, i + 1 == n);
	if (rc == 0 && !j->o.read_only) {
		if (j->corrupt_bytes != corrupt_before)
			rc = jn_state_store(j, false);
		if (rc == 0)
			rc = jn_fsync_dir(j->segdir);
	}
done:
	if (rc == 0) {
		j->next_seq = prev + 1;
		if (j->acked >= j->next_seq)
			j->next_seq = j->acked + 1;
		if (j->discard_through >= j->next_seq)
			j->next_seq = j->discard_through + 1;
	}
out:
	free(bases);
	return rc;
}
