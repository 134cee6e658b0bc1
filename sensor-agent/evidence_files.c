/* The evidence directory: its index, the writer thread, and reading captures back (evidence_files.h). */
#include "sensor-agent/evidence_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/pki.h"

struct ev_file {
	char ref[EVIDENCE_REF_LEN];
	uint32_t size;
};

/* One operation for the writer: write data as <ref>.pcap (len > 0), or delete <ref>.pcap (len 0). */
struct ev_job {
	struct ev_job *next;
	char ref[EVIDENCE_REF_LEN];
	size_t len;
	uint8_t data[];
};

struct ev_dir {
	char *path;
	unsigned max_files;
	uint64_t max_bytes;
	bool drop_when_busy;
	/* The index: the caller's thread only. */
	struct ev_file *files; /* oldest first: a ring of max_files */
	size_t first, n;
	uint64_t bytes, counter, saved, dropped, deleted;
	/* The queue, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t work, room; /* something to do; room in the queue, or all done */
	struct ev_job *head, *tail;
	size_t queued, queued_bytes;
	bool busy, stop, started;
	uint64_t errors;
	pthread_t thr;
};

/* Writes tmp + renames (0600; not fsynced: evidence is best effort), or deletes. */
static int run_job(const struct ev_dir *d, const struct ev_job *j)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd, rc;

	if (snprintf(path, sizeof(path), "%s/%s.pcap", d->path, j->ref) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (!j->len)
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	rc = pki_write_all(fd, j->data, j->len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

static void *writer_main(void *arg)
{
	struct ev_dir *d = arg;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		struct ev_job *j = d->head;
		int rc;
		if (!j) {
			pthread_cond_broadcast(&d->room); /* ev_dir_sync */
			if (d->stop)
				break;
			pthread_cond_wait(&d->work, &d->mu);
			continue;
		}
		d->head = j->next;
		if (!d->head)
			d->tail = NULL;
		d->busy = true;
		pthread_mutex_unlock(&d->mu);
		rc = run_job(d, j);
		pthread_mutex_lock(&d->mu);
		if (rc < 0 && (d->errors++ & 1023) == 0) /* the first of every 1024 */
			log_warn("evidence: cannot %s %s/%s.pcap: %s", j->len ? "write" : "delete", d->path, j->ref,
				 strerror(-rc));
		d->busy = false;
		d->queued--;
		d->queued_bytes -= j->len;
		free(j);
		pthread_cond_broadcast(&d->room);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

static void enqueue(struct ev_dir *d, struct ev_job *j)
{
	j->next = NULL;
	if (d->tail)
		d->tail->next = j;
	else
		d->head = j;
	d->tail = j;
	d->queued++;
	d->queued_bytes += j->len;
	pthread_cond_signal(&d->work);
}

/* Drops the oldest capture from the index; its file goes by a queued delete (mu held), or at once before the
 * writer starts. */
static void drop_oldest(struct ev_dir *d)
{
	struct ev_file *f = &d->files[d->first];
	struct ev_job *j;

	if (!d->started) {
		struct ev_job direct = { .len = 0 };
		snprintf(direct.ref, sizeof(direct.ref), "%s", f->ref);
		(void)run_job(d, &direct);
	} else if ((j = calloc(1, sizeof(*j)))) {
		snprintf(j->ref, sizeof(j->ref), "%s", f->ref);
		enqueue(d, j);
	} /* else the file stays behind: an orphan that the next start indexes */
	d->bytes -= f->size;
	d->first = (d->first + 1) % d->max_files;
	d->n--;
	d->deleted++;
}

static void index_add(struct ev_dir *d, const char *ref, uint64_t size)
{
	struct ev_file *f;

	while (d->n && (d->n >= d->max_files || d->bytes + size > d->max_bytes))
		drop_oldest(d);
	f = &d->files[(d->first + d->n) % d->max_files];
	snprintf(f->ref, sizeof(f->ref), "%s", ref);
	f->size = (uint32_t)(size < UINT32_MAX ? size : UINT32_MAX);
	d->n++;
	d->bytes += f->size;
}

const char *ev_dir_add(struct ev_dir *d, int64_t first_ts, size_t len, void (*build)(const void *ud, uint8_t *out),
		       const void *ud, char ref[EVIDENCE_REF_LEN])
{
	struct ev_job *j = malloc(sizeof(*j) + len);

	if (!j) {
		d->dropped++;
		return NULL;
	}
	build(ud, j->data);
	j->len = len;
	snprintf(j->ref, sizeof(j->ref), "%" PRIx64 "-%" PRIx64, (uint64_t)first_ts, d->counter++);
	pthread_mutex_lock(&d->mu);
	while (d->queued >= EV_QUEUE_MAX || d->queued_bytes + len > EV_QUEUE_BYTES) {
		if (d->drop_when_busy) {
			pthread_mutex_unlock(&d->mu);
			free(j);
			d->dropped++;
			return NULL;
		}
		pthread_cond_wait(&d->room, &d->mu);
	}
	index_add(d, j->ref, len); /* the deletes it makes room with are queued first */
	memcpy(ref, j->ref, EVIDENCE_REF_LEN);
	enqueue(d, j);
	pthread_mutex_unlock(&d->mu);
	d->saved++;
	return ref;
}

void ev_dir_sync(struct ev_dir *d)
{
	pthread_mutex_lock(&d->mu);
	while (d->head || d->busy)
		pthread_cond_wait(&d->room, &d->mu);
	pthread_mutex_unlock(&d->mu);
}

void ev_dir_stats(struct ev_dir *d, struct evidence_stats *st)
{
	pthread_mutex_lock(&d->mu);
	st->save_errors = d->errors;
	pthread_mutex_unlock(&d->mu);
	st->saved = d->saved;
	st->dropped = d->dropped;
	st->files = d->n;
	st->dir_bytes = d->bytes;
	st->deleted = d->deleted;
}

/* ---- the directory at start ---- */

struct found {
	char ref[EVIDENCE_REF_LEN];
	int64_t mtime;
	uint64_t size;
};

static int found_cmp(const void *x, const void *y)
{
	const struct found *a = x, *b = y;

	if (a->mtime != b->mtime)
		return a->mtime < b->mtime ? -1 : 1;
	return strcmp(a->ref, b->ref);
}

/* Indexes the captures already there, removes temporary files of interrupted writes, and starts the counter
 * past every ref there (and at the start time: refs of a later start sort after this one's). */
static int scan(struct ev_dir *d)
{
	DIR *dir = opendir(d->path);
	struct dirent *de;
	struct found *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t next = (uint64_t)time(NULL) << 20;
	int rc = 0;

	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		size_t len = strlen(de->d_name);
		struct stat st;
		struct found *f;
		char *dash, *end;

		if (len > 9 && strcmp(de->d_name + len - 9, ".pcap.tmp") == 0) {
			unlinkat(dirfd(dir), de->d_name, 0);
			continue;
		}
		if (len <= 5 || len - 5 >= EVIDENCE_REF_LEN || strcmp(de->d_name + len - 5, ".pcap") != 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct found *nv = reallocarray(v, ncap, sizeof(*nv));
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		f = &v[n];
		memcpy(f->ref, de->d_name, len - 5);
		f->ref[len - 5] = '\0';
		if (!wire_is_evidence_ref(f->ref) || fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		f->mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		f->size = (uint64_t)st.st_size;
		if ((dash = strrchr(f->ref, '-'))) {
			uint64_t c = strtoull(dash + 1, &end, 16);
			if (!*end && dash[1] && c != UINT64_MAX && c + 1 > next)
				next = c + 1;
		}
		n++;
	}
	closedir(dir);
	if (n)
		qsort(v, n, sizeof(*v), found_cmp);
	for (size_t i = 0; i < n; i++)
		index_add(d, v[i].ref, v[i].size);
	free(v);
	d->counter = next;
	return rc;
}

struct ev_dir *ev_dir_open(const char *path, unsigned max_files, uint64_t max_bytes, bool drop_when_busy, char *err,
			   size_t errlen)
{
	struct ev_dir *d = calloc(1, sizeof(*d));
	sigset_t all, old;
	struct stat st;
	int rc;

	if (!d || !(d->path = strdup(path)) || !(d->files = calloc(max_files, sizeof(*d->files)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	d->max_files = max_files;
	d->max_bytes = max_bytes;
	d->drop_when_busy = drop_when_busy;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->work, NULL);
	pthread_cond_init(&d->room, NULL);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		goto fail;
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", path);
		goto fail;
	}
	if ((rc = scan(d)) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
		goto fail;
	}
	/* Signals belong to the capture thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&d->thr, NULL, writer_main, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		snprintf(err, errlen, "cannot start the evidence writer: %s", strerror(rc));
		goto fail;
	}
	d->started = true;
	return d;
fail:
	ev_dir_close(d);
	return NULL;
}

void ev_dir_close(struct ev_dir *d)
{
	if (!d)
		return;
	if (d->started) {
		pthread_mutex_lock(&d->mu);
		d->stop = true;
		pthread_cond_signal(&d->work);
		pthread_mutex_unlock(&d->mu);
		pthread_join(d->thr, NULL);
	}
	if (d->files) { /* the mutex and conditions exist once files does */
		pthread_cond_destroy(&d->room);
		pthread_cond_destroy(&d->work);
		pthread_mutex_destroy(&d->mu);
	}
	free(d->files);
	free(d->path);
	free(d);
}

/* ---- reading, for the uplink ---- */

/* The four classic pcap magics: µs or ns, either byte order. */
static bool is_pcap_magic(const uint8_t *p)
{
	uint32_t le = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	uint32_t be = __builtin_bswap32(le);

	return le == 0xa1b2c3d4 || be == 0xa1b2c3d4 || le == 0xa1b23c4d || be == 0xa1b23c4d;
}

int evidence_read(const char *dir, const char *ref, size_t max, uint8_t **data, size_t *len)
{
	char path[PATH_MAX];
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, rc = 0;

	*data = NULL;
	*len = 0;
	if (!wire_is_evidence_ref(ref))
		return -ENOENT;
	if (snprintf(path, sizeof(path), "%s/%s.pcap", dir, ref) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ELOOP ? -ENOENT : -errno;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode) || st.st_size < 24)
		rc = -ENOENT; /* not a capture (an interrupted write leaves no file under the final name) */
	else if ((uint64_t)st.st_size > max)
		rc = -EFBIG;
	else if (!(buf = malloc((size_t)st.st_size)))
		rc = -ENOMEM;
	while (rc == 0 && got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			rc = r < 0 ? -errno : -EIO;
		else
			got += (size_t)r;
	}
	close(fd);
	if (rc == 0 && !is_pcap_magic(buf))
		rc = -ENOENT;
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*data = buf;
	*len = got;
	return 0;
}
