/* Text helpers for directory logins that touch no network: RFC 4515 filter escaping, DN normalisation and the
 * splitting of login names. Everything here is pure, so the unit tests and the fuzz target call it directly.
 * DNs and values handed to these functions may come from an LDAP server and are untrusted. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define LDAP_TEXT_DN_MAX 1024     /* longest DN kept (bytes, without NUL) */
#define LDAP_TEXT_USER_MAX 64     /* longest user part of a login name (sAMAccountName is at most 20) */
#define LDAP_TEXT_DOMAIN_MAX 253  /* longest domain part (a DNS name) */

/* Escapes `len` bytes for use as an assertion value in an LDAP search filter (RFC 4515 section 3): '*', '(',
 * ')', '\\', NUL, and every byte outside printable ASCII become \xx. Writes a NUL-terminated string into out
 * (at most 3*len+1 bytes are needed). Returns the escaped length, or -ENOSPC when out is too small. */
long ldap_text_filter_escape(const char *in, size_t len, char *out, size_t outlen)
	__attribute__((warn_unused_result));

/* Normalises a DN so that two spellings of one DN compare equal with strcmp: ASCII lowercase, no spaces around
 * the unescaped separators ',', '+' and '=' nor at either end; escapes are kept (hex digits lowercased).
 * Rejects (returns -EINVAL) empty input, control characters, a dangling '\\' and output longer than
 * LDAP_TEXT_DN_MAX; out must hold LDAP_TEXT_DN_MAX + 1 bytes. Returns the normalised length. */
long ldap_text_dn_normalize(const char *in, size_t len, char out[LDAP_TEXT_DN_MAX + 1])
	__attribute__((warn_unused_result));

enum ldap_login_form {
	LDAP_LOGIN_LOCAL,   /* a plain name: local accounts */
	LDAP_LOGIN_UPN,     /* user@domain */
	LDAP_LOGIN_NETBIOS, /* DOMAIN\user */
};

/* Splits a login name. A name with neither '@' nor '\\' is LDAP_LOGIN_LOCAL (user and domain are left empty).
 * A directory name must have exactly one separator, a non-empty user part of at most LDAP_TEXT_USER_MAX bytes
 * without the characters AD forbids in account names ("/\[]:;|=,+*?<>@ and controls) and a domain part of
 * letters, digits, '.', '-' and '_'. Returns the form, or -EINVAL for a malformed directory name. */
int ldap_text_login_split(const char *login, char user[LDAP_TEXT_USER_MAX + 1],
			  char domain[LDAP_TEXT_DOMAIN_MAX + 1]) __attribute__((warn_unused_result));
