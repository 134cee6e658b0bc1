#include "server/http_server.h"

#include <errno.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"
#include "common/timefmt.h"
#include "server/api_auth.h"
#include "server/api_events.h"
#include "server/api_external.h"
#include "server/api_principal.h"
#include "server/auth_guard.h"
#include "server/events_hub.h"
#include "server/config.h"
#include "server/http_util.h"
#include "server/metrics.h"
#include "server/ui_static.h"

#define HTTP_HEADERS_MAX 16384
#define HTTP_QUERY_MAX 4096

struct http_server {
	struct evhttp *http;
	SSL_CTX *ctx;
	const struct api_env *env;
	unsigned costly_inflight, costly_max; /* loop thread only */
	struct auth_throttle *throttle;       /* failed logins per source address; loop thread only */
	struct events_hub *events;            /* live event streams (GET /api/v1/events) */
	struct http_proxies proxies;          /* trusted_proxies: whose X-Forwarded-For is believed */
	struct ui_static *ui;                 /* the web UI's files (ui_dir); NULL: its paths answer 503 */
};

static int64_t mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return status >= 500 ? "Internal Server Error" : "Error";
	}
}

static const char *method_name(unsigned m)
{
	switch (m) {
	case API_GET: return "GET";
	case API_POST: return "POST";
	case API_PATCH: return "PATCH";
	case API_DELETE: return "DELETE";
	case API_PUT: return "PUT";
	default: return "OTHER";
	}
}

static unsigned map_method(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return API_GET;
	case EVHTTP_REQ_POST: return API_POST;
	case EVHTTP_REQ_PATCH: return API_PATCH;
	case EVHTTP_REQ_DELETE: return API_DELETE;
	case EVHTTP_REQ_PUT: return API_PUT;
	default: return 0;
	}
}

static void free_text(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

static void security_headers(struct evkeyvalq *h)
{
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
	evhttp_add_header(h, "Strict-Transport-Security", "max-age=31536000");
}

/* A 200 answer that is not JSON (exports); takes text. filename: an attachment name or NULL; hdr_name: one extra
 * header (with hdr_value) or NULL. */
static void send_text(struct evhttp_request *req, char *text, size_t len, const char *type, const char *filename,
		      const char *hdr_name, const char *hdr_value)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *buf = evbuffer_new();
	char disp[128];

	security_headers(h);
	if (!buf) {
		free(text);
		evhttp_send_reply(req, 500, reason_phrase(500), NULL);
		return;
	}
	evhttp_add_header(h, "Content-Type", type);
	if (filename) {
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", filename);
		evhttp_add_header(h, "Content-Disposition", disp);
	}
	if (hdr_name)
		evhttp_add_header(h, hdr_name, hdr_value);
	if (evbuffer_add_reference(buf, text, len ? len : strlen(text), free_text, NULL) != 0) {
		free(text);
		evbuffer_free(buf);
		evhttp_send_reply(req, 500, reason_phrase(500), NULL);
		return;
	}
	evhttp_send_reply(req, 200, reason_phrase(200), buf);
	evbuffer_free(buf);
}

/* Sends the answer; body (taken) may be NULL for 204. Every answer carries the same security headers. */
static void send_json(struct evhttp_request *req, int status, json_t *body, const char *cookie, unsigned allow)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *buf = NULL;
	char *text = NULL;

	security_headers(h);
	/* cookie: one or more Set-Cookie values separated by '\n' (api_auth.c). */
	for (const char *p = cookie; p && *p;) {
		size_t n = strcspn(p, "\n");
		char *one = strndup(p, n);
		if (one) {
			evhttp_add_header(h, "Set-Cookie", one);
			free(one);
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	if (status == 401)
		evhttp_add_header(h, "WWW-Authenticate", "Bearer");
	if (allow) {
		char list[64] = "";
		for (unsigned m = API_GET; m <= API_PUT; m <<= 1) {
			if (allow & m) {
				if (list[0])
					strcat(list, ", ");
				strcat(list, method_name(m));
			}
		}
		evhttp_add_header(h, "Allow", list);
	}
	if (status != 204 && body) {
		text = json_dumps(body, JSON_COMPACT);
		buf = evbuffer_new();
		if (!text || !buf) {
			status = 500;
		} else {
			evhttp_add_header(h, "Content-Type", "application/json");
			evbuffer_add(buf, text, strlen(text));
		}
	}
	evhttp_send_reply(req, status, reason_phrase(status), buf);
	if (buf)
		evbuffer_free(buf);
	free(text);
	json_decref(body);
}

/* The error body: the incumbent's shape under /external/ (docs/external-api.md), OTWatch's elsewhere. Decided
 * by the path, so answers given before a route matched (404, 405) take the same shape. */
static json_t *error_body(struct evhttp_request *req, const struct http_error *e)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);

	if (api_external_path(uri ? evhttp_uri_get_path(uri) : NULL))
		return api_external_error_json(e);
	return http_error_json(e);
}

static void send_error(struct evhttp_request *req, const struct http_error *e, unsigned allow)
{
	send_json(req, e->status, error_body(req, e), NULL, allow);
}

static void call_free(struct api_call *c)
{
	json_decref(c->body);
	json_decref(c->resp);
	free(c->query);
	free(c->set_cookie);
	free(c->scope);
	free(c->resp_text);
	free(c);
}

static void call_log(const struct api_call *c, const char *path)
{
	double ms = (double)(timefmt_now_usec() - c->started_usec) / 1000.0;
	const char *user = c->username[0] ? c->username : "-";

	metrics_http_response(c->status);
	if (c->status >= 400 && c->err.code[0])
		log_info("api: %s %s %d %s%s%s user=%s client=%s %.1fms", method_name(c->method),
			 path, c->status, c->err.code, c->err.field[0] ? " field=" : "", c->err.field, user, c->client, ms);
	else if (c->status == 200 && (strcmp(path, "/api/v1/health") == 0 || strcmp(path, "/metrics") == 0))
		/* Load balancers and Prometheus ask every few seconds: a good answer is not worth a line at info. */
		log_debug("api: %s %s %d client=%s %.1fms", method_name(c->method), path, c->status, c->client, ms);
	else
		log_info("api: %s %s %d user=%s client=%s %.1fms", method_name(c->method), path,
			 c->status, user, c->client, ms);
}

/* Server-Timing: the console's own time for the call (queueing, database and handler), which a browser's resource
 * timing shows beside the network's (scripts/bench ui reads it). */
static void server_timing(const struct api_call *c)
{
	char v[48];

	snprintf(v, sizeof(v), "app;dur=%.1f", (double)(timefmt_now_usec() - c->started_usec) / 1000.0);
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Server-Timing", v);
}

/* Loop thread: the handler finished (or the pool stopped before running it). */
static void call_done(struct worker_job *job, bool cancelled)
{
	struct api_call *c = (struct api_call *)job;
	const char *path = evhttp_request_get_uri(c->req);

	if (c->route->flags & API_R_COSTLY)
		c->srv->costly_inflight--;
	/* A directory that cannot be reached counts too: each such attempt may hold a worker for the directory's
	 * timeout, and nothing was checked, so a source retrying it gains nothing from being let through faster. */
	if ((c->route->flags & API_R_LOGIN) && !cancelled &&
	    (c->status == 401 || (c->status == 503 && strcmp(c->err.code, "directory_unavailable") == 0)))
		auth_throttle_fail(c->srv->throttle, c->client, mono_sec());
	if (cancelled)
		api_fail(c, 503, "unavailable", NULL, "the console is shutting down");
	if (c->status == 0)
		api_fail(c, 500, "internal", NULL, "internal error");
	/* A live event stream is answered by the hub, which keeps the request (server/api_events.h). */
	if (!cancelled && c->status == 200 && c->route->handler == api_events_get &&
	    api_events_attach(c->srv->events, c)) {
		call_log(c, path ? path : "?");
		call_free(c);
		return;
	}
	call_log(c, path ? path : "?");
	server_timing(c);
	if (c->status >= 400 && !c->resp) {
		if (c->set_cookie)
			send_json(c->req, c->err.status, error_body(c->req, &c->err), c->set_cookie, 0);
		else
			send_error(c->req, &c->err, 0);
	} else if (c->status == 200 && c->resp_text) {
		send_text(c->req, c->resp_text, c->resp_len, c->resp_type, c->resp_filename, c->resp_header_name,
			  c->resp_header_value);
		c->resp_text = NULL;
	} else {
		send_json(c->req, c->status, c->resp, c->set_cookie, 0);
		c->resp = NULL;
	}
	call_free(c);
}

/* Worker thread. */
static void call_run(struct worker_job *job, PGconn *db)
{
	struct api_call *c = (struct api_call *)job;
	unsigned flags = c->route->flags;

	if (!db && !(flags & API_R_DB_OPTIONAL)) {
		api_fail(c, 503, "database_unavailable", NULL, "the database is unavailable");
		return;
	}
	if (!(flags & API_R_PUBLIC)) {
		if (!api_principal_load(c, db))
			return;
		/* Default deny: a route names the least role that may call it (docs/permissions.md). */
		if ((flags & API_R_ADMIN) && strcmp(c->role, "admin") != 0) {
			api_fail(c, 403, "forbidden", NULL, "this action needs the admin role");
			return;
		}
		if ((flags & API_R_ANALYST) && strcmp(c->role, "admin") != 0 && strcmp(c->role, "analyst") != 0) {
			api_fail(c, 403, "forbidden", NULL, "this action needs the analyst or admin role");
			return;
		}
	}
	c->route->handler(c, db);
}

static bool is_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	return ct && strncasecmp(ct, "application/json", n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The request's client for logs, the audit log and the login throttle: the TCP peer, or behind trusted proxies
 * the right-most untrusted X-Forwarded-For address (http_util.h). */
static void client_address(const struct http_server *srv, struct evhttp_request *req, const char *peer, char *out,
			   size_t outlen)
{
	const char *xff[HTTP_XFF_HOPS_MAX];
	struct evkeyval *kv;
	size_t n = 0;

	if (http_proxies_match(&srv->proxies, peer)) {
		TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next) {
			if (strcasecmp(kv->key, "X-Forwarded-For") != 0)
				continue;
			if (n == HTTP_XFF_HOPS_MAX) { /* keep the right-most lines: the trusted hops wrote those */
				memmove(xff, xff + 1, (n - 1) * sizeof(*xff));
				n--;
			}
			xff[n++] = kv->value;
		}
	}
	http_client_address(&srv->proxies, peer, xff, n, out, outlen);
}

static void handle_request(struct evhttp_request *req, void *arg)
{
	struct http_server *srv = arg;
	const struct api_env *env = srv->env;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct http_error err = { 0 };
	unsigned allow = 0;
	const struct api_route *tbl;
	size_t ntbl;
	struct api_call *c = calloc(1, sizeof(*c));
	int64_t wait;
	int rc;

	if (!c) {
		http_error_set(&err, 503, "unavailable", NULL, "out of memory");
		send_error(req, &err, 0);
		return;
	}
	c->env = env;
	c->srv = srv;
	c->req = req;
	c->started_usec = timefmt_now_usec();
	if (evcon) {
		char *addr = NULL;
		ev_uint16_t port = 0;
		evhttp_connection_get_peer(evcon, &addr, &port);
		client_address(srv, req, addr ? addr : "?", c->client, sizeof(c->client));
	}
	if (ui_static_is_ui_path(path)) { /* everything outside /api, /external and /metrics */
		ui_static_serve(srv->ui, req, c->client);
		call_free(c);
		return;
	}
	tbl = api_routes(&ntbl);
	c->method = map_method(evhttp_request_get_command(req));
	rc = path ? api_route_match(tbl, ntbl, c->method, path, &c->route, c->param,
				    &allow)
		  : 404;
	if (rc == 404) {
		http_error_set(&c->err, 404, "not_found", NULL, "no such resource");
		goto fail;
	}
	if (rc == 405) {
		http_error_set(&c->err, 405, "method_not_allowed", NULL, "method not allowed on this resource");
		goto fail;
	}
	if (query && strlen(query) > HTTP_QUERY_MAX) {
		http_error_set(&c->err, 400, "invalid_query", NULL, "query string too long");
		goto fail;
	}
	if ((c->route->flags & API_R_LOGIN) && (wait = auth_throttle_check(srv->throttle, c->client, mono_sec())) > 0) {
		/* Answered here without hashing: a guessing source costs the console almost nothing. */
		char secs[24];
		snprintf(secs, sizeof(secs), "%lld", (long long)wait);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", secs);
		http_error_set(&c->err, 429, "too_many_attempts", NULL, "too many failed logins from this address, "
			       "retry in %lld s", (long long)wait);
		goto fail;
	}
	if (!(c->route->flags & API_R_PUBLIC) && (rc = api_auth_session(env, req, c)) != 0) {
		if (rc == 403)
			http_error_set(&c->err, 403, "csrf", NULL, "missing or wrong " API_AUTH_CSRF_HEADER " header");
		else
			http_error_set(&c->err, 401, "unauthorized", NULL, "authentication required");
		goto fail;
	}
	if (c->route->handler == api_auth_refresh && api_auth_refresh_prepare(req, c) != 0) {
		http_error_set(&c->err, 403, "csrf", NULL, "missing or wrong " API_AUTH_CSRF_HEADER " header");
		goto fail;
	}
	if (c->route->body && len == 0 && (c->route->flags & API_R_BODY_OPTIONAL)) {
		/* no body: the handler sees c->body == NULL */
	} else if (c->route->body) {
		size_t max = (c->route->flags & (API_R_PUBLIC | API_R_EXTERNAL)) ? HTTP_BODY_MAX_PUBLIC : HTTP_BODY_MAX;
		const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
		if (len > max) {
			http_error_set(&c->err, 413, "body_too_large", NULL, "request body exceeds %zu bytes", max);
			goto fail;
		}
		if (!is_json_type(ct)) {
			http_error_set(&c->err, 415, "unsupported_media_type", NULL,
				       "request body must be application/json");
			goto fail;
		}
		if (http_json_parse_body((const char *)evbuffer_pullup(in, -1), len, max, c->route->body, &c->body,
					 &c->err) != 0)
			goto fail;
	} else if (len > 0) {
		http_error_set(&c->err, 400, "invalid_body", NULL, "this request takes no body");
		goto fail;
	}
	if (query && !(c->query = strdup(query))) {
		http_error_set(&c->err, 503, "unavailable", NULL, "out of memory");
		goto fail;
	}
	c->job.run = call_run;
	c->job.done = call_done;
	if ((c->route->flags & API_R_COSTLY) && srv->costly_inflight >= srv->costly_max) {
		rc = -EAGAIN;
	} else {
		rc = workers_submit(env->workers, &c->job);
		if (rc == 0) {
			if (c->route->flags & API_R_COSTLY)
				srv->costly_inflight++;
			return;
		}
	}
	http_error_set(&c->err, 503, rc == -EAGAIN ? "overloaded" : "unavailable", NULL,
		       rc == -EAGAIN ? "too many requests in progress, retry later" : "the console is shutting down");
fail:
	c->status = c->err.status;
	call_log(c, path ? path : "?");
	send_error(req, &c->err, rc == 405 ? allow : 0);
	call_free(c);
}

static struct bufferevent *tls_bevcb(struct event_base *base, void *arg)
{
	struct http_server *s = arg;
	struct bufferevent *bev;
	SSL *ssl = SSL_new(s->ctx);

	if (!ssl)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static SSL_CTX *tls_ctx_new(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx)
		return NULL;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		unsigned long e = ERR_get_error();
		char buf[256];
		ERR_error_string_n(e, buf, sizeof(buf));
		log_error("http: cannot load TLS certificate %s / key %s: %s", cert, key, buf);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	return ctx;
}

int http_server_start(struct event_base *base, const struct http_server_opts *opts, const struct api_env *env,
		      struct http_server **out)
{
	struct http_server *s = calloc(1, sizeof(*s));
	int rc = -ENOMEM;

	*out = NULL;
	if (!s)
		goto out;
	rc = -EINVAL;
	s->ctx = tls_ctx_new(opts->cert_path, opts->key_path);
	if (!s->ctx)
		goto out;
	rc = -ENOMEM;
	s->http = evhttp_new(base);
	if (!s->http)
		goto out;
	evhttp_set_bevcb(s->http, tls_bevcb, s);
	evhttp_set_max_body_size(s->http, HTTP_BODY_MAX);
	evhttp_set_max_headers_size(s->http, HTTP_HEADERS_MAX);
	evhttp_set_timeout(s->http, opts->timeout_sec > 0 ? opts->timeout_sec : 30);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
	s->env = env;
	if (env->cfg && *env->cfg->trusted_proxies) {
		char why[160];
		if (http_proxies_parse(env->cfg->trusted_proxies, &s->proxies, why, sizeof(why)) < 0) {
			log_error("http: trusted_proxies: %s", why);
			rc = -EINVAL;
			goto out;
		}
		log_info("http: X-Forwarded-For is believed from %zu trusted proxy address(es)/network(s)",
			 s->proxies.n);
	}
	s->costly_max = opts->workers > 1 ? opts->workers / 2 : 1;
	s->throttle = auth_throttle_new(0);
	if (!s->throttle)
		goto out;
	if (env->cfg &&
	    (rc = events_hub_new(base,
				 &(struct events_hub_opts){ .db_url = env->cfg->db,
							    .max_streams = (unsigned)env->cfg->events_max_streams,
							    .max_per_user = (unsigned)env->cfg->events_max_streams_per_user,
							    .heartbeat_sec = (int)env->cfg->events_heartbeat,
							    .lifetime_sec = (int)env->cfg->events_stream_lifetime,
							    .ring = (size_t)env->cfg->events_ring },
				 &s->events)) < 0)
		goto out;
	s->ui = ui_static_open(env->cfg ? env->cfg->ui_dir : NULL);
	evhttp_set_gencb(s->http, handle_request, s);
	if (!evhttp_bind_socket_with_handle(s->http, opts->host, (ev_uint16_t)opts->port)) {
		log_error("http: cannot listen on %s:%d: %s", opts->host, opts->port, strerror(errno));
		rc = -EADDRINUSE;
		goto out;
	}
	*out = s;
	s = NULL;
	rc = 0;
out:
	http_server_free(s);
	return rc;
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	events_hub_free(s->events); /* ends its streams before evhttp closes their connections */
	if (s->http)
		evhttp_free(s->http);
	if (s->ctx)
		SSL_CTX_free(s->ctx);
	auth_throttle_free(s->throttle);
	ui_static_free(s->ui); /* after evhttp_free: answers in flight reference its bytes */
	free(s);
}
