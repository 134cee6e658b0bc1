#include "server/metrics_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/timefmt.h"
#include "sensor-agent/metrics_text.h"
#include "server/api_principal.h"
#include "server/db.h"
#include "server/metrics.h"

#define METRICS_SENSORS_MAX "10000" /* sensors reported at most (the largest deployments hold a few thousand) */
#define METRICS_RULES_MAX "1000"

/* Sensors in the caller's scope with their latest health; one row each (columns: enum below). */
static const char *const sensors_sql =
	"select s.id::text, s.name, s.connected, s.silent_since is not null, "
	"extract(epoch from now() - s.last_seen)::float8, s.applied_seq, s.records_applied, "
	"h.cpu_pct, h.proc_cpu_pct, h.mem_rss_bytes, h.mem_total_bytes, h.mem_available_bytes, h.disk_free_bytes, "
	"h.disk_total_bytes, h.capture_packets, h.capture_drops, h.journal_backlog_records, h.journal_backlog_bytes, "
	"h.uptime_sec, extract(epoch from now() - h.received_at)::float8 "
	"from sensors s left join sensor_health h on h.sensor_id = s.id "
	"where s.revoked_at is null and otw_zone_visible($1::bigint[], s.zone_id) order by s.id limit " METRICS_SENSORS_MAX;
enum {
	S_ID, S_NAME, S_CONNECTED, S_SILENT, S_SEEN_AGE, S_APPLIED, S_RECORDS, S_CPU, S_PROC_CPU, S_RSS, S_MEM_TOTAL,
	S_MEM_AVAIL, S_DISK_FREE, S_DISK_TOTAL, S_PACKETS, S_DROPS, S_JB_RECORDS, S_JB_BYTES, S_UPTIME, S_HEALTH_AGE,
};

/* The backlog of each forwarding rule: the rows of its outbox (a pending delivery is a row present). */
static const char *const rules_sql =
	"select r.id::text, r.name, coalesce(o.n, 0), r.delivered_count, extract(epoch from r.last_error_at)::float8 "
	"from forwarding_rules r left join (select rule_id, count(*) n from forwarding_outbox group by rule_id) o "
	"on o.rule_id = r.id order by r.id limit " METRICS_RULES_MAX;

static int64_t mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void fam(struct metrics_text *m, const char *name, enum metrics_type t, const char *help)
{
	metrics_text_family(m, name, t, help);
}

/* One gauge or counter per sensor from a numeric column; rows where it is null are left out. */
static void per_sensor(struct metrics_text *m, PGresult *res, int col, const char *name, enum metrics_type t,
		       const char *help)
{
	fam(m, name, t, help);
	for (int i = 0; i < PQntuples(res); i++) {
		struct metrics_label l[2] = { { "sensor_id", PQgetvalue(res, i, S_ID) },
					      { "sensor", PQgetvalue(res, i, S_NAME) } };
		if (PQgetisnull(res, i, col))
			continue;
		metrics_text_sample(m, name, l, 2, strtod(PQgetvalue(res, i, col), NULL));
	}
}

static void per_sensor_bool(struct metrics_text *m, PGresult *res, int col, const char *name, const char *help)
{
	fam(m, name, METRICS_GAUGE, help);
	for (int i = 0; i < PQntuples(res); i++) {
		struct metrics_label l[2] = { { "sensor_id", PQgetvalue(res, i, S_ID) },
					      { "sensor", PQgetvalue(res, i, S_NAME) } };
		metrics_text_sample_u64(m, name, l, 2, PQgetvalue(res, i, col)[0] == 't');
	}
}

static int lag_cmp(const void *a, const void *b)
{
	return strcasecmp(((const struct metrics_lag *)a)->sensor_id, ((const struct metrics_lag *)b)->sensor_id);
}

/* The apply lag of the sensors connected to this node that are in the result (the caller's scope). */
static void lag_families(struct metrics_text *m, PGresult *res, struct metrics_counters *mc)
{
	int64_t now = timefmt_now_usec();

	if (mc->nlags)
		qsort(mc->lags, mc->nlags, sizeof(*mc->lags), lag_cmp);
	for (int pass = 0; pass < 2; pass++) {
		const char *name = pass ? "otwatch_sensor_apply_lag_seconds" : "otwatch_sensor_apply_lag_records";
		fam(m, name, METRICS_GAUGE,
		    pass ? "Seconds the console has been behind what the sensor announced (0: caught up); sensors "
			   "connected to this node"
			 : "Records the sensor announced (hello, batches) that the console has not applied yet; sensors "
			   "connected to this node");
		for (int i = 0; i < PQntuples(res) && mc->nlags; i++) {
			struct metrics_lag key, *lg;
			struct metrics_label l[2] = { { "sensor_id", PQgetvalue(res, i, S_ID) },
						      { "sensor", PQgetvalue(res, i, S_NAME) } };
			snprintf(key.sensor_id, sizeof(key.sensor_id), "%s", PQgetvalue(res, i, S_ID));
			if (!(lg = bsearch(&key, mc->lags, mc->nlags, sizeof(*mc->lags), lag_cmp)))
				continue;
			if (pass)
				metrics_text_sample(m, name, l, 2,
						    lg->behind_since_usec && now > lg->behind_since_usec
							    ? (double)(now - lg->behind_since_usec) / 1e6 : 0.0);
			else
				metrics_text_sample_u64(m, name, l, 2,
							lg->known_seq > lg->applied_seq ? lg->known_seq - lg->applied_seq
											: 0);
		}
	}
}

static void sensor_families(struct metrics_text *m, PGresult *res, struct metrics_counters *mc)
{
	uint64_t connected = 0, silent = 0;
	int n = PQntuples(res);

	for (int i = 0; i < n; i++) {
		connected += PQgetvalue(res, i, S_CONNECTED)[0] == 't';
		silent += PQgetvalue(res, i, S_SILENT)[0] == 't';
	}
	fam(m, "otwatch_sensors_known", METRICS_GAUGE, "Sensors enrolled and not revoked (in the caller's scope).");
	metrics_text_sample_u64(m, "otwatch_sensors_known", NULL, 0, (uint64_t)n);
	fam(m, "otwatch_sensors_connected", METRICS_GAUGE, "Sensors connected to any console node.");
	metrics_text_sample_u64(m, "otwatch_sensors_connected", NULL, 0, connected);
	fam(m, "otwatch_sensors_silent", METRICS_GAUGE, "Sensors unseen for longer than sensor_silent_sec.");
	metrics_text_sample_u64(m, "otwatch_sensors_silent", NULL, 0, silent);
	fam(m, "otwatch_gateway_sensor_sessions", METRICS_GAUGE,
	    "Welcomed sensor connections on this node (node-wide, whatever the caller's scope).");
	metrics_text_sample_u64(m, "otwatch_gateway_sensor_sessions", NULL, 0, mc->nlags);

	per_sensor_bool(m, res, S_CONNECTED, "otwatch_sensor_connected", "1 while the sensor is connected.");
	per_sensor_bool(m, res, S_SILENT, "otwatch_sensor_silent", "1 while the sensor is silent (an alert was raised).");
	per_sensor(m, res, S_SEEN_AGE, "otwatch_sensor_last_seen_age_seconds", METRICS_GAUGE,
		   "Seconds since the console last heard from the sensor (hello or batch).");
	per_sensor(m, res, S_APPLIED, "otwatch_sensor_applied_seq", METRICS_GAUGE,
		   "Highest journal seq of the sensor the console applied.");
	per_sensor(m, res, S_RECORDS, "otwatch_sensor_records_applied_total", METRICS_COUNTER,
		   "Records of the sensor the console applied, ever.");
	lag_families(m, res, mc);
	per_sensor(m, res, S_CPU, "otwatch_sensor_cpu_percent", METRICS_GAUGE,
		   "Host CPU busy on the sensor, percent, averaged over its last health interval.");
	per_sensor(m, res, S_PROC_CPU, "otwatch_sensor_process_cpu_percent", METRICS_GAUGE,
		   "CPU of the sensor process, percent of one core, over its last health interval.");
	per_sensor(m, res, S_RSS, "otwatch_sensor_memory_rss_bytes", METRICS_GAUGE, "Resident memory of the sensor process.");
	per_sensor(m, res, S_MEM_TOTAL, "otwatch_sensor_memory_total_bytes", METRICS_GAUGE, "Memory of the sensor host.");
	per_sensor(m, res, S_MEM_AVAIL, "otwatch_sensor_memory_available_bytes", METRICS_GAUGE,
		   "Memory available on the sensor host.");
	per_sensor(m, res, S_DISK_FREE, "otwatch_sensor_disk_free_bytes", METRICS_GAUGE,
		   "Free space (for unprivileged use) of the file system holding the sensor's journal.");
	per_sensor(m, res, S_DISK_TOTAL, "otwatch_sensor_disk_total_bytes", METRICS_GAUGE,
		   "Size of the file system holding the sensor's journal.");
	per_sensor(m, res, S_PACKETS, "otwatch_sensor_capture_packets_total", METRICS_COUNTER,
		   "Packets the sensor process handled (as of its latest health record).");
	per_sensor(m, res, S_DROPS, "otwatch_sensor_capture_drops_total", METRICS_COUNTER,
		   "Packets the sensor's capture dropped, kernel and interface (as of its latest health record).");
	per_sensor(m, res, S_JB_RECORDS, "otwatch_sensor_journal_backlog_records", METRICS_GAUGE,
		   "Records in the sensor's journal not yet acknowledged (as of its latest health record).");
	per_sensor(m, res, S_JB_BYTES, "otwatch_sensor_journal_backlog_bytes", METRICS_GAUGE,
		   "Bytes of the sensor's journal on disk (as of its latest health record).");
	per_sensor(m, res, S_UPTIME, "otwatch_sensor_uptime_seconds", METRICS_GAUGE,
		   "Uptime of the sensor process (as of its latest health record).");
	per_sensor(m, res, S_HEALTH_AGE, "otwatch_sensor_health_age_seconds", METRICS_GAUGE,
		   "Seconds since the sensor's latest health record was applied.");
}

static void ingest_families(struct metrics_text *m, const struct metrics_counters *mc)
{
	char no[16];
	struct metrics_label l = { "writer", no };

	fam(m, "otwatch_ingest_records_applied_total", METRICS_COUNTER,
	    "Sensor records this node's ingest writers committed (rate() gives rows per second).");
	metrics_text_sample_u64(m, "otwatch_ingest_records_applied_total", NULL, 0, mc->records);
	fam(m, "otwatch_ingest_batches_applied_total", METRICS_COUNTER, "Sensor batches this node's writers committed.");
	metrics_text_sample_u64(m, "otwatch_ingest_batches_applied_total", NULL, 0, mc->batches);
	fam(m, "otwatch_ingest_queue_batches", METRICS_GAUGE, "Batches waiting for each ingest writer of this node.");
	for (unsigned i = 0; i < mc->writers; i++) {
		snprintf(no, sizeof(no), "%u", i);
		metrics_text_sample_u64(m, "otwatch_ingest_queue_batches", &l, 1, mc->queue_batches[i]);
	}
	fam(m, "otwatch_ingest_queue_bytes", METRICS_GAUGE, "Wire bytes of the batches waiting for each writer.");
	for (unsigned i = 0; i < mc->writers; i++) {
		snprintf(no, sizeof(no), "%u", i);
		metrics_text_sample_u64(m, "otwatch_ingest_queue_bytes", &l, 1, mc->queue_bytes[i]);
	}
	fam(m, "otwatch_ingest_transaction_seconds", METRICS_HISTOGRAM,
	    "Time of the ingest writers' database transactions (one per batch or group commit): the database "
	    "latency the sensors see.");
	metrics_text_histogram(m, "otwatch_ingest_transaction_seconds", NULL, 0, metrics_tx_bounds, mc->tx_buckets,
			       METRICS_TX_BOUNDS, mc->tx_overflow, mc->tx_sum_sec);
}

static void http_families(struct metrics_text *m, const struct metrics_counters *mc)
{
	static const char *const classes[] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx" };

	fam(m, "otwatch_http_responses_total", METRICS_COUNTER, "API answers of this node by status class.");
	for (size_t i = 1; i < 6; i++) {
		struct metrics_label l = { "code", classes[i] };
		metrics_text_sample_u64(m, "otwatch_http_responses_total", &l, 1, mc->http[i]);
	}
}

/* Forwarding rules (unrestricted callers: the rules are console-wide). Skipped before sql/013 exists. */
static void forwarding_families(struct metrics_text *m, PGconn *db, bool show)
{
	PGresult *chk = NULL, *res = NULL;

	if (show && (chk = db_exec(db, "select to_regclass('forwarding_outbox') is not null", 0, NULL)) &&
	    PQgetvalue(chk, 0, 0)[0] == 't')
		res = db_exec(db, rules_sql, 0, NULL);
	PQclear(chk);
	for (int f = 0; f < 3; f++) {
		static const char *const names[] = { "otwatch_forwarding_backlog", "otwatch_forwarding_delivered_total",
						     "otwatch_forwarding_last_error_timestamp_seconds" };
		static const char *const helps[] = {
			"Deliveries waiting in each forwarding rule's outbox.",
			"Deliveries each forwarding rule completed.",
			"When each forwarding rule last failed to deliver (Unix time; absent: never).",
		};
		fam(m, names[f], f == 1 ? METRICS_COUNTER : METRICS_GAUGE, helps[f]);
		for (int i = 0; res && i < PQntuples(res); i++) {
			struct metrics_label l[2] = { { "rule_id", PQgetvalue(res, i, 0) },
						      { "rule", PQgetvalue(res, i, 1) } };
			if (PQgetisnull(res, i, 2 + f))
				continue;
			metrics_text_sample(m, names[f], l, 2, strtod(PQgetvalue(res, i, 2 + f), NULL));
		}
	}
	PQclear(res);
}

void api_metrics_get(struct api_call *c, PGconn *db)
{
	struct metrics_counters mc;
	struct metrics_text m;
	struct metrics_label ver = { "version", OTW_VERSION };
	const char *scope = api_scope(c);
	PGresult *ping, *sensors = NULL;
	int64_t t0 = mono_usec(), ping_usec;
	size_t len;
	char *doc;
	bool ping_ok;

	metrics_snapshot(&mc);
	metrics_text_init(&m);
	ping = db_exec(db, "select 1", 0, NULL);
	ping_usec = mono_usec() - t0;
	ping_ok = ping != NULL;
	PQclear(ping);
	if (!ping_ok || !(sensors = db_exec(db, sensors_sql, 1, &scope))) {
		api_fail_db(c);
		goto out;
	}
	fam(&m, "otwatch_build_info", METRICS_GAUGE, "The console's version.");
	metrics_text_sample_u64(&m, "otwatch_build_info", &ver, 1, 1);
	fam(&m, "otwatch_db_ping_seconds", METRICS_GAUGE, "Round trip of a trivial query from a worker at this scrape.");
	metrics_text_sample(&m, "otwatch_db_ping_seconds", NULL, 0, (double)ping_usec / 1e6);
	sensor_families(&m, sensors, &mc);
	ingest_families(&m, &mc);
	forwarding_families(&m, db, scope == NULL);
	http_families(&m, &mc);
	if (!(doc = metrics_text_take(&m, &len))) {
		api_fail(c, 500, "internal", NULL, "internal error");
		goto out;
	}
	c->status = 200;
	c->resp_text = doc;
	c->resp_len = len;
	c->resp_type = METRICS_CONTENT_TYPE;
out:
	metrics_text_free(&m);
	PQclear(sensors);
	free(mc.lags);
}
