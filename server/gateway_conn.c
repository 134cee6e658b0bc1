/* The gateway's connections: the table by id, closing, and each connection's bounded output queue
 * (service thread). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/timefmt.h"
#include "server/gateway_internal.h"

/* ---- connections (service thread) ---- */

struct gw_conn *conn_find(struct gateway *gw, uint64_t id)
{
	for (struct gw_conn *c = gw->buckets[id % BUCKETS]; c; c = c->hnext)
		if (c->id == id)
			return c;
	return NULL;
}

size_t sensor_bucket(const char *sensor_id)
{
	uint64_t h = 14695981039346656037ull;

	for (; *sensor_id; sensor_id++)
		h = (h ^ (uint8_t)tolower((unsigned char)*sensor_id)) * 1099511628211ull;
	return (size_t)(h % BUCKETS);
}

void conn_register(struct gateway *gw, struct gw_conn *c)
{
	size_t sb = sensor_bucket(c->cn);

	c->id = ++gw->next_id;
	c->hnext = gw->buckets[c->id % BUCKETS];
	gw->buckets[c->id % BUCKETS] = c;
	c->snext = gw->by_sensor[sb];
	gw->by_sensor[sb] = c;
	c->registered = true;
}

static void paused_remove(struct gateway *gw, struct gw_conn *c)
{
	if (!c->pprev)
		return;
	*c->pprev = c->pnext;
	if (c->pnext)
		c->pnext->pprev = c->pprev;
	c->pnext = NULL;
	c->pprev = NULL;
	c->paused = false;
	gw->npaused--;
}

void conn_unregister(struct gateway *gw, struct gw_conn *c)
{
	struct gw_conn **pp = &gw->buckets[c->id % BUCKETS];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	}
	for (pp = &gw->by_sensor[sensor_bucket(c->cn)]; *pp; pp = &(*pp)->snext) {
		if (*pp == c) {
			*pp = c->snext;
			break;
		}
	}
	paused_remove(gw, c);
	c->registered = false;
}

/* Stops reading the connection until its writer has room (resume_paused). */
void conn_pause(struct gateway *gw, struct gw_conn *c)
{
	if (c->paused)
		return;
	c->paused = true;
	c->pnext = gw->paused;
	c->pprev = &gw->paused;
	if (gw->paused)
		gw->paused->pprev = &c->pnext;
	gw->paused = c;
	gw->npaused++;
	lws_rx_flow_control(c->wsi, 0);
}


/* Asks for the connection to be closed with code/reason at its next WRITEABLE. */
void conn_close(struct gw_conn *c, int code, const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	c->close_code = code;
	snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason);
	lws_callback_on_writable(c->wsi);
}

/* Closes from inside a callback of this wsi: the caller returns -1. */
int close_now(struct gw_conn *c, int code, const char *reason)
{
	size_t n = strlen(reason);

	lws_close_reason(c->wsi, (enum lws_close_status)code, (unsigned char *)reason, n > REASON_MAX ? REASON_MAX : n);
	return -1;
}

/* Queues len bytes of text (NULL: out of memory) for the sensor. */
void conn_send_text(struct gw_conn *c, const char *txt, size_t len)
{
	struct out_msg *m;

	if (c->out_n >= OUTQ_MAX) {
		conn_close(c, 1008, "sensor does not read its acknowledgements");
		return;
	}
	m = txt ? malloc(sizeof(*m) + LWS_PRE + len) : NULL;
	if (!m) {
		conn_close(c, 1011, "console out of memory");
		return;
	}
	m->next = NULL;
	m->len = len;
	memcpy(m->buf + LWS_PRE, txt, len);
	if (c->out_tail)
		c->out_tail->next = m;
	else
		c->out_head = m;
	c->out_tail = m;
	c->out_n++;
	lws_callback_on_writable(c->wsi);
}

void conn_send(struct gw_conn *c, json_t *msg)
{
	size_t len = 0;
	char *txt = wire_encode(msg, &len);
	conn_send_text(c, txt, len);
	free(txt);
}

void conn_free_buffers(struct gw_conn *c)
{
	struct out_msg *m, *next;

	for (m = c->out_head; m; m = next) {
		next = m->next;
		free(m);
	}
	c->out_head = c->out_tail = NULL;
	c->out_n = 0;
	free(c->last_config);
	c->last_config = NULL;
	free(c->rx);
	c->rx = NULL;
	c->rx_len = c->rx_cap = 0;
}

/* Another live connection of the same sensor that has sent its hello, or NULL. */
struct gw_conn *other_session(struct gateway *gw, const struct gw_conn *self)
{
	FOREACH_SENSOR_CONN(gw, self->cn, c) {
		if (c != self && c->hello_sent && !c->closing)
			return c;
	}
	return NULL;
}

/* A writer's queue is full: stop reading every connection of its sensors, not only the one that filled it, so the
 * queue grows past its limit by at most what lws had already read (memory stays bounded at any fleet size). */
void pause_writer(struct gateway *gw, struct gw_conn *self)
{
	unsigned writer = self->writer;

	conn_pause(gw, self);
	if (writer >= sizeof(gw->writer_paused) || gw->writer_paused[writer])
		return; /* the others were paused when the writer filled (a connection made since pauses itself) */
	gw->writer_paused[writer] = true;
	size_t n = 0;
	FOREACH_CONN(gw, c) {
		if (c->writer == writer && !c->closing && !c->paused) {
			conn_pause(gw, c);
			n++;
		}
	}
	gw->backpressure_cycles++;
	int64_t now = timefmt_now_usec();
	if (now - gw->backpressure_logged_us >= 10 * 1000000LL) {
		log_info("gateway: ingest writer %u is full: reads of its sensors paused (%zu connections; writers "
			 "filled %llu times since the last such line)", writer, n + 1,
			 (unsigned long long)gw->backpressure_cycles);
		gw->backpressure_logged_us = now;
		gw->backpressure_cycles = 0;
	}
}

/* After a writer drained: resumes the paused connections whose writer has room again (each sensor has its own
 * writer). Only the paused list is walked, and only when a writer said it drained. */
void resume_paused(struct gateway *gw)
{
	struct gw_conn *c, *next;

	if (!gw->npaused || !atomic_exchange(&gw->drained, false))
		return;
	/* A writer that has room again may pause all its sensors the next time it fills, even when every
	 * connection it paused closed meanwhile. */
	for (unsigned w = 0; w < sizeof(gw->writer_paused); w++)
		if (gw->writer_paused[w] && !ingest_writer_full(gw->ingest, w))
			gw->writer_paused[w] = false;
	for (c = gw->paused; c; c = next) {
		next = c->pnext;
		if (ingest_full(gw->ingest, c->cn))
			continue;
		paused_remove(gw, c);
		c->last_rx_us = timefmt_now_usec();
		lws_rx_flow_control(c->wsi, 1);
	}
}

