/* The protocol registry: every protocol the sensor names, and how it is recognised. Today recognition is by
 * ethertype / SNAP id / well-known port; a protocol that gets a real parser will gain probe/parse/state
 * callbacks in its entry (one file per protocol, one line in the table in registry.c).
 * Names are Wireshark display-filter names so they can be compared with tshark. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sensor-agent/dissect/dissect.h"

#define REGISTRY_TCP 0x01
#define REGISTRY_UDP 0x02

struct registry_proto {
	const char *name;
	/* Layer-2 recognition: an ethertype, or a SNAP OUI + protocol id (snap_oui != 0). probe_l2 (optional)
	 * must accept the bytes after the ethertype. */
	uint16_t ethertype;
	uint32_t snap_oui;
	uint16_t snap_pid;
	bool (*probe_l2)(const uint8_t *p, size_t len);
	/* Port-based recognition: transports it runs over and its well-known server ports (0-terminated). */
	uint8_t transports;
	uint16_t ports[3];
	/* Talks to peers rather than client/server (L2 discovery, broadcast announcements). */
	bool peer;
};

/* The L2 protocol carried by an ethertype (p/len: the bytes after it), or NULL. */
const char *registry_by_ethertype(uint16_t ethertype, const uint8_t *p, size_t len);
/* The protocol carried in a SNAP frame with this OUI and protocol id, or NULL. */
const char *registry_by_snap(uint32_t oui, uint16_t pid);
/* The protocol whose well-known server port this is on that transport, or NULL. */
const char *registry_by_port(enum dissect_transport t, uint16_t port);
/* True for protocols whose devices are peers (arp, lldp, cdp, pn_dcp, broadcast announcements). */
bool registry_is_peer(const char *name);
