#include "server/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pki.h"
#include "server/db.h"

#ifndef OTW_SQL_DIR
#define OTW_SQL_DIR "sql"
#endif

/* Key of the session-level advisory lock held while migrating ("OTWM"). */
#define MIGRATE_LOCK_KEY "1330927437"
#define MIGRATE_MAX_FILE (16 * 1024 * 1024)

struct migration {
	int version;
	char *file; /* "001_init.sql" */
};

const char *migrate_default_sql_dir(void)
{
	return OTW_SQL_DIR;
}

/* NNN_name.sql: digits, '_', then [A-Za-z0-9_-]+, then ".sql". Returns the version or -1. */
static int parse_name(const char *name)
{
	const char *p = name;
	size_t n = strlen(name);
	int v = 0;

	if (n < 6 || strcmp(name + n - 4, ".sql") != 0)
		return -1;
	while (*p >= '0' && *p <= '9') {
		if (v > 99999)
			return -1;
		v = v * 10 + (*p++ - '0');
	}
	if (p == name || *p != '_' || p + 1 == name + n - 4)
		return -1;
	for (p++; p < name + n - 4; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '-'))
			return -1;
	return v;
}

static int cmp_migration(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	return (x->version > y->version) - (x->version < y->version);
}

static void migrations_free(struct migration *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].file);
	free(m);
}

static int list_migrations(const char *dir, struct migration **out, size_t *nout, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct migration *m = NULL;
	size_t n = 0;
	struct dirent *de;
	int rc = 0;

	if (!d) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return rc;
	}
	while ((de = readdir(d))) {
		int v = parse_name(de->d_name);
		struct migration *nm;
		if (v < 0)
			continue;
		nm = realloc(m, (n + 1) * sizeof(*m));
		if (!nm || !(nm[n].file = strdup(de->d_name))) {
			m = nm ? nm : m;
			rc = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		m = nm;
		m[n++].version = v;
	}
	qsort(m, n, sizeof(*m), cmp_migration);
	for (size_t i = 1; i < n; i++) {
		if (m[i].version == m[i - 1].version) {
			snprintf(err, errlen, "%s: %s and %s have the same version", dir, m[i - 1].file, m[i].file);
			rc = -EINVAL;
			goto out;
		}
	}
	*out = m;
	*nout = n;
	m = NULL;
	n = 0;
out:
	migrations_free(m, n);
	closedir(d);
	return rc;
}

/* Reads a migration and its checksum (SHA-256 of the file's bytes, lowercase hex). */
static int read_migration(const char *dir, const char *file, char **sql, char hex[65], char *err, size_t errlen)
{
	char path[4096];
	uint8_t digest[32];
	size_t len;
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", file);
		return -ENAMETOOLONG;
	}
	if ((rc = pki_read_file(path, MIGRATE_MAX_FILE, sql, &len)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	pki_sha256(*sql, len, digest);
	pki_hex(digest, sizeof(digest), hex);
	return 0;
}

static int apply_one(PGconn *db, const char *dir, const struct migration *m, char *err, size_t errlen)
{
	char *sql = NULL, hex[65], version[16];
	const char *params[3];
	PGresult *res = NULL;
	int rc;

	if ((rc = read_migration(dir, m->file, &sql, hex, err, errlen)) < 0)
		goto out;
	rc = -EIO;
	if (!db_begin(db)) {
		snprintf(err, errlen, "begin: %s", PQerrorMessage(db));
		goto out;
	}
	/* Our own file, several statements: PQexec (simple protocol) is what runs a script. */
	res = PQexec(db, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s: %s", m->file, PQresultErrorMessage(res));
		goto out;
	}
	PQclear(res);
	snprintf(version, sizeof(version), "%d", m->version);
	params[0] = version;
	params[1] = m->file;
	params[2] = hex;
	res = db_exec(db, "insert into schema_migrations (version, name, checksum, applied_at) values ($1, $2, $3, now())",
		      3, params);
	if (!res) {
		snprintf(err, errlen, "%s: recording the migration failed", m->file);
		goto out;
	}
	if (!db_commit(db)) {
		snprintf(err, errlen, "%s: commit failed", m->file);
		goto out;
	}
	log_info("migrate: applied %s (version %d)", m->file, m->version);
	rc = 0;
out:
	PQclear(res);
	if (rc < 0)
		db_rollback(db);
	free(sql);
	return rc;
}

static const char *applied_checksum(PGresult *res, int version)
{
	for (int r = 0; r < PQntuples(res); r++)
		if (atoi(PQgetvalue(res, r, 0)) == version)
			return PQgetvalue(res, r, 1);
	return NULL;
}

int migrate_run_ex(PGconn *db, const char *sql_dir, int *applied, int *version, char *err, size_t errlen)
{
	struct migration *m = NULL;
	size_t n = 0;
	PGresult *res = NULL, *lock = NULL;
	int rc, count = 0, top = 0;

	if ((rc = list_migrations(sql_dir, &m, &n, err, errlen)) < 0)
		goto out;
	lock = db_exec(db, "select pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL);
	rc = -EIO;
	if (!lock) {
		snprintf(err, errlen, "could not take the migration lock: %s", PQerrorMessage(db));
		goto out;
	}
	res = db_exec(db,
		      "create table if not exists schema_migrations (version int primary key, name text, "
		      "checksum text not null, applied_at timestamptz)",
		      0, NULL);
	if (!res) {
		snprintf(err, errlen, "could not create schema_migrations: %s", PQerrorMessage(db));
		goto out;
	}
	PQclear(res);
	res = db_exec(db, "select version, checksum from schema_migrations order by version", 0, NULL);
	if (!res) {
		snprintf(err, errlen, "could not read schema_migrations: %s", PQerrorMessage(db));
		goto out;
	}
	/* A version in the database without its file: this binary is older than the schema. */
	for (int r = 0; r < PQntuples(res); r++) {
		int v = atoi(PQgetvalue(res, r, 0));
		bool found = false;
		for (size_t i = 0; i < n && !found; i++)
			found = m[i].version == v;
		if (!found) {
			snprintf(err, errlen, "the database has migration %03d, which %s does not hold (newer schema?)", v,
				 sql_dir);
			rc = -EPROTO;
			goto out;
		}
		if (v > top)
			top = v;
	}
	for (size_t i = 0; i < n; i++) {
		const char *sum = applied_checksum(res, m[i].version);
		char *sql = NULL, hex[65];
		if (!sum)
			continue;
		if ((rc = read_migration(sql_dir, m[i].file, &sql, hex, err, errlen)) < 0)
			goto out;
		free(sql);
		if (strcmp(sum, hex) != 0) {
			snprintf(err, errlen,
				 "%s/%s was changed after it was applied (checksum %s, recorded %s); "
				 "add a new migration instead of editing an applied one",
				 sql_dir, m[i].file, hex, sum);
			rc = -EBADMSG;
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (applied_checksum(res, m[i].version))
			continue;
		if ((rc = apply_one(db, sql_dir, &m[i], err, errlen)) < 0)
			goto out;
		count++;
		if (m[i].version > top)
			top = m[i].version;
	}
	if (applied)
		*applied = count;
	if (version)
		*version = top;
	rc = 0;
out:
	PQclear(res);
	if (lock) {
		PQclear(lock);
		PQclear(db_exec(db, "select pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", 0, NULL));
	}
	migrations_free(m, n);
	return rc;
}

int migrate_run(PGconn *db, const char *sql_dir, char *err, size_t errlen)
{
	return migrate_run_ex(db, sql_dir, NULL, NULL, err, errlen);
}
