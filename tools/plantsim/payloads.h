/* Application payloads for the plant simulator. Each builder appends one protocol data unit to a
 * wbuf (check b->overflow afterwards); all of them are pure functions of their arguments. The bytes
 * follow the public specs closely enough that Wireshark dissects them without complaint; they are
 * not a full implementation of any of these protocols. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "tools/plantsim/wbuf.h"

/* Modbus/TCP (MBAP + PDU), function 3 read holding registers. qty <= 125. */
void pl_modbus_read_req(struct wbuf *b, uint16_t tid, uint8_t unit, uint16_t addr, uint16_t qty);
void pl_modbus_read_rsp(struct wbuf *b, uint16_t tid, uint8_t unit, const uint16_t *regs, uint16_t qty);

/* S7comm over ISO-on-TCP (RFC 1006 TPKT + ISO 8073 COTP). */
void pl_s7_cotp_connect(struct wbuf *b, bool confirm, uint16_t dst_ref, uint16_t src_ref);
void pl_s7_setup(struct wbuf *b, bool ack, uint16_t pdu_ref);
void pl_s7_read_req(struct wbuf *b, uint16_t pdu_ref, uint16_t db, uint32_t byte_off, uint16_t n);
void pl_s7_read_rsp(struct wbuf *b, uint16_t pdu_ref, const uint8_t *data, uint16_t n);

/* EtherNet/IP encapsulation: RegisterSession, and SendRRData carrying a CIP Get_Attribute_All on
 * the Identity object (class 1 instance 1). */
void pl_enip_register(struct wbuf *b, bool reply, uint32_t handle, uint64_t ctx);
void pl_enip_identity(struct wbuf *b, bool reply, uint32_t handle, uint64_t ctx, uint32_t serial,
	const char *product);

/* TLS 1.2 records: ClientHello with SNI, ServerHello, and opaque application data. */
void pl_tls_client_hello(struct wbuf *b, const uint8_t random[32], const uint8_t sid[32], const char *sni);
void pl_tls_server_hello(struct wbuf *b, const uint8_t random[32], const uint8_t sid[32]);
void pl_tls_app_data(struct wbuf *b, const uint8_t *ciphertext, uint16_t n);

/* DNS A query and its answer (one A record, TTL 300). */
void pl_dns_query(struct wbuf *b, uint16_t id, const char *name);
void pl_dns_answer(struct wbuf *b, uint16_t id, const char *name, uint32_t ip);

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

/* LLDPDU: chassis id (MAC), port id (interface name), TTL, system name/description, capabilities. */
void pl_lldp(struct wbuf *b, const uint8_t mac[6], const char *port, const char *sysname, const char *descr,
	uint16_t ttl);

/* BACnet/IP Original-Broadcast-NPDU carrying an unconfirmed Who-Is to all networks. */
void pl_bacnet_whois(struct wbuf *b);
