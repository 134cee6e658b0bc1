/* Evidence captures (issue 5): the sensor keeps the last packets of every flow in memory and, when an alert is
 * raised, writes that alert's flow as a small pcap file; the console fetches it over the sensor channel
 * (evidence_request / evidence, common/wire.h) for GET /api/v1/alerts/{id}/pcap. docs/dpi.md "Evidence
 * captures" describes the bounds.
 *
 * A flow here is, for IP, the unordered pair of (address, port) endpoints plus the IP protocol (both directions
 * share one ring; ports are 0 without a TCP/UDP header, e.g. ICMP or later fragments), and for other frames
 * (ARP, LLDP, PROFINET DCP, ...) the ethertype plus the unordered pair of MACs. Each flow keeps its last
 * EVIDENCE_RING packets, each cut at EVIDENCE_SNAP bytes (and at the capture's snap length), in one allocation
 * that grows through a few size classes; released entries are cached per class, so a packet of an existing
 * flow costs a lookup and a copy, no allocation. All flows together stay under a memory cap (least recently
 * active flows evicted whole) and a flow is dropped after EVIDENCE_IDLE_USEC of packet time without packets.
 *
 * Files: <dir>/<ref>.pcap, classic libpcap format with the capture's link type and the original timestamps,
 * written atomically (tmp + rename, 0600, not fsynced: evidence is best effort) by a writer thread, so that the
 * capture thread never waits on the disk (evidence_files.h). The directory holds at most max_files files /
 * max_dir_bytes bytes, the oldest deleted first; it is scanned once at start. One thread uses a store;
 * evidence_read may run on any (files only). */
#pragma once
#include <jansson.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/wire.h"
#include "sensor-agent/dissect/dissect.h"

#define EVIDENCE_DIR_NAME "evidence"              /* run: <state>/evidence */
#define EVIDENCE_RING 16                          /* packets kept per flow */
#define EVIDENCE_SNAP 2048                        /* bytes kept per packet */
#define EVIDENCE_MEM_DEFAULT ((size_t)32 << 20)   /* all flows' packets and bookkeeping */
#define EVIDENCE_IDLE_USEC (300LL * 1000000)      /* packet time */
#define EVIDENCE_MAX_FILES 2000
#define EVIDENCE_MAX_DIR_BYTES ((uint64_t)256 << 20)
#define EVIDENCE_REF_LEN (WIRE_MAX_EVIDENCE_REF + 1)

struct evidence;

/* Zero members keep the defaults above. drop_when_busy: a capture that finds the writer's queue full
 * (evidence_files.h) is not kept, rather than stalling the caller (a live capture); otherwise the save waits. */
struct evidence_limits {
	size_t mem_bytes;
	unsigned max_files;
	uint64_t max_dir_bytes;
	bool drop_when_busy;
};

struct evidence_stats {
	size_t flows, packets, bytes;         /* held now: flows, packets, packet bytes */
	size_t mem, mem_peak, mem_cap;        /* bytes allocated (flows, cached entries, the table), peak, cap */
	uint64_t evicted, expired;            /* flows dropped at the cap, idle flows dropped */
	uint64_t saved, save_errors, dropped; /* captures saved, failed writes, not kept (writer behind) */
	size_t files;                         /* in the directory now */
	uint64_t dir_bytes, deleted;          /* their bytes, files deleted by the bound */
};

/* A store writing into dir, which is created (0700, one level) when missing; its captures and leftover temporary
 * files are scanned once. lim may be NULL. NULL with err filled on failure. */
struct evidence *evidence_new(const char *dir, const struct evidence_limits *lim, char *err, size_t errlen);
void evidence_free(struct evidence *ev);

/* One captured frame, already decoded (f gives the flow key); it becomes the packet being handled until
 * evidence_packet_end. ev may be NULL (no-op). */
void evidence_packet(struct evidence *ev, int linktype, const struct pcap_pkthdr *h, const uint8_t *data,
		     const struct dissect_frame *f);
void evidence_packet_end(struct evidence *ev);

/* Saves the flow of the packet being handled (its last EVIDENCE_RING packets, the handled one last) as a
 * capture and returns ref filled with its name, or NULL (no packet being handled, ev NULL, or the writer is
 * behind with drop_when_busy). The file appears once the writer got to it (evidence_sync waits for that); a
 * failed write is logged and counted. Called again for the same packet, returns the same ref. Refs are
 * "<first packet's time, µs, hex>-<counter, hex>", unique in the directory (wire_is_evidence_ref). */
const char *evidence_save(struct evidence *ev, char ref[EVIDENCE_REF_LEN]);
/* Waits until every capture saved so far is written (ev may be NULL). evidence_free does too. */
void evidence_sync(struct evidence *ev);

void evidence_get_stats(const struct evidence *ev, struct evidence_stats *st);
/* The stats as a JSON object (new reference; NULL when out of memory). */
json_t *evidence_stats_json(const struct evidence *ev);

/* Reads the capture ref of dir into a heap buffer (free()). Any thread: it touches only the file system.
 * 0; -ENOENT when there is no such capture (also an invalid ref, or a file that is not a pcap); -EFBIG when it
 * is larger than max; -ENOMEM or another -errno. */
int evidence_read(const char *dir, const char *ref, size_t max, uint8_t **data, size_t *len)
	__attribute__((warn_unused_result));
