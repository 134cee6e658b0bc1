#include "server/ingest_apply.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	/* A group's sensors, locked in id order (two writers never wait on each other in a cycle). */
	{ "otw_lock",
	  "select id::text, applied_seq, zone_id from sensors where id = any ($1::uuid[]) order by id for update" },
	/* The group's advance: per sensor its applied seq and the count and digest sum of what was applied. */
	{ "otw_advance",
	  "update sensors s set applied_seq = u.a, last_seen = now(), records_applied = s.records_applied + u.n,"
	  " records_digest = (s.records_digest + u.d) % 18446744073709551616"
	  " from unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::numeric[]) u(id, a, n, d) where s.id = u.id" },
	/* The serial must be the sensor's current certificate or its renewed (next) one, and not revoked. */
	{ "otw_hello",
	  "select applied_seq, revoked_at is null,"
	  " coalesce(ltrim(lower(cert_serial), '0') = ltrim(lower($2), '0'), false)"
	  "  or coalesce(ltrim(lower(next_cert_serial), '0') = ltrim(lower($2), '0'), false),"
	  " exists (select 1 from revoked_certificates r where ltrim(lower(r.serial), '0') = ltrim(lower($2), '0')),"
	  " coalesce(ltrim(lower(next_cert_serial), '0') = ltrim(lower($2), '0'), false)"
	  " from sensors where id = $1::uuid" },
	{ "otw_cert_promote", "select otw_cert_promote($1::uuid)" },
	/* One live-events summary per sensor of a group transaction (sql/010_events.sql), sent at commit. */
	{ "otw_events",
	  "select otw_events_ingest(u.s, u.z, u.d, u.c, u.a) from unnest($1::uuid[], $2::bigint[], $3::int[], $4::int[],"
	  " $5::int[]) u(s, z, d, c, a) where u.d + u.c + u.a > 0" },
	/* The hello also records its connection (conn_token, hello_at: see sql/014_sensor_health.sql), the journal
	 * head it announced and its address (sql/015_external.sql: the appliance list's OUT_OF_SYNC and
	 * interfaceAddress); unless it is older than the hello of a connection still open (applied late). */
	{ "otw_connected",
	  "update sensors set connected = true, last_seen = now(), software_version = $2, mode = $3, conn_token = $4,"
	  " disconnected_at = null, journal_last_seq = $5::bigint, last_address = $6,"
	  " hello_at = timestamptz 'epoch' + $7::bigint * interval '1 microsecond', updated_at = now()"
	  " where id = $1::uuid and (conn_token is null or hello_at is null"
	  "  or hello_at <= timestamptz 'epoch' + $7::bigint * interval '1 microsecond')" },
	/* Only while the closing connection is the sensor's latest hello; a console's own stop is no disconnection. */
	{ "otw_bye",
	  "update sensors set connected = false, conn_token = null,"
	  " disconnected_at = case when $3::boolean then null else now() end"
	  " where id = $1::uuid and conn_token = $2" },
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
		       const char *conn_token, int64_t hello_at_usec, const char *peer, uint64_t *applied_seq)
{
	const char *p[7] = { sensor_id, serial, NULL, NULL, NULL, NULL, NULL };
	char last_seq[24], hello_at[40];
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
	snprintf(last_seq, sizeof(last_seq), "%llu",
		 (unsigned long long)(hello->u.hello.last_seq > INT64_MAX ? INT64_MAX : hello->u.hello.last_seq));
	p[1] = hello->u.hello.version;
	p[2] = hello->u.hello.mode;
	p[3] = conn_token;
	p[4] = last_seq;
	/* An IPv4 client of a dual-stack listener shows as ::ffff:a.b.c.d: recorded as the IPv4 address it is. */
	p[5] = peer && strncasecmp(peer, "::ffff:", 7) == 0 && strchr(peer + 7, '.') ? peer + 7 : peer;
	/* Exact (microseconds since the epoch), for the comparison with the stored one. */
	snprintf(hello_at, sizeof(hello_at), "%lld", (long long)hello_at_usec);
	p[6] = hello_at;
	res = exec_prepared(c, "otw_connected", 7, p, &rc);
	if (res && strcmp(PQcmdTuples(res), "0") == 0)
		log_info("sensor %s: hello of connection %s applied after a newer one; the sensor stays with that",
			 sensor_id, conn_token);
out:
	PQclear(res);
	return rc;
}

int ingest_apply_bye(PGconn *c, const char *sensor_id, const char *conn_token, bool console_stopping)
{
	const char *p[3] = { sensor_id, conn_token, console_stopping ? "t" : "f" };
	int rc = 0;
	PGresult *res = exec_prepared(c, "otw_bye", 3, p, &rc);
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

static int pipe_sets(struct pipe *p, struct ingest_sets *sets)
{
	int n = 0, rc = ingest_sets_send(p->c, sets, &n);
	if (rc) {
		p->nsent += n; /* sent before the failure: their results must still be read */
		return rc;
	}
	return pipe_sent(p, n, false);
}

/* What one group transaction applied for one sensor: its row's state, then the counts of the advance. */
struct sensor_acc {
	const char *id;
	bool found;
	char zone[24];  /* "" when unassigned */
	char scope[48]; /* "z:<zone>" or "s:<sensor>" */
	struct ingest_owner owner;
	uint64_t applied;
	uint64_t napplied, digest, ndev, nconn, nalert;
};

static bool is_inventory(enum wire_rec_kind k)
{
	return k == WIRE_REC_DEVICE || k == WIRE_REC_CONNECTION || k == WIRE_REC_DEVICE_REMOVE;
}

/* First pass over one batch's records above `applied`: counts them into acc and gathers the device and
 * connection records into the group's sets; a device_remove goes out in its place, after what the sets hold. The other kinds wait for send_others, after the group's sets, so that alerts
 * find the devices of their own group. */
static int gather(struct pipe *p, struct ingest_sets *sets, struct stmt_params *sp, struct sensor_acc *acc,
		  const struct wire_msg *m, uint64_t applied)
{
	int rc = 0;

	for (size_t i = 0; i < m->u.batch.nrecords && !rc; i++) {
		const struct wire_record *r = &m->u.batch.records[i];
		json_t *rec = wire_dpi_record(m, i);
		uint64_t d;

		if (r->seq <= applied)
			continue;
		if (!wire_record_digest(rec, &d))
			return -ENOMEM;
		acc->napplied++;
		acc->digest += d;
		acc->ndev += r->kind == WIRE_REC_DEVICE || r->kind == WIRE_REC_DEVICE_REMOVE;
		acc->nconn += r->kind == WIRE_REC_CONNECTION;
		acc->nalert += r->kind == WIRE_REC_ALERT;
		if (r->kind == WIRE_REC_DEVICE)
			rc = ingest_sets_add_device(sets, &acc->owner, &r->u.dev, rec);
		else if (r->kind == WIRE_REC_CONNECTION)
			rc = ingest_sets_add_connection(sets, &acc->owner, &r->u.conn, rec);
		else if (r->kind == WIRE_REC_DEVICE_REMOVE) {
			/* What was gathered so far (this device, or another sensor's view of it) is written before
			 * the device is withdrawn, as applying the records in order would (removals are rare). */
			if (!ingest_sets_empty(sets))
				rc = pipe_sets(p, sets);
			if (!rc)
				rc = pipe_send(p, sp, record_params(sp, r, rec, acc->scope, acc->owner.zone, acc->id),
					       false);
		}
	}
	return rc;
}

/* Second pass: the batch's events, violations, alerts and health records, one statement each, in order. */
static int send_others(struct pipe *p, struct stmt_params *sp, const struct sensor_acc *acc, const struct wire_msg *m,
		       uint64_t applied)
{
	int rc = 0;

	for (size_t i = 0; i < m->u.batch.nrecords && !rc; i++) {
		const struct wire_record *r = &m->u.batch.records[i];
		if (r->seq <= applied || is_inventory(r->kind))
			continue;
		rc = pipe_send(p, sp, record_params(sp, r, wire_dpi_record(m, i), acc->scope, acc->owner.zone, acc->id),
			       false);
	}
	return rc;
}

/* A PostgreSQL array literal of the accumulators' field (fmt "%s" of id, or a number) into sp. */
static void acc_array(struct stmt_params *sp, const struct sensor_acc *acc, size_t n, int which)
{
	char num[24];

	sp_begin(sp, false);
	sb_putn(&sp->text, "{", 1);
	for (size_t i = 0; i < n; i++) {
		const char *v = num;
		switch (which) {
		case 0: v = acc[i].id; break;
		case 1: snprintf(num, sizeof(num), "%" PRIu64, acc[i].applied); break;
		case 2: snprintf(num, sizeof(num), "%" PRIu64, acc[i].napplied); break;
		case 3: snprintf(num, sizeof(num), "%" PRIu64, acc[i].digest); break;
		case 4: v = acc[i].zone[0] ? acc[i].zone : NULL; break;
		case 5: snprintf(num, sizeof(num), "%" PRIu64, acc[i].ndev); break;
		case 6: snprintf(num, sizeof(num), "%" PRIu64, acc[i].nconn); break;
		case 7: snprintf(num, sizeof(num), "%" PRIu64, acc[i].nalert); break;
		}
		if (i)
			sb_putn(&sp->text, ",", 1);
		if (v)
			sb_array_elem(&sp->text, v);
		else
			sb_putn(&sp->text, "NULL", 4);
	}
	sb_putn(&sp->text, "}", 1);
	sp_end(sp);
}

static int cmp_acc(const void *a, const void *b)
{
	return strcasecmp(((const struct sensor_acc *)a)->id, ((const struct sensor_acc *)b)->id);
}

static struct sensor_acc *acc_find(struct sensor_acc *acc, size_t n, const char *id)
{
	struct sensor_acc key = { .id = id };
	return bsearch(&key, acc, n, sizeof(*acc), cmp_acc);
}

/* Locks the group's sensors' rows (in id order, so two writers never wait on each other in a cycle) and reads
 * their applied seq and zone. -EPERM with *failed set when one is unknown. */
static int lock_sensors(PGconn *c, struct sensor_acc *acc, size_t nacc, size_t n, const char *const *ids,
			size_t *failed)
{
	struct stmt_params sp = { 0 };
	const char *vals[1];
	PGresult *res;
	int rc = 0;

	acc_array(&sp, acc, nacc, 0);
	if (sp.text.oom) {
		free(sp.text.p);
		return -ENOMEM;
	}
	vals[0] = sp.text.p;
	res = exec_prepared(c, "otw_lock", 1, vals, &rc);
	free(sp.text.p);
	if (!res)
		return rc;
	for (int r = 0; r < PQntuples(res); r++) {
		struct sensor_acc *a = acc_find(acc, nacc, PQgetvalue(res, r, 0));
		if (!a)
			continue;
		a->found = true;
		a->applied = strtoull(PQgetvalue(res, r, 1), NULL, 10);
		if (!PQgetisnull(res, r, 2))
			snprintf(a->zone, sizeof(a->zone), "%s", PQgetvalue(res, r, 2));
		if (a->zone[0])
			snprintf(a->scope, sizeof(a->scope), "z:%s", a->zone);
		else
			snprintf(a->scope, sizeof(a->scope), "s:%s", a->id);
		a->owner = (struct ingest_owner){ a->scope, a->zone[0] ? a->zone : NULL, a->id };
	}
	PQclear(res);
	for (size_t i = 0; i < n; i++) {
		if (!acc_find(acc, nacc, ids[i])->found) {
			*failed = i;
			return -EPERM;
		}
	}
	return 0;
}

/* The group after its locks: every batch's records, then one advance of all its sensors (applied seq, count and
 * digest) and one live-events summary per sensor, all in one pipeline. */
static int apply_group(PGconn *c, struct sensor_acc *acc, size_t nacc, size_t n, const char *const *ids,
		       const struct wire_msg *const *batches, uint64_t *acks)
{
	struct stmt_params sp = { 0 };
	struct pipe p = { c, 0 };
	struct ingest_sets *sets = ingest_sets_new();
	uint64_t *from = calloc(n ? n : 1, sizeof(*from)); /* each batch's sensor's applied seq before it */
	int rc = 0;

	if (!sets || !from) {
		ingest_sets_free(sets);
		free(from);
		return -ENOMEM;
	}
	if (PQenterPipelineMode(c) != 1) {
		ingest_sets_free(sets);
		free(from);
		return -EIO;
	}
	/* Inventory first (one statement per kind for the whole group), then the other records in batch order. */
	for (size_t i = 0; i < n && !rc; i++) {
		struct sensor_acc *a = acc_find(acc, nacc, ids[i]);
		uint64_t to = batches[i]->u.batch.seq_to;
		if (batches[i]->u.batch.seq_from > a->applied + 1) {
			/* It does not follow what was applied (a batch before it was refused, or is lost): applying it
			 * would skip records for good. The sensor resends from its welcome. */
			rc = -ERANGE;
			break;
		}
		from[i] = a->applied;
		if (a->applied < to && !(rc = gather(&p, sets, &sp, a, batches[i], a->applied)))
			a->applied = to;
		acks[i] = a->applied;
	}
	if (!rc)
		rc = pipe_sets(&p, sets);
	for (size_t i = 0; i < n && !rc; i++)
		if (from[i] < batches[i]->u.batch.seq_to)
			rc = send_others(&p, &sp, acc_find(acc, nacc, ids[i]), batches[i], from[i]);
	if (!rc) {
		sp_reset(&sp);
		for (int w = 0; w < 4; w++)
			acc_array(&sp, acc, nacc, w);
		rc = pipe_send(&p, &sp, "otw_advance", false);
	}
	if (!rc) {
		sp_reset(&sp);
		acc_array(&sp, acc, nacc, 0);
		for (int w = 4; w < 8; w++)
			acc_array(&sp, acc, nacc, w);
		rc = pipe_send(&p, &sp, "otw_events", true);
	}
	/* Only a failure leaves statements unsynced; their results must be read before leaving the pipeline. */
	if (p.nsent && PQpipelineSync(c) == 1)
		(void)pipeline_collect(c, p.nsent);
	if (PQexitPipelineMode(c) != 1 && !rc)
		rc = -EIO;
	free(sp.text.p);
	free(from);
	ingest_sets_free(sets);
	return rc;
}

int ingest_apply_group(PGconn *c, size_t n, const char *const *sensor_ids, const struct wire_msg *const *batches,
		       uint64_t *ack_seqs, size_t *failed)
{
	struct sensor_acc *acc = calloc(n ? n : 1, sizeof(*acc));
	size_t nacc = 0;
	int rc;

	*failed = n;
	if (!acc)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		acc[nacc++].id = sensor_ids[i];
	qsort(acc, nacc, sizeof(*acc), cmp_acc);
	size_t k = 0; /* distinct ids */
	for (size_t i = 0; i < nacc; i++)
		if (k == 0 || cmp_acc(&acc[i], &acc[k - 1]) != 0)
			acc[k++] = acc[i];
	nacc = k;
	if ((rc = exec_simple(c, "begin")))
		goto out;
	if ((rc = lock_sensors(c, acc, nacc, n, sensor_ids, failed)) ||
	    (rc = apply_group(c, acc, nacc, n, sensor_ids, batches, ack_seqs)) || (rc = exec_simple(c, "commit")))
		rollback(c);
out:
	free(acc);
	return rc;
}

int ingest_apply_batch(PGconn *c, const char *sensor_id, const struct wire_msg *m, uint64_t *ack_seq)
{
	size_t failed;
	return ingest_apply_group(c, 1, &sensor_id, &m, ack_seq, &failed);
}
