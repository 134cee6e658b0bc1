#include "server/api_inventory.h"

#include "server/api_principal.h"
#include "server/db.h"

static const struct http_field device_update_fields[] = {
	{ "name", HTTP_FT_STRING, HTTP_FF_REQUIRED | HTTP_FF_NULLABLE | HTTP_FF_NO_CTRL, 1, 200 },
};
const struct http_body_spec api_devices_update_body = { device_update_fields, 1, 0 };


#define DEVICE_JSON                                                                                            \
	"json_build_object('id', d.id, 'zone_id', d.zone_id, 'site_id', z.site_id, 'key', d.key, 'name', d.name, " \
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

void api_devices_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;
	const char *extra[4];

	if (!api_list_params(c, HTTP_FILTER_SITE_ID | HTTP_FILTER_ZONE_ID | HTTP_FILTER_SENSOR_ID, HTTP_ID_INT, &lp))
		return;
	extra[0] = lp.site_id;
	extra[1] = lp.zone_id;
	extra[2] = lp.sensor_id;
	extra[3] = api_scope(c);
	api_list(c, db,
		 "select d.id::text, " DEVICE_JSON DEVICE_FROM "where ($1::bigint is null or d.id > $1::bigint) "
		 "and ($3::bigint is null or z.site_id = $3::bigint) and ($4::bigint is null or d.zone_id = $4::bigint) "
		 "and ($5::uuid is null or exists (select 1 from device_sightings s where s.device_id = d.id "
		 "and s.sensor_id = $5::uuid)) and otw_zone_visible($6::bigint[], d.zone_id) "
		 "order by d.id limit $2::int",
		 &lp, 4, extra);
}

void api_devices_get(struct api_call *c, PGconn *db)
{
	const char *params[2] = { c->param, api_scope(c) };

	if (api_id_param(c, "device"))
		api_get_one(c, db,
			    "select " DEVICE_JSON DEVICE_FROM
			    "where d.id = $1::bigint and otw_zone_visible($2::bigint[], d.zone_id)",
			    2, params, "device");
}

void api_devices_update(struct api_call *c, PGconn *db)
{
	const char *params[3] = { c->param, api_body_str(c, "name"), api_scope(c) };
	PGresult *res;
	json_t *details;

	if (!api_id_param(c, "device"))
		return;
	/* The FROM subquery reads the statement's snapshot: the name before the update. */
	res = db_exec(db,
		      "update devices d set name = $2, updated_at = now() from (select o.name from devices o "
		      "where o.id = $1::bigint) old where d.id = $1::bigint and otw_zone_visible($3::bigint[], d.zone_id) "
		      "returning d.id, old.name",
		      3, params);
	if (!res) {
		api_fail_db(c);
		return;
	}
	if (PQntuples(res) == 0) {
		api_fail(c, 404, "not_found", NULL, "device not found");
		PQclear(res);
		return;
	}
	details = json_pack("{s:{s:s?}, s:{s:s?}}", "before", "name",
			    PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1), "after", "name", params[1]);
	api_audit(c, db, "device.update", c->param, details);
	json_decref(details);
	PQclear(res);
	api_get_one(c, db, "select " DEVICE_JSON DEVICE_FROM "where d.id = $1::bigint", 1, params, "device");
}

void api_connections_list(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;
	const char *extra[4];

	if (!api_list_params(c, HTTP_FILTER_SITE_ID | HTTP_FILTER_ZONE_ID | HTTP_FILTER_SENSOR_ID, HTTP_ID_INT, &lp))
		return;
	extra[0] = lp.site_id;
	extra[1] = lp.zone_id;
	extra[2] = lp.sensor_id;
	extra[3] = api_scope(c);
	api_list(c, db,
		 "select c.id::text, " CONN_JSON CONN_FROM "where ($1::bigint is null or c.id > $1::bigint) "
		 "and ($3::bigint is null or z.site_id = $3::bigint) and ($4::bigint is null or c.zone_id = $4::bigint) "
		 "and ($5::uuid is null or exists (select 1 from connection_sightings s where s.connection_id = c.id "
		 "and s.sensor_id = $5::uuid)) and otw_zone_visible($6::bigint[], c.zone_id) "
		 "order by c.id limit $2::int",
		 &lp, 4, extra);
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
