#include "sensor-agent/run.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "common/pki.h"
#include "common/timefmt.h"
#include "sensor-agent/capture.h"
#include "sensor-agent/cert_renew.h"
#include "sensor-agent/evidence.h"
#include "sensor-agent/health.h"
#include "sensor-agent/inventory.h"
#include "sensor-agent/journal.h"
#include "sensor-agent/metrics_collect.h"
#include "sensor-agent/oui.h"
#include "sensor-agent/progress.h"
#include "sensor-agent/run_alerts.h"
#include "sensor-agent/sensor_state.h"
#include "sensor-agent/settings.h"
#include "sensor-agent/uplink.h"

#define FLUSH_INTERVAL_USEC 1000000
#define CHECKPOINT_NAME "capture.json"
#define CONFIG_WAIT_MS 5000

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

struct run {
	const char *pcap;
	bool realtime, follow;
	struct inventory *inv;
	struct journal *j;
	struct uplink *up;
	int64_t last_flush_usec;
	int64_t last_idle_flush_usec; /* wall clock, for idle ticks of a live capture */
	int64_t first_pkt_usec, wall_start_usec;
	uint64_t skip;    /* records of this file already journaled by an earlier run */
	uint64_t records; /* records journaled by this run */
	uint64_t skipped;
	int error;        /* negative errno that stopped the run */
	const struct capture_stats *cs;
	const char *state_dir;
	struct settings settings;
	struct progress prog;
	uint64_t reported_drops; /* kernel + interface drops last reported in a health record */
	struct run_alerts ra;
	bool snapshot_owed; /* inventory records were compacted away or lost: send all once connected */
	const char *iface;  /* live capture: the interface */
	struct health health;
	struct sensor_metrics *metrics; /* --metrics-listen, or NULL */
};

static int64_t pkt_usec(const struct pcap_pkthdr *h)
{
	return (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
}

static int append_record(struct run *r, json_t *record)
{
	/* The inventory may keep its record: add "seq" to our own (shallow) copy. */
	json_t *copy = json_copy(record);
	if (!copy)
		return -ENOMEM;
	int rc = journal_append(r->j, copy, NULL);
	json_decref(copy);
	if (rc < 0) {
		log_error("run: cannot journal a record: %s", strerror(-rc));
		return rc;
	}
	r->records++;
	sensor_metrics_count_record(r->metrics, record);
	return 0;
}

static int on_record(void *ud, json_t *record)
{
	struct run *r = ud;
	if (r->skip > 0) {
		r->skip--;
		r->skipped++;
		return 0;
	}
	return append_record(r, record);
}

/* The "system" health record (health.h). It is not part of a file's record sequence (wall-clock figures), so it
 * never takes a record of an earlier replay's place: journaled directly, past the skip count. */
static int report_health(struct run *r)
{
	struct journal_status js;
	json_t *rec;
	int rc;

	journal_get_status(r->j, &js);
	rec = health_sample(&r->health,
			    &(struct health_inputs){ .source = r->iface ? r->iface : "file",
						     .capture_packets = r->cs ? r->cs->packets : 0,
						     .capture_drops = r->cs ? r->cs->kernel_drops + r->cs->iface_drops : 0,
						     .journal_last_seq = js.last_seq,
						     .journal_acked = js.acked,
						     .journal_bytes = js.bytes },
			    timefmt_now_usec());
	if (!rec)
		return -ENOMEM;
	rc = append_record(r, rec);
	json_decref(rec);
	return rc;
}

static void publish_metrics(struct run *r)
{
	sensor_metrics_collect(r->metrics, &(struct sensor_metrics_inputs){ .source = r->iface,
									    .live = r->iface != NULL,
									    .cs = r->cs,
									    .j = r->j,
									    .up = r->up,
									    .inv = r->inv });
}

/* The journal syncs by its own policy (time and bytes); records written but not yet synced may go to the
 * console already (journal.h). */
static int sync_and_notify(struct run *r)
{
	int rc = journal_sync_due(r->j);
	if (rc == 0)
		uplink_notify(r->up);
	return rc;
}

/* The journal compacted its unacked inventory records away at its disk cap, or the console lacks records the
 * journal no longer has: every device and connection is sent again. While the console is unreachable the
 * snapshot waits for it: sent at once, it would fill the journal again and be compacted away at the next cap
 * (a large inventory would then compact on every flush), and one snapshot after the outage says it all. */
static bool snapshot_if_needed(struct run *r)
{
	struct uplink_status st;
	if (journal_take_compacted(r->j))
		r->snapshot_owed = true;
	if (uplink_take_snapshot_request(r->up))
		r->snapshot_owed = true;
	if (!r->snapshot_owed)
		return false;
	uplink_get_status(r->up, &st);
	if (!st.connected)
		return false;
	r->snapshot_owed = false;
	log_info("run: records of the inventory were compacted away or lost; sending the whole inventory again");
	inventory_mark_all_dirty(r->inv);
	return true;
}

/* Live capture: a health record whenever packets were dropped since the last one (ring buffer full or the
 * interface/driver), so the console sees the sensor missing traffic. */
static int report_drops(struct run *r)
{
	char at[TIMEFMT_LEN];
	uint64_t drops;
	json_t *rec;
	int rc;

	if (r->pcap || !r->cs)
		return 0;
	drops = r->cs->kernel_drops + r->cs->iface_drops;
	if (drops == r->reported_drops)
		return 0;
	timefmt_rfc3339_ms(timefmt_now_usec(), at);
	rec = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "kind", "health", "at", at, "event", "capture_drops",
			"received", (json_int_t)r->cs->received, "kernel_drops", (json_int_t)r->cs->kernel_drops,
			"iface_drops", (json_int_t)r->cs->iface_drops, "dropped_since_last",
			(json_int_t)(drops - r->reported_drops));
	if (!rec)
		return -ENOMEM;
	log_warn("run: capture dropped %" PRIu64 " packets (kernel %" PRIu64 ", interface %" PRIu64 ")",
		 drops - r->reported_drops, r->cs->kernel_drops, r->cs->iface_drops);
	r->reported_drops = drops;
	rc = on_record(r, rec);
	json_decref(rec);
	return rc;
}

/* A config message from the console: its settings are kept in the state directory, then applied; then its mode
 * request and learned items. */
static void apply_settings(struct run *r)
{
	json_t *bundle = uplink_take_indicators(r->up); /* sent before the config it goes with */
	json_t *msg = uplink_take_config(r->up);
	json_t *doc = json_incref(json_object_get(msg, "settings"));
	char err[256];
	int rc;

	if (bundle) {
		run_alerts_indicators(&r->ra, bundle);
		json_decref(bundle);
	}
	if (!msg)
		return;
	run_alerts_config(&r->ra, msg);
	json_decref(msg);
	if ((rc = settings_parse(doc, &r->settings, err, sizeof(err))) < 0) {
		log_warn("run: settings from the console refused: %s", err);
	} else {
		if ((rc = settings_save(r->state_dir, doc)) < 0)
			log_warn("run: cannot keep the settings in %s: %s", r->state_dir, strerror(-rc));
		inventory_set_settings(r->inv, &r->settings, !r->pcap);
		log_info("run: applied the console's settings (%zu subnets, %zu DHCP ranges)", r->settings.n_nets,
			 r->settings.n_ranges);
	}
	json_decref(doc);
}

/* A mode change (activation, quiet period, console) goes to the console as a health record. */
static int report_mode(struct run *r)
{
	json_t *rec = run_alerts_take_mode_record(&r->ra, inventory_last_packet_usec(r->inv));
	int rc;

	if (!rec)
		return 0;
	uplink_set_mode(r->up, run_alerts_mode_name(&r->ra));
	rc = on_record(r, rec);
	json_decref(rec);
	return rc;
}

static int flush(struct run *r)
{
	int rc;

	apply_settings(r);
	run_alerts_tick(&r->ra, inventory_last_packet_usec(r->inv), false);
	rc = report_mode(r);
	if (rc == 0)
		rc = report_drops(r);
	if (rc == 0 && !r->pcap && health_due(&r->health, timefmt_now_usec()))
		rc = report_health(r);

	if (rc == 0)
		rc = inventory_flush(r->inv, on_record, r);
	/* A snapshot goes out at once (once: a compaction during it waits for the next flush). */
	if (rc == 0 && snapshot_if_needed(r))
		rc = inventory_flush(r->inv, on_record, r);
	if (rc == 0)
		rc = sync_and_notify(r);
	if (rc < 0)
		r->error = rc;
	publish_metrics(r);
	return rc;
}

/* The end of a file replay: waits until the console acked everything (or, with --follow, until stopped),
 * sending a snapshot owed after a compaction or a gap once the console is there. *last grows with it. */
static int wait_all_acked(struct run *r, uint64_t *last)
{
	/* The uplink sends only synced records: the tail of the file must not wait for the sync policy. */
	int src = journal_sync(r->j);
	if (src < 0)
		return src;
	uplink_notify(r->up);
	for (;;) {
		if (snapshot_if_needed(r)) {
			int rc = inventory_flush(r->inv, on_record, r);
			if (rc == 0)
				rc = journal_sync(r->j);
			if (rc < 0)
				return rc;
			uplink_notify(r->up);
			*last = journal_last_seq(r->j);
		}
		/* --follow keeps the sensor up: it keeps reporting its health (and so is not silent). */
		if (r->follow && health_due(&r->health, timefmt_now_usec())) {
			int rc = report_health(r);
			if (rc == 0)
				rc = journal_sync(r->j);
			if (rc < 0)
				return rc;
			uplink_notify(r->up);
		}
		int rc = uplink_wait_acked(r->up, r->follow ? UINT64_MAX : *last, &g_stop, 1000);
		publish_metrics(r);
		if (rc != -ETIMEDOUT)
			return rc;
	}
}

/* Sleeps until the packet's offset from the first packet has passed on the wall clock (--rate realtime). */
static void pace(struct run *r, int64_t t)
{
	if (r->first_pkt_usec == 0) {
		r->first_pkt_usec = t;
		r->wall_start_usec = timefmt_now_usec();
		return;
	}
	int64_t due = r->wall_start_usec + (t - r->first_pkt_usec);
	for (;;) {
		int64_t wait = due - timefmt_now_usec();
		if (wait <= 0 || g_stop)
			return;
		if (wait > 100000)
			wait = 100000;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)wait * 1000 };
		nanosleep(&ts, NULL);
	}
}

static int on_packet(void *ud, int linktype, const struct pcap_pkthdr *h, const uint8_t *data)
{
	struct run *r = ud;
	if (g_stop || uplink_fatal(r->up, NULL, 0))
		return 1;
	if (!h) { /* idle tick of a live capture: packet time stands still, so flush on the wall clock */
		int64_t now = timefmt_now_usec();
		inventory_idle(r->inv, now);
		if (now - r->last_idle_flush_usec >= FLUSH_INTERVAL_USEC) {
			r->last_idle_flush_usec = now;
			return flush(r) < 0 ? 1 : 0;
		}
		return 0;
	}
	int64_t t = pkt_usec(h);
	if (r->realtime)
		pace(r, t);
	/* The boundary is crossed by a packet of the next second, so flush what came before it first. */
	if (r->last_flush_usec == 0)
		r->last_flush_usec = t;
	else if (t - r->last_flush_usec >= FLUSH_INTERVAL_USEC) {
		if (flush(r) < 0)
			return 1;
		r->last_flush_usec = t;
	}
	inventory_packet(r->inv, linktype, h, data);
	if (r->pcap)
		progress_update(&r->prog, r->cs, false);
	return 0;
}

/* --- the file checkpoint (see run.h) --- */

static json_t *file_identity(const char *path)
{
	char real[PATH_MAX];
	struct stat st;
	if (!realpath(path, real) || stat(real, &st) < 0)
		return NULL;
	return json_pack("{s:s, s:I, s:I, s:I, s:I}", "path", real, "dev", (json_int_t)st.st_dev, "ino",
			 (json_int_t)st.st_ino, "size", (json_int_t)st.st_size, "mtime_ns",
			 (json_int_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
}

/* Sets r->skip from an earlier run over the same file, or records that this file's records start now. */
static int checkpoint_begin(struct run *r, const char *state_dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", state_dir, CHECKPOINT_NAME);
	json_t *id = file_identity(r->pcap);
	if (!id)
		return 0; /* capture_file reports the unreadable file */
	char *data = NULL;
	size_t len;
	json_t *old = NULL;
	int rc = 0;
	if (pki_read_file(path, 64 * 1024, &data, &len) == 0)
		old = json_loadb(data, len, 0, NULL);
	json_t *old_first = json_object_get(old, "first_seq");
	if (json_is_integer(old_first) && json_equal(json_object_get(old, "file"), id)) {
		uint64_t first = (uint64_t)json_integer_value(old_first), next = journal_next_seq(r->j);
		r->skip = next > first ? next - first : 0;
		log_info("run: %s was replayed before from seq %" PRIu64 "; its first %" PRIu64
			 " records are journaled already", r->pcap, first, r->skip);
		goto out;
	}
	json_t *doc = json_pack("{s:O, s:I}", "file", id, "first_seq", (json_int_t)journal_next_seq(r->j));
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text) {
		rc = -ENOMEM;
		goto out;
	}
	rc = pki_write_file(path, text, strlen(text), 0600, 0);
	free(text);
	if (rc < 0)
		log_error("run: cannot write %s: %s", path, strerror(-rc));
out:
	json_decref(old);
	json_decref(id);
	free(data);
	return rc;
}

static int journal_health(struct run *r, const char *event, const char *file, const char *error)
{
	char at[TIMEFMT_LEN];
	int64_t t = inventory_last_packet_usec(r->inv);
	timefmt_rfc3339_ms(t ? t : timefmt_now_usec(), at);
	json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "health", "at", at, "event", event, "file", file,
				"error", error);
	if (!rec)
		return -ENOMEM;
	int rc = on_record(r, rec);
	json_decref(rec);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: otwatch-sensor run --state DIR (--pcap FILE [--rate max|realtime] [--follow] |\n"
		   "                          --iface IFACE [--bpf EXPR] [--no-promisc] [--buffer-mib N]\n"
		   "                          [--snaplen N]) [--dpi-mem-mib N] [--dpi-flow-kib N]\n"
		   "                          [--evidence-mem-mib N] [--journal-cap-mib N]\n"
		   "                          [--journal-sync-ms N] [--journal-sync-kib N]\n"
		   "                          [--renew-before-days N] [--health-interval SEC]\n"
		   "                          [--metrics-listen HOST:PORT] [--log-level L]\n"
		   "  A file replay shows its progress on a terminal. A live capture reports kernel and\n"
		   "  interface drop counters to the console in health records. The journal keeps at most\n"
		   "  --journal-cap-mib (default 1024) of records the console has not acked, and fdatasyncs\n"
		   "  after --journal-sync-ms (default 200) or --journal-sync-kib (default 1024) of appends.\n"
		   "  The sensor asks the console for a new certificate once its own expires within\n"
		   "  --renew-before-days (default 30; 0: never). A live capture sends a \"system\" health record\n"
		   "  (CPU, memory, disk, drops, journal backlog) every --health-interval seconds (default 60),\n"
		   "  a replay one at its end. --metrics-listen serves Prometheus metrics on GET /metrics\n"
		   "  (off by default; no authentication: keep it on loopback).\n");
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' }, { "pcap", required_argument, NULL, 'p' },
		{ "rate", required_argument, NULL, 'r' },  { "follow", no_argument, NULL, 'f' },
		{ "iface", required_argument, NULL, 'i' }, { "bpf", required_argument, NULL, 'b' },
		{ "log-level", required_argument, NULL, 'l' }, { "help", no_argument, NULL, 'h' },
		{ "no-promisc", no_argument, NULL, 'P' }, { "buffer-mib", required_argument, NULL, 'B' },
		{ "snaplen", required_argument, NULL, 'S' },
		{ "dpi-mem-mib", required_argument, NULL, 'M' }, { "dpi-flow-kib", required_argument, NULL, 'K' },
		{ "evidence-mem-mib", required_argument, NULL, 'E' },
		{ "journal-cap-mib", required_argument, NULL, 'C' }, { "journal-sync-ms", required_argument, NULL, 'T' },
		{ "journal-sync-kib", required_argument, NULL, 'Y' },
		{ "renew-before-days", required_argument, NULL, 'R' },
		{ "health-interval", required_argument, NULL, 'H' }, { "metrics-listen", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *state_dir = NULL, *iface = NULL, *bpf = NULL, *metrics_listen = NULL;
	unsigned long health_sec = HEALTH_DEFAULT_INTERVAL_SEC;
	struct capture_opts copts = { 0 };
	size_t mem_cap = 0, flow_cap = 0;
	struct evidence_limits ev_lim = { 0 };
	struct journal_opts jopts;
	journal_opts_default(&jopts);
	char *end;
	unsigned long v;
	struct run r = { 0 };
	unsigned long renew_days = CERT_RENEW_BEFORE_DAYS;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "s:p:r:fi:b:l:hPB:S:M:K:E:C:T:Y:R:H:m:", opts, NULL)) != -1) {
		switch (opt) {
		case 's': state_dir = optarg; break;
		case 'p': r.pcap = optarg; break;
		case 'r':
			if (strcmp(optarg, "realtime") == 0)
				r.realtime = true;
			else if (strcmp(optarg, "max") != 0) {
				fprintf(stderr, "run: --rate must be max or realtime\n");
				return 2;
			}
			break;
		case 'f': r.follow = true; break;
		case 'i': iface = optarg; break;
		case 'b': bpf = optarg; break;
		case 'P': copts.no_promisc = true; break;
		case 'M':
		case 'K':
			if (inventory_parse_limit(opt, optarg, opt == 'M' ? &mem_cap : &flow_cap) < 0) {
				fprintf(stderr, "run: --%s must be %s\n", opt == 'M' ? "dpi-mem-mib" : "dpi-flow-kib",
					opt == 'M' ? "1-4096" : "1-16384");
				return 2;
			}
			break;
		case 'E':
			if (inventory_parse_limit('M', optarg, &ev_lim.mem_bytes) < 0) {
				fprintf(stderr, "run: --evidence-mem-mib must be 1-4096\n");
				return 2;
			}
			break;
		case 'C':
		case 'T':
		case 'Y':
			v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || (opt == 'C' ? (v < 1 || v > 1048576) : v > (opt == 'T' ? 60000 : 1048576))) {
				fprintf(stderr, "run: --%s must be %s\n",
					opt == 'C' ? "journal-cap-mib" : opt == 'T' ? "journal-sync-ms" : "journal-sync-kib",
					opt == 'C' ? "1-1048576 (MiB)" : opt == 'T' ? "0-60000 (ms)" : "0-1048576 (KiB)");
				return 2;
			}
			if (opt == 'C')
				jopts.cap_bytes = (uint64_t)v << 20;
			else if (opt == 'T')
				jopts.sync_interval_ms = (unsigned)v;
			else
				jopts.sync_bytes = (uint64_t)v << 10;
			break;
		case 'B':
		case 'S':
			v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || (opt == 'B' ? (v < 1 || v > 4096) : (v < 64 || v > 262144))) {
				fprintf(stderr, "run: --%s must be %s\n", opt == 'B' ? "buffer-mib" : "snaplen",
					opt == 'B' ? "1-4096 (MiB)" : "64-262144 (bytes)");
				return 2;
			}
			if (opt == 'B')
				copts.buffer_mib = (unsigned)v;
			else
				copts.snaplen = (unsigned)v;
			break;
		case 'R':
			renew_days = strtoul(optarg, &end, 10);
			if (*end || !*optarg || renew_days > UPLINK_RENEW_MAX_SEC / 86400) {
				fprintf(stderr, "run: --renew-before-days must be 0-%lld\n",
					(long long)(UPLINK_RENEW_MAX_SEC / 86400));
				return 2;
			}
			break;
		case 'H':
			health_sec = strtoul(optarg, &end, 10);
			if (*end || !*optarg || health_sec < 1 || health_sec > HEALTH_MAX_INTERVAL_SEC) {
				fprintf(stderr, "run: --health-interval must be 1-%d (seconds)\n", HEALTH_MAX_INTERVAL_SEC);
				return 2;
			}
			break;
		case 'm': metrics_listen = optarg; break;
		case 'l':
			if (log_set_level_name(optarg) < 0) {
				fprintf(stderr, "run: unknown log level \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !state_dir || !r.pcap == !iface || (iface && (r.realtime || r.follow)) ||
	    (r.pcap && (bpf || copts.no_promisc || copts.buffer_mib || copts.snaplen))) {
		usage(stderr);
		return 2;
	}

	int status = 1;
	char err[512];
	struct sensor_state st;
	struct oui_db *oui = NULL;
	if (sensor_state_load(state_dir, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "run: %s\n", err);
		goto out;
	}
	int rc = journal_open_opts(state_dir, &jopts, &r.j);
	if (rc < 0) {
		fprintf(stderr, "run: cannot open the journal in %s: %s\n", state_dir, strerror(-rc));
		goto out;
	}
	oui = oui_load(OUI_DEFAULT_DIR);
	r.inv = inventory_new(oui);
	if (!r.inv || inventory_set_dpi_limits(r.inv, mem_cap, flow_cap) < 0) {
		fprintf(stderr, "run: out of memory\n");
		goto out;
	}
	r.state_dir = state_dir;
	r.iface = iface;
	health_init(&r.health, state_dir, (unsigned)health_sec);
	if (metrics_listen && (rc = sensor_metrics_start(metrics_listen, &r.metrics, err, sizeof(err))) < 0) {
		fprintf(stderr, "run: %s\n", err);
		goto out;
	}
	if (run_alerts_open(&r.ra, r.inv, state_dir, err, sizeof(err)) < 0) {
		fprintf(stderr, "run: %s\n", err);
		goto out;
	}
	/* Evidence captures in <state>/evidence, which the uplink serves to the console; the sensor runs without. */
	char ev_dir[PATH_MAX];
	struct evidence *ev;
	snprintf(ev_dir, sizeof(ev_dir), "%s/" EVIDENCE_DIR_NAME, state_dir);
	ev_lim.drop_when_busy = iface != NULL; /* a live capture never waits for the disk; a replay does */
	if ((ev = evidence_new(ev_dir, &ev_lim, err, sizeof(err))))
		inventory_set_evidence(r.inv, ev);
	else
		log_warn("run: no evidence captures: %s", err);
	if (settings_load(state_dir, &r.settings, err, sizeof(err)) < 0)
		log_warn("run: ignoring the kept settings: %s", err);
	else if (r.settings.doc) {
		json_t *kept = json_pack("{s:O}", "settings", r.settings.doc);
		inventory_set_settings(r.inv, &r.settings, false);
		if (kept)
			run_alerts_config(&r.ra, kept); /* the quiet period */
		json_decref(kept);
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct uplink_opts uo = {
		.sensor_id = st.sensor_id,
		.url = st.sensor_url,
		.cert_path = st.cert_path,
		.key_path = st.key_path,
		.ca_path = st.ca_path,
		.mode = run_alerts_mode_name(&r.ra),
		.state_dir = state_dir,
		.renew_before_sec = (int64_t)renew_days * 86400,
	};
	if ((rc = uplink_start(&uo, r.j, &r.up)) < 0) {
		fprintf(stderr, "run: cannot start the uplink to %s: %s\n", st.sensor_url, strerror(-rc));
		goto out;
	}
	log_info("run: sensor %s, journal holds seqs up to %" PRIu64 " (acked %" PRIu64 ")", st.sensor_id,
		 journal_last_seq(r.j), journal_acked(r.j));

	struct capture_stats cs = { 0 };
	r.cs = &cs;
	if (r.pcap) {
		if ((rc = checkpoint_begin(&r, state_dir)) < 0)
			goto out;
		/* A replay starts from the console's current settings and mode when the console answers soon; an
		 * unreachable console leaves the kept ones (the journal waits for it either way). */
		if (uplink_wait_config(r.up, &g_stop, CONFIG_WAIT_MS) == 0)
			apply_settings(&r);
		progress_init(&r.prog, r.pcap);
		rc = capture_file(r.pcap, on_packet, &r, &cs);
		if (rc == 0)
			progress_update(&r.prog, &cs, true);
	} else {
		copts.bpf = bpf;
		rc = capture_iface(iface, &copts, &g_stop, on_packet, &r, &cs);
	}
	if (rc < 0) {
		fprintf(stderr, "run: cannot capture from %s: %s\n", r.pcap ? r.pcap : iface,
			cs.error[0] ? cs.error : strerror(-rc));
		goto out;
	}
	char reason[256];
	if (uplink_fatal(r.up, reason, sizeof(reason))) {
		fprintf(stderr, "run: %s\n", reason);
		goto out;
	}
	if (r.error < 0) {
		fprintf(stderr, "run: stopped: %s\n", strerror(-r.error));
		goto out;
	}
	bool interrupted = g_stop;
	/* A file run that was interrupted keeps its record sequence a prefix of the file's (see run.h). */
	if (!interrupted || !r.pcap) {
		if (r.pcap)
			inventory_drain(r.inv);
		if (flush(&r) < 0) {
			fprintf(stderr, "run: cannot journal records: %s\n", strerror(-r.error));
			goto out;
		}
		if (cs.truncated) {
			log_warn("run: %s is truncated (%s); keeping the %" PRIu64 " packets before the cut", r.pcap,
				 cs.error, cs.packets);
			if ((rc = journal_health(&r, "capture_truncated", r.pcap, cs.error)) < 0 ||
			    (rc = sync_and_notify(&r)) < 0) {
				fprintf(stderr, "run: cannot journal records: %s\n", strerror(-rc));
				goto out;
			}
		}
		/* A replay's health: one record at its end (a live capture sends them as it goes). The file's records
		 * are all out: what is left of the skip count were an earlier run's records after its file (health,
		 * snapshots), and must not swallow a snapshot sent from here on. */
		if (r.pcap) {
			r.skip = 0;
			if ((rc = report_health(&r)) < 0 || (rc = sync_and_notify(&r)) < 0) {
				fprintf(stderr, "run: cannot journal records: %s\n", strerror(-rc));
				goto out;
			}
		}
		publish_metrics(&r);
	} else if ((rc = journal_sync(r.j)) < 0) {
		fprintf(stderr, "run: cannot sync the journal: %s\n", strerror(-rc));
		goto out;
	}
	uint64_t last = journal_last_seq(r.j);
	if (r.pcap && !interrupted) {
		log_info("run: %s processed; waiting for the console to ack seq %" PRIu64, r.pcap, last);
		rc = wait_all_acked(&r, &last);
	} else {
		/* Interrupted or live: give records in flight a moment, the journal keeps the rest. */
		rc = uplink_wait_acked(r.up, last, NULL, 3000);
	}
	if (rc == -EPIPE) {
		uplink_fatal(r.up, reason, sizeof(reason));
		fprintf(stderr, "run: %s\n", reason);
		goto out;
	}
	if (rc < 0 && rc != -EINTR && rc != -ETIMEDOUT) {
		fprintf(stderr, "run: cannot journal records: %s\n", strerror(-rc));
		goto out;
	}
	printf("packets %" PRIu64 ", records %" PRIu64 " (%" PRIu64 " already journaled), acked seq %" PRIu64
	       " of %" PRIu64 "%s\n",
	       cs.packets, r.records, r.skipped, journal_acked(r.j), last, g_stop ? " (interrupted)" : "");
	fflush(stdout);
	status = 0;
out:
	sensor_metrics_stop(r.metrics);
	uplink_stop(r.up);
	if (r.ra.al)
		run_alerts_tick(&r.ra, 0, true);
	if (r.j && journal_sync(r.j) < 0)
		status = 1;
	journal_close(r.j);
	inventory_free(r.inv);
	settings_clear(&r.settings);
	if (oui)
		oui_free(oui);
	sensor_state_free(&st);
	return status;
}
