/* The deep-inspection additions to otwatch.v1 records (docs/architecture.md "Records"), checked by the console:
 * the optional DPI members of device records (model, firmware, attributes, ...) and connection records
 * (functions), and the record kinds "event" and "violation".
 *
 * common/wire.c ignores unknown members, so the additions to device and connection records reach the console
 * unchecked; wire_dpi_parse() checks them with the same strictness and field-named errors. common/wire.c also
 * refuses the two new record kinds; until it knows them, wire_dpi_parse() checks those records itself, hands
 * wire_parse() a stand-in of a known kind for each, and marks them in the parsed message with the console-side
 * kinds below. Any other unknown kind is refused exactly as before. (Moving both into common/wire.c removes the
 * stand-in and its second JSON pass: see the issue 4 notes.) */
#pragma once
#include <jansson.h>
#include <stddef.h>

#include "common/wire.h"

/* Console-side record kinds of parsed batches (beyond enum wire_rec_kind). Their wire_record's u.health.obj is
 * the record object (members checked: proto, name, src_addr, dst_addr, count, first_seen, last_seen, detail). */
#define WIRE_DPI_REC_EVENT ((enum wire_rec_kind)0x100)
#define WIRE_DPI_REC_VIOLATION ((enum wire_rec_kind)0x101)

#define WIRE_DPI_MAX_DETAIL 1024 /* bytes of an event's detail */
#define WIRE_DPI_MAX_ATTRS 64    /* attributes per device record */
#define WIRE_DPI_MAX_FUNCS 256   /* functions per connection record */

/* wire_parse() plus the checks above; same contract (0, or -EINVAL with "records[3].purdue_level: ..." in err;
 * *out needs wire_msg_free() only on success). */
int wire_dpi_parse(const char *buf, size_t len, struct wire_msg *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* The JSON object of record i of a parsed batch (borrowed). */
json_t *wire_dpi_record(const struct wire_msg *m, size_t i);

/* The sensor's report of a device as stored per sensor (device_sightings.report): vendor, hostname, type and the
 * DPI members the record has (nulls left out), including what the sensor derived from its settings (external,
 * dynamic_address, vlan_names). Compact JSON text to free(), or NULL when out of memory. */
char *wire_dpi_device_report(const struct wire_device *d, json_t *rec);
