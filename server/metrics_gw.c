/* The gateway's side of the console metrics: every sweep (SWEEP_US) the service thread copies the apply lag of
 * its welcomed connections into the metrics snapshot (server/metrics.h), so a scrape never walks the
 * connection table from another thread. */
#include <stdio.h>
#include <stdlib.h>

#include "server/gateway_internal.h"
#include "server/metrics.h"

void metrics_gw_publish(struct gateway *gw)
{
	struct metrics_lag *lags = NULL, *nl;
	size_t n = 0, cap = 0;

	FOREACH_CONN(gw, c) {
		if (!c->authed || c->closing)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if (!(nl = realloc(lags, cap * sizeof(*lags))))
				goto publish; /* out of memory: publish what fits */
			lags = nl;
		}
		snprintf(lags[n].sensor_id, sizeof(lags[n].sensor_id), "%.*s", (int)sizeof(lags[n].sensor_id) - 1,
			 c->cn);
		lags[n].known_seq = c->lag_known;
		lags[n].applied_seq = c->lag_applied;
		lags[n].behind_since_usec = c->lag_behind_us;
		n++;
	}
publish:
	metrics_lag_publish(lags, n);
	free(lags);
}
