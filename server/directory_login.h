/* Directory (Active Directory) logins for the console: from a login name and password to a users row.
 * Blocks on the network (LDAP): worker threads only. */
#pragma once
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* True when `login` names a directory account (user@domain or DOMAIN\user); such names never log in locally. */
bool directory_login_is_directory_name(const char *login);

/* Logs a directory user in. Splits `login` (user@domain matches a domain's name or UPN suffix, DOMAIN\user its
 * NetBIOS name), loads that enabled domain from ldap_domains, binds as the user (ldap_auth_login), maps the
 * user's groups (nested included) through ad_group_mappings: the highest role of the mapped groups (admin >
 * analyst > read_only) and the union of their access groups; a user in no mapped group is refused. Then, in one
 * transaction, upserts the users row (username "user@upn_suffix" in lowercase, source 'ad', no password hash),
 * replaces its user_access_groups and writes an audit row.
 * Returns 0 with username_out and role_out set; -EACCES when the login is refused for any reason a client must
 * not learn (unknown domain, bad credentials, disabled, no mapped group, a local account of that name), with the
 * real reason in err for the server log; -EHOSTUNREACH when the domain's directory could not be used before it
 * judged the password (no server resolved or reachable, TLS or certificate failure, unusable settings: err says
 * which), which a user can do nothing about; -EIO on a database error. A failure after a successful bind (entry
 * or groups unreadable) is -EACCES: telling it apart would confirm the password. */
int directory_login(PGconn *db, const char *login, const char *password, char username_out[257], char role_out[32],
		    char *err, size_t errlen) __attribute__((warn_unused_result));

/* Fills a struct ldap_domain_cfg from one ldap_domains row selected with DIRECTORY_DOMAIN_COLUMNS; the
 * strings point into res and uris_json (which the caller frees with json_decref after use). */
#define DIRECTORY_DOMAIN_COLUMNS                                                                                  \
	"name, netbios, upn_suffix, array_to_json(uris)::text, start_tls, ca_pem, base_dn, bind_dn, bind_password, " \
	"timeout_ms"
struct ldap_domain_cfg;
int directory_domain_from_row(PGresult *res, int row, struct ldap_domain_cfg *d, json_t **uris_json)
	__attribute__((warn_unused_result));
