/* The sensor's periodic "system" health record: CPU (whole host, from /proc/stat, and this process, from
 * getrusage), memory (/proc/meminfo, /proc/self/statm), the state directory's disk (statvfs), capture counters
 * and the journal's backlog. `run` journals one every --health-interval seconds of wall time in a live capture
 * and one at the end of a file replay; the console keeps the latest per sensor (sql/014_sensor_health.sql).
 *
 * Record: {"kind":"health","at":<sample time>,"event":"system","cpu_pct","proc_cpu_pct","mem_rss_bytes",
 * "mem_total_bytes","mem_available_bytes","disk_free_bytes","disk_total_bytes","capture_packets","capture_drops",
 * "journal_backlog_records","journal_backlog_bytes","journal_last_seq","uptime_sec","source"}. A figure the
 * sensor could not read is absent (the console stores null). CPU percentages are the average since the previous
 * sample (or since health_init for the first). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define HEALTH_DEFAULT_INTERVAL_SEC 60
#define HEALTH_MAX_INTERVAL_SEC 86400

struct health {
	const char *state_dir; /* borrowed: the disk figures are its file system's */
	int64_t interval_usec;
	int64_t start_usec;    /* wall clock at health_init */
	int64_t last_usec;     /* wall clock of the previous sample (the first is due at once) */
	int64_t cpu_at_usec;   /* wall clock of the CPU readings below */
	/* The previous CPU readings (deltas make the percentages). */
	uint64_t host_busy, host_total; /* /proc/stat jiffies, 0 when unreadable */
	int64_t proc_cpu_usec;          /* user + system time of this process */
	bool have_host;
};

/* What the caller knows that /proc does not: capture and journal figures. */
struct health_inputs {
	const char *source;         /* interface name or "file" */
	uint64_t capture_packets;   /* packets handled */
	uint64_t capture_drops;     /* kernel + interface drops (0 for a file) */
	uint64_t journal_last_seq, journal_acked, journal_bytes;
};

/* Takes the first CPU readings. interval_sec: 1..HEALTH_MAX_INTERVAL_SEC. */
void health_init(struct health *h, const char *state_dir, unsigned interval_sec);
/* True when interval_sec passed (wall clock) since the previous sample. */
bool health_due(const struct health *h, int64_t now_usec);
/* A new record (owned by the caller) sampled now, and the next one becomes due interval_sec later; NULL when out
 * of memory. */
json_t *health_sample(struct health *h, const struct health_inputs *in, int64_t now_usec);

/* The /proc parsers, exposed for the unit tests. Each takes the file's text (NUL-terminated) and returns 0 or
 * -EINVAL when the figures are not there. */
int health_parse_stat(const char *text, uint64_t *busy, uint64_t *total) __attribute__((warn_unused_result));
int health_parse_meminfo(const char *text, uint64_t *total_bytes, uint64_t *available_bytes)
	__attribute__((warn_unused_result));
