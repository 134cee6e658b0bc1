#include "tools/loadgen/lg_worker.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "common/pki.h"
#include "common/timefmt.h"
#include "common/wire.h"
#include "sensor-agent/journal.h"
#include "sensor-agent/sensor_state.h"
#include "sensor-agent/uplink.h"
#include "tools/loadgen/lg_fleet.h"
#include "tools/loadgen/lg_hist.h"
#include "tools/loadgen/lg_state.h"

#define TICK_MS 10
#define REPORT_MS 500
#define UPLINK_FDS 8 /* socket, lws's cancel pipe, and room */

/* Records journaled by one flush and not yet acked. */
struct pend {
	uint64_t first, last;
	int64_t created_ns;
};

struct lg_worker;

struct sensor {
	unsigned index;
	struct lg_worker *w;
	struct sensor_state st;
	struct journal *j;
	struct uplink *up;
	struct lg_fleet fleet;
	int64_t next_flush_ns;
	double carry, alert_carry;
	uint64_t produced, digest, last_seq;
	uint64_t seqs_skipped; /* seqs the journal took between ours (overflow records) */
	uint64_t base_welcomes; /* at "arm" */
	bool failed;
	/* Shared with the uplink thread (on_ack), under mu. */
	pthread_mutex_t mu;
	struct pend *pend;
	size_t pend_head, pend_n, pend_cap;
	uint64_t acked; /* records of this run acked */
};

struct lg_worker {
	const struct lg_cfg *cfg;
	int report_fd;
	struct sensor *s;
	unsigned started;
	pthread_mutex_t mu; /* hist, last_ack_ns */
	struct lg_hist hist;
	int64_t last_ack_ns;
	bool generating, done, armed;
	int64_t go_ns, down_ns, up_ns;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void report(struct lg_worker *w, json_t *msg)
{
	char *t = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	json_decref(msg);
	if (!t)
		return;
	size_t n = strlen(t);
	t[n] = '\n'; /* replaces the NUL: written with its length */
	if (pki_write_all(w->report_fd, t, n + 1) < 0)
		log_debug("loadgen: worker report lost (parent gone)");
	free(t);
}

__attribute__((format(printf, 2, 3))) static int fail(struct lg_worker *w, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report(w, json_pack("{s:s, s:s}", "t", "e", "message", msg));
	return 1;
}

/* The uplink thread: the console committed everything up to `acked`. */
static void on_ack(void *arg, uint64_t acked)
{
	struct sensor *s = arg;
	int64_t now = mono_ns();
	uint64_t n_acked = 0;
	struct lg_hist local = { 0 };

	pthread_mutex_lock(&s->mu);
	while (s->pend_n) {
		struct pend *p = &s->pend[s->pend_head];
		if (p->first > acked)
			break;
		uint64_t upto = acked < p->last ? acked : p->last;
		uint64_t n = upto - p->first + 1;
		lg_hist_add(&local, (now - p->created_ns) / 1000, n);
		n_acked += n;
		if (upto < p->last) {
			p->first = upto + 1;
			break;
		}
		s->pend_head++;
		s->pend_n--;
	}
	s->acked += n_acked;
	pthread_mutex_unlock(&s->mu);
	if (!n_acked)
		return;
	pthread_mutex_lock(&s->w->mu);
	for (unsigned b = 0; b < LG_HIST_BUCKETS; b++)
		if (local.n[b])
			s->w->hist.n[b] += local.n[b];
	s->w->hist.total += local.total;
	s->w->last_ack_ns = now;
	pthread_mutex_unlock(&s->w->mu);
}

static int pend_push(struct sensor *s, uint64_t first, uint64_t last, int64_t created_ns)
{
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	if (s->pend_head && s->pend_head + s->pend_n == s->pend_cap) {
		memmove(s->pend, s->pend + s->pend_head, s->pend_n * sizeof(*s->pend));
		s->pend_head = 0;
	}
	if (s->pend_head + s->pend_n == s->pend_cap) {
		size_t cap = s->pend_cap ? s->pend_cap * 2 : 64;
		struct pend *np = realloc(s->pend, cap * sizeof(*np));
		if (!np) {
			rc = -ENOMEM;
			goto out;
		}
		s->pend = np;
		s->pend_cap = cap;
	}
	s->pend[s->pend_head + s->pend_n++] = (struct pend){ first, last, created_ns };
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Journals one record, as run.c does, and adds it to this run's count and digest. */
static int produce(struct sensor *s, json_t *rec, uint64_t *first)
{
	uint64_t seq, d;
	int rc;

	if (!rec)
		return -ENOMEM;
	rc = journal_append(s->j, rec, &seq);
	if (rc == 0 && !wire_record_digest(rec, &d))
		rc = -ENOMEM;
	json_decref(rec);
	if (rc < 0)
		return rc;
	if (!*first)
		*first = seq;
	if (seq > s->last_seq + 1)
		s->seqs_skipped += seq - s->last_seq - 1;
	s->last_seq = seq;
	s->produced++;
	s->digest += d;
	return 0;
}

/* One flush of sensor s: the records due since its previous flush (and its whole inventory after a gap), synced,
 * then handed to the uplink. */
static int flush(struct lg_worker *w, struct sensor *s, int64_t now_ns)
{
	const struct lg_cfg *c = w->cfg;
	double secs = c->flush_ms / 1000.0;
	uint64_t first = 0;
	int64_t now = timefmt_now_usec();
	int rc = 0;

	s->carry += c->rate * secs;
	s->alert_carry += c->alerts_per_min / 60.0 * secs;
	uint64_t n = (uint64_t)s->carry, na = (uint64_t)s->alert_carry;
	s->carry -= (double)n;
	if (na > n)
		na = n;
	s->alert_carry -= (double)na;
	if (uplink_take_snapshot_request(s->up)) {
		log_info("loadgen: sensor %u: the console missed records: re-sending its %zu devices", s->index,
			 s->fleet.n_dev);
		for (size_t i = 0; i < s->fleet.n_dev && rc == 0; i++)
			rc = produce(s, lg_fleet_device(&s->fleet, i, now), &first);
	}
	for (uint64_t k = 0; k < n && rc == 0; k++)
		rc = produce(s, k < na ? lg_fleet_alert(&s->fleet, now) : lg_fleet_next(&s->fleet, now), &first);
	if (rc == 0 && first && (rc = journal_sync(s->j)) == 0 && (rc = pend_push(s, first, s->last_seq, now_ns)) == 0)
		uplink_notify(s->up);
	if (rc < 0) {
		log_error("loadgen: sensor %u: cannot journal records: %s", s->index, strerror(-rc));
		s->failed = true;
	}
	return rc;
}

static int start_sensor(struct lg_worker *w, struct sensor *s)
{
	const struct lg_cfg *c = w->cfg;
	char dir[4096], err[512];
	int rc;

	lg_state_sensor_dir(c->state_dir, s->index, dir, sizeof(dir));
	if (!lg_state_enrolled(c->state_dir, s->index) && (rc = lg_state_activate(c->state_dir, s->index)) < 0)
		return fail(w, "sensor %u: %s", s->index,
			    rc == -ENOENT ? "not enrolled and no activation file" : "activation failed");
	if (sensor_state_load(dir, &s->st, err, sizeof(err)) < 0)
		return fail(w, "sensor %u: %s", s->index, err);
	struct journal_opts jo;
	journal_opts_default(&jo);
	if (c->journal_cap_mib)
		jo.cap_bytes = (uint64_t)c->journal_cap_mib << 20;
	if ((rc = journal_open_opts(dir, &jo, &s->j)) < 0)
		return fail(w, "sensor %u: cannot open the journal in %s: %s", s->index, dir, strerror(-rc));
	if ((rc = lg_fleet_init(&s->fleet, s->index, c->devices, c->seed)) < 0)
		return fail(w, "sensor %u: cannot build its plant: %s", s->index, strerror(-rc));
	s->last_seq = journal_next_seq(s->j) - 1;
	struct uplink_opts uo = {
		.sensor_id = s->st.sensor_id,
		.url = c->gateway_url,
		.cert_path = s->st.cert_path,
		.key_path = s->st.key_path,
		.ca_path = s->st.ca_path,
		.mode = "learning",
		.linger_ms = c->linger_ms,
		.fd_limit = UPLINK_FDS,
		.on_ack = on_ack,
		.cb_arg = s,
	};
	if ((rc = uplink_start(&uo, s->j, &s->up)) < 0)
		return fail(w, "sensor %u: cannot start its uplink: %s", s->index, strerror(-rc));
	return 0;
}

static long rss_kib(const char *field)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			v = strtol(line + strlen(field), NULL, 10);
	fclose(f);
	return v;
}

static void progress(struct lg_worker *w)
{
	uint64_t connected = 0, welcomes = 0, produced = 0, acked = 0, fatal = 0, behind = 0;
	for (unsigned i = 0; i < w->started; i++) {
		struct sensor *s = &w->s[i];
		struct uplink_status st;
		uplink_get_status(s->up, &st);
		connected += st.connected;
		welcomes += st.welcomes;
		fatal += uplink_fatal(s->up, NULL, 0) || s->failed;
		produced += s->produced;
		pthread_mutex_lock(&s->mu);
		acked += s->acked;
		pthread_mutex_unlock(&s->mu);
		/* Caught up: the console acked the journal to its end (overflow records included), whatever the
		 * record counts say (acked counts seqs, which include the journal's own overflow records). */
		behind += st.acked < s->last_seq;
	}
	pthread_mutex_lock(&w->mu);
	int64_t last_ack = w->last_ack_ns;
	pthread_mutex_unlock(&w->mu);
	report(w, json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:I, s:I, s:I, s:I, s:b}", "t", "p",
			    "started", (int)w->started, "connected", (json_int_t)connected, "fatal", (json_int_t)fatal,
			    "welcomes", (json_int_t)welcomes, "produced", (json_int_t)produced, "acked",
			    (json_int_t)acked, "sensors", (json_int_t)w->cfg->count, "generating", w->generating,
			    "done", w->done, "last_ack_ns", (json_int_t)last_ack, "down_ns", (json_int_t)w->down_ns,
			    "up_ns", (json_int_t)w->up_ns, "rss_kib", (json_int_t)rss_kib("VmRSS:"), "caught_up",
			    behind == 0));
}

/* Armed: the first sensor seen disconnected starts the storm; it is over when every sensor has a new welcome and
 * its journal is acked to its end. */
static void watch_storm(struct lg_worker *w, int64_t now)
{
	bool all_up = true;
	for (unsigned i = 0; i < w->started; i++) {
		struct uplink_status st;
		uplink_get_status(w->s[i].up, &st);
		if (!st.connected && !w->down_ns)
			w->down_ns = now;
		if (!st.connected || st.welcomes <= w->s[i].base_welcomes || st.acked < w->s[i].last_seq)
			all_up = false;
	}
	if (w->down_ns && all_up && !w->up_ns)
		w->up_ns = now;
}

static void result(struct lg_worker *w)
{
	json_t *sensors = json_array();
	char d[24];
	for (unsigned i = 0; i < w->started && sensors; i++) {
		struct sensor *s = &w->s[i];
		snprintf(d, sizeof(d), "%" PRIu64, s->digest);
		pthread_mutex_lock(&s->mu);
		uint64_t acked = s->acked;
		pthread_mutex_unlock(&s->mu);
		json_array_append_new(sensors, json_pack("{s:i, s:s, s:I, s:s, s:I, s:I}", "i", (int)s->index, "id",
							 s->st.sensor_id, "records", (json_int_t)s->produced,
							 "digest", d, "acked", (json_int_t)acked, "seqs_skipped",
							 (json_int_t)s->seqs_skipped));
	}
	pthread_mutex_lock(&w->mu);
	json_t *hist = lg_hist_to_json(&w->hist);
	pthread_mutex_unlock(&w->mu);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	report(w, json_pack("{s:s, s:o, s:I, s:f, s:o}", "t", "r", "hist", hist ? hist : json_array(), "rss_kib",
			    (json_int_t)rss_kib("VmHWM:"), "cpu_s", cpu, "sensors", sensors ? sensors : json_array()));
}

/* Reads the parent's commands; false when the parent asked to quit or went away. */
static bool commands(struct lg_worker *w, int fd, char *buf, size_t *len, size_t cap, int64_t now)
{
	ssize_t n = read(fd, buf + *len, cap - *len);
	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
		return false;
	if (n > 0)
		*len += (size_t)n;
	char *nl;
	while ((nl = memchr(buf, '\n', *len))) {
		*nl = '\0';
		if (strcmp(buf, "go") == 0 && !w->generating && !w->done) {
			w->generating = true;
			w->go_ns = now;
			/* Phases spread over the flush interval: a fleet does not flush in step. */
			for (unsigned i = 0; i < w->started; i++) {
				double phase = fmod((w->s[i].index + 1) * 0.6180339887, 1.0);
				w->s[i].next_flush_ns = now + (int64_t)(phase * w->cfg->flush_ms * 1e6);
			}
		} else if (strcmp(buf, "arm") == 0) {
			for (unsigned i = 0; i < w->started; i++) {
				struct uplink_status st;
				uplink_get_status(w->s[i].up, &st);
				w->s[i].base_welcomes = st.welcomes;
			}
			w->armed = true;
		} else if (strcmp(buf, "quit") == 0) {
			return false;
		}
		size_t used = (size_t)(nl - buf) + 1;
		memmove(buf, nl + 1, *len - used);
		*len -= used;
	}
	if (*len == cap)
		*len = 0; /* garbage: no command is that long */
	return true;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("loadgen: cannot raise the open-file limit: %s", strerror(errno));
	}
}

int lg_worker_main(const struct lg_cfg *cfg, int ctl_fd, int report_fd)
{
	struct lg_worker w = { .cfg = cfg, .report_fd = report_fd };
	char buf[256];
	size_t blen = 0;
	int status = 1;

	/* otwatch-sensor activate prints a line per sensor: not on the run's output. */
	int devnull = open("/dev/null", O_WRONLY);
	if (devnull >= 0) {
		dup2(devnull, STDOUT_FILENO);
		close(devnull);
	}
	signal(SIGINT, SIG_IGN); /* the parent decides; it says quit */
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	pthread_mutex_init(&w.mu, NULL);
	w.s = calloc(cfg->count, sizeof(*w.s));
	if (!w.s) {
		fail(&w, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < cfg->count; i++) {
		w.s[i].index = cfg->first + i;
		w.s[i].w = &w;
		pthread_mutex_init(&w.s[i].mu, NULL);
	}
	int64_t last_report = 0;
	for (unsigned i = 0; i < cfg->count; i++) {
		if (start_sensor(&w, &w.s[i]) != 0)
			goto out;
		w.started++;
		int64_t now = mono_ns();
		if (now - last_report > REPORT_MS * 1000000ll) {
			progress(&w);
			last_report = now;
		}
	}
	for (;;) {
		struct pollfd pfd = { .fd = ctl_fd, .events = POLLIN };
		int pr = poll(&pfd, 1, TICK_MS);
		int64_t now = mono_ns();
		if (pr > 0 && !commands(&w, ctl_fd, buf, &blen, sizeof(buf), now))
			break;
		if (w.generating) {
			if (now - w.go_ns >= (int64_t)cfg->duration_s * 1000000000) {
				w.generating = false;
				w.done = true;
			}
			for (unsigned i = 0; i < w.started && w.generating; i++) {
				struct sensor *s = &w.s[i];
				if (s->failed || now < s->next_flush_ns)
					continue;
				(void)flush(&w, s, now);
				s->next_flush_ns += (int64_t)cfg->flush_ms * 1000000;
			}
		}
		if (w.armed)
			watch_storm(&w, now);
		if (now - last_report >= REPORT_MS * 1000000ll) {
			progress(&w);
			last_report = now;
		}
	}
	progress(&w);
	status = 0;
out:
	for (unsigned i = 0; i < w.started; i++)
		uplink_stop(w.s[i].up);
	if (status == 0)
		result(&w);
	for (unsigned i = 0; w.s && i < cfg->count; i++) {
		struct sensor *s = &w.s[i];
		if (s->j && journal_sync(s->j) < 0)
			log_warn("loadgen: sensor %u: cannot sync its journal", s->index);
		journal_close(s->j);
		lg_fleet_free(&s->fleet);
		sensor_state_free(&s->st);
		free(s->pend);
		pthread_mutex_destroy(&s->mu);
	}
	free(w.s);
	pthread_mutex_destroy(&w.mu);
	return status;
}
