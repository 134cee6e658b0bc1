/* libFuzzer target for the sensor's metrics endpoint (sensor-agent/metrics.h): the request parser, fed the input
 * in growing prefixes as recv() would hand it over, each copied into a buffer of exactly its size so that a read
 * past the end is caught; and the text writer (sensor-agent/metrics_text.h), with the input as a label value and
 * HELP text.
 *
 * Checks, besides memory safety: the parser's answer is 0 or one of 200/400/404/405, and once it answered for a
 * prefix it answers the same for every longer one (a decision never depends on bytes after it); a label value
 * written by the writer unescapes back to the input (up to its first NUL), and the sample stays on one line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensor-agent/metrics.h"
#include "sensor-agent/metrics_text.h"

#define INPUT_MAX SENSOR_METRICS_REQ_MAX

static void check_parser(const uint8_t *data, size_t size)
{
	int decided = 0;

	for (size_t n = 1; n <= size; n += 1 + n / 8) {
		char *buf = malloc(n);
		int st;
		if (!buf)
			return;
		memcpy(buf, data, n);
		st = sensor_metrics_parse_request(buf, n);
		free(buf);
		if (st != 0 && st != 200 && st != 400 && st != 404 && st != 405)
			abort();
		if (decided && st != decided)
			abort();
		if (st)
			decided = st;
	}
}

static void check_writer(const uint8_t *data, size_t size)
{
	struct metrics_text m;
	struct metrics_label l;
	char *value = malloc(size + 1), *doc, *p, *back;
	size_t len = 0, k = 0;

	if (!value)
		return;
	memcpy(value, data, size);
	value[size] = '\0';
	l = (struct metrics_label){ "v", value };
	metrics_text_init(&m);
	metrics_text_family(&m, "fuzz_metric", METRICS_GAUGE, value);
	metrics_text_sample(&m, "fuzz_metric", &l, 1, 1.0);
	doc = metrics_text_take(&m, &len);
	if (!doc)
		abort(); /* valid names: only a failed allocation may refuse, and the input is small */
	if (strlen(doc) != len)
		abort();
	p = strstr(doc, "\nfuzz_metric{v=\"");
	if (!p)
		abort();
	p += strlen("\nfuzz_metric{v=\"");
	if (!(back = malloc(strlen(value) + 1)))
		abort();
	for (; *p && *p != '"'; p++) {
		if (*p == '\n')
			abort();
		if (*p == '\\') {
			p++;
			if (*p != '\\' && *p != '"' && *p != 'n')
				abort();
			back[k++] = *p == 'n' ? '\n' : *p;
		} else {
			back[k++] = *p;
		}
	}
	back[k] = '\0';
	if (strcmp(p, "\"} 1\n") != 0 || strcmp(back, value) != 0)
		abort();
	free(back);
	free(doc);
	free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > INPUT_MAX)
		return 0;
	check_parser(data, size);
	check_writer(data, size);
	return 0;
}
