/* PROFINET DCP (IEC 61158-6-10, Discovery and basic Configuration Protocol) in PN-RT frames 0xfefc-0xfeff
 * (ethertype 0x8892). parse() gets the bytes from the FrameID on: FrameID, ServiceID, ServiceType, Xid,
 * ResponseDelay (reserved in responses), DCPDataLength, then DCPDataLength bytes of blocks. Ethernet padding
 * after them is ignored.
 *
 * Function codes: (ServiceID << 8) | ServiceType, on requests and responses alike: 0x0300 get_request,
 * 0x0301 get_response, 0x0400 set_request, 0x0401 set_response, 0x0500 identify_request, 0x0501
 * identify_response, 0x0600 hello (ServiceType 5 "request not supported" keeps the *_response name).
 *
 * Facts (Identify and Get responses, Hello), about the sender: NameOfStation (2/2) -> STATION_NAME and
 * HOSTNAME, TypeOfStation (2/1) -> MODEL, DeviceID (2/3) -> VENDOR_ID, VENDOR (when the table knows the id),
 * PRODUCT_CODE (the device id), DeviceRole (2/4) -> DEVICE_TYPE ("io-device", "io-controller", ...), IP
 * parameter (1/2) -> MGMT_ADDRESS "a.b.c.d".
 * Events (Set requests): ip_change (1/2), name_change (2/2), factory_reset (5/5 and 5/6); a Set response
 * block (5/4) with a non-zero error -> exception_response. */
#include "sensor-agent/dissect/proto.h"

#include <stdio.h>
#include <string.h>

#include "common/cursor.h"
#include "sensor-agent/dissect/vendors.h"

enum { DCP_GET = 3, DCP_SET = 4, DCP_IDENTIFY = 5, DCP_HELLO = 6 };

static const char *function_name(uint8_t svc, uint8_t type)
{
	bool resp = type & 1 || type == 5;

	switch (svc) {
	case DCP_GET: return resp ? "get_response" : "get_request";
	case DCP_SET: return resp ? "set_response" : "set_request";
	case DCP_IDENTIFY: return resp ? "identify_response" : "identify_request";
	case DCP_HELLO: return "hello";
	default: return NULL;
	}
}

static int fmt_ip(char *buf, size_t n, const uint8_t *ip)
{
	return snprintf(buf, n, "%u.%u.%u.%u", (unsigned)ip[0], (unsigned)ip[1], (unsigned)ip[2], (unsigned)ip[3]);
}

/* A block of an Identify/Get response or a Hello: BlockInfo (2 bytes), then the value. */
static void info_block(struct proto_ctx *ctx, uint8_t opt, uint8_t sub, struct cursor *b)
{
	const uint8_t *v;
	size_t n;
	uint16_t vendor, device;
	char buf[64];

	if (!cursor_skip(b, 2))
		return;
	v = cursor_ptr(b);
	n = cursor_remaining(b);
	if (opt == 1 && sub == 2) { /* IP parameter: address, mask, gateway */
		if (n >= 12 && (v[0] | v[1] | v[2] | v[3]))
			proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_MGMT_ADDRESS, buf,
					(size_t)fmt_ip(buf, sizeof(buf), v));
	} else if (opt == 2 && sub == 1) { /* TypeOfStation (DeviceVendorValue) */
		proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_MODEL, v, n);
	} else if (opt == 2 && sub == 2) { /* NameOfStation */
		if (n) {
			proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_STATION_NAME, v, n);
			proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_HOSTNAME, v, n);
		}
	} else if (opt == 2 && sub == 3) { /* DeviceID: VendorID, DeviceID */
		const char *name;
		if (!cursor_u16be(b, &vendor) || !cursor_u16be(b, &device))
			return;
		proto_attr_num(ctx, PROTO_TARGET_SRC, PROTO_ATTR_VENDOR_ID, vendor);
		if ((name = vendors_profinet(vendor)))
			proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_VENDOR, name, strlen(name));
		proto_attr_num(ctx, PROTO_TARGET_SRC, PROTO_ATTR_PRODUCT_CODE, device);
	} else if (opt == 2 && sub == 4 && n >= 1) { /* DeviceRole bits */
		static const char *const roles[] = { "io-device", "io-controller", "io-multidevice", "io-supervisor" };
		size_t k = 0;
		buf[0] = 0;
		for (unsigned i = 0; i < 4; i++) {
			if (!(v[0] & (1u << i)))
				continue;
			int w = snprintf(buf + k, sizeof(buf) - k, "%s%s", k ? "," : "", roles[i]);
			if (w > 0)
				k += (size_t)w;
		}
		if (k)
			proto_attr_text(ctx, PROTO_TARGET_SRC, PROTO_ATTR_DEVICE_TYPE, buf, k);
	}
}

/* A block of a Set request: BlockQualifier (2 bytes), then the value. */
static void set_block(struct proto_ctx *ctx, uint8_t opt, uint8_t sub, struct cursor *b)
{
	const uint8_t *v;
	size_t n;
	char d[80];

	if (!cursor_skip(b, 2))
		return;
	v = cursor_ptr(b);
	n = cursor_remaining(b);
	if (opt == 1 && sub == 2) {
		if (n >= 4) {
			memcpy(d, "address ", 8);
			fmt_ip(d + 8, sizeof(d) - 8, v);
			proto_event(ctx, "ip_change", d);
		} else {
			proto_event(ctx, "ip_change", NULL);
		}
	} else if (opt == 2 && sub == 2) {
		/* the new name, printable ASCII only (names of station are DNS labels) */
		size_t k = 0;
		for (size_t i = 0; i < n && k < sizeof(d) - 1; i++)
			d[k++] = v[i] >= 0x20 && v[i] < 0x7f ? (char)v[i] : '?';
		d[k] = 0;
		proto_event(ctx, "name_change", d);
	} else if (opt == 5 && (sub == 5 || sub == 6)) {
		proto_event(ctx, "factory_reset", sub == 5 ? "reset factory settings" : "reset to factory");
	}
}

static enum proto_result pn_dcp_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	struct cursor c, blocks, b;
	uint16_t frame_id, dlen, blen;
	uint8_t svc, type, opt, sub;
	const char *name;
	bool resp, multicast;
	unsigned guard = 0;

	(void)state;
	cursor_init(&c, p, len);
	if (!cursor_u16be(&c, &frame_id))
		return PROTO_NOT_MINE;
	if (frame_id < 0xfefc || frame_id > 0xfeff)
		return PROTO_NOT_MINE;
	if (!cursor_u8(&c, &svc) || !cursor_u8(&c, &type) || !cursor_skip(&c, 4 + 2) || !cursor_u16be(&c, &dlen)) {
		proto_violation(ctx, "truncated", "dcp header");
		return PROTO_MALFORMED;
	}
	if (!cursor_sub(&c, dlen, &blocks)) {
		proto_violation(ctx, "truncated", "dcp data length");
		return PROTO_MALFORMED;
	}
	if (!(name = function_name(svc, type))) {
		proto_violation(ctx, "illegal_function", "unknown dcp service");
		return PROTO_OK;
	}
	resp = (type & 1) || type == 5;
	proto_function(ctx, (uint32_t)svc << 8 | type, name);

	multicast = ctx->frame && ctx->frame->has_dst_mac && (ctx->frame->dst_mac[0] & 1);
	if (svc == DCP_HELLO) {
		ctx->src_role = PROTO_ROLE_SERVER;
		ctx->dst_role = PROTO_ROLE_NONE;
	} else if (resp) {
		ctx->src_role = PROTO_ROLE_SERVER;
		ctx->dst_role = PROTO_ROLE_CLIENT;
	} else {
		ctx->src_role = PROTO_ROLE_CLIENT;
		ctx->dst_role = multicast ? PROTO_ROLE_NONE : PROTO_ROLE_SERVER;
	}
	if (svc == DCP_GET && !resp)
		return PROTO_OK; /* a list of option/suboption pairs: nothing to learn */
	if (svc == DCP_IDENTIFY && !resp)
		return PROTO_OK; /* filter blocks name whom the client looks for, not the sender */

	while (cursor_remaining(&blocks) >= 4 && guard++ < 64) {
		if (!cursor_u8(&blocks, &opt) || !cursor_u8(&blocks, &sub) || !cursor_u16be(&blocks, &blen) ||
		    !cursor_sub(&blocks, blen, &b)) {
			proto_violation(ctx, "truncated", "dcp block");
			return PROTO_MALFORMED;
		}
		if ((blen & 1) && cursor_remaining(&blocks))
			(void)cursor_skip(&blocks, 1); /* blocks are padded to an even length */
		if (svc == DCP_SET && !resp) {
			set_block(ctx, opt, sub, &b);
		} else if (svc == DCP_SET) {
			uint8_t ropt, rsub, err;
			if (opt == 5 && sub == 4 && cursor_u8(&b, &ropt) && cursor_u8(&b, &rsub) && cursor_u8(&b, &err) &&
			    err != 0) {
				char d[48];
				snprintf(d, sizeof(d), "set %u/%u error %u", (unsigned)ropt, (unsigned)rsub, (unsigned)err);
				proto_event(ctx, "exception_response", d);
			}
		} else {
			info_block(ctx, opt, sub, &b);
		}
	}
	return PROTO_OK;
}

const struct dissector dissector_pn_dcp = {
	.name = "pn_dcp",
	.parse = pn_dcp_parse,
};
