#include "sensor-agent/alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"
#include "sensor-agent/alerts_internal.h"

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
	hashmap_init(&a->learned, sizeof(struct bkey));
	hashmap_init(&a->counters, sizeof(struct bkey));
	hashmap_init(&a->alerts, sizeof(struct akey));
	return a;
}

void alerts_free_values(struct hashmap *m)
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
	alerts_free_values(&a->baseline);
	alerts_free_values(&a->learned);
	alerts_free_values(&a->counters);
	alerts_free_alerts(a);
	free(a);
}

void alerts_free_alert(struct alert *al)
{
	if (al) {
		free(al->learn);
		free(al);
	}
}

void alerts_free_alerts(struct alerts *a)
{
	for (size_t i = 0; i < a->alerts.cap; i++)
		if (a->alerts.slots[i].key)
			alerts_free_alert(a->alerts.slots[i].value);
	hashmap_free(&a->alerts);
}

/* Adds a learn item to the alert (own: the alert's B_ALERT item, which covers everything it aggregates). */
static void add_learn(struct alert *al, const struct bkey *k, const struct bkey *own)
{
	struct bkey *v;

	for (uint32_t i = 0; i < al->nlearn; i++)
		if (memcmp(&al->learn[i], k, sizeof(*k)) == 0 || memcmp(&al->learn[i], own, sizeof(*own)) == 0)
			return;
	if (al->nlearn >= ALERT_LEARN_MAX)
		return;
	if (!(v = realloc(al->learn, (al->nlearn + 1) * sizeof(*v))))
		return;
	al->learn = v;
	al->learn[al->nlearn] = al->nlearn + 1 == ALERT_LEARN_MAX ? *own : *k;
	al->nlearn++;
}

void alerts_clear(struct alerts *a)
{
	alerts_free_alerts(a);
	hashmap_init(&a->alerts, sizeof(struct akey));
	a->dropped = 0;
}

size_t alerts_count(const struct alerts *a) { return a->alerts.count; }

void alerts_set_evidence_hook(struct alerts *a, alerts_evidence_fn save, void *ud)
{
	a->evidence_save = save;
	a->evidence_ud = ud;
}

struct bkey alerts_bkey(uint8_t kind, const char *x, const char *y, const char *proto, uint32_t code)
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

struct bitem *alerts_item_get(struct hashmap *m, const struct bkey *k, bool create)
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

static bool known(const struct alerts *a, const struct bkey *k)
{
	return hashmap_get(&a->baseline, k) || hashmap_get(&a->learned, k);
}

/* In learning mode the item joins the baseline (returns false) and restarts the quiet period; in operational
 * mode returns true when it is new, and learns it so that it alerts once (later occurrences are counted on the
 * alert). */
static bool is_new(struct alerts *a, const struct bkey *k, int64_t ts)
{
	if (known(a, k))
		return false;
	if (!alerts_item_get(&a->baseline, k, true))
		return false; /* full, or out of memory: stay quiet rather than alert on everything */
	a->changes++;
	if (a->mode == ALERTS_OPERATIONAL)
		return true;
	if (ts > a->last_new)
		a->last_new = ts;
	return false;
}

uint32_t alerts_title_code(const char *title)
{
	uint32_t h = 2166136261u;

	for (; *title; title++)
		h = (h ^ (uint8_t)*title) * 16777619u;
	return h;
}

void alerts_raise(struct alerts *a, const char *engine, const char *severity, const char *title, const char *src,
		  const char *dst, const char *proto, const char *remediation, int64_t ts, const char *message)
{
	alerts_raise_item(a, engine, severity, title, src, dst, proto, remediation, ts, message, NULL);
}

void alerts_raise_item(struct alerts *a, const char *engine, const char *severity, const char *title,
		       const char *src, const char *dst, const char *proto, const char *remediation, int64_t ts,
		       const char *message, const struct bkey *learn)
{
	struct bkey own = alerts_bkey(B_ALERT, src, dst, proto, alerts_title_code(title));
	struct akey k;
	struct alert *al;

	if (a->learned.count && hashmap_get(&a->learned, &own))
		return; /* an analyst learned this alert */

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
		if (a->evidence_save && !a->evidence_save(a->evidence_ud, al->evidence))
			al->evidence[0] = '\0';
	}
	add_learn(al, learn ? learn : &own, &own);
	if (al->count == al->reported || ts < al->win_first)
		al->win_first = ts;
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
	struct bkey k = alerts_bkey(B_DEVICE, key, NULL, NULL, 0);
	char msg[160];

	if (!is_new(a, &k, ts))
		return;
	snprintf(msg, sizeof(msg), "A device not seen while learning appeared: %s", key);
	alerts_raise_item(a, "policy_violation", "minor", "New device", addr, NULL, NULL, REM_NEW, ts, msg, &k);
}

void alerts_new_connection(struct alerts *a, const char *transport, const char *client, const char *server,
			   unsigned port, int64_t ts)
{
	struct bkey k = alerts_bkey(B_CONN, client, server, transport, port);
	char msg[160];

	if (!is_new(a, &k, ts))
		return;
	alerts_internet_connection(a, client, server, transport, port, ts);
	snprintf(msg, sizeof(msg), "New %s connection %s -> %s port %u", transport, client, server, port);
	alerts_raise_item(a, "policy_violation", "warning", "New connection", client, server, NULL, REM_NEW, ts, msg,
			  &k);
}

void alerts_syn(struct alerts *a, const char *client, const char *server, unsigned port, int64_t ts)
{
	struct bkey k = alerts_bkey(B_SCAN, client, server, NULL, 0);
	struct bitem *it = alerts_item_get(&a->counters, &k, true);
	char msg[160];

	if (!it)
		return;
	if (ts - it->window_start > SCAN_WINDOW_USEC || ts < it->window_start) { /* packet time may go back: a replay */
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
	struct bkey k = alerts_bkey(B_PAIR_PROTO, client, server, proto, 0);
	char msg[160];

	if (!is_new(a, &k, ts))
		return;
	snprintf(msg, sizeof(msg), "%s started speaking %s to %s", client, proto, server);
	alerts_raise_item(a, "policy_violation", "minor", "New protocol between devices", client, server, proto,
			  REM_NEW, ts, msg, &k);
}

static bool is_write(const char *name)
{
	return name && (strstr(name, "write") || strstr(name, "Write") || strstr(name, "set_attribute") ||
			strstr(name, "operate"));
}

void alerts_pair_function(struct alerts *a, const char *client, const char *server, const char *proto,
			  uint32_t code, const char *name, int64_t ts)
{
	struct bkey k = alerts_bkey(B_PAIR_FUNC, client, server, proto, code);
	struct bkey w = alerts_bkey(B_WRITER, client, server, proto, 0);
	bool writer_new = is_write(name) && is_new(a, &w, ts);
	char msg[160];

	if (!is_new(a, &k, ts) && !writer_new)
		return;
	if (writer_new) {
		snprintf(msg, sizeof(msg), "%s wrote to %s over %s (%s) and did not while learning", client, server,
			 proto, name);
		alerts_raise_item(a, "policy_violation", "major", "Write from a new source", client, server, proto,
				  REM_WRITE, ts, msg, &w);
		return;
	}
	snprintf(msg, sizeof(msg), "%s used %s function %s (%u) on %s for the first time", client, proto,
		 name && *name ? name : "?", code, server);
	alerts_raise_item(a, "policy_violation", "minor", "New function code between devices", client, server, proto,
			  REM_NEW, ts, msg, &k);
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
		struct bkey k = alerts_bkey(B_STORM, src, dst, proto, 0);
		struct bitem *it = alerts_item_get(&a->counters, &k, true);
		if (!it)
			return;
		if (ts - it->window_start > STORM_WINDOW_USEC || ts < it->window_start) {
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
		k = alerts_bkey(B_PROGRAMMER, station, NULL, NULL, 0);
		if (a->mode == ALERTS_LEARNING) {
			(void)is_new(a, &k, ts);
			return;
		}
		if (known(a, &k))
			return;
		snprintf(msg, sizeof(msg), "%s: %s -> %s%s%s", program_rules[i].event, station ? station : "?",
			 target ? target : "?", detail ? " " : "", detail ? detail : "");
		alerts_raise_item(a, "policy_violation", program_rules[i].severity, program_rules[i].title, station,
				  target, proto, REM_PROGRAM, ts, msg, &k);
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

void alerts_arp_binding(struct alerts *a, const char *ip, const char *mac, int64_t ts)
{
	struct bkey k = alerts_bkey(B_ARP, ip, mac, NULL, 0);

	if (a->mode == ALERTS_LEARNING)
		(void)is_new(a, &k, ts);
}

void alerts_ip_conflict(struct alerts *a, const char *ip, const char *mac, const char *owner_mac, int64_t ts)
{
	struct bkey k = alerts_bkey(B_ARP, ip, mac, NULL, 0);
	char msg[192];

	/* While learning, address changes (DHCP, replaced devices) are bindings to learn; later, a binding learnt
	 * is its owner announcing it again. */
	if (a->mode == ALERTS_LEARNING) {
		(void)is_new(a, &k, ts);
		return;
	}
	if (known(a, &k))
		return;
	snprintf(msg, sizeof(msg), "%s announced %s, which %s announced before", mac, ip, owner_mac);
	alerts_raise_item(a, "anomaly", "major", "ARP spoofing or IP address conflict", mac, owner_mac, "arp",
			  REM_SPOOF, ts, msg, &k);
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
			arr, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:s, s:s, s:s, s:o}", "engine", al->key.engine,
				       "severity", al->severity, "title", al->key.title, "message", al->message, "src",
				       str_or_null(al->key.src), "dst", str_or_null(al->key.dst), "protocol",
				       str_or_null(al->key.proto), "count", (json_int_t)al->count, "first_seen",
				       timefmt_rfc3339_ms(al->first_seen, t1), "last_seen",
				       timefmt_rfc3339_ms(al->last_seen, t2), "remediation", al->remediation, "evidence",
				       str_or_null(al->evidence)));
	}
	free(v);
	return arr;
}
