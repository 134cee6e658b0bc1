/* Times: the product keeps microseconds since the Unix epoch (int64) internally and prints RFC 3339 UTC
 * with milliseconds ("2026-11-27T22:38:41.123Z") everywhere a person or an API client reads them. */
#pragma once
#include <stdint.h>
#include <stdbool.h>

#define TIMEFMT_LEN 32

/* Writes an RFC 3339 UTC time with milliseconds into out (at least TIMEFMT_LEN bytes); returns out. */
char *timefmt_rfc3339_ms(int64_t usec, char out[TIMEFMT_LEN]);
/* Parses RFC 3339 (Z or +hh:mm offset, optional fraction); returns false on malformed text. */
bool timefmt_parse_rfc3339(const char *s, int64_t *usec) __attribute__((warn_unused_result));
/* Wall-clock now, in microseconds since the epoch. */
int64_t timefmt_now_usec(void);
