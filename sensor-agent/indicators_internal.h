/* The malware engine's data, shared by indicators.c (the bundle and its index) and indicators_alerts.c (the
 * alerts): not for other modules, which use indicators.h. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "sensor-agent/indicators.h"

#define INDICATORS_RECENT 64 /* DNS query matches remembered, so that their answers do not count again */

struct indicator_rec {
	struct indicator pub;
	uint32_t key_off, val_off, desc_off, ref_off; /* into the arena (pointers are set once it stops growing) */
	uint16_t key_len;
};

struct indicators {
	char *name, *version;
	struct indicator_rec *recs;
	size_t n, n_type[4];
	char *arena; /* every string, NUL-terminated; offset 0 is "" */
	size_t arena_len, arena_cap;
	uint32_t *slots;  /* record index + 1, 0 = empty (open addressing, linear probing) */
	uint32_t *tags;   /* the high half of each occupied slot's hash */
	size_t cap;       /* power of two, at least twice the records */
	uint64_t seed;
	uint64_t lens[2][3]; /* [IPv4, IPv6] bit p: a subnet of prefix length p is indexed */
	/* indicators_alerts.c: the latest DNS query matches, (querier, server, name) hashed, packet time */
	struct {
		uint64_t key;
		int64_t ts;
	} recent[INDICATORS_RECENT];
	unsigned recent_next;
};

/* ASCII lower case, the case folding of every name comparison. */
static inline uint8_t indicators_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}
