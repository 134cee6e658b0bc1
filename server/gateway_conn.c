/* The gateway's connections: the table by id, closing, and each connection's bounded output queue
 * (service thread). */
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

void conn_register(struct gateway *gw, struct gw_conn *c)
{
	c->id = ++gw->next_id;
	c->hnext = gw->buckets[c->id % BUCKETS];
	gw->buckets[c->id % BUCKETS] = c;
	c->registered = true;
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
	c->registered = false;
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
	FOREACH_CONN(gw, c) {
		if (c != self && c->hello_sent && !c->closing && strcasecmp(c->cn, self->cn) == 0)
			return c;
	}
	return NULL;
}

/* Resumes the paused connections whose writer has room again (each sensor has its own writer). */
void resume_paused(struct gateway *gw)
{
	if (!gw->npaused)
		return;
	FOREACH_CONN(gw, c) {
		if (c->paused && !ingest_full(gw->ingest, c->cn)) {
			c->paused = false;
			c->last_rx_us = timefmt_now_usec();
			lws_rx_flow_control(c->wsi, 1);
			gw->npaused--;
		}
	}
}

