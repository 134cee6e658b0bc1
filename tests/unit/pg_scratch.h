/* Test helper: a scratch PostgreSQL database made on the server named by OTW_TEST_DB_URL and dropped at the
 * end. Tests call pg_scratch_create() and skip() when it returns NULL (variable unset). */
#pragma once
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pg_scratch {
	char name[64];
	char conninfo[2048]; /* OTW_TEST_DB_URL's settings with dbname replaced */
	char admin[2048];    /* the same, for the original database (to drop the scratch one) */
};

/* keyword='value' pairs from url, with dbname replaced by db (when not NULL). */
static int pg_scratch_conninfo(const char *url, const char *db, char *out, size_t outlen)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL), *o;
	size_t n = 0;

	if (!opts)
		return -1;
	out[0] = '\0';
	for (o = opts; o->keyword; o++) {
		const char *v = strcmp(o->keyword, "dbname") == 0 && db ? db : o->val;
		if (!v)
			continue;
		n += (size_t)snprintf(out + n, outlen - n, "%s='", o->keyword);
		for (; *v && n + 3 < outlen; v++) {
			if (*v == '\'' || *v == '\\')
				out[n++] = '\\';
			out[n++] = *v;
		}
		n += (size_t)snprintf(out + n, outlen - n, "' ");
	}
	if (db && !strstr(out, "dbname="))
		snprintf(out + n, outlen - n, "dbname='%s'", db);
	PQconninfoFree(opts);
	return n < outlen ? 0 : -1;
}

static int pg_scratch_sql(const char *conninfo, const char *sql)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *r;
	int ok;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "pg_scratch: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "pg_scratch: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

static struct pg_scratch *pg_scratch_create(const char *tag)
{
	const char *url = getenv("OTW_TEST_DB_URL");
	struct pg_scratch *s;
	char sql[128];

	if (!url || !*url)
		return NULL;
	s = calloc(1, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "otw_test_%s_%d_%d", tag, (int)getpid(), rand() % 100000);
	if (pg_scratch_conninfo(url, NULL, s->admin, sizeof(s->admin)) < 0 ||
	    pg_scratch_conninfo(url, s->name, s->conninfo, sizeof(s->conninfo)) < 0)
		goto fail;
	snprintf(sql, sizeof(sql), "create database %s", s->name);
	if (pg_scratch_sql(s->admin, sql) < 0)
		goto fail;
	return s;
fail:
	free(s);
	return NULL;
}

static void pg_scratch_drop(struct pg_scratch *s)
{
	char sql[128];

	if (!s)
		return;
	snprintf(sql, sizeof(sql), "drop database if exists %s with (force)", s->name);
	(void)pg_scratch_sql(s->admin, sql);
	free(s);
}
