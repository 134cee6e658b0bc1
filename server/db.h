/* libpq helpers. SQL goes only through parameterised queries (PQexecParams), never string building. */
#pragma once
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* Connects (url is a libpq URI/conninfo); on failure writes libpq's message into err and returns NULL. */
PGconn *db_connect(const char *url, char *err, size_t errlen);
/* Runs a parameterised statement; returns the result when its status is COMMAND_OK or TUPLES_OK, else logs
 * the server message (not the parameters), clears it, and returns NULL. */
PGresult *db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params);
/* Same, but the caller gets the failed result's SQLSTATE in sqlstate[6] (e.g. "23505" unique violation). */
PGresult *db_exec_state(PGconn *conn, const char *sql, int nparams, const char *const *params, char sqlstate[6]);
bool db_begin(PGconn *conn) __attribute__((warn_unused_result));
bool db_commit(PGconn *conn) __attribute__((warn_unused_result));
void db_rollback(PGconn *conn);
