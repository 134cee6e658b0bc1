/* Attack scenarios (docs/plantsim.md "Attack scenarios"): `otwatch-plantsim --scenario NAME` writes the plant's
 * normal traffic as two captures, a clean learning period and, right after it in packet time, an attack period
 * where the same traffic continues and one attack happens. The plant runs quiet (no routine PLC stop/start,
 * DNP3 restarts or BACnet communication control, which alert by design), so a sensor that learnt the first
 * capture should alert on the attack alone. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "tools/plantsim/plant.h"

enum scenario_id {
	SCEN_NONE,
	SCEN_NEW_HOST,
	SCEN_PORT_SCAN,
	SCEN_S7_DOWNLOAD,
	SCEN_MODBUS_WRITE,
	SCEN_DNP3_COLD_RESTART,
	SCEN_ARP_SPOOFING,
	SCEN_KNOWN_BAD,
	SCEN__COUNT
};

/* Seconds of packet time per period when --duration is not given: a full cycle of the plant's periodic
 * operations (BACnet maintenance, the DNP3 file read and the workstation's program download every 10-30 minutes;
 * OPC UA sessions and HMI connections renew within 25 minutes), so the clean period shows everything the attack
 * period's normal traffic does. */
#define SCENARIO_DEFAULT_DURATION 1800
/* The attack starts this long into the attack period (a quarter of a shorter period). */
#define SCENARIO_ATTACK_OFFSET_S 60
/* new-host: the visitor's address 10.K.1.240 (above every host the plant numbers, below the switches). */
#define SCENARIO_VISITOR_OCTET 240
/* known-bad-indicator: the defaults (RFC 6761 reserves .example; 203.0.113.0/24 is TEST-NET-3). */
#define SCENARIO_BAD_DOMAIN "update.malicious-example.com"
#define SCENARIO_BAD_IP ((203u << 24) | (0u << 16) | (113u << 8) | 66u)

const char *scenario_name(unsigned id);
const char *scenario_description(unsigned id);
/* The scenario called name, or SCEN_NONE. */
unsigned scenario_find(const char *name);

/* Checks that the plant has the hosts the scenario needs and adds its extras (new-host: the visitor; known-bad-
 * indicator: the known-bad server as the extra off-site address, bad_domain at bad_ip). Returns 0, or -ENOENT with
 * the reason in err. */
int scenario_prepare(struct plant *p, unsigned id, uint64_t seed, const char *bad_domain, uint32_t bad_ip, char *err,
	size_t errlen);
