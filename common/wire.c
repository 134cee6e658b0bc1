#include "common/wire.h"

#include "common/timefmt.h"
#include "common/wire_impl.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int wire_fail(struct perr *e, const char *field, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (e->len == 0)
		return -EINVAL;
	if (e->path[0])
		n = snprintf(e->buf, e->len, "%s.%s: ", e->path, field);
	else
		n = snprintf(e->buf, e->len, "%s: ", field);
	if (n < 0 || (size_t)n >= e->len)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

const char *wire_transport_name(enum wire_transport t)
{
	switch (t) {
	case WIRE_TR_TCP: return "tcp";
	case WIRE_TR_UDP: return "udp";
	case WIRE_TR_ETH: return "eth";
	}
	return "?";
}

bool wire_is_mac(const char *s)
{
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2) {
			if (s[i] != ':')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return s[17] == '\0';
}

bool wire_is_ip(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

bool wire_is_uuid(const char *s)
{
	for (int i = 0; i < WIRE_SENSOR_ID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return s[WIRE_SENSOR_ID_LEN] == '\0';
}

/* ---- field readers: each returns 0 or a -EINVAL from wire_fail() ---- */

int wire_get_str(struct perr *e, json_t *o, const char *f, size_t maxlen, bool nullable, const char **out)
{
	json_t *v = json_object_get(o, f);

	if (!v)
		return wire_fail(e, f, "missing");
	if (json_is_null(v) && nullable) {
		*out = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return wire_fail(e, f, nullable ? "not a string or null" : "not a string");
	if (json_string_length(v) > maxlen)
		return wire_fail(e, f, "longer than %zu bytes", maxlen);
	*out = json_string_value(v);
	return 0;
}

int wire_get_int(struct perr *e, json_t *o, const char *f, int64_t lo, int64_t hi, int64_t *out)
{
	json_t *v = json_object_get(o, f);

	if (!v)
		return wire_fail(e, f, "missing");
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return wire_fail(e, f, "not an integer %lld..%lld", (long long)lo, (long long)hi);
	*out = json_integer_value(v);
	return 0;
}

static int get_u64(struct perr *e, json_t *o, const char *f, uint64_t *out)
{
	int64_t v = 0;
	int r = wire_get_int(e, o, f, 0, INT64_MAX, &v);
	if (r == 0)
		*out = (uint64_t)v;
	return r;
}

int wire_get_time(struct perr *e, json_t *o, const char *f, int64_t *out)
{
	const char *s = NULL;
	int r = wire_get_str(e, o, f, 40, false, &s);

	if (r)
		return r;
	if (!timefmt_parse_rfc3339(s, out))
		return wire_fail(e, f, "not an RFC 3339 time");
	return 0;
}

static int get_array(struct perr *e, json_t *o, const char *f, json_t **out)
{
	json_t *v = json_object_get(o, f);

	if (!v)
		return wire_fail(e, f, "missing");
	if (!json_is_array(v))
		return wire_fail(e, f, "not an array");
	if (json_array_size(v) > WIRE_MAX_LIST)
		return wire_fail(e, f, "more than %d entries", WIRE_MAX_LIST);
	*out = v;
	return 0;
}

/* An array of strings, each accepted by `ok` (NULL: any string up to maxlen bytes). */
static int get_str_array(struct perr *e, json_t *o, const char *f, size_t maxlen, bool (*ok)(const char *),
			 const char *what, json_t **out)
{
	size_t i;
	json_t *v;
	int r = get_array(e, o, f, out);

	if (r)
		return r;
	json_array_foreach(*out, i, v) {
		if (!json_is_string(v) || json_string_length(v) > maxlen || json_string_length(v) == 0 ||
		    (ok && !ok(json_string_value(v))))
			return wire_fail(e, f, "entry %zu: not %s", i, what);
	}
	return 0;
}

int wire_get_enum(struct perr *e, json_t *o, const char *f, const char *const *names, int *out)
{
	const char *s = NULL;
	int r = wire_get_str(e, o, f, WIRE_MAX_NAME, false, &s);

	if (r)
		return r;
	for (int i = 0; names[i]; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return wire_fail(e, f, "unknown value");
}

/* ---- records ---- */

static bool is_device_key(const char *s)
{
	if (strncmp(s, "mac:", 4) == 0)
		return wire_is_mac(s + 4);
	if (strncmp(s, "ip:", 3) == 0)
		return wire_is_ip(s + 3);
	return false;
}

static int parse_device(struct perr *e, json_t *o, struct wire_device *d)
{
	static const char *const roles[] = { "client", "server", "peer", NULL };
	size_t i;
	json_t *v;
	int r, role;

	if ((r = wire_get_str(e, o, "key", WIRE_MAX_KEY, false, &d->key)))
		return r;
	if (!is_device_key(d->key))
		return wire_fail(e, "key", "not \"mac:<mac>\" or \"ip:<ip>\"");
	if ((r = get_str_array(e, o, "macs", 17, wire_is_mac, "a MAC address", &d->macs)) ||
	    (r = get_str_array(e, o, "ips", 45, wire_is_ip, "an IP address", &d->ips)) ||
	    (r = get_array(e, o, "vlans", &d->vlans)))
		return r;
	json_array_foreach(d->vlans, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 4095)
			return wire_fail(e, "vlans", "entry %zu: not an integer 0..4095", i);
	}
	if ((r = wire_get_str(e, o, "vendor", WIRE_MAX_STR, true, &d->vendor)) ||
	    (r = wire_get_str(e, o, "hostname", WIRE_MAX_STR, true, &d->hostname)) ||
	    (r = wire_get_str(e, o, "type", WIRE_MAX_NAME, true, &d->type)) ||
	    (r = get_array(e, o, "protocols", &d->protocols)))
		return r;
	json_array_foreach(d->protocols, i, v) {
		const char *name = NULL;
		char sub[32];
		struct perr pe = *e;

		if (!json_is_object(v))
			return wire_fail(e, "protocols", "entry %zu: not an object", i);
		snprintf(sub, sizeof(sub), "protocols[%zu]", i);
		/* Name the nested field as "records[3].protocols[1].role". */
		char path[96];
		snprintf(path, sizeof(path), "%s%s%s", e->path, e->path[0] ? "." : "", sub);
		pe.path = path;
		if ((r = wire_get_str(&pe, v, "name", WIRE_MAX_NAME, false, &name)) ||
		    (r = wire_get_enum(&pe, v, "role", roles, &role)))
			return r;
		if (!name[0])
			return wire_fail(&pe, "name", "empty");
	}
	if ((r = wire_get_time(e, o, "first_seen", &d->first_seen)) || (r = wire_get_time(e, o, "last_seen", &d->last_seen)))
		return r;
	return 0;
}

static int parse_connection(struct perr *e, json_t *o, struct wire_connection *c)
{
	static const char *const transports[] = { "tcp", "udp", "eth", NULL };
	bool (*addr_ok)(const char *);
	json_t *v;
	int64_t n = 0;
	int r, t;

	if ((r = wire_get_enum(e, o, "transport", transports, &t)))
		return r;
	c->transport = (enum wire_transport)(t + 1);
	addr_ok = c->transport == WIRE_TR_ETH ? wire_is_mac : wire_is_ip;
	if ((r = wire_get_str(e, o, "src_addr", 45, false, &c->src_addr)))
		return r;
	if (!addr_ok(c->src_addr))
		return wire_fail(e, "src_addr", "not %s", c->transport == WIRE_TR_ETH ? "a MAC address" : "an IP address");
	if ((r = wire_get_str(e, o, "dst_addr", 45, false, &c->dst_addr)))
		return r;
	if (!addr_ok(c->dst_addr))
		return wire_fail(e, "dst_addr", "not %s", c->transport == WIRE_TR_ETH ? "a MAC address" : "an IP address");
	v = json_object_get(o, "port");
	if (!v)
		return wire_fail(e, "port", "missing");
	if (json_is_null(v)) {
		c->port = -1;
	} else {
		if ((r = wire_get_int(e, o, "port", 0, 65535, &n)))
			return wire_fail(e, "port", "not an integer 0..65535 or null");
		c->port = (int)n;
	}
	v = json_object_get(o, "broadcast");
	if (!json_is_boolean(v))
		return wire_fail(e, "broadcast", v ? "not a boolean" : "missing");
	c->broadcast = json_is_true(v);
	if ((r = get_str_array(e, o, "protocols", WIRE_MAX_NAME, NULL, "a protocol name", &c->protocols)) ||
	    (r = wire_get_int(e, o, "packets", 0, INT64_MAX, &c->packets)) ||
	    (r = wire_get_int(e, o, "bytes", 0, INT64_MAX, &c->bytes)) ||
	    (r = wire_get_time(e, o, "first_seen", &c->first_seen)) || (r = wire_get_time(e, o, "last_seen", &c->last_seen)))
		return r;
	return 0;
}

static int parse_health(struct perr *e, json_t *o, struct wire_health *h)
{
	static const char *const events[] = { "capture_truncated", "capture_error", "stats", "capture_drops", "mode",
					      "system", NULL };
	static const char *const modes[] = { "learning", "operational", NULL };
	static const char *const reasons[] = { "console", "quiet_period", "activation", NULL };
	int r, ev, x;
	int64_t rev;

	if ((r = wire_get_time(e, o, "at", &h->at)) || (r = wire_get_enum(e, o, "event", events, &ev)))
		return r;
	h->event = events[ev];
	h->obj = o;
	if (strcmp(h->event, "mode") == 0 &&
	    ((r = wire_get_enum(e, o, "mode", modes, &x)) || (r = wire_get_enum(e, o, "reason", reasons, &x)) ||
	     (r = wire_get_int(e, o, "rev", 0, INT64_MAX, &rev))))
		return r;
	return 0;
}

static int parse_device_remove(struct perr *e, json_t *o, struct wire_device_remove *d)
{
	int r;

	if ((r = wire_get_str(e, o, "key", WIRE_MAX_KEY, false, &d->key)))
		return r;
	if (!is_device_key(d->key))
		return wire_fail(e, "key", "not \"mac:<mac>\" or \"ip:<ip>\"");
	return 0;
}

static int parse_record(struct perr *e, json_t *o, struct wire_record *rec)
{
	static const char *const kinds[] = { "device", "connection", "health", "device_remove", "event", "violation",
					     "alert",  NULL };
	int r, k;

	if (!json_is_object(o)) {
		/* The path itself is the field: "records[3]: not an object". */
		snprintf(e->buf, e->len, "%s: not an object", e->path);
		return -EINVAL;
	}
	if ((r = get_u64(e, o, "seq", &rec->seq)) || (r = wire_get_enum(e, o, "kind", kinds, &k)))
		return r;
	rec->kind = (enum wire_rec_kind)(k + 1);
	rec->obj = o;
	switch (rec->kind) {
	case WIRE_REC_DEVICE: return parse_device(e, o, &rec->u.dev);
	case WIRE_REC_CONNECTION: return parse_connection(e, o, &rec->u.conn);
	case WIRE_REC_HEALTH: return parse_health(e, o, &rec->u.health);
	case WIRE_REC_DEVICE_REMOVE: return parse_device_remove(e, o, &rec->u.dev_remove);
	case WIRE_REC_EVENT:
	case WIRE_REC_VIOLATION: return wire_parse_event(e, o, rec);
	case WIRE_REC_ALERT: return wire_parse_alert(e, o, rec);
	}
	return -EINVAL;
}

int wire_check_record(json_t *rec, char *err, size_t errlen)
{
	struct perr e = { err, errlen, "record" };
	struct wire_record r;
	return parse_record(&e, rec, &r);
}

/* ---- messages ---- */

static int parse_proto(struct perr *e, json_t *o, unsigned *major, unsigned *minor)
{
	const char *s = NULL, *p;
	unsigned long v[2];
	char *end;
	int r = wire_get_str(e, o, "proto", 16, false, &s);

	if (r)
		return r;
	p = s;
	for (int i = 0; i < 2; i++) {
		if (!isdigit((unsigned char)*p))
			return wire_fail(e, "proto", "not \"MAJOR.MINOR\"");
		errno = 0;
		v[i] = strtoul(p, &end, 10);
		if (errno || v[i] > 65535 || (i == 0 && *end != '.') || (i == 1 && *end != '\0'))
			return wire_fail(e, "proto", "not \"MAJOR.MINOR\"");
		p = end + 1;
	}
	*major = (unsigned)v[0];
	*minor = (unsigned)v[1];
	return 0;
}

static int parse_hello(struct perr *e, json_t *o, struct wire_msg *m)
{
	static const char *const modes[] = { "learning", "operational", NULL };
	int r, mode;

	if ((r = parse_proto(e, o, &m->u.hello.major, &m->u.hello.minor)) ||
	    (r = wire_get_str(e, o, "sensor_id", WIRE_SENSOR_ID_LEN, false, &m->u.hello.sensor_id)))
		return r;
	if (!wire_is_uuid(m->u.hello.sensor_id))
		return wire_fail(e, "sensor_id", "not a UUID");
	if ((r = wire_get_str(e, o, "version", WIRE_MAX_NAME, false, &m->u.hello.version)) ||
	    (r = wire_get_enum(e, o, "mode", modes, &mode)) ||
	    (r = get_u64(e, o, "first_seq", &m->u.hello.first_seq)) ||
	    (r = get_u64(e, o, "last_seq", &m->u.hello.last_seq)))
		return r;
	m->u.hello.mode = modes[mode];
	return 0;
}

/* A batch carries records with strictly increasing seqs inside [seq_from, seq_to]: consecutive normally, with
 * gaps where the sensor's journal compacted inventory records away or dropped records at its disk cap (the
 * range may then be wider than WIRE_MAX_RECORDS; the count may not). */
static int parse_batch(struct perr *e, json_t *o, struct wire_msg *m)
{
	uint64_t from, to, prev = 0;
	size_t n, i;
	json_t *recs, *v;
	char path[32];
	int r;

	if ((r = get_u64(e, o, "seq_from", &from)) || (r = get_u64(e, o, "seq_to", &to)))
		return r;
	if (from == 0)
		return wire_fail(e, "seq_from", "must be at least 1");
	if (to < from)
		return wire_fail(e, "seq_to", "less than seq_from");
	recs = json_object_get(o, "records");
	if (!recs)
		return wire_fail(e, "records", "missing");
	if (!json_is_array(recs))
		return wire_fail(e, "records", "not an array");
	n = json_array_size(recs);
	if (n == 0 || n > WIRE_MAX_RECORDS)
		return wire_fail(e, "records", "%zu records; a batch holds 1..%d", n, WIRE_MAX_RECORDS);
	if (n - 1 > to - from)
		return wire_fail(e, "records", "%zu records for seq %llu..%llu", n, (unsigned long long)from,
				 (unsigned long long)to);
	m->u.batch.records = calloc(n, sizeof(*m->u.batch.records));
	if (!m->u.batch.records)
		return wire_fail(e, "records", "out of memory");
	m->u.batch.seq_from = from;
	m->u.batch.seq_to = to;
	m->u.batch.nrecords = n;
	json_array_foreach(recs, i, v) {
		struct perr re = { e->buf, e->len, path };
		uint64_t seq;
		snprintf(path, sizeof(path), "records[%zu]", i);
		if ((r = parse_record(&re, v, &m->u.batch.records[i])))
			return r;
		seq = m->u.batch.records[i].seq;
		if (seq < from || seq > to)
			return wire_fail(&re, "seq", "%llu, outside seq_from..seq_to %llu..%llu", (unsigned long long)seq,
				    (unsigned long long)from, (unsigned long long)to);
		if (i > 0 && seq <= prev)
			return wire_fail(&re, "seq", "%llu, not above the previous record's %llu (seqs must increase)",
				    (unsigned long long)seq, (unsigned long long)prev);
		prev = seq;
	}
	return 0;
}

bool wire_is_cidr(const char *s)
{
	char addr[64];
	unsigned char buf[16];
	const char *slash = strchr(s, '/');
	char *end;
	long bits;
	int fam;

	if (!slash || (size_t)(slash - s) >= sizeof(addr) || !slash[1])
		return false;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	fam = inet_pton(AF_INET, addr, buf) == 1 ? 4 : inet_pton(AF_INET6, addr, buf) == 1 ? 6 : 0;
	bits = strtol(slash + 1, &end, 10);
	return fam && !*end && isdigit((unsigned char)slash[1]) && bits >= 0 && bits <= (fam == 4 ? 32 : 128);
}

/* A map of decimal keys in [lo, hi] to names of at most WIRE_MAX_NAME bytes. */
static int get_name_map(struct perr *e, json_t *o, const char *member, const char *f, long lo, long hi)
{
	json_t *m = json_object_get(o, member), *v;
	const char *k;

	if (!m)
		return 0;
	if (!json_is_object(m) || json_object_size(m) > 4096)
		return wire_fail(e, f, "not an object of at most 4096 names");
	json_object_foreach(m, k, v) {
		char *end;
		long n = strtol(k, &end, 10);
		if (!isdigit((unsigned char)k[0]) || *end || n < lo || n > hi)
			return wire_fail(e, f, "key \"%.20s\" is not a number %ld..%ld", k, lo, hi);
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > WIRE_MAX_NAME)
			return wire_fail(e, f, "name of %s is not a string of 1..%d bytes", k, WIRE_MAX_NAME);
	}
	return 0;
}

static int parse_settings(struct perr *e, json_t *s)
{
	json_t *a, *v;
	size_t i;
	int r;

	if (!json_is_object(s))
		return wire_fail(e, "settings", "not an object");
	if ((a = json_object_get(s, "subnets"))) {
		if (!json_is_array(a) || json_array_size(a) > WIRE_MAX_LIST)
			return wire_fail(e, "settings.subnets", "not an array of at most %d subnets", WIRE_MAX_LIST);
		json_array_foreach(a, i, v)
			if (!json_is_string(v) || !wire_is_cidr(json_string_value(v)))
				return wire_fail(e, "settings.subnets", "entry %zu is not a CIDR subnet", i);
	}
	if ((a = json_object_get(s, "learning_quiet_period")) && !json_is_null(a) &&
	    (!json_is_integer(a) || json_integer_value(a) < 60 || json_integer_value(a) > 365LL * 86400))
		return wire_fail(e, "settings.learning_quiet_period", "not a number of seconds 60..31536000");
	if ((r = get_name_map(e, s, "vlan_names", "settings.vlan_names", 1, 4094)) ||
	    (r = get_name_map(e, s, "port_names", "settings.port_names", 1, 65535)))
		return r;
	if ((a = json_object_get(s, "dhcp_ranges"))) {
		if (!json_is_array(a) || json_array_size(a) > WIRE_MAX_LIST)
			return wire_fail(e, "settings.dhcp_ranges", "not an array of at most %d ranges", WIRE_MAX_LIST);
		json_array_foreach(a, i, v) {
			const char *lo = json_string_value(json_object_get(v, "start"));
			const char *hi = json_string_value(json_object_get(v, "end"));
			if (!lo || !hi || !wire_is_ip(lo) || !wire_is_ip(hi) || !strchr(lo, ':') != !strchr(hi, ':'))
				return wire_fail(e, "settings.dhcp_ranges", "entry %zu needs start and end addresses of one family",
					    i);
		}
	}
	return 0;
}

int wire_check_settings(json_t *settings, char *err, size_t errlen)
{
	struct perr e = { err, errlen, "" };

	if (errlen)
		err[0] = '\0';
	return parse_settings(&e, settings);
}

bool wire_is_evidence_ref(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '_' && s[n] != '-')
			return false;
	return n > 0 && n <= WIRE_MAX_EVIDENCE_REF;
}

/* evidence_request {id, ref} and evidence {id, ref, pcap | error}. */
static int parse_evidence(struct perr *e, json_t *root, struct wire_msg *m)
{
	uint64_t id;
	const char *ref, *pcap = NULL, *error = NULL;
	int r;

	if ((r = wire_get_int(e, root, "id", 0, INT64_MAX, (int64_t *)&id)) ||
	    (r = wire_get_str(e, root, "ref", WIRE_MAX_EVIDENCE_REF, false, &ref)))
		return r;
	if (!wire_is_evidence_ref(ref))
		return wire_fail(e, "ref", "not 1..%d characters of [A-Za-z0-9_-]", WIRE_MAX_EVIDENCE_REF);
	if (m->type == WIRE_EVIDENCE_REQUEST) {
		m->u.evidence_request.id = id;
		m->u.evidence_request.ref = ref;
		return 0;
	}
	if (json_object_get(root, "error") &&
	    (r = wire_get_str(e, root, "error", WIRE_MAX_STR, false, &error)))
		return r;
	if (!error) {
		/* base64 of at most WIRE_MAX_EVIDENCE_BYTES */
		if ((r = wire_get_str(e, root, "pcap", (WIRE_MAX_EVIDENCE_BYTES + 2) / 3 * 4, false, &pcap)))
			return r;
		m->u.evidence.pcap_len = json_string_length(json_object_get(root, "pcap"));
	}
	m->u.evidence.id = id;
	m->u.evidence.ref = ref;
	m->u.evidence.pcap = pcap;
	m->u.evidence.error = error;
	return 0;
}

/* renew {csr} and certificate {certificate} | {error}: PEM text of the expected kind, at most WIRE_MAX_PEM. */
static int parse_pem(struct perr *e, json_t *root, const char *field, const char *label, const char **out)
{
	char begin[64];
	int r;

	if ((r = wire_get_str(e, root, field, WIRE_MAX_PEM, false, out)))
		return r;
	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	if (strncmp(*out, begin, strlen(begin)) != 0)
		return wire_fail(e, field, "not a PEM %s", label);
	return 0;
}

static int parse_certificate(struct perr *e, json_t *root, struct wire_msg *m)
{
	if (json_object_get(root, "error"))
		return wire_get_str(e, root, "error", WIRE_MAX_STR, false, &m->u.certificate.error);
	return parse_pem(e, root, "certificate", "CERTIFICATE", &m->u.certificate.certificate);
}

static int parse_config(struct perr *e, json_t *root, struct wire_msg *m)
{
	static const char *const modes[] = { "learning", "operational", NULL };
	json_t *req = json_object_get(root, "mode_request"), *v;
	char path[48];
	size_t i;
	int r, mode;

	m->u.config.settings = json_object_get(root, "settings");
	if ((r = parse_settings(e, m->u.config.settings)))
		return r;
	if (req && !json_is_null(req)) {
		struct perr me = { e->buf, e->len, "mode_request" };
		if (!json_is_object(req))
			return wire_fail(e, "mode_request", "not an object or null");
		if ((r = wire_get_enum(&me, req, "mode", modes, &mode)) ||
		    (r = wire_get_int(&me, req, "rev", 1, INT64_MAX, &m->u.config.mode_rev)))
			return r;
		m->u.config.mode = modes[mode];
	}
	m->u.config.learned = json_object_get(root, "learned");
	if (!m->u.config.learned)
		return 0;
	if (!json_is_array(m->u.config.learned) || json_array_size(m->u.config.learned) > WIRE_MAX_LEARNED)
		return wire_fail(e, "learned", "not an array of at most %d items", WIRE_MAX_LEARNED);
	json_array_foreach(m->u.config.learned, i, v) {
		snprintf(path, sizeof(path), "learned[%zu]", i);
		if ((r = wire_parse_learn(e, v, path)))
			return r;
	}
	return 0;
}

int wire_parse(const char *buf, size_t len, struct wire_msg *out, char *err, size_t errlen)
{
	static const char *const types[] = { "hello", "batch", "pong", "welcome", "ack", "ping", "config",
					     "evidence_request", "evidence", "indicators", "renew", "certificate", NULL };
	struct perr e = { err, errlen, "" };
	json_error_t jerr;
	json_t *root;
	int r, t;

	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "not JSON: %s at offset %d", jerr.text, jerr.position);
		return -EINVAL;
	}
	out->root = root;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "message: not an object");
		r = -EINVAL;
		goto out;
	}
	if ((r = wire_get_enum(&e, root, "type", types, &t)))
		goto out;
	out->type = (enum wire_type)(t + 1);
	switch (out->type) {
	case WIRE_HELLO: r = parse_hello(&e, root, out); break;
	case WIRE_BATCH: r = parse_batch(&e, root, out); break;
	case WIRE_WELCOME: r = get_u64(&e, root, "applied_seq", &out->u.welcome.applied_seq); break;
	case WIRE_ACK: r = get_u64(&e, root, "seq", &out->u.ack.seq); break;
	case WIRE_PING:
	case WIRE_PONG: r = 0; break;
	case WIRE_CONFIG: r = parse_config(&e, root, out); break;
	case WIRE_EVIDENCE_REQUEST:
	case WIRE_EVIDENCE: r = parse_evidence(&e, root, out); break;
	case WIRE_INDICATORS:
		out->u.indicators.bundle = json_object_get(root, "bundle");
		r = json_is_object(out->u.indicators.bundle) ? 0 : wire_fail(&e, "bundle", "not an object");
		break;
	case WIRE_RENEW: r = parse_pem(&e, root, "csr", "CERTIFICATE REQUEST", &out->u.renew.csr); break;
	case WIRE_CERTIFICATE: r = parse_certificate(&e, root, out); break;
	}
out:
	if (r)
		wire_msg_free(out);
	return r;
}

void wire_msg_free(struct wire_msg *m)
{
	if (m->type == WIRE_BATCH)
		free(m->u.batch.records);
	json_decref(m->root);
	memset(m, 0, sizeof(*m));
}
