#include "tools/loadgen/lg_api.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sensor-agent/https_client.h"

/* One POST of `req` to base + path; *status and *resp (NULL for a body that is not JSON). 0 or -EIO. */
static int post(const struct lg_api *a, const char *path, const json_t *req, long *status, json_t **resp, char *err,
		size_t errlen)
{
	char url[1024], auth[4096], cerr[CURL_ERROR_SIZE] = "";
	struct https_body b = { 0 };
	struct curl_slist *hdrs = NULL;
	struct curl_blob ca = { a->ca_pem, strlen(a->ca_pem), CURL_BLOB_COPY };
	char *json = json_dumps(req, JSON_COMPACT);
	CURL *c = curl_easy_init();
	int rc = -EIO;

	*resp = NULL;
	snprintf(url, sizeof(url), "%s%s", a->base, path);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (a->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", a->token);
		hdrs = curl_slist_append(hdrs, auth);
		OPENSSL_cleanse(auth, sizeof(auth));
	}
	if (!c || !json || !hdrs) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, https_body_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	CURLcode cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", url, b.too_big ? "answer larger than 1 MiB" : cerr[0] ? cerr : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (b.p)
		*resp = json_loadb(b.p, b.n, 0, NULL);
	rc = 0;
out:
	curl_slist_free_all(hdrs);
	if (c)
		curl_easy_cleanup(c);
	if (json) {
		OPENSSL_cleanse(json, strlen(json)); /* the login body holds the password */
		free(json);
	}
	free(b.p);
	return rc;
}

static const char *error_text(json_t *resp)
{
	const char *m = json_string_value(json_object_get(resp, "message"));
	if (!m)
		m = json_string_value(json_object_get(resp, "error"));
	return m ? m : "no message";
}

int lg_api_login(struct lg_api *a, const char *user, const char *password, char *err, size_t errlen)
{
	json_t *req = json_pack("{s:s, s:s}", "username", user, "password", password), *resp = NULL;
	long status = 0;
	int rc = -ENOMEM;

	if (!req)
		goto out;
	if ((rc = post(a, "/api/v1/auth/login", req, &status, &resp, err, errlen)) < 0)
		goto out;
	const char *tok = json_string_value(json_object_get(resp, "token"));
	if (status != 200 || !tok) {
		snprintf(err, errlen, "login as %s refused: HTTP %ld: %s", user, status, error_text(resp));
		rc = -EACCES;
		goto out;
	}
	free(a->token);
	a->token = strdup(tok);
	rc = a->token ? 0 : -ENOMEM;
out:
	if (req) {
		/* jansson keeps its own copy of the password string: wipe it before the object goes. */
		json_t *pw = json_object_get(req, "password");
		if (json_string_value(pw))
			OPENSSL_cleanse((char *)json_string_value(pw), json_string_length(pw));
	}
	json_decref(req);
	json_decref(resp);
	return rc;
}

int lg_api_create_sensor(const struct lg_api *a, const char *name, const char *zone_id, json_t **activation,
			 char *err, size_t errlen)
{
	json_t *req = json_pack("{s:s}", "name", name), *resp = NULL;
	long status = 0;
	int rc = -ENOMEM;

	*activation = NULL;
	if (!req)
		goto out;
	if (zone_id) {
		char *end;
		long long z = strtoll(zone_id, &end, 10);
		if (*end || z <= 0) {
			snprintf(err, errlen, "zone id %s is not a positive integer", zone_id);
			rc = -EINVAL;
			goto out;
		}
		json_object_set_new(req, "zone_id", json_integer(z));
	}
	if ((rc = post(a, "/api/v1/sensors", req, &status, &resp, err, errlen)) < 0)
		goto out;
	if (status != 201 || !json_is_object(resp)) {
		snprintf(err, errlen, "creating sensor %s: HTTP %ld: %s", name, status, error_text(resp));
		rc = -EPROTO;
		goto out;
	}
	*activation = resp;
	resp = NULL;
	rc = 0;
out:
	json_decref(req);
	json_decref(resp);
	return rc;
}

void lg_api_free(struct lg_api *a)
{
	free(a->base);
	free(a->ca_pem);
	if (a->token) {
		OPENSSL_cleanse(a->token, strlen(a->token));
		free(a->token);
	}
	memset(a, 0, sizeof(*a));
}
