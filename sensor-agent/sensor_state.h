/* The sensor's state directory (mode 0700), written by `otwatch-sensor activate` and read by `run`:
 *   activation.json  the activation file as given, minus its enrollment token
 *   sensor.key       the sensor's private key (EC P-256, 0600; never logged)
 *   sensor.crt       the certificate the console signed (subject CN = sensor id)
 *   ca.crt           the console's CA, the only trust anchor for the API and the gateway
 *   sensor.json      {"sensor_id","api_url","sensor_url","name"}
 *   journal, acked   the record journal (journal.h)
 * A directory is "activated" once sensor.json exists; it is written last, so a half-done activation is not. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct sensor_state {
	char *dir;
	char *sensor_id, *api_url, *sensor_url, *name;
	char *key_path, *cert_path, *ca_path;
};

/* Loads sensor.json and checks that the key and certificates are there; on error writes a message naming the
 * file into err. The caller frees st with sensor_state_free (also after a failure). */
int sensor_state_load(const char *dir, struct sensor_state *st, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void sensor_state_free(struct sensor_state *st);

/* True when dir holds an activated sensor; *sensor_id (may be NULL) gets a heap copy of its id. */
bool sensor_state_is_activated(const char *dir, char **sensor_id);

/* Creates dir (0700) if needed, or tightens an existing one to 0700. */
int sensor_state_mkdir(const char *dir, char *err, size_t errlen) __attribute__((warn_unused_result));

struct sensor_state_files {
	const char *sensor_id, *api_url, *sensor_url, *name; /* name may be NULL */
	const json_t *activation;                            /* copied without "enrollment_token" */
	const char *key_pem, *cert_pem, *ca_pem;
};
/* Writes every file atomically, sensor.json last. */
int sensor_state_save(const char *dir, const struct sensor_state_files *f, char *err, size_t errlen)
	__attribute__((warn_unused_result));
