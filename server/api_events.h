/* GET /api/v1/events: live changes of alerts, sensors, devices and the inventory as Server-Sent Events
 * (text/event-stream), filtered by the caller's access scope; `?format=json` answers at once with the recent
 * events instead (pollers). Contract: docs/architecture.md "Live events"; the stream itself: server/events_hub.h.
 *
 * The request takes the usual path (session check on the loop, principal and role on a worker), where the
 * handler resolves the caller's scope to the zones it may see; back on the loop, http_server.c hands the call to
 * api_events_attach instead of answering it. */
#pragma once
#include <libpq-fe.h>
#include <stdbool.h>

#include "server/api_router.h"

struct events_hub;

/* Worker thread: checks the query (format=stream|json, last_event_id) and resolves the zones the caller may see
 * into c->resp (read by api_events_attach, never sent as such). */
void api_events_get(struct api_call *c, PGconn *db);

/* Loop thread, after api_events_get answered 200. Returns true when the request became a stream (the hub owns
 * c->req from now on; the caller only frees c); false when c now holds the answer to send as usual: the JSON
 * poll result, or an error (429 too many streams of this user, 503 of this node). */
bool api_events_attach(struct events_hub *hub, struct api_call *c) __attribute__((warn_unused_result));
