/* EtherNet/IP encapsulation (ODVA CIP Vol. 2, chapter 2) and the CIP explicit messages it carries (Vol. 1,
 * chapters 2-5), on TCP and UDP 44818; UDP 2222 carries implicit (class 0/1) I/O, which is only confirmed.
 *
 * Function codes (one number space for the dissector, all readable in hex):
 *   0x100000cc        encapsulation command cc (list_identity 0x10000063, send_rr_data 0x1000006f, ...)
 *   (class << 8) | ss  CIP request service ss on object class `class` (0 when the path names no class, as in
 *                      Logix symbolic tag paths): 0x010e get_attribute_single on Identity, 0x0654 forward_open
 *                      on the Connection Manager, 0x4c read_tag on a symbolic path, 0xf510
 *                      set_attribute_single on TCP/IP Interface. Classes above 0xffff are clamped to 0xffff.
 * Multiple_Service_Packet and Unconnected_Send report themselves and the requests they carry.
 *
 * Events:
 *   plc_stop / plc_start    Stop (0x07) / Start (0x06) request on any object (Logix controllers take them on
 *                           their vendor class 0x8e: cip_stop_plc.pcap).
 *   cold_restart            Identity Reset (0x05) type 0 ("emulate power cycle").
 *   factory_reset           Identity Reset type 1 or 2 (return to out-of-box configuration).
 *   ip_change / name_change Set_Attribute_Single/List/All on the TCP/IP Interface object (0xf5): attributes
 *                           3 (configuration control) and 5 (interface configuration) / 6 (host name).
 *   firmware_update         once per flow: a class-specific request to class 0xa1, the vendor object Rockwell's
 *                           flash tools write firmware images to (EIP-FirmwareChange.pcap: 0x51, 0x4b, then
 *                           5243 x 0x4d, then an Identity Reset).
 *   exception_response      a CIP reply whose general status is neither success (0) nor partial transfer (6),
 *                           or an encapsulation reply with a non-zero status.
 * Program download/upload and mode changes by RSLogix 5000 use undocumented vendor objects (0x68-0x72, 0x8e,
 * 0xac in ControlLogix_Logix5000_download_upload_run.pcap); they are reported as functions but no event is
 * derived from them (there is no public definition to justify one).
 *
 * Identity facts (vendor, device type, product code, revision, serial, product name) come from ListIdentity
 * replies (CPF item 0x0c) and from Get_Attributes_All replies of the Identity object when the request was not
 * routed to another module by Unconnected_Send. */
#include "sensor-agent/dissect/proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/cursor.h"
#include "sensor-agent/dissect/vendors.h"

#define ENIP_HDR 24u
/* CIP explicit messages are at most 4002 bytes even over Large_Forward_Open connections; 8 KiB of
 * encapsulated data leaves room for CPF overhead and unusual vendors while bounding the reassembly buffer. */
#define ENIP_MAX_DATA 8192u
#define ENIP_IO_PORT 2222u
#define FN_ENCAP 0x10000000u

#define CIP_CLASS_IDENTITY 0x01u
#define CIP_CLASS_MSG_ROUTER 0x02u
#define CIP_CLASS_CONN_MGR 0x06u
#define CIP_CLASS_FW_XFER 0xa1u
#define CIP_CLASS_TCPIP 0xf5u

/* Per-flow state: the last top-level request, to interpret its reply (replies carry no path). */
struct enip_state {
	uint32_t last_fn; /* within one PDU: the function just reported (MSPs repeat one service many times) */
	uint32_t pend_class;
	uint8_t pend_service;
	bool pend_valid;
	bool pend_routed;
	bool fw_reported;
};

struct cip_path {
	uint32_t cls, inst, attr;
	bool has_cls, has_inst, has_attr;
};

/* ---- names ---------------------------------------------------------------------------------------------- */

static const char *encap_name(uint16_t cmd)
{
	switch (cmd) {
	case 0x0000: return "nop";
	case 0x0001: case 0x0002: case 0x0003: return "legacy_command";
	case 0x0004: return "list_services";
	case 0x0063: return "list_identity";
	case 0x0064: return "list_interfaces";
	case 0x0065: return "register_session";
	case 0x0066: return "unregister_session";
	case 0x006f: return "send_rr_data";
	case 0x0070: return "send_unit_data";
	case 0x0072: return "indicate_status";
	case 0x0073: return "cancel";
	default: return NULL;
	}
}

/* CIP Vol. 1 appendix A: services 0x00-0x31 are common, 0x32-0x4a vendor specific, 0x4b-0x63 object class
 * specific, 0x64-0x7f reserved. */
static const char *common_service_name(uint8_t s)
{
	switch (s) {
	case 0x01: return "get_attributes_all";
	case 0x02: return "set_attributes_all";
	case 0x03: return "get_attribute_list";
	case 0x04: return "set_attribute_list";
	case 0x05: return "reset";
	case 0x06: return "start";
	case 0x07: return "stop";
	case 0x08: return "create";
	case 0x09: return "delete";
	case 0x0a: return "multiple_service_packet";
	case 0x0d: return "apply_attributes";
	case 0x0e: return "get_attribute_single";
	case 0x10: return "set_attribute_single";
	case 0x11: return "find_next_object_instance";
	case 0x14: return "error_response";
	case 0x15: return "restore";
	case 0x16: return "save";
	case 0x17: return "nop";
	case 0x18: return "get_member";
	case 0x19: return "set_member";
	case 0x1a: return "insert_member";
	case 0x1b: return "remove_member";
	case 0x1c: return "group_sync";
	default: return s <= 0x31 ? "common_service" : "vendor_specific_service";
	}
}

static const char *class_service_name(uint32_t cls, uint8_t s)
{
	if (cls == CIP_CLASS_CONN_MGR) {
		switch (s) {
		case 0x4e: return "forward_close";
		case 0x52: return "unconnected_send";
		case 0x54: return "forward_open";
		case 0x56: return "get_connection_data";
		case 0x57: return "search_connection_data";
		case 0x5a: return "get_connection_owner";
		case 0x5b: return "large_forward_open";
		default: return "connection_manager_service";
		}
	}
	if (cls == CIP_CLASS_FW_XFER)
		return "firmware_object_service";
	if (cls == 0x67 && s == 0x4b)
		return "execute_pccc";
	/* Logix tag services, addressed by symbolic path or by the vendor symbol/template classes. */
	switch (s) {
	case 0x4c: return "read_tag";
	case 0x4d: return "write_tag";
	case 0x4e: return "read_modify_write_tag";
	case 0x52: return "read_tag_fragmented";
	case 0x53: return "write_tag_fragmented";
	case 0x55: return "get_instance_attribute_list";
	default: return "class_specific_service";
	}
}

static const char *device_type_name(uint16_t t)
{
	switch (t) {
	case 0x00: return "Generic Device";
	case 0x02: return "AC Drive";
	case 0x03: return "Motor Overload";
	case 0x04: return "Limit Switch";
	case 0x05: return "Inductive Proximity Switch";
	case 0x06: return "Photoelectric Sensor";
	case 0x07: return "General Purpose Discrete I/O";
	case 0x09: return "Resolver";
	case 0x0c: return "Communications Adapter";
	case 0x0e: return "Programmable Logic Controller";
	case 0x10: return "Position Controller";
	case 0x13: return "DC Drive";
	case 0x15: return "Contactor";
	case 0x16: return "Motor Starter";
	case 0x17: return "Soft Start";
	case 0x18: return "Human-Machine Interface";
	case 0x1a: return "Mass Flow Controller";
	case 0x1b: return "Pneumatic Valve";
	case 0x1c: return "Vacuum Pressure Gauge";
	case 0x1d: return "Process Control Valve";
	case 0x1e: return "Residual Gas Analyzer";
	case 0x1f: return "DC Power Generator";
	case 0x20: return "RF Power Generator";
	case 0x21: return "Turbomolecular Vacuum Pump";
	case 0x22: return "Encoder";
	case 0x23: return "Safety Discrete I/O Device";
	case 0x24: return "Fluid Flow Controller";
	case 0x25: return "CIP Motion Drive";
	case 0x26: return "CompoNet Repeater";
	case 0x27: return "Mass Flow Controller, Enhanced";
	case 0x28: return "CIP Modbus Device";
	case 0x29: return "CIP Modbus Translator";
	case 0x2a: return "Safety Analog I/O Device";
	case 0x2b: return "Generic Device (keyable)";
	case 0x2c: return "Managed Ethernet Switch";
	case 0x2d: return "CIP Motion Safety Drive Device";
	case 0x2e: return "Safety Drive Device";
	case 0x2f: return "CIP Motion Encoder";
	case 0x30: return "CIP Motion Converter";
	case 0x31: return "CIP Motion I/O";
	case 0x32: return "ControlNet Physical Layer Component";
	case 0xc8: return "Embedded Component";
	default: return NULL;
	}
}

/* ---- framing -------------------------------------------------------------------------------------------- */

static long enip_pdu_len(const uint8_t *p, size_t len)
{
	uint16_t cmd, n;

	if (len < 2)
		return 0;
	cmd = (uint16_t)(p[0] | p[1] << 8);
	if (!encap_name(cmd))
		return -1;
	if (len < 4)
		return 0;
	n = (uint16_t)(p[2] | p[3] << 8);
	return (long)ENIP_HDR + n;
}

/* ---- CIP paths ------------------------------------------------------------------------------------------ */

static bool seg_value(struct cursor *c, unsigned format, uint32_t *v)
{
	uint8_t b8, pad;
	uint16_t b16;

	switch (format) {
	case 0:
		if (!cursor_u8(c, &b8))
			return false;
		*v = b8;
		return true;
	case 1:
		if (!cursor_u8(c, &pad) || !cursor_u16le(c, &b16))
			return false;
		*v = b16;
		return true;
	case 2:
		return cursor_u8(c, &pad) && cursor_u32le(c, v);
	default:
		return false;
	}
}

/* Fills what the path names; stops quietly at a segment it does not know (the rest is not needed). */
static void cip_path_parse(const uint8_t *p, size_t n, struct cip_path *out)
{
	struct cursor c;
	uint8_t s, b;
	uint32_t v;

	memset(out, 0, sizeof(*out));
	cursor_init(&c, p, n);
	while (cursor_u8(&c, &s)) {
		if ((s & 0xe0) == 0x20) { /* logical segment */
			unsigned type = (s >> 2) & 7, format = s & 3;
			if (type == 5) { /* special: electronic key, format 4 */
				if (format != 0 || !cursor_u8(&c, &b) || b != 4 || !cursor_skip(&c, 8))
					return;
				continue;
			}
			if (!seg_value(&c, format, &v))
				return;
			if (type == 0 && !out->has_cls) {
				out->cls = v;
				out->has_cls = true;
			} else if (type == 1 && !out->has_inst) {
				out->inst = v;
				out->has_inst = true;
			} else if (type == 4 && !out->has_attr) {
				out->attr = v;
				out->has_attr = true;
			}
		} else if ((s & 0xe0) == 0x00) { /* port segment */
			if ((s & 0x0f) == 0x0f && !cursor_skip(&c, 2))
				return;
			if (s & 0x10) {
				if (!cursor_u8(&c, &b) || !cursor_skip(&c, b + (size_t)(b & 1)))
					return;
			} else if (!cursor_skip(&c, 1)) {
				return;
			}
		} else if (s == 0x91) { /* ANSI extended symbol: a Logix tag name */
			if (!cursor_u8(&c, &b) || !cursor_skip(&c, b + (size_t)(b & 1)))
				return;
		} else if (s == 0x80) { /* simple data segment */
			if (!cursor_u8(&c, &b) || !cursor_skip(&c, (size_t)b * 2))
				return;
		} else {
			return;
		}
	}
}

/* ---- reporting helpers ---------------------------------------------------------------------------------- */

static void event_fmt(struct proto_ctx *ctx, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* An event with a formatted detail (events are rare: formatting here is off the hot path). */
static void event_fmt(struct proto_ctx *ctx, const char *name, const char *fmt, ...)
{
	char d[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d, sizeof(d), fmt, ap);
	va_end(ap);
	proto_event(ctx, name, d);
}

static void report_identity(struct proto_ctx *ctx, struct cursor *c)
{
	uint16_t vendor, dtype, pcode, status;
	uint8_t maj, min, nlen;
	uint32_t serial;
	const uint8_t *name;
	const char *vname, *tname;
	char buf[48];

	if (!cursor_u16le(c, &vendor) || !cursor_u16le(c, &dtype) || !cursor_u16le(c, &pcode) ||
	    !cursor_u8(c, &maj) || !cursor_u8(c, &min) || !cursor_u16le(c, &status) || !cursor_u32le(c, &serial))
		return;
	proto_attr_num(ctx, PROTO_TARGET_SRC, PROTO_ATTR_VENDOR_ID, vendor);
	if ((vname = vendors_cip(vendor)))
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_VENDOR, vname, strlen(vname));
	if ((tname = device_type_name(dtype))) {
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_DEVICE_TYPE, tname, strlen(tname));
	} else {
		int k = snprintf(buf, sizeof(buf), "%s 0x%02X", dtype >= 0x64 ? "vendor-specific" : "device type",
				 (unsigned)dtype);
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_DEVICE_TYPE, buf, (size_t)k);
	}
	proto_attr_num(ctx, PROTO_TARGET_SRC, PROTO_ATTR_PRODUCT_CODE, pcode);
	proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_FIRMWARE, buf,
			(size_t)snprintf(buf, sizeof(buf), "%u.%u", (unsigned)maj, (unsigned)min));
	proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_SERIAL, buf,
			(size_t)snprintf(buf, sizeof(buf), "%08X", (unsigned)serial));
	if (cursor_u8(c, &nlen) && nlen && cursor_bytes(c, nlen, &name))
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_MODEL, name, nlen);
}

/* ---- CIP messages --------------------------------------------------------------------------------------- */

static void cip_message(struct enip_state *st, struct proto_ctx *ctx, const uint8_t *p, size_t n, unsigned depth,
			bool routed);

/* Events that follow from a request's service, class and data. */
static void cip_request_events(struct enip_state *st, struct proto_ctx *ctx, uint8_t svc, const struct cip_path *pa,
			       struct cursor *data)
{
	uint8_t b;

	if (svc == 0x07 || svc == 0x06) {
		event_fmt(ctx, svc == 0x07 ? "plc_stop" : "plc_start", "class 0x%02X instance %u", (unsigned)pa->cls,
			  (unsigned)pa->inst);
	} else if (svc == 0x05 && pa->cls == CIP_CLASS_IDENTITY) {
		b = 0;
		(void)cursor_u8(data, &b); /* the reset type is optional (default 0) */
		if (b == 0)
			proto_event(ctx, "cold_restart", "identity reset type 0");
		else if (b == 1 || b == 2)
			event_fmt(ctx, "factory_reset", "identity reset type %u", (unsigned)b);
	} else if (pa->cls == CIP_CLASS_TCPIP && (svc == 0x10 || svc == 0x04 || svc == 0x02)) {
		uint16_t cnt, id;
		uint32_t ip;
		if (svc == 0x04) { /* Set_Attribute_List: count, then (id, value)...: only the first id is read */
			if (!cursor_u16le(data, &cnt) || !cursor_u16le(data, &id))
				return;
		} else {
			id = svc == 0x02 ? 5 : (uint16_t)pa->attr;
		}
		if (id == 6) {
			proto_event(ctx, "name_change", "tcp/ip interface host name");
		} else if (id == 5 && svc == 0x10 && cursor_u32le(data, &ip)) {
			char d[48];
			snprintf(d, sizeof(d), "tcp/ip interface address %u.%u.%u.%u", (unsigned)(ip >> 24),
				 (unsigned)(ip >> 16) & 0xff, (unsigned)(ip >> 8) & 0xff, (unsigned)ip & 0xff);
			proto_event(ctx, "ip_change", d);
		} else if (id == 3 || id == 5) {
			event_fmt(ctx, "ip_change", "tcp/ip interface attribute %u", (unsigned)id);
		}
	} else if (pa->cls == CIP_CLASS_FW_XFER && svc >= 0x4b && svc <= 0x63 && !st->fw_reported) {
		st->fw_reported = true;
		event_fmt(ctx, "firmware_update", "class 0xA1 service 0x%02X", (unsigned)svc);
	}
}

/* Multiple_Service_Packet (Vol. 1 ): count, offsets from the count field, embedded requests. */
static void cip_multiple(struct enip_state *st, struct proto_ctx *ctx, const uint8_t *d, size_t n, unsigned depth,
			 bool routed)
{
	struct cursor c;
	uint16_t cnt, off, next;

	cursor_init(&c, d, n);
	if (!cursor_u16le(&c, &cnt) || cnt == 0 || (size_t)cnt * 2 > n - 2) {
		proto_violation(ctx, "bad_length", "multiple service packet");
		return;
	}
	for (uint16_t i = 0; i < cnt; i++) {
		if (!cursor_u16le(&c, &off))
			return;
		next = (uint16_t)n;
		if (i + 1 < cnt) {
			struct cursor peek = c;
			if (!cursor_u16le(&peek, &next))
				return;
		}
		if (off < 2 + (size_t)cnt * 2 || off >= n || next > n || next <= off) {
			proto_violation(ctx, "bad_length", "multiple service packet offset");
			return;
		}
		cip_message(st, ctx, d + off, (size_t)(next - off), depth + 1, routed);
	}
}

/* Unconnected_Send (Vol. 1 3-5.6.3): priority/tick, timeout, embedded request size and request, route path. */
static void cip_unconnected_send(struct enip_state *st, struct proto_ctx *ctx, struct cursor *c, unsigned depth)
{
	uint16_t sz;
	const uint8_t *req;

	if (!cursor_skip(c, 2) || !cursor_u16le(c, &sz) || !cursor_bytes(c, sz, &req)) {
		proto_violation(ctx, "truncated", "unconnected send");
		return;
	}
	cip_message(st, ctx, req, sz, depth + 1, true);
}

static void cip_request(struct enip_state *st, struct proto_ctx *ctx, struct cursor *c, uint8_t svc, unsigned depth,
			bool routed)
{
	uint8_t words;
	const uint8_t *path;
	struct cip_path pa;
	uint32_t cls;
	const char *name;

	if (!cursor_u8(c, &words) || !cursor_bytes(c, (size_t)words * 2, &path)) {
		proto_violation(ctx, "truncated", "cip request path");
		return;
	}
	cip_path_parse(path, (size_t)words * 2, &pa);
	cls = pa.cls > 0xffff ? 0xffff : pa.cls;
	if (svc >= 0x64) {
		proto_violation(ctx, "illegal_function", "reserved cip service");
		return;
	}
	if (((cls << 8) | svc) != st->last_fn) {
		name = svc >= 0x4b ? class_service_name(cls, svc) : common_service_name(svc);
		st->last_fn = (cls << 8) | svc;
		proto_function(ctx, st->last_fn, name);
	}
	if (depth == 0) {
		st->pend_valid = true;
		st->pend_service = svc;
		st->pend_class = cls;
		st->pend_routed = routed;
	}
	cip_request_events(st, ctx, svc, &pa, c);
	if (depth >= 2)
		return; /* one level of nesting (MSP inside Unconnected_Send) is all real traffic uses */
	if (svc == 0x0a && (cls == CIP_CLASS_MSG_ROUTER || !pa.has_cls))
		cip_multiple(st, ctx, cursor_ptr(c), cursor_remaining(c), depth, routed);
	else if (svc == 0x52 && cls == CIP_CLASS_CONN_MGR)
		cip_unconnected_send(st, ctx, c, depth);
}

static void cip_reply(struct enip_state *st, struct proto_ctx *ctx, struct cursor *c, uint8_t svc, unsigned depth)
{
	uint8_t reserved, gstat, extwords;

	if (!cursor_u8(c, &reserved) || !cursor_u8(c, &gstat) || !cursor_u8(c, &extwords) ||
	    !cursor_skip(c, (size_t)extwords * 2)) {
		proto_violation(ctx, "truncated", "cip reply header");
		return;
	}
	if (gstat != 0x00 && gstat != 0x06)
		event_fmt(ctx, "exception_response", "cip service 0x%02X general status 0x%02X", (unsigned)svc,
			  (unsigned)gstat);
	if (depth == 0 && st->pend_valid) {
		if (gstat == 0 && svc == 0x01 && st->pend_service == 0x01 && st->pend_class == CIP_CLASS_IDENTITY &&
		    !st->pend_routed)
			report_identity(ctx, c);
		st->pend_valid = false;
	}
}

static void cip_message(struct enip_state *st, struct proto_ctx *ctx, const uint8_t *p, size_t n, unsigned depth,
			bool routed)
{
	struct cursor c;
	uint8_t svc;

	cursor_init(&c, p, n);
	if (!cursor_u8(&c, &svc)) {
		proto_violation(ctx, "truncated", "empty cip message");
		return;
	}
	if (svc & 0x80)
		cip_reply(st, ctx, &c, (uint8_t)(svc & 0x7f), depth);
	else
		cip_request(st, ctx, &c, svc, depth, routed);
}

/* ---- encapsulation -------------------------------------------------------------------------------------- */

/* Common Packet Format (Vol. 2 2-6): item count, then (type, length, data) items. */
static enum proto_result cpf_items(struct enip_state *st, struct proto_ctx *ctx, struct cursor *c, uint16_t cmd)
{
	uint16_t count, type, ilen;
	struct cursor item;

	if (!cursor_u16le(c, &count)) {
		proto_violation(ctx, "truncated", "cpf item count");
		return PROTO_MALFORMED;
	}
	for (uint16_t i = 0; i < count; i++) {
		if (!cursor_u16le(c, &type) || !cursor_u16le(c, &ilen) || !cursor_sub(c, ilen, &item)) {
			proto_violation(ctx, "truncated", "cpf item");
			return PROTO_MALFORMED;
		}
		if (type == 0x000c && cmd == 0x0063) { /* ListIdentity reply: CIP Identity item */
			if (cursor_skip(&item, 2 + 16))    /* encapsulation version, socket address */
				report_identity(ctx, &item);
		} else if (type == 0x00b2) { /* unconnected data item */
			cip_message(st, ctx, cursor_ptr(&item), cursor_remaining(&item), 0, false);
		} else if (type == 0x00b1 && cmd == 0x0070) { /* connected data item: sequence count, then CIP */
			if (cursor_skip(&item, 2) && cursor_remaining(&item))
				cip_message(st, ctx, cursor_ptr(&item), cursor_remaining(&item), 0, false);
		}
	}
	return PROTO_OK;
}

/* Implicit I/O on UDP 2222 (Vol. 2 3-3.2): a CPF packet of a sequenced-address item (0x8002) and a
 * connected-data item (0x00b1). Only confirmed. */
static enum proto_result enip_io(const uint8_t *p, size_t len)
{
	struct cursor c;
	uint16_t count, type, ilen;
	bool data = false;

	cursor_init(&c, p, len);
	if (!cursor_u16le(&c, &count) || count == 0 || count > 8)
		return PROTO_NOT_MINE;
	for (uint16_t i = 0; i < count; i++) {
		if (!cursor_u16le(&c, &type) || !cursor_u16le(&c, &ilen) || !cursor_skip(&c, ilen))
			return PROTO_NOT_MINE;
		if (type == 0x00b1)
			data = true;
		else if (type != 0x8002 && type != 0x00a1 && type != 0x8000 && type != 0x8001)
			return PROTO_NOT_MINE;
	}
	return data && !cursor_remaining(&c) ? PROTO_OK : PROTO_NOT_MINE;
}

static enum proto_result enip_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	struct enip_state *st = state;
	struct enip_state scratch;
	struct cursor c;
	uint16_t cmd, dlen;
	uint32_t status;
	const struct dissect_frame *f = ctx->frame;
	bool udp = f && f->transport == DISSECT_T_UDP;
	bool reply;
	const char *name;

	if (!st) {
		memset(&scratch, 0, sizeof(scratch));
		st = &scratch;
	}
	st->last_fn = UINT32_MAX;
	if (udp && (f->src_port == ENIP_IO_PORT || f->dst_port == ENIP_IO_PORT))
		return enip_io(p, len);

	cursor_init(&c, p, len);
	if (!cursor_u16le(&c, &cmd) || !cursor_u16le(&c, &dlen) || !cursor_skip(&c, 4) ||
	    !cursor_u32le(&c, &status) || !cursor_skip(&c, 8 + 4)) {
		if (len >= 2 && !encap_name((uint16_t)(p[0] | p[1] << 8)))
			return PROTO_NOT_MINE;
		proto_violation(ctx, "truncated", "encapsulation header");
		return PROTO_MALFORMED;
	}
	name = encap_name(cmd);
	if (dlen != len - ENIP_HDR) {
		if (!name)
			return PROTO_NOT_MINE;
		proto_violation(ctx, dlen > len - ENIP_HDR ? "truncated" : "bad_length", "encapsulation length");
		return PROTO_MALFORMED;
	}
	if (!name) {
		proto_violation(ctx, "illegal_function", "unknown encapsulation command");
		return PROTO_OK;
	}

	/* Which side is asking: List* requests carry no data; otherwise the flow direction tells. */
	if (cmd == 0x0063 || cmd == 0x0004 || cmd == 0x0064)
		reply = dlen != 0;
	else
		reply = ctx->dir == PROTO_DIR_TO_CLIENT;
	if (!reply) {
		proto_function(ctx, FN_ENCAP | cmd, name);
		if (cmd == 0x0063 || cmd == 0x0004 || cmd == 0x0064) {
			/* discovery requests are usually broadcast: nobody in particular is the server */
			ctx->src_role = PROTO_ROLE_CLIENT;
			ctx->dst_role = udp ? PROTO_ROLE_NONE : PROTO_ROLE_SERVER;
		}
	} else {
		if (cmd == 0x0063 || cmd == 0x0004 || cmd == 0x0064) {
			ctx->src_role = PROTO_ROLE_SERVER;
			ctx->dst_role = PROTO_ROLE_CLIENT;
		}
		if (status != 0)
			event_fmt(ctx, "exception_response", "encapsulation command 0x%02X status 0x%X", (unsigned)cmd,
				  (unsigned)status);
	}
	if (status != 0 || dlen == 0)
		return PROTO_OK;

	switch (cmd) {
	case 0x0063:
		return cpf_items(st, ctx, &c, cmd);
	case 0x006f:
	case 0x0070:
		if (!cursor_skip(&c, 4 + 2)) { /* interface handle, timeout */
			proto_violation(ctx, "truncated", "send data header");
			return PROTO_MALFORMED;
		}
		return cpf_items(st, ctx, &c, cmd);
	default:
		return PROTO_OK;
	}
}

const struct dissector dissector_enip = {
	.name = "enip",
	.state_size = sizeof(struct enip_state),
	.pdu_len = enip_pdu_len,
	.parse = enip_parse,
	.max_pdu = ENIP_HDR + ENIP_MAX_DATA,
};
