/* OTWATCH-MIB's objects (integrations/snmp/OTWATCH-MIB.txt) served from a struct snmp_cache.
 *
 * The whole otwatchObjects subtree is one ordered list of instances: the console scalars, then the sensor
 * table column by column, rows in index order. GET is an exact lookup and GETNEXT a binary search for the
 * first instance after the requested OID, both over the current snapshot, without allocation and without
 * touching the database. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "integrations/snmp/otwatch_snmp_cache.h"

/* Registers the handler for otwatchObjects with the agent (after init_agent, before init_snmp). The cache is
 * borrowed and must outlive the agent. Returns 0, or -1 when net-snmp refused the registration. */
int snmp_mib_register(struct snmp_cache *cache) __attribute__((warn_unused_result));
