#include "server/api_audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/access_scope.h"
#include "server/db.h"

#define AUDIT_FILTERS (HTTP_FILTER_TIME | HTTP_FILTER_USERNAME | HTTP_FILTER_ACTION)
#define AUDIT_JSON                                                                                             \
	"json_build_object('id', a.id, 'at', " API_TS("a.at") ", 'username', a.username, 'client', a.client, "  \
	"'action', a.action, 'object', a.object, 'details', a.details)::text"
/* The filters; the arguments are the parameter numbers of from, to, username and action. An action ending in a dot
 * is a prefix: "device." matches device.update and device.merge. */
#define AUDIT_WHERE(f, t, u, a)                                                                                \
	"($" f "::timestamptz is null or a.at >= $" f "::timestamptz) and ($" t "::timestamptz is null or "     \
	"a.at < $" t "::timestamptz) and ($" u "::text is null or a.username = $" u ") and ($" a "::text is "   \
	"null or a.action = $" a " or (right($" a ", 1) = '.' and left(a.action, length($" a ")) = $" a ")) "

void api_audit_list(struct api_call *c, PGconn *db)
{
	static const char *const names[] = { "object" };
	char object[1][API_QUERY_VALUE_MAX];
	struct http_list_params lp;
	const char *extra[5];

	if (!api_list_params_plus(c, AUDIT_FILTERS, HTTP_ID_INT, &lp, names, 1, object))
		return;
	extra[0] = lp.from;
	extra[1] = lp.to;
	extra[2] = lp.username;
	extra[3] = lp.action;
	extra[4] = object[0][0] ? object[0] : NULL;
	/* object: the changed object's id or name exactly; objects of different kinds share ids, so a device's history is
	 * object=<device id>&action=device. */
	api_list(c, db,
		 "select a.id::text, " AUDIT_JSON " from audit_log a where ($1::bigint is null or a.id < $1::bigint) "
		 "and " AUDIT_WHERE("3", "4", "5", "6") "and ($7::text is null or a.object = $7) "
		 "order by a.id desc limit $2::int",
		 &lp, 5, extra);
}

static int write_csv(FILE *f, PGresult *res)
{
	int rc = fputs("id,at,username,client,action,object,details\r\n", f) < 0 ? -1 : 0;

	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		for (int col = 0; rc == 0 && col < 7; col++) {
			if ((col && fputc(',', f) == EOF) ||
			    csv_write_field(f, PQgetisnull(res, i, col) ? NULL : PQgetvalue(res, i, col)) != 0)
				rc = -1;
		}
		if (rc == 0 && fputs("\r\n", f) < 0)
			rc = -1;
	}
	return rc;
}

static int write_jsonl(FILE *f, PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++) {
		if (fputs(PQgetvalue(res, i, 7), f) < 0 || fputc('\n', f) == EOF)
			return -1;
	}
	return 0;
}

void api_audit_export(struct api_call *c, PGconn *db)
{
	struct http_list_params lp;
	const char *params[4];
	PGresult *res = NULL;
	char *text = NULL;
	size_t size = 0;
	FILE *f = NULL;
	bool csv;
	int rc;

	if (!api_list_params(c, AUDIT_FILTERS | HTTP_FILTER_FORMAT, HTTP_ID_INT, &lp))
		return;
	if (lp.limit != HTTP_LIMIT_DEFAULT || lp.after[0]) {
		api_fail(c, 400, "invalid_query", NULL, "an export takes no limit or cursor");
		return;
	}
	csv = strcmp(lp.format, "jsonl") != 0;
	params[0] = lp.from[0] ? lp.from : NULL;
	params[1] = lp.to[0] ? lp.to : NULL;
	params[2] = lp.username[0] ? lp.username : NULL;
	params[3] = lp.action[0] ? lp.action : NULL;
	res = db_exec(db,
		      "select a.id::text, " API_TS("a.at") ", a.username, a.client, a.action, a.object, a.details::text, "
		      AUDIT_JSON " from audit_log a where " AUDIT_WHERE("1", "2", "3", "4") "order by a.id",
		      4, params);
	if (!res) {
		api_fail_db(c);
		return;
	}
	f = open_memstream(&text, &size);
	if (!f) {
		api_fail(c, 500, "internal", NULL, "internal error");
		goto out;
	}
	rc = csv ? write_csv(f, res) : write_jsonl(f, res);
	if (fclose(f) != 0 || rc != 0) {
		api_fail(c, 500, "internal", NULL, "internal error");
		goto out;
	}
	api_audit(c, db, "audit_log.export", NULL, NULL);
	c->resp_text = text;
	text = NULL;
	c->resp_type = csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
	c->resp_filename = csv ? "audit-log.csv" : "audit-log.jsonl";
	c->status = 200;
out:
	free(text);
	PQclear(res);
}
