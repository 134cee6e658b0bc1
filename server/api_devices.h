/* The device inventory and DPI events (issue 4), always filtered by the caller's scope in SQL.
 *
 *   GET   /api/v1/devices (paging, sorting, filters, search, export: server/api_devices_list.h)
 *   GET   /api/v1/devices/{id}
 *   PATCH /api/v1/devices/{id}      analyst fields and overrides of reported ones (analysts, in scope)
 *   POST  /api/v1/devices/merge     {"ids": [...], "into": id}, one merge scope (analysts, in scope)
 *   GET   /api/v1/dpi-events[?device_id=&kind=event|violation&site_id=&zone_id=&sensor_id=]
 *
 * A device shows the effective value of each field (the analyst's override, else what sensors report: the
 * latest non-null report), and both sides in "reported" and "overrides". Addresses, protocols and sensors are the
 * union over its sensors and over the devices merged into it; merged ids answer 404. docs/architecture.md
 * "Device inventory" has the fields. */
#pragma once
#include <libpq-fe.h>

#include "server/api_devices_list.h"
#include "server/api_router.h"

void api_devices_get(struct api_call *c, PGconn *db);
void api_devices_update(struct api_call *c, PGconn *db);
void api_devices_merge(struct api_call *c, PGconn *db);
void api_dpi_events_list(struct api_call *c, PGconn *db);

extern const struct http_body_spec api_devices_update_body;
extern const struct http_body_spec api_devices_merge_body;

/* Checks what http_json_validate cannot: type and importance values, purdue_level 0..5, tags (at most 32
 * distinct strings of 1..64 characters without control characters), description without control characters
 * other than newline and tab. 0, or -EINVAL with a 400 naming the field in err. Pure (unit tests). */
int api_devices_check_update(json_t *body, struct http_error *err) __attribute__((warn_unused_result));
