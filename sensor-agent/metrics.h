/* The sensor's Prometheus endpoint (`run --metrics-listen 127.0.0.1:9101`, off by default): GET /metrics in
 * the text exposition format (metrics_text.h) on a small blocking HTTP/1.x server in its own thread, one
 * connection at a time, requests capped at SENSOR_METRICS_REQ_MAX bytes and SENSOR_METRICS_REQ_TIMEOUT_MS, no
 * authentication (so: loopback unless a firewall guards the port; a non-loopback address is logged as a warning).
 *
 * The run loop publishes a snapshot of its figures (capture, journal, uplink, DPI) about once a second and counts
 * the records it journals; a scrape renders the latest snapshot, so it never touches the capture's data. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SENSOR_METRICS_REQ_MAX 8192
#define SENSOR_METRICS_REQ_TIMEOUT_MS 2000
#define SENSOR_METRICS_SEND_TIMEOUT_MS 5000 /* an answer the client does not take within this is cut short */
#define SENSOR_METRICS_PROTOS 64

struct sensor_metrics_proto {
	char name[32];
	uint64_t pdus, malformed, violations, gaps;
};

struct sensor_metrics_snapshot {
	char source[64];    /* interface name, or "file"; empty: no snapshot yet (no per-interface samples) */
	bool live;          /* a live capture (the libpcap counters mean something) */
	uint64_t packets, bytes;                    /* handled by the sensor */
	uint64_t received, kernel_drops, iface_drops; /* libpcap's counters (live) */
	uint64_t journal_last_seq, journal_acked, journal_bytes, journal_lost;
	bool uplink_connected;
	uint64_t uplink_connections; /* welcomes since the start */
	size_t nprotos;
	struct sensor_metrics_proto protos[SENSOR_METRICS_PROTOS];
	uint64_t dpi_mem_used, dpi_evictions;
};

struct sensor_metrics;

/* Binds `listen` ("host:port", "[v6]:port") and starts the server thread. 0, or a negative errno with the reason
 * in err. */
int sensor_metrics_start(const char *listen, struct sensor_metrics **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Replaces the published snapshot (copied). Any thread; sm may be NULL (no listener: nothing happens). */
void sensor_metrics_publish(struct sensor_metrics *sm, const struct sensor_metrics_snapshot *snap);
/* Counts one journaled record by its "kind" (and an alert's "severity"). Lock-free; sm may be NULL. */
void sensor_metrics_count_record(struct sensor_metrics *sm, json_t *record);
/* Stops the thread, closes the socket, frees sm (NULL is fine). */
void sensor_metrics_stop(struct sensor_metrics *sm);

/* The document for a snapshot and sm's record counters (zero when sm is NULL; exposed for the tests): heap text
 * and its length, or NULL. */
char *sensor_metrics_render(const struct sensor_metrics *sm, const struct sensor_metrics_snapshot *snap, size_t *len);

/* The request parser (untrusted bytes; fuzzed by tests/fuzz/fuzz_metrics_request.c). buf holds the first len
 * bytes received. Returns 0 while the request head is incomplete, or the status to answer: 200 (GET /metrics,
 * any query), 404 (another path), 405 (another method), 400 (not an HTTP/1.x request line). */
int sensor_metrics_parse_request(const char *buf, size_t len);
