/* Frame dissection: one captured frame -> a flat description of its layers (struct dissect_frame), without
 * allocating. Every read goes through common/cursor.h and is bounded by the captured length; a malformed or
 * truncated header stops the walk and leaves the layers decoded so far ("stop at the last good layer"). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Link types as pcap_datalink() reports them (DLT_*) and as files store them (LINKTYPE_*). DLT_RAW is 12 on
 * most systems and 14 on OpenBSD; files say 101. Defined here so the library needs no pcap headers. */
enum {
	DISSECT_DLT_NULL = 0,
	DISSECT_DLT_EN10MB = 1,
	DISSECT_DLT_RAW = 12,
	DISSECT_DLT_RAW_OPENBSD = 14,
	DISSECT_LINKTYPE_RAW = 101,
	DISSECT_DLT_LOOP = 108,
	DISSECT_DLT_LINUX_SLL = 113,
	DISSECT_LINKTYPE_IPV4 = 228,
	DISSECT_LINKTYPE_IPV6 = 229,
	DISSECT_DLT_LINUX_SLL2 = 276,
};

#define DISSECT_ETH_IPV4 0x0800
#define DISSECT_ETH_ARP 0x0806
#define DISSECT_ETH_IPV6 0x86dd

enum dissect_transport { DISSECT_T_NONE = 0, DISSECT_T_TCP, DISSECT_T_UDP };

#define DISSECT_TCP_FIN 0x01
#define DISSECT_TCP_SYN 0x02
#define DISSECT_TCP_RST 0x04
#define DISSECT_TCP_ACK 0x10

struct dissect_frame {
	/* Link layer. has_src_mac/has_dst_mac: the link type carries that address (SLL has no destination). */
	bool has_src_mac, has_dst_mac;
	uint8_t src_mac[6], dst_mac[6];
	/* SLL only: the kernel's packet type said broadcast or multicast (there is no destination MAC). */
	bool link_multicast;
	/* Ethertype after VLAN tags and LLC/SNAP (0 when the frame had none, e.g. plain 802.2 LLC or no link). */
	uint16_t ethertype;
	bool has_vlan;
	uint16_t vlan; /* innermost (customer) VLAN id */
	/* Non-IP protocol recognised at layer 2 ("arp", "lldp", "cdp", "pn_dcp", ...), else NULL. */
	const char *l2_proto;
	/* The captured bytes after the ethertype or SNAP header of a non-IP frame (for layer-2 dissectors). */
	const uint8_t *l2_payload;
	size_t l2_payload_len;

	/* ARP (Ethernet/IPv4 only). */
	bool has_arp;
	uint16_t arp_op;
	uint8_t arp_sha[6], arp_tha[6];
	uint8_t arp_spa[4], arp_tpa[4];

	/* Network layer: ip_version 4 or 6 when the header was valid, else 0. Addresses are in network order;
	 * an IPv4 address fills the first 4 bytes. */
	uint8_t ip_version;
	uint8_t src_ip[16], dst_ip[16];
	uint8_t ip_proto;     /* upper-layer protocol after IPv6 extension headers */
	bool ip_fragment;     /* part of a fragmented datagram (first or not) */
	bool ip_later_fragment; /* a fragment with a non-zero offset: carries no transport header */
	uint32_t ip_frag_id;
	uint32_t ip_payload_len; /* bytes after the IP headers per the IP length fields (not caplen) */

	/* Transport: set only when the TCP/UDP header was complete. */
	enum dissect_transport transport;
	uint16_t src_port, dst_port;
	uint8_t tcp_flags;
	uint32_t tcp_seq, tcp_ack;
	uint32_t payload_len; /* TCP/UDP payload per the length fields */
	const uint8_t *payload; /* captured payload bytes (payload_caplen of them, may be fewer than payload_len) */
	size_t payload_caplen;
};

/* Decodes one frame. Returns false when the link type is not supported (f is then zeroed); a malformed
 * frame is not an error: f describes the layers that decoded. */
bool dissect_frame(int linktype, const uint8_t *data, size_t caplen, struct dissect_frame *f);

/* True when the link type is one dissect_frame() understands. */
bool dissect_linktype_supported(int linktype);
