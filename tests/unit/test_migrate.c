#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/db.h"
#include "server/migrate.h"
#include "pg_scratch.h"

static void write_sql(const char *dir, const char *file, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static long count(PGconn *db, const char *sql)
{
	PGresult *r = db_exec(db, sql, 0, NULL);
	long n;

	assert_non_null(r);
	n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return n;
}

static void applies_once_and_refuses_edits(void **state)
{
	struct pg_scratch *s = pg_scratch_create("migrate");
	char dir[] = "/tmp/otw-sql-XXXXXX", err[1024], cmd[64];
	int applied = -1, version = -1;
	PGconn *db;

	if (!s)
		skip();
	assert_non_null(mkdtemp(dir));
	write_sql(dir, "001_first.sql", "create table t1 (x int);\ninsert into t1 values (1);\n");
	write_sql(dir, "002_second.sql", "create table t2 (y text);\n");
	write_sql(dir, "README", "not a migration\n");
	db = db_connect(s->conninfo, err, sizeof(err));
	assert_non_null(db);

	assert_int_equal(migrate_run_ex(db, dir, &applied, &version, err, sizeof(err)), 0);
	assert_int_equal(applied, 2);
	assert_int_equal(version, 2);
	assert_int_equal(count(db, "select count(*) from schema_migrations"), 2);
	assert_int_equal(count(db, "select count(*) from t1"), 1);

	/* second run: nothing to do */
	assert_int_equal(migrate_run_ex(db, dir, &applied, &version, err, sizeof(err)), 0);
	assert_int_equal(applied, 0);
	assert_int_equal(version, 2);
	assert_int_equal(count(db, "select count(*) from t1"), 1);

	/* a failing new migration is rolled back entirely and not recorded */
	write_sql(dir, "003_broken.sql", "create table t3 (z int);\nselect no_such_function();\n");
	assert_true(migrate_run(db, dir, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "003_broken.sql"));
	assert_int_equal(count(db, "select count(*) from schema_migrations"), 2);
	assert_int_equal(count(db, "select count(*) from pg_tables where tablename = 't3'"), 0);
	write_sql(dir, "003_broken.sql", "create table t3 (z int);\n");
	assert_int_equal(migrate_run_ex(db, dir, &applied, &version, err, sizeof(err)), 0);
	assert_int_equal(applied, 1);
	assert_int_equal(version, 3);

	/* editing an applied file is refused, naming it */
	write_sql(dir, "002_second.sql", "create table t2 (y text, extra int);\n");
	assert_int_equal(migrate_run(db, dir, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "002_second.sql"));

	/* a database newer than the files is refused */
	write_sql(dir, "002_second.sql", "create table t2 (y text);\n");
	snprintf(cmd, sizeof(cmd), "%s/003_broken.sql", dir);
	unlink(cmd);
	assert_int_equal(migrate_run(db, dir, err, sizeof(err)), -EPROTO);

	PQfinish(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	pg_scratch_drop(s);
}

/* The project's own schema applies on an empty database. */
static void real_schema_applies(void **state)
{
	struct pg_scratch *s = pg_scratch_create("schema");
	char err[1024];
	int applied = 0, version = 0;
	PGconn *db;

	if (!s)
		skip();
	db = db_connect(s->conninfo, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(migrate_run_ex(db, migrate_default_sql_dir(), &applied, &version, err, sizeof(err)), 0);
	assert_true(applied >= 1);
	assert_int_equal(count(db, "select count(*) from pg_tables where tablename = 'sensors'"), 1);
	assert_int_equal(migrate_run_ex(db, migrate_default_sql_dir(), &applied, &version, err, sizeof(err)), 0);
	assert_int_equal(applied, 0);
	PQfinish(db);
	pg_scratch_drop(s);
}

static void missing_dir_is_an_error(void **state)
{
	char err[256];

	/* no database needed: the directory is read first */
	assert_int_equal(migrate_run(NULL, "/nonexistent/sql", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/sql"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(applies_once_and_refuses_edits),
		cmocka_unit_test(real_schema_applies),
		cmocka_unit_test(missing_dir_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
