/* The HTTP API: route table, per-request call object, and the dispatch glue between evhttp (loop thread) and
 * the handlers (worker threads).
 *
 * A request goes: evhttp callback -> match route (404/405) -> session check (401) -> body parse and field
 * validation (400/413) -> queued to the worker pool (503 when full) -> handler on a worker with its own
 * PGconn (role checked there against the users table, 403) -> reply sent back on the loop thread. */
#pragma once
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/http_util.h"
#include "server/workers.h"

struct evhttp_request;
struct console_state;
struct console_config;
struct gateway;
struct http_server;

/* Methods a route can have (bit set so 405 answers can list them). */
enum api_method {
	API_GET = 1u << 0,
	API_POST = 1u << 1,
	API_PATCH = 1u << 2,
	API_DELETE = 1u << 3,
	API_PUT = 1u << 4,
};

enum {
	API_R_PUBLIC = 1u << 0,      /* no session needed (health, login, enroll) */
	API_R_ADMIN = 1u << 1,       /* admin role only */
	API_R_DB_OPTIONAL = 1u << 2, /* the handler runs even when the database is unreachable */
	API_R_COSTLY = 1u << 3,      /* unauthenticated and expensive (password hashing): capped to half the
				      * workers so that a login flood cannot starve everything else */
	API_R_ANALYST = 1u << 4,     /* analyst or admin (triage, inventory edits); read_only gets 403 */
	API_R_LOGIN = 1u << 5,       /* a password login: throttled per source address on the loop thread, and a 401
				      * answer counts as a failure of that source (server/auth_guard.h) */
	API_R_BODY_OPTIONAL = 1u << 6, /* an empty body is accepted (no Content-Type needed) */
	API_R_EXTERNAL = 1u << 7,    /* the incumbent-compatible API (docs/external-api.md): a bare API token in
				      * Authorization is accepted, bodies are capped at HTTP_BODY_MAX_PUBLIC, errors have
				      * the incumbent's shape (api_external_error_json) */
};
/* A route with neither API_R_PUBLIC, API_R_ADMIN nor API_R_ANALYST is open to every signed-in role; scope still
 * applies in its SQL. docs/permissions.md is the same matrix in words. */

#define API_PARAM_MAX 64

struct api_call;
typedef void (*api_handler_fn)(struct api_call *c, PGconn *db);

struct api_route {
	unsigned method;
	const char *pattern; /* "/api/v1/sites/{id}": one {id} segment at most */
	api_handler_fn handler;
	unsigned flags;
	const struct http_body_spec *body; /* NULL: the route takes no body */
};

/* What the handlers share; read-only after start, so workers read it without locks. */
struct api_env {
	struct event_base *base;
	struct workers *workers;
	const struct console_state *st;
	const struct console_config *cfg;
	struct gateway *gw; /* may be NULL (gateway not running) */
	int64_t session_ttl_sec;  /* absolute lifetime of a login session */
	int64_t session_idle_sec; /* idle time that ends it */
	int64_t access_ttl_sec;   /* lifetime of one JWT */
};

/* How the caller authenticated (set on the loop thread by api_auth_session). */
enum api_auth_kind {
	API_AUTHN_NONE = 0,
	API_AUTHN_BEARER,  /* session JWT in an Authorization header */
	API_AUTHN_COOKIE, /* session JWT in the otw_session cookie: unsafe methods need the CSRF header */
	API_AUTHN_TOKEN,   /* API token (Authorization: Bearer otw_...) */
};

/* One request in flight. Owned by the loop thread except while its job runs on a worker. */
struct api_call {
	struct worker_job job;
	const struct api_env *env;
	struct evhttp_request *req;
	const struct api_route *route;
	struct http_server *srv;    /* owner (loop thread bookkeeping) */
	unsigned method;            /* enum api_method of the request, 0 for others */
	char param[API_PARAM_MAX];  /* the {id} segment, "" when the route has none */
	char *query;                /* raw query string or NULL */
	json_t *body;               /* validated body or NULL */
	char client[64];            /* peer address, for logs and the audit log */
	char username[257];         /* session subject, "" on public routes */
	char role[32];
	char user_id[24];           /* users.id of the caller (worker thread, after the session is confirmed) */
	char *scope;                /* heap: the caller's access group ids as a PostgreSQL array ("{1,2}", "{}"
				     * for none); NULL = unrestricted (admins). Pass it as $N::bigint[]. */
	int64_t session_expires;    /* seconds since the epoch */
	enum api_auth_kind auth;
	char sid[65];               /* session id from the JWT ("" for API tokens) */
	char token_hash[65];        /* API token: hex SHA-256 of the presented token (never the token itself) */
	char refresh[128];          /* POST /api/v1/auth/refresh: the otw_refresh cookie's value, "" without */
	int64_t started_usec;
	/* outputs, set by the handler */
	int status;
	json_t *resp;               /* NULL for 204 */
	char *set_cookie;           /* heap; NULL for none */
	char *resp_text;            /* heap: a non-JSON 200 answer (exports); resp must be NULL */
	size_t resp_len;            /* its length when binary; 0: strlen(resp_text) */
	const char *resp_type;      /* its Content-Type (static string) */
	const char *resp_filename;  /* Content-Disposition attachment name (static string), or NULL */
	const char *resp_header_name;  /* with resp_text: one extra header (static name, e.g. "X-OTW-Truncated"), */
	char resp_header_value[64];    /* and its value; NULL name for none */
	struct http_error err;      /* used when status >= 400 */
};

/* Matches method + path against the table. Returns 0 with *route and param set, 404 when no pattern matches
 * the path, 405 when patterns match but none with that method (*allowed gets the methods that would). */
int api_route_match(const struct api_route *tbl, size_t n, unsigned method, const char *path,
		    const struct api_route **route, char param[API_PARAM_MAX], unsigned *allowed);

/* The console's route table. */
const struct api_route *api_routes(size_t *n);

/* Handler helpers (worker thread). api_ok takes the reference to body (NULL for 204). */
void api_ok(struct api_call *c, int status, json_t *body);
void api_fail(struct api_call *c, int status, const char *code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Standard 500 answer after a database error (the server message is logged by db.c). */
void api_fail_db(struct api_call *c);
/* Writes an audit_log row for the call's user and client; failures are logged, not fatal. */
void api_audit(struct api_call *c, PGconn *db, const char *action, const char *object, json_t *details);
/* Ends a write inside the call's transaction: audits {"before","after"} (before may be NULL), commits, and
 * answers `status` with `after`, taking that reference. Answers 500 when after is NULL or the commit fails. */
void api_commit_audited(struct api_call *c, PGconn *db, const char *action, const char *object, json_t *before,
			json_t *after, int status);

/* Runs a list query whose rows are (id text, item json text) with the list's filters, and answers
 * {"items":[...],"next_cursor":...}. `sql` receives $1 = after (cursor id or NULL), $2 = limit + 1, then
 * `nextra` parameters. */
void api_list(struct api_call *c, PGconn *db, const char *sql, const struct http_list_params *lp,
	      int nextra, const char *const *extra);
/* Runs a query returning one row with one json text column: 200 with it, 404 (`what` not found) without. */
void api_get_one(struct api_call *c, PGconn *db, const char *sql, int nparams, const char *const *params,
		 const char *what);
/* Takes the query parameters `names` (n of them) out of the call's raw query string, URL-decoded into values[i]
 * ("" when absent), and leaves the others in `rest` for api_list_params (which refuses names it does not know).
 * False (400 answered) when the query is too long for rest, a name is repeated or a value is longer than
 * API_QUERY_VALUE_MAX - 1 bytes; the caller checks the values themselves. */
#define API_QUERY_VALUE_MAX 64
bool api_query_take(struct api_call *c, const char *const *names, size_t n, char values[][API_QUERY_VALUE_MAX],
		    char *rest, size_t restlen) __attribute__((warn_unused_result));
/* Parses list parameters from the call's query string; on failure answers 400 and returns false. */
bool api_list_params(struct api_call *c, unsigned filters, enum http_id_kind kind, struct http_list_params *lp)
	__attribute__((warn_unused_result));
/* api_list_params for a route that also takes the query parameters `names` (n of them, values as api_query_take
 * gives them: "" when absent). False when either step answered 400. */
bool api_list_params_plus(struct api_call *c, unsigned filters, enum http_id_kind kind, struct http_list_params *lp,
			  const char *const *names, size_t n, char values[][API_QUERY_VALUE_MAX])
	__attribute__((warn_unused_result));
/* True when `value` is empty or a positive integer id; otherwise answers 400 naming the query parameter `name`. */
bool api_query_int_id(struct api_call *c, const char *name, const char *value) __attribute__((warn_unused_result));
/* Checks that the route's {id} is a positive integer; otherwise answers 404 "<what> not found" (an id that
 * cannot exist is a missing object, not a bad request) and returns false. */
bool api_id_param(struct api_call *c, const char *what) __attribute__((warn_unused_result));
/* Body string field, or NULL when absent or null. */
const char *api_body_str(struct api_call *c, const char *name);
/* Body id field as decimal text into buf; returns buf, or NULL when absent or null. */
const char *api_body_id(struct api_call *c, const char *name, char buf[24]);
/* True when the body has the field (null included). */
bool api_body_has(struct api_call *c, const char *name);

/* Timestamps in SQL as RFC 3339 UTC with milliseconds, the same text timefmt_rfc3339_ms prints. */
#define API_TS(col) "to_char((" col ") at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
