/* Session tokens: HS256 JWTs (libjwt) signed with the console's key from its state directory.
 * Claims: sub (username), role, sid (the sessions row, server/api_auth.c), iat, exp, jti. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define SESSION_KEY_LEN 32
#define SESSION_SID_MAX 64

struct session_claims {
	char username[257];
	char role[32];     /* admin | analyst | read_only */
	char sid[SESSION_SID_MAX + 1]; /* session id (uuid text); required */
	int64_t issued_at;  /* seconds since the epoch */
	int64_t expires_at;
};

/* Issues a token for session sid (1..SESSION_SID_MAX characters) valid for ttl_sec; *jwt is heap-allocated
 * (free()). */
int session_token_issue(const uint8_t key[SESSION_KEY_LEN], const char *username, const char *role, const char *sid,
			int64_t ttl_sec, char **jwt) __attribute__((warn_unused_result));
/* Verifies signature, algorithm (HS256 only), the presence of sid, and expiry at `now` (seconds); fills claims. Returns 0, or
 * -EACCES for any invalid token (never says which check failed). */
int session_token_verify(const uint8_t key[SESSION_KEY_LEN], const char *jwt, int64_t now,
			 struct session_claims *claims) __attribute__((warn_unused_result));
