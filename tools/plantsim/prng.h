/* Deterministic pseudo-random numbers for the plant simulator: splitmix64 seeding a xoshiro256**.
 * Output depends only on the seed, never on libc rand(), the host or the clock, so the same
 * arguments always give the same capture. */
#pragma once
#include <stdint.h>

struct prng {
	uint64_t s[4];
};

static inline uint64_t prng_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Seeds from (seed, stream): each session draws from its own stream, so how the sessions' steps
 * interleave in time does not change the numbers any of them sees. */
static inline void prng_init(struct prng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL);
	for (int i = 0; i < 4; i++)
		r->s[i] = prng_splitmix64(&x);
}

static inline uint64_t prng_rotl(uint64_t v, int k) { return (v << k) | (v >> (64 - k)); }

static inline uint64_t prng_next(struct prng *r)
{
	uint64_t *s = r->s;
	uint64_t out = prng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = prng_rotl(s[3], 45);
	return out;
}

/* Uniform in [lo, hi] (inclusive); hi >= lo. The modulo bias is irrelevant at these ranges. */
static inline uint64_t prng_range(struct prng *r, uint64_t lo, uint64_t hi)
{
	return lo + prng_next(r) % (hi - lo + 1);
}
