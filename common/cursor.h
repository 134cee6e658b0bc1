/* Bounds-checked reads over untrusted bytes. Every read either succeeds and advances, or fails
 * (returns false) and leaves the cursor where it was; nothing ever reads past p + len.
 * Checks are written as `need > len - off`, which cannot overflow because off <= len always holds. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cursor {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static inline void cursor_init(struct cursor *c, const void *p, size_t len)
{
	c->p = p;
	c->len = len;
	c->off = 0;
}

static inline size_t cursor_remaining(const struct cursor *c) { return c->len - c->off; }
static inline const uint8_t *cursor_ptr(const struct cursor *c) { return c->p + c->off; }
static inline bool cursor_has(const struct cursor *c, size_t need) { return need <= c->len - c->off; }

static inline bool cursor_skip(struct cursor *c, size_t n)
{
	if (!cursor_has(c, n))
		return false;
	c->off += n;
	return true;
}

/* Points *out at the next n bytes (not copied) and advances. */
static inline bool cursor_bytes(struct cursor *c, size_t n, const uint8_t **out)
{
	if (!cursor_has(c, n))
		return false;
	*out = c->p + c->off;
	c->off += n;
	return true;
}

/* A sub-cursor over the next n bytes; the parent advances past them. */
static inline bool cursor_sub(struct cursor *c, size_t n, struct cursor *sub)
{
	const uint8_t *b;
	if (!cursor_bytes(c, n, &b))
		return false;
	cursor_init(sub, b, n);
	return true;
}

static inline bool cursor_u8(struct cursor *c, uint8_t *v)
{
	if (!cursor_has(c, 1))
		return false;
	*v = c->p[c->off++];
	return true;
}

static inline bool cursor_u16be(struct cursor *c, uint16_t *v)
{
	if (!cursor_has(c, 2))
		return false;
	*v = (uint16_t)((c->p[c->off] << 8) | c->p[c->off + 1]);
	c->off += 2;
	return true;
}

static inline bool cursor_u16le(struct cursor *c, uint16_t *v)
{
	if (!cursor_has(c, 2))
		return false;
	*v = (uint16_t)(c->p[c->off] | (c->p[c->off + 1] << 8));
	c->off += 2;
	return true;
}

static inline bool cursor_u32be(struct cursor *c, uint32_t *v)
{
	if (!cursor_has(c, 4))
		return false;
	*v = ((uint32_t)c->p[c->off] << 24) | ((uint32_t)c->p[c->off + 1] << 16) |
	     ((uint32_t)c->p[c->off + 2] << 8) | (uint32_t)c->p[c->off + 3];
	c->off += 4;
	return true;
}

static inline bool cursor_u32le(struct cursor *c, uint32_t *v)
{
	if (!cursor_has(c, 4))
		return false;
	*v = (uint32_t)c->p[c->off] | ((uint32_t)c->p[c->off + 1] << 8) |
	     ((uint32_t)c->p[c->off + 2] << 16) | ((uint32_t)c->p[c->off + 3] << 24);
	c->off += 4;
	return true;
}

static inline bool cursor_u64be(struct cursor *c, uint64_t *v)
{
	uint32_t hi, lo;
	size_t save = c->off;
	if (!cursor_u32be(c, &hi) || !cursor_u32be(c, &lo)) {
		c->off = save;
		return false;
	}
	*v = ((uint64_t)hi << 32) | lo;
	return true;
}
