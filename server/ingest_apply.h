/* Applying otwatch.v1 messages to PostgreSQL, exactly once (docs/architecture.md "Exactly once"). Used by the
 * ingest writer thread (ingest.c) on its own connection; every function blocks on libpq. */
#pragma once
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/wire.h"

/* Outcomes besides 0. -EIO: the connection is gone (reconnect, then retry the same message: nothing of it was
 * committed). -EAGAIN: a transient server error (serialization failure, deadlock): retry. -EPERM: the sensor is
 * unknown, revoked, or the certificate is not its current one. -EPROTO: the server refused the data (a
 * constraint): retrying will not help; nothing of it was committed. -ERANGE: a batch's seq_from is beyond the
 * sensor's applied seq + 1 (an earlier batch was refused or lost): nothing of it applied; the sensor must resend
 * from its welcome. */

/* Prepares the statements on a fresh connection; 0, -EIO or -EPROTO. */
int ingest_apply_prepare(PGconn *c) __attribute__((warn_unused_result));

/* Checks a hello: the sensor exists, is not revoked, `serial` (the certificate serial as hex) is its current
 * certificate and is not in revoked_certificates. On success marks it connected (last_seen, software_version,
 * mode, the hello's journal head, `peer` (the connection's address, may be NULL), `conn_token`, the name of the
 * connection, and `hello_at_usec`, when the gateway received the hello: microseconds since the epoch) and sets
 * *applied_seq; unless the sensor's stored connection is still open and said hello later (this hello was applied
 * late): then it stays with that one (still 0). */
int ingest_apply_hello(PGconn *c, const char *sensor_id, const char *serial, const struct wire_msg *hello,
		       const char *conn_token, int64_t hello_at_usec, const char *peer, uint64_t *applied_seq)
	__attribute__((warn_unused_result));

/* Applies a batch in one transaction: records with seq above sensors.applied_seq, then advances applied_seq.
 * On success *ack_seq is the seq to acknowledge (max(applied_seq, seq_to)); only then is it committed. */
int ingest_apply_batch(PGconn *c, const char *sensor_id, const struct wire_msg *batch, uint64_t *ack_seq)
	__attribute__((warn_unused_result));

/* Group commit: applies several batches (of one or several sensors, each sensor's in order) in one transaction,
 * as ingest_apply_batch does one. On failure nothing of the group is committed and *failed is the index of the
 * batch that failed (n when the commit itself did). */
int ingest_apply_group(PGconn *c, size_t n, const char *const *sensor_ids, const struct wire_msg *const *batches,
		       uint64_t *ack_seqs, size_t *failed) __attribute__((warn_unused_result));

/* Marks the sensor disconnected if conn_token is still its connection (else nothing: it said hello again, here or
 * on another node); `console_stopping`: not a disconnection of the sensor's (disconnected_at stays null). 0 or
 * -EIO. */
int ingest_apply_bye(PGconn *c, const char *sensor_id, const char *conn_token, bool console_stopping)
	__attribute__((warn_unused_result));
