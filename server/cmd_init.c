/* otwatch-console init: state directory, database schema, first admin. Refuses an existing state. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "auth/password.h"
#include "common/log.h"
#include "common/pki.h"
#include "server/audit.h"
#include "server/commands.h"
#include "server/config.h"
#include "server/db.h"
#include "server/migrate.h"
#include "server/state.h"

#define INIT_PASSWORD_FILE_MAX 4096

static void init_usage(FILE *f)
{
	fprintf(f, "usage: otwatch-console init --state DIR --db URL --admin-user NAME --admin-password-file FILE\n"
		   "                            [--hostname H]... [--sql-dir DIR] [--config FILE]\n"
		   "  --hostname H    server certificate name (repeatable; the first is the CN)\n"
		   "                  [localhost, 127.0.0.1]\n"
		   "  --sql-dir DIR   migrations [%s]\n",
		migrate_default_sql_dir());
	config_print_help(f);
}

/* Reads the password file; strips one trailing newline (\n or \r\n). */
static int read_password(const char *path, char **pw, char *err, size_t errlen)
{
	size_t len;
	char *s;
	int rc = pki_read_file(path, INIT_PASSWORD_FILE_MAX, &s, &len);

	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, rc == -EFBIG ? "file too large" : strerror(-rc));
		return rc;
	}
	if (len > 0 && s[len - 1] == '\n')
		s[--len] = '\0';
	if (len > 0 && s[len - 1] == '\r')
		s[--len] = '\0';
	if (strlen(s) != len) {
		snprintf(err, errlen, "%s: the password contains a NUL byte", path);
		OPENSSL_cleanse(s, len);
		free(s);
		return -EINVAL;
	}
	*pw = s;
	return 0;
}

static bool username_valid(const char *u)
{
	size_t n = strlen(u);

	if (n == 0 || n > 256)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
			return false;
	return true;
}

static int create_admin(PGconn *db, const char *user, const char *hash, char *err, size_t errlen)
{
	const char *params[2] = { user, hash };
	char sqlstate[6];
	PGresult *res = db_exec_state(db, "insert into users (username, password_hash, source, role) "
					  "values ($1, $2, 'local', 'admin')",
				      2, params, sqlstate);

	if (!res) {
		snprintf(err, errlen, strcmp(sqlstate, "23505") == 0 ? "user \"%s\" exists already in this database"
								     : "creating user \"%s\" failed",
			 user);
		return strcmp(sqlstate, "23505") == 0 ? -EEXIST : -EIO;
	}
	PQclear(res);
	return 0;
}

int cmd_init(int argc, char **argv)
{
	struct console_config cfg;
	struct config_strv pos = { 0 }, hosts = { 0 };
	const char *admin_user = NULL, *pw_file = NULL, *sql_dir = migrate_default_sql_dir();
	const struct config_cli_opt opts[] = {
		{ "admin-user", &admin_user, NULL, NULL },
		{ "admin-password-file", &pw_file, NULL, NULL },
		{ "hostname", NULL, &hosts, NULL },
		{ "sql-dir", &sql_dir, NULL, NULL },
	};
	char err[1024], why[128];
	char *password = NULL, *hash = NULL;
	bool state_made = false;
	PGconn *db = NULL;
	int version = 0, ret = CMD_EXIT_USAGE, rc;

	if (config_init(&cfg) < 0) {
		fprintf(stderr, "init: out of memory\n");
		return CMD_EXIT_FAIL;
	}
	rc = config_parse_args(&cfg, argc, argv, 1, opts, sizeof(opts) / sizeof(opts[0]), &pos, err, sizeof(err));
	if (rc == 1) {
		init_usage(stdout);
		ret = CMD_EXIT_OK;
		goto out;
	}
	if (rc < 0 || pos.n || !*cfg.state || !*cfg.db || !admin_user || !pw_file) {
		fprintf(stderr, "init: %s\n",
			rc < 0	      ? err
			: pos.n	      ? "unexpected argument"
			: !*cfg.state ? "--state is required"
			: !*cfg.db    ? "--db is required"
			: !admin_user ? "--admin-user is required"
				      : "--admin-password-file is required");
		fprintf(stderr, "try: otwatch-console init --help\n");
		goto out;
	}
	if (log_set_level_name(cfg.log_level) < 0)
		goto out;
	if (!username_valid(admin_user)) {
		fprintf(stderr, "init: --admin-user must be 1 to 256 characters without spaces or control characters\n");
		goto out;
	}
	ret = CMD_EXIT_FAIL;
	if (read_password(pw_file, &password, err, sizeof(err)) < 0) {
		fprintf(stderr, "init: %s\n", err);
		goto out;
	}
	if (!password_acceptable(password, why, sizeof(why))) {
		fprintf(stderr, "init: admin password refused: %s\n", why);
		goto out;
	}
	if (password_hash(password, &hash) < 0) {
		fprintf(stderr, "init: hashing the password failed\n");
		goto out;
	}
	/* Connect before touching the state directory, so a wrong URL leaves nothing behind. */
	db = db_connect(cfg.db, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "init: cannot connect to the database: %s\n", err);
		goto out;
	}
	if (state_create(cfg.state, hosts.v, hosts.n, err, sizeof(err)) < 0) {
		fprintf(stderr, "init: %s\n", err);
		goto out;
	}
	state_made = true;
	if (migrate_run_ex(db, sql_dir, NULL, &version, err, sizeof(err)) < 0 ||
	    create_admin(db, admin_user, hash, err, sizeof(err)) < 0) {
		fprintf(stderr, "init: %s\n", err);
		goto out;
	}
	{
		json_t *details = json_pack("{s:s, s:s}", "admin_user", admin_user, "state", cfg.state);
		if (audit_write(db, getenv("USER"), "cli", "console.init", admin_user, details) < 0)
			fprintf(stderr, "init: warning: the audit log entry could not be written\n");
		json_decref(details);
	}
	printf("state directory: %s\n"
	       "  ca.crt       internal CA certificate (sensors trust it)\n"
	       "  ca.key       CA private key (0600; copy only to other console nodes)\n"
	       "  server.crt   server certificate for %s\n"
	       "  server.key   server private key\n"
	       "  jwt.key      session signing key\n"
	       "database: schema at version %d\n"
	       "admin user: %s (role admin)\n"
	       "next: otwatch-console serve --state %s --db URL\n",
	       cfg.state, hosts.n ? hosts.v[0] : "localhost", version, admin_user, cfg.state);
	ret = CMD_EXIT_OK;
out:
	/* A failed init leaves no half state: the next run must not be refused because of it. */
	if (ret != CMD_EXIT_OK && state_made && state_remove(cfg.state) < 0)
		fprintf(stderr, "init: could not remove %s; delete it before retrying\n", cfg.state);
	if (password) {
		OPENSSL_cleanse(password, strlen(password));
		free(password);
	}
	free(hash);
	if (db)
		PQfinish(db);
	config_strv_free(&hosts);
	config_strv_free(&pos);
	config_free(&cfg);
	return ret;
}
