/* The inventory's data model, shared by inventory.c (which builds it from packets) and inventory_json.c
 * (which turns it into records and the inspect document). Not for other modules: they use inventory.h. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sensor-agent/dissect/dpi.h"
#include "sensor-agent/dissect/hashmap.h"
#include "sensor-agent/dissect/proto.h"
#include "sensor-agent/inventory.h"

/* Bounds per entity: a device speaks a handful of protocols and sits on a VLAN or two. Beyond these the extra
 * ones are dropped rather than letting a scan or a VLAN-hopping flood grow memory per device. */
#define INV_MAX_PROTOS 24
#define INV_MAX_VLANS 8
#define INV_MAX_CONN_PROTOS 4
#define INV_KEY_LEN 48
#define INV_MAX_FUNCS 64       /* function codes kept per connection */
#define INV_FACT_LEN 128       /* longest text fact kept (bytes, after sanitising) */
#define INV_MAX_EVENTS 20000   /* distinct (kind, protocol, name, source, destination) event entries */

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

/* Device facts from deep inspection (proto.h's PROTO_ATTR_*), each with the protocol that stated it. */
struct inv_fact {
	char *text;         /* owned, sanitised; NULL for a numeric fact */
	int64_t num;
	int64_t ts;         /* packet time it was last stated */
	const char *source; /* protocol name (static) */
	bool set, is_num;
};

struct inv_facts {
	struct inv_fact f[PROTO_ATTR__COUNT];
};

/* Behaviour seen of one entity, for classification. */
struct inv_behaviour {
	uint32_t out_conns;   /* connections it opened as a client */
	uint32_t out_replied; /* ... of which the server answered */
	bool programming;     /* it programmed, stopped/started or updated a controller */
	const char *programming_evidence; /* the event that showed it (static) */
};

struct inv_device;

struct inv_ip {
	uint8_t key[17]; /* version (4/6) then the address, zero-padded */
	struct inv_device *dev;
	bool arp_claimed; /* its owner announced it in ARP: never unbound from that MAC */
	bool ip_traffic;  /* seen as an IP packet's endpoint (counts toward the router rule) */
	bool dhcp_claimed; /* a DHCP server leased it to its device's MAC */
	struct inv_attrs attrs;
	struct inv_facts *facts; /* NULL until a fact is stated */
	struct inv_behaviour beh;
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
	struct inv_facts *facts; /* facts stated by layer-2 protocols or about the MAC (DHCP chaddr) */
	struct inv_behaviour beh;
};

struct inv_conn_key {
	uint8_t transport; /* enum inv_transport */
	uint8_t ip_version; /* 0 for eth */
	uint16_t port;      /* server port; unused for eth */
	uint8_t src[16], dst[16]; /* client/server IPs, or source/destination MACs */
};

struct inv_func {
	const char *proto, *name; /* static */
	uint32_t code;
};

struct inv_conn {
	struct inv_conn_key key;
	bool broadcast;
	bool dirty;
	bool replied; /* the server side sent something */
	uint16_t n_funcs, cap_funcs;
	struct inv_func *funcs;
	uint8_t n_protos;
	const char *protos[INV_MAX_CONN_PROTOS];
	uint64_t packets, bytes;           /* totals */
	uint64_t sent_packets, sent_bytes; /* totals already emitted by inventory_flush */
	uint64_t rate_mark;                /* packets at the last minute tick of the alert engines */
	int64_t first_seen, last_seen;
};

/* Events and violations, aggregated per (kind, protocol, name, source, destination). */
struct inv_event_key {
	uint8_t kind; /* PROTO_OBS_EVENT or PROTO_OBS_VIOLATION */
	char proto[24], name[40];
	char src[46], dst[46];
};

struct inv_event {
	struct inv_event_key key;
	uint64_t count, sent;
	int64_t first_seen, last_seen;
	char detail[INV_FACT_LEN];
	bool dirty;
};

struct settings;

struct alerts;
struct evidence;
struct indicators;

struct inventory {
	const struct oui_db *oui;
	struct alerts *alerts; /* NULL unless alerts were enabled */
	struct indicators *indicators; /* the malware engine's bundle (owned), or NULL */
	struct evidence *evidence;     /* recent packets per flow for alerts' evidence captures (owned), or NULL */
	int64_t now;           /* packet time of the packet being handled */
	const struct settings *settings; /* the console's settings (not owned), or NULL */
	struct dpi *dpi;
	struct hashmap events; /* struct inv_event_key -> struct inv_event */
	uint64_t events_dropped; /* distinct events beyond INV_MAX_EVENTS */
	int64_t next_expiry;     /* packet time of the next flow expiry pass */
	struct flow_table *flows;
	struct hashmap devices; /* key string -> struct inv_device */
	struct hashmap macs;    /* 6-byte MAC -> struct inv_device */
	struct hashmap ips;     /* struct inv_ip.key -> struct inv_ip */
	struct hashmap conns;   /* struct inv_conn_key -> struct inv_conn */
	uint64_t packets, bytes, undecoded;
	int64_t first_packet, last_packet;
	int64_t tick_at;       /* packet time of the alert engines' last minute tick (inventory_alerts.c) */
	uint64_t tick_packets; /* packets at that tick */
	bool truncated;
	unsigned files;
	/* Keys of emitted devices that were dropped since the last flush (an IP-only device whose address
	 * moved to a MAC): the next flush retracts them with device_remove records. */
	char (*removed)[INV_KEY_LEN];
	size_t n_removed, cap_removed;
};

/* inventory_dpi.c: the deep-inspection sink and what it keeps. */
struct inv_packet_ctx {
	struct inventory *inv;
	struct inv_conn *conn;          /* the packet's connection (NULL if none) */
	struct inv_ip *src_ip, *dst_ip; /* IP endpoints (NULL for layer 2 or group addresses) */
	struct inv_device *src_dev, *dst_dev; /* layer-2 endpoints (MAC devices), may be NULL */
};
void inv_dpi_sink(void *ud, const struct proto_ctx *ctx, const struct proto_obs *o);
void inv_facts_free(struct inv_facts *f);
void inv_conn_free(struct inv_conn *c);
void inv_events_free(struct inventory *inv);
/* The alert records since the last flush (inventory_setup.c). */
int inv_alerts_flush(struct inventory *inv, inventory_record_fn fn, void *ud);
/* The alert engines' minute tick (packet time). */
void inv_alerts_tick(struct inventory *inv, int64_t now);
/* The facts of a device merged over its MAC and its IPs (latest statement wins); out is zeroed first and
 * borrows the text pointers. Behaviour is merged alongside. */
void inv_device_facts(const struct inv_device *d, struct inv_facts *out, struct inv_behaviour *beh);
/* Record bodies for events (no "seq"; "kind" is "event" or "violation"). */
json_t *inv_event_json(const struct inv_event *e, bool increments);
int inv_event_cmp(const void *a, const void *b);
/* Per-protocol inspection counters and reassembly memory, for the inspect document and health records. */
json_t *inv_dpi_stats_json(const struct inventory *inv);
/* Binds an IPv4 address a DHCP server leased to a MAC device (the lease moves with the client). */
void inv_dhcp_bind(struct inventory *inv, struct inv_device *d, const uint8_t addr[4], int64_t ts);
/* Text of a connection's client and server addresses (buffers of 46 bytes). */
void inv_conn_addrs(const struct inv_conn *c, char *client, char *server);
/* inventory.c helpers used by inventory_dpi.c */
struct inv_device *inv_device_for_mac(struct inventory *inv, const uint8_t mac[6]);
struct inv_ip *inv_ip_find(const struct inventory *inv, int version, const uint8_t *addr);
struct inv_ip *inv_ip_get(struct inventory *inv, int version, const uint8_t *addr);
void inv_ip_bind(struct inventory *inv, struct inv_device *d, struct inv_ip *ip);
void inv_attrs_add_proto(struct inv_attrs *a, const char *name, uint8_t role);

/* The merged view of a device: its own attributes plus those of every IP bound to it. */
void inv_device_merged(const struct inv_device *d, struct inv_attrs *out);
/* Record bodies (no "seq"; "kind" included when with_kind). */
json_t *inv_device_json(const struct inventory *inv, const struct inv_device *d, bool with_kind);
json_t *inv_conn_json(const struct inv_conn *c, bool increments, bool with_kind);
/* Text forms of addresses: buffers of at least 46 bytes. */
void inv_format_mac(const uint8_t mac[6], char *out);
void inv_format_ip(int version, const uint8_t *addr, char *out);
/* qsort comparators over arrays of pointers. */
int inv_device_cmp(const void *a, const void *b);
int inv_conn_cmp(const void *a, const void *b);
/* Collects the map's values into a new array (caller frees), sorted with cmp when not NULL. */
void **inv_collect(const struct hashmap *m, size_t *n, int (*cmp)(const void *, const void *));
