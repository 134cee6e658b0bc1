/* Sensor rows of the snapshot: otwSensorIndex assignment and DisplayString text (otwatch_snmp_cache.h). */
#include <stdlib.h>
#include <string.h>

#include "integrations/snmp/otwatch_snmp_cache.h"

/* An open-addressing set of the indexes taken so far (0 marks an empty slot; indexes are 1..INT32_MAX). */
struct taken {
	int32_t *slot;
	size_t mask;
};

static size_t taken_pos(const struct taken *t, int32_t v)
{
	return (size_t)(((uint64_t)(uint32_t)v * 0x9E3779B97F4A7C15ull) >> 32) & t->mask;
}

static bool taken_has(const struct taken *t, int32_t v)
{
	for (size_t p = taken_pos(t, v);; p = (p + 1) & t->mask) {
		if (t->slot[p] == 0)
			return false;
		if (t->slot[p] == v)
			return true;
	}
}

static void taken_add(struct taken *t, int32_t v)
{
	size_t p = taken_pos(t, v);

	while (t->slot[p] != 0)
		p = (p + 1) & t->mask;
	t->slot[p] = v;
}

int snmp_cache_assign_indexes(struct snmp_sensor *rows, size_t n)
{
	struct taken t;
	size_t cap = 16;

	if (n == 0)
		return 0;
	while (cap < 2 * n) {
		if (cap > SIZE_MAX / 4 / sizeof(*t.slot))
			return -1;
		cap *= 2;
	}
	t.slot = calloc(cap, sizeof(*t.slot));
	if (!t.slot)
		return -1;
	t.mask = cap - 1;
	/* In enrollment order, each row takes its home value or, when an earlier row has it, the next free one
	 * (after INT32_MAX comes 1). n < INT32_MAX rows always find one. */
	for (size_t i = 0; i < n; i++) {
		int32_t v = (int32_t)(1 + rows[i].hash % (uint32_t)INT32_MAX);

		while (taken_has(&t, v))
			v = v == INT32_MAX ? 1 : v + 1;
		taken_add(&t, v);
		rows[i].index = v;
	}
	free(t.slot);
	return 0;
}

void snmp_text_ascii(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 1 < outlen; p++) {
		if (*p >= 0x20 && *p < 0x7f) {
			out[o++] = (char)*p;
			continue;
		}
		/* A control character or one UTF-8 character (its lead byte and continuation bytes) becomes one '?';
		 * a stray continuation byte as well. */
		out[o++] = '?';
		if (*p >= 0xc0)
			while ((p[1] & 0xc0) == 0x80)
				p++;
	}
	out[o] = '\0';
}
