/* Forwarding: the delivery thread of one console node (docs/forwarding.md "Delivery").
 *
 * It owns a PostgreSQL connection that LISTENs on otw_forward (sent by the outbox triggers of sql/013_forwarding.sql
 * at commit) and also polls every poll_ms. For each enabled rule whose oldest outbox row is due, it takes the rule's
 * session advisory lock (pg_try_advisory_lock: one node delivers a rule at a time, the others skip it), then
 * delivers the rule's rows in id order, a batch of them per attempt (fwd_deliver: syslog and HEC carry up to `batch`
 * rows in one attempt, webhook and email one): the rows of a delivered attempt are deleted and counted in one
 * statement; a failure leaves them all queued (the head row first), counts an attempt on the head row, pushes its
 * next_attempt_at back by 1 s doubling up to backoff_max_sec, records last_error on the rule, and holds the rule
 * until then. A row refused for good (fwd_deliver's -EBADMSG) becomes a dead letter (dead_at set, out of the
 * queue) and the rule moves on only once the destination accepted the row after it; otherwise (it refuses every
 * message: its configuration) nothing is dead-lettered and the rule is held. The rule's advisory lock is held
 * for the pass over it; a lock that cannot be released drops the database connection. Before each attempt its rows and
 * their rule (enabled, unchanged) are checked again, in the query that reads them. An attempt cut short by stop is
 * not recorded as a failure. Rows survive outages and restarts (they are only deleted once sent), so delivery is at
 * least once: a crash between sending and deleting, or a batch that failed after part of it reached the collector,
 * sends those rows again. */
#pragma once
#include <stdint.h>

struct forward;

struct forward_opts {
	const char *db_url;    /* copied */
	const char *hostname;  /* in syslog headers, HEC and email; NULL: gethostname() */
	int64_t poll_ms;       /* poll even without a notification this often */
	int64_t backoff_max_sec;
	int64_t timeout_ms;    /* one delivery attempt: connect + send (+ answer) */
	int64_t batch;         /* rows of one rule delivered before the others get their turn */
};

/* Starts the thread. Returns 0 or a negative errno. */
int forward_start(const struct forward_opts *o, struct forward **out) __attribute__((warn_unused_result));
/* Stops the thread (a running attempt is cut short), closes everything, frees f (NULL is fine). */
void forward_stop(struct forward *f);
