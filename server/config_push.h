/* Sensor settings pushed to connected sensors as `config` messages, and indicator bundles as `indicators`
 * messages (docs/architecture.md). One thread with its own
 * PostgreSQL connection LISTENs on otw_settings, where sql/005_dpi.sql's triggers announce every change of a
 * zone's or a sensor's settings and every move of a sensor to another zone, from whichever console node made it.
 * For each announcement, and for each sensor the gateway welcomed (config_push_request), it loads the sensors'
 * effective settings and hands the message to a callback. After a lost database connection it resends to every
 * connected sensor, since announcements made meanwhile are lost. */
#pragma once

struct config_push;

enum config_push_kind {
	CONFIG_PUSH_CONFIG = 0, /* the `config` message: settings, mode request, learned items */
	CONFIG_PUSH_INDICATORS, /* the `indicators` message: the enabled indicator bundles merged (all sensors) */
};

/* Runs on the push thread: `text` is the message (heap, the callee frees it). */
typedef void (*config_push_fn)(void *ctx, const char *sensor_id, enum config_push_kind kind, char *text);

/* Starts the thread; it connects to db_url (retrying with backoff). 0 or a negative errno. */
int config_push_start(const char *db_url, config_push_fn fn, void *ctx, struct config_push **out)
	__attribute__((warn_unused_result));
/* Thread-safe and non-blocking: asks for sensor_id's config message (after its welcome). */
void config_push_request(struct config_push *cp, const char *sensor_id);
/* Joins the thread and frees cp (NULL is fine). */
void config_push_stop(struct config_push *cp);
