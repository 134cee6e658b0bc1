/* Forwarding: delivering one outbox row of one rule (docs/forwarding.md). Reads the alert or notification the row
 * names, formats it for the rule's action and sends it through the rule's transport. Transports (syslog
 * connections) are kept per rule between deliveries and rebuilt when the rule changes. Delivery thread only. */
#pragma once
#include <libpq-fe.h>
#include <stdint.h>

struct fwd_deliverer;

/* hostname: this node's name in syslog headers, HEC events and email (copied). stop: see fwd_http_new; stop_fd:
 * readable once stopping (see fwd_syslog_new). */
int fwd_deliverer_new(const char *hostname, int timeout_ms, const volatile int *stop, int stop_fd,
		      struct fwd_deliverer **out)
	__attribute__((warn_unused_result));
void fwd_deliverer_free(struct fwd_deliverer *d);

/* One outbox row. rule_version changes whenever the rule does (its updated_at); action_json is the stored action.
 * Exactly one of alert_id and notification_id is > 0. Returns 0 when delivered, 1 when the alert or notification
 * no longer exists (purged: nothing to send), 2 when it could not be read (a database error: nothing was
 * attempted), or a negative errno with a reason in err (no secrets): -EBADMSG when the destination refused this
 * message for good, -ECANCELED when stop cut the attempt short, anything else a failure of the destination. */
int fwd_deliver(struct fwd_deliverer *d, PGconn *db, int64_t rule_id, const char *rule_version,
		const char *action_json, int64_t outbox_id, int64_t alert_id, int64_t notification_id, char *err,
		size_t errlen) __attribute__((warn_unused_result));

/* Closes the transports of rules not used for idle_sec seconds. */
void fwd_deliverer_prune(struct fwd_deliverer *d, int64_t idle_sec);
