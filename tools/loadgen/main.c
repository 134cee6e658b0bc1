/* otwatch-loadgen: many sensors against one console, through the real enrollment path and the sensor's own
 * journal and uplink code (docs/loadgen.md). This file is the parent: options, enrollment of missing sensors,
 * worker processes (lg_worker.h), the run's phases and the report. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "common/log.h"
#include "common/pki.h"
#include "sensor-agent/uplink.h"
#include "tools/loadgen/lg_api.h"
#include "tools/loadgen/lg_fleet.h"
#include "tools/loadgen/lg_hist.h"
#include "tools/loadgen/lg_state.h"
#include "tools/loadgen/lg_worker.h"

#define MAX_WORKERS 256
#define PROGRESS_MS 2000

struct opts {
	const char *console, *gateway, *state, *zone, *admin_user, *admin_pw_file, *ca_file;
	unsigned sensors, devices, duration, per_worker, flush_ms, create_threads, journal_cap_mib;
	double rate, alerts_per_min;
	int linger_ms;
	bool json, storm, per_sensor, no_wait_connect;
	unsigned connect_timeout, drain_timeout, storm_timeout, seed;
};

struct worker {
	pid_t pid;
	int ctl, rep;
	char *buf;
	size_t len, cap;
	json_t *prog, *result;
	bool eof;
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: otwatch-loadgen --console https://HOST:PORT --ca CA.crt --gateway wss://HOST:PORT --state DIR\n"
		"         --sensors N --devices-per-sensor M --rate R --duration S [--zone ZONE_ID]\n"
		"         [--admin-user U --admin-password-file F] [--alerts-per-min A] [--storm] [--json]\n"
		"         [--per-sensor] [--flush-ms MS] [--linger-ms MS] [--sensors-per-worker K]\n"
		"         [--connect-timeout S] [--drain-timeout S] [--storm-timeout S] [--seed N] [--log-level L]\n"
		"         [--journal-cap-mib N] [--no-wait-connect]\n"
		"  --journal-cap-mib N  each sensor's journal disk cap (default the journal's, 1024 MiB)\n"
		"  --no-wait-connect    produce as soon as the sensors started, connected or not (a drill whose\n"
		"                       gateway is cut off: the journals fill while air-gapped and drain after)\n");
}

static bool parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || !*s || *end || *s == '-' || v < lo || v > hi)
		return false;
	*out = (unsigned)v;
	return true;
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || !*s || *end || !isfinite(v) || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* 0, or 2 (usage) after saying what is wrong. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_CONSOLE = 256, O_GATEWAY, O_STATE, O_SENSORS, O_DEVICES, O_RATE, O_DURATION, O_ZONE, O_USER, O_PWFILE,
	       O_APM, O_JSON, O_STORM, O_CA, O_PER_SENSOR, O_FLUSH, O_LINGER, O_PER_WORKER, O_CT, O_DT, O_ST, O_SEED,
	       O_LOG, O_CAP, O_NO_WAIT };
	static const struct option lo[] = {
		{ "console", required_argument, NULL, O_CONSOLE }, { "gateway", required_argument, NULL, O_GATEWAY },
		{ "state", required_argument, NULL, O_STATE }, { "sensors", required_argument, NULL, O_SENSORS },
		{ "devices-per-sensor", required_argument, NULL, O_DEVICES }, { "rate", required_argument, NULL, O_RATE },
		{ "duration", required_argument, NULL, O_DURATION }, { "zone", required_argument, NULL, O_ZONE },
		{ "admin-user", required_argument, NULL, O_USER },
		{ "admin-password-file", required_argument, NULL, O_PWFILE },
		{ "alerts-per-min", required_argument, NULL, O_APM }, { "json", no_argument, NULL, O_JSON },
		{ "storm", no_argument, NULL, O_STORM }, { "ca", required_argument, NULL, O_CA },
		{ "per-sensor", no_argument, NULL, O_PER_SENSOR }, { "flush-ms", required_argument, NULL, O_FLUSH },
		{ "linger-ms", required_argument, NULL, O_LINGER },
		{ "sensors-per-worker", required_argument, NULL, O_PER_WORKER },
		{ "connect-timeout", required_argument, NULL, O_CT }, { "drain-timeout", required_argument, NULL, O_DT },
		{ "storm-timeout", required_argument, NULL, O_ST }, { "seed", required_argument, NULL, O_SEED },
		{ "log-level", required_argument, NULL, O_LOG }, { "journal-cap-mib", required_argument, NULL, O_CAP },
		{ "no-wait-connect", no_argument, NULL, O_NO_WAIT }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned linger = 0;
	int opt;
	bool ok = true;

	*o = (struct opts){ .devices = 50, .rate = 1, .duration = 30, .per_worker = 250, .flush_ms = 1000,
			    .create_threads = 4, .linger_ms = UPLINK_LINGER_DEFAULT, .storm_timeout = 120, .seed = 1 };
	while (ok && (opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case O_CONSOLE: o->console = optarg; break;
		case O_GATEWAY: o->gateway = optarg; break;
		case O_STATE: o->state = optarg; break;
		case O_SENSORS: ok = parse_uint(optarg, 1, LG_FLEET_MAX_SENSORS, &o->sensors); break;
		case O_DEVICES: ok = parse_uint(optarg, 1, LG_FLEET_MAX_DEVICES, &o->devices); break;
		case O_RATE: ok = parse_double(optarg, 0, 100000, &o->rate); break;
		case O_DURATION: ok = parse_uint(optarg, 1, 86400, &o->duration); break;
		case O_ZONE: o->zone = optarg; break;
		case O_USER: o->admin_user = optarg; break;
		case O_PWFILE: o->admin_pw_file = optarg; break;
		case O_APM: ok = parse_double(optarg, 0, 60000, &o->alerts_per_min); break;
		case O_JSON: o->json = true; break;
		case O_STORM: o->storm = true; break;
		case O_CA: o->ca_file = optarg; break;
		case O_PER_SENSOR: o->per_sensor = true; break;
		case O_FLUSH: ok = parse_uint(optarg, 10, 60000, &o->flush_ms); break;
		case O_LINGER: ok = parse_uint(optarg, 0, 10000, &linger); o->linger_ms = (int)linger; break;
		case O_PER_WORKER: ok = parse_uint(optarg, 1, 1000, &o->per_worker); break;
		case O_CT: ok = parse_uint(optarg, 1, 86400, &o->connect_timeout); break;
		case O_DT: ok = parse_uint(optarg, 1, 86400, &o->drain_timeout); break;
		case O_ST: ok = parse_uint(optarg, 1, 86400, &o->storm_timeout); break;
		case O_SEED: ok = parse_uint(optarg, 0, UINT32_MAX, &o->seed); break;
		case O_LOG: ok = log_set_level_name(optarg) == 0; break;
		case O_CAP: ok = parse_uint(optarg, 1, 1048576, &o->journal_cap_mib); break;
		case O_NO_WAIT: o->no_wait_connect = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
		if (!ok)
			fprintf(stderr, "loadgen: bad value for --%s: %s\n", lo[opt - O_CONSOLE].name, optarg);
	}
	if (!ok)
		return 2;
	if (optind != argc || !o->console || !o->gateway || !o->state || !o->sensors || !o->ca_file) {
		usage(stderr);
		return 2;
	}
	if (strncmp(o->console, "https://", 8) != 0 || strncmp(o->gateway, "wss://", 6) != 0) {
		fprintf(stderr, "loadgen: --console takes an https:// URL and --gateway a wss:// URL\n");
		return 2;
	}
	if (!!o->admin_user != !!o->admin_pw_file) {
		fprintf(stderr, "loadgen: --admin-user and --admin-password-file go together\n");
		return 2;
	}
	if (!o->connect_timeout)
		o->connect_timeout = 60 + o->sensors / 10;
	if (!o->drain_timeout)
		o->drain_timeout = 120;
	return 0;
}

static int read_password(const char *path, char **out)
{
	size_t len;
	int rc = pki_read_file(path, 4096, out, &len);
	if (rc < 0)
		return rc;
	while (len && ((*out)[len - 1] == '\n' || (*out)[len - 1] == '\r'))
		(*out)[--len] = '\0';
	return 0;
}

/* Creates in the console the sensors that have neither a state directory nor an activation file. Returns the
 * number created, or -1 after saying why. */
static int create_missing(const struct opts *o, const char *ca_pem, const char *prefix)
{
	unsigned *idx = calloc(o->sensors, sizeof(*idx));
	size_t n = 0;
	char path[4096], err[512] = "";
	struct lg_api api = { 0 };
	char *pw = NULL;
	int rc = -1;

	if (!idx)
		goto out;
	for (unsigned i = 0; i < o->sensors; i++) {
		snprintf(path, sizeof(path), "%s/sensor-%u.activation.json", o->state, i);
		if (!lg_state_enrolled(o->state, i) && access(path, F_OK) != 0)
			idx[n++] = i;
	}
	if (n == 0) {
		rc = 0;
		goto out;
	}
	if (!o->admin_user) {
		fprintf(stderr, "loadgen: %zu sensors are not enrolled yet: give --admin-user and --admin-password-file\n", n);
		goto out;
	}
	if (read_password(o->admin_pw_file, &pw) < 0) {
		fprintf(stderr, "loadgen: cannot read %s\n", o->admin_pw_file);
		goto out;
	}
	size_t bl = strlen(o->console);
	api.base = strndup(o->console, o->console[bl - 1] == '/' ? bl - 1 : bl);
	api.ca_pem = strdup(ca_pem);
	if (!api.base || !api.ca_pem || lg_api_login(&api, o->admin_user, pw, err, sizeof(err)) < 0) {
		fprintf(stderr, "loadgen: %s\n", err[0] ? err : "out of memory");
		goto out;
	}
	fprintf(stderr, "loadgen: creating %zu sensors in the console\n", n);
	if (lg_state_create(&api, o->state, prefix, idx, n, o->zone, o->gateway, o->create_threads, err, sizeof(err)) < 0) {
		fprintf(stderr, "loadgen: %s\n", err);
		goto out;
	}
	rc = (int)n;
out:
	if (pw) {
		OPENSSL_cleanse(pw, strlen(pw));
		free(pw);
	}
	lg_api_free(&api);
	free(idx);
	return rc;
}

static int start_workers(const struct opts *o, struct worker *w, unsigned nw, struct lg_cfg *cfgs)
{
	for (unsigned k = 0; k < nw; k++) {
		int ctl[2], rep[2];
		if (pipe2(ctl, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
			perror("loadgen: pipe");
			return -1;
		}
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			perror("loadgen: fork");
			return -1;
		}
		if (pid == 0) {
			close(ctl[1]);
			close(rep[0]);
			for (unsigned j = 0; j < k; j++) {
				close(w[j].ctl);
				close(w[j].rep);
			}
			_exit(lg_worker_main(&cfgs[k], ctl[0], rep[1]));
		}
		close(ctl[0]);
		close(rep[1]);
		w[k].pid = pid;
		w[k].ctl = ctl[1];
		w[k].rep = rep[0];
		fcntl(w[k].rep, F_SETFL, O_NONBLOCK);
	}
	(void)o;
	return 0;
}

static void send_all(struct worker *w, unsigned nw, const char *cmd)
{
	for (unsigned k = 0; k < nw; k++)
		if (w[k].ctl >= 0 && pki_write_all(w[k].ctl, cmd, strlen(cmd)) < 0) {
			close(w[k].ctl);
			w[k].ctl = -1;
		}
}

/* Reads what the workers said (waiting up to wait_ms). Returns -1 when a worker reported a failure. */
static int pump(struct worker *w, unsigned nw, int wait_ms)
{
	struct pollfd pfd[MAX_WORKERS];
	int rc = 0;
	for (unsigned k = 0; k < nw; k++)
		pfd[k] = (struct pollfd){ .fd = w[k].eof ? -1 : w[k].rep, .events = POLLIN };
	if (poll(pfd, nw, wait_ms) <= 0)
		return 0;
	for (unsigned k = 0; k < nw; k++) {
		if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		for (;;) {
			if (w[k].cap - w[k].len < 65536) {
				size_t cap = w[k].cap ? w[k].cap * 2 : 131072;
				char *nb = realloc(w[k].buf, cap);
				if (!nb)
					return -1;
				w[k].buf = nb;
				w[k].cap = cap;
			}
			ssize_t n = read(w[k].rep, w[k].buf + w[k].len, w[k].cap - w[k].len);
			if (n == 0)
				w[k].eof = true;
			if (n <= 0)
				break;
			w[k].len += (size_t)n;
		}
		char *nl;
		while ((nl = memchr(w[k].buf, '\n', w[k].len))) {
			json_t *m = json_loadb(w[k].buf, (size_t)(nl - w[k].buf), 0, NULL);
			const char *t = json_string_value(json_object_get(m, "t"));
			if (t && strcmp(t, "p") == 0) {
				json_decref(w[k].prog);
				w[k].prog = json_incref(m);
			} else if (t && strcmp(t, "r") == 0) {
				json_decref(w[k].result);
				w[k].result = json_incref(m);
			} else if (t && strcmp(t, "e") == 0) {
				fprintf(stderr, "loadgen: worker %u: %s\n", k,
					json_string_value(json_object_get(m, "message")));
				rc = -1;
			}
			json_decref(m);
			size_t used = (size_t)(nl - w[k].buf) + 1;
			memmove(w[k].buf, nl + 1, w[k].len - used);
			w[k].len -= used;
		}
	}
	return rc;
}

/* Sum (or, with max, the maximum; with min_nonzero, the smallest non-zero) of a progress field. */
static int64_t agg(const struct worker *w, unsigned nw, const char *f, char how)
{
	int64_t v = 0;
	for (unsigned k = 0; k < nw; k++) {
		int64_t x = json_integer_value(json_object_get(w[k].prog, f));
		if (how == '+')
			v += x;
		else if (how == '>' && x > v)
			v = x;
		else if (how == '<' && x && (!v || x < v))
			v = x;
	}
	return v;
}

static bool all_true(const struct worker *w, unsigned nw, const char *f)
{
	for (unsigned k = 0; k < nw; k++)
		if (!json_is_true(json_object_get(w[k].prog, f)))
			return false;
	return true;
}

struct run {
	int64_t t_start, t_connected, t_go, t_end;
	int64_t produced, acked, reconnects;
	double storm_s;
	bool complete, storm_done;
};

static void say_progress(const struct worker *w, unsigned nw, const struct opts *o, const char *phase)
{
	fprintf(stderr, "loadgen: %s: %" PRId64 "/%u sensors connected, %" PRId64 " records produced, %" PRId64
		" acked\n", phase, agg(w, nw, "connected", '+'), o->sensors, agg(w, nw, "produced", '+'),
		agg(w, nw, "acked", '+'));
}

/* Waits until done(w) holds (true), a worker fails, a signal or the timeout (false), saying progress. */
static bool wait_until(struct worker *w, unsigned nw, const struct opts *o, const char *phase, unsigned timeout_s,
		       bool (*done)(const struct worker *, unsigned, const struct opts *))
{
	int64_t end = mono_ns() + (int64_t)timeout_s * 1000000000, last = mono_ns();
	while (!g_stop) {
		if (pump(w, nw, 100) < 0)
			return false;
		if (done(w, nw, o))
			return true;
		int64_t now = mono_ns();
		if (now - last >= PROGRESS_MS * 1000000ll) {
			say_progress(w, nw, o, phase);
			last = now;
		}
		if (now > end) {
			fprintf(stderr, "loadgen: %s: not done after %u s\n", phase, timeout_s);
			return false;
		}
	}
	return false;
}

static bool connected_all(const struct worker *w, unsigned nw, const struct opts *o)
{
	if (agg(w, nw, "fatal", '+')) {
		fprintf(stderr, "loadgen: %" PRId64 " sensors were refused by the console (see above)\n",
			agg(w, nw, "fatal", '+'));
		return true; /* the caller checks fatal */
	}
	return agg(w, nw, "started", '+') == o->sensors && agg(w, nw, "connected", '+') == o->sensors;
}

/* --no-wait-connect: every sensor has its journal and uplink (or a sensor was refused). */
static bool started_all(const struct worker *w, unsigned nw, const struct opts *o)
{
	return agg(w, nw, "fatal", '+') || agg(w, nw, "started", '+') == o->sensors;
}

static bool generated(const struct worker *w, unsigned nw, const struct opts *o)
{
	(void)o;
	return all_true(w, nw, "done");
}

static bool drained(const struct worker *w, unsigned nw, const struct opts *o)
{
	(void)o;
	return all_true(w, nw, "caught_up");
}

static bool storm_over(const struct worker *w, unsigned nw, const struct opts *o)
{
	(void)o;
	for (unsigned k = 0; k < nw; k++)
		if (!json_integer_value(json_object_get(w[k].prog, "up_ns")))
			return false;
	return true;
}

static bool results_in(const struct worker *w, unsigned nw, const struct opts *o)
{
	(void)o;
	for (unsigned k = 0; k < nw; k++)
		if (!w[k].eof)
			return false;
	return true;
}

static json_t *report_json(const struct opts *o, struct worker *w, unsigned nw, const struct run *r, int enrolled)
{
	struct lg_hist h = { 0 };
	json_t *per = o->per_sensor ? json_array() : NULL;
	int64_t rss = 0;
	double cpu = 0;
	for (unsigned k = 0; k < nw; k++) {
		cpu += json_real_value(json_object_get(w[k].result, "cpu_s"));
		if (lg_hist_add_json(&h, json_object_get(w[k].result, "hist")) < 0)
			fprintf(stderr, "loadgen: worker %u sent a malformed histogram\n", k);
		rss += json_integer_value(json_object_get(w[k].result, "rss_kib"));
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(w[k].result, "sensors"), i, s)
			if (per)
				json_array_append(per, s);
	}
	double window = r->t_end > r->t_go ? (r->t_end - r->t_go) / 1e9 : 0;
	json_t *out = json_pack(
		"{s:i, s:i, s:f, s:f, s:i, s:i, s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:o, s:f, s:f, s:b, s:i, s:f}",
		"sensors", (int)o->sensors, "devices_per_sensor", (int)o->devices, "rate", o->rate, "alerts_per_min",
		o->alerts_per_min, "duration_s", (int)o->duration, "workers", (int)nw, "records_produced",
		(json_int_t)r->produced, "records_acked", (json_int_t)r->acked, "rows_per_s",
		window > 0 ? round(r->acked / window) : 0.0, "offered_rows_per_s", round(r->produced / (double)o->duration),
		"p50_ms", round(lg_hist_quantile_ms(&h, 0.50) * 10) / 10, "p99_ms",
		round(lg_hist_quantile_ms(&h, 0.99) * 10) / 10, "reconnects", (json_int_t)r->reconnects, "storm_s",
		r->storm_done ? json_real(round(r->storm_s * 100) / 100) : json_null(), "connect_s",
		round((r->t_connected - r->t_start) / 1e7) / 100, "loadgen_rss_mib", round(rss / 102.4) / 10, "complete",
		r->complete, "enrolled", enrolled, "window_s", round(window * 100) / 100);
	if (out)
		json_object_set_new(out, "loadgen_cpu_s", json_real(round(cpu * 10) / 10));
	if (out && per)
		json_object_set_new(out, "per_sensor", per);
	else
		json_decref(per);
	return out;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct worker w[MAX_WORKERS];
	struct lg_cfg cfgs[MAX_WORKERS];
	struct run r = { 0 };
	char prefix[LG_STATE_PREFIX_LEN + 1], err[512];
	char *ca_pem = NULL;
	size_t ca_len;
	unsigned nw = 0;
	int status = 1, enrolled = 0;

	/* Each uplink logs its connects and losses: thousands of lines at info or warn. */
	log_level_current = LOG_LVL_ERROR;
	int prc = parse_opts(argc, argv, &o);
	if (prc)
		return prc;
	if (pki_read_file(o.ca_file, 1 << 20, &ca_pem, &ca_len) < 0) {
		fprintf(stderr, "loadgen: cannot read the console's CA certificate %s\n", o.ca_file);
		return 1;
	}
	nw = (o.sensors + o.per_worker - 1) / o.per_worker;
	if (nw > MAX_WORKERS) {
		fprintf(stderr, "loadgen: %u workers needed, at most %d: raise --sensors-per-worker\n", nw, MAX_WORKERS);
		free(ca_pem);
		return 2;
	}
	memset(w, 0, sizeof(w));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	r.t_start = mono_ns();
	if (lg_state_open(o.state, ca_pem, prefix, err, sizeof(err)) < 0) {
		fprintf(stderr, "loadgen: %s\n", err);
		goto out;
	}
	if ((enrolled = create_missing(&o, ca_pem, prefix)) < 0)
		goto out;
	for (unsigned k = 0; k < nw; k++) {
		unsigned first = k * o.per_worker;
		cfgs[k] = (struct lg_cfg){ .state_dir = o.state, .gateway_url = o.gateway, .first = first,
					   .count = o.sensors - first < o.per_worker ? o.sensors - first : o.per_worker,
					   .total = o.sensors, .devices = o.devices, .rate = o.rate,
					   .alerts_per_min = o.alerts_per_min, .duration_s = o.duration,
					   .flush_ms = o.flush_ms, .linger_ms = o.linger_ms, .seed = o.seed,
					   .journal_cap_mib = o.journal_cap_mib };
		w[k].ctl = w[k].rep = -1;
	}
	fprintf(stderr, "loadgen: %u sensors in %u worker processes\n", o.sensors, nw);
	if (start_workers(&o, w, nw, cfgs) < 0)
		goto stop;

	if (!wait_until(w, nw, &o, "connecting", o.connect_timeout, o.no_wait_connect ? started_all : connected_all) ||
	    agg(w, nw, "fatal", '+'))
		goto stop;
	r.t_connected = mono_ns();
	fprintf(stderr, "loadgen: all %u sensors %s in %.1f s; producing for %u s\n", o.sensors,
		o.no_wait_connect ? "started" : "connected", (r.t_connected - r.t_start) / 1e9, o.duration);
	int64_t base_welcomes = agg(w, nw, "welcomes", '+');
	send_all(w, nw, "go\n");
	r.t_go = mono_ns();
	if (!wait_until(w, nw, &o, "producing", o.duration + 60, generated))
		goto stop;
	/* Nothing is journaled after this line (a drill waits for it before it reconnects the sensors). */
	fprintf(stderr, "loadgen: done producing: %" PRId64 " records; waiting for their acks\n",
		agg(w, nw, "produced", '+'));
	r.complete = wait_until(w, nw, &o, "draining", o.drain_timeout, drained);
	r.produced = agg(w, nw, "produced", '+');
	r.acked = agg(w, nw, "acked", '+');
	r.t_end = r.complete ? agg(w, nw, "last_ack_ns", '>') : mono_ns();
	r.reconnects = agg(w, nw, "welcomes", '+') - base_welcomes;
	fprintf(stderr, "loadgen: %" PRId64 " records produced, %" PRId64 " acked%s\n", r.produced, r.acked,
		r.complete ? "" : " (NOT all acked)");
	if (o.storm && r.complete && !g_stop) {
		send_all(w, nw, "arm\n");
		pump(w, nw, 200);
		fprintf(stderr, "loadgen: storm: ready (restart the console or cut the connections now)\n");
		if (wait_until(w, nw, &o, "storm", o.storm_timeout, storm_over)) {
			r.storm_s = (agg(w, nw, "up_ns", '>') - agg(w, nw, "down_ns", '<')) / 1e9;
			r.storm_done = true;
			fprintf(stderr, "loadgen: storm: every sensor reconnected and caught up %.2f s after the first drop\n",
				r.storm_s);
		}
	}
	status = r.complete && (!o.storm || r.storm_done) ? 0 : 1;
stop:
	send_all(w, nw, "quit\n");
	g_stop = 0;
	if (!wait_until(w, nw, &o, "stopping", 120, results_in))
		status = 1;
	for (unsigned k = 0; k < nw; k++) {
		int ws;
		if (w[k].pid > 0 && waitpid(w[k].pid, &ws, 0) == w[k].pid && (!WIFEXITED(ws) || WEXITSTATUS(ws)))
			status = 1;
		if (!w[k].result && w[k].pid > 0)
			status = 1;
	}
	if (r.t_go) {
		json_t *rep = report_json(&o, w, nw, &r, enrolled);
		printf("sensors %u, records produced %" PRId64 ", acked %" PRId64 ", %.0f rows/s, commit latency p50 %.1f ms"
		       " p99 %.1f ms, reconnects %" PRId64 "%s\n",
		       o.sensors, r.produced, r.acked, json_real_value(json_object_get(rep, "rows_per_s")),
		       json_real_value(json_object_get(rep, "p50_ms")), json_real_value(json_object_get(rep, "p99_ms")),
		       r.reconnects, r.storm_done ? "" : "");
		if (r.storm_done)
			printf("reconnect storm: %.2f s until every sensor was connected and caught up\n", r.storm_s);
		if (o.json) {
			char *t = rep ? json_dumps(rep, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
			if (t)
				printf("%s\n", t);
			free(t);
		}
		json_decref(rep);
	}
out:
	for (unsigned k = 0; k < nw; k++) {
		if (w[k].ctl >= 0)
			close(w[k].ctl);
		if (w[k].rep >= 0)
			close(w[k].rep);
		free(w[k].buf);
		json_decref(w[k].prog);
		json_decref(w[k].result);
	}
	free(ca_pem);
	curl_global_cleanup();
	return status;
}
