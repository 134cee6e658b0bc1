/* A small open-addressing hash map (linear probing, backward-shift deletion) from fixed-length byte keys to
 * pointers. The map stores a pointer to each key, not a copy: callers keep the key inside the value they
 * insert, so it lives exactly as long as the entry. Written here rather than taken from a library because
 * Debian's header-only options (uthash) need intrusive handles in every struct and allocate per insert.
 * Hashing is FNV-1a over the key mixed with a per-map seed, which keeps one map's layout from being
 * predictable from another's (packet contents choose the keys). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hashmap_slot {
	const void *key; /* NULL: empty */
	void *value;
	uint64_t hash;
};

struct hashmap {
	size_t klen;
	size_t cap; /* power of two, or 0 before the first insert */
	size_t count;
	uint64_t seed;
	struct hashmap_slot *slots;
};

/* Prepares an empty map for keys of klen bytes (no allocation until the first put). */
void hashmap_init(struct hashmap *m, size_t klen);
/* Frees the slot array; values and keys belong to the caller. */
void hashmap_free(struct hashmap *m);
/* The value stored under key, or NULL. */
void *hashmap_get(const struct hashmap *m, const void *key);
/* Inserts or replaces; key must stay valid and unchanged while it is in the map. Returns 0 or -ENOMEM. */
int hashmap_put(struct hashmap *m, const void *key, void *value) __attribute__((warn_unused_result));
/* Removes key; returns its value or NULL. */
void *hashmap_remove(struct hashmap *m, const void *key);
