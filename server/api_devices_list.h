/* The inventory list and its CSV export (issue 8): server-side paging, sorting, filtering and search over a
 * million devices, always in the caller's scope.
 *
 *   GET /api/v1/devices[?limit&cursor&site_id&zone_id&sensor_id&q&type&class&vendor&protocol&authorized&importance
 *                       &purdue_level&new&seen_after&seen_before&tag&sort&order&count]
 *   GET /api/v1/devices/export?format=csv[&the same filters, sort and order]
 *
 * Filters and sort keys read the inventory columns sql/016_inventory.sql keeps (inv_*), equal to what the items
 * show; items are the same objects as GET /api/v1/devices/{id}, built only for the page's rows. Cursors are keyset
 * positions (sort key and id) bound to the sort, order and filters they were made for.
 * docs/architecture.md "Device inventory" describes the parameters; server/devices_query.h parses them. */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"
#include "server/devices_query.h"

void api_devices_list(struct api_call *c, PGconn *db);
void api_devices_export(struct api_call *c, PGconn *db);

/* ---- device SQL shared with server/api_devices.c ---- */

/* The device `d` (not merged away) with the devices merged into it: g.ids holds all their ids. */
#define DEVICE_GROUP                                                                                           \
	" cross join lateral (select array_agg(m.id) ids, jsonb_agg(m.key order by m.key) keys, "                 \
	"coalesce(jsonb_agg(m.id order by m.id) filter (where m.id <> d.id), '[]') merged_ids, "                  \
	"min(m.first_seen) first_seen, max(m.last_seen) last_seen from devices m "                               \
	"where m.id = d.id or m.merged_into = d.id) g "
/* What the sensors report (device_sightings.report): per field the latest non-null report; flags (and a dynamic
 * address) if any sensor says so; type, vendor and hostname fall back to the columns ingest kept before reports
 * existed. sql/016_inventory.sql otw_inventory_refresh computes the same values for the inv_* columns. */
#define REP(f) "(array_agg(s.report->>'" f "' order by s.last_seen desc) filter (where s.report->>'" f "' is not null))[1]"
#define DEVICE_REPORTED                                                                                        \
	" cross join lateral (select coalesce(" REP("type") ", d.type) as type, coalesce(" REP("vendor") ", "     \
	"d.vendor) as vendor, coalesce(" REP("hostname") ", d.hostname) as hostname, " REP("oui_vendor") " as "   \
	"oui_vendor, " REP("model") " as model, " REP("firmware") " as firmware, " REP("serial") " as serial, "   \
	REP("os") " as os, " REP("fqdn") " as fqdn, " REP("plc_mode") " as plc_mode, " REP("purdue_level")       \
	"::int as purdue_level, (array_agg(s.report->'type_evidence' order by s.last_seen desc) "                 \
	"filter (where s.report ? 'type'))[1] as type_evidence, "                                                \
	"coalesce(bool_or((s.report->'flags'->>'scanner')::boolean), false) as scanner, "                        \
	"coalesce(bool_or((s.report->'flags'->>'programming_device')::boolean), false) as programming_device, "  \
	"(array_agg((s.report->>'external')::boolean order by s.last_seen desc) "                                 \
	"filter (where s.report->>'external' is not null))[1] as external, "                                     \
	"coalesce(bool_or((s.report->>'dynamic_address')::boolean), false) as dynamic_address, "                 \
	"(array_agg(s.report->'vlan_names' order by s.last_seen desc) filter (where s.report ? 'vlan_names'))[1] " \
	"as vlan_names "                                                                                         \
	"from device_sightings s where s.device_id = any (g.ids)) r "                                            \
	" cross join lateral (select coalesce(jsonb_object_agg(a.k, a.v), '{}') attrs from (select distinct on " \
	"(e.key) e.key k, e.value v from device_sightings s, jsonb_each(coalesce(s.report->'attributes', '{}')) e " \
	"where s.device_id = any (g.ids) order by e.key, s.last_seen desc) a) at "
#define EFF(f) "coalesce(d.overrides->>'" f "', r." f ")"
#define DEVICE_JSON                                                                                            \
	"json_build_object('id', d.id, 'zone_id', d.zone_id, 'site_id', z.site_id, 'key', d.key, 'keys', g.keys, " \
	"'merged_ids', g.merged_ids, 'name', d.name, "                                                          \
	"'macs', coalesce((select jsonb_agg(x.m order by x.m) from (select distinct m.mac::text m "             \
	"from device_macs m where m.device_id = any (g.ids)) x), '[]'), "                                       \
	"'ips', coalesce((select jsonb_agg(host(x.ip) order by x.ip) from (select distinct i.ip "                 \
	"from device_ips i where i.device_id = any (g.ids)) x), '[]'), "                                        \
	"'vlans', coalesce((select jsonb_agg(x.v order by x.v) from (select distinct v.vlan v "                  \
	"from device_vlans v where v.device_id = any (g.ids)) x), '[]'), "                                      \
	"'type', " EFF("type") ", 'class', otw_device_class(" EFF("type") "), "                                 \
	"'type_evidence', coalesce(r.type_evidence, '[]'), 'vendor', " EFF("vendor") ", "                       \
	"'oui_vendor', r.oui_vendor, 'model', " EFF("model") ", 'firmware', " EFF("firmware") ", "             \
	"'serial', " EFF("serial") ", 'os', " EFF("os") ", 'hostname', " EFF("hostname") ", "                   \
	"'fqdn', " EFF("fqdn") ", 'purdue_level', coalesce((d.overrides->>'purdue_level')::int, r.purdue_level), " \
	"'plc_mode', r.plc_mode, 'scanner', r.scanner, 'programming_device', r.programming_device, "            \
	"'external', r.external, 'dynamic_address', r.dynamic_address, 'vlan_names', coalesce(r.vlan_names, '{}'), " \
	"'rack', at.attrs->'rack'->'value', 'slot', at.attrs->'slot'->'value', 'attributes', at.attrs, "         \
	"'protocols', coalesce((select jsonb_agg(json_build_object('name', x.name, 'role', x.role) "            \
	"order by x.name, x.role) from (select distinct p.name, p.role from device_protocols p "                \
	"where p.device_id = any (g.ids)) x), '[]'), "                                                          \
	"'sensor_ids', coalesce((select jsonb_agg(distinct s.sensor_id order by s.sensor_id) "                  \
	"from device_sightings s where s.device_id = any (g.ids)), '[]'), "                                     \
	"'new', exists (select 1 from device_sightings s join sensors n on n.id = s.sensor_id "                   \
	"where s.device_id = any (g.ids) and n.mode = 'operational' and n.mode_changed_at is not null "          \
	"and g.first_seen > n.mode_changed_at), "                                                                \
	"'authorized', d.authorized, 'importance', d.importance, 'description', d.description, "                \
	"'tags', to_jsonb(d.tags), 'reported', json_build_object('type', r.type, 'vendor', r.vendor, "          \
	"'model', r.model, 'firmware', r.firmware, 'serial', r.serial, 'os', r.os, 'hostname', r.hostname, "     \
	"'fqdn', r.fqdn, 'purdue_level', r.purdue_level), 'overrides', d.overrides, "                          \
	"'first_seen', " API_TS("g.first_seen") ", 'last_seen', " API_TS("g.last_seen") ")::text"
#define DEVICE_JOINS " left join zones z on z.id = d.zone_id " DEVICE_GROUP DEVICE_REPORTED
#define DEVICE_FROM " from devices d" DEVICE_JOINS
