/* Alerts (issue 5; docs/alerts.md): the list and one alert with its triage history, triage actions one at a time
 * and in bulk, and comments. Alerts are scoped by their zone like devices.
 *
 *   GET  /api/v1/alerts[?status=&severity=&engine=&site_id=&zone_id=&sensor_id=&from=&to=]   every role
 *   GET  /api/v1/alerts/{id}                                                                 every role
 *   POST /api/v1/alerts/{id}/actions {"action": "close"|"learn"|"mute"|"reopen", "comment"?}  analysts, admins
 *   POST /api/v1/alerts/actions {"ids": [...], "action", "comment"?}                          analysts, admins
 *   POST /api/v1/alerts/{id}/comments {"comment"}                                             analysts, admins
 *   GET  /api/v1/alerts/{id}/pcap: the evidence capture, fetched from the sensor              every role */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

extern const struct http_body_spec api_alerts_action_body, api_alerts_bulk_body, api_alerts_comment_body;

void api_alerts_list(struct api_call *c, PGconn *db);
void api_alerts_get(struct api_call *c, PGconn *db);
void api_alerts_action(struct api_call *c, PGconn *db);
void api_alerts_bulk_action(struct api_call *c, PGconn *db);
void api_alerts_comment(struct api_call *c, PGconn *db);
void api_alerts_pcap(struct api_call *c, PGconn *db);
