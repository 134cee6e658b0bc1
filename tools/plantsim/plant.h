/* The simulated site: its hosts, their roles, vendors, MAC and IPv4 addresses, all derived from
 * the seed and the host count. Everything lives in 10.<site_octet>.1.0/24; the router also carries
 * a few off-site addresses (10.200.x.y), so one MAC is seen with many IPs. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define PLANT_MIN_HOSTS 6
#define PLANT_MAX_HOSTS 200
#define PLANT_DEFAULT_HOSTS 12
#define PLANT_DEFAULT_SITE_OCTET 10
#define PLANT_OFFSITE_COUNT 4
#define PLANT_OT_VLAN 20

enum plant_role {
	ROLE_ROUTER,
	ROLE_DHCP_DNS,
	ROLE_HMI,
	ROLE_PLC,
	ROLE_EWS,        /* engineering workstation */
	ROLE_LAPTOP,
	ROLE_HISTORIAN,
	ROLE_FILESERVER,
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
};

struct plant_host {
	enum plant_role role;
	enum plant_vendor vendor;
	char name[24];
	uint8_t mac[6];
	uint32_t ip;     /* host byte order */
	uint16_t vlan;   /* 0 = untagged (IT side), PLANT_OT_VLAN for the OT cell */
	bool dhcp;       /* gets its address through DHCP at the start of the capture */
};

struct plant {
	uint8_t site_octet;
	unsigned n_hosts;
	struct plant_host hosts[PLANT_MAX_HOSTS];
	unsigned router;    /* index of the router/gateway in hosts */
	unsigned dns;       /* index of the DHCP/DNS server */
	uint8_t switch_mac[6];  /* the LLDP-speaking switch; infrastructure, not counted in n_hosts */
	uint32_t offsite[PLANT_OFFSITE_COUNT];  /* addresses reached through the router */
	char offsite_name[PLANT_OFFSITE_COUNT][32];
};

/* Builds the site. n_hosts must be in [PLANT_MIN_HOSTS, PLANT_MAX_HOSTS] and site_octet in [1, 254]
 * (and not 200, which the off-site range uses). The first six hosts are always router, DHCP/DNS,
 * HMI, PLC, engineering workstation and laptop; further hosts add historian, PLCs, file server,
 * HMIs and laptops in a fixed rotation. Returns 0 or -EINVAL. */
int plant_build(struct plant *p, uint64_t seed, unsigned n_hosts, unsigned site_octet)
	__attribute__((warn_unused_result));

const char *plant_role_name(enum plant_role role);
const char *plant_vendor_name(enum plant_vendor vendor);

/* The subnet's broadcast address 10.K.1.255. */
uint32_t plant_broadcast(const struct plant *p);
