#include "sensor-agent/classify.h"

#include <stdio.h>
#include <string.h>

/* A scanner opens many connections that mostly go unanswered. */
#define SCAN_MIN_CONNS 64
#define SCAN_MAX_REPLIED_PCT 25

struct role_rule {
	const char *proto;
	uint8_t role;
	const char *type;
	int level;
	const char *why;
};

/* First match wins: the more specific a behaviour, the earlier its rule. Purdue levels follow the usual
 * reading of the model: 0 field I/O, 1 basic control, 2 supervisory (HMI, engineering, SCADA), 3 site
 * operations (historians, OPC servers), 4 enterprise IT. */
static const struct role_rule rules[] = {
	{ "s7comm", INV_ROLE_SERVER, "plc", 1, "serves S7comm (Siemens PLC protocol)" },
	{ "s7comm_plus", INV_ROLE_SERVER, "plc", 1, "serves S7comm-plus (Siemens S7-1200/1500)" },
	{ "dnp3", INV_ROLE_SERVER, "rtu", 1, "DNP3 outstation" },
	{ "iec60870_104", INV_ROLE_SERVER, "rtu", 1, "IEC 60870-5-104 controlled station" },
	{ "enip", INV_ROLE_SERVER, "plc", 1, "serves EtherNet/IP (CIP target)" },
	{ "mbtcp", INV_ROLE_SERVER, "plc", 1, "serves Modbus/TCP" },
	{ "bacnet", INV_ROLE_SERVER, "bacnet_controller", 1, "answers BACnet requests / announces I-Am" },
	{ "opcua", INV_ROLE_SERVER, "opc_server", 3, "serves OPC UA" },
	{ "dnp3", INV_ROLE_CLIENT, "scada_server", 2, "DNP3 master" },
	{ "iec60870_104", INV_ROLE_CLIENT, "scada_server", 2, "IEC 60870-5-104 controlling station" },
	/* a historian collects through OPC UA whatever else it polls */
	{ "opcua", INV_ROLE_CLIENT, "historian", 3, "OPC UA client (collects from servers)" },
	{ "s7comm", INV_ROLE_CLIENT, "hmi", 2, "S7comm client polling PLCs" },
	{ "enip", INV_ROLE_CLIENT, "hmi", 2, "EtherNet/IP originator" },
	{ "mbtcp", INV_ROLE_CLIENT, "hmi", 2, "Modbus/TCP client polling" },
	{ "bacnet", INV_ROLE_CLIENT, "hmi", 2, "BACnet client (workstation/supervisor)" },
	/* answering DCP makes a PROFINET device; what it polls (an HMI) says more, so it comes after */
	{ "pn_dcp", INV_ROLE_SERVER, "io_device", 0, "answers PROFINET DCP identify" },
	{ "http", INV_ROLE_SERVER, "server", 3, "serves HTTP" },
	{ "ssh", INV_ROLE_SERVER, "server", 3, "serves SSH" },
	{ "tls", INV_ROLE_SERVER, "server", 3, "serves TLS" },
	{ "dns", INV_ROLE_SERVER, "server", 3, "answers DNS" },
	{ "http", INV_ROLE_CLIENT, "it_host", 4, "HTTP client" },
	{ "tls", INV_ROLE_CLIENT, "it_host", 4, "TLS client" },
	{ "ssh", INV_ROLE_CLIENT, "it_host", 4, "SSH client" },
	{ "dns", INV_ROLE_CLIENT, "it_host", 4, "DNS client" },
	{ "nbns", INV_ROLE_PEER, "it_host", 4, "NetBIOS name service" },
	{ "nbns", INV_ROLE_CLIENT, "it_host", 4, "NetBIOS name service" },
	{ "mdns", INV_ROLE_SERVER, "it_host", 4, "announces itself over mDNS" },
	{ "mdns", INV_ROLE_PEER, "it_host", 4, "announces itself over mDNS" },
};

static bool has_proto(const struct inv_attrs *a, const char *name, uint8_t role)
{
	for (uint8_t i = 0; i < a->n_protos; i++)
		if (a->protos[i].role == role && strcmp(a->protos[i].name, name) == 0)
			return true;
	return false;
}

/* Adds "<pre><arg><post>" (or just pre when arg is NULL). */
static void evidence(struct classify_result *r, const char *pre, const char *arg, const char *post)
{
	if (r->n_evidence >= CLASSIFY_MAX_EVIDENCE)
		return;
	if (!arg) {
		r->evidence[r->n_evidence++] = pre;
		return;
	}
	snprintf(r->buf[r->n_evidence], sizeof(r->buf[0]), "%s%s%s", pre, arg, post);
	r->evidence[r->n_evidence] = r->buf[r->n_evidence];
	r->n_evidence++;
}

static const char *fact_text(const struct inv_facts *f, enum proto_attr a)
{
	return f && f->f[a].set && !f->f[a].is_num ? f->f[a].text : NULL;
}

static bool contains_ci(const char *hay, const char *needle)
{
	return hay && strcasestr(hay, needle) != NULL;
}

/* A type stated by the device itself (a CIP device profile, LLDP capabilities) beats one inferred. */
static bool stated_type(const struct inv_facts *f, struct classify_result *r)
{
	const char *dt = fact_text(f, PROTO_ATTR_DEVICE_TYPE);
	const char *caps = fact_text(f, PROTO_ATTR_CAPABILITIES);

	if (dt) {
		static const struct {
			const char *match, *type;
			int level;
		} map[] = {
			{ "programmable logic", "plc", 1 }, { "human-machine", "hmi", 2 }, { "hmi", "hmi", 2 },
			{ "communications adapter", "io_device", 0 }, { "drive", "io_device", 0 },
			{ "i/o", "io_device", 0 }, { "safety", "plc", 1 }, { "motor", "io_device", 0 },
		};
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
			if (contains_ci(dt, map[i].match)) {
				r->type = map[i].type;
				r->purdue_level = map[i].level;
				evidence(r, "states device type \"", dt, "\"");
				return true;
			}
		}
	}
	if (caps && strstr(caps, "router")) {
		r->type = "router";
		r->purdue_level = 3;
		evidence(r, "announces router capability (", caps, ")");
		return true;
	}
	if (caps && (strstr(caps, "bridge") || strstr(caps, "switch"))) {
		r->type = "switch";
		r->purdue_level = 2;
		evidence(r, "announces switching capability (", caps, ")");
		return true;
	}
	return false;
}

void classify_device(const struct inv_attrs *a, const struct inv_facts *facts, const struct inv_behaviour *beh,
		     bool router, struct classify_result *r)
{
	memset(r, 0, sizeof(*r));
	r->purdue_level = -1;
	r->plc_mode = fact_text(facts, PROTO_ATTR_PLC_MODE);
	r->programming_device = beh->programming;
	r->scanner = beh->out_conns >= SCAN_MIN_CONNS &&
		     (uint64_t)beh->out_replied * 100 <= (uint64_t)beh->out_conns * SCAN_MAX_REPLIED_PCT;
	if (r->programming_device) {
		r->type = "engineering_workstation";
		r->purdue_level = 2;
		evidence(r, "sent ", beh->programming_evidence ? beh->programming_evidence : "programming commands",
			 " to a controller");
	} else if (!stated_type(facts, r)) {
		for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
			if (has_proto(a, rules[i].proto, rules[i].role)) {
				r->type = rules[i].type;
				r->purdue_level = rules[i].level;
				evidence(r, rules[i].why, NULL, NULL);
				break;
			}
		}
	}
	if (router && (!r->type || r->purdue_level >= 3 || !r->n_evidence)) {
		r->type = "router";
		r->purdue_level = 3;
		evidence(r, "one MAC carries traffic of several IP addresses", NULL, NULL);
	}
	if (r->plc_mode)
		evidence(r, "reports operating mode \"", r->plc_mode, "\"");
	if (r->scanner)
		evidence(r, "opened many connections that went unanswered (scanner)", NULL, NULL);
}
