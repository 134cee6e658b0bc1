#include "common/wire.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a, 64 bit: fast, dependency-free and stable across builds. It guards against loss and duplication, not
 * against a forger (the mutual-TLS link does that). */
static uint64_t fnv1a64(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

struct dump_buf {
	char *p;
	size_t n, cap;
	bool oom;
};

static int dump_cb(const char *buf, size_t size, void *data)
{
	struct dump_buf *b = data;
	if (b->oom)
		return -1;
	if (size > b->cap - b->n) {
		size_t ncap = b->cap ? b->cap : 1024;
		while (ncap - b->n < size) {
			if (ncap > SIZE_MAX / 2) {
				b->oom = true;
				return -1;
			}
			ncap *= 2;
		}
		char *np = realloc(b->p, ncap);
		if (!np) {
			b->oom = true;
			return -1;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->n, buf, size);
	b->n += size;
	return 0;
}

bool wire_record_digest(const json_t *record, uint64_t *out)
{
	struct dump_buf b = { 0 };
	bool ok = json_dump_callback(record, dump_cb, &b, JSON_COMPACT | JSON_SORT_KEYS) == 0 && !b.oom;
	if (ok)
		*out = fnv1a64(b.p, b.n);
	free(b.p);
	return ok;
}
