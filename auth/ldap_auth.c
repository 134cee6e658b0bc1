#include "auth/ldap_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <ldap.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define UAC_ACCOUNTDISABLE 0x2u

const char *ldap_auth_class_name(enum ldap_auth_class c)
{
	switch (c) {
	case LDAP_AUTH_OK: return "ok";
	case LDAP_AUTH_CONFIG: return "config";
	case LDAP_AUTH_DNS: return "dns";
	case LDAP_AUTH_TCP: return "tcp";
	case LDAP_AUTH_TLS_CERTIFICATE: return "tls_certificate";
	case LDAP_AUTH_BIND: return "bind";
	case LDAP_AUTH_DISABLED: return "disabled";
	case LDAP_AUTH_SEARCH: return "search";
	}
	return "config";
}

bool ldap_auth_uri_ok(const char *uri)
{
	LDAPURLDesc *lud = NULL;
	bool ok = uri && strlen(uri) < LDAP_AUTH_URI_MAX && ldap_url_parse(uri, &lud) == LDAP_URL_SUCCESS &&
		  lud->lud_scheme && (strcmp(lud->lud_scheme, "ldap") == 0 || strcmp(lud->lud_scheme, "ldaps") == 0) &&
		  lud->lud_host && lud->lud_host[0] && (!lud->lud_dn || !lud->lud_dn[0]) && !lud->lud_attrs &&
		  !lud->lud_filter && !lud->lud_exts;

	ldap_free_urldesc(lud);
	return ok;
}

/* Copies at most 200 bytes of server-supplied text, replacing anything that is not printable ASCII. */
static void clean_copy(char *out, size_t outlen, const char *s)
{
	size_t o = 0;

	for (; s && *s && o + 1 < outlen && o < 200; s++)
		out[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	out[o] = '\0';
}

static enum ldap_auth_class set_err(char *msg, size_t msglen, enum ldap_auth_class c, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static enum ldap_auth_class set_err(char *msg, size_t msglen, enum ldap_auth_class c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return c;
}

/* The server's diagnostic message after a failed operation, cleaned. */
static void ldap_diag(LDAP *ld, char *out, size_t outlen)
{
	char *diag = NULL;

	out[0] = '\0';
	/* libldap fills in "(unknown error code)" when the server said nothing: that is no information. */
	if (ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) == LDAP_OPT_SUCCESS && diag &&
	    strcmp(diag, "(unknown error code)") != 0)
		clean_copy(out, outlen, diag);
	ldap_memfree(diag);
}

static bool transport_error(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR || rc == LDAP_UNAVAILABLE ||
	       rc == LDAP_BUSY;
}

/* A temporary file with the domain's CA PEM: libldap (GnuTLS build on Debian) takes trust anchors only from a
 * file or directory. It is read when the TLS context is created and deleted right after. */
static int write_ca_file(const char *pem, char path[64])
{
	const char *tmp = getenv("TMPDIR");
	size_t len = strlen(pem);
	int fd;

	snprintf(path, 64, "%s/otw-ldap-ca-XXXXXX", tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, pem + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			unlink(path);
			return -EIO;
		}
		off += (size_t)w;
	}
	close(fd);
	return 0;
}

/* DNS and TCP stages, done by hand so that the failure is named precisely; libldap connects again after. */
static enum ldap_auth_class probe(const char *host, int port, int timeout_ms, char *msg, size_t msglen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	char portstr[8];
	int rc, last = 0;
	enum ldap_auth_class cls = LDAP_AUTH_TCP;

	snprintf(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &ai);
	if (rc != 0)
		return set_err(msg, msglen, LDAP_AUTH_DNS, "cannot resolve '%.100s': %s", host, gai_strerror(rc));
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			close(fd);
			cls = LDAP_AUTH_OK;
			break;
		}
		if (errno == EINPROGRESS) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			int err = 0;
			socklen_t elen = sizeof(err);
			int n = poll(&p, 1, timeout_ms);
			if (n == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0) {
				close(fd);
				cls = LDAP_AUTH_OK;
				break;
			}
			last = n == 0 ? ETIMEDOUT : (err ? err : errno);
		} else {
			last = errno;
		}
		close(fd);
	}
	freeaddrinfo(ai);
	if (cls != LDAP_AUTH_OK)
		set_err(msg, msglen, cls, "cannot connect to %.100s port %d: %s", host, port, strerror(last));
	return cls;
}

/* Opens a TLS-protected connection to one URI: dns, tcp, then tls. */
static enum ldap_auth_class open_uri(const struct ldap_domain_cfg *d, const char *uri, const char *cafile,
				     LDAP **out, char *msg, size_t msglen)
{
	LDAPURLDesc *lud = NULL;
	LDAP *ld = NULL;
	struct timeval tv = { d->timeout_ms / 1000, (d->timeout_ms % 1000) * 1000 };
	int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, tlsmin = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2, zero = 0;
	int rc, port;
	bool ldaps;
	enum ldap_auth_class cls;
	char diag[210];

	*out = NULL;
	if (ldap_url_parse(uri, &lud) != LDAP_URL_SUCCESS || !lud->lud_scheme || !lud->lud_host || !lud->lud_host[0]) {
		cls = set_err(msg, msglen, LDAP_AUTH_CONFIG, "invalid LDAP URI");
		goto out;
	}
	ldaps = strcmp(lud->lud_scheme, "ldaps") == 0;
	if (!ldaps && (strcmp(lud->lud_scheme, "ldap") != 0 || !d->start_tls)) {
		cls = set_err(msg, msglen, LDAP_AUTH_CONFIG, "URI must be ldaps://, or ldap:// with start_tls");
		goto out;
	}
	port = lud->lud_port ? lud->lud_port : (ldaps ? 636 : 389);
	if ((cls = probe(lud->lud_host, port, d->timeout_ms, msg, msglen)) != LDAP_AUTH_OK)
		goto out;
	if (ldap_initialize(&ld, uri) != LDAP_SUCCESS) {
		cls = set_err(msg, msglen, LDAP_AUTH_CONFIG, "invalid LDAP URI");
		goto out;
	}
	/* Per-handle TLS settings replace the process defaults (/etc/ldap/ldap.conf), and NEWCTX builds this
	 * handle's own context from them: trust is the domain's CA and nothing else. */
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tlsmin) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTDIR, NULL) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cafile) != LDAP_OPT_SUCCESS) {
		cls = set_err(msg, msglen, LDAP_AUTH_CONFIG, "cannot set LDAP options");
		goto out;
	}
	if (ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) != LDAP_OPT_SUCCESS) {
		cls = set_err(msg, msglen, LDAP_AUTH_CONFIG, "the CA PEM cannot be loaded");
		goto out;
	}
	rc = ldaps ? ldap_connect(ld) : ldap_start_tls_s(ld, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		ldap_diag(ld, diag, sizeof(diag));
		cls = set_err(msg, msglen, LDAP_AUTH_TLS_CERTIFICATE, "TLS with %.100s failed: %s%s%s", lud->lud_host,
			      ldap_err2string(rc), diag[0] ? ": " : "", diag);
		goto out;
	}
	*out = ld;
	ld = NULL;
	cls = LDAP_AUTH_OK;
out:
	if (ld)
		ldap_unbind_ext_s(ld, NULL, NULL);
	ldap_free_urldesc(lud);
	return cls;
}

/* Simple bind. AD answers 49 for both bad passwords and unusable accounts; its diagnostic message carries the
 * reason as "data <hex>": 52e bad credentials, 530-533 and 701/773/775 restricted, disabled, expired, locked. */
static enum ldap_auth_class do_bind(LDAP *ld, const char *dn, const char *password, bool *transport, char *msg,
				    size_t msglen)
{
	struct berval cred = { strlen(password), (char *)password };
	char diag[210];
	int rc;

	*transport = false;
	rc = ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	if (rc == LDAP_SUCCESS)
		return LDAP_AUTH_OK;
	ldap_diag(ld, diag, sizeof(diag));
	if (rc == LDAP_INVALID_CREDENTIALS) {
		static const char *const disabled[] = { "data 530", "data 531", "data 532", "data 533",
							"data 701", "data 773", "data 775" };
		for (size_t i = 0; i < sizeof(disabled) / sizeof(disabled[0]); i++)
			if (strstr(diag, disabled[i]))
				return set_err(msg, msglen, LDAP_AUTH_DISABLED, "account disabled, locked or expired (%s)",
					       diag);
		return set_err(msg, msglen, LDAP_AUTH_BIND, "invalid credentials (%s)", diag);
	}
	*transport = transport_error(rc);
	return set_err(msg, msglen, *transport ? LDAP_AUTH_TCP : LDAP_AUTH_BIND, "bind failed: %s%s%s",
		       ldap_err2string(rc), diag[0] ? ": " : "", diag);
}

/* A decimal attribute value (untrusted: bounded length, digits only). */
static bool parse_uint(const struct berval *bv, unsigned long *out)
{
	char buf[16];

	if (!bv || bv->bv_len == 0 || bv->bv_len >= sizeof(buf))
		return false;
	memcpy(buf, bv->bv_val, bv->bv_len);
	buf[bv->bv_len] = '\0';
	for (size_t i = 0; i < bv->bv_len; i++)
		if (!(buf[i] >= '0' && buf[i] <= '9') && !(i == 0 && buf[i] == '-'))
			return false;
	*out = (unsigned long)strtol(buf, NULL, 10);
	return true;
}

/* Finds the user's entry; fills raw_dn (as the server spelt it) and out->user_dn. */
static enum ldap_auth_class find_user(LDAP *ld, const struct ldap_domain_cfg *d, const char *user,
				      struct ldap_auth_result *out, char raw_dn[LDAP_TEXT_DN_MAX + 1])
{
	char esc[3 * LDAP_TEXT_USER_MAX + 1], filter[sizeof(esc) + 64], diag[210];
	char *attrs[] = { "userAccountControl", NULL };
	struct timeval tv = { d->timeout_ms / 1000, (d->timeout_ms % 1000) * 1000 };
	LDAPMessage *res = NULL, *e;
	struct berval **uac = NULL;
	char *dn = NULL;
	unsigned long flags = 0;
	enum ldap_auth_class cls;
	int rc;

	if (ldap_text_filter_escape(user, strlen(user), esc, sizeof(esc)) < 0)
		return set_err(out->message, sizeof(out->message), LDAP_AUTH_CONFIG, "user name too long");
	snprintf(filter, sizeof(filter), "(&(objectClass=user)(sAMAccountName=%s))", esc);
	rc = ldap_search_ext_s(ld, d->base_dn, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL, &tv, 2, &res);
	if (rc != LDAP_SUCCESS) {
		ldap_diag(ld, diag, sizeof(diag));
		cls = set_err(out->message, sizeof(out->message), LDAP_AUTH_SEARCH, "user search failed: %s%s%s",
			      ldap_err2string(rc), diag[0] ? ": " : "", diag);
		goto out;
	}
	if (ldap_count_entries(ld, res) != 1 || !(e = ldap_first_entry(ld, res))) {
		cls = set_err(out->message, sizeof(out->message), LDAP_AUTH_SEARCH,
			      "user entry not found (or not unique) under the base DN");
		goto out;
	}
	dn = ldap_get_dn(ld, e);
	if (!dn || strlen(dn) > LDAP_TEXT_DN_MAX ||
	    ldap_text_dn_normalize(dn, strlen(dn), out->user_dn) < 0) {
		cls = set_err(out->message, sizeof(out->message), LDAP_AUTH_SEARCH, "user entry has an unusable DN");
		goto out;
	}
	snprintf(raw_dn, LDAP_TEXT_DN_MAX + 1, "%s", dn);
	uac = ldap_get_values_len(ld, e, "userAccountControl");
	if (!uac || !parse_uint(uac[0], &flags)) {
		cls = set_err(out->message, sizeof(out->message), LDAP_AUTH_SEARCH, "user entry has no userAccountControl");
		goto out;
	}
	if (flags & UAC_ACCOUNTDISABLE) {
		cls = set_err(out->message, sizeof(out->message), LDAP_AUTH_DISABLED, "account disabled");
		goto out;
	}
	cls = LDAP_AUTH_OK;
out:
	ldap_value_free_len(uac);
	ldap_memfree(dn);
	ldap_msgfree(res);
	return cls;
}

/* Every group the user is in, directly or through nested groups. */
static enum ldap_auth_class find_groups(LDAP *ld, const struct ldap_domain_cfg *d, const char *raw_dn,
					struct ldap_auth_result *out)
{
	char esc[3 * LDAP_TEXT_DN_MAX + 1], filter[sizeof(esc) + 80], diag[210], norm[LDAP_TEXT_DN_MAX + 1];
	char *attrs[] = { "1.1", NULL };
	struct timeval tv = { d->timeout_ms / 1000, (d->timeout_ms % 1000) * 1000 };
	LDAPMessage *res = NULL;
	enum ldap_auth_class cls = LDAP_AUTH_OK;
	int rc, n;

	if (ldap_text_filter_escape(raw_dn, strlen(raw_dn), esc, sizeof(esc)) < 0)
		return set_err(out->message, sizeof(out->message), LDAP_AUTH_SEARCH, "user DN too long");
	snprintf(filter, sizeof(filter), "(&(objectClass=group)(member:1.2.840.113556.1.4.1941:=%s))", esc);
	rc = ldap_search_ext_s(ld, d->base_dn, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL, &tv,
			       LDAP_AUTH_GROUPS_MAX + 1, &res);
	if (rc != LDAP_SUCCESS) {
		ldap_diag(ld, diag, sizeof(diag));
		cls = set_err(out->message, sizeof(out->message), LDAP_AUTH_SEARCH, "group search failed: %s%s%s",
			      ldap_err2string(rc), diag[0] ? ": " : "", diag);
		goto out;
	}
	n = ldap_count_entries(ld, res);
	if (n < 0 || n > LDAP_AUTH_GROUPS_MAX) {
		cls = set_err(out->message, sizeof(out->message), LDAP_AUTH_SEARCH, "too many groups");
		goto out;
	}
	out->groups = calloc((size_t)n + 1, sizeof(char *));
	if (!out->groups) {
		cls = set_err(out->message, sizeof(out->message), LDAP_AUTH_SEARCH, "out of memory");
		goto out;
	}
	for (LDAPMessage *e = ldap_first_entry(ld, res); e && out->n_groups < (size_t)n; e = ldap_next_entry(ld, e)) {
		char *dn = ldap_get_dn(ld, e);
		bool ok = dn && strlen(dn) <= LDAP_TEXT_DN_MAX && ldap_text_dn_normalize(dn, strlen(dn), norm) > 0;
		ldap_memfree(dn);
		if (!ok)
			continue; /* a DN we cannot compare cannot match a mapping */
		if (!(out->groups[out->n_groups] = strdup(norm))) {
			cls = set_err(out->message, sizeof(out->message), LDAP_AUTH_SEARCH, "out of memory");
			goto out;
		}
		out->n_groups++;
	}
out:
	ldap_msgfree(res);
	return cls;
}

static enum ldap_auth_class check_cfg(const struct ldap_domain_cfg *d, char *msg, size_t msglen)
{
	if (!d || d->n_uris == 0 || d->n_uris > LDAP_AUTH_URIS_MAX || !d->ca_pem || !d->ca_pem[0] || !d->base_dn ||
	    !d->base_dn[0] || !d->upn_suffix || !d->upn_suffix[0] || d->timeout_ms < 100 || d->timeout_ms > 60000)
		return set_err(msg, msglen, LDAP_AUTH_CONFIG, "incomplete domain settings");
	for (size_t i = 0; i < d->n_uris; i++)
		if (!d->uris[i] || strlen(d->uris[i]) >= LDAP_AUTH_URI_MAX)
			return set_err(msg, msglen, LDAP_AUTH_CONFIG, "invalid URI");
	return LDAP_AUTH_OK;
}

int ldap_auth_login(const struct ldap_domain_cfg *d, const char *user, const char *password,
		    struct ldap_auth_result *out)
{
	char cafile[64] = "", upn[LDAP_TEXT_USER_MAX + LDAP_TEXT_DOMAIN_MAX + 2];
	char *raw_dn = NULL;
	LDAP *ld = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	out->err = LDAP_AUTH_CONFIG;
	if (!user || !user[0] || strlen(user) > LDAP_TEXT_USER_MAX || !password || !password[0]) {
		/* An empty password would make the simple bind unauthenticated (RFC 4513 section 5.1.2). */
		snprintf(out->message, sizeof(out->message), "empty or oversized user name or password");
		out->err = LDAP_AUTH_BIND;
		return -EACCES;
	}
	if ((out->err = check_cfg(d, out->message, sizeof(out->message))) != LDAP_AUTH_OK)
		return -EINVAL;
	if (strlen(d->upn_suffix) > LDAP_TEXT_DOMAIN_MAX) {
		out->err = set_err(out->message, sizeof(out->message), LDAP_AUTH_CONFIG, "UPN suffix too long");
		return -EINVAL;
	}
	snprintf(upn, sizeof(upn), "%s@%s", user, d->upn_suffix);
	if (!(raw_dn = malloc(LDAP_TEXT_DN_MAX + 1)) || write_ca_file(d->ca_pem, cafile) != 0) {
		cafile[0] = '\0';
		out->err = set_err(out->message, sizeof(out->message), LDAP_AUTH_CONFIG, "cannot write the CA file");
		rc = -EIO;
		goto out;
	}
	for (size_t i = 0; i < d->n_uris; i++) {
		bool transport;
		snprintf(out->uri, sizeof(out->uri), "%s", d->uris[i]);
		out->err = open_uri(d, d->uris[i], cafile, &ld, out->message, sizeof(out->message));
		if (out->err != LDAP_AUTH_OK)
			continue; /* failover: the next server */
		out->err = do_bind(ld, upn, password, &transport, out->message, sizeof(out->message));
		if (out->err == LDAP_AUTH_OK || !transport)
			break;
		ldap_unbind_ext_s(ld, NULL, NULL);
		ld = NULL;
	}
	if (out->err != LDAP_AUTH_OK) {
		rc = out->err == LDAP_AUTH_BIND || out->err == LDAP_AUTH_DISABLED ? -EACCES
		     : out->err == LDAP_AUTH_CONFIG				  ? -EINVAL
										  : -EIO;
		goto out;
	}
	if ((out->err = find_user(ld, d, user, out, raw_dn)) != LDAP_AUTH_OK ||
	    (out->err = find_groups(ld, d, raw_dn, out)) != LDAP_AUTH_OK) {
		rc = out->err == LDAP_AUTH_DISABLED ? -EACCES : -EIO;
		goto out;
	}
	out->message[0] = '\0';
	rc = 0;
out:
	if (ld)
		ldap_unbind_ext_s(ld, NULL, NULL);
	if (cafile[0])
		unlink(cafile);
	free(raw_dn);
	return rc;
}

void ldap_auth_result_free(struct ldap_auth_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_groups; i++)
		free(r->groups[i]);
	free(r->groups);
	r->groups = NULL;
	r->n_groups = 0;
}

/* The search stage of the test: read the base DN's entry. */
static enum ldap_auth_class test_search(LDAP *ld, const struct ldap_domain_cfg *d, char *msg, size_t msglen)
{
	char *attrs[] = { "1.1", NULL }, diag[210];
	struct timeval tv = { d->timeout_ms / 1000, (d->timeout_ms % 1000) * 1000 };
	LDAPMessage *res = NULL;
	int rc = ldap_search_ext_s(ld, d->base_dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL, &tv, 1,
				   &res);
	enum ldap_auth_class cls = LDAP_AUTH_OK;

	if (rc != LDAP_SUCCESS) {
		ldap_diag(ld, diag, sizeof(diag));
		cls = set_err(msg, msglen, LDAP_AUTH_SEARCH, "search of the base DN failed: %s%s%s", ldap_err2string(rc),
			      diag[0] ? ": " : "", diag);
	} else if (ldap_count_entries(ld, res) != 1) {
		cls = set_err(msg, msglen, LDAP_AUTH_SEARCH, "the base DN was not found");
	}
	ldap_msgfree(res);
	return cls;
}

void ldap_auth_test(const struct ldap_domain_cfg *d, const char *user, const char *password,
		    struct ldap_test_report *rep)
{
	char cafile[64] = "", who[LDAP_TEXT_DN_MAX + 1];
	const char *secret = NULL;
	enum ldap_auth_class cfg;

	memset(rep, 0, sizeof(*rep));
	rep->n = 1;
	cfg = check_cfg(d, rep->u[0].message, sizeof(rep->u[0].message));
	if (cfg != LDAP_AUTH_OK || write_ca_file(d->ca_pem, cafile) != 0) {
		rep->u[0].failed = LDAP_AUTH_CONFIG;
		if (cfg == LDAP_AUTH_OK)
			snprintf(rep->u[0].message, sizeof(rep->u[0].message), "cannot write the CA file");
		return;
	}
	who[0] = '\0';
	if (d->bind_dn && d->bind_dn[0] && d->bind_password && d->bind_password[0]) {
		snprintf(who, sizeof(who), "%s", d->bind_dn);
		secret = d->bind_password;
	} else if (user && user[0] && password && password[0] && strlen(user) <= LDAP_TEXT_USER_MAX &&
		   strlen(d->upn_suffix) <= LDAP_TEXT_DOMAIN_MAX) {
		snprintf(who, sizeof(who), "%s@%s", user, d->upn_suffix);
		secret = password;
	}
	rep->n = d->n_uris;
	for (size_t i = 0; i < d->n_uris; i++) {
		struct ldap_test_uri *u = &rep->u[i];
		LDAP *ld = NULL;
		bool transport;

		snprintf(u->uri, sizeof(u->uri), "%s", d->uris[i]);
		u->failed = open_uri(d, d->uris[i], cafile, &ld, u->message, sizeof(u->message));
		if (u->failed == LDAP_AUTH_OK) {
			if (!secret)
				u->bind_skipped = true;
			else if ((u->failed = do_bind(ld, who, secret, &transport, u->message, sizeof(u->message))) ==
				 LDAP_AUTH_OK)
				u->failed = test_search(ld, d, u->message, sizeof(u->message));
		}
		if (ld)
			ldap_unbind_ext_s(ld, NULL, NULL);
	}
	unlink(cafile);
}
