#include "sensor-agent/progress.h"

#include <stdio.h>
#include <unistd.h>

#include "common/timefmt.h"

#define PROGRESS_EVERY_USEC 200000

void progress_init(struct progress *p, const char *label)
{
	p->tty = isatty(STDERR_FILENO) == 1;
	p->label = label;
	p->start_usec = p->last_usec = timefmt_now_usec();
	p->last_packets = 0;
}

void progress_update(struct progress *p, const struct capture_stats *st, bool final)
{
	long long now;
	double secs, pct;

	if (!p->tty || (!final && (st->packets & 1023) != 0))
		return;
	now = timefmt_now_usec();
	if (!final && now - p->last_usec < PROGRESS_EVERY_USEC)
		return;
	secs = (double)(now - p->start_usec) / 1e6;
	pct = st->file_size ? 100.0 * (double)st->file_pos / (double)st->file_size : 0;
	fprintf(stderr, "\r%s: %5.1f%%  %.1f MB  %llu packets  %.0f packets/s  %.1f MB/s%s", p->label, pct,
		(double)st->file_pos / 1e6, (unsigned long long)st->packets,
		secs > 0 ? (double)st->packets / secs : 0.0, secs > 0 ? (double)st->file_pos / 1e6 / secs : 0.0,
		final ? "\n" : "  ");
	fflush(stderr);
	p->last_usec = now;
}
