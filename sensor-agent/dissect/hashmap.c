#include "sensor-agent/dissect/hashmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t hashmap_hash(const struct hashmap *m, const void *key)
{
	const uint8_t *p = key;
	uint64_t h = 0xcbf29ce484222325ull ^ m->seed, w;
	size_t i = 0;

	/* Eight bytes per multiply (the keys are 6 to 40 bytes: MACs, addresses, flow tuples), then the tail. */
	for (; i + 8 <= m->klen; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	if (i < m->klen) {
		w = 0;
		memcpy(&w, p + i, m->klen - i);
		h = (h ^ w ^ ((uint64_t)(m->klen - i) << 56)) * 0x9e3779b97f4a7c15ull;
	}
	/* Final avalanche (splitmix64) so the low bits used for the index depend on every key byte. */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

void hashmap_init(struct hashmap *m, size_t klen)
{
	static uint64_t counter;
	memset(m, 0, sizeof(*m));
	m->klen = klen;
	m->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull + (uint64_t)(uintptr_t)m + ++counter;
}

void hashmap_free(struct hashmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->count = 0;
}

static size_t hashmap_find(const struct hashmap *m, const void *key, uint64_t h)
{
	size_t mask = m->cap - 1;
	size_t i = (size_t)h & mask;

	while (m->slots[i].key) {
		if (m->slots[i].hash == h && memcmp(m->slots[i].key, key, m->klen) == 0)
			return i;
		i = (i + 1) & mask;
	}
	return i;
}

void *hashmap_get(const struct hashmap *m, const void *key)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	i = hashmap_find(m, key, hashmap_hash(m, key));
	return m->slots[i].key ? m->slots[i].value : NULL;
}

static int hashmap_grow(struct hashmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	struct hashmap_slot *old = m->slots, *ns;
	size_t ocap = m->cap;

	if (ncap < m->cap || ncap > SIZE_MAX / sizeof(*ns))
		return -ENOMEM;
	ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	m->slots = ns;
	m->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (!old[i].key)
			continue;
		size_t j = (size_t)old[i].hash & (ncap - 1);
		while (ns[j].key)
			j = (j + 1) & (ncap - 1);
		ns[j] = old[i];
	}
	free(old);
	return 0;
}

int hashmap_put(struct hashmap *m, const void *key, void *value)
{
	uint64_t h;
	size_t i;

	/* Keep the load factor under 3/4 so probe sequences stay short. */
	if ((m->count + 1) * 4 > m->cap * 3) {
		int r = hashmap_grow(m);
		if (r < 0)
			return r;
	}
	h = hashmap_hash(m, key);
	i = hashmap_find(m, key, h);
	if (!m->slots[i].key)
		m->count++;
	m->slots[i].key = key;
	m->slots[i].value = value;
	m->slots[i].hash = h;
	return 0;
}

void *hashmap_remove(struct hashmap *m, const void *key)
{
	size_t mask, i, j;
	void *value;

	if (m->cap == 0)
		return NULL;
	mask = m->cap - 1;
	i = hashmap_find(m, key, hashmap_hash(m, key));
	if (!m->slots[i].key)
		return NULL;
	value = m->slots[i].value;
	/* Backward-shift deletion: pull later entries of the probe run into the hole so lookups never stop
	 * early at it. */
	j = i;
	for (;;) {
		size_t home;
		j = (j + 1) & mask;
		if (!m->slots[j].key)
			break;
		home = (size_t)m->slots[j].hash & mask;
		/* Move j into i unless its home lies cyclically in (i, j]. */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].key = NULL;
	m->slots[i].value = NULL;
	m->count--;
	return value;
}
