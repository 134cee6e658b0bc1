/* DNP3 (IEEE 1815-2012) over TCP and UDP: data link frames (0x0564 start, length, control with DIR/PRM,
 * destination and source addresses, a CRC after the header and after every 16 bytes of user data), the
 * transport header (FIN/FIR/sequence) and the application header of the first transport segment of each
 * application fragment.
 *
 * The application fragment is not reassembled: everything reported (function code, IIN, the first object
 * header of a write) sits in the first transport segment, which always starts the fragment. A TCP PDU is one
 * link frame (pdu_len frames them); a UDP datagram may carry several, which parse() walks in turn.
 *
 * Roles come from the DIR bit of each frame (1: sent by the master), not from the flow. */
#include <string.h>

#include "common/cursor.h"
#include "sensor-agent/dissect/proto.h"

#define DNP3_HDR 10         /* start (2), length, control, destination (2), source (2), CRC (2) */
#define DNP3_BLOCK 16       /* user data is sent in blocks of 16 bytes, each followed by its CRC */
#define DNP3_MIN_LEN 5      /* the length field counts control + addresses + user data, without CRCs */
#define DNP3_MAX_USER 250   /* length 255 - 5 */
#define DNP3_MAX_FRAME (DNP3_HDR + DNP3_MAX_USER + 2 * ((DNP3_MAX_USER + DNP3_BLOCK - 1) / DNP3_BLOCK))

#define DNP3_CTL_DIR 0x80
#define DNP3_CTL_PRM 0x40
#define DNP3_TH_FIR 0x40

#define DNP3_LINK_CONFIRMED_DATA 3
#define DNP3_LINK_UNCONFIRMED_DATA 4

enum {
	DNP3_FC_WRITE = 2,
	DNP3_FC_START_APPLICATION = 17,
	DNP3_FC_STOP_APPLICATION = 18,
	DNP3_FC_COLD_RESTART = 13,
	DNP3_FC_WARM_RESTART = 14,
	DNP3_FC_ENABLE_UNSOLICITED = 20,
	DNP3_FC_DISABLE_UNSOLICITED = 21,
	DNP3_FC_DELAY_MEASURE = 23,
	DNP3_FC_RECORD_CURRENT_TIME = 24,
	DNP3_FC_OPEN_FILE = 25,
	DNP3_FC_ABORT_FILE = 30,
	DNP3_FC_LAST_REQUEST = 33,
	DNP3_FC_RESPONSE = 129,
	DNP3_FC_UNSOLICITED_RESPONSE = 130,
	DNP3_FC_AUTHENTICATE_RESPONSE = 131,
};

#define DNP3_IIN2_NO_FUNC_CODE_SUPPORT 0x01
#define DNP3_GROUP_TIME 50  /* g50v1 absolute time, g50v3 last recorded time */
#define DNP3_GROUP_FILE 70  /* file-control objects */

/* IEEE 1815-2012 table 4-1 (application layer function codes). */
static const char *const dnp3_request_names[DNP3_FC_LAST_REQUEST + 1] = {
	"confirm", "read", "write", "select", "operate", "direct_operate", "direct_operate_nr",
	"immediate_freeze", "immediate_freeze_nr", "freeze_clear", "freeze_clear_nr", "freeze_at_time",
	"freeze_at_time_nr", "cold_restart", "warm_restart", "initialize_data", "initialize_application",
	"start_application", "stop_application", "save_configuration", "enable_unsolicited",
	"disable_unsolicited", "assign_class", "delay_measure", "record_current_time", "open_file",
	"close_file", "delete_file", "get_file_info", "authenticate_file", "abort_file", "activate_config",
	"authenticate_req", "authenticate_req_no_ack",
};

/* CRC-16/DNP: polynomial 0x3d65 (reflected 0xa6bc), initial value 0, complemented, sent low byte first. */
static const uint16_t dnp3_crc_table[256] = {
	0x0000, 0x365e, 0x6cbc, 0x5ae2, 0xd978, 0xef26, 0xb5c4, 0x839a,
	0xff89, 0xc9d7, 0x9335, 0xa56b, 0x26f1, 0x10af, 0x4a4d, 0x7c13,
	0xb26b, 0x8435, 0xded7, 0xe889, 0x6b13, 0x5d4d, 0x07af, 0x31f1,
	0x4de2, 0x7bbc, 0x215e, 0x1700, 0x949a, 0xa2c4, 0xf826, 0xce78,
	0x29af, 0x1ff1, 0x4513, 0x734d, 0xf0d7, 0xc689, 0x9c6b, 0xaa35,
	0xd626, 0xe078, 0xba9a, 0x8cc4, 0x0f5e, 0x3900, 0x63e2, 0x55bc,
	0x9bc4, 0xad9a, 0xf778, 0xc126, 0x42bc, 0x74e2, 0x2e00, 0x185e,
	0x644d, 0x5213, 0x08f1, 0x3eaf, 0xbd35, 0x8b6b, 0xd189, 0xe7d7,
	0x535e, 0x6500, 0x3fe2, 0x09bc, 0x8a26, 0xbc78, 0xe69a, 0xd0c4,
	0xacd7, 0x9a89, 0xc06b, 0xf635, 0x75af, 0x43f1, 0x1913, 0x2f4d,
	0xe135, 0xd76b, 0x8d89, 0xbbd7, 0x384d, 0x0e13, 0x54f1, 0x62af,
	0x1ebc, 0x28e2, 0x7200, 0x445e, 0xc7c4, 0xf19a, 0xab78, 0x9d26,
	0x7af1, 0x4caf, 0x164d, 0x2013, 0xa389, 0x95d7, 0xcf35, 0xf96b,
	0x8578, 0xb326, 0xe9c4, 0xdf9a, 0x5c00, 0x6a5e, 0x30bc, 0x06e2,
	0xc89a, 0xfec4, 0xa426, 0x9278, 0x11e2, 0x27bc, 0x7d5e, 0x4b00,
	0x3713, 0x014d, 0x5baf, 0x6df1, 0xee6b, 0xd835, 0x82d7, 0xb489,
	0xa6bc, 0x90e2, 0xca00, 0xfc5e, 0x7fc4, 0x499a, 0x1378, 0x2526,
	0x5935, 0x6f6b, 0x3589, 0x03d7, 0x804d, 0xb613, 0xecf1, 0xdaaf,
	0x14d7, 0x2289, 0x786b, 0x4e35, 0xcdaf, 0xfbf1, 0xa113, 0x974d,
	0xeb5e, 0xdd00, 0x87e2, 0xb1bc, 0x3226, 0x0478, 0x5e9a, 0x68c4,
	0x8f13, 0xb94d, 0xe3af, 0xd5f1, 0x566b, 0x6035, 0x3ad7, 0x0c89,
	0x709a, 0x46c4, 0x1c26, 0x2a78, 0xa9e2, 0x9fbc, 0xc55e, 0xf300,
	0x3d78, 0x0b26, 0x51c4, 0x679a, 0xe400, 0xd25e, 0x88bc, 0xbee2,
	0xc2f1, 0xf4af, 0xae4d, 0x9813, 0x1b89, 0x2dd7, 0x7735, 0x416b,
	0xf5e2, 0xc3bc, 0x995e, 0xaf00, 0x2c9a, 0x1ac4, 0x4026, 0x7678,
	0x0a6b, 0x3c35, 0x66d7, 0x5089, 0xd313, 0xe54d, 0xbfaf, 0x89f1,
	0x4789, 0x71d7, 0x2b35, 0x1d6b, 0x9ef1, 0xa8af, 0xf24d, 0xc413,
	0xb800, 0x8e5e, 0xd4bc, 0xe2e2, 0x6178, 0x5726, 0x0dc4, 0x3b9a,
	0xdc4d, 0xea13, 0xb0f1, 0x86af, 0x0535, 0x336b, 0x6989, 0x5fd7,
	0x23c4, 0x159a, 0x4f78, 0x7926, 0xfabc, 0xcce2, 0x9600, 0xa05e,
	0x6e26, 0x5878, 0x029a, 0x34c4, 0xb75e, 0x8100, 0xdbe2, 0xedbc,
	0x91af, 0xa7f1, 0xfd13, 0xcb4d, 0x48d7, 0x7e89, 0x246b, 0x1235,
};

static bool dnp3_crc_ok(const uint8_t *p, size_t n)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < n; i++)
		crc = (uint16_t)((crc >> 8) ^ dnp3_crc_table[(crc ^ p[i]) & 0xff]);
	crc = (uint16_t)~crc;
	return p[n] == (crc & 0xff) && p[n + 1] == (crc >> 8);
}

static size_t dnp3_frame_size(uint8_t len_field)
{
	size_t user = (size_t)len_field - DNP3_MIN_LEN;

	return DNP3_HDR + user + 2 * ((user + DNP3_BLOCK - 1) / DNP3_BLOCK);
}

static long dnp3_pdu_len(const uint8_t *p, size_t len)
{
	if (p[0] != 0x05 || (len > 1 && p[1] != 0x64))
		return -1;
	if (len < 3)
		return 0;
	if (p[2] < DNP3_MIN_LEN)
		return -1;
	return (long)dnp3_frame_size(p[2]);
}

static enum proto_result dnp3_malformed(struct proto_ctx *ctx, const char *name, const char *detail)
{
	proto_violation(ctx, name, detail);
	return PROTO_MALFORMED;
}

/* Link functions (IEEE 1815-2012 tables 9-1 and 9-2), including the obsolete 1 (reset user process) and 14
 * (secondary: link service not functioning) that old stations still send. */
static bool dnp3_link_func_valid(bool prm, uint8_t fc)
{
	if (prm)
		return fc <= 4 || fc == 9;
	return fc == 0 || fc == 1 || fc == 11 || fc == 14 || fc == 15;
}

static void dnp3_request_events(struct proto_ctx *ctx, uint8_t fc, const uint8_t *a, size_t n)
{
	switch (fc) {
	case DNP3_FC_COLD_RESTART:
		proto_event(ctx, "cold_restart", NULL);
		break;
	case DNP3_FC_WARM_RESTART:
		proto_event(ctx, "warm_restart", NULL);
		break;
	case DNP3_FC_START_APPLICATION:
		proto_event(ctx, "plc_start", "start_application");
		break;
	case DNP3_FC_STOP_APPLICATION:
		proto_event(ctx, "plc_stop", "stop_application");
		break;
	case DNP3_FC_ENABLE_UNSOLICITED:
		proto_event(ctx, "unsolicited_enabled", NULL);
		break;
	case DNP3_FC_DISABLE_UNSOLICITED:
		proto_event(ctx, "unsolicited_disabled", NULL);
		break;
	case DNP3_FC_DELAY_MEASURE:
	case DNP3_FC_RECORD_CURRENT_TIME:
		proto_event(ctx, "time_sync", dnp3_request_names[fc]);
		break;
	case DNP3_FC_WRITE:
		/* The first object header after the request header (control, function): group, variation. */
		if (n >= 4 && a[2] == DNP3_GROUP_TIME && (a[3] == 1 || a[3] == 3))
			proto_event(ctx, "time_sync", a[3] == 1 ? "write g50v1" : "write g50v3");
		else if (n >= 4 && a[2] == DNP3_GROUP_FILE)
			proto_event(ctx, "file_operation", "write g70");
		break;
	default:
		if (fc >= DNP3_FC_OPEN_FILE && fc <= DNP3_FC_ABORT_FILE)
			proto_event(ctx, "file_operation", dnp3_request_names[fc]);
		break;
	}
}

/* The application header at the start of a fragment: control, function code, and IIN in responses. */
/* Device attributes (group 0, IEEE 1815-2012 A.2) in a response: the identity an outstation states.
 * Objects are walked while they are group 0 with a start-stop range (qualifier 0x00/0x01) and a string
 * value (data type 1); anything else ends the walk, since other groups cannot be sized without their
 * whole table. */
static void dnp3_device_attributes(struct proto_ctx *ctx, const uint8_t *objs, size_t n)
{
	struct cursor c;
	uint8_t group, var, qual, type, len;
	const uint8_t *v;

	cursor_init(&c, objs, n);
	while (cursor_u8(&c, &group) && cursor_u8(&c, &var) && cursor_u8(&c, &qual) && group == 0) {
		uint16_t start, stop;
		enum proto_attr attr;
		uint8_t b8;

		if (qual == 0x00) {
			if (!cursor_u8(&c, &b8))
				return;
			start = b8;
			if (!cursor_u8(&c, &b8))
				return;
			stop = b8;
		} else if (qual == 0x01) {
			if (!cursor_u16le(&c, &start) || !cursor_u16le(&c, &stop))
				return;
		} else {
			return;
		}
		if (start != stop || !cursor_u8(&c, &type) || !cursor_u8(&c, &len) || !cursor_bytes(&c, len, &v))
			return;
		if (type != 1) /* VSTR */
			continue;
		switch (var) {
		case 252: attr = PROTO_ATTR_VENDOR; break;
		case 250: attr = PROTO_ATTR_MODEL; break;
		case 242: attr = PROTO_ATTR_FIRMWARE; break;
		case 243: attr = PROTO_ATTR_HARDWARE; break;
		case 248: attr = PROTO_ATTR_SERIAL; break;
		case 247: attr = PROTO_ATTR_HOSTNAME; break; /* user-assigned device name */
		default: continue;
		}
		if (len)
			proto_attr_text(ctx, PROTO_TARGET_SRC, attr, v, len);
	}
}

static enum proto_result dnp3_app(struct proto_ctx *ctx, const uint8_t *a, size_t n)
{
	uint8_t fc;

	if (n < 2)
		return dnp3_malformed(ctx, "bad_length", "application header");
	fc = a[1];
	if (fc <= DNP3_FC_LAST_REQUEST) {
		proto_function(ctx, fc, dnp3_request_names[fc]);
		dnp3_request_events(ctx, fc, a, n);
		return PROTO_OK;
	}
	if (fc != DNP3_FC_RESPONSE && fc != DNP3_FC_UNSOLICITED_RESPONSE && fc != DNP3_FC_AUTHENTICATE_RESPONSE) {
		proto_violation(ctx, "illegal_function", "application function code");
		return PROTO_OK;
	}
	if (n < 4)
		return dnp3_malformed(ctx, "bad_length", "response header");
	if (fc == DNP3_FC_UNSOLICITED_RESPONSE)
		proto_function(ctx, fc, "unsolicited_response");
	if (fc == DNP3_FC_RESPONSE && (a[3] & DNP3_IIN2_NO_FUNC_CODE_SUPPORT))
		proto_event(ctx, "exception_response", "function code not supported");
	if (fc == DNP3_FC_RESPONSE && n > 4 && a[4] == 0)
		dnp3_device_attributes(ctx, a + 4, n - 4);
	return PROTO_OK;
}

/* One whole link frame of n bytes (n == dnp3_frame_size(f[2]), checked by the caller). */
static enum proto_result dnp3_frame(struct proto_ctx *ctx, const uint8_t *f, size_t n)
{
	uint8_t user[DNP3_MAX_USER];
	uint8_t ctl = f[3], lfc = ctl & 0x0f;
	bool prm = ctl & DNP3_CTL_PRM;
	size_t ulen = (size_t)f[2] - DNP3_MIN_LEN, u = 0;
	struct cursor c;

	if (!dnp3_crc_ok(f, DNP3_HDR - 2))
		return dnp3_malformed(ctx, "bad_crc", "header");
	if (ctl & DNP3_CTL_DIR) {
		ctx->src_role = PROTO_ROLE_CLIENT;
		ctx->dst_role = PROTO_ROLE_SERVER;
	} else {
		ctx->src_role = PROTO_ROLE_SERVER;
		ctx->dst_role = PROTO_ROLE_CLIENT;
	}
	if (!dnp3_link_func_valid(prm, lfc)) {
		proto_violation(ctx, "illegal_function", "link function code");
		return PROTO_OK;
	}
	if (prm && (lfc == DNP3_LINK_CONFIRMED_DATA || lfc == DNP3_LINK_UNCONFIRMED_DATA)) {
		if (ulen == 0)
			return dnp3_malformed(ctx, "bad_length", "user data frame without data");
	} else if (ulen != 0) {
		return dnp3_malformed(ctx, "bad_length", "link control frame with data");
	}
	cursor_init(&c, f + DNP3_HDR, n - DNP3_HDR);
	while (u < ulen) {
		size_t b = ulen - u < DNP3_BLOCK ? ulen - u : DNP3_BLOCK;
		const uint8_t *blk;

		if (!cursor_bytes(&c, b + 2, &blk))
			return dnp3_malformed(ctx, "truncated", "user data");
		if (!dnp3_crc_ok(blk, b))
			return dnp3_malformed(ctx, "bad_crc", "user data block");
		memcpy(user + u, blk, b);
		u += b;
	}
	if (ulen == 0 || !(user[0] & DNP3_TH_FIR))
		return PROTO_OK; /* link service frame, or a later segment of a fragment */
	return dnp3_app(ctx, user + 1, ulen - 1);
}

static enum proto_result dnp3_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	size_t off = 0, fsz;
	enum proto_result r;

	(void)state;
	if (len < 2 || p[0] != 0x05 || p[1] != 0x64)
		return PROTO_NOT_MINE;
	while (off < len) {
		const uint8_t *f = p + off;
		size_t rest = len - off;

		if (rest < DNP3_HDR || f[0] != 0x05 || f[1] != 0x64)
			return dnp3_malformed(ctx, rest < DNP3_HDR ? "truncated" : "bad_header", "link header");
		if (f[2] < DNP3_MIN_LEN)
			return dnp3_malformed(ctx, "bad_length", "link length");
		fsz = dnp3_frame_size(f[2]);
		if (fsz > rest)
			return dnp3_malformed(ctx, "truncated", "link frame");
		r = dnp3_frame(ctx, f, fsz);
		if (r != PROTO_OK)
			return r;
		off += fsz;
	}
	return PROTO_OK;
}

const struct dissector dissector_dnp3 = {
	.name = "dnp3",
	.pdu_len = dnp3_pdu_len,
	.parse = dnp3_parse,
	.max_pdu = DNP3_MAX_FRAME,
};
