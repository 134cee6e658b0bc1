#include "sensor-agent/alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"
#include "sensor-agent/dissect/hashmap.h"

#define ADDR_LEN 46
#define BASELINE_MAX 200000  /* items learnt (~40 MiB at most); beyond, nothing new is learnt or alerts */
#define ALERTS_MAX 100000    /* distinct alerts kept; beyond, they are counted as dropped */
#define SCAN_WINDOW_USEC (60LL * 1000000)
#define SCAN_PORTS 8         /* distinct ports of one host probed within the window: a port scan */
#define STORM_EXCEPTIONS 20  /* exception responses on one pair within the window: an exception storm */
#define STORM_WINDOW_USEC (60LL * 1000000)

enum bkind { B_DEVICE = 1, B_CONN, B_PAIR_PROTO, B_PAIR_FUNC, B_PROGRAMMER, B_WRITER, B_SCAN, B_STORM };

/* One key for every kind of baseline item and counter (fixed size: the hash map compares bytes). */
struct bkey {
	uint8_t kind;
	uint8_t pad[3]; /* explicit, so that every byte of a key is a member (struct copies keep padding undefined) */
	uint32_t code;
	char a[ADDR_LEN], b[ADDR_LEN];
	char proto[24];
};

struct bitem {
	struct bkey key;
	/* B_SCAN: distinct ports probed in the current window; B_STORM: exceptions seen */
	int64_t window_start;
	uint16_t ports[SCAN_PORTS];
	uint32_t n;
	bool alerted;
};

struct akey {
	char engine[20];
	char title[64];
	char src[ADDR_LEN], dst[ADDR_LEN];
	char proto[24];
};

struct alert {
	struct akey key;
	const char *severity, *remediation;
	char message[192];
	uint64_t count;
	int64_t first_seen, last_seen;
};

struct alerts {
	enum alerts_mode mode;
	struct hashmap baseline; /* struct bkey -> struct bitem (learnt items) */
	struct hashmap counters; /* struct bkey -> struct bitem (scan windows, exception counts) */
	struct hashmap alerts;   /* struct akey -> struct alert */
	uint64_t dropped;
};

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

struct alerts *alerts_new(void)
{
	struct alerts *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	hashmap_init(&a->baseline, sizeof(struct bkey));
	hashmap_init(&a->counters, sizeof(struct bkey));
	hashmap_init(&a->alerts, sizeof(struct akey));
	return a;
}

static void free_values(struct hashmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			free(m->slots[i].value);
	hashmap_free(m);
}

void alerts_free(struct alerts *a)
{
	if (!a)
		return;
	free_values(&a->baseline);
	free_values(&a->counters);
	free_values(&a->alerts);
	free(a);
}

void alerts_set_mode(struct alerts *a, enum alerts_mode m) { a->mode = m; }
enum alerts_mode alerts_mode(const struct alerts *a) { return a->mode; }

void alerts_clear(struct alerts *a)
{
	free_values(&a->alerts);
	hashmap_init(&a->alerts, sizeof(struct akey));
	a->dropped = 0;
}

size_t alerts_count(const struct alerts *a) { return a->alerts.count; }

static struct bkey bkey(uint8_t kind, const char *x, const char *y, const char *proto, uint32_t code)
{
	struct bkey k;

	memset(&k, 0, sizeof(k));
	k.kind = kind;
	k.code = code;
	copy(k.a, sizeof(k.a), x);
	copy(k.b, sizeof(k.b), y);
	copy(k.proto, sizeof(k.proto), proto);
	return k;
}

static struct bitem *item_get(struct hashmap *m, const struct bkey *k, bool create)
{
	struct bitem *it = hashmap_get(m, k);

	if (it || !create || m->count >= BASELINE_MAX)
		return it;
	it = calloc(1, sizeof(*it));
	if (!it)
		return NULL;
	it->key = *k;
	if (hashmap_put(m, &it->key, it) < 0) {
		free(it);
		return NULL;
	}
	return it;
}

/* In learning mode the item joins the baseline (returns false); in operational mode returns true when it is
 * new, and learns it so that it alerts once (later occurrences are counted on the alert). */
static bool is_new(struct alerts *a, const struct bkey *k)
{
	if (hashmap_get(&a->baseline, k))
		return false;
	if (!item_get(&a->baseline, k, true))
		return false; /* full, or out of memory: stay quiet rather than alert on everything */
	return a->mode == ALERTS_OPERATIONAL;
}

void alerts_raise(struct alerts *a, const char *engine, const char *severity, const char *title, const char *src,
		  const char *dst, const char *proto, const char *remediation, int64_t ts, const char *message)
{
	struct akey k;
	struct alert *al;

	memset(&k, 0, sizeof(k));
	copy(k.engine, sizeof(k.engine), engine);
	copy(k.title, sizeof(k.title), title);
	copy(k.src, sizeof(k.src), src);
	copy(k.dst, sizeof(k.dst), dst);
	copy(k.proto, sizeof(k.proto), proto);
	al = hashmap_get(&a->alerts, &k);
	if (!al) {
		if (a->alerts.count >= ALERTS_MAX) {
			a->dropped++;
			return;
		}
		al = calloc(1, sizeof(*al));
		if (!al)
			return;
		al->key = k;
		al->severity = severity;
		al->remediation = remediation;
		al->first_seen = ts;
		copy(al->message, sizeof(al->message), message);
		if (hashmap_put(&a->alerts, &al->key, al) < 0) {
			free(al);
			return;
		}
	}
	al->count++;
	if (ts < al->first_seen)
		al->first_seen = ts;
	if (ts > al->last_seen)
		al->last_seen = ts;
}

static const char REM_NEW[] = "Confirm the device or traffic is expected; if so, learn it (it will not alert again), "
			      "else locate the device and remove it from the network.";
static const char REM_PROGRAM[] = "Verify with the control engineers that the change was planned and made from an "
				  "authorized engineering station; compare the PLC program with the approved version.";
static const char REM_WRITE[] = "Check that the writing station is allowed to change this controller's values; "
				"restrict write access on the controller or the network if not.";
static const char REM_OPS[] = "Confirm with operations that the command was intended; if not, check who issued it "
			      "and the state of the process.";
static const char REM_PROTO[] = "Inspect the sending device and its software: malformed or unexpected PDUs point to "
				"faulty firmware, misconfiguration or an attack tool.";
static const char REM_SCAN[] = "Identify the scanning station; scans in an OT network are rarely legitimate. "
			       "Isolate it unless it is an approved asset-discovery tool.";
static const char REM_SPOOF[] = "Two MAC addresses claim one IP address: check for ARP spoofing (a man in the "
				"middle) or a duplicate address assignment.";

void alerts_new_device(struct alerts *a, const char *key, const char *addr, int64_t ts)
{
	struct bkey k = bkey(B_DEVICE, key, NULL, NULL, 0);
	char msg[160];

	if (!is_new(a, &k))
		return;
	snprintf(msg, sizeof(msg), "A device not seen while learning appeared: %s", key);
	alerts_raise(a, "policy_violation", "minor", "New device", addr, NULL, NULL, REM_NEW, ts, msg);
}

void alerts_new_connection(struct alerts *a, const char *transport, const char *client, const char *server,
			   unsigned port, int64_t ts)
{
	struct bkey k = bkey(B_CONN, client, server, transport, port);
	char msg[160];

	if (!is_new(a, &k))
		return;
	snprintf(msg, sizeof(msg), "New %s connection %s -> %s port %u", transport, client, server, port);
	alerts_raise(a, "policy_violation", "warning", "New connection", client, server, NULL, REM_NEW, ts, msg);
}

void alerts_syn(struct alerts *a, const char *client, const char *server, unsigned port, int64_t ts)
{
	struct bkey k = bkey(B_SCAN, client, server, NULL, 0);
	struct bitem *it = item_get(&a->counters, &k, true);
	char msg[160];

	if (!it)
		return;
	if (ts - it->window_start > SCAN_WINDOW_USEC) {
		it->window_start = ts;
		it->n = 0;
	}
	for (uint32_t i = 0; i < it->n && i < SCAN_PORTS; i++)
		if (it->ports[i] == port)
			return;
	if (it->n < SCAN_PORTS)
		it->ports[it->n] = (uint16_t)port;
	it->n++;
	if (it->n < SCAN_PORTS)
		return;
	snprintf(msg, sizeof(msg), "%s probed at least %d TCP ports of %s within a minute", client, SCAN_PORTS,
		 server);
	alerts_raise(a, "anomaly", "major", "Port scan", client, server, "tcp", REM_SCAN, ts, msg);
	it->n = 0; /* the next window's probes count again on the same alert */
	it->window_start = ts;
}

void alerts_pair_protocol(struct alerts *a, const char *client, const char *server, const char *proto, int64_t ts)
{
	struct bkey k = bkey(B_PAIR_PROTO, client, server, proto, 0);
	char msg[160];

	if (!is_new(a, &k))
		return;
	snprintf(msg, sizeof(msg), "%s started speaking %s to %s", client, proto, server);
	alerts_raise(a, "policy_violation", "minor", "New protocol between devices", client, server, proto, REM_NEW,
		    ts, msg);
}

static bool is_write(const char *name)
{
	return name && (strstr(name, "write") || strstr(name, "Write") || strstr(name, "set_attribute") ||
			strstr(name, "operate"));
}

void alerts_pair_function(struct alerts *a, const char *client, const char *server, const char *proto,
			  uint32_t code, const char *name, int64_t ts)
{
	struct bkey k = bkey(B_PAIR_FUNC, client, server, proto, code);
	struct bkey w = bkey(B_WRITER, client, server, proto, 0);
	bool writer_new = is_write(name) && is_new(a, &w);
	char msg[160];

	if (!is_new(a, &k) && !writer_new)
		return;
	if (writer_new) {
		snprintf(msg, sizeof(msg), "%s wrote to %s over %s (%s) and did not while learning", client, server,
			 proto, name);
		alerts_raise(a, "policy_violation", "major", "Write from a new source", client, server, proto,
			    REM_WRITE, ts, msg);
		return;
	}
	snprintf(msg, sizeof(msg), "%s used %s function %s (%u) on %s for the first time", client, proto,
		 name && *name ? name : "?", code, server);
	alerts_raise(a, "policy_violation", "minor", "New function code between devices", client, server, proto,
		    REM_NEW, ts, msg);
}

struct op_rule {
	const char *event, *title, *severity;
};

static const struct op_rule op_rules[] = {
	{ "plc_stop", "PLC stop command", "major" },
	{ "plc_start", "PLC start command", "minor" },
	{ "plc_mode_change", "PLC operating mode change", "minor" },
	{ "cold_restart", "Device cold restart", "major" },
	{ "warm_restart", "Device warm restart", "minor" },
	{ "reinitialize_device", "Device reinitialization", "major" },
	{ "communication_control", "Device communication control", "major" },
	{ "ip_change", "Device IP address change", "major" },
	{ "name_change", "Device name change", "minor" },
	{ "factory_reset", "Device factory reset", "critical" },
	{ "program_delete", "PLC program block deleted", "major" },
};

static const struct op_rule program_rules[] = {
	{ "program_download", "Program download from an unauthorized station", "critical" },
	{ "program_upload", "Program upload from an unauthorized station", "major" },
	{ "firmware_update", "Firmware update from an unauthorized station", "critical" },
};

void alerts_dpi(struct alerts *a, bool violation, const char *proto, const char *name, const char *detail,
		const char *src, const char *dst, bool src_is_client, int64_t ts)
{
	char msg[192];
	const char *station = src_is_client ? src : dst, *target = src_is_client ? dst : src;

	if (violation) {
		snprintf(msg, sizeof(msg), "%s violation %s from %s%s%s", proto, name, src ? src : "?",
			 detail ? ": " : "", detail ? detail : "");
		alerts_raise(a, "protocol_violation", "minor", "Protocol violation", src, dst, proto, REM_PROTO, ts, msg);
		return;
	}
	if (strcmp(name, "exception_response") == 0) {
		struct bkey k = bkey(B_STORM, src, dst, proto, 0);
		struct bitem *it = item_get(&a->counters, &k, true);
		if (!it)
			return;
		if (ts - it->window_start > STORM_WINDOW_USEC) {
			it->window_start = ts;
			it->n = 0;
		}
		if (++it->n >= STORM_EXCEPTIONS) {
			snprintf(msg, sizeof(msg), "%s answered %u requests from %s with %s exceptions within a minute",
				 src ? src : "?", it->n, dst ? dst : "?", proto);
			alerts_raise(a, "protocol_violation", "minor", "Exception storm", src, dst, proto, REM_PROTO, ts,
				    msg);
			it->n = 0;
			it->window_start = ts;
		}
		return;
	}
	for (size_t i = 0; i < sizeof(program_rules) / sizeof(program_rules[0]); i++) {
		struct bkey k;
		if (strcmp(name, program_rules[i].event) != 0)
			continue;
		/* Stations that programmed controllers while learning are the authorized programming devices. */
		k = bkey(B_PROGRAMMER, station, NULL, NULL, 0);
		if (a->mode == ALERTS_LEARNING) {
			(void)item_get(&a->baseline, &k, true);
			return;
		}
		if (hashmap_get(&a->baseline, &k))
			return;
		snprintf(msg, sizeof(msg), "%s: %s -> %s%s%s", program_rules[i].event, station ? station : "?",
			 target ? target : "?", detail ? " " : "", detail ? detail : "");
		alerts_raise(a, "policy_violation", program_rules[i].severity, program_rules[i].title, station, target,
			    proto, REM_PROGRAM, ts, msg);
		return;
	}
	for (size_t i = 0; i < sizeof(op_rules) / sizeof(op_rules[0]); i++) {
		if (strcmp(name, op_rules[i].event) != 0)
			continue;
		snprintf(msg, sizeof(msg), "%s sent %s to %s over %s%s%s", station ? station : "?", name,
			 target ? target : "?", proto, detail ? ": " : "", detail ? detail : "");
		alerts_raise(a, "operational", op_rules[i].severity, op_rules[i].title, station, target, proto, REM_OPS,
			    ts, msg);
		return;
	}
}

void alerts_ip_conflict(struct alerts *a, const char *ip, const char *mac, const char *owner_mac, int64_t ts)
{
	char msg[192];

	snprintf(msg, sizeof(msg), "%s announced %s, which %s announced before", mac, ip, owner_mac);
	alerts_raise(a, "anomaly", "major", "ARP spoofing or IP address conflict", mac, owner_mac, "arp", REM_SPOOF, ts,
		    msg);
}

static int alert_cmp(const void *x, const void *y)
{
	const struct alert *p = *(const struct alert *const *)x, *q = *(const struct alert *const *)y;
	if (p->first_seen != q->first_seen)
		return p->first_seen < q->first_seen ? -1 : 1;
	return memcmp(&p->key, &q->key, sizeof(p->key));
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

json_t *alerts_json(const struct alerts *a)
{
	json_t *arr = json_array();
	struct alert **v = NULL;
	size_t n = 0;
	char t1[TIMEFMT_LEN], t2[TIMEFMT_LEN];

	if (!arr)
		return NULL;
	if (a->alerts.count) {
		v = malloc(a->alerts.count * sizeof(*v));
		if (!v)
			return arr;
		for (size_t i = 0; i < a->alerts.cap; i++)
			if (a->alerts.slots[i].key)
				v[n++] = a->alerts.slots[i].value;
		qsort(v, n, sizeof(*v), alert_cmp);
	}
	for (size_t i = 0; i < n; i++) {
		const struct alert *al = v[i];
		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:s, s:s, s:s}", "engine", al->key.engine,
				       "severity", al->severity, "title", al->key.title, "message", al->message, "src",
				       str_or_null(al->key.src), "dst", str_or_null(al->key.dst), "protocol",
				       str_or_null(al->key.proto), "count", (json_int_t)al->count, "first_seen",
				       timefmt_rfc3339_ms(al->first_seen, t1), "last_seen",
				       timefmt_rfc3339_ms(al->last_seen, t2), "remediation", al->remediation));
	}
	free(v);
	return arr;
}
