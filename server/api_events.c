#include "server/api_events.h"

#include <errno.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "server/api_principal.h"
#include "server/db.h"
#include "server/events_hub.h"

#define EVENTS_ID_MAX 20 /* a positive int64 in decimal */

static bool id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > EVENTS_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* format and last_event_id from the query; unknown or repeated keys are a 400 like on every list. */
static bool parse_query(struct api_call *c, bool *json, char last_id[EVENTS_ID_MAX + 1])
{
	struct evkeyvalq q;
	struct evkeyval *kv;
	bool ok = false, seen_format = false;

	*json = false;
	last_id[0] = '\0';
	TAILQ_INIT(&q);
	if (!c->query || !*c->query)
		return true;
	if (evhttp_parse_query_str(c->query, &q) != 0) {
		api_fail(c, 400, "invalid_query", NULL, "malformed query string");
		goto out;
	}
	TAILQ_FOREACH(kv, &q, next) {
		if (strcmp(kv->key, "format") == 0 && !seen_format) {
			seen_format = true;
			if (strcmp(kv->value, "json") != 0 && strcmp(kv->value, "stream") != 0) {
				api_fail(c, 400, "invalid_query", "format", "format must be stream or json");
				goto out;
			}
			*json = strcmp(kv->value, "json") == 0;
		} else if (strcmp(kv->key, "last_event_id") == 0 && !last_id[0]) {
			if (!id_ok(kv->value)) {
				api_fail(c, 400, "invalid_query", "last_event_id",
					 "last_event_id must be an event id (digits)");
				goto out;
			}
			snprintf(last_id, EVENTS_ID_MAX + 1, "%s", kv->value);
		} else {
			api_fail(c, 400, "invalid_query", kv->key, "unknown or repeated query parameter '%.64s'", kv->key);
			goto out;
		}
	}
	ok = true;
out:
	evhttp_clear_headers(&q);
	return ok;
}

void api_events_get(struct api_call *c, PGconn *db)
{
	const char *params[1] = { api_scope(c) };
	char last_id[EVENTS_ID_MAX + 1];
	json_t *zones = NULL;
	PGresult *res = NULL;
	bool json;

	if (!parse_query(c, &json, last_id))
		return;
	if (api_scope(c)) {
		/* The zones the caller sees now; a stream keeps them for its lifetime (events_stream_lifetime). */
		res = db_exec(db,
			      "select coalesce(json_agg(z.id order by z.id), '[]')::text from zones z "
			      "where otw_zone_visible($1::bigint[], z.id)",
			      1, params);
		if (!res || PQntuples(res) != 1 || !(zones = json_loads(PQgetvalue(res, 0, 0), 0, NULL))) {
			PQclear(res);
			api_fail_db(c);
			return;
		}
		PQclear(res);
	}
	api_ok(c, 200, json_pack("{s:o?, s:b, s:s?}", "zones", zones, "json", json, "last_event_id",
				 last_id[0] ? last_id : NULL));
}

bool api_events_attach(struct events_hub *hub, struct api_call *c)
{
	json_t *zones = json_object_get(c->resp, "zones"), *v, *answer;
	const char *hdr = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Last-Event-ID");
	struct events_view view = { .username = c->username, .all = json_is_null(zones) || !zones,
				    .expires = c->session_expires };
	int64_t *ids = NULL;
	bool taken = false;
	size_t i;
	int rc;

	if (!hub) {
		api_fail(c, 503, "unavailable", NULL, "live events are not running on this node");
		return false;
	}
	/* EventSource sends Last-Event-ID when it reconnects, to the URL of its first request: the header is the
	 * newer of the two. */
	view.last_id = hdr && *hdr ? hdr : json_string_value(json_object_get(c->resp, "last_event_id"));
	if (!view.all && json_array_size(zones) > 0) {
		if (!(ids = reallocarray(NULL, json_array_size(zones), sizeof(*ids)))) {
			api_fail(c, 503, "unavailable", NULL, "out of memory");
			return false;
		}
		json_array_foreach(zones, i, v) ids[i] = json_integer_value(v);
		view.zones = ids;
		view.nzones = json_array_size(zones);
	}
	if (json_is_true(json_object_get(c->resp, "json"))) {
		if ((answer = events_hub_poll(hub, &view)))
			api_ok(c, 200, answer);
		else
			api_fail(c, 503, "unavailable", NULL, "out of memory");
		goto out;
	}
	rc = events_hub_stream(hub, c->req, &view);
	if (rc == 0) {
		taken = true;
	} else if (rc == -EUSERS) {
		api_fail(c, 429, "too_many_streams", NULL, "too many event streams open for this user");
	} else if (rc == -EBUSY) {
		api_fail(c, 503, "too_many_streams", NULL, "too many event streams open on this node");
	} else {
		/* -ENOTCONN: the client left while the worker ran; the answer goes nowhere. */
		api_fail(c, 503, "unavailable", NULL, "cannot start the event stream");
	}
out:
	free(ids);
	return taken;
}
