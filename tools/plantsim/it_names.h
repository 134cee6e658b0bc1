/* Naming and addressing: DHCP (RFC 2131/2132), DNS (RFC 1035), mDNS (RFC 6762) and NetBIOS name service
 * (RFC 1002) builders. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "tools/plantsim/wbuf.h"

/* DNS A query and its answer (one A record, TTL 300). */
void pl_dns_query(struct wbuf *b, uint16_t id, const char *name);
void pl_dns_answer(struct wbuf *b, uint16_t id, const char *name, uint32_t ip);
/* Encodes a dotted name as DNS labels; labels over 63 bytes are cut. */
void dns_name(struct wbuf *b, const char *name);

enum { DHCP_DISCOVER = 1, DHCP_OFFER = 2, DHCP_REQUEST = 3, DHCP_ACK = 5 };

struct pl_dhcp {
	uint8_t type;          /* DHCP_* message type */
	uint32_t xid;
	uint16_t secs;
	const uint8_t *chaddr; /* client MAC */
	uint32_t yiaddr;       /* offered address (OFFER/ACK) or requested (REQUEST) */
	uint32_t server;
	uint32_t router;
	uint32_t mask;
	const char *hostname;  /* client side: option 12 */
	const char *vendor_class; /* client side: option 60 */
	const char *domain;    /* server side: option 15 */
};

/* BOOTP/DHCP message, padded to the 300-byte BOOTP minimum. */
void pl_dhcp(struct wbuf *b, const struct pl_dhcp *m);

/* mDNS announcement: an unsolicited authoritative response with the host's A record (cache-flush). */
void mdns_announce(struct wbuf *b, const char *host, uint32_t ip);
/* mDNS query for a PTR name (QU bit clear). */
void mdns_query(struct wbuf *b, const char *name);

/* NetBIOS first-level encoding of a 15-character name and its suffix (32 bytes + length and root). */
void nbns_name(struct wbuf *b, const char *name, uint8_t suffix);
/* NetBIOS name registration request (broadcast, B-node); group for a workgroup name. */
void nbns_register(struct wbuf *b, uint16_t id, const char *name, uint8_t suffix, bool group, uint32_t ip);
