/* One PostgreSQL connection that LISTENs on a channel, driven by the libevent loop: connect (PQconnectStart /
 * PQconnectPoll on the socket's readiness), LISTEN, then every notification goes to a callback. A failed or lost
 * connection is retried with backoff (1 s doubling to 30 s); the callback hears when the channel goes up (LISTEN
 * confirmed) and down (notifications sent meanwhile are lost, so its user must tell its clients to refetch).
 * Nothing here blocks the loop once started, except libpq's host name lookup when the URL names a host (use an
 * address or a socket directory for the database). Loop thread only. */
#pragma once
#include <event2/event.h>
#include <stdbool.h>

struct events_listen;

/* payload: the notification's text (valid during the call). */
typedef void (*events_listen_notify_fn)(void *arg, const char *payload);
/* up: true once LISTEN is confirmed, false when a confirmed connection was lost. */
typedef void (*events_listen_state_fn)(void *arg, bool up);

/* Starts connecting to db_url (copied) and listening on channel (an SQL identifier: [a-z_]+, copied). Returns 0
 * or -ENOMEM / -EINVAL. The callbacks run on the loop of base. */
int events_listen_start(struct event_base *base, const char *db_url, const char *channel,
			events_listen_notify_fn on_notify, events_listen_state_fn on_state, void *arg,
			struct events_listen **out) __attribute__((warn_unused_result));
/* Closes the connection and frees l (NULL is fine). No callback runs afterwards. */
void events_listen_free(struct events_listen *l);
