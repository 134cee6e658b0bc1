/* iec60870_104: placeholder until its dissector lands (recognised by port/ethertype only). */
#include "sensor-agent/dissect/proto.h"

const struct dissector dissector_iec104 = { .name = "iec60870_104" };
