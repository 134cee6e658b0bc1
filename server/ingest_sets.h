/* Set-based writes of inventory records: the device and connection records of a group of batches (of several
 * sensors: group commit) are gathered here and written with one statement per kind (arrays unnested
 * server-side) instead of one statement per record or per batch. A per-record upsert touched six tables through
 * one planner and executor round each; one set statement per group does the same work for all of its records.
 *
 * One sensor's records of one key are merged first, the way applying them one after the other would leave the
 * database (PostgreSQL refuses to upsert one row twice in one statement); several sensors' rows of one device or
 * connection of a merge scope are merged by the statement itself (among sensors, "last" is by each sensor's first
 * record of the key in the group, not by every record):
 *   device:     the last record's view (addresses, VLANs, protocols, report) replaces the earlier ones; type,
 *               vendor and hostname keep the last non-null value; first_seen is the least, last_seen the greatest.
 *   connection: packets and bytes (increments) add up; protocols and functions are the union; times as above.
 * A device_remove must see the devices gathered before it written first: the caller flushes before sending it.
 *
 * Rows are upserted in key order, so two writers applying batches of one zone lock shared rows in one order. */
#pragma once
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/wire.h"

struct ingest_sets;

/* Whose records: the sensor and its merge scope ("z:<zone>" or "s:<sensor>") and zone (NULL: unassigned). The
 * pointer identifies the sensor within a set and must stay valid until ingest_sets_send. */
struct ingest_owner {
	const char *scope, *zone, *sensor_id;
};

struct ingest_sets *ingest_sets_new(void);
void ingest_sets_free(struct ingest_sets *s);

/* Adds a record (rec: its JSON object, borrowed until ingest_sets_send). 0 or -ENOMEM. */
int ingest_sets_add_device(struct ingest_sets *s, const struct ingest_owner *o, const struct wire_device *d,
			   json_t *rec) __attribute__((warn_unused_result));
int ingest_sets_add_connection(struct ingest_sets *s, const struct ingest_owner *o, const struct wire_connection *cn,
			       json_t *rec) __attribute__((warn_unused_result));
bool ingest_sets_empty(const struct ingest_sets *s);

/* Prepares the set statements on a new connection. 0 or a negative errno (-EIO: connection lost). */
int ingest_sets_prepare(PGconn *c) __attribute__((warn_unused_result));

/* Sends the gathered records as pipelined statements (no sync) and empties the set. *nsent gets the number of
 * statements sent (0..2). 0, -ENOMEM or -EIO (the caller reads the results and syncs). */
int ingest_sets_send(PGconn *c, struct ingest_sets *s, int *nsent) __attribute__((warn_unused_result));
