#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jwt.h>

#include "auth/session_token.h"
#include "common/pki.h"

static const uint8_t key[SESSION_KEY_LEN] = "0123456789abcdef0123456789abcde";

static void issue_and_verify(void **state)
{
	struct session_claims c;
	char *jwt = NULL;
	int64_t now = (int64_t)time(NULL);

	assert_int_equal(session_token_issue(key, "alice", "analyst", "sid-1", 1800, &jwt), 0);
	assert_int_equal(session_token_verify(key, jwt, now, &c), 0);
	assert_string_equal(c.sid, "sid-1");
	assert_string_equal(c.username, "alice");
	assert_string_equal(c.role, "analyst");
	assert_true(c.expires_at - c.issued_at == 1800);
	assert_int_equal(session_token_issue(key, "alice", "root", "sid-1", 1800, &jwt), -EINVAL);
	assert_int_equal(session_token_issue(key, "alice", "admin", "", 1800, &jwt), -EINVAL);
	assert_int_equal(session_token_issue(key, "alice", "admin", NULL, 1800, &jwt), -EINVAL);
	free(jwt);
}

static void expired(void **state)
{
	struct session_claims c;
	char *jwt = NULL;
	int64_t now = (int64_t)time(NULL);

	assert_int_equal(session_token_issue(key, "bob", "admin", "s", 60, &jwt), 0);
	assert_int_equal(session_token_verify(key, jwt, now + 59, &c), 0);
	assert_int_equal(session_token_verify(key, jwt, now + 61, &c), -EACCES);
	free(jwt);
}

static void tampered_and_wrong_key(void **state)
{
	uint8_t other[SESSION_KEY_LEN];
	struct session_claims c;
	char *jwt = NULL, *dot;
	int64_t now = (int64_t)time(NULL);

	assert_int_equal(session_token_issue(key, "bob", "read_only", "s", 600, &jwt), 0);
	memcpy(other, key, sizeof(other));
	other[0] ^= 1;
	assert_int_equal(session_token_verify(other, jwt, now, &c), -EACCES);
	/* flip one character of the payload */
	dot = strchr(jwt, '.');
	dot[3] = dot[3] == 'A' ? 'B' : 'A';
	assert_int_equal(session_token_verify(key, jwt, now, &c), -EACCES);
	assert_int_equal(session_token_verify(key, "garbage", now, &c), -EACCES);
	assert_int_equal(session_token_verify(key, "", now, &c), -EACCES);
	free(jwt);
}

static char *b64(const char *s)
{
	char *out = malloc(strlen(s) * 4 / 3 + 4);
	pki_base64url((const uint8_t *)s, strlen(s), out);
	return out;
}

static void alg_none_and_others_rejected(void **state)
{
	struct session_claims c;
	int64_t now = (int64_t)time(NULL);
	char payload[256], token[1024];
	char *h_none = b64("{\"alg\":\"none\",\"typ\":\"JWT\"}");
	char *h_hs512 = b64("{\"alg\":\"HS512\",\"typ\":\"JWT\"}");
	char *p;

	snprintf(payload, sizeof(payload),
		 "{\"sub\":\"mallory\",\"role\":\"admin\",\"jti\":\"x\",\"iat\":%lld,\"exp\":%lld}", (long long)now,
		 (long long)now + 600);
	p = b64(payload);
	snprintf(token, sizeof(token), "%s.%s.", h_none, p);
	assert_int_equal(session_token_verify(key, token, now, &c), -EACCES);
	snprintf(token, sizeof(token), "%s.%s", h_none, p);
	assert_int_equal(session_token_verify(key, token, now, &c), -EACCES);
	snprintf(token, sizeof(token), "%s.%s.AAAA", h_hs512, p);
	assert_int_equal(session_token_verify(key, token, now, &c), -EACCES);
	free(h_none);
	free(h_hs512);
	free(p);
}

/* A token signed with our key by hand: the claims session_token_issue would write, with `alg`, and a sid only
 * when one is given. The caller frees the string. */
static char *hand_made(jwt_alg_t alg, const char *sid, int64_t now)
{
	jwt_t *jwt = NULL;
	char *s;

	assert_int_equal(jwt_new(&jwt), 0);
	assert_int_equal(jwt_add_grant(jwt, "sub", "mallory"), 0);
	assert_int_equal(jwt_add_grant(jwt, "role", "admin"), 0);
	assert_int_equal(jwt_add_grant(jwt, "jti", "x"), 0);
	if (sid)
		assert_int_equal(jwt_add_grant(jwt, "sid", sid), 0);
	assert_int_equal(jwt_add_grant_int(jwt, "iat", (long)now), 0);
	assert_int_equal(jwt_add_grant_int(jwt, "exp", (long)now + 600), 0);
	assert_int_equal(jwt_set_alg(jwt, alg, key, SESSION_KEY_LEN), 0);
	s = jwt_encode_str(jwt);
	assert_non_null(s);
	jwt_free(jwt);
	return s;
}

/* Correctly signed with our key, but HS512: still refused, only HS256 is ours. */
static void other_alg_with_our_key_rejected(void **state)
{
	struct session_claims c;
	int64_t now = (int64_t)time(NULL);
	char *s = hand_made(JWT_ALG_HS512, "abc", now);

	assert_int_equal(session_token_verify(key, s, now, &c), -EACCES);
	free(s);
}

/* Correctly signed HS256 without a session id (a token from before sessions were revocable): refused; the same
 * token with a sid is accepted, so the refusal is about the sid alone. */
static void missing_sid_rejected(void **state)
{
	struct session_claims c;
	int64_t now = (int64_t)time(NULL);
	char *s = hand_made(JWT_ALG_HS256, NULL, now);

	assert_int_equal(session_token_verify(key, s, now, &c), -EACCES);
	free(s);
	s = hand_made(JWT_ALG_HS256, "abc", now);
	assert_int_equal(session_token_verify(key, s, now, &c), 0);
	assert_string_equal(c.sid, "abc");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(issue_and_verify),
		cmocka_unit_test(expired),
		cmocka_unit_test(tampered_and_wrong_key),
		cmocka_unit_test(alg_none_and_others_rejected),
		cmocka_unit_test(other_alg_with_our_key_rejected),
		cmocka_unit_test(missing_sid_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
