#include "server/ingest_params.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"

void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (n + 1 > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		while (n + 1 > cap - b->len) {
			if (cap > SIZE_MAX / 2) {
				b->oom = true;
				return;
			}
			cap *= 2;
		}
		char *np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sb_puts(struct sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

/* One element of a PostgreSQL array literal: always quoted, with " and \ escaped. */
void sb_array_elem(struct sbuf *b, const char *s)
{
	sb_putn(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			sb_putn(b, "\\", 1);
		sb_putn(b, s, 1);
	}
	sb_putn(b, "\"", 1);
}


void sp_reset(struct stmt_params *sp)
{
	sp->text.len = 0;
	sp->n = 0;
}

void sp_begin(struct stmt_params *sp, bool is_null)
{
	sp->off[sp->n] = sp->text.len;
	sp->null[sp->n] = is_null;
	sp->n++;
}

/* Each parameter keeps its NUL inside the buffer. */
void sp_end(struct stmt_params *sp) { sb_putn(&sp->text, "", 1); }

void sp_str(struct stmt_params *sp, const char *s)
{
	sp_begin(sp, s == NULL);
	if (s)
		sb_puts(&sp->text, s);
	sp_end(sp);
}

void sp_i64(struct stmt_params *sp, int64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	sp_str(sp, buf);
}

void sp_time(struct stmt_params *sp, int64_t usec)
{
	char buf[TIMEFMT_LEN];
	sp_str(sp, timefmt_rfc3339_ms(usec, buf));
}

/* Canonical address text, so that two sensors (or two spellings) name one device and one connection:
 * lowercase MACs and inet_ntop's IPs. */
void canon_addr(const char *s, char out[64])
{
	unsigned char bin[16];

	if (inet_pton(AF_INET, s, bin) == 1 && inet_ntop(AF_INET, bin, out, 64))
		return;
	if (inet_pton(AF_INET6, s, bin) == 1 && inet_ntop(AF_INET6, bin, out, 64))
		return;
	snprintf(out, 64, "%s", s);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

void canon_key(const char *key, char out[72])
{
	char addr[64];
	const char *colon = strchr(key, ':');

	canon_addr(colon + 1, addr);
	snprintf(out, 72, "%.*s:%s", (int)(colon - key), key, addr);
}

void sp_canon(struct stmt_params *sp, const char *addr)
{
	char buf[64];

	if (!addr) {
		sp_str(sp, NULL);
		return;
	}
	canon_addr(addr, buf);
	sp_str(sp, buf);
}
