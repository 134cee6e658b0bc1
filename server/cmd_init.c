/* otwatch-console init: state directory, database schema, first admin. Refuses an existing state.
 * otwatch-console init --join: a further node's state directory, copied from a node of the same console. */
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
		   "       otwatch-console init --join --state NEWDIR --from EXISTINGDIR --db URL\n"
		   "  --hostname H    server certificate name (repeatable; the first is the CN)\n"
		   "                  [localhost, 127.0.0.1]\n"
		   "  --sql-dir DIR   migrations [%s]\n"
		   "  --join          another node of an initialised console: copies the CA, server certificate and\n"
		   "                  JWT key of EXISTINGDIR (generates nothing) after checking that the database is\n"
		   "                  the one EXISTINGDIR's console was initialised in (docs/scaling.md)\n",
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

/* The console identity recorded in the database by init (the CA fingerprint in the console.init audit record).
 * Returns 1 and fills fp when there is one, 0 when there is none (no schema yet, or initialised before
 * identities were recorded: then *legacy is set), or -EIO. */
static int db_identity(PGconn *db, char fp[STATE_FINGERPRINT_LEN], bool *legacy, char *err, size_t errlen)
{
	PGresult *res = db_exec(db, "select to_regclass('audit_log') is not null", 0, NULL);
	int rc = 0;

	*legacy = false;
	if (res && strcmp(PQgetvalue(res, 0, 0), "t") != 0) { /* an empty database */
		PQclear(res);
		return 0;
	}
	PQclear(res);
	res = res ? db_exec(db, "select coalesce(details->>'ca_sha256', '') from audit_log "
				"where action = 'console.init' order by id limit 1",
			    0, NULL)
		  : NULL;
	if (!res) {
		snprintf(err, errlen, "reading the console identity from the database failed");
		return -EIO;
	}
	if (PQntuples(res) == 1) {
		const char *v = PQgetvalue(res, 0, 0);
		if (strlen(v) == STATE_FINGERPRINT_LEN - 1) {
			memcpy(fp, v, STATE_FINGERPRINT_LEN);
			rc = 1;
		} else {
			*legacy = true;
		}
	}
	PQclear(res);
	if (rc == 0 && !*legacy) {
		/* No init record (an older init whose audit write failed): users or sensors still mean a console
		 * lives here, and a second CA must not be made for it. */
		res = db_exec(db, "select exists (select 1 from users) or exists (select 1 from sensors)", 0, NULL);
		if (!res) {
			snprintf(err, errlen, "reading the console identity from the database failed");
			return -EIO;
		}
		*legacy = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
	}
	return rc;
}

static int state_fingerprint(const char *dir, char fp[STATE_FINGERPRINT_LEN], char *err, size_t errlen)
{
	struct console_state st;
	int rc = state_load(dir, &st, err, errlen);

	if (rc < 0)
		return rc;
	if ((rc = state_ca_fingerprint(&st, fp)) < 0)
		snprintf(err, errlen, "%s/ca.crt: cannot compute its fingerprint", dir);
	state_free(&st);
	return rc;
}

/* init --join: checks that the database belongs to the console of `from`, then copies its state. Nothing is
 * generated: a node with a new CA could not serve the sensors enrolled by the others, a new JWT key would make
 * the other nodes' sessions invalid here. */
static int init_join(const struct console_config *cfg, const char *from)
{
	char err[1024], have[STATE_FINGERPRINT_LEN], want[STATE_FINGERPRINT_LEN];
	bool legacy = false;
	PGconn *db = NULL;
	int ret = CMD_EXIT_FAIL, rc;

	if (state_fingerprint(from, have, err, sizeof(err)) < 0) {
		fprintf(stderr, "init: --from: %s\n", err);
		goto out;
	}
	db = db_connect(cfg->db, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "init: cannot connect to the database: %s\n", err);
		goto out;
	}
	rc = db_identity(db, want, &legacy, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "init: %s\n", err);
		goto out;
	}
	if (rc == 0) {
		fprintf(stderr, "init: the database records no console identity (%s); join only a database that "
				"`otwatch-console init` set up, or copy the state directory by hand (docs/scaling.md)\n",
			legacy ? "initialised before identities were recorded" : "it was never initialised");
		goto out;
	}
	if (strcmp(have, want) != 0) {
		fprintf(stderr, "init: the database belongs to another console: its CA is sha256:%s, %s/ca.crt is "
				"sha256:%s; refusing to join\n",
			want, from, have);
		goto out;
	}
	if (state_copy(from, cfg->state, err, sizeof(err)) < 0) {
		fprintf(stderr, "init: %s\n", err);
		goto out;
	}
	{
		json_t *details = json_pack("{s:s, s:s, s:s}", "state", cfg->state, "from", from, "ca_sha256", have);
		if (audit_write(db, getenv("USER"), "cli", "console.join", NULL, details) < 0)
			fprintf(stderr, "init: warning: the audit log entry could not be written\n");
		json_decref(details);
	}
	printf("state directory: %s (copied from %s: the same CA, server certificate and JWT key)\n"
	       "console: sha256:%s, the same as the database's\n"
	       "next: otwatch-console serve --state %s --db URL, with the settings of the other nodes\n",
	       cfg->state, from, have, cfg->state);
	ret = CMD_EXIT_OK;
out:
	if (db)
		PQfinish(db);
	return ret;
}

/* Runs a statement without parameters or results; 0 or -EIO. */
static int db_exec_ok(PGconn *db, const char *sql)
{
	PGresult *res = db_exec(db, sql, 0, NULL);

	if (!res)
		return -EIO;
	PQclear(res);
	return 0;
}

static int write_identity(PGconn *db, const char *admin_user, const char *state, const char *fp)
{
	json_t *details = json_pack("{s:s, s:s, s:s}", "admin_user", admin_user, "state", state, "ca_sha256", fp);
	int rc = details ? audit_write(db, getenv("USER"), "cli", "console.init", admin_user, details) : -ENOMEM;

	json_decref(details);
	return rc < 0 ? -EIO : 0;
}

int cmd_init(int argc, char **argv)
{
	struct console_config cfg;
	struct config_strv pos = { 0 }, hosts = { 0 };
	const char *admin_user = NULL, *pw_file = NULL, *sql_dir = NULL, *from = NULL;
	bool join = false, legacy = false;
	const struct config_cli_opt opts[] = {
		{ "admin-user", &admin_user, NULL, NULL },
		{ "admin-password-file", &pw_file, NULL, NULL },
		{ "hostname", NULL, &hosts, NULL },
		{ "sql-dir", &sql_dir, NULL, NULL },
		{ "join", NULL, NULL, &join },
		{ "from", &from, NULL, NULL },
	};
	char err[1024] = "", why[128], fp[STATE_FINGERPRINT_LEN];
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
	if (rc == 0 && join) {
		/* A joining node takes everything from the existing state: options that would make something new
		 * are mistakes, not preferences. */
		if (!pos.n && *cfg.state && *cfg.db && from && !admin_user && !pw_file && !hosts.n && !sql_dir) {
			ret = log_set_level_name(cfg.log_level) < 0 ? CMD_EXIT_USAGE : init_join(&cfg, from);
			goto out;
		}
		fprintf(stderr, "init: %s\n",
			pos.n	      ? "unexpected argument"
			: !*cfg.state ? "--state is required"
			: !*cfg.db    ? "--db is required"
			: !from       ? "--join needs --from EXISTINGDIR (the state directory of a node of the console)"
				      : "--join copies the admin, the certificate names and the schema of the console: "
					"--admin-user, --admin-password-file, --hostname and --sql-dir do not apply");
		fprintf(stderr, "try: otwatch-console init --help\n");
		goto out;
	}
	if (rc < 0 || pos.n || !*cfg.state || !*cfg.db || !admin_user || !pw_file || from) {
		fprintf(stderr, "init: %s\n",
			rc < 0	      ? err
			: pos.n	      ? "unexpected argument"
			: from	      ? "--from is for --join"
			: !*cfg.state ? "--state is required"
			: !*cfg.db    ? "--db is required"
			: !admin_user ? "--admin-user is required"
				      : "--admin-password-file is required");
		fprintf(stderr, "try: otwatch-console init --help\n");
		goto out;
	}
	if (!sql_dir)
		sql_dir = migrate_default_sql_dir();
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
	/* One database, one console: a second init would give it a second CA that the first one's sensors and
	 * nodes do not know. */
	if ((rc = db_identity(db, fp, &legacy, err, sizeof(err))) != 0 || legacy) {
		if (rc < 0)
			fprintf(stderr, "init: %s\n", err);
		else
			fprintf(stderr, "init: the database belongs to a console already%s%s%s; to add a node to it: "
					"otwatch-console init --join --from A_NODES_STATE_DIR\n",
				rc == 1 ? " (CA sha256:" : "", rc == 1 ? fp : "", rc == 1 ? ")" : "");
		goto out;
	}
	if (state_create(cfg.state, hosts.v, hosts.n, err, sizeof(err)) < 0) {
		fprintf(stderr, "init: %s\n", err);
		goto out;
	}
	state_made = true;
	if (state_fingerprint(cfg.state, fp, err, sizeof(err)) < 0 ||
	    migrate_run_ex(db, sql_dir, NULL, &version, err, sizeof(err)) < 0) {
		fprintf(stderr, "init: %s\n", err);
		goto out;
	}
	/* The admin and the identity (ca_sha256 in the console.init record, checked by init --join) commit
	 * together: a failed init leaves neither, and can be run again. */
	if (db_exec_ok(db, "begin") < 0 || create_admin(db, admin_user, hash, err, sizeof(err)) < 0 ||
	    write_identity(db, admin_user, cfg.state, fp) < 0 || db_exec_ok(db, "commit") < 0) {
		fprintf(stderr, "init: %s\n", err[0] ? err : "recording the admin and the console identity failed");
		goto out;
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
