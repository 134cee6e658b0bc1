/* The journal's API (journal.h): open and close, append with the sync policy, read, ack (which frees wholly
 * acked segments), status. Files: journal_segments.c; open-time scan: journal_scan.c; cap: journal_cap.c. */
#include "sensor-agent/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timefmt.h"
#include "common/wire.h"
#include "sensor-agent/journal_internal.h"

void journal_opts_default(struct journal_opts *o)
{
	*o = (struct journal_opts){
		.segment_bytes = JOURNAL_DEFAULT_SEGMENT_BYTES,
		.cap_bytes = JOURNAL_DEFAULT_CAP_BYTES,
		.sync_interval_ms = JOURNAL_DEFAULT_SYNC_MS,
		.sync_bytes = JOURNAL_DEFAULT_SYNC_BYTES,
	};
}

static void normalize(struct journal_opts *o)
{
	if (!o->cap_bytes)
		o->cap_bytes = JOURNAL_DEFAULT_CAP_BYTES;
	if (o->cap_bytes < (64u << 10))
		o->cap_bytes = 64u << 10;
	if (!o->segment_bytes)
		o->segment_bytes = JOURNAL_DEFAULT_SEGMENT_BYTES;
	if (o->segment_bytes > (1ull << 30))
		o->segment_bytes = 1ull << 30;
	if (o->segment_bytes > o->cap_bytes / 4)
		o->segment_bytes = o->cap_bytes / 4;
	if (o->segment_bytes < 4096)
		o->segment_bytes = 4096;
}

/* Index of the first segment holding a record >= seq and the record's index in it; false when none. */
static bool find_from(const struct journal *j, uint64_t seq, size_t *si, size_t *ri)
{
	size_t lo = 0, hi = j->nseg;
	while (lo < hi) { /* first segment whose last seq >= seq (empty segments sort as "below") */
		size_t mid = lo + (hi - lo) / 2;
		const struct jseg *s = &j->segs[mid];
		if (s->n == 0 || s->recs[s->n - 1].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == j->nseg)
		return false;
	const struct jseg *s = &j->segs[lo];
	size_t a = 0, b = s->n;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (s->recs[mid].seq < seq)
			a = mid + 1;
		else
			b = mid;
	}
	*si = lo;
	*ri = a;
	return true;
}

int journal_open(const char *dir, struct journal **out) { return journal_open_opts(dir, NULL, out); }

int journal_open_opts(const char *dir, const struct journal_opts *o, struct journal **out)
{
	*out = NULL;
	struct journal *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	pthread_mutex_init(&j->mu, NULL);
	j->wfd = j->rfd = j->lockfd = -1;
	j->since_compaction = UINT64_MAX;
	if (o)
		j->o = *o;
	else
		journal_opts_default(&j->o);
	normalize(&j->o);
	int rc = -ENOMEM;
	j->statedir = strdup(dir);
	j->segdir = jn_path_join(dir, JOURNAL_SEG_DIR);
	j->state_path = jn_path_join(dir, JOURNAL_STATE_NAME);
	if (!j->statedir || !j->segdir || !j->state_path)
		goto fail;
	if ((rc = jn_state_load(j)) < 0 || (rc = jn_scan(j)) < 0)
		goto fail;
	j->last_sync_usec = timefmt_now_usec();
	j->synced_seq = j->next_seq - 1;
	if (!j->o.read_only && j->nseg && j->segs[j->nseg - 1].size < j->o.segment_bytes) {
		char *p = jn_seg_path(j, j->segs[j->nseg - 1].base);
		j->wfd = p ? open(p, O_RDWR | O_CLOEXEC) : -1;
		if (j->wfd < 0)
			log_warn("journal: cannot reopen %s for appending (%s); starting a new segment", p ? p : "",
				 strerror(errno));
		free(p);
	}
	if (j->overflow_pending) {
		size_t si, ri;
		if (find_from(j, j->ov_seq, &si, &ri) && j->segs[si].recs[ri].seq == j->ov_seq)
			j->overflow_pending = false; /* it was written */
		else if (!j->o.read_only && (rc = jn_append_overflow(j)) < 0)
			goto fail;
	}
	log_debug("journal: %s: %zu segments, %" PRIu64 " records, next seq %" PRIu64 ", acked %" PRIu64,
		  j->segdir, j->nseg, j->stored_records, j->next_seq, j->acked);
	*out = j;
	return 0;
fail:
	journal_close(j);
	return rc;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->wfd >= 0) {
		if (j->unsynced && fdatasync(j->wfd) < 0)
			log_error("journal: fdatasync on close: %s", strerror(errno));
		close(j->wfd);
	}
	if (j->rfd >= 0)
		close(j->rfd);
	if (j->lockfd >= 0)
		close(j->lockfd);
	for (size_t i = 0; i < j->nseg; i++)
		free(j->segs[i].recs);
	free(j->segs);
	pthread_mutex_destroy(&j->mu);
	free(j->statedir);
	free(j->segdir);
	free(j->state_path);
	free(j->legacy_path);
	free(j);
}

int jn_sync_locked(struct journal *j)
{
	if (!j->unsynced || j->wfd < 0)
		return 0;
	if (fdatasync(j->wfd) < 0) {
		int rc = -errno;
		log_error("journal: fdatasync in %s: %s", j->segdir, strerror(errno));
		return rc;
	}
	jn_mark_synced(j);
	return 0;
}

void jn_mark_synced(struct journal *j)
{
	j->unsynced = false;
	j->unsynced_bytes = 0;
	j->last_sync_usec = timefmt_now_usec();
	j->synced_seq = j->next_seq - 1;
}

static bool sync_due(const struct journal *j)
{
	return j->unsynced && (j->o.sync_interval_ms == 0 || j->o.sync_bytes == 0 ||
			       j->unsynced_bytes >= j->o.sync_bytes ||
			       timefmt_now_usec() - j->last_sync_usec >= (int64_t)j->o.sync_interval_ms * 1000);
}

/* Starts a segment for records from seq on. */
static int start_segment(struct journal *j, uint64_t seq)
{
	char *p = jn_seg_path(j, seq);
	if (!p)
		return -ENOMEM;
	int rc = 0;
	int fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		log_error("journal: cannot create %s: %s", p, strerror(errno));
	} else if ((rc = jn_fsync_dir(j->segdir)) < 0 || !jn_segs_add(j, seq)) {
		rc = rc ? rc : -ENOMEM;
		close(fd);
		unlink(p);
	} else {
		j->wfd = fd;
	}
	free(p);
	return rc;
}

static int set_seq_and_dump(json_t *record, uint64_t seq, char **payload, size_t *len)
{
	free(*payload);
	*payload = NULL;
	if (json_object_set_new(record, "seq", json_integer((json_int_t)seq)) < 0)
		return -ENOMEM;
	if (!(*payload = json_dumps(record, JSON_COMPACT)))
		return -ENOMEM;
	*len = strlen(*payload);
	return *len == 0 || *len > JOURNAL_MAX_RECORD ? -EMSGSIZE : 0;
}

int jn_append_locked(struct journal *j, json_t *record, bool reserve, uint64_t *seq_out)
{
	char *payload = NULL;
	uint8_t *frame = NULL;
	size_t len = 0;
	uint64_t seq = j->next_seq, digest;
	bool kept = false;
	int rc;
	if (j->o.read_only)
		return -EROFS;
	if (!json_is_object(record))
		return -EINVAL;
	if ((rc = set_seq_and_dump(record, seq, &payload, &len)) < 0)
		goto out;
	/* Making room may append an overflow record first, which takes this seq: 20 bytes cover a longer one. */
	if (!reserve && (rc = jn_make_room(j, JOURNAL_HDR_LEN + len + 20)) < 0)
		goto out;
	if (seq != j->next_seq && (rc = set_seq_and_dump(record, seq = j->next_seq, &payload, &len)) < 0)
		goto out;
	if (!wire_record_digest(record, &digest)) {
		rc = -ENOMEM;
		goto out;
	}
	size_t flen = JOURNAL_HDR_LEN + len;
	struct jseg *s = j->nseg ? &j->segs[j->nseg - 1] : NULL;
	if (j->wfd >= 0 && s && s->size > 0 && s->size + flen > j->o.segment_bytes && (rc = jn_seal(j)) < 0)
		goto out;
	if (j->wfd < 0 && (rc = start_segment(j, seq)) < 0)
		goto out;
	s = &j->segs[j->nseg - 1];
	if (!(frame = malloc(flen))) {
		rc = -ENOMEM;
		goto out;
	}
	jn_put_header(frame, (uint32_t)len, jn_frame_crc(seq, (const uint8_t *)payload, len), seq);
	memcpy(frame + JOURNAL_HDR_LEN, payload, len);
	if ((rc = jn_seg_push(s, seq, (uint32_t)s->size, (uint32_t)len)) < 0)
		goto out;
	/* At our own end offset: a failed partial write is overwritten by the next append. */
	if ((rc = jn_write_full(j->wfd, frame, flen, s->size)) < 0) {
		s->n--;
		log_error("journal: write to segment %020" PRIu64 " failed: %s", s->base, strerror(-rc));
		goto out;
	}
	s->size += flen;
	s->digest += digest;
	if (jn_kind_is_inventory(jn_kind_of(record)))
		s->inv_bytes += flen;
	j->bytes += flen;
	j->stored_records++;
	j->stored_digest += digest;
	j->next_seq = seq + 1;
	j->unsynced = true;
	j->unsynced_bytes += flen;
	if (j->since_compaction != UINT64_MAX)
		j->since_compaction += flen;
	kept = true;
	if (seq_out)
		*seq_out = seq;
	if (sync_due(j))
		rc = jn_sync_locked(j); /* the record stays appended (unsynced) when this fails */
out:
	if (!kept)
		json_object_del(record, "seq");
	free(payload);
	free(frame);
	return rc;
}

int journal_append(struct journal *j, json_t *record, uint64_t *seq_out)
{
	uint64_t seq = 0;
	pthread_mutex_lock(&j->mu);
	int rc = jn_append_locked(j, record, false, &seq);
	pthread_mutex_unlock(&j->mu);
	if (seq && seq_out)
		*seq_out = seq;
	return rc;
}

int journal_sync(struct journal *j)
{
	pthread_mutex_lock(&j->mu);
	int rc = jn_sync_locked(j);
	pthread_mutex_unlock(&j->mu);
	return rc;
}

int journal_sync_due(struct journal *j)
{
	pthread_mutex_lock(&j->mu);
	int rc = sync_due(j) ? jn_sync_locked(j) : 0;
	pthread_mutex_unlock(&j->mu);
	return rc;
}

bool journal_take_compacted(struct journal *j)
{
	pthread_mutex_lock(&j->mu);
	bool v = j->compacted_flag;
	j->compacted_flag = false;
	pthread_mutex_unlock(&j->mu);
	return v;
}

/* Reads records >= from, up to `limit`; with `send`, the read is the uplink's (journal_read_for_send). */
static int read_records(struct journal *j, uint64_t from, size_t max_records, size_t max_bytes, bool send,
			json_t **out_array)
{
	*out_array = NULL;
	json_t *arr = json_array();
	if (!arr)
		return -ENOMEM;
	pthread_mutex_lock(&j->mu);
	int rc = 0;
	char *payload = NULL;
	size_t bytes = 0, count = 0, si, ri;
	bool more = find_from(j, from, &si, &ri);
	for (; more && si < j->nseg && count < max_records; si++, ri = 0) {
		const struct jseg *s = &j->segs[si];
		for (; ri < s->n && count < max_records; ri++) {
			const struct jrec *r = &s->recs[ri];
			if (send && r->seq > j->synced_seq) {
				more = false;
				break;
			}
			if (count > 0 && bytes + r->len > max_bytes) {
				more = false;
				break;
			}
			free(payload);
			if ((rc = jn_read_payload(j, s, r, &payload)) < 0)
				goto out;
			json_error_t jerr;
			json_t *rec = json_loadb(payload, r->len, JSON_REJECT_DUPLICATES, &jerr);
			if (!json_is_object(rec) || json_array_append_new(arr, rec) < 0) {
				if (!json_is_object(rec))
					json_decref(rec);
				log_error("journal: record %" PRIu64 " is not a JSON object", r->seq);
				rc = -EIO;
				goto out;
			}
			bytes += r->len;
			count++;
			if (send && r->seq > j->inflight)
				j->inflight = r->seq;
		}
	}
out:
	pthread_mutex_unlock(&j->mu);
	free(payload);
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*out_array = arr;
	return (int)count;
}

int journal_read_from(struct journal *j, uint64_t from, size_t max_records, size_t max_bytes, json_t **out_array)
{
	return read_records(j, from, max_records, max_bytes, false, out_array);
}

int journal_read_for_send(struct journal *j, uint64_t from, size_t max_records, size_t max_bytes, json_t **out_array)
{
	return read_records(j, from, max_records, max_bytes, true, out_array);
}

void journal_note_sent(struct journal *j, uint64_t seq)
{
	pthread_mutex_lock(&j->mu);
	if (seq > j->inflight)
		j->inflight = seq;
	pthread_mutex_unlock(&j->mu);
}

int journal_ack(struct journal *j, uint64_t seq)
{
	pthread_mutex_lock(&j->mu);
	int rc = 0;
	if (j->o.read_only) {
		rc = -EROFS;
	} else if (seq > j->acked) {
		uint64_t old_acked = j->acked;
		j->acked = seq;
		/* Wholly acked segments go, except the one still appended to. */
		size_t k = 0;
		while (k < j->nseg && (k + 1 < j->nseg || j->wfd < 0) &&
		       (j->segs[k].n == 0 || j->segs[k].recs[j->segs[k].n - 1].seq <= seq))
			k++;
		rc = k ? jn_delete_front(j, k, 0) : jn_state_store(j, false);
		if (rc < 0)
			j->acked = old_acked;
		else if (seq >= j->next_seq)
			j->next_seq = seq + 1;
	}
	pthread_mutex_unlock(&j->mu);
	return rc;
}

#define GETTER(type, name, expr)                 \
	type name(struct journal *j)             \
	{                                        \
		pthread_mutex_lock(&j->mu);      \
		type v = (expr);                 \
		pthread_mutex_unlock(&j->mu);    \
		return v;                        \
	}

static uint64_t first_seq(const struct journal *j)
{
	for (size_t i = 0; i < j->nseg; i++)
		if (j->segs[i].n)
			return j->segs[i].recs[0].seq;
	return j->next_seq;
}

GETTER(uint64_t, journal_acked, j->acked)
GETTER(uint64_t, journal_next_seq, j->next_seq)
GETTER(uint64_t, journal_first_seq, first_seq(j))
GETTER(uint64_t, journal_last_seq, j->next_seq - 1)
GETTER(size_t, journal_count, (size_t)j->stored_records)

void journal_get_status(struct journal *j, struct journal_status *st)
{
	pthread_mutex_lock(&j->mu);
	*st = (struct journal_status){
		.first_seq = first_seq(j),
		.last_seq = j->next_seq - 1,
		.acked = j->acked,
		.records = j->freed_records + j->stored_records,
		.digest = j->freed_digest + j->stored_digest,
		.bytes = j->bytes,
		.segments = j->nseg,
		.compacted = j->compacted,
		.corrupt_bytes = j->corrupt_bytes,
	};
	memcpy(st->lost, j->lost, sizeof(st->lost));
	pthread_mutex_unlock(&j->mu);
}

json_t *journal_status_json(const struct journal_status *st)
{
	char dig[24];
	json_t *lost = json_object();
	for (int i = 0; lost && i < JOURNAL_KINDS; i++)
		if (st->lost[i])
			json_object_set_new(lost, journal_kind_name((enum journal_kind)i),
					    json_integer((json_int_t)st->lost[i]));
	snprintf(dig, sizeof(dig), "%" PRIu64, st->digest);
	return json_pack("{s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:o, s:I, s:I}", "first_seq", (json_int_t)st->first_seq,
			 "last_seq", (json_int_t)st->last_seq, "acked", (json_int_t)st->acked, "records",
			 (json_int_t)st->records, "digest", dig, "bytes", (json_int_t)st->bytes, "segments",
			 (json_int_t)st->segments, "lost", lost, "compacted", (json_int_t)st->compacted,
			 "corrupt_bytes", (json_int_t)st->corrupt_bytes);
}
