/* The malware engine's bundle: validation, the index and the matchers (indicators.h); its alerts are in
 * indicators_alerts.c. */
#include "sensor-agent/indicators.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "sensor-agent/indicators_internal.h"

#define IP_KEY_LEN 18     /* version, prefix length, address (16 bytes, host bits cleared) */
#define NAME_MAX_LEN 253  /* a DNS name without its trailing dot */

static const char *const type_names[] = { "ip", "domain", "sni", "file_name" };
static const char *const severities[] = { "warning", "minor", "major", "critical" };

const char *indicator_type_name(unsigned type)
{
	return type < 4 ? type_names[type] : "?";
}

/* ---- hashing: FNV-1a over the key from its last byte to its first, so that every suffix of a name is
 * hashed in one pass; the type and length are mixed in at the end (splitmix64 finaliser). ---- */

static uint64_t h_start(const struct indicators *ind)
{
	return 0xcbf29ce484222325ull ^ ind->seed;
}

static uint64_t h_step(uint64_t h, uint8_t b)
{
	return (h ^ b) * 0x100000001b3ull;
}

static uint64_t h_final(uint64_t h, uint8_t type, size_t len)
{
	h ^= (uint64_t)type << 56 | (uint64_t)len;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

static uint64_t h_key(const struct indicators *ind, uint8_t type, const uint8_t *k, size_t len)
{
	uint64_t h = h_start(ind);

	for (size_t i = len; i-- > 0;)
		h = h_step(h, k[i]);
	return h_final(h, type, len);
}

/* The slot holding (type, key), or the empty slot where it would go. */
static size_t probe(const struct indicators *ind, uint8_t type, const uint8_t *k, size_t len, uint64_t h)
{
	size_t mask = ind->cap - 1, i = (size_t)h & mask;
	uint32_t tag = (uint32_t)(h >> 32);

	for (; ind->slots[i]; i = (i + 1) & mask) {
		const struct indicator_rec *r = &ind->recs[ind->slots[i] - 1];
		if (ind->tags[i] == tag && r->pub.type == type && r->key_len == len &&
		    memcmp(ind->arena + r->key_off, k, len) == 0)
			break;
	}
	return i;
}

static const struct indicator_rec *lookup(const struct indicators *ind, uint8_t type, const uint8_t *k, size_t len,
				uint64_t h)
{
	size_t i;

	if (!ind || !ind->n_type[type])
		return NULL;
	i = probe(ind, type, k, len, h);
	return ind->slots[i] ? &ind->recs[ind->slots[i] - 1] : NULL;
}

/* ---- keys ---- */

static void ip_key(uint8_t key[IP_KEY_LEN], int version, const uint8_t *addr, unsigned prefix)
{
	size_t alen = version == 4 ? 4 : 16;

	memset(key, 0, IP_KEY_LEN);
	key[0] = (uint8_t)version;
	key[1] = (uint8_t)prefix;
	memcpy(key + 2, addr, alen);
	for (size_t bit = prefix; bit < alen * 8; bit++)
		key[2 + bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
}

/* "a.b.c.d", "a.b.c.d/p", IPv6 and "IPv6/p". */
static bool parse_cidr(const char *s, uint8_t key[IP_KEY_LEN])
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	uint8_t a[16] = { 0 };
	unsigned prefix, max;
	int v;

	if (alen == 0 || alen >= sizeof(buf))
		return false;
	memcpy(buf, s, alen);
	buf[alen] = 0;
	if (inet_pton(AF_INET, buf, a) == 1)
		v = 4;
	else if (inet_pton(AF_INET6, buf, a) == 1)
		v = 6;
	else
		return false;
	prefix = max = v == 4 ? 32 : 128;
	if (slash) {
		const char *d = slash + 1;
		size_t n = strlen(d);
		if (n == 0 || n > 3)
			return false;
		prefix = 0;
		for (size_t i = 0; i < n; i++) {
			if (d[i] < '0' || d[i] > '9')
				return false;
			prefix = prefix * 10 + (unsigned)(d[i] - '0');
		}
		if (prefix > max)
			return false;
	}
	if (v == 6 && prefix >= 96 && memcmp(a, mapped, 12) == 0) {
		memmove(a, a + 12, 4);
		memset(a + 4, 0, 12);
		v = 4;
		prefix -= 96;
	}
	ip_key(key, v, a, prefix);
	return true;
}

/* A domain indicator's key: lower case, one trailing dot dropped, labels of letters, digits, '-' and '_'. */
static bool domain_key(const char *s, uint8_t *key, size_t *klen)
{
	size_t n = strlen(s), label = 0;

	if (n && s[n - 1] == '.')
		n--;
	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = indicators_lower((uint8_t)s[i]);
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
		key[i] = c;
	}
	*klen = n;
	return label > 0;
}

/* The base name of a path: what follows its last '/' or '\'. */
static const char *base_name(const char *s, size_t *n)
{
	for (size_t i = *n; i-- > 0;) {
		if (s[i] == '/' || s[i] == '\\') {
			*n -= i + 1;
			return s + i + 1;
		}
	}
	return s;
}

static bool file_key(const char *s, uint8_t *key, size_t *klen)
{
	size_t n = strlen(s);
	const char *b = base_name(s, &n);

	if (n == 0 || (n == 1 && b[0] == '.') || (n == 2 && b[0] == '.' && b[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		key[i] = indicators_lower((uint8_t)b[i]);
	*klen = n;
	return true;
}

/* ---- the bundle ---- */

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A field name for an error message: printable ASCII only, at most 40 bytes. */
static void printable(const char *s, char out[48])
{
	size_t i;

	for (i = 0; s[i] && i < 40; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' ? s[i] : '?';
	out[i] = 0;
}

/* A string field: NULL when absent or null and optional. 0 or -EINVAL naming the field. */
static int field_str(json_t *obj, const char *field, const char *where, bool required, const char **out,
		     char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, field);
	const char *s;
	size_t n;

	*out = NULL;
	if (!v || json_is_null(v))
		return required ? fail(err, errlen, "%s%s: missing", where, field) : 0;
	if (!json_is_string(v))
		return fail(err, errlen, "%s%s: not a string", where, field);
	s = json_string_value(v);
	n = json_string_length(v);
	if (strlen(s) != n)
		return fail(err, errlen, "%s%s: contains a NUL character", where, field);
	if (n > INDICATORS_MAX_STRING)
		return fail(err, errlen, "%s%s: longer than %d bytes", where, field, INDICATORS_MAX_STRING);
	if (required && n == 0)
		return fail(err, errlen, "%s%s: empty", where, field);
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)s[i] < 0x20 || s[i] == 0x7f)
			return fail(err, errlen, "%s%s: contains a control character", where, field);
	*out = s;
	return 0;
}

static int only_fields(json_t *obj, const char *const *allowed, const char *where, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	char k[48];

	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = strcmp(key, allowed[i]) == 0;
		if (!ok) {
			printable(key, k);
			return fail(err, errlen, "%sunknown field \"%s\"", where, k);
		}
	}
	return 0;
}

/* Appends s (with its NUL) to the arena; its offset in *off. */
static int arena_add(struct indicators *ind, const void *s, size_t n, uint32_t *off)
{
	if (n == 0) {
		*off = 0;
		return 0;
	}
	if (ind->arena_len + n + 1 > ind->arena_cap) {
		size_t ncap = ind->arena_cap;
		char *na;
		while (ncap < ind->arena_len + n + 1)
			ncap *= 2;
		if (ncap > UINT32_MAX)
			return -ENOMEM;
		na = realloc(ind->arena, ncap);
		if (!na)
			return -ENOMEM;
		ind->arena = na;
		ind->arena_cap = ncap;
	}
	memcpy(ind->arena + ind->arena_len, s, n);
	ind->arena[ind->arena_len + n] = 0;
	*off = (uint32_t)ind->arena_len;
	ind->arena_len += n + 1;
	return 0;
}

static int severity_of(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, severities[i]) == 0)
			return i;
	return -1;
}

static int add_indicator(struct indicators *ind, json_t *it, size_t idx, char *err, size_t errlen)
{
	static const char *const fields[] = { "type", "value", "description", "severity", "reference", NULL };
	char where[48], shown[48];
	const char *type_s, *value, *desc, *sev_s, *ref;
	uint8_t key[INDICATORS_MAX_STRING + 1];
	size_t klen = 0, slot;
	int type = -1, sev = 3, r;
	uint64_t h;
	struct indicator_rec *rc;

	snprintf(where, sizeof(where), "indicators[%zu]", idx);
	if (!json_is_object(it))
		return fail(err, errlen, "%s: not an object", where);
	snprintf(where, sizeof(where), "indicators[%zu]: ", idx);
	if ((r = only_fields(it, fields, where, err, errlen)))
		return r;
	snprintf(where, sizeof(where), "indicators[%zu].", idx);
	if ((r = field_str(it, "type", where, true, &type_s, err, errlen)))
		return r;
	for (int i = 0; i < 4 && type < 0; i++)
		if (strcmp(type_s, type_names[i]) == 0)
			type = i;
	if (type < 0) {
		printable(type_s, shown);
		return fail(err, errlen, "%stype: unknown type \"%s\" (ip, domain, sni or file_name)", where, shown);
	}
	if ((r = field_str(it, "value", where, true, &value, err, errlen)))
		return r;
	switch (type) {
	case INDICATOR_IP:
		if (!parse_cidr(value, key))
			return fail(err, errlen, "%svalue: not an IP address or subnet", where);
		klen = IP_KEY_LEN;
		break;
	case INDICATOR_DOMAIN:
	case INDICATOR_SNI:
		if (!domain_key(value, key, &klen))
			return fail(err, errlen, "%svalue: not a domain name%s", where,
				    strchr(value, '*') ? " (no wildcards: a domain matches its subdomains)" : "");
		break;
	default:
		if (!file_key(value, key, &klen))
			return fail(err, errlen, "%svalue: not a file name", where);
		break;
	}
	if ((r = field_str(it, "severity", where, false, &sev_s, err, errlen)))
		return r;
	if (sev_s && (sev = severity_of(sev_s)) < 0) {
		printable(sev_s, shown);
		return fail(err, errlen, "%sseverity: unknown severity \"%s\" (warning, minor, major or critical)",
			    where, shown);
	}
	if ((r = field_str(it, "description", where, false, &desc, err, errlen)) ||
	    (r = field_str(it, "reference", where, false, &ref, err, errlen)))
		return r;

	h = h_key(ind, (uint8_t)type, key, klen);
	slot = probe(ind, (uint8_t)type, key, klen, h);
	if (ind->slots[slot])
		return 0; /* a repeat: the first one stays */
	rc = &ind->recs[ind->n];
	rc->pub.type = (uint8_t)type;
	rc->pub.severity = severities[sev];
	rc->key_len = (uint16_t)klen;
	if (arena_add(ind, key, klen, &rc->key_off) || arena_add(ind, value, strlen(value), &rc->val_off) ||
	    arena_add(ind, desc ? desc : "", desc ? strlen(desc) : 0, &rc->desc_off) ||
	    arena_add(ind, ref ? ref : "", ref ? strlen(ref) : 0, &rc->ref_off))
		return -ENOMEM;
	ind->slots[slot] = (uint32_t)++ind->n;
	ind->tags[slot] = (uint32_t)(h >> 32);
	ind->n_type[type]++;
	if (type == INDICATOR_IP) {
		int v = key[0] == 4 ? 0 : 1;
		ind->lens[v][key[1] / 64] |= 1ull << (key[1] % 64);
	}
	return 0;
}

static uint64_t random_seed(const void *salt)
{
	uint64_t s;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
		return s;
	return (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)salt;
}

int indicators_parse(json_t *bundle, struct indicators **out, char *err, size_t errlen)
{
	static const char *const fields[] = { "name", "version", "indicators", NULL };
	struct indicators *ind;
	const char *name, *version;
	json_t *arr;
	size_t n, cap = 16;
	int r;

	*out = NULL;
	if (!json_is_object(bundle))
		return fail(err, errlen, "bundle: not a JSON object");
	if ((r = only_fields(bundle, fields, "bundle: ", err, errlen)) ||
	    (r = field_str(bundle, "name", "", true, &name, err, errlen)) ||
	    (r = field_str(bundle, "version", "", true, &version, err, errlen)))
		return r;
	arr = json_object_get(bundle, "indicators");
	if (!arr)
		return fail(err, errlen, "indicators: missing");
	if (!json_is_array(arr))
		return fail(err, errlen, "indicators: not an array");
	n = json_array_size(arr);
	if (n > INDICATORS_MAX)
		return fail(err, errlen, "indicators: more than %d indicators", INDICATORS_MAX);
	while (cap < 2 * n)
		cap *= 2;
	ind = calloc(1, sizeof(*ind));
	if (!ind)
		return -ENOMEM;
	ind->seed = random_seed(ind);
	ind->cap = cap;
	ind->name = strdup(name);
	ind->version = strdup(version);
	ind->recs = calloc(n ? n : 1, sizeof(*ind->recs));
	ind->slots = calloc(cap, sizeof(*ind->slots));
	ind->tags = calloc(cap, sizeof(*ind->tags));
	ind->arena = malloc(ind->arena_cap = 4096);
	r = -ENOMEM;
	if (!ind->name || !ind->version || !ind->recs || !ind->slots || !ind->tags || !ind->arena)
		goto bad;
	ind->arena[0] = 0; /* offset 0: the empty string */
	ind->arena_len = 1;
	for (size_t i = 0; i < n; i++)
		if ((r = add_indicator(ind, json_array_get(arr, i), i, err, errlen)))
			goto bad;
	for (size_t i = 0; i < ind->n; i++) {
		struct indicator_rec *rc = &ind->recs[i];
		rc->pub.value = ind->arena + rc->val_off;
		rc->pub.description = ind->arena + rc->desc_off;
		rc->pub.reference = ind->arena + rc->ref_off;
	}
	*out = ind;
	return 0;
bad:
	if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	indicators_free(ind);
	return r;
}

int indicators_load(const char *path, struct indicators **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	json_error_t je;
	json_t *doc;
	int r;

	*out = NULL;
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s", strerror(-r));
		return r;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > INDICATORS_MAX_FILE) {
		fclose(f);
		snprintf(err, errlen, "larger than %u MiB", INDICATORS_MAX_FILE >> 20);
		return -EFBIG;
	}
	for (;;) {
		size_t got;
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb;
			if (cap > INDICATORS_MAX_FILE) {
				r = -EFBIG;
				snprintf(err, errlen, "larger than %u MiB", INDICATORS_MAX_FILE >> 20);
				goto out;
			}
			nb = realloc(buf, ncap);
			if (!nb) {
				r = -ENOMEM;
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		r = -EIO;
		snprintf(err, errlen, "read error");
		goto out;
	}
	if (len > INDICATORS_MAX_FILE) {
		r = -EFBIG;
		snprintf(err, errlen, "larger than %u MiB", INDICATORS_MAX_FILE >> 20);
		goto out;
	}
	doc = json_loadb(buf ? buf : "", len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		r = fail(err, errlen, "line %d column %d: %s", je.line, je.column, je.text);
		goto out;
	}
	free(buf);
	buf = NULL;
	r = indicators_parse(doc, out, err, errlen);
	json_decref(doc);
out:
	free(buf);
	fclose(f);
	return r;
}

void indicators_free(struct indicators *ind)
{
	if (!ind)
		return;
	free(ind->name);
	free(ind->version);
	free(ind->recs);
	free(ind->arena);
	free(ind->slots);
	free(ind->tags);
	free(ind);
}

size_t indicators_count(const struct indicators *ind) { return ind ? ind->n : 0; }
const char *indicators_name(const struct indicators *ind) { return ind->name; }
const char *indicators_version(const struct indicators *ind) { return ind->version; }

/* ---- matching ---- */

const struct indicator *indicators_match_ip(const struct indicators *ind, int version, const uint8_t *addr)
{
	uint8_t key[IP_KEY_LEN];
	int v = version == 4 ? 0 : 1;

	if (!ind || !ind->n_type[INDICATOR_IP] || (version != 4 && version != 6))
		return NULL;
	for (int p = version == 4 ? 32 : 128; p >= 0; p--) {
		const struct indicator_rec *r;
		if (!(ind->lens[v][p / 64] >> (p % 64) & 1))
			continue;
		ip_key(key, version, addr, (unsigned)p);
		r = lookup(ind, INDICATOR_IP, key, IP_KEY_LEN, h_key(ind, INDICATOR_IP, key, IP_KEY_LEN));
		if (r)
			return &r->pub;
	}
	return NULL;
}

/* The most specific indicator of type t1 (or, at the same length, t2; t2 < 0: none) for the name or one of
 * its parent domains. Names longer than a DNS name keep their last NAME_MAX_LEN bytes, whole labels only. */
static const struct indicator *match_name(const struct indicators *ind, int t1, int t2, const char *name,
					  size_t len)
{
	uint8_t buf[NAME_MAX_LEN];
	size_t n = len, start, m;
	bool cut;
	uint64_t h;
	const struct indicator_rec *best = NULL;

	if (!ind || (!ind->n_type[t1] && (t2 < 0 || !ind->n_type[t2])) || !name)
		return NULL;
	if (n && name[n - 1] == '.')
		n--;
	cut = n > NAME_MAX_LEN;
	start = cut ? n - NAME_MAX_LEN : 0;
	m = n - start;
	for (size_t i = 0; i < m; i++)
		buf[i] = indicators_lower((uint8_t)name[start + i]);
	h = h_start(ind);
	for (size_t i = m; i-- > 0;) {
		const struct indicator_rec *r;
		h = h_step(h, buf[i]);
		if (i > 0 ? buf[i - 1] != '.' : cut)
			continue;
		r = lookup(ind, (uint8_t)t1, buf + i, m - i, h_final(h, (uint8_t)t1, m - i));
		if (!r && t2 >= 0)
			r = lookup(ind, (uint8_t)t2, buf + i, m - i, h_final(h, (uint8_t)t2, m - i));
		if (r)
			best = r;
	}
	return best ? &best->pub : NULL;
}

const struct indicator *indicators_match_domain(const struct indicators *ind, const char *name, size_t len)
{
	return match_name(ind, INDICATOR_DOMAIN, -1, name, len);
}

const struct indicator *indicators_match_sni(const struct indicators *ind, const char *name, size_t len)
{
	return match_name(ind, INDICATOR_SNI, INDICATOR_DOMAIN, name, len);
}

const struct indicator *indicators_match_file(const struct indicators *ind, const char *name, size_t len)
{
	uint8_t buf[INDICATORS_MAX_STRING];
	const char *b;
	const struct indicator_rec *r;

	if (!ind || !ind->n_type[INDICATOR_FILE_NAME] || !name)
		return NULL;
	b = base_name(name, &len);
	if (len == 0 || len > sizeof(buf))
		return NULL;
	for (size_t i = 0; i < len; i++)
		buf[i] = indicators_lower((uint8_t)b[i]);
	r = lookup(ind, INDICATOR_FILE_NAME, buf, len, h_key(ind, INDICATOR_FILE_NAME, buf, len));
	return r ? &r->pub : NULL;
}
