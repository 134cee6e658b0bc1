/* The inventory's data model, shared by inventory.c (which builds it from packets) and inventory_json.c
 * (which turns it into records and the inspect document). Not for other modules: they use inventory.h. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sensor-agent/dissect/hashmap.h"
#include "sensor-agent/inventory.h"

/* Bounds per entity: a device speaks a handful of protocols and sits on a VLAN or two. Beyond these the extra
 * ones are dropped rather than letting a scan or a VLAN-hopping flood grow memory per device. */
#define INV_MAX_PROTOS 24
#define INV_MAX_VLANS 8
#define INV_MAX_CONN_PROTOS 4
#define INV_KEY_LEN 48

enum inv_role { INV_ROLE_CLIENT = 0, INV_ROLE_SERVER, INV_ROLE_PEER };
enum inv_transport { INV_T_TCP = 1, INV_T_UDP, INV_T_ETH };

struct inv_proto {
	const char *name; /* a registry name (static storage) */
	uint8_t role;
};

/* What was seen of one entity (a MAC's own layer-2 traffic, or one IP address). */
struct inv_attrs {
	struct inv_proto protos[INV_MAX_PROTOS];
	uint16_t vlans[INV_MAX_VLANS];
	uint8_t n_protos, n_vlans;
	int64_t first_seen, last_seen; /* µs; 0 = never */
};

struct inv_device;

struct inv_ip {
	uint8_t key[17]; /* version (4/6) then the address, zero-padded */
	struct inv_device *dev;
	bool arp_claimed; /* its owner announced it in ARP: never unbound from that MAC */
	bool ip_traffic;  /* seen as an IP packet's endpoint (counts toward the router rule) */
	struct inv_attrs attrs;
};

struct inv_device {
	char key[INV_KEY_LEN]; /* "mac:aa:bb:.." or "ip:...", zero-padded (it is the map key) */
	bool has_mac;
	bool router;
	bool dirty;
	bool emitted; /* a record of it went out: dropping it needs a device_remove record */
	uint8_t mac[6];
	const char *vendor; /* from the OUI database, not owned */
	struct inv_ip **ips;
	size_t n_ips, cap_ips;
	struct inv_attrs attrs; /* the MAC's own (layer-2) traffic */
};

struct inv_conn_key {
	uint8_t transport; /* enum inv_transport */
	uint8_t ip_version; /* 0 for eth */
	uint16_t port;      /* server port; unused for eth */
	uint8_t src[16], dst[16]; /* client/server IPs, or source/destination MACs */
};

struct inv_conn {
	struct inv_conn_key key;
	bool broadcast;
	bool dirty;
	uint8_t n_protos;
	const char *protos[INV_MAX_CONN_PROTOS];
	uint64_t packets, bytes;           /* totals */
	uint64_t sent_packets, sent_bytes; /* totals already emitted by inventory_flush */
	int64_t first_seen, last_seen;
};

struct inventory {
	const struct oui_db *oui;
	struct flow_table *flows;
	struct hashmap devices; /* key string -> struct inv_device */
	struct hashmap macs;    /* 6-byte MAC -> struct inv_device */
	struct hashmap ips;     /* struct inv_ip.key -> struct inv_ip */
	struct hashmap conns;   /* struct inv_conn_key -> struct inv_conn */
	uint64_t packets, bytes, undecoded;
	int64_t first_packet, last_packet;
	bool truncated;
	unsigned files;
	/* Keys of emitted devices that were dropped since the last flush (an IP-only device whose address
	 * moved to a MAC): the next flush retracts them with device_remove records. */
	char (*removed)[INV_KEY_LEN];
	size_t n_removed, cap_removed;
};

/* The merged view of a device: its own attributes plus those of every IP bound to it. */
void inv_device_merged(const struct inv_device *d, struct inv_attrs *out);
/* Record bodies (no "seq"; "kind" included when with_kind). */
json_t *inv_device_json(const struct inv_device *d, bool with_kind);
json_t *inv_conn_json(const struct inv_conn *c, bool increments, bool with_kind);
/* Text forms of addresses: buffers of at least 46 bytes. */
void inv_format_mac(const uint8_t mac[6], char *out);
void inv_format_ip(int version, const uint8_t *addr, char *out);
/* qsort comparators over arrays of pointers. */
int inv_device_cmp(const void *a, const void *b);
int inv_conn_cmp(const void *a, const void *b);
/* Collects the map's values into a new array (caller frees), sorted with cmp when not NULL. */
void **inv_collect(const struct hashmap *m, size_t *n, int (*cmp)(const void *, const void *));
