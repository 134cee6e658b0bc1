/* The audit log: who did what to which object. Every change made through the API or the CLI writes one row. */
#pragma once
#include <jansson.h>
#include <libpq-fe.h>

/* Inserts a row into audit_log (parameterised). username/client/object may be NULL; details may be NULL
 * (stored as {}), is not consumed, and must never hold secrets (passwords, tokens, keys).
 * `client` is the peer address for the API, "cli" for local commands. Returns 0 or -EIO (logged). */
int audit_write(PGconn *db, const char *username, const char *client, const char *action, const char *object,
		json_t *details) __attribute__((warn_unused_result));
