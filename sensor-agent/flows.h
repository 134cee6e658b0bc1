/* The flow table: one entry per transport 5-tuple, both directions on the same entry. Each flow decides once,
 * on its first packet, which endpoint is the server, so every packet of a conversation lands on the same
 * connection whatever order or direction the capture starts with (docs/architecture.md, "Device identity"). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "sensor-agent/dissect/dissect.h"

struct flow_table;

/* Endpoints in canonical order (lo < hi by address then port), so both directions give the same key. */
struct flow_key {
	uint8_t ip_version;
	uint8_t transport; /* enum dissect_transport */
	uint16_t port_lo, port_hi;
	uint8_t addr_lo[16], addr_hi[16];
};

struct dpi_flow;

struct flow {
	struct flow_key key;
	bool server_is_hi; /* decided on the first packet, never changed */
	uint8_t fin;       /* TCP: bit 0 FIN seen to the server, bit 1 to the client */
	void *conn;        /* the inventory's connection for this flow (not owned) */
	struct dpi_flow *dpi; /* deep-inspection state (dpi.h), owned by the caller: end it before removal */
	int64_t last_seen; /* packet time of the flow's last packet, set by the caller */
};

struct flow_table *flows_new(void);
/* Frees every flow (not what their conn pointers point to). */
void flows_free(struct flow_table *t);
size_t flows_count(const struct flow_table *t);

/* The flow of a TCP/UDP packet, created on first sight (*created = true; conn is then NULL for the caller to
 * set). *to_server tells the packet's direction. dst_is_group: the packet's destination is a broadcast or
 * multicast address, which can only be the server side. Returns NULL for a non-TCP/UDP frame or when out of
 * memory. */
struct flow *flows_lookup(struct flow_table *t, const struct dissect_frame *f, bool dst_is_group, bool *created,
			  bool *to_server);

/* Calls fn for every flow (fn must not add or remove flows). */
void flows_foreach(struct flow_table *t, void (*fn)(void *ud, struct flow *f), void *ud);
/* Removes the flows whose last_seen is before `before`, calling fn on each first (to release what it points
 * to). Returns how many were removed. Fragment bookkeeping older than that goes too. */
size_t flows_expire(struct flow_table *t, int64_t before, void (*fn)(void *ud, struct flow *f), void *ud);

/* The server decision for a flow's first packet: true when the packet's destination is the server.
 * In order: SYN without ACK (sender is the client), SYN+ACK (sender is the server), a group destination,
 * exactly one well-known service port, the lower port, and on a tie the destination. */
bool flows_server_is_dst(const struct dissect_frame *f, bool dst_is_group);

/* IPv4/IPv6 fragments after the first carry no ports: they are counted on the connection of the last
 * first-fragment or whole datagram seen for the same (source, destination, protocol). */
int flows_note_datagram(struct flow_table *t, const struct dissect_frame *f, void *conn, int64_t ts)
	__attribute__((warn_unused_result));
void *flows_fragment_conn(const struct flow_table *t, const struct dissect_frame *f);
