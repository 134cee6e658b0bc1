/* The sensor's device inventory and connection map, built from dissected packets (packet time throughout).
 * See docs/architecture.md for device identity and the record shapes. */
#pragma once
#include <jansson.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>

struct inventory;
struct oui_db;

/* oui may be NULL (no vendor names). The inventory does not own it. */
struct inventory *inventory_new(const struct oui_db *oui);
void inventory_free(struct inventory *inv);

/* Dissects one captured frame of the given DLT link type and updates devices, connections and flows. */
void inventory_packet(struct inventory *inv, int linktype, const struct pcap_pkthdr *h, const uint8_t *data);

/* Called once per record; `record` is borrowed (the callee json_incref()s it to keep it) and carries no "seq"
 * yet. A non-zero return stops the flush and is returned by inventory_flush (the remaining changes stay
 * pending for the next flush). */
typedef int (*inventory_record_fn)(void *ud, json_t *record);
/* Emits a `device` record for every device changed since the last flush and a `connection` record (with
 * counter increments) for every connection with new traffic, in a deterministic order. */
int inventory_flush(struct inventory *inv, inventory_record_fn fn, void *ud);
/* Marks every device and connection changed, so the next inventory_flush emits all of them: a snapshot, after
 * the journal compacted its unacked inventory records away or the console lost records. Connection records
 * still carry increments since the last emitted ones (the console adds them), so counts that were in compacted
 * records are not sent again. */
void inventory_mark_all_dirty(struct inventory *inv);

/* The `inspect --json` document: {"devices":[...],"connections":[...],"alerts":[],"stats":{...}}. */
json_t *inventory_to_json(const struct inventory *inv);
/* Packet time of the last packet seen, µs since the epoch (0 before the first). */
int64_t inventory_last_packet_usec(const struct inventory *inv);

/* Deep-inspection memory caps: total reassembly + per-flow state bytes, and bytes buffered per flow direction
 * (0 keeps a default: 64 MiB, 64 KiB). Only before the first packet: -EBUSY afterwards, -ENOMEM. */
int inventory_set_dpi_limits(struct inventory *inv, size_t total_bytes, size_t flow_bytes)
	__attribute__((warn_unused_result));
/* Parses the --dpi-mem-mib / --dpi-flow-kib option value for opt ('M' or 'K'); 0 and *out in bytes, or -1. */
int inventory_parse_limit(int opt, const char *arg, size_t *out) __attribute__((warn_unused_result));

/* Turns the alert engines on (alerts.h): in learning mode they build the baseline; switching to operational
 * forgets the alerts raised so far and reports what departs from the baseline from then on, in the inspect
 * document's "alerts". -ENOMEM. */
int inventory_enable_alerts(struct inventory *inv, bool operational) __attribute__((warn_unused_result));
/* The alert engines (NULL until enabled); `run` drives their mode, baseline file and learned items. */
struct alerts *inventory_alerts(struct inventory *inv);
/* A live capture without packets: time passes for the engines that watch traffic over time (now: wall clock,
 * which is packet time on a live interface). */
void inventory_idle(struct inventory *inv, int64_t now);

/* Gives the malware engine its indicator bundle (indicators.h; the inventory takes ownership and frees the
 * previous one; NULL clears). Its alerts are raised, in operational mode, once alerts are enabled. Between
 * packets only. */
struct indicators;
void inventory_set_indicators(struct inventory *inv, struct indicators *ind);

/* Evidence captures (evidence.h): the inventory takes ownership of the store (freeing the previous one; NULL turns
 * them off), feeds it every decoded packet, and a new alert saves the capture of the packet that raised it.
 * Between packets only. inventory_evidence: the store, borrowed (for its stats), or NULL. */
struct evidence;
void inventory_set_evidence(struct inventory *inv, struct evidence *ev);
struct evidence *inventory_evidence(struct inventory *inv);

struct settings;
/* Applies the console's settings (settings.h; borrowed until replaced or the inventory is freed; NULL for
 * none): device records gain external/dynamic_address/vlan_names. With resend every device is sent again;
 * a file replay passes false, since its record sequence must not depend on when the settings arrived (a
 * resumed replay skips the records an interrupted one journaled by counting them). */
void inventory_set_settings(struct inventory *inv, const struct settings *s, bool resend);

/* The capture ended: every flow's inspection finishes (PDUs held beyond holes are parsed) and releases
 * its state. Call before the final flush or inventory_to_json of a file replay. */
void inventory_drain(struct inventory *inv);

/* Records that one capture file was read (truncated: it ended mid-record); shows in the stats. */
void inventory_note_file(struct inventory *inv, bool truncated);
