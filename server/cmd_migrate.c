/* otwatch-console migrate --db URL [--sql-dir DIR] [--config FILE] */
#include <stdio.h>

#include "common/log.h"
#include "server/commands.h"
#include "server/config.h"
#include "server/db.h"
#include "server/migrate.h"

static void migrate_usage(FILE *f)
{
	fprintf(f, "usage: otwatch-console migrate --db URL [--sql-dir DIR] [--config FILE]\n"
		   "  --sql-dir DIR   migrations to apply [%s]\n",
		migrate_default_sql_dir());
	config_print_help(f);
}

int cmd_migrate(int argc, char **argv)
{
	struct console_config cfg;
	struct config_strv pos = { 0 };
	const char *sql_dir = migrate_default_sql_dir();
	const struct config_cli_opt opts[] = { { "sql-dir", &sql_dir, NULL, NULL } };
	char err[1024];
	PGconn *db = NULL;
	int applied = 0, version = 0, ret = CMD_EXIT_USAGE, rc;

	if (config_init(&cfg) < 0) {
		fprintf(stderr, "migrate: out of memory\n");
		return CMD_EXIT_FAIL;
	}
	rc = config_parse_args(&cfg, argc, argv, 1, opts, 1, &pos, err, sizeof(err));
	if (rc == 1) {
		migrate_usage(stdout);
		ret = CMD_EXIT_OK;
		goto out;
	}
	if (rc < 0 || pos.n > 0 || !*cfg.db) {
		fprintf(stderr, "migrate: %s\n", rc < 0 ? err : pos.n ? "unexpected argument" : "--db is required");
		fprintf(stderr, "try: otwatch-console migrate --help\n");
		goto out;
	}
	if (log_set_level_name(cfg.log_level) < 0)
		goto out;
	ret = CMD_EXIT_FAIL;
	db = db_connect(cfg.db, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "migrate: cannot connect to the database: %s\n", err);
		goto out;
	}
	if (migrate_run_ex(db, sql_dir, &applied, &version, err, sizeof(err)) < 0) {
		fprintf(stderr, "migrate: %s\n", err);
		goto out;
	}
	printf("schema at version %d (%d migration%s applied now)\n", version, applied, applied == 1 ? "" : "s");
	ret = CMD_EXIT_OK;
out:
	if (db)
		PQfinish(db);
	config_strv_free(&pos);
	config_free(&cfg);
	return ret;
}
