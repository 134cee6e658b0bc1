/* `run`'s side of the alert engines: the sensor's mode over time (learning at activation; operational after the
 * quiet period, or when the console asks), the baseline file and the console's learned items in the state
 * directory, and the "mode" health records that tell the console. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sensor-agent/inventory.h"

#define RUN_BASELINE_FILE "baseline.bin"
#define RUN_LEARNED_FILE "learned.json"
#define RUN_INDICATORS_FILE "indicators.json"
#define RUN_QUIET_DEFAULT_USEC (7LL * 86400 * 1000000)

struct run_alerts {
	struct alerts *al;
	struct inventory *inv;
	const char *state_dir;
	int64_t quiet_usec;
	int64_t last_save_wall; /* wall clock of the last baseline save */
	const char *pending_reason; /* a mode change not journaled yet ("console", "quiet_period", "activation") */
};

/* Turns the engines on and restores the baseline and learned items of an earlier run (a first run starts
 * learning, with a pending "activation" mode record). 0, or -errno with err filled. */
int run_alerts_open(struct run_alerts *ra, struct inventory *inv, const char *state_dir, char *err, size_t errlen);
/* A config message from the console (validated): quiet period, mode request, learned items. */
void run_alerts_config(struct run_alerts *ra, json_t *msg);
/* An indicator bundle from the console: checked, kept in the state directory and handed to the malware engine
 * (an invalid one is refused with a log line and the previous stays). */
void run_alerts_indicators(struct run_alerts *ra, json_t *bundle);
/* At each flush, with packet time: ends learning after the quiet period; saves the baseline every minute of
 * wall clock when it changed (or now, with force). */
void run_alerts_tick(struct run_alerts *ra, int64_t now_pkt, bool force_save);
/* The "mode" health record of a pending change (NULL when none; clears it). `at` is packet time or 0. */
json_t *run_alerts_take_mode_record(struct run_alerts *ra, int64_t at);
const char *run_alerts_mode_name(const struct run_alerts *ra);
