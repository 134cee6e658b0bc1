/* Local account passwords: argon2id (libargon2, Debian) in the PHC encoded form "$argon2id$v=19$m=...". */
#pragma once
#include <stdbool.h>

/* Hashes with a fresh random salt; *encoded is heap-allocated (free()). Returns 0 or a negative errno. */
int password_hash(const char *password, char **encoded) __attribute__((warn_unused_result));
/* Returns true only when `password` matches `encoded`. With encoded == NULL (unknown user) it still runs one
 * hash so that the time taken does not tell whether the user exists, and returns false. */
bool password_verify(const char *encoded, const char *password) __attribute__((warn_unused_result));
/* Minimum policy for a new local password (length >= 12); on failure writes a reason into why. */
bool password_acceptable(const char *password, char *why, unsigned long why_len);
