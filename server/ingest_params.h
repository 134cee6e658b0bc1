/* Building the text parameters of the ingest writer's statements: a growing buffer, PostgreSQL array literals
 * and the canonical spelling of addresses (shared by ingest_apply.c and ingest_sets.c). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_PARAMS 24

/* A growing text buffer; `oom` latches the first allocation failure. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

/* Parameters of one statement; the strings live in `text`, addressed by offsets until the statement is sent
 * (the buffer may move while it grows). */
struct stmt_params {
	struct sbuf text;
	size_t off[MAX_PARAMS];
	bool null[MAX_PARAMS];
	int n;
};

void sb_putn(struct sbuf *b, const char *s, size_t n);
void sb_puts(struct sbuf *b, const char *s);
/* One element of a PostgreSQL array literal: always quoted, with " and \ escaped. */
void sb_array_elem(struct sbuf *b, const char *s);
void sp_reset(struct stmt_params *sp);
void sp_begin(struct stmt_params *sp, bool is_null);
void sp_end(struct stmt_params *sp);
void sp_str(struct stmt_params *sp, const char *s);
void sp_i64(struct stmt_params *sp, int64_t v);
void sp_time(struct stmt_params *sp, int64_t usec);
/* Canonical address text (lowercase MACs, inet_ntop's IPs) and device key ("mac:..."/"ip:..."). */
void canon_addr(const char *s, char out[64]);
void canon_key(const char *key, char out[72]);
void sp_canon(struct stmt_params *sp, const char *addr);
