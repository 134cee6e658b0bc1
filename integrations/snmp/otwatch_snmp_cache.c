#include "integrations/snmp/otwatch_snmp_cache.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

/* One refresh is a short sequence of queries on one connection, each sent with PQsendQueryParams and read back
 * without blocking:
 *   PROBE    which optional tables exist yet (forwarding_outbox, sensor_health come with later migrations);
 *            its round trip is otwConsoleDbLatency
 *   COUNTS   alerts not handled by severity, devices
 *   OUTBOX   forwarding backlog and the age of its oldest entry (only when the table exists)
 *   SENSORS  one row per sensor (revoked ones too, for the indexes), with its health report when sensor_health
 *            exists; should that query fail (a value no clamp foresaw, a changed table), the step is sent again
 *            without the health report, so that every sensor is still served
 * The new snapshot replaces the served one only when every step succeeded. A query answered with an error fails
 * the refresh but keeps the connection and otwConsoleDbReachable true: the database is there, the snapshot only
 * gets older (otwConsoleDataAge). Only a connection that fails or is lost makes the database unreachable. */
enum step { STEP_PROBE, STEP_COUNTS, STEP_OUTBOX, STEP_SENSORS, STEP_DONE };
enum conn_state { CONN_NONE, CONN_CONNECTING, CONN_IDLE, CONN_BUSY };

struct snmp_cache {
	char *db_url;
	unsigned refresh_sec;
	PGconn *conn;
	enum conn_state state;
	bool want_read, want_write;  /* what the socket is polled for */
	enum step step;
	bool has_outbox, has_health;
	bool health_skipped;          /* this refresh's SENSORS step runs without the health report */
	bool health_failure_logged;
	bool step_failed;             /* the current step's result was an error; its message is in step_error */
	char step_error[256];
	int64_t refresh_started_ms, next_refresh_ms, step_sent_ms, last_ok_ms;
	bool reachable, ever_ok;
	uint32_t latency_ms;
	bool failure_logged;          /* one error line per outage, not one per refresh */
	struct snmp_snapshot cur, next;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libpq resolves a host name with a blocking getaddrinfo() inside PQconnectStart/PQconnectPoll, in the agent's
 * only thread: a slow DNS server would stall SNMP answers for as long. Say so once at start when the database
 * is named by a host name and no hostaddr is given. */
static void warn_host_name(const char *db_url)
{
	PQconninfoOption *opts = PQconninfoParse(db_url, NULL);
	const char *host = NULL, *hostaddr = getenv("PGHOSTADDR");
	unsigned char addr[sizeof(struct in6_addr)];
	char first[256];

	if (!opts)
		return;  /* a malformed string: the first connection attempt logs why */
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (strcmp(o->keyword, "host") == 0 && o->val && *o->val)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0 && o->val && *o->val)
			hostaddr = o->val;
	}
	if (!host)
		host = getenv("PGHOST");
	if (host && !(hostaddr && *hostaddr)) {
		snprintf(first, sizeof(first), "%.*s", (int)strcspn(host, ","), host);
		if (first[0] != '/' && first[0] != '@' && inet_pton(AF_INET, first, addr) != 1 &&
		    inet_pton(AF_INET6, first, addr) != 1)
			log_warn("snmp: database host '%s' is a name: it is resolved in the agent's only thread, so a "
				 "slow DNS server delays SNMP answers; give hostaddr= (an IP address) to avoid that",
				 first);
	}
	PQconninfoFree(opts);
}

struct snmp_cache *snmp_cache_new(const char *db_url, unsigned refresh_sec)
{
	struct snmp_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->db_url = strdup(db_url);
	if (!c->db_url) {
		free(c);
		return NULL;
	}
	c->refresh_sec = refresh_sec ? refresh_sec : 1;
	c->next_refresh_ms = now_ms();
	warn_host_name(db_url);
	return c;
}

static void conn_drop(struct snmp_cache *c)
{
	if (c->conn)
		PQfinish(c->conn);
	c->conn = NULL;
	c->state = CONN_NONE;
	c->want_read = c->want_write = false;
}

void snmp_cache_free(struct snmp_cache *c)
{
	if (!c)
		return;
	conn_drop(c);
	free(c->cur.rows);
	free(c->next.rows);
	/* The URL may hold a password: do not leave it in freed memory. */
	explicit_bzero(c->db_url, strlen(c->db_url));
	free(c->db_url);
	free(c);
}

const struct snmp_snapshot *snmp_cache_snapshot(const struct snmp_cache *c)
{
	return &c->cur;
}

bool snmp_cache_db_reachable(const struct snmp_cache *c)
{
	return c->reachable;
}

uint32_t snmp_cache_db_latency_ms(const struct snmp_cache *c)
{
	return c->latency_ms;
}

uint32_t snmp_cache_data_age(const struct snmp_cache *c)
{
	int64_t age;

	if (!c->ever_ok)
		return UINT32_MAX;
	age = (now_ms() - c->last_ok_ms) / 1000;
	return age < 0 ? 0 : age > (int64_t)UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)age;
}

/* The refresh failed. db_down: the connection failed or was lost (it is dropped, the database is unreachable);
 * otherwise the database answered a query with an error (the connection stays for the next refresh).
 * libpq's messages name host, port and database, never the password; keep the first line only. */
static void refresh_failed(struct snmp_cache *c, const char *what, const char *msg, bool db_down)
{
	size_t n = msg ? strcspn(msg, "\n") : 0;

	if (!c->failure_logged || log_level_current >= LOG_LVL_DEBUG)
		log_error("snmp: database %s failed: %.*s", what, (int)n, msg ? msg : "");
	c->failure_logged = true;
	if (db_down) {
		c->reachable = false;
		conn_drop(c);
	} else {
		c->reachable = true;
		c->state = CONN_IDLE;
		c->want_read = true;
		c->want_write = false;
	}
	c->next_refresh_ms = now_ms() + (int64_t)c->refresh_sec * 1000;
}

/* ---- parsing of result fields (text format) ---- */

static int64_t field_i64(const PGresult *r, int row, int col)
{
	const char *s = PQgetvalue(r, row, col);
	char *end;
	long long v;

	if (PQgetisnull(r, row, col) || !*s)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	return (errno || *end) ? 0 : (int64_t)v;
}

static uint32_t field_u32(const PGresult *r, int row, int col)
{
	int64_t v = field_i64(r, row, col);

	return v < 0 ? 0 : v > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static int32_t field_age(const PGresult *r, int row, int col)
{
	int64_t v;

	if (PQgetisnull(r, row, col))
		return -1;
	v = field_i64(r, row, col);
	return v < 0 ? 0 : v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

static uint64_t field_u64(const PGresult *r, int row, int col)
{
	int64_t v = field_i64(r, row, col);

	return v < 0 ? 0 : (uint64_t)v;
}

static void field_text(const PGresult *r, int row, int col, char *out, size_t outlen)
{
	snmp_text_ascii(PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col), out, outlen);
}

static bool field_bool(const PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

/* ---- the queries ---- */

static const char SQL_PROBE[] =
	"select to_regclass('forwarding_outbox') is not null,"
	" to_regclass('sensor_health') is not null and exists (select 1 from pg_attribute"
	"  where attrelid = 'sensors'::regclass and attname = 'silent_since' and not attisdropped)";

static const char SQL_COUNTS[] =
	"select count(*), count(*) filter (where severity = 'critical'), count(*) filter (where severity = 'major'),"
	" count(*) filter (where severity = 'minor'), count(*) filter (where severity = 'warning'),"
	" (select count(*) from devices)"
	" from alerts where status = 'new'";

/* Every figure the database turns into an integer is clamped there to what the MIB's type holds (and whole
 * seconds to 0..2^31-1, infinite timestamps to null), so that no stored value, however absurd, can make a query
 * fail ("bigint out of range") and with it the whole refresh; NaN reads as null. The C side clamps again. */
#define SQL_AGE(t) \
	"case when isfinite(" t ") then least(greatest(floor(extract(epoch from now() - " t ")), 0), 2147483647)" \
	"::bigint end"
#define SQL_GAUGE(x) "least(greatest(" x ", 0), 4294967295)"
#define SQL_CPU(x) "round(least(greatest(nullif(" x ", 'NaN'), 0), 42949672.95) * 100)::bigint"

static const char SQL_OUTBOX[] =
	"select count(*), coalesce(" SQL_AGE("min(created_at)") ", 0) from forwarding_outbox";

/* Columns 0-11 of the sensor queries: every sensor, revoked ones too (column 11), in enrollment order, as
 * snmp_cache_assign_indexes wants them. Ages are whole seconds of the database's clock, so the subagent's own
 * clock does not matter. Silence is the console's own verdict (its watchdog sets sensors.silent_since after the
 * console setting sensor_silent_sec without data), so SNMP, the API and the "Sensor silent" alert agree; a
 * database older than migration 014 has no watchdog and no sensor is reported silent. */
#define SQL_SENSOR_COLS(silent) \
	"select s.id::text, ('x' || left(md5(s.id::text), 8))::bit(32)::bigint, s.name, coalesce(si.name, '')," \
	" coalesce(z.name, ''), s.connected, s.mode, coalesce(s.software_version, '')," \
	" " SQL_AGE("s.last_seen") ", greatest(s.applied_seq, 0), " silent ", s.revoked_at is not null"
#define SQL_SENSOR_FROM \
	" from sensors s left join zones z on z.id = s.zone_id left join sites si on si.id = z.site_id"
#define SQL_SENSOR_ORDER " order by s.created_at, s.id"

static const char SQL_SENSORS_PLAIN[] = SQL_SENSOR_COLS("false") SQL_SENSOR_FROM SQL_SENSOR_ORDER;

/* Migration 014 without the health report: the fallback when the health query fails. */
static const char SQL_SENSORS_SILENT[] =
	SQL_SENSOR_COLS("s.silent_since is not null") SQL_SENSOR_FROM SQL_SENSOR_ORDER;

/* Columns 12-24: the health report (migration 014), scaled to the MIB's integer units. */
static const char SQL_SENSORS_HEALTH[] =
	SQL_SENSOR_COLS("s.silent_since is not null") ", " SQL_AGE("h.received_at") ","
	" " SQL_CPU("h.cpu_pct") ", " SQL_CPU("h.proc_cpu_pct") ","
	" " SQL_GAUGE("h.mem_rss_bytes / 1024") ", " SQL_GAUGE("h.mem_total_bytes / 1024") ","
	" " SQL_GAUGE("h.mem_available_bytes / 1024") ", " SQL_GAUGE("h.disk_free_bytes / 1048576") ","
	" " SQL_GAUGE("h.disk_total_bytes / 1048576") ", greatest(h.capture_packets, 0), greatest(h.capture_drops, 0),"
	" " SQL_GAUGE("h.journal_backlog_records") ", " SQL_GAUGE("h.journal_backlog_bytes / 1024") ","
	" " SQL_GAUGE("h.uptime_sec")
	SQL_SENSOR_FROM
	" left join sensor_health h on h.sensor_id = s.id"
	SQL_SENSOR_ORDER;
#define SENSOR_HEALTH_COLS 25

static bool step_send(struct snmp_cache *c)
{
	const char *sql;
	int rc;

	switch (c->step) {
	case STEP_PROBE:
		sql = SQL_PROBE;
		break;
	case STEP_COUNTS:
		sql = SQL_COUNTS;
		break;
	case STEP_OUTBOX:
		sql = SQL_OUTBOX;
		break;
	case STEP_SENSORS:
		sql = !c->has_health ? SQL_SENSORS_PLAIN : c->health_skipped ? SQL_SENSORS_SILENT : SQL_SENSORS_HEALTH;
		break;
	default:
		return false;
	}
	if (!PQsendQueryParams(c->conn, sql, 0, NULL, NULL, NULL, NULL, 0)) {
		refresh_failed(c, "query", PQerrorMessage(c->conn), true);
		return false;
	}
	c->step_sent_ms = now_ms();
	c->step_failed = false;
	c->state = CONN_BUSY;
	rc = PQflush(c->conn);
	if (rc < 0) {
		refresh_failed(c, "query", PQerrorMessage(c->conn), true);
		return false;
	}
	c->want_write = rc == 1;
	c->want_read = true;
	return true;
}

static void take_counts(struct snmp_cache *c, const PGresult *r)
{
	c->next.alerts_new = field_u32(r, 0, 0);
	c->next.alerts_critical = field_u32(r, 0, 1);
	c->next.alerts_major = field_u32(r, 0, 2);
	c->next.alerts_minor = field_u32(r, 0, 3);
	c->next.alerts_warning = field_u32(r, 0, 4);
	c->next.devices_total = field_u32(r, 0, 5);
}

static void take_health(struct snmp_sensor *s, const PGresult *r, int i)
{
	s->health_age = field_age(r, i, 12);
	s->cpu_hundredths = field_u32(r, i, 13);
	s->proc_cpu_hundredths = field_u32(r, i, 14);
	s->mem_rss_kib = field_u32(r, i, 15);
	s->mem_total_kib = field_u32(r, i, 16);
	s->mem_avail_kib = field_u32(r, i, 17);
	s->disk_free_mib = field_u32(r, i, 18);
	s->disk_total_mib = field_u32(r, i, 19);
	s->capture_packets = field_u64(r, i, 20);
	s->capture_drops = field_u64(r, i, 21);
	s->journal_records = field_u32(r, i, 22);
	s->journal_kib = field_u32(r, i, 23);
	s->uptime_sec = field_u32(r, i, 24);
}

static int cmp_index(const void *a, const void *b)
{
	const struct snmp_sensor *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/* Every sensor row, in enrollment order: indexes are assigned over all of them, then the revoked ones leave. */
static bool take_sensors(struct snmp_cache *c, const PGresult *r)
{
	int n = PQntuples(r);
	size_t kept = 0;
	struct snmp_sensor *rows = n > 0 ? calloc((size_t)n, sizeof(*rows)) : NULL;

	if (n > 0 && !rows)
		return false;
	c->next.sensors_total = c->next.sensors_connected = c->next.sensors_silent = 0;
	for (int i = 0; i < n; i++) {
		struct snmp_sensor *s = &rows[i];

		field_text(r, i, 0, s->uuid, sizeof(s->uuid));
		s->hash = (uint32_t)field_i64(r, i, 1);
		field_text(r, i, 2, s->name, sizeof(s->name));
		field_text(r, i, 3, s->site, sizeof(s->site));
		field_text(r, i, 4, s->zone, sizeof(s->zone));
		s->connected = field_bool(r, i, 5);
		s->mode = strcmp(PQgetvalue(r, i, 6), "operational") == 0 ? 2 : 1;
		field_text(r, i, 7, s->version, sizeof(s->version));
		s->last_seen_age = field_age(r, i, 8);
		s->applied_seq = field_u64(r, i, 9);
		s->silent = field_bool(r, i, 10);
		s->revoked = field_bool(r, i, 11);
		s->health_age = -1;
		if (PQnfields(r) >= SENSOR_HEALTH_COLS)
			take_health(s, r, i);
	}
	if (snmp_cache_assign_indexes(rows, (size_t)n) < 0) {
		free(rows);
		return false;
	}
	for (int i = 0; i < n; i++) {
		if (rows[i].revoked)
			continue;
		rows[kept] = rows[i];
		c->next.sensors_total++;
		c->next.sensors_connected += rows[kept].connected;
		c->next.sensors_silent += rows[kept].silent;
		kept++;
	}
	if (kept > 1)
		qsort(rows, kept, sizeof(*rows), cmp_index);
	free(c->next.rows);
	c->next.rows = rows;
	c->next.nrows = kept;
	return true;
}

/* Takes a successful result of the current step; returns false when out of memory. */
static bool step_take(struct snmp_cache *c, const PGresult *r)
{
	switch (c->step) {
	case STEP_PROBE: {
		int64_t ms = now_ms() - c->step_sent_ms;

		c->latency_ms = ms < 0 ? 0 : (uint32_t)ms;
		c->has_outbox = field_bool(r, 0, 0);
		c->has_health = field_bool(r, 0, 1);
		break;
	}
	case STEP_COUNTS:
		take_counts(c, r);
		break;
	case STEP_OUTBOX:
		c->next.forwarding_backlog = field_u32(r, 0, 0);
		c->next.forwarding_oldest_age = field_u32(r, 0, 1);
		break;
	case STEP_SENSORS:
		return take_sensors(c, r);
	default:
		break;
	}
	return true;
}

/* Reads one result of the current step: the first error is kept in step_error, the rest ignored. Returns false
 * when out of memory (the refresh failed). */
static bool step_result(struct snmp_cache *c, PGresult *r)
{
	if (c->step_failed)
		return true;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

		snprintf(c->step_error, sizeof(c->step_error), "%s", msg ? msg : PQerrorMessage(c->conn));
		c->step_failed = true;
		return true;
	}
	if (!step_take(c, r)) {
		refresh_failed(c, "refresh", "out of memory", true);
		return false;
	}
	return true;
}

static void refresh_done(struct snmp_cache *c)
{
	struct snmp_snapshot old = c->cur;

	c->cur = c->next;
	memset(&c->next, 0, sizeof(c->next));
	free(old.rows);
	c->reachable = true;
	c->ever_ok = true;
	c->last_ok_ms = now_ms();
	if (c->failure_logged)
		log_info("snmp: database refresh works again");
	c->failure_logged = false;
	c->state = CONN_IDLE;
	c->want_read = true;  /* notice a server closing the idle connection */
	c->want_write = false;
	c->next_refresh_ms = c->refresh_started_ms + (int64_t)c->refresh_sec * 1000;
}

/* The current step's results are all read. */
static void step_finished(struct snmp_cache *c)
{
	if (c->step_failed && c->step == STEP_SENSORS && c->has_health && !c->health_skipped) {
		/* Serve every sensor without its health report rather than no fresh sensor at all. */
		if (!c->health_failure_logged || log_level_current >= LOG_LVL_DEBUG)
			log_error("snmp: the sensor health query failed (%s); serving the sensors without health reports",
				  c->step_error);
		c->health_failure_logged = true;
		c->health_skipped = true;
		step_send(c);
		return;
	}
	if (c->step_failed) {
		refresh_failed(c, "query", c->step_error, false);
		return;
	}
	if (c->step == STEP_SENSORS && c->has_health && !c->health_skipped && c->health_failure_logged) {
		log_info("snmp: the sensor health query works again");
		c->health_failure_logged = false;
	}
	c->step++;
	if (c->step == STEP_OUTBOX && !c->has_outbox) {
		c->next.forwarding_backlog = 0;
		c->next.forwarding_oldest_age = 0;
		c->step++;
	}
	if (c->step == STEP_DONE) {
		refresh_done(c);
		return;
	}
	step_send(c);
}

static void refresh_begin(struct snmp_cache *c)
{
	free(c->next.rows);
	memset(&c->next, 0, sizeof(c->next));
	c->refresh_started_ms = now_ms();
	c->step = STEP_PROBE;
	c->health_skipped = false;
	step_send(c);
}

static void connect_poll(struct snmp_cache *c)
{
	switch (PQconnectPoll(c->conn)) {
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(c->conn, 1) != 0) {
			refresh_failed(c, "connection", PQerrorMessage(c->conn), true);
			return;
		}
		refresh_begin(c);
		return;
	case PGRES_POLLING_READING:
		c->want_read = true;
		c->want_write = false;
		return;
	case PGRES_POLLING_WRITING:
		c->want_read = false;
		c->want_write = true;
		return;
	default:
		refresh_failed(c, "connection", PQerrorMessage(c->conn), true);
		return;
	}
}

static void connect_start(struct snmp_cache *c)
{
	c->refresh_started_ms = now_ms();
	c->conn = PQconnectStart(c->db_url);
	if (!c->conn) {
		refresh_failed(c, "connection", "out of memory", true);
		return;
	}
	if (PQstatus(c->conn) == CONNECTION_BAD) {
		refresh_failed(c, "connection", PQerrorMessage(c->conn), true);
		return;
	}
	c->state = CONN_CONNECTING;
	/* libpq: after PQconnectStart, behave as if PQconnectPoll had returned PGRES_POLLING_WRITING. */
	c->want_read = false;
	c->want_write = true;
}

void snmp_cache_fds(struct snmp_cache *c, int *nfds, fd_set *rd, fd_set *wr)
{
	int fd;

	if (!c->conn || (!c->want_read && !c->want_write))
		return;
	fd = PQsocket(c->conn);
	if (fd < 0 || fd >= FD_SETSIZE)
		return;
	if (c->want_read)
		FD_SET(fd, rd);
	if (c->want_write)
		FD_SET(fd, wr);
	if (fd >= *nfds)
		*nfds = fd + 1;
}

static void busy_io(struct snmp_cache *c, bool readable, bool writable)
{
	PGresult *r;
	int rc;

	if (writable && c->want_write) {
		rc = PQflush(c->conn);
		if (rc < 0) {
			refresh_failed(c, "query", PQerrorMessage(c->conn), true);
			return;
		}
		c->want_write = rc == 1;
	}
	if (!readable)
		return;
	if (!PQconsumeInput(c->conn)) {
		refresh_failed(c, "query", PQerrorMessage(c->conn), true);
		return;
	}
	/* Every result up to the NULL that ends the command must be read before the next one is sent; PQgetResult
	 * is only called while it would not block. */
	while (!PQisBusy(c->conn)) {
		r = PQgetResult(c->conn);
		if (!r) {
			step_finished(c);
			return;
		}
		rc = step_result(c, r);
		PQclear(r);
		if (!rc)
			return;  /* the connection was dropped */
	}
}

void snmp_cache_io(struct snmp_cache *c, const fd_set *rd, const fd_set *wr)
{
	int fd;
	bool readable, writable;

	if (!c->conn)
		return;
	fd = PQsocket(c->conn);
	if (fd < 0 || fd >= FD_SETSIZE)
		return;
	readable = FD_ISSET(fd, rd);
	writable = FD_ISSET(fd, wr);
	if (!readable && !writable)
		return;
	switch (c->state) {
	case CONN_CONNECTING:
		connect_poll(c);
		break;
	case CONN_BUSY:
		busy_io(c, readable, writable);
		break;
	case CONN_IDLE:
		/* Nothing is expected between refreshes but notices or the server going away. */
		if (!PQconsumeInput(c->conn) || PQstatus(c->conn) != CONNECTION_OK) {
			log_warn("snmp: database connection closed; reconnecting at the next refresh");
			conn_drop(c);
		}
		break;
	default:
		break;
	}
}

int64_t snmp_cache_tick(struct snmp_cache *c)
{
	int64_t now = now_ms();
	/* A refresh that takes longer than this (a stalled database or network) is abandoned. */
	int64_t limit = (int64_t)(c->refresh_sec * 2 > 10 ? c->refresh_sec * 2 : 10) * 1000;

	if ((c->state == CONN_CONNECTING || c->state == CONN_BUSY) && now - c->refresh_started_ms > limit) {
		refresh_failed(c, "refresh", "timed out", true);
		return (int64_t)c->refresh_sec * 1000;
	}
	if (c->state == CONN_CONNECTING || c->state == CONN_BUSY)
		return limit - (now - c->refresh_started_ms) + 1;
	if (now < c->next_refresh_ms)
		return c->next_refresh_ms - now;
	if (c->state == CONN_NONE)
		connect_start(c);
	else
		refresh_begin(c);
	return 1000;
}
