/* Forwarding: a rule's action (where and how its alerts go), parsed and validated from the JSON the API takes and
 * the database keeps (docs/forwarding.md "Actions"). The API validates with it before storing; the delivery thread
 * parses the stored action with it again. No I/O: PEM texts are parsed in memory with OpenSSL. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum fwd_action_type { FWD_ACT_SYSLOG, FWD_ACT_WEBHOOK, FWD_ACT_HEC, FWD_ACT_EMAIL };
enum fwd_format { FWD_FMT_CEF, FWD_FMT_LEEF, FWD_FMT_JSON, FWD_FMT_TEXT };
enum fwd_transport { FWD_TR_UDP, FWD_TR_TCP, FWD_TR_TLS };

#define FWD_TO_MAX 20     /* email recipients */
#define FWD_PEM_MAX 65536 /* bytes of one PEM text (a CA bundle) */

/* Keys of an action that are secrets: stored, never returned by the API, never logged. */
extern const char *const fwd_secret_keys[];
extern const size_t fwd_secret_keys_n;

/* A parsed action. Strings point into `json` (which the struct holds a reference to); NULL when absent. */
struct fwd_action {
	json_t *json;
	enum fwd_action_type type;
	/* syslog */
	enum fwd_format format;
	enum fwd_transport transport;
	const char *host;
	int port;
	int facility; /* 0..23, default 1 (user) */
	const char *ca_pem, *client_cert_pem, *client_key_pem; /* TLS (syslog), webhook, hec, email */
	/* webhook, hec */
	const char *url, *secret, *token, *index, *sourcetype;
	/* email */
	const char *smtp_host;
	int smtp_port;
	const char *from;
	const char *to[FWD_TO_MAX];
	size_t nto;
	bool starttls;
	const char *username, *password;
};

/* Checks an action object and fills *out (taking a reference to action). Unknown keys, missing or malformed
 * members fail: returns -EINVAL with the offending member in field ("action.port") and a reason in msg. On success
 * release with fwd_action_clear. */
int fwd_action_parse(json_t *action, struct fwd_action *out, char field[64], char msg[160])
	__attribute__((warn_unused_result));
void fwd_action_clear(struct fwd_action *a);

/* True when two action objects (unvalidated JSON) have the same type and send to the same place: the same URL,
 * host and port, transport, SMTP relay, STARTTLS setting and CA. A PATCH may keep stored secrets only then: a
 * changed destination with a kept HEC token or SMTP password would hand it to whoever the new one is. */
bool fwd_action_same_destination(json_t *a, json_t *b) __attribute__((warn_unused_result));
