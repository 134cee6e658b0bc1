#include "tools/plantsim/plant.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tools/plantsim/prng.h"

/* OUIs verified against /usr/share/ieee-data/oui.csv (IEEE MA-L registry). */
struct vendor_oui {
	enum plant_vendor vendor;
	const char *name;
	uint8_t oui[2][3];
};

static const struct vendor_oui ouis[] = {
	{ VENDOR_SIEMENS, "Siemens", { { 0x00, 0x1b, 0x1b }, { 0x00, 0x0e, 0x8c } } },
	{ VENDOR_ROCKWELL, "Rockwell", { { 0x00, 0x00, 0xbc }, { 0x00, 0x1d, 0x9c } } },
	{ VENDOR_SCHNEIDER, "Schneider", { { 0x00, 0x80, 0xf4 }, { 0x00, 0x80, 0xf4 } } },
	{ VENDOR_ADVANTECH, "Advantech", { { 0x00, 0xd0, 0xc9 }, { 0x00, 0xd0, 0xc9 } } },
	{ VENDOR_DELL, "Dell", { { 0xb8, 0xca, 0x3a }, { 0x00, 0x14, 0x22 } } },
	{ VENDOR_HP, "HP", { { 0x3c, 0x52, 0x82 }, { 0x3c, 0x52, 0x82 } } },
	{ VENDOR_INTEL, "Intel", { { 0x00, 0x1b, 0x21 }, { 0x00, 0x1b, 0x21 } } },
	{ VENDOR_CISCO, "Cisco", { { 0x00, 0x1b, 0x54 }, { 0x00, 0x00, 0x0c } } },
	{ VENDOR_HIRSCHMANN, "Hirschmann", { { 0x00, 0x80, 0x63 }, { 0x00, 0x80, 0x63 } } },
	{ VENDOR_ABB, "ABB", { { 0x00, 0x24, 0x59 }, { 0x60, 0x39, 0x1f } } },
	{ VENDOR_SEL, "SEL", { { 0x00, 0x30, 0xa7 }, { 0x00, 0x30, 0xa7 } } },
	{ VENDOR_JOHNSON, "Johnson Controls", { { 0x00, 0x10, 0x8d }, { 0x00, 0x10, 0x8d } } },
	{ VENDOR_HONEYWELL, "Honeywell", { { 0x00, 0x20, 0x3d }, { 0x00, 0x20, 0x3d } } },
	{ VENDOR_LENOVO, "Lenovo", { { 0x10, 0xc5, 0x95 }, { 0xa4, 0x11, 0x94 } } },
};

/* The catalogue. The serial template draws '#' as a digit, '@' as an upper-case letter or digit and 'X' as a
 * hex digit; other characters are literal. */
struct catalog_entry {
	enum plant_vendor mac_vendor;
	const char *serial_fmt;
	struct plant_model m;
};

#define SERVES(...) .serves = (__VA_ARGS__)
#define M(v, mo, ord, fw, hw, fam, os_) .vendor = (v), .model = (mo), .order_number = (ord), .firmware = (fw), \
	.hardware = (hw), .family = (fam), .os = (os_)

static const struct catalog_entry plc_models[] = {
	{ VENDOR_SIEMENS, "S C-@@@@#####", {
	  M("Siemens AG", "CPU 1516-3 PN/DP", "6ES7 516-3AN02-0AB0", "V2.9.4", "3", "S7-1500", NULL),
	  SERVES(PP_BIT(PP_S7COMM) | PP_BIT(PP_S7COMM_PLUS) | PP_BIT(PP_OPCUA) | PP_BIT(PP_PN_DCP) |
		 PP_BIT(PP_SNMP) | PP_BIT(PP_LLDP)),
	  .pn_vendor = 0x002a, .pn_device = 0x010e, .pn_role = 2, .slot = 1,
	  .sys_object_id = "1.3.6.1.4.1.4329.6.1.2.1" } },
	{ VENDOR_ROCKWELL, "6XXXXXXX", {
	  M("Rockwell Automation/Allen-Bradley", "1756-L83E/B", NULL, "33.11", NULL, "ControlLogix 5580", NULL),
	  SERVES(PP_BIT(PP_ENIP)), .cip_vendor = 1, .cip_device_type = 0x0e, .cip_product_code = 166,
	  .cip_major = 33, .cip_minor = 11 } },
	{ VENDOR_SCHNEIDER, "BME####@####", {
	  M("Schneider Electric", "BME P58 2040", "BMEP582040", "V4.10", NULL, "Modicon M580", NULL),
	  SERVES(PP_BIT(PP_MBTCP)) } },
	{ VENDOR_SIEMENS, "S C-@@@@#####", {
	  M("Siemens AG", "CPU 315-2 PN/DP", "6ES7 315-2EH14-0AB0", "V3.2.17", "5", "S7-300", NULL),
	  SERVES(PP_BIT(PP_S7COMM) | PP_BIT(PP_PN_DCP) | PP_BIT(PP_SNMP) | PP_BIT(PP_LLDP)),
	  .pn_vendor = 0x002a, .pn_device = 0x0101, .pn_role = 2, .slot = 2,
	  .sys_object_id = "1.3.6.1.4.1.4329.6.1.1.1" } },
	{ VENDOR_ROCKWELL, "6XXXXXXX", {
	  M("Rockwell Automation/Allen-Bradley", "5069-L320ER/A", NULL, "32.12", NULL, "CompactLogix 5380", NULL),
	  SERVES(PP_BIT(PP_ENIP)), .cip_vendor = 1, .cip_device_type = 0x0e, .cip_product_code = 210,
	  .cip_major = 32, .cip_minor = 12 } },
	{ VENDOR_SCHNEIDER, "BMX####@####", {
	  M("Schneider Electric", "BMX P34 2020", "BMXP342020", "V3.20", NULL, "Modicon M340", NULL),
	  SERVES(PP_BIT(PP_MBTCP)) } },
};

static const struct catalog_entry hmi_models[] = {
	{ VENDOR_SIEMENS, "S Q-@@@@#####", {
	  M("Siemens AG", "TP1200 Comfort", "6AV2 124-0MC01-0AX0", "V17.0.0.0", "2", "SIMATIC HMI",
	    "Windows CE 6.0"),
	  SERVES(PP_BIT(PP_PN_DCP) | PP_BIT(PP_LLDP)), .pn_vendor = 0x002a, .pn_device = 0x0a01, .pn_role = 8 } },
	{ VENDOR_ADVANTECH, "AKB#######", {
	  M("Advantech Co., Ltd.", "WebOP-3100T", NULL, "2.6.1", NULL, "WebOP", "Linux"), SERVES(0) } },
};

static const struct catalog_entry rtu_models[] = {
	{ VENDOR_ABB, "1KGT######", {
	  M("ABB", "RTU560 560CMU05", "1KGT030500R0001", "13.2.1", "R0002", "RTU500", NULL),
	  SERVES(PP_BIT(PP_DNP3) | PP_BIT(PP_IEC104)) } },
	{ VENDOR_SEL, "##########", {
	  M("Schweitzer Engineering Laboratories, Inc.", "SEL-3530 RTAC", "35300X1A2B3C", "R151-V3", "3", "RTAC", NULL),
	  SERVES(PP_BIT(PP_DNP3)) } },
	{ VENDOR_SIEMENS, "BF##########", {
	  M("Siemens AG", "SICAM A8000 CP-8050", "6MF2805-0AA00", "V05.10", "1", "SICAM A8000", NULL),
	  SERVES(PP_BIT(PP_IEC104)) } },
};

static const struct catalog_entry bacnet_models[] = {
	{ VENDOR_JOHNSON, "@@@#######", {
	  M("Johnson Controls, Inc.", "MS-NAE5510-2", "MS-NAE5510-2", "10.1.0", NULL, "Metasys NAE55", NULL),
	  SERVES(PP_BIT(PP_BACNET)), .bacnet_vendor = 5 } },
	{ VENDOR_HONEYWELL, "##########", {
	  M("Honeywell Inc.", "Spyder PUB6438S", "PUB6438S", "3.2.1", NULL, "Spyder", NULL),
	  SERVES(PP_BIT(PP_BACNET)), .bacnet_vendor = 17 } },
};

static const struct catalog_entry io_model = { VENDOR_SIEMENS, "S C-@@@@#####", {
	M("Siemens AG", "IM 155-6 PN HF", "6ES7 155-6AU01-0CN0", "V4.2.1", "2", "ET 200SP", NULL),
	SERVES(PP_BIT(PP_PN_DCP) | PP_BIT(PP_LLDP) | PP_BIT(PP_SNMP)), .pn_vendor = 0x002a, .pn_device = 0x0313,
	.pn_role = 1, .sys_object_id = "1.3.6.1.4.1.4329.6.1.2.3" } };

static const struct catalog_entry laptop_models[] = {
	{ VENDOR_DELL, "@@@@@@@", {
	  M("Dell Inc.", "Latitude 5440", NULL, "1.14.0", NULL, "Latitude", "Windows 11 Enterprise"), SERVES(0) } },
	{ VENDOR_INTEL, "BTAH########", {
	  M("Intel Corporation", "NUC13ANKi7", NULL, "0047", NULL, "NUC", "Windows 10 Pro"), SERVES(0) } },
};

/* A contractor's laptop that is not part of the plant (the new-host scenario). */
static const struct catalog_entry visitor_model = { VENDOR_LENOVO, "PF@@@@@@", {
	M("Lenovo", "ThinkPad P16s Gen 2", NULL, "1.32", NULL, "ThinkPad", "Windows 11 Pro"), SERVES(0) } };

static const struct catalog_entry router_model = { VENDOR_CISCO, "FDO####@@@@", {
	M("Cisco Systems, Inc.", "ISR4331/K9", NULL, "16.9.4", "V05", "ISR 4300", "IOS XE"),
	SERVES(PP_BIT(PP_SNMP) | PP_BIT(PP_CDP)), .sys_object_id = "1.3.6.1.4.1.9.1.1862" } };
static const struct catalog_entry dns_model = { VENDOR_DELL, "@@@@@@@", {
	M("Dell Inc.", "PowerEdge R650", NULL, "1.10.2", NULL, "PowerEdge", "Windows Server 2022"),
	SERVES(PP_BIT(PP_DHCP) | PP_BIT(PP_DNS)) } };
static const struct catalog_entry ews_model = { VENDOR_DELL, "@@@@@@@", {
	M("Dell Inc.", "Precision 3660", NULL, "2.9.0", NULL, "Precision", "Windows 10 Enterprise LTSC 2021"),
	SERVES(0) } };
static const struct catalog_entry historian_model = { VENDOR_HP, "CZ@@########", {
	M("Hewlett Packard Enterprise", "ProLiant DL360 Gen10", NULL, "U32 2.90", NULL, "ProLiant",
	  "Windows Server 2019"), SERVES(PP_BIT(PP_HTTP)) } };
static const struct catalog_entry fileserver_model = { VENDOR_HP, "CZ@@########", {
	M("Hewlett Packard Enterprise", "ProLiant ML350 Gen10", NULL, "U41 2.72", NULL, "ProLiant",
	  "Debian GNU/Linux 12"), SERVES(PP_BIT(PP_SSH)) } };
static const struct catalog_entry scada_model = { VENDOR_DELL, "@@@@@@@", {
	M("Dell Inc.", "PowerEdge R740", NULL, "2.19.1", NULL, "PowerEdge", "Windows Server 2019"), SERVES(0) } };
static const struct catalog_entry ot_switch_model = { VENDOR_HIRSCHMANN, "942######@###", {
	M("Hirschmann Automation and Control GmbH", "RSP35", "RSP35-08033O6TT-SK9V9HHSE2S", "HiOS-09.0.04", "1.00",
	  "Railswitch", NULL),
	SERVES(PP_BIT(PP_LLDP) | PP_BIT(PP_SNMP)), .sys_object_id = "1.3.6.1.4.1.248.11.2.1.17" } };
static const struct catalog_entry it_switch_model = { VENDOR_CISCO, "FOC####@@@@", {
	M("Cisco Systems, Inc.", "IE-4000-8GT4G-E", NULL, "15.2(7)E4", "V03", "Industrial Ethernet 4000", "IOS"),
	SERVES(PP_BIT(PP_CDP) | PP_BIT(PP_SNMP) | PP_BIT(PP_SSH)), .sys_object_id = "1.3.6.1.4.1.9.1.2063" } };

/* Hosts beyond the fixed six, in this order, then the tail repeats. The first six extras complete a plant
 * where every protocol is spoken at the default 12 hosts. */
static const enum plant_role core_roles[] = { ROLE_ROUTER, ROLE_DHCP_DNS, ROLE_HMI, ROLE_PLC, ROLE_EWS, ROLE_LAPTOP };
static const enum plant_role extra_roles[] = { ROLE_HISTORIAN, ROLE_PLC, ROLE_PLC, ROLE_SCADA, ROLE_RTU,
	ROLE_BACNET, ROLE_FILESERVER, ROLE_HMI, ROLE_LAPTOP, ROLE_RTU, ROLE_IO, ROLE_BACNET, ROLE_RTU };
static const enum plant_role repeat_roles[] = { ROLE_PLC, ROLE_LAPTOP, ROLE_PLC, ROLE_HMI, ROLE_IO, ROLE_PLC,
	ROLE_RTU, ROLE_BACNET };

static const char *const offsite_names[] = { "update.vendor-cloud.com", "mail.corp-example.net",
	"portal.corp-example.net", "telemetry.vendor-cloud.com" };

#define N(a) (sizeof(a) / sizeof((a)[0]))

const char *plant_role_name(enum plant_role role)
{
	switch (role) {
	case ROLE_ROUTER: return "gw";
	case ROLE_DHCP_DNS: return "srv-dns";
	case ROLE_HMI: return "hmi";
	case ROLE_PLC: return "plc";
	case ROLE_EWS: return "ews";
	case ROLE_LAPTOP: return "laptop";
	case ROLE_HISTORIAN: return "historian";
	case ROLE_FILESERVER: return "fs";
	case ROLE_SCADA: return "scada";
	case ROLE_RTU: return "rtu";
	case ROLE_BACNET: return "bms";
	case ROLE_IO: return "io";
	case ROLE_SWITCH: return "sw";
	case ROLE__COUNT: break;
	}
	return "host";
}

const char *plant_role_type(enum plant_role role)
{
	switch (role) {
	case ROLE_ROUTER: return "router";
	case ROLE_DHCP_DNS:
	case ROLE_FILESERVER: return "server";
	case ROLE_HMI: return "hmi";
	case ROLE_PLC: return "plc";
	case ROLE_EWS: return "engineering_workstation";
	case ROLE_LAPTOP: return "it_host";
	case ROLE_HISTORIAN: return "historian";
	case ROLE_SCADA: return "scada_server";
	case ROLE_RTU: return "rtu";
	case ROLE_BACNET: return "bacnet_controller";
	case ROLE_IO: return "io_device";
	case ROLE_SWITCH: return "switch";
	case ROLE__COUNT: break;
	}
	return "unknown";
}

const char *plant_vendor_name(enum plant_vendor vendor)
{
	for (size_t i = 0; i < N(ouis); i++)
		if (ouis[i].vendor == vendor)
			return ouis[i].name;
	return "unknown";
}

const char *plant_proto_name(enum plant_proto proto)
{
	static const char *const names[PP__COUNT] = { "arp", "lldp", "cdp", "pn_dcp", "mbtcp", "s7comm",
		"s7comm_plus", "dnp3", "enip", "bacnet", "iec60870_104", "opcua", "dhcp", "dns", "mdns", "nbns",
		"snmp", "http", "tls", "ssh" };
	return (unsigned)proto < PP__COUNT ? names[proto] : "unknown";
}

const char *plant_proto_role_name(enum plant_proto_role role)
{
	static const char *const names[PR__COUNT] = { "client", "server", "peer" };
	return (unsigned)role < PR__COUNT ? names[role] : "unknown";
}

static enum plant_role role_at(unsigned i)
{
	if (i < N(core_roles))
		return core_roles[i];
	if (i < N(core_roles) + N(extra_roles))
		return extra_roles[i - N(core_roles)];
	return repeat_roles[(i - N(core_roles) - N(extra_roles)) % N(repeat_roles)];
}

static const struct catalog_entry *model_for(enum plant_role role, unsigned nth, struct prng *r)
{
	switch (role) {
	case ROLE_ROUTER: return &router_model;
	case ROLE_DHCP_DNS: return &dns_model;
	case ROLE_PLC: return &plc_models[nth % N(plc_models)];
	case ROLE_HMI: return &hmi_models[nth % N(hmi_models)];
	case ROLE_LAPTOP: return &laptop_models[prng_next(r) & 1];
	case ROLE_EWS: return &ews_model;
	case ROLE_HISTORIAN: return &historian_model;
	case ROLE_FILESERVER: return &fileserver_model;
	case ROLE_SCADA: return &scada_model;
	case ROLE_RTU: return &rtu_models[nth % N(rtu_models)];
	case ROLE_BACNET: return &bacnet_models[nth % N(bacnet_models)];
	case ROLE_IO: return &io_model;
	case ROLE_SWITCH: return nth ? &it_switch_model : &ot_switch_model;
	case ROLE__COUNT: break;
	}
	return &ews_model;
}

static void make_mac(uint8_t mac[6], enum plant_vendor vendor, struct prng *r)
{
	const struct vendor_oui *v = &ouis[0];
	uint64_t x = prng_next(r);

	for (size_t i = 0; i < N(ouis); i++)
		if (ouis[i].vendor == vendor)
			v = &ouis[i];
	memcpy(mac, v->oui[x & 1], 3);
	mac[3] = (uint8_t)(x >> 8);
	mac[4] = (uint8_t)(x >> 16);
	mac[5] = (uint8_t)(x >> 24);
}

static void make_serial(char *out, size_t cap, const char *fmt, struct prng *r)
{
	static const char alnum[] = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *fmt && n + 1 < cap; fmt++) {
		uint64_t x = prng_next(r);
		if (*fmt == '#')
			out[n++] = (char)('0' + x % 10);
		else if (*fmt == '@')
			out[n++] = alnum[x % (sizeof(alnum) - 1)];
		else if (*fmt == 'X')
			out[n++] = hex[x % 16];
		else
			out[n++] = *fmt;
	}
	out[n] = '\0';
}

static bool mac_taken(const struct plant *p, unsigned upto, const uint8_t mac[6])
{
	for (unsigned i = 0; i < upto; i++)
		if (memcmp(p->hosts[i].mac, mac, 6) == 0)
			return true;
	return false;
}

static void place(struct plant *p, unsigned i, enum plant_role role, unsigned nth, struct prng *r)
{
	struct plant_host *h = &p->hosts[i];
	const struct catalog_entry *c;
	unsigned site = p->site_octet;

	h->role = role;
	c = model_for(role, nth, r);
	h->model = &c->m;
	h->vendor = c->mac_vendor;
	do
		make_mac(h->mac, h->vendor, r);
	while (mac_taken(p, i, h->mac));
	make_serial(h->serial, sizeof(h->serial), c->serial_fmt, r);
	/* .1 gateway, .2 DHCP/DNS, .252/.253 switches, everyone else from .10 up; laptops draw from the DHCP pool. */
	if (role == ROLE_ROUTER)
		h->ip = 1;
	else if (role == ROLE_DHCP_DNS)
		h->ip = 2;
	else if (role == ROLE_SWITCH)
		h->ip = 252 + nth;
	else
		h->ip = 8 + i;
	h->ip |= (10u << 24) | ((uint32_t)site << 16) | (1u << 8);
	switch (role) {
	case ROLE_HMI:
	case ROLE_PLC:
	case ROLE_EWS:
	case ROLE_HISTORIAN:
	case ROLE_SCADA:
	case ROLE_RTU:
	case ROLE_BACNET:
	case ROLE_IO:
		h->vlan = PLANT_OT_VLAN;
		break;
	case ROLE_LAPTOP:
		h->dhcp = true;
		break;
	default:
		break;
	}
	if (role == ROLE_ROUTER)
		snprintf(h->name, sizeof(h->name), "gw-site%u", site);
	else if (role == ROLE_LAPTOP)
		snprintf(h->name, sizeof(h->name), "LT-%04u", (unsigned)prng_range(r, 1000, 9999));
	else if (role == ROLE_SWITCH)
		snprintf(h->name, sizeof(h->name), "%s-site%u", nth ? "sw-core" : "sw-ot", site);
	else
		snprintf(h->name, sizeof(h->name), "%s-%02u", plant_role_name(role), nth + 1);
	/* Protocol addresses: BACnet instances are site-numbered; DNP3 outstations from 10, IEC 104 from 1. */
	if (role == ROLE_BACNET)
		h->address = site * 1000u + 100u + nth;
	else if (role == ROLE_RTU)
		h->address = 10u + nth;
}

int plant_build(struct plant *p, uint64_t seed, unsigned n_hosts, unsigned site_octet)
{
	unsigned count[ROLE__COUNT] = { 0 };
	struct prng r;

	if (n_hosts < PLANT_MIN_HOSTS || n_hosts > PLANT_MAX_HOSTS || site_octet < 1 || site_octet > 254 ||
	    site_octet == 200)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	prng_init(&r, seed, 0x706c616e74ULL);
	p->site_octet = (uint8_t)site_octet;
	p->n_hosts = n_hosts;
	p->n_devices = n_hosts + PLANT_SWITCHES;
	for (unsigned i = 0; i < n_hosts; i++) {
		enum plant_role role = role_at(i);
		place(p, i, role, count[role]++, &r);
		if (role == ROLE_ROUTER)
			p->router = i;
		else if (role == ROLE_DHCP_DNS)
			p->dns = i;
	}
	p->ot_switch = n_hosts;
	p->it_switch = n_hosts + 1;
	place(p, p->ot_switch, ROLE_SWITCH, 0, &r);
	place(p, p->it_switch, ROLE_SWITCH, 1, &r);
	for (unsigned i = 0; i < PLANT_OFFSITE_COUNT; i++) {
		/* Distinct third octets keep the off-site addresses unique. */
		p->offsite[i] = (10u << 24) | (200u << 16) | ((uint32_t)(i * 64 + prng_range(&r, 0, 63)) << 8) |
			(uint32_t)prng_range(&r, 1, 254);
		snprintf(p->offsite_name[i], sizeof(p->offsite_name[i]), "%s", offsite_names[i]);
	}
	return 0;
}

unsigned plant_add_visitor(struct plant *p, uint64_t seed, uint8_t host_octet)
{
	static const char alnum[] = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
	unsigned i = p->n_devices;
	struct plant_host *h = &p->hosts[i];
	struct prng r;
	char name[16] = "DESKTOP-";

	prng_init(&r, seed, 0x7669736974ULL);
	memset(h, 0, sizeof(*h));
	h->role = ROLE_LAPTOP;
	h->model = &visitor_model.m;
	h->vendor = visitor_model.mac_vendor;
	do
		make_mac(h->mac, h->vendor, &r);
	while (mac_taken(p, i, h->mac));
	make_serial(h->serial, sizeof(h->serial), visitor_model.serial_fmt, &r);
	h->ip = (10u << 24) | ((uint32_t)p->site_octet << 16) | (1u << 8) | host_octet;
	h->vlan = PLANT_OT_VLAN;
	/* Windows names a fresh installation DESKTOP- and seven random letters and digits. */
	for (size_t k = 8; k < 15; k++)
		name[k] = alnum[prng_next(&r) % (sizeof(alnum) - 1)];
	snprintf(h->name, sizeof(h->name), "%s", name);
	p->has_visitor = true;
	return i;
}

uint32_t plant_broadcast(const struct plant *p)
{
	return (10u << 24) | ((uint32_t)p->site_octet << 16) | (1u << 8) | 255u;
}

unsigned plant_find(const struct plant *p, enum plant_role role)
{
	for (unsigned i = 0; i < p->n_devices; i++)
		if (p->hosts[i].role == role)
			return i;
	return p->n_devices;
}

const char *plant_fact_name(enum plant_fact fact)
{
	static const char *const names[PF__COUNT] = { "vendor", "model", "firmware", "serial", "order_number",
		"hostname" };
	return (unsigned)fact < PF__COUNT ? names[fact] : "unknown";
}

unsigned plant_sys_descr_facts(const struct plant_host *h)
{
	if (h->vendor == VENDOR_SIEMENS && h->model->order_number)
		return PF_BIT(PF_VENDOR) | PF_BIT(PF_MODEL) | PF_BIT(PF_ORDER_NUMBER) | PF_BIT(PF_FIRMWARE) |
			PF_BIT(PF_SERIAL);
	if (h->vendor == VENDOR_CISCO)
		return PF_BIT(PF_VENDOR) | PF_BIT(PF_FIRMWARE);
	return PF_BIT(PF_VENDOR) | PF_BIT(PF_MODEL) | PF_BIT(PF_FIRMWARE);
}

void plant_sys_descr(const struct plant_host *h, char *buf, size_t cap)
{
	const struct plant_model *m = h->model;

	if (h->vendor == VENDOR_SIEMENS && m->order_number)
		snprintf(buf, cap, "Siemens, %s%s, %s, %s, HW: Version %s, FW: Version %s, %s",
			strncmp(m->family, "SIMATIC", 7) == 0 ? "" : "SIMATIC ",
			strncmp(m->family, "S7-", 3) == 0 ? "S7" : m->family, m->model, m->order_number,
			m->hardware ? m->hardware : "1", m->firmware, h->serial);
	else if (h->vendor == VENDOR_CISCO && h->role == ROLE_ROUTER)
		snprintf(buf, cap, "Cisco IOS Software [Fuji], ISR Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), "
			"Version %s, RELEASE SOFTWARE (fc2)", m->firmware);
	else if (h->vendor == VENDOR_CISCO)
		snprintf(buf, cap, "Cisco IOS Software, IE4000 Software (IE4000-UNIVERSALK9-M), Version %s, RELEASE "
			"SOFTWARE (fc1)", m->firmware);
	else if (h->vendor == VENDOR_HIRSCHMANN)
		snprintf(buf, cap, "Hirschmann %s %s %s", m->family, m->model, m->firmware);
	else
		snprintf(buf, cap, "%s %s %s", m->vendor, m->model, m->firmware);
}

bool plant_port_open(const struct plant_host *h, uint16_t port)
{
	uint32_t sv = h->model->serves;

	switch (port) {
	case 22: return sv & PP_BIT(PP_SSH);
	case 80: return sv & PP_BIT(PP_HTTP);
	case 102: return sv & (PP_BIT(PP_S7COMM) | PP_BIT(PP_S7COMM_PLUS));
	case 502: return sv & PP_BIT(PP_MBTCP);
	case 2404: return sv & PP_BIT(PP_IEC104);
	case 4840: return sv & PP_BIT(PP_OPCUA);
	case 20000: return sv & PP_BIT(PP_DNP3);
	case 44818: return sv & PP_BIT(PP_ENIP);
	default: return false;
	}
}
