#include "server/api_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_map_query.h"
#include "server/api_principal.h"
#include "server/db.h"

/* Parameters: $1 scope, $2 site_id, $3 zone_id, $4 types, $5 authorized, $6 new, $7 seen_after, $8 protocols,
 * $9 expanded group ids (every ancestor expanded too: api_map_query.h), $10 max_devices, $11 group_by levels.
 *
 * The SQL is one static statement: the levels come in as data ($11), so nothing is spliced into it. It reads
 * the inventory columns sql/016_inventory.sql and sql/022_map_zone_stats.sql keep per device (effective type and
 * Purdue level, lowest IP, hostname, vendor, `new`; the target's first/last_seen are its group's) and the
 * endpoint devices sql/017_map.sql keeps per connection, so no per-device aggregation over sightings and no
 * address resolution over the estate runs here; only the lowest VLAN (only when grouped by it) is aggregated.
 *
 * Zones split or whole. A connection's endpoints resolve inside its merge scope, its zone (docs/architecture.md
 * "Device identity"), so a visible node that holds a whole zone holds both endpoints of each of its connections.
 * W is the number of leading levels that are site or zone: a zone is whole when its path at level W is not
 * expanded (its devices all sit in one collapsed group, the zone's `gnode`), split otherwise (W = 0: always).
 * Whole zones are counted per zone (devices by type, connections whose two endpoints are matching devices), from
 * the per-zone counts sql/022 keeps when no device filter applies; only the devices and connections of split
 * zones get per-device group paths and nodes. */

/* The segment of a group id for level `l` of device row x. */
#define SEG(l)                                                                                                 \
	"case " l " when 'site' then 'site:' || coalesce(x.site_id::text, 'none') "                             \
	"when 'zone' then 'zone:' || coalesce(x.zone_id::text, 'none') "                                         \
	"when 'subnet' then 'subnet:' || coalesce(host(network(set_masklen(x.ip4, 24))), 'none') "               \
	"when 'vlan' then 'vlan:' || coalesce(x.vlan::text, 'untagged') "                                        \
	"when 'purdue_level' then 'purdue_level:' || coalesce(x.purdue::text, 'unknown') end"
/* The segment of a zone row v for level `l` (site and zone only: the first W levels). */
#define ZSEG(l)                                                                                                \
	"case " l " when 'site' then 'site:' || coalesce(v.site_id::text, 'none') "                             \
	"when 'zone' then 'zone:' || coalesce(v.id::text, 'none') end"
/* A connection c's endpoint device: the stored one, unless the row is unresolved or its scope has addresses
 * whose holders changed since (map_dirty, sql/017_map.sql): then resolved here by the same rule. */
#define HOLDER(addr, stored)                                                                                   \
	"case when c.map_resolved and c.merge_scope <> all (dsc.s) then c." stored " "                          \
	"else otw_map_holder(c.merge_scope, c.transport, c." addr ") end"
/* Devices of the visible zones (zk) with `x.new`: seen first after one of its sensors (or one of its merged
 * devices' sensors) became operational, as /api/v1/devices says (kept as inv_new: sql/022_map_zone_stats.sql). */
#define MATCHING                                                                                               \
	"devices d join zk on zk.k = coalesce(d.zone_id, 0) cross join lateral (select d.inv_new as new) x "
/* ... that pass the filters. */
#define MATCHES                                                                                                \
	"d.merged_into is null and ($4::text[] is null or coalesce(d.inv_type, 'unknown') = any ($4::text[])) "  \
	"and ($5::boolean is null or d.authorized = $5::boolean) and ($6::boolean is null or x.new = $6::boolean) " \
	"and ($7::timestamptz is null or d.last_seen > $7::timestamptz) "                                       \
	"and ($8::text[] is null or d.id in (select coalesce(m.merged_into, m.id) from device_protocols p "      \
	"join devices m on m.id = p.device_id where p.name = any ($8::text[])))"
/* No device filter: every device of a visible zone matches. */
#define NOFILTER                                                                                               \
	"($4::text[] is null and $5::boolean is null and $6::boolean is null and $7::timestamptz is null "       \
	"and $8::text[] is null)"

static const char map_sql[] =
	"with vz as materialized (select z.id, z.site_id from zones z where otw_zone_visible($1::bigint[], z.id) "
	"and ($2::bigint is null or z.site_id = $2::bigint) and ($3::bigint is null or z.id = $3::bigint)), "
	"dsc as materialized (select coalesce(array_agg(distinct scope), '{}') as s from map_dirty), "
	"wl as (select coalesce((select min(i) - 1 from generate_subscripts($11::text[], 1) i "
	"where ($11::text[])[i] not in ('site', 'zone')), cardinality($11::text[])) as w), "
	/* the visible zones, and the devices of unassigned sensors (id null) for unrestricted callers without
	 * site/zone filters; k joins them (0 for none) */
	"zk as materialized (select coalesce(v.id, 0) as k, v.id, v.site_id, p.p1, p.p2, "
	"wl.w = 0 or (case wl.w when 1 then p.p1 else p.p2 end) = any ($9::text[]) as split, "
	"case when wl.w = 0 then null when p.p1 <> all ($9::text[]) then 'g:' || p.p1 else 'g:' || p.p2 end as gnode "
	"from (select id, site_id from vz union all select null, null where $1::bigint[] is null "
	"and $2::bigint is null and $3::bigint is null) v cross join wl "
	"cross join lateral (select case when wl.w >= 1 then " ZSEG("($11::text[])[1]") " end as p1, "
	"case when wl.w >= 2 then (" ZSEG("($11::text[])[1]") ") || '/' || (" ZSEG("($11::text[])[2]") ") end as p2) p), "
	"vl as (select coalesce(m.merged_into, m.id) as id, min(v.vlan) as vlan from device_vlans v "
	"join devices m on m.id = v.device_id where 'vlan' = any ($11::text[]) group by 1), "
	"dev as materialized (select d.id, d.zone_id, zk.site_id, coalesce(d.inv_type, 'unknown') as type, "
	"d.inv_purdue as purdue, "
	"d.authorized, case when family(d.inv_ip) = 4 then d.inv_ip end as ip4, vl.vlan, x.new "
	"from " MATCHING " left join vl on vl.id = d.id where zk.split and " MATCHES "), "
	/* whole zones: their matching devices counted per zone and type, not kept one by one; with no device
	 * filter, the counts sql/022_map_zone_stats.sql keeps (folded and pending deltas, one snapshot) */
	"wa as (select nullif(s.zone_id, 0) as zone_id, min(zk.site_id) as site_id, min(zk.p1) as z1, min(zk.p2) as z2, "
	"s.type, sum(s.devices) as n, sum(s.new) as nnew, sum(s.unauthorized) as nunauth "
	"from (select zone_id, type, devices, new, unauthorized from map_zone_stats where type is not null "
	"union all select zone_id, type, devices, new, unauthorized from map_zone_stats_delta where type is not null) s "
	"join zk on zk.k = s.zone_id where " NOFILTER " and not zk.split group by s.zone_id, s.type "
	"having sum(s.devices) <> 0 "
	"union all select d.zone_id, min(zk.site_id), min(zk.p1), min(zk.p2), coalesce(d.inv_type, 'unknown'), "
	"count(*), count(*) filter (where x.new), count(*) filter (where not d.authorized) "
	"from " MATCHING " where not " NOFILTER " and not zk.split and " MATCHES " group by d.zone_id, 5), "
	/* devices of split zones: p1..p5, the device's group id at each level (null below the last); gnode, its
	 * innermost collapsed group, null when every level down to its own is expanded */
	"nd as materialized (select x.id, x.site_id, x.zone_id, x.type, x.authorized, x.new, p.p1, p.p2, p.p3, p.p4, "
	"p.p5, coalesce(p.p5, p.p4, p.p3, p.p2, p.p1) as leaf, "
	"case when p.p1 <> all ($9::text[]) then 'g:' || p.p1 "
	"when p.p2 is not null and p.p2 <> all ($9::text[]) then 'g:' || p.p2 "
	"when p.p3 is not null and p.p3 <> all ($9::text[]) then 'g:' || p.p3 "
	"when p.p4 is not null and p.p4 <> all ($9::text[]) then 'g:' || p.p4 "
	"when p.p5 is not null and p.p5 <> all ($9::text[]) then 'g:' || p.p5 end as gnode "
	"from dev x cross join lateral (select " SEG("$11[1]") " as s1, " SEG("$11[2]") " as s2, "
	SEG("$11[3]") " as s3, " SEG("$11[4]") " as s4, " SEG("$11[5]") " as s5) s "
	"cross join lateral (select s.s1 as p1, s.s1 || '/' || s.s2 as p2, s.s1 || '/' || s.s2 || '/' || s.s3 as p3, "
	"s.s1 || '/' || s.s2 || '/' || s.s3 || '/' || s.s4 as p4, "
	"s.s1 || '/' || s.s2 || '/' || s.s3 || '/' || s.s4 || '/' || s.s5 as p5) p), "
	/* the devices of expanded last-level groups: the first max_devices of each by id are shown */
	"sh as (select id, row_number() over (partition by leaf order by id) as rn from nd where gnode is null), "
	"nn as materialized (select nd.id, nd.leaf, nd.new, coalesce(nd.gnode, case when sh.rn <= $10::int "
	"then 'd:' || nd.id end) as node from nd left join sh on sh.id = nd.id), "
	/* counted per leaf first (few rows; a whole zone's devices per zone, with its site/zone paths only), then
	 * rolled up to the visible groups of every level */
	"lf as (select p1, p2, p3, p4, p5, type, count(*) as n, count(*) filter (where new) as nnew, "
	"count(*) filter (where not authorized) as nunauth, min(site_id) as site_id, min(zone_id) as zone_id "
	"from nd group by 1, 2, 3, 4, 5, 6 "
	"union all select z1, z2, null, null, null, type, n, nnew, nunauth, site_id, zone_id from wa), "
	"gl as (select g.lvl, g.id, g.parent, x.type, sum(x.n) as n, sum(x.nnew) as nnew, sum(x.nunauth) as nunauth, "
	"min(x.site_id) as site_id, min(x.zone_id) as zone_id "
	"from lf x cross join lateral (values (1, x.p1, null::text), (2, x.p2, x.p1), (3, x.p3, x.p2), "
	"(4, x.p4, x.p3), (5, x.p5, x.p4)) g(lvl, id, parent) "
	"where g.id is not null and (g.lvl = 1 or g.parent = any ($9::text[])) group by 1, 2, 3, 4), "
	/* a group fixes its site when its path has a site or zone level, its zone when it has a zone level */
	"gv as materialized (select lvl, id, parent, sum(n)::bigint as devices, sum(nnew)::bigint as nnew, "
	"sum(nunauth)::bigint as nunauth, jsonb_object_agg(coalesce(type, 'unknown'), n) as types, "
	"case when coalesce(array_position($11::text[], 'site'), 9) <= lvl "
	"or coalesce(array_position($11::text[], 'zone'), 9) <= lvl then min(site_id) end as site_id, "
	"case when coalesce(array_position($11::text[], 'zone'), 9) <= lvl then min(zone_id) end as zone_id "
	"from gl group by 1, 2, 3), "
	/* whole zones: connections whose endpoints are both matching devices, counted per zone, then inside the
	 * zone's node. Stored endpoints and live ones apart. With no device filter (any device of the scope matches),
	 * the stored ones are the kept per-zone counts less those of scopes with pending changes (resolved live). */
	"mt as materialized (select d.id from " MATCHING " where not " NOFILTER " and not zk.split and " MATCHES "), "
	"wr as (select s.zone_id, sum(s.connections) as n from (select zone_id, connections from map_zone_stats "
	"where type is null union all select zone_id, connections from map_zone_stats_delta where type is null) s "
	"where " NOFILTER " group by 1 "
	"union all select c.zone_id, -count(*) from connections c where " NOFILTER " and c.map_resolved "
	"and c.src_device_id is not null and c.dst_device_id is not null "
	"and c.merge_scope = any ((select s from dsc)::text[]) "
	"group by 1 "
	"union all select c.zone_id, count(*) from connections c where not " NOFILTER " and c.map_resolved "
	"and c.merge_scope <> all ((select s from dsc)::text[]) and ($8::text[] is null or c.protocols && $8::text[]) "
	"and c.src_device_id in (select id from mt) and c.dst_device_id in (select id from mt) group by 1 "
	"union all select x.zone_id, count(*) from (select c.zone_id, "
	"otw_map_holder(c.merge_scope, c.transport, c.src_addr) as a, "
	"otw_map_holder(c.merge_scope, c.transport, c.dst_addr) as b from connections c "
	"where (not c.map_resolved or c.merge_scope = any ((select s from dsc)::text[])) "
	"and ($8::text[] is null or c.protocols && $8::text[])) x where x.a is not null and x.b is not null "
	"and (" NOFILTER " or (x.a in (select id from mt) and x.b in (select id from mt))) group by 1), "
	"wc as (select zk.gnode as node, sum(wr.n)::bigint as n from wr join zk on zk.k = coalesce(wr.zone_id, 0) "
	"where not zk.split group by 1), "
	/* split zones: every connection whose endpoints are both matching devices, with their nodes (null for a
	 * device a truncated group left out) */
	"cr as materialized (select x.id, x.protocols, na.node as a, nb.node as b, na.leaf as la, nb.leaf as lb "
	"from (select c.id, c.protocols, " HOLDER("src_addr", "src_device_id") " as a, "
	HOLDER("dst_addr", "dst_device_id") " as b from connections c join zk on zk.k = coalesce(c.zone_id, 0) "
	"cross join dsc where zk.split and ($8::text[] is null or c.protocols && $8::text[])) x "
	"join nn na on na.id = x.a join nn nb on nb.id = x.b), "
	/* edges are undirected: source sorts before target; packets are each connection's largest sensor total */
	"ce as (select least(a, b) as s, greatest(a, b) as t, count(*) as n, sum((select max(x.packets) "
	"from connection_sightings x where x.connection_id = cr.id))::bigint as packets from cr "
	"where a <> b group by 1, 2), "
	"ep as (select least(a, b) as s, greatest(a, b) as t, array_agg(distinct p order by p) as protocols "
	"from cr cross join unnest(cr.protocols) p where a <> b group by 1, 2), "
	"ci as (select node, sum(n)::bigint as n from (select a as node, count(*) as n from cr where a = b group by 1 "
	"union all select node, n from wc) i group by 1), "
	"co as (select leaf, count(distinct id) as n from (select id, la as leaf from cr where a is null "
	"union all select id, lb from cr where b is null) o group by 1), "
	"gj as (select gv.lvl, gv.id, jsonb_build_object('id', gv.id, 'label', case split_part(k.seg, ':', 1) "
	"when 'site' then coalesce((select st.name from sites st where st.id = gv.site_id), 'Unassigned') "
	"when 'zone' then coalesce((select zn.name from zones zn where zn.id = gv.zone_id), 'Unassigned') "
	"when 'subnet' then case k.key when 'none' then 'No IPv4' else k.key || '/24' end "
	"when 'vlan' then case k.key when 'untagged' then 'Untagged' else 'VLAN ' || k.key end "
	"else case k.key when 'unknown' then 'Unknown level' else 'Level ' || k.key end end, "
	"'level', ($11::text[])[gv.lvl], 'parent', gv.parent, 'expanded', gv.id = any ($9::text[]), "
	"'devices', gv.devices, 'site_id', gv.site_id, 'zone_id', gv.zone_id, 'types', gv.types, 'new', gv.nnew, "
	"'unauthorized', gv.nunauth, 'internal_connections', coalesce(ci.n, 0)) || "
	"case when gv.lvl = cardinality($11::text[]) and gv.id = any ($9::text[]) and gv.devices > $10::int "
	"then jsonb_build_object('truncated', true, 'omitted_connections', coalesce(co.n, 0)) else '{}' end as j "
	"from gv cross join lateral (select substring(gv.id from '[^/]*$') as seg) s "
	"cross join lateral (select s.seg, substr(s.seg, strpos(s.seg, ':') + 1) as key) k "
	"left join ci on ci.node = 'g:' || gv.id left join co on co.leaf = gv.id), "
	"dj as (select d.id, jsonb_build_object('id', d.id, 'group', x.leaf, "
	"'label', coalesce(d.name, d.inv_hostname, host(d.inv_ip), mc.mac), 'type', d.inv_type, "
	"'class', otw_device_class(d.inv_type), 'purdue_level', d.inv_purdue, 'authorized', d.authorized, "
	"'new', x.new, 'ip', host(d.inv_ip), 'mac', mc.mac, 'vendor', d.inv_vendor, "
	"'last_seen', " API_TS("d.last_seen") ") || case when ci.n > 0 then "
	"jsonb_build_object('internal_connections', ci.n) else '{}' end as j "
	"from nn x join devices d on d.id = x.id left join ci on ci.node = x.node "
	"cross join lateral (select min(u.mac) as mac from (select m.mac::text as mac from device_macs m "
	"where m.device_id = d.id union all select m.mac::text from devices g join device_macs m "
	"on m.device_id = g.id where g.merged_into = d.id) u) mc where x.node like 'd:%') "
	"select json_build_object('group_by', to_json($11::text[]), 'totals', json_build_object("
	"'devices', (select count(*) from dev) + (select coalesce(sum(n), 0) from wa)::bigint, 'groups', (select count(*) from gv), "
	"'edges', (select count(*) from ce), "
	"'connections', (select count(*) from cr) + (select coalesce(sum(n), 0) from wc)::bigint, "
	"'omitted_connections', (select count(*) from cr where a is null or b is null)), "
	"'groups', coalesce((select json_agg(j order by lvl, id) from gj), '[]'), "
	"'devices', coalesce((select json_agg(j order by id) from dj), '[]'), "
	"'edges', coalesce((select json_agg(json_build_object('source', ce.s, 'target', ce.t, 'connections', ce.n, "
	"'protocols', to_json(coalesce(ep.protocols, '{}'::text[])), 'packets', ce.packets) order by ce.s, ce.t) "
	"from ce left join ep on ep.s = ce.s and ep.t = ce.t), '[]'))::text";

/* Connections folded per request at most (each costs a few index probes). */
#define MAP_FOLD_ROWS "5000"

static const char *nz(const char *s)
{
	return s && s[0] ? s : NULL;
}

/* The levels as a PostgreSQL text array literal. */
static void levels_array(const struct map_query *q, char out[128])
{
	size_t o = 0;

	out[o++] = '{';
	for (size_t i = 0; i < q->nlevels; i++)
		o += (size_t)snprintf(out + o, 128 - o, "%s%s", i ? "," : "", map_level_name(q->levels[i]));
	out[o++] = '}';
	out[o] = '\0';
}

/* Folds pending endpoint resolutions (sql/017_map.sql otw_map_resolve) into the connections' columns, so that
 * the live set the read resolves itself stays small, and the per-zone counts' deltas into their totals. Best
 * effort and never waiting long: one request at a time (another one already folding is not waited for), rows the
 * ingest writer holds are skipped, and a lock wait over 100 ms gives up (the read stays exact either way: what is
 * not folded is resolved live, and pending deltas are summed). */
static long map_fold(PGconn *db)
{
	PGresult *res;
	long n = -1;

	if (!db_begin(db))
		return -1;
	res = db_exec(db,
		      "select pg_try_advisory_xact_lock(hashtextextended('otw_map_resolve', 0)), "
		      "set_config('lock_timeout', '100ms', true)",
		      0, NULL);
	if (res && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
		PQclear(res);
		res = db_exec(db, "select otw_map_resolve(" MAP_FOLD_ROWS ")", 0, NULL);
		if (res && PQntuples(res) == 1)
			n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
		/* the per-zone counts' pending deltas (sql/022_map_zone_stats.sql), under the same lock */
		PQclear(res);
		res = n >= 0 ? db_exec(db, "select otw_map_stats_fold()", 0, NULL) : NULL;
		if (!res || PQntuples(res) != 1)
			n = -1;
	} else if (res && PQntuples(res) == 1) {
		n = 0; /* another request or node is folding: nothing to do here */
	}
	PQclear(res);
	if (n < 0 || !db_commit(db)) {
		db_rollback(db);
		return -1;
	}
	return n;
}

long api_map_fold_backlog(PGconn *db, int max_rounds)
{
	long total = 0, n;

	for (int i = 0; i < max_rounds; i++) {
		if ((n = map_fold(db)) < 0)
			return total ? total : -1;
		total += n;
		if (n < atol(MAP_FOLD_ROWS))
			break;
	}
	return total;
}

void api_map_get(struct api_call *c, PGconn *db)
{
	struct map_query *q = malloc(sizeof(*q));
	char *expand = NULL, max[24], levels[128];
	size_t expand_len = MAP_EXPAND_MAX * (MAP_ID_MAX + 3) + 3;
	const char *params[11];
	PGresult *res = NULL;

	if (!q || !(expand = malloc(expand_len))) {
		api_fail(c, 500, "internal", NULL, "out of memory");
		goto out;
	}
	if (map_query_parse(c->query, q, &c->err) < 0) {
		c->status = c->err.status;
		goto out;
	}
	if (!map_query_expand_array(q, expand, expand_len)) {
		api_fail(c, 500, "internal", NULL, "internal error");
		goto out;
	}
	snprintf(max, sizeof(max), "%ld", q->max_devices);
	levels_array(q, levels);
	params[0] = api_scope(c);
	params[1] = nz(q->site_id);
	params[2] = nz(q->zone_id);
	params[3] = nz(q->types);
	params[4] = nz(q->authorized);
	params[5] = nz(q->is_new);
	params[6] = nz(q->seen_after);
	params[7] = nz(q->protocols);
	params[8] = expand;
	params[9] = max;
	params[10] = levels;
	map_fold(db);
	/* One read-only snapshot. The statement aggregates whole tables: a larger work_mem keeps its hashes in
	 * memory, JIT (which its cost estimate would trigger) costs more to compile than it saves here, and the
	 * row estimates of its aggregates are poor enough that the planner picks merge joins and sorted aggregates
	 * with large (on-disk) sorts where hashing is several times faster (measured at 100,000 and 1,000,000
	 * devices). */
	if (!db_begin(db))
		goto fail;
	if (!(res = db_exec(db,
			    "select set_config('work_mem', '64MB', true), set_config('jit', 'off', true), "
			    "set_config('enable_mergejoin', 'off', true), set_config('enable_sort', 'off', true), "
			    "set_config('transaction_read_only', 'on', true)",
			    0, NULL)))
		goto fail;
	PQclear(res);
	if (!(res = db_exec(db, map_sql, 11, params)) || PQntuples(res) != 1)
		goto fail;
	if (!(c->resp_text = strdup(PQgetvalue(res, 0, 0)))) {
		api_fail(c, 500, "internal", NULL, "out of memory");
		goto out;
	}
	c->resp_type = "application/json";
	c->status = 200;
	goto out;
fail:
	api_fail_db(c);
out:
	db_rollback(db);
	PQclear(res);
	free(expand);
	free(q);
}
