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
#include "server/ingest_params.h"
#include "server/ingest_sets.h"
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
	/* The serial must be the sensor's current certificate or its renewed (next) one, and not revoked. */
	{ "otw_hello",
	  "select applied_seq, revoked_at is null,"
	  " coalesce(ltrim(lower(cert_serial), '0') = ltrim(lower($2), '0'), false)"
	  "  or coalesce(ltrim(lower(next_cert_serial), '0') = ltrim(lower($2), '0'), false),"
	  " exists (select 1 from revoked_certificates r where ltrim(lower(r.serial), '0') = ltrim(lower($2), '0')),"
	  " coalesce(ltrim(lower(next_cert_serial), '0') = ltrim(lower($2), '0'), false)"
	  " from sensors where id = $1::uuid" },
	{ "otw_cert_promote", "select otw_cert_promote($1::uuid)" },
	/* One live-events summary per batch (sql/010_events.sql), sent at commit. */
	{ "otw_events", "select otw_events_ingest($1::uuid, $2::bigint, $3::int, $4::int, $5::int)" },
	{ "otw_connected",
	  "update sensors set connected = true, last_seen = now(), software_version = $2, mode = $3, updated_at = now()"
	  " where id = $1::uuid" },
	{ "otw_bye", "update sensors set connected = false where id = $1::uuid" },
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
	return ingest_sets_prepare(c);
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
	bool promote;
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
	promote = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
	PQclear(res);
	if (promote) {
		/* First connection with a renewed certificate: it becomes current, the old serial is revoked. */
		res = exec_prepared(c, "otw_cert_promote", 1, p, &rc);
		if (!res)
			return rc;
		PQclear(res);
		log_info("sensor %s: renewed certificate %s in use; the previous one is revoked", sensor_id, serial);
	}
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
	case WIRE_REC_DEVICE:
	case WIRE_REC_CONNECTION: break; /* set-based: ingest_sets.c */
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

/* A pipeline of statements in flight, synced and read back every PIPELINE_CHUNK statements. */
struct pipe {
	PGconn *c;
	int nsent;
};

/* Counts `n` statements just sent; syncs and reads the results when the chunk is full or `last`. */
static int pipe_sent(struct pipe *p, int n, bool last)
{
	int rc;

	p->nsent += n;
	if (p->nsent < PIPELINE_CHUNK && !last)
		return 0;
	if (!p->nsent)
		return 0;
	if (PQpipelineSync(p->c) != 1)
		return -EIO;
	rc = pipeline_collect(p->c, p->nsent);
	p->nsent = 0;
	return rc;
}

static int pipe_send(struct pipe *p, struct stmt_params *sp, const char *name, bool last)
{
	const char *vals[MAX_PARAMS];

	if (sp->text.oom)
		return -ENOMEM;
	for (int k = 0; k < sp->n; k++)
		vals[k] = sp->null[k] ? NULL : sp->text.p + sp->off[k];
	if (PQsendQueryPrepared(p->c, name, sp->n, vals, NULL, NULL, 0) != 1)
		return -EIO;
	return pipe_sent(p, 1, last);
}

static int pipe_sets(struct pipe *p, struct ingest_sets *sets, const char *scope, const char *zone,
		     const char *sensor_id)
{
	int n = 0, rc = ingest_sets_send(p->c, sets, scope, zone, sensor_id, &n);
	return rc ? rc : pipe_sent(p, n, false);
}

/* Sends the records with seq > applied (and the advance of applied_seq with the count and digest sum of what was
 * applied) in pipelined chunks. Device and connection records are gathered and written set-based
 * (ingest_sets.h); the other kinds go one statement each, in order. */
static int apply_records(PGconn *c, const char *sensor_id, const struct wire_msg *m, uint64_t applied,
			 const char *zone, uint64_t ack)
{
	char scope[48], ackbuf[24], nbuf[24], digbuf[24];
	uint64_t napplied = 0, digest = 0, ndev = 0, nconn = 0, nalert = 0;
	struct stmt_params sp = { 0 };
	struct pipe p = { c, 0 };
	struct ingest_sets *sets = ingest_sets_new();
	int rc = 0;

	if (!sets)
		return -ENOMEM;
	if (zone)
		snprintf(scope, sizeof(scope), "z:%s", zone);
	else
		snprintf(scope, sizeof(scope), "s:%s", sensor_id);
	if (PQenterPipelineMode(c) != 1) {
		ingest_sets_free(sets);
		return -EIO;
	}
	for (size_t i = 0; i < m->u.batch.nrecords && !rc; i++) {
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
		ndev += r->kind == WIRE_REC_DEVICE || r->kind == WIRE_REC_DEVICE_REMOVE;
		nconn += r->kind == WIRE_REC_CONNECTION;
		nalert += r->kind == WIRE_REC_ALERT;
		switch (r->kind) {
		case WIRE_REC_DEVICE: rc = ingest_sets_add_device(sets, &r->u.dev, rec); continue;
		case WIRE_REC_CONNECTION: rc = ingest_sets_add_connection(sets, &r->u.conn, rec); continue;
		case WIRE_REC_DEVICE_REMOVE:
			/* The device gathered so far must be written before it is withdrawn. */
			if (ingest_sets_has_device(sets, r->u.dev_remove.key) &&
			    (rc = pipe_sets(&p, sets, scope, zone, sensor_id)))
				break;
			/* fall through */
		default: rc = pipe_send(&p, &sp, record_params(&sp, r, rec, scope, zone, sensor_id), false); break;
		}
	}
	if (!rc)
		rc = pipe_sets(&p, sets, scope, zone, sensor_id);
	if (!rc && (ndev || nconn || nalert)) {
		sp_reset(&sp);
		sp_str(&sp, sensor_id);
		sp_str(&sp, zone);
		sp_i64(&sp, (int64_t)ndev);
		sp_i64(&sp, (int64_t)nconn);
		sp_i64(&sp, (int64_t)nalert);
		rc = pipe_send(&p, &sp, "otw_events", false);
	}
	if (!rc) {
		snprintf(ackbuf, sizeof(ackbuf), "%" PRIu64, ack);
		snprintf(nbuf, sizeof(nbuf), "%" PRIu64, napplied);
		snprintf(digbuf, sizeof(digbuf), "%" PRIu64, digest);
		sp_reset(&sp);
		sp_str(&sp, sensor_id);
		sp_str(&sp, ackbuf);
		sp_str(&sp, nbuf);
		sp_str(&sp, digbuf);
		rc = pipe_send(&p, &sp, "otw_advance", true);
	}
	/* Only a failure leaves statements unsynced; their results must be read before leaving the pipeline. */
	if (p.nsent && PQpipelineSync(c) == 1)
		(void)pipeline_collect(c, p.nsent);
	if (PQexitPipelineMode(c) != 1 && !rc)
		rc = -EIO;
	free(sp.text.p);
	ingest_sets_free(sets);
	return rc;
}

/* One batch inside the caller's transaction: locks the sensor's row, applies the records above its applied seq
 * and advances it. *ack_seq gets the seq to acknowledge once the transaction commits. */
static int apply_in_txn(PGconn *c, const char *sensor_id, const struct wire_msg *m, uint64_t *ack_seq)
{
	char zone[24] = "";
	uint64_t applied, ack;
	PGresult *res;
	int rc = 0;

	res = exec_prepared(c, "otw_lock", 1, &sensor_id, &rc);
	if (!res)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return -EPERM;
	}
	applied = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	if (!PQgetisnull(res, 0, 1))
		snprintf(zone, sizeof(zone), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	ack = applied > m->u.batch.seq_to ? applied : m->u.batch.seq_to;
	if (applied < m->u.batch.seq_to && (rc = apply_records(c, sensor_id, m, applied, zone[0] ? zone : NULL, ack)))
		return rc;
	*ack_seq = ack;
	return 0;
}

int ingest_apply_batch(PGconn *c, const char *sensor_id, const struct wire_msg *m, uint64_t *ack_seq)
{
	uint64_t ack = 0;
	int rc;

	if ((rc = exec_simple(c, "begin")))
		return rc;
	if ((rc = apply_in_txn(c, sensor_id, m, &ack)) || (rc = exec_simple(c, "commit"))) {
		rollback(c);
		return rc;
	}
	*ack_seq = ack;
	return 0;
}

int ingest_apply_group(PGconn *c, size_t n, const char *const *sensor_ids, const struct wire_msg *const *batches,
		       uint64_t *ack_seqs, size_t *failed)
{
	int rc;

	*failed = n;
	if ((rc = exec_simple(c, "begin")))
		return rc;
	for (size_t i = 0; i < n; i++) {
		if ((rc = apply_in_txn(c, sensor_ids[i], batches[i], &ack_seqs[i]))) {
			*failed = i;
			rollback(c);
			return rc;
		}
	}
	if ((rc = exec_simple(c, "commit")))
		rollback(c);
	return rc;
}
