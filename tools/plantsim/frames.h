/* Frame builders for the plant simulator: Ethernet II (optionally 802.1Q tagged), ARP, IPv4 with
 * UDP or TCP. Each builder writes one complete frame into a caller buffer, fills every length and
 * checksum field, pads to the 60-byte Ethernet minimum (frames as captured, without FCS) and returns
 * the frame length, or -ENOSPC if cap is too small. Addresses are passed in host byte order. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define FRAME_MAX_LEN 1518
#define FRAME_MIN_LEN 60

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP  0x0806
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_LLDP 0x88cc

#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY   2

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

struct frame_l2 {
	uint8_t dst[6];
	uint8_t src[6];
	uint16_t vlan; /* 802.1Q VLAN id, 0 = untagged */
};

struct frame_ip {
	uint32_t src;
	uint32_t dst;
	uint16_t id;
	uint8_t ttl;
};

struct frame_tcp {
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t flags;
	uint16_t window;
	uint16_t mss; /* nonzero: append an MSS option (SYN segments only) */
};

/* RFC 1071 one's-complement sum: frame_csum_add accumulates (only the last chunk may have odd
 * length), frame_csum_fold folds and complements. frame_csum does both over one buffer. */
uint32_t frame_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t frame_csum_fold(uint32_t sum);
uint16_t frame_csum(const void *data, size_t len);

/* Ethernet frame with an arbitrary payload (LLDP, or anything with its own ethertype). */
int frame_eth(uint8_t *buf, size_t cap, const struct frame_l2 *l2, uint16_t ethertype,
	const void *payload, size_t plen) __attribute__((warn_unused_result));

/* ARP for IPv4 over Ethernet; sha/tha are the ARP sender/target hardware addresses. */
int frame_arp(uint8_t *buf, size_t cap, const struct frame_l2 *l2, uint16_t op, const uint8_t sha[6],
	uint32_t spa, const uint8_t tha[6], uint32_t tpa) __attribute__((warn_unused_result));

int frame_udp(uint8_t *buf, size_t cap, const struct frame_l2 *l2, const struct frame_ip *ip,
	uint16_t sport, uint16_t dport, const void *payload, size_t plen) __attribute__((warn_unused_result));

int frame_tcp(uint8_t *buf, size_t cap, const struct frame_l2 *l2, const struct frame_ip *ip,
	const struct frame_tcp *tcp, const void *payload, size_t plen) __attribute__((warn_unused_result));
