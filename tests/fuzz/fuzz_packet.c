/* libFuzzer: one frame into a long-lived inventory. The first input byte picks the link type; the rest is the
 * frame. The inventory persists across inputs (and is flushed now and then) so flows, bindings and the router
 * rule see sequences of packets, as in a capture. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sensor-agent/inventory.h"

static const int linktypes[] = { 0, 1, 12, 14, 101, 108, 113, 228, 229, 276 };

static int drop(void *ud, json_t *record)
{
	(void)ud;
	(void)record;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct inventory *inv;
	static unsigned n;
	struct pcap_pkthdr h;

	if (size < 1)
		return 0;
	if (!inv)
		inv = inventory_new(NULL);
	if (!inv)
		return 0;
	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = 1700000000 + n;
	h.caplen = (uint32_t)(size - 1);
	h.len = h.caplen + (data[0] >> 4);
	inventory_packet(inv, linktypes[data[0] % (sizeof(linktypes) / sizeof(linktypes[0]))], &h, data + 1);
	/* Bound memory over a long run and exercise the output paths. */
	if (++n % 4096 == 0) {
		json_t *doc = inventory_to_json(inv);
		json_decref(doc);
		(void)inventory_flush(inv, drop, NULL);
		inventory_free(inv);
		inv = NULL;
	}
	return 0;
}
