/* libFuzzer target for the text that comes back from an LDAP server or in a login name: DN normalisation (group
 * and user DNs from search results), the RFC 4515 filter escaper (a user DN goes back into a filter) and login
 * splitting. Checks the invariants, not just the absence of crashes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/ldap_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char norm[LDAP_TEXT_DN_MAX + 1], again[LDAP_TEXT_DN_MAX + 1], user[LDAP_TEXT_USER_MAX + 1];
	char domain[LDAP_TEXT_DOMAIN_MAX + 1], *esc, *login;
	size_t esclen = size * 3 + 1;
	long n, m;

	n = ldap_text_dn_normalize(in, size, norm);
	if (n >= 0) {
		/* normalising is idempotent and bounded */
		if ((size_t)n != strlen(norm) || n > LDAP_TEXT_DN_MAX)
			abort();
		m = ldap_text_dn_normalize(norm, (size_t)n, again);
		if (m != n || strcmp(norm, again) != 0)
			abort();
	}
	esc = malloc(esclen);
	if (!esc)
		return 0;
	n = ldap_text_filter_escape(in, size, esc, esclen);
	if (n < 0 || (size_t)n != strlen(esc))
		abort();
	/* nothing that could end or open a filter component survives */
	for (long i = 0; i < n; i++)
		if (esc[i] == '(' || esc[i] == ')' || esc[i] == '*' || (unsigned char)esc[i] < 0x20 ||
		    (unsigned char)esc[i] >= 0x7f || (esc[i] == '\\' && (i + 2 >= n || !hex(esc[i + 1]) || !hex(esc[i + 2]))))
			abort();
	/* a buffer one byte short fails instead of truncating */
	if (n > 0 && ldap_text_filter_escape(in, size, esc, (size_t)n) >= 0)
		abort();
	free(esc);
	login = malloc(size + 1);
	if (!login)
		return 0;
	memcpy(login, data, size);
	login[size] = '\0';
	if (ldap_text_login_split(login, user, domain) > 0 &&
	    (!user[0] || !domain[0] || strpbrk(user, "\"/\\[]:;|=,+*?<>@") || strlen(user) > LDAP_TEXT_USER_MAX))
		abort();
	free(login);
	return 0;
}
