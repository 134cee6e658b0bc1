/* The console's admin API as the load generator uses it: log in, create a sensor (its activation document).
 * HTTPS through libcurl, trusting exactly the console's CA (the system store is never read). The sensor's own
 * enrollment (key, CSR, POST /api/v1/enroll) is otwatch-sensor's `activate`, not this. */
#pragma once
#include <jansson.h>
#include <stddef.h>

struct lg_api {
	char *base;   /* https://host:port, no trailing slash */
	char *ca_pem;
	char *token;  /* the session JWT (never logged) */
};

/* POST /api/v1/auth/login. On success a->token is set. 0, or -EACCES (refused), -EIO (transport) with err set. */
int lg_api_login(struct lg_api *a, const char *user, const char *password, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* POST /api/v1/sensors {"name", "zone_id"?}: *activation gets the activation document (caller's reference).
 * zone_id NULL: unassigned. Thread-safe (one request per call). 0 or a negative errno with err set. */
int lg_api_create_sensor(const struct lg_api *a, const char *name, const char *zone_id, json_t **activation,
			 char *err, size_t errlen) __attribute__((warn_unused_result));
/* Frees the members (the token is wiped). */
void lg_api_free(struct lg_api *a);
