/* dns, mdns: placeholders until their dissector lands (recognised by port only). */
#include "sensor-agent/dissect/proto.h"

const struct dissector dissector_dns = { .name = "dns" };
const struct dissector dissector_mdns = { .name = "mdns" };
