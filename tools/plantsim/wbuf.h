/* Bounded big-endian byte writer for building payloads. A write that does not fit sets `overflow`
 * and writes nothing; callers check it once at the end instead of after every field. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct wbuf {
	uint8_t *p;
	size_t cap;
	size_t len;
	bool overflow;
};

static inline void wbuf_init(struct wbuf *b, uint8_t *p, size_t cap)
{
	b->p = p;
	b->cap = cap;
	b->len = 0;
	b->overflow = false;
}

static inline bool wbuf_room(struct wbuf *b, size_t n)
{
	if (b->overflow || n > b->cap - b->len) {
		b->overflow = true;
		return false;
	}
	return true;
}

static inline void wbuf_bytes(struct wbuf *b, const void *src, size_t n)
{
	if (!wbuf_room(b, n))
		return;
	if (n)
		memcpy(b->p + b->len, src, n);
	b->len += n;
}

static inline void wbuf_zero(struct wbuf *b, size_t n)
{
	if (!wbuf_room(b, n))
		return;
	memset(b->p + b->len, 0, n);
	b->len += n;
}

static inline void wbuf_u8(struct wbuf *b, uint8_t v) { wbuf_bytes(b, &v, 1); }

static inline void wbuf_u16(struct wbuf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	wbuf_bytes(b, x, 2);
}

static inline void wbuf_u16le(struct wbuf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	wbuf_bytes(b, x, 2);
}

static inline void wbuf_u24(struct wbuf *b, uint32_t v)
{
	uint8_t x[3] = { (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	wbuf_bytes(b, x, 3);
}

static inline void wbuf_u32(struct wbuf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	wbuf_bytes(b, x, 4);
}

static inline void wbuf_u32le(struct wbuf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	wbuf_bytes(b, x, 4);
}

/* Overwrites a big-endian u16 at an earlier offset (length fields known only at the end). */
static inline void wbuf_patch16(struct wbuf *b, size_t at, uint16_t v)
{
	if (b->overflow || at + 2 > b->len)
		return;
	b->p[at] = (uint8_t)(v >> 8);
	b->p[at + 1] = (uint8_t)v;
}
