/* Domain names as DNS (RFC 1035 4.1.4) and NetBIOS name service (RFC 1002 4.1) carry them: labels with
 * compression pointers. A pointer must point before the start of the label run that contains it, so each
 * jump strictly lowers the position and a pointer loop cannot exist; a name longer than 255 octets on the
 * wire is refused (RFC 1035 3.1), and at most DNS_MAX_HOPS pointers are followed (a safety net). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 255
#define DNS_MAX_HOPS 64

/* Walks the name at *off of the len-byte message msg. On success *off is past the name as it sits in the
 * message (a pointer ends it) and, when out is not NULL, out holds the dotted text (no trailing dot, "" for
 * the root) and *out_len its length. out must hold DNS_NAME_MAX + 1 bytes. */
bool dns_name_read(const uint8_t *msg, size_t len, size_t *off, char *out, size_t *out_len);
