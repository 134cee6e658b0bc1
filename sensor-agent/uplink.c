#include "sensor-agent/uplink.h"

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
#include "sensor-agent/evidence.h"

#define RX_MAX (64u * 1024 * 1024) /* largest console message accepted (learned items, indicator bundles) */
#define BATCH_ENVELOPE 128    /* {"type":"batch","seq_from":N,"seq_to":N,"records":[]} with 20-digit seqs */
#define ANSWERS_MAX 16        /* evidence answers waiting to be sent; beyond, requests are dropped (logged) */
#define ANSWERS_DATA_MAX 8    /* ... of which carry a capture; beyond, requests get an error answer */
#define LINGER_MAX_MS 10000

/* ------------------------------------------------------------------ pure logic */

unsigned uplink_backoff_next(struct uplink_backoff *b, uint32_t rnd)
{
	unsigned base = UPLINK_BACKOFF_MAX_MS;
	if (b->attempt < 16) {
		uint64_t v = (uint64_t)UPLINK_BACKOFF_MIN_MS << b->attempt;
		if (v < base)
			base = (unsigned)v;
	}
	if (b->attempt < 64)
		b->attempt++;
	unsigned half = base / 2;
	return half + rnd % (base - half + 1);
}

bool uplink_gap(uint64_t applied, uint64_t first_seq, uint64_t last_seq)
{
	return first_seq > 0 && first_seq <= last_seq && applied < first_seq - 1;
}

void uplink_window_push(struct uplink_window *w, uint64_t seq_to)
{
	if (w->n < UPLINK_WINDOW)
		w->seq_to[w->n++] = seq_to;
}

void uplink_window_ack(struct uplink_window *w, uint64_t acked)
{
	size_t k = 0;
	while (k < w->n && w->seq_to[k] <= acked)
		k++;
	memmove(w->seq_to, w->seq_to + k, (w->n - k) * sizeof(w->seq_to[0]));
	w->n -= k;
}

int uplink_build_batch(struct journal *j, uint64_t from, size_t max_records, size_t max_bytes, char **text,
		       size_t *len, uint64_t *seq_to)
{
	*text = NULL;
	*len = 0;
	size_t payload_max = max_bytes > BATCH_ENVELOPE ? max_bytes - BATCH_ENVELOPE : 1;
	for (;;) {
		json_t *recs;
		int n = journal_read_from(j, from, max_records, payload_max, &recs);
		if (n <= 0) {
			json_decref(recs);
			return n;
		}
		/* Records sit in the frame as the journal stored them (compact), plus one comma each. */
		uint64_t first = (uint64_t)json_integer_value(json_object_get(json_array_get(recs, 0), "seq"));
		uint64_t last = (uint64_t)json_integer_value(json_object_get(json_array_get(recs, (size_t)n - 1), "seq"));
		char *t = wire_encode(wire_build_batch(first, last, recs), len);
		if (!t)
			return -ENOMEM;
		if (*len <= max_bytes || n == 1) {
			*text = t;
			*seq_to = last;
			return n;
		}
		/* Commas and escaping can push a full batch past the limit: retry with fewer records. */
		free(t);
		max_records = (size_t)n - 1;
	}
}

/* ------------------------------------------------------------------ client */

/* An evidence answer, encoded, waiting for a writeable callback. */
struct answer {
	char *text;
	size_t len;
	bool data; /* carries a capture (not an error) */
};

struct uplink {
	/* Set before the thread starts, then read-only. */
	char *sensor_id, *mode;
	char *url_buf; /* lws_parse_uri cuts this one up */
	char *evidence_dir; /* <state>/evidence, or NULL */
	const char *host;
	char path[1024];
	int port;
	struct journal *j;
	struct lws_context *ctx;
	pthread_t thr;
	unsigned linger_ms;
	void (*on_ack)(void *arg, uint64_t acked);
	void *cb_arg;

	/* Shared with other threads, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cond;
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
	bool lingering; /* a partial batch waits for sul_linger */
	lws_sorted_usec_list_t sul_linger;
	unsigned pongs_pending;
	struct answer answers[ANSWERS_MAX]; /* evidence answers, oldest first */
	size_t n_answers, n_data_answers;
	uint64_t send_next;
	struct uplink_window win;
	struct uplink_backoff backoff;
	lws_sorted_usec_list_t sul;
	unsigned close_status;
	char close_reason[128];
	char *rx;
	size_t rx_len;
	unsigned rnd_state;
};

static void connect_now(lws_sorted_usec_list_t *sul);

static void set_connected(struct uplink *u, bool connected)
{
	pthread_mutex_lock(&u->mu);
	u->connected = connected;
	if (connected)
		u->welcomes++;
	pthread_mutex_unlock(&u->mu);
}

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

static void set_fatal(struct uplink *u, const char *reason)
{
	pthread_mutex_lock(&u->mu);
	if (!u->fatal) {
		u->fatal = true;
		snprintf(u->fatal_reason, sizeof(u->fatal_reason), "%s", reason);
	}
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->mu);
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
		set_connected(u, false);
	u->wsi = NULL;
	u->lingering = false;
	lws_sul_cancel(&u->sul_linger);
	u->established = u->welcomed = u->hello_pending = false;
	u->pongs_pending = 0;
	answers_clear(u); /* the console asks again on its next connection */
	u->win.n = 0;
	u->rx_len = 0;
	if (u->close_status && uplink_close_is_fatal(u->close_status)) {
		char msg[256];
		snprintf(msg, sizeof(msg), "console refused the sensor (close %u): %s", u->close_status,
			 u->close_reason[0] ? u->close_reason : "no reason given");
		log_error("uplink: %s", msg);
		set_fatal(u, msg);
		return;
	}
	if (stopping(u) || u->reconnect_pending)
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

static int send_msg(struct lws *wsi, json_t *msg)
{
	size_t len;
	char *t = wire_encode(msg, &len);
	if (!t)
		return -1;
	int rc = send_text(wsi, t, len);
	free(t);
	return rc;
}

/* One lws_write per WRITEABLE callback: control messages first, then the next batch if the window allows. */
static int on_writeable(struct uplink *u, struct lws *wsi)
{
	if (u->hello_pending) {
		u->hello_pending = false;
		pthread_mutex_lock(&u->mu);
		json_t *h = wire_build_hello(u->sensor_id, OTW_VERSION, u->mode, journal_first_seq(u->j),
					     journal_last_seq(u->j));
		pthread_mutex_unlock(&u->mu);
		if (send_msg(wsi, h) < 0)
			return -1;
		log_debug("uplink: hello sent");
		return 0;
	}
	if (u->pongs_pending) {
		u->pongs_pending--;
		if (send_msg(wsi, wire_build_pong()) < 0)
			return -1;
		if (u->pongs_pending || u->n_answers)
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (u->n_answers) {
		struct answer a = u->answers[0];
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

static void on_ack(struct uplink *u, uint64_t seq)
{
	if (seq > journal_last_seq(u->j))
		log_warn("uplink: console acked seq %" PRIu64 " beyond the journal's last %" PRIu64, seq,
			 journal_last_seq(u->j));
	int rc = journal_ack(u->j, seq);
	if (rc < 0)
		log_error("uplink: cannot record ack %" PRIu64 ": %s", seq, strerror(-rc));
	else if (u->on_ack)
		u->on_ack(u->cb_arg, journal_acked(u->j));
	pthread_mutex_lock(&u->mu);
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->mu);
}

/* The console asks for an evidence capture: read on this thread (at most WIRE_MAX_EVIDENCE_BYTES; the sensor
 * writes about 33 KiB at most) and queue the answer, or an error answer. */
static void on_evidence_request(struct uplink *u, struct lws *wsi, uint64_t id, const char *ref)
{
	const char *error = NULL;
	uint8_t *data = NULL;
	size_t len = 0, tlen;
	char *text;
	int rc = 0;

	if (u->n_answers == ANSWERS_MAX) {
		log_warn("uplink: evidence request for %s dropped: %d answers are waiting", ref, ANSWERS_MAX);
		return;
	}
	if (!u->evidence_dir)
		error = "this sensor keeps no evidence captures";
	else if (u->n_data_answers >= ANSWERS_DATA_MAX)
		error = "too many evidence requests at once; try again";
	else if ((rc = evidence_read(u->evidence_dir, ref, WIRE_MAX_EVIDENCE_BYTES, &data, &len)) < 0)
		error = rc == -ENOENT ? "no such evidence capture"
			: rc == -EFBIG ? "evidence capture too large" : "cannot read the evidence capture";
	if (rc < 0 && rc != -ENOENT)
		log_warn("uplink: evidence capture %s: %s", ref, strerror(-rc));
	text = wire_encode(wire_build_evidence(id, ref, data, len, error), &tlen);
	free(data);
	if (!text) {
		log_warn("uplink: out of memory answering the evidence request for %s", ref);
		return;
	}
	u->answers[u->n_answers++] = (struct answer){ text, tlen, !error };
	if (!error)
		u->n_data_answers++;
	log_info("uplink: evidence capture %s requested: %s", ref, error ? error : "sending");
	lws_callback_on_writable(wsi);
}

static int on_message(struct uplink *u, struct lws *wsi, const char *buf, size_t len)
{
	struct wire_msg m;
	char err[256];
	if (wire_parse(buf, len, &m, err, sizeof(err)) < 0) {
		log_warn("uplink: malformed message from the console: %s", err);
		return 0;
	}
	switch (m.type) {
	case WIRE_WELCOME: {
		uint64_t applied = m.u.welcome.applied_seq;
		/* Before the ack below: acking may free the journal's head. */
		if (uplink_gap(applied, journal_first_seq(u->j), journal_last_seq(u->j))) {
			log_warn("uplink: the console applied up to seq %" PRIu64 " but the journal starts at %" PRIu64
				 ": asking for a snapshot of the inventory", applied, journal_first_seq(u->j));
			pthread_mutex_lock(&u->mu);
			u->snapshot_request = true;
			pthread_mutex_unlock(&u->mu);
		}
		if (applied > journal_acked(u->j))
			on_ack(u, applied);
		u->send_next = applied + 1;
		u->win.n = 0;
		u->welcomed = true;
		set_connected(u, true);
		uplink_backoff_reset(&u->backoff);
		log_info("uplink: connected to %s:%d; console applied up to seq %" PRIu64 ", journal ends at %" PRIu64,
			 u->host, u->port, applied, journal_last_seq(u->j));
		lws_callback_on_writable(wsi);
		break;
	}
	case WIRE_ACK:
		if (!u->welcomed)
			break;
		on_ack(u, m.u.ack.seq);
		uplink_window_ack(&u->win, m.u.ack.seq);
		if (u->send_next <= m.u.ack.seq)
			u->send_next = m.u.ack.seq + 1;
		lws_callback_on_writable(wsi);
		break;
	case WIRE_PING:
		u->pongs_pending++;
		lws_callback_on_writable(wsi);
		break;
	case WIRE_EVIDENCE_REQUEST:
		on_evidence_request(u, wsi, m.u.evidence_request.id, m.u.evidence_request.ref);
		break;
	case WIRE_INDICATORS: {
		json_t *copy = json_deep_copy(m.u.indicators.bundle);
		if (!copy)
			break;
		pthread_mutex_lock(&u->mu);
		json_decref(u->indicators);
		u->indicators = copy;
		pthread_mutex_unlock(&u->mu);
		log_info("uplink: new indicator bundle from the console");
		break;
	}
	case WIRE_CONFIG: {
		/* The whole message (validated): settings, mode request, learned items. */
		json_t *copy = json_deep_copy(m.root);
		if (!copy)
			break;
		pthread_mutex_lock(&u->mu);
		json_decref(u->settings);
		u->settings = copy;
		u->configs++;
		pthread_cond_broadcast(&u->cond);
		pthread_mutex_unlock(&u->mu);
		log_info("uplink: new config from the console");
		break;
	}
	default:
		log_debug("uplink: ignoring message type %d", (int)m.type);
		break;
	}
	wire_msg_free(&m);
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
			return on_message(u, wsi, u->rx, n);
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

static void *thread_main(void *arg)
{
	struct uplink *u = arg;
	lws_sul_schedule(u->ctx, 0, &u->sul, connect_now, 1);
	for (;;) {
		pthread_mutex_lock(&u->mu);
		bool done = u->stop;
		pthread_mutex_unlock(&u->mu);
		if (done)
			break;
		lws_service(u->ctx, 0);
	}
	lws_sul_cancel(&u->sul);
	lws_sul_cancel(&u->sul_linger);
	return NULL;
}

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && line[n - 1] == '\n')
		n--;
	log_debug("lws: %.*s", (int)n, line);
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
	int rc = -EINVAL;
	if (o->linger_ms > LINGER_MAX_MS || o->linger_ms < UPLINK_LINGER_DEFAULT) {
		log_error("uplink: linger of %d ms is outside 0..%d", o->linger_ms, LINGER_MAX_MS);
		goto fail;
	}
	u->linger_ms = o->linger_ms == UPLINK_LINGER_DEFAULT ? UPLINK_LINGER_MS : (unsigned)o->linger_ms;
	u->sensor_id = strdup(o->sensor_id);
	u->mode = strdup(o->mode ? o->mode : "learning");
	u->url_buf = strdup(o->url);
	rc = -ENOMEM;
	if (o->state_dir && asprintf(&u->evidence_dir, "%s/" EVIDENCE_DIR_NAME, o->state_dir) < 0)
		u->evidence_dir = NULL; /* asprintf leaves it undefined */
	if (!u->sensor_id || !u->mode || !u->url_buf || (o->state_dir && !u->evidence_dir))
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
	struct lws_context_creation_info info = {
		.port = CONTEXT_PORT_NO_LISTEN,
		.protocols = protocols,
		/* lws also loads OpenSSL's default store (the system CAs) unless told not to: then any certificate
		 * a public CA issued for the console's name would pass. Trust the activation's CA only. */
		.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS,
		.client_ssl_ca_filepath = o->ca_path,
		.client_ssl_cert_filepath = o->cert_path,
		.client_ssl_private_key_filepath = o->key_path,
		.user = u,
		.gid = -1,
		.uid = -1,
		.fd_limit_per_thread = o->fd_limit,
	};
	u->ctx = lws_create_context(&info);
	if (!u->ctx) {
		log_error("uplink: cannot create the TLS client context (check %s, %s, %s)", o->cert_path, o->key_path,
			  o->ca_path);
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

void uplink_notify(struct uplink *u)
{
	lws_cancel_service(u->ctx);
}

/* Waits under u->mu until done(u, arg) (0), a fatal failure (-EPIPE), *stop (-EINTR) or the timeout (-ETIMEDOUT;
 * < 0: none). */
static int wait_for(struct uplink *u, bool (*done)(struct uplink *, uint64_t), uint64_t arg,
		    const volatile sig_atomic_t *stop, int timeout_ms)
{
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	int64_t end_ns = (int64_t)deadline.tv_sec * 1000000000 + deadline.tv_nsec + (int64_t)timeout_ms * 1000000;
	int rc;
	pthread_mutex_lock(&u->mu);
	for (;;) {
		if (u->fatal) {
			rc = -EPIPE;
			break;
		}
		if (done(u, arg)) {
			rc = 0;
			break;
		}
		if (stop && *stop) {
			rc = -EINTR;
			break;
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
		if (timeout_ms >= 0 && now_ns >= end_ns) {
			rc = -ETIMEDOUT;
			break;
		}
		/* Short slices: a signal sets *stop without signalling the condition variable. */
		int64_t wake_ns = now_ns + 200000000;
		if (timeout_ms >= 0 && wake_ns > end_ns)
			wake_ns = end_ns;
		struct timespec rt;
		clock_gettime(CLOCK_REALTIME, &rt);
		int64_t rt_ns = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec + (wake_ns - now_ns);
		struct timespec ts = { .tv_sec = rt_ns / 1000000000, .tv_nsec = rt_ns % 1000000000 };
		pthread_cond_timedwait(&u->cond, &u->mu, &ts);
	}
	pthread_mutex_unlock(&u->mu);
	return rc;
}

static bool acked(struct uplink *u, uint64_t seq) { return journal_acked(u->j) >= seq; }
static bool configured(struct uplink *u, uint64_t n) { return u->configs >= n; }

int uplink_wait_acked(struct uplink *u, uint64_t seq, const volatile sig_atomic_t *stop, int timeout_ms)
{
	return wait_for(u, acked, seq, stop, timeout_ms);
}

int uplink_wait_config(struct uplink *u, const volatile sig_atomic_t *stop, int timeout_ms)
{
	return wait_for(u, configured, 1, stop, timeout_ms);
}

bool uplink_fatal(struct uplink *u, char *reason, size_t len)
{
	pthread_mutex_lock(&u->mu);
	bool f = u->fatal;
	if (f && reason)
		snprintf(reason, len, "%s", u->fatal_reason);
	pthread_mutex_unlock(&u->mu);
	return f;
}

void uplink_stop(struct uplink *u)
{
	if (!u)
		return;
	if (u->thread_started) {
		pthread_mutex_lock(&u->mu);
		u->stop = true;
		pthread_mutex_unlock(&u->mu);
		lws_cancel_service(u->ctx);
		pthread_join(u->thr, NULL);
	}
	if (u->ctx)
		lws_context_destroy(u->ctx);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->mu);
	answers_clear(u);
	free(u->evidence_dir);
	free(u->rx);
	free(u->sensor_id);
	free(u->mode);
	free(u->url_buf);
	json_decref(u->settings);
	json_decref(u->indicators);
	free(u);
}

void uplink_set_mode(struct uplink *u, const char *mode)
{
	char *m = strdup(mode);

	if (!m)
		return; /* the next hello says the previous mode; the mode record in the journal is what counts */
	pthread_mutex_lock(&u->mu);
	free(u->mode);
	u->mode = m;
	pthread_mutex_unlock(&u->mu);
}

json_t *uplink_take_indicators(struct uplink *u)
{
	json_t *b;

	if (!u)
		return NULL;
	pthread_mutex_lock(&u->mu);
	b = u->indicators;
	u->indicators = NULL;
	pthread_mutex_unlock(&u->mu);
	return b;
}

json_t *uplink_take_config(struct uplink *u)
{
	json_t *s;

	if (!u)
		return NULL;
	pthread_mutex_lock(&u->mu);
	s = u->settings;
	u->settings = NULL;
	pthread_mutex_unlock(&u->mu);
	return s;
}

bool uplink_take_snapshot_request(struct uplink *u)
{
	pthread_mutex_lock(&u->mu);
	bool r = u->snapshot_request;
	u->snapshot_request = false;
	pthread_mutex_unlock(&u->mu);
	return r;
}

void uplink_get_status(struct uplink *u, struct uplink_status *st)
{
	pthread_mutex_lock(&u->mu);
	st->connected = u->connected;
	st->welcomes = u->welcomes;
	pthread_mutex_unlock(&u->mu);
	st->acked = journal_acked(u->j);
}
