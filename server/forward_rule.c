#include "server/forward_rule.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *const fwd_secret_keys[] = { "token", "secret", "password", "client_key_pem" };
const size_t fwd_secret_keys_n = sizeof(fwd_secret_keys) / sizeof(fwd_secret_keys[0]);

struct checker {
	json_t *obj;
	char *field;
	char *msg;
};

static int fail(struct checker *c, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct checker *c, const char *key, const char *fmt, ...)
{
	va_list ap;

	snprintf(c->field, 64, "action%s%.50s", key ? "." : "", key ? key : "");
	va_start(ap, fmt);
	vsnprintf(c->msg, 160, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool printable(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n < 1 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* A string member: required or optional, 1..max printable bytes. */
static int str(struct checker *c, const char *key, bool required, size_t max, const char **out)
{
	json_t *v = json_object_get(c->obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return required ? fail(c, key, "is required") : 0;
	if (!json_is_string(v) || !printable(json_string_value(v), max))
		return fail(c, key, "must be a string of 1 to %zu printable bytes", max);
	*out = json_string_value(v);
	return 0;
}

static int port(struct checker *c, const char *key, int *out)
{
	json_t *v = json_object_get(c->obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
		return fail(c, key, "must be a port number from 1 to 65535");
	*out = (int)json_integer_value(v);
	return 0;
}

static int boolean(struct checker *c, const char *key, bool *out)
{
	json_t *v = json_object_get(c->obj, key);

	*out = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return fail(c, key, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

/* A host name or an IP address literal: letters, digits, '.', '-', ':' (IPv6), '_'. */
static int host(struct checker *c, const char *key, const char **out)
{
	if (str(c, key, true, 253, out) < 0)
		return -EINVAL;
	for (const char *p = *out; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-:_", *p))
			return fail(c, key, "must be a host name or an IP address");
	return 0;
}

/* Credentials never sit in the URL: the API returns the URL and the audit log records it (secret and token are
 * the places for them). So no userinfo (user:password@) and no query string. */
static int url(struct checker *c, const char *key, const char **out)
{
	const char *auth, *end;

	if (str(c, key, true, 2048, out) < 0)
		return -EINVAL;
	if ((strncmp(*out, "https://", 8) != 0 && strncmp(*out, "http://", 7) != 0) || strchr(*out, ' ') ||
	    strlen(*out) < 10)
		return fail(c, key, "must be an http:// or https:// URL");
	auth = strstr(*out, "://") + 3;
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(end - auth)))
		return fail(c, key, "must not hold credentials (user@): use the action's secret or token");
	if (strchr(*out, '?') || strchr(*out, '#'))
		return fail(c, key, "must not hold a query string or fragment (credentials go in secret or token)");
	return 0;
}

/* local@domain: no spaces, controls or the characters that end an address in a header. */
static bool email_ok(const char *s)
{
	const char *at = strchr(s, '@');
	size_t n = strlen(s);

	if (n < 3 || n > 254 || !at || at == s || !at[1] || strchr(at + 1, '@'))
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || strchr("<>,;\"()[]\\", *p))
			return false;
	return true;
}

/* PEM text: at least one certificate (want_key false) or exactly a private key. */
static int pem(struct checker *c, const char *key, bool want_key, const char **out)
{
	BIO *bio;
	int certs = 0;

	json_t *v = json_object_get(c->obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) < 1 || json_string_length(v) > FWD_PEM_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return fail(c, key, "must be PEM text of at most 64 KiB");
	*out = json_string_value(v);
	if (!(bio = BIO_new_mem_buf(*out, -1)))
		return fail(c, key, "cannot be read (out of memory)");
	if (want_key) {
		EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		certs = k != NULL;
		EVP_PKEY_free(k);
	} else {
		X509 *x;
		while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
			certs++;
			X509_free(x);
		}
	}
	ERR_clear_error();
	BIO_free(bio);
	if (!certs)
		return fail(c, key, "%s", want_key ? "must hold a PEM private key (unencrypted)" : "must hold PEM certificates");
	return 0;
}

static bool keys_ok(struct checker *c, const char *const *allowed, size_t n)
{
	const char *k;
	json_t *v;

	json_object_foreach(c->obj, k, v) {
		size_t i = 0;
		while (i < n && strcmp(k, allowed[i]) != 0)
			i++;
		if (i == n) {
			snprintf(c->field, 64, "action.%.50s", k);
			snprintf(c->msg, 160, "is not a member of this action type");
			return false;
		}
	}
	return true;
}

static int pick(struct checker *c, const char *key, const char *const *names, size_t n, int *out)
{
	const char *v;

	if (str(c, key, true, 64, &v) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	return fail(c, key, "has an unknown value");
}

static int facility(struct checker *c, int *out)
{
	static const char *const names[] = { "kern",   "user",   "mail",   "daemon", "auth",   "syslog",
					     "lpr",    "news",   "uucp",   "cron",   "authpriv", "ftp",
					     "ntp",    "audit",  "alert",  "clock",  "local0", "local1",
					     "local2", "local3", "local4", "local5", "local6", "local7" };
	json_t *v = json_object_get(c->obj, "facility");

	*out = 1;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 23) {
		*out = (int)json_integer_value(v);
		return 0;
	}
	for (int i = 0; json_is_string(v) && i < 24; i++)
		if (strcmp(json_string_value(v), names[i]) == 0) {
			*out = i;
			return 0;
		}
	return fail(c, "facility", "must be a syslog facility name (user, local0, ...) or number 0-23");
}

static int client_pair(struct checker *c, struct fwd_action *a)
{
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int rc = 0;

	if (pem(c, "client_cert_pem", false, &a->client_cert_pem) < 0 ||
	    pem(c, "client_key_pem", true, &a->client_key_pem) < 0)
		return -EINVAL;
	if (!a->client_cert_pem != !a->client_key_pem)
		return fail(c, a->client_cert_pem ? "client_key_pem" : "client_cert_pem",
			    "must be given with the other half of the client certificate");
	if (!a->client_cert_pem)
		return 0;
	if ((bio = BIO_new_mem_buf(a->client_cert_pem, -1)))
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if ((bio = BIO_new_mem_buf(a->client_key_pem, -1)))
		k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!x || !k || X509_check_private_key(x, k) != 1)
		rc = fail(c, "client_key_pem", "does not match client_cert_pem");
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

static int parse_syslog(struct checker *c, struct fwd_action *a)
{
	static const char *const keys[] = { "type", "format", "transport", "host", "port", "ca_pem",
					     "client_cert_pem", "client_key_pem", "facility" };
	static const char *const formats[] = { "cef", "leef", "json", "text" };
	static const char *const transports[] = { "udp", "tcp", "tls" };
	int v = 0;

	if (!keys_ok(c, keys, sizeof(keys) / sizeof(keys[0])))
		return -EINVAL;
	if (pick(c, "format", formats, 4, &v) < 0)
		return -EINVAL;
	a->format = (enum fwd_format)v;
	if (pick(c, "transport", transports, 3, &v) < 0)
		return -EINVAL;
	a->transport = (enum fwd_transport)v;
	if (host(c, "host", &a->host) < 0 || port(c, "port", &a->port) < 0 || facility(c, &a->facility) < 0 ||
	    pem(c, "ca_pem", false, &a->ca_pem) < 0 || client_pair(c, a) < 0)
		return -EINVAL;
	if (a->transport != FWD_TR_TLS && (a->ca_pem || a->client_cert_pem))
		return fail(c, a->ca_pem ? "ca_pem" : "client_cert_pem", "applies to the tls transport only");
	return 0;
}

static int parse_webhook(struct checker *c, struct fwd_action *a)
{
	static const char *const keys[] = { "type", "url", "secret", "ca_pem" };

	if (!keys_ok(c, keys, sizeof(keys) / sizeof(keys[0])) || url(c, "url", &a->url) < 0 ||
	    str(c, "secret", false, 255, &a->secret) < 0 || pem(c, "ca_pem", false, &a->ca_pem) < 0)
		return -EINVAL;
	if (a->secret && strlen(a->secret) < 16)
		return fail(c, "secret", "must be at least 16 characters");
	return 0;
}

static int parse_hec(struct checker *c, struct fwd_action *a)
{
	static const char *const keys[] = { "type", "url", "token", "ca_pem", "index", "sourcetype" };

	if (!keys_ok(c, keys, sizeof(keys) / sizeof(keys[0])) || url(c, "url", &a->url) < 0 ||
	    str(c, "token", true, 255, &a->token) < 0 || pem(c, "ca_pem", false, &a->ca_pem) < 0 ||
	    str(c, "index", false, 255, &a->index) < 0 || str(c, "sourcetype", false, 255, &a->sourcetype) < 0)
		return -EINVAL;
	return 0;
}

static int parse_email(struct checker *c, struct fwd_action *a)
{
	static const char *const keys[] = { "type", "smtp_host", "smtp_port", "from", "to", "starttls",
					     "username", "password", "ca_pem" };
	json_t *to = json_object_get(c->obj, "to"), *v;
	size_t i;

	if (!keys_ok(c, keys, sizeof(keys) / sizeof(keys[0])) || host(c, "smtp_host", &a->smtp_host) < 0 ||
	    port(c, "smtp_port", &a->smtp_port) < 0 || str(c, "from", true, 254, &a->from) < 0 ||
	    boolean(c, "starttls", &a->starttls) < 0 || str(c, "username", false, 255, &a->username) < 0 ||
	    str(c, "password", false, 255, &a->password) < 0 || pem(c, "ca_pem", false, &a->ca_pem) < 0)
		return -EINVAL;
	if (!email_ok(a->from))
		return fail(c, "from", "must be an email address");
	if (!json_is_array(to) || json_array_size(to) < 1 || json_array_size(to) > FWD_TO_MAX)
		return fail(c, "to", "must be an array of 1 to 20 email addresses");
	json_array_foreach(to, i, v) {
		if (!json_is_string(v) || !email_ok(json_string_value(v)))
			return fail(c, "to", "must be an array of 1 to 20 email addresses");
		a->to[a->nto++] = json_string_value(v);
	}
	if (!a->username != !a->password)
		return fail(c, a->username ? "password" : "username", "must be given with the other");
	/* A password never crosses the network in clear. */
	if (a->username && !a->starttls)
		return fail(c, "starttls", "must be true when username and password are set");
	return 0;
}

int fwd_action_parse(json_t *action, struct fwd_action *out, char field[64], char msg[160])
{
	static const char *const types[] = { "syslog", "webhook", "hec", "email" };
	struct checker c = { action, field, msg };
	int v = 0, rc;

	memset(out, 0, sizeof(*out));
	field[0] = msg[0] = '\0';
	if (!json_is_object(action))
		return fail(&c, NULL, "must be an object with a type");
	if (pick(&c, "type", types, 4, &v) < 0)
		return -EINVAL;
	out->type = (enum fwd_action_type)v;
	switch (out->type) {
	case FWD_ACT_SYSLOG:
		rc = parse_syslog(&c, out);
		break;
	case FWD_ACT_WEBHOOK:
		rc = parse_webhook(&c, out);
		break;
	case FWD_ACT_HEC:
		rc = parse_hec(&c, out);
		break;
	default:
		rc = parse_email(&c, out);
		break;
	}
	if (rc < 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	out->json = json_incref(action);
	return 0;
}

void fwd_action_clear(struct fwd_action *a)
{
	json_decref(a->json);
	memset(a, 0, sizeof(*a));
}

/* The members that say where an action's messages (and the secrets that go with them) are sent. */
static const char *const *destination_keys(const char *type)
{
	static const char *const syslog[] = { "transport", "host", "port", "ca_pem", "client_cert_pem", NULL };
	static const char *const http[] = { "url", "ca_pem", NULL };
	static const char *const email[] = { "smtp_host", "smtp_port", "starttls", "ca_pem", NULL };

	if (strcmp(type, "syslog") == 0)
		return syslog;
	if (strcmp(type, "webhook") == 0 || strcmp(type, "hec") == 0)
		return http;
	if (strcmp(type, "email") == 0)
		return email;
	return NULL;
}

bool fwd_action_same_destination(json_t *a, json_t *b)
{
	const char *ta = json_string_value(json_object_get(a, "type"));
	const char *tb = json_string_value(json_object_get(b, "type"));
	const char *const *keys;

	if (!ta || !tb || strcmp(ta, tb) != 0 || !(keys = destination_keys(ta)))
		return false;
	for (; *keys; keys++) {
		json_t *va = json_object_get(a, *keys), *vb = json_object_get(b, *keys);
		if (json_is_null(va))
			va = NULL;
		if (json_is_null(vb))
			vb = NULL;
		if (!va != !vb || (va && !json_equal(va, vb)))
			return false;
	}
	return true;
}
