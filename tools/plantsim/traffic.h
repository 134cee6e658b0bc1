/* Traffic generation: every conversation in the plant is a session, a small state machine that emits
 * exactly one packet per step at its scheduled packet time and then schedules its next step. A binary
 * heap ordered by (time, session number) picks the next step, so packets come out in non-decreasing
 * time order and memory stays constant however long the capture is. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "tools/plantsim/pcap_writer.h"
#include "tools/plantsim/plant.h"

struct traffic_config {
	uint64_t seed;
	uint64_t start_usec;     /* packet time of the capture start, microseconds since the epoch */
	uint64_t duration_usec;  /* no packet is stamped at or after start + duration */
	bool anomalies;          /* add malformed / illegal PDUs and a port scan (protocol-violation tests) */
};

#define TRAFFIC_MAX_ANOMALIES 32

/* One deliberate anomaly, for the ground truth. */
struct traffic_anomaly {
	uint64_t ts_usec;        /* packet time of its first frame */
	const char *kind;        /* static: "port_scan", "illegal_function", "bad_length", ... */
	enum plant_proto proto;
	unsigned src, dst;       /* device indices */
};

struct traffic_stats {
	uint64_t packets;
	uint64_t bytes;          /* frame bytes, without pcap headers */
	/* PP_BIT(p) is set in seen[d][r] when device d took role r in protocol p in a written frame. */
	uint32_t seen[PLANT_MAX_DEVICES][PR__COUNT];
	/* PP_BIT(p) is set in revealed[d][f] when a written frame of protocol p states fact f of device d. */
	uint32_t revealed[PLANT_MAX_DEVICES][PF__COUNT];
	unsigned n_anomalies;
	struct traffic_anomaly anomalies[TRAFFIC_MAX_ANOMALIES];
};

/* Generates the plant's traffic into w (which stays owned by the caller). Returns 0, or a negative
 * errno from the writer or from allocation; stats (may be NULL) count what was written either way. */
int traffic_run(const struct plant *p, const struct traffic_config *cfg, struct pcap_writer *w,
	struct traffic_stats *stats) __attribute__((warn_unused_result));
