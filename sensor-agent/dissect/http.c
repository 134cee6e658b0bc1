/* HTTP/1.x (RFC 9112) on TCP 80: only the first request and the first final response of a flow are read.
 *
 * Framing (pdu_len): a PDU is a header block, from the request or status line through the empty line that
 * ends it ("\r\n\r\n"; a bare "\n\n" is accepted as RFC 9112 2.2 allows). A request whose Content-Length body
 * fits under the cap is framed with its body, so that a small POST does not knock the direction out of sync;
 * a bigger or chunked body is not followed (parse() then ends the flow). A stream that does not start with a
 * method token or "HTTP/1." is not HTTP.
 *
 * Facts: the request method is the function code; User-Agent is a fact about the client; Server a fact about
 * the server; every request's Host (without its port) goes to the indicator matcher (proto_name). A request/response line says who the client is, so the roles are set from it. After the first
 * final (non-1xx) response the flow is done: bodies follow and are not tracked. */
#include <string.h>
#include <strings.h>

#include "common/cursor.h"
#include "sensor-agent/dissect/proto.h"

#define HTTP_MAX_PDU (16u * 1024u)
#define HTTP_MAX_METHOD 20 /* longest method token accepted ("VERSION-CONTROL" is 15) */

#define HTTP_REQ_SEEN 0x01 /* the first request was reported */

struct http_state {
	uint8_t flags;
};

struct http_method {
	const char *token; /* on the wire */
	const char *name;  /* function name */
	uint8_t len;
	uint8_t code;
};

/* Function codes for methods; anything else is 0 "other". */
static const struct http_method http_methods[] = {
	{ "GET", "get", 3, 1 }, { "POST", "post", 4, 2 }, { "PUT", "put", 3, 3 },
	{ "DELETE", "delete", 6, 4 }, { "HEAD", "head", 4, 5 }, { "OPTIONS", "options", 7, 6 },
	{ "PATCH", "patch", 5, 7 }, { "CONNECT", "connect", 7, 8 },
};

static bool is_method_char(uint8_t ch)
{
	return (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_';
}

static bool prefix_matches(const uint8_t *p, size_t len, const char *s, size_t n)
{
	return memcmp(p, s, len < n ? len : n) == 0;
}

/* Classifies the start line as far as len bytes tell: 1 a request (method token then SP), 2 a response
 * ("HTTP/1."), 0 not decided yet, -1 not HTTP. *mlen gets the method length. */
static int http_start_kind(const uint8_t *p, size_t len, size_t *mlen)
{
	size_t i;

	if (len >= 1 && p[0] == 'H' && prefix_matches(p, len, "HTTP/1.", 7))
		return len >= 7 ? 2 : 0;
	for (i = 0; i < len && i <= HTTP_MAX_METHOD; i++) {
		if (p[i] == ' ') {
			*mlen = i;
			return i > 0 ? 1 : -1;
		}
		if (!is_method_char(p[i]))
			return -1;
	}
	return i > HTTP_MAX_METHOD ? -1 : 0;
}

/* Checks a complete start line (without its line ending): "METHOD SP target SP HTTP/1.d" or
 * "HTTP/1.d SP 3DIGIT [SP reason]". */
static bool http_start_line_ok(const uint8_t *p, size_t n, int kind, size_t mlen)
{
	if (kind == 2)
		return n >= 12 && p[7] >= '0' && p[7] <= '9' && p[8] == ' ' && p[9] >= '1' && p[9] <= '5' &&
		       p[10] >= '0' && p[10] <= '9' && p[11] >= '0' && p[11] <= '9' && (n == 12 || p[12] == ' ');
	/* request: the version is the last 8 bytes, preceded by a space that follows a non-empty target */
	return n >= mlen + 1 + 1 + 9 && memcmp(p + n - 9, " HTTP/1.", 8) == 0 && p[n - 1] >= '0' &&
	       p[n - 1] <= '9' && p[mlen + 1] != ' ';
}

/* Offset just past the empty line ending the header block within p[0..len), or 0 when not there yet. */
static size_t http_header_end(const uint8_t *p, size_t len)
{
	size_t off = 0;

	while (off < len) {
		const uint8_t *nl = memchr(p + off, '\n', len - off);
		size_t i;

		if (!nl)
			return 0;
		i = (size_t)(nl - p) + 1;
		if (i < len && p[i] == '\n')
			return i + 1;
		if (i + 1 < len && p[i] == '\r' && p[i + 1] == '\n')
			return i + 2;
		off = i;
	}
	return 0;
}

struct http_field {
	const uint8_t *name, *value;
	size_t name_len, value_len;
};

/* Steps to the next header field of a complete header block, the cursor starting after the start line: its
 * name and its value trimmed of surrounding whitespace. False at the empty line ending the block. A line
 * without a colon sets *bad and yields an empty name, as does an obsolete continuation line (RFC 9112 5.2)
 * without setting *bad. */
static bool http_next_field(struct cursor *c, struct http_field *f, bool *bad)
{
	const uint8_t *line = cursor_ptr(c), *nl, *colon;
	size_t n;

	nl = memchr(line, '\n', cursor_remaining(c));
	if (!nl)
		return false;
	n = (size_t)(nl - line);
	cursor_skip(c, n + 1);
	if (n && line[n - 1] == '\r')
		n--;
	if (n == 0)
		return false; /* the empty line: end of the block */
	f->name_len = 0;
	if (line[0] == ' ' || line[0] == '\t')
		return true;
	colon = memchr(line, ':', n);
	if (!colon || colon == line) {
		*bad = true;
		return true;
	}
	f->name = line;
	f->name_len = (size_t)(colon - line);
	f->value = colon + 1;
	f->value_len = n - f->name_len - 1;
	while (f->value_len && (f->value[0] == ' ' || f->value[0] == '\t')) {
		f->value++;
		f->value_len--;
	}
	while (f->value_len && (f->value[f->value_len - 1] == ' ' || f->value[f->value_len - 1] == '\t'))
		f->value_len--;
	return true;
}

static bool field_is(const struct http_field *f, const char *name)
{
	size_t n = strlen(name);
	return f->name_len == n && strncasecmp((const char *)f->name, name, n) == 0;
}

/* Content-Length as a number; -1 when absent, -2 when not a valid decimal (or absurdly large). */
static long long http_content_length(const struct http_field *f)
{
	long long v = 0;

	if (f->value_len == 0 || f->value_len > 12)
		return -2;
	for (size_t i = 0; i < f->value_len; i++) {
		if (f->value[i] < '0' || f->value[i] > '9')
			return -2;
		v = v * 10 + (f->value[i] - '0');
	}
	return v;
}

/* The body a request announces: -1 none, -2 one that cannot be framed here (chunked, bad length), else its
 * Content-Length. */
static long long http_request_body(const uint8_t *p, size_t hdr_len)
{
	struct cursor c;
	struct http_field f;
	bool bad = false;
	long long cl = -1;
	const uint8_t *nl = memchr(p, '\n', hdr_len);

	if (!nl)
		return -2;
	cursor_init(&c, p, hdr_len);
	cursor_skip(&c, (size_t)(nl - p) + 1);
	while (http_next_field(&c, &f, &bad)) {
		if (f.name_len == 0)
			continue;
		if (field_is(&f, "Transfer-Encoding"))
			return -2;
		if (field_is(&f, "Content-Length"))
			cl = http_content_length(&f);
	}
	return cl;
}

static long http_pdu_len(const uint8_t *p, size_t len)
{
	size_t mlen = 0, scan = len < HTTP_MAX_PDU ? len : HTTP_MAX_PDU, hdr, line;
	int kind = http_start_kind(p, len, &mlen);
	const uint8_t *nl;
	long long body;

	if (kind <= 0)
		return kind;
	nl = memchr(p, '\n', scan);
	if (!nl)
		return len >= HTTP_MAX_PDU ? (long)HTTP_MAX_PDU + 1 : 0;
	line = (size_t)(nl - p);
	if (line && p[line - 1] == '\r')
		line--;
	if (!http_start_line_ok(p, line, kind, mlen))
		return -1;
	hdr = http_header_end(p, scan);
	if (hdr == 0)
		return len >= HTTP_MAX_PDU ? (long)HTTP_MAX_PDU + 1 : 0;
	if (kind == 1) {
		body = http_request_body(p, hdr);
		if (body > 0 && (unsigned long long)body <= HTTP_MAX_PDU - hdr)
			return (long)(hdr + (size_t)body);
	}
	return (long)hdr;
}

static void http_function(struct proto_ctx *ctx, const uint8_t *m, size_t mlen)
{
	for (size_t i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++) {
		if (http_methods[i].len == mlen && memcmp(http_methods[i].token, m, mlen) == 0) {
			proto_function(ctx, http_methods[i].code, http_methods[i].name);
			return;
		}
	}
	proto_function(ctx, 0, "other");
}

/* Host (RFC 9110 7.2): uri-host [":" port]; an IPv6 literal keeps its brackets. */
static void http_host(struct proto_ctx *ctx, const uint8_t *v, size_t n)
{
	const uint8_t *end = v[0] == '[' ? memchr(v, ']', n) : NULL;
	const uint8_t *colon = memchr(end ? end : v, ':', end ? n - (size_t)(end - v) : n);

	if (colon)
		n = (size_t)(colon - v);
	if (n)
		proto_name(ctx, PROTO_NAME_HTTP_HOST, v, n);
}

static enum proto_result http_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	struct http_state *st = state;
	size_t mlen = 0, hdr, line;
	int kind = http_start_kind(p, len, &mlen);
	const uint8_t *nl;
	struct cursor c;
	struct http_field f;
	bool bad = false, first_request, chunked = false;
	long long cl = -1;

	if (kind <= 0 || !(nl = memchr(p, '\n', len)))
		return PROTO_NOT_MINE;
	line = (size_t)(nl - p);
	if (line && p[line - 1] == '\r')
		line--;
	if (!http_start_line_ok(p, line, kind, mlen))
		return PROTO_NOT_MINE;
	hdr = http_header_end(p, len);
	if (hdr == 0) {
		proto_violation(ctx, "truncated", "header block without its empty line");
		return PROTO_MALFORMED;
	}
	first_request = kind == 1 && !(st->flags & HTTP_REQ_SEEN);
	ctx->src_role = kind == 1 ? PROTO_ROLE_CLIENT : PROTO_ROLE_SERVER;
	ctx->dst_role = kind == 1 ? PROTO_ROLE_SERVER : PROTO_ROLE_CLIENT;
	if (kind == 1)
		http_function(ctx, p, mlen);

	cursor_init(&c, p, hdr);
	cursor_skip(&c, (size_t)(nl - p) + 1);
	while (http_next_field(&c, &f, &bad)) {
		if (f.name_len == 0)
			continue;
		if (kind == 1) {
			if (first_request && f.value_len && field_is(&f, "User-Agent"))
				proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_USER_AGENT, f.value, f.value_len);
			else if (f.value_len && field_is(&f, "Host"))
				http_host(ctx, f.value, f.value_len);
			else if (field_is(&f, "Content-Length") && (cl = http_content_length(&f)) == -2)
				proto_violation(ctx, "bad_content_length", NULL);
			else if (field_is(&f, "Transfer-Encoding"))
				chunked = true;
		} else if (f.value_len && field_is(&f, "Server")) {
			proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_HTTP_SERVER, f.value, f.value_len);
		}
	}
	if (bad)
		proto_violation(ctx, "bad_header", "header line without a colon");

	/* 1xx other than 101 (Switching Protocols) is interim: the final response follows. */
	if (kind == 2)
		return p[9] == '1' && !(p[10] == '0' && p[11] == '1') ? PROTO_OK : PROTO_DONE;
	st->flags |= HTTP_REQ_SEEN;
	/* A body pdu_len did not frame would be read as the next request: stop here rather than lose sync. */
	if (chunked || cl == -2 || (cl > 0 && (unsigned long long)cl > len - hdr))
		return PROTO_DONE;
	return PROTO_OK;
}

const struct dissector dissector_http = {
	.name = "http",
	.state_size = sizeof(struct http_state),
	.pdu_len = http_pdu_len,
	.parse = http_parse,
	.max_pdu = HTTP_MAX_PDU,
};
