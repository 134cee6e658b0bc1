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

#include "common/wire.h"

struct alerts;

enum alerts_mode { ALERTS_LEARNING = 0, ALERTS_OPERATIONAL };

struct alerts *alerts_new(void);
void alerts_free(struct alerts *a);
/* Sets the mode; learning starts a new learning period (its clock starts at the next packet). */
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
/* ARP: mac announced ip, which it owns (learnt while learning; a later conflict by its owner is no alert). */
void alerts_arp_binding(struct alerts *a, const char *ip, const char *mac, int64_t ts);
/* ARP: mac announced ip, which owner_mac announced before. */
void alerts_ip_conflict(struct alerts *a, const char *ip, const char *mac, const char *owner_mac, int64_t ts);

/* Evidence captures: when an alert is raised for the first time (not for later occurrences), save(ud, ref) keeps
 * the packets of the packet being handled and returns ref, filled with the capture's name (wire_is_evidence_ref),
 * or NULL when it kept none. The alert's record and JSON then carry "evidence": ref. save NULL: none. */
typedef const char *(*alerts_evidence_fn)(void *ud, char ref[WIRE_MAX_EVIDENCE_REF + 1]);
void alerts_set_evidence_hook(struct alerts *a, alerts_evidence_fn save, void *ud);

/* The alerts as the inspect document's "alerts" array (sorted; new reference). */
json_t *alerts_json(const struct alerts *a);
size_t alerts_count(const struct alerts *a);

/* --- Engines over time (alerts_time.c), fed about once a minute of packet time --- */

/* A new connection (already known new) from a monitored device to a public address: an anomaly. */
void alerts_internet_connection(struct alerts *a, const char *client, const char *server, const char *transport,
				unsigned port, int64_t ts);
/* packets the connection carried over the last span µs. */
void alerts_conn_rate(struct alerts *a, const char *client, const char *server, const char *transport,
		      unsigned port, uint64_t packets, int64_t span, int64_t now);
/* A device of the baseline and the packet time it was last seen. */
void alerts_device_activity(struct alerts *a, const char *key, const char *addr, int64_t last_seen, int64_t now);
/* All packets the capture saw over the last span µs. */
void alerts_total_rate(struct alerts *a, uint64_t packets, int64_t span, int64_t now);

/* --- Over time (alerts_state.c) --- */

/* The learning clock, in packet time: a learning period starts at the first call after alerts_set_mode(LEARNING)
 * and is done once no new baseline item appeared for quiet_usec. */
bool alerts_learning_done(struct alerts *a, int64_t now, int64_t quiet_usec);
size_t alerts_baseline_size(const struct alerts *a);
/* The console's latest mode request that was applied (kept in the baseline file). */
void alerts_set_applied_rev(struct alerts *a, int64_t rev);
int64_t alerts_applied_rev(const struct alerts *a);

/* Replaces the console's learned items (a JSON array of learn items, common/wire.h): an item in it never alerts.
 * 0 or -ENOMEM (the previous set stays). */
int alerts_set_learned(struct alerts *a, json_t *items);
size_t alerts_learned_count(const struct alerts *a);

/* Alert records for the console (common/wire.h "alert"): one per alert with occurrences since its previous
 * record. mac_of (may be NULL) writes the MAC of an address into out and returns it, or returns NULL. Reported
 * alerts idle for an hour of packet time are forgotten. 0, or the first negative value emit returned. */
typedef const char *(*alerts_mac_fn)(void *ud, const char *addr, char out[18]);
typedef int (*alerts_record_fn)(void *ud, json_t *record);
int alerts_flush(struct alerts *a, int64_t now, alerts_mac_fn mac_of, void *mac_ud, alerts_record_fn emit, void *ud);

/* The baseline file: the learnt items, the mode and the learning clock. Written atomically (0600); 0 or
 * -errno. alerts_load returns -ENOENT when there is none and -EINVAL for a file that is not one. */
int alerts_save(struct alerts *a, const char *path);
int alerts_load(struct alerts *a, const char *path);
/* Baseline items added since the last save. */
uint64_t alerts_unsaved(const struct alerts *a);
