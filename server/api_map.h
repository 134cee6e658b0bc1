/* The global device map (issue 8): GET /api/v1/map, every role, scoped like the inventory.
 *
 * Devices that pass the filters are grouped by a hierarchy of levels (`group_by`, default site,zone) and sent as
 * aggregated groups; `expand` opens groups, a group of the last level into its devices (at most `max_devices`
 * of them, by id; more makes the group `truncated`). A connection's endpoints are the devices of its merge scope
 * holding its addresses (merged devices giving their target), kept on the connection by sql/017_map.sql and
 * resolved live where that is pending; each one is counted once: on the edge between the innermost visible nodes that hold its
 * endpoints, as `internal_connections` of the collapsed group (or device) holding both, or as
 * `omitted_connections` of a truncated group that left one of its endpoints out. Parameters: api_map_query.h;
 * the answer: docs (the endpoint's section) and docs/api/openapi.yaml. */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

void api_map_get(struct api_call *c, PGconn *db);

/* Folds the backlog of unresolved connection endpoints (new connections, address changes: sql/017_map.sql) into
 * the stored columns, in rounds of MAP_FOLD_ROWS, at most max_rounds; the same best-effort rules as the fold a map
 * request does first. Called by the map_fold timer (server/map_fold.h) so that the backlog does not wait for
 * someone to open the map. Returns the connections resolved, -1 when the first round failed. Worker thread. */
long api_map_fold_backlog(PGconn *db, int max_rounds);
