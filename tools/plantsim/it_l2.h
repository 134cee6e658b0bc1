/* Link-layer discovery: LLDP (IEEE 802.1AB) and CDP (Cisco Discovery Protocol v2, in LLC/SNAP). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "tools/plantsim/wbuf.h"

#define LLDP_CAP_BRIDGE 0x0004
#define LLDP_CAP_ROUTER 0x0010
#define LLDP_CAP_STATION 0x0080

struct lldp_info {
	uint8_t chassis_subtype;   /* 4 MAC address, 7 locally assigned */
	const void *chassis;
	size_t chassis_len;
	uint8_t port_subtype;      /* 5 interface name, 7 locally assigned */
	const char *port;
	uint16_t ttl;
	const char *port_descr;    /* optional TLVs: NULL to leave out */
	const char *sys_name;
	const char *sys_descr;
	uint16_t caps;             /* system capabilities (also the enabled ones) */
	uint32_t mgmt_ip;          /* 0: no management address TLV */
	uint32_t if_index;
};

/* LLDPDU: chassis id, port id, TTL, the optional TLVs given, end of LLDPDU. */
void lldp_pdu(struct wbuf *b, const struct lldp_info *li);

struct cdp_info {
	const char *device_id;
	uint32_t ip;
	const char *port;
	uint32_t caps;             /* 0x01 router, 0x08 switch, 0x20 IGMP */
	const char *version;
	const char *platform;
	uint16_t native_vlan;
};

/* LLC/SNAP header (AA AA 03, OUI 00000C, PID 0x2000) and a CDP v2 PDU with its checksum. */
void cdp_pdu(struct wbuf *b, const struct cdp_info *ci);

/* CDP's checksum: RFC 1071, except for an odd last octet, which Cisco's implementation adds as the low byte
 * of a word, sign-extended (and then, through the lost carry, one less when negative). */
uint16_t cdp_checksum(const uint8_t *p, size_t n);
