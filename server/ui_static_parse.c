/* The web UI's request parsing (server/ui_static.h): strict path decoding, the UI/API split, file extensions,
 * Accept-Encoding and If-None-Match. Pure functions, no I/O and no state: the unit tests and fuzz_ui_path call
 * them directly. */
#include "server/ui_static.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/hex.h"

/* ---- Request parsing ---------------------------------------------------------------------------- */

/* Valid UTF-8 (RFC 3629): no overlong forms (so no encoded '.' or '/' in disguise), no surrogates, <= U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t need;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i - 1 < need)
			return false;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

/* Byte allowed in a decoded path segment, and so in a file name the table keeps. */
static bool path_byte_ok(unsigned char c)
{
	return c >= 0x20 && c != 0x7f && c != '\\';
}

int ui_static_decode_path(const char *raw, char *out, size_t outlen)
{
	size_t rl, o = 0, seg;

	if (!raw || !out || outlen == 0)
		return -EINVAL;
	out[0] = '\0';
	rl = strnlen(raw, UI_STATIC_RAW_PATH_MAX + 1);
	if (rl == 0 || rl > UI_STATIC_RAW_PATH_MAX || raw[0] != '/')
		return -EINVAL;
	if (outlen > UI_STATIC_PATH_MAX)
		outlen = UI_STATIC_PATH_MAX;
	for (size_t i = 0; i < rl; i++) {
		unsigned char c = (unsigned char)raw[i];
		if (c == '%') {
			int hi, lo;
			if (rl - i < 3 || (hi = hex_value(raw[i + 1])) < 0 || (lo = hex_value(raw[i + 2])) < 0)
				goto bad;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
			if (c == '/') /* an encoded slash would name a different segment split than the client saw */
				goto bad;
		}
		if (c != '/' && !path_byte_ok(c))
			goto bad;
		if (o + 1 >= outlen)
			goto bad;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (!utf8_valid((const unsigned char *)out, o))
		goto bad;
	/* Segments: none empty except a trailing one ("/", "/devices/"), none "." or "..". */
	for (seg = 1; seg <= o;) {
		size_t end = seg;
		while (end < o && out[end] != '/')
			end++;
		if (end == seg && end < o)
			goto bad;
		if ((end - seg == 1 && out[seg] == '.') || (end - seg == 2 && out[seg] == '.' && out[seg + 1] == '.'))
			goto bad;
		seg = end + 1;
	}
	return 0;
bad:
	out[0] = '\0';
	return -EINVAL;
}

bool ui_static_is_ui_path(const char *p)
{
	static const char *const api[] = { "/api", "/external", "/metrics" };

	if (!p)
		return false;
	for (size_t i = 0; i < sizeof(api) / sizeof(api[0]); i++) {
		size_t n = strlen(api[i]);
		if (strncmp(p, api[i], n) == 0 && (p[n] == '\0' || p[n] == '/'))
			return false;
	}
	return true;
}

bool ui_static_has_extension(const char *path)
{
	const char *seg = strrchr(path, '/'), *dot;
	bool letter = false;
	size_t n;

	seg = seg ? seg + 1 : path;
	dot = strrchr(seg, '.');
	if (!dot || dot == seg)
		return false;
	n = strlen(dot + 1);
	if (n == 0 || n > 12)
		return false;
	for (const char *e = dot + 1; *e; e++) {
		unsigned char c = (unsigned char)*e;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		if (!alpha && !(c >= '0' && c <= '9'))
			return false;
		letter |= alpha;
	}
	return letter;
}

void ui_static_accept_init(struct ui_accept *a)
{
	a->gzip_q = -1;
	a->star_q = -1;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths; -1 if malformed. */
static int parse_qvalue(const char *s, size_t n)
{
	int q, scale = 100;

	if (n == 0 || n > 5 || (s[0] != '0' && s[0] != '1'))
		return -1;
	q = (s[0] - '0') * 1000;
	if (n == 1)
		return q;
	if (s[1] != '.')
		return -1;
	for (size_t i = 2; i < n; i++, scale /= 10) {
		if (s[i] < '0' || s[i] > '9' || (s[0] == '1' && s[i] != '0'))
			return -1;
		q += (s[i] - '0') * scale;
	}
	return q;
}

static void keep_min(int *slot, int q)
{
	/* Named twice: the lower weight wins, so a client that refuses a coding anywhere does not get it. */
	if (*slot < 0 || q < *slot)
		*slot = q;
}

/* codings [ OWS ";" OWS "q=" qvalue ] with OWS around; anything else ignores the element. */
static void accept_element(struct ui_accept *a, const char *s, size_t n)
{
	size_t i = 0, tok, tlen;
	int q = 1000;

	while (i < n && is_ows(s[i]))
		i++;
	tok = i;
	while (i < n && is_tchar(s[i]))
		i++;
	tlen = i - tok;
	if (tlen == 0)
		return;
	while (i < n && is_ows(s[i]))
		i++;
	if (i < n && s[i] == ';') {
		size_t v;
		i++;
		while (i < n && is_ows(s[i]))
			i++;
		if (n - i < 2 || (s[i] != 'q' && s[i] != 'Q') || s[i + 1] != '=')
			return;
		i += 2;
		v = i;
		while (i < n && !is_ows(s[i]))
			i++;
		if ((q = parse_qvalue(s + v, i - v)) < 0)
			return;
		while (i < n && is_ows(s[i]))
			i++;
	}
	if (i != n)
		return;
	if ((tlen == 4 && strncasecmp(s + tok, "gzip", 4) == 0) || (tlen == 6 && strncasecmp(s + tok, "x-gzip", 6) == 0))
		keep_min(&a->gzip_q, q);
	else if (tlen == 1 && s[tok] == '*')
		keep_min(&a->star_q, q);
}

void ui_static_accept_parse(struct ui_accept *a, const char *value)
{
	const char *p = value;

	while (p) {
		const char *comma = strchr(p, ',');
		accept_element(a, p, comma ? (size_t)(comma - p) : strlen(p));
		p = comma ? comma + 1 : NULL;
	}
}

bool ui_static_accept_gzip(const struct ui_accept *a)
{
	return a->gzip_q >= 0 ? a->gzip_q > 0 : a->star_q > 0;
}

bool ui_static_etag_match(const char *inm, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = inm;

	if (!p)
		return false;
	while (is_ows(*p))
		p++;
	if (*p == '*') {
		for (p++; is_ows(*p); p++)
			;
		return *p == '\0';
	}
	for (;;) {
		const char *close;
		while (is_ows(*p) || *p == ',')
			p++;
		if (!*p)
			return false;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"' || !(close = strchr(p + 1, '"')))
			return false;
		if ((size_t)(close + 1 - p) == elen && memcmp(p, etag, elen) == 0)
			return true;
		for (p = close + 1; is_ows(*p); p++)
			;
		if (*p && *p != ',')
			return false;
	}
}

bool ui_static_name_ok(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (!path_byte_ok((unsigned char)name[i]))
			return false;
	return utf8_valid((const unsigned char *)name, n);
}
