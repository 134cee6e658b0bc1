/* The uplink's lws client (uplink.h): connection, writes, the uplink thread, start and stop. */
#include "sensor-agent/uplink_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/wire.h"
#include "sensor-agent/cert_renew.h"
#include "sensor-agent/evidence.h"

#define RX_MAX (64u * 1024 * 1024) /* largest console message accepted (learned items, indicator bundles) */
#define LINGER_MAX_MS 10000

static void connect_now(lws_sorted_usec_list_t *sul);

/* Records in the journal not yet sent on this connection. */
static uint64_t unsent(struct uplink *u)
{
	uint64_t last = journal_last_seq(u->j);
	return last >= u->send_next ? last - u->send_next + 1 : 0;
}

static void linger_done(lws_sorted_usec_list_t *sul)
{
	struct uplink *u = lws_container_of(sul, struct uplink, sul_linger);
	u->lingering = false;
	if (u->wsi && u->welcomed)
		lws_callback_on_writable(u->wsi);
}

/* New records were notified: send at once when a batch is full or lingering is off, else wait linger_ms for
 * more (a linger already running is not extended). */
static void records_notified(struct uplink *u)
{
	uint64_t n = unsent(u);
	if (n == 0)
		return;
	if (u->linger_ms == 0 || n >= UPLINK_BATCH_RECORDS) {
		lws_callback_on_writable(u->wsi);
		return;
	}
	if (u->lingering)
		return;
	u->lingering = true;
	lws_sul_schedule(u->ctx, 0, &u->sul_linger, linger_done, (lws_usec_t)u->linger_ms * 1000);
}

static void answers_clear(struct uplink *u)
{
	for (size_t i = 0; i < u->n_answers; i++)
		free(u->answers[i].text);
	u->n_answers = u->n_data_answers = 0;
}

static bool stopping(struct uplink *u)
{
	pthread_mutex_lock(&u->mu);
	bool s = u->stop || u->fatal;
	pthread_mutex_unlock(&u->mu);
	return s;
}

/* The connection is gone (error, close, or destroyed before it was established): reset and retry later. */
static void connection_lost(struct uplink *u, const char *why)
{
	bool was_welcomed = u->welcomed;
	if (was_welcomed)
		uplink_set_connected(u, false);
	u->wsi = NULL;
	u->lingering = false;
	lws_sul_cancel(&u->sul_linger);
	u->established = u->welcomed = u->hello_pending = u->closing = u->close_handed = false;
	u->pongs_pending = 0;
	lws_sul_cancel(&u->sul_renew);
	uplink_renew_lost(u);
	answers_clear(u); /* the console asks again on its next connection */
	u->win.n = 0;
	u->rx_len = 0;
	if (u->close_status && uplink_close_is_fatal(u->close_status)) {
		char msg[256];
		snprintf(msg, sizeof(msg), "console refused the sensor (close %u): %s", u->close_status,
			 u->close_reason[0] ? u->close_reason : "no reason given");
		log_error("uplink: %s", msg);
		uplink_set_fatal(u, msg);
		return;
	}
	/* After a renewal the thread rebuilds the context first, then connects (thread_main). */
	if (stopping(u) || u->reconnect_pending || u->reload)
		return;
	unsigned ms = uplink_backoff_next(&u->backoff, (uint32_t)rand_r(&u->rnd_state) ^
							    ((uint32_t)rand_r(&u->rnd_state) << 16));
	if (was_welcomed)
		log_warn("uplink: connection to %s lost (%s); reconnecting in %u ms", u->host, why, ms);
	else
		log_warn("uplink: cannot connect to %s:%d (%s); retrying in %u ms", u->host, u->port, why, ms);
	u->reconnect_pending = true;
	lws_sul_schedule(u->ctx, 0, &u->sul, connect_now, (lws_usec_t)ms * 1000);
}

static void connect_now(lws_sorted_usec_list_t *sul)
{
	struct uplink *u = lws_container_of(sul, struct uplink, sul);
	u->reconnect_pending = false;
	if (stopping(u) || u->wsi)
		return;
	u->close_status = 0;
	u->close_reason[0] = '\0';
	struct lws_client_connect_info ci = {
		.context = u->ctx,
		.address = u->host,
		.port = u->port,
		.path = u->path,
		.host = u->host,
		.origin = u->host,
		.protocol = WIRE_SUBPROTOCOL,
		/* Peer and host name are verified against ca.crt only (no self-signed, no skipped host check). */
		.ssl_connection = LCCSCF_USE_SSL,
		.pwsi = &u->wsi,
		.userdata = u,
	};
	log_debug("uplink: connecting to %s:%d%s", u->host, u->port, u->path);
	if (!lws_client_connect_via_info(&ci)) {
		u->wsi = NULL;
		connection_lost(u, "connect failed");
	}
}

static int send_text(struct lws *wsi, const char *text, size_t len)
{
	unsigned char *buf = malloc(LWS_PRE + len);
	if (!buf)
		return -1;
	memcpy(buf + LWS_PRE, text, len);
	int n = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT);
	free(buf);
	return n < (int)len ? -1 : 0;
}

int uplink_send_msg(struct lws *wsi, json_t *msg)
{
	size_t len;
	char *t = wire_encode(msg, &len);
	if (!t)
		return -1;
	int rc = send_text(wsi, t, len);
	free(t);
	return rc;
}

void uplink_begin_close(struct uplink *u, unsigned status, const char *why)
{
	if (!u->wsi || u->closing)
		return;
	u->closing = true;
	lws_close_reason(u->wsi, (enum lws_close_status)status, (unsigned char *)(uintptr_t)why, strlen(why));
	lws_callback_on_writable(u->wsi);
}

/* One lws_write per WRITEABLE callback: a close first (lws then sends the close frame set by lws_close_reason and
 * waits for the console's), then control messages, then the next batch if the window allows. */
static int on_writeable(struct uplink *u, struct lws *wsi)
{
	if (u->closing) {
		/* Once: lws then writes the close frame and waits for the console's. Returning -1 again while it
		 * waits would make lws drop the TCP connection without TLS close_notify (the console sees a torn
		 * session). */
		if (u->close_handed)
			return 0;
		u->close_handed = true;
		return -1;
	}
	if (u->hello_pending) {
		u->hello_pending = false;
		pthread_mutex_lock(&u->mu);
		json_t *h = wire_build_hello(u->sensor_id, OTW_VERSION, u->mode, journal_first_seq(u->j),
					     journal_last_seq(u->j));
		pthread_mutex_unlock(&u->mu);
		if (uplink_send_msg(wsi, h) < 0)
			return -1;
		log_debug("uplink: hello sent");
		return 0;
	}
	if (u->pongs_pending) {
		u->pongs_pending--;
		if (uplink_send_msg(wsi, wire_build_pong()) < 0)
			return -1;
		lws_callback_on_writable(wsi); /* more pongs, a renew, answers or batches */
		return 0;
	}
	int r = uplink_renew_write(u, wsi);
	if (r)
		return r < 0 ? -1 : 0;
	if (u->n_answers) {
		struct uplink_answer a = u->answers[0];
		memmove(u->answers, u->answers + 1, --u->n_answers * sizeof(a));
		if (a.data)
			u->n_data_answers--;
		int rc = send_text(wsi, a.text, a.len);
		free(a.text);
		if (rc < 0)
			return -1;
		lws_callback_on_writable(wsi); /* more answers, or batches */
		return 0;
	}
	if (!u->welcomed || uplink_window_full(&u->win))
		return 0;
	if (u->lingering && unsent(u) < UPLINK_BATCH_RECORDS)
		return 0; /* linger_done asks again */
	char *text;
	size_t len;
	uint64_t seq_to;
	int n = uplink_build_batch(u->j, u->send_next, UPLINK_BATCH_RECORDS, UPLINK_BATCH_BYTES, &text, &len, &seq_to);
	if (n < 0) {
		log_error("uplink: cannot read the journal at seq %" PRIu64 ": %s", u->send_next, strerror(-n));
		return 0;
	}
	if (n == 0)
		return 0;
	int rc = send_text(wsi, text, len);
	free(text);
	if (rc < 0)
		return -1;
	log_debug("uplink: batch of %d records up to seq %" PRIu64 " sent (%zu bytes)", n, seq_to, len);
	uplink_window_push(&u->win, seq_to);
	u->send_next = seq_to + 1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct uplink *u = lws_context_user(lws_get_context(wsi));
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (wsi != u->wsi)
			break;
		u->established = true;
		u->hello_pending = true;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (wsi != u->wsi)
			break;
		return on_writeable(u, wsi);
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (wsi != u->wsi)
			break;
		if (len > RX_MAX - u->rx_len) {
			log_error("uplink: console message larger than %u bytes", RX_MAX);
			return -1;
		}
		if (len) {
			char *nb = realloc(u->rx, u->rx_len + len);
			if (!nb)
				return -1;
			u->rx = nb;
			memcpy(u->rx + u->rx_len, in, len);
			u->rx_len += len;
		}
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			size_t n = u->rx_len;
			u->rx_len = 0;
			return uplink_on_message(u, wsi, u->rx, n);
		}
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: {
		const unsigned char *p = in;
		if (len >= 2) {
			u->close_status = ((unsigned)p[0] << 8) | p[1];
			size_t rl = len - 2 < sizeof(u->close_reason) - 1 ? len - 2 : sizeof(u->close_reason) - 1;
			memcpy(u->close_reason, p + 2, rl);
			u->close_reason[rl] = '\0';
		}
		log_info("uplink: console closed the connection (%u): %s", u->close_status, u->close_reason);
		break;
	}
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (wsi == u->wsi || !u->wsi)
			connection_lost(u, in && len ? (const char *)in : "connection error");
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (wsi == u->wsi)
			connection_lost(u, "closed");
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		/* TLS 1.3 refusals can end here without ESTABLISHED or CONNECTION_ERROR. */
		if (wsi == u->wsi)
			connection_lost(u, "handshake failed");
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (u->wsi && u->welcomed)
			records_notified(u);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ WIRE_SUBPROTOCOL, callback, 0, 64 * 1024, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void lws_log_emit(int level, const char *line)
{
	(void)level;
	size_t n = strlen(line);
	while (n && line[n - 1] == '\n')
		n--;
	log_debug("lws: %.*s", (int)n, line);
}

/* A client context that loads the key and certificate now: after a renewal the old context still holds the old
 * pair, so a new one is made. An install a crash interrupted is finished or undone first. */
static struct lws_context *context_create(struct uplink *u)
{
	if (u->state_dir) {
		int rc = cert_renew_recover(u->state_dir);
		if (rc < 0)
			log_error("uplink: cannot recover an interrupted certificate renewal in %s: %s", u->state_dir,
				  strerror(-rc));
	}
	struct lws_context_creation_info info = {
		.port = CONTEXT_PORT_NO_LISTEN,
		.protocols = protocols,
		/* lws also loads OpenSSL's default store (the system CAs) unless told not to: then any certificate
		 * a public CA issued for the console's name would pass. Trust the activation's CA only. */
		.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS,
		.client_ssl_ca_filepath = u->ca_path,
		.client_ssl_cert_filepath = u->cert_path,
		.client_ssl_private_key_filepath = u->key_path,
		.user = u,
		.gid = -1,
		.uid = -1,
		.fd_limit_per_thread = u->fd_limit,
	};
	struct lws_context *ctx = lws_create_context(&info);
	if (!ctx)
		log_error("uplink: cannot create the TLS client context (check %s, %s, %s)", u->cert_path, u->key_path,
			  u->ca_path);
	return ctx;
}

static void cancel_timers(struct uplink *u)
{
	lws_sul_cancel(&u->sul);
	lws_sul_cancel(&u->sul_linger);
	lws_sul_cancel(&u->sul_renew);
	lws_sul_cancel(&u->sul_wake);
}

/* The renewed pair is installed and the old connection is gone: swap in a context that loads it, then connect.
 * Timers sit in a context's lists, so they go before it does. -1 (fatal) when the new pair does not load. */
static int context_reload(struct uplink *u)
{
	cancel_timers(u);
	pthread_mutex_lock(&u->mu);
	struct lws_context *old = u->ctx;
	u->ctx = NULL;
	pthread_mutex_unlock(&u->mu);
	/* u->reload is still set: a callback from the old context's teardown schedules no reconnection on it. */
	lws_context_destroy(old);
	u->reload = false;
	struct lws_context *ctx = context_create(u);
	if (!ctx) {
		uplink_set_fatal(u, "cannot load the renewed key and certificate");
		return -1;
	}
	pthread_mutex_lock(&u->mu);
	u->ctx = ctx;
	pthread_mutex_unlock(&u->mu);
	log_info("uplink: reconnecting with the renewed certificate");
	lws_sul_schedule(u->ctx, 0, &u->sul, connect_now, 1);
	return 0;
}

static void wake(lws_sorted_usec_list_t *sul)
{
	(void)sul; /* only ends lws_service(), whose own timeout lws ignores */
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *thread_main(void *arg)
{
	struct uplink *u = arg;
	int64_t close_deadline = -1;
	lws_sul_schedule(u->ctx, 0, &u->sul, connect_now, 1);
	for (;;) {
		pthread_mutex_lock(&u->mu);
		bool stop = u->stop;
		pthread_mutex_unlock(&u->mu);
		if (stop) {
			/* A welcomed connection gets a close frame and a short, bounded wait for the console's answer;
			 * destroying the context then tears down whatever is left. */
			if (close_deadline < 0) {
				close_deadline = mono_ms() + UPLINK_CLOSE_WAIT_MS;
				if (u->wsi && u->established) {
					uplink_begin_close(u, LWS_CLOSE_STATUS_GOINGAWAY, "sensor stopping");
					lws_sul_schedule(u->ctx, 0, &u->sul_wake, wake,
							 (lws_usec_t)UPLINK_CLOSE_WAIT_MS * 1000);
				}
			}
			if (!u->wsi || !u->closing || mono_ms() >= close_deadline)
				break;
		} else if (u->reload && !u->wsi) {
			if (context_reload(u) < 0)
				break;
			continue; /* a stop that came while there was no context to cancel is seen above */
		}
		lws_service(u->ctx, 0);
	}
	cancel_timers(u);
	return NULL;
}

/* Renewal installs <state_dir>/sensor.key and sensor.crt; the context must load those same files. */
static int renew_opts_check(const struct uplink_opts *o)
{
	char key[4096], crt[4096];

	if (o->renew_before_sec < 0 || o->renew_before_sec > UPLINK_RENEW_MAX_SEC) {
		log_error("uplink: renewal window of %lld s is outside 0..%lld", (long long)o->renew_before_sec,
			  (long long)UPLINK_RENEW_MAX_SEC);
		return -EINVAL;
	}
	if (!o->renew_before_sec)
		return 0;
	if (!o->state_dir) {
		log_error("uplink: certificate renewal needs the state directory");
		return -EINVAL;
	}
	snprintf(key, sizeof(key), "%s/sensor.key", o->state_dir);
	snprintf(crt, sizeof(crt), "%s/sensor.crt", o->state_dir);
	if (strcmp(key, o->key_path) != 0 || strcmp(crt, o->cert_path) != 0) {
		log_error("uplink: certificate renewal installs %s and %s, but the uplink loads %s and %s", key, crt,
			  o->key_path, o->cert_path);
		return -EINVAL;
	}
	return 0;
}

int uplink_start(const struct uplink_opts *o, struct journal *j, struct uplink **out)
{
	*out = NULL;
	struct uplink *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	pthread_mutex_init(&u->mu, NULL);
	pthread_cond_init(&u->cond, NULL);
	u->j = j;
	/* Uplinks of one process (the load generator) must not share a jitter sequence, or a fleet dropped at once
	 * reconnects in lockstep. */
	if (getrandom(&u->rnd_state, sizeof(u->rnd_state), GRND_NONBLOCK) != (ssize_t)sizeof(u->rnd_state))
		u->rnd_state = (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)u;
	u->on_ack = o->on_ack;
	u->cb_arg = o->cb_arg;
	u->fd_limit = o->fd_limit;
	u->renew_before_sec = o->renew_before_sec;
	int rc = -EINVAL;
	if (o->linger_ms > LINGER_MAX_MS || o->linger_ms < UPLINK_LINGER_DEFAULT) {
		log_error("uplink: linger of %d ms is outside 0..%d", o->linger_ms, LINGER_MAX_MS);
		goto fail;
	}
	if ((rc = renew_opts_check(o)) < 0)
		goto fail;
	u->linger_ms = o->linger_ms == UPLINK_LINGER_DEFAULT ? UPLINK_LINGER_MS : (unsigned)o->linger_ms;
	u->sensor_id = strdup(o->sensor_id);
	u->mode = strdup(o->mode ? o->mode : "learning");
	u->url_buf = strdup(o->url);
	u->cert_path = strdup(o->cert_path);
	u->key_path = strdup(o->key_path);
	u->ca_path = strdup(o->ca_path);
	u->state_dir = o->state_dir ? strdup(o->state_dir) : NULL;
	rc = -ENOMEM;
	if (o->state_dir && asprintf(&u->evidence_dir, "%s/" EVIDENCE_DIR_NAME, o->state_dir) < 0)
		u->evidence_dir = NULL; /* asprintf leaves it undefined */
	if (!u->sensor_id || !u->mode || !u->url_buf || !u->cert_path || !u->key_path || !u->ca_path ||
	    (o->state_dir && (!u->evidence_dir || !u->state_dir)))
		goto fail;
	const char *prot, *path;
	if (lws_parse_uri(u->url_buf, &prot, &u->host, &u->port, &path) || strcmp(prot, "wss") != 0 ||
	    !*u->host) {
		log_error("uplink: sensor_url %s is not a wss:// URL", o->url);
		rc = -EINVAL;
		goto fail;
	}
	/* lws_parse_uri drops the leading '/' of a path, but answers "/" for a URL without one. */
	snprintf(u->path, sizeof(u->path), "%s%s", path[0] == '/' ? "" : "/", path);

	lws_set_log_level(log_level_current >= LOG_LVL_DEBUG ? LLL_ERR | LLL_WARN : 0, lws_log_emit);
	if (!(u->ctx = context_create(u))) {
		rc = -EIO;
		goto fail;
	}
	/* Signals belong to the capture thread. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = -pthread_create(&u->thr, NULL, thread_main, u);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0)
		goto fail;
	u->thread_started = true;
	*out = u;
	return 0;
fail:
	uplink_stop(u);
	return rc;
}

void uplink_stop(struct uplink *u)
{
	if (!u)
		return;
	if (u->thread_started) {
		pthread_mutex_lock(&u->mu);
		u->stop = true;
		if (u->ctx)
			lws_cancel_service(u->ctx);
		pthread_mutex_unlock(&u->mu);
		pthread_join(u->thr, NULL);
	}
	if (u->ctx)
		lws_context_destroy(u->ctx);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->mu);
	answers_clear(u);
	uplink_renew_lost(u);
	free(u->evidence_dir);
	free(u->rx);
	free(u->sensor_id);
	free(u->mode);
	free(u->url_buf);
	free(u->state_dir);
	free(u->cert_path);
	free(u->key_path);
	free(u->ca_path);
	json_decref(u->settings);
	json_decref(u->indicators);
	free(u);
}
