/* Query parameters of GET /api/v1/map (server/api_map.h): the grouping hierarchy, the groups to expand and the
 * device filters, parsed from the raw (percent-encoded) query string into bounded buffers. Pure: no I/O, no
 * global state, so the unit test and the fuzz target call it directly.
 *
 * A group id spells its path: one `level:key` segment per level of `group_by`, joined by '/', e.g.
 * `site:12/zone:34/subnet:10.1.2.0`. Keys: site and zone a positive id or `none` (devices of an unassigned
 * sensor), subnet the IPv4 /24 network address (`a.b.c.0`) or `none` (no IPv4 address), vlan 0..4095 or
 * `untagged`, purdue_level 0..5 or `unknown`. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "server/http_util.h"

#define MAP_LEVELS_MAX 5
#define MAP_EXPAND_MAX 64      /* expand ids per request */
#define MAP_ID_MAX 200         /* bytes of one group id */
#define MAP_LIST_MAX 32        /* items of the protocol and type lists */
#define MAP_NAME_MAX 64        /* bytes of one protocol or type name */
#define MAP_QUERY_MAX 32768    /* bytes of the raw query string */
#define MAP_MAX_DEVICES_DEFAULT 2000
#define MAP_MAX_DEVICES_MAX 10000

enum map_level { MAP_SITE, MAP_ZONE, MAP_SUBNET, MAP_VLAN, MAP_PURDUE, MAP_NLEVELS };

struct map_query {
	enum map_level levels[MAP_LEVELS_MAX];
	size_t nlevels;
	/* The expand ids that take effect: well formed, following this hierarchy, and with every ancestor expanded
	 * too (collapsing a group hides what is open inside it). Ids of another hierarchy are dropped here. */
	char expand[MAP_EXPAND_MAX][MAP_ID_MAX + 1];
	size_t nexpand;
	/* PostgreSQL array literals of validated names, "" when the filter is absent. */
	char protocols[MAP_LIST_MAX * (MAP_NAME_MAX + 3) + 3];
	char types[MAP_LIST_MAX * (MAP_NAME_MAX + 3) + 3];
	char authorized[8]; /* "true", "false" or "" */
	char is_new[8];     /* "true", "false" or "" */
	char seen_after[64]; /* RFC 3339 as given (validated), or "" */
	char site_id[24], zone_id[24]; /* decimal ids or "" */
	long max_devices;
};

/* The name of a level as the API spells it (group_by values, group `level`). */
const char *map_level_name(enum map_level l);

/* Parses `query` (NULL or "" for none) into *q. Returns 0, or -EINVAL with a 400 in *err naming the parameter
 * (an unknown or repeated parameter, a bad value, more than MAP_EXPAND_MAX expand ids or one longer than
 * MAP_ID_MAX bytes, more than MAP_LEVELS_MAX levels or a repeated level, a malformed group id). */
int map_query_parse(const char *query, struct map_query *q, struct http_error *err) __attribute__((warn_unused_result));

/* Writes the expand ids as a PostgreSQL text array literal into out (outlen bytes, at least
 * MAP_EXPAND_MAX * (MAP_ID_MAX + 3) + 3 suffice). Returns false if it does not fit. */
bool map_query_expand_array(const struct map_query *q, char *out, size_t outlen) __attribute__((warn_unused_result));
