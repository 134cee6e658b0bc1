#include "server/api_inventory.h"


#define DEVICE_JSON                                                                                            \
	"json_build_object('id', d.id, 'zone_id', d.zone_id, 'site_id', z.site_id, 'key', d.key, "              \
	"'macs', coalesce((select jsonb_agg(x.m order by x.m) from (select distinct m.mac::text m "             \
	"from device_macs m where m.device_id = d.id) x), '[]'), "                                              \
	"'ips', coalesce((select jsonb_agg(host(x.ip) order by x.ip) from (select distinct i.ip "                 \
	"from device_ips i where i.device_id = d.id) x), '[]'), "                                               \
	"'vlans', coalesce((select jsonb_agg(x.v order by x.v) from (select distinct v.vlan v "                  \
	"from device_vlans v where v.device_id = d.id) x), '[]'), "                                             \
	"'vendor', d.vendor, 'hostname', d.hostname, 'type', d.type, "                                          \
	"'protocols', coalesce((select jsonb_agg(json_build_object('name', x.name, 'role', x.role) "            \
	"order by x.name, x.role) from (select distinct p.name, p.role from device_protocols p "                \
	"where p.device_id = d.id) x), '[]'), "                                                                 \
	"'sensor_ids', coalesce((select jsonb_agg(s.sensor_id order by s.sensor_id) "                           \
	"from device_sightings s where s.device_id = d.id), '[]'), "                                            \
	"'first_seen', " API_TS("d.first_seen") ", 'last_seen', " API_TS("d.last_seen") ")::text"
#define DEVICE_FROM " from devices d left join zones z on z.id = d.zone_id "

/* The device of the connection's merge scope that holds the address: an IP for tcp/udp, a MAC for eth.
 * Compared as text so that an address the database cannot parse resolves to null instead of failing. */
#define ENDPOINT(col)                                                                                          \
	"case when c.transport = 'eth' then (select min(m.device_id) from device_macs m join devices dm "        \
	"on dm.id = m.device_id where dm.merge_scope = c.merge_scope and m.mac::text = lower(" col ")) "        \
	"else (select min(i.device_id) from device_ips i join devices di on di.id = i.device_id "                \
	"where di.merge_scope = c.merge_scope and host(i.ip) = " col ") end"
#define CONN_JSON                                                                                              \
	"json_build_object('id', c.id, 'zone_id', c.zone_id, 'site_id', z.site_id, "                           \
	"'src', " ENDPOINT("c.src_addr") ", 'dst', " ENDPOINT("c.dst_addr") ", "                                \
	"'src_addr', c.src_addr, 'dst_addr', c.dst_addr, 'transport', c.transport, 'port', c.port, "            \
	"'protocols', to_jsonb(c.protocols), "                                                                  \
	"'packets', coalesce((select max(s.packets) from connection_sightings s where s.connection_id = c.id), 0), " \
	"'bytes', coalesce((select max(s.bytes) from connection_sightings s where s.connection_id = c.id), 0), " \
	"'first_seen', " API_TS("c.first_seen") ", 'last_seen', " API_TS("c.last_seen") ")::text"
#define CONN_FROM " from connections c left join zones z on z.id = c.zone_id "

static bool id_param(struct api_call *c, const char *what)
{
	int64_t id;

	if (http_id_parse_int(c->param, &id))
		return true;
	api_fail(c, 404, "not_found", NULL, "%s not found", what);
	return false;
}

void api_devices_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;
	const char *extra[3];

	if (!api_list_params(c, HTTP_FILTER_SITE_ID | HTTP_FILTER_ZONE_ID | HTTP_FILTER_SENSOR_ID, HTTP_ID_INT, &lp))
		return;
	extra[0] = lp.site_id;
	extra[1] = lp.zone_id;
	extra[2] = lp.sensor_id;
	api_list(c, db,
		 "select d.id::text, " DEVICE_JSON DEVICE_FROM "where ($1::bigint is null or d.id > $1::bigint) "
		 "and ($3::bigint is null or z.site_id = $3::bigint) and ($4::bigint is null or d.zone_id = $4::bigint) "
		 "and ($5::uuid is null or exists (select 1 from device_sightings s where s.device_id = d.id "
		 "and s.sensor_id = $5::uuid)) order by d.id limit $2::int",
		 &lp, 3, extra);
}

void api_devices_get(struct api_call *c, PGconn *db)
{
	const char *params[1] = { c->param };

	if (id_param(c, "device"))
		api_get_one(c, db, "select " DEVICE_JSON DEVICE_FROM "where d.id = $1::bigint", 1, params, "device");
}

void api_connections_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;
	const char *extra[3];

	if (!api_list_params(c, HTTP_FILTER_SITE_ID | HTTP_FILTER_ZONE_ID | HTTP_FILTER_SENSOR_ID, HTTP_ID_INT, &lp))
		return;
	extra[0] = lp.site_id;
	extra[1] = lp.zone_id;
	extra[2] = lp.sensor_id;
	api_list(c, db,
		 "select c.id::text, " CONN_JSON CONN_FROM "where ($1::bigint is null or c.id > $1::bigint) "
		 "and ($3::bigint is null or z.site_id = $3::bigint) and ($4::bigint is null or c.zone_id = $4::bigint) "
		 "and ($5::uuid is null or exists (select 1 from connection_sightings s where s.connection_id = c.id "
		 "and s.sensor_id = $5::uuid)) order by c.id limit $2::int",
		 &lp, 3, extra);
}

void api_connections_get(struct api_call *c, PGconn *db)
{
	const char *params[1] = { c->param };

	if (id_param(c, "connection"))
		api_get_one(c, db, "select " CONN_JSON CONN_FROM "where c.id = $1::bigint", 1, params, "connection");
}
