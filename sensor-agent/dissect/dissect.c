#include <string.h>

#include "sensor-agent/dissect/internal.h"
#include "sensor-agent/dissect/registry.h"

#define ETH_VLAN_8021Q 0x8100
#define ETH_VLAN_8021AD 0x88a8
#define ETH_VLAN_QINQ_OLD 0x9100 /* pre-standard QinQ outer tag, still seen on older switches */

void dissect_ethertype(struct cursor *c, uint16_t type, struct dissect_frame *f, int depth)
{
	f->ethertype = type;
	switch (type) {
	case ETH_VLAN_8021Q:
	case ETH_VLAN_8021AD:
	case ETH_VLAN_QINQ_OLD:
		f->ethertype = 0;
		link_vlan(c, f, depth);
		return;
	case DISSECT_ETH_IPV4:
		ip_decode(c, f, 4);
		return;
	case DISSECT_ETH_IPV6:
		ip_decode(c, f, 6);
		return;
	case DISSECT_ETH_ARP:
		f->l2_proto = registry_by_ethertype(type, cursor_ptr(c), cursor_remaining(c));
		arp_decode(c, f);
		return;
	default:
		f->l2_proto = registry_by_ethertype(type, cursor_ptr(c), cursor_remaining(c));
		f->l2_payload = cursor_ptr(c);
		f->l2_payload_len = cursor_remaining(c);
		return;
	}
}

bool dissect_linktype_supported(int linktype)
{
	switch (linktype) {
	case DISSECT_DLT_NULL:
	case DISSECT_DLT_EN10MB:
	case DISSECT_DLT_RAW:
	case DISSECT_DLT_RAW_OPENBSD:
	case DISSECT_LINKTYPE_RAW:
	case DISSECT_DLT_LOOP:
	case DISSECT_DLT_LINUX_SLL:
	case DISSECT_LINKTYPE_IPV4:
	case DISSECT_LINKTYPE_IPV6:
	case DISSECT_DLT_LINUX_SLL2:
		return true;
	default:
		return false;
	}
}

bool dissect_frame(int linktype, const uint8_t *data, size_t caplen, struct dissect_frame *f)
{
	struct cursor c;

	memset(f, 0, sizeof(*f));
	cursor_init(&c, data, data ? caplen : 0);
	switch (linktype) {
	case DISSECT_DLT_EN10MB:
		link_ethernet(&c, f);
		return true;
	case DISSECT_DLT_LINUX_SLL:
		link_sll(&c, f);
		return true;
	case DISSECT_DLT_LINUX_SLL2:
		link_sll2(&c, f);
		return true;
	case DISSECT_DLT_NULL:
	case DISSECT_DLT_LOOP:
		link_null(&c, f);
		return true;
	case DISSECT_DLT_RAW:
	case DISSECT_DLT_RAW_OPENBSD:
	case DISSECT_LINKTYPE_RAW:
		link_raw(&c, f, 0);
		return true;
	case DISSECT_LINKTYPE_IPV4:
		link_raw(&c, f, 4);
		return true;
	case DISSECT_LINKTYPE_IPV6:
		link_raw(&c, f, 6);
		return true;
	default:
		return false;
	}
}
