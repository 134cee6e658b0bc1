/* The sensor gateway: an lws mutual-TLS websocket server on its own service thread
 * (recipes/libwebsockets-mtls.md). Everything that touches a wsi runs on that thread; the ingest writer, the
 * config pusher and gateway_kick_sensor() only queue events and call lws_cancel_service(). Connections are named
 * across threads by a never-reused 64-bit id, so a reply for a connection that closed meanwhile finds nothing. */
#include "server/gateway.h"

#include <errno.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/pki.h"
#include "common/timefmt.h"
#include "common/wire.h"
#include "server/config_push.h"
#include "server/gateway_evidence.h"
#include "server/gateway_tls.h"
#include "server/ingest.h"
#include "server/wire_dpi.h"

#include "server/gateway_internal.h"

static int64_t now_us(void) { return timefmt_now_usec(); }

/* ---- cross-thread events ---- */

static void post_event(struct gateway *gw, struct gw_event *ev)
{
	pthread_mutex_lock(&gw->mu);
	if (gw->ev_tail)
		gw->ev_tail->next = ev;
	else
		gw->ev_head = ev;
	gw->ev_tail = ev;
	if (gw->ctx_alive)
		lws_cancel_service(gw->ctx);
	pthread_mutex_unlock(&gw->mu);
}

static void on_reply(void *ctx, uint64_t conn_id, enum ingest_reply_kind kind, uint64_t seq, int code,
		     const char *reason)
{
	struct gateway *gw = ctx;
	struct gw_event *ev = calloc(1, sizeof(*ev));

	if (!ev) {
		/* The sensor gets no ack and resends after its timeout; nothing is lost. */
		log_error("gateway: out of memory; reply for connection %llu dropped", (unsigned long long)conn_id);
		return;
	}
	ev->kind = EV_REPLY;
	ev->conn_id = conn_id;
	ev->reply = kind;
	ev->seq = seq;
	ev->code = code;
	if (kind == INGEST_REPLY_CERT && !(ev->text = strdup(reason ? reason : ""))) {
		free(ev);
		log_error("gateway: out of memory; certificate for connection %llu dropped (the sensor asks again)",
			  (unsigned long long)conn_id);
		return;
	}
	if (kind != INGEST_REPLY_CERT)
		snprintf(ev->reason, sizeof(ev->reason), "%s", reason ? reason : "");
	post_event(gw, ev);
}

static void on_drained(void *ctx)
{
	struct gateway *gw = ctx;

	atomic_store(&gw->drained, true);
	pthread_mutex_lock(&gw->mu);
	if (gw->ctx_alive)
		lws_cancel_service(gw->ctx);
	pthread_mutex_unlock(&gw->mu);
}

static struct gw_event *sensor_event(enum ev_kind kind, const char *sensor_id)
{
	struct gw_event *ev = calloc(1, sizeof(*ev));

	if (ev) {
		ev->kind = kind;
		snprintf(ev->sensor_id, sizeof(ev->sensor_id), "%s", sensor_id);
	}
	return ev;
}

void gateway_kick_sensor(struct gateway *gw, const char *sensor_id, const char *reason)
{
	struct gw_event *ev = sensor_event(EV_KICK, sensor_id);

	if (!ev) {
		log_error("gateway: out of memory; sensor %s not disconnected", sensor_id);
		return;
	}
	snprintf(ev->reason, sizeof(ev->reason), "%s", reason ? reason : "sensor revoked");
	post_event(gw, ev);
}

/* Config push thread: queue the message for the sensor's connection (taking `text`). */
static void on_config(void *ctx, const char *sensor_id, enum config_push_kind kind, char *text)
{
	struct gw_event *ev = sensor_event(EV_CONFIG, sensor_id);

	if (!ev) {
		log_error("gateway: out of memory; config for sensor %s dropped", sensor_id);
		free(text);
		return;
	}
	ev->text = text;
	ev->push_kind = kind;
	post_event(ctx, ev);
}

static void event_free(struct gw_event *ev)
{
	free(ev->text);
	free(ev);
}

int gateway_fetch_evidence(struct gateway *gw, const char *sensor_id, const char *ref, int timeout_ms, uint8_t **data,
			   size_t *len, char *err, size_t errlen)
{
	struct gw_event *ev;
	uint64_t id;

	*data = NULL;
	*len = 0;
	if (!wire_is_evidence_ref(ref))
		return -EINVAL;
	if (!(ev = sensor_event(EV_EVIDENCE, sensor_id)) || !(id = evidence_wait_begin(&gw->evidence, sensor_id))) {
		free(ev);
		return -ENOMEM;
	}
	ev->seq = id;
	snprintf(ev->ref, sizeof(ev->ref), "%s", ref);
	post_event(gw, ev);
	return evidence_wait_end(&gw->evidence, id, timeout_ms, data, len, err, errlen);
}

/* FNV-1a, never 0: what an indicators message was, without keeping its (possibly large) text. */
static uint64_t text_digest(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h ? h : 1;
}

static void handle_event(struct gateway *gw, struct gw_event *ev)
{
	struct gw_conn *c;

	if (ev->kind == EV_KICK) {
		FOREACH_SENSOR_CONN(gw, ev->sensor_id, k) {
			log_info("sensor %s: disconnected by the console: %s", k->cn, ev->reason);
			conn_close(k, 4003, ev->reason);
		}
		return;
	}
	if (ev->kind == EV_CONFIG && ev->push_kind == CONFIG_PUSH_INDICATORS) {
		uint64_t sum = text_digest(ev->text);
		FOREACH_SENSOR_CONN(gw, ev->sensor_id, k) {
			if (!k->authed || k->closing || k->last_indicators == sum)
				continue;
			k->last_indicators = sum;
			log_debug("sensor %s: indicators sent", k->cn);
			conn_send_text(k, ev->text, strlen(ev->text));
		}
		return;
	}
	if (ev->kind == EV_CONFIG) {
		/* Only welcomed connections, and only a change: repeated announcements send nothing twice. */
		FOREACH_SENSOR_CONN(gw, ev->sensor_id, k) {
			if (!k->authed || k->closing || (k->last_config && strcmp(k->last_config, ev->text) == 0))
				continue;
			free(k->last_config);
			if (!(k->last_config = strdup(ev->text))) {
				conn_close(k, 1011, "console out of memory");
				continue;
			}
			log_debug("sensor %s: config sent", k->cn);
			conn_send_text(k, ev->text, strlen(ev->text));
		}
		return;
	}
	if (ev->kind == EV_EVIDENCE) {
		FOREACH_SENSOR_CONN(gw, ev->sensor_id, k) {
			if (k->authed && !k->closing) {
				conn_send(k, wire_build_evidence_request(ev->seq, ev->ref));
				return;
			}
		}
		evidence_wait_complete(&gw->evidence, ev->seq, ev->sensor_id, -ENOTCONN, NULL, 0, "sensor not connected");
		return;
	}
	c = conn_find(gw, ev->conn_id);
	if (!c || c->closing)
		return; /* closed meanwhile: the sensor resends what was not acked */
	switch (ev->reply) {
	case INGEST_REPLY_WELCOME: {
		struct gw_conn *old = other_session(gw, c);
		if (old && old->authed) {
			log_info("sensor %s: replacing its previous connection %llu", c->cn, (unsigned long long)old->id);
			conn_close(old, 1008, "replaced by a newer connection of this sensor");
		}
		c->authed = true;
		c->lag_applied = ev->seq;
		c->lag_behind_us = c->lag_known > ev->seq ? now_us() : 0;
		conn_send(c, wire_build_welcome(ev->seq));
		config_push_request(gw->push, c->cn);
		break;
	}
	case INGEST_REPLY_ACK:
		if (c->inflight)
			c->inflight--;
		c->lag_applied = ev->seq;
		if (ev->seq >= c->lag_known)
			c->lag_behind_us = 0;
		conn_send(c, wire_build_ack(ev->seq));
		break;
	case INGEST_REPLY_CLOSE:
		conn_close(c, ev->code, ev->reason);
		break;
	case INGEST_REPLY_CERT:
		c->renewing = false;
		conn_send(c, ev->code ? wire_build_certificate(NULL, ev->text) : wire_build_certificate(ev->text, NULL));
		break;
	}
}

static void drain_events(struct gateway *gw)
{
	struct gw_event *ev, *next;

	pthread_mutex_lock(&gw->mu);
	ev = gw->ev_head;
	gw->ev_head = gw->ev_tail = NULL;
	pthread_mutex_unlock(&gw->mu);
	for (; ev; ev = next) {
		next = ev->next;
		handle_event(gw, ev);
		event_free(ev);
	}
	resume_paused(gw);
}

/* Every SWEEP_US: hello deadline, ping of idle sensors, drop of silent ones. */
static void sweep_cb(lws_sorted_usec_list_t *sul)
{
	struct gateway *gw = lws_container_of(sul, struct gateway, sweep);
	int64_t now = now_us();

	FOREACH_CONN(gw, c) {
		if (c->closing || c->paused)
			continue;
		if (!c->authed && now - c->since_us > HELLO_WAIT_US && !c->hello_sent) {
			log_warn("gateway: %s (%s): no hello; closing", c->peer, c->cn);
			conn_close(c, 1008, "no hello");
		} else if (c->authed && c->ping_out && now - c->ping_us > PING_DEAD_US) {
			log_warn("sensor %s: no answer to ping; dropping the connection", c->cn);
			c->closing = true;
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		} else if (c->authed && !c->ping_out && now - c->last_rx_us > PING_IDLE_US) {
			c->ping_out = true;
			c->ping_us = now;
			conn_send(c, wire_build_ping());
		}
	}
	metrics_gw_publish(gw);
	lws_sul_schedule(gw->ctx, 0, &gw->sweep, sweep_cb, SWEEP_US);
}

/* ---- messages from a sensor ---- */

/* The per-sensor budget of messages other than batches: a token bucket of msg_burst messages refilled at
 * msg_rate a second. */
static bool take_token(struct gateway *gw, struct gw_conn *c)
{
	int64_t now = now_us();

	if (c->tokens_us == 0) {
		c->tokens = gw->opts.msg_burst;
	} else {
		c->tokens += (double)(now - c->tokens_us) * gw->opts.msg_rate / 1e6;
		if (c->tokens > gw->opts.msg_burst)
			c->tokens = gw->opts.msg_burst;
	}
	c->tokens_us = now;
	if (c->tokens < 1)
		return false;
	c->tokens -= 1;
	return true;
}

static int handle_message(struct gateway *gw, struct gw_conn *c)
{
	struct wire_msg m;
	char err[256], reason[REASON_MAX + 1];


	if (wire_dpi_parse((const char *)c->rx, c->rx_len, &m, err, sizeof(err)) < 0) {
		log_warn("sensor %s: malformed message, closing (nothing of it applied): %s", c->cn, err);
		return close_now(c, 4002, err);
	}
	/* Batches are bounded by the ack window (max_inflight); everything else by a message rate. */
	if (m.type != WIRE_BATCH && !take_token(gw, c)) {
		wire_msg_free(&m);
		snprintf(reason, sizeof(reason), "flood: more than %u messages a second", gw->opts.msg_rate);
		log_warn("sensor %s (%s): %s; cutting it off", c->cn, c->peer, reason);
		return close_now(c, 1008, reason);
	}
	switch (m.type) {
	case WIRE_HELLO:
		if (c->hello_sent) {
			wire_msg_free(&m);
			log_warn("sensor %s: second hello; closing", c->cn);
			return close_now(c, 4002, "hello: sent twice");
		}
		if (m.u.hello.major != WIRE_PROTO_MAJOR) {
			snprintf(reason, sizeof(reason), "unsupported protocol version %u (console speaks %d)",
				 m.u.hello.major, WIRE_PROTO_MAJOR);
			log_warn("sensor %s: %s", c->cn, reason);
			wire_msg_free(&m);
			return close_now(c, 4001, reason);
		}
		if (strcasecmp(m.u.hello.sensor_id, c->cn) != 0) {
			log_warn("sensor %s: hello names sensor %s; closing", c->cn, m.u.hello.sensor_id);
			wire_msg_free(&m);
			return close_now(c, 4003, "sensor id does not match the certificate");
		}
		c->hello_sent = true;
		c->lag_known = m.u.hello.last_seq;
		(void)ingest_submit(gw->ingest, c->id, c->cn, c->serial, c->peer, &m, c->rx_len);
		return 0;
	case WIRE_BATCH:
		if (!c->authed) {
			wire_msg_free(&m);
			log_warn("sensor %s: batch before welcome; closing", c->cn);
			return close_now(c, 4002, "batch: sent before welcome");
		}
		if (c->inflight >= gw->opts.max_inflight) {
			wire_msg_free(&m);
			snprintf(reason, sizeof(reason), "flood: more than %u batches awaiting their ack",
				 gw->opts.max_inflight);
			log_warn("sensor %s: %s; cutting it off", c->cn, reason);
			return close_now(c, 1008, reason);
		}
		c->inflight++;
		if (m.u.batch.seq_to > c->lag_known)
			c->lag_known = m.u.batch.seq_to;
		if (!c->lag_behind_us)
			c->lag_behind_us = now_us();
		if (ingest_submit(gw->ingest, c->id, c->cn, c->serial, c->peer, &m, c->rx_len))
			pause_writer(gw, c); /* backpressure: the writer is behind; stop reading until it drains */
		return 0;
	case WIRE_PONG:
		c->ping_out = false;
		wire_msg_free(&m);
		return 0;
	case WIRE_RENEW:
		if (!c->authed) {
			wire_msg_free(&m);
			log_warn("sensor %s: renew before welcome; closing", c->cn);
			return close_now(c, 4002, "renew: sent before welcome");
		}
		if (c->renewing) {
			/* One renewal at a time per connection: each signs a certificate and revokes the last unused. */
			log_warn("sensor %s: renew while one is pending; ignored", c->cn);
			wire_msg_free(&m);
			return 0;
		}
		c->renewing = true;
		log_info("sensor %s: asks for a renewed certificate", c->cn);
		(void)ingest_submit(gw->ingest, c->id, c->cn, c->serial, c->peer, &m, c->rx_len);
		return 0;
	case WIRE_EVIDENCE: {
		uint8_t *data = NULL;
		size_t len = 0;
		int rc = -ENOENT;
		if (c->authed && !m.u.evidence.error)
			rc = wire_base64_decode(m.u.evidence.pcap, m.u.evidence.pcap_len, &data, &len);
		if (c->authed)
			evidence_wait_complete(&gw->evidence, m.u.evidence.id, c->cn, rc, data, len,
					       m.u.evidence.error ? m.u.evidence.error : rc ? "not base64" : NULL);
		else
			free(data);
		wire_msg_free(&m);
		return 0;
	}
	default:
		wire_msg_free(&m);
		log_warn("sensor %s: unexpected message type; closing", c->cn);
		return close_now(c, 4002, "type: not a sensor message");
	}
}

/* Reassembles fragments into one message under the connection's current limit. */
static int on_receive(struct gateway *gw, struct gw_conn *c, const void *in, size_t len)
{
	size_t limit = c->authed ? gw->opts.max_frame_bytes : WIRE_HELLO_MAX_BYTES;
	char reason[64];
	int rc = 0;

	if (c->closing)
		return 0;
	c->last_rx_us = now_us();
	if (lws_frame_is_binary(c->wsi))
		return close_now(c, 4002, "binary frames are not part of otwatch.v1");
	if (len > limit || c->rx_len > limit - len) {
		snprintf(reason, sizeof(reason), "message larger than %zu bytes", limit);
		log_warn("sensor %s: %s; closing", c->cn[0] ? c->cn : c->peer, reason);
		return close_now(c, 1009, reason);
	}
	if (c->rx_len + len > c->rx_cap) {
		size_t cap = c->rx_cap ? c->rx_cap : 4096;
		while (cap < c->rx_len + len)
			cap *= 2;
		if (cap > limit)
			cap = limit;
		unsigned char *p = realloc(c->rx, cap);
		if (!p)
			return close_now(c, 1011, "console out of memory");
		c->rx = p;
		c->rx_cap = cap;
	}
	if (len)
		memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	if (!lws_is_final_fragment(c->wsi) || lws_remaining_packet_payload(c->wsi))
		return 0;
	rc = handle_message(gw, c);
	c->rx_len = 0;
	if (c->rx_cap > RX_KEEP_BYTES) {
		free(c->rx);
		c->rx = NULL;
		c->rx_cap = 0;
	}
	return rc;
}

static int on_writeable(struct gw_conn *c)
{
	struct out_msg *m = c->out_head;
	int n;

	if (c->closing)
		return close_now(c, c->close_code, c->close_reason);
	if (!m)
		return 0;
	c->out_head = m->next;
	if (!c->out_head)
		c->out_tail = NULL;
	c->out_n--;
	n = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
	free(m);
	if (n < 0)
		return -1;
	if (c->out_head)
		lws_callback_on_writable(c->wsi);
	return 0;
}

static void shutdown_cb(lws_sorted_usec_list_t *sul);

static int gw_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct lws_context *ctx = lws_get_context(wsi);
	struct gateway *gw = ctx ? lws_context_user(ctx) : NULL;
	struct gw_conn *c = user;
	char proto[64];

	switch (reason) {
	case LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION:
		/* lws accepts any certificate unless this refuses OpenSSL's verdict (len = preverify_ok). */
		if (!len) {
			X509_STORE_CTX *xs = user;
			log_warn("gateway: client certificate refused: %s",
				 X509_verify_cert_error_string(X509_STORE_CTX_get_error(xs)));
			return 1;
		}
		return 0;
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		SSL_CTX_set_info_callback(user, gateway_tls_info_cb);
		return 0;
	case LWS_CALLBACK_HTTP:
		/* Only the websocket upgrade is served here. */
		return -1;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* Refuse clients that do not ask for the subprotocol (lws would pick protocols[0] for them). */
		if (lws_hdr_copy(wsi, proto, sizeof(proto), WSI_TOKEN_PROTOCOL) <= 0 || !strstr(proto, WIRE_SUBPROTOCOL))
			return -1;
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		c->wsi = wsi;
		c->since_us = c->last_rx_us = now_us();
		lws_get_peer_simple(wsi, c->peer, sizeof(c->peer));
		if (!gateway_tls_identity(c->wsi, c->peer, c->cn, sizeof(c->cn), c->serial))
			return close_now(c, 4003, "client certificate not accepted");
		c->writer = ingest_writer_index(gw->ingest, c->cn);
		conn_register(gw, c);
		log_debug("gateway: %s: connection %llu from %s", c->cn, (unsigned long long)c->id, c->peer);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		return c && c->registered ? on_receive(gw, c, in, len) : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return c && c->registered ? on_writeable(c) : 0;
	case LWS_CALLBACK_CLOSED:
		if (!c || !c->registered)
			return 0;
		conn_unregister(gw, c);
		/* Leave `connected` alone when a newer connection of the sensor is live or waiting for its welcome (the
		 * database also ignores a bye of a connection that is no longer the sensor's latest hello). Closed by our
		 * own stop: the sensor is not gone (it reconnects to this node when it is back, or to another). */
		if (c->authed && !other_session(gw, c))
			ingest_submit_bye(gw->ingest, c->id, c->cn, atomic_load(&gw->stop));
		log_debug("gateway: %s: connection %llu closed", c->cn, (unsigned long long)c->id);
		conn_free_buffers(c);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (!gw)
			return 0;
		drain_events(gw);
		if (gw->evlib && atomic_load(&gw->stop) && !gw->shutting_down) {
			gw->shutting_down = true;
			lws_sul_schedule(gw->ctx, 0, &gw->shutdown, shutdown_cb, 1);
		}
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- lifecycle ---- */

/* libev loop only, on the service thread: the first lws_context_destroy() closes every connection (their CLOSED
 * callbacks queue the byes) and breaks the loop, so lws_service() returns; service_main destroys again to finish. */
static void shutdown_cb(lws_sorted_usec_list_t *sul)
{
	struct gateway *gw = lws_container_of(sul, struct gateway, shutdown);

	pthread_mutex_lock(&gw->mu);
	gw->ctx_alive = false;
	pthread_mutex_unlock(&gw->mu);
	lws_sul_cancel(&gw->sweep);
	lws_context_destroy(gw->ctx);
}

static void lws_log_bridge(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_error("lws: %.*s", (int)n, line);
	else
		log_warn("lws: %.*s", (int)n, line);
}

static void *service_main(void *arg)
{
	struct gateway *gw = arg;

	/* On libev, lws_service() runs the loop until shutdown_cb's first lws_context_destroy() breaks it. */
	while (!atomic_load(&gw->stop) || (gw->evlib && !gw->shutting_down))
		if (lws_service(gw->ctx, 0) < 0)
			break;
	/* Destroyed on the service thread: closing connections runs their CLOSED callbacks (which queue byes). No
	 * other thread may wake the context from here on (also when the loop ended on an error). */
	pthread_mutex_lock(&gw->mu);
	gw->ctx_alive = false;
	pthread_mutex_unlock(&gw->mu);
	if (!gw->shutting_down)
		lws_sul_cancel(&gw->sweep);
	lws_context_destroy(gw->ctx);
	return NULL;
}

static void gateway_free(struct gateway *gw)
{
	struct gw_event *ev, *next;

	for (ev = gw->ev_head; ev; ev = next) {
		next = ev->next;
		event_free(ev);
	}
	pthread_mutex_destroy(&gw->mu);
	evidence_waits_destroy(&gw->evidence);
	free(gw->listen_addr);
	free(gw->ca);
	free(gw->cert);
	free(gw->key);
	free(gw->db_url);
	free(gw);
}

int gateway_start(const struct gateway_opts *opts, struct gateway **out)
{
	struct lws_context_creation_info info;
	struct ingest_callbacks cb;
	struct gateway *gw = calloc(1, sizeof(*gw));
	int rc;

	if (!gw)
		return -ENOMEM;
	pthread_mutex_init(&gw->mu, NULL);
	evidence_waits_init(&gw->evidence);
	gw->opts = *opts;
	gw->listen_addr = opts->listen_addr ? strdup(opts->listen_addr) : NULL;
	gw->ca = strdup(opts->ca_cert_path);
	gw->cert = strdup(opts->cert_path);
	gw->key = strdup(opts->key_path);
	gw->db_url = strdup(opts->db_url);
	if ((opts->listen_addr && !gw->listen_addr) || !gw->ca || !gw->cert || !gw->key || !gw->db_url) {
		gateway_free(gw);
		return -ENOMEM;
	}
	if (!gw->opts.max_frame_bytes)
		gw->opts.max_frame_bytes = 1 << 20;
	if (gw->opts.max_frame_bytes < WIRE_HELLO_MAX_BYTES)
		gw->opts.max_frame_bytes = WIRE_HELLO_MAX_BYTES;
	if (!gw->opts.queue_max)
		gw->opts.queue_max = 64;
	if (!gw->opts.max_inflight)
		gw->opts.max_inflight = 16;
	if (!gw->opts.msg_rate)
		gw->opts.msg_rate = 50;
	if (!gw->opts.msg_burst)
		gw->opts.msg_burst = 500;

	cb.reply = on_reply;
	cb.drained = on_drained;
	cb.ctx = gw;
	if ((rc = ingest_start(&(struct ingest_opts){ .db_url = gw->db_url,
						      .queue_max = gw->opts.queue_max,
						      .queue_bytes = gw->opts.queue_bytes,
						      .writers = gw->opts.writers,
						      .group_max = gw->opts.group_max,
						      .state = opts->state },
			       &cb, &gw->ingest)) < 0) {
		log_error("gateway: cannot start the ingest writer: %s", strerror(-rc));
		gateway_free(gw);
		return rc;
	}
	if ((rc = config_push_start(gw->db_url, on_config, gw, &gw->push)) < 0) {
		log_error("gateway: cannot start the config pusher: %s", strerror(-rc));
		ingest_stop(gw->ingest);
		gateway_free(gw);
		return rc;
	}

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);
	gw->protocols[0] = (struct lws_protocols){
		.name = WIRE_SUBPROTOCOL,
		.callback = gw_callback,
		.per_session_data_size = sizeof(struct gw_conn),
		.rx_buffer_size = 16384,
	};
	memset(&info, 0, sizeof(info));
	info.port = opts->port;
	info.iface = gw->listen_addr;
	info.protocols = gw->protocols;
	/* DISABLE_OS_CA_CERTS: trust the console's own CA only, never the system store. */
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT |
		       LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	info.ssl_ca_filepath = gw->ca;
	info.ssl_cert_filepath = gw->cert;
	info.ssl_private_key_filepath = gw->key;
	info.timeout_secs = 10;
	info.ka_time = 60;
	info.ka_probes = 3;
	info.ka_interval = 10;
	info.user = gw;
	/* libev (epoll, Debian's libwebsockets-evlib-ev plugin): at 2,000 sensors lws's own poll() loop spends most of
	 * the gateway's CPU rescanning the descriptor table. Without the plugin the poll loop still works. */
	info.options |= LWS_SERVER_OPTION_LIBEV;
	gw->ctx = lws_create_context(&info);
	gw->evlib = gw->ctx != NULL;
	if (!gw->ctx) {
		log_warn("gateway: no context on the libev event loop (is libwebsockets-evlib-ev installed?); trying "
			 "lws's poll() loop");
		info.options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
		gw->ctx = lws_create_context(&info);
	}
	if (!gw->ctx) {
		log_error("gateway: cannot listen on %s:%d with certificate %s (see the lws message above)",
			  opts->listen_addr ? opts->listen_addr : "*", opts->port, opts->cert_path);
		config_push_stop(gw->push);
		ingest_stop(gw->ingest);
		gateway_free(gw);
		return -EADDRNOTAVAIL;
	}
	gw->ctx_alive = true;
	lws_sul_schedule(gw->ctx, 0, &gw->sweep, sweep_cb, SWEEP_US);
	rc = pthread_create(&gw->thread, NULL, service_main, gw);
	if (rc) {
		gw->ctx_alive = false;
		lws_context_destroy(gw->ctx);
		config_push_stop(gw->push);
		ingest_stop(gw->ingest);
		gateway_free(gw);
		return -rc;
	}
	log_info("gateway: listening on %s:%d (%s, %s event loop)", opts->listen_addr ? opts->listen_addr : "*",
		 opts->port, WIRE_SUBPROTOCOL, gw->evlib ? "libev" : "poll");
	*out = gw;
	return 0;
}

void gateway_stop(struct gateway *gw)
{
	if (!gw)
		return;
	/* The pusher first: its callback posts to the service thread. */
	config_push_stop(gw->push);
	atomic_store(&gw->stop, true);
	pthread_mutex_lock(&gw->mu);
	if (gw->ctx_alive)
		lws_cancel_service(gw->ctx);
	pthread_mutex_unlock(&gw->mu);
	pthread_join(gw->thread, NULL);
	ingest_stop(gw->ingest);
	gateway_free(gw);
}
