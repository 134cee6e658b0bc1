/* BACnet/IP (ANSI/ASHRAE 135, Annex J BVLL; clause 6 NPDU; clauses 20-21 APDU and encoding) on UDP 47808.
 *
 * Function codes:
 *   cc           confirmed service choice cc (readProperty 12, writeProperty 15, reinitializeDevice 20, ...)
 *   0x100 + cc   unconfirmed service choice cc (i-Am 0x100, who-Is 0x108, timeSynchronization 0x106, ...)
 *   0x200 + tt   network-layer message type tt (who-Is-Router-To-Network 0x200, ...)
 *   0x300 + ff   BVLC function ff that is not a plain NPDU carrier (write-BDT 0x301, register-FD 0x305, ...)
 * A confirmed service is reported on its request; unconfirmed services and network messages on every datagram
 * (they have no reply).
 *
 * Events: communication_control (deviceCommunicationControl, detail enable/disable/disable-initiation),
 * reinitialize_device (detail coldstart/warmstart/...), file_operation (atomicReadFile/atomicWriteFile),
 * time_sync (timeSynchronization, utcTimeSynchronization), exception_response (Error, Reject and Abort PDUs).
 *
 * Facts about the sender (I-Am: device instance, vendor id and name; ReadProperty and ReadPropertyMultiple
 * replies about a Device object: vendor-name, model-name, firmware-revision, object-name, vendor-identifier)
 * are reported for the IP sender, or for the original source of a Forwarded-NPDU (the BBMD only relays it).
 * A message whose NPDU names a source network (SNET) came from a device behind a BACnet router, which the IP
 * address does not identify: its facts are dropped. Segmented messages are counted; only an unsegmented APDU
 * (or a first segment's header) is decoded. */
#include "sensor-agent/dissect/proto.h"

#include <stdio.h>
#include <string.h>

#include "common/cursor.h"
#include "sensor-agent/dissect/vendors.h"

#define BVLC_TYPE_BIP 0x81
#define FN_UNCONFIRMED 0x100u
#define FN_NETWORK 0x200u
#define FN_BVLC 0x300u

#define OBJ_DEVICE 8u
#define PROP_APP_SW_VERSION 12u
#define PROP_FIRMWARE 44u
#define PROP_MODEL_NAME 70u
#define PROP_OBJECT_NAME 77u
#define PROP_VENDOR_ID 120u
#define PROP_VENDOR_NAME 121u

/* Where the facts of this datagram go: its IP sender, another address, or nowhere. */
struct bn_msg {
	bool facts;              /* the sender is identified (no SNET) */
	bool forwarded;          /* Forwarded-NPDU: facts go to orig */
	bool routed_out;         /* DNET: the IP receiver is a router (or a global broadcast), not the peer */
	struct proto_target orig;
};

/* Roles of the IP endpoints: a BBMD or router that relays the message speaks BACnet/IP but is neither the
 * client nor the server of the exchange: a peer. (A broadcast destination gets no role in the inventory.) */
static void set_roles(struct proto_ctx *ctx, const struct bn_msg *m, uint8_t src, uint8_t dst)
{
	ctx->src_role = m->forwarded || !m->facts ? PROTO_ROLE_PEER : src;
	ctx->dst_role = m->routed_out ? PROTO_ROLE_PEER : dst;
}

static const char *confirmed_name(uint8_t s)
{
	static const char *const names[] = {
		"acknowledgeAlarm", "confirmedCOVNotification", "confirmedEventNotification", "getAlarmSummary",
		"getEnrollmentSummary", "subscribeCOV", "atomicReadFile", "atomicWriteFile", "addListElement",
		"removeListElement", "createObject", "deleteObject", "readProperty", "readPropertyConditional",
		"readPropertyMultiple", "writeProperty", "writePropertyMultiple", "deviceCommunicationControl",
		"confirmedPrivateTransfer", "confirmedTextMessage", "reinitializeDevice", "vtOpen", "vtClose", "vtData",
		"authenticate", "requestKey", "readRange", "lifeSafetyOperation", "subscribeCOVProperty",
		"getEventInformation", "subscribeCOVPropertyMultiple", "confirmedCOVNotificationMultiple",
		"confirmedAuditNotification", "auditLogQuery",
	};
	return s < sizeof(names) / sizeof(names[0]) ? names[s] : NULL;
}

static const char *unconfirmed_name(uint8_t s)
{
	static const char *const names[] = {
		"i-Am", "i-Have", "unconfirmedCOVNotification", "unconfirmedEventNotification",
		"unconfirmedPrivateTransfer", "unconfirmedTextMessage", "timeSynchronization", "who-Has", "who-Is",
		"utcTimeSynchronization", "writeGroup", "unconfirmedCOVNotificationMultiple",
		"unconfirmedAuditNotification", "who-Am-I", "you-Are",
	};
	return s < sizeof(names) / sizeof(names[0]) ? names[s] : NULL;
}

static const char *network_msg_name(uint8_t t)
{
	static const char *const names[] = {
		"who-Is-Router-To-Network", "i-Am-Router-To-Network", "i-Could-Be-Router-To-Network",
		"reject-Message-To-Network", "router-Busy-To-Network", "router-Available-To-Network",
		"initialize-Routing-Table", "initialize-Routing-Table-Ack", "establish-Connection-To-Network",
		"disconnect-Connection-To-Network", "challenge-Request", "security-Payload", "security-Response",
		"request-Key-Update", "update-Key-Set", "update-Distribution-Key", "request-Master-Key",
		"set-Master-Key", "what-Is-Network-Number", "network-Number-Is",
	};
	if (t >= 0x80)
		return "vendor-Proprietary-Message";
	return t < sizeof(names) / sizeof(names[0]) ? names[t] : NULL;
}

static const char *bvlc_name(uint8_t f)
{
	switch (f) {
	case 0x00: return "bvlc-Result";
	case 0x01: return "write-Broadcast-Distribution-Table";
	case 0x02: return "read-Broadcast-Distribution-Table";
	case 0x03: return "read-Broadcast-Distribution-Table-Ack";
	case 0x05: return "register-Foreign-Device";
	case 0x06: return "read-Foreign-Device-Table";
	case 0x07: return "read-Foreign-Device-Table-Ack";
	case 0x08: return "delete-Foreign-Device-Table-Entry";
	case 0x0c: return "secure-BVLL";
	default: return NULL;
	}
}

/* ---- facts ---------------------------------------------------------------------------------------------- */

static void fact_text(struct proto_ctx *ctx, const struct bn_msg *m, enum proto_attr a, const void *s, size_t n)
{
	if (!m->facts || n == 0)
		return;
	if (m->forwarded)
		proto_attr_text_at(ctx, &m->orig, a, s, n);
	else
		proto_attr_text(ctx, PROTO_TARGET_SRC, a, s, n);
}

static void fact_num(struct proto_ctx *ctx, const struct bn_msg *m, enum proto_attr a, int64_t v)
{
	struct proto_obs o = { .kind = PROTO_OBS_ATTR, .attr = (uint16_t)a, .has_num = true, .num = v };

	if (!m->facts)
		return;
	if (m->forwarded)
		o.target = m->orig;
	else
		o.target.kind = PROTO_TARGET_SRC;
	proto_emit(ctx, &o);
}

static void fact_vendor_id(struct proto_ctx *ctx, const struct bn_msg *m, uint32_t id)
{
	const char *name;

	if (id > 0xffff)
		return;
	fact_num(ctx, m, PROTO_ATTR_VENDOR_ID, id);
	if ((name = vendors_bacnet((uint16_t)id)))
		fact_text(ctx, m, PROTO_ATTR_VENDOR, name, strlen(name));
}

/* ---- tag decoding (clause 20.2.1) ----------------------------------------------------------------------- */

struct bn_tag {
	uint8_t number;
	bool context;
	bool opening, closing;
	uint32_t len;           /* value length (application/context primitive) */
	const uint8_t *value;   /* len bytes */
};

static bool tag_read(struct cursor *c, struct bn_tag *t)
{
	uint8_t b, e;
	uint16_t l16;
	uint32_t l32;

	memset(t, 0, sizeof(*t));
	if (!cursor_u8(c, &b))
		return false;
	t->number = b >> 4;
	t->context = (b & 0x08) != 0;
	if (t->number == 15 && !cursor_u8(c, &t->number))
		return false;
	b &= 7;
	if (t->context && b == 6) {
		t->opening = true;
		return true;
	}
	if (t->context && b == 7) {
		t->closing = true;
		return true;
	}
	if (!t->context && t->number == 1) { /* boolean: the value is in the length field */
		t->len = 0;
		return true;
	}
	t->len = b;
	if (b == 5) {
		if (!cursor_u8(c, &e))
			return false;
		t->len = e;
		if (e == 254) {
			if (!cursor_u16be(c, &l16))
				return false;
			t->len = l16;
		} else if (e == 255) {
			if (!cursor_u32be(c, &l32))
				return false;
			t->len = l32;
		}
	}
	return cursor_bytes(c, t->len, &t->value);
}

static bool tag_uint(const struct bn_tag *t, uint32_t *v)
{
	if (t->len == 0 || t->len > 4)
		return false;
	*v = 0;
	for (uint32_t i = 0; i < t->len; i++)
		*v = *v << 8 | t->value[i];
	return true;
}

/* Skips a constructed value up to and including the closing tag that matches an opening tag already read. */
static bool skip_constructed(struct cursor *c)
{
	struct bn_tag t;
	unsigned depth = 1;

	while (depth) {
		if (!tag_read(c, &t))
			return false;
		if (t.opening)
			depth++;
		else if (t.closing)
			depth--;
	}
	return true;
}

/* One property value of a Device object (the tags between opening and closing tag n) -> a fact. */
static void device_property(struct proto_ctx *ctx, const struct bn_msg *m, uint32_t prop, struct cursor *c)
{
	struct bn_tag t;
	uint32_t v;
	enum proto_attr a;

	if (!tag_read(c, &t) || t.context || t.opening || t.closing)
		return;
	if (prop == PROP_VENDOR_ID) {
		if (t.number == 2 && tag_uint(&t, &v))
			fact_vendor_id(ctx, m, v);
		return;
	}
	switch (prop) {
	case PROP_VENDOR_NAME: a = PROTO_ATTR_VENDOR; break;
	case PROP_MODEL_NAME: a = PROTO_ATTR_MODEL; break;
	case PROP_FIRMWARE: a = PROTO_ATTR_FIRMWARE; break;
	case PROP_OBJECT_NAME: a = PROTO_ATTR_HOSTNAME; break;
	default: return; /* application-software-version and the rest: not a device fact here */
	}
	/* CharacterString: character set, then the characters. Only UTF-8 (0) and ISO 8859-1 (5) are text the
	 * inventory can take as is. */
	if (t.number != 7 || t.len < 2 || (t.value[0] != 0 && t.value[0] != 5))
		return;
	fact_text(ctx, m, a, t.value + 1, t.len - 1);
}

/* ReadProperty-ACK (15.5.1.3): objectIdentifier [0], propertyIdentifier [1], [arrayIndex [2]], value [3]. */
static void read_property_ack(struct proto_ctx *ctx, const struct bn_msg *m, struct cursor *c)
{
	struct bn_tag t;
	uint32_t oid, prop;

	if (!tag_read(c, &t) || !t.context || t.number != 0 || !tag_uint(&t, &oid) || t.len != 4)
		return;
	if (!tag_read(c, &t) || !t.context || t.number != 1 || !tag_uint(&t, &prop))
		return;
	if (!tag_read(c, &t))
		return;
	if (t.context && t.number == 2 && !t.opening)
		return; /* an array element: none of the properties used is an array */
	if (!t.opening || t.number != 3 || oid >> 22 != OBJ_DEVICE)
		return;
	device_property(ctx, m, prop, c);
}

/* ReadPropertyMultiple-ACK (15.7.1.3): a list of (objectIdentifier [0], results [1] = list of
 * (propertyIdentifier [2], [arrayIndex [3]], value [4] | error [5])). */
static void read_property_multiple_ack(struct proto_ctx *ctx, const struct bn_msg *m, struct cursor *c)
{
	struct bn_tag t;
	uint32_t oid = 0, prop = 0;
	unsigned guard = 0;

	while (cursor_remaining(c) && guard++ < 1024) {
		if (!tag_read(c, &t))
			return;
		if (t.context && t.number == 0 && !t.opening && !t.closing) {
			if (t.len != 4 || !tag_uint(&t, &oid))
				return;
		} else if (t.context && t.number == 2 && !t.opening && !t.closing) {
			if (!tag_uint(&t, &prop))
				return;
		} else if (t.context && t.opening && t.number == 4) {
			struct cursor val = *c;
			if (oid >> 22 == OBJ_DEVICE)
				device_property(ctx, m, prop, &val);
			if (!skip_constructed(c))
				return;
		} else if (t.context && t.opening && t.number == 5) {
			if (!skip_constructed(c))
				return;
		} else if (t.opening && t.number != 1) {
			if (!skip_constructed(c))
				return;
		}
		/* opening/closing [1], array indexes [3]: nothing to do */
	}
}

/* I-Am (16.10.3): device objectIdentifier, maxAPDULengthAccepted, segmentationSupported, vendorID. */
static void i_am(struct proto_ctx *ctx, const struct bn_msg *m, struct cursor *c)
{
	struct bn_tag t;
	uint32_t oid, vendor;

	if (!tag_read(c, &t) || t.context || t.number != 12 || t.len != 4 || !tag_uint(&t, &oid)) {
		proto_violation(ctx, "bad_header", "i-Am device identifier");
		return;
	}
	if (oid >> 22 != OBJ_DEVICE)
		return;
	/* 4194303 is the wildcard instance (12.11.1): an unconfigured device, not an identity */
	if ((oid & 0x3fffff) != 0x3fffff)
		fact_num(ctx, m, PROTO_ATTR_DEVICE_INSTANCE, oid & 0x3fffff);
	if (!tag_read(c, &t) || !tag_read(c, &t) || !tag_read(c, &t) || t.context || t.number != 2 ||
	    !tag_uint(&t, &vendor))
		return;
	fact_vendor_id(ctx, m, vendor);
}

/* ---- APDU ----------------------------------------------------------------------------------------------- */

static void confirmed_events(struct proto_ctx *ctx, uint8_t svc, struct cursor *c)
{
	struct bn_tag t;
	uint32_t v;

	switch (svc) {
	case 6: proto_event(ctx, "file_operation", "atomicReadFile"); break;
	case 7: proto_event(ctx, "file_operation", "atomicWriteFile"); break;
	case 17: { /* timeDuration [0] OPTIONAL, enable-disable [1], password [2] OPTIONAL */
		static const char *const what[] = { "enable", "disable", "disable-initiation" };
		const char *d = "unknown";
		while (tag_read(c, &t)) {
			if (t.context && t.number == 1 && tag_uint(&t, &v)) {
				d = v < 3 ? what[v] : "unknown";
				break;
			}
		}
		proto_event(ctx, "communication_control", d);
		break;
	}
	case 20: { /* reinitializedStateOfDevice [0], password [1] OPTIONAL */
		static const char *const what[] = { "coldstart", "warmstart", "start-backup", "end-backup",
						    "start-restore", "end-restore", "abort-restore", "activate-changes" };
		const char *d = "unknown";
		if (tag_read(c, &t) && t.context && t.number == 0 && tag_uint(&t, &v) && v < 8)
			d = what[v];
		proto_event(ctx, "reinitialize_device", d);
		break;
	}
	default:
		break;
	}
}

static enum proto_result apdu(struct proto_ctx *ctx, const struct bn_msg *m, struct cursor *c)
{
	uint8_t b0, type, svc, x;
	bool seg;
	const char *name;
	char d[48];

	if (!cursor_u8(c, &b0)) {
		proto_violation(ctx, "truncated", "apdu");
		return PROTO_MALFORMED;
	}
	type = b0 >> 4;
	seg = (b0 & 0x08) != 0;
	switch (type) {
	case 0: /* Confirmed-Request: flags, max segments/APDU, invoke id, [sequence, window], service */
		if (!cursor_skip(c, 2) || (seg && !cursor_skip(c, 2)) || !cursor_u8(c, &svc))
			goto truncated;
		if (!(name = confirmed_name(svc))) {
			proto_violation(ctx, "illegal_function", "unknown confirmed service");
			return PROTO_OK;
		}
		proto_function(ctx, svc, name);
		set_roles(ctx, m, PROTO_ROLE_CLIENT, PROTO_ROLE_SERVER);
		if (!seg)
			confirmed_events(ctx, svc, c);
		return PROTO_OK;
	case 1: /* Unconfirmed-Request */
		if (!cursor_u8(c, &svc))
			goto truncated;
		if (!(name = unconfirmed_name(svc))) {
			proto_violation(ctx, "illegal_function", "unknown unconfirmed service");
			return PROTO_OK;
		}
		proto_function(ctx, FN_UNCONFIRMED + svc, name);
		/* announcements and notifications come from servers, searches and time from clients */
		if (svc == 0 || svc == 1 || svc == 2 || svc == 3 || svc == 11)
			set_roles(ctx, m, PROTO_ROLE_SERVER, PROTO_ROLE_NONE);
		else if (svc == 6 || svc == 7 || svc == 8 || svc == 9)
			set_roles(ctx, m, PROTO_ROLE_CLIENT, PROTO_ROLE_NONE);
		else
			set_roles(ctx, m, PROTO_ROLE_DEFAULT, PROTO_ROLE_NONE);
		if (svc == 0)
			i_am(ctx, m, c);
		else if (svc == 6 || svc == 9)
			proto_event(ctx, "time_sync", svc == 6 ? "timeSynchronization" : "utcTimeSynchronization");
		return PROTO_OK;
	case 2: /* SimpleACK: invoke id, service */
	case 3: /* ComplexACK: flags, invoke id, [sequence, window], service */
		if (!cursor_skip(c, 1) || (type == 3 && seg && !cursor_skip(c, 2)) || !cursor_u8(c, &svc))
			goto truncated;
		set_roles(ctx, m, PROTO_ROLE_SERVER, PROTO_ROLE_CLIENT);
		if (type == 3 && !seg) {
			if (svc == 12)
				read_property_ack(ctx, m, c);
			else if (svc == 14)
				read_property_multiple_ack(ctx, m, c);
		}
		return PROTO_OK;
	case 4: /* SegmentACK */
		if (!cursor_skip(c, 3))
			goto truncated;
		return PROTO_OK;
	case 5: /* Error: invoke id, service, error class, error code */
	case 6: /* Reject: invoke id, reason */
	case 7: /* Abort: invoke id, reason */
		if (!cursor_skip(c, 1) || !cursor_u8(c, &x))
			goto truncated;
		if (type == 7 && (b0 & 1))
			set_roles(ctx, m, PROTO_ROLE_CLIENT, PROTO_ROLE_SERVER); /* aborted by the client */
		else
			set_roles(ctx, m, PROTO_ROLE_SERVER, PROTO_ROLE_CLIENT);
		snprintf(d, sizeof(d), "%s %u", type == 5 ? "error for service" : type == 6 ? "reject reason" :
			 "abort reason", (unsigned)x);
		proto_event(ctx, "exception_response", d);
		return PROTO_OK;
	default:
		proto_violation(ctx, "bad_header", "unknown apdu type");
		return PROTO_MALFORMED;
	}
truncated:
	proto_violation(ctx, "truncated", "apdu header");
	return PROTO_MALFORMED;
}

/* ---- NPDU (clause 6.2) ---------------------------------------------------------------------------------- */

static enum proto_result npdu(struct proto_ctx *ctx, struct bn_msg *m, struct cursor *c)
{
	uint8_t ver, ctl, alen, type;
	const char *name;

	if (!cursor_u8(c, &ver) || !cursor_u8(c, &ctl)) {
		proto_violation(ctx, "truncated", "npdu header");
		return PROTO_MALFORMED;
	}
	if (ver != 1) {
		proto_violation(ctx, "bad_header", "npdu version");
		return PROTO_MALFORMED;
	}
	if (ctl & 0x20) { /* DNET, DLEN, DADR */
		if (!cursor_skip(c, 2) || !cursor_u8(c, &alen) || !cursor_skip(c, alen))
			goto truncated;
		m->routed_out = true;
	}
	if (ctl & 0x08) { /* SNET, SLEN, SADR: the originator sits behind a router */
		if (!cursor_skip(c, 2) || !cursor_u8(c, &alen) || alen == 0 || !cursor_skip(c, alen))
			goto truncated;
		m->facts = false;
	}
	if ((ctl & 0x20) && !cursor_skip(c, 1)) /* hop count */
		goto truncated;
	if (ctl & 0x80) { /* network-layer message */
		if (!cursor_u8(c, &type) || (type >= 0x80 && !cursor_skip(c, 2)))
			goto truncated;
		if (!(name = network_msg_name(type))) {
			proto_violation(ctx, "illegal_function", "unknown network message");
			return PROTO_OK;
		}
		proto_function(ctx, FN_NETWORK + type, name);
		return PROTO_OK;
	}
	return apdu(ctx, m, c);
truncated:
	proto_violation(ctx, "truncated", "npdu address");
	return PROTO_MALFORMED;
}

static enum proto_result bacnet_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	struct cursor c;
	uint8_t type, fn;
	uint16_t blen;
	const uint8_t *ip;
	struct bn_msg m = { .facts = true };
	const char *name;

	(void)state;
	cursor_init(&c, p, len);
	if (!cursor_u8(&c, &type) || type != BVLC_TYPE_BIP)
		return PROTO_NOT_MINE;
	if (!cursor_u8(&c, &fn) || !cursor_u16be(&c, &blen)) {
		proto_violation(ctx, "truncated", "bvlc header");
		return PROTO_MALFORMED;
	}
	if (blen != len) {
		proto_violation(ctx, blen > len ? "truncated" : "bad_length", "bvlc length");
		return PROTO_MALFORMED;
	}
	switch (fn) {
	case 0x04: /* Forwarded-NPDU: original source B/IP address (4 + 2 bytes), then the NPDU */
		if (!cursor_bytes(&c, 4, &ip) || !cursor_skip(&c, 2)) {
			proto_violation(ctx, "truncated", "forwarded-npdu");
			return PROTO_MALFORMED;
		}
		m.forwarded = true;
		m.orig.kind = PROTO_TARGET_IP;
		m.orig.ip_version = 4;
		memcpy(m.orig.addr, ip, 4);
		return npdu(ctx, &m, &c);
	case 0x09: /* Distribute-Broadcast-To-Network */
	case 0x0a: /* Original-Unicast-NPDU */
	case 0x0b: /* Original-Broadcast-NPDU */
		return npdu(ctx, &m, &c);
	default:
		if (!(name = bvlc_name(fn))) {
			proto_violation(ctx, "illegal_function", "unknown bvlc function");
			return PROTO_OK;
		}
		proto_function(ctx, FN_BVLC + fn, name);
		return PROTO_OK;
	}
}

const struct dissector dissector_bacnet = {
	.name = "bacnet",
	.parse = bacnet_parse,
};
