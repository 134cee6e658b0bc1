/* libFuzzer: the input is a whole pcap/pcapng file, read through capture_file into a fresh inventory. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sensor-agent/capture.h"
#include "sensor-agent/inventory.h"

static int feed(void *ud, int linktype, const struct pcap_pkthdr *h, const uint8_t *data)
{
	inventory_packet(ud, linktype, h, data);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct capture_stats st;
	struct inventory *inv;
	FILE *f;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/fuzz-pcap-%d", (int)getpid());
	f = fopen(path, "wb");
	if (!f)
		return 0;
	if (size && fwrite(data, size, 1, f) != 1) {
		fclose(f);
		return 0;
	}
	fclose(f);
	inv = inventory_new(NULL);
	if (!inv)
		return 0;
	if (capture_file(path, feed, inv, &st) == 0) {
		json_t *doc = inventory_to_json(inv);
		json_decref(doc);
	}
	inventory_free(inv);
	return 0;
}
