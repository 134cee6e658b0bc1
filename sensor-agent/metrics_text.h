/* Prometheus text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/): a
 * writer shared by the sensor's and the console's GET /metrics. A document is a sequence of families, each a
 * "# HELP" and a "# TYPE" line followed by its samples; the writer refuses (and remembers as an error) names
 * that are not metric or label names, a sample outside the family declared last, and a family declared twice
 * in a row, so a bug shows as a 500 rather than a document Prometheus rejects. Label values are escaped
 * (backslash, double quote, newline), HELP text too (backslash, newline). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

struct metrics_text {
	char *buf;
	size_t len, cap;
	char family[128];       /* the family declared last */
	enum metrics_type type; /* its type */
	bool failed;            /* out of memory or a misuse: metrics_text_take returns NULL */
};

/* A label: name and value (value any UTF-8 text; escaped here). */
struct metrics_label {
	const char *name, *value;
};

void metrics_text_init(struct metrics_text *m);
/* Frees what metrics_text_take did not take. */
void metrics_text_free(struct metrics_text *m);

/* Declares a family: "# HELP name help" and "# TYPE name type". */
void metrics_text_family(struct metrics_text *m, const char *name, enum metrics_type type, const char *help);
/* One sample of the family declared last: name is the family's name (for a histogram's parts: name_bucket,
 * name_sum, name_count). labels may be NULL when n is 0. */
void metrics_text_sample(struct metrics_text *m, const char *name, const struct metrics_label *labels, size_t n,
			 double value);
/* The same with an exact integer value (counters past 2^53 stay exact). */
void metrics_text_sample_u64(struct metrics_text *m, const char *name, const struct metrics_label *labels, size_t n,
			     uint64_t value);
/* A histogram's samples for one label set: `counts[i]` observations fell at or under `bounds[i]` (not
 * cumulative; this writes the cumulative _bucket lines, the +Inf bucket, _sum and _count). `overflow` counts the
 * observations above the last bound. At most 7 labels besides "le". */
void metrics_text_histogram(struct metrics_text *m, const char *name, const struct metrics_label *labels, size_t n,
			    const double *bounds, const uint64_t *counts, size_t nbounds, uint64_t overflow, double sum);

/* The document (heap, NUL-terminated; the caller frees it) and its length, or NULL after an error. m is reset. */
char *metrics_text_take(struct metrics_text *m, size_t *len);

/* Name checks of the format: [a-zA-Z_:][a-zA-Z0-9_:]* and [a-zA-Z_][a-zA-Z0-9_]* (not starting with "__"). */
bool metrics_text_valid_name(const char *name);
bool metrics_text_valid_label(const char *name);
