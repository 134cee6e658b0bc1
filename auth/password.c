#include "auth/password.h"

#include <argon2.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pki.h"

/* argon2id with t=3 passes, m=64 MiB, p=1. OWASP's Password Storage Cheat Sheet asks for at least
 * m=19 MiB, t=2, p=1 for argon2id and RFC 9106 recommends 64 MiB as the memory-constrained choice; 64 MiB
 * and 3 passes make each guess cost an attacker with a stolen table far more than the minimum, while one
 * hash stays around 100-200 ms on one core. p=1 because hashing already runs on the API's worker threads:
 * more lanes would take cores from concurrent logins without adding memory hardness. */
#define PW_T_COST 3
#define PW_M_COST_KIB (64 * 1024)
#define PW_PARALLELISM 1
#define PW_SALT_LEN 16
#define PW_HASH_LEN 32
/* Longest password accepted; argon2 pre-hashes it, the cap only bounds the work of reading it. */
#define PW_MAX_LEN 1024
#define PW_MIN_CHARS 12

int password_hash(const char *password, char **encoded)
{
	uint8_t salt[PW_SALT_LEN];
	size_t pwlen, enclen = argon2_encodedlen(PW_T_COST, PW_M_COST_KIB, PW_PARALLELISM, PW_SALT_LEN, PW_HASH_LEN,
						Argon2_id);
	char *out;
	int rc;

	if (!password || (pwlen = strlen(password)) > PW_MAX_LEN)
		return -EINVAL;
	if ((rc = pki_random_bytes(salt, sizeof(salt))) < 0)
		return rc;
	out = malloc(enclen);
	if (!out)
		return -ENOMEM;
	rc = argon2id_hash_encoded(PW_T_COST, PW_M_COST_KIB, PW_PARALLELISM, password, pwlen, salt, sizeof(salt),
				   PW_HASH_LEN, out, enclen);
	if (rc != ARGON2_OK) {
		free(out);
		return rc == ARGON2_MEMORY_ALLOCATION_ERROR ? -ENOMEM : -EIO;
	}
	*encoded = out;
	return 0;
}

/* The hash an unknown user's login is checked against: made once, with the current parameters, from a
 * random password nobody knows, so its cost always matches a real account's. */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char *dummy_encoded;

static void dummy_init(void)
{
	uint8_t raw[24];
	char pw[49];

	if (pki_random_bytes(raw, sizeof(raw)) < 0)
		return;
	pki_hex(raw, sizeof(raw), pw);
	if (password_hash(pw, &dummy_encoded) < 0)
		dummy_encoded = NULL;
}

bool password_verify(const char *encoded, const char *password)
{
	const char *pw = password ? password : "";
	size_t pwlen = strlen(pw);
	bool known = encoded != NULL && password != NULL && pwlen <= PW_MAX_LEN;
	const char *against = encoded;
	bool ok;

	if (!known) {
		pthread_once(&dummy_once, dummy_init);
		against = dummy_encoded;
		if (pwlen > PW_MAX_LEN)
			pwlen = PW_MAX_LEN;
	}
	if (!against)
		return false;
	ok = argon2id_verify(against, pw, pwlen) == ARGON2_OK;
	return known && ok;
}

bool password_acceptable(const char *password, char *why, unsigned long why_len)
{
	size_t bytes, chars = 0;

	if (!password) {
		snprintf(why, why_len, "no password given");
		return false;
	}
	bytes = strlen(password);
	if (bytes > PW_MAX_LEN) {
		snprintf(why, why_len, "the password is longer than %d bytes", PW_MAX_LEN);
		return false;
	}
	for (size_t i = 0; i < bytes; i++) {
		unsigned char c = (unsigned char)password[i];
		if (c < 0x20 || c == 0x7f) {
			snprintf(why, why_len, "the password contains a control character");
			return false;
		}
		if ((c & 0xc0) != 0x80) /* count UTF-8 code points, not continuation bytes */
			chars++;
	}
	if (chars < PW_MIN_CHARS) {
		snprintf(why, why_len, "the password must have at least %d characters", PW_MIN_CHARS);
		return false;
	}
	return true;
}
