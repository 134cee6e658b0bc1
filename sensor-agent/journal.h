/* The sensor's on-disk record journal: every record gets the next sequence number and is appended here before
 * it is sent; the console's acks say up to which seq the journal may forget.
 *
 * Directory layout (inside the sensor state dir or any dir given to journal_open):
 *   journal/<base>.seg  segment files, <base> the 20-digit zero-padded seq that every record of the segment is
 *                       at or above (the first record's seq when it was created; compaction keeps the name).
 *                       Each record is framed as
 *                       [u32le payload length][u32le crc32c(seq bytes || payload)][u64le seq][payload: JSON object]
 *                       Appends go to the newest segment until it reaches segment_bytes, then a new one starts.
 *   acked               the journal's state, replaced atomically (temp + fdatasync + rename): a JSON object
 *                       {"acked", "discard_through", "freed_records", "freed_digest", "compacted", "lost",
 *                       "corrupt_bytes", "overflow"?} (an older journal's plain decimal acked seq is read too).
 * An older single-file journal (<dir>/journal as a file) is moved into the segment directory on open: its frame
 * format is the segment format.
 *
 * Freeing: a segment whose records are all acked (and that is no longer appended to) is deleted. Deleted
 * segments are always the oldest, so "discard_through" (the highest seq of any deleted segment) says which
 * records are gone; it is stored before the unlink, so a crash in between deletes the leftover on the next
 * open instead of counting it twice.
 *
 * Durability: journal_append write()s, and fdatasync()s when sync_interval_ms or sync_bytes have passed since
 * the last sync (a threshold of 0 is always passed, so 0/0 syncs every append). journal_sync forces one,
 * journal_sync_due syncs when the thresholds have passed. Records that are written but not synced survive a
 * kill -9 (they are in the page cache) but not a power loss; they may already be sent to the console, whose
 * ack beyond the last stored seq then raises next_seq. On open every segment is scanned in order: the first
 * frame that is torn (short), oversized, out of order, fails its CRC or is not a JSON object ends its segment
 * and the segment is truncated there. In the newest segment that is a torn write (logged as a warning); in an
 * older one it is corruption (logged as an error, its bytes counted in "corrupt_bytes"), and the later
 * segments are still read. Seqs only grow: next_seq = max(last stored seq, acked, discard_through) + 1.
 *
 * Disk cap: before an append would take the segments past cap_bytes, the journal
 *   1. compacts, when the unacked inventory records (kinds device, connection, device_remove) are worth it:
 *      every unacked segment is rewritten without them (seqs stay, so reads have gaps) and
 *      journal_take_compacted() reports it once, so the caller re-emits its inventory as a snapshot;
 *   2. if still over the cap, drops the oldest segments whole, counts the unacked records lost by kind and
 *      appends an overflow record, an alert itself (engine operational, severity major, title "Sensor journal
 *      overflow", "lost": {kind: n}, "lost_from"/"lost_to": the seq range). Room for it is always reserved.
 *      The lost counts and the overflow's seq are stored with discard_through before anything is deleted, so
 *      a crash in between writes the overflow record on the next open.
 * Both free down to 7/8 of the cap, so a full journal does not compact or drop on every append.
 *
 * Accounting: the journal keeps `records` and `digest` (the sum mod 2^64 of wire_record_digest(), common/wire.h)
 * over every record it ever appended and did not compact away or drop: the freed (deleted, acked) ones are
 * kept as totals in the state file, the stored ones are recomputed by the scan, so after a kill -9 both are
 * exact for the recovered journal. The console keeps the same sums of what it applied.
 *
 * Thread safety: every function locks the journal, so the capture thread can append while the uplink thread
 * reads and acks. One process at a time may open a journal for writing (an flock on the segment directory,
 * -EBUSY otherwise); a read-only open (journal-status) takes no lock and changes nothing: beside a live writer
 * it sees a moment's picture (a torn tail being written is skipped, a segment deleted meanwhile is skipped, so
 * its totals are exact only once the writer stopped). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOURNAL_MAX_RECORD (4u * 1024 * 1024) /* largest payload accepted on append and on scan */

/* Record kinds, for the lost counts (the wire kinds of common/wire.h, plus anything else). */
enum journal_kind {
	JOURNAL_KIND_DEVICE,
	JOURNAL_KIND_CONNECTION,
	JOURNAL_KIND_HEALTH,
	JOURNAL_KIND_DEVICE_REMOVE,
	JOURNAL_KIND_EVENT,
	JOURNAL_KIND_VIOLATION,
	JOURNAL_KIND_ALERT,
	JOURNAL_KIND_OTHER,
	JOURNAL_KINDS
};
/* "device", "connection", ... , "other". */
const char *journal_kind_name(enum journal_kind k);

struct journal_opts {
	uint64_t segment_bytes;    /* roll segments at this size; 0: 8 MiB (clamped to 4 KiB..1 GiB and cap/4) */
	uint64_t cap_bytes;        /* disk cap of all segments; 0: 1 GiB (at least 64 KiB) */
	unsigned sync_interval_ms; /* fdatasync when this long passed since the last sync (0: every append) */
	uint64_t sync_bytes;       /* ... or this many bytes were appended since (0: every append) */
	bool read_only;            /* scan only: no lock, no repair, no migration, appends fail with -EROFS */
};
#define JOURNAL_DEFAULT_SEGMENT_BYTES (8ull << 20)
#define JOURNAL_DEFAULT_CAP_BYTES (1ull << 30)
#define JOURNAL_DEFAULT_SYNC_MS 200u
#define JOURNAL_DEFAULT_SYNC_BYTES (1ull << 20)
/* Fills o with the defaults above. */
void journal_opts_default(struct journal_opts *o);

struct journal;

/* Opens (creating if needed; files mode 0600) the journal in dir with default options. Returns 0 or a negative
 * errno (-EBUSY: another process has it open). */
int journal_open(const char *dir, struct journal **out) __attribute__((warn_unused_result));
/* The same with options (o may be NULL for the defaults; it is copied). */
int journal_open_opts(const char *dir, const struct journal_opts *o, struct journal **out)
	__attribute__((warn_unused_result));
/* Closes and frees (NULL is fine). Syncs what is unsynced (best effort; call journal_sync to see errors). */
void journal_close(struct journal *j);

/* Assigns seq = next_seq++, sets "seq" in `record` (borrowed; the caller keeps its reference) and appends it,
 * making room under the cap first (see above; an overflow record may take the seq before it). On success
 * *seq_out (may be NULL) holds the seq. Returns 0 or a negative errno: then nothing of `record` was kept
 * (-EMSGSIZE: larger than JOURNAL_MAX_RECORD or than the cap allows), except when the policy's fdatasync
 * failed after the write: the record is appended (*seq_out set, "seq" stays) but may not be durable. */
int journal_append(struct journal *j, json_t *record, uint64_t *seq_out) __attribute__((warn_unused_result));
/* fdatasync()s everything appended so far. */
int journal_sync(struct journal *j) __attribute__((warn_unused_result));
/* fdatasync()s when something is unsynced and the policy's time or byte threshold has passed. */
int journal_sync_due(struct journal *j) __attribute__((warn_unused_result));
/* True once after the journal compacted its inventory records away: re-emit the inventory (a snapshot). */
bool journal_take_compacted(struct journal *j);

/* Reads the stored records with seq >= `from` in order (seqs increase but may have gaps, after a compaction or
 * an overflow), at most max_records and at most max_bytes of payload (but always at least one record when one
 * exists). *out_array is a new JSON array (owned by the caller, possibly empty). Every record is re-checked
 * against its CRC: -EIO on a mismatch. Returns the number of records or a negative errno. */
int journal_read_from(struct journal *j, uint64_t from, size_t max_records, size_t max_bytes, json_t **out_array)
	__attribute__((warn_unused_result));

/* journal_read_from for the uplink: only records already on disk (synced), so that a record the console applied
 * survives a power loss (else the journal would hand its seq out again); and it notes, under the same lock, how
 * far the uplink read (journal_note_sent). */
int journal_read_for_send(struct journal *j, uint64_t from, size_t max_records, size_t max_bytes, json_t **out_array)
	__attribute__((warn_unused_result));
/* The console may hold the records up to seq (sent, or applied as a welcome says). It may apply sent records
 * before it acks them, even from an old connection after a new one was welcomed by another node, so the disk cap
 * never compacts records up to the highest such seq and drops them only past JOURNAL_INFLIGHT_SLACK: the journal
 * may exceed its cap rather than lose count of records the console holds. Never lowered. */
void journal_note_sent(struct journal *j, uint64_t seq);
/* How far over its cap the journal may grow rather than drop records sent and not yet acked: the uplink's window
 * (4 batches of 256 KiB) twice over. Beyond it they are dropped too (logged: the console may then hold more than
 * the journal counts). */
#define JOURNAL_INFLIGHT_SLACK (2u << 20)

/* Records that every record up to seq is committed by the console; persists it and deletes the segments that
 * are now wholly acked. An ack at or below the current one is a no-op; an ack beyond the last appended seq also
 * raises next_seq above it (the console knows seqs this journal lost, so new records must not reuse them). */
int journal_ack(struct journal *j, uint64_t seq) __attribute__((warn_unused_result));

uint64_t journal_acked(struct journal *j);     /* 0 when nothing was ever acked */
uint64_t journal_next_seq(struct journal *j);  /* the seq the next append gets (>= 1) */
uint64_t journal_first_seq(struct journal *j); /* the lowest seq stored, or next_seq when none is */
uint64_t journal_last_seq(struct journal *j);  /* next_seq - 1 */
size_t journal_count(struct journal *j);       /* records stored in the segments */

struct journal_status {
	uint64_t first_seq, last_seq, acked;
	uint64_t records, digest; /* see "Accounting" above */
	uint64_t bytes;           /* of all segments */
	size_t segments;
	uint64_t compacted;             /* inventory records compacted away, ever */
	uint64_t lost[JOURNAL_KINDS];   /* unacked records dropped at the cap, ever, by kind */
	uint64_t corrupt_bytes;         /* bytes cut from the middle of the journal by the scan, ever */
};
void journal_get_status(struct journal *j, struct journal_status *st);
/* {"first_seq","last_seq","acked","records","digest" (decimal string),"bytes","segments","lost": {kind: n},
 * "compacted","corrupt_bytes"}; a new reference or NULL. */
json_t *journal_status_json(const struct journal_status *st);
