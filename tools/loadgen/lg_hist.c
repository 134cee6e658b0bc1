#include "tools/loadgen/lg_hist.h"

#include <errno.h>
#include <math.h>

/* Bucket of v µs: values below 16 have their own bucket; above, 16 buckets per power of two. */
static unsigned bucket_of(uint64_t v)
{
	if (v < 16)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= 4 */
	unsigned b = (e - 3) * 16 + (unsigned)((v >> (e - 4)) & 15);
	return b < LG_HIST_BUCKETS ? b : LG_HIST_BUCKETS - 1;
}

/* The smallest value of bucket b, and the width. */
static double bucket_low(unsigned b, double *width)
{
	if (b < 16) {
		*width = 1;
		return b;
	}
	unsigned e = b / 16 + 3, m = b % 16;
	double unit = (double)(1ull << (e - 4));
	*width = unit;
	return (double)(1ull << e) + m * unit;
}

void lg_hist_add(struct lg_hist *h, int64_t usec, uint64_t count)
{
	h->n[bucket_of(usec < 0 ? 0 : (uint64_t)usec)] += count;
	h->total += count;
}

void lg_hist_merge(struct lg_hist *dst, const struct lg_hist *src)
{
	for (unsigned b = 0; b < LG_HIST_BUCKETS; b++)
		dst->n[b] += src->n[b];
	dst->total += src->total;
}

double lg_hist_quantile_ms(const struct lg_hist *h, double q)
{
	if (!h->total)
		return -1;
	/* Nearest rank: the ceil(q * total)-th smallest sample. */
	double rank = ceil(q * (double)h->total);
	uint64_t want = rank < 1 ? 0 : (uint64_t)rank - 1, seen = 0;
	if (want >= h->total)
		want = h->total - 1;
	for (unsigned b = 0; b < LG_HIST_BUCKETS; b++) {
		seen += h->n[b];
		if (seen > want) {
			double w, lo = bucket_low(b, &w);
			return (lo + w / 2) / 1000.0;
		}
	}
	return -1;
}

json_t *lg_hist_to_json(const struct lg_hist *h)
{
	json_t *a = json_array();
	for (unsigned b = 0; a && b < LG_HIST_BUCKETS; b++)
		if (h->n[b])
			json_array_append_new(a, json_pack("[i, I]", (int)b, (json_int_t)h->n[b]));
	return a;
}

int lg_hist_add_json(struct lg_hist *h, const json_t *a)
{
	size_t i;
	json_t *e;

	if (!json_is_array(a))
		return -EINVAL;
	json_array_foreach(a, i, e) {
		json_int_t b = json_integer_value(json_array_get(e, 0)), n = json_integer_value(json_array_get(e, 1));
		if (json_array_size(e) != 2 || b < 0 || b >= LG_HIST_BUCKETS || n < 0)
			return -EINVAL;
		h->n[b] += (uint64_t)n;
		h->total += (uint64_t)n;
	}
	return 0;
}
