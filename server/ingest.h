/* The ingest writers: threads with their own PostgreSQL connection each (a pool of `writers`) that take hellos
 * and batches from the gateway through bounded FIFOs, apply them (ingest_apply.c) and report each outcome through
 * a callback. A sensor's messages always go to one writer (by a hash of its id), so they apply in order; the
 * writers of a zone's sensors lock shared rows in key order and retry on a deadlock. Group commit: the batches
 * waiting at the head of a writer's queue (of any of its sensors) share one transaction, so a fleet of sensors
 * sending small batches costs one commit per group, not per batch; all are acked after that commit.
 * The callback runs on the writer thread; the gateway's implementation only queues and calls
 * lws_cancel_service(). Nothing is acknowledged before its transaction committed; when the database goes away
 * the writer reconnects with backoff and retries the message it holds. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/wire.h"

struct ingest;
struct console_state;

enum ingest_reply_kind {
	INGEST_REPLY_WELCOME, /* hello accepted: send welcome(seq) */
	INGEST_REPLY_ACK,     /* batch committed: send ack(seq) */
	INGEST_REPLY_CLOSE,   /* refuse: close with code and reason */
	INGEST_REPLY_CERT,    /* renewal: code 0 and reason = the certificate PEM, or code 1 and reason = the error */
};

struct ingest_callbacks {
	void (*reply)(void *ctx, uint64_t conn_id, enum ingest_reply_kind kind, uint64_t seq, int close_code,
		      const char *reason);
	/* The queue went from full to below its limit: paused connections may read again. */
	void (*drained)(void *ctx);
	void *ctx;
};

#define INGEST_GROUP_MAX 256     /* batches in one transaction, at most */
/* Records in one transaction, about (a larger single batch goes alone). The set statements' anti-joins grow
 * faster than linearly beyond a few hundred rows: grouping pays for many small batches, not for big ones. */
#define INGEST_GROUP_RECORDS 1000

struct ingest_opts {
	const char *db_url;
	size_t queue_max;  /* batches queued in all before backpressure (each writer holds its share) */
	size_t queue_bytes; /* ... or bytes of them on the wire (0: no byte limit) */
	unsigned writers;  /* writer threads, each with its own connection (0 means 1) */
	size_t group_max;  /* group commit: batches applied in one transaction (0 or 1: one each) */
	const struct console_state *state; /* the CA that signs renewals (NULL: renewals refused) */
};

/* Starts the writer threads; each connects to db_url (retrying with backoff). 0 or a negative errno. */
int ingest_start(const struct ingest_opts *opts, const struct ingest_callbacks *cb, struct ingest **out)
	__attribute__((warn_unused_result));

/* Queue a parsed hello/batch of connection conn_id (`bytes`: its size on the wire; `peer`: the address the
 * connection came from, recorded by a hello, may be NULL); the message is moved into the queue (*msg is zeroed).
 * Return true when the queue is at or above its limit after this: the caller stops reading. Never fails for
 * lack of room (the caller already holds the message); -ENOMEM is reported as a CLOSE reply instead. The caller
 * then stops reading every connection of that writer, so the queue exceeds its limit by at most what was already
 * read. */
bool ingest_submit(struct ingest *in, uint64_t conn_id, const char *sensor_id, const char *serial, const char *peer,
		   struct wire_msg *msg, size_t bytes);
/* Queue "connection conn_id of the sensor closed": connected = false, if that connection is still the one the
 * sensor last said hello on (anywhere). `console_stopping`: it closed because this console is stopping, which is
 * not the sensor's disconnection (no sensor_disconnected notification follows). */
void ingest_submit_bye(struct ingest *in, uint64_t conn_id, const char *sensor_id, bool console_stopping);
/* True while this sensor's writer is throttled: from the moment its queue reached its limit until it is down to
 * half of it (then the drained callback runs). */
bool ingest_full(struct ingest *in, const char *sensor_id);
/* The same for writer number `writer` (false for a number out of range). */
bool ingest_writer_full(struct ingest *in, unsigned writer);
/* Which writer applies this sensor's messages (0..writers-1). */
unsigned ingest_writer_index(struct ingest *in, const char *sensor_id);
/* Batches queued in all (for metrics and logs). */
size_t ingest_queued(struct ingest *in);

/* Finishes the messages being applied, drops the queued ones (unacknowledged: sensors resend them), joins the
 * threads and frees `in`. */
void ingest_stop(struct ingest *in);
