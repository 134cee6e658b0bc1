/* Live events on one console node: the LISTEN connection on otw_events (server/events_listen.h), a ring of recent
 * events for Last-Event-ID resume, and the Server-Sent Events streams it fans them out to, each filtered by the
 * zones its user may see. Producers are the triggers and functions of sql/010_events.sql; docs/architecture.md
 * "Live events" is the contract. Everything here runs on the libevent loop thread that owns the HTTP
 * connections; nothing blocks it.
 *
 * An event is an SSE frame "id: <seq>\nevent: <type>\ndata: <json>\n\n"; seq comes from one database sequence, so
 * every node names an event alike. Inventory summaries (one NOTIFY per ingest batch) are coalesced per zone over
 * one second before fan-out. When an id to resume from is no longer in the ring, or the LISTEN connection was
 * lost meanwhile, the client gets "event: reset" and must refetch what it shows. */
#pragma once
#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evhttp_request;
struct events_hub;

struct events_hub_opts {
	const char *db_url;    /* NULL: no LISTEN connection (events only through events_hub_notify) */
	unsigned max_streams;  /* streams on this node */
	unsigned max_per_user; /* streams of one user (or API token) on this node */
	int heartbeat_sec;     /* a comment line this often keeps proxies from closing idle streams */
	int lifetime_sec;      /* a stream ends after this long (the client reconnects, re-authenticated) */
	size_t ring;           /* recent events kept for resume */
};

/* Starts the hub on base. Returns 0 or a negative errno. */
int events_hub_new(struct event_base *base, const struct events_hub_opts *o, struct events_hub **out)
	__attribute__((warn_unused_result));
/* Ends every stream (a final chunk each), closes the LISTEN connection, frees h (NULL is fine). */
void events_hub_free(struct events_hub *h);

/* Who watches: the zones the caller may see (all = unrestricted: admins, who also see zone-less events). */
struct events_view {
	const char *username;  /* the per-user cap's key */
	bool all;
	const int64_t *zones;  /* sorted ascending; copied by events_hub_stream */
	size_t nzones;
	int64_t expires;       /* the credential's end (seconds since the epoch), 0 for none: the stream ends then */
	const char *last_id;   /* Last-Event-ID to resume after, or NULL */
};

/* Starts an SSE stream on req: headers, a retry hint, then the events after view->last_id that the view may
 * see (or a reset when that id is no longer known), then live events. Returns 0 (req belongs to the hub from
 * now on), -EBUSY when the node's cap is reached, -EUSERS when the user's is, -ENOMEM; req is untouched on
 * failure. */
int events_hub_stream(struct events_hub *h, struct evhttp_request *req, const struct events_view *v)
	__attribute__((warn_unused_result));
/* The JSON alternative for pollers: {"items": [{"id", "type", "data"}], "last_event_id", "reset"} with the
 * ring's events after view->last_id (all of the ring without one) that the view may see. New reference, NULL
 * without memory. */
json_t *events_hub_poll(struct events_hub *h, const struct events_view *v);
/* Takes one otw_events payload (what the LISTEN connection delivers). Invalid payloads are logged and
 * dropped. */
void events_hub_notify(struct events_hub *h, const char *payload);
