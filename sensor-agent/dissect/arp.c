#include <string.h>

#include "sensor-agent/dissect/internal.h"

/* Only Ethernet/IPv4 ARP (htype 1, ptype 0x0800, 6/4 address lengths) names devices; anything else is
 * still recognised as "arp" by the registry but leaves has_arp false. */
void arp_decode(struct cursor *c, struct dissect_frame *f)
{
	uint16_t htype, ptype, op;
	uint8_t hlen, plen;
	const uint8_t *sha, *spa, *tha, *tpa;

	if (!cursor_u16be(c, &htype) || !cursor_u16be(c, &ptype) || !cursor_u8(c, &hlen) || !cursor_u8(c, &plen) ||
	    !cursor_u16be(c, &op))
		return;
	if (htype != 1 || ptype != DISSECT_ETH_IPV4 || hlen != 6 || plen != 4)
		return;
	if (!cursor_bytes(c, 6, &sha) || !cursor_bytes(c, 4, &spa) || !cursor_bytes(c, 6, &tha) ||
	    !cursor_bytes(c, 4, &tpa))
		return;
	f->has_arp = true;
	f->arp_op = op;
	memcpy(f->arp_sha, sha, 6);
	memcpy(f->arp_spa, spa, 4);
	memcpy(f->arp_tha, tha, 6);
	memcpy(f->arp_tpa, tpa, 4);
}
