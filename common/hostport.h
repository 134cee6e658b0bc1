/* "host:port" text as listen and peer addresses are written in flags and settings. */
#pragma once
#include <stddef.h>

/* Splits "host:port" or "[v6]:port" (port 1..65535, decimal) into host, written without brackets and NUL-terminated
 * in hostlen bytes, and *port. An IPv6 address must be bracketed ("::1:80" is refused). Returns 0, or -EINVAL
 * (nothing usable written) for anything else, an empty host, or a host that does not fit. */
int hostport_split(const char *text, char *host, size_t hostlen, int *port) __attribute__((warn_unused_result));
