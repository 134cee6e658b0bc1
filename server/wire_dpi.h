/* The deep-inspection additions to otwatch.v1 device and connection records (docs/architecture.md "Records"),
 * checked by the console: the optional DPI members of device records (model, firmware, attributes, ...) and
 * connection records (functions). common/wire.c ignores unknown members, so they reach the console unchecked;
 * wire_dpi_parse() checks them with the same strictness and field-named errors. (The event, violation and alert
 * record kinds are common/wire.c's own.) */
#pragma once
#include <jansson.h>
#include <stddef.h>

#include "common/wire.h"

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
