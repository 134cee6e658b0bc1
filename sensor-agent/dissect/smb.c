/* SMB (MS-SMB2, MS-CIFS) on TCP 445 (direct TCP, MS-SMB2 2.1) and 139 (NetBIOS session service, RFC 1002
 * 4.3): enough to confirm the protocol, tell requests from responses, and read the names of the files clients
 * open.
 *
 * Framing (pdu_len): a 4-byte header. Type 0x00 is a session message with a 24-bit length (direct TCP; over
 * NetBIOS the top 7 of those bits are flags, zero), which must hold an SMB protocol id: 0xFF "SMB" (SMB1), 0xFE
 * "SMB" (SMB2/3), 0xFD "SMB" (SMB3 encrypted) or 0xFC "SMB" (SMB3 compressed). Types 0x81..0x85 are NetBIOS
 * session control packets (request, positive / negative response, retarget, keep-alive) with a 17-bit length.
 * Messages up to 16 MiB are framed; a read or write larger than the per-flow reassembly cap is dropped by the
 * framework (counted as a gap) and the stream resynchronises at a later message.
 *
 * Reported: the response flag (SMB2 SERVER_TO_REDIR, SMB1 FLAGS_REPLY) sets the roles, so a valid message
 * confirms "smb" with its server; NetBIOS control packets carry no roles. File names go to the indicator matcher
 * (proto_name): SMB2 CREATE requests (MS-SMB2 2.2.13), also inside compound requests, and SMB1 NT_CREATE_ANDX
 * (MS-CIFS 2.2.4.64), OPEN_ANDX (2.2.4.41), OPEN, CREATE and CREATE_NEW (2.2.4.3, 2.2.4.4, 2.2.4.16) requests,
 * also along AndX chains: the base name (after the last '\' or '/', before an NTFS stream's ':'), UTF-16LE
 * decoded to UTF-8 (or OEM bytes as they are), when it fits in 255 bytes (a longer one cannot be an indicator's).
 * Encrypted and compressed messages are not read. Commands are not reported as function codes (yet). */
#include <string.h>

#include "common/cursor.h"
#include "sensor-agent/dissect/proto.h"

#define SMB_NBSS_HDR 4
#define SMB_MIN_MSG 16          /* the smallest SMB3 message (a compression transform header) */
#define SMB_MAX_CONTROL 1024    /* NetBIOS session control packets are a few dozen bytes */
#define SMB_MAX_PDU (SMB_NBSS_HDR + 0xffffffu)
#define SMB_NAME_MAX 256        /* decoded base names, NUL included */
#define SMB2_HDR 64
#define SMB2_MAX_CHAIN 16       /* commands read from one compound message */
#define SMB2_CMD_CREATE 0x05
#define SMB2_CMD_MAX 0x12       /* OPLOCK_BREAK, the last command MS-SMB2 2.2.1 defines */
#define SMB2_FLAGS_RESPONSE 0x00000001u
#define SMB1_HDR 32
#define SMB1_MAX_ANDX 8
#define SMB1_FLAGS_REPLY 0x80
#define SMB1_FLAGS2_UNICODE 0x8000

enum { SMB1_OPEN = 0x02, SMB1_CREATE = 0x03, SMB1_CREATE_NEW = 0x0f, SMB1_LOCKING_ANDX = 0x24,
       SMB1_OPEN_ANDX = 0x2d, SMB1_READ_ANDX = 0x2e, SMB1_WRITE_ANDX = 0x2f, SMB1_SESSION_SETUP_ANDX = 0x73,
       SMB1_LOGOFF_ANDX = 0x74, SMB1_TREE_CONNECT_ANDX = 0x75, SMB1_NT_CREATE_ANDX = 0xa2 };

/* Whether the first n (at most 4) bytes at p agree with an SMB protocol id. */
static bool smb_magic_ok(const uint8_t *p, size_t n)
{
	static const char smb[] = "SMB";

	if (n >= 1 && p[0] < 0xfc)
		return false;
	for (size_t i = 1; i < n && i < 4; i++)
		if (p[i] != (uint8_t)smb[i - 1])
			return false;
	return true;
}

static long smb_pdu_len(const uint8_t *p, size_t len)
{
	uint32_t l;

	if (p[0] == 0x00) {
		if (len < SMB_NBSS_HDR)
			return 0;
		l = (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		if (l < SMB_MIN_MSG || !smb_magic_ok(p + SMB_NBSS_HDR, len - SMB_NBSS_HDR))
			return -1;
		return SMB_NBSS_HDR + (long)l;
	}
	if (p[0] < 0x81 || p[0] > 0x85 || (len >= 2 && (p[1] & 0xfe)))
		return -1;
	if (len < SMB_NBSS_HDR)
		return 0;
	l = (uint32_t)(p[1] & 1) << 16 | (uint32_t)p[2] << 8 | p[3];
	return l > SMB_MAX_CONTROL ? -1 : SMB_NBSS_HDR + (long)l;
}

static void smb_roles(struct proto_ctx *ctx, bool response)
{
	ctx->src_role = response ? PROTO_ROLE_SERVER : PROTO_ROLE_CLIENT;
	ctx->dst_role = response ? PROTO_ROLE_CLIENT : PROTO_ROLE_SERVER;
}

/* The base name of the path in n bytes of UTF-16LE (unicode) or OEM characters: [*start, *end) in characters,
 * ending at a NUL and at an NTFS stream's ':'. */
static void smb_base_span(const uint8_t *p, size_t n, bool unicode, size_t *start, size_t *end)
{
	struct cursor c;
	size_t i = 0;

	*start = 0;
	cursor_init(&c, p, n);
	for (;; i++) {
		uint16_t u;
		uint8_t b;
		if (unicode ? !cursor_u16le(&c, &u) : !cursor_u8(&c, &b))
			break;
		if (!unicode)
			u = b;
		if (u == 0)
			break;
		if (u == '\\' || u == '/')
			*start = i + 1;
	}
	*end = i;
	cursor_init(&c, p, n);
	cursor_skip(&c, *start * (unicode ? 2 : 1));
	for (i = *start; i < *end; i++) {
		uint16_t u;
		uint8_t b;
		if (unicode ? !cursor_u16le(&c, &u) : !cursor_u8(&c, &b))
			break;
		if ((unicode ? u : b) == ':') {
			*end = i;
			break;
		}
	}
}

/* UTF-8 of the base name; 0 when empty or longer than SMB_NAME_MAX - 1 bytes. Unpaired surrogates become
 * U+FFFD. */
static size_t smb_base_name(const uint8_t *p, size_t n, bool unicode, char out[SMB_NAME_MAX])
{
	struct cursor c;
	size_t start, end, o = 0;

	smb_base_span(p, n, unicode, &start, &end);
	cursor_init(&c, p, n);
	cursor_skip(&c, start * (unicode ? 2 : 1));
	for (size_t i = start; i < end; i++) {
		uint32_t cp;
		uint16_t u, lo;
		uint8_t b;
		size_t need;

		if (!unicode) {
			if (!cursor_u8(&c, &b) || o + 1 >= SMB_NAME_MAX)
				return 0;
			out[o++] = (char)b;
			continue;
		}
		if (!cursor_u16le(&c, &u))
			return 0;
		cp = u;
		if (u >= 0xd800 && u <= 0xdbff && i + 1 < end) {
			struct cursor peek = c;
			if (cursor_u16le(&peek, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((uint32_t)(u - 0xd800) << 10) + (uint32_t)(lo - 0xdc00);
				c = peek;
				i++;
			}
		}
		if (cp >= 0xd800 && cp <= 0xdfff)
			cp = 0xfffd;
		need = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		if (o + need >= SMB_NAME_MAX)
			return 0;
		if (need == 1) {
			out[o++] = (char)cp;
		} else if (need == 2) {
			out[o++] = (char)(0xc0 | cp >> 6);
			out[o++] = (char)(0x80 | (cp & 0x3f));
		} else if (need == 3) {
			out[o++] = (char)(0xe0 | cp >> 12);
			out[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
			out[o++] = (char)(0x80 | (cp & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | cp >> 18);
			out[o++] = (char)(0x80 | (cp >> 12 & 0x3f));
			out[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
			out[o++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	out[o] = 0;
	return o;
}

static void smb_file(struct proto_ctx *ctx, const uint8_t *p, size_t n, bool unicode)
{
	char name[SMB_NAME_MAX];
	size_t len = smb_base_name(p, n, unicode, name);

	if (len)
		proto_name(ctx, PROTO_NAME_FILE, name, len);
}

/* CREATE request (MS-SMB2 2.2.13) in the cmd_len bytes of one command, header included: StructureSize 57, 42
 * bytes of flags and access, NameOffset (from the header) and NameLength. False when malformed. */
static bool smb2_create(struct proto_ctx *ctx, const uint8_t *cmd, size_t cmd_len)
{
	struct cursor c;
	uint16_t ss, noff, nlen;
	const uint8_t *name;

	cursor_init(&c, cmd, cmd_len);
	if (!cursor_skip(&c, SMB2_HDR) || !cursor_u16le(&c, &ss) || ss != 57 || !cursor_skip(&c, 42) ||
	    !cursor_u16le(&c, &noff) || !cursor_u16le(&c, &nlen))
		return false;
	if (nlen == 0)
		return true; /* the share's root */
	if (noff < SMB2_HDR + 56 || (nlen & 1))
		return false;
	cursor_init(&c, cmd, cmd_len);
	if (!cursor_skip(&c, noff) || !cursor_bytes(&c, nlen, &name))
		return false;
	smb_file(ctx, name, nlen, true);
	return true;
}

/* An SMB2 message (MS-SMB2 2.2.1): 64-byte headers chained by NextCommand (8-byte aligned, within the
 * message). */
static enum proto_result smb2_message(struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	size_t off = 0;

	for (unsigned k = 0; k < SMB2_MAX_CHAIN; k++) {
		struct cursor c;
		uint16_t ss, cmd;
		uint32_t flags, next;
		size_t region;
		const uint8_t *id;

		cursor_init(&c, p, len);
		if (!cursor_skip(&c, off) || !cursor_bytes(&c, 4, &id) || !cursor_u16le(&c, &ss) || !cursor_skip(&c, 6) ||
		    !cursor_u16le(&c, &cmd) || !cursor_skip(&c, 2) || !cursor_u32le(&c, &flags) ||
		    !cursor_u32le(&c, &next) || !cursor_has(&c, SMB2_HDR - 24) || ss != SMB2_HDR ||
		    memcmp(id, "\xfeSMB", 4) != 0) {
			proto_violation(ctx, "bad_header", k ? "compound SMB2 header" : "SMB2 header");
			return PROTO_MALFORMED;
		}
		if (k == 0)
			smb_roles(ctx, flags & SMB2_FLAGS_RESPONSE);
		if (next && (next % 8 || next < SMB2_HDR || next > len - off)) {
			proto_violation(ctx, "bad_length", "compound NextCommand");
			return PROTO_MALFORMED;
		}
		region = next ? next : len - off;
		if (cmd > SMB2_CMD_MAX) {
			proto_violation(ctx, "illegal_function", "unknown SMB2 command");
		} else if (cmd == SMB2_CMD_CREATE && !(flags & SMB2_FLAGS_RESPONSE) &&
			   !smb2_create(ctx, id, region)) {
			proto_violation(ctx, "bad_length", "create request");
			return PROTO_MALFORMED;
		}
		if (!next)
			break;
		off += next;
	}
	return PROTO_OK;
}

static bool smb1_is_andx(uint8_t cmd)
{
	return cmd == SMB1_LOCKING_ANDX || cmd == SMB1_OPEN_ANDX || cmd == SMB1_READ_ANDX || cmd == SMB1_WRITE_ANDX ||
	       cmd == SMB1_SESSION_SETUP_ANDX || cmd == SMB1_LOGOFF_ANDX || cmd == SMB1_TREE_CONNECT_ANDX ||
	       cmd == SMB1_NT_CREATE_ANDX;
}

/* The file name of an SMB1 open request: words and bytes of the command, the bytes' offset from the SMB
 * header (Unicode strings are 2-aligned from there). False when malformed. */
static bool smb1_open(struct proto_ctx *ctx, uint8_t cmd, struct cursor *words, uint8_t wc, struct cursor *bytes,
		      size_t bytes_off, bool unicode)
{
	uint16_t name_len = 0xffff;
	uint8_t fmt;
	size_t skip = 0;
	const uint8_t *name;

	switch (cmd) {
	case SMB1_NT_CREATE_ANDX: /* AndX (4), Reserved (1), NameLength (2), ... */
		if (wc != 24 || !cursor_skip(words, 5) || !cursor_u16le(words, &name_len))
			return false;
		break;
	case SMB1_OPEN_ANDX:
		if (wc != 15)
			return false;
		break;
	default: /* OPEN, CREATE, CREATE_NEW: BufferFormat 0x04, then the name */
		if (!cursor_u8(bytes, &fmt) || fmt != 0x04)
			return false;
		skip = 1;
		break;
	}
	if (unicode && (bytes_off + skip) % 2 && !cursor_skip(bytes, 1))
		return false;
	if (name_len > cursor_remaining(bytes))
		name_len = (uint16_t)cursor_remaining(bytes);
	if (!cursor_bytes(bytes, name_len, &name))
		return false;
	smb_file(ctx, name, name_len, unicode);
	return true;
}

/* An SMB1 message (MS-CIFS 2.2.3.1): the 32-byte header, then per command WordCount, words, ByteCount, bytes;
 * AndX commands chain to the next command's offset (from the header, strictly increasing). */
static enum proto_result smb1_message(struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	struct cursor c;
	uint8_t cmd, flags;
	uint16_t flags2;
	size_t off = SMB1_HDR;

	cursor_init(&c, p, len);
	if (!cursor_skip(&c, 4) || !cursor_u8(&c, &cmd) || !cursor_skip(&c, 4) || !cursor_u8(&c, &flags) ||
	    !cursor_u16le(&c, &flags2) || !cursor_skip(&c, SMB1_HDR - 12)) {
		proto_violation(ctx, "bad_header", "SMB1 header");
		return PROTO_MALFORMED;
	}
	smb_roles(ctx, flags & SMB1_FLAGS_REPLY);
	if (flags & SMB1_FLAGS_REPLY)
		return PROTO_OK;
	for (unsigned k = 0; k < SMB1_MAX_ANDX; k++) {
		struct cursor words, andx, bytes;
		uint8_t wc, next;
		uint16_t bc, next_off;

		cursor_init(&c, p, len);
		if (!cursor_skip(&c, off) || !cursor_u8(&c, &wc) || !cursor_sub(&c, (size_t)wc * 2, &words) ||
		    !cursor_u16le(&c, &bc) || !cursor_sub(&c, bc, &bytes)) {
			proto_violation(ctx, "truncated", "SMB1 parameter or data block");
			return PROTO_MALFORMED;
		}
		andx = words;
		if ((cmd == SMB1_NT_CREATE_ANDX || cmd == SMB1_OPEN_ANDX || cmd == SMB1_OPEN || cmd == SMB1_CREATE ||
		     cmd == SMB1_CREATE_NEW) &&
		    !smb1_open(ctx, cmd, &words, wc, &bytes, c.off - bc, flags2 & SMB1_FLAGS2_UNICODE)) {
			proto_violation(ctx, "bad_length", "open request");
			return PROTO_MALFORMED;
		}
		/* AndX words: AndXCommand, AndXReserved, AndXOffset */
		if (!smb1_is_andx(cmd) || !cursor_u8(&andx, &next) || !cursor_skip(&andx, 1) ||
		    !cursor_u16le(&andx, &next_off) || next == 0xff)
			break;
		if (next_off <= off || next_off >= len) {
			proto_violation(ctx, "bad_length", "AndX offset");
			return PROTO_MALFORMED;
		}
		cmd = next;
		off = next_off;
	}
	return PROTO_OK;
}

static enum proto_result smb_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	struct cursor c;
	uint8_t type;
	const uint8_t *l, *msg;
	size_t declared;

	(void)state;
	cursor_init(&c, p, len);
	if (!cursor_u8(&c, &type) || !cursor_bytes(&c, 3, &l) || (type != 0x00 && (type < 0x81 || type > 0x85)))
		return PROTO_NOT_MINE;
	declared = (size_t)(type ? l[0] & 1 : l[0]) << 16 | (size_t)l[1] << 8 | l[2];
	if (declared != cursor_remaining(&c)) {
		proto_violation(ctx, "bad_length", "NetBIOS session length");
		return PROTO_MALFORMED;
	}
	if (type != 0x00) {
		ctx->src_role = ctx->dst_role = PROTO_ROLE_NONE; /* session set-up: not SMB by itself */
		return PROTO_OK;
	}
	msg = cursor_ptr(&c);
	len = cursor_remaining(&c);
	if (len < SMB_MIN_MSG || !smb_magic_ok(msg, 4))
		return PROTO_NOT_MINE;
	switch (msg[0]) {
	case 0xff:
		return smb1_message(ctx, msg, len);
	case 0xfe:
		return smb2_message(ctx, msg, len);
	default:
		return PROTO_OK; /* SMB3 encrypted or compressed: the flow's direction gives the roles */
	}
}

const struct dissector dissector_smb = {
	.name = "smb",
	.pdu_len = smb_pdu_len,
	.parse = smb_parse,
	.max_pdu = SMB_MAX_PDU,
};
