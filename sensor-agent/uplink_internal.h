/* Inside the uplink (uplink.h): the state shared by uplink.c (the lws client: connection, writes, the thread,
 * start and stop), uplink_rx.c (the console's messages), uplink_shared.c (what other threads read and wait for),
 * uplink_renew.c (certificate renewal) and uplink_batch.c (pure batch, window and backoff logic).
 *
 * Fields marked "uplink thread only" are touched by the uplink thread alone (after uplink_start handed it the
 * struct); the others are shared under mu. ctx is written under mu too: the uplink thread replaces the context
 * after a certificate renewal while other threads may call uplink_notify(). */
#pragma once
#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/wire.h"
#include "sensor-agent/uplink.h"

#define UPLINK_ANSWERS_MAX 16 /* evidence answers waiting to be sent; beyond, requests are dropped (logged) */

/* An evidence answer, encoded, waiting for a writeable callback. */
struct uplink_answer {
	char *text;
	size_t len;
	bool data; /* carries a capture (not an error) */
};

struct uplink {
	/* Set before the thread starts, then read-only. */
	char *sensor_id, *mode;
	char *url_buf; /* lws_parse_uri cuts this one up */
	char *evidence_dir; /* <state>/evidence, or NULL */
	char *state_dir, *cert_path, *key_path, *ca_path; /* copies: the context is rebuilt from them */
	const char *host;
	char path[1024];
	int port;
	unsigned fd_limit;
	struct journal *j;
	pthread_t thr;
	unsigned linger_ms;
	int64_t renew_before_sec; /* 0: no renewal */
	void (*on_ack)(void *arg, uint64_t acked);
	void *cb_arg;

	/* Shared with other threads, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct lws_context *ctx; /* NULL while the uplink thread rebuilds it */
	bool stop, fatal, thread_started;
	char fatal_reason[256];
	json_t *settings; /* the latest config message from the console not yet taken by uplink_take_config */
	json_t *indicators; /* the latest indicator bundle not yet taken by uplink_take_indicators */
	uint64_t configs; /* config messages received */
	bool snapshot_request, connected;
	uint64_t welcomes;

	/* Uplink thread only. */
	struct lws *wsi;
	bool established, welcomed, hello_pending, reconnect_pending;
	bool closing; /* a close frame is on its way (lws_close_reason set): the next writeable closes */
	bool close_handed; /* that writeable returned -1: lws sends the frame and waits for the console's answer */
	bool reload;  /* a renewed key and certificate are installed: rebuild the context, then reconnect */
	bool lingering; /* a partial batch waits for sul_linger */
	lws_sorted_usec_list_t sul_linger;
	unsigned pongs_pending;
	struct uplink_answer answers[UPLINK_ANSWERS_MAX]; /* evidence answers, oldest first */
	size_t n_answers, n_data_answers;
	uint64_t send_next;
	struct uplink_window win;
	struct uplink_backoff backoff;
	lws_sorted_usec_list_t sul;       /* connect_now */
	lws_sorted_usec_list_t sul_wake;  /* ends the bounded wait for a clean close at stop */
	unsigned close_status;
	char close_reason[128];
	char *rx;
	size_t rx_len;
	unsigned rnd_state;

	/* Renewal (uplink_renew.c), uplink thread only. */
	EVP_PKEY *renew_key;  /* the key of the renew sent (or about to be) on this connection; NULL: none pending */
	char *renew_csr;      /* its CSR until the renew message is written */
	int64_t renew_hold_until; /* CLOCK_MONOTONIC seconds: no renewal before (after a failure or a renewal) */
	lws_sorted_usec_list_t sul_renew; /* the periodic check while connected */
};

/* uplink.c */
int uplink_send_msg(struct lws *wsi, json_t *msg); /* encodes, writes, decrefs msg; 0 or -1 */
/* Sends a close frame with this status and reason at the next writeable callback, then closes. */
void uplink_begin_close(struct uplink *u, unsigned status, const char *why);

/* uplink_rx.c: one complete message from the console; 0, or -1 to drop the connection. */
int uplink_on_message(struct uplink *u, struct lws *wsi, const char *buf, size_t len);

/* uplink_shared.c: state other threads see, under mu. */
void uplink_set_fatal(struct uplink *u, const char *reason);
void uplink_set_connected(struct uplink *u, bool connected); /* true also counts a welcome */

/* uplink_renew.c. Each runs on the uplink thread. */
/* After a welcome: checks the certificate now and then every UPLINK_RENEW_CHECK_SEC while connected. */
void uplink_renew_welcomed(struct uplink *u);
/* Writes a pending renew message if there is one: 1 (written), 0 (nothing to write), -1 (write failed). */
int uplink_renew_write(struct uplink *u, struct lws *wsi);
/* The console's certificate answer: installs it and asks for a reconnection with the new pair (u->reload). */
void uplink_renew_answer(struct uplink *u, const struct wire_msg *m);
/* The connection is gone: a renewal pending on it is dropped (the next connection asks again). */
void uplink_renew_lost(struct uplink *u);
