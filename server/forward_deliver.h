/* Forwarding: delivering the head rows of one rule's outbox (docs/forwarding.md). Reads the alerts or notifications
 * the rows name, formats them for the rule's action and sends them through the rule's transport. Transports (syslog
 * connections) are kept per rule between deliveries and rebuilt when the rule changes. Delivery thread only. */
#pragma once
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

struct fwd_deliverer;

/* hostname: this node's name in syslog headers, HEC events and email (copied). stop: see fwd_http_new; stop_fd:
 * readable once stopping (see fwd_syslog_new). */
int fwd_deliverer_new(const char *hostname, int timeout_ms, const volatile int *stop, int stop_fd,
		      struct fwd_deliverer **out)
	__attribute__((warn_unused_result));
void fwd_deliverer_free(struct fwd_deliverer *d);

/* One delivery attempt on the head of a rule's queue: outbox_ids[0..n) are the rule's oldest live rows in id
 * order. rule_version changes whenever the rule does (its updated_at); action_json is the stored action. One query
 * reads the rows still queued while the rule is enabled and unchanged, with their alerts or notifications; the
 * attempt covers the head rows up to the first one no longer queued. Syslog sends all of them (at most
 * FWD_BATCH_BYTES of messages, the first always) in one attempt (TCP, TLS: one write, one wait for the
 * collector's acknowledgement; after a timeout the rule's next attempts take half as many rows, down to one,
 * growing back after successes), HEC posts them as concatenated event objects in one request, a webhook or email
 * action takes the head row only. *taken: the rows the attempt covered, from the first (rows whose alert or
 * notification was purged count, with nothing sent for them); *sent: the messages sent of them.
 * Returns 0 when the *taken rows are delivered (*taken 0: the head row is no longer queued, or the rule was
 * disabled or changed: stop), 2 when the database failed (nothing was attempted), or a negative errno with a reason
 * in err (no secrets): -EBADMSG when the destination refused the message(s) for good (with *taken > 1 and *sent 0:
 * try the rows one at a time to find which; with *sent > 0, HEC named the refused event: the first *taken - 1 rows
 * were delivered, *sent messages of them, and the row *taken - 1 is the one refused), -ECANCELED when stop cut
 * the attempt short, anything else a failure of the destination. */
int fwd_deliver(struct fwd_deliverer *d, PGconn *db, int64_t rule_id, const char *rule_version,
		const char *action_json, const int64_t *outbox_ids, size_t n, size_t *taken, size_t *sent, char *err,
		size_t errlen) __attribute__((warn_unused_result));

/* Closes the transports of rules not used for idle_sec seconds. */
void fwd_deliverer_prune(struct fwd_deliverer *d, int64_t idle_sec);
