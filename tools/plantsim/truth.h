/* Ground truth of a generated capture, as JSON: every device with its addresses, type, identity (vendor,
 * model, order number, firmware, hardware, serial, protocol-specific ids) and the protocols it took part in
 * during the capture with its role in each; the off-site addresses; the deliberate anomalies. Tests compare
 * the sensor's inventory against it (docs/plantsim.md describes the format). */
#pragma once
#include "tools/plantsim/plant.h"
#include "tools/plantsim/traffic.h"

/* Writes the truth to path (created or truncated). Returns 0 or a negative errno (-ENOMEM, or from the
 * write). */
int truth_write(const char *path, const struct plant *p, const struct traffic_config *cfg,
	const struct traffic_stats *st) __attribute__((warn_unused_result));

/* A scenario run's truth: cfg covers both periods; the document says where the attack period begins, and lists
 * the scenario's visitor among the devices and its attack steps among the anomalies. */
struct truth_scenario {
	const char *name;
	uint64_t attack_start_usec;
};
int truth_write_scenario(const char *path, const struct plant *p, const struct traffic_config *cfg,
	const struct traffic_stats *st, const struct truth_scenario *sc) __attribute__((warn_unused_result));
