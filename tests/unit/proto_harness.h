/* Runs a dissector's parse()/pdu_len() in a unit test and collects what it reported (proto.h). Header-only:
 * include it in one test file. */
#pragma once
#include <stdio.h>
#include <string.h>

#include "sensor-agent/dissect/proto.h"

#define HARNESS_MAX_OBS 256

struct harness_obs {
	struct proto_obs o; /* text points into .buf */
	char buf[256];
	const char *proto;  /* ctx->proto when it was reported */
};

struct harness {
	struct harness_obs obs[HARNESS_MAX_OBS];
	size_t n;
	struct dissect_frame frame; /* zeroed; tests may fill addresses */
	struct proto_ctx ctx;
	unsigned char state[4096];  /* per-flow state (state_size must fit) */
};

static inline void harness_emit(void *ud, const struct proto_ctx *ctx, const struct proto_obs *o)
{
	struct harness *h = ud;
	struct harness_obs *r;
	size_t n;

	if (h->n >= HARNESS_MAX_OBS)
		return;
	r = &h->obs[h->n++];
	r->o = *o;
	r->proto = ctx->proto;
	n = o->text_len < sizeof(r->buf) - 1 ? o->text_len : sizeof(r->buf) - 1;
	if (o->text && n)
		memcpy(r->buf, o->text, n);
	r->buf[n] = 0;
	r->o.text = (const uint8_t *)r->buf;
	r->o.text_len = n;
}

/* Resets the harness (state zeroed) for dissector d. */
static inline void harness_init(struct harness *h, const struct dissector *d)
{
	memset(h, 0, sizeof(*h));
	h->ctx.frame = &h->frame;
	h->ctx.emit = harness_emit;
	h->ctx.ud = h;
	h->ctx.proto = d->name;
}

/* Parses one PDU in direction dir (PROTO_DIR_TO_SERVER / _TO_CLIENT). Observations accumulate; the roles and
 * protocol name the dissector set are left in h->ctx. */
static inline enum proto_result harness_parse(struct harness *h, const struct dissector *d, int dir,
					      const void *p, size_t len)
{
	h->ctx.dir = (uint8_t)dir;
	h->ctx.src_role = h->ctx.dst_role = PROTO_ROLE_DEFAULT;
	h->ctx.proto = d->name;
	return d->parse(d->state_size ? h->state : NULL, &h->ctx, p, len);
}

/* The text of the last ATTR observation for attr (any target), or NULL. */
static inline const char *harness_attr(const struct harness *h, enum proto_attr attr)
{
	for (size_t i = h->n; i-- > 0;)
		if (h->obs[i].o.kind == PROTO_OBS_ATTR && h->obs[i].o.attr == attr && !h->obs[i].o.has_num)
			return h->obs[i].buf;
	return NULL;
}

/* The number of the last numeric ATTR observation for attr, or -1. */
static inline long long harness_attr_num(const struct harness *h, enum proto_attr attr)
{
	for (size_t i = h->n; i-- > 0;)
		if (h->obs[i].o.kind == PROTO_OBS_ATTR && h->obs[i].o.attr == attr && h->obs[i].o.has_num)
			return (long long)h->obs[i].o.num;
	return -1;
}

/* True when a FUNCTION observation with this code was reported. */
static inline bool harness_has_function(const struct harness *h, long long code)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->obs[i].o.kind == PROTO_OBS_FUNCTION && h->obs[i].o.num == code)
			return true;
	return false;
}

/* Number of EVENT (kind PROTO_OBS_EVENT) or VIOLATION observations named name (NULL: any). */
static inline size_t harness_count(const struct harness *h, int kind, const char *name)
{
	size_t c = 0;
	for (size_t i = 0; i < h->n; i++)
		if (h->obs[i].o.kind == kind && (!name || (h->obs[i].o.name && strcmp(h->obs[i].o.name, name) == 0)))
			c++;
	return c;
}
