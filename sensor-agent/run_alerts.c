#include "sensor-agent/run_alerts.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pki.h"
#include "common/timefmt.h"
#include "common/wire.h"
#include "sensor-agent/alerts.h"
#include "sensor-agent/indicators.h"

#define SAVE_INTERVAL_USEC (60LL * 1000000)
#define LEARNED_MAX_BYTES (64u * 1024 * 1024)

static void path_of(const struct run_alerts *ra, const char *name, char out[PATH_MAX])
{
	snprintf(out, PATH_MAX, "%s/%s", ra->state_dir, name);
}

const char *run_alerts_mode_name(const struct run_alerts *ra)
{
	return alerts_mode(ra->al) == ALERTS_OPERATIONAL ? "operational" : "learning";
}

static void save(struct run_alerts *ra)
{
	char path[PATH_MAX];
	int rc;

	path_of(ra, RUN_BASELINE_FILE, path);
	if ((rc = alerts_save(ra->al, path)) < 0)
		log_warn("run: cannot save the baseline to %s: %s (kept in memory; retried)", path, strerror(-rc));
	ra->last_save_wall = timefmt_now_usec();
}

/* The learned items: the array in a config message, or the copy kept in the state directory. */
static int set_learned(struct run_alerts *ra, json_t *items, bool keep)
{
	char path[PATH_MAX], err[256];
	size_t i;
	json_t *it;
	int rc;

	json_array_foreach(items, i, it) {
		if (wire_check_learn(it, err, sizeof(err)) < 0) {
			log_warn("run: learned items refused: [%zu] %s", i, err);
			return -EINVAL;
		}
	}
	if ((rc = alerts_set_learned(ra->al, items)) < 0)
		return rc;
	if (!keep)
		return 0;
	char *text = json_dumps(items, JSON_COMPACT);
	path_of(ra, RUN_LEARNED_FILE, path);
	rc = text ? pki_write_file(path, text, strlen(text), 0600, 0) : -ENOMEM;
	free(text);
	if (rc < 0)
		log_warn("run: cannot keep the learned items in %s: %s", path, strerror(-rc));
	return 0;
}

int run_alerts_open(struct run_alerts *ra, struct inventory *inv, const char *state_dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	char *data = NULL;
	size_t len;
	int rc;

	memset(ra, 0, sizeof(*ra));
	ra->state_dir = state_dir;
	ra->inv = inv;
	ra->quiet_usec = RUN_QUIET_DEFAULT_USEC;
	if ((rc = inventory_enable_alerts(inv, false)) < 0) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	ra->al = inventory_alerts(inv);
	path_of(ra, RUN_BASELINE_FILE, path);
	rc = alerts_load(ra->al, path);
	if (rc == -ENOENT) {
		ra->pending_reason = "activation";
	} else if (rc < 0) {
		snprintf(err, errlen, "%s: %s (move it away to learn a new baseline)", path,
			 rc == -EINVAL ? "not a baseline file of this version" : strerror(-rc));
		return rc;
	} else {
		log_info("run: baseline of %zu items restored, %s mode", alerts_baseline_size(ra->al),
			 run_alerts_mode_name(ra));
	}
	path_of(ra, RUN_LEARNED_FILE, path);
	if (pki_read_file(path, LEARNED_MAX_BYTES, &data, &len) == 0) {
		json_t *items = json_loadb(data, len, 0, NULL);
		if (!json_is_array(items) || set_learned(ra, items, false) < 0)
			log_warn("run: ignoring %s: not a list of learned items", path);
		json_decref(items);
		free(data);
	}
	path_of(ra, RUN_INDICATORS_FILE, path);
	{
		struct indicators *ind = NULL;
		char why[256];
		int r = indicators_load(path, &ind, why, sizeof(why));
		if (r == 0) {
			log_info("run: indicator bundle %s %s (%zu indicators) restored", indicators_name(ind),
				 indicators_version(ind), indicators_count(ind));
			inventory_set_indicators(inv, ind);
		} else if (r != -ENOENT) {
			log_warn("run: ignoring %s: %s", path, why);
		}
	}
	ra->last_save_wall = timefmt_now_usec();
	return 0;
}

void run_alerts_indicators(struct run_alerts *ra, json_t *bundle)
{
	struct indicators *ind = NULL;
	char err[256], path[PATH_MAX];
	char *text;
	int rc;

	if (indicators_parse(bundle, &ind, err, sizeof(err)) < 0) {
		log_warn("run: indicator bundle from the console refused: %s", err);
		return;
	}
	path_of(ra, RUN_INDICATORS_FILE, path);
	text = json_dumps(bundle, JSON_COMPACT);
	rc = text ? pki_write_file(path, text, strlen(text), 0600, 0) : -ENOMEM;
	free(text);
	if (rc < 0)
		log_warn("run: cannot keep the indicator bundle in %s: %s", path, strerror(-rc));
	log_info("run: indicator bundle %s %s (%zu indicators) from the console", indicators_name(ind),
		 indicators_version(ind), indicators_count(ind));
	inventory_set_indicators(ra->inv, ind);
}

void run_alerts_config(struct run_alerts *ra, json_t *msg)
{
	json_t *quiet = json_object_get(json_object_get(msg, "settings"), "learning_quiet_period");
	json_t *req = json_object_get(msg, "mode_request");
	json_t *learned = json_object_get(msg, "learned");

	ra->quiet_usec = json_is_integer(quiet) ? json_integer_value(quiet) * 1000000 : RUN_QUIET_DEFAULT_USEC;
	if (json_is_object(req)) {
		const char *mode = json_string_value(json_object_get(req, "mode"));
		int64_t rev = json_integer_value(json_object_get(req, "rev"));
		if (mode && rev > alerts_applied_rev(ra->al)) {
			enum alerts_mode m = strcmp(mode, "operational") == 0 ? ALERTS_OPERATIONAL : ALERTS_LEARNING;
			/* A request for the current mode is applied too: learning again restarts the period. */
			alerts_set_mode(ra->al, m);
			alerts_set_applied_rev(ra->al, rev);
			ra->pending_reason = "console";
			log_info("run: the console set %s mode (request %lld)", mode, (long long)rev);
			save(ra);
		}
	}
	if (json_is_array(learned) && set_learned(ra, learned, true) == 0)
		log_info("run: %zu learned items from the console", alerts_learned_count(ra->al));
}

void run_alerts_tick(struct run_alerts *ra, int64_t now_pkt, bool force_save)
{
	if (alerts_learning_done(ra->al, now_pkt, ra->quiet_usec)) {
		alerts_set_mode(ra->al, ALERTS_OPERATIONAL);
		ra->pending_reason = "quiet_period";
		log_info("run: no new baseline item for %lld s of traffic: learning ends (%zu items)",
			 (long long)(ra->quiet_usec / 1000000), alerts_baseline_size(ra->al));
		force_save = true;
	}
	if (force_save || (alerts_unsaved(ra->al) && timefmt_now_usec() - ra->last_save_wall >= SAVE_INTERVAL_USEC))
		save(ra);
}

json_t *run_alerts_take_mode_record(struct run_alerts *ra, int64_t at)
{
	char t[TIMEFMT_LEN];
	const char *reason = ra->pending_reason;

	if (!reason)
		return NULL;
	ra->pending_reason = NULL;
	timefmt_rfc3339_ms(at ? at : timefmt_now_usec(), t);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "kind", "health", "at", t, "event", "mode", "mode",
			 run_alerts_mode_name(ra), "reason", reason, "rev", (json_int_t)alerts_applied_rev(ra->al));
}
