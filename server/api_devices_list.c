#include "server/api_devices_list.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/access_scope.h"
#include "server/api_principal.h"
#include "server/db.h"

/* ---- SQL ---- */

/* A statement being built with its parameters ($1...); overflow makes the statement unusable (500). */
struct sqlb {
	char buf[24576];
	size_t len;
	bool overflow;
	const char *params[32];
	int n;
};

static void sb_add(struct sqlb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sqlb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->buf + b->len, sizeof(b->buf) - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(b->buf) - b->len)
		b->overflow = true;
	else
		b->len += (size_t)n;
}

/* Returns the number of parameter v, adding it the first time: a value (one field of the parsed query, which lives
 * as long as the statement) that several branches test is one parameter, so that the statement's parameter count
 * does not grow with its branches. */
static int sb_param(struct sqlb *b, const char *v)
{
	for (int i = 0; i < b->n; i++)
		if (b->params[i] == v)
			return i + 1;
	if (b->n >= (int)(sizeof(b->params) / sizeof(b->params[0]))) {
		b->overflow = true;
		return 1;
	}
	b->params[b->n++] = v;
	return b->n;
}

/* The sort key of each sort (the expressions of sql/016_inventory.sql's indexes), its text for the cursor, and
 * the cursor text back as a value. Site and zone sort by the zone's place (site name, zone name) instead. */
static const struct {
	const char *expr, *text, *pre, *post; /* the cursor's value is pre $N post */
} sort_keys[] = {
	[DEVQ_SORT_ID] = { "d.id", "''", "", "" },
	[DEVQ_SORT_NAME] = { "lower(coalesce(d.name, d.inv_hostname, ''))", NULL, "", "::text" },
	[DEVQ_SORT_TYPE] = { "coalesce(d.inv_type, '')", NULL, "", "::text" },
	[DEVQ_SORT_VENDOR] = { "lower(coalesce(d.inv_vendor, ''))", NULL, "", "::text" },
	[DEVQ_SORT_IP] = { "coalesce(d.inv_ip, '::'::inet)", NULL, "", "::inet" },
	[DEVQ_SORT_FIRST_SEEN] = { "d.first_seen", "(extract(epoch from d.first_seen) * 1000000)::bigint", "('epoch'::timestamptz + ",
				   "::bigint * interval '1 microsecond')" },
	[DEVQ_SORT_LAST_SEEN] = { "d.last_seen", "(extract(epoch from d.last_seen) * 1000000)::bigint", "('epoch'::timestamptz + ",
				  "::bigint * interval '1 microsecond')" },
	[DEVQ_SORT_SITE] = { NULL, NULL, NULL, NULL },
	[DEVQ_SORT_ZONE] = { NULL, NULL, NULL, NULL },
	[DEVQ_SORT_PURDUE] = { "coalesce(d.inv_purdue, 9)", NULL, "", "::int" },
};

/* Conditions on a device's address, protocol and sighting rows. A device with devices merged into it matches on
 * its group's rows; the page reads those few devices in a second branch (group = true), so that the first can
 * test the rows of the device itself with an EXISTS the planner turns into a semi-join: along the sort's index
 * when most devices match, from the row table's index when few do. */
static void group_cond(struct sqlb *b, bool group, const char *table, const char *cond)
{
	if (group)
		sb_add(b, " and exists (select 1 from devices m join %s x on x.device_id = m.id "
			  "where (m.id = d.id or m.merged_into = d.id) and %s)", table, cond);
	else
		sb_add(b, " and exists (select 1 from %s x where x.device_id = d.id and %s)", table, cond);
}

static bool has_group_filters(const struct devq *q)
{
	return q->sensor_id[0] || q->protocol[0] || q->q_kind == DEVQ_Q_IP_PREFIX ||
	       q->q_kind == DEVQ_Q_CIDR || q->q_kind == DEVQ_Q_MAC;
}

/* The filters as " and ..." conditions on d (a listed device). zones: also the scope, site and zone filters (the
 * site and zone sorts apply those to the zones they walk). group: see group_cond. */
static void add_filters(struct sqlb *b, const struct devq *q, const char *scope, bool zones, bool group)
{
	char cond[160];

	if (zones && scope)
		sb_add(b, " and d.zone_id = any (array(select z.id from zones z where otw_zone_visible($%d::bigint[], z.id)))",
		       sb_param(b, scope));
	if (zones && q->site_id[0])
		sb_add(b, " and d.zone_id = any (array(select z.id from zones z where z.site_id = $%d::bigint))",
		       sb_param(b, q->site_id));
	if (zones && q->zone_id[0])
		sb_add(b, " and d.zone_id = $%d::bigint", sb_param(b, q->zone_id));
	if (q->sensor_id[0]) {
		snprintf(cond, sizeof(cond), "x.sensor_id = $%d::uuid", sb_param(b, q->sensor_id));
		group_cond(b, group, "device_sightings", cond);
	}
	switch (q->q_kind) {
	case DEVQ_Q_TEXT:
		sb_add(b, " and d.inv_search like lower($%d)", sb_param(b, q->q));
		break;
	case DEVQ_Q_IP_PREFIX:
		snprintf(cond, sizeof(cond), "host(x.ip) like $%d", sb_param(b, q->q));
		group_cond(b, group, "device_ips", cond);
		break;
	case DEVQ_Q_CIDR:
		snprintf(cond, sizeof(cond), "x.ip <<= $%d::inet", sb_param(b, q->q));
		group_cond(b, group, "device_ips", cond);
		break;
	case DEVQ_Q_MAC: {
		int lo = sb_param(b, q->mac_lo), hi = sb_param(b, q->mac_hi);
		snprintf(cond, sizeof(cond), "x.mac between $%d::macaddr and $%d::macaddr", lo, hi);
		group_cond(b, group, "device_macs", cond);
		break;
	}
	case DEVQ_Q_NONE:
		break;
	}
	if (q->types[0])
		sb_add(b, " and coalesce(d.inv_type, '') = any ($%d::text[])", sb_param(b, q->types));
	if (q->class_[0])
		sb_add(b, " and otw_device_class(d.inv_type) = $%d", sb_param(b, q->class_));
	if (q->vendor[0])
		sb_add(b, " and lower(coalesce(d.inv_vendor, '')) = lower($%d)", sb_param(b, q->vendor));
	if (q->protocol[0]) {
		snprintf(cond, sizeof(cond), "x.name = $%d", sb_param(b, q->protocol));
		group_cond(b, group, "device_protocols", cond);
	}
	if (q->authorized[0])
		sb_add(b, " and d.authorized = $%d::boolean", sb_param(b, q->authorized));
	if (q->importance[0])
		sb_add(b, " and d.importance = $%d", sb_param(b, q->importance));
	if (q->purdue[0])
		sb_add(b, " and coalesce(d.inv_purdue, 9) = $%d::int", sb_param(b, q->purdue));
	/* The item's "new": first seen (the group's first_seen, which the target's own is) after a sensor that
	 * saw it went operational; kept per listed device (sql/022_map_zone_stats.sql inv_new). */
	if (q->is_new[0])
		sb_add(b, " and d.inv_new = $%d::boolean", sb_param(b, q->is_new));
	if (q->seen_after[0])
		sb_add(b, " and d.last_seen >= $%d::timestamptz", sb_param(b, q->seen_after));
	if (q->seen_before[0])
		sb_add(b, " and d.last_seen < $%d::timestamptz", sb_param(b, q->seen_before));
	if (q->tag[0])
		sb_add(b, " and d.tags @> array[$%d::text] and d.tags <> '{}'", sb_param(b, q->tag));
}

/* "(select cols from devices d where base <filters> extra order by order limit $limit)" (without order by and
 * limit when order is NULL): the devices matching,
 * as two disjoint branches (UNION ALL) when group filters apply: devices without merged devices, tested on their
 * own rows, and the few with, tested on their group's. */
static void add_branches(struct sqlb *b, const struct devq *q, const char *scope, bool zones, const char *cols,
			 const char *base, const char *extra, const char *order, int limit)
{
	bool two = has_group_filters(q);

	sb_add(b, "(select %s from devices d where %s%s", cols, base,
	       two ? " and not exists (select 1 from devices m where m.merged_into = d.id)" : "");
	add_filters(b, q, scope, zones, false);
	if (order)
		sb_add(b, "%s order by %s limit $%d)", extra, order, limit);
	else
		sb_add(b, "%s)", extra);
	if (!two)
		return;
	sb_add(b, " union all (select %s from devices d where %s and d.id = any (array(select distinct m.merged_into from devices m "
		  "where m.merged_into is not null))", cols, base);
	add_filters(b, q, scope, zones, true);
	if (order)
		sb_add(b, "%s order by %s limit $%d)", extra, order, limit);
	else
		sb_add(b, "%s)", extra);
}

/* The zones the site and zone sorts walk, in order, as CTE zo(id, r): visible ones matching the site and zone
 * filters; unrestricted callers without those filters also get the devices without a zone, last (id null). */
static void add_zone_order(struct sqlb *b, const struct devq *q, const char *scope)
{
	bool nullzone = !scope && !q->site_id[0] && !q->zone_id[0];

	sb_add(b, "with zo as (select id, r from (select z.id, row_number() over (order by %s, z.id) as r from zones z "
		  "join sites s on s.id = z.site_id where true",
	       q->sort == DEVQ_SORT_SITE ? "s.name, z.name" : "z.name, s.name");
	if (scope)
		sb_add(b, " and otw_zone_visible($%d::bigint[], z.id)", sb_param(b, scope));
	if (q->site_id[0])
		sb_add(b, " and z.site_id = $%d::bigint", sb_param(b, q->site_id));
	if (q->zone_id[0])
		sb_add(b, " and z.id = $%d::bigint", sb_param(b, q->zone_id));
	sb_add(b, ") o%s) ", nullzone ? " union all select null::bigint, 9223372036854775807" : "");
}

/* The page's (or export's) rows as subquery p(id, k, sk): id, the cursor key text, the sort value. `limit` is
 * the parameter number of the row limit; key/id the decoded cursor or NULL. */
static void add_page(struct sqlb *b, const struct devq *q, const char *scope, int limit, const char *key,
		     const char *id)
{
	const char *dir = q->desc ? "desc" : "asc", *op = q->desc ? "<" : ">";
	char extra[256] = "", order[160], cols[200];
	int pk, pid;

	if (q->sort == DEVQ_SORT_SITE || q->sort == DEVQ_SORT_ZONE) {
		bool nullzone = !scope && !q->site_id[0] && !q->zone_id[0];
		char cur[96] = "";
		if (id) {
			pk = sb_param(b, key);
			pid = sb_param(b, id);
			snprintf(cur, sizeof(cur), "(select r from zo where id is not distinct from nullif($%d, '')::bigint)",
				 pk);
			snprintf(extra, sizeof(extra), " and (zo.r <> %s or d.id %s $%d::bigint)", cur, op, pid);
		}
		snprintf(order, sizeof(order), "d.id %s", dir);
		/* Per zone at most `limit` devices in id order, zones in their order: bounded work whatever the size. */
		/* zo in order, so that an incremental sort stops after the zones the page needs. */
		sb_add(b, "(select x.id, coalesce(zo.id::text, '') as k, zo.r as sk from (select id, r from zo order by r %s) zo "
			  "cross join lateral (", dir);
		add_branches(b, q, scope, false, "d.id", "d.zone_id = zo.id and d.merged_into is null", extra, order, limit);
		if (nullzone) {
			sb_add(b, " union all ");
			add_branches(b, q, scope, false, "d.id", "zo.id is null and d.zone_id is null and d.merged_into is null",
				     extra, order, limit);
		}
		sb_add(b, ") x");
		if (id)
			sb_add(b, " where zo.r %s= %s", op, cur);
		sb_add(b, " order by zo.r %s, x.id %s limit $%d) p", dir, dir, limit);
		return;
	}
	if (id && q->sort == DEVQ_SORT_ID) {
		snprintf(extra, sizeof(extra), " and d.id %s $%d::bigint", op, sb_param(b, id));
	} else if (id) {
		pk = sb_param(b, key);
		pid = sb_param(b, id);
		snprintf(extra, sizeof(extra), " and (%s, d.id) %s (%s$%d%s, $%d::bigint)", sort_keys[q->sort].expr, op,
			 sort_keys[q->sort].pre, pk, sort_keys[q->sort].post, pid);
	}
	if (q->sort == DEVQ_SORT_ID)
		snprintf(order, sizeof(order), "d.id %s", dir);
	else
		snprintf(order, sizeof(order), "%s %s, d.id %s", sort_keys[q->sort].expr, dir, dir);
	snprintf(cols, sizeof(cols), "d.id, %s::text as k, %s as sk",
		 sort_keys[q->sort].text ? sort_keys[q->sort].text : sort_keys[q->sort].expr, sort_keys[q->sort].expr);
	sb_add(b, "(select id, k, sk from (");
	add_branches(b, q, scope, true, cols, "d.merged_into is null", extra, order, limit);
	sb_add(b, ") u order by sk %s, id %s limit $%d) p", dir, dir, limit);
}

static bool take_query(struct api_call *c, bool export_route, struct devq *q, char *key, size_t cap, char id[24])
{
	if (devq_parse(c->query, export_route, q, &c->err) != 0 ||
	    (q->cursor[0] && !devq_cursor_decode(q, key, cap, id, &c->err))) {
		c->status = c->err.status;
		return false;
	}
	return true;
}

static bool count_into(PGconn *db, const struct devq *q, const char *scope, json_t *out)
{
	struct sqlb *b = calloc(1, sizeof(*b));
	PGresult *res = NULL;
	bool ok = false;

	if (!b)
		return false;
	sb_add(b, "select count(*) from (");
	add_branches(b, q, scope, true, "1", "d.merged_into is null", "", NULL, 0);
	sb_add(b, ") c");
	if (!b->overflow && (res = db_exec(db, b->buf, b->n, b->params)) && PQntuples(res) == 1)
		ok = json_object_set_new(out, "total", json_integer(strtoll(PQgetvalue(res, 0, 0), NULL, 10))) == 0;
	PQclear(res);
	free(b);
	return ok;
}

void api_devices_list(struct api_call *c, PGconn *db)
{
	struct devq q;
	struct sqlb *b = calloc(1, sizeof(*b));
	char key[DEVQ_KEY_MAX] = "", id[24] = "", limit[24], cursor[DEVQ_CURSOR_MAX];
	const char *scope = api_scope(c), *dir;
	json_t *items = NULL, *out = NULL;
	PGresult *res = NULL;
	int rows;

	if (!b) {
		api_fail_db(c);
		return;
	}
	if (!take_query(c, false, &q, key, sizeof(key), id))
		goto done;
	dir = q.desc ? "desc" : "asc";
	snprintf(limit, sizeof(limit), "%ld", q.limit + 1);
	if (q.sort == DEVQ_SORT_SITE || q.sort == DEVQ_SORT_ZONE)
		add_zone_order(b, &q, scope);
	sb_add(b, "select p.id::text, p.k, " DEVICE_JSON " from ");
	add_page(b, &q, scope, sb_param(b, limit), id[0] ? key : NULL, id[0] ? id : NULL);
	sb_add(b, " join devices d on d.id = p.id" DEVICE_JOINS " order by p.sk %s, p.id %s", dir, dir);
	if (b->overflow || !(res = db_exec(db, b->buf, b->n, b->params)))
		goto fail;
	if (!(items = json_array()))
		goto fail;
	rows = PQntuples(res);
	for (int i = 0; i < rows && i < q.limit; i++) {
		json_t *item = json_loads(PQgetvalue(res, i, 2), 0, NULL);
		if (!item || json_array_append_new(items, item) != 0)
			goto fail;
	}
	if (rows > q.limit) {
		if (!devq_cursor_encode(&q, PQgetvalue(res, (int)q.limit - 1, 1), PQgetvalue(res, (int)q.limit - 1, 0),
					cursor))
			goto fail;
		out = json_pack("{s:O, s:s}", "items", items, "next_cursor", cursor);
	} else {
		out = json_pack("{s:O, s:n}", "items", items, "next_cursor");
	}
	if (!out || (q.count && !count_into(db, &q, scope, out)))
		goto fail;
	api_ok(c, 200, out);
	out = NULL;
	goto done;
fail:
	api_fail_db(c);
done:
	json_decref(out);
	json_decref(items);
	PQclear(res);
	free(b);
}

/* ---- export ---- */

#define EXPORT_MAX_ROWS 100000
#define EXPORT_COLUMNS                                                                                         \
	"id,name,type,class,vendor,model,firmware,ips,macs,vlans,site,zone,purdue_level,authorized,importance,"   \
	"protocols,first_seen,last_seen\r\n"
/* The export's columns for device d with its group g.ids (the set members space-separated). */
#define EXPORT_SELECT                                                                                          \
	"select d.id::text, d.name, d.inv_type, otw_device_class(d.inv_type), d.inv_vendor, d.inv_model, "        \
	"coalesce(d.overrides->>'firmware', (select " REP("firmware") " from device_sightings s "                 \
	"where s.device_id = any (g.ids))), "                                                                    \
	"(select string_agg(host(x.ip), ' ' order by x.ip) from (select distinct i.ip from device_ips i "         \
	"where i.device_id = any (g.ids)) x), "                                                                  \
	"(select string_agg(x.mac::text, ' ' order by x.mac) from (select distinct m.mac from device_macs m "     \
	"where m.device_id = any (g.ids)) x), "                                                                  \
	"(select string_agg(x.vlan::text, ' ' order by x.vlan) from (select distinct v.vlan from device_vlans v " \
	"where v.device_id = any (g.ids)) x), "                                                                  \
	"st.name, z.name, d.inv_purdue::text, d.authorized::text, d.importance, "                                \
	"(select string_agg(x.name, ' ' order by x.name) from (select distinct p.name from device_protocols p "   \
	"where p.device_id = any (g.ids)) x), " API_TS("d.first_seen") ", " API_TS("d.last_seen") " from "
#define EXPORT_NCOLS 18

static int write_csv(FILE *f, PGresult *res, int rows)
{
	if (fputs(EXPORT_COLUMNS, f) < 0)
		return -EIO;
	for (int i = 0; i < rows; i++) {
		for (int col = 0; col < EXPORT_NCOLS; col++)
			if ((col && fputc(',', f) == EOF) || csv_write_field(f, PQgetvalue(res, i, col)) != 0)
				return -EIO;
		if (fputs("\r\n", f) < 0)
			return -EIO;
	}
	return 0;
}

/* The export is built on the worker and sent whole: the API answers from the event loop after the handler, so a
 * worker cannot stream. It is capped at EXPORT_MAX_ROWS rows (about 30 MB); a capped export is named
 * devices-truncated.csv and carries "X-OTW-Truncated: <the cap>" (clients that save to their own name still
 * learn it). Cells are written by csv_write_field (server/access_scope.h), as the audit-log export's. */
void api_devices_export(struct api_call *c, PGconn *db)
{
	struct devq q;
	struct sqlb *b = calloc(1, sizeof(*b));
	char key[8], id[24], limit[24];
	const char *scope = api_scope(c), *dir;
	PGresult *res = NULL;
	char *text = NULL;
	size_t size = 0;
	FILE *f = NULL;
	int rows, rc;

	if (!b) {
		api_fail_db(c);
		return;
	}
	if (!take_query(c, true, &q, key, sizeof(key), id))
		goto done;
	dir = q.desc ? "desc" : "asc";
	snprintf(limit, sizeof(limit), "%d", EXPORT_MAX_ROWS + 1);
	if (q.sort == DEVQ_SORT_SITE || q.sort == DEVQ_SORT_ZONE) {
		/* Walking the zones with a per-zone limit as the page does would read every zone's first rows; the
		 * export sorts its rows once instead. */
		sb_add(b, EXPORT_SELECT "devices d left join zones z on z.id = d.zone_id left join sites st on "
					"st.id = z.site_id cross join lateral (select array[d.id] || array(select m.id from devices m "
					"where m.merged_into = d.id) ids) g where d.merged_into is null");
		add_filters(b, &q, scope, true, true);
		if (q.sort == DEVQ_SORT_SITE)
			sb_add(b, " order by st.name %s, z.name %s, z.id %s, d.id %s limit $%d", dir, dir, dir, dir,
			       sb_param(b, limit));
		else
			sb_add(b, " order by z.name %s, st.name %s, z.id %s, d.id %s limit $%d", dir, dir, dir, dir,
			       sb_param(b, limit));
	} else {
		sb_add(b, EXPORT_SELECT);
		add_page(b, &q, scope, sb_param(b, limit), NULL, NULL);
		sb_add(b, " join devices d on d.id = p.id left join zones z on z.id = d.zone_id left join sites st on "
			  "st.id = z.site_id cross join lateral (select array[d.id] || array(select m.id from devices m "
			  "where m.merged_into = d.id) ids) g order by p.sk %s, p.id %s",
		       dir, dir);
	}
	if (b->overflow || !(res = db_exec(db, b->buf, b->n, b->params)))
		goto fail;
	rows = PQntuples(res);
	if (!(f = open_memstream(&text, &size)))
		goto fail;
	rc = write_csv(f, res, rows > EXPORT_MAX_ROWS ? EXPORT_MAX_ROWS : rows);
	if (fclose(f) != 0 || rc != 0)
		goto fail;
	c->resp_text = text;
	c->resp_len = size;
	text = NULL;
	c->resp_type = "text/csv; charset=utf-8";
	c->resp_filename = rows > EXPORT_MAX_ROWS ? "devices-truncated.csv" : "devices.csv";
	if (rows > EXPORT_MAX_ROWS) {
		c->resp_header_name = "X-OTW-Truncated";
		snprintf(c->resp_header_value, sizeof(c->resp_header_value), "%d", EXPORT_MAX_ROWS);
	}
	c->status = 200;
	goto done;
fail:
	api_fail_db(c);
done:
	free(text);
	PQclear(res);
	free(b);
}
