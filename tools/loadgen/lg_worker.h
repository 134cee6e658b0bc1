/* One load-generator worker process: drives sensors [first, first + count) of the state directory, each with its
 * own journal (sensor-agent/journal.h) and uplink (sensor-agent/uplink.h: its own lws context, sized for a few
 * descriptors, and thread), exactly as otwatch-sensor run does, fed by a synthetic plant (lg_fleet.h).
 *
 * The parent steers it over ctl_fd with lines: "go" (start producing for duration_s), "arm" (watch for a
 * reconnect storm), "quit". The worker reports on report_fd with one JSON object per line:
 *   {"t":"p", ...}  progress every 500 ms: enrolled, started, connected, fatal, welcomes, produced, acked,
 *                   generating, done, last_ack_ns, down_ns, up_ns (CLOCK_MONOTONIC, comparable between workers)
 *   {"t":"r", ...}  the result, after quit: hist (lg_hist.h), rss_kib (VmHWM), cpu_s (user + system),
 *                   sensors [{i, id, records, digest, acked, seqs_skipped}]: seqs_skipped counts the seqs
 *                   between this run's records that the journal gave to records of its own (the overflow
 *                   records of its disk cap), so records + seqs_skipped = what the journal kept (its
 *                   journal-status records) + what it lost at the cap + what it compacted away
 *   {"t":"e", "message"}  a failure; the worker exits 1.
 * Latency: a record's creation (just before it is journaled) to the ack covering it arriving at the sensor. */
#pragma once
#include <stdbool.h>

struct lg_cfg {
	const char *state_dir, *gateway_url;
	unsigned first, count;    /* sensor indices of this worker */
	unsigned total;           /* sensors of the whole run (spreads the flush phases) */
	unsigned devices;         /* per sensor */
	double rate;              /* records per second per sensor */
	double alerts_per_min;    /* per sensor, part of the rate */
	unsigned duration_s, flush_ms;
	int linger_ms;
	unsigned seed;
	unsigned journal_cap_mib; /* each sensor's journal disk cap; 0: the journal's default */
};

/* Runs the worker; returns the process exit status. Call in a fresh child process. */
int lg_worker_main(const struct lg_cfg *cfg, int ctl_fd, int report_fd);
