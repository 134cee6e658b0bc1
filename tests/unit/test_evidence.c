/* Evidence captures: one ring per flow for both directions, the memory cap and idle expiry, the pcap files
 * (read back with libpcap), the directory bound, refs, reading for the uplink, and the alerts' hook. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/wire.h"
#include "sensor-agent/alerts.h"
#include "sensor-agent/evidence.h"
#include "sensor-agent/inventory.h"

#define T0 1767225600000000LL /* 2026-01-01, µs */

struct fixture {
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/otw-evidence-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	*state = fx;
	return 0;
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		rm_dir(path);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	rm_dir(fx->dir);
	free(fx);
	return 0;
}

/* Ethernet / IPv4 / TCP from 10.0.0.s:sport (MAC 02::s) to 10.0.0.d:dport, `len` bytes in all; the IP id is
 * `id`, which names the packet when it is read back. */
static size_t tcp_frame(uint8_t *b, uint8_t s, uint16_t sport, uint8_t d, uint16_t dport, size_t len, uint16_t id)
{
	size_t ip_len = len - 14;

	assert_true(len >= 54 && len <= 9000);
	memset(b, 0, len);
	b[0] = 2, b[5] = d, b[6] = 2, b[11] = s, b[12] = 0x08, b[13] = 0x00;
	b[14] = 0x45, b[16] = (uint8_t)(ip_len >> 8), b[17] = (uint8_t)ip_len, b[18] = (uint8_t)(id >> 8);
	b[19] = (uint8_t)id, b[22] = 64, b[23] = 6, b[26] = 10, b[29] = s, b[30] = 10, b[33] = d;
	b[34] = (uint8_t)(sport >> 8), b[35] = (uint8_t)sport, b[36] = (uint8_t)(dport >> 8), b[37] = (uint8_t)dport;
	b[46] = 0x50, b[47] = 0x18, b[48] = 0xff, b[49] = 0xff;
	for (size_t i = 54; i < len; i++)
		b[i] = (uint8_t)i;
	return len;
}

/* An Ethernet frame of another ethertype (ARP 0x0806: a minimal request/reply) between MACs 02::s and 02::d
 * (d == 0xff: broadcast). */
static size_t l2_frame(uint8_t *b, uint8_t s, uint8_t d, uint16_t ethertype, uint16_t id)
{
	memset(b, 0, 60);
	if (d == 0xff)
		memset(b, 0xff, 6);
	else
		b[0] = 2, b[5] = d;
	b[6] = 2, b[11] = s, b[12] = (uint8_t)(ethertype >> 8), b[13] = (uint8_t)ethertype;
	b[14] = 0, b[15] = 1, b[16] = 8, b[17] = 0, b[18] = 6, b[19] = 4, b[21] = d == 0xff ? 1 : 2;
	b[58] = (uint8_t)(id >> 8), b[59] = (uint8_t)id;
	return 60;
}

static void feed_cut(struct evidence *ev, int64_t ts, const uint8_t *frame, size_t caplen, size_t len)
{
	struct pcap_pkthdr h = { .ts = { .tv_sec = ts / 1000000, .tv_usec = ts % 1000000 },
				 .caplen = (bpf_u_int32)caplen, .len = (bpf_u_int32)len };
	struct dissect_frame f;

	assert_true(dissect_frame(DLT_EN10MB, frame, caplen, &f));
	evidence_packet(ev, DLT_EN10MB, &h, frame, &f);
}

static void feed(struct evidence *ev, int64_t ts, const uint8_t *frame, size_t len)
{
	feed_cut(ev, ts, frame, len, len);
}

struct capture {
	int linktype;
	size_t n;
	int64_t ts[64];
	uint32_t caplen[64], len[64];
	uint16_t id[64]; /* IP id, or the last two bytes of an ARP frame */
};

static bool file_exists(const char *dir, const char *ref)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s.pcap", dir, ref);
	return access(path, F_OK) == 0;
}

/* Reads back the capture ref (once the store's writer wrote it). */
static void read_capture(struct evidence *ev, const char *dir, const char *ref, struct capture *c)
{
	char path[512], err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	struct stat st;
	pcap_t *p;

	evidence_sync(ev);
	snprintf(path, sizeof(path), "%s/%s.pcap", dir, ref);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	p = pcap_open_offline(path, err);
	if (!p)
		fail_msg("%s: %s", path, err);
	memset(c, 0, sizeof(*c));
	c->linktype = pcap_datalink(p);
	while (pcap_next_ex(p, &h, &d) == 1) {
		assert_true(c->n < 64);
		c->ts[c->n] = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
		c->caplen[c->n] = h->caplen;
		c->len[c->n] = h->len;
		c->id[c->n] = d[12] == 0x08 && d[13] == 0x00 ? (uint16_t)(d[18] << 8 | d[19]) : (uint16_t)(d[58] << 8 | d[59]);
		c->n++;
	}
	pcap_close(p);
}

static struct evidence *store(const char *dir, size_t mem, unsigned files, uint64_t dir_bytes)
{
	struct evidence_limits lim = { .mem_bytes = mem, .max_files = files, .max_dir_bytes = dir_bytes };
	char err[256];
	struct evidence *ev = evidence_new(dir, &lim, err, sizeof(err));

	if (!ev)
		fail_msg("evidence_new: %s", err);
	return ev;
}

static void ring_holds_both_directions_in_order(void **state)
{
	struct fixture *fx = *state;
	struct evidence *ev = store(fx->dir, 0, 0, 0);
	uint8_t b[2048];
	char ref1[EVIDENCE_REF_LEN], ref2[EVIDENCE_REF_LEN];
	struct capture c;

	/* flow A: 10.0.0.1:40000 <-> 10.0.0.2:502, both directions, interleaved with flow B (10.0.0.3 -> .2:502) */
	for (uint16_t i = 0; i < 5; i++) {
		if (i % 2 == 0)
			feed(ev, T0 + i * 1000 + 7, b, tcp_frame(b, 1, 40000, 2, 502, 60 + i, 100 + i));
		else
			feed(ev, T0 + i * 1000 + 7, b, tcp_frame(b, 2, 502, 1, 40000, 60 + i, 100 + i));
		feed(ev, T0 + i * 1000 + 500, b, tcp_frame(b, 3, 40001, 2, 502, 70, 200 + i));
	}
	/* the alert fires on A's packet from the server */
	feed(ev, T0 + 9000, b, tcp_frame(b, 2, 502, 1, 40000, 99, 105));
	assert_non_null(evidence_save(ev, ref1));
	assert_true(wire_is_evidence_ref(ref1));
	read_capture(ev, fx->dir, ref1, &c);
	assert_int_equal(c.linktype, DLT_EN10MB);
	assert_int_equal(c.n, 6);
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(c.id[i], 100 + i);
		assert_int_equal(c.ts[i], i < 5 ? T0 + (int64_t)i * 1000 + 7 : T0 + 9000);
		assert_int_equal(c.caplen[i], i < 5 ? 60 + i : 99);
		assert_int_equal(c.len[i], c.caplen[i]);
	}
	/* flow B kept its own */
	feed(ev, T0 + 9500, b, tcp_frame(b, 3, 40001, 2, 502, 70, 205));
	assert_non_null(evidence_save(ev, ref2));
	assert_string_not_equal(ref1, ref2);
	read_capture(ev, fx->dir, ref2, &c);
	assert_int_equal(c.n, 6);
	assert_int_equal(c.id[0], 200);
	assert_int_equal(c.id[5], 205);
	evidence_free(ev);
}

static void ring_keeps_the_last_packets_cut_at_the_snap(void **state)
{
	struct fixture *fx = *state;
	struct evidence *ev = store(fx->dir, 0, 0, 0);
	static uint8_t b[9000];
	char ref[EVIDENCE_REF_LEN];
	struct capture c;
	struct evidence_stats st;

	/* sizes climb through every size class; every fifth packet is a jumbo frame */
	for (uint16_t i = 0; i < 40; i++) {
		size_t len = i % 5 == 4 ? 9000 : 60 + (size_t)i * 40;
		feed(ev, T0 + i, b, tcp_frame(b, 1, 1234, 2, 80, len, i));
	}
	/* and a packet the capture itself cut (snaplen 100) */
	feed_cut(ev, T0 + 40, b, 100, tcp_frame(b, 2, 80, 1, 1234, 1400, 40));
	assert_non_null(evidence_save(ev, ref));
	read_capture(ev, fx->dir, ref, &c);
	assert_int_equal(c.n, EVIDENCE_RING);
	for (size_t i = 0; i < EVIDENCE_RING; i++) {
		uint16_t id = (uint16_t)(41 - EVIDENCE_RING + i);
		size_t len = id == 40 ? 1400 : id % 5 == 4 ? 9000 : 60 + (size_t)id * 40;
		assert_int_equal(c.id[i], id);
		assert_int_equal(c.ts[i], T0 + id);
		assert_int_equal(c.len[i], len);
		assert_int_equal(c.caplen[i], id == 40 ? 100 : len < EVIDENCE_SNAP ? len : EVIDENCE_SNAP);
	}
	evidence_get_stats(ev, &st);
	assert_int_equal(st.flows, 1);
	assert_int_equal(st.packets, EVIDENCE_RING);
	evidence_free(ev);
}

static void save_is_per_packet(void **state)
{
	struct fixture *fx = *state;
	struct evidence *ev = store(fx->dir, 0, 0, 0);
	uint8_t b[128];
	char ref[EVIDENCE_REF_LEN], again[EVIDENCE_REF_LEN];
	struct evidence_stats st;

	assert_null(evidence_save(ev, ref)); /* no packet yet */
	assert_null(evidence_save(NULL, ref));
	feed(ev, T0, b, tcp_frame(b, 1, 1234, 2, 80, 64, 1));
	assert_non_null(evidence_save(ev, ref));
	/* a second alert on the same packet shares its capture */
	assert_non_null(evidence_save(ev, again));
	assert_string_equal(ref, again);
	evidence_get_stats(ev, &st);
	assert_int_equal(st.saved, 1);
	assert_int_equal(st.files, 1);
	/* between packets (flow expiry, the end of a capture) there is none */
	evidence_packet_end(ev);
	assert_null(evidence_save(ev, ref));
	evidence_packet_end(NULL);
	evidence_free(ev);
}

static void cap_evicts_the_least_recent_flows(void **state)
{
	struct fixture *fx = *state;
	const size_t cap = 256 * 1024;
	struct evidence *ev = store(fx->dir, cap, 0, 0);
	uint8_t b[1100];
	char ref[EVIDENCE_REF_LEN];
	struct capture c;
	struct evidence_stats st;
	uint16_t keep = 0;

	/* 2000 flows of one 1000-byte packet (each a few KiB) and one flow that stays active throughout */
	for (unsigned i = 0; i < 2000; i++) {
		feed(ev, T0 + i, b, tcp_frame(b, (uint8_t)(10 + i % 200), (uint16_t)(1024 + i), 2, 80, 1000, (uint16_t)i));
		if (i % 50 == 0)
			feed(ev, T0 + i, b, tcp_frame(b, 1, 5555, 2, 502, 300, keep++));
		evidence_get_stats(ev, &st);
		assert_true(st.mem <= cap);
	}
	evidence_get_stats(ev, &st);
	assert_true(st.mem_peak <= cap);
	assert_true(st.evicted > 1000);
	assert_true(st.flows < 2000);
	assert_int_equal(st.flows + st.evicted, 2001);
	/* the active flow kept its packets */
	feed(ev, T0 + 3000, b, tcp_frame(b, 1, 5555, 2, 502, 300, keep));
	assert_non_null(evidence_save(ev, ref));
	read_capture(ev, fx->dir, ref, &c);
	assert_int_equal(c.n, EVIDENCE_RING);
	assert_int_equal(c.id[EVIDENCE_RING - 1], keep);
	/* the first flow was evicted: it starts again with this packet */
	feed(ev, T0 + 3001, b, tcp_frame(b, 10, 1024, 2, 80, 1000, 7777));
	assert_non_null(evidence_save(ev, ref));
	read_capture(ev, fx->dir, ref, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.id[0], 7777);
	evidence_free(ev);
}

static void idle_flows_expire(void **state)
{
	struct fixture *fx = *state;
	struct evidence *ev = store(fx->dir, 0, 0, 0);
	uint8_t b[128];
	struct evidence_stats st;

	feed(ev, T0, b, tcp_frame(b, 1, 1234, 2, 80, 64, 1));
	feed(ev, T0 + 100 * 1000000LL, b, tcp_frame(b, 3, 1234, 2, 80, 64, 2));
	feed(ev, T0 + 350 * 1000000LL, b, tcp_frame(b, 4, 1234, 2, 80, 64, 3));
	evidence_get_stats(ev, &st);
	assert_int_equal(st.expired, 1); /* the first: idle for more than 300 s */
	assert_int_equal(st.flows, 2);
	assert_int_equal(st.packets, 2);
	evidence_free(ev);
}

static void non_ip_frames_by_ethertype_and_mac_pair(void **state)
{
	struct fixture *fx = *state;
	struct evidence *ev = store(fx->dir, 0, 0, 0);
	uint8_t b[64];
	char ref[EVIDENCE_REF_LEN];
	struct capture c;

	feed(ev, T0, b, l2_frame(b, 1, 0xff, 0x0806, 1));     /* ARP request, broadcast: its own ring */
	feed(ev, T0 + 1, b, l2_frame(b, 2, 1, 0x0806, 2));    /* replies both ways: one ring */
	feed(ev, T0 + 2, b, l2_frame(b, 2, 1, 0x8892, 3));    /* PROFINET between the same MACs: another */
	feed(ev, T0 + 3, b, l2_frame(b, 1, 2, 0x0806, 4));
	assert_non_null(evidence_save(ev, ref));
	read_capture(ev, fx->dir, ref, &c);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.id[0], 2);
	assert_int_equal(c.id[1], 4);
	evidence_free(ev);
}

static void set_mtime(const char *dir, const char *name, time_t t)
{
	char path[512];
	struct timespec ts[2] = { { .tv_sec = t }, { .tv_sec = t } };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void directory_bound_deletes_the_oldest(void **state)
{
	struct fixture *fx = *state;
	struct evidence *ev = store(fx->dir, 0, 5, 0);
	uint8_t b[256];
	char refs[9][EVIDENCE_REF_LEN], name[128];
	struct evidence_stats st;
	FILE *f;

	for (unsigned i = 0; i < 8; i++) {
		feed(ev, T0 + i, b, tcp_frame(b, (uint8_t)(1 + i), 1234, 100, 80, 200, (uint16_t)i));
		assert_non_null(evidence_save(ev, refs[i]));
		assert_true(wire_is_evidence_ref(refs[i]));
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(refs[i], refs[j]);
	}
	evidence_sync(ev);
	evidence_get_stats(ev, &st);
	assert_int_equal(st.files, 5);
	assert_int_equal(st.deleted, 3);
	assert_int_equal(st.dir_bytes, 5 * (24 + 16 + 200));
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(file_exists(fx->dir, refs[i]), i >= 3);
	evidence_free(ev);

	/* a restart indexes what is there (oldest by time first), drops leftovers of interrupted writes, trims to
	 * the bound (3 files, or 2 by bytes) and never reuses a ref */
	for (unsigned i = 3; i < 8; i++) {
		snprintf(name, sizeof(name), "%s.pcap", refs[i]);
		set_mtime(fx->dir, name, 1700000000 + i);
	}
	snprintf(name, sizeof(name), "%s/x.pcap.tmp", fx->dir);
	assert_non_null(f = fopen(name, "w"));
	fclose(f);
	ev = store(fx->dir, 0, 3, 2 * (24 + 16 + 200) + 10);
	assert_int_equal(access(name, F_OK), -1);
	evidence_get_stats(ev, &st);
	assert_int_equal(st.files, 2);
	for (unsigned i = 3; i < 8; i++)
		assert_int_equal(file_exists(fx->dir, refs[i]), i >= 6);
	feed(ev, T0 + 3, b, tcp_frame(b, 4, 1234, 100, 80, 200, 3)); /* same first packet time as refs[3] */
	assert_non_null(evidence_save(ev, refs[8]));
	for (unsigned j = 0; j < 8; j++)
		assert_string_not_equal(refs[8], refs[j]);
	evidence_sync(ev);
	evidence_get_stats(ev, &st);
	assert_int_equal(st.files, 2);
	assert_false(file_exists(fx->dir, refs[6]));
	assert_true(file_exists(fx->dir, refs[7]) && file_exists(fx->dir, refs[8]));
	evidence_free(ev);
}

static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strstr(de->d_name, ".pcap") != NULL;
	closedir(d);
	return n;
}

/* The writer thread: a save waits for room in its queue, or with drop_when_busy (live capture) is dropped and
 * counted; either way the index, the stats and the directory agree once it is done. */
static void writer_queue_waits_or_drops(void **state)
{
	struct fixture *fx = *state;
	uint8_t b[1500];
	char ref[EVIDENCE_REF_LEN], sub[128];
	struct evidence_stats st;

	for (int busy = 0; busy < 2; busy++) {
		struct evidence_limits lim = { .drop_when_busy = busy };
		char err[256];
		struct evidence *ev;
		unsigned kept = 0;

		snprintf(sub, sizeof(sub), "%s/q%d", fx->dir, busy);
		assert_non_null(ev = evidence_new(sub, &lim, err, sizeof(err)));
		for (unsigned i = 0; i < 300; i++) {
			feed(ev, T0 + i, b, tcp_frame(b, (uint8_t)i, (uint16_t)(1000 + i), 200, 502, 1400, (uint16_t)i));
			kept += evidence_save(ev, ref) != NULL;
		}
		evidence_sync(ev);
		evidence_get_stats(ev, &st);
		assert_int_equal(st.saved, kept);
		assert_int_equal(st.saved + st.dropped, 300);
		assert_int_equal(st.save_errors, 0);
		assert_int_equal(st.files, kept);
		assert_int_equal(count_files(sub), kept);
		if (!busy)
			assert_int_equal(kept, 300);
		else
			print_message("drop_when_busy: %u of 300 captures kept\n", kept);
		evidence_free(ev);
	}
}

static void read_for_the_uplink(void **state)
{
	struct fixture *fx = *state;
	struct evidence *ev = store(fx->dir, 0, 0, 0);
	uint8_t b[256], *data;
	char ref[EVIDENCE_REF_LEN], path[512];
	size_t len;
	FILE *f;

	feed(ev, T0, b, tcp_frame(b, 1, 1234, 2, 80, 200, 1));
	assert_non_null(evidence_save(ev, ref));
	evidence_free(ev);
	assert_int_equal(evidence_read(fx->dir, ref, WIRE_MAX_EVIDENCE_BYTES, &data, &len), 0);
	assert_int_equal(len, 24 + 16 + 200);
	assert_memory_equal(data, "\xd4\xc3\xb2\xa1\x02\x00\x04\x00", 8);
	assert_memory_equal(data + 40, b, 200);
	free(data);
	assert_int_equal(evidence_read(fx->dir, ref, 100, &data, &len), -EFBIG);
	assert_null(data);
	assert_int_equal(evidence_read(fx->dir, "nope-1", WIRE_MAX_EVIDENCE_BYTES, &data, &len), -ENOENT);
	assert_int_equal(evidence_read(fx->dir, "../x", WIRE_MAX_EVIDENCE_BYTES, &data, &len), -ENOENT);
	assert_int_equal(evidence_read(fx->dir, "", WIRE_MAX_EVIDENCE_BYTES, &data, &len), -ENOENT);
	snprintf(path, sizeof(path), "%s/bogus.pcap", fx->dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("this is not a capture at all", f);
	fclose(f);
	assert_int_equal(evidence_read(fx->dir, "bogus", WIRE_MAX_EVIDENCE_BYTES, &data, &len), -ENOENT);
}

static void new_dir_is_created_and_a_file_is_refused(void **state)
{
	struct fixture *fx = *state;
	char sub[128], err[256];
	struct evidence *ev;
	struct stat st;
	FILE *f;

	snprintf(sub, sizeof(sub), "%s/evidence", fx->dir);
	ev = store(sub, 0, 0, 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	evidence_free(ev);
	snprintf(sub, sizeof(sub), "%s/plain", fx->dir);
	assert_non_null(f = fopen(sub, "w"));
	fclose(f);
	assert_null(evidence_new(sub, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "not a directory"));
}

static int collect_alert(void *ud, json_t *rec)
{
	if (strcmp(json_string_value(json_object_get(rec, "kind")), "alert") == 0)
		json_array_append(ud, rec);
	return 0;
}

/* Through the inventory: a new alert carries the capture of the packet that raised it, in the inspect document
 * and in its record; a later occurrence saves nothing. */
static void alerts_carry_their_evidence(void **state)
{
	struct fixture *fx = *state;
	struct inventory *inv = inventory_new(NULL);
	uint8_t b[128];
	struct pcap_pkthdr h = { .ts = { .tv_sec = T0 / 1000000 } };
	json_t *alerts, *al, *recs = json_array();
	struct evidence_stats st;
	struct capture c;
	const char *ref = NULL;
	size_t i, nulls = 0;

	assert_non_null(inv);
	assert_int_equal(inventory_enable_alerts(inv, true), 0);
	inventory_set_evidence(inv, store(fx->dir, 0, 0, 0));
	h.caplen = h.len = (bpf_u_int32)tcp_frame(b, 1, 40000, 2, 502, 60, 1);
	b[47] = 0x02; /* SYN */
	inventory_packet(inv, DLT_EN10MB, &h, b);
	h.ts.tv_usec = 10;
	inventory_packet(inv, DLT_EN10MB, &h, b);
	alerts = alerts_json(inventory_alerts(inv));
	assert_true(json_array_size(alerts) >= 2); /* new devices, new connection */
	json_array_foreach(alerts, i, al) {
		const char *r = json_string_value(json_object_get(al, "evidence"));
		assert_non_null(r);
		if (ref) /* one packet raised them all: one capture */
			assert_string_equal(r, ref);
		ref = r;
	}
	read_capture(inventory_evidence(inv), fx->dir, ref, &c);
	assert_int_equal(c.n, 1);
	evidence_get_stats(inventory_evidence(inv), &st);
	assert_int_equal(st.saved, 1);
	assert_int_equal(st.packets, 2);
	assert_int_equal(inventory_flush(inv, collect_alert, recs), 0);
	assert_int_equal(json_array_size(recs), json_array_size(alerts));
	json_array_foreach(recs, i, al) {
		char err[256];
		assert_string_equal(json_string_value(json_object_get(al, "evidence")), ref);
		json_object_set_new(al, "seq", json_integer(1));
		if (wire_check_record(al, err, sizeof(err)) < 0)
			fail_msg("%s", err);
	}
	json_decref(alerts);
	json_decref(recs);
	/* without a store, alerts say null */
	inventory_set_evidence(inv, NULL);
	assert_null(inventory_evidence(inv));
	h.caplen = h.len = (bpf_u_int32)tcp_frame(b, 3, 40000, 2, 502, 60, 1);
	b[47] = 0x02;
	inventory_packet(inv, DLT_EN10MB, &h, b);
	alerts = alerts_json(inventory_alerts(inv));
	json_array_foreach(alerts, i, al)
		nulls += json_is_null(json_object_get(al, "evidence"));
	assert_true(nulls >= 1); /* the new device and connection of 10.0.0.3 */
	json_decref(alerts);
	inventory_free(inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(ring_holds_both_directions_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(ring_keeps_the_last_packets_cut_at_the_snap, setup, teardown),
		cmocka_unit_test_setup_teardown(save_is_per_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(cap_evicts_the_least_recent_flows, setup, teardown),
		cmocka_unit_test_setup_teardown(idle_flows_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(non_ip_frames_by_ethertype_and_mac_pair, setup, teardown),
		cmocka_unit_test_setup_teardown(directory_bound_deletes_the_oldest, setup, teardown),
		cmocka_unit_test_setup_teardown(writer_queue_waits_or_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(read_for_the_uplink, setup, teardown),
		cmocka_unit_test_setup_teardown(new_dir_is_created_and_a_file_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(alerts_carry_their_evidence, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
