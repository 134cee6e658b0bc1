/* The simulated site: its devices, their roles, vendors, identities (model, firmware, serial), MAC and IPv4
 * addresses, all derived from the seed and the host count. Everything lives in 10.<site_octet>.1.0/24; the
 * router also carries a few off-site addresses (10.200.x.y), so one MAC is seen with many IPs.
 *
 * hosts[0 .. n_hosts) are the hosts asked for on the command line; hosts[n_hosts .. n_devices) are the two
 * infrastructure switches (management addresses .252 and .253), which are not counted in n_hosts. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLANT_MIN_HOSTS 6
#define PLANT_MAX_HOSTS 200
#define PLANT_SWITCHES 2
/* Devices: the hosts, the switches and one spare slot for a scenario's visitor (hosts[n_devices]). */
#define PLANT_MAX_DEVICES (PLANT_MAX_HOSTS + PLANT_SWITCHES + 1)
#define PLANT_DEFAULT_HOSTS 12
#define PLANT_DEFAULT_SITE_OCTET 10
#define PLANT_OFFSITE_COUNT 4
/* offsite[PLANT_OFFSITE_EXTRA]: one more address beyond the router that only a scenario uses (a known-bad server);
 * the plant's own traffic picks among the first PLANT_OFFSITE_COUNT. */
#define PLANT_OFFSITE_EXTRA PLANT_OFFSITE_COUNT
#define PLANT_OFFSITE_NAME_LEN 64
#define PLANT_OT_VLAN 20

enum plant_role {
	ROLE_ROUTER,
	ROLE_DHCP_DNS,   /* DHCP, DNS and network monitoring (SNMP) server */
	ROLE_HMI,
	ROLE_PLC,
	ROLE_EWS,        /* engineering workstation */
	ROLE_LAPTOP,
	ROLE_HISTORIAN,
	ROLE_FILESERVER,
	ROLE_SCADA,      /* SCADA master: DNP3 master, IEC 104 controlling station */
	ROLE_RTU,        /* remote terminal unit: DNP3 outstation and/or IEC 104 controlled station */
	ROLE_BACNET,     /* building automation controller */
	ROLE_IO,         /* PROFINET remote I/O */
	ROLE_SWITCH,     /* infrastructure, never in hosts[0 .. n_hosts) */
	ROLE__COUNT
};

enum plant_vendor {
	VENDOR_SIEMENS,
	VENDOR_ROCKWELL,
	VENDOR_SCHNEIDER,
	VENDOR_ADVANTECH,
	VENDOR_DELL,
	VENDOR_HP,
	VENDOR_INTEL,
	VENDOR_CISCO,
	VENDOR_HIRSCHMANN,
	VENDOR_ABB,
	VENDOR_SEL,
	VENDOR_JOHNSON,
	VENDOR_HONEYWELL,
	VENDOR_LENOVO,   /* only a scenario's visiting laptop */
};

/* The protocols the simulator speaks, named as the sensor's registry (Wireshark display-filter names). */
enum plant_proto {
	PP_ARP,
	PP_LLDP,
	PP_CDP,
	PP_PN_DCP,
	PP_MBTCP,
	PP_S7COMM,
	PP_S7COMM_PLUS,
	PP_DNP3,
	PP_ENIP,
	PP_BACNET,
	PP_IEC104,
	PP_OPCUA,
	PP_DHCP,
	PP_DNS,
	PP_MDNS,
	PP_NBNS,
	PP_SNMP,
	PP_HTTP,
	PP_TLS,
	PP_SSH,
	PP__COUNT
};

#define PP_BIT(p) (1u << (p))

/* Identity facts a device can state on the wire (the ground truth says which protocol revealed which). */
enum plant_fact { PF_VENDOR, PF_MODEL, PF_FIRMWARE, PF_SERIAL, PF_ORDER_NUMBER, PF_HOSTNAME, PF__COUNT };

#define PF_BIT(f) (1u << (f))

/* A device's part in a protocol: requester/master, responder/outstation, or a peer (discovery broadcasts). */
enum plant_proto_role { PR_CLIENT, PR_SERVER, PR_PEER, PR__COUNT };

/* One product in the catalogue. Strings are what the device states on the wire. */
struct plant_model {
	const char *vendor;        /* vendor as the device names itself ("Siemens AG") */
	const char *model;         /* product / module name */
	const char *order_number;  /* NULL when the product states none */
	const char *firmware;
	const char *hardware;      /* hardware revision, NULL if not stated */
	const char *family;        /* product family ("S7-1500", "ControlLogix 5580") */
	const char *os;            /* operating system of PC-class hosts, NULL otherwise */
	uint32_t serves;           /* PP_BIT()s of the protocols it answers as a server/outstation */
	uint16_t cip_vendor, cip_device_type, cip_product_code;  /* cip_vendor 0: no CIP */
	uint8_t cip_major, cip_minor;
	uint16_t bacnet_vendor;    /* 0: no BACnet */
	uint16_t pn_vendor, pn_device;  /* pn_vendor 0: no PROFINET */
	uint8_t pn_role;           /* DCP device role: 1 IO device, 2 IO controller, 8 IO supervisor */
	uint8_t slot;              /* S7 CPU rack 0 slot */
	const char *sys_object_id; /* SNMP sysObjectID, dotted; NULL: no SNMP agent */
};

struct plant_host {
	enum plant_role role;
	enum plant_vendor vendor;
	char name[24];
	uint8_t mac[6];
	uint32_t ip;     /* host byte order */
	uint16_t vlan;   /* 0 = untagged (IT side), PLANT_OT_VLAN for the OT cell */
	bool dhcp;       /* gets its address through DHCP at the start of the capture */
	const struct plant_model *model;
	char serial[24];
	uint32_t address; /* BACnet device instance, DNP3 outstation address, IEC 104 common address */
};

struct plant {
	uint8_t site_octet;
	unsigned n_hosts;
	unsigned n_devices;  /* n_hosts + PLANT_SWITCHES */
	struct plant_host hosts[PLANT_MAX_DEVICES];
	unsigned router;     /* index of the router/gateway in hosts */
	unsigned dns;        /* index of the DHCP/DNS server */
	unsigned ot_switch;  /* Hirschmann cell switch: LLDP */
	unsigned it_switch;  /* Cisco distribution switch: CDP */
	uint32_t offsite[PLANT_OFFSITE_COUNT + 1];  /* addresses reached through the router (+ the extra) */
	char offsite_name[PLANT_OFFSITE_COUNT + 1][PLANT_OFFSITE_NAME_LEN];
	bool has_visitor;    /* hosts[n_devices] is a scenario's visitor (plant_add_visitor) */
};

/* Builds the site. n_hosts must be in [PLANT_MIN_HOSTS, PLANT_MAX_HOSTS] and site_octet in [1, 254]
 * (and not 200, which the off-site range uses). The first six hosts are always router, DHCP/DNS,
 * HMI, PLC, engineering workstation and laptop; the next six historian, two PLCs, SCADA master, RTU and
 * BACnet controller (so 12 hosts speak every protocol); further hosts follow a fixed rotation.
 * Returns 0 or -EINVAL. */
int plant_build(struct plant *p, uint64_t seed, unsigned n_hosts, unsigned site_octet)
	__attribute__((warn_unused_result));

/* Short role name used in host names ("plc", "hmi", ...). */
const char *plant_role_name(enum plant_role role);
/* The device type in the sensor's vocabulary ("plc", "engineering_workstation", "it_host", ...). */
const char *plant_role_type(enum plant_role role);
const char *plant_vendor_name(enum plant_vendor vendor);
const char *plant_proto_name(enum plant_proto proto);
const char *plant_proto_role_name(enum plant_proto_role role);

/* The subnet's broadcast address 10.K.1.255. */
uint32_t plant_broadcast(const struct plant *p);

/* The system description the device announces (SNMP sysDescr, LLDP/CDP): Siemens' "Siemens, SIMATIC ..."
 * line with order number, versions and serial, Cisco's IOS banner, or vendor, model and firmware. */
void plant_sys_descr(const struct plant_host *h, char *buf, size_t cap);
/* The PF_BIT()s of the facts that description states. */
unsigned plant_sys_descr_facts(const struct plant_host *h);
/* True when the host serves TCP `port` (its model's protocols); what a port scan finds open. */
bool plant_port_open(const struct plant_host *h, uint16_t port);
const char *plant_fact_name(enum plant_fact fact);

/* Adds a scenario's visitor at hosts[n_devices] (not counted in n_devices, so the plant's own sessions never
 * use it): a contractor's laptop (Lenovo, a Windows default host name) with the static address 10.K.1.host_octet
 * on the OT VLAN, identity drawn from the seed. Returns its index. */
unsigned plant_add_visitor(struct plant *p, uint64_t seed, uint8_t host_octet);

/* First host of the role, or p->n_devices if there is none. */
unsigned plant_find(const struct plant *p, enum plant_role role);
