/* The journal's disk cap (journal.h, "Disk cap"): compaction of the unacked inventory records, then dropping
 * the oldest segments behind an overflow record that says what was lost. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timefmt.h"
#include "sensor-agent/journal_internal.h"

#define OVERFLOW_TITLE "Sensor journal overflow"

static uint64_t seg_last(const struct jseg *s) { return s->n ? s->recs[s->n - 1].seq : 0; }

/* Rewrites segment i without its unacked inventory records (same frames, same seqs), through a temporary
 * file renamed over it. A segment left empty is deleted. Adds what went to removed and removed_digest. */
static int compact_segment(struct journal *j, size_t i, uint64_t *removed, uint64_t *removed_digest)
{
	struct jseg *s = &j->segs[i];
	struct jseg ns = { .base = s->base };
	char *path = jn_seg_path(j, s->base), *tmp = NULL, *payload = NULL;
	uint8_t *frame = NULL;
	size_t framecap = 0;
	uint64_t nremoved = 0, ndigest = 0;
	int fd = -1, rc = 0;
	if (!path || !(tmp = malloc(strlen(path) + 5))) {
		rc = -ENOMEM;
		goto out;
	}
	snprintf(tmp, strlen(path) + 5, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	for (size_t r = 0; r < s->n; r++) {
		const struct jrec *rec = &s->recs[r];
		enum journal_kind kind;
		uint64_t digest;
		free(payload);
		if ((rc = jn_read_payload(j, s, rec, &payload)) < 0)
			goto out;
		if (!jn_payload_info(payload, rec->len, &kind, &digest)) {
			rc = -EIO;
			goto out;
		}
		if (rec->seq > jn_guard(j) && jn_kind_is_inventory(kind)) {
			nremoved++;
			ndigest += digest;
			continue;
		}
		size_t flen = JOURNAL_HDR_LEN + rec->len;
		if (flen > framecap) {
			uint8_t *nf = realloc(frame, flen);
			if (!nf) {
				rc = -ENOMEM;
				goto out;
			}
			frame = nf;
			framecap = flen;
		}
		jn_put_header(frame, rec->len, jn_frame_crc(rec->seq, (const uint8_t *)payload, rec->len), rec->seq);
		memcpy(frame + JOURNAL_HDR_LEN, payload, rec->len);
		if ((rc = jn_write_full(fd, frame, flen, ns.size)) < 0 ||
		    (rc = jn_seg_push(&ns, rec->seq, (uint32_t)ns.size, rec->len)) < 0)
			goto out;
		ns.size += flen;
		ns.digest += digest;
		if (jn_kind_is_inventory(kind))
			ns.inv_bytes += flen;
	}
	if (fdatasync(fd) < 0) {
		rc = -errno;
		goto out;
	}
	close(fd);
	fd = -1;
	jn_seg_forget_fd(j, s->base);
	if (ns.n == 0) {
		unlink(tmp);
		if (unlink(path) < 0) {
			rc = -errno;
			goto out;
		}
	} else if (rename(tmp, path) < 0) {
		rc = -errno;
		goto out;
	}
	j->bytes -= s->size - ns.size;
	j->stored_records -= nremoved;
	j->stored_digest -= ndigest;
	free(s->recs);
	*s = ns;
	ns.recs = NULL;
	if (s->n == 0)
		jn_segs_remove(j, i);
	*removed += nremoved;
	*removed_digest += ndigest;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		log_error("journal: cannot compact %s: %s", path ? path : "a segment", strerror(-rc));
		if (tmp)
			unlink(tmp);
	}
	free(ns.recs);
	free(frame);
	free(payload);
	free(tmp);
	free(path);
	return rc;
}

static int compact(struct journal *j)
{
	uint64_t removed = 0, removed_digest = 0;
	int rc = 0;
	for (size_t i = 0; i < j->nseg && rc == 0;) {
		size_t before = j->nseg;
		if (j->segs[i].inv_bytes > 0 && seg_last(&j->segs[i]) > jn_guard(j))
			rc = compact_segment(j, i, &removed, &removed_digest);
		if (j->nseg == before)
			i++;
	}
	int src = jn_fsync_dir(j->segdir);
	if (removed) {
		j->compacted += removed;
		j->compacted_flag = true;
		if (src == 0)
			src = jn_state_store(j, false); /* the count, for journal-status */
		log_warn("journal: cap of %" PRIu64 " KiB reached: compacted %" PRIu64
			 " unacked inventory records away; the inventory is sent again as a snapshot",
			 j->o.cap_bytes >> 10, removed);
	}
	j->since_compaction = 0;
	return rc ? rc : src;
}

/* Drops the oldest segments until `need` more bytes fit under the cap, counting the unacked records lost, and
 * stores them with the overflow record to write (jn_append_overflow). */
static int drop(struct journal *j, uint64_t need)
{
	uint64_t lost[JOURNAL_KINDS] = { 0 }, nlost = 0, from = 0, to = 0, partial = 0, bytes = j->bytes;
	char *payload = NULL;
	size_t k = 0;
	int rc = 0;
	bool inflight = false, warned = false;
	while (k < j->nseg && bytes + need + JOURNAL_RESERVE > j->o.cap_bytes) {
		const struct jseg *s = &j->segs[k];
		/* A segment holding records the console may be applying right now stays (journal_note_sent), as long
		 * as the journal is no more than JOURNAL_INFLIGHT_SLACK over its cap. */
		bool sent = false;
		for (size_t r = 0; r < s->n && !sent; r++)
			sent = s->recs[r].seq > j->acked && s->recs[r].seq <= j->inflight;
		if (sent && bytes + need + JOURNAL_RESERVE <= j->o.cap_bytes + JOURNAL_INFLIGHT_SLACK) {
			inflight = true;
			break;
		}
		if (sent && !warned) {
			log_warn("journal: dropping records sent but not acked yet (the console may hold some of them; "
				 "its count may then exceed the journal's)");
			warned = true;
		}
		if (seg_last(s) > j->acked) {
			for (size_t r = 0; r < s->n; r++) {
				enum journal_kind kind = JOURNAL_KIND_OTHER;
				uint64_t digest = 0;
				free(payload);
				payload = NULL;
				/* An unreadable record is still lost: counted as "other" (the scan's digest of it
				 * leaves with its segment). */
				if (jn_read_payload(j, s, &s->recs[r], &payload) == 0 &&
				    !jn_payload_info(payload, s->recs[r].len, &kind, &digest))
					kind = JOURNAL_KIND_OTHER;
				if (s->recs[r].seq <= j->acked) {
					partial += digest;
					continue;
				}
				lost[kind]++;
				nlost++;
				if (!from)
					from = s->recs[r].seq;
				to = s->recs[r].seq;
			}
		}
		bytes -= s->size;
		k++;
	}
	free(payload);
	if (!inflight && bytes + need + JOURNAL_RESERVE > j->o.cap_bytes)
		return -EMSGSIZE;
	bool was_pending = j->overflow_pending;
	uint64_t old_from = j->ov_from, old_to = j->ov_to, old_seq = j->ov_seq, old_lost[JOURNAL_KINDS];
	memcpy(old_lost, j->ov_lost, sizeof(old_lost));
	if (nlost) {
		/* An overflow record not written yet (its append failed) takes these losses too. */
		for (int i = 0; i < JOURNAL_KINDS; i++) {
			j->lost[i] += lost[i];
			j->ov_lost[i] = (was_pending ? j->ov_lost[i] : 0) + lost[i];
		}
		j->ov_from = was_pending && old_from < from ? old_from : from;
		j->ov_to = to;
		j->ov_seq = j->next_seq;
		j->overflow_pending = true;
	}
	if ((rc = jn_delete_front(j, k, partial)) < 0) {
		for (int i = 0; i < JOURNAL_KINDS; i++)
			j->lost[i] -= lost[i];
		memcpy(j->ov_lost, old_lost, sizeof(old_lost));
		j->ov_from = old_from;
		j->ov_to = old_to;
		j->ov_seq = old_seq;
		j->overflow_pending = was_pending;
		return rc;
	}
	if (nlost)
		log_error("journal: cap of %" PRIu64 " KiB reached: DROPPED %" PRIu64
			  " unacked records with seqs %" PRIu64 "..%" PRIu64 " (%" PRIu64 " alerts)",
			  j->o.cap_bytes >> 10, nlost, from, to, lost[JOURNAL_KIND_ALERT]);
	return 0;
}

/* "13 alert, 7 event" of counts in v (alerts first: what an analyst misses most), their total, and a JSON
 * object of the non-zero ones. */
static uint64_t describe(const uint64_t v[JOURNAL_KINDS], char *buf, size_t len, json_t **obj)
{
	static const enum journal_kind order[] = { JOURNAL_KIND_ALERT, JOURNAL_KIND_EVENT, JOURNAL_KIND_VIOLATION,
						   JOURNAL_KIND_HEALTH, JOURNAL_KIND_DEVICE, JOURNAL_KIND_CONNECTION,
						   JOURNAL_KIND_DEVICE_REMOVE, JOURNAL_KIND_OTHER };
	uint64_t total = 0;
	size_t w = 0;
	buf[0] = '\0';
	*obj = json_object();
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		uint64_t n = v[order[i]];
		if (!n)
			continue;
		total += n;
		if (*obj)
			json_object_set_new(*obj, journal_kind_name(order[i]), json_integer((json_int_t)n));
		int m = snprintf(buf + w, len - w, "%s%" PRIu64 " %s", w ? ", " : "", n, journal_kind_name(order[i]));
		if (m > 0 && (size_t)m < len - w)
			w += (size_t)m;
	}
	return total;
}

int jn_append_overflow(struct journal *j)
{
	char at[TIMEFMT_LEN], what[400], all[400], msg[1024];
	json_t *lost, *lost_total;
	uint64_t n = describe(j->ov_lost, what, sizeof(what), &lost);
	uint64_t total = describe(j->lost, all, sizeof(all), &lost_total);
	/* The console merges repeats of an alert into one: each record also says what was lost in all, so the
	 * latest one tells the whole story. */
	snprintf(msg, sizeof(msg),
		 "The sensor's journal reached its disk cap of %" PRIu64 " KiB while the console did not acknowledge "
		 "its records: %" PRIu64 " records with seqs %" PRIu64 "..%" PRIu64 " were dropped (%s). In all, the "
		 "journal has dropped %" PRIu64 " records (%s).",
		 j->o.cap_bytes >> 10, n, j->ov_from, j->ov_to, what, total, all);
	timefmt_rfc3339_ms(timefmt_now_usec(), at);
	json_t *rec = NULL;
	if (lost && lost_total)
		rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:n, s:n, s:n, s:i, s:s, s:s, s:O, s:O, s:I, s:I, s:s}", "kind",
				"alert", "engine", "operational", "severity", "major", "title", OVERFLOW_TITLE, "message",
				msg, "src", "dst", "protocol", "count", 1, "first_seen", at, "last_seen", at, "lost", lost,
				"lost_total", lost_total, "lost_from", (json_int_t)j->ov_from, "lost_to",
				(json_int_t)j->ov_to, "remediation",
				"Restore the sensor's connection to the console; raise the journal's cap "
				"(run --journal-cap-mib) if it must bridge longer outages.");
	json_decref(lost);
	json_decref(lost_total);
	if (!rec)
		return -ENOMEM;
	uint64_t seq;
	int rc = jn_append_locked(j, rec, true, &seq);
	json_decref(rec);
	if (rc == 0)
		rc = jn_sync_locked(j);
	if (rc == 0) {
		j->overflow_pending = false; /* stored with the next state write; a reopen finds the record */
		log_warn("journal: overflow record appended as seq %" PRIu64, seq);
	}
	return rc;
}

int jn_make_room(struct journal *j, uint64_t need)
{
	const uint64_t cap = j->o.cap_bytes;
	if (need + JOURNAL_RESERVE > cap)
		return -EMSGSIZE;
	if (j->bytes + need + JOURNAL_RESERVE <= cap && !j->overflow_pending)
		return 0;
	int rc = jn_seal(j);
	if (rc < 0)
		return rc;
	if (j->bytes + need + JOURNAL_RESERVE > cap) {
		/* Compaction rewrites every unacked segment: only when it frees at least a sixteenth of the cap,
		 * and not again before a sixteenth was appended (the snapshot that follows it refills part of what
		 * it freed), so its cost stays a bounded multiple of what is appended. */
		uint64_t inv = 0;
		for (size_t i = 0; i < j->nseg; i++)
			if (seg_last(&j->segs[i]) > jn_guard(j))
				inv += j->segs[i].inv_bytes;
		if (inv >= cap / 16 && j->since_compaction >= cap / 16 && (rc = compact(j)) < 0)
			return rc;
	}
	if (j->bytes + need + JOURNAL_RESERVE > cap && (rc = drop(j, need)) < 0)
		return rc;
	return j->overflow_pending ? jn_append_overflow(j) : 0;
}
