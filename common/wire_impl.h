/* Internals shared by common/wire.c and common/wire_records.c: field readers that write errors as
 * "<path>.<field>: <problem>" (path "" at the top level, "records[i]" inside a batch). Each returns 0 or -EINVAL. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct perr {
	char *buf;
	size_t len;
	const char *path;
};

__attribute__((format(printf, 3, 4))) int wire_fail(struct perr *e, const char *field, const char *fmt, ...);
int wire_get_str(struct perr *e, json_t *o, const char *f, size_t maxlen, bool nullable, const char **out);
int wire_get_int(struct perr *e, json_t *o, const char *f, int64_t lo, int64_t hi, int64_t *out);
int wire_get_time(struct perr *e, json_t *o, const char *f, int64_t *out);
int wire_get_enum(struct perr *e, json_t *o, const char *f, const char *const *names, int *out);

struct wire_record;
/* The record kinds of wire_records.c. */
int wire_parse_event(struct perr *e, json_t *o, struct wire_record *rec);
int wire_parse_alert(struct perr *e, json_t *o, struct wire_record *rec);
int wire_parse_learn(struct perr *e, json_t *o, const char *f);
