/* Evidence captures: the last packets of every flow, and the pcap files saved for alerts (evidence.h); the
 * directory and its writer thread are in evidence_files.c. */
#include "sensor-agent/evidence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sensor-agent/dissect/hashmap.h"
#include "sensor-agent/evidence_files.h"

/* A flow's packet bytes live in one allocation of one of these sizes; it moves up a class when its packets do
 * not fit (the largest holds EVIDENCE_RING whole packets). Most OT flows (small PDUs) stay in the first. */
#define NCLASSES 4
static const uint32_t class_bytes[NCLASSES] = { 1024, 4096, 16384, EVIDENCE_RING * EVIDENCE_SNAP };
#define CACHE_MAX 64                          /* released entries kept per class for reuse */
#define EXPIRE_EVERY_USEC (30LL * 1000000)    /* packet time between idle sweeps */
#define PCAP_HEADER 24
#define PCAP_RECORD 16

_Static_assert(EVIDENCE_RING <= 255 && EVIDENCE_RING * EVIDENCE_SNAP <= 65535, "slot offsets are 16-bit");

/* Both directions give the same key: endpoints in order (lo <= hi by address, then port). Every byte is a
 * member, zeroed first (the hash map compares bytes). */
struct ev_key {
	uint8_t family;     /* 4 or 6: IP; 0: another frame */
	uint8_t proto;      /* IP protocol */
	uint16_t ethertype; /* family 0 only */
	uint16_t port_lo, port_hi;
	uint8_t lo[16], hi[16]; /* IP addresses, or MACs (zero-padded) */
};

struct ev_slot {
	int64_t ts;      /* µs since the epoch */
	uint32_t len;    /* length on the wire */
	uint16_t off;    /* where its bytes start in data (they may wrap around to data[0]) */
	uint16_t caplen; /* bytes kept */
};

struct ev_flow {
	struct ev_key key;
	struct ev_flow *prev, *next; /* LRU list, head most recent; next also links a class's cache */
	int64_t last_ts;
	uint64_t moved; /* the list clock when it last went to the head */
	int linktype;
	uint16_t used;    /* bytes held in data: the packets' bytes, contiguous from slot[first].off, circular */
	uint8_t first, n; /* oldest slot, packets held */
	uint8_t cls;
	struct ev_slot slot[EVIDENCE_RING];
	uint8_t data[];
};

struct evidence {
	struct ev_dir *dir;
	size_t mem_cap, mem, mem_peak;
	struct hashmap flows; /* struct ev_key -> struct ev_flow */
	struct ev_flow *head, *tail;
	struct ev_flow *cache[NCLASSES];
	unsigned ncache[NCLASSES];
	size_t map_bytes; /* the table's slots (counted in mem) */
	size_t packets, bytes;
	int64_t next_expiry;
	uint64_t clock; /* moves to the head of the list so far */
	struct ev_flow *cur;            /* the flow of the packet being handled */
	char cur_ref[EVIDENCE_REF_LEN]; /* its capture, once saved */
	uint64_t evicted, expired;
};

static size_t entry_size(unsigned cls) { return sizeof(struct ev_flow) + class_bytes[cls]; }

static void mem_add(struct evidence *ev, size_t n)
{
	ev->mem += n;
	if (ev->mem > ev->mem_peak)
		ev->mem_peak = ev->mem;
}

/* ---- the LRU list ---- */

static void lru_unlink(struct evidence *ev, struct ev_flow *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		ev->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		ev->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct evidence *ev, struct ev_flow *e)
{
	e->moved = ++ev->clock;
	e->prev = NULL;
	e->next = ev->head;
	if (ev->head)
		ev->head->prev = e;
	else
		ev->tail = e;
	ev->head = e;
}

/* ---- entries ---- */

/* An entry out of the table and the list goes to its class's cache, or back to the allocator. */
static void entry_release(struct evidence *ev, struct ev_flow *e)
{
	if (ev->ncache[e->cls] < CACHE_MAX) {
		e->next = ev->cache[e->cls];
		ev->cache[e->cls] = e;
		ev->ncache[e->cls]++;
		return;
	}
	ev->mem -= entry_size(e->cls);
	free(e);
}

static void flow_drop(struct evidence *ev, struct ev_flow *e)
{
	hashmap_remove(&ev->flows, &e->key);
	lru_unlink(ev, e);
	ev->packets -= e->n;
	ev->bytes -= e->used;
	if (ev->cur == e)
		ev->cur = NULL;
	entry_release(ev, e);
}

/* Frees one cached entry (largest first), else evicts the least recently active flow other than keep (into its
 * class's cache, where the caller may reuse it). False when there is nothing left to give. */
static bool shed_one(struct evidence *ev, const struct ev_flow *keep)
{
	for (int c = NCLASSES - 1; c >= 0; c--) {
		struct ev_flow *e = ev->cache[c];
		if (!e)
			continue;
		ev->cache[c] = e->next;
		ev->ncache[c]--;
		ev->mem -= entry_size((unsigned)c);
		free(e);
		return true;
	}
	if (!ev->tail || ev->tail == keep)
		return false;
	flow_drop(ev, ev->tail);
	ev->evicted++;
	return true;
}

static bool make_room(struct evidence *ev, size_t n, const struct ev_flow *keep)
{
	while (ev->mem + n > ev->mem_cap)
		if (!shed_one(ev, keep))
			return false;
	return true;
}

/* An entry of class cls: a cached one, or a new one within the cap (evicting flows other than keep). */
static struct ev_flow *entry_alloc(struct evidence *ev, unsigned cls, const struct ev_flow *keep)
{
	size_t size = entry_size(cls);
	struct ev_flow *e;

	while (!ev->cache[cls] && ev->mem + size > ev->mem_cap)
		if (!shed_one(ev, keep))
			return NULL;
	e = ev->cache[cls];
	if (e) {
		ev->cache[cls] = e->next;
		ev->ncache[cls]--;
		return e;
	}
	e = malloc(size);
	if (e)
		mem_add(ev, size);
	return e;
}

/* The table doubles its slot array when it passes 3/4 full (hashmap.c): make room for that first, so that
 * the cap holds the table too. */
static bool map_room(struct evidence *ev)
{
	size_t ncap = ev->flows.cap ? ev->flows.cap * 2 : 64;

	if ((ev->flows.count + 1) * 4 <= ev->flows.cap * 3)
		return true;
	return make_room(ev, (ncap - ev->flows.cap) * sizeof(struct hashmap_slot), NULL);
}

static unsigned class_for(size_t bytes)
{
	unsigned c = 0;

	while (c + 1 < NCLASSES && class_bytes[c] < bytes)
		c++;
	return c;
}

static struct ev_flow *flow_new(struct evidence *ev, const struct ev_key *k, int linktype, uint16_t caplen)
{
	unsigned cls = class_for(caplen);
	struct ev_flow *e;
	size_t mb;

	if (!map_room(ev) || !(e = entry_alloc(ev, cls, NULL)))
		return NULL;
	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->cls = (uint8_t)cls;
	e->linktype = linktype;
	if (hashmap_put(&ev->flows, &e->key, e) < 0) {
		entry_release(ev, e);
		return NULL;
	}
	mb = ev->flows.cap * sizeof(struct hashmap_slot);
	if (mb != ev->map_bytes) {
		mem_add(ev, mb - ev->map_bytes);
		ev->map_bytes = mb;
	}
	lru_push(ev, e);
	return e;
}

static void drop_oldest(struct evidence *ev, struct ev_flow *e)
{
	const struct ev_slot *s = &e->slot[e->first];

	e->used = (uint16_t)(e->used - s->caplen);
	ev->bytes -= s->caplen;
	ev->packets--;
	e->first = (uint8_t)((e->first + 1) % EVIDENCE_RING);
	e->n--;
}

/* Copies packet i of e (oldest first) to out; returns its slot. */
static const struct ev_slot *packet_copy(const struct ev_flow *e, unsigned i, uint8_t *out)
{
	const struct ev_slot *s = &e->slot[(e->first + i) % EVIDENCE_RING];
	uint32_t cap = class_bytes[e->cls], head = cap - s->off < s->caplen ? cap - s->off : s->caplen;

	memcpy(out, e->data + s->off, head);
	memcpy(out + head, e->data, s->caplen - head);
	return s;
}

/* Moves e's packets into an entry of a larger class that fits `need` more bytes; NULL leaves e as it was. */
static struct ev_flow *grow(struct evidence *ev, struct ev_flow *e, uint16_t need)
{
	unsigned cls = class_for((size_t)e->used + need);
	struct ev_flow *g;
	uint32_t off = 0;

	if (cls <= e->cls)
		cls = e->cls + 1u;
	if (!(g = entry_alloc(ev, cls, e)))
		return NULL;
	memcpy(g, e, offsetof(struct ev_flow, slot));
	g->cls = (uint8_t)cls;
	g->first = 0;
	for (unsigned i = 0; i < e->n; i++) {
		const struct ev_slot *s = packet_copy(e, i, g->data + off);
		g->slot[i] = *s;
		g->slot[i].off = (uint16_t)off;
		off += s->caplen;
	}
	/* Same key: remove and put back with the new entry's copy of it (no table growth). */
	hashmap_remove(&ev->flows, &e->key);
	if (hashmap_put(&ev->flows, &g->key, g) < 0) { /* cannot fail after a removal; keep e if it does */
		(void)!hashmap_put(&ev->flows, &e->key, e);
		entry_release(ev, g);
		return NULL;
	}
	if (g->prev)
		g->prev->next = g;
	else
		ev->head = g;
	if (g->next)
		g->next->prev = g;
	else
		ev->tail = g;
	entry_release(ev, e);
	return g;
}

/* Appends a packet to *ep's ring (which may move to a larger entry); false when it could not be kept. */
static bool ring_add(struct evidence *ev, struct ev_flow **ep, int64_t ts, uint32_t len, const uint8_t *p,
		     uint16_t caplen)
{
	struct ev_flow *e = *ep;
	struct ev_slot *s;
	uint32_t cap, at, head;

	if (e->n == EVIDENCE_RING)
		drop_oldest(ev, e);
	while (class_bytes[e->cls] - e->used < caplen) {
		struct ev_flow *g = e->cls + 1 < NCLASSES ? grow(ev, e, caplen) : NULL;
		if (g)
			*ep = e = g;
		else if (e->n)
			drop_oldest(ev, e);
		else
			return false; /* out of memory for this packet */
	}
	cap = class_bytes[e->cls];
	if (!e->n)
		e->first = 0;
	at = e->n ? (e->slot[e->first].off + e->used) % cap : 0;
	head = cap - at < caplen ? cap - at : caplen;
	/* memmove: GCC inlines a memcpy of bounded size as rep movsq, slow for packet-sized copies */
	memmove(e->data + at, p, head);
	memmove(e->data, p + head, caplen - head);
	s = &e->slot[(e->first + e->n) % EVIDENCE_RING];
	s->ts = ts;
	s->len = len > caplen ? len : caplen;
	s->off = (uint16_t)at;
	s->caplen = caplen;
	e->n++;
	e->used = (uint16_t)(e->used + caplen);
	ev->packets++;
	ev->bytes += caplen;
	return true;
}

static void expire(struct evidence *ev, int64_t now)
{
	if (ev->next_expiry) {
		while (ev->tail && ev->tail->last_ts < now - EVIDENCE_IDLE_USEC) {
			flow_drop(ev, ev->tail);
			ev->expired++;
		}
	}
	ev->next_expiry = now + EXPIRE_EVERY_USEC;
}

static void key_of(const struct dissect_frame *f, struct ev_key *k)
{
	static const uint8_t none[6];
	const uint8_t *a, *b;
	uint16_t pa = 0, pb = 0;
	size_t alen;
	int c;

	memset(k, 0, sizeof(*k));
	if (f->ip_version == 4 || f->ip_version == 6) {
		k->family = f->ip_version;
		k->proto = f->ip_proto;
		a = f->src_ip;
		b = f->dst_ip;
		alen = f->ip_version == 4 ? 4 : 16;
		if (f->transport != DISSECT_T_NONE) {
			pa = f->src_port;
			pb = f->dst_port;
		}
	} else {
		k->ethertype = f->ethertype;
		a = f->has_src_mac ? f->src_mac : none;
		b = f->has_dst_mac ? f->dst_mac : none;
		alen = 6;
	}
	c = memcmp(a, b, alen);
	if (c > 0 || (c == 0 && pa > pb)) {
		const uint8_t *t = a;
		uint16_t tp = pa;
		a = b;
		b = t;
		pa = pb;
		pb = tp;
	}
	memcpy(k->lo, a, alen);
	memcpy(k->hi, b, alen);
	k->port_lo = pa;
	k->port_hi = pb;
}

void evidence_packet(struct evidence *ev, int linktype, const struct pcap_pkthdr *h, const uint8_t *data,
		     const struct dissect_frame *f)
{
	int64_t ts;
	uint16_t caplen;
	struct ev_key k;
	struct ev_flow *e;

	if (!ev)
		return;
	ev->cur = NULL;
	ev->cur_ref[0] = '\0';
	ts = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
	if (ts >= ev->next_expiry)
		expire(ev, ts);
	caplen = (uint16_t)(h->caplen < EVIDENCE_SNAP ? h->caplen : EVIDENCE_SNAP);
	if (!caplen)
		return;
	key_of(f, &k);
	e = hashmap_get(&ev->flows, &k);
	if (!e) {
		if (!(e = flow_new(ev, &k, linktype, caplen)))
			return;
	} else if (ev->clock - e->moved > ev->flows.count / 4) {
		/* Approximate LRU: a flow among the most recently moved quarter stays where it is, which spares the
		 * list (and its neighbours' cache lines) on most packets of a busy flow. */
		lru_unlink(ev, e);
		lru_push(ev, e);
	}
	if (e->linktype != linktype) { /* another capture with the same endpoints: its packets do not mix */
		while (e->n)
			drop_oldest(ev, e);
		e->linktype = linktype;
	}
	if (ring_add(ev, &e, ts, h->len, data, caplen))
		ev->cur = e;
	e->last_ts = ts;
}

void evidence_packet_end(struct evidence *ev)
{
	if (!ev)
		return;
	ev->cur = NULL;
	ev->cur_ref[0] = '\0';
}

/* ---- capture files ---- */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* libpcap reports DLT_RAW as 12 (14 on OpenBSD); files say LINKTYPE_RAW. The other link types the dissector
 * reads have the same number in both. */
static uint32_t file_linktype(int dlt)
{
	return dlt == DISSECT_DLT_RAW || dlt == DISSECT_DLT_RAW_OPENBSD ? DISSECT_LINKTYPE_RAW : (uint32_t)dlt;
}

static size_t file_size(const struct ev_flow *e)
{
	return PCAP_HEADER + e->n * (size_t)PCAP_RECORD + e->used;
}

/* A classic little-endian microsecond pcap of e's packets, oldest first (file_size(e) bytes). */
static void build_file(const void *ud, uint8_t *out)
{
	const struct ev_flow *e = ud;
	uint8_t *p = out + PCAP_HEADER;

	put32(out, 0xa1b2c3d4);
	put32(out + 4, 2 | 4u << 16); /* version 2.4 */
	put32(out + 8, 0);  /* thiszone */
	put32(out + 12, 0); /* sigfigs */
	put32(out + 16, EVIDENCE_SNAP);
	put32(out + 20, file_linktype(e->linktype));
	for (unsigned i = 0; i < e->n; i++) {
		const struct ev_slot *s = packet_copy(e, i, p + PCAP_RECORD);
		int64_t sec = s->ts / 1000000, usec = s->ts % 1000000;
		if (usec < 0) {
			usec += 1000000;
			sec--;
		}
		put32(p, (uint32_t)sec);
		put32(p + 4, (uint32_t)usec);
		put32(p + 8, s->caplen);
		put32(p + 12, s->len);
		p += PCAP_RECORD + s->caplen;
	}
}

const char *evidence_save(struct evidence *ev, char ref[EVIDENCE_REF_LEN])
{
	const struct ev_flow *e = ev ? ev->cur : NULL;

	if (!e || !e->n)
		return NULL;
	if (!ev->cur_ref[0] &&
	    !ev_dir_add(ev->dir, e->slot[e->first].ts, file_size(e), build_file, e, ev->cur_ref))
		return NULL;
	memcpy(ref, ev->cur_ref, EVIDENCE_REF_LEN);
	return ref;
}

struct evidence *evidence_new(const char *dir, const struct evidence_limits *lim, char *err, size_t errlen)
{
	struct evidence *ev = calloc(1, sizeof(*ev));

	if (!ev) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ev->mem_cap = lim && lim->mem_bytes ? lim->mem_bytes : EVIDENCE_MEM_DEFAULT;
	hashmap_init(&ev->flows, sizeof(struct ev_key));
	ev->dir = ev_dir_open(dir, lim && lim->max_files ? lim->max_files : EVIDENCE_MAX_FILES,
			      lim && lim->max_dir_bytes ? lim->max_dir_bytes : EVIDENCE_MAX_DIR_BYTES,
			      lim && lim->drop_when_busy, err, errlen);
	if (!ev->dir) {
		free(ev);
		return NULL;
	}
	return ev;
}

void evidence_sync(struct evidence *ev)
{
	if (ev)
		ev_dir_sync(ev->dir);
}

void evidence_free(struct evidence *ev)
{
	if (!ev)
		return;
	for (struct ev_flow *e = ev->head, *next; e; e = next) {
		next = e->next;
		free(e);
	}
	for (unsigned c = 0; c < NCLASSES; c++)
		for (struct ev_flow *e = ev->cache[c], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	hashmap_free(&ev->flows);
	ev_dir_close(ev->dir);
	free(ev);
}

void evidence_get_stats(const struct evidence *ev, struct evidence_stats *st)
{
	*st = (struct evidence_stats){ .flows = ev->flows.count, .packets = ev->packets, .bytes = ev->bytes,
				       .mem = ev->mem, .mem_peak = ev->mem_peak, .mem_cap = ev->mem_cap,
				       .evicted = ev->evicted, .expired = ev->expired };
	ev_dir_stats(ev->dir, st);
}

json_t *evidence_stats_json(const struct evidence *ev)
{
	struct evidence_stats s;

	evidence_get_stats(ev, &s);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "flows",
			 (json_int_t)s.flows, "packets", (json_int_t)s.packets, "packet_bytes", (json_int_t)s.bytes,
			 "mem_bytes", (json_int_t)s.mem, "mem_peak_bytes", (json_int_t)s.mem_peak, "mem_cap_bytes",
			 (json_int_t)s.mem_cap, "evicted_flows", (json_int_t)s.evicted, "expired_flows",
			 (json_int_t)s.expired, "captures_written", (json_int_t)s.saved, "write_errors",
			 (json_int_t)s.save_errors, "captures_dropped", (json_int_t)s.dropped, "files", (json_int_t)s.files,
			 "dir_bytes", (json_int_t)s.dir_bytes, "files_deleted", (json_int_t)s.deleted);
}
