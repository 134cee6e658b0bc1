/* Device classification from what deep inspection saw: a type (PLC, RTU, HMI, ...), the evidence for it,
 * a Purdue level estimate and behaviour flags. Pure functions of the inventory's merged view of a device, so
 * the result is the same whichever order the packets came in. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "sensor-agent/inventory_json.h"

#define CLASSIFY_MAX_EVIDENCE 4

struct classify_result {
	const char *type;   /* "plc", "rtu", ..., or NULL when nothing says */
	int purdue_level;   /* 0-5, or -1 when unknown */
	bool scanner, programming_device;
	const char *plc_mode; /* from a stated mode, or NULL */
	/* Human-readable reasons, most decisive first (static strings or pointers into `buf`). */
	const char *evidence[CLASSIFY_MAX_EVIDENCE];
	size_t n_evidence;
	char buf[CLASSIFY_MAX_EVIDENCE][96];
};

/* a: the device's merged attributes (protocols with roles); facts/beh: its merged facts and behaviour;
 * router: the router rule fired for it. */
void classify_device(const struct inv_attrs *a, const struct inv_facts *facts, const struct inv_behaviour *beh,
		     bool router, struct classify_result *out);
