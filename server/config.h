/* Console settings: one declarative table (config.c) gives every setting its name, type, default, description
 * and validator. Sources, lowest priority first: defaults, the file named by --config, command-line flags.
 * File syntax: `key = value` lines, `#` starts a comment line; unknown keys and bad values are errors naming
 * the key and the line. A flag is the key with dashes: `--api-listen 0.0.0.0:8443` sets api_listen. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct console_config {
	char *state;             /* state directory (CA, server certificate, JWT key) */
	char *db;                /* libpq URL; may hold a password: never log it */
	char *api_listen;        /* "host:port" of the HTTPS API */
	char *sensor_listen;     /* "host:port" of the sensor gateway (mTLS websocket) */
	char *public_api_url;    /* what sensors and browsers use; default "https://<api_listen>" */
	char *public_sensor_url; /* default "wss://<sensor_listen>" */
	char *log_level;         /* error | warn | info | debug */
	char *trusted_proxies;   /* addresses/CIDRs whose X-Forwarded-For is believed; "" = none (http_util.h) */
	char *ui_dir;            /* the web UI's built files, served outside /api (server/ui_static.h) */
	int64_t workers;         /* worker threads for blocking work (libpq, argon2) */
	int64_t session_ttl;     /* seconds a login session lasts at most (refreshes included) */
	int64_t session_idle;    /* seconds without a request that end a login session */
	int64_t access_token_ttl; /* seconds one session JWT is valid (then POST /api/v1/auth/refresh) */
	int64_t enrollment_ttl;  /* seconds an activation file's token stays valid */
	int64_t ingest_queue;    /* batches queued for the ingest writers before the gateway stops reading */
	int64_t ingest_queue_mib; /* or MiB of batches queued before the gateway stops reading */
	int64_t ingest_writers;  /* ingest writer threads (database connections) */
	int64_t ingest_group;    /* batches applied in one transaction (group commit) */
	int64_t max_frame_bytes; /* largest websocket message accepted from an authenticated sensor */
	int64_t sensor_max_inflight; /* per sensor: batches awaiting their ack before it is cut off */
	int64_t sensor_msg_rate;     /* per sensor: messages other than batches a second, sustained */
	int64_t sensor_msg_burst;    /* per sensor: such messages in a burst */
	int64_t device_retention_days; /* devices, connections and DPI events inactive this long are purged */
	int64_t alert_retention_days;  /* alerts are purged a month partition at a time past this (sql/006_alerts.sql) */
	int64_t retention_interval;    /* seconds between two purge runs */
	int64_t map_fold_interval;     /* seconds between two folds of the map's endpoint backlog */
	int64_t events_max_streams;          /* live event streams on this node (server/events_hub.h) */
	int64_t events_max_streams_per_user; /* live event streams of one user or API token on this node */
	int64_t events_heartbeat;            /* seconds between two keep-alive comments on a stream */
	int64_t events_stream_lifetime;      /* seconds a stream lasts before the client must reconnect */
	int64_t events_ring;                 /* recent events kept per node for Last-Event-ID resume */
	int64_t sensor_silent_sec;           /* a sensor unseen this long raises "Sensor silent" (server/sensor_watch.h) */
	int64_t forward_poll_ms;             /* forwarding (server/forward_outbox.h): outbox poll period */
	int64_t forward_backoff_max;         /* longest retry delay of a failing delivery, seconds */
	int64_t forward_timeout_ms;          /* one delivery attempt */
	int64_t forward_batch;               /* rows of one rule per turn */
};

/* Fills cfg with the defaults. Every string in cfg is heap-owned by cfg; release with config_free. */
int config_init(struct console_config *cfg) __attribute__((warn_unused_result));
void config_free(struct console_config *cfg);

/* Sets one key (underscores or dashes) from text; validates. err names the key on failure.
 * Returns 0, -ENOENT for an unknown key, -EINVAL for a bad value. */
int config_set(struct console_config *cfg, const char *key, const char *value, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Reads a config file (see above). Returns 0 or a negative errno; err says "path:line: key: why". */
int config_load_file(struct console_config *cfg, const char *path, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Fills derived defaults (public URLs from the listen addresses). config_parse_args calls it. */
int config_finalize(struct console_config *cfg, char *err, size_t errlen) __attribute__((warn_unused_result));

/* A command's own options, next to the config keys every command accepts. Exactly one of value, list, flag
 * is set: value takes the option's argument (the last one wins), list collects every occurrence, flag is set
 * to true by a bare `--name`. */
struct config_strv {
	const char **v; /* points into argv; the array itself is heap-owned (config_strv_free) */
	size_t n;
};
void config_strv_free(struct config_strv *sv);

struct config_cli_opt {
	const char *name; /* without the leading dashes: "admin-user" */
	const char **value;
	struct config_strv *list;
	bool *flag;
};

/* Parses argv[first..argc): `--key value`, `--key=value`, `--config FILE`, the command's opts, `--help`/-h,
 * and positional words (collected into *positional, which must be released with config_strv_free).
 * Applies defaults < --config file < flags, then config_finalize. Returns 0, 1 when --help was given, or a
 * negative errno with a message in err (an unknown option is -EINVAL). */
int config_parse_args(struct console_config *cfg, int argc, char **argv, int first, const struct config_cli_opt *opts,
		      size_t nopts, struct config_strv *positional, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Prints the config keys with their defaults and descriptions (for --help). */
void config_print_help(void *file);
