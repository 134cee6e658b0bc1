/* opcua: OPC UA binary (UA TCP and UA Secure Conversation, OPC 10000-6 §7.1-7.2) on tcp/4840.
 *
 * Framing is the 8-byte message header: type (HEL, ACK, ERR, RHE, OPN, MSG, CLO), chunk type (F final,
 * C intermediate, A abort) and a little-endian size that includes the header.
 *
 * Reported:
 *  - HEL / RHE: the host part of the endpoint URL (opc.tcp://host:port/path), when it is a name and not an
 *    address: HOSTNAME (first label) and, for a dotted name, FQDN, of the server.
 *  - OPN: function 446 open_secure_channel; the security policy (the URI's text after '#') and, when the
 *    policy is None, the MessageSecurityMode of the request body. For a secured policy the OPN body is
 *    encrypted, and the mode shows in the first MSG: a readable service type id means Sign, anything else
 *    SignAndEncrypt. SECURITY_MODE on the server: "None", or "<mode>/<policy>" ("Sign/Basic256Sha256").
 *  - MSG service requests whose body is readable: the numeric type id (namespace 0) of the request's
 *    DefaultBinary encoding as the function code (ReadRequest 631 "read", WriteRequest 673 "write", ...);
 *    CLO: 452 close_secure_channel. A ServiceFault or an ERR message: exception_response with the status.
 *  - GetEndpoints response (once per flow): the server's ApplicationName as MODEL and ProductUri as
 *    PRODUCT_CODE.
 * Once a channel is known to be encrypted the flow is done (PROTO_DONE): nothing further can be read.
 * Only the first chunk of a multi-chunk message carries the type id (per direction state). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/cursor.h"
#include "sensor-agent/dissect/proto.h"

#define UA_HDR 8
/* 64 KiB: the receive buffer size the common stacks negotiate, and the framework's per-direction buffer. */
#define UA_MAX_CHUNK 65536
#define UA_MAX_URL 4096
#define UA_POLICY_MAX 32

/* MessageSecurityMode enumeration values. */
enum { UA_MODE_NONE = 1, UA_MODE_SIGN = 2, UA_MODE_SIGN_ENCRYPT = 3 };

/* Whether MSG bodies on this flow can be read. */
enum { BODY_UNKNOWN = 0, BODY_PLAIN, BODY_SECURED_PENDING, BODY_ENCRYPTED };

struct ua_state {
	uint8_t more[2];     /* by enum proto_dir: the last MSG chunk was 'C', the next one continues it */
	uint8_t body;        /* BODY_* */
	uint8_t endpoints_done;
	uint8_t policy_len;
	char policy[UA_POLICY_MAX];
};

struct ua_service {
	uint16_t req, resp; /* numeric ids (namespace 0) of the *_Encoding_DefaultBinary nodes */
	const char *name;
};

/* Sorted by req. From the OPC UA NodeIds.csv (OPC 10000-6 annex A). */
static const struct ua_service services[] = {
	{ 422, 425, "find_servers" },
	{ 428, 431, "get_endpoints" },
	{ 437, 440, "register_server" },
	{ 446, 449, "open_secure_channel" },
	{ 452, 455, "close_secure_channel" },
	{ 461, 464, "create_session" },
	{ 467, 470, "activate_session" },
	{ 473, 476, "close_session" },
	{ 479, 482, "cancel" },
	{ 488, 491, "add_nodes" },
	{ 494, 497, "add_references" },
	{ 500, 503, "delete_nodes" },
	{ 506, 509, "delete_references" },
	{ 527, 530, "browse" },
	{ 533, 536, "browse_next" },
	{ 554, 557, "translate_browse_paths_to_node_ids" },
	{ 560, 563, "register_nodes" },
	{ 566, 569, "unregister_nodes" },
	{ 615, 618, "query_first" },
	{ 621, 624, "query_next" },
	{ 631, 634, "read" },
	{ 664, 667, "history_read" },
	{ 673, 676, "write" },
	{ 700, 703, "history_update" },
	{ 712, 715, "call" },
	{ 751, 754, "create_monitored_items" },
	{ 763, 766, "modify_monitored_items" },
	{ 769, 772, "set_monitoring_mode" },
	{ 775, 778, "set_triggering" },
	{ 781, 784, "delete_monitored_items" },
	{ 787, 790, "create_subscription" },
	{ 793, 796, "modify_subscription" },
	{ 799, 802, "set_publishing_mode" },
	{ 826, 829, "publish" },
	{ 832, 835, "republish" },
	{ 841, 844, "transfer_subscriptions" },
	{ 847, 850, "delete_subscriptions" },
	{ 12208, 12209, "find_servers_on_network" },
	{ 12211, 12212, "register_server2" },
};

#define N_SERVICES (sizeof(services) / sizeof(services[0]))
#define UA_SERVICE_FAULT 397
#define UA_GET_ENDPOINTS_RESPONSE 431

static const struct ua_service *service_by_req(uint32_t id)
{
	size_t lo = 0, hi = N_SERVICES;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (services[mid].req == id)
			return &services[mid];
		if (services[mid].req < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool is_response(uint32_t id)
{
	if (id == UA_SERVICE_FAULT)
		return true;
	for (size_t i = 0; i < N_SERVICES; i++)
		if (services[i].resp == id)
			return true;
	return false;
}

/* ---- built-in type decoding (OPC 10000-6 §5.2) ---- */

/* String / ByteString: Int32 length, -1 for null (*s = NULL, *n = 0). */
static bool ua_string(struct cursor *c, const uint8_t **s, size_t *n)
{
	uint32_t v;

	if (!cursor_u32le(c, &v))
		return false;
	if (v == 0xffffffffu) {
		*s = NULL;
		*n = 0;
		return true;
	}
	if (v > 0x7fffffffu || !cursor_bytes(c, v, s))
		return false;
	*n = v;
	return true;
}

static bool ua_skip_string(struct cursor *c)
{
	const uint8_t *s;
	size_t n;

	return ua_string(c, &s, &n);
}

/* NodeId or ExpandedNodeId; *numeric is true for a numeric id (then *ns, *id are set). */
static bool ua_nodeid(struct cursor *c, bool *numeric, uint16_t *ns, uint32_t *id)
{
	uint8_t enc, b;
	uint16_t w;

	*numeric = false;
	if (!cursor_u8(c, &enc))
		return false;
	switch (enc & 0x0f) {
	case 0: /* two-byte */
		if (!cursor_u8(c, &b))
			return false;
		*numeric = true;
		*ns = 0;
		*id = b;
		break;
	case 1: /* four-byte */
		if (!cursor_u8(c, &b) || !cursor_u16le(c, &w))
			return false;
		*numeric = true;
		*ns = b;
		*id = w;
		break;
	case 2:
		if (!cursor_u16le(c, ns) || !cursor_u32le(c, id))
			return false;
		*numeric = true;
		break;
	case 3: /* string */
	case 5: /* opaque */
		if (!cursor_u16le(c, &w) || !ua_skip_string(c))
			return false;
		break;
	case 4: /* guid */
		if (!cursor_u16le(c, &w) || !cursor_skip(c, 16))
			return false;
		break;
	default:
		return false;
	}
	if ((enc & 0x80) && !ua_skip_string(c)) /* namespace URI */
		return false;
	if ((enc & 0x40) && !cursor_skip(c, 4)) /* server index */
		return false;
	return true;
}

static bool ua_extension_object(struct cursor *c)
{
	bool num;
	uint16_t ns;
	uint32_t id;
	uint8_t enc;

	if (!ua_nodeid(c, &num, &ns, &id) || !cursor_u8(c, &enc))
		return false;
	return !(enc & 0x03) || ua_skip_string(c);
}

static bool ua_diagnostic_info(struct cursor *c, unsigned depth)
{
	uint8_t m;

	if (depth > 4 || !cursor_u8(c, &m))
		return false;
	for (unsigned bit = 0; bit < 4; bit++) /* symbolic id, namespace, localized text, locale */
		if ((m & (1u << bit)) && !cursor_skip(c, 4))
			return false;
	if ((m & 0x10) && !ua_skip_string(c)) /* additional info */
		return false;
	if ((m & 0x20) && !cursor_skip(c, 4)) /* inner status code */
		return false;
	return !(m & 0x40) || ua_diagnostic_info(c, depth + 1);
}

static bool ua_skip_string_array(struct cursor *c)
{
	uint32_t n;

	if (!cursor_u32le(c, &n))
		return false;
	if (n == 0xffffffffu)
		return true;
	if (n > cursor_remaining(c) / 4)
		return false;
	while (n--)
		if (!ua_skip_string(c))
			return false;
	return true;
}

static bool ua_request_header(struct cursor *c)
{
	bool num;
	uint16_t ns;
	uint32_t id;

	/* authentication token, timestamp, request handle, return diagnostics, audit entry id, timeout hint,
	 * additional header */
	return ua_nodeid(c, &num, &ns, &id) && cursor_skip(c, 16) && ua_skip_string(c) && cursor_skip(c, 4) &&
	       ua_extension_object(c);
}

/* Reads a ResponseHeader; *status is its ServiceResult. */
static bool ua_response_header(struct cursor *c, uint32_t *status)
{
	return cursor_skip(c, 12) && cursor_u32le(c, status) && ua_diagnostic_info(c, 0) &&
	       ua_skip_string_array(c) && ua_extension_object(c);
}

/* ---- facts ---- */

static bool is_name_char(uint8_t ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
	       ch == '_' || ch == '.';
}

/* opc.tcp://host[:port][/path]: reports host when it is a name (not an IP literal, not localhost). */
static void endpoint_host(struct proto_ctx *ctx, uint8_t target, const uint8_t *u, size_t n)
{
	static const char scheme[] = "://";
	size_t i = 0, h, e, dot = 0;
	bool digits_only = true;

	for (; i + 3 <= n && i < 16; i++)
		if (memcmp(u + i, scheme, 3) == 0)
			break;
	if (i + 3 > n || i >= 16)
		return;
	h = i + 3;
	for (e = h; e < n && u[e] != ':' && u[e] != '/'; e++) {
		if (!is_name_char(u[e]))
			return; /* "[v6]", user info, percent escapes: not a plain host name */
		if (u[e] == '.' && !dot)
			dot = e;
		if (u[e] != '.' && (u[e] < '0' || u[e] > '9'))
			digits_only = false;
	}
	if (e == h || digits_only || u[h] == '.' || u[h] == '-')
		return;
	if (e - h == 9 && strncasecmp((const char *)u + h, "localhost", 9) == 0)
		return;
	if (dot) {
		proto_attr_text(ctx, target, PROTO_ATTR_FQDN, u + h, e - h);
		proto_attr_text(ctx, target, PROTO_ATTR_HOSTNAME, u + h, dot - h);
	} else {
		proto_attr_text(ctx, target, PROTO_ATTR_HOSTNAME, u + h, e - h);
	}
}

static uint8_t server_target(const struct proto_ctx *ctx)
{
	return ctx->dir == PROTO_DIR_TO_SERVER ? PROTO_TARGET_DST : PROTO_TARGET_SRC;
}

static void report_mode(struct ua_state *st, struct proto_ctx *ctx, unsigned mode)
{
	static const char *const names[] = { [UA_MODE_NONE] = "None", [UA_MODE_SIGN] = "Sign",
					     [UA_MODE_SIGN_ENCRYPT] = "SignAndEncrypt" };
	char v[64];
	int n;

	if (mode < UA_MODE_NONE || mode > UA_MODE_SIGN_ENCRYPT)
		return;
	if (!st->policy_len || (mode == UA_MODE_NONE && st->policy_len == 4 && memcmp(st->policy, "None", 4) == 0))
		n = snprintf(v, sizeof(v), "%s", names[mode]);
	else
		n = snprintf(v, sizeof(v), "%s/%.*s", names[mode], (int)st->policy_len, st->policy);
	if (n > 0)
		proto_attr_text(ctx, server_target(ctx), PROTO_ATTR_SECURITY_MODE, v,
				(size_t)n < sizeof(v) ? (size_t)n : sizeof(v) - 1);
}

static void set_policy(struct ua_state *st, const uint8_t *uri, size_t n)
{
	const uint8_t *hash = n ? memchr(uri, '#', n) : NULL;

	if (hash) {
		n -= (size_t)(hash + 1 - uri);
		uri = hash + 1;
	}
	if (n > sizeof(st->policy))
		n = sizeof(st->policy);
	if (n)
		memcpy(st->policy, uri, n);
	st->policy_len = (uint8_t)n;
}

/* First endpoint of a GetEndpoints response: its server's ApplicationName and ProductUri. */
static void get_endpoints_response(struct proto_ctx *ctx, struct cursor *c)
{
	uint32_t status, count;
	const uint8_t *s;
	size_t n;
	uint8_t mask;

	if (!ua_response_header(c, &status) || status != 0 || !cursor_u32le(c, &count) || count == 0 ||
	    count == 0xffffffffu)
		return;
	/* EndpointUrl, then ApplicationDescription: ApplicationUri, ProductUri, ApplicationName (LocalizedText) */
	if (!ua_skip_string(c) || !ua_skip_string(c) || !ua_string(c, &s, &n))
		return;
	if (n)
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_PRODUCT_CODE, s, n);
	if (!cursor_u8(c, &mask) || ((mask & 0x01) && !ua_skip_string(c)))
		return;
	if ((mask & 0x02) && ua_string(c, &s, &n) && n)
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_MODEL, s, n);
}

/* ---- messages ---- */

static enum proto_result hello(struct proto_ctx *ctx, struct cursor *c, bool reverse)
{
	const uint8_t *url;
	size_t n;

	/* HEL: protocol version, receive/send buffer sizes, max message size, max chunk count, endpoint URL.
	 * RHE (the server connected to the client): server URI, endpoint URL. */
	if (reverse ? !ua_skip_string(c) : !cursor_skip(c, 20)) {
		proto_violation(ctx, "truncated", reverse ? "ReverseHello" : "Hello");
		return PROTO_MALFORMED;
	}
	if (!ua_string(c, &url, &n) || n > UA_MAX_URL) {
		proto_violation(ctx, "bad_length", "endpoint URL");
		return PROTO_MALFORMED;
	}
	if (reverse) {
		ctx->src_role = PROTO_ROLE_SERVER;
		ctx->dst_role = PROTO_ROLE_CLIENT;
	}
	if (url)
		endpoint_host(ctx, reverse ? PROTO_TARGET_SRC : PROTO_TARGET_DST, url, n);
	return PROTO_OK;
}

static enum proto_result error_msg(struct proto_ctx *ctx, struct cursor *c)
{
	uint32_t code;
	const uint8_t *r = NULL;
	size_t n = 0;
	char d[96];

	if (!cursor_u32le(c, &code)) {
		proto_violation(ctx, "truncated", "Error message");
		return PROTO_MALFORMED;
	}
	if (!ua_string(c, &r, &n))
		n = 0;
	snprintf(d, sizeof(d), "ERR 0x%08X %.*s", (unsigned)code, (int)(n > 64 ? 64 : n), r ? (const char *)r : "");
	proto_event(ctx, "exception_response", d);
	return PROTO_OK;
}

static enum proto_result open_channel(struct ua_state *st, struct proto_ctx *ctx, struct cursor *c)
{
	const uint8_t *uri;
	size_t n;
	bool num;
	uint16_t ns;
	uint32_t id, mode;

	/* secure channel id, then the asymmetric security header: policy URI, sender certificate, receiver
	 * certificate thumbprint */
	if (!cursor_skip(c, 4) || !ua_string(c, &uri, &n) || !ua_skip_string(c) || !ua_skip_string(c)) {
		proto_violation(ctx, "truncated", "OpenSecureChannel security header");
		return PROTO_MALFORMED;
	}
	if (ctx->dir != PROTO_DIR_TO_SERVER)
		return PROTO_OK;
	proto_function(ctx, 446, "open_secure_channel");
	set_policy(st, uri, n);
	if (!(st->policy_len == 4 && memcmp(st->policy, "None", 4) == 0)) {
		st->body = BODY_SECURED_PENDING;
		return PROTO_OK;
	}
	st->body = BODY_PLAIN;
	/* sequence number, request id, type id, RequestHeader, client protocol version, request type, mode */
	if (cursor_skip(c, 8) && ua_nodeid(c, &num, &ns, &id) && num && ns == 0 && id == 446 &&
	    ua_request_header(c) && cursor_skip(c, 8) && cursor_u32le(c, &mode))
		report_mode(st, ctx, mode);
	else
		report_mode(st, ctx, UA_MODE_NONE);
	return PROTO_OK;
}

static enum proto_result message(struct ua_state *st, struct proto_ctx *ctx, struct cursor *c, uint8_t chunk)
{
	uint8_t *more = &st->more[ctx->dir & 1];
	bool first = !*more, num;
	uint16_t ns;
	uint32_t id, status;
	const struct ua_service *sv = NULL;

	*more = chunk == 'C';
	/* secure channel id, token id (the symmetric security header), sequence number, request id */
	if (!cursor_skip(c, 8)) {
		proto_violation(ctx, "truncated", "MSG security header");
		return PROTO_MALFORMED;
	}
	/* An encrypted channel has nothing more to read: stop inspecting the flow. */
	if (st->body == BODY_ENCRYPTED)
		return PROTO_DONE;
	if (!first || chunk == 'A')
		return PROTO_OK;
	if (!cursor_skip(c, 8) || !ua_nodeid(c, &num, &ns, &id) || !num || ns != 0)
		num = false;
	if (num && ctx->dir == PROTO_DIR_TO_SERVER)
		sv = service_by_req(id);
	if (st->body == BODY_SECURED_PENDING) {
		/* Signed-only bodies are plain text; an encrypted one will not decode to a service id. */
		bool plain = sv || (num && ctx->dir == PROTO_DIR_TO_CLIENT && is_response(id));
		st->body = plain ? BODY_PLAIN : BODY_ENCRYPTED;
		report_mode(st, ctx, plain ? UA_MODE_SIGN : UA_MODE_SIGN_ENCRYPT);
		if (!plain)
			return PROTO_DONE;
	}
	if (ctx->dir == PROTO_DIR_TO_SERVER) {
		if (sv)
			proto_function(ctx, sv->req, sv->name);
		else if (st->body == BODY_PLAIN)
			proto_violation(ctx, "illegal_function", "unknown service request");
		return PROTO_OK;
	}
	if (!num)
		return PROTO_OK;
	if (id == UA_SERVICE_FAULT && ua_response_header(c, &status)) {
		char d[32];
		snprintf(d, sizeof(d), "ServiceFault 0x%08X", (unsigned)status);
		proto_event(ctx, "exception_response", d);
	} else if (id == UA_GET_ENDPOINTS_RESPONSE && !st->endpoints_done) {
		st->endpoints_done = 1;
		get_endpoints_response(ctx, c);
	}
	return PROTO_OK;
}

static bool type_is(const uint8_t *p, const char *t)
{
	return p[0] == (uint8_t)t[0] && p[1] == (uint8_t)t[1] && p[2] == (uint8_t)t[2];
}

static enum proto_result ua_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	struct ua_state local, *st = state;
	struct cursor c;
	const uint8_t *t;
	uint8_t chunk;
	uint32_t size;

	if (!st) {
		memset(&local, 0, sizeof(local));
		st = &local;
	}
	cursor_init(&c, p, len);
	if (!cursor_bytes(&c, 3, &t) || !cursor_u8(&c, &chunk) || !cursor_u32le(&c, &size))
		return PROTO_NOT_MINE;
	if (size != len) {
		proto_violation(ctx, "bad_length", "message size");
		return PROTO_MALFORMED;
	}
	if (chunk != 'F' && chunk != 'C' && chunk != 'A') {
		proto_violation(ctx, "bad_header", "chunk type");
		return PROTO_MALFORMED;
	}
	if (type_is(t, "MSG"))
		return message(st, ctx, &c, chunk);
	if (type_is(t, "OPN"))
		return open_channel(st, ctx, &c);
	if (type_is(t, "CLO")) {
		if (ctx->dir == PROTO_DIR_TO_SERVER)
			proto_function(ctx, 452, "close_secure_channel");
		return PROTO_OK;
	}
	if (type_is(t, "HEL"))
		return hello(ctx, &c, false);
	if (type_is(t, "RHE"))
		return hello(ctx, &c, true);
	if (type_is(t, "ACK"))
		return PROTO_OK;
	if (type_is(t, "ERR"))
		return error_msg(ctx, &c);
	return PROTO_NOT_MINE;
}

static long ua_pdu_len(const uint8_t *p, size_t len)
{
	static const char *const types[] = { "HEL", "ACK", "ERR", "RHE", "OPN", "MSG", "CLO" };
	uint32_t size;
	bool ok = false;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]) && !ok; i++)
		ok = memcmp(p, types[i], len < 3 ? len : 3) == 0;
	if (!ok)
		return -1;
	if (len < 4)
		return 0;
	if (p[3] != 'F' && !((p[3] == 'C' || p[3] == 'A') && (p[0] == 'M' || p[0] == 'O' || p[0] == 'C')))
		return -1;
	if (len < UA_HDR)
		return 0;
	size = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
	if (size < UA_HDR || size > 0x7fffffffu)
		return -1;
	return (long)size;
}

const struct dissector dissector_opcua = {
	.name = "opcua",
	.state_size = sizeof(struct ua_state),
	.pdu_len = ua_pdu_len,
	.parse = ua_parse,
	.max_pdu = UA_MAX_CHUNK,
};
