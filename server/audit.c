#include "server/audit.h"

#include <errno.h>
#include <stdlib.h>

#include "common/log.h"
#include "server/db.h"

int audit_write(PGconn *db, const char *username, const char *client, const char *action, const char *object,
		json_t *details)
{
	char *json = details ? json_dumps(details, JSON_COMPACT) : NULL;
	const char *params[5] = { username, client, action, object, json ? json : "{}" };
	PGresult *res;

	if (details && !json)
		return -ENOMEM;
	res = db_exec(db,
		      "insert into audit_log (username, client, action, object, details) "
		      "values ($1, $2, $3, $4, $5::jsonb)",
		      5, params);
	free(json);
	if (!res) {
		log_error("audit: could not record %s", action);
		return -EIO;
	}
	PQclear(res);
	return 0;
}
