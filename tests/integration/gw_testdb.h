/* Test helper (header-only, for test programs): a throw-away database with the schema applied, made on the
 * server that OTW_TEST_DB_URL points at. */
#pragma once
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/migrate.h"

/* A conninfo string for database `name` on the server of `url` (every other option kept). Caller frees. */
static inline char *testdb_conninfo(const char *url, const char *name)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	size_t cap = 4096, n = 0;
	char *out = malloc(cap);

	if (!opts || !out) {
		PQconninfoFree(opts);
		free(out);
		return NULL;
	}
	n += (size_t)snprintf(out + n, cap - n, "dbname='%s'", name);
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || strcmp(o->keyword, "dbname") == 0)
			continue;
		n += (size_t)snprintf(out + n, cap - n, " %s='", o->keyword);
		for (const char *v = o->val; *v && n + 4 < cap; v++) {
			if (*v == '\'' || *v == '\\')
				out[n++] = '\\';
			out[n++] = *v;
		}
		n += (size_t)snprintf(out + n, cap - n, "'");
	}
	PQconninfoFree(opts);
	return out;
}

static inline int testdb_admin(const char *url, const char *sql)
{
	PGconn *c = PQconnectdb(url);
	int rc = -1;

	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *r = PQexec(c, sql);
		rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
		if (rc)
			fprintf(stderr, "testdb: %s: %s", sql, PQerrorMessage(c));
		PQclear(r);
	} else {
		fprintf(stderr, "testdb: %s", PQerrorMessage(c));
	}
	PQfinish(c);
	return rc;
}

/* Drops and creates database `name`, applies every migration of OTW_SOURCE_ROOT/sql (the console's own migrator:
 * the programs that include this link libotw_server); returns its conninfo. */
static inline char *testdb_create(const char *admin_url, const char *name)
{
	char sql[256], dir[1024], err[1024], *info = NULL;
	const char *root = getenv("OTW_SOURCE_ROOT");
	PGconn *c = NULL;

	snprintf(sql, sizeof(sql), "drop database if exists %s with (force)", name);
	if (testdb_admin(admin_url, sql))
		return NULL;
	snprintf(sql, sizeof(sql), "create database %s", name);
	if (testdb_admin(admin_url, sql))
		return NULL;
	snprintf(dir, sizeof(dir), "%s/sql", root ? root : ".");
	info = testdb_conninfo(admin_url, name);
	c = info ? PQconnectdb(info) : NULL;
	if (!c || PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "testdb: %s", c ? PQerrorMessage(c) : "no conninfo\n");
		free(info);
		info = NULL;
	} else if (migrate_run(c, dir, err, sizeof(err)) < 0) {
		fprintf(stderr, "testdb: schema: %s\n", err);
		free(info);
		info = NULL;
	}
	PQfinish(c);
	return info;
}

static inline void testdb_drop(const char *admin_url, const char *name)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "drop database if exists %s with (force)", name);
	(void)testdb_admin(admin_url, sql);
}

/* The first column of the first row of `sql` as a number (-1 on error). */
static inline long long testdb_num(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	long long v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fprintf(stderr, "testdb: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return v;
}

static inline int testdb_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
	if (rc)
		fprintf(stderr, "testdb: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return rc;
}
