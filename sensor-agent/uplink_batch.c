/* The uplink's pure logic (uplink.h): reconnect backoff, the window of unacked batches, the gap check and the
 * batch builder. No network; unit-tested in tests/unit/test_uplink.c. */
#include "sensor-agent/uplink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.h"

#define BATCH_ENVELOPE 128 /* {"type":"batch","seq_from":N,"seq_to":N,"records":[]} with 20-digit seqs */

unsigned uplink_backoff_next(struct uplink_backoff *b, uint32_t rnd)
{
	unsigned base = UPLINK_BACKOFF_MAX_MS;
	if (b->attempt < 16) {
		uint64_t v = (uint64_t)UPLINK_BACKOFF_MIN_MS << b->attempt;
		if (v < base)
			base = (unsigned)v;
	}
	if (b->attempt < 64)
		b->attempt++;
	unsigned half = base / 2;
	return half + rnd % (base - half + 1);
}

bool uplink_gap(uint64_t applied, uint64_t first_seq, uint64_t last_seq)
{
	return first_seq > 0 && first_seq <= last_seq && applied < first_seq - 1;
}

void uplink_window_push(struct uplink_window *w, uint64_t seq_to)
{
	if (w->n < UPLINK_WINDOW)
		w->seq_to[w->n++] = seq_to;
}

void uplink_window_ack(struct uplink_window *w, uint64_t acked)
{
	size_t k = 0;
	while (k < w->n && w->seq_to[k] <= acked)
		k++;
	memmove(w->seq_to, w->seq_to + k, (w->n - k) * sizeof(w->seq_to[0]));
	w->n -= k;
}

int uplink_build_batch(struct journal *j, uint64_t from, size_t max_records, size_t max_bytes, char **text,
		       size_t *len, uint64_t *seq_to)
{
	*text = NULL;
	*len = 0;
	size_t payload_max = max_bytes > BATCH_ENVELOPE ? max_bytes - BATCH_ENVELOPE : 1;
	for (;;) {
		json_t *recs;
		int n = journal_read_for_send(j, from, max_records, payload_max, &recs);
		if (n <= 0) {
			json_decref(recs);
			return n;
		}
		/* Records sit in the frame as the journal stored them (compact), plus one comma each. */
		uint64_t first = (uint64_t)json_integer_value(json_object_get(json_array_get(recs, 0), "seq"));
		uint64_t last = (uint64_t)json_integer_value(json_object_get(json_array_get(recs, (size_t)n - 1), "seq"));
		/* The range starts where the console expects it (`from`, its applied seq + 1), even when records are
		 * missing there (compacted or dropped): the console refuses a batch that does not follow. */
		char *t = wire_encode(wire_build_batch(from && from < first ? from : first, last, recs), len);
		if (!t)
			return -ENOMEM;
		if (*len <= max_bytes || n == 1) {
			*text = t;
			*seq_to = last;
			return n;
		}
		/* Commas and escaping can push a full batch past the limit: retry with fewer records. */
		free(t);
		max_records = (size_t)n - 1;
	}
}
