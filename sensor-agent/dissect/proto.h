/* The dissector interface: every application protocol the sensor understands is one `struct dissector` in
 * its own file (modbus.c, s7comm.c, ...) and one line in the registry table (registry.c), in the manner of
 * Suricata's Register*Parsers.
 *
 * The framework (dpi.c) owns flows, TCP reassembly and every buffer; a dissector only ever sees
 *   - for TCP: one whole PDU at a time, framed by its pdu_len() callback over the reassembled byte stream;
 *   - for UDP: one datagram payload;
 *   - for layer-2 protocols: the bytes after the ethertype (or after LLC/SNAP);
 * and reports what it learnt through the proto_* calls below, which the inventory turns into device facts,
 * per-pair function codes, events and protocol-violation records. A dissector never allocates for a PDU,
 * never keeps a pointer into a PDU after parse() returns, and reads only through common/cursor.h.
 *
 * Roles: the client is the requester / master / originator (Modbus client, S7 and OPC UA client, DNP3
 * master, IEC 104 controlling station, CIP originator, BACnet confirmed-request and Who-Is sender); the server
 * is the responder / outstation / PLC. By default the sender of a to-server PDU is the client and its
 * receiver the server (the flow decides, see flows.h); a dissector whose PDUs say otherwise (DNP3's DIR bit,
 * BACnet I-Am, unsolicited datagrams) sets ctx->src_role / ctx->dst_role. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sensor-agent/dissect/dissect.h"

enum proto_dir { PROTO_DIR_TO_SERVER = 0, PROTO_DIR_TO_CLIENT = 1 };
enum proto_role { PROTO_ROLE_DEFAULT = 0, PROTO_ROLE_CLIENT, PROTO_ROLE_SERVER, PROTO_ROLE_PEER, PROTO_ROLE_NONE };

/* What parse() made of its input. */
enum proto_result {
	PROTO_OK = 0,        /* a valid PDU of this protocol: confirms the protocol for both endpoints */
	PROTO_MALFORMED,     /* this protocol, but broken: counted, and a protocol violation is recorded */
	PROTO_NOT_MINE,      /* not this protocol at all (e.g. other traffic on its port): counted, no facts */
	PROTO_DONE,          /* valid, and nothing more worth reading on this flow: stop inspecting it */
};

/* Device facts. A string fact is sanitised and capped by the inventory; numeric facts use num. */
enum proto_attr {
	PROTO_ATTR_VENDOR = 0,   /* vendor name as the device reports it */
	PROTO_ATTR_VENDOR_ID,    /* num: the protocol registry's vendor id (CIP, BACnet, Profinet) */
	PROTO_ATTR_MODEL,        /* product name / model */
	PROTO_ATTR_PRODUCT_CODE, /* num or text: the vendor's product code / Profinet device id */
	PROTO_ATTR_DEVICE_TYPE,  /* text: the device type the protocol states (CIP device type name, ...) */
	PROTO_ATTR_FIRMWARE,
	PROTO_ATTR_HARDWARE,     /* hardware revision */
	PROTO_ATTR_SERIAL,
	PROTO_ATTR_ORDER_NUMBER, /* Siemens MLFB and the like */
	PROTO_ATTR_MODULE,       /* module / CPU type name */
	PROTO_ATTR_RACK,         /* num */
	PROTO_ATTR_SLOT,         /* num */
	PROTO_ATTR_HOSTNAME,     /* short host name (DHCP option 12, NetBIOS, mDNS, LLDP/CDP system name) */
	PROTO_ATTR_FQDN,
	PROTO_ATTR_OS,
	PROTO_ATTR_DEVICE_INSTANCE, /* num: BACnet device object instance */
	PROTO_ATTR_STATION_NAME, /* Profinet name of station */
	PROTO_ATTR_PLC_MODE,     /* "run", "stop", "program", ... */
	PROTO_ATTR_DHCP_VENDOR_CLASS,
	PROTO_ATTR_DHCP_ADDRESS, /* text: the address a DHCP server leased to the target device */
	PROTO_ATTR_PLATFORM,     /* CDP platform, LLDP system description */
	PROTO_ATTR_PORT,         /* LLDP/CDP port id the device announced */
	PROTO_ATTR_SYS_DESCR,    /* SNMP sysDescr */
	PROTO_ATTR_HTTP_SERVER,  /* HTTP Server header (of the server) */
	PROTO_ATTR_USER_AGENT,   /* HTTP User-Agent (of the client) */
	PROTO_ATTR_TLS_SNI,      /* server name a TLS client asked for (fact about the server) */
	PROTO_ATTR_SSH_BANNER,   /* SSH identification string */
	PROTO_ATTR_CAPABILITIES, /* text: LLDP/CDP capabilities ("bridge,router") */
	PROTO_ATTR_MGMT_ADDRESS, /* text: management address announced by LLDP/CDP */
	PROTO_ATTR_SECURITY_MODE,/* OPC UA: "None", "Sign", "SignAndEncrypt"; security policy in text */
	PROTO_ATTR__COUNT
};

/* Which device a fact is about. */
enum proto_target_kind {
	PROTO_TARGET_SRC = 0, /* the sender of the PDU being parsed */
	PROTO_TARGET_DST,     /* its receiver */
	PROTO_TARGET_IP,      /* another address (a DHCP lease, a DNS answer): applied only to a known device */
	PROTO_TARGET_MAC,     /* a MAC (a DHCP client's chaddr, LLDP chassis MAC) */
};

struct proto_target {
	uint8_t kind;       /* enum proto_target_kind */
	uint8_t ip_version; /* PROTO_TARGET_IP: 4 or 6 */
	uint8_t addr[16];   /* PROTO_TARGET_IP: address (IPv4 in the first 4 bytes); PROTO_TARGET_MAC: 6 bytes */
};

enum proto_obs_kind {
	PROTO_OBS_ATTR = 0, /* a device fact */
	PROTO_OBS_FUNCTION, /* a function code / service the client used on this pair */
	PROTO_OBS_EVENT,    /* an operation worth an operational record: "plc_stop", "cold_restart", ... */
	PROTO_OBS_VIOLATION,/* a protocol violation: "bad_length", "illegal_function", ... */
	PROTO_OBS_NAME,     /* a name the PDU carries (proto_name): fed to the indicator matcher, not kept */
};

/* The names a PROTO_OBS_NAME carries (in its attr member), all asked for by the PDU's client: a dissector sets
 * ctx->src_role / dst_role before reporting one (else the flow's direction decides who the client is). */
enum proto_name_kind {
	PROTO_NAME_DNS_QUERY = 0, /* a DNS / mDNS question name */
	PROTO_NAME_DNS_ANSWER,    /* a DNS / mDNS response's question name (counted when its query was missed) */
	PROTO_NAME_HTTP_HOST,     /* an HTTP request's Host (without the port) */
	PROTO_NAME_FILE,          /* a file the client opens, creates, downloads or uploads (SMB, S7 blocks) */
};

struct proto_obs {
	uint8_t kind; /* enum proto_obs_kind */
	struct proto_target target;
	uint16_t attr;    /* PROTO_OBS_ATTR: enum proto_attr; PROTO_OBS_NAME: enum proto_name_kind */
	bool has_num;
	int64_t num;      /* ATTR (numeric facts), FUNCTION (the code) */
	const char *name; /* FUNCTION: the code's name; EVENT/VIOLATION: its kind. Static storage. */
	const uint8_t *text; /* ATTR text value, EVENT/VIOLATION detail, NAME: borrowed for the call only, any bytes */
	size_t text_len;
};

struct proto_ctx {
	/* In: set by the framework for each parse() call. */
	const struct dissect_frame *frame; /* the frame that completed this PDU (addresses, VLAN, ports) */
	int64_t ts;                        /* packet time, µs since the epoch */
	uint8_t dir;                       /* enum proto_dir of this PDU within its flow */
	/* In/out: the protocol name the PDU is recorded under, preset to the dissector's; a dissector that
	 * carries a sibling protocol (s7comm / s7comm_plus on one port) sets it to that registry name. */
	const char *proto;
	/* Out: sender's and receiver's role for this PDU; PROTO_ROLE_DEFAULT leaves the flow's decision. */
	uint8_t src_role, dst_role;
	/* The sink; the framework sets it, tests and fuzzers may set their own. */
	void (*emit)(void *ud, const struct proto_ctx *ctx, const struct proto_obs *o);
	void *ud;
};

struct dissector {
	const char *name; /* registry name (Wireshark's display-filter name) */
	/* Per-flow state: state_size bytes, zeroed by the framework before the flow's first PDU and released
	 * with state_free (NULL: nothing to release inside it) when the flow ends or is evicted. */
	size_t state_size;
	void (*state_free)(void *state);
	/* TCP only (NULL for datagram and layer-2 protocols): the length of the PDU starting at p, given len
	 * (>= 1) bytes: > 0 the PDU's whole length (may exceed len: the framework waits for the rest), 0 too few
	 * bytes to tell, < 0 not a PDU boundary of this protocol (the stream is out of sync; the framework
	 * counts a violation and resynchronises at the next segment). */
	long (*pdu_len)(const uint8_t *p, size_t len);
	/* One PDU (TCP), datagram payload (UDP) or layer-2 payload. state is NULL for layer-2 protocols. */
	enum proto_result (*parse)(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len);
	/* Largest PDU accepted (TCP framing); a longer one is a violation and resynchronises the stream. */
	uint32_t max_pdu;
};

/* Reporting helpers for dissectors. Strings are not NUL-terminated: pass the bytes as they are on the wire
 * (the inventory sanitises them). */
static inline void proto_emit(struct proto_ctx *ctx, const struct proto_obs *o)
{
	if (ctx->emit)
		ctx->emit(ctx->ud, ctx, o);
}

static inline void proto_attr_text(struct proto_ctx *ctx, uint8_t target, enum proto_attr attr, const void *s,
				   size_t len)
{
	struct proto_obs o = { .kind = PROTO_OBS_ATTR, .target = { .kind = target }, .attr = (uint16_t)attr,
			       .text = s, .text_len = len };
	proto_emit(ctx, &o);
}

static inline void proto_attr_num(struct proto_ctx *ctx, uint8_t target, enum proto_attr attr, int64_t v)
{
	struct proto_obs o = { .kind = PROTO_OBS_ATTR, .target = { .kind = target }, .attr = (uint16_t)attr,
			       .has_num = true, .num = v };
	proto_emit(ctx, &o);
}

/* A fact about a device named by address rather than by the packet's endpoints. */
void proto_attr_text_at(struct proto_ctx *ctx, const struct proto_target *t, enum proto_attr attr, const void *s,
			size_t len);

static inline void proto_function(struct proto_ctx *ctx, uint32_t code, const char *name)
{
	struct proto_obs o = { .kind = PROTO_OBS_FUNCTION, .has_num = true, .num = code, .name = name };
	proto_emit(ctx, &o);
}

/* A name the PDU carries, for the indicator matcher (kind: enum proto_name_kind); s as on the wire, decoded to
 * UTF-8 where the protocol uses another encoding. */
static inline void proto_name(struct proto_ctx *ctx, enum proto_name_kind kind, const void *s, size_t len)
{
	struct proto_obs o = { .kind = PROTO_OBS_NAME, .attr = (uint16_t)kind, .text = s, .text_len = len };
	proto_emit(ctx, &o);
}

/* Events and violations: name is a static snake_case kind; detail (may be NULL) a short text. */
void proto_event(struct proto_ctx *ctx, const char *name, const char *detail);
void proto_violation(struct proto_ctx *ctx, const char *name, const char *detail);

/* True when the frame's destination names no single device: the IPv4 limited broadcast, IPv4/IPv6 multicast,
 * or a group MAC (which also reveals a subnet-directed broadcast). */
bool proto_dst_is_group(const struct dissect_frame *f);

/* The dissectors the registry knows (one per file). */
extern const struct dissector dissector_modbus, dissector_s7comm, dissector_dnp3, dissector_enip,
	dissector_bacnet, dissector_iec104, dissector_opcua, dissector_pn_dcp, dissector_dhcp, dissector_dns,
	dissector_mdns, dissector_nbns, dissector_lldp, dissector_cdp, dissector_snmp, dissector_http,
	dissector_tls, dissector_ssh, dissector_smb;
