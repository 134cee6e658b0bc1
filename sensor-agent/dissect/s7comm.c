/* s7comm: Siemens S7 communication (protocol id 0x32) and S7comm-plus detection (0x72) over ISO-on-TCP on
 * tcp/102: RFC 1006 TPKT framing, ISO 8073 COTP class 0 (CR/CC connection set-up, DT data with the EOT bit).
 *
 * Reported:
 *  - COTP CR: for the S7 TSAPs 0x01xx (PG), 0x02xx (OP) and 0x03xx (other), the called TSAP's low byte names
 *    the PLC's rack (bits 5-7) and slot (bits 0-4): RACK/SLOT on the CR's receiver. COTP-only TPDUs (CR, CC,
 *    DR, empty DT, ...) set both roles to PROTO_ROLE_NONE: they do not confirm S7 by themselves.
 *  - Job functions (the first parameter byte, 0x00-0xff) as function codes; events program_download (0x1a, and
 *    0x1b when no 0x1a was seen), program_upload (0x1d), plc_stop (0x29), plc_start (0x28 "P_PROGRAM"),
 *    reinitialize_device (0x28 "_MSRST", memory reset), program_delete (0x28 "_DELE").
 *  - Userdata requests as function code 0x1000 | group << 8 | subfunction (read SZL: group 4, subfunction 1
 *    = 0x1401 "userdata_cpu_read_szl"); time_sync on a set-clock request (group 7, subfunction 2); a mode
 *    transition push (group 0, the subfunction is the new mode) gives PLC_MODE and plc_mode_change.
 *  - SZL answers about the CPU (module class 0), also when split over several userdata fragments: xy11
 *    module identification (index 1 order number, 6 hardware, 7 firmware), xy1C component identification
 *    (2 module name, 5 serial, 7 module type name, 9 manufacturer id), xy24 mode (PLC_MODE), with VENDOR
 *    "Siemens AG", all on the responder.
 *  - S7comm-plus: ctx->proto = "s7comm_plus"; request function codes (16-bit) where the layout is plain.
 * Roles come from the PDU (job / userdata request: client), except download block/ended jobs (0x1b/0x1c),
 * which the PLC sends to the programming device. */
#include <stdio.h>
#include <string.h>

#include "common/cursor.h"
#include "sensor-agent/dissect/proto.h"

#define TPKT_VERSION 3
#define TPKT_HDR 4
/* The largest COTP TPDU (tpdu-size parameter 0x0d, ISO 8073) plus the TPKT header. */
#define S7_MAX_TPKT (TPKT_HDR + 8192)

#define COTP_CR 0xe
#define COTP_CC 0xd
#define COTP_DT 0xf
#define COTP_EOT 0x80
#define COTP_PARAM_CALLED_TSAP 0xc2

#define S7_PROTO_ID 0x32
#define S7P_PROTO_ID 0x72

enum { S7_JOB = 1, S7_ACK = 2, S7_ACK_DATA = 3, S7_USERDATA = 7 };
enum { UD_PUSH = 0x0, UD_REQUEST = 0x4, UD_RESPONSE = 0x8 };
enum { UD_MODE = 0x0, UD_CPU = 0x4, UD_TIME = 0x7 };

/* Of an S7 PDU split over COTP DT TPDUs (EOT clear), the first S7_SEG_KEEP bytes are kept per direction: 240 is
 * the smallest PDU size S7 CPUs negotiate, so such connections reassemble whole; of a longer PDU the prefix holds
 * the header and parameters, which is what the functions and events come from. */
#define S7_SEG_KEEP 240
/* An S7 PDU cannot exceed its 12-byte header plus two 16-bit lengths. */
#define S7_SEG_LIMIT (12 + 2 * 65535)

/* SZL record lengths of the lists read for identity (S7-300/400 system software manual, SZL-IDs xy11, xy1C,
 * xy24). */
#define SZL_REC_MAX 34
#define SZL_MODULE_ID 0x11
#define SZL_COMPONENT_ID 0x1c
#define SZL_MODES 0x24

struct s7_seg {
	uint32_t total; /* bytes of the PDU received so far */
	uint16_t have;  /* bytes kept in buf */
	uint8_t active, discard;
	uint8_t buf[S7_SEG_KEEP];
};

/* An SZL answer being read, possibly across userdata fragments (same data unit reference). */
struct s7_szl {
	uint16_t id, reclen, left;
	uint8_t active, dur, have;
	uint8_t rec[SZL_REC_MAX];
};

struct s7_state {
	struct s7_seg seg[2]; /* by enum proto_dir */
	struct s7_szl szl;
	uint16_t pdu_size;    /* negotiated by setup communication, 0 unknown */
	uint8_t download;     /* a request download (0x1a) was reported and not yet ended */
};

/* ---- helpers ---- */

static void role(struct proto_ctx *ctx, bool from_client)
{
	ctx->src_role = from_client ? PROTO_ROLE_CLIENT : PROTO_ROLE_SERVER;
	ctx->dst_role = from_client ? PROTO_ROLE_SERVER : PROTO_ROLE_CLIENT;
}

static void cotp_only(struct proto_ctx *ctx)
{
	ctx->src_role = ctx->dst_role = PROTO_ROLE_NONE;
}

/* Up to n bytes as a sub-cursor: of a truncated (prefix-only) PDU, the part that is there. */
static void take(struct cursor *c, size_t n, struct cursor *sub)
{
	size_t r = cursor_remaining(c);

	if (n > r)
		n = r;
	(void)cursor_sub(c, n, sub);
}

/* A fixed-width S7 text field: up to the first NUL, without surrounding blanks. */
static void attr_field(struct proto_ctx *ctx, enum proto_attr a, const uint8_t *s, size_t n)
{
	const uint8_t *z = memchr(s, 0, n);

	if (z)
		n = (size_t)(z - s);
	while (n && s[n - 1] == ' ')
		n--;
	while (n && *s == ' ') {
		s++;
		n--;
	}
	if (n)
		proto_attr_text(ctx, PROTO_TARGET_SRC, a, s, n);
}

static void attr_str(struct proto_ctx *ctx, enum proto_attr a, const char *s)
{
	proto_attr_text(ctx, PROTO_TARGET_SRC, a, s, strlen(s));
}

/* Block file name of the load functions, "_0A00001P": '_', block type (2 hex digits), number (5 digits),
 * destination file system. Writes e.g. "DB1" into out; returns out, or NULL when the name is not of that form. */
static const char *block_name(const uint8_t *f, size_t n, char *out, size_t outlen)
{
	static const char *const types[] = { [0x08] = "OB", [0x0a] = "DB", [0x0b] = "SDB", [0x0c] = "FC",
					     [0x0d] = "SFC", [0x0e] = "FB", [0x0f] = "SFB" };
	unsigned t = 0, num = 0;

	if (n < 8 || f[0] != '_')
		return NULL;
	for (size_t i = 1; i < 3; i++) {
		unsigned v = f[i] >= '0' && f[i] <= '9' ? f[i] - '0' : f[i] >= 'A' && f[i] <= 'F' ? f[i] - 'A' + 10 : 99;
		if (v > 15)
			return NULL;
		t = t * 16 + v;
	}
	for (size_t i = 3; i < 8; i++) {
		if (f[i] < '0' || f[i] > '9')
			return NULL;
		num = num * 10 + (unsigned)(f[i] - '0');
	}
	snprintf(out, outlen, "%s%u", t < sizeof(types) / sizeof(types[0]) && types[t] ? types[t] : "block", num);
	return out;
}

/* ---- SZL ---- */

static const char *mode_name(unsigned m)
{
	/* SZL xy24 operating mode ids (bzu_id bits 0-3). */
	switch (m) {
	case 0x1: case 0x2: case 0x3: case 0x4:
		return "stop";
	case 0x5: case 0x6: case 0x7:
		return "startup";
	case 0x8: case 0x9:
		return "run";
	case 0xa:
		return "hold";
	case 0xd:
		return "defect";
	default:
		return NULL;
	}
}

static void version_attr(struct proto_ctx *ctx, enum proto_attr a, uint16_t ausbg, uint16_t ausbe)
{
	char v[24];

	/* Firmware and newer hardware records say 'V' major, minor, patch; older hardware states one number. */
	if (ausbg >> 8 == 'V')
		snprintf(v, sizeof(v), "V%u.%u.%u", ausbg & 0xffu, (unsigned)ausbe >> 8, ausbe & 0xffu);
	else if (a == PROTO_ATTR_HARDWARE)
		snprintf(v, sizeof(v), "%u", (unsigned)ausbg);
	else
		snprintf(v, sizeof(v), "%u.%u", (unsigned)ausbg, (unsigned)ausbe);
	attr_str(ctx, a, v);
}

static void szl_record(struct proto_ctx *ctx, unsigned list, const uint8_t *r)
{
	uint16_t index = (uint16_t)(r[0] << 8 | r[1]);

	if (list == SZL_MODULE_ID) {
		/* index, MLFB[20], BGTyp, Ausbg, Ausbe */
		uint16_t ausbg = (uint16_t)(r[24] << 8 | r[25]), ausbe = (uint16_t)(r[26] << 8 | r[27]);
		if (index == 0x0001) {
			attr_str(ctx, PROTO_ATTR_VENDOR, "Siemens AG");
			attr_field(ctx, PROTO_ATTR_ORDER_NUMBER, r + 2, 20);
		} else if (index == 0x0006) {
			version_attr(ctx, PROTO_ATTR_HARDWARE, ausbg, ausbe);
		} else if (index == 0x0007) {
			version_attr(ctx, PROTO_ATTR_FIRMWARE, ausbg, ausbe);
		}
	} else if (list == SZL_COMPONENT_ID) {
		/* index, then 32 bytes: a name (24 + reserved) or, for index 9, manufacturer and profile ids */
		switch (index) {
		case 0x0002:
			attr_field(ctx, PROTO_ATTR_MODULE, r + 2, 24);
			break;
		case 0x0005:
			attr_field(ctx, PROTO_ATTR_SERIAL, r + 2, 24);
			break;
		case 0x0007:
			attr_str(ctx, PROTO_ATTR_VENDOR, "Siemens AG");
			attr_field(ctx, PROTO_ATTR_MODEL, r + 2, 32);
			break;
		case 0x0009:
			proto_attr_num(ctx, PROTO_TARGET_SRC, PROTO_ATTR_VENDOR_ID, r[2] << 8 | r[3]);
			break;
		default:
			break;
		}
	} else if (list == SZL_MODES) {
		/* ereig[2], ae, bzu_id (bits 0-3: the mode now), ... */
		const char *m = mode_name(r[3] & 0x0fu);
		if (m)
			attr_str(ctx, PROTO_ATTR_PLC_MODE, m);
	}
}

/* Feeds record bytes of the SZL answer being read. */
static void szl_feed(struct s7_szl *z, struct proto_ctx *ctx, struct cursor *c)
{
	while (z->left && cursor_remaining(c)) {
		size_t n = z->reclen - z->have, r = cursor_remaining(c);

		if (n > r)
			n = r;
		memcpy(z->rec + z->have, cursor_ptr(c), n);
		(void)cursor_skip(c, n);
		z->have = (uint8_t)(z->have + n);
		if (z->have == z->reclen) {
			szl_record(ctx, z->id & 0xffu, z->rec);
			z->have = 0;
			z->left--;
		}
	}
}

/* The data of a read-SZL response. dur: data unit reference, last: no further fragment follows. */
static void szl_response(struct s7_state *st, struct proto_ctx *ctx, struct cursor *d, uint8_t dur, bool last)
{
	struct s7_szl *z = &st->szl;
	uint8_t rc, ts;
	uint16_t dlen, id, index, reclen, count;
	struct cursor body;

	if (!cursor_u8(d, &rc) || !cursor_u8(d, &ts) || !cursor_u16be(d, &dlen))
		return;
	take(d, dlen, &body);
	if (rc != 0xff) {
		z->active = 0;
		return;
	}
	if (z->active && dur && dur == z->dur) {
		szl_feed(z, ctx, &body); /* a continuation: more records, no SZL header */
	} else {
		z->active = 0;
		if (!cursor_u16be(&body, &id) || !cursor_u16be(&body, &index) || !cursor_u16be(&body, &reclen) ||
		    !cursor_u16be(&body, &count))
			return;
		(void)index;
		/* Only the CPU's own lists (module class 0 in bits 12-15) with the record length they define. */
		if (id >> 12 != 0)
			return;
		switch (id & 0xffu) {
		case SZL_MODULE_ID:
			if (reclen != 28)
				return;
			break;
		case SZL_COMPONENT_ID:
			if (reclen != 34)
				return;
			break;
		case SZL_MODES:
			if (reclen != 20)
				return;
			break;
		default:
			return;
		}
		z->id = id;
		z->reclen = reclen;
		z->left = count;
		z->have = 0;
		z->dur = dur;
		z->active = 1;
		szl_feed(z, ctx, &body);
	}
	if (last || !z->left)
		z->active = 0;
}

/* ---- S7 job / ack_data ---- */

static const char *const job_names[256] = {
	[0x00] = "cpu_services",     [0x04] = "read_var",       [0x05] = "write_var",
	[0x1a] = "request_download", [0x1b] = "download_block", [0x1c] = "download_ended",
	[0x1d] = "start_upload",     [0x1e] = "upload",         [0x1f] = "end_upload",
	[0x28] = "plc_control",      [0x29] = "plc_stop",       [0xf0] = "setup_communication",
};

static bool name_is(const uint8_t *s, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/* PI service (0x28): func, 7 unknown bytes, parameter block length + block, service name length + name. */
static void pi_service(struct proto_ctx *ctx, struct cursor *pc)
{
	uint16_t blen;
	uint8_t nlen;
	const uint8_t *blk, *name;
	char b[16];

	if (!cursor_skip(pc, 8) || !cursor_u16be(pc, &blen) || !cursor_bytes(pc, blen, &blk) || !cursor_u8(pc, &nlen) ||
	    !cursor_bytes(pc, nlen, &name))
		return;
	if (name_is(name, nlen, "P_PROGRAM")) {
		/* The parameter block "C " asks for a cold restart; others for a warm or hot restart. */
		proto_event(ctx, "plc_start", blen && blk[0] == 'C' ? "cold restart" : "restart");
	} else if (name_is(name, nlen, "_MSRST")) {
		proto_event(ctx, "reinitialize_device", "memory reset");
	} else if (name_is(name, nlen, "_DELE")) {
		/* block: count (2 bytes), then "0A00001" (type, number) per block; name the first */
		char f[8] = "_";
		if (blen >= 2 + 7) {
			memcpy(f + 1, blk + 2, 7);
			proto_event(ctx, "program_delete", block_name((const uint8_t *)f, 8, b, sizeof(b)));
		} else {
			proto_event(ctx, "program_delete", NULL);
		}
	}
}

/* Load functions 0x1a-0x1d: func, status, 2 unknown bytes, upload id (4), file name length, file name. The
 * block's name ("FC1869") also goes to the indicator matcher as a file name. */
static const char *load_block(struct proto_ctx *ctx, struct cursor *pc, char *out, size_t outlen)
{
	uint8_t n;
	const uint8_t *f;

	if (!cursor_skip(pc, 8) || !cursor_u8(pc, &n) || !cursor_bytes(pc, n, &f) || !block_name(f, n, out, outlen))
		return NULL;
	proto_name(ctx, PROTO_NAME_FILE, out, strlen(out));
	return out;
}

static enum proto_result s7_job(struct s7_state *st, struct proto_ctx *ctx, struct cursor *pc)
{
	uint8_t fn;
	char b[16];
	struct cursor c = *pc;

	if (!cursor_u8(&c, &fn)) {
		proto_violation(ctx, "truncated", "job without a function");
		return PROTO_MALFORMED;
	}
	/* The PLC sends download block / download ended to the programming device (it pulls the blocks). */
	role(ctx, fn != 0x1b && fn != 0x1c);
	if (!job_names[fn]) {
		proto_violation(ctx, "illegal_function", NULL);
		return PROTO_OK;
	}
	proto_function(ctx, fn, job_names[fn]);
	c = *pc;
	switch (fn) {
	case 0x1a:
		st->download = 1;
		proto_event(ctx, "program_download", load_block(ctx, &c, b, sizeof(b)));
		break;
	case 0x1b:
		if (!st->download) {
			st->download = 1;
			proto_event(ctx, "program_download", load_block(ctx, &c, b, sizeof(b)));
		}
		break;
	case 0x1c:
		st->download = 0;
		break;
	case 0x1d:
		proto_event(ctx, "program_upload", load_block(ctx, &c, b, sizeof(b)));
		break;
	case 0x28:
		pi_service(ctx, &c);
		break;
	case 0x29: {
		uint8_t n;
		const uint8_t *name;
		char svc[16] = "";
		if (cursor_skip(&c, 6) && cursor_u8(&c, &n) && cursor_bytes(&c, n, &name) && n < sizeof(svc))
			memcpy(svc, name, n);
		proto_event(ctx, "plc_stop", svc[0] ? svc : NULL);
		break;
	}
	default:
		break;
	}
	return PROTO_OK;
}

static enum proto_result s7_ack(struct s7_state *st, struct proto_ctx *ctx, struct cursor *pc, uint8_t ecls,
				uint8_t ecode)
{
	uint8_t fn = 0;
	bool has_fn = cursor_u8(pc, &fn);

	role(ctx, has_fn && (fn == 0x1b || fn == 0x1c));
	if (ecls || ecode) {
		char d[32];
		snprintf(d, sizeof(d), "error class 0x%02x code 0x%02x", ecls, ecode);
		proto_event(ctx, "exception_response", d);
	} else if (has_fn && fn == 0xf0) {
		/* reserved, max AmQ calling, max AmQ called, PDU length */
		uint16_t size;
		if (cursor_skip(pc, 5) && cursor_u16be(pc, &size))
			st->pdu_size = size;
	}
	return PROTO_OK;
}

/* ---- S7 userdata ---- */

#define UD_CODE(g, s) (0x1000u | (unsigned)(g) << 8 | (unsigned)(s))

static const char *ud_name(uint8_t group, uint8_t sub)
{
	switch (UD_CODE(group, sub)) {
	case UD_CODE(1, 0x02): return "userdata_programmer_vartab";
	case UD_CODE(2, 0x01): return "userdata_cyclic_subscribe";
	case UD_CODE(2, 0x04): return "userdata_cyclic_unsubscribe";
	case UD_CODE(3, 0x01): return "userdata_block_list";
	case UD_CODE(3, 0x02): return "userdata_block_list_of_type";
	case UD_CODE(3, 0x03): return "userdata_block_info";
	case UD_CODE(4, 0x01): return "userdata_cpu_read_szl";
	case UD_CODE(4, 0x02): return "userdata_cpu_message_service";
	case UD_CODE(4, 0x03): return "userdata_cpu_diag_message";
	case UD_CODE(4, 0x07): return "userdata_cpu_alarm8_lock";
	case UD_CODE(4, 0x08): return "userdata_cpu_alarm8_unlock";
	case UD_CODE(4, 0x0b): return "userdata_cpu_alarm_ack";
	case UD_CODE(4, 0x13): return "userdata_cpu_alarm_query";
	case UD_CODE(5, 0x01): return "userdata_security_password";
	case UD_CODE(5, 0x02): return "userdata_security_clear_password";
	case UD_CODE(7, 0x01): return "userdata_time_read_clock";
	case UD_CODE(7, 0x02): return "userdata_time_set_clock";
	case UD_CODE(7, 0x03): return "userdata_time_read_clock_following";
	default: break;
	}
	switch (group) {
	case 0x0: return "userdata_mode_transition";
	case 0x1: return "userdata_programmer";
	case 0x2: return "userdata_cyclic";
	case 0x3: return "userdata_block";
	case 0x4: return "userdata_cpu";
	case 0x5: return "userdata_security";
	case 0x6: return "userdata_pbc";
	case 0x7: return "userdata_time";
	case 0xf: return "userdata_nc";
	default: return NULL;
	}
}

/* Mode-transition push (group 0): the subfunction is the mode the CPU entered. */
static const char *transition_mode(uint8_t sub)
{
	switch (sub) {
	case 0x00: return "stop";
	case 0x01: case 0x03: case 0x06: return "startup";
	case 0x02: case 0x09: return "run";
	case 0x04: return "hold";
	default: return NULL;
	}
}

static enum proto_result s7_userdata(struct s7_state *st, struct proto_ctx *ctx, struct cursor *pc, struct cursor *dc)
{
	uint8_t head[3], plen, method, tg, sub, seq, dur = 0, last = 0;
	uint8_t type, group;
	const char *name;

	if (!cursor_u8(pc, &head[0]) || !cursor_u8(pc, &head[1]) || !cursor_u8(pc, &head[2]) || !cursor_u8(pc, &plen) ||
	    !cursor_u8(pc, &method) || !cursor_u8(pc, &tg) || !cursor_u8(pc, &sub) || !cursor_u8(pc, &seq)) {
		proto_violation(ctx, "truncated", "userdata parameter");
		return PROTO_MALFORMED;
	}
	if (plen >= 8 && (!cursor_u8(pc, &dur) || !cursor_u8(pc, &last)))
		dur = last = 0;
	type = tg >> 4;
	group = tg & 0x0f;
	(void)seq;
	(void)method;
	switch (type) {
	case UD_REQUEST:
		role(ctx, true);
		name = ud_name(group, sub);
		if (!name) {
			proto_violation(ctx, "illegal_function", "userdata function group");
			return PROTO_OK;
		}
		proto_function(ctx, UD_CODE(group, sub), name);
		if (group == UD_TIME && sub == 0x02)
			proto_event(ctx, "time_sync", NULL);
		break;
	case UD_RESPONSE:
		role(ctx, false);
		if (group == UD_CPU && sub == 0x01)
			szl_response(st, ctx, dc, dur, last == 0);
		break;
	case UD_PUSH:
		role(ctx, false);
		if (group == UD_MODE) {
			const char *m = transition_mode(sub);
			if (m) {
				attr_str(ctx, PROTO_ATTR_PLC_MODE, m);
				proto_event(ctx, "plc_mode_change", m);
			}
		}
		break;
	default:
		break;
	}
	return PROTO_OK;
}

/* ---- S7 PDU ---- */

/* p[0..len) is the S7 PDU, or its first len bytes of total. */
static enum proto_result s7_pdu(struct s7_state *st, struct proto_ctx *ctx, const uint8_t *p, size_t len,
				uint32_t total)
{
	struct cursor c, pc, dc;
	uint8_t id, rosctr, ecls = 0, ecode = 0;
	uint16_t red, ref, plen, dlen;
	size_t hdr;

	cursor_init(&c, p, len);
	if (!cursor_u8(&c, &id) || !cursor_u8(&c, &rosctr) || !cursor_u16be(&c, &red) || !cursor_u16be(&c, &ref) ||
	    !cursor_u16be(&c, &plen) || !cursor_u16be(&c, &dlen)) {
		proto_violation(ctx, "truncated", "S7 header");
		return PROTO_MALFORMED;
	}
	(void)red;
	(void)ref;
	if (rosctr != S7_JOB && rosctr != S7_ACK && rosctr != S7_ACK_DATA && rosctr != S7_USERDATA) {
		proto_violation(ctx, "bad_header", "ROSCTR");
		return PROTO_MALFORMED;
	}
	hdr = 10;
	if (rosctr == S7_ACK || rosctr == S7_ACK_DATA) {
		if (!cursor_u8(&c, &ecls) || !cursor_u8(&c, &ecode)) {
			proto_violation(ctx, "truncated", "S7 header");
			return PROTO_MALFORMED;
		}
		hdr = 12;
	}
	if (hdr + plen + dlen != total) {
		proto_violation(ctx, "bad_length", "S7 parameter and data lengths");
		return PROTO_MALFORMED;
	}
	if (st->pdu_size && total > st->pdu_size)
		proto_violation(ctx, "pdu_size_exceeded", NULL);
	take(&c, plen, &pc);
	take(&c, dlen, &dc);
	switch (rosctr) {
	case S7_JOB:
		return s7_job(st, ctx, &pc);
	case S7_USERDATA:
		return s7_userdata(st, ctx, &pc, &dc);
	default:
		return s7_ack(st, ctx, &pc, ecls, ecode);
	}
}

/* ---- S7comm-plus (detected, counted, functions only) ---- */

struct s7p_fn {
	uint16_t code;
	const char *name;
};

static const struct s7p_fn s7p_fns[] = {
	{ 0x04bb, "explore" },          { 0x04ca, "create_object" },       { 0x04d4, "delete_object" },
	{ 0x04f2, "set_variable" },     { 0x04fc, "get_variable" },        { 0x0542, "set_multi_variables" },
	{ 0x054c, "get_multi_variables" }, { 0x0556, "begin_sequence" },   { 0x0560, "end_sequence" },
	{ 0x056b, "invoke" },           { 0x057c, "set_var_sub_streamed" }, { 0x0586, "get_var_sub_streamed" },
};

enum { S7P_REQUEST = 0x31, S7P_RESPONSE = 0x32, S7P_NOTIFICATION = 0x33, S7P_RESPONSE2 = 0x02 };

static enum proto_result s7p_pdu(struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	struct cursor c;
	uint8_t id, ver, op;
	uint16_t dlen, rsv, fn;

	ctx->proto = "s7comm_plus";
	cursor_init(&c, p, len);
	if (!cursor_u8(&c, &id) || !cursor_u8(&c, &ver) || !cursor_u16be(&c, &dlen)) {
		proto_violation(ctx, "truncated", "S7comm-plus header");
		return PROTO_MALFORMED;
	}
	(void)dlen;
	if (!cursor_u8(&c, &op))
		return PROTO_OK;
	/* Protocol versions 2 and 3 may put a 32-byte integrity digest (length byte 0x20) before the data. */
	if (op == 0x20 && ver >= 2 && cursor_skip(&c, 32) && !cursor_u8(&c, &op))
		return PROTO_OK;
	switch (op) {
	case S7P_REQUEST:
		role(ctx, true);
		if (cursor_u16be(&c, &rsv) && cursor_u16be(&c, &fn)) {
			for (size_t i = 0; i < sizeof(s7p_fns) / sizeof(s7p_fns[0]); i++)
				if (s7p_fns[i].code == fn) {
					proto_function(ctx, fn, s7p_fns[i].name);
					break;
				}
		}
		break;
	case S7P_RESPONSE:
	case S7P_RESPONSE2:
	case S7P_NOTIFICATION:
		role(ctx, false);
		break;
	default:
		break;
	}
	return PROTO_OK;
}

/* ---- TPKT / COTP ---- */

/* A COTP payload that completes an S7 PDU; total is its whole length (> len when only a prefix was kept). */
static enum proto_result payload(struct s7_state *st, struct proto_ctx *ctx, const uint8_t *p, size_t len,
				 uint32_t total)
{
	if (!len) {
		cotp_only(ctx);
		return PROTO_OK;
	}
	if (p[0] == S7_PROTO_ID)
		return s7_pdu(st, ctx, p, len, total);
	if (p[0] == S7P_PROTO_ID)
		return s7p_pdu(ctx, p, len);
	return PROTO_NOT_MINE; /* another ISO-on-TCP user (e.g. MMS) */
}

static void seg_add(struct s7_seg *s, const uint8_t *p, size_t n)
{
	size_t room = S7_SEG_KEEP - s->have;

	if (n > room)
		n = room;
	memcpy(s->buf + s->have, p, n);
	s->have = (uint16_t)(s->have + n);
}

static enum proto_result cotp_dt(struct s7_state *st, struct proto_ctx *ctx, bool eot, const uint8_t *p, size_t n)
{
	struct s7_seg *s = &st->seg[ctx->dir & 1];
	enum proto_result r;

	if (!eot) {
		cotp_only(ctx);
		if (s->discard)
			return PROTO_OK;
		if (!s->active) {
			s->active = 1;
			s->have = 0;
			s->total = 0;
		}
		if (n > S7_SEG_LIMIT - s->total) {
			proto_violation(ctx, "reassembly_overflow", "COTP segments beyond the S7 PDU limit");
			s->active = 0;
			s->discard = 1;
			return PROTO_OK;
		}
		seg_add(s, p, n);
		s->total += (uint32_t)n;
		return PROTO_OK;
	}
	if (s->discard) {
		s->discard = 0;
		cotp_only(ctx);
		return PROTO_OK;
	}
	if (!s->active || !s->total) {
		s->active = 0;
		return payload(st, ctx, p, n, (uint32_t)n);
	}
	if (n > S7_SEG_LIMIT - s->total) {
		s->active = 0;
		proto_violation(ctx, "reassembly_overflow", "COTP segments beyond the S7 PDU limit");
		return PROTO_MALFORMED;
	}
	seg_add(s, p, n);
	s->active = 0;
	r = payload(st, ctx, s->buf, s->have, s->total + (uint32_t)n);
	s->have = 0;
	s->total = 0;
	return r;
}

/* CR: dst-ref, src-ref, class, then parameters (code, length, value). */
static void cotp_cr(struct proto_ctx *ctx, struct cursor *h)
{
	uint8_t code, plen;
	const uint8_t *v;

	if (!cursor_skip(h, 5))
		return;
	while (cursor_u8(h, &code) && cursor_u8(h, &plen) && cursor_bytes(h, plen, &v)) {
		/* S7 TSAPs: connection type (1 PG, 2 OP, 3 other), then rack << 5 | slot. */
		if (code == COTP_PARAM_CALLED_TSAP && plen == 2 && v[0] >= 0x01 && v[0] <= 0x03) {
			proto_attr_num(ctx, PROTO_TARGET_DST, PROTO_ATTR_RACK, v[1] >> 5);
			proto_attr_num(ctx, PROTO_TARGET_DST, PROTO_ATTR_SLOT, v[1] & 0x1f);
		}
	}
}

static enum proto_result s7_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	struct s7_state local, *st = state;
	struct cursor c, h;
	uint8_t ver, rsv, li, type = 0, nr = 0;
	uint16_t tlen;

	if (!st) {
		memset(&local, 0, sizeof(local));
		st = &local;
	}
	cursor_init(&c, p, len);
	if (!cursor_u8(&c, &ver) || ver != TPKT_VERSION)
		return PROTO_NOT_MINE;
	if (!cursor_u8(&c, &rsv) || !cursor_u16be(&c, &tlen) || !cursor_u8(&c, &li)) {
		proto_violation(ctx, "truncated", "TPKT/COTP header");
		return PROTO_MALFORMED;
	}
	if (tlen != len) {
		proto_violation(ctx, "bad_length", "TPKT length");
		return PROTO_MALFORMED;
	}
	if (li < 2 || !cursor_sub(&c, li, &h)) {
		proto_violation(ctx, "bad_header", "COTP length indicator");
		return PROTO_MALFORMED;
	}
	(void)cursor_u8(&h, &type);
	switch (type >> 4) {
	case COTP_DT:
		(void)cursor_u8(&h, &nr);
		return cotp_dt(st, ctx, nr & COTP_EOT, cursor_ptr(&c), cursor_remaining(&c));
	case COTP_CR:
		cotp_cr(ctx, &h);
		cotp_only(ctx);
		return PROTO_OK;
	case COTP_CC:
	case 0x8: /* DR */
	case 0xc: /* DC */
	case 0x7: /* ER */
	case 0x1: /* ED */
	case 0x2: /* EA */
	case 0x5: /* RJ */
	case 0x6: /* AK */
		cotp_only(ctx);
		return PROTO_OK;
	default:
		proto_violation(ctx, "bad_header", "COTP TPDU type");
		return PROTO_MALFORMED;
	}
}

/* RFC 1006: version 3, reserved 0, 16-bit length including the 4-byte header. */
static long s7_pdu_len(const uint8_t *p, size_t len)
{
	size_t n;

	if (p[0] != TPKT_VERSION || (len >= 2 && p[1] != 0))
		return -1;
	if (len < TPKT_HDR)
		return 0;
	n = (size_t)(p[2] << 8 | p[3]);
	if (n < TPKT_HDR + 3)
		return -1;
	return (long)n;
}

const struct dissector dissector_s7comm = {
	.name = "s7comm",
	.state_size = sizeof(struct s7_state),
	.pdu_len = s7_pdu_len,
	.parse = s7_parse,
	.max_pdu = S7_MAX_TPKT,
};
