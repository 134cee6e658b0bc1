/* The uplink's side that other threads see (uplink.h): waiting for acks and config, taking what the console sent,
 * status, mode. Everything here holds u->mu; nothing touches lws except uplink_notify's lws_cancel_service. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sensor-agent/uplink_internal.h"

void uplink_notify(struct uplink *u)
{
	/* Under mu: the uplink thread replaces the context after a certificate renewal. A notification that finds
	 * none is not lost: the new connection sends whatever the journal holds after its welcome. */
	pthread_mutex_lock(&u->mu);
	if (u->ctx)
		lws_cancel_service(u->ctx);
	pthread_mutex_unlock(&u->mu);
}

void uplink_set_connected(struct uplink *u, bool connected)
{
	pthread_mutex_lock(&u->mu);
	u->connected = connected;
	if (connected)
		u->welcomes++;
	pthread_mutex_unlock(&u->mu);
}

void uplink_set_fatal(struct uplink *u, const char *reason)
{
	pthread_mutex_lock(&u->mu);
	if (!u->fatal) {
		u->fatal = true;
		snprintf(u->fatal_reason, sizeof(u->fatal_reason), "%s", reason);
	}
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->mu);
}

/* Waits under u->mu until done(u, arg) (0), a fatal failure (-EPIPE), *stop (-EINTR) or the timeout (-ETIMEDOUT;
 * < 0: none). */
static int wait_for(struct uplink *u, bool (*done)(struct uplink *, uint64_t), uint64_t arg,
		    const volatile sig_atomic_t *stop, int timeout_ms)
{
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	int64_t end_ns = (int64_t)deadline.tv_sec * 1000000000 + deadline.tv_nsec + (int64_t)timeout_ms * 1000000;
	int rc;
	pthread_mutex_lock(&u->mu);
	for (;;) {
		if (u->fatal) {
			rc = -EPIPE;
			break;
		}
		if (done(u, arg)) {
			rc = 0;
			break;
		}
		if (stop && *stop) {
			rc = -EINTR;
			break;
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
		if (timeout_ms >= 0 && now_ns >= end_ns) {
			rc = -ETIMEDOUT;
			break;
		}
		/* Short slices: a signal sets *stop without signalling the condition variable. */
		int64_t wake_ns = now_ns + 200000000;
		if (timeout_ms >= 0 && wake_ns > end_ns)
			wake_ns = end_ns;
		struct timespec rt;
		clock_gettime(CLOCK_REALTIME, &rt);
		int64_t rt_ns = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec + (wake_ns - now_ns);
		struct timespec ts = { .tv_sec = rt_ns / 1000000000, .tv_nsec = rt_ns % 1000000000 };
		pthread_cond_timedwait(&u->cond, &u->mu, &ts);
	}
	pthread_mutex_unlock(&u->mu);
	return rc;
}

static bool acked(struct uplink *u, uint64_t seq) { return journal_acked(u->j) >= seq; }
static bool configured(struct uplink *u, uint64_t n) { return u->configs >= n; }

int uplink_wait_acked(struct uplink *u, uint64_t seq, const volatile sig_atomic_t *stop, int timeout_ms)
{
	return wait_for(u, acked, seq, stop, timeout_ms);
}

int uplink_wait_config(struct uplink *u, const volatile sig_atomic_t *stop, int timeout_ms)
{
	return wait_for(u, configured, 1, stop, timeout_ms);
}

bool uplink_fatal(struct uplink *u, char *reason, size_t len)
{
	pthread_mutex_lock(&u->mu);
	bool f = u->fatal;
	if (f && reason)
		snprintf(reason, len, "%s", u->fatal_reason);
	pthread_mutex_unlock(&u->mu);
	return f;
}

void uplink_set_mode(struct uplink *u, const char *mode)
{
	char *m = strdup(mode);

	if (!m)
		return; /* the next hello says the previous mode; the mode record in the journal is what counts */
	pthread_mutex_lock(&u->mu);
	free(u->mode);
	u->mode = m;
	pthread_mutex_unlock(&u->mu);
}

json_t *uplink_take_indicators(struct uplink *u)
{
	json_t *b;

	if (!u)
		return NULL;
	pthread_mutex_lock(&u->mu);
	b = u->indicators;
	u->indicators = NULL;
	pthread_mutex_unlock(&u->mu);
	return b;
}

json_t *uplink_take_config(struct uplink *u)
{
	json_t *s;

	if (!u)
		return NULL;
	pthread_mutex_lock(&u->mu);
	s = u->settings;
	u->settings = NULL;
	pthread_mutex_unlock(&u->mu);
	return s;
}

bool uplink_take_snapshot_request(struct uplink *u)
{
	pthread_mutex_lock(&u->mu);
	bool r = u->snapshot_request;
	u->snapshot_request = false;
	pthread_mutex_unlock(&u->mu);
	return r;
}

void uplink_get_status(struct uplink *u, struct uplink_status *st)
{
	pthread_mutex_lock(&u->mu);
	st->connected = u->connected;
	st->welcomes = u->welcomes;
	pthread_mutex_unlock(&u->mu);
	st->acked = journal_acked(u->j);
}
