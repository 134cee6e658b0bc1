/* Directory settings API (admin only): the AD domains (GET/PUT /api/v1/settings/ldap), the connection test
 * (POST /api/v1/settings/ldap/test) and the AD group mappings (/api/v1/ad-group-mappings). The service
 * account's password is write-only: no answer ever carries it. */
#pragma once
#include "server/api_router.h"

extern const struct http_body_spec api_ldap_settings_body;
extern const struct http_body_spec api_ldap_test_body;
extern const struct http_body_spec api_ad_mapping_create_body;

void api_ldap_settings_get(struct api_call *c, PGconn *db);
void api_ldap_settings_put(struct api_call *c, PGconn *db);
void api_ldap_settings_test(struct api_call *c, PGconn *db);
void api_ad_mappings_list(struct api_call *c, PGconn *db);
void api_ad_mappings_create(struct api_call *c, PGconn *db);
void api_ad_mappings_delete(struct api_call *c, PGconn *db);
