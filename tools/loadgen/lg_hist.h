/* A latency histogram with weighted samples: buckets of 1/16 of a power of two of microseconds (6 % wide), so a
 * percentile is within 6 % of the true value whatever the scale. Not thread-safe; the caller locks. */
#pragma once
#include <jansson.h>
#include <stdint.h>

#define LG_HIST_BUCKETS (40 * 16)

struct lg_hist {
	uint64_t n[LG_HIST_BUCKETS];
	uint64_t total;
};

/* Adds `count` samples of `usec` microseconds (negative counts as 0). */
void lg_hist_add(struct lg_hist *h, int64_t usec, uint64_t count);
void lg_hist_merge(struct lg_hist *dst, const struct lg_hist *src);
/* The value below which a fraction q (0..1) of the samples lie, in ms (the bucket's middle); -1 when empty. */
double lg_hist_quantile_ms(const struct lg_hist *h, double q);
/* Sparse JSON form [[bucket, count], ...] and back (0, or -EINVAL on a malformed array). */
json_t *lg_hist_to_json(const struct lg_hist *h);
int lg_hist_add_json(struct lg_hist *h, const json_t *a) __attribute__((warn_unused_result));
