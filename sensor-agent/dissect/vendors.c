/* Vendor-id tables (vendors.h).
 *
 * Where each table comes from (never from GPL-licensed code: no Wireshark, Nmap or derived tables):
 *
 * - BACnet (1556 entries, ids 0..1559): ASHRAE / BACnet International's published list of assigned vendor
 *   identifiers, https://bacnet.org/assigned-vendor-ids/ , as reproduced in the Apache-2.0 licensed
 *   BACstack project (github.com/bacnet-ex/bacstack, priv/vendor_ids.csv at commit
 *   0882588691dc456dc150984af219c8d5127f17b3, "Copyright 2025 bacnet-ex"). Transcribed unchanged into
 *   vendors/bacnet.csv.
 *
 * - CIP (14 entries): ODVA's vendor-id list is not published in a redistributable form that we could obtain
 *   here (ODVA offers a per-id lookup to members), and the machine-readable copies in circulation descend from
 *   Wireshark's GPL table, so none is used. Instead each entry is an id that the vendor itself states as its
 *   ODVA-assigned vendor id in its public product documentation (Identity object attribute 1); the document is
 *   named per line in vendors/cip.csv.
 *
 * - PROFINET (4 entries): PI's Manufacturer ID table (https://www.profibus.com/IM/Man_ID_Table.xml) is
 *   "(C) Copyright PNO - All Rights Reserved" and licensed only to PI members' engineering tools, so it is not
 *   redistributed here. Each entry is an id that the vendor states as its PI-assigned vendor id in its public
 *   documentation (GSDML DeviceIdentity / I&M0 manufacturer id); the document is named per line in
 *   vendors/profinet.csv.
 *
 * Dates: all three collected on 2026-11-28; the BACnet list is ASHRAE's as of the BACstack commit above
 * (highest id 1559). To update: edit the CSV and run vendors/gen.py, which regenerates the sorted *.inc
 * fragments included below. */
#include "sensor-agent/dissect/vendors.h"

struct vendor_entry {
	uint16_t id;
	const char *name;
};

static const struct vendor_entry cip_vendors[] = {
#include "sensor-agent/dissect/vendors/cip.inc"
};

static const struct vendor_entry bacnet_vendors[] = {
#include "sensor-agent/dissect/vendors/bacnet.inc"
};

static const struct vendor_entry profinet_vendors[] = {
#include "sensor-agent/dissect/vendors/profinet.inc"
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup(const struct vendor_entry *t, size_t n, uint16_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t[mid].id == id)
			return t[mid].name;
		if (t[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *vendors_cip(uint16_t id) { return lookup(cip_vendors, N_OF(cip_vendors), id); }
const char *vendors_bacnet(uint16_t id) { return lookup(bacnet_vendors, N_OF(bacnet_vendors), id); }
const char *vendors_profinet(uint16_t id) { return lookup(profinet_vendors, N_OF(profinet_vendors), id); }

size_t vendors_cip_count(void) { return N_OF(cip_vendors); }
size_t vendors_bacnet_count(void) { return N_OF(bacnet_vendors); }
size_t vendors_profinet_count(void) { return N_OF(profinet_vendors); }
