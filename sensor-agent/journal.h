/* The sensor's on-disk record journal: every record gets the next sequence number and is appended here before
 * it is sent; the console's acks say up to which seq the journal may forget.
 *
 * Directory layout (inside the sensor state dir or any dir given to journal_open):
 *   journal  append-only; each record is framed as
 *            [u32le payload length][u32le crc32c(seq bytes || payload)][u64le seq][payload: JSON object]
 *   acked    the highest acked seq as decimal text, replaced atomically (temp + fsync + rename)
 *
 * Durability: journal_append only write()s; journal_sync fdatasync()s, so call it once per appended batch and
 * before handing its records to the uplink. On open the file is scanned; the first frame that is torn (short),
 * oversized, out of order or fails its CRC ends the journal and the tail from there on is truncated away (and
 * logged). Seqs only grow: next_seq is recovered as max(last seq in file, acked) + 1.
 *
 * Thread safety: every function locks the journal, so the capture thread can append while the uplink thread
 * reads and acks. This simple version keeps one file and never frees space; segments and disk caps come later. */
#pragma once
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define JOURNAL_MAX_RECORD (4u * 1024 * 1024) /* largest payload accepted on append and on scan */

struct journal;

/* Opens (creating if needed, mode 0600 files) the journal in dir. Returns 0 or a negative errno. */
int journal_open(const char *dir, struct journal **out) __attribute__((warn_unused_result));
/* Closes and frees (NULL is fine). Does not sync: call journal_sync first when it matters. */
void journal_close(struct journal *j);

/* Assigns seq = next_seq++, sets "seq" in `record` (borrowed; the caller keeps its reference) and appends it.
 * On success *seq_out (may be NULL) holds the seq. Returns 0 or a negative errno (then nothing was kept). */
int journal_append(struct journal *j, json_t *record, uint64_t *seq_out) __attribute__((warn_unused_result));
/* fdatasync()s everything appended so far. */
int journal_sync(struct journal *j) __attribute__((warn_unused_result));

/* Reads the records with consecutive seqs starting at the first stored seq >= `from`, at most max_records and
 * at most max_bytes of payload (but always at least one record when one exists). *out_array is a new JSON array
 * (owned by the caller, possibly empty). Every record is re-checked against its CRC: -EIO on a mismatch.
 * Returns the number of records or a negative errno. */
int journal_read_from(struct journal *j, uint64_t from, size_t max_records, size_t max_bytes, json_t **out_array)
	__attribute__((warn_unused_result));

/* Records that every record up to seq is committed by the console; persists it. An ack at or below the current
 * one is a no-op; an ack beyond the last appended seq also raises next_seq above it (the console knows seqs this
 * journal lost, so new records must not reuse them). */
int journal_ack(struct journal *j, uint64_t seq) __attribute__((warn_unused_result));

uint64_t journal_acked(struct journal *j);     /* 0 when nothing was ever acked */
uint64_t journal_next_seq(struct journal *j);  /* the seq the next append gets (>= 1) */
uint64_t journal_first_seq(struct journal *j); /* the lowest seq stored, or next_seq when the file is empty */
uint64_t journal_last_seq(struct journal *j);  /* next_seq - 1 */
size_t journal_count(struct journal *j);       /* records stored in the file */
