#include "server/gateway_evidence.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct evidence_wait {
	struct evidence_wait *next;
	uint64_t id;
	char sensor_id[WIRE_SENSOR_ID_LEN + 1];
	bool done;
	int status;
	uint8_t *data;
	size_t len;
	char error[128];
};

void evidence_waits_init(struct evidence_waits *w)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &attr);
	pthread_condattr_destroy(&attr);
}

void evidence_waits_destroy(struct evidence_waits *w)
{
	pthread_mutex_lock(&w->mu);
	for (struct evidence_wait *x = w->head; x; x = x->next) {
		if (!x->done) {
			x->done = true;
			x->status = -ESHUTDOWN;
		}
	}
	pthread_cond_broadcast(&w->cond);
	/* Waiters free their own entries: wait until the last one left. */
	while (w->head)
		pthread_cond_wait(&w->cond, &w->mu);
	pthread_mutex_unlock(&w->mu);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mu);
}

uint64_t evidence_wait_begin(struct evidence_waits *w, const char *sensor_id)
{
	struct evidence_wait *x = calloc(1, sizeof(*x));

	if (!x)
		return 0;
	snprintf(x->sensor_id, sizeof(x->sensor_id), "%s", sensor_id);
	pthread_mutex_lock(&w->mu);
	x->id = ++w->next_id;
	x->next = w->head;
	w->head = x;
	pthread_mutex_unlock(&w->mu);
	return x->id;
}

void evidence_wait_complete(struct evidence_waits *w, uint64_t id, const char *sensor_id, int status, uint8_t *data,
			    size_t len, const char *error)
{
	struct evidence_wait *x;

	pthread_mutex_lock(&w->mu);
	for (x = w->head; x; x = x->next)
		if (x->id == id)
			break;
	if (!x || x->done || strcasecmp(x->sensor_id, sensor_id) != 0) {
		pthread_mutex_unlock(&w->mu);
		free(data);
		return;
	}
	x->done = true;
	x->status = status;
	x->data = status == 0 ? data : NULL;
	x->len = status == 0 ? len : 0;
	snprintf(x->error, sizeof(x->error), "%s", error ? error : "");
	if (status != 0)
		free(data);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

int evidence_wait_end(struct evidence_waits *w, uint64_t id, int timeout_ms, uint8_t **data, size_t *len, char *err,
		      size_t errlen)
{
	struct timespec deadline;
	struct evidence_wait **pp, *x = NULL;
	int rc;

	*data = NULL;
	*len = 0;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->mu);
	for (;;) {
		for (pp = &w->head; *pp && (*pp)->id != id; pp = &(*pp)->next)
			;
		x = *pp;
		if (!x || x->done)
			break;
		if (pthread_cond_timedwait(&w->cond, &w->mu, &deadline) == ETIMEDOUT) {
			for (pp = &w->head; *pp && (*pp)->id != id; pp = &(*pp)->next)
				;
			x = *pp;
			break;
		}
	}
	if (!x) {
		pthread_mutex_unlock(&w->mu);
		return -ENOENT;
	}
	*pp = x->next;
	pthread_cond_broadcast(&w->cond); /* evidence_waits_destroy may wait for the list to empty */
	pthread_mutex_unlock(&w->mu);
	if (!x->done) {
		rc = -ETIMEDOUT;
	} else {
		rc = x->status;
		*data = x->data;
		*len = x->len;
		snprintf(err, errlen, "%s", x->error);
	}
	free(x);
	return rc;
}
