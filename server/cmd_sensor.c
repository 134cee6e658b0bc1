/* otwatch-console sensor add|list|revoke: sensor onboarding for operators (the API offers the same). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/pki.h"
#include "server/audit.h"
#include "server/commands.h"
#include "server/config.h"
#include "server/db.h"
#include "server/sensors_admin.h"
#include "server/state.h"

static void sensor_usage(FILE *f)
{
	fprintf(f, "usage: otwatch-console sensor add --state DIR --db URL --name NAME [--zone ZONE_ID] --out FILE\n"
		   "       otwatch-console sensor list --db URL [--json]\n"
		   "       otwatch-console sensor revoke --db URL --id SENSOR_ID\n"
		   "  add writes the activation file (0600, holds a one-time secret) and prints the sensor id.\n");
	config_print_help(f);
}

static void audit_cli(PGconn *db, const char *action, const char *object, json_t *details)
{
	if (audit_write(db, getenv("USER"), "cli", action, object, details) < 0)
		fprintf(stderr, "sensor: warning: the audit log entry could not be written\n");
	json_decref(details);
}

static int sensor_add(PGconn *db, const struct console_config *cfg, const char *name, const char *zone,
		      const char *out_path)
{
	struct console_state st;
	json_t *doc = NULL;
	char err[1024], *text = NULL;
	int ret = CMD_EXIT_FAIL, rc;

	/* Checked first so that no sensor is created for a file that cannot be written. */
	if (access(out_path, F_OK) == 0) {
		fprintf(stderr, "sensor add: %s exists; refusing to overwrite it\n", out_path);
		return CMD_EXIT_FAIL;
	}
	if (state_load(cfg->state, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "sensor add: %s\n", err);
		return CMD_EXIT_FAIL;
	}
	rc = sensors_admin_create(db, &st, cfg, name, zone, &doc, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "sensor add: %s\n", err);
		goto out;
	}
	const char *id = json_string_value(json_object_get(doc, "sensor_id"));
	audit_cli(db, "sensor.create", id, json_pack("{s:s, s:O}", "name", name, "zone_id", json_object_get(doc, "zone_id")));
	text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text || (rc = pki_write_file(out_path, text, strlen(text), 0600, 1)) < 0) {
		fprintf(stderr, "sensor add: writing %s failed (%s); sensor %s was created: revoke it and add it again\n",
			out_path, text ? strerror(-rc) : "out of memory", id);
		goto out;
	}
	fprintf(stderr, "activation file %s written (valid until %s); copy it to the sensor and run\n"
			"  otwatch-sensor activate %s\n",
		out_path, json_string_value(json_object_get(doc, "expires_at")), out_path);
	printf("%s\n", id);
	ret = CMD_EXIT_OK;
out:
	if (text) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	json_decref(doc);
	state_free(&st);
	return ret;
}

static const char *str_or_dash(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "-";
}

static int sensor_list(PGconn *db, bool as_json)
{
	json_t *list = NULL, *s;
	char err[256];
	size_t i;

	if (sensors_admin_list(db, &list, err, sizeof(err)) < 0) {
		fprintf(stderr, "sensor list: %s\n", err);
		return CMD_EXIT_FAIL;
	}
	if (as_json) {
		json_dumpf(list, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		printf("%-36s  %-24s  %-6s  %-9s  %-24s  %s\n", "ID", "NAME", "ZONE", "CONNECTED", "LAST SEEN",
		       "STATUS");
		json_array_foreach(list, i, s) {
			json_t *z = json_object_get(s, "zone_id");
			char zone[24] = "-";
			if (json_is_integer(z))
				snprintf(zone, sizeof(zone), "%lld", (long long)json_integer_value(z));
			printf("%-36s  %-24s  %-6s  %-9s  %-24s  %s\n", str_or_dash(s, "id"), str_or_dash(s, "name"), zone,
			       json_is_true(json_object_get(s, "connected")) ? "yes" : "no", str_or_dash(s, "last_seen"),
			       json_is_string(json_object_get(s, "revoked_at"))      ? "revoked"
			       : json_is_string(json_object_get(s, "cert_serial")) ? "enrolled"
										 : "awaiting activation");
		}
	}
	json_decref(list);
	return CMD_EXIT_OK;
}

static int sensor_revoke(PGconn *db, const char *id)
{
	char err[256];

	if (sensors_admin_revoke(db, id, err, sizeof(err)) < 0) {
		fprintf(stderr, "sensor revoke: %s\n", err);
		return CMD_EXIT_FAIL;
	}
	audit_cli(db, "sensor.revoke", id, NULL);
	printf("sensor %s revoked\n", id);
	return CMD_EXIT_OK;
}

int cmd_sensor(int argc, char **argv)
{
	struct console_config cfg;
	struct config_strv pos = { 0 };
	const char *name = NULL, *zone = NULL, *out = NULL, *id = NULL, *sub;
	bool as_json = false;
	const struct config_cli_opt opts[] = {
		{ "name", &name, NULL, NULL }, { "zone", &zone, NULL, NULL }, { "out", &out, NULL, NULL },
		{ "id", &id, NULL, NULL },     { "json", NULL, NULL, &as_json },
	};
	const char *missing = NULL;
	char err[1024];
	PGconn *db = NULL;
	int ret = CMD_EXIT_USAGE, rc;

	if (config_init(&cfg) < 0) {
		fprintf(stderr, "sensor: out of memory\n");
		return CMD_EXIT_FAIL;
	}
	rc = config_parse_args(&cfg, argc, argv, 1, opts, sizeof(opts) / sizeof(opts[0]), &pos, err, sizeof(err));
	if (rc == 1) {
		sensor_usage(stdout);
		ret = CMD_EXIT_OK;
		goto out;
	}
	if (rc < 0 || pos.n != 1) {
		fprintf(stderr, "sensor: %s\n", rc < 0 ? err : "expected one of add, list, revoke");
		fprintf(stderr, "try: otwatch-console sensor --help\n");
		goto out;
	}
	sub = pos.v[0];
	if (!*cfg.db)
		missing = "--db";
	else if (strcmp(sub, "add") == 0)
		missing = !*cfg.state ? "--state" : !name ? "--name" : !out ? "--out" : NULL;
	else if (strcmp(sub, "revoke") == 0)
		missing = !id ? "--id" : NULL;
	else if (strcmp(sub, "list") != 0) {
		fprintf(stderr, "sensor: unknown subcommand \"%s\"\n", sub);
		fprintf(stderr, "try: otwatch-console sensor --help\n");
		goto out;
	}
	if (missing) {
		fprintf(stderr, "sensor %s: %s is required\n", sub, missing);
		goto out;
	}
	if (log_set_level_name(cfg.log_level) < 0)
		goto out;
	ret = CMD_EXIT_FAIL;
	db = db_connect(cfg.db, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "sensor: cannot connect to the database: %s\n", err);
		goto out;
	}
	if (strcmp(sub, "add") == 0)
		ret = sensor_add(db, &cfg, name, zone, out);
	else if (strcmp(sub, "list") == 0)
		ret = sensor_list(db, as_json);
	else
		ret = sensor_revoke(db, id);
out:
	if (db)
		PQfinish(db);
	config_strv_free(&pos);
	config_free(&cfg);
	return ret;
}
