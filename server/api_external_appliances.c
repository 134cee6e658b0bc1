/* GET /external/v1/appliances (docs/external-api.md): the sensors in the incumbent's shape. connectionState is
 * SYNCED when the sensor is connected and the console applied every journal record the sensor announced (the
 * journal head of its hello, sensors.journal_last_seq of sql/015_external.sql, and of its latest health sample,
 * sensor_health.journal_last_seq of sql/014_sensor_health.sql; seqs only grow, so an older figure never makes a
 * caught-up sensor look behind), OUT_OF_SYNC while connected and behind, DISCONNECTED else. */
#include "server/api_external.h"

#include <stdio.h>

#include "server/api_principal.h"

/* The listed sensors (filters and scope) first; their alert counts in one pass over the alerts that name one of them
 * and that the caller may see (an alert counts for each sensor that reported it). */
static const char appliances_sql[] =
	"with ls as (select s.id from sensors s left join zones z on z.id = s.zone_id "
	"where ($1::bigint[] is null or z.site_id = any ($1::bigint[])) "
	"and ($2::bigint[] is null or s.zone_id = any ($2::bigint[])) and otw_zone_visible($3::bigint[], s.zone_id)), "
	"ac as (select x.sid, count(*) n, count(*) filter (where a.status = 'new') unhandled "
	"from alerts a cross join unnest(a.sensor_ids) x(sid) "
	"where a.sensor_ids && array(select ls.id from ls) and x.sid in (select ls.id from ls) "
	"and otw_zone_visible($3::bigint[], a.zone_id) group by x.sid) "
	"select json_build_object('id', s.external_id, 'uuid', s.id, 'name', s.name, "
	"'interfaceAddress', s.last_address, 'version', s.software_version, "
	"'alertCount', coalesce(ac.n, 0), 'unhandledAlertsCount', coalesce(ac.unhandled, 0), "
	"'deviceCount', (select count(*) from device_sightings ds where ds.sensor_id = s.id), "
	"'isActivated', s.cert_serial is not null and s.revoked_at is null, 'zoneId', s.zone_id, "
	"'siteId', z.site_id, 'isInLearningMode', s.mode = 'learning', 'connectionState', "
	"case when not s.connected or s.revoked_at is not null then 'DISCONNECTED' "
	"when s.applied_seq >= greatest(s.journal_last_seq, h.journal_last_seq, 0) then 'SYNCED' "
	"else 'OUT_OF_SYNC' end)::text "
	"from ls join sensors s on s.id = ls.id left join zones z on z.id = s.zone_id "
	"left join sensor_health h on h.sensor_id = s.id left join ac on ac.sid = s.id order by s.external_id";

void api_external_appliances(struct api_call *c, PGconn *db)
{
	static const char *const names[] = { "siteId", "zoneId" };
	char *v[2];
	char sites[4096], zones[4096];
	const char *params[3] = { sites, zones, api_scope(c) };

	if (!api_external_query_parse(c, names, 2, 0x3u, v))
		return;
	if (api_external_ids(c, "siteId", v[0], sites, sizeof(sites)) &&
	    api_external_ids(c, "zoneId", v[1], zones, sizeof(zones)))
		api_external_array(c, db, appliances_sql, 3, params);
	api_external_query_free(v, 2);
}
