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
	uint32_t dst_ip;         /* nonzero: the destination is this address outside the plant, not dst */
};

struct traffic_stats {
	uint64_t packets;
	uint64_t bytes;          /* frame bytes, without pcap headers */
	uint64_t attack_packets; /* scenario runs: of those, the frames written to the attack capture */
	uint64_t attack_bytes;
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

/* A scenario run (scenarios.h): cfg covers both periods; frames stamped before attack_start_usec go to w, the
 * rest to w_attack; the plant leaves out its routine operations that alert by design, and the scenario adds
 * its attack (and any traffic it needs in both periods). */
struct traffic_scenario {
	unsigned id;                 /* SCEN_* */
	uint64_t attack_start_usec;
	struct pcap_writer *w_attack;
};
int traffic_run_scenario(const struct plant *p, const struct traffic_config *cfg, const struct traffic_scenario *sc,
	struct pcap_writer *w, struct traffic_stats *stats) __attribute__((warn_unused_result));
