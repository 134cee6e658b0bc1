/* Forwarding: webhook, Splunk HTTP Event Collector and email deliveries through libcurl (docs/forwarding.md).
 * One handle per delivery thread (connections are reused between deliveries). Blocking with timeouts: the
 * delivery thread only.
 *
 * Webhook: POST of the JSON record, Content-Type application/json, with
 *   X-OTWatch-Delivery: <outbox id>        the same on every retry of one delivery (deduplicate on it)
 *   X-OTWatch-Timestamp: <unix seconds>    when this attempt was signed
 *   X-OTWatch-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>   when the rule has a secret
 * HEC: POST <url>/services/collector/event with "Authorization: Splunk <token>".
 * Any answer but 2xx is a failure. 400, 413, 415 and 422 refuse this one message for good (-EBADMSG: the delivery
 * thread dead-letters it once the receiver accepted a later message; HEC's 400 only with a JSON code about the
 * events: 5, 6, 12, 13, 15); any other (5xx, 401, 403, 404, timeouts) is retried with backoff
 * and holds the rule: the rule's last_error says so until someone fixes the receiver or the rule.
 * Email: SMTP to the rule's relay (STARTTLS required when starttls is set; AUTH only then). A recipient the relay
 * refuses does not fail the others; SMTP 55x for the message (or every recipient) is -EBADMSG.
 * A transfer aborted by stop returns -ECANCELED. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "server/forward_rule.h"

struct fwd_http;

/* A libcurl handle (curl_global_init must have run). Returns 0 or -ENOMEM. stop: when non-NULL and *stop becomes
 * non-zero, a running transfer is aborted. */
int fwd_http_new(int timeout_ms, const volatile int *stop, struct fwd_http **out) __attribute__((warn_unused_result));
void fwd_http_free(struct fwd_http *h);

/* POSTs body (a JSON text) to a webhook or HEC action. delivery_id names the delivery (X-OTWatch-Delivery).
 * Returns 0 on a 2xx answer, a negative errno with a reason in err otherwise (no secret in it): -EBADMSG when the
 * receiver refused this message for good, -ECANCELED when stop cut it short. *bad_event: with -EBADMSG from HEC,
 * the index of the event the collector refused (it indexed the ones before), else -1. */
int fwd_http_post(struct fwd_http *h, const struct fwd_action *a, const char *body, size_t len, int64_t delivery_id,
		  long *bad_event, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Sends one RFC 5322 message (fwd_format_email) through an email action's relay; helo: the name to greet with. */
int fwd_mail_send(struct fwd_http *h, const struct fwd_action *a, const char *message, size_t len, const char *helo,
		  char *err, size_t errlen) __attribute__((warn_unused_result));

/* X-OTWatch-Signature value for body signed at t with secret into out (at least 96 bytes). */
void fwd_webhook_signature(const char *secret, int64_t t, const char *body, size_t len, char out[96]);
