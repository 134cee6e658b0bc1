#include "server/forward_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <jansson.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEC_PATH "/services/collector/event"
#ifndef CURLOPT_MAIL_RCPT_ALLOWFAILS /* the option's name before curl 7.89 (Debian 12 has 7.88) */
#define CURLOPT_MAIL_RCPT_ALLOWFAILS CURLOPT_MAIL_RCPT_ALLLOWFAILS
#endif

#define ANSWER_MAX 4096 /* the part of an answer's body kept (HEC's JSON status) */

struct fwd_http {
	CURL *curl;
	int timeout_ms;
	const volatile int *stop;
	char answer[ANSWER_MAX + 1];
	size_t answer_len;
};

struct upload {
	const char *p;
	size_t left;
};

int fwd_http_new(int timeout_ms, const volatile int *stop, struct fwd_http **out)
{
	struct fwd_http *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (!h || !(h->curl = curl_easy_init())) {
		free(h);
		return -ENOMEM;
	}
	h->timeout_ms = timeout_ms;
	h->stop = stop;
	*out = h;
	return 0;
}

void fwd_http_free(struct fwd_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	free(h);
}

static int errf(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* Keeps the first ANSWER_MAX bytes of the answer's body, drops the rest. */
static size_t keep_answer(char *p, size_t size, size_t n, void *arg)
{
	struct fwd_http *h = arg;
	size_t take = ANSWER_MAX - h->answer_len;

	if (take > size * n)
		take = size * n;
	memcpy(h->answer + h->answer_len, p, take);
	h->answer_len += take;
	h->answer[h->answer_len] = '\0';
	return size * n;
}

static size_t read_upload(char *dst, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t take = size * n < u->left ? size * n : u->left;

	memcpy(dst, u->p, take);
	u->p += take;
	u->left -= take;
	return take;
}

static int progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const struct fwd_http *h = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return h->stop && *h->stop ? 1 : 0;
}

/* Options every transfer shares; the handle is reset first (its connection cache stays). */
static void common_opts(struct fwd_http *h, const char *ca_pem, struct curl_blob *blob)
{
	curl_easy_reset(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)h->timeout_ms);
	curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, keep_answer);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
	h->answer_len = 0;
	h->answer[0] = '\0';
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https,smtp,smtps");
	curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "OTWatch/" OTW_VERSION);
	if (ca_pem) {
		blob->data = (void *)ca_pem;
		blob->len = strlen(ca_pem);
		blob->flags = CURL_BLOB_COPY;
		curl_easy_setopt(h->curl, CURLOPT_CAINFO_BLOB, blob);
		/* Only the rule's CAs: a build's default CA file and directory (Debian: /etc/ssl/certs) stay out. */
		curl_easy_setopt(h->curl, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(h->curl, CURLOPT_CAPATH, NULL);
	}
}

void fwd_webhook_signature(const char *secret, int64_t t, const char *body, size_t len, char out[96])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char prefix[24];
	size_t n = (size_t)snprintf(prefix, sizeof(prefix), "%lld.", (long long)t);
	unsigned char *msg = malloc(n + len);
	int w;

	out[0] = '\0';
	if (!msg)
		return;
	memcpy(msg, prefix, n);
	memcpy(msg + n, body, len);
	if (HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, n + len, md, &mdlen)) {
		w = snprintf(out, 96, "t=%lld,v1=", (long long)t);
		for (unsigned i = 0; i < mdlen && w + 2 < 96; i++)
			w += snprintf(out + w, 96 - (size_t)w, "%02x", md[i]);
	}
	free(msg);
}

/* HTTP answers that refuse this one message, not the receiver's configuration (401, 403, 404 ... hold the rule
 * until someone fixes it): they will never be accepted, however often they are sent. */
static bool http_permanent(long code)
{
	return code == 400 || code == 413 || code == 415 || code == 422;
}

/* HEC answers 400 with a JSON status {"text": ..., "code": N, "invalid-event-number": K}: most codes are about the
 * collector's configuration (7 incorrect index, 10/11 data channel, 14 ack disabled, 16 query string auth) and
 * refuse every message alike; only 5, 6, 12, 13 and 15 are about the events sent. *bad_event: the index of the
 * refused event when the collector named it (the ones before it were indexed), else -1. True when the answer
 * refuses the events, not the configuration (an answer without a code: the status decides). */
static bool hec_refuses_message(const struct fwd_http *h, long *bad_event, long *hec_code)
{
	json_t *j = json_loadb(h->answer, h->answer_len, 0, NULL);
	json_t *code = json_object_get(j, "code"), *ev = json_object_get(j, "invalid-event-number");
	bool msg = true;

	*hec_code = -1;
	if (json_is_integer(code)) {
		json_int_t c = json_integer_value(code);
		*hec_code = (long)c;
		msg = c == 5 || c == 6 || c == 12 || c == 13 || c == 15;
	}
	if (msg && json_is_integer(ev) && json_integer_value(ev) >= 0 && json_integer_value(ev) < INT32_MAX)
		*bad_event = (long)json_integer_value(ev);
	json_decref(j);
	return msg;
}

static int perform(struct fwd_http *h, const char *what, long *bad_event, char *err, size_t errlen)
{
	CURLcode cc = curl_easy_perform(h->curl);
	bool mail = strcmp(what, "email") == 0;
	long code = 0;

	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
	if (cc == CURLE_ABORTED_BY_CALLBACK)
		return errf(err, errlen, -ECANCELED, "%s cut short by shutdown", what);
	/* SMTP 55x: the relay refused the message or every recipient for good (552 too large, 550 no mailbox). */
	if (cc != CURLE_OK && mail && code >= 550 && code <= 559)
		return errf(err, errlen, -EBADMSG, "email refused by the relay (SMTP %ld): %s", code,
			    curl_easy_strerror(cc));
	if (cc != CURLE_OK)
		return errf(err, errlen, cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO, "%s failed: %s", what,
			    curl_easy_strerror(cc));
	if (!mail && code == 400 && strcmp(what, "HEC") == 0) {
		long hec = -1;
		if (hec_refuses_message(h, bad_event, &hec))
			return errf(err, errlen, -EBADMSG, "HEC answered HTTP 400 (code %ld: these events refused)", hec);
		return errf(err, errlen, -EIO, "HEC answered HTTP 400 (code %ld: refused: check the rule and the collector)",
			    hec);
	}
	if (!mail && (code < 200 || code > 299))
		return errf(err, errlen, http_permanent(code) ? -EBADMSG : -EIO, "%s answered HTTP %ld%s", what, code,
			    http_permanent(code)       ? " (this message refused)"
			    : code >= 400 && code < 500 ? " (refused: check the rule and the receiver)"
							: "");
	return 0;
}

int fwd_http_post(struct fwd_http *h, const struct fwd_action *a, const char *body, size_t len, int64_t delivery_id,
		  long *bad_event, char *err, size_t errlen)
{
	struct curl_slist *hdrs = NULL, *l;
	struct curl_blob blob;
	char line[320], sig[96], *url = NULL; /* line: a 255-byte token fits */
	size_t ulen = strlen(a->url);
	int64_t now = (int64_t)time(NULL);
	int rc = -ENOMEM;
	bool ok = true;

	*bad_event = -1;
	common_opts(h, a->ca_pem, &blob);
	if (a->type == FWD_ACT_HEC) {
		/* The rule names the collector; the event endpoint is appended unless the URL already ends in it. */
		bool has = ulen >= strlen(HEC_PATH) && strcmp(a->url + ulen - strlen(HEC_PATH), HEC_PATH) == 0;
		if (!(url = malloc(ulen + sizeof(HEC_PATH))))
			goto out;
		snprintf(url, ulen + sizeof(HEC_PATH), "%.*s%s", (int)(ulen - (!has && ulen && a->url[ulen - 1] == '/')),
			 a->url, has ? "" : HEC_PATH);
		snprintf(line, sizeof(line), "Authorization: Splunk %s", a->token);
		ok = ok && (l = curl_slist_append(hdrs, line)) && (hdrs = l);
		OPENSSL_cleanse(line, sizeof(line));
	} else {
		snprintf(line, sizeof(line), "X-OTWatch-Delivery: %lld", (long long)delivery_id);
		ok = ok && (l = curl_slist_append(hdrs, line)) && (hdrs = l);
		snprintf(line, sizeof(line), "X-OTWatch-Timestamp: %lld", (long long)now);
		ok = ok && (l = curl_slist_append(hdrs, line)) && (hdrs = l);
		if (a->secret) {
			fwd_webhook_signature(a->secret, now, body, len, sig);
			snprintf(line, sizeof(line), "X-OTWatch-Signature: %s", sig);
			ok = ok && sig[0] && (l = curl_slist_append(hdrs, line)) && (hdrs = l);
		}
	}
	ok = ok && (l = curl_slist_append(hdrs, "Content-Type: application/json")) && (hdrs = l);
	ok = ok && (l = curl_slist_append(hdrs, "Expect:")) && (hdrs = l);
	if (!ok)
		goto out;
	curl_easy_setopt(h->curl, CURLOPT_URL, url ? url : a->url);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	rc = perform(h, a->type == FWD_ACT_HEC ? "HEC" : "webhook", bad_event, err, errlen);
out:
	if (rc == -ENOMEM)
		errf(err, errlen, rc, "out of memory");
	/* The header list holds the token: wipe it before freeing. */
	for (l = hdrs; l; l = l->next)
		OPENSSL_cleanse(l->data, strlen(l->data));
	curl_slist_free_all(hdrs);
	curl_easy_reset(h->curl);
	free(url);
	return rc;
}

int fwd_mail_send(struct fwd_http *h, const struct fwd_action *a, const char *message, size_t len, const char *helo,
		  char *err, size_t errlen)
{
	struct curl_slist *rcpt = NULL, *l;
	struct curl_blob blob;
	struct upload up = { message, len };
	char url[400], addr[260];
	bool v6 = strchr(a->smtp_host, ':') != NULL;
	int rc = -ENOMEM;

	common_opts(h, a->ca_pem, &blob);
	/* The URL's path is the name curl greets with (EHLO). */
	snprintf(url, sizeof(url), "smtp://%s%s%s:%d/%s", v6 ? "[" : "", a->smtp_host, v6 ? "]" : "", a->smtp_port,
		 helo && *helo ? helo : "localhost");
	snprintf(addr, sizeof(addr), "<%s>", a->from);
	for (size_t i = 0; i < a->nto; i++) {
		char to[260];
		snprintf(to, sizeof(to), "<%s>", a->to[i]);
		if (!(l = curl_slist_append(rcpt, to)))
			goto out;
		rcpt = l;
	}
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_MAIL_FROM, addr);
	curl_easy_setopt(h->curl, CURLOPT_MAIL_RCPT, rcpt);
	/* One refused recipient does not refuse the message to the others (every one refused still fails). */
	curl_easy_setopt(h->curl, CURLOPT_MAIL_RCPT_ALLOWFAILS, 1L);
	curl_easy_setopt(h->curl, CURLOPT_USE_SSL, a->starttls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
	if (a->username) {
		curl_easy_setopt(h->curl, CURLOPT_USERNAME, a->username);
		curl_easy_setopt(h->curl, CURLOPT_PASSWORD, a->password);
	}
	curl_easy_setopt(h->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h->curl, CURLOPT_READFUNCTION, read_upload);
	curl_easy_setopt(h->curl, CURLOPT_READDATA, &up);
	curl_easy_setopt(h->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	rc = perform(h, "email", &(long){ -1 }, err, errlen);
out:
	if (rc == -ENOMEM)
		errf(err, errlen, rc, "out of memory");
	curl_slist_free_all(rcpt);
	curl_easy_reset(h->curl);
	return rc;
}
