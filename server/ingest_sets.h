/* Set-based writes of a batch's inventory records: the device and connection records of one batch are gathered
 * here and written with one statement per kind (arrays unnested server-side) instead of one statement per record.
 * A per-record upsert touched six tables through one planner and executor round each; one set statement per
 * batch does the same work for 500 records at once (docs/performance.md, "ingest").
 *
 * Records of one key within a batch are merged first, the way applying them one after the other would leave the
 * database (PostgreSQL refuses to upsert one row twice in one statement):
 *   device:     the last record's view (addresses, VLANs, protocols, report) replaces the earlier ones; type,
 *               vendor and hostname keep the last non-null value; first_seen is the least, last_seen the greatest.
 *   connection: packets and bytes (increments) add up; protocols and functions are the union; times as above.
 * A device_remove of a key gathered here must see that device written first: the caller checks
 * ingest_sets_has_device() and flushes before sending the remove.
 *
 * Rows are upserted in key order, so two writers applying batches of one zone lock shared rows in one order. */
#pragma once
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/wire.h"

struct ingest_sets;

struct ingest_sets *ingest_sets_new(void);
void ingest_sets_free(struct ingest_sets *s);

/* Adds a record (rec: its JSON object, borrowed until ingest_sets_send). 0 or -ENOMEM. */
int ingest_sets_add_device(struct ingest_sets *s, const struct wire_device *d, json_t *rec)
	__attribute__((warn_unused_result));
int ingest_sets_add_connection(struct ingest_sets *s, const struct wire_connection *cn, json_t *rec)
	__attribute__((warn_unused_result));
/* True when a device with this (wire) key is gathered and not yet sent. */
bool ingest_sets_has_device(const struct ingest_sets *s, const char *key);
bool ingest_sets_empty(const struct ingest_sets *s);

/* Prepares the set statements on a new connection. 0 or a negative errno (-EIO: connection lost). */
int ingest_sets_prepare(PGconn *c) __attribute__((warn_unused_result));

/* Sends the gathered records as pipelined statements (no sync) and empties the set. *nsent gets the number of
 * statements sent (0..2). scope is "z:<zone>" or "s:<sensor>", zone NULL for an unassigned sensor.
 * 0, -ENOMEM or -EIO (the caller reads the results and syncs). */
int ingest_sets_send(PGconn *c, struct ingest_sets *s, const char *scope, const char *zone, const char *sensor_id,
		     int *nsent) __attribute__((warn_unused_result));
