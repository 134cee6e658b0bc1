/* Active Directory logins over LDAP (OpenLDAP's libldap). Every call blocks on the network for up to a few
 * times the domain's timeout: run it on a worker thread, never on an event loop.
 *
 * A login binds as the user (simple bind with the UPN user@upn_suffix) over TLS only (ldaps:// or ldap:// with
 * StartTLS), verifying the server certificate against the domain's CA PEM and nothing else; it then finds the
 * user's entry (sAMAccountName) and every group the user is in, nested groups included (the in-chain matching
 * rule 1.2.840.113556.1.4.1941). The URIs are tried in order: a server that cannot be reached or fails TLS
 * hands over to the next one; a server's answer to the bind is final. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "auth/ldap_text.h"

#define LDAP_AUTH_URIS_MAX 8
#define LDAP_AUTH_URI_MAX 256
#define LDAP_AUTH_GROUPS_MAX 1000 /* a user in more groups than this is refused (search error) */

struct ldap_domain_cfg {
	const char *name;       /* DNS name of the domain, e.g. "otw.test" */
	const char *netbios;    /* "OTW" */
	const char *upn_suffix; /* "otw.test": users bind as user@upn_suffix */
	const char *uris[LDAP_AUTH_URIS_MAX];
	size_t n_uris;
	bool start_tls;         /* required for ldap:// URIs; plain LDAP binds are refused */
	const char *ca_pem;     /* the only trusted CA(s), PEM */
	const char *base_dn;
	const char *bind_dn;    /* optional service account (used by the connection test only); NULL for none */
	const char *bind_password;
	int timeout_ms;         /* per network operation */
};

/* Why a call failed, in stage order. */
enum ldap_auth_class {
	LDAP_AUTH_OK = 0,
	LDAP_AUTH_CONFIG,          /* the settings are unusable (bad URI, unreadable CA PEM, plain LDAP...) */
	LDAP_AUTH_DNS,             /* the host name does not resolve */
	LDAP_AUTH_TCP,             /* no TCP connection (refused, unreachable, timeout) */
	LDAP_AUTH_TLS_CERTIFICATE, /* TLS handshake or certificate verification failed */
	LDAP_AUTH_BIND,            /* the bind was refused: wrong password, unknown user, empty password */
	LDAP_AUTH_DISABLED,        /* the account is disabled, locked or expired */
	LDAP_AUTH_SEARCH,          /* the user's entry or groups could not be read */
};

/* True when uri parses as ldap://host[:port] or ldaps://host[:port] (no DN, attributes or filter). */
bool ldap_auth_uri_ok(const char *uri);

/* "ok", "config", "dns", "tcp", "tls_certificate", "bind", "disabled", "search". */
const char *ldap_auth_class_name(enum ldap_auth_class c);

struct ldap_auth_result {
	enum ldap_auth_class err;
	char message[256];                   /* what failed, for logs and admins; never holds the password */
	char uri[LDAP_AUTH_URI_MAX];         /* the server that answered (or the last one tried) */
	char user_dn[LDAP_TEXT_DN_MAX + 1];  /* normalised (ldap_text_dn_normalize) */
	char **groups;                       /* normalised group DNs, nested groups included */
	size_t n_groups;
};

/* Logs `user` (the account name, without domain) in with `password`. Returns 0 when the user bound, was found
 * enabled, and out->groups holds their groups; else -EACCES (bad credentials, disabled), -EIO (network, TLS,
 * search) or -EINVAL (settings, empty user or password) with out->err and out->message set. An empty password
 * is refused before any network traffic (a simple bind without one is an unauthenticated bind). Always call
 * ldap_auth_result_free afterwards. */
int ldap_auth_login(const struct ldap_domain_cfg *d, const char *user, const char *password,
		    struct ldap_auth_result *out) __attribute__((warn_unused_result));
void ldap_auth_result_free(struct ldap_auth_result *r);

/* The connection test: for each URI, the stages dns, tcp, tls, bind, search in order; `failed` is the class of
 * the first failing stage (LDAP_AUTH_OK when all passed). The bind uses the service account when the domain has
 * one, else user/password when given; with neither, bind and search are skipped (bind_skipped). */
struct ldap_test_uri {
	char uri[LDAP_AUTH_URI_MAX];
	enum ldap_auth_class failed;
	bool bind_skipped;
	char message[256];
};
struct ldap_test_report {
	size_t n;
	struct ldap_test_uri u[LDAP_AUTH_URIS_MAX];
};
void ldap_auth_test(const struct ldap_domain_cfg *d, const char *user, const char *password,
		    struct ldap_test_report *rep);
