/* Streaming writer for classic pcap files (not pcapng): microsecond timestamps, one link type.
 * All fields are written little-endian byte by byte, so the file does not depend on the host. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define PCAP_LINKTYPE_ETHERNET 1
#define PCAP_GLOBAL_HEADER_LEN 24
#define PCAP_RECORD_HEADER_LEN 16

struct pcap_writer;

/* Creates (truncates) path and writes the 24-byte global header (magic a1b2c3d4, version 2.4,
 * the given snaplen and link type). Returns 0 and sets *out (owned by the caller, release with
 * pcap_writer_close), or a negative errno. */
int pcap_writer_open(const char *path, uint32_t snaplen, uint32_t linktype, struct pcap_writer **out)
	__attribute__((warn_unused_result));

/* Appends one record; the captured length equals the original length (len), and len must not
 * exceed the snaplen. usec must be < 1000000. Returns 0, -EINVAL, or a negative errno from the write. */
int pcap_writer_write(struct pcap_writer *w, uint32_t sec, uint32_t usec, const void *data, size_t len)
	__attribute__((warn_unused_result));

/* Flushes, closes and frees w (NULL is allowed). Returns 0, or a negative errno if any buffered
 * write or the close failed; w is freed either way. */
int pcap_writer_close(struct pcap_writer *w) __attribute__((warn_unused_result));

/* Fills hdr with the 24-byte global header; exposed for tests. */
void pcap_writer_global_header(uint8_t hdr[PCAP_GLOBAL_HEADER_LEN], uint32_t snaplen, uint32_t linktype);
