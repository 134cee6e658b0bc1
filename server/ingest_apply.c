#include "server/ingest_apply.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timefmt.h"
#include "server/wire_dpi.h"

/* Statements are sent in pipeline mode, in chunks: the results of a chunk must fit the socket buffers, or a
 * blocking client and the server would wait on each other (libpq "Pipeline Mode", interaction with blocking). */
#define PIPELINE_CHUNK 200

static const struct {
	const char *name, *sql;
} stmts[] = {
	{ "otw_lock", "select applied_seq, zone_id from sensors where id = $1::uuid for update" },
	{ "otw_advance",
	  "update sensors set applied_seq = $2, last_seen = now(), records_applied = records_applied + $3::bigint,"
	  " records_digest = (records_digest + $4::numeric) % 18446744073709551616 where id = $1::uuid" },
	{ "otw_hello",
	  "select applied_seq, revoked_at is null,"
	  " coalesce(ltrim(lower(cert_serial), '0') = ltrim(lower($2), '0'), false),"
	  " exists (select 1 from revoked_certificates r where ltrim(lower(r.serial), '0') = ltrim(lower($2), '0'))"
	  " from sensors where id = $1::uuid" },
	{ "otw_connected",
	  "update sensors set connected = true, last_seen = now(), software_version = $2, mode = $3, updated_at = now()"
	  " where id = $1::uuid" },
	{ "otw_bye", "update sensors set connected = false where id = $1::uuid" },
	/* A device record is this sensor's whole view of the device: its address/protocol rows and its DPI report
	 * ($15) are replaced. Deleting what is not in the new set and inserting the new set touch disjoint rows, so
	 * both run in one statement (data-modifying CTEs see one snapshot and must not touch the same row twice). */
	{ "otw_device",
	  "with d as ("
	  " insert into devices as o (merge_scope, zone_id, key, type, vendor, hostname, first_seen, last_seen)"
	  " values ($1, $2::bigint, $3, $4, $5, $6, $7::timestamptz, $8::timestamptz)"
	  " on conflict (merge_scope, key) do update set type = coalesce(excluded.type, o.type),"
	  "  vendor = coalesce(excluded.vendor, o.vendor), hostname = coalesce(excluded.hostname, o.hostname),"
	  "  first_seen = least(o.first_seen, excluded.first_seen),"
	  "  last_seen = greatest(o.last_seen, excluded.last_seen), updated_at = now()"
	  " returning id),"
	  "s as (insert into device_sightings as o (device_id, sensor_id, first_seen, last_seen, report)"
	  " select id, $9::uuid, $7::timestamptz, $8::timestamptz, $15::jsonb from d"
	  " on conflict (device_id, sensor_id) do update set first_seen = least(o.first_seen, excluded.first_seen),"
	  "  last_seen = greatest(o.last_seen, excluded.last_seen), report = excluded.report),"
	  "md as (delete from device_macs x using d where x.device_id = d.id and x.sensor_id = $9::uuid"
	  " and x.mac <> all ($10::macaddr[])),"
	  "mi as (insert into device_macs (device_id, sensor_id, mac) select distinct d.id, $9::uuid, u"
	  " from d, unnest($10::macaddr[]) u on conflict do nothing),"
	  "id_ as (delete from device_ips x using d where x.device_id = d.id and x.sensor_id = $9::uuid"
	  " and x.ip <> all ($11::inet[])),"
	  "ii as (insert into device_ips (device_id, sensor_id, ip) select distinct d.id, $9::uuid, u"
	  " from d, unnest($11::inet[]) u on conflict do nothing),"
	  "vd as (delete from device_vlans x using d where x.device_id = d.id and x.sensor_id = $9::uuid"
	  " and x.vlan <> all ($12::integer[])),"
	  "vi as (insert into device_vlans (device_id, sensor_id, vlan) select distinct d.id, $9::uuid, u"
	  " from d, unnest($12::integer[]) u on conflict do nothing),"
	  "pd as (delete from device_protocols x using d where x.device_id = d.id and x.sensor_id = $9::uuid"
	  " and not exists (select 1 from unnest($13::text[], $14::text[]) n(name, role)"
	  "  where n.name = x.name and n.role = x.role))"
	  "insert into device_protocols (device_id, sensor_id, name, role) select distinct d.id, $9::uuid, n.name, n.role"
	  " from d, unnest($13::text[], $14::text[]) n(name, role) on conflict do nothing" },
	/* Counters are increments; exactly-once application makes their sum the sensor's total. Function codes
	 * ($13..$15: proto, code, name) are a set: the record's are added to the stored ones. */
	{ "otw_connection",
	  "with c as ("
	  " insert into connections as o (merge_scope, zone_id, transport, src_addr, dst_addr, port, protocols,"
	  "  first_seen, last_seen)"
	  " values ($1, $2::bigint, $3, $4, $5, $6::integer, array(select distinct unnest($7::text[]) order by 1),"
	  "  $8::timestamptz, $9::timestamptz)"
	  " on conflict (merge_scope, transport, src_addr, dst_addr, port) do update set"
	  "  protocols = array(select distinct unnest(o.protocols || excluded.protocols) order by 1),"
	  "  first_seen = least(o.first_seen, excluded.first_seen), last_seen = greatest(o.last_seen, excluded.last_seen),"
	  "  updated_at = now()"
	  " returning id),"
	  "f as (insert into connection_functions as o (connection_id, proto, code, name)"
	  " select distinct on (u.p, u.k) c.id, u.p, u.k, u.n from c, unnest($13::text[], $14::bigint[], $15::text[]) u(p, k, n)"
	  " order by u.p, u.k, u.n nulls last"
	  " on conflict (connection_id, proto, code) do update set name = coalesce(excluded.name, o.name)"
	  " where excluded.name is distinct from o.name and excluded.name is not null)"
	  "insert into connection_sightings as o (connection_id, sensor_id, packets, bytes, first_seen, last_seen)"
	  " select id, $10::uuid, $11::bigint, $12::bigint, $8::timestamptz, $9::timestamptz from c"
	  " on conflict (connection_id, sensor_id) do update set packets = o.packets + excluded.packets,"
	  "  bytes = o.bytes + excluded.bytes, first_seen = least(o.first_seen, excluded.first_seen),"
	  "  last_seen = greatest(o.last_seen, excluded.last_seen)" },
	/* Withdraws this sensor's view of a device; the device goes when no other sensor still reports it and no
	 * device was merged into it (its remaining child rows go by the foreign keys' cascade). */
	{ "otw_device_remove",
	  "with d as (select id from devices where merge_scope = $1 and key = $2),"
	  "a as (delete from device_macs x using d where x.device_id = d.id and x.sensor_id = $3::uuid),"
	  "b as (delete from device_ips x using d where x.device_id = d.id and x.sensor_id = $3::uuid),"
	  "c as (delete from device_vlans x using d where x.device_id = d.id and x.sensor_id = $3::uuid),"
	  "e as (delete from device_protocols x using d where x.device_id = d.id and x.sensor_id = $3::uuid),"
	  "f as (delete from device_sightings x using d where x.device_id = d.id and x.sensor_id = $3::uuid)"
	  "delete from devices x using d where x.id = d.id and not exists"
	  " (select 1 from device_sightings s where s.device_id = d.id and s.sensor_id <> $3::uuid)"
	  " and not exists (select 1 from devices m where m.merged_into = d.id)" },
	{ "otw_health",
	  "insert into sensor_events (sensor_id, seq, at, kind, details)"
	  " values ($1::uuid, $2::bigint, $3::timestamptz, $4, $5::jsonb)" },
	/* DPI events and violations: one counter row per sensor, kind, protocol, name and endpoints; the count is
	 * an increment. A time the sensor did not have falls back to the other one. */
	{ "otw_dpi_event",
	  "insert into dpi_events as o (sensor_id, kind, proto, name, src_addr, dst_addr, count, first_seen, last_seen,"
	  " detail) values ($1::uuid, $2, $3, $4, $5, $6, $7::bigint,"
	  " coalesce($8::timestamptz, $9::timestamptz, now()), coalesce($9::timestamptz, $8::timestamptz, now()), $10)"
	  " on conflict (sensor_id, kind, proto, name, src_addr, dst_addr) do update set count = o.count + excluded.count,"
	  "  first_seen = least(o.first_seen, excluded.first_seen), last_seen = greatest(o.last_seen, excluded.last_seen),"
	  "  detail = coalesce(excluded.detail, o.detail), received_at = now()" },
	/* An alert record: suppression, zone dedupe and the lifecycle are the database's (sql/006_alerts.sql). */
	{ "otw_alert",
	  "select otw_alert_ingest($1::uuid, $2::bigint, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::bigint,"
	  " $14::timestamptz, $15::timestamptz, $16::jsonb, $17)" },
};

/* Maps a failed result to the outcome codes of the header. */
static int classify(PGconn *c, const PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (PQstatus(c) == CONNECTION_BAD || !state || strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0) {
		log_warn("ingest: %s: database connection lost", what);
		return -EIO;
	}
	/* Only the primary message: DETAIL can quote row values. */
	log_warn("ingest: %s: %s (sqlstate %s)", what, msg ? msg : "error", state);
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
		return -EAGAIN;
	return -EPROTO;
}

static bool res_ok(const PGresult *res)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

int ingest_apply_prepare(PGconn *c)
{
	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		PGresult *res = PQprepare(c, stmts[i].name, stmts[i].sql, 0, NULL);
		int rc = res_ok(res) ? 0 : classify(c, res, stmts[i].name);
		PQclear(res);
		if (rc)
			return rc;
	}
	return 0;
}

/* Runs one prepared statement outside a pipeline; the result (ok) is returned, or NULL with *rc set. */
static PGresult *exec_prepared(PGconn *c, const char *name, int n, const char *const *params, int *rc)
{
	PGresult *res = PQexecPrepared(c, name, n, params, NULL, NULL, 0);

	if (res_ok(res))
		return res;
	*rc = classify(c, res, name);
	PQclear(res);
	return NULL;
}

static int exec_simple(PGconn *c, const char *sql)
{
	int rc = 0;
	PGresult *res = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);

	if (!res_ok(res))
		rc = classify(c, res, sql);
	PQclear(res);
	return rc;
}

static void rollback(PGconn *c)
{
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "rollback"));
}

int ingest_apply_hello(PGconn *c, const char *sensor_id, const char *serial, const struct wire_msg *hello,
		       uint64_t *applied_seq)
{
	const char *p[3] = { sensor_id, serial, NULL };
	PGresult *res;
	int rc = 0;

	res = exec_prepared(c, "otw_hello", 2, p, &rc);
	if (!res)
		return rc;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 1), "t") != 0 || strcmp(PQgetvalue(res, 0, 2), "t") != 0 ||
	    strcmp(PQgetvalue(res, 0, 3), "f") != 0) {
		rc = -EPERM;
		goto out;
	}
	*applied_seq = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	p[1] = hello->u.hello.version;
	p[2] = hello->u.hello.mode;
	res = exec_prepared(c, "otw_connected", 3, p, &rc);
out:
	PQclear(res);
	return rc;
}

int ingest_apply_bye(PGconn *c, const char *sensor_id)
{
	int rc = 0;
	PGresult *res = exec_prepared(c, "otw_bye", 1, &sensor_id, &rc);
	PQclear(res);
	return rc;
}

/* ---- building parameters ---- */

/* A growing text buffer; `oom` latches the first allocation failure. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (n + 1 > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		while (n + 1 > cap - b->len) {
			if (cap > SIZE_MAX / 2) {
				b->oom = true;
				return;
			}
			cap *= 2;
		}
		char *np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

/* One element of a PostgreSQL array literal: always quoted, with " and \ escaped. */
static void sb_array_elem(struct sbuf *b, const char *s)
{
	sb_putn(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			sb_putn(b, "\\", 1);
		sb_putn(b, s, 1);
	}
	sb_putn(b, "\"", 1);
}

/* Parameters of one statement; the strings live in `text`, addressed by offsets until the statement is sent
 * (the buffer may move while it grows). */
#define MAX_PARAMS 20
struct stmt_params {
	struct sbuf text;
	size_t off[MAX_PARAMS];
	bool null[MAX_PARAMS];
	int n;
};

static void sp_reset(struct stmt_params *sp)
{
	sp->text.len = 0;
	sp->n = 0;
}

static void sp_begin(struct stmt_params *sp, bool is_null)
{
	sp->off[sp->n] = sp->text.len;
	sp->null[sp->n] = is_null;
	sp->n++;
}

/* Each parameter keeps its NUL inside the buffer. */
static void sp_end(struct stmt_params *sp) { sb_putn(&sp->text, "", 1); }

static void sp_str(struct stmt_params *sp, const char *s)
{
	sp_begin(sp, s == NULL);
	if (s)
		sb_puts(&sp->text, s);
	sp_end(sp);
}

static void sp_i64(struct stmt_params *sp, int64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	sp_str(sp, buf);
}

static void sp_time(struct stmt_params *sp, int64_t usec)
{
	char buf[TIMEFMT_LEN];
	sp_str(sp, timefmt_rfc3339_ms(usec, buf));
}

/* A JSON array (strings or integers) as a PostgreSQL array literal. `field` picks a member of object entries;
 * a null or missing one is NULL. */
static void sp_array(struct sbuf *b, json_t *arr, const char *field)
{
	size_t i;
	json_t *v;
	char num[24];

	sb_putn(b, "{", 1);
	json_array_foreach(arr, i, v) {
		if (i)
			sb_putn(b, ",", 1);
		if (field)
			v = json_object_get(v, field);
		if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			sb_array_elem(b, num);
		} else if (json_is_string(v)) {
			sb_array_elem(b, json_string_value(v));
		} else {
			sb_putn(b, "NULL", 4);
		}
	}
	sb_putn(b, "}", 1);
}

static void sp_arr(struct stmt_params *sp, json_t *arr, const char *field)
{
	sp_begin(sp, false);
	sp_array(&sp->text, arr, field);
	sp_end(sp);
}

/* Canonical address text, so that two sensors (or two spellings) name one device and one connection:
 * lowercase MACs and inet_ntop's IPs. */
static void canon_addr(const char *s, char out[64])
{
	unsigned char bin[16];

	if (inet_pton(AF_INET, s, bin) == 1 && inet_ntop(AF_INET, bin, out, 64))
		return;
	if (inet_pton(AF_INET6, s, bin) == 1 && inet_ntop(AF_INET6, bin, out, 64))
		return;
	snprintf(out, 64, "%s", s);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

static void canon_key(const char *key, char out[72])
{
	char addr[64];
	const char *colon = strchr(key, ':');

	canon_addr(colon + 1, addr);
	snprintf(out, 72, "%.*s:%s", (int)(colon - key), key, addr);
}

static void sp_canon(struct stmt_params *sp, const char *addr)
{
	char buf[64];

	if (!addr) {
		sp_str(sp, NULL);
		return;
	}
	canon_addr(addr, buf);
	sp_str(sp, buf);
}

static const char *dpi_event_params(struct stmt_params *sp, const struct wire_record *r, const char *sensor_id)
{
	const struct wire_event *ev = &r->u.ev;

	sp_str(sp, sensor_id);
	sp_str(sp, r->kind == WIRE_REC_VIOLATION ? "violation" : "event");
	sp_str(sp, ev->proto);
	sp_str(sp, ev->name);
	sp_canon(sp, ev->src);
	sp_canon(sp, ev->dst);
	sp_i64(sp, ev->count);
	if (ev->first_seen)
		sp_time(sp, ev->first_seen);
	else
		sp_str(sp, NULL);
	if (ev->last_seen)
		sp_time(sp, ev->last_seen);
	else
		sp_str(sp, NULL);
	sp_str(sp, ev->detail);
	return "otw_dpi_event";
}

static const char *alert_params(struct stmt_params *sp, const struct wire_record *r, const char *zone,
				const char *sensor_id)
{
	const struct wire_alert *al = &r->u.alert;
	char *learn = al->learn ? json_dumps(al->learn, JSON_COMPACT) : NULL;

	if (al->learn && !learn) {
		sp->text.oom = true;
		return "otw_alert";
	}
	sp_str(sp, sensor_id);
	sp_str(sp, zone);
	sp_str(sp, al->engine);
	sp_str(sp, al->severity);
	sp_str(sp, al->title);
	sp_str(sp, al->message);
	sp_str(sp, al->remediation);
	sp_str(sp, al->protocol);
	sp_canon(sp, al->src);
	sp_canon(sp, al->dst);
	sp_canon(sp, al->src_mac);
	sp_canon(sp, al->dst_mac);
	sp_i64(sp, al->count);
	sp_time(sp, al->first_seen);
	sp_time(sp, al->last_seen);
	sp_str(sp, learn);
	sp_str(sp, al->evidence);
	free(learn);
	return "otw_alert";
}

/* Fills the parameters of one record's statement and returns its name. `rec` is the record's JSON object. */
static const char *record_params(struct stmt_params *sp, const struct wire_record *r, json_t *rec, const char *scope,
				 const char *zone, const char *sensor_id)
{
	char buf[72];

	sp_reset(sp);
	switch (r->kind) {
	case WIRE_REC_EVENT:
	case WIRE_REC_VIOLATION: return dpi_event_params(sp, r, sensor_id);
	case WIRE_REC_ALERT: return alert_params(sp, r, zone, sensor_id);
	case WIRE_REC_DEVICE: {
		const struct wire_device *d = &r->u.dev;
		char *report = wire_dpi_device_report(d, rec);
		if (!report) {
			sp->text.oom = true;
			return "otw_device";
		}
		canon_key(d->key, buf);
		sp_str(sp, scope);
		sp_str(sp, zone);
		sp_str(sp, buf);
		sp_str(sp, d->type);
		sp_str(sp, d->vendor);
		sp_str(sp, d->hostname);
		sp_time(sp, d->first_seen);
		sp_time(sp, d->last_seen);
		sp_str(sp, sensor_id);
		sp_arr(sp, d->macs, NULL);
		sp_arr(sp, d->ips, NULL);
		sp_arr(sp, d->vlans, NULL);
		sp_arr(sp, d->protocols, "name");
		sp_arr(sp, d->protocols, "role");
		sp_str(sp, report);
		free(report);
		return "otw_device";
	}
	case WIRE_REC_CONNECTION: {
		const struct wire_connection *cn = &r->u.conn;
		sp_str(sp, scope);
		sp_str(sp, zone);
		sp_str(sp, wire_transport_name(cn->transport));
		canon_addr(cn->src_addr, buf);
		sp_str(sp, buf);
		canon_addr(cn->dst_addr, buf);
		sp_str(sp, buf);
		if (cn->port < 0)
			sp_str(sp, NULL);
		else
			sp_i64(sp, cn->port);
		sp_arr(sp, cn->protocols, NULL);
		sp_time(sp, cn->first_seen);
		sp_time(sp, cn->last_seen);
		sp_str(sp, sensor_id);
		sp_i64(sp, cn->packets);
		sp_i64(sp, cn->bytes);
		sp_arr(sp, json_object_get(rec, "functions"), "proto");
		sp_arr(sp, json_object_get(rec, "functions"), "code");
		sp_arr(sp, json_object_get(rec, "functions"), "name");
		return "otw_connection";
	}
	case WIRE_REC_HEALTH: {
		json_t *details = json_deep_copy(r->u.health.obj);
		char *txt;
		json_object_del(details, "seq");
		json_object_del(details, "kind");
		json_object_del(details, "at");
		json_object_del(details, "event");
		txt = json_dumps(details, JSON_COMPACT);
		json_decref(details);
		if (!txt) {
			sp->text.oom = true;
			return "otw_health";
		}
		sp_str(sp, sensor_id);
		sp_i64(sp, (int64_t)r->seq);
		sp_time(sp, r->u.health.at);
		sp_str(sp, r->u.health.event);
		sp_str(sp, txt);
		free(txt);
		return "otw_health";
	}
	case WIRE_REC_DEVICE_REMOVE:
		canon_key(r->u.dev_remove.key, buf);
		sp_str(sp, scope);
		sp_str(sp, buf);
		sp_str(sp, sensor_id);
		return "otw_device_remove";
	}
	return NULL;
}

/* Reads the results of `nsent` pipelined statements and their sync point; returns the first failure. */
static int pipeline_collect(PGconn *c, int nsent)
{
	int rc = 0, nulls = 0;

	for (;;) {
		PGresult *res = PQgetResult(c);
		if (!res) {
			/* A NULL ends each statement's results; more NULLs than statements means the link broke. */
			if (++nulls > nsent + 1 || PQstatus(c) == CONNECTION_BAD)
				return rc ? rc : -EIO;
			continue;
		}
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			return rc;
		}
		if (!rc && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
			rc = st == PGRES_PIPELINE_ABORTED ? -EPROTO : classify(c, res, "batch");
		PQclear(res);
	}
}

/* Sends the records with seq > applied (and the advance of applied_seq) in pipelined chunks. */
static int apply_records(PGconn *c, const char *sensor_id, const struct wire_msg *m, uint64_t applied,
			 const char *zone, uint64_t ack)
{
	char scope[48], ackbuf[24], nbuf[24], digbuf[24];
	uint64_t napplied = 0, digest = 0;
	struct stmt_params sp = { 0 };
	const char *vals[MAX_PARAMS];
	int rc = 0, nsent = 0;

	if (zone)
		snprintf(scope, sizeof(scope), "z:%s", zone);
	else
		snprintf(scope, sizeof(scope), "s:%s", sensor_id);
	if (PQenterPipelineMode(c) != 1)
		return -EIO;
	for (size_t i = 0; i <= m->u.batch.nrecords && !rc; i++) {
		const char *name;
		if (i < m->u.batch.nrecords) {
			const struct wire_record *r = &m->u.batch.records[i];
			json_t *rec = wire_dpi_record(m, i);
			uint64_t d;
			if (r->seq <= applied)
				continue;
			if (!wire_record_digest(rec, &d)) {
				rc = -ENOMEM;
				break;
			}
			napplied++;
			digest += d;
			name = record_params(&sp, r, rec, scope, zone, sensor_id);
		} else {
			snprintf(ackbuf, sizeof(ackbuf), "%" PRIu64, ack);
			snprintf(nbuf, sizeof(nbuf), "%" PRIu64, napplied);
			snprintf(digbuf, sizeof(digbuf), "%" PRIu64, digest);
			sp_reset(&sp);
			sp_str(&sp, sensor_id);
			sp_str(&sp, ackbuf);
			sp_str(&sp, nbuf);
			sp_str(&sp, digbuf);
			name = "otw_advance";
		}
		if (sp.text.oom) {
			rc = -ENOMEM;
			break;
		}
		for (int k = 0; k < sp.n; k++)
			vals[k] = sp.null[k] ? NULL : sp.text.p + sp.off[k];
		if (PQsendQueryPrepared(c, name, sp.n, vals, NULL, NULL, 0) != 1) {
			rc = -EIO;
			break;
		}
		if (++nsent == PIPELINE_CHUNK || i == m->u.batch.nrecords) {
			if (PQpipelineSync(c) != 1) {
				rc = -EIO;
				break;
			}
			rc = pipeline_collect(c, nsent);
			nsent = 0;
		}
	}
	/* Only a failure leaves statements unsynced; their results must be read before leaving the pipeline. */
	if (nsent && PQpipelineSync(c) == 1)
		(void)pipeline_collect(c, nsent);
	if (PQexitPipelineMode(c) != 1 && !rc)
		rc = -EIO;
	free(sp.text.p);
	return rc;
}

int ingest_apply_batch(PGconn *c, const char *sensor_id, const struct wire_msg *m, uint64_t *ack_seq)
{
	char zone[24] = "";
	uint64_t applied, ack;
	PGresult *res;
	int rc = 0;

	if ((rc = exec_simple(c, "begin")))
		return rc;
	res = exec_prepared(c, "otw_lock", 1, &sensor_id, &rc);
	if (!res)
		goto out;
	if (PQntuples(res) != 1) {
		PQclear(res);
		rc = -EPERM;
		goto out;
	}
	applied = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	if (!PQgetisnull(res, 0, 1))
		snprintf(zone, sizeof(zone), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	ack = applied > m->u.batch.seq_to ? applied : m->u.batch.seq_to;
	if (applied < m->u.batch.seq_to &&
	    (rc = apply_records(c, sensor_id, m, applied, zone[0] ? zone : NULL, ack)))
		goto out;
	if ((rc = exec_simple(c, "commit")))
		goto out;
	*ack_seq = ack;
out:
	if (rc)
		rollback(c);
	return rc;
}
