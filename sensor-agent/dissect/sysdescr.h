/* Device facts read out of a system description text, as SNMP sysDescr and LLDP's system description carry
 * it. Only layouts vendors document are read: Siemens ("Siemens, SIMATIC S7, CPU 1516-3 PN/DP, 6ES7 516-
 * 3AN01-0AB0, HW: Version 5, FW: Version V2.6.0, S C-J9U12345"), Cisco IOS ("..., Version 15.2(7)E4, ...")
 * and Hirschmann ("Hirschmann <family> <model> <firmware>"); anything else yields nothing. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "sensor-agent/dissect/proto.h"

/* Reports vendor, model, order number, hardware, firmware and serial where the text states them, about
 * target (PROTO_TARGET_SRC / _DST). */
void sysdescr_facts(struct proto_ctx *ctx, uint8_t target, const uint8_t *s, size_t n);
