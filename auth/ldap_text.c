#include "auth/ldap_text.h"

#include <errno.h>
#include <string.h>

static const char hexdig[] = "0123456789abcdef";

long ldap_text_filter_escape(const char *in, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	if (!out || outlen == 0)
		return -ENOSPC;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		bool esc = ch == '*' || ch == '(' || ch == ')' || ch == '\\' || ch < 0x20 || ch >= 0x7f;
		size_t need = esc ? 3 : 1;
		if (outlen - o <= need) {
			out[0] = '\0';
			return -ENOSPC;
		}
		if (esc) {
			out[o++] = '\\';
			out[o++] = hexdig[ch >> 4];
			out[o++] = hexdig[ch & 0xf];
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o] = '\0';
	return (long)o;
}

static char ascii_lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

long ldap_text_dn_normalize(const char *in, size_t len, char out[LDAP_TEXT_DN_MAX + 1])
{
	size_t o = 0, keep = 0, i = 0;

	out[0] = '\0';
	while (i < len && in[i] == ' ')
		i++;
	for (; i < len; i++) {
		char ch = in[i];
		if ((unsigned char)ch < 0x20 || ch == 0x7f)
			return -EINVAL;
		if (ch == '\\') {
			/* An escaped character (RFC 4514 section 2.4) is part of the value, spaces included. */
			if (i + 1 >= len || (unsigned char)in[i + 1] < 0x20 || in[i + 1] == 0x7f)
				return -EINVAL;
			if (o + 2 > LDAP_TEXT_DN_MAX)
				return -EINVAL;
			out[o++] = '\\';
			out[o++] = ascii_lower(in[++i]);
			keep = o;
			continue;
		}
		if (ch == ',' || ch == '+' || ch == '=') {
			while (o > keep && out[o - 1] == ' ')
				o--;
			if (o + 1 > LDAP_TEXT_DN_MAX)
				return -EINVAL;
			out[o++] = ch;
			keep = o;
			while (i + 1 < len && in[i + 1] == ' ')
				i++;
			continue;
		}
		if (o + 1 > LDAP_TEXT_DN_MAX)
			return -EINVAL;
		out[o++] = ascii_lower(ch);
		if (ch != ' ')
			keep = o;
	}
	while (o > keep && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return o == 0 ? -EINVAL : (long)o;
}

static bool user_char_ok(unsigned char ch)
{
	return ch >= 0x20 && ch != 0x7f && !strchr("\"/\\[]:;|=,+*?<>@", ch);
}

static bool domain_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
	       ch == '-' || ch == '_';
}

static bool copy_part(const char *s, size_t n, char *out, size_t max, bool (*ok)(char))
{
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!ok(s[i]))
			return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

static bool user_ok(char ch)
{
	return user_char_ok((unsigned char)ch);
}

int ldap_text_login_split(const char *login, char user[LDAP_TEXT_USER_MAX + 1], char domain[LDAP_TEXT_DOMAIN_MAX + 1])
{
	const char *bs = strchr(login, '\\'), *at = strchr(login, '@');

	user[0] = domain[0] = '\0';
	if (!bs && !at)
		return LDAP_LOGIN_LOCAL;
	if (bs && at)
		return -EINVAL;
	if (bs) {
		if (strchr(bs + 1, '\\') || !copy_part(login, (size_t)(bs - login), domain, LDAP_TEXT_DOMAIN_MAX,
						       domain_char_ok) ||
		    !copy_part(bs + 1, strlen(bs + 1), user, LDAP_TEXT_USER_MAX, user_ok))
			goto bad;
		return LDAP_LOGIN_NETBIOS;
	}
	if (strchr(at + 1, '@') || !copy_part(login, (size_t)(at - login), user, LDAP_TEXT_USER_MAX, user_ok) ||
	    !copy_part(at + 1, strlen(at + 1), domain, LDAP_TEXT_DOMAIN_MAX, domain_char_ok))
		goto bad;
	return LDAP_LOGIN_UPN;
bad:
	user[0] = domain[0] = '\0';
	return -EINVAL;
}
