/* GET /metrics: the console's Prometheus metrics (text exposition format 0.0.4) for any signed-in caller, a
 * Prometheus server typically with an API token (`Authorization: Bearer otw_...`). This node's counters
 * (server/metrics.h) and, read at scrape time with three bounded queries on the worker's connection, the
 * sensors (state, lag, latest health; only those in the caller's scope), the forwarding rules' backlog
 * (unrestricted callers only) and a database ping. Families: docs/monitoring.md. */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

void api_metrics_get(struct api_call *c, PGconn *db);
