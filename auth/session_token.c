#include "auth/session_token.h"

#include <errno.h>
#include <jwt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/pki.h"

/* Tokens are small; anything longer is refused before it reaches the JSON parser. */
#define SESSION_TOKEN_MAX_LEN 4096
/* Tolerated clock difference between console nodes for "issued in the future". */
#define SESSION_CLOCK_SKEW_SEC 60

static bool role_known(const char *role)
{
	return role && (strcmp(role, "admin") == 0 || strcmp(role, "analyst") == 0 ||
			strcmp(role, "read_only") == 0);
}

int session_token_issue(const uint8_t key[SESSION_KEY_LEN], const char *username, const char *role, const char *sid,
			int64_t ttl_sec, char **jwt_out)
{
	uint8_t jti_raw[16];
	char jti[33];
	jwt_t *jwt = NULL;
	int64_t now = (int64_t)time(NULL);
	char *s;
	int rc = -EINVAL;

	if (!username || !*username || strlen(username) > 256 || !role_known(role) || ttl_sec <= 0 || !sid ||
	    !*sid || strlen(sid) > SESSION_SID_MAX)
		goto out;
	if ((rc = pki_random_bytes(jti_raw, sizeof(jti_raw))) < 0)
		goto out;
	pki_hex(jti_raw, sizeof(jti_raw), jti);
	rc = -ENOMEM;
	if (jwt_new(&jwt) != 0)
		goto out;
	if (jwt_add_grant(jwt, "sub", username) || jwt_add_grant(jwt, "role", role) || jwt_add_grant(jwt, "jti", jti) ||
	    jwt_add_grant(jwt, "sid", sid) ||
	    jwt_add_grant_int(jwt, "iat", (long)now) || jwt_add_grant_int(jwt, "exp", (long)(now + ttl_sec)) ||
	    jwt_set_alg(jwt, JWT_ALG_HS256, key, SESSION_KEY_LEN))
		goto out;
	s = jwt_encode_str(jwt);
	if (!s)
		goto out;
	*jwt_out = s;
	rc = 0;
out:
	jwt_free(jwt);
	return rc;
}

int session_token_verify(const uint8_t key[SESSION_KEY_LEN], const char *token, int64_t now,
			 struct session_claims *claims)
{
	jwt_t *jwt = NULL;
	const char *sub, *role, *sid;
	long iat, exp;
	int rc = -EACCES;

	if (!token || strnlen(token, SESSION_TOKEN_MAX_LEN + 1) > SESSION_TOKEN_MAX_LEN)
		goto out;
	if (jwt_decode(&jwt, token, key, SESSION_KEY_LEN) != 0 || !jwt)
		goto out;
	/* The header chooses the algorithm; only ours is acceptable ("none" and the others are refused). */
	if (jwt_get_alg(jwt) != JWT_ALG_HS256)
		goto out;
	sub = jwt_get_grant(jwt, "sub");
	role = jwt_get_grant(jwt, "role");
	sid = jwt_get_grant(jwt, "sid");
	errno = 0;
	exp = jwt_get_grant_int(jwt, "exp");
	if (errno)
		goto out;
	iat = jwt_get_grant_int(jwt, "iat");
	if (errno)
		goto out;
	if (!sub || !*sub || strlen(sub) >= sizeof(claims->username) || !role_known(role) ||
	    !jwt_get_grant(jwt, "jti") || !sid || !*sid || strlen(sid) > SESSION_SID_MAX)
		goto out;
	if ((int64_t)exp <= now || (int64_t)iat > now + SESSION_CLOCK_SKEW_SEC || iat > exp)
		goto out;
	memset(claims, 0, sizeof(*claims));
	strcpy(claims->username, sub);
	strcpy(claims->role, role);
	strcpy(claims->sid, sid);
	claims->issued_at = iat;
	claims->expires_at = exp;
	rc = 0;
out:
	jwt_free(jwt);
	return rc;
}
