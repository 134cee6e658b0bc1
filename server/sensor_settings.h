/* Sensor settings documents (PUT /api/v1/zones/{id}/settings and /api/v1/sensors/{id}/settings) and the `config`
 * message built from them. A document has up to four members: "subnets" (CIDR strings), "vlan_names" ({"10":
 * "PLC net"}), "port_names" ({"502": "Modbus"}) and "dhcp_ranges" ([{"start","end"}]). A sensor's document
 * overrides its zone's: subnets and dhcp_ranges as a whole, names per VLAN or port. Pure functions (no I/O), so
 * the unit tests call them directly. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/http_util.h"

#define SETTINGS_MAX_SUBNETS 256
#define SETTINGS_MAX_RANGES 256
#define SETTINGS_MAX_NAMES 4096 /* entries of vlan_names, and of port_names */
#define SETTINGS_NAME_MAX 64    /* bytes (UTF-8) of one VLAN or port name: WIRE_MAX_NAME, what sensors accept */

/* Checks a PUT body: an object whose members are among the four above (a null member counts as absent). Subnets
 * are "address/prefix" with no host bits set, VLAN ids 1-4094, ports 1-65535, names 1-64 bytes of UTF-8 without
 * control characters, DHCP ranges two addresses of one family with start <= end; no duplicates. Returns 0 with
 * the canonical document in *out (caller owns it; null members dropped, addresses in inet_ntop form), or
 * -EINVAL with a 400 in err whose field is the path of the fault ("subnets[2]", "vlan_names.5000",
 * "dhcp_ranges[0].end"). */
int sensor_settings_check(json_t *body, json_t **out, struct http_error *err) __attribute__((warn_unused_result));

/* A stored document (may be NULL) with all four members: absent ones as null (a sensor's: it inherits them) when
 * absent_as_null, else as empty values. New reference, NULL when out of memory. */
json_t *sensor_settings_view(json_t *doc, bool absent_as_null);

/* The effective settings of a sensor: its zone's document overlaid by its own (either may be NULL), with all four
 * members. New reference, NULL when out of memory. */
json_t *sensor_settings_effective(json_t *zone, json_t *sensor);

/* The console -> sensor message {"type":"config","settings":<effective>,"mode_request":{"mode","rev"}?,
 * "learned":[items]} as compact JSON text with sorted keys (equal contents give equal text); free() it. mode NULL:
 * no mode request; learned NULL: no member. NULL when out of memory. */
char *sensor_settings_config_message(json_t *effective, const char *mode, int64_t mode_rev, json_t *learned);
