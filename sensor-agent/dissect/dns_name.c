#include "sensor-agent/dissect/dns_name.h"

#include <string.h>

#include "common/cursor.h"

bool dns_name_read(const uint8_t *msg, size_t len, size_t *off, char *out, size_t *out_len)
{
	struct cursor c;
	size_t limit = *off, wire = 0, n = 0;
	unsigned hops = 0;
	bool jumped = false;

	cursor_init(&c, msg, len);
	if (!cursor_skip(&c, *off))
		return false;
	for (;;) {
		uint8_t l, lo;
		const uint8_t *label;

		if (!cursor_u8(&c, &l))
			return false;
		if ((l & 0xc0) == 0xc0) {
			size_t ptr;

			if (!cursor_u8(&c, &lo))
				return false;
			ptr = (size_t)(l & 0x3f) << 8 | lo;
			if (ptr >= limit || ++hops > DNS_MAX_HOPS)
				return false;
			if (!jumped)
				*off = c.off;
			jumped = true;
			c.off = limit = ptr; /* ptr < limit <= len */
			continue;
		}
		if (l & 0xc0)
			return false; /* 0x40 extended and 0x80 reserved label types (RFC 6891 obsoleted 0x40) */
		if (l == 0)
			break;
		if (!cursor_bytes(&c, l, &label))
			return false;
		wire += (size_t)l + 1;
		if (wire + 1 > DNS_NAME_MAX)
			return false;
		if (out) {
			if (n)
				out[n++] = '.';
			memcpy(out + n, label, l);
			n += l;
		}
	}
	if (!jumped)
		*off = c.off;
	if (out) {
		out[n] = 0;
		*out_len = n;
	}
	return true;
}
