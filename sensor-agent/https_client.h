/* A minimal blocking HTTPS JSON client (libcurl) that trusts exactly one CA given as PEM: the system store is
 * never consulted, and both the peer certificate and the host name are verified. Used by `activate` only. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A response body collected by https_body_collect (a CURLOPT_WRITEFUNCTION): NUL-terminated, at most
 * HTTPS_BODY_MAX bytes (then too_big is set and the transfer stops). p is heap (free()). */
#define HTTPS_BODY_MAX (1024u * 1024)
struct https_body {
	char *p;
	size_t n;
	bool too_big;
};
size_t https_body_collect(char *data, size_t size, size_t nmemb, void *body);

enum https_err {
	HTTPS_OK = 0,
	HTTPS_ERR_UNTRUSTED = -1000, /* the server's certificate does not chain to ca_pem (or names another host) */
	HTTPS_ERR_CONNECT = -1001,   /* resolve/connect/TLS failure other than verification */
	HTTPS_ERR_PROTOCOL = -1002,  /* the response was not JSON when a body was expected */
};

/* POSTs `body` as application/json to url. On HTTPS_OK, *status is the HTTP status and *resp (may be NULL when
 * the body was empty or not JSON; owned by the caller) the decoded body. Otherwise err says what failed.
 * Responses are capped at 1 MiB; the whole exchange at timeout_sec. */
int https_post_json(const char *url, const char *ca_pem, const json_t *body, int timeout_sec, long *status,
		    json_t **resp, char *err, size_t errlen) __attribute__((warn_unused_result));
