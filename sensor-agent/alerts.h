/* Alerts on the sensor: a baseline learnt in learning mode and the detection engines that compare traffic
 * against it (issue 5). Packet time throughout.
 *
 * Engines and what triggers them (README "Alerts" documents the same list):
 *   policy_violation   new device, new connection, new protocol or function code between a pair, program
 *                      download/upload or firmware update from a station not seen programming while learning,
 *                      a write from a source that did not write to that server while learning.
 *                      Only in operational mode.
 *   protocol_violation malformed PDUs and illegal function codes (the dissectors' violations), exception storms.
 *   anomaly            port scans (one source probing many ports of a host), ARP spoofing / IP conflicts.
 *   operational        PLC stop/start/mode change, restarts, reinitialize, communication control, IP or name
 *                      change over an industrial protocol, factory reset.
 * The inventory calls the alerts_* hooks; alerts are aggregated per (engine, title, source, destination,
 * protocol) with a count. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct alerts;

enum alerts_mode { ALERTS_LEARNING = 0, ALERTS_OPERATIONAL };

struct alerts *alerts_new(void);
void alerts_free(struct alerts *a);
void alerts_set_mode(struct alerts *a, enum alerts_mode m);
enum alerts_mode alerts_mode(const struct alerts *a);
/* Forgets the alerts raised so far (the baseline stays). */
void alerts_clear(struct alerts *a);

/* Hooks. Addresses are text (IP or MAC); NULL where unknown. */
void alerts_new_device(struct alerts *a, const char *key, const char *addr, int64_t ts);
void alerts_new_connection(struct alerts *a, const char *transport, const char *client, const char *server,
			   unsigned port, int64_t ts);
/* A TCP connection attempt (SYN without ACK) from client to server:port. */
void alerts_syn(struct alerts *a, const char *client, const char *server, unsigned port, int64_t ts);
void alerts_pair_protocol(struct alerts *a, const char *client, const char *server, const char *proto, int64_t ts);
void alerts_pair_function(struct alerts *a, const char *client, const char *server, const char *proto,
			  uint32_t code, const char *name, int64_t ts);
/* A dissector's event or violation (proto.h names); src/dst the PDU's sender and receiver; src_is_client:
 * the PDU was a request. */
void alerts_dpi(struct alerts *a, bool violation, const char *proto, const char *name, const char *detail,
		const char *src, const char *dst, bool src_is_client, int64_t ts);
/* Raises an alert, or counts another occurrence of the same (engine, title, src, dst, protocol). engine,
 * severity ("warning"|"minor"|"major"|"critical") and remediation must be static strings; the others are copied.
 * Used by the engines in other files (indicator matches). */
void alerts_raise(struct alerts *a, const char *engine, const char *severity, const char *title, const char *src,
		  const char *dst, const char *proto, const char *remediation, int64_t ts, const char *message);
/* ARP: mac announced ip, which owner_mac announced before. */
void alerts_ip_conflict(struct alerts *a, const char *ip, const char *mac, const char *owner_mac, int64_t ts);

/* The alerts as the inspect document's "alerts" array (sorted; new reference). */
json_t *alerts_json(const struct alerts *a);
size_t alerts_count(const struct alerts *a);
