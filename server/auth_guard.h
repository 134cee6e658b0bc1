/* Login defences that need no database: the per-source failed-login throttle (loop thread), the per-account
 * lockout backoff, and the constant-time compare used for the CSRF double-submit check. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Failures per source address in a sliding window. Bounded: when full, the entry whose last failure is the
 * oldest is evicted (an attacker spraying addresses can only push out idle sources). Loop thread only. */
#define AUTH_GUARD_SOURCES 4096
#define AUTH_GUARD_LIMIT 10       /* failures allowed per window and source */
#define AUTH_GUARD_WINDOW_SEC 60

struct auth_throttle;

/* Returns a table of cap entries (0: AUTH_GUARD_SOURCES) or NULL without memory; free with
 * auth_throttle_free. */
struct auth_throttle *auth_throttle_new(size_t cap);
void auth_throttle_free(struct auth_throttle *t);
/* 0 when addr may try to log in at `now` (seconds, monotonic), else the seconds until it may (>= 1). */
int64_t auth_throttle_check(struct auth_throttle *t, const char *addr, int64_t now);
/* Records one failed login from addr at now. */
void auth_throttle_fail(struct auth_throttle *t, const char *addr, int64_t now);

/* Account lockout: after AUTH_LOCK_AFTER consecutive failures the account is locked for
 * min(2^(failures - AUTH_LOCK_AFTER), AUTH_LOCK_MAX_SEC) seconds; 0 below the threshold. */
#define AUTH_LOCK_AFTER 5
#define AUTH_LOCK_MAX_SEC 900
int64_t auth_lock_backoff_sec(int64_t failures);

/* True when both are non-empty and equal; the time taken depends on the lengths only. */
bool auth_token_equal(const char *a, const char *b);
