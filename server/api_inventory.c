#include "server/api_inventory.h"

#include "server/api_principal.h"
#include "server/db.h"

/* The device of the connection's merge scope that holds the address: an IP for tcp/udp, a MAC for eth; a merged
 * device gives the device it was merged into. Compared as text so that an address the database cannot parse
 * resolves to null instead of failing. */
#define ENDPOINT(col)                                                                                          \
	"case when c.transport = 'eth' then (select min(coalesce(dm.merged_into, dm.id)) from device_macs m "    \
	"join devices dm on dm.id = m.device_id where dm.merge_scope = c.merge_scope and m.mac::text = lower(" col ")) " \
	"else (select min(coalesce(di.merged_into, di.id)) from device_ips i join devices di on di.id = i.device_id " \
	"where di.merge_scope = c.merge_scope and host(i.ip) = " col ") end"
#define CONN_JSON                                                                                              \
	"json_build_object('id', c.id, 'zone_id', c.zone_id, 'site_id', z.site_id, "                           \
	"'src', " ENDPOINT("c.src_addr") ", 'dst', " ENDPOINT("c.dst_addr") ", "                                \
	"'src_addr', c.src_addr, 'dst_addr', c.dst_addr, 'transport', c.transport, 'port', c.port, "            \
	"'protocols', to_jsonb(c.protocols), 'functions', coalesce((select jsonb_agg(json_build_object('proto', " \
	"f.proto, 'code', f.code, 'name', f.name) order by f.proto, f.code) from connection_functions f "        \
	"where f.connection_id = c.id), '[]'), "                                                                  \
	"'packets', coalesce((select max(s.packets) from connection_sightings s where s.connection_id = c.id), 0), " \
	"'bytes', coalesce((select max(s.bytes) from connection_sightings s where s.connection_id = c.id), 0), " \
	"'first_seen', " API_TS("c.first_seen") ", 'last_seen', " API_TS("c.last_seen") ")::text"
#define CONN_FROM " from connections c left join zones z on z.id = c.zone_id "
/* The addresses of device `id` and of the devices merged into it in the forms connections store them, so that
 * the comparison can use an index: IP text (host()), a MAC in lower case (ingest's canonical form,
 * server/ingest_params.c canon_addr) and in capitals (as other writers spell it). */
#define DEVICE_ADDRS(id)                                                                                       \
	"array(select host(i.ip) from device_ips i join devices g on g.id = i.device_id where g.id = " id          \
	"::bigint or g.merged_into = " id "::bigint union select x.a from device_macs m join devices g "           \
	"on g.id = m.device_id cross join lateral (values (m.mac::text), (upper(m.mac::text))) x(a) "              \
	"where g.id = " id "::bigint or g.merged_into = " id "::bigint)"

void api_connections_list(struct api_call *c, PGconn *db)
{
	static const char *const names[] = { "device_id" };
	char device[1][API_QUERY_VALUE_MAX];
	struct http_list_params lp;
	const char *extra[5];

	if (!api_list_params_plus(c, HTTP_FILTER_SITE_ID | HTTP_FILTER_ZONE_ID | HTTP_FILTER_SENSOR_ID, HTTP_ID_INT,
				  &lp, names, 1, device) ||
	    !api_query_int_id(c, "device_id", device[0]))
		return;
	extra[0] = lp.site_id;
	extra[1] = lp.zone_id;
	extra[2] = lp.sensor_id;
	extra[3] = api_scope(c);
	extra[4] = device[0][0] ? device[0] : NULL;
	/* device_id: the connections of the device's merge scope with one of its addresses (or those of the devices
	 * merged into it) at either end, as ENDPOINT resolves them. The transport condition (true of every row)
	 * lets the source side walk the unique index (merge_scope, transport, src_addr, ...); the destination side
	 * has connections_dst_addr_idx (sql/019_inventory_fixes.sql). */
	api_list(c, db,
		 "select c.id::text, " CONN_JSON CONN_FROM "where ($1::bigint is null or c.id > $1::bigint) "
		 "and ($3::bigint is null or z.site_id = $3::bigint) and ($4::bigint is null or c.zone_id = $4::bigint) "
		 "and ($5::uuid is null or exists (select 1 from connection_sightings s where s.connection_id = c.id "
		 "and s.sensor_id = $5::uuid)) and otw_zone_visible($6::bigint[], c.zone_id) "
		 "and ($7::bigint is null or (c.merge_scope = (select d.merge_scope from devices d where d.id = $7::bigint) "
		 "and (c.transport = any ('{tcp,udp,eth}') and c.src_addr = any (" DEVICE_ADDRS("$7") ") "
		 "or c.dst_addr = any (" DEVICE_ADDRS("$7") ")))) "
		 "order by c.id limit $2::int",
		 &lp, 5, extra);
}

void api_connections_get(struct api_call *c, PGconn *db)
{
	const char *params[2] = { c->param, api_scope(c) };

	if (api_id_param(c, "connection"))
		api_get_one(c, db,
			    "select " CONN_JSON CONN_FROM
			    "where c.id = $1::bigint and otw_zone_visible($2::bigint[], c.zone_id)",
			    2, params, "connection");
}
