/* Forwarding: syslog transports for one rule (docs/forwarding.md "Syslog"). UDP sends one datagram per message
 * (RFC 5426) and cannot tell whether anything listens. TCP (RFC 6587 octet counting: "LEN SP MSG") and TLS
 * (RFC 5425, same framing; the server certificate is verified against the rule's CA or the system's, and its
 * name against the rule's host; optional client certificate) keep one connection per rule and reconnect when it
 * is lost: before each write the connection is checked for a close from the peer (a syslog server never sends
 * anything), so that a message is not written into a connection the server already left. A batch of TCP or TLS
 * messages is written at once and counts as sent only once the collector's kernel acknowledged all of it (the
 * socket's send queue is empty): one round trip per batch, not per message. The connection has keepalive,
 * TCP_USER_TIMEOUT and TCP_NODELAY. Every attempt (resolution, connect, handshake, write,
 * acknowledgement) has one deadline, timeout_ms after it starts, and ends early when stop_fd becomes readable.
 * The delivery thread only. */
#pragma once
#include <stddef.h>

#include "server/forward_rule.h"

struct fwd_syslog;

/* A transport for the action (syslog type; copied what it needs). Does not connect yet. stop_fd: readable once the
 * delivery thread must stop (-1: none); not owned. Returns 0 or -ENOMEM. */
int fwd_syslog_new(const struct fwd_action *a, int timeout_ms, int stop_fd, struct fwd_syslog **out)
	__attribute__((warn_unused_result));
/* Sends n >= 1 messages in order (msgs[i] of lens[i] bytes: whole syslog records without framing; the transport
 * adds it) as one attempt with one deadline, connecting first if needed. Returns 0 when every message was handed to
 * the kernel (UDP: one datagram each) or acknowledged by the collector's TCP (TCP, TLS); a negative errno with a
 * reason for people in err (no secrets) otherwise (-ECANCELED: stop), after which the connection is closed. A
 * failed TCP or TLS batch may have reached the collector in part (it is sent again whole: at least once). */
int fwd_syslog_send(struct fwd_syslog *s, const char *const *msgs, const size_t *lens, size_t n, char *err,
		    size_t errlen) __attribute__((warn_unused_result));
/* Closes and frees (NULL is fine). */
void fwd_syslog_free(struct fwd_syslog *s);
