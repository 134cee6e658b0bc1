/* POST /api/v1/enroll: a sensor trades its one-time enrollment token and a CSR for a client certificate.
 * No session: the token is the credential, and the body limit is the small pre-authentication one. */
#pragma once
#include <libpq-fe.h>

#include "server/api_router.h"

extern const struct http_body_spec api_enroll_body;

void api_enroll(struct api_call *c, PGconn *db);
