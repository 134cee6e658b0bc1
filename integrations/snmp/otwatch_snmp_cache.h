/* The subagent's view of the console: a snapshot of the values OTWATCH-MIB serves, refreshed from PostgreSQL
 * every few seconds by a non-blocking libpq state machine that the agent's single-threaded select() loop drives
 * (snmp_cache_fds / snmp_cache_io / snmp_cache_tick). SNMP requests only ever read the current snapshot, so a
 * walk never waits for the database; a slow or lost database only makes the snapshot older. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/select.h>

#define SNMP_TEXT_MAX 255 /* DisplayString's limit; longer names are cut */

struct snmp_sensor {
	int32_t index;              /* otwSensorIndex: stable, from the uuid (snmp_cache_assign_indexes) */
	uint32_t hash;              /* first 32 bits of md5(uuid text) */
	char uuid[37];
	char name[SNMP_TEXT_MAX + 1];
	char site[SNMP_TEXT_MAX + 1];
	char zone[SNMP_TEXT_MAX + 1];
	char version[SNMP_TEXT_MAX + 1];
	bool connected, silent;     /* silent: the console's watchdog says so (sensors.silent_since) */
	bool revoked;               /* only while indexes are assigned: revoked rows keep their index taken */
	int mode;                   /* 1 learning, 2 operational */
	int32_t last_seen_age;      /* seconds, -1 never */
	uint64_t applied_seq;
	int32_t health_age;         /* seconds, -1 no health report */
	uint32_t cpu_hundredths, proc_cpu_hundredths, mem_rss_kib, mem_total_kib, mem_avail_kib, disk_free_mib, disk_total_mib;
	uint64_t capture_packets, capture_drops;
	uint32_t journal_records, journal_kib, uptime_sec;
};

struct snmp_snapshot {
	uint32_t sensors_total, sensors_connected, sensors_silent;
	uint32_t alerts_new, alerts_critical, alerts_major, alerts_minor, alerts_warning;
	uint32_t devices_total, forwarding_backlog, forwarding_oldest_age;
	struct snmp_sensor *rows;   /* sorted by index, ascending */
	size_t nrows;
};

struct snmp_cache;

/* Creates a cache that reads db_url (a libpq connection string, never logged) every refresh_sec seconds.
 * Returns NULL when out of memory. Nothing connects before the first snmp_cache_tick. */
struct snmp_cache *snmp_cache_new(const char *db_url, unsigned refresh_sec);
void snmp_cache_free(struct snmp_cache *c);

/* The current snapshot (never NULL; all zero before the first successful refresh). Owned by the cache, valid
 * until the next snmp_cache_io / snmp_cache_tick call. */
const struct snmp_snapshot *snmp_cache_snapshot(const struct snmp_cache *c);
/* true when the database answered the last refresh: connected and answered its queries, if only with an error
 * (a query error does not make the database unreachable; the snapshot then stays as it was and its age grows). */
bool snmp_cache_db_reachable(const struct snmp_cache *c);
/* Round trip of the last probe query, milliseconds. */
uint32_t snmp_cache_db_latency_ms(const struct snmp_cache *c);
/* Seconds since the last successful refresh; UINT32_MAX before the first. */
uint32_t snmp_cache_data_age(const struct snmp_cache *c);

/* Adds the database socket to the sets select() waits on (raising *nfds) when the state machine waits for
 * it. */
void snmp_cache_fds(struct snmp_cache *c, int *nfds, fd_set *rd, fd_set *wr);
/* Advances the state machine after select() said the socket is ready. */
void snmp_cache_io(struct snmp_cache *c, const fd_set *rd, const fd_set *wr);
/* Starts a refresh when one is due, gives up on one that takes too long. Returns the milliseconds until it
 * wants to be called again. */
int64_t snmp_cache_tick(struct snmp_cache *c);

/* Gives each row its index (otwatch_snmp_rows.c). rows are every sensor row of the database, revoked ones too,
 * in enrollment order (created_at, then uuid); each takes its home value 1 + hash mod (2^31 - 1) or, when an
 * earlier row has it, the next free value (after 2^31 - 1 comes 1). A sensor's index thus depends only on its
 * uuid and the sensors enrolled before it, which never go away (revoking keeps the row): enrolling or revoking
 * a sensor never changes another's index. Leaves the order of rows alone. Returns 0, -1 when out of memory. */
__attribute__((warn_unused_result)) int snmp_cache_assign_indexes(struct snmp_sensor *rows, size_t n);

/* Copies in as DisplayString text (RFC 2579: printable ASCII) into out, cut to outlen - 1 bytes and
 * terminated: every control character and every non-ASCII UTF-8 character becomes one '?', so a cut never
 * falls inside a character. */
void snmp_text_ascii(const char *in, char *out, size_t outlen);
