/* The gateway's internals shared by gateway.c (threads, lws callbacks, messages) and gateway_conn.c (the
 * connection table and each connection's output queue). Service thread only unless said otherwise. */
#pragma once
#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/pki.h"
#include "common/wire.h"
#include "server/config_push.h"
#include "server/gateway.h"
#include "server/gateway_evidence.h"
#include "server/ingest.h"

#define BUCKETS 1024
#define SWEEP_US (5 * LWS_US_PER_SEC)
#define PING_IDLE_US (30 * 1000000LL)   /* ping a sensor silent for this long */
#define PING_DEAD_US (30 * 1000000LL)   /* and drop it when the ping is unanswered this long */
#define HELLO_WAIT_US (10 * 1000000LL)  /* a connection must send hello within this */
#define OUTQ_MAX 4096                   /* messages waiting for a sensor that does not read */
#define RX_KEEP_BYTES (64 * 1024)       /* keep a connection's receive buffer up to this between messages */
#define REASON_MAX 123                  /* RFC 6455: a close reason fits 125 bytes with the status */

struct out_msg {
	struct out_msg *next;
	size_t len;
	unsigned char buf[]; /* LWS_PRE headroom, then len bytes */
};

/* Per-connection state: lws's per-session data, zeroed by lws and freed by it after CLOSED. */
struct gw_conn {
	struct gw_conn *hnext;  /* the table by id */
	struct gw_conn *snext;  /* the table by sensor id (cn): a sensor's connections */
	struct gw_conn *pnext, **pprev; /* the list of paused connections (pprev NULL when not in it) */
	struct lws *wsi;
	uint64_t id;
	char cn[WIRE_SENSOR_ID_LEN + 28];
	char serial[PKI_SERIAL_HEX_LEN];
	char peer[64];
	bool registered, hello_sent, authed, paused, closing, ping_out, renewing;
	int close_code;
	char close_reason[REASON_MAX + 1];
	unsigned char *rx;
	size_t rx_len, rx_cap;
	struct out_msg *out_head, *out_tail;
	size_t out_n;
	int64_t since_us, last_rx_us, ping_us;
	char *last_config; /* the config message last sent on this connection (heap), NULL before the first */
	uint64_t last_indicators; /* digest of the indicators message last sent (0: none) */
	unsigned inflight;        /* batches handed to the writer and not yet acked */
	unsigned writer;          /* the ingest writer of this sensor (ingest_writer_index) */
	double tokens;            /* messages the sensor may still send now (token bucket) */
	int64_t tokens_us;        /* when the bucket was last filled */
	/* Apply lag (server/metrics.h): highest seq announced, seq applied, behind since (0: caught up). */
	uint64_t lag_known, lag_applied;
	int64_t lag_behind_us;
};

enum ev_kind { EV_REPLY, EV_KICK, EV_CONFIG, EV_EVIDENCE };

/* Handed from other threads to the service thread. */
struct gw_event {
	struct gw_event *next;
	enum ev_kind kind;
	uint64_t conn_id;
	enum ingest_reply_kind reply;
	uint64_t seq;
	int code;
	char reason[REASON_MAX + 1];
	char sensor_id[WIRE_SENSOR_ID_LEN + 1];
	char *text; /* EV_CONFIG: the message (heap) */
	enum config_push_kind push_kind; /* EV_CONFIG: which message */
	char ref[WIRE_MAX_EVIDENCE_REF + 1]; /* EV_EVIDENCE: the capture; seq is the request id */
};

struct gateway {
	struct gateway_opts opts;
	char *listen_addr, *ca, *cert, *key, *db_url;
	struct lws_context *ctx;
	struct lws_protocols protocols[2];
	pthread_t thread;
	struct ingest *ingest;
	struct config_push *push;
	atomic_bool stop;

	struct evidence_waits evidence;

	pthread_mutex_t mu; /* guards events and ctx_alive */
	struct gw_event *ev_head, *ev_tail;
	bool ctx_alive;

	/* Service thread only. */
	struct gw_conn *buckets[BUCKETS];
	struct gw_conn *by_sensor[BUCKETS];
	struct gw_conn *paused; /* connections whose reads stopped for backpressure */
	uint64_t next_id;
	size_t npaused;
	atomic_bool drained; /* any thread: a writer's queue went below its limit since the last look */
	bool writer_paused[64]; /* every connection of that writer was paused (backpressure) */
	uint64_t backpressure_cycles;   /* pauses since the last log line about them */
	int64_t backpressure_logged_us; /* at most one such line per 10 s */
	lws_sorted_usec_list_t sweep;
	lws_sorted_usec_list_t shutdown; /* libev loop: destroys the context from a timer, never inside a wsi callback */
	bool evlib;                      /* the context runs on libev (epoll) rather than lws's poll() loop */
	bool shutting_down;
};


#define FOREACH_CONN(gw, c)                                                                                  \
	for (size_t b_ = 0; b_ < BUCKETS; b_++)                                                              \
		for (struct gw_conn *c = (gw)->buckets[b_], *n_; c && (n_ = c->hnext, 1); c = n_)

/* The connections of one sensor (usually one; two while a reconnection replaces the old one). */
#define FOREACH_SENSOR_CONN(gw, sensor, c)                                                                   \
	for (struct gw_conn *c = (gw)->by_sensor[sensor_bucket(sensor)], *n_; c && (n_ = c->snext, 1); c = n_) \
		if (strcasecmp(c->cn, (sensor)) == 0)

size_t sensor_bucket(const char *sensor_id);
void conn_pause(struct gateway *gw, struct gw_conn *c);
void pause_writer(struct gateway *gw, struct gw_conn *self);

struct gw_conn *conn_find(struct gateway *gw, uint64_t id);
void conn_register(struct gateway *gw, struct gw_conn *c);
void conn_unregister(struct gateway *gw, struct gw_conn *c);
void conn_close(struct gw_conn *c, int code, const char *reason);
int close_now(struct gw_conn *c, int code, const char *reason);
void conn_send_text(struct gw_conn *c, const char *txt, size_t len);
void conn_send(struct gw_conn *c, json_t *msg);
void conn_free_buffers(struct gw_conn *c);
struct gw_conn *other_session(struct gateway *gw, const struct gw_conn *self);
void resume_paused(struct gateway *gw);
/* Publishes the apply lag of this node's welcomed connections (server/metrics_gw.c). */
void metrics_gw_publish(struct gateway *gw);
