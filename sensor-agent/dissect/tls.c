/* TLS (RFC 5246, RFC 8446) on TCP 443: the record layer frames the stream; only the plaintext start of the
 * handshake is read.
 *
 * Framing (pdu_len): one record, a 5-byte header (content type 20..23, version 3.x, length up to 2^14 + 2048,
 * the TLSCiphertext bound of RFC 5246 6.2.3) and its fragment. SSLv2-format hellos are not TLS here.
 *
 * Facts: the ClientHello's server_name extension (RFC 6066 3) is a fact about the server; the version the
 * ServerHello selects (its supported_versions extension for TLS 1.3, RFC 8446 4.2.1) is the pair's function
 * code, 0x0300..0x0304 named ssl3_0..tls1_3. A fatal alert is an event. The flow is done after the
 * ServerHello (everything after it is encrypted or of no interest) or at the first application data.
 *
 * A handshake message may span records: the first record's part of a ClientHello is read as far as it goes,
 * and the rest (in the following records) is skipped; a ServerHello or a message header that spans records
 * ends the inspection (rare, and legal). */
#include <string.h>

#include "common/cursor.h"
#include "sensor-agent/dissect/proto.h"

#define TLS_HDR 5
#define TLS_MAX_FRAGMENT (16384u + 2048u)
#define TLS_MAX_PDU (TLS_HDR + TLS_MAX_FRAGMENT)

enum {
	TLS_CT_CHANGE_CIPHER_SPEC = 20,
	TLS_CT_ALERT = 21,
	TLS_CT_HANDSHAKE = 22,
	TLS_CT_APPLICATION_DATA = 23,
};

#define TLS_HS_CLIENT_HELLO 1
#define TLS_HS_SERVER_HELLO 2
#define TLS_EXT_SERVER_NAME 0
#define TLS_EXT_SUPPORTED_VERSIONS 43
#define TLS_SNI_HOST_NAME 0

#define TLS_ALERT_FATAL 2

/* Flags in tls_state.flags. */
#define TLS_CH_SEEN 0x01   /* the first ClientHello was read */
#define TLS_CCS_C2S 0x02   /* ChangeCipherSpec seen to the server: its handshake records are encrypted now */
#define TLS_CCS_S2C 0x04

struct tls_state {
	uint8_t flags;
	uint32_t hs_skip[2]; /* per direction: bytes of a handshake message continuing in the next records */
};

/* HelloRetryRequest is a ServerHello whose random is SHA-256("HelloRetryRequest") (RFC 8446 4.1.3). */
static const uint8_t tls_hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

static const char *const tls_version_names[] = { "ssl3_0", "tls1_0", "tls1_1", "tls1_2", "tls1_3" };

struct tls_alert_name {
	uint8_t code;
	const char *name;
};

/* TLS AlertDescription registry (IANA), for the fatal-alert event's detail. */
static const struct tls_alert_name tls_alerts[] = {
	{ 0, "close_notify" }, { 10, "unexpected_message" }, { 20, "bad_record_mac" },
	{ 21, "decryption_failed" }, { 22, "record_overflow" }, { 30, "decompression_failure" },
	{ 40, "handshake_failure" }, { 41, "no_certificate" }, { 42, "bad_certificate" },
	{ 43, "unsupported_certificate" }, { 44, "certificate_revoked" }, { 45, "certificate_expired" },
	{ 46, "certificate_unknown" }, { 47, "illegal_parameter" }, { 48, "unknown_ca" },
	{ 49, "access_denied" }, { 50, "decode_error" }, { 51, "decrypt_error" },
	{ 60, "export_restriction" }, { 70, "protocol_version" }, { 71, "insufficient_security" },
	{ 80, "internal_error" }, { 86, "inappropriate_fallback" }, { 90, "user_canceled" },
	{ 100, "no_renegotiation" }, { 109, "missing_extension" }, { 110, "unsupported_extension" },
	{ 111, "certificate_unobtainable" }, { 112, "unrecognized_name" },
	{ 113, "bad_certificate_status_response" }, { 114, "bad_certificate_hash_value" },
	{ 115, "unknown_psk_identity" }, { 116, "certificate_required" }, { 120, "no_application_protocol" },
};

static long tls_pdu_len(const uint8_t *p, size_t len)
{
	uint16_t rlen;

	if (p[0] < TLS_CT_CHANGE_CIPHER_SPEC || p[0] > TLS_CT_APPLICATION_DATA)
		return -1;
	if (len >= 2 && p[1] != 3)
		return -1;
	if (len >= 3 && p[2] > 4)
		return -1;
	if (len < TLS_HDR)
		return 0;
	rlen = (uint16_t)(p[3] << 8 | p[4]);
	if (rlen > TLS_MAX_FRAGMENT)
		return -1;
	return TLS_HDR + (long)rlen;
}

/* server_name extension: a list of (type, name); the first host_name is reported. False when malformed. */
static bool tls_sni(struct proto_ctx *ctx, struct cursor *e)
{
	struct cursor list;
	uint16_t list_len, name_len;
	uint8_t type;
	const uint8_t *name;

	if (!cursor_u16be(e, &list_len) || !cursor_sub(e, list_len, &list) || cursor_remaining(e) != 0)
		return false;
	while (cursor_remaining(&list) > 0) {
		if (!cursor_u8(&list, &type) || !cursor_u16be(&list, &name_len) ||
		    !cursor_bytes(&list, name_len, &name))
			return false;
		if (type == TLS_SNI_HOST_NAME && name_len > 0) {
			proto_attr_text(ctx, PROTO_TARGET_DST, PROTO_ATTR_TLS_SNI, name, name_len);
			return true;
		}
	}
	return true;
}

/* ClientHello body (RFC 8446 4.1.2). complete: the whole message is here; otherwise running out of bytes is
 * the record boundary, not an error. False when the message is malformed. */
static bool tls_client_hello(struct proto_ctx *ctx, struct cursor *m, bool complete)
{
	uint8_t sid_len, comp_len;
	uint16_t cs_len, ext_len, type, elen;
	struct cursor exts, e;

	if (!cursor_skip(m, 2 + 32) || !cursor_u8(m, &sid_len) || !cursor_skip(m, sid_len) ||
	    !cursor_u16be(m, &cs_len) || !cursor_skip(m, cs_len) || !cursor_u8(m, &comp_len) ||
	    !cursor_skip(m, comp_len))
		return !complete;
	if (sid_len > 32 || cs_len < 2 || (cs_len & 1) || comp_len < 1)
		return false;
	if (cursor_remaining(m) == 0)
		return true; /* no extensions (or the record ends here) */
	if (!cursor_u16be(m, &ext_len))
		return !complete;
	if (!cursor_sub(m, ext_len, &exts)) {
		if (complete)
			return false;
		cursor_init(&exts, cursor_ptr(m), cursor_remaining(m));
	} else if (complete && cursor_remaining(m) != 0) {
		return false;
	}
	while (cursor_remaining(&exts) > 0) {
		if (!cursor_u16be(&exts, &type) || !cursor_u16be(&exts, &elen) || !cursor_sub(&exts, elen, &e))
			return !complete;
		if (type == TLS_EXT_SERVER_NAME && !tls_sni(ctx, &e))
			return false;
	}
	return true;
}

/* ServerHello body (RFC 8446 4.1.3, RFC 5246 7.4.1.3): reports the selected version. *retry: it was a
 * HelloRetryRequest. False when malformed. */
static bool tls_server_hello(struct proto_ctx *ctx, struct cursor *m, bool *retry)
{
	uint16_t version, ext_len, type, elen, sel;
	const uint8_t *random;
	uint8_t sid_len, comp;
	struct cursor exts, e;

	if (!cursor_u16be(m, &version) || !cursor_bytes(m, 32, &random) || !cursor_u8(m, &sid_len) ||
	    sid_len > 32 || !cursor_skip(m, sid_len) || !cursor_skip(m, 2) || !cursor_u8(m, &comp))
		return false;
	*retry = memcmp(random, tls_hrr_random, 32) == 0;
	if (cursor_remaining(m) > 0) {
		if (!cursor_u16be(m, &ext_len) || !cursor_sub(m, ext_len, &exts) || cursor_remaining(m) != 0)
			return false;
		while (cursor_remaining(&exts) > 0) {
			if (!cursor_u16be(&exts, &type) || !cursor_u16be(&exts, &elen) || !cursor_sub(&exts, elen, &e))
				return false;
			if (type == TLS_EXT_SUPPORTED_VERSIONS) {
				if (elen != 2 || !cursor_u16be(&e, &sel))
					return false;
				version = sel;
			}
		}
	}
	if (*retry)
		return true;
	if (version >= 0x0300 && version <= 0x0304)
		proto_function(ctx, version, tls_version_names[version - 0x0300]);
	else
		proto_violation(ctx, "bad_version", "server selected an unknown version");
	return true;
}

/* The handshake messages of one plaintext handshake record. */
static enum proto_result tls_handshake(struct tls_state *st, struct proto_ctx *ctx, struct cursor *r)
{
	uint32_t *skip = &st->hs_skip[ctx->dir & 1];
	size_t n = *skip < cursor_remaining(r) ? *skip : cursor_remaining(r);
	enum proto_result res = PROTO_OK;

	cursor_skip(r, n);
	*skip -= (uint32_t)n;
	while (cursor_remaining(r) > 0) {
		uint8_t type;
		const uint8_t *l;
		uint32_t mlen;
		struct cursor m;
		bool complete, ok = true, retry = false;

		/* A message header split across records is legal but not worth tracking: stop reading. */
		if (!cursor_u8(r, &type) || !cursor_bytes(r, 3, &l))
			return PROTO_DONE;
		mlen = (uint32_t)l[0] << 16 | (uint32_t)l[1] << 8 | l[2];
		complete = mlen <= cursor_remaining(r);
		n = complete ? mlen : cursor_remaining(r);
		cursor_sub(r, n, &m);
		if (!complete)
			*skip = mlen - (uint32_t)n;

		if (type == TLS_HS_CLIENT_HELLO) {
			ctx->src_role = PROTO_ROLE_CLIENT;
			ctx->dst_role = PROTO_ROLE_SERVER;
			if (!(st->flags & TLS_CH_SEEN)) {
				st->flags |= TLS_CH_SEEN;
				ok = tls_client_hello(ctx, &m, complete);
			}
		} else if (type == TLS_HS_SERVER_HELLO) {
			ctx->src_role = PROTO_ROLE_SERVER;
			ctx->dst_role = PROTO_ROLE_CLIENT;
			if (!complete)
				return PROTO_DONE; /* legal, but its version may be in the part that follows */
			ok = tls_server_hello(ctx, &m, &retry);
			if (ok && !retry)
				res = PROTO_DONE;
		}
		if (!ok) {
			proto_violation(ctx, "bad_handshake",
					type == TLS_HS_CLIENT_HELLO ? "client hello" : "server hello");
			return PROTO_MALFORMED;
		}
	}
	return res;
}

static const char *tls_alert_name(uint8_t code)
{
	for (size_t i = 0; i < sizeof(tls_alerts) / sizeof(tls_alerts[0]); i++)
		if (tls_alerts[i].code == code)
			return tls_alerts[i].name;
	return "unknown";
}

static enum proto_result tls_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	struct tls_state *st = state;
	struct cursor c, r;
	uint8_t type, major, minor, level, desc;
	uint16_t rlen;
	uint8_t ccs = ctx->dir == PROTO_DIR_TO_SERVER ? TLS_CCS_C2S : TLS_CCS_S2C;

	cursor_init(&c, p, len);
	if (!cursor_u8(&c, &type) || !cursor_u8(&c, &major) || !cursor_u8(&c, &minor) || !cursor_u16be(&c, &rlen) ||
	    type < TLS_CT_CHANGE_CIPHER_SPEC || type > TLS_CT_APPLICATION_DATA || major != 3 || minor > 4)
		return PROTO_NOT_MINE;
	if (rlen > TLS_MAX_FRAGMENT || !cursor_sub(&c, rlen, &r) || cursor_remaining(&c) != 0) {
		proto_violation(ctx, "bad_length", "record length");
		return PROTO_MALFORMED;
	}
	switch (type) {
	case TLS_CT_HANDSHAKE:
		if (rlen == 0) {
			proto_violation(ctx, "bad_length", "empty handshake record");
			return PROTO_MALFORMED;
		}
		if (st->flags & ccs)
			return PROTO_OK; /* encrypted Finished / renegotiation */
		return tls_handshake(st, ctx, &r);
	case TLS_CT_CHANGE_CIPHER_SPEC:
		st->flags |= ccs;
		if (rlen != 1) {
			proto_violation(ctx, "bad_length", "change cipher spec");
			return PROTO_MALFORMED;
		}
		return PROTO_OK;
	case TLS_CT_ALERT:
		/* A 2-byte alert is plaintext; an encrypted one is longer (it carries a MAC or AEAD tag). */
		if (rlen != 2 || !cursor_u8(&r, &level) || !cursor_u8(&r, &desc))
			return PROTO_OK;
		if (level != 1 && level != TLS_ALERT_FATAL) {
			proto_violation(ctx, "bad_alert", "alert level");
			return PROTO_MALFORMED;
		}
		if (level == TLS_ALERT_FATAL)
			proto_event(ctx, "tls_alert", tls_alert_name(desc));
		return PROTO_OK;
	default:
		return PROTO_DONE; /* application data: the handshake is over (or was not captured) */
	}
}

const struct dissector dissector_tls = {
	.name = "tls",
	.state_size = sizeof(struct tls_state),
	.pdu_len = tls_pdu_len,
	.parse = tls_parse,
	.max_pdu = TLS_MAX_PDU,
};
