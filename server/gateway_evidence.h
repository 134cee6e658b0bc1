/* Evidence captures fetched from sensors on demand (GET /api/v1/alerts/{id}/pcap): an API worker registers a
 * wait, the gateway's service thread sends the sensor an evidence_request and completes the wait with the
 * answer; the worker sleeps on a condition variable until then or its timeout. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/wire.h"

struct evidence_wait;

struct evidence_waits {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct evidence_wait *head;
	uint64_t next_id;
};

void evidence_waits_init(struct evidence_waits *w);
/* Completes every pending wait with -ESHUTDOWN, then frees the lock. */
void evidence_waits_destroy(struct evidence_waits *w);
/* Registers a wait for sensor_id's answer; returns its request id (0: out of memory). */
uint64_t evidence_wait_begin(struct evidence_waits *w, const char *sensor_id);
/* Any thread: the answer to request id from sensor_id. status 0 takes data/len (heap, freed here otherwise);
 * a negative errno with a message. An id that is not waited for, or a different sensor, is ignored. */
void evidence_wait_complete(struct evidence_waits *w, uint64_t id, const char *sensor_id, int status, uint8_t *data,
			    size_t len, const char *error);
/* Waits for the answer (up to timeout_ms) and forgets the wait. 0 with *data (heap, free()) and *len, or
 * -ETIMEDOUT, -ENOTCONN (sensor not connected), -ENOENT (the sensor has no such capture; err says what it said),
 * -ESHUTDOWN, -ENOMEM. */
int evidence_wait_end(struct evidence_waits *w, uint64_t id, int timeout_ms, uint8_t **data, size_t *len, char *err,
		      size_t errlen);
