/* dhcp: placeholder until its dissector lands (recognised by port/ethertype only). */
#include "sensor-agent/dissect/proto.h"

const struct dissector dissector_dhcp = { .name = "dhcp" };
