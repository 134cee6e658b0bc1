/* IEEE registry lookups. The CSVs are read once into sorted arrays (one per prefix length) and searched with
 * bsearch: ~46k lines load in a few milliseconds and need no index files. */
#include "sensor-agent/oui.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* Prefix lengths in the registry: MA-S/IAB (36 bits), MA-M (28), MA-L (24). Searched longest first. */
enum { OUI_36, OUI_28, OUI_24, OUI_NTABLES };
static const unsigned oui_bits[OUI_NTABLES] = { 36, 28, 24 };

struct oui_entry {
	uint64_t prefix; /* the first `bits` bits of the MAC, right-aligned */
	char *name;
};

struct oui_table {
	struct oui_entry *v;
	size_t n, cap;
};

struct oui_db {
	struct oui_table t[OUI_NTABLES];
};

static const struct {
	const char *file;
} oui_files[] = { { "oui.csv" }, { "mam.csv" }, { "oui36.csv" }, { "iab.csv" } };

/* Splits one CSV record into up to max fields in place (RFC 4180 quoting: "" inside quotes is a quote).
 * Returns the number of fields. */
static int csv_split(char *line, char **fields, int max)
{
	int n = 0;
	char *r = line, *w;

	while (n < max) {
		fields[n++] = w = r;
		if (*r == '"') {
			r++;
			for (;;) {
				if (*r == '\0')
					break;
				if (*r == '"' && r[1] == '"') {
					*w++ = '"';
					r += 2;
				} else if (*r == '"') {
					r++;
					break;
				} else {
					*w++ = *r++;
				}
			}
			while (*r && *r != ',')
				r++;
		} else {
			while (*r && *r != ',')
				*w++ = *r++;
		}
		if (*r == ',') {
			*w = '\0';
			r++;
			continue;
		}
		*w = '\0';
		break;
	}
	return n;
}

static int oui_add(struct oui_table *t, uint64_t prefix, const char *name)
{
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 1024;
		struct oui_entry *nv = reallocarray(t->v, ncap, sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		t->v = nv;
		t->cap = ncap;
	}
	t->v[t->n].prefix = prefix;
	t->v[t->n].name = strdup(name);
	if (!t->v[t->n].name)
		return -ENOMEM;
	t->n++;
	return 0;
}

static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* Reads one registry CSV; returns the number of entries added, or a negative errno. */
static int oui_read_file(struct oui_db *db, const char *path)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int added = 0, r;

	if (!fp)
		return -errno;
	while (getline(&line, &cap, fp) > 0) {
		char *fld[4];
		char *hex, *end, *name;
		size_t hl;
		uint64_t prefix;
		int table;

		if (csv_split(line, fld, 4) < 3)
			continue;
		hex = trim(fld[1]);
		name = trim(fld[2]);
		hl = strlen(hex);
		/* The assignment is 6, 7 or 9 hex digits (24, 28, 36 bits); the header line fails here. */
		table = hl == 9 ? OUI_36 : hl == 7 ? OUI_28 : hl == 6 ? OUI_24 : -1;
		if (table < 0 || !*name)
			continue;
		errno = 0;
		prefix = strtoull(hex, &end, 16);
		if (errno || *end)
			continue;
		r = oui_add(&db->t[table], prefix, name);
		if (r < 0) {
			added = r;
			break;
		}
		added++;
	}
	free(line);
	fclose(fp);
	return added;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct oui_entry *x = a, *y = b;
	return x->prefix < y->prefix ? -1 : x->prefix > y->prefix;
}

struct oui_db *oui_load(const char *dir)
{
	struct oui_db *db = calloc(1, sizeof(*db));
	char path[4096];
	int total = 0;

	if (!db)
		return NULL;
	for (size_t i = 0; i < sizeof(oui_files) / sizeof(oui_files[0]); i++) {
		int r;
		snprintf(path, sizeof(path), "%s/%s", dir, oui_files[i].file);
		r = oui_read_file(db, path);
		if (r == -ENOMEM) {
			log_error("oui: out of memory reading %s", path);
			oui_free(db);
			return NULL;
		}
		if (r > 0)
			total += r;
	}
	if (total == 0) {
		log_warn("oui: no registry entries under %s; vendors will be empty", dir);
		oui_free(db);
		return NULL;
	}
	for (int t = 0; t < OUI_NTABLES; t++)
		qsort(db->t[t].v, db->t[t].n, sizeof(db->t[t].v[0]), entry_cmp);
	log_debug("oui: %d entries from %s", total, dir);
	return db;
}

void oui_free(struct oui_db *db)
{
	if (!db)
		return;
	for (int t = 0; t < OUI_NTABLES; t++) {
		for (size_t i = 0; i < db->t[t].n; i++)
			free(db->t[t].v[i].name);
		free(db->t[t].v);
	}
	free(db);
}

const char *oui_lookup(const struct oui_db *db, const uint8_t mac[6])
{
	uint64_t m = 0;

	/* Multicast (I/G bit) and locally administered (U/L bit) addresses belong to no registered vendor. */
	if (!db || (mac[0] & 0x03))
		return NULL;
	for (int i = 0; i < 6; i++)
		m = m << 8 | mac[i];
	for (int t = 0; t < OUI_NTABLES; t++) {
		struct oui_entry key = { .prefix = m >> (48 - oui_bits[t]) };
		const struct oui_entry *e;
		if (db->t[t].n == 0)
			continue;
		e = bsearch(&key, db->t[t].v, db->t[t].n, sizeof(key), entry_cmp);
		if (e)
			return e->name;
	}
	return NULL;
}
