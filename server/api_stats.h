/* Aggregates for the web UI's dashboard, computed in the database and scoped like the lists they summarise, so a
 * page never has to fetch a million devices to count them. */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

/* GET /api/v1/stats/summary[?site_id=&zone_id=] -> {"sensors":{"total","connected","disconnected","silent",
 * "learning","operational","unassigned","revoked"}, "devices":{"total","unauthorized","by_type":[{"type","count"}],
 * "by_class":[{"class","count"}],"by_site":[{"site_id","name","count"}]}, "alerts":{"open","open_by_severity":
 * {"critical","major","minor","warning"}}, "at"}. Revoked sensors count only as revoked; unplaced devices and
 * sensors are in the totals of admins only (their zone is none, like every unscoped object). */
void api_stats_summary(struct api_call *c, PGconn *db);
/* GET /api/v1/stats/alerts[?from=&to=&bucket=hour|day&site_id=&zone_id=] -> {"bucket","from","to","series":
 * [{"t","critical","major","minor","warning"}]}: alerts detected per bucket and severity, every bucket present
 * (zeros included). Defaults: the last 24 hours by hour (bucket=day: the last 30 days); at most 1000 buckets, 400
 * naming `bucket` beyond. */
void api_stats_alerts(struct api_call *c, PGconn *db);
