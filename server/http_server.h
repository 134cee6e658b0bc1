/* The console's HTTPS API listener: evhttp over bufferevent_openssl (TLS 1.2+, the console's server
 * certificate), with request size limits and timeouts, dispatching to the API router and the worker pool. */
#pragma once
#include <event2/event.h>

#include "server/api_router.h"

struct http_server;

struct http_server_opts {
	const char *host;      /* listen address, "127.0.0.1" or "::" */
	int port;
	const char *cert_path; /* PEM certificate (chain) and key */
	const char *key_path;
	int timeout_sec;       /* read/write timeout per connection */
	unsigned workers;      /* size of env->workers, for the cap on costly unauthenticated requests */
};

/* Loads the TLS context, binds, and starts serving on base. env must outlive the server. Returns 0 or a
 * negative errno with the reason logged. */
int http_server_start(struct event_base *base, const struct http_server_opts *opts, const struct api_env *env,
		      struct http_server **out) __attribute__((warn_unused_result));
/* Closes the listener and every connection, frees s. Call after the worker pool stopped and its completions
 * were delivered (requests still waiting for a worker would otherwise be freed under it). */
void http_server_free(struct http_server *s);
