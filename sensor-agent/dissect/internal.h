/* Layer decoders inside libotw_dissect. Each takes a cursor positioned at its header and the frame being
 * filled; on a malformed header it returns without touching the layers above (the frame keeps what decoded). */
#pragma once
#include "common/cursor.h"
#include "sensor-agent/dissect/dissect.h"

/* dissect.c: dispatches on an ethertype (after the link header, a VLAN tag or LLC/SNAP). depth bounds
 * nested VLAN tags. */
void dissect_ethertype(struct cursor *c, uint16_t type, struct dissect_frame *f, int depth);

/* link.c: link-layer headers. */
void link_ethernet(struct cursor *c, struct dissect_frame *f);
void link_sll(struct cursor *c, struct dissect_frame *f);
void link_sll2(struct cursor *c, struct dissect_frame *f);
void link_null(struct cursor *c, struct dissect_frame *f);
void link_raw(struct cursor *c, struct dissect_frame *f, int version);
/* 802.2 LLC (and SNAP) after an 802.3 length field or an SLL 802.2 protocol value. */
void link_llc(struct cursor *c, struct dissect_frame *f, int depth);
/* 802.1Q / 802.1ad tag: TCI then the inner ethertype. */
void link_vlan(struct cursor *c, struct dissect_frame *f, int depth);

/* arp.c */
void arp_decode(struct cursor *c, struct dissect_frame *f);

/* ip.c: version 0 means "look at the first nibble". */
void ip_decode(struct cursor *c, struct dissect_frame *f, int version);

/* transport.c: c covers exactly the IP payload that was captured; payload_len is the IP layer's length. */
void transport_decode(struct cursor *c, struct dissect_frame *f, uint32_t ip_payload_len);
