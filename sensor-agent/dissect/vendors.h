/* Vendor-id registries of the industrial protocols: the number a device reports (CIP Identity vendor id,
 * BACnet vendor-identifier, PROFINET DCP vendor id) -> the name its registry assigned to it. Where each table
 * comes from, and how complete it is, is recorded at the top of vendors.c and in vendors/README.md. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Each returns the registered name (static storage, UTF-8, NUL-terminated) or NULL when the id is not in the
 * table. Lookups are a binary search over a sorted static table: no allocation, safe from any thread. */
const char *vendors_cip(uint16_t id);
const char *vendors_bacnet(uint16_t id);
const char *vendors_profinet(uint16_t id);

/* Number of entries in each table (for tests and diagnostics). */
size_t vendors_cip_count(void);
size_t vendors_bacnet_count(void);
size_t vendors_profinet_count(void);
