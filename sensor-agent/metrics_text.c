#include "sensor-agent/metrics_text.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_TEXT_MAX (64u << 20) /* a runaway loop fails instead of eating memory */

void metrics_text_init(struct metrics_text *m)
{
	memset(m, 0, sizeof(*m));
}

void metrics_text_free(struct metrics_text *m)
{
	free(m->buf);
	metrics_text_init(m);
}

static bool reserve(struct metrics_text *m, size_t more)
{
	size_t need, cap;
	char *nb;

	if (m->failed)
		return false;
	if (more > METRICS_TEXT_MAX || m->len > METRICS_TEXT_MAX - more - 1) {
		m->failed = true;
		return false;
	}
	need = m->len + more + 1;
	if (need <= m->cap)
		return true;
	cap = m->cap ? m->cap : 4096;
	while (cap < need)
		cap *= 2;
	if (!(nb = realloc(m->buf, cap))) {
		m->failed = true;
		return false;
	}
	m->buf = nb;
	m->cap = cap;
	return true;
}

static void put(struct metrics_text *m, const char *s, size_t n)
{
	if (!reserve(m, n))
		return;
	memcpy(m->buf + m->len, s, n);
	m->len += n;
	m->buf[m->len] = '\0';
}

static void puts_(struct metrics_text *m, const char *s)
{
	put(m, s, strlen(s));
}

static void putf(struct metrics_text *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct metrics_text *m, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		m->failed = true;
		return;
	}
	put(m, tmp, (size_t)n);
}

/* Label values escape \ " and newline; HELP text escapes \ and newline (the format's two escaping rules). */
static void put_escaped(struct metrics_text *m, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(m, "\\\\", 2);
		else if (*s == '\n')
			put(m, "\\n", 2);
		else if (*s == '"' && quote)
			put(m, "\\\"", 2);
		else
			put(m, s, 1);
	}
}

bool metrics_text_valid_name(const char *name)
{
	if (!name || !*name || (*name >= '0' && *name <= '9'))
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == ':'))
			return false;
	return strlen(name) < 128;
}

bool metrics_text_valid_label(const char *name)
{
	if (!name || !*name || (*name >= '0' && *name <= '9') || strncmp(name, "__", 2) == 0)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

void metrics_text_family(struct metrics_text *m, const char *name, enum metrics_type type, const char *help)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };

	if (!metrics_text_valid_name(name) || strcmp(name, m->family) == 0 || (unsigned)type > METRICS_HISTOGRAM) {
		m->failed = true;
		return;
	}
	snprintf(m->family, sizeof(m->family), "%s", name);
	m->type = type;
	puts_(m, "# HELP ");
	puts_(m, name);
	puts_(m, " ");
	put_escaped(m, help ? help : "", false);
	puts_(m, "\n# TYPE ");
	puts_(m, name);
	puts_(m, " ");
	puts_(m, types[type]);
	puts_(m, "\n");
}

/* The sample name must be the family's, or for a histogram one of its three parts. */
static bool in_family(const struct metrics_text *m, const char *name)
{
	size_t n = strlen(m->family);

	if (!n || strncmp(name, m->family, n) != 0)
		return false;
	if (name[n] == '\0')
		return m->type != METRICS_HISTOGRAM;
	return m->type == METRICS_HISTOGRAM &&
	       (strcmp(name + n, "_bucket") == 0 || strcmp(name + n, "_sum") == 0 || strcmp(name + n, "_count") == 0);
}

static void put_head(struct metrics_text *m, const char *name, const struct metrics_label *labels, size_t n)
{
	if (!in_family(m, name)) {
		m->failed = true;
		return;
	}
	puts_(m, name);
	if (n == 0)
		return;
	puts_(m, "{");
	for (size_t i = 0; i < n; i++) {
		if (!metrics_text_valid_label(labels[i].name)) {
			m->failed = true;
			return;
		}
		if (i)
			puts_(m, ",");
		puts_(m, labels[i].name);
		puts_(m, "=\"");
		put_escaped(m, labels[i].value ? labels[i].value : "", true);
		puts_(m, "\"");
	}
	puts_(m, "}");
}

static void put_double(struct metrics_text *m, double v)
{
	if (isnan(v))
		puts_(m, "NaN");
	else if (isinf(v))
		puts_(m, v > 0 ? "+Inf" : "-Inf");
	else
		putf(m, "%.17g", v);
}

void metrics_text_sample(struct metrics_text *m, const char *name, const struct metrics_label *labels, size_t n,
			 double value)
{
	put_head(m, name, labels, n);
	puts_(m, " ");
	put_double(m, value);
	puts_(m, "\n");
}

void metrics_text_sample_u64(struct metrics_text *m, const char *name, const struct metrics_label *labels, size_t n,
			     uint64_t value)
{
	put_head(m, name, labels, n);
	putf(m, " %" PRIu64 "\n", value);
}

void metrics_text_histogram(struct metrics_text *m, const char *name, const struct metrics_label *labels, size_t n,
			    const double *bounds, const uint64_t *counts, size_t nbounds, uint64_t overflow, double sum)
{
	struct metrics_label l[8];
	char part[160], le[40];
	uint64_t cum = 0;

	if (n > 7 || strlen(name) + 8 >= sizeof(part) || m->type != METRICS_HISTOGRAM) {
		m->failed = true;
		return;
	}
	if (n)
		memcpy(l, labels, n * sizeof(*l));
	l[n].name = "le";
	l[n].value = le;
	snprintf(part, sizeof(part), "%s_bucket", name);
	for (size_t i = 0; i < nbounds; i++) {
		cum += counts[i];
		snprintf(le, sizeof(le), "%.15g", bounds[i]);
		metrics_text_sample_u64(m, part, l, n + 1, cum);
	}
	cum += overflow;
	snprintf(le, sizeof(le), "+Inf");
	metrics_text_sample_u64(m, part, l, n + 1, cum);
	snprintf(part, sizeof(part), "%s_sum", name);
	metrics_text_sample(m, part, labels, n, sum);
	snprintf(part, sizeof(part), "%s_count", name);
	metrics_text_sample_u64(m, part, labels, n, cum);
}

char *metrics_text_take(struct metrics_text *m, size_t *len)
{
	char *out = NULL;

	if (!m->failed && reserve(m, 0)) {
		out = m->buf;
		*len = m->len;
		m->buf = NULL;
	}
	metrics_text_free(m);
	return out;
}
