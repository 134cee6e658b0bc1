/* The sensor gateway: a libwebsockets mutual-TLS server on its own thread, plus the ingest writer thread that
 * applies batches to PostgreSQL and hands acks back. Started and stopped by `otwatch-console serve`. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct gateway;
struct console_state;

struct gateway_opts {
	const char *listen_addr;  /* "127.0.0.1" */
	int port;                 /* 9443 */
	const char *ca_cert_path; /* clients must chain to this CA */
	const char *cert_path;    /* server certificate and key */
	const char *key_path;
	const char *db_url;
	size_t queue_max;          /* batches waiting for the writers before reads stop (backpressure) */
	size_t queue_bytes;        /* ... or bytes of them on the wire */
	unsigned writers;          /* ingest writer threads (0: 1) */
	size_t group_max;          /* batches per ingest transaction (group commit; 0: 1) */
	const struct console_state *state; /* the CA that signs renewed sensor certificates (NULL: no renewal) */
	size_t max_frame_bytes;    /* largest message accepted from an authenticated sensor */
	/* Per-sensor limits: past them a sensor is cut off (close 1008) without slowing the others. */
	unsigned max_inflight;     /* batches received and not yet acked (a sensor's uplink keeps 4) */
	unsigned msg_rate;         /* messages other than batches a second, sustained ... */
	unsigned msg_burst;        /* ... and in a burst */
};

/* Starts both threads; returns 0 once the port listens, or a negative errno with a logged reason. */
int gateway_start(const struct gateway_opts *opts, struct gateway **out) __attribute__((warn_unused_result));
/* Thread-safe: closes the sensor's connection (if any) with status 4003 and `reason`; used on revocation. */
void gateway_kick_sensor(struct gateway *gw, const char *sensor_id, const char *reason);
/* Any thread: asks the connected sensor for its evidence capture `ref` and waits up to timeout_ms. 0 with *data
 * (heap, free()) and *len; -ENOTCONN (not connected), -ENOENT (the sensor has none; err has its message),
 * -ETIMEDOUT, -EINVAL (a bad ref) or -ENOMEM. */
int gateway_fetch_evidence(struct gateway *gw, const char *sensor_id, const char *ref, int timeout_ms, uint8_t **data,
			   size_t *len, char *err, size_t errlen) __attribute__((warn_unused_result));
/* Stops accepting, closes connections, finishes the batch being written, joins the threads, frees gw. */
void gateway_stop(struct gateway *gw);
