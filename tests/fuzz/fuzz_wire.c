/* libFuzzer target for wire_parse(): any bytes must parse or fail cleanly, never crash or leak. The input is
 * also parsed through the builders' round trip when it is a valid message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_msg m, m2;
	char err[256];
	size_t len;
	char *txt;

	if (wire_parse((const char *)data, size, &m, err, sizeof(err)) != 0) {
		if (strlen(err) >= sizeof(err))
			abort();
		return 0;
	}
	/* A valid message re-encodes to a valid message of the same type. */
	txt = wire_encode(json_incref(m.root), &len);
	if (txt) {
		if (wire_parse(txt, len, &m2, err, sizeof(err)) != 0 || m2.type != m.type)
			abort();
		if (m.type == WIRE_BATCH && (m2.u.batch.nrecords != m.u.batch.nrecords))
			abort();
		wire_msg_free(&m2);
		free(txt);
	}
	wire_msg_free(&m);
	return 0;
}
