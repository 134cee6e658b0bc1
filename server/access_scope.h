/* Pure helpers for access-group and user bodies: scope entry checks and id lists as PostgreSQL array text.
 * No I/O, so the unit tests call them directly. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "server/http_util.h"

/* Checks an access group's "scope": an array of objects whose only keys are business_unit_id, region_id,
 * site_id and zone_id, each a positive integer id or null, with at least one set per entry. Returns 0, or
 * -EINVAL with a 400 naming "scope" in err. */
int access_scope_check(json_t *scope, struct http_error *err) __attribute__((warn_unused_result));

/* Writes a JSON array of positive integer ids as PostgreSQL array text ("{1,2}", "{}" for none) into out.
 * Returns false when a member is not a positive integer or out is too small. */
bool access_ids_pg_array(json_t *ids, char *out, size_t out_len) __attribute__((warn_unused_result));

/* Writes one CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF, with quotes doubled; a field
 * a spreadsheet would run as a formula (leading = + - @, tab or CR) gets a leading apostrophe inside quotes.
 * NULL is an empty field. Used by the audit-log and device exports. Returns 0 or -EIO. */
int csv_write_field(FILE *f, const char *s) __attribute__((warn_unused_result));
