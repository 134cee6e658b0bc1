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

struct flow {
	struct flow_key key;
	bool server_is_hi; /* decided on the first packet, never changed */
	void *conn;        /* the inventory's connection for this flow (not owned) */
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

/* The server decision for a flow's first packet: true when the packet's destination is the server.
 * In order: SYN without ACK (sender is the client), SYN+ACK (sender is the server), a group destination,
 * exactly one well-known service port, the lower port, and on a tie the destination. */
bool flows_server_is_dst(const struct dissect_frame *f, bool dst_is_group);

/* IPv4/IPv6 fragments after the first carry no ports: they are counted on the connection of the last
 * first-fragment or whole datagram seen for the same (source, destination, protocol). */
int flows_note_datagram(struct flow_table *t, const struct dissect_frame *f, void *conn)
	__attribute__((warn_unused_result));
void *flows_fragment_conn(const struct flow_table *t, const struct dissect_frame *f);
