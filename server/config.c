#include "server/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hostport.h"
#include "server/http_util.h"


enum config_type { CFG_STRING, CFG_INT };

struct config_param {
	const char *name;
	enum config_type type;
	size_t offset;
	const char *def;     /* default as text (NULL: empty / derived by config_finalize) */
	int64_t min, max;    /* CFG_INT bounds */
	int (*validate)(const char *value, char *why, size_t whylen);
	const char *description;
};

static int valid_nonempty(const char *v, char *why, size_t whylen)
{
	if (!*v) {
		snprintf(why, whylen, "must not be empty");
		return -EINVAL;
	}
	return 0;
}

static int valid_listen(const char *v, char *why, size_t whylen)
{
	char host[256];
	int port;

	if (hostport_split(v, host, sizeof(host), &port) < 0) {
		snprintf(why, whylen, "expected host:port with a port from 1 to 65535");
		return -EINVAL;
	}
	return 0;
}

static int valid_url_prefix(const char *v, const char *prefix, char *why, size_t whylen)
{
	size_t n = strlen(prefix);

	if (*v && (strncmp(v, prefix, n) != 0 || v[n] == '\0')) {
		snprintf(why, whylen, "must start with %s", prefix);
		return -EINVAL;
	}
	return 0;
}

static int valid_https(const char *v, char *why, size_t whylen)
{
	return valid_url_prefix(v, "https://", why, whylen);
}

static int valid_wss(const char *v, char *why, size_t whylen)
{
	return valid_url_prefix(v, "wss://", why, whylen);
}

static int valid_log_level(const char *v, char *why, size_t whylen)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v, names[i]) == 0)
			return 0;
	snprintf(why, whylen, "must be error, warn, info or debug");
	return -EINVAL;
}

static int valid_trusted_proxies(const char *v, char *why, size_t whylen)
{
	struct http_proxies p;

	return http_proxies_parse(v, &p, why, whylen);
}

#define STR(field) CFG_STRING, offsetof(struct console_config, field)
#define INT(field) CFG_INT, offsetof(struct console_config, field)

/* Every console setting. Add a field to struct console_config and a line here; nothing else. */
static const struct config_param config_params[] = {
	{ "state", STR(state), NULL, 0, 0, valid_nonempty, "state directory (CA, server certificate, JWT key)" },
	{ "db", STR(db), NULL, 0, 0, valid_nonempty, "PostgreSQL URL (libpq)" },
	{ "api_listen", STR(api_listen), "127.0.0.1:8443", 0, 0, valid_listen, "HTTPS API address" },
	{ "sensor_listen", STR(sensor_listen), "127.0.0.1:9443", 0, 0, valid_listen, "sensor gateway address" },
	{ "public_api_url", STR(public_api_url), NULL, 0, 0, valid_https,
	  "API URL given to sensors and browsers (default https://<api_listen>)" },
	{ "public_sensor_url", STR(public_sensor_url), NULL, 0, 0, valid_wss,
	  "gateway URL given to sensors (default wss://<sensor_listen>)" },
	{ "log_level", STR(log_level), "info", 0, 0, valid_log_level, "error, warn, info or debug" },
	{ "trusted_proxies", STR(trusted_proxies), NULL, 0, 0, valid_trusted_proxies,
	  "reverse proxies whose X-Forwarded-For is believed: addresses or CIDR networks, comma-separated "
	  "(empty: none; docs/scaling.md)" },
	{ "ui_dir", STR(ui_dir), OTW_UI_DIR_DEFAULT, 0, 0, NULL,
	  "the web UI's built files (index.html, assets/), read once at start and served outside /api; "
	  "missing: UI paths answer 503" },
	{ "workers", INT(workers), "4", 1, 256, NULL, "worker threads for blocking work" },
	{ "session_ttl", INT(session_ttl), "43200", 60, 7 * 86400, NULL,
	  "login session lifetime, seconds (absolute cap, refreshes included)" },
	{ "session_idle", INT(session_idle), "1800", 1, 86400, NULL, "idle time that ends a login session, seconds" },
	{ "access_token_ttl", INT(access_token_ttl), "300", 1, 86400, NULL,
	  "lifetime of one session JWT before it must be refreshed, seconds" },
	{ "enrollment_ttl", INT(enrollment_ttl), "604800", 300, 90 * 86400, NULL,
	  "activation token lifetime, seconds" },
	{ "ingest_queue", INT(ingest_queue), "256", 1, 65536, NULL, "batches queued before backpressure" },
	{ "ingest_queue_mib", INT(ingest_queue_mib), "16", 1, 4096, NULL,
	  "... or MiB of them on the wire (parsed, they take several times that)" },
	{ "ingest_writers", INT(ingest_writers), "2", 1, 64, NULL,
	  "ingest writer threads, one database connection each; a sensor always uses the same one" },
	{ "ingest_group", INT(ingest_group), "64", 1, 256, NULL,
	  "group commit: batches (of any sensors of one writer) applied in one transaction" },
	{ "max_frame_bytes", INT(max_frame_bytes), "4194304", 4096, 256 * 1024 * 1024, NULL,
	  "largest message from a sensor, bytes" },
	{ "sensor_max_inflight", INT(sensor_max_inflight), "16", 1, 4096, NULL,
	  "per sensor: batches sent and not yet acked before the sensor is cut off as flooding (its uplink keeps 4)" },
	{ "sensor_msg_rate", INT(sensor_msg_rate), "50", 1, 100000, NULL,
	  "per sensor: messages other than batches a second, sustained, before it is cut off as flooding" },
	{ "sensor_msg_burst", INT(sensor_msg_burst), "500", 1, 1000000, NULL,
	  "per sensor: messages other than batches in a burst above the sustained rate" },
	{ "device_retention_days", INT(device_retention_days), "90", 1, 36500, NULL,
	  "devices (and connections, DPI events) inactive this many days are purged" },
	{ "alert_retention_days", INT(alert_retention_days), "90", 1, 36500, NULL,
	  "alerts detected (or, outside the partitioned range, last touched) this many days ago are purged" },
	{ "retention_interval", INT(retention_interval), "3600", 1, 86400, NULL, "seconds between two purge runs" },
	{ "map_fold_interval", INT(map_fold_interval), "10", 1, 3600, NULL,
	  "seconds between two folds of new connections into the map's stored endpoints and of its per-zone counts "
	  "(server/map_fold.h)" },
	{ "events_max_streams", INT(events_max_streams), "1000", 1, 100000, NULL,
	  "live event streams (GET /api/v1/events) open on this node at most" },
	{ "events_max_streams_per_user", INT(events_max_streams_per_user), "8", 1, 10000, NULL,
	  "live event streams one user (or API token) may hold open on this node" },
	{ "events_heartbeat", INT(events_heartbeat), "15", 1, 300, NULL,
	  "seconds between two keep-alive comments on a live event stream (proxies close idle streams)" },
	{ "events_stream_lifetime", INT(events_stream_lifetime), "300", 5, 86400, NULL,
	  "seconds a live event stream lasts (ended earlier when its session token expires); the client reconnects, "
	  "re-authenticated, with its scope read anew, and resumes with Last-Event-ID" },
	{ "events_ring", INT(events_ring), "4096", 16, 1000000, NULL,
	  "recent live events each node keeps for Last-Event-ID resume (older ids get a reset event)" },
	{ "sensor_silent_sec", INT(sensor_silent_sec), "300", 2, 30 * 86400, NULL,
	  "seconds without a record or hello from an enrolled sensor before it is reported silent (an operational "
	  "alert and a system notification; sensors send health every minute)" },
	{ "forward_poll_ms", INT(forward_poll_ms), "5000", 100, 600000, NULL,
	  "forwarding: milliseconds between two looks at the outbox without a notification (docs/forwarding.md)" },
	{ "forward_backoff_max", INT(forward_backoff_max), "300", 1, 86400, NULL,
	  "forwarding: longest wait between two attempts of a failing delivery, seconds (1 s doubling up to this)" },
	{ "forward_timeout_ms", INT(forward_timeout_ms), "10000", 100, 300000, NULL,
	  "forwarding: one delivery attempt (connect, TLS handshake, send, HTTP answer) gives up after this, ms" },
	{ "forward_batch", INT(forward_batch), "100", 1, 100000, NULL,
	  "forwarding: messages of one rule per syslog or HEC attempt (one acknowledgement wait each), sent before "
	  "the other rules get their turn" },
};
#define NPARAMS (sizeof(config_params) / sizeof(config_params[0]))

static char **str_field(struct console_config *cfg, const struct config_param *p)
{
	return (char **)((char *)cfg + p->offset);
}

static int64_t *int_field(struct console_config *cfg, const struct config_param *p)
{
	return (int64_t *)((char *)cfg + p->offset);
}

/* Finds a key, accepting dashes for underscores (flags use dashes). */
static const struct config_param *param_find(const char *key)
{
	char norm[64];
	size_t n = strlen(key);

	if (n >= sizeof(norm))
		return NULL;
	for (size_t i = 0; i <= n; i++)
		norm[i] = key[i] == '-' ? '_' : key[i];
	for (size_t i = 0; i < NPARAMS; i++)
		if (strcmp(config_params[i].name, norm) == 0)
			return &config_params[i];
	return NULL;
}

static int parse_int(const char *v, int64_t *out)
{
	char *end;
	long long x;

	if (!*v || isspace((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = x;
	return 0;
}

static int param_set(struct console_config *cfg, const struct config_param *p, const char *value, char *why,
		     size_t whylen)
{
	int rc;

	if (p->validate && (rc = p->validate(value, why, whylen)) < 0)
		return rc;
	if (p->type == CFG_INT) {
		int64_t x;
		if (parse_int(value, &x) < 0 || x < p->min || x > p->max) {
			snprintf(why, whylen, "expected an integer from %" PRId64 " to %" PRId64, p->min, p->max);
			return -EINVAL;
		}
		*int_field(cfg, p) = x;
	} else {
		char *s = strdup(value);
		if (!s) {
			snprintf(why, whylen, "out of memory");
			return -ENOMEM;
		}
		free(*str_field(cfg, p));
		*str_field(cfg, p) = s;
	}
	return 0;
}

int config_init(struct console_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NPARAMS; i++) {
		const struct config_param *p = &config_params[i];
		if (!p->def) {
			if (p->type == CFG_STRING && !(*str_field(cfg, p) = strdup("")))
				goto fail;
			continue;
		}
		/* Defaults bypass the validator: "state" and "db" are empty until set, and required by the
		 * commands that use them. */
		if (p->type == CFG_STRING ? !(*str_field(cfg, p) = strdup(p->def))
					  : parse_int(p->def, int_field(cfg, p)) < 0)
			goto fail;
	}
	return 0;
fail:
	config_free(cfg);
	return -ENOMEM;
}

void config_free(struct console_config *cfg)
{
	for (size_t i = 0; i < NPARAMS; i++) {
		if (config_params[i].type == CFG_STRING) {
			free(*str_field(cfg, &config_params[i]));
			*str_field(cfg, &config_params[i]) = NULL;
		}
	}
}

int config_set(struct console_config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	const struct config_param *p = param_find(key);
	char why[160];
	int rc;

	if (!p) {
		snprintf(err, errlen, "unknown setting \"%s\"", key);
		return -ENOENT;
	}
	if ((rc = param_set(cfg, p, value, why, sizeof(why))) < 0)
		snprintf(err, errlen, "%s: %s", p->name, why);
	return rc;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int config_load_file(struct console_config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *key, *value, *eq;
	size_t cap = 0;
	unsigned lineno = 0;
	char why[256];
	int rc = 0;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected key = value", path, lineno);
			rc = -EINVAL;
			goto out;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		/* Only underscores in the file, so that a key has one spelling there. */
		if (strchr(key, '-') || !param_find(key)) {
			snprintf(err, errlen, "%s:%u: unknown setting \"%s\"", path, lineno, key);
			rc = -EINVAL;
			goto out;
		}
		if ((rc = config_set(cfg, key, value, why, sizeof(why))) < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			goto out;
		}
	}
	if (ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", path);
	}
out:
	free(line);
	fclose(f);
	return rc;
}

static int derive_url(char **field, const char *scheme, const char *listen)
{
	size_t n;
	char *s;

	if (**field)
		return 0;
	n = strlen(scheme) + strlen(listen) + 1;
	s = malloc(n);
	if (!s)
		return -ENOMEM;
	snprintf(s, n, "%s%s", scheme, listen);
	free(*field);
	*field = s;
	return 0;
}

int config_finalize(struct console_config *cfg, char *err, size_t errlen)
{
	if (derive_url(&cfg->public_api_url, "https://", cfg->api_listen) < 0 ||
	    derive_url(&cfg->public_sensor_url, "wss://", cfg->sensor_listen) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

void config_strv_free(struct config_strv *sv)
{
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static int strv_push(struct config_strv *sv, const char *s)
{
	const char **nv = realloc(sv->v, (sv->n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	nv[sv->n++] = s;
	sv->v = nv;
	return 0;
}

static const struct config_cli_opt *opt_find(const struct config_cli_opt *opts, size_t nopts, const char *name,
					     size_t len)
{
	for (size_t i = 0; i < nopts; i++)
		if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

/* One pass over argv: command options are applied at once, config flags are kept (as key/value pairs in
 * `flags`) to be applied after the file, so that flags win wherever --config appears. */
int config_parse_args(struct console_config *cfg, int argc, char **argv, int first, const struct config_cli_opt *opts,
		      size_t nopts, struct config_strv *positional, char *err, size_t errlen)
{
	struct config_strv flags = { 0 };
	const char *config_path = NULL;
	int rc = 0;

	for (int i = first; i < argc; i++) {
		const char *arg = argv[i], *name, *eq, *val = NULL;
		const struct config_cli_opt *o;
		size_t nlen;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			rc = 1;
			goto out;
		}
		if (strcmp(arg, "--") == 0) {
			for (i++; i < argc; i++)
				if ((rc = strv_push(positional, argv[i])) < 0)
					goto oom;
			break;
		}
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			if ((rc = strv_push(positional, arg)) < 0)
				goto oom;
			continue;
		}
		name = arg + 2;
		eq = strchr(name, '=');
		nlen = eq ? (size_t)(eq - name) : strlen(name);
		o = opt_find(opts, nopts, name, nlen);
		if (o && o->flag) {
			if (eq) {
				snprintf(err, errlen, "option --%.*s takes no value", (int)nlen, name);
				rc = -EINVAL;
				goto out;
			}
			*o->flag = true;
			continue;
		}
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			snprintf(err, errlen, "option --%.*s needs a value", (int)nlen, name);
			rc = -EINVAL;
			goto out;
		}
		if (o) {
			if (o->value)
				*o->value = val;
			else if ((rc = strv_push(o->list, val)) < 0)
				goto oom;
		} else if (nlen == 6 && strncmp(name, "config", 6) == 0) {
			config_path = val;
		} else {
			char key[64];
			if (nlen >= sizeof(key) || strchr(name, '_')) {
				snprintf(err, errlen, "unknown option --%.*s", (int)nlen, name);
				rc = -EINVAL;
				goto out;
			}
			memcpy(key, name, nlen);
			key[nlen] = '\0';
			if (!param_find(key)) {
				snprintf(err, errlen, "unknown option --%s", key);
				rc = -EINVAL;
				goto out;
			}
			if ((rc = strv_push(&flags, arg)) < 0 || (rc = strv_push(&flags, val)) < 0)
				goto oom;
		}
	}
	if (config_path && (rc = config_load_file(cfg, config_path, err, errlen)) < 0)
		goto out;
	for (size_t k = 0; k < flags.n; k += 2) {
		const char *name = flags.v[k] + 2;
		char key[64], why[200];
		size_t nlen = strcspn(name, "=");
		memcpy(key, name, nlen);
		key[nlen] = '\0';
		if ((rc = config_set(cfg, key, flags.v[k + 1], why, sizeof(why))) < 0) {
			snprintf(err, errlen, "--%s: %s", key, why);
			goto out;
		}
	}
	rc = config_finalize(cfg, err, errlen);
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	config_strv_free(&flags);
	return rc;
}

void config_print_help(void *file)
{
	FILE *f = file;

	fprintf(f, "\nSettings (flag --name-with-dashes, or name_with_underscores = value in --config FILE):\n");
	for (size_t i = 0; i < NPARAMS; i++) {
		const struct config_param *p = &config_params[i];
		char flag[64];
		size_t n = strlen(p->name);
		for (size_t k = 0; k <= n; k++)
			flag[k] = p->name[k] == '_' ? '-' : p->name[k];
		fprintf(f, "  --%-20s %s%s%s%s\n", flag, p->description, p->def ? " [" : "", p->def ? p->def : "",
			p->def ? "]" : "");
	}
}
