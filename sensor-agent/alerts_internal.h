/* The alert engines' state, shared by alerts.c (the engines) and alerts_state.c (learned items, records for the
 * console, the baseline file, the learning clock). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "sensor-agent/alerts.h"
#include "sensor-agent/dissect/hashmap.h"

#define ADDR_LEN 46
#define BASELINE_MAX 200000  /* items learnt (~40 MiB at most); beyond, nothing new is learnt or alerts */
#define ALERTS_MAX 100000    /* distinct alerts kept; beyond, they are counted as dropped */
#define SCAN_WINDOW_USEC (60LL * 1000000)
#define SCAN_PORTS 8         /* distinct ports of one host probed within the window: a port scan */
#define STORM_EXCEPTIONS 20  /* exception responses on one pair within the window: an exception storm */
#define STORM_WINDOW_USEC (60LL * 1000000)
#define ALERT_IDLE_USEC (3600LL * 1000000) /* a reported alert with no occurrence this long is forgotten */
#define ALERT_LEARN_MAX 32

/* Baseline item kinds (B_ALERT: an alert learned by an analyst, keyed by its title's hash in `code`). Their
 * names on the wire are learn_kind_names[kind]. */
enum bkind {
	B_DEVICE = 1, B_CONN, B_PAIR_PROTO, B_PAIR_FUNC, B_PROGRAMMER, B_WRITER, B_SCAN, B_STORM, B_ALERT,
	B_RATE,   /* baseline: a connection's peak packets a minute (n) */
	B_SILENT, /* counter: a device's silence alerted */
	B_TOTAL,  /* baseline: the capture's lowest packets a minute (n; alerted: set) */
	B_ARP,    /* baseline: an IP address (a) announced by a MAC (b) */
};

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
	/* B_SCAN: distinct ports probed in the current window; B_STORM: exceptions seen; B_DEVICE: the last minute
	 * it was active (window_start) and its longest silence in minutes (n, valid once alerted is set); B_RATE,
	 * B_TOTAL: see the enum. n and alerted of baseline items are kept in the baseline file. */
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
	/* What "learn" adds to the baselines: the items the alert aggregates (heap, nlearn of them), or its own
	 * B_ALERT item; past ALERT_LEARN_MAX items the last one is the own item, which covers the rest. */
	struct bkey *learn;
	uint32_t nlearn;
	uint64_t reported;  /* count when the last record went to the console */
	int64_t win_first;  /* first occurrence since that record */
	char evidence[WIRE_MAX_EVIDENCE_REF + 1]; /* the evidence capture of its first occurrence, or "" */
};

struct alerts {
	enum alerts_mode mode;
	struct hashmap baseline; /* struct bkey -> struct bitem (learnt items) */
	struct hashmap learned;  /* struct bkey -> struct bitem (the console's learned items) */
	struct hashmap counters; /* struct bkey -> struct bitem (scan windows, exception counts) */
	struct hashmap alerts;   /* struct akey -> struct alert */
	uint64_t dropped;
	int64_t learning_since, last_new; /* packet time: learning started, the latest new baseline item */
	int64_t applied_rev;              /* the console's mode request applied last */
	uint64_t changes;                 /* baseline items added since the last save */
	alerts_evidence_fn evidence_save; /* evidence captures (NULL: none) */
	void *evidence_ud;
};

struct bkey alerts_bkey(uint8_t kind, const char *x, const char *y, const char *proto, uint32_t code);
/* FNV-1a of an alert title: the code of its B_ALERT item. */
uint32_t alerts_title_code(const char *title);
struct bitem *alerts_item_get(struct hashmap *m, const struct bkey *k, bool create);
void alerts_free_values(struct hashmap *m);
bool alerts_is_public_ip(const char *s);
void alerts_free_alert(struct alert *al);
/* Frees every alert and empties the map. */
void alerts_free_alerts(struct alerts *a);
/* Raises with an explicit learn item (NULL: the alert's own B_ALERT item). */
void alerts_raise_item(struct alerts *a, const char *engine, const char *severity, const char *title,
		       const char *src, const char *dst, const char *proto, const char *remediation, int64_t ts,
		       const char *message, const struct bkey *learn);
