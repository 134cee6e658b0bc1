/* Packet sources: a pcap/pcapng file, or a live interface, through libpcap. */
#pragma once
#include <pcap/pcap.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct capture_stats {
	uint64_t packets;   /* packets handed to the callback */
	uint64_t bytes;     /* sum of their original (wire) lengths */
	bool truncated;     /* the file ended in the middle of a record: what came before was processed */
	char error[256];    /* libpcap's message for a truncated or unreadable file, else "" */
	/* Files: position reached and total size (for progress), updated every few thousand packets. */
	uint64_t file_pos, file_size;
	/* Live: libpcap's counters (pcap_stats), refreshed about once a second: packets the kernel received,
	 * dropped because the ring buffer was full, and dropped by the interface/driver. */
	uint64_t received, kernel_drops, iface_drops;
};

/* Live capture settings. */
struct capture_opts {
	const char *bpf;   /* filter expression, or NULL */
	bool no_promisc;   /* promiscuous mode is on unless this is set */
	unsigned buffer_mib; /* kernel ring buffer size (0: libpcap's default, 2 MiB) */
	unsigned snaplen;  /* 0: 65535 */
};

/* Called for each packet; a non-zero return stops the capture (and is returned by capture_*). A live capture
 * also calls it with h == NULL and data == NULL when about 100 ms passed without a packet (an idle tick), so
 * that a quiet network still gets its periodic work done. */
typedef int (*capture_packet_fn)(void *ud, int linktype, const struct pcap_pkthdr *h, const uint8_t *data);

/* Reads a whole file. Returns 0 when the file was read to its end, including a truncated end (then
 * st->truncated is true and st->error says so); a negative errno when it cannot be opened or is not a capture
 * (st->error says why); or the callback's non-zero value. */
int capture_file(const char *path, capture_packet_fn fn, void *ud, struct capture_stats *st)
	__attribute__((warn_unused_result));
/* Captures from an interface until *stop becomes non-zero. opts may be NULL (defaults). */
int capture_iface(const char *iface, const struct capture_opts *opts, volatile sig_atomic_t *stop,
		  capture_packet_fn fn, void *ud, struct capture_stats *st) __attribute__((warn_unused_result));
