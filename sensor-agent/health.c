#include "sensor-agent/health.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/timefmt.h"

#define PROC_READ_MAX 8192 /* the lines read are at the top of each file */

/* Reads the first PROC_READ_MAX - 1 bytes of a /proc file into buf (NUL-terminated). */
static int read_proc(const char *path, char buf[PROC_READ_MAX])
{
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	while (got < PROC_READ_MAX - 1) {
		ssize_t n = read(fd, buf + got, PROC_READ_MAX - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return rc;
}

/* Parses an unsigned decimal at *p (after spaces); advances *p. */
static bool next_u64(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - 9) / 10)
			return false;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*v = x;
	return true;
}

int health_parse_stat(const char *text, uint64_t *busy, uint64_t *total)
{
	/* "cpu  user nice system idle iowait irq softirq steal guest guest_nice" (proc(5)); guest time is already
	 * part of user time, so the total stops at steal. Older kernels have fewer columns. */
	uint64_t v[8] = { 0 }, sum = 0;
	const char *p = text;
	size_t n = 0;

	if (strncmp(p, "cpu ", 4) != 0)
		return -EINVAL;
	p += 4;
	while (n < 8 && next_u64(&p, &v[n]))
		n++;
	if (n < 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (sum > UINT64_MAX - v[i])
			return -EINVAL;
		sum += v[i];
	}
	*total = sum;
	*busy = sum - v[3] - (n > 4 ? v[4] : 0);
	return 0;
}

/* The value of "Key:   N kB" in a /proc/meminfo text, in bytes. */
static bool meminfo_value(const char *text, const char *key, uint64_t *bytes)
{
	size_t klen = strlen(key);
	uint64_t kib;

	for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *p = line + klen;
		if (strncmp(line, key, klen) != 0 || *p != ':')
			continue;
		p++;
		if (!next_u64(&p, &kib) || kib > UINT64_MAX / 1024)
			return false;
		*bytes = kib * 1024;
		return true;
	}
	return false;
}

int health_parse_meminfo(const char *text, uint64_t *total_bytes, uint64_t *available_bytes)
{
	if (!meminfo_value(text, "MemTotal", total_bytes))
		return -EINVAL;
	/* MemAvailable exists since Linux 3.14; before it, free memory is the closest figure. */
	if (!meminfo_value(text, "MemAvailable", available_bytes) && !meminfo_value(text, "MemFree", available_bytes))
		return -EINVAL;
	return 0;
}

static int64_t proc_cpu_usec(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static bool host_cpu(uint64_t *busy, uint64_t *total)
{
	char buf[PROC_READ_MAX];

	return read_proc("/proc/stat", buf) == 0 && health_parse_stat(buf, busy, total) == 0;
}

void health_init(struct health *h, const char *state_dir, unsigned interval_sec)
{
	memset(h, 0, sizeof(*h));
	h->state_dir = state_dir;
	h->interval_usec = (int64_t)(interval_sec ? interval_sec : HEALTH_DEFAULT_INTERVAL_SEC) * 1000000;
	h->start_usec = h->cpu_at_usec = timefmt_now_usec();
	h->last_usec = h->start_usec - h->interval_usec;
	h->proc_cpu_usec = proc_cpu_usec();
	h->have_host = host_cpu(&h->host_busy, &h->host_total);
}

bool health_due(const struct health *h, int64_t now_usec)
{
	return now_usec - h->last_usec >= h->interval_usec;
}

static bool set_u64(json_t *o, const char *key, uint64_t v)
{
	return json_object_set_new(o, key, json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v)) == 0;
}

static bool set_pct(json_t *o, const char *key, double pct)
{
	if (pct < 0)
		pct = 0;
	/* Rounded to 0.01: the console stores it as a double anyway, and the record stays short. */
	return json_object_set_new(o, key, json_real((double)(int64_t)(pct * 100 + 0.5) / 100)) == 0;
}

json_t *health_sample(struct health *h, const struct health_inputs *in, int64_t now_usec)
{
	char at[TIMEFMT_LEN], buf[PROC_READ_MAX];
	uint64_t busy, total, mt, ma, pages_rss;
	int64_t cpu = proc_cpu_usec(), wall = now_usec - h->cpu_at_usec;
	struct statvfs vfs;
	bool ok = true;
	json_t *rec;

	timefmt_rfc3339_ms(now_usec, at);
	rec = json_pack("{s:s, s:s, s:s, s:s}", "kind", "health", "at", at, "event", "system", "source",
			in->source ? in->source : "file");
	if (!rec)
		return NULL;
	if (host_cpu(&busy, &total)) {
		if (h->have_host && total > h->host_total && busy >= h->host_busy)
			ok = ok && set_pct(rec, "cpu_pct", 100.0 * (double)(busy - h->host_busy) /
							   (double)(total - h->host_total));
		h->host_busy = busy;
		h->host_total = total;
		h->have_host = true;
	}
	if (wall > 0 && cpu >= h->proc_cpu_usec)
		ok = ok && set_pct(rec, "proc_cpu_pct", 100.0 * (double)(cpu - h->proc_cpu_usec) / (double)wall);
	h->proc_cpu_usec = cpu;
	h->cpu_at_usec = now_usec;
	if (read_proc("/proc/meminfo", buf) == 0 && health_parse_meminfo(buf, &mt, &ma) == 0)
		ok = ok && set_u64(rec, "mem_total_bytes", mt) && set_u64(rec, "mem_available_bytes", ma);
	if (read_proc("/proc/self/statm", buf) == 0) {
		const char *p = buf;
		long page = sysconf(_SC_PAGESIZE);
		/* "size resident shared ...", in pages */
		if (next_u64(&p, &pages_rss) && next_u64(&p, &pages_rss) && page > 0 &&
		    pages_rss <= UINT64_MAX / (uint64_t)page)
			ok = ok && set_u64(rec, "mem_rss_bytes", pages_rss * (uint64_t)page);
	}
	if (h->state_dir && statvfs(h->state_dir, &vfs) == 0 && vfs.f_frsize > 0) {
		ok = ok && set_u64(rec, "disk_free_bytes", (uint64_t)vfs.f_bavail * vfs.f_frsize) &&
		     set_u64(rec, "disk_total_bytes", (uint64_t)vfs.f_blocks * vfs.f_frsize);
	}
	ok = ok && set_u64(rec, "capture_packets", in->capture_packets) &&
	     set_u64(rec, "capture_drops", in->capture_drops) &&
	     set_u64(rec, "journal_backlog_records",
		     in->journal_last_seq > in->journal_acked ? in->journal_last_seq - in->journal_acked : 0) &&
	     set_u64(rec, "journal_backlog_bytes", in->journal_bytes) &&
	     set_u64(rec, "journal_last_seq", in->journal_last_seq) &&
	     set_u64(rec, "uptime_sec", (uint64_t)((now_usec - h->start_usec) / 1000000));
	h->last_usec = now_usec;
	if (!ok) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}
