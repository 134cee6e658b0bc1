#include "server/db.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"

/* Server notices ("relation ... already exists, skipping") go to the log at debug level instead of
 * libpq's default of printing them on stderr. */
static void db_notice(void *arg, const char *message)
{
	size_t n = strlen(message);

	while (n > 0 && message[n - 1] == '\n')
		n--;
	log_debug("db notice: %.*s", (int)n, message);
}

PGconn *db_connect(const char *url, char *err, size_t errlen)
{
	PGconn *conn = PQconnectdb(url);
	size_t n;

	if (!conn) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		/* libpq's message names host and database, never the password. */
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
		n = strlen(err);
		while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
			err[--n] = '\0';
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, db_notice, NULL);
	return conn;
}

PGresult *db_exec_state(PGconn *conn, const char *sql, int nparams, const char *const *params, char sqlstate[6])
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	const char *code, *msg;

	if (sqlstate)
		sqlstate[0] = '\0';
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	code = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	/* Only the primary message: DETAIL can quote row values (the parameters). */
	msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (sqlstate && code)
		snprintf(sqlstate, 6, "%s", code);
	/* Constraint violations are answers the caller turns into 409/404, not server faults. */
	if (code && strncmp(code, "23", 2) == 0)
		log_debug("db: %s (sqlstate %s)", msg ? msg : "error", code);
	else
		log_error("db: %s (sqlstate %s)", msg ? msg : PQerrorMessage(conn), code ? code : "none");
	PQclear(res);
	return NULL;
}

PGresult *db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	return db_exec_state(conn, sql, nparams, params, NULL);
}

static bool exec_simple(PGconn *conn, const char *sql)
{
	PGresult *res = db_exec(conn, sql, 0, NULL);

	if (!res)
		return false;
	PQclear(res);
	return true;
}

bool db_begin(PGconn *conn)
{
	return exec_simple(conn, "begin");
}

bool db_commit(PGconn *conn)
{
	return exec_simple(conn, "commit");
}

void db_rollback(PGconn *conn)
{
	/* Outside a transaction there is nothing to undo (and "rollback" would only warn). */
	if (PQtransactionStatus(conn) == PQTRANS_IDLE)
		return;
	PQclear(PQexec(conn, "rollback"));
}
