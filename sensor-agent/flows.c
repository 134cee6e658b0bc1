#include "sensor-agent/flows.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sensor-agent/dissect/hashmap.h"
#include "sensor-agent/dissect/registry.h"

/* (version, protocol, src, dst) -> connection, for later fragments. */
struct frag_key {
	uint8_t ip_version;
	uint8_t proto;
	uint8_t src[16], dst[16];
};

struct frag_entry {
	struct frag_key key;
	void *conn;
	int64_t last_seen;
};

struct flow_table {
	struct hashmap flows;
	struct hashmap frags;
};

struct flow_table *flows_new(void)
{
	struct flow_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	hashmap_init(&t->flows, sizeof(struct flow_key));
	hashmap_init(&t->frags, sizeof(struct frag_key));
	return t;
}

static void flows_free_values(struct hashmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			free(m->slots[i].value);
	hashmap_free(m);
}

void flows_free(struct flow_table *t)
{
	if (!t)
		return;
	flows_free_values(&t->flows);
	flows_free_values(&t->frags);
	free(t);
}

size_t flows_count(const struct flow_table *t)
{
	return t->flows.count;
}

bool flows_server_is_dst(const struct dissect_frame *f, bool dst_is_group)
{
	bool src_known, dst_known;

	if (f->transport == DISSECT_T_TCP && (f->tcp_flags & DISSECT_TCP_SYN))
		return !(f->tcp_flags & DISSECT_TCP_ACK);
	if (dst_is_group)
		return true;
	src_known = registry_by_port(f->transport, f->src_port) != NULL;
	dst_known = registry_by_port(f->transport, f->dst_port) != NULL;
	if (src_known != dst_known)
		return dst_known;
	if (f->src_port != f->dst_port)
		return f->dst_port < f->src_port;
	return true;
}

static size_t addr_len(uint8_t ip_version)
{
	return ip_version == 4 ? 4 : 16;
}

struct flow *flows_lookup(struct flow_table *t, const struct dissect_frame *f, bool dst_is_group, bool *created,
			  bool *to_server)
{
	struct flow_key k;
	struct flow *fl;
	size_t alen = addr_len(f->ip_version);
	int cmp;
	bool src_is_lo;

	*created = false;
	if (f->transport != DISSECT_T_TCP && f->transport != DISSECT_T_UDP)
		return NULL;
	memset(&k, 0, sizeof(k));
	k.ip_version = f->ip_version;
	k.transport = (uint8_t)f->transport;
	cmp = memcmp(f->src_ip, f->dst_ip, alen);
	src_is_lo = cmp < 0 || (cmp == 0 && f->src_port <= f->dst_port);
	if (src_is_lo) {
		memcpy(k.addr_lo, f->src_ip, alen);
		memcpy(k.addr_hi, f->dst_ip, alen);
		k.port_lo = f->src_port;
		k.port_hi = f->dst_port;
	} else {
		memcpy(k.addr_lo, f->dst_ip, alen);
		memcpy(k.addr_hi, f->src_ip, alen);
		k.port_lo = f->dst_port;
		k.port_hi = f->src_port;
	}
	fl = hashmap_get(&t->flows, &k);
	if (!fl) {
		fl = calloc(1, sizeof(*fl));
		if (!fl)
			return NULL;
		fl->key = k;
		/* server is the destination: hi when the source is lo. A flow from an endpoint to itself
		 * (same address and port) has lo == hi and needs no decision. */
		fl->server_is_hi = flows_server_is_dst(f, dst_is_group) == src_is_lo;
		if (hashmap_put(&t->flows, &fl->key, fl) < 0) {
			free(fl);
			return NULL;
		}
		*created = true;
	}
	/* The packet goes to the server when its destination is the server endpoint. */
	*to_server = src_is_lo == fl->server_is_hi;
	return fl;
}

static void frag_key_of(const struct dissect_frame *f, struct frag_key *k)
{
	size_t alen = addr_len(f->ip_version);

	memset(k, 0, sizeof(*k));
	k->ip_version = f->ip_version;
	k->proto = f->ip_proto;
	memcpy(k->src, f->src_ip, alen);
	memcpy(k->dst, f->dst_ip, alen);
}

int flows_note_datagram(struct flow_table *t, const struct dissect_frame *f, void *conn, int64_t ts)
{
	struct frag_key k;
	struct frag_entry *e;

	frag_key_of(f, &k);
	e = hashmap_get(&t->frags, &k);
	if (e) {
		e->conn = conn;
		e->last_seen = ts;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = k;
	e->conn = conn;
	e->last_seen = ts;
	if (hashmap_put(&t->frags, &e->key, e) < 0) {
		free(e);
		return -ENOMEM;
	}
	return 0;
}

void *flows_fragment_conn(const struct flow_table *t, const struct dissect_frame *f)
{
	struct frag_key k;
	struct frag_entry *e;

	frag_key_of(f, &k);
	e = hashmap_get(&t->frags, &k);
	return e ? e->conn : NULL;
}

void flows_foreach(struct flow_table *t, void (*fn)(void *ud, struct flow *f), void *ud)
{
	for (size_t i = 0; i < t->flows.cap; i++)
		if (t->flows.slots[i].key)
			fn(ud, t->flows.slots[i].value);
}

size_t flows_expire(struct flow_table *t, int64_t before, void (*fn)(void *ud, struct flow *f), void *ud)
{
	size_t n = 0;

	/* hashmap_remove shifts later entries back into the freed slot: re-examine the same slot after a
	 * removal instead of advancing. */
	for (size_t i = 0; i < t->flows.cap;) {
		struct flow *fl = t->flows.slots[i].key ? t->flows.slots[i].value : NULL;
		if (!fl || fl->last_seen >= before) {
			i++;
			continue;
		}
		if (fn)
			fn(ud, fl);
		hashmap_remove(&t->flows, &fl->key);
		free(fl);
		n++;
	}
	for (size_t i = 0; i < t->frags.cap;) {
		struct frag_entry *e = t->frags.slots[i].key ? t->frags.slots[i].value : NULL;
		if (!e || e->last_seen >= before) {
			i++;
			continue;
		}
		hashmap_remove(&t->frags, &e->key);
		free(e);
	}
	return n;
}
