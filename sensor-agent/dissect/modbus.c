/* Modbus/TCP: MBAP framing (Modbus Messaging on TCP/IP Implementation Guide V1.0b), the public function codes
 * with their length rules (Modbus Application Protocol Specification V1.1b3), Read Device Identification
 * (FC 43 / MEI 14) and Schneider Electric's UMAS engineering protocol, which rides in function code 90.
 *
 * Requests travel to the server (port 502), responses back; a response carries no copy of its request, so the
 * flow keeps a few outstanding requests keyed by transaction id to check response lengths against the quantity
 * asked for and to know which UMAS function a UMAS reply answers. */
#include <stdio.h>
#include <string.h>

#include "common/cursor.h"
#include "sensor-agent/dissect/proto.h"

#define MB_MBAP_HDR 6    /* transaction id, protocol id, length; the length counts the unit id and the PDU */
#define MB_MAX_ADU 260   /* 7-byte MBAP + 253-byte PDU: the serial ADU limit of 256 minus address and CRC */
/* Unity Pro sends UMAS frames with an MBAP length of 255 (a 261-byte ADU; modbus/modicon_test.pcap frames
 * 19-20). They are framed and parsed so that the stream keeps its sync, and reported as bad_length. */
#define MB_MAX_LEN_FIELD 255
#define MB_PENDING 16

#define MB_FC_UMAS 90
#define MB_FC_MEI 43
#define MB_MEI_DEVICE_ID 14
#define MB_MEI_CANOPEN 13

/* Function codes reported for sub-functions: FC << 8 | sub-function (cannot collide with a plain FC). */
#define MB_SUB(fc, sub) ((uint32_t)(fc) << 8 | (uint32_t)(sub))

/* UMAS function codes (public reverse-engineering write-ups: "The Unity (UMAS) protocol", lirasenlared 2017;
 * Kaspersky ICS CERT 2022). Schneider's naming is the engineering station's view turned around: an "upload"
 * (0x30-0x32) copies a program from the PC into the PLC, a "download" (0x33-0x35) reads it back. */
#define UMAS_READ_ID 0x02
#define UMAS_INITIALIZE_UPLOAD 0x30
#define UMAS_INITIALIZE_DOWNLOAD 0x33
#define UMAS_START_PLC 0x40
#define UMAS_STOP_PLC 0x41
#define UMAS_OK 0xfe
#define UMAS_ERROR 0xfd
/* In a READ_ID reply the CPU name is a length-prefixed string 25 bytes into the PDU, 22 after the status. */
#define UMAS_READ_ID_NAME_OFF 22

struct mb_pending {
	uint16_t tid;
	uint16_t qty; /* read quantity (FC 1-4, 23), else 0 */
	uint8_t fc;
	uint8_t sub;  /* UMAS function, MEI type */
	uint8_t used;
};

struct mb_state {
	struct mb_pending pend[MB_PENDING];
	uint8_t next;
	bool model_name_seen; /* a ModelName (object 5) was reported: a later ProductName must not replace it */
};

static const char *const mb_names[128] = {
	[1] = "read_coils",
	[2] = "read_discrete_inputs",
	[3] = "read_holding_registers",
	[4] = "read_input_registers",
	[5] = "write_single_coil",
	[6] = "write_single_register",
	[7] = "read_exception_status",
	[8] = "diagnostics",
	[9] = "program_484",
	[10] = "poll_484",
	[11] = "get_comm_event_counter",
	[12] = "get_comm_event_log",
	[13] = "program_controller",
	[14] = "poll_controller",
	[15] = "write_multiple_coils",
	[16] = "write_multiple_registers",
	[17] = "report_server_id",
	[20] = "read_file_record",
	[21] = "write_file_record",
	[22] = "mask_write_register",
	[23] = "read_write_multiple_registers",
	[24] = "read_fifo_queue",
	[41] = "reserved",
	[42] = "reserved",
	[43] = "encapsulated_interface",
	[90] = "umas",
	[91] = "reserved",
	[125] = "reserved",
	[126] = "reserved",
	[127] = "reserved",
};

static const char *const umas_names[256] = {
	[0x01] = "umas_init_comm",
	[0x02] = "umas_read_id",
	[0x03] = "umas_read_project_info",
	[0x04] = "umas_read_plc_info",
	[0x06] = "umas_read_card_info",
	[0x0a] = "umas_repeat",
	[0x10] = "umas_take_plc_reservation",
	[0x11] = "umas_release_plc_reservation",
	[0x12] = "umas_keep_alive",
	[0x20] = "umas_read_memory_block",
	[0x22] = "umas_read_variables",
	[0x23] = "umas_write_variables",
	[0x24] = "umas_read_coils_registers",
	[0x25] = "umas_write_coils_registers",
	[0x30] = "umas_initialize_upload",
	[0x31] = "umas_upload_block",
	[0x32] = "umas_end_strategy_upload",
	[0x33] = "umas_initialize_download",
	[0x34] = "umas_download_block",
	[0x35] = "umas_end_strategy_download",
	[0x39] = "umas_read_eth_master_data",
	[0x40] = "umas_start_plc",
	[0x41] = "umas_stop_plc",
	[0x50] = "umas_monitor_plc",
	[0x58] = "umas_check_plc",
	[0x70] = "umas_read_io_object",
	[0x71] = "umas_write_io_object",
	[0x73] = "umas_get_status_module",
};

static const char *const mb_exception_names[12] = {
	[1] = "illegal_function",
	[2] = "illegal_data_address",
	[3] = "illegal_data_value",
	[4] = "server_device_failure",
	[5] = "acknowledge",
	[6] = "server_device_busy",
	[8] = "memory_parity_error",
	[10] = "gateway_path_unavailable",
	[11] = "gateway_target_failed_to_respond",
};

/* The name of a function code a client may send, or NULL for an illegal one. Codes 65-72 and 100-110 are the
 * specification's user-defined ranges; the reserved codes (9, 10, 13, 14, 41, 42, 90, 91, 125-127) belong to
 * legacy and vendor products (Annex A). */
static const char *mb_fc_name(uint8_t fc)
{
	if (fc >= 128)
		return NULL;
	if ((fc >= 65 && fc <= 72) || (fc >= 100 && fc <= 110))
		return "user_defined";
	return mb_names[fc];
}

static long mb_pdu_len(const uint8_t *p, size_t len)
{
	uint16_t n;

	/* The protocol id is 0 for Modbus; the length's high byte is 0 since it cannot exceed 255. */
	if ((len > 2 && p[2] != 0) || (len > 3 && p[3] != 0) || (len > 4 && p[4] != 0))
		return -1;
	if (len < MB_MBAP_HDR)
		return 0;
	n = (uint16_t)(p[4] << 8 | p[5]);
	if (n < 2 || n > MB_MAX_LEN_FIELD)
		return -1;
	return MB_MBAP_HDR + (long)n;
}

static enum proto_result mb_bad_len(struct proto_ctx *ctx, const char *what)
{
	proto_violation(ctx, "bad_length", what);
	return PROTO_MALFORMED;
}

static void mb_bad_value(struct proto_ctx *ctx, const char *what)
{
	proto_violation(ctx, "bad_value", what);
}

/* Records an outstanding request. A transaction id in use again replaces its older request (clients that
 * keep the id at 0 and requests that were never answered). */
static void mb_remember(struct mb_state *st, uint16_t tid, uint8_t fc, uint8_t sub, uint16_t qty)
{
	struct mb_pending *e = &st->pend[st->next];

	for (size_t i = 0; i < MB_PENDING; i++)
		if (st->pend[i].used && st->pend[i].tid == tid)
			st->pend[i].used = 0;
	st->next = (uint8_t)((st->next + 1) % MB_PENDING);
	*e = (struct mb_pending){ .tid = tid, .qty = qty, .fc = fc, .sub = sub, .used = 1 };
}

/* The outstanding request a response answers (same transaction id and function), consumed; NULL if none. */
static const struct mb_pending *mb_match(struct mb_state *st, uint16_t tid, uint8_t fc)
{
	for (size_t i = 0; i < MB_PENDING; i++) {
		struct mb_pending *e = &st->pend[i];
		if (e->used && e->tid == tid && e->fc == fc) {
			e->used = 0;
			return e;
		}
	}
	return NULL;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* FC 8 sub-functions that change how the server talks: 0x0001 Restart Communications Option (leaves
 * listen-only mode, restarts the port) and 0x0004 Force Listen Only Mode (the server stops answering). */
static void mb_diagnostics(struct proto_ctx *ctx, const uint8_t *d)
{
	uint16_t sub = be16(d);

	if (sub == 0x0001)
		proto_event(ctx, "communication_control", "restart_communications_option");
	else if (sub == 0x0004)
		proto_event(ctx, "communication_control", "force_listen_only_mode");
}

static void umas_request(struct mb_state *st, struct proto_ctx *ctx, uint16_t tid, uint8_t sub)
{
	if (umas_names[sub])
		proto_function(ctx, MB_SUB(MB_FC_UMAS, sub), umas_names[sub]);
	switch (sub) {
	case UMAS_START_PLC:
		proto_event(ctx, "plc_start", "umas");
		break;
	case UMAS_STOP_PLC:
		proto_event(ctx, "plc_stop", "umas");
		break;
	case UMAS_INITIALIZE_UPLOAD:
		proto_event(ctx, "program_download", "umas");
		break;
	case UMAS_INITIALIZE_DOWNLOAD:
		proto_event(ctx, "program_upload", "umas");
		break;
	}
	mb_remember(st, tid, MB_FC_UMAS, sub, 0);
}

/* Request PDU rules (Modbus Application Protocol V1.1b3, section 6). n is the PDU length with the function
 * code; d points after the function code. */
static enum proto_result mb_request(struct mb_state *st, struct proto_ctx *ctx, uint16_t tid, uint8_t fc,
				    const uint8_t *d, size_t n)
{
	const char *name = mb_fc_name(fc);
	uint16_t qty = 0, qty2;
	char detail[48];

	if (!name) {
		snprintf(detail, sizeof(detail), "function code %u", fc);
		proto_violation(ctx, "illegal_function", detail);
		return PROTO_OK;
	}
	proto_function(ctx, fc, name);
	switch (fc) {
	case 1:
	case 2:
	case 3:
	case 4:
		if (n != 5)
			return mb_bad_len(ctx, name);
		qty = be16(d + 2);
		if (qty == 0 || qty > (fc <= 2 ? 2000 : 125))
			mb_bad_value(ctx, name);
		break;
	case 5:
		if (n != 5)
			return mb_bad_len(ctx, name);
		if (be16(d + 2) != 0x0000 && be16(d + 2) != 0xff00)
			mb_bad_value(ctx, name);
		break;
	case 6:
		if (n != 5)
			return mb_bad_len(ctx, name);
		break;
	case 7:
	case 11:
	case 12:
	case 17:
		if (n != 1)
			return mb_bad_len(ctx, name);
		break;
	case 8:
		if (n < 3)
			return mb_bad_len(ctx, name);
		mb_diagnostics(ctx, d);
		break;
	case 15:
	case 16:
		if (n < 6 || n != 6u + d[4])
			return mb_bad_len(ctx, name);
		qty2 = be16(d + 2);
		if (fc == 15 ? (qty2 == 0 || qty2 > 1968 || d[4] != (qty2 + 7) / 8)
			     : (qty2 == 0 || qty2 > 123 || d[4] != 2 * qty2))
			mb_bad_value(ctx, name);
		break;
	case 20:
	case 21:
		/* Sub-requests of 7 bytes (read) or 7 + data (write), byte count 0x07..0xf5. */
		if (n < 2 || n != 2u + d[0] || d[0] < 7)
			return mb_bad_len(ctx, name);
		if (fc == 20 && d[0] % 7)
			return mb_bad_len(ctx, name);
		break;
	case 22:
		if (n != 7)
			return mb_bad_len(ctx, name);
		break;
	case 23:
		if (n < 10 || n != 10u + d[8])
			return mb_bad_len(ctx, name);
		qty = be16(d + 2);
		qty2 = be16(d + 6);
		if (qty == 0 || qty > 125 || qty2 == 0 || qty2 > 121 || d[8] != 2 * qty2)
			mb_bad_value(ctx, name);
		break;
	case 24:
		if (n != 3)
			return mb_bad_len(ctx, name);
		break;
	case MB_FC_MEI:
		if (n < 2)
			return mb_bad_len(ctx, name);
		if (d[0] == MB_MEI_DEVICE_ID) {
			proto_function(ctx, MB_SUB(MB_FC_MEI, MB_MEI_DEVICE_ID), "read_device_identification");
			if (n != 4)
				return mb_bad_len(ctx, "read_device_identification");
		} else if (d[0] == MB_MEI_CANOPEN) {
			proto_function(ctx, MB_SUB(MB_FC_MEI, MB_MEI_CANOPEN), "canopen_general_reference");
		}
		mb_remember(st, tid, fc, d[0], 0);
		return PROTO_OK;
	case MB_FC_UMAS:
		if (n < 3)
			return mb_bad_len(ctx, name);
		umas_request(st, ctx, tid, d[1]);
		return PROTO_OK;
	}
	mb_remember(st, tid, fc, 0, qty);
	return PROTO_OK;
}

static void mb_exception(struct proto_ctx *ctx, uint8_t fc, uint8_t code)
{
	const char *fname = mb_fc_name(fc & 0x7f);
	const char *cname = code < 12 ? mb_exception_names[code] : NULL;
	char detail[96], fbuf[24], cbuf[16];

	if (!fname) {
		snprintf(fbuf, sizeof(fbuf), "function code %u", fc & 0x7f);
		fname = fbuf;
	}
	if (!cname) {
		snprintf(cbuf, sizeof(cbuf), "code %u", code);
		cname = cbuf;
	}
	snprintf(detail, sizeof(detail), "%s: %s", fname, cname);
	proto_event(ctx, "exception_response", detail);
}

static bool mb_printable(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return n > 0;
}

/* Read Device Identification response (V1.1b3 6.21): MEI type, read device id code, conformity level, more
 * follows, next object id, number of objects, then (id, length, value) per object. A ModelName (5) is the
 * model; a ProductName (4) stands in only when no ModelName came in this response or earlier on the flow. */
static enum proto_result mb_device_id(struct mb_state *st, struct proto_ctx *ctx, struct cursor *c)
{
	const uint8_t *obj[6] = { 0 };
	uint8_t objlen[6] = { 0 };
	uint8_t hdr[6], count, id, olen;
	const uint8_t *v;

	for (size_t i = 0; i < sizeof(hdr); i++)
		if (!cursor_u8(c, &hdr[i]))
			return mb_bad_len(ctx, "read_device_identification");
	count = hdr[5];
	for (unsigned i = 0; i < count; i++) {
		if (!cursor_u8(c, &id) || !cursor_u8(c, &olen) || !cursor_bytes(c, olen, &v))
			return mb_bad_len(ctx, "read_device_identification");
		if (id < 6) {
			obj[id] = v;
			objlen[id] = olen;
		}
	}
	if (cursor_remaining(c))
		return mb_bad_len(ctx, "read_device_identification");
	if (obj[0] && objlen[0])
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_VENDOR, obj[0], objlen[0]);
	if (obj[1] && objlen[1])
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_PRODUCT_CODE, obj[1], objlen[1]);
	if (obj[2] && objlen[2])
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_FIRMWARE, obj[2], objlen[2]);
	if (obj[5] && objlen[5]) {
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_MODEL, obj[5], objlen[5]);
		st->model_name_seen = true;
	} else if (obj[4] && objlen[4] && !st->model_name_seen) {
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_MODEL, obj[4], objlen[4]);
	}
	return PROTO_OK;
}

static enum proto_result umas_response(struct proto_ctx *ctx, const struct mb_pending *req, struct cursor *c)
{
	uint8_t session, status, nlen;
	const uint8_t *name;
	char detail[64];

	if (!cursor_u8(c, &session) || !cursor_u8(c, &status))
		return mb_bad_len(ctx, "umas");
	if (status == UMAS_ERROR) {
		if (req && umas_names[req->sub])
			snprintf(detail, sizeof(detail), "%s: error", umas_names[req->sub]);
		else
			snprintf(detail, sizeof(detail), "umas: error");
		proto_event(ctx, "exception_response", detail);
		return PROTO_OK;
	}
	if (status != UMAS_OK || !req || req->sub != UMAS_READ_ID)
		return PROTO_OK;
	if (cursor_skip(c, UMAS_READ_ID_NAME_OFF) && cursor_u8(c, &nlen) && cursor_bytes(c, nlen, &name) &&
	    mb_printable(name, nlen))
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_MODULE, name, nlen);
	return PROTO_OK;
}

/* Response PDU rules (V1.1b3 section 6); a read response is also checked against the quantity its request
 * asked for when the request was seen. */
static enum proto_result mb_response(struct mb_state *st, struct proto_ctx *ctx, uint16_t tid, uint8_t fc,
				     const uint8_t *d, size_t n)
{
	const char *name;
	const struct mb_pending *req;
	struct cursor c;
	char detail[48];

	if (fc & 0x80) {
		if (n != 2)
			return mb_bad_len(ctx, "exception_response");
		mb_match(st, tid, fc & 0x7f);
		mb_exception(ctx, fc, d[0]);
		return PROTO_OK;
	}
	name = mb_fc_name(fc);
	if (!name) {
		snprintf(detail, sizeof(detail), "function code %u", fc);
		proto_violation(ctx, "illegal_function", detail);
		return PROTO_OK;
	}
	req = mb_match(st, tid, fc);
	cursor_init(&c, d, n - 1);
	switch (fc) {
	case 1:
	case 2:
	case 3:
	case 4:
		if (n < 2 || n != 2u + d[0])
			return mb_bad_len(ctx, name);
		if (fc >= 3 && d[0] % 2)
			return mb_bad_len(ctx, name);
		if (req && req->qty && d[0] != (fc <= 2 ? (req->qty + 7) / 8 : 2 * req->qty))
			return mb_bad_len(ctx, name);
		break;
	case 5:
	case 6:
	case 11:
	case 15:
	case 16:
		if (n != 5)
			return mb_bad_len(ctx, name);
		break;
	case 7:
		if (n != 2)
			return mb_bad_len(ctx, name);
		break;
	case 8:
		if (n < 3)
			return mb_bad_len(ctx, name);
		break;
	case 12:
	case 17:
	case 20:
	case 21:
		if (n < 2 || n != 2u + d[0])
			return mb_bad_len(ctx, name);
		break;
	case 22:
		if (n != 7)
			return mb_bad_len(ctx, name);
		break;
	case 23:
		if (n < 2 || n != 2u + d[0] || d[0] % 2)
			return mb_bad_len(ctx, name);
		if (req && req->qty && d[0] != 2 * req->qty)
			return mb_bad_len(ctx, name);
		break;
	case 24:
		if (n < 5 || n != 3u + be16(d))
			return mb_bad_len(ctx, name);
		break;
	case MB_FC_MEI:
		if (n < 2)
			return mb_bad_len(ctx, name);
		if (d[0] == MB_MEI_DEVICE_ID)
			return mb_device_id(st, ctx, &c);
		break;
	case MB_FC_UMAS:
		return umas_response(ctx, req, &c);
	}
	return PROTO_OK;
}

static enum proto_result mb_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	struct mb_state *st = state;
	struct cursor c;
	uint16_t tid, pid, mlen;
	uint8_t unit, fc;
	const uint8_t *d;
	size_t n;
	bool oversized;
	enum proto_result r;

	cursor_init(&c, p, len);
	if (!cursor_u16be(&c, &tid) || !cursor_u16be(&c, &pid) || !cursor_u16be(&c, &mlen))
		return mb_bad_len(ctx, "mbap");
	if (pid != 0)
		return PROTO_NOT_MINE;
	if (mlen < 2 || mlen > MB_MAX_LEN_FIELD || (size_t)mlen != cursor_remaining(&c) || !cursor_u8(&c, &unit) ||
	    !cursor_u8(&c, &fc))
		return mb_bad_len(ctx, "mbap");
	/* Schneider's UMAS (FC 90) fills the length field to 255 (a 261-byte ADU) as a matter of course: a
	 * violation there would fire on every healthy Unity engineering session. */
	oversized = MB_MBAP_HDR + (size_t)mlen > MB_MAX_ADU && (fc & 0x7f) != 90;
	if (oversized)
		proto_violation(ctx, "bad_length", "adu longer than 260 bytes");
	n = cursor_remaining(&c) + 1; /* the PDU, function code included */
	d = cursor_ptr(&c);
	if (ctx->dir == PROTO_DIR_TO_SERVER)
		r = mb_request(st, ctx, tid, fc, d, n);
	else
		r = mb_response(st, ctx, tid, fc, d, n);
	return oversized && r == PROTO_OK ? PROTO_MALFORMED : r;
}

const struct dissector dissector_modbus = {
	.name = "mbtcp",
	.state_size = sizeof(struct mb_state),
	.pdu_len = mb_pdu_len,
	.parse = mb_parse,
	.max_pdu = MB_MBAP_HDR + MB_MAX_LEN_FIELD,
};
