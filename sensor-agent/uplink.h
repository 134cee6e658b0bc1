/* The sensor's uplink: a libwebsockets mutual-TLS client (subprotocol otwatch.v1, docs/architecture.md) that
 * sends the journal's records to the console and advances the journal's acked seq on every ack.
 *
 * Threads: the uplink owns its lws context and runs lws_service() on its own thread, so a slow or absent
 * console never stalls capture and lws's blocking service call never sits inside the packet loop. The capture
 * thread only appends to the journal (which locks itself) and calls uplink_notify(), which is
 * lws_cancel_service(): the one lws call that is safe from another thread. Everything that touches a wsi runs on
 * the uplink thread.
 *
 * Protocol: on connect, hello {first_seq,last_seq}; on welcome{applied_seq} the journal is acked up to it and
 * sending resumes at applied_seq+1. Batches hold at most UPLINK_BATCH_RECORDS records / UPLINK_BATCH_BYTES of
 * frame, with at most UPLINK_WINDOW batches unacked; a batch that is not full waits up to `linger_ms` after
 * records were notified, for more to fill it. Failures reconnect with exponential backoff and jitter
 * (1 s doubling to 30 s, reset by a welcome). A close with 4001 (protocol) or 4003 (revoked/unknown sensor) is
 * fatal: the uplink stops and uplink_fatal() reports the console's reason. A welcome whose applied_seq leaves a
 * gap before the journal's first stored record (the journal dropped records the console never got) raises a
 * snapshot request (uplink_take_snapshot_request): the sensor then re-emits its whole inventory.
 *
 * Certificate renewal (uplink_opts.renew_before_sec, cert_renew.h): after a welcome, and every
 * UPLINK_RENEW_CHECK_SEC while connected, a certificate that expires within the window gets a new key and CSR,
 * sent as renew {csr} (one per connection). The console's certificate {certificate} is checked and installed in
 * the state directory; the uplink then closes the connection, rebuilds its lws context (which loaded the old pair
 * when it was created) and reconnects with the new pair. A refusal or a failed install is retried after
 * UPLINK_RENEW_RETRY_SEC, never in a loop. An interrupted install is finished or undone (cert_renew_recover)
 * before any context loads the files.
 *
 * uplink_stop closes a welcomed connection with a websocket close frame and waits for the console's answer at
 * most UPLINK_CLOSE_WAIT_MS, so the console sees a clean close rather than a torn TLS session.
 *
 * Many uplinks in one process (otwatch-loadgen): each has its own context and thread; `fd_limit` keeps each
 * context's fd tables small whatever the process's RLIMIT_NOFILE. */
#pragma once
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sensor-agent/journal.h"

#define UPLINK_BATCH_RECORDS 500
#define UPLINK_BATCH_BYTES (256u * 1024)
#define UPLINK_WINDOW 4
#define UPLINK_BACKOFF_MIN_MS 1000u
#define UPLINK_BACKOFF_MAX_MS 30000u
#define UPLINK_LINGER_DEFAULT (-1) /* uplink_opts.linger_ms: UPLINK_LINGER_MS */
#define UPLINK_LINGER_MS 50
#define UPLINK_RENEW_CHECK_SEC 3600   /* how often a connected uplink checks its certificate again */
#define UPLINK_RENEW_RETRY_SEC 3600   /* after a refused or failed renewal */
#define UPLINK_RENEW_REPEAT_SEC 86400 /* after a renewal whose new certificate is itself inside the window */
#define UPLINK_RENEW_MAX_SEC ((int64_t)3650 * 86400)
#define UPLINK_CLOSE_WAIT_MS 2000u

/* --- Pure logic, no network (unit-tested in tests/unit/test_uplink.c) --- */

/* Reconnect delays: attempt n waits a uniformly random time in [base/2, base] with base = min(1 s * 2^n, 30 s). */
struct uplink_backoff {
	unsigned attempt;
};
/* The next delay in ms; `rnd` is a random 32-bit value. */
unsigned uplink_backoff_next(struct uplink_backoff *b, uint32_t rnd);
static inline void uplink_backoff_reset(struct uplink_backoff *b) { b->attempt = 0; }

/* The seq_to of each batch sent and not yet acked, oldest first. */
struct uplink_window {
	uint64_t seq_to[UPLINK_WINDOW];
	size_t n;
};
static inline bool uplink_window_full(const struct uplink_window *w) { return w->n >= UPLINK_WINDOW; }
void uplink_window_push(struct uplink_window *w, uint64_t seq_to);
/* Drops every batch whose seq_to <= acked. */
void uplink_window_ack(struct uplink_window *w, uint64_t acked);

/* Builds the next batch message from the journal, starting at the first stored seq >= from: at most max_records
 * records and a frame of at most max_bytes (a single record larger than that still goes alone). On success
 * returns the number of records (0: nothing to send, *text NULL) and sets *text (heap, free()), *len and
 * *seq_to. Negative errno on a journal error. */
int uplink_build_batch(struct journal *j, uint64_t from, size_t max_records, size_t max_bytes, char **text,
		       size_t *len, uint64_t *seq_to) __attribute__((warn_unused_result));

/* True when the console, having applied every record up to `applied`, missed records that the journal no longer
 * holds: the journal has records (first_seq <= last_seq) and the first of them is above applied + 1. */
bool uplink_gap(uint64_t applied, uint64_t first_seq, uint64_t last_seq);

/* Whether to look at the certificate for a renewal now: renewal is on (window_sec > 0), no renewal is pending on
 * this connection, and now_sec (a monotonic clock) is not before hold_until_sec. */
static inline bool uplink_renew_wanted(int64_t window_sec, bool pending, int64_t now_sec, int64_t hold_until_sec)
{
	return window_sec > 0 && !pending && now_sec >= hold_until_sec;
}

/* Close statuses after which the sensor must not reconnect. */
static inline bool uplink_close_is_fatal(unsigned status) { return status == 4001 || status == 4003; }

/* --- The client --- */

struct uplink;

struct uplink_opts {
	const char *sensor_id;
	const char *url; /* wss://host[:port][/path] */
	const char *cert_path, *key_path, *ca_path;
	const char *mode; /* "learning" | "operational" */
	const char *state_dir; /* the console's evidence requests read <state_dir>/evidence/<ref>.pcap (NULL: none) */
	/* How long a batch that is not full waits for more records after they were notified: UPLINK_LINGER_DEFAULT
	 * (50 ms), 0 (sent at once, the behaviour of a zeroed struct) or milliseconds (at most 10000). */
	int linger_ms;
	/* Descriptors the context's tables are sized for; 0: lws's default, the process's RLIMIT_NOFILE (an uplink
	 * uses 3 or 4: its socket and lws's cancel pipe). */
	unsigned fd_limit;
	/* Called on the uplink thread after the journal recorded that the console applied everything up to
	 * `acked` (an ack, or a welcome beyond the journal's acked seq); NULL: none. Must not block. */
	void (*on_ack)(void *arg, uint64_t acked);
	void *cb_arg;
	/* Renew the certificate once it expires within this many seconds (at most UPLINK_RENEW_MAX_SEC); 0, as in a
	 * zeroed struct: never. Needs state_dir, and cert_path/key_path must be <state_dir>/sensor.crt and
	 * sensor.key: that is where the renewed pair is installed. */
	int64_t renew_before_sec;
};

/* What an uplink is doing, for a caller that runs many (thread-safe snapshot). */
struct uplink_status {
	bool connected;    /* welcomed on the current connection */
	uint64_t welcomes; /* welcomes received since the start: connections made */
	uint64_t acked;    /* the journal's acked seq */
};

/* Starts the uplink thread (which connects at once). The journal must outlive the uplink. */
int uplink_start(const struct uplink_opts *o, struct journal *j, struct uplink **out)
	__attribute__((warn_unused_result));
/* Thread-safe: new records are in the journal (synced). */
void uplink_notify(struct uplink *u);
/* Waits until every record up to seq is acked (0), the uplink failed fatally (-EPIPE), *stop became non-zero
 * (-EINTR), or timeout_ms passed (-ETIMEDOUT; < 0 waits without limit). */
int uplink_wait_acked(struct uplink *u, uint64_t seq, const volatile sig_atomic_t *stop, int timeout_ms);
/* Waits until the first config message arrived (0), or as uplink_wait_acked fails. */
int uplink_wait_config(struct uplink *u, const volatile sig_atomic_t *stop, int timeout_ms);
/* True after a fatal refusal; reason (may be NULL) gets the message. */
bool uplink_fatal(struct uplink *u, char *reason, size_t len);
/* The latest config message not taken yet (validated; owned by the caller), or NULL. Thread-safe. */
json_t *uplink_take_config(struct uplink *u);
/* The latest indicator bundle from the console not taken yet (owned by the caller; its contents unchecked), or
 * NULL. Thread-safe. */
json_t *uplink_take_indicators(struct uplink *u);
/* True once after a welcome that left a gap (uplink_gap): the caller re-emits its inventory. Thread-safe. */
bool uplink_take_snapshot_request(struct uplink *u);
/* Fills *st. Thread-safe. */
void uplink_get_status(struct uplink *u, struct uplink_status *st);
/* The mode the next hello announces. Thread-safe. */
void uplink_set_mode(struct uplink *u, const char *mode);
/* Closes the connection (a close frame, at most UPLINK_CLOSE_WAIT_MS for the console's answer), stops the
 * thread, frees u (NULL is fine). */
void uplink_stop(struct uplink *u);
