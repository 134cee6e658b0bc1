#include "sensor-agent/dissect/registry.h"

#include <string.h>

#include "sensor-agent/dissect/proto.h"

/* PROFINET DCP rides in PN-RT frames whose frame id is 0xfefc..0xfeff (IEC 61158-6-10, frame id table). */
static bool probe_pn_dcp(const uint8_t *p, size_t len)
{
	uint16_t id;

	if (len < 2)
		return false;
	id = (uint16_t)(p[0] << 8 | p[1]);
	return id >= 0xfefc && id <= 0xfeff;
}

#define T REGISTRY_TCP
#define U REGISTRY_UDP

/* Order matters only where two entries share a key: the first match wins (pn_dcp before pn_rt). */
static const struct registry_proto protos[] = {
	{ .name = "arp", .ethertype = 0x0806, .peer = true },
	{ .name = "lldp", .ethertype = 0x88cc, .peer = true, .dissector = &dissector_lldp },
	{ .name = "cdp", .snap_oui = 0x00000c, .snap_pid = 0x2000, .peer = true,
	  .dissector = &dissector_cdp },
	{ .name = "pn_dcp", .ethertype = 0x8892, .probe_l2 = probe_pn_dcp, .peer = true,
	  .dissector = &dissector_pn_dcp },
	{ .name = "pn_rt", .ethertype = 0x8892 },
	{ .name = "mbtcp", .transports = T, .ports = { 502 }, .dissector = &dissector_modbus },
	{ .name = "s7comm", .transports = T, .ports = { 102 }, .dissector = &dissector_s7comm },
	{ .name = "s7comm_plus" }, /* carried by the s7comm dissector on port 102 */
	{ .name = "dnp3", .transports = T | U, .ports = { 20000 }, .dissector = &dissector_dnp3 },
	{ .name = "enip", .transports = T | U, .ports = { 44818, 2222 }, .dissector = &dissector_enip },
	{ .name = "bacnet", .transports = U, .ports = { 47808 }, .dissector = &dissector_bacnet },
	{ .name = "iec60870_104", .transports = T, .ports = { 2404 }, .dissector = &dissector_iec104 },
	{ .name = "opcua", .transports = T, .ports = { 4840 }, .dissector = &dissector_opcua },
	{ .name = "dhcp", .transports = U, .ports = { 67, 68 }, .peer = true, .dissector = &dissector_dhcp },
	{ .name = "dns", .transports = T | U, .ports = { 53 }, .dissector = &dissector_dns },
	{ .name = "mdns", .transports = U, .ports = { 5353 }, .peer = true, .dissector = &dissector_mdns },
	{ .name = "nbns", .transports = U, .ports = { 137 }, .peer = true, .dissector = &dissector_nbns },
	{ .name = "snmp", .transports = U, .ports = { 161, 162 }, .dissector = &dissector_snmp },
	{ .name = "http", .transports = T, .ports = { 80 }, .dissector = &dissector_http },
	{ .name = "tls", .transports = T, .ports = { 443 }, .dissector = &dissector_tls },
	{ .name = "ssh", .transports = T, .ports = { 22 }, .dissector = &dissector_ssh },
	{ .name = "smb", .transports = T, .ports = { 445, 139 }, .dissector = &dissector_smb },
};

#undef T
#undef U

#define N_PROTOS (sizeof(protos) / sizeof(protos[0]))

const char *registry_by_ethertype(uint16_t ethertype, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < N_PROTOS; i++) {
		if (protos[i].ethertype != ethertype || ethertype == 0)
			continue;
		if (protos[i].probe_l2 && !protos[i].probe_l2(p, len))
			continue;
		return protos[i].name;
	}
	return NULL;
}

const char *registry_by_snap(uint32_t oui, uint16_t pid)
{
	for (size_t i = 0; i < N_PROTOS; i++)
		if (protos[i].snap_oui && protos[i].snap_oui == oui && protos[i].snap_pid == pid)
			return protos[i].name;
	return NULL;
}

const struct registry_proto *registry_entry_by_port(enum dissect_transport t, uint16_t port)
{
	uint8_t mask = t == DISSECT_T_TCP ? REGISTRY_TCP : t == DISSECT_T_UDP ? REGISTRY_UDP : 0;

	if (!mask || port == 0)
		return NULL;
	for (size_t i = 0; i < N_PROTOS; i++) {
		if (!(protos[i].transports & mask))
			continue;
		for (size_t j = 0; j < sizeof(protos[i].ports) / sizeof(protos[i].ports[0]) && protos[i].ports[j]; j++)
			if (protos[i].ports[j] == port)
				return &protos[i];
	}
	return NULL;
}

const char *registry_by_port(enum dissect_transport t, uint16_t port)
{
	const struct registry_proto *e = registry_entry_by_port(t, port);
	return e ? e->name : NULL;
}

const struct dissector *registry_l2_dissector(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < N_PROTOS; i++)
		if (!protos[i].transports && strcmp(protos[i].name, name) == 0)
			return protos[i].dissector;
	return NULL;
}

const char *registry_name(const char *name)
{
	for (size_t i = 0; i < N_PROTOS && name; i++)
		if (strcmp(protos[i].name, name) == 0)
			return protos[i].name;
	return NULL;
}

bool registry_is_peer(const char *name)
{
	if (!name)
		return false;
	for (size_t i = 0; i < N_PROTOS; i++)
		if (strcmp(protos[i].name, name) == 0)
			return protos[i].peer;
	return false;
}
