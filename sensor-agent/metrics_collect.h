/* Fills and publishes the metrics endpoint's snapshot (sensor-agent/metrics.h) from the run loop's objects. */
#pragma once
#include <stdbool.h>
#include <stdlib.h>

#include "sensor-agent/capture.h"
#include "sensor-agent/inventory.h"
#include "sensor-agent/journal.h"
#include "sensor-agent/metrics.h"
#include "sensor-agent/uplink.h"

struct sensor_metrics_inputs {
	const char *source; /* interface name, or NULL for a file */
	bool live;
	const struct capture_stats *cs; /* any of these may be NULL */
	struct journal *j;
	struct uplink *up;
	const struct inventory *inv;
};

/* Run loop thread, between packets: a new snapshot (nothing happens when sm is NULL). */
void sensor_metrics_collect(struct sensor_metrics *sm, const struct sensor_metrics_inputs *in);
