/* A one-line progress display for capture-file replay on a terminal: percentage of the file, megabytes and
 * packets per second, redrawn at most five times a second. Silent when stderr is not a terminal. */
#pragma once
#include <stdbool.h>

#include "sensor-agent/capture.h"

struct progress {
	bool tty;
	const char *label;
	long long start_usec, last_usec;
	unsigned long long last_packets;
};

void progress_init(struct progress *p, const char *label);
/* Call as often as you like (cheap when nothing is drawn); final ends the line. */
void progress_update(struct progress *p, const struct capture_stats *st, bool final);
