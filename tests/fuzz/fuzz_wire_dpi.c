/* libFuzzer target for the console's reading of sensor messages with deep-inspection and detection content
 * (server/wire_dpi.c and common/wire_records.c: the DPI members of device and connection records,
 * event/violation/alert records and their learn items, the per-sensor device report, evidence answers and
 * their base64): any bytes parse or fail with a bounded error, and whatever parses yields record objects,
 * reports and decoded captures without crashing or leaking. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/wire_dpi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_msg m;
	char err[256];

	if (wire_dpi_parse((const char *)data, size, &m, err, sizeof(err)) != 0) {
		if (strlen(err) >= sizeof(err))
			abort();
		return 0;
	}
	if (m.type == WIRE_EVIDENCE && m.u.evidence.pcap) {
		uint8_t *pcap = NULL;
		size_t n = 0;
		if (wire_base64_decode(m.u.evidence.pcap, m.u.evidence.pcap_len, &pcap, &n) == 0 &&
		    n > m.u.evidence.pcap_len)
			abort();
		free(pcap);
	}
	if (m.type == WIRE_BATCH) {
		for (size_t i = 0; i < m.u.batch.nrecords; i++) {
			json_t *rec = wire_dpi_record(&m, i);
			if (!rec)
				abort();
			if (m.u.batch.records[i].kind == WIRE_REC_DEVICE)
				free(wire_dpi_device_report(&m.u.batch.records[i].u.dev, rec));
			if (m.u.batch.records[i].kind == WIRE_REC_ALERT && m.u.batch.records[i].u.alert.learn) {
				char *t = json_dumps(m.u.batch.records[i].u.alert.learn, JSON_COMPACT);
				if (!t)
					abort();
				free(t);
			}
		}
	}
	wire_msg_free(&m);
	return 0;
}
