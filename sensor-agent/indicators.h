/* The malware engine (issue 5): a bundle of indicators of compromise and the matcher the sensor runs over what
 * it sees, raising alerts of engine "malware".
 *
 * Bundle (JSON, untrusted input; README "Alerts"):
 *   {"name": str, "version": str, "indicators": [{"type": "ip"|"domain"|"sni"|"file_name", "value": str,
 *    "description"?: str, "severity"?: "warning"|"minor"|"major"|"critical" (default "critical"),
 *    "reference"?: str}]}
 * At most INDICATORS_MAX indicators; every string 1..255 bytes (optional ones may be empty or null) without
 * control characters; no other fields. Errors name the field: "indicators[3].value: not an IP address or
 * subnet". An indicator repeated (same type and value once normalised) is kept once, the first one.
 *
 * Matching (ASCII case-insensitive where it is about names):
 *   ip         an IPv4 / IPv6 address or CIDR subnet ("203.0.113.0/24", "2001:db8::/32"; host bits are
 *              cleared; an IPv4-mapped IPv6 subnet is taken as IPv4). The most specific subnet wins.
 *   domain     the name and its subdomains, a trailing dot ignored: "evil.example" matches "EVIL.example." and
 *              "a.b.evil.example", not "notevil.example". Checked against DNS/mDNS question names, HTTP Host
 *              headers and TLS server names. The most specific matching domain wins.
 *   sni        like domain, for TLS ClientHello server names only (checked before the domain indicators).
 *   file_name  a file's base name (after the last '/' or '\'), as written in the bundle too.
 * Lookups are hash probes: one per label of a name (hashed once, right to left), one per distinct prefix length
 * of the bundle's subnets, one per file name; a million indicators cost nothing per packet.
 *
 * Alerts (engine "malware", severity the indicator's; raised in operational mode only, like the policy
 * alerts: the learning period's alerts are discarded when it ends):
 *   "Known-bad IP address"            a new flow to or from an indicator address (and a flow still open when
 *                                     the learning period ends or the bundle arrives); src = the flow's client
 *                                     (the indicator address when it initiated), dst = its server; protocol
 *                                     "tcp" / "udp".
 *   "Known-bad domain queried"        a DNS (or mDNS) question for an indicator domain, or a response naming it
 *                                     when its query was not seen; src = the querier, dst = the DNS server;
 *                                     protocol "dns" ("mdns").
 *   "Known-bad TLS server name"       a ClientHello asking for an indicator name; src = client, dst = server;
 *                                     protocol "tls".
 *   "Known-bad HTTP host"             an HTTP request whose Host is an indicator domain; protocol "http".
 *   "Known-bad file name transferred" an SMB create/open of, or an S7 block download/upload of, an indicator
 *                                     file name; src = client, dst = server; protocol "smb" / "s7comm".
 * The message names the observed value, the indicator, its description and the bundle's name and version. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INDICATORS_MAX 1000000
#define INDICATORS_MAX_STRING 255
#define INDICATORS_MAX_FILE (64u * 1024 * 1024)

struct indicators;
struct alerts;

enum indicator_type { INDICATOR_IP = 0, INDICATOR_DOMAIN, INDICATOR_SNI, INDICATOR_FILE_NAME };

struct indicator {
	const char *value;       /* as written in the bundle */
	const char *description; /* "" when absent */
	const char *reference;   /* "" when absent */
	const char *severity;    /* "warning", "minor", "major" or "critical" (static storage) */
	uint8_t type;            /* enum indicator_type */
};

/* Validates and indexes a bundle (borrowed). 0, or -EINVAL with err naming the field, or -ENOMEM. */
int indicators_parse(json_t *bundle, struct indicators **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Reads a bundle file (at most INDICATORS_MAX_FILE bytes). 0, -EINVAL (err says why: JSON syntax with line
 * and column, or the field), -EFBIG, -ENOMEM or -errno of the read. */
int indicators_load(const char *path, struct indicators **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void indicators_free(struct indicators *ind);
size_t indicators_count(const struct indicators *ind);
const char *indicators_name(const struct indicators *ind);
const char *indicators_version(const struct indicators *ind);
const char *indicator_type_name(unsigned type);

/* Matchers: the matching indicator (valid until indicators_free) or NULL. Names are bytes as seen (any
 * length, not NUL-terminated). */
const struct indicator *indicators_match_ip(const struct indicators *ind, int version, const uint8_t *addr);
const struct indicator *indicators_match_domain(const struct indicators *ind, const char *name, size_t len);
/* sni indicators first, then domain indicators. */
const struct indicator *indicators_match_sni(const struct indicators *ind, const char *name, size_t len);
const struct indicator *indicators_match_file(const struct indicators *ind, const char *name, size_t len);

/* The engine's hooks: match and raise the alerts above on a (nothing unless a is in operational mode). */
enum indicator_seen { INDICATOR_SEEN_DNS = 0, INDICATOR_SEEN_DNS_ANSWER, INDICATOR_SEEN_TLS_SNI,
		      INDICATOR_SEEN_HTTP_HOST, INDICATOR_SEEN_FILE };
/* A new flow between client and server (addresses of the IP version, 4 or 16 bytes); transport "tcp"/"udp". */
void indicators_check_flow(struct indicators *ind, struct alerts *a, const char *transport, int version,
			   const uint8_t *client, const uint8_t *server, int64_t ts);
/* A name seen in a PDU of protocol proto between client and server (address text, NULL when unknown). */
void indicators_check_name(struct indicators *ind, struct alerts *a, enum indicator_seen what, const char *proto,
			   const char *client, const char *server, const void *name, size_t len, int64_t ts);
