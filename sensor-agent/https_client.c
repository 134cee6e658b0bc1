#include "sensor-agent/https_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t https_body_collect(char *data, size_t size, size_t nmemb, void *body)
{
	struct https_body *b = body;
	size_t n = size * nmemb;
	if (n > HTTPS_BODY_MAX - b->n) {
		b->too_big = true;
		return 0;
	}
	char *np = realloc(b->p, b->n + n + 1);
	if (!np)
		return 0;
	memcpy(np + b->n, data, n);
	b->p = np;
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

int https_post_json(const char *url, const char *ca_pem, const json_t *body, int timeout_sec, long *status,
		    json_t **resp, char *err, size_t errlen)
{
	pthread_once(&curl_once, curl_init_once);
	*status = 0;
	*resp = NULL;
	int rc = HTTPS_ERR_CONNECT;
	struct https_body b = { 0 };
	struct curl_slist *hdrs = NULL;
	char *json = json_dumps(body, JSON_COMPACT);
	CURL *c = curl_easy_init();
	char cerr[CURL_ERROR_SIZE] = "";
	if (!json || !c) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	struct curl_blob ca = { .data = (void *)ca_pem, .len = strlen(ca_pem), .flags = CURL_BLOB_COPY };
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	/* Trust only the activation file's CA: CAINFO_BLOB replaces the default bundle and CAPATH is cleared. */
	curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, https_body_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_sec);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(timeout_sec < 10 ? timeout_sec : 10));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");

	CURLcode cc = curl_easy_perform(c);
	if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE) {
		snprintf(err, errlen, "console certificate does not match the activation file's CA (%s)",
			 cerr[0] ? cerr : curl_easy_strerror(cc));
		rc = HTTPS_ERR_UNTRUSTED;
		goto out;
	}
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "cannot reach %s: %s", url, cerr[0] ? cerr : curl_easy_strerror(cc));
		rc = b.too_big ? HTTPS_ERR_PROTOCOL : HTTPS_ERR_CONNECT;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (b.n > 0) {
		json_error_t jerr;
		*resp = json_loadb(b.p, b.n, JSON_REJECT_DUPLICATES, &jerr);
	}
	rc = HTTPS_OK;
out:
	curl_slist_free_all(hdrs);
	if (c)
		curl_easy_cleanup(c);
	free(json);
	free(b.p);
	return rc;
}
