/* The protocol registry: every protocol the sensor names, how it is recognised (ethertype / SNAP id /
 * well-known port) and which dissector (proto.h) reads it: one file per protocol, one line in the table in
 * registry.c.
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
	/* The dissector that reads it (NULL: recognised by port/ethertype only). */
	const struct dissector *dissector;
};

struct dissector;

/* The L2 protocol carried by an ethertype (p/len: the bytes after it), or NULL. */
const char *registry_by_ethertype(uint16_t ethertype, const uint8_t *p, size_t len);
/* The protocol carried in a SNAP frame with this OUI and protocol id, or NULL. */
const char *registry_by_snap(uint32_t oui, uint16_t pid);
/* The protocol whose well-known server port this is on that transport, or NULL. */
const char *registry_by_port(enum dissect_transport t, uint16_t port);
/* The registry entry for a well-known server port on that transport, or NULL. */
const struct registry_proto *registry_entry_by_port(enum dissect_transport t, uint16_t port);
/* The dissector of a layer-2 protocol named by registry_by_ethertype/registry_by_snap, or NULL. */
const struct dissector *registry_l2_dissector(const char *name);
/* The registry's own static copy of a protocol name (so callers may keep the pointer), or NULL if unknown. */
const char *registry_name(const char *name);
/* True for protocols whose devices are peers (arp, lldp, cdp, pn_dcp, broadcast announcements). */
bool registry_is_peer(const char *name);
