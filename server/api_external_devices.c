/* GET /external/v1/devices (docs/external-api.md): OTWatch's devices in the incumbent's shape. The values follow
 * GET /api/v1/devices: the analyst's overrides win over what sensors report, and a device's merged duplicates
 * count as part of it. */
#include "server/api_external.h"

#include "server/api_principal.h"

/* The device `d` with the devices merged into it (g.ids). */
#define EXT_DEVICE_GROUP                                                                                       \
	" cross join lateral (select array_agg(m.id) ids from devices m where m.id = d.id or m.merged_into = d.id) g "
/* Per field the latest non-null report of its sensors (as api_devices.c reads device_sightings.report). */
#define EXT_REP(f)                                                                                             \
	"(array_agg(s.report->>'" f "' order by s.last_seen desc) filter (where s.report->>'" f "' is not null))[1]"
#define EXT_DEVICE_REPORTED                                                                                    \
	" cross join lateral (select coalesce(" EXT_REP("type") ", d.type) as type, coalesce(" EXT_REP("vendor")  \
	", d.vendor) as vendor, coalesce(" EXT_REP("hostname") ", d.hostname) as hostname, " EXT_REP("model")    \
	" as model, " EXT_REP("firmware") " as firmware, " EXT_REP("serial") " as serial, " EXT_REP("os")        \
	" as os, coalesce(bool_or((s.report->'flags'->>'scanner')::boolean), false) as scanner, "                \
	"coalesce(bool_or((s.report->'flags'->>'programming_device')::boolean), false) as programming_device, "  \
	"(array_agg(s.sensor_id order by s.last_seen desc))[1] as last_sensor "                                  \
	"from device_sightings s where s.device_id = any (g.ids)) r "                                            \
	" cross join lateral (select coalesce(jsonb_object_agg(a.k, a.v), '{}') attrs from (select distinct on "  \
	"(e.key) e.key k, e.value v from device_sightings s, jsonb_each(coalesce(s.report->'attributes', '{}')) e " \
	"where s.device_id = any (g.ids) order by e.key, s.last_seen desc) a) at "                               \
	" cross join lateral (select coalesce(jsonb_agg(host(x.ip) order by x.ip), '[]') ips from (select "      \
	"distinct i.ip from device_ips i where i.device_id = any (g.ids)) x) ip "                                \
	" cross join lateral (select coalesce(jsonb_agg(x.m order by x.m), '[]') macs from (select distinct "     \
	"m.mac::text m from device_macs m where m.device_id = any (g.ids)) x) mac "
#define EXT_EFF(f) "coalesce(d.overrides->>'" f "', r." f ")"
#define EXT_ATTR(k) "(at.attrs->'" k "'->>'value')"

static const char devices_sql[] =
	"select json_build_object('id', d.id, 'sensorId', " API_EXT_SENSOR_NUM("r.last_sensor") ", "
	"'zoneId', d.zone_id, 'siteId', z.site_id, 'ipAddresses', ip.ips, "
	"'name', coalesce(d.name, " EXT_EFF("hostname") ", ip.ips->>0, mac.macs->>0, 'device ' || d.id), "
	"'type', " EXT_EFF("type") ", 'macAddresses', mac.macs, 'operatingSystem', " EXT_EFF("os") ", "
	"'engineeringStation', r.programming_device, 'scanner', r.scanner, 'authorized', d.authorized, "
	"'vendor', " EXT_EFF("vendor") ", "
	"'protocols', coalesce((select json_agg(json_build_object('name', p.name, 'addresses', ip.ips) "
	"order by p.name) from (select distinct dp.name from device_protocols dp where dp.device_id = any (g.ids)) p), "
	"'[]'), "
	"'firmware', case when coalesce(" EXT_EFF("serial") ", " EXT_EFF("model") ", " EXT_EFF("firmware") ") "
	"is null then '[]'::json else json_build_array(json_build_object('serial', " EXT_EFF("serial") ", "
	"'model', " EXT_EFF("model") ", 'firmwareVersion', " EXT_EFF("firmware") ", 'additionalData', "
	"(select string_agg(e.key || '=' || (e.value->>'value'), '; ' order by e.key) from jsonb_each(at.attrs) e), "
	"'moduleAddress', case when " EXT_ATTR("rack") " is not null and " EXT_ATTR("slot") " is not null then "
	EXT_ATTR("rack") " || '/' || " EXT_ATTR("slot") " end, 'rack', " EXT_ATTR("rack") ", 'slot', "
	EXT_ATTR("slot") ", 'address', ip.ips->>0)) end)::text "
	"from devices d left join zones z on z.id = d.zone_id " EXT_DEVICE_GROUP EXT_DEVICE_REPORTED
	"where d.merged_into is null and d.id > $1::bigint "
	"and ($3::boolean is null or d.authorized = $3::boolean) "
	"and ($4::bigint[] is null or z.site_id = any ($4::bigint[])) "
	"and ($5::bigint[] is null or d.zone_id = any ($5::bigint[])) "
	"and (($6::bigint[] is null and $7::uuid[] is null) or exists (select 1 from device_sightings s "
	"join sensors xs on xs.id = s.sensor_id where s.device_id = any (g.ids) "
	"and (xs.external_id = any ($6::bigint[]) or xs.id = any ($7::uuid[])))) "
	"and otw_zone_visible($8::bigint[], d.zone_id) order by d.id limit $2::int";

void api_external_devices(struct api_call *c, PGconn *db)
{
	static const char *const names[] = { "authorized", "siteId", "zoneId", "sensorId", "limit", "afterId" };
	enum { N = sizeof(names) / sizeof(names[0]) };
	char *v[N];
	char authorized[8], sites[4096], zones[4096], ints[4096], uuids[4096], limit[24], after[24];
	const char *params[8] = { after, limit, authorized, sites, zones, ints, uuids, api_scope(c) };

	/* siteId, zoneId and sensorId are lists */
	if (!api_external_query_parse(c, names, N, 0xeu, v))
		return;
	if (api_external_bool(c, "authorized", v[0], authorized) &&
	    api_external_ids(c, "siteId", v[1], sites, sizeof(sites)) &&
	    api_external_ids(c, "zoneId", v[2], zones, sizeof(zones)) &&
	    api_external_sensor_ids(c, "sensorId", v[3], ints, sizeof(ints), uuids, sizeof(uuids)) &&
	    api_external_uint(c, "limit", v[4], 1, API_EXTERNAL_LIMIT_MAX, limit) &&
	    api_external_uint(c, "afterId", v[5], 0, INT64_MAX / 2, after)) {
		if (!limit[0])
			snprintf(limit, sizeof(limit), "%d", API_EXTERNAL_LIMIT_MAX);
		if (!after[0])
			snprintf(after, sizeof(after), "0");
		api_external_array(c, db, devices_sql, 8, params);
	}
	api_external_query_free(v, N);
}
