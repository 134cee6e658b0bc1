/* The load generator's state directory: sensors enrolled once and reused by later runs.
 *   loadgen.json                {"prefix": hex, "ca_sha256": hex}: these sensors belong to the console whose CA
 *                               hashes so; another console's CA is refused (its sensors would be unknown there)
 *   sensor-<i>/                 a sensor state directory as `otwatch-sensor activate` writes it
 *                               (sensor-agent/sensor_state.h: key, certificate, CA, sensor.json, journal)
 *   sensor-<i>.activation.json  a sensor created in the console and not activated yet (0600; holds its token)
 * Sensors are created through the admin API (name "loadgen-<prefix>-<i>-<random>", so a lost cache never
 * collides with the names it left in the console) and enrolled by otwatch-sensor's own `activate` command. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "tools/loadgen/lg_api.h"

#define LG_STATE_PREFIX_LEN 8

/* Creates dir (0700) and loadgen.json, or checks that loadgen.json names the same CA. 0, or -EEXIST (another
 * console's state), or another negative errno; err says which. */
int lg_state_open(const char *dir, const char *ca_pem, char prefix[LG_STATE_PREFIX_LEN + 1], char *err,
		  size_t errlen) __attribute__((warn_unused_result));
/* dir/sensor-<i>. */
void lg_state_sensor_dir(const char *dir, unsigned i, char *out, size_t outlen);
/* True when sensor i is activated. */
bool lg_state_enrolled(const char *dir, unsigned i);
/* Creates the sensors idx[0..n) in the console with `threads` requests at once and writes their activation
 * files, with api_url and sensor_url replaced by the addresses this run uses. 0 or the first failure. */
int lg_state_create(const struct lg_api *a, const char *dir, const char *prefix, const unsigned *idx, size_t n,
		    const char *zone_id, const char *gateway_url, unsigned threads, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Activates sensor i from its activation file with otwatch-sensor's activate command (which prints to stdout),
 * then removes the file. 0, or -ENOENT (no activation file: create it first), or -EIO. */
int lg_state_activate(const char *dir, unsigned i) __attribute__((warn_unused_result));
