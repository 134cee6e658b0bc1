#include "server/events_hub.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event_struct.h>
#include <event2/http.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "server/events_listen.h"

#define EVENTS_CHANNEL "otw_events"
#define EVENTS_BACKLOG_MAX (256 * 1024) /* bytes queued to one client before it is dropped as too slow */
#define EVENTS_WRITE_TIMEOUT_SEC 60     /* a client that takes no bytes for this long is gone */
#define EVENTS_RETRY_MS 2000            /* the reconnect delay EventSource is told to use */
#define EVENTS_COALESCE_MS 1000         /* inventory summaries per zone are merged over this */
#define EVENTS_INV_SENSORS 16           /* sensor ids named in one merged inventory event */
#define EVENTS_TYPE_MAX 16
#define EVENTS_ZONE_ALL (-1)            /* an item every stream gets (reset markers) */

struct ev_item {
	int64_t seq;  /* 0: a reset marker, which no Last-Event-ID matches */
	int64_t zone; /* > 0 a zone; 0 none (admins only); EVENTS_ZONE_ALL */
	char *frame;  /* the SSE frame */
	size_t len;
	size_t data_off, data_len; /* the JSON inside frame */
	char type[EVENTS_TYPE_MAX];
};

struct ev_stream {
	struct events_hub *hub;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct ev_stream *prev, *next;
	char *username;
	bool all;
	int64_t *zones;
	size_t nzones;
	int64_t deadline; /* seconds since the epoch */
	const char *end_reason;
};

struct inv_pending {
	int64_t zone, site, seq; /* zone 0: unplaced sensors; site -1: none */
	int64_t devices, connections, alerts, batches;
	char sensors[EVENTS_INV_SENSORS][40];
	unsigned nsensors;
	bool more_sensors;
};

struct events_hub {
	struct event_base *base;
	struct events_hub_opts o;
	struct events_listen *listen;
	bool lost; /* events may have been missed since the last confirmed LISTEN */
	struct ev_item *ring;
	size_t ring_head, ring_n; /* oldest item's index, items held */
	struct ev_stream *streams;
	unsigned nstreams;
	struct event heartbeat, coalesce;
	bool timers; /* both assigned */
	bool coalesce_armed;
	struct inv_pending *inv;
	size_t ninv, inv_cap;
	struct evbuffer *tmp;
};

static struct ev_item *ring_at(struct events_hub *h, size_t i)
{
	return &h->ring[(h->ring_head + i) % h->o.ring];
}

/* Position (0 = oldest) of the item with this id, or -1. */
static long ring_find(struct events_hub *h, const char *last_id)
{
	char *end;
	long long seq;

	if (!last_id || !*last_id)
		return -1;
	errno = 0;
	seq = strtoll(last_id, &end, 10);
	if (errno || *end || seq <= 0)
		return -1;
	for (size_t i = h->ring_n; i-- > 0;)
		if (ring_at(h, i)->seq == seq)
			return (long)i;
	return -1;
}

static bool visible(const struct ev_stream *s, int64_t zone)
{
	size_t lo = 0, hi = s->nzones;

	if (s->all || zone == EVENTS_ZONE_ALL)
		return true;
	if (zone <= 0)
		return false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->zones[mid] == zone)
			return true;
		if (s->zones[mid] < zone)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static void stream_free(struct ev_stream *s)
{
	struct events_hub *h = s->hub;

	if (s->prev)
		s->prev->next = s->next;
	else
		h->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	h->nstreams--;
	free(s->username);
	free(s->zones);
	free(s);
}

/* Ends the stream from our side: an "end" event naming why (NULL: none), the final chunk, and the request goes
 * back to evhttp. */
static void stream_end(struct ev_stream *s, const char *reason)
{
	struct events_hub *h = s->hub;

	evhttp_connection_set_closecb(s->evcon, NULL, NULL);
	if (reason) {
		evbuffer_add_printf(h->tmp, "event: end\ndata: {\"reason\":\"%s\"}\n\n", reason);
		evhttp_send_reply_chunk(s->req, h->tmp);
	}
	evhttp_send_reply_end(s->req);
	log_debug("events: stream of %s ended (%s)", s->username, reason ? reason : "shutdown");
	stream_free(s);
}

/* The client went away: evhttp frees the connection after this returns. A request evhttp already detached
 * from it (closed mid-reply) is ours to free, which evhttp_send_reply_end does for a request without one. */
static void stream_on_close(struct evhttp_connection *evcon, void *arg)
{
	struct ev_stream *s = arg;
	struct evhttp_request *req = s->req;

	(void)evcon;
	log_debug("events: stream of %s closed by the client", s->username);
	stream_free(s);
	if (!evhttp_request_get_connection(req))
		evhttp_send_reply_end(req);
}

/* Queues bytes to one stream; a client that stopped reading is dropped. Returns false when s was ended. */
static bool stream_send(struct ev_stream *s, const char *buf, size_t len)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);
	struct events_hub *h = s->hub;

	if (bev && evbuffer_get_length(bufferevent_get_output(bev)) > EVENTS_BACKLOG_MAX) {
		log_warn("events: stream of %s dropped: the client does not read its events", s->username);
		stream_end(s, "slow_consumer");
		return false;
	}
	if (evbuffer_add(h->tmp, buf, len) != 0)
		return true; /* out of memory: this event is lost for this client, the stream goes on */
	evhttp_send_reply_chunk(s->req, h->tmp);
	return true;
}

/* Appends an item to the ring (the oldest goes when full) and sends it to every stream that may see it.
 * data: compact JSON without newlines. */
static void publish(struct events_hub *h, int64_t seq, int64_t zone, const char *type, const char *data)
{
	struct ev_item it = { .seq = seq, .zone = zone }, *slot;
	char head[96];
	int n;

	n = seq > 0 ? snprintf(head, sizeof(head), "id: %" PRId64 "\nevent: %s\ndata: ", seq, type)
		    : snprintf(head, sizeof(head), "event: %s\ndata: ", type);
	if (n < 0 || (size_t)n >= sizeof(head))
		return;
	it.data_off = (size_t)n;
	it.data_len = strlen(data);
	it.len = it.data_off + it.data_len + 2;
	if (!(it.frame = malloc(it.len + 1))) {
		log_warn("events: out of memory, event %" PRId64 " dropped", seq);
		return;
	}
	memcpy(it.frame, head, it.data_off);
	memcpy(it.frame + it.data_off, data, it.data_len);
	memcpy(it.frame + it.data_off + it.data_len, "\n\n", 3);
	snprintf(it.type, sizeof(it.type), "%s", type);
	if (h->ring_n == h->o.ring) {
		free(ring_at(h, 0)->frame);
		h->ring_head = (h->ring_head + 1) % h->o.ring;
		h->ring_n--;
	}
	slot = ring_at(h, h->ring_n++);
	*slot = it;
	for (struct ev_stream *s = h->streams, *next; s; s = next) {
		next = s->next;
		if (visible(s, zone))
			stream_send(s, slot->frame, slot->len);
	}
}

static void publish_reset(struct events_hub *h, const char *reason)
{
	char data[64];

	snprintf(data, sizeof(data), "{\"reason\":\"%s\"}", reason);
	publish(h, 0, EVENTS_ZONE_ALL, "reset", data);
}

static void inv_flush(evutil_socket_t fd, short what, void *arg)
{
	struct events_hub *h = arg;

	(void)fd;
	(void)what;
	h->coalesce_armed = false;
	for (size_t i = 0; i < h->ninv; i++) {
		struct inv_pending *p = &h->inv[i];
		json_t *ids = json_array(), *o;
		char *text = NULL;

		for (unsigned k = 0; ids && k < p->nsensors; k++)
			json_array_append_new(ids, json_string(p->sensors[k]));
		o = ids ? json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:b, s:I, s:I, s:I, s:I}", "seq", (json_int_t)p->seq,
				    "type", "inventory", "op", "batch", "zone_id",
				    p->zone > 0 ? json_integer(p->zone) : json_null(), "site_id",
				    p->site > 0 ? json_integer(p->site) : json_null(), "sensor_ids", ids, "more_sensors",
				    p->more_sensors, "batches", (json_int_t)p->batches, "devices", (json_int_t)p->devices,
				    "connections", (json_int_t)p->connections, "alerts", (json_int_t)p->alerts)
			: NULL;
		if (o && (text = json_dumps(o, JSON_COMPACT)))
			publish(h, p->seq, p->zone, "inventory", text);
		else
			log_warn("events: out of memory, inventory event dropped");
		free(text);
		json_decref(o);
	}
	h->ninv = 0;
}

static int64_t count_field(json_t *o, const char *k)
{
	json_int_t v = json_integer_value(json_object_get(o, k));

	return v > 0 && v < INT32_MAX ? (int64_t)v : 0;
}

/* Merges one batch summary into its zone's pending event. */
static void inv_add(struct events_hub *h, json_t *o, int64_t seq, int64_t zone)
{
	struct inv_pending *p = NULL;
	const char *sensor = json_string_value(json_object_get(o, "sensor_id"));
	json_int_t site = json_integer_value(json_object_get(o, "site_id"));

	for (size_t i = 0; i < h->ninv && !p; i++)
		if (h->inv[i].zone == zone)
			p = &h->inv[i];
	if (!p) {
		if (h->ninv == h->inv_cap) {
			size_t cap = h->inv_cap ? h->inv_cap * 2 : 16;
			struct inv_pending *grown = reallocarray(h->inv, cap, sizeof(*grown));
			if (!grown) {
				log_warn("events: out of memory, inventory event dropped");
				return;
			}
			h->inv = grown;
			h->inv_cap = cap;
		}
		p = &h->inv[h->ninv++];
		memset(p, 0, sizeof(*p));
		p->zone = zone;
		p->site = site > 0 ? site : -1;
	}
	if (seq > p->seq)
		p->seq = seq;
	p->devices += count_field(o, "devices");
	p->connections += count_field(o, "connections");
	p->alerts += count_field(o, "alerts");
	p->batches++;
	if (sensor && strlen(sensor) < sizeof(p->sensors[0])) {
		bool known = false;
		for (unsigned k = 0; k < p->nsensors && !known; k++)
			known = strcmp(p->sensors[k], sensor) == 0;
		if (!known && p->nsensors < EVENTS_INV_SENSORS)
			snprintf(p->sensors[p->nsensors++], sizeof(p->sensors[0]), "%s", sensor);
		else if (!known)
			p->more_sensors = true;
	}
	if (!h->coalesce_armed) {
		struct timeval tv = { EVENTS_COALESCE_MS / 1000, (EVENTS_COALESCE_MS % 1000) * 1000 };
		h->coalesce_armed = evtimer_add(&h->coalesce, &tv) == 0;
	}
}

void events_hub_notify(struct events_hub *h, const char *payload)
{
	static const char *const types[] = { "alert", "sensor", "device", "inventory" };
	json_t *o = json_loads(payload, JSON_REJECT_DUPLICATES, NULL), *zone_v;
	const char *type = json_string_value(json_object_get(o, "type"));
	json_int_t seq = json_integer_value(json_object_get(o, "seq"));
	bool known = false;
	char *text = NULL;
	int64_t zone = 0;

	for (size_t i = 0; type && i < sizeof(types) / sizeof(types[0]); i++)
		known = known || strcmp(type, types[i]) == 0;
	zone_v = json_object_get(o, "zone_id");
	if (json_is_integer(zone_v))
		zone = json_integer_value(zone_v);
	if (!json_is_object(o) || !known || seq <= 0 || !zone_v || !(json_is_null(zone_v) || zone > 0)) {
		log_warn("events: ignored a malformed %s payload", EVENTS_CHANNEL);
		goto out;
	}
	if (strcmp(type, "inventory") == 0) {
		inv_add(h, o, (int64_t)seq, zone);
		goto out;
	}
	/* Re-encoded: compact JSON has no newline, which would end the SSE data line. */
	if (!(text = json_dumps(o, JSON_COMPACT))) {
		log_warn("events: out of memory, event %lld dropped", (long long)seq);
		goto out;
	}
	publish(h, (int64_t)seq, zone, type, text);
out:
	free(text);
	json_decref(o);
}

static void on_listen_notify(void *arg, const char *payload)
{
	events_hub_notify(arg, payload);
}

static void on_listen_state(void *arg, bool up)
{
	struct events_hub *h = arg;

	if (!up) {
		log_warn("events: the LISTEN connection was lost; clients will be told to refetch once it is back");
		h->lost = true;
		return;
	}
	if (h->lost)
		publish_reset(h, "events_lost");
	h->lost = false;
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct events_hub *h = arg;
	int64_t now = (int64_t)time(NULL);

	(void)fd;
	(void)what;
	for (struct ev_stream *s = h->streams, *next; s; s = next) {
		next = s->next;
		if (now >= s->deadline)
			stream_end(s, s->end_reason);
		else
			stream_send(s, ":\n\n", 3);
	}
}

/* Sends what the stream missed since last_id, or a reset when that id is not in the ring. */
static void stream_replay(struct ev_stream *s, const char *last_id)
{
	struct events_hub *h = s->hub;
	long pos;

	if (!last_id)
		return;
	if ((pos = ring_find(h, last_id)) < 0) {
		static const char reset[] = "event: reset\ndata: {\"reason\":\"unknown_last_event_id\"}\n\n";
		stream_send(s, reset, sizeof(reset) - 1);
		return;
	}
	for (size_t i = (size_t)pos + 1; i < h->ring_n; i++) {
		struct ev_item *it = ring_at(h, i);
		if (visible(s, it->zone) && !stream_send(s, it->frame, it->len))
			return;
	}
}

int events_hub_stream(struct events_hub *h, struct evhttp_request *req, const struct events_view *v)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	struct timeval wtv = { EVENTS_WRITE_TIMEOUT_SEC, 0 };
	int64_t now = (int64_t)time(NULL);
	struct ev_stream *s;
	unsigned mine = 0;
	char retry[32];

	if (!evcon)
		return -ENOTCONN;
	if (h->nstreams >= h->o.max_streams)
		return -EBUSY;
	for (s = h->streams; s; s = s->next)
		mine += strcmp(s->username, v->username) == 0;
	if (mine >= h->o.max_per_user)
		return -EUSERS;
	if (!(s = calloc(1, sizeof(*s))) || !(s->username = strdup(v->username)) ||
	    (v->nzones && !(s->zones = reallocarray(NULL, v->nzones, sizeof(*s->zones))))) {
		if (s)
			free(s->username);
		free(s);
		return -ENOMEM;
	}
	s->hub = h;
	s->req = req;
	s->evcon = evcon;
	s->all = v->all;
	if (v->nzones)
		memcpy(s->zones, v->zones, v->nzones * sizeof(*s->zones));
	s->nzones = v->nzones;
	s->deadline = now + h->o.lifetime_sec;
	s->end_reason = "lifetime";
	if (v->expires > 0 && v->expires < s->deadline) {
		s->deadline = v->expires;
		s->end_reason = "credentials_expired";
	}
	s->next = h->streams;
	if (h->streams)
		h->streams->prev = s;
	h->streams = s;
	h->nstreams++;

	evhttp_add_header(hdr, "Content-Type", "text/event-stream");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evhttp_add_header(hdr, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(hdr, "X-Accel-Buffering", "no"); /* reverse proxies: do not buffer the stream */
	evhttp_send_reply_start(req, 200, "OK");
	/* The server's read timeout would end a stream the client never writes to; only writes are timed. */
	if (evhttp_connection_get_bufferevent(evcon))
		bufferevent_set_timeouts(evhttp_connection_get_bufferevent(evcon), NULL, &wtv);
	evhttp_connection_set_closecb(evcon, stream_on_close, s);
	snprintf(retry, sizeof(retry), "retry: %d\n\n", EVENTS_RETRY_MS);
	if (stream_send(s, retry, strlen(retry)))
		stream_replay(s, v->last_id);
	return 0;
}

json_t *events_hub_poll(struct events_hub *h, const struct events_view *v)
{
	struct ev_stream probe = { .all = v->all, .zones = (int64_t *)v->zones, .nzones = v->nzones };
	json_t *items = json_array(), *out = NULL;
	long pos = v->last_id ? ring_find(h, v->last_id) : -1;
	bool reset = v->last_id && pos < 0;
	int64_t newest = 0;
	char last[24] = "", id[24];

	if (!items)
		return NULL;
	for (size_t i = (size_t)(pos + 1); i < h->ring_n; i++) {
		struct ev_item *it = ring_at(h, i);
		json_t *data;

		if (it->seq > 0)
			newest = it->seq;
		if (it->seq == 0) {
			reset = reset || v->last_id; /* events were lost after last_id */
			continue;
		}
		if (!visible(&probe, it->zone))
			continue;
		snprintf(id, sizeof(id), "%" PRId64, it->seq);
		data = json_loadb(it->frame + it->data_off, it->data_len, 0, NULL);
		if (!data || json_array_append_new(items, json_pack("{s:s, s:s, s:o}", "id", id, "type", it->type,
								    "data", data)) != 0)
			goto fail;
	}
	if (newest > 0)
		snprintf(last, sizeof(last), "%" PRId64, newest);
	else if (v->last_id && !reset)
		snprintf(last, sizeof(last), "%s", v->last_id);
	out = json_pack("{s:o, s:s?, s:b}", "items", items, "last_event_id", last[0] ? last : NULL, "reset", reset);
	return out;
fail:
	json_decref(items);
	return NULL;
}

int events_hub_new(struct event_base *base, const struct events_hub_opts *o, struct events_hub **out)
{
	struct events_hub *h = calloc(1, sizeof(*h));
	struct timeval hb = { o->heartbeat_sec > 0 ? o->heartbeat_sec : 15, 0 };
	int rc = -ENOMEM;

	*out = NULL;
	if (!h)
		return -ENOMEM;
	h->base = base;
	h->o = *o;
	h->o.db_url = NULL;
	if (h->o.ring < 16)
		h->o.ring = 16;
	if (!(h->ring = calloc(h->o.ring, sizeof(*h->ring))) || !(h->tmp = evbuffer_new()))
		goto fail;
	if (event_assign(&h->heartbeat, base, -1, EV_PERSIST, on_heartbeat, h) != 0 ||
	    evtimer_assign(&h->coalesce, base, inv_flush, h) != 0)
		goto fail;
	h->timers = true;
	if (event_add(&h->heartbeat, &hb) != 0)
		goto fail;
	if (o->db_url && (rc = events_listen_start(base, o->db_url, EVENTS_CHANNEL, on_listen_notify, on_listen_state,
						   h, &h->listen)) < 0)
		goto fail;
	*out = h;
	return 0;
fail:
	events_hub_free(h);
	return rc;
}

void events_hub_free(struct events_hub *h)
{
	if (!h)
		return;
	while (h->streams)
		stream_end(h->streams, NULL);
	events_listen_free(h->listen);
	if (h->timers) {
		event_del(&h->heartbeat);
		event_del(&h->coalesce);
	}
	for (size_t i = 0; h->ring && i < h->ring_n; i++)
		free(ring_at(h, i)->frame);
	free(h->ring);
	free(h->inv);
	if (h->tmp)
		evbuffer_free(h->tmp);
	free(h);
}
