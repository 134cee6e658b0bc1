/* Inside the journal (journal.h): the state shared by journal.c (API, append, read, ack), journal_segments.c
 * (frames, segment files, the state file), journal_scan.c (open: migration, scan, recovery) and journal_cap.c
 * (the disk cap: compaction, overflow). Every function here runs with j->mu held. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sensor-agent/journal.h"

#define JOURNAL_HDR_LEN 16u
#define JOURNAL_SEG_DIR "journal"
#define JOURNAL_STATE_NAME "acked"
#define JOURNAL_MIGRATING_NAME "journal.migrating"
/* Room kept free under the cap for an overflow record (its JSON is under 2 KiB). */
#define JOURNAL_RESERVE 4096u

/* One stored record: where its frame is inside its segment. */
struct jrec {
	uint64_t seq;
	uint32_t off; /* offset of the frame header */
	uint32_t len; /* payload length */
};

struct jseg {
	uint64_t base;     /* the file name: every record's seq is >= base */
	struct jrec *recs; /* ordered by seq */
	size_t n, cap;
	uint64_t size;      /* bytes: the end of the last whole frame */
	uint64_t digest;    /* sum of wire_record_digest over its records */
	uint64_t inv_bytes; /* frame bytes of its inventory records (device, connection, device_remove) */
};

struct journal {
	pthread_mutex_t mu;
	struct journal_opts o;
	char *segdir, *state_path, *statedir;
	char *legacy_path; /* read-only open of an old single-file journal: its one segment's file */
	int lockfd;        /* the segment directory, flock()ed (-1 read-only) */

	struct jseg *segs; /* oldest first */
	size_t nseg, segcap;
	int wfd;           /* the newest segment, open for appending; -1: the next append starts a segment */
	int rfd;           /* a cached read descriptor of segment rbase (-1 none) */
	uint64_t rbase;

	uint64_t next_seq; /* >= 1 */
	uint64_t acked;
	/* The highest seq the uplink read to send (journal_read_for_send, journal_note_sent); never lowered. */
	uint64_t inflight;
	/* Every record up to this seq is on disk (fdatasync'ed, or found there at open). Only those are sent: a
	 * record the console applied must survive a power loss, or new records would reuse its seq. */
	uint64_t synced_seq;
	uint64_t bytes;          /* sum of segs[].size */
	uint64_t stored_records; /* sum of segs[].n */
	uint64_t stored_digest;  /* sum of segs[].digest */

	/* Persisted in the state file. */
	uint64_t discard_through; /* every seq <= this is in no segment (freed or lost) */
	uint64_t freed_records, freed_digest; /* acked records of deleted segments */
	uint64_t compacted;
	uint64_t lost[JOURNAL_KINDS];
	uint64_t corrupt_bytes;
	bool overflow_pending; /* the overflow record below is not known to be appended yet */
	uint64_t ov_seq, ov_from, ov_to, ov_lost[JOURNAL_KINDS];

	/* Sync policy. */
	uint64_t unsynced_bytes;
	int64_t last_sync_usec;
	bool unsynced;

	bool compacted_flag;        /* journal_take_compacted */
	uint64_t since_compaction; /* bytes appended since the last compaction (UINT64_MAX: none yet) */
};

/* journal_segments.c: frames and files. */
uint32_t jn_frame_crc(uint64_t seq, const uint8_t *payload, size_t len);
void jn_put_header(uint8_t hdr[JOURNAL_HDR_LEN], uint32_t len, uint32_t crc, uint64_t seq);
bool jn_get_header(const uint8_t *hdr, uint32_t *len, uint32_t *crc, uint64_t *seq);
int jn_read_full(int fd, void *buf, size_t len, uint64_t off);
int jn_write_full(int fd, const void *buf, size_t len, uint64_t off);
int jn_fsync_dir(const char *dir);
/* The path of a segment (heap; NULL out of memory). */
char *jn_seg_path(const struct journal *j, uint64_t base);
int jn_seg_open_read(struct journal *j, uint64_t base);     /* the cached read fd, or a negative errno */
void jn_seg_forget_fd(struct journal *j, uint64_t base);    /* before unlinking or replacing a segment */
int jn_seg_push(struct jseg *s, uint64_t seq, uint32_t off, uint32_t len);
/* Appends an empty segment entry (files are created by the caller). */
struct jseg *jn_segs_add(struct journal *j, uint64_t base);
/* Removes segment i from the array (and from the totals; the file is the caller's). */
void jn_segs_remove(struct journal *j, size_t i);
/* Reads and checks the frame of r in s: the payload (heap, NUL-terminated) or a negative errno (-EIO corrupt). */
int jn_read_payload(struct journal *j, const struct jseg *s, const struct jrec *r, char **payload);
/* Parses a payload (JSON object); its kind and digest. False when it is not a JSON object (or out of memory). */
bool jn_payload_info(const char *payload, size_t len, enum journal_kind *kind, uint64_t *digest);
enum journal_kind jn_kind_of(const json_t *record);
static inline bool jn_kind_is_inventory(enum journal_kind k)
{
	return k == JOURNAL_KIND_DEVICE || k == JOURNAL_KIND_CONNECTION || k == JOURNAL_KIND_DEVICE_REMOVE;
}
/* The state file: load (missing is empty) and store (atomic; sync_dir also fsyncs the state directory, needed
 * before segments are unlinked). */
int jn_state_load(struct journal *j);
int jn_state_store(struct journal *j, bool sync_dir);
/* fdatasync()s the open segment and closes it; the next append starts a new segment. */
int jn_seal(struct journal *j);
/* Deletes segments [0, k) after storing the state: their records <= acked move to the freed totals (the digests
 * of wholly acked segments from their sums, the others' acked records' digests summed in partial_digest); the
 * caller has counted the rest as lost. */
int jn_delete_front(struct journal *j, size_t k, uint64_t partial_digest);

/* journal_scan.c: open. */
int jn_scan(struct journal *j);

/* journal_cap.c: makes room for `need` more bytes under the cap (may compact, drop and append an overflow
 * record). */
int jn_make_room(struct journal *j, uint64_t need);
/* Appends the pending overflow record (after a crash between the drop and its append, or right after a drop). */
int jn_append_overflow(struct journal *j);

/* journal.c: appends one record under the lock; reserve: may use the room kept for the overflow record. */
int jn_append_locked(struct journal *j, json_t *record, bool reserve, uint64_t *seq_out);
int jn_sync_locked(struct journal *j);

/* Records up to this seq are acked or possibly applied by the console: never compacted. */
static inline uint64_t jn_guard(const struct journal *j) { return j->acked > j->inflight ? j->acked : j->inflight; }

/* "dir/name" (heap, free()), or NULL when out of memory. */
char *jn_path_join(const char *dir, const char *name);
/* Bookkeeping after a successful fdatasync of the newest segment (every record appended so far is on disk). */
void jn_mark_synced(struct journal *j);
