#include "server/auth_guard.h"

#include <stdlib.h>
#include <string.h>

#define ADDR_MAX 64

struct throttle_entry {
	char addr[ADDR_MAX];             /* "" = free */
	int64_t fails[AUTH_GUARD_LIMIT]; /* ring of the latest failure times */
	unsigned next;                   /* ring position of the next write */
	int64_t last;                    /* latest failure */
};

struct auth_throttle {
	size_t cap;
	struct throttle_entry *e;
};

struct auth_throttle *auth_throttle_new(size_t cap)
{
	struct auth_throttle *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cap = cap ? cap : AUTH_GUARD_SOURCES;
	t->e = calloc(t->cap, sizeof(*t->e));
	if (!t->e) {
		free(t);
		return NULL;
	}
	return t;
}

void auth_throttle_free(struct auth_throttle *t)
{
	if (!t)
		return;
	free(t->e);
	free(t);
}

static struct throttle_entry *find(struct auth_throttle *t, const char *addr)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->e[i].addr[0] && strcmp(t->e[i].addr, addr) == 0)
			return &t->e[i];
	return NULL;
}

int64_t auth_throttle_check(struct auth_throttle *t, const char *addr, int64_t now)
{
	struct throttle_entry *e = find(t, addr);
	int64_t oldest;

	if (!e)
		return 0;
	/* The ring is full of failures; the slot written next holds the oldest of the last LIMIT. When that one
	 * is still inside the window, LIMIT failures happened within it. */
	oldest = e->fails[e->next];
	if (oldest == 0 || now - oldest >= AUTH_GUARD_WINDOW_SEC)
		return 0;
	return AUTH_GUARD_WINDOW_SEC - (now - oldest);
}

void auth_throttle_fail(struct auth_throttle *t, const char *addr, int64_t now)
{
	struct throttle_entry *e = find(t, addr);

	if (!e) {
		struct throttle_entry *victim = &t->e[0];
		for (size_t i = 0; i < t->cap; i++) {
			if (!t->e[i].addr[0]) {
				victim = &t->e[i];
				break;
			}
			if (t->e[i].last < victim->last)
				victim = &t->e[i];
		}
		e = victim;
		memset(e, 0, sizeof(*e));
		strncpy(e->addr, addr, sizeof(e->addr) - 1);
		if (!e->addr[0])
			e->addr[0] = '?';
	}
	/* 0 marks an unused slot, so a failure at time 0 is stored as 1 (monotonic clocks start well above). */
	e->fails[e->next] = now > 0 ? now : 1;
	e->next = (e->next + 1) % AUTH_GUARD_LIMIT;
	e->last = now;
}

int64_t auth_lock_backoff_sec(int64_t failures)
{
	int64_t n;

	if (failures < AUTH_LOCK_AFTER)
		return 0;
	n = failures - AUTH_LOCK_AFTER;
	if (n >= 10) /* 2^10 > 900 */
		return AUTH_LOCK_MAX_SEC;
	return (int64_t)1 << n < AUTH_LOCK_MAX_SEC ? (int64_t)1 << n : AUTH_LOCK_MAX_SEC;
}

bool auth_token_equal(const char *a, const char *b)
{
	size_t na, nb;
	unsigned char diff = 0;

	if (!a || !b)
		return false;
	na = strlen(a);
	nb = strlen(b);
	if (na == 0 || na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}
