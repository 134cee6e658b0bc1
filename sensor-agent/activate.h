/* `otwatch-sensor activate FILE --state DIR [--force]`: enrolls the sensor with the console named in its
 * activation file and stores its identity in the state directory (sensor_state.h).
 *
 * The activation file (written by the console, POST /api/v1/sensors):
 *   {"format":"otwatch-activation","version":1,"sensor_id":UUID,"sensor_name":str?,"zone_id":int?,
 *    "api_url":"https://...",
 *    "sensor_url":"wss://...","ca_certificate":PEM,"enrollment_token":str,"expires_at":RFC 3339}
 * Unknown keys are ignored (a new minor feature must not break old sensors); a new incompatible format gets a
 * new version. */
#pragma once
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define ACTIVATION_MAX_BYTES (64u * 1024)

struct activation {
	char sensor_id[37];
	char *name; /* NULL when absent */
	char *api_url, *sensor_url, *ca_pem, *token;
	int64_t expires_usec;
	json_t *doc; /* the parsed document, owned */
};

/* Parses and validates an activation file's bytes (untrusted: fuzzed by tests/fuzz/fuzz_activation.c). Does not
 * look at the clock. On failure err names the offending field. activation_free is safe after any result. */
int activation_parse(const void *data, size_t len, struct activation *act, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void activation_free(struct activation *act);

/* The command; returns the process exit status. */
int cmd_activate(int argc, char **argv);
