#include "server/ingest_sets.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timefmt.h"
#include "server/ingest_params.h"
#include "server/wire_dpi.h"

/* Per row (one sensor's view of one device): $1 scope, $2 zone, $3 sensor, $4 key, $5 type, $6 vendor,
 * $7 hostname, $8 first_seen, $9 last_seen, $10 report; the address and protocol sets as (row index, value) pairs:
 * $11/$12 MACs, $13/$14 IPs, $15/$16 VLANs, $17/$18/$19 protocol name and role. Rows of several sensors naming
 * one device of a merge scope make one upsert of it (type, vendor, hostname: the last non-null in row order;
 * times: least and greatest). Each row is its sensor's whole view: that sensor's address and protocol rows are
 * replaced (what is not in the new set deleted, the new set inserted; disjoint rows, one snapshot). */
static const char DEVICES_SQL[] =
	"with v as (select * from unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[],"
	"  $7::text[], $8::timestamptz[], $9::timestamptz[], $10::jsonb[]) with ordinality"
	"  v(scope, zone, sensor, key, type, vendor, hostname, fs, ls, report, i)),"
	"u as (select scope, key, min(zone) as zone,"
	"  (array_agg(type order by i desc) filter (where type is not null))[1] as type,"
	"  (array_agg(vendor order by i desc) filter (where vendor is not null))[1] as vendor,"
	"  (array_agg(hostname order by i desc) filter (where hostname is not null))[1] as hostname,"
	"  min(fs) as fs, max(ls) as ls from v group by scope, key),"
	"d as (insert into devices as o (merge_scope, zone_id, key, type, vendor, hostname, first_seen, last_seen)"
	" select scope, zone, key, type, vendor, hostname, fs, ls from u order by scope, key"
	" on conflict (merge_scope, key) do update set type = coalesce(excluded.type, o.type),"
	"  vendor = coalesce(excluded.vendor, o.vendor), hostname = coalesce(excluded.hostname, o.hostname),"
	"  first_seen = least(o.first_seen, excluded.first_seen),"
	"  last_seen = greatest(o.last_seen, excluded.last_seen), updated_at = now()"
	" returning id, merge_scope, key),"
	"dv as (select d.id, v.i, v.sensor, v.fs, v.ls, v.report from d join v on v.scope = d.merge_scope and v.key = d.key),"
	"s as (insert into device_sightings as o (device_id, sensor_id, first_seen, last_seen, report)"
	" select id, sensor, fs, ls, report from dv order by id, sensor"
	" on conflict (device_id, sensor_id) do update set first_seen = least(o.first_seen, excluded.first_seen),"
	"  last_seen = greatest(o.last_seen, excluded.last_seen), report = excluded.report),"
	"m as (select distinct dv.id, dv.sensor, u.x from unnest($11::bigint[], $12::macaddr[]) u(i, x) join dv using (i)),"
	"md as (delete from device_macs t using dv where t.device_id = dv.id and t.sensor_id = dv.sensor"
	" and not exists (select 1 from m where m.id = t.device_id and m.sensor = t.sensor_id and m.x = t.mac)),"
	"mi as (insert into device_macs (device_id, sensor_id, mac) select id, sensor, x from m order by 1, 2, 3"
	" on conflict do nothing),"
	"a as (select distinct dv.id, dv.sensor, u.x from unnest($13::bigint[], $14::inet[]) u(i, x) join dv using (i)),"
	"ad as (delete from device_ips t using dv where t.device_id = dv.id and t.sensor_id = dv.sensor"
	" and not exists (select 1 from a where a.id = t.device_id and a.sensor = t.sensor_id and a.x = t.ip)),"
	"ai as (insert into device_ips (device_id, sensor_id, ip) select id, sensor, x from a order by 1, 2, 3"
	" on conflict do nothing),"
	"w as (select distinct dv.id, dv.sensor, u.x from unnest($15::bigint[], $16::integer[]) u(i, x) join dv using (i)),"
	"wd as (delete from device_vlans t using dv where t.device_id = dv.id and t.sensor_id = dv.sensor"
	" and not exists (select 1 from w where w.id = t.device_id and w.sensor = t.sensor_id and w.x = t.vlan)),"
	"wi as (insert into device_vlans (device_id, sensor_id, vlan) select id, sensor, x from w order by 1, 2, 3"
	" on conflict do nothing),"
	"p as (select distinct dv.id, dv.sensor, u.n, u.r from unnest($17::bigint[], $18::text[], $19::text[]) u(i, n, r)"
	" join dv using (i)),"
	"pd as (delete from device_protocols t using dv where t.device_id = dv.id and t.sensor_id = dv.sensor"
	" and not exists (select 1 from p where p.id = t.device_id and p.sensor = t.sensor_id and p.n = t.name"
	"  and p.r = t.role))"
	"insert into device_protocols (device_id, sensor_id, name, role) select id, sensor, n, r from p"
	" order by 1, 2, 3, 4 on conflict do nothing";

/* Per row (one sensor's records of one connection, merged): $1 scope, $2 zone, $3 sensor, $4 transport, $5 src,
 * $6 dst, $7 port, $8 first_seen, $9 last_seen, $10 packets, $11 bytes; $12/$13 (row index, protocol);
 * $14..$17 (row index, proto, code, name) of its function codes, in arrival order (a function's latest non-null
 * name wins, as applying the records in order would leave it). Rows of several sensors naming one connection of
 * a merge scope make one upsert of it. Counters are increments added to each sensor's own totals (exactly-once
 * application makes their sum the sensor's total); protocols and function codes are sets, added to the stored
 * ones. */
static const char CONNECTIONS_SQL[] =
	"with v as (select * from unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[],"
	"  $7::integer[], $8::timestamptz[], $9::timestamptz[], $10::bigint[], $11::bigint[]) with ordinality"
	"  v(scope, zone, sensor, transport, src, dst, port, fs, ls, packets, bytes, i)),"
	"pr as (select i, n from unnest($12::bigint[], $13::text[]) u(i, n)),"
	"u as (select v.scope, min(v.zone) as zone, v.transport, v.src, v.dst, v.port, min(v.fs) as fs, max(v.ls) as ls,"
	"  coalesce(array_agg(distinct pr.n order by pr.n) filter (where pr.n is not null), '{}') as protos"
	"  from v left join pr using (i) group by v.scope, v.transport, v.src, v.dst, v.port),"
	"c as (insert into connections as o (merge_scope, zone_id, transport, src_addr, dst_addr, port, protocols,"
	"  first_seen, last_seen)"
	" select scope, zone, transport, src, dst, port, protos, fs, ls from u order by scope, transport, src, dst, port"
	" on conflict (merge_scope, transport, src_addr, dst_addr, port) do update set"
	"  protocols = array(select distinct unnest(o.protocols || excluded.protocols) order by 1),"
	"  first_seen = least(o.first_seen, excluded.first_seen), last_seen = greatest(o.last_seen, excluded.last_seen),"
	"  updated_at = now()"
	" returning id, merge_scope, transport, src_addr, dst_addr, port),"
	"cv as (select c.id, v.i, v.sensor, v.fs, v.ls, v.packets, v.bytes from c join v on c.merge_scope = v.scope"
	" and c.transport = v.transport and c.src_addr = v.src and c.dst_addr = v.dst"
	" and c.port is not distinct from v.port),"
	"f as (insert into connection_functions as o (connection_id, proto, code, name)"
	" select distinct on (cv.id, u.p, u.k) cv.id, u.p, u.k, u.n"
	" from unnest($14::bigint[], $15::text[], $16::bigint[], $17::text[]) with ordinality u(i, p, k, n, o)"
	" join cv using (i) order by cv.id, u.p, u.k, u.n is null, u.o desc"
	" on conflict (connection_id, proto, code) do update set name = coalesce(excluded.name, o.name)"
	" where excluded.name is distinct from o.name and excluded.name is not null)"
	"insert into connection_sightings as o (connection_id, sensor_id, packets, bytes, first_seen, last_seen)"
	" select id, sensor, packets, bytes, fs, ls from cv order by id, sensor"
	" on conflict (connection_id, sensor_id) do update set packets = o.packets + excluded.packets,"
	"  bytes = o.bytes + excluded.bytes, first_seen = least(o.first_seen, excluded.first_seen),"
	"  last_seen = greatest(o.last_seen, excluded.last_seen)";

struct dev_entry {
	const struct ingest_owner *owner;
	char key[72]; /* canonical */
	const struct wire_device *last;
	json_t *last_rec;
	const char *type, *vendor, *hostname; /* the last non-null ones */
	int64_t first_seen, last_seen;
};

struct conn_entry {
	const struct ingest_owner *owner;
	enum wire_transport transport;
	char src[64], dst[64];
	int port;
	int64_t packets, bytes, first_seen, last_seen;
};

/* An open-addressing table of entry index + 1 (0 = free slot). */
struct index_table {
	uint32_t *slot;
	size_t cap; /* a power of two, or 0 */
};

/* A (index, value...) list built as records arrive, as the bodies of array literals without braces. */
struct pairs {
	struct sbuf col[4];
	size_t n;
};

struct ingest_sets {
	struct dev_entry *dev;
	size_t ndev, devcap;
	struct index_table devix;
	struct conn_entry *conn;
	size_t nconn, conncap;
	struct index_table connix;
	struct pairs cproto; /* index, protocol */
	struct pairs cfunc;  /* index, proto, code, name */
};

struct ingest_sets *ingest_sets_new(void) { return calloc(1, sizeof(struct ingest_sets)); }

static void pairs_free(struct pairs *p)
{
	for (size_t k = 0; k < 4; k++)
		free(p->col[k].p);
}

static void pairs_reset(struct pairs *p)
{
	for (size_t k = 0; k < 4; k++) {
		p->col[k].len = 0;
		if (p->col[k].p)
			p->col[k].p[0] = '\0';
	}
	p->n = 0;
}

void ingest_sets_free(struct ingest_sets *s)
{
	if (!s)
		return;
	free(s->dev);
	free(s->devix.slot);
	free(s->conn);
	free(s->connix.slot);
	pairs_free(&s->cproto);
	pairs_free(&s->cfunc);
	free(s);
}

static void sets_reset(struct ingest_sets *s)
{
	s->ndev = 0;
	s->nconn = 0;
	if (s->devix.slot)
		memset(s->devix.slot, 0, s->devix.cap * sizeof(uint32_t));
	if (s->connix.slot)
		memset(s->connix.slot, 0, s->connix.cap * sizeof(uint32_t));
	pairs_reset(&s->cproto);
	pairs_reset(&s->cfunc);
}

bool ingest_sets_empty(const struct ingest_sets *s) { return s->ndev == 0 && s->nconn == 0; }

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t dev_hash(const struct ingest_owner *o, const char *key)
{
	return hash_bytes(hash_bytes(0xcbf29ce484222325ull, o->sensor_id, strlen(o->sensor_id) + 1), key, strlen(key));
}

static uint64_t conn_hash(const struct ingest_owner *o, enum wire_transport t, const char *src, const char *dst,
			  int port)
{
	uint64_t h = hash_bytes(0xcbf29ce484222325ull, o->sensor_id, strlen(o->sensor_id) + 1);
	h = hash_bytes(h, &t, sizeof(t));
	h = hash_bytes(h, src, strlen(src) + 1);
	h = hash_bytes(h, dst, strlen(dst) + 1);
	return hash_bytes(h, &port, sizeof(port));
}

static bool conn_same(const struct conn_entry *e, const struct ingest_owner *o, enum wire_transport t, const char *src,
		      const char *dst, int port)
{
	return e->owner == o && e->transport == t && e->port == port && strcmp(e->src, src) == 0 &&
	       strcmp(e->dst, dst) == 0;
}

/* Makes room for one more entry in a table holding n; rehashing uses `rehash` to get each entry's hash. */
static int table_reserve(struct index_table *t, size_t n, uint64_t (*hash_of)(const struct ingest_sets *, size_t),
			 const struct ingest_sets *s)
{
	if ((n + 1) * 2 <= t->cap)
		return 0;
	size_t ncap = t->cap ? t->cap * 2 : 256;
	uint32_t *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t k = (size_t)hash_of(s, i) & (ncap - 1);
		while (ns[k])
			k = (k + 1) & (ncap - 1);
		ns[k] = (uint32_t)i + 1;
	}
	free(t->slot);
	t->slot = ns;
	t->cap = ncap;
	return 0;
}

static uint64_t dev_hash_at(const struct ingest_sets *s, size_t i) { return dev_hash(s->dev[i].owner, s->dev[i].key); }

static uint64_t conn_hash_at(const struct ingest_sets *s, size_t i)
{
	const struct conn_entry *e = &s->conn[i];
	return conn_hash(e->owner, e->transport, e->src, e->dst, e->port);
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	if (ncap > SIZE_MAX / elem)
		return -ENOMEM;
	void *na = realloc(*arr, ncap * elem);
	if (!na)
		return -ENOMEM;
	*arr = na;
	*cap = ncap;
	return 0;
}

static struct dev_entry *dev_find(const struct ingest_sets *s, const struct ingest_owner *o, const char *key,
				   size_t *slot)
{
	if (!s->devix.cap)
		return NULL;
	size_t k = (size_t)dev_hash(o, key) & (s->devix.cap - 1);
	while (s->devix.slot[k]) {
		struct dev_entry *e = &s->dev[s->devix.slot[k] - 1];
		if (e->owner == o && strcmp(e->key, key) == 0)
			return e;
		k = (k + 1) & (s->devix.cap - 1);
	}
	if (slot)
		*slot = k;
	return NULL;
}

int ingest_sets_add_device(struct ingest_sets *s, const struct ingest_owner *o, const struct wire_device *d,
			   json_t *rec)
{
	char canon[72];
	size_t slot = 0;
	struct dev_entry *e;

	canon_key(d->key, canon);
	e = dev_find(s, o, canon, NULL);
	if (!e) {
		if (table_reserve(&s->devix, s->ndev, dev_hash_at, s) ||
		    grow((void **)&s->dev, &s->devcap, s->ndev, sizeof(*s->dev)))
			return -ENOMEM;
		(void)dev_find(s, o, canon, &slot);
		e = &s->dev[s->ndev];
		memset(e, 0, sizeof(*e));
		e->owner = o;
		snprintf(e->key, sizeof(e->key), "%s", canon);
		e->first_seen = d->first_seen;
		e->last_seen = d->last_seen;
		s->devix.slot[slot] = (uint32_t)++s->ndev;
	}
	e->last = d;
	e->last_rec = rec;
	if (d->type)
		e->type = d->type;
	if (d->vendor)
		e->vendor = d->vendor;
	if (d->hostname)
		e->hostname = d->hostname;
	if (d->first_seen < e->first_seen)
		e->first_seen = d->first_seen;
	if (d->last_seen > e->last_seen)
		e->last_seen = d->last_seen;
	return 0;
}

/* Appends one element to an array body (no braces); NULL is SQL NULL. */
static void body_elem(struct sbuf *b, size_t n, const char *v)
{
	if (n)
		sb_putn(b, ",", 1);
	if (v)
		sb_array_elem(b, v);
	else
		sb_putn(b, "NULL", 4);
}

static void body_index(struct sbuf *b, size_t n, size_t idx)
{
	char num[24];
	snprintf(num, sizeof(num), "%zu", idx + 1); /* ordinality counts from 1 */
	body_elem(b, n, num);
}

static const char *json_text(json_t *v, char num[24])
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(num, 24, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return num;
	}
	return NULL;
}

int ingest_sets_add_connection(struct ingest_sets *s, const struct ingest_owner *o, const struct wire_connection *cn,
			       json_t *rec)
{
	char src[64], dst[64], num[24];
	struct conn_entry *e = NULL;
	size_t idx, k = 0, i;
	json_t *v, *funcs;

	canon_addr(cn->src_addr, src);
	canon_addr(cn->dst_addr, dst);
	if (table_reserve(&s->connix, s->nconn, conn_hash_at, s))
		return -ENOMEM;
	k = (size_t)conn_hash(o, cn->transport, src, dst, cn->port) & (s->connix.cap - 1);
	while (s->connix.slot[k]) {
		struct conn_entry *c = &s->conn[s->connix.slot[k] - 1];
		if (conn_same(c, o, cn->transport, src, dst, cn->port)) {
			e = c;
			break;
		}
		k = (k + 1) & (s->connix.cap - 1);
	}
	if (!e) {
		if (grow((void **)&s->conn, &s->conncap, s->nconn, sizeof(*s->conn)))
			return -ENOMEM;
		e = &s->conn[s->nconn];
		memset(e, 0, sizeof(*e));
		e->owner = o;
		e->transport = cn->transport;
		memcpy(e->src, src, sizeof(src));
		memcpy(e->dst, dst, sizeof(dst));
		e->port = cn->port;
		e->first_seen = cn->first_seen;
		e->last_seen = cn->last_seen;
		s->connix.slot[k] = (uint32_t)++s->nconn;
	}
	idx = (size_t)(e - s->conn);
	e->packets += cn->packets;
	e->bytes += cn->bytes;
	if (cn->first_seen < e->first_seen)
		e->first_seen = cn->first_seen;
	if (cn->last_seen > e->last_seen)
		e->last_seen = cn->last_seen;
	json_array_foreach(cn->protocols, i, v) {
		body_index(&s->cproto.col[0], s->cproto.n, idx);
		body_elem(&s->cproto.col[1], s->cproto.n, json_text(v, num));
		s->cproto.n++;
	}
	funcs = json_object_get(rec, "functions");
	json_array_foreach(funcs, i, v) {
		body_index(&s->cfunc.col[0], s->cfunc.n, idx);
		body_elem(&s->cfunc.col[1], s->cfunc.n, json_text(json_object_get(v, "proto"), num));
		body_elem(&s->cfunc.col[2], s->cfunc.n, json_text(json_object_get(v, "code"), num));
		body_elem(&s->cfunc.col[3], s->cfunc.n, json_text(json_object_get(v, "name"), num));
		s->cfunc.n++;
	}
	for (k = 0; k < 4; k++)
		if (s->cproto.col[k].oom || s->cfunc.col[k].oom)
			return -ENOMEM;
	return 0;
}

/* ---- parameters ---- */

static void sp_body(struct stmt_params *sp, const struct sbuf *body)
{
	sp_begin(sp, false);
	sb_putn(&sp->text, "{", 1);
	if (body->len)
		sb_putn(&sp->text, body->p, body->len);
	sb_putn(&sp->text, "}", 1);
	sp_end(sp);
}

/* Appends one column of the device entries: which = 0 key, 1 type, 2 vendor, 3 hostname. */
static void dev_column(struct stmt_params *sp, const struct ingest_sets *s, int which)
{
	sp_begin(sp, false);
	sb_putn(&sp->text, "{", 1);
	for (size_t i = 0; i < s->ndev; i++) {
		const struct dev_entry *e = &s->dev[i];
		const char *v = which == 0 ? e->key : which == 1 ? e->type : which == 2 ? e->vendor : e->hostname;
		body_elem(&sp->text, i, v);
	}
	sb_putn(&sp->text, "}", 1);
	sp_end(sp);
}

static void time_elem(struct sbuf *b, size_t i, int64_t usec)
{
	char tb[TIMEFMT_LEN];
	body_elem(b, i, timefmt_rfc3339_ms(usec, tb));
}

/* The first_seen (last = false) or last_seen column of the devices or the connections. */
static void time_column(struct stmt_params *sp, const struct ingest_sets *s, bool devices, bool last)
{
	size_t n = devices ? s->ndev : s->nconn;

	sp_begin(sp, false);
	sb_putn(&sp->text, "{", 1);
	for (size_t i = 0; i < n; i++) {
		int64_t t = devices ? (last ? s->dev[i].last_seen : s->dev[i].first_seen)
				    : (last ? s->conn[i].last_seen : s->conn[i].first_seen);
		time_elem(&sp->text, i, t);
	}
	sb_putn(&sp->text, "}", 1);
	sp_end(sp);
}

/* The (device index, element) pairs of one member of each device's last record: MACs, IPs or VLANs, or
 * protocols (field "name"/"role"). pass 0 writes the indices, pass 1 the values. */
static void dev_pairs(struct stmt_params *sp, const struct ingest_sets *s, size_t member, const char *field,
		      bool indices)
{
	size_t n = 0, j;
	json_t *v;
	char num[24];

	sp_begin(sp, false);
	sb_putn(&sp->text, "{", 1);
	for (size_t i = 0; i < s->ndev; i++) {
		const struct wire_device *d = s->dev[i].last;
		json_t *arr = member == 0 ? d->macs : member == 1 ? d->ips : member == 2 ? d->vlans : d->protocols;
		json_array_foreach(arr, j, v) {
			if (indices)
				body_index(&sp->text, n, i);
			else
				body_elem(&sp->text, n, json_text(field ? json_object_get(v, field) : v, num));
			n++;
		}
	}
	sb_putn(&sp->text, "}", 1);
	sp_end(sp);
}

/* The owners' column (0 scope, 1 zone, 2 sensor) of the device (devices) or connection entries. */
static void owner_column(struct stmt_params *sp, const struct ingest_sets *s, bool devices, int which)
{
	size_t n = devices ? s->ndev : s->nconn;

	sp_begin(sp, false);
	sb_putn(&sp->text, "{", 1);
	for (size_t i = 0; i < n; i++) {
		const struct ingest_owner *o = devices ? s->dev[i].owner : s->conn[i].owner;
		body_elem(&sp->text, i, which == 0 ? o->scope : which == 1 ? o->zone : o->sensor_id);
	}
	sb_putn(&sp->text, "}", 1);
	sp_end(sp);
}

static int send_devices(PGconn *c, struct ingest_sets *s, struct stmt_params *sp)
{
	sp_reset(sp);
	for (int w = 0; w < 3; w++)
		owner_column(sp, s, true, w);
	for (int w = 0; w < 4; w++)
		dev_column(sp, s, w);
	time_column(sp, s, true, false);
	time_column(sp, s, true, true);
	sp_begin(sp, false);
	sb_putn(&sp->text, "{", 1);
	for (size_t i = 0; i < s->ndev; i++) {
		char *report = wire_dpi_device_report(s->dev[i].last, s->dev[i].last_rec);
		if (!report)
			return -ENOMEM;
		body_elem(&sp->text, i, report);
		free(report);
	}
	sb_putn(&sp->text, "}", 1);
	sp_end(sp);
	for (size_t m = 0; m < 3; m++) {
		dev_pairs(sp, s, m, NULL, true);
		dev_pairs(sp, s, m, NULL, false);
	}
	dev_pairs(sp, s, 3, "name", true);
	dev_pairs(sp, s, 3, "name", false);
	dev_pairs(sp, s, 3, "role", false);
	return 0;
}

static void send_connections(struct ingest_sets *s, struct stmt_params *sp)
{
	char num[24];

	sp_reset(sp);
	for (int w = 0; w < 3; w++)
		owner_column(sp, s, false, w);
	for (int w = 0; w < 4; w++) {
		sp_begin(sp, false);
		sb_putn(&sp->text, "{", 1);
		for (size_t i = 0; i < s->nconn; i++) {
			const struct conn_entry *e = &s->conn[i];
			const char *v = w == 0 ? wire_transport_name(e->transport) : w == 1 ? e->src : w == 2 ? e->dst : NULL;
			if (w == 3 && e->port >= 0) {
				snprintf(num, sizeof(num), "%d", e->port);
				v = num;
			}
			body_elem(&sp->text, i, v);
		}
		sb_putn(&sp->text, "}", 1);
		sp_end(sp);
	}
	time_column(sp, s, false, false);
	time_column(sp, s, false, true);
	for (int w = 0; w < 2; w++) {
		sp_begin(sp, false);
		sb_putn(&sp->text, "{", 1);
		for (size_t i = 0; i < s->nconn; i++) {
			snprintf(num, sizeof(num), "%" PRId64, w == 0 ? s->conn[i].packets : s->conn[i].bytes);
			body_elem(&sp->text, i, num);
		}
		sb_putn(&sp->text, "}", 1);
		sp_end(sp);
	}
	sp_body(sp, &s->cproto.col[0]);
	sp_body(sp, &s->cproto.col[1]);
	for (int k = 0; k < 4; k++)
		sp_body(sp, &s->cfunc.col[k]);
}

int ingest_sets_prepare(PGconn *c)
{
	static const struct {
		const char *name, *sql;
	} stmts[] = { { "otw_devices", DEVICES_SQL }, { "otw_connections", CONNECTIONS_SQL } };

	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		PGresult *res = PQprepare(c, stmts[i].name, stmts[i].sql, 0, NULL);
		bool ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!ok)
			log_error("ingest: cannot prepare %s: %s", stmts[i].name,
				  res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "no result");
		PQclear(res);
		if (!ok)
			return PQstatus(c) == CONNECTION_OK ? -EPROTO : -EIO;
	}
	return 0;
}

static int send_prepared(PGconn *c, struct stmt_params *sp, const char *name)
{
	const char *vals[MAX_PARAMS];

	if (sp->text.oom)
		return -ENOMEM;
	for (int k = 0; k < sp->n; k++)
		vals[k] = sp->null[k] ? NULL : sp->text.p + sp->off[k];
	return PQsendQueryPrepared(c, name, sp->n, vals, NULL, NULL, 0) == 1 ? 0 : -EIO;
}

int ingest_sets_send(PGconn *c, struct ingest_sets *s, int *nsent)
{
	struct stmt_params sp = { 0 };
	int rc = 0;

	*nsent = 0;
	if (s->ndev) {
		if ((rc = send_devices(c, s, &sp)) || (rc = send_prepared(c, &sp, "otw_devices")))
			goto out;
		(*nsent)++;
	}
	if (s->nconn) {
		send_connections(s, &sp);
		if ((rc = send_prepared(c, &sp, "otw_connections")))
			goto out;
		(*nsent)++;
	}
out:
	free(sp.text.p);
	sets_reset(s);
	return rc;
}
