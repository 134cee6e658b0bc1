/* The alert engines' state over time: the learning clock, the console's learned items, the alert records sent
 * to the console, and the baseline file that lets a restarted sensor keep what it learnt. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/pki.h"
#include "common/timefmt.h"
#include "sensor-agent/alerts_internal.h"

/* Wire names of the baseline kinds that can be learned (index: enum bkind). */
static const char *const kind_names[] = {
	[B_DEVICE] = "device",	       [B_CONN] = "connection", [B_PAIR_PROTO] = "pair_protocol",
	[B_PAIR_FUNC] = "pair_function", [B_PROGRAMMER] = "programmer", [B_WRITER] = "writer",
	[B_ALERT] = "alert",	       [B_ARP] = "arp_binding",
};
#define NKINDS (sizeof(kind_names) / sizeof(kind_names[0]))

void alerts_set_mode(struct alerts *a, enum alerts_mode m)
{
	a->mode = m;
	a->learning_since = 0; /* a new learning period starts at the next packet */
	/* Scan and exception windows start over: what learning counted is not an operational storm. */
	alerts_free_values(&a->counters);
	hashmap_init(&a->counters, sizeof(struct bkey));
}

enum alerts_mode alerts_mode(const struct alerts *a) { return a->mode; }

size_t alerts_baseline_size(const struct alerts *a) { return a->baseline.count; }

void alerts_set_applied_rev(struct alerts *a, int64_t rev) { a->applied_rev = rev; }
int64_t alerts_applied_rev(const struct alerts *a) { return a->applied_rev; }

bool alerts_learning_done(struct alerts *a, int64_t now, int64_t quiet_usec)
{
	if (a->mode != ALERTS_LEARNING || now <= 0)
		return false;
	if (a->learning_since == 0) {
		a->learning_since = now;
		if (a->last_new < now)
			a->last_new = now;
		return false;
	}
	return now - a->last_new >= quiet_usec;
}

/* ---- learned items ---- */

static int item_to_key(json_t *it, struct bkey *k)
{
	const char *kind = json_string_value(json_object_get(it, "kind"));
	const char *title = json_string_value(json_object_get(it, "title"));
	json_t *code = json_object_get(it, "code");

	if (!kind || !json_is_integer(code))
		return -EINVAL;
	for (size_t i = 1; i < NKINDS; i++) {
		if (!kind_names[i] || strcmp(kind, kind_names[i]) != 0)
			continue;
		if (i == B_ALERT && !title)
			return -EINVAL;
		*k = alerts_bkey((uint8_t)i, json_string_value(json_object_get(it, "a")),
				 json_string_value(json_object_get(it, "b")), json_string_value(json_object_get(it, "proto")),
				 i == B_ALERT ? alerts_title_code(title) : (uint32_t)json_integer_value(code));
		return 0;
	}
	return -EINVAL;
}

int alerts_set_learned(struct alerts *a, json_t *items)
{
	struct hashmap m;
	size_t i;
	json_t *it;

	hashmap_init(&m, sizeof(struct bkey));
	json_array_foreach(items, i, it) {
		struct bkey k;
		if (item_to_key(it, &k) < 0)
			continue; /* checked by the wire parser; an unknown kind is left out */
		if (!alerts_item_get(&m, &k, true)) {
			alerts_free_values(&m);
			return -ENOMEM;
		}
	}
	alerts_free_values(&a->learned);
	a->learned = m;
	return 0;
}

size_t alerts_learned_count(const struct alerts *a) { return a->learned.count; }

static json_t *learn_json(const struct bkey *k, const char *title)
{
	if (k->kind >= NKINDS || !kind_names[k->kind])
		return json_null();
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "kind", kind_names[k->kind], "a", k->a, "b", k->b, "proto",
			      k->proto, "code", (json_int_t)(k->kind == B_ALERT ? 0 : k->code));
	if (o && k->kind == B_ALERT)
		json_object_set_new(o, "title", json_string(title));
	return o ? o : json_null();
}

/* One item as an object, several as an array. */
static json_t *learn_items(const struct alert *al)
{
	json_t *arr;

	if (al->nlearn == 0)
		return json_null();
	if (al->nlearn == 1)
		return learn_json(&al->learn[0], al->key.title);
	if (!(arr = json_array()))
		return json_null();
	for (uint32_t i = 0; i < al->nlearn; i++)
		json_array_append_new(arr, learn_json(&al->learn[i], al->key.title));
	return arr;
}

/* ---- records for the console ---- */

static json_t *addr_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static json_t *mac_of(alerts_mac_fn fn, void *ud, const char *addr)
{
	char buf[18];
	const char *m;

	if (!fn || !addr || !*addr)
		return json_null();
	m = fn(ud, addr, buf);
	return m ? json_string(m) : json_null();
}

static json_t *alert_record(const struct alert *al, alerts_mac_fn fn, void *ud)
{
	char t1[TIMEFMT_LEN], t2[TIMEFMT_LEN];

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:s, s:s, s:o, s:o}", "kind", "alert",
			 "engine", al->key.engine, "severity", al->severity, "title", al->key.title, "message",
			 al->message, "remediation", al->remediation ? al->remediation : "", "src",
			 addr_or_null(al->key.src), "dst", addr_or_null(al->key.dst), "src_mac", mac_of(fn, ud, al->key.src),
			 "dst_mac", mac_of(fn, ud, al->key.dst), "protocol", addr_or_null(al->key.proto), "count",
			 (json_int_t)(al->count - al->reported), "first_seen", timefmt_rfc3339_ms(al->win_first, t1),
			 "last_seen", timefmt_rfc3339_ms(al->last_seen, t2), "learn", learn_items(al), "evidence",
			 addr_or_null(al->evidence));
}

int alerts_flush(struct alerts *a, int64_t now, alerts_mac_fn fn, void *mac_ud, alerts_record_fn emit, void *ud)
{
	for (size_t i = 0; i < a->alerts.cap; i++) {
		struct alert *al = a->alerts.slots[i].value;
		if (!a->alerts.slots[i].key)
			continue;
		if (al->count > al->reported) {
			json_t *rec = alert_record(al, fn, mac_ud);
			int rc = rec ? emit(ud, rec) : -ENOMEM;
			json_decref(rec);
			if (rc < 0)
				return rc;
			al->reported = al->count;
		}
	}
	/* Forget reported alerts that went quiet: a later occurrence is a new record the console joins to its alert
	 * (within its 10 minutes) or makes a new one of. Removal shifts entries, so rescan from the start. */
	for (size_t i = 0; i < a->alerts.cap;) {
		struct alert *al = a->alerts.slots[i].value;
		if (a->alerts.slots[i].key && al->count == al->reported && now - al->last_seen > ALERT_IDLE_USEC) {
			hashmap_remove(&a->alerts, &al->key);
			alerts_free_alert(al);
			continue;
		}
		i++;
	}
	return 0;
}

/* ---- the baseline file ---- */

#define FILE_MAGIC "OTWBASE2"

/* One baseline item in the file. */
struct file_item {
	struct bkey key;
	uint32_t n;
	uint8_t alerted, pad[3];
};

struct file_header {
	char magic[8];
	uint32_t key_size, mode;
	int64_t learning_since, last_new, applied_rev;
	uint64_t count;
};

int alerts_save(struct alerts *a, const char *path)
{
	char tmp[4096];
	struct file_header h = { .key_size = sizeof(struct file_item),
				 .mode = (uint32_t)a->mode,
				 .learning_since = a->learning_since,
				 .last_new = a->last_new,
				 .applied_rev = a->applied_rev,
				 .count = a->baseline.count };
	int fd, rc;

	memcpy(h.magic, FILE_MAGIC, 8);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = pki_write_all(fd, &h, sizeof(h));
	for (size_t i = 0; i < a->baseline.cap && rc == 0; i++) {
		const struct bitem *it = a->baseline.slots[i].value;
		struct file_item fi;
		if (!a->baseline.slots[i].key)
			continue;
		memset(&fi, 0, sizeof(fi));
		fi.key = it->key;
		fi.n = it->n;
		fi.alerted = it->alerted;
		rc = pki_write_all(fd, &fi, sizeof(fi));
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	else
		a->changes = 0;
	return rc;
}

static bool key_ok(struct bkey *k)
{
	if (k->kind < B_DEVICE || k->kind > B_ARP || k->kind == B_SCAN || k->kind == B_STORM || k->kind == B_SILENT)
		return false;
	/* Strings must end inside their fields. */
	return memchr(k->a, 0, sizeof(k->a)) && memchr(k->b, 0, sizeof(k->b)) && memchr(k->proto, 0, sizeof(k->proto)) &&
	       k->pad[0] == 0 && k->pad[1] == 0 && k->pad[2] == 0;
}

int alerts_load(struct alerts *a, const char *path)
{
	struct file_header h;
	struct stat st;
	FILE *f = fopen(path, "rb");
	int rc = 0;

	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) < 0 || fread(&h, sizeof(h), 1, f) != 1 || memcmp(h.magic, FILE_MAGIC, 8) != 0 ||
	    h.key_size != sizeof(struct file_item) || h.mode > ALERTS_OPERATIONAL || h.count > BASELINE_MAX ||
	    (uint64_t)st.st_size != sizeof(h) + h.count * sizeof(struct file_item)) {
		fclose(f);
		return -EINVAL;
	}
	for (uint64_t i = 0; i < h.count && rc == 0; i++) {
		struct file_item fi;
		struct bitem *it;
		if (fread(&fi, sizeof(fi), 1, f) != 1)
			rc = -EIO;
		else if (!key_ok(&fi.key))
			rc = -EINVAL;
		else if (!(it = alerts_item_get(&a->baseline, &fi.key, true)))
			rc = -ENOMEM;
		else {
			it->n = fi.n;
			it->alerted = fi.alerted != 0;
		}
	}
	fclose(f);
	if (rc < 0) {
		alerts_free_values(&a->baseline);
		hashmap_init(&a->baseline, sizeof(struct bkey));
		return rc;
	}
	a->mode = (enum alerts_mode)h.mode;
	a->learning_since = h.learning_since;
	a->last_new = h.last_new;
	a->applied_rev = h.applied_rev;
	a->changes = 0;
	return 0;
}

uint64_t alerts_unsaved(const struct alerts *a) { return a->changes; }
