/* Devices and connections from dissected packets (docs/architecture.md, "Device identity"). */
#include "sensor-agent/inventory.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sensor-agent/alerts.h"
#include "sensor-agent/dissect/dissect.h"
#include "sensor-agent/dissect/dpi.h"
#include "sensor-agent/dissect/registry.h"
#include "sensor-agent/flows.h"
#include "sensor-agent/evidence.h"
#include "sensor-agent/indicators.h"
#include "sensor-agent/inventory_json.h"
#include "sensor-agent/oui.h"

static bool mac_is_group(const uint8_t m[6]) { return m[0] & 0x01; }

static bool mac_is_zero(const uint8_t m[6])
{
	static const uint8_t zero[6];
	return memcmp(m, zero, 6) == 0;
}

static bool mac_is_unicast(const uint8_t m[6]) { return !mac_is_group(m) && !mac_is_zero(m); }

static bool ip_is_group(int version, const uint8_t *a)
{
	if (version == 4)
		return (a[0] & 0xf0) == 0xe0 || (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255);
	return a[0] == 0xff;
}

static bool ip_is_unspecified(int version, const uint8_t *a)
{
	static const uint8_t zero[16];
	return memcmp(a, zero, version == 4 ? 4 : 16) == 0;
}

static bool ip_is_link_local6(const uint8_t *a) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }

static void attrs_touch(struct inv_attrs *a, int64_t ts, int vlan)
{
	if (a->first_seen == 0 || ts < a->first_seen)
		a->first_seen = ts;
	if (ts > a->last_seen)
		a->last_seen = ts;
	if (vlan < 0)
		return;
	for (uint8_t i = 0; i < a->n_vlans; i++)
		if (a->vlans[i] == vlan)
			return;
	if (a->n_vlans < INV_MAX_VLANS)
		a->vlans[a->n_vlans++] = (uint16_t)vlan;
}

void inv_attrs_add_proto(struct inv_attrs *a, const char *name, uint8_t role)
{
	for (uint8_t i = 0; i < a->n_protos; i++)
		if (a->protos[i].role == role && strcmp(a->protos[i].name, name) == 0)
			return;
	if (a->n_protos < INV_MAX_PROTOS)
		a->protos[a->n_protos++] = (struct inv_proto){ name, role };
}

struct inventory *inventory_new(const struct oui_db *oui)
{
	struct inventory *inv = calloc(1, sizeof(*inv));

	if (!inv)
		return NULL;
	inv->oui = oui;
	inv->flows = flows_new();
	inv->dpi = dpi_new(NULL, inv_dpi_sink);
	if (!inv->flows || !inv->dpi) {
		flows_free(inv->flows);
		dpi_free(inv->dpi);
		free(inv);
		return NULL;
	}
	hashmap_init(&inv->events, sizeof(struct inv_event_key));
	hashmap_init(&inv->devices, INV_KEY_LEN);
	hashmap_init(&inv->macs, 6);
	hashmap_init(&inv->ips, sizeof(((struct inv_ip *)0)->key));
	hashmap_init(&inv->conns, sizeof(struct inv_conn_key));
	return inv;
}

static void device_free(struct inv_device *d)
{
	inv_facts_free(d->facts);
	free(d->ips);
	free(d);
}

/* Teardown: the flow's inspection state goes without parsing what it still holds. */
static void flow_drop_dpi(void *ud, struct flow *fl)
{
	struct inventory *inv = ud;
	dpi_flow_end(inv->dpi, &fl->dpi, NULL, NULL, NULL);
}

/* The flow ends (expired, or the capture ended): what it holds beyond holes is parsed first, reported
 * for its client and server. */
static void flow_end_dpi(void *ud, struct flow *fl)
{
	struct inventory *inv = ud;
	struct dissect_frame f;
	struct inv_conn *c = fl->conn;
	struct inv_packet_ctx fwd = { .inv = inv, .conn = c }, rev = { .inv = inv, .conn = c };

	if (!fl->dpi)
		return;
	if (!c) {
		flow_drop_dpi(ud, fl);
		return;
	}
	memset(&f, 0, sizeof(f));
	f.ip_version = c->key.ip_version;
	f.transport = c->key.transport == INV_T_TCP ? DISSECT_T_TCP : DISSECT_T_UDP;
	memcpy(f.src_ip, c->key.src, 16);
	memcpy(f.dst_ip, c->key.dst, 16);
	f.dst_port = c->key.port;
	f.src_port = fl->server_is_hi ? fl->key.port_lo : fl->key.port_hi;
	fwd.src_ip = rev.dst_ip = inv_ip_find(inv, f.ip_version, f.src_ip);
	fwd.dst_ip = rev.src_ip = inv_ip_find(inv, f.ip_version, f.dst_ip);
	dpi_flow_end(inv->dpi, &fl->dpi, &f, &fwd, &rev);
}

void inventory_drain(struct inventory *inv)
{
	flows_foreach(inv->flows, flow_end_dpi, inv);
}

void inventory_free(struct inventory *inv)
{
	if (!inv)
		return;
	for (size_t i = 0; i < inv->devices.cap; i++)
		if (inv->devices.slots[i].key)
			device_free(inv->devices.slots[i].value);
	for (size_t i = 0; i < inv->ips.cap; i++) {
		if (inv->ips.slots[i].key) {
			struct inv_ip *ip = inv->ips.slots[i].value;
			inv_facts_free(ip->facts);
			free(ip);
		}
	}
	for (size_t i = 0; i < inv->conns.cap; i++)
		if (inv->conns.slots[i].key)
			inv_conn_free(inv->conns.slots[i].value);
	flows_foreach(inv->flows, flow_drop_dpi, inv);
	dpi_free(inv->dpi);
	inv_events_free(inv);
	alerts_free(inv->alerts);
	indicators_free(inv->indicators);
	evidence_free(inv->evidence);
	hashmap_free(&inv->devices);
	hashmap_free(&inv->macs);
	hashmap_free(&inv->ips);
	hashmap_free(&inv->conns);
	flows_free(inv->flows);
	free(inv->removed);
	free(inv);
}

void inventory_note_file(struct inventory *inv, bool truncated)
{
	inv->files++;
	if (truncated)
		inv->truncated = true;
}

int64_t inventory_last_packet_usec(const struct inventory *inv)
{
	return inv->last_packet;
}

/* Addresses of the site's own networks (RFC 1918, link-local, unique-local): a new IP-only device there is a
 * new host; elsewhere it is a remote peer, which the new-connection alert covers. */
static bool ip_is_local_scope(int version, const uint8_t *a)
{
	if (version == 4)
		return a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
		       (a[0] == 169 && a[1] == 254);
	return (a[0] & 0xfe) == 0xfc || ip_is_link_local6(a);
}

static void alert_new_device(struct inventory *inv, const struct inv_device *d, const struct inv_ip *ip)
{
	char addr[64];

	if (!inv->alerts)
		return;
	if (d->has_mac)
		inv_format_mac(d->mac, addr);
	else if (ip && ip_is_local_scope(ip->key[0], ip->key + 1))
		inv_format_ip(ip->key[0], ip->key + 1, addr);
	else
		return;
	alerts_new_device(inv->alerts, d->key, addr, inv->now);
}

static struct inv_device *device_new(struct inventory *inv, const char *key)
{
	struct inv_device *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	snprintf(d->key, sizeof(d->key), "%s", key);
	if (hashmap_put(&inv->devices, d->key, d) < 0) {
		free(d);
		return NULL;
	}
	d->dirty = true;
	return d;
}

struct inv_device *inv_device_for_mac(struct inventory *inv, const uint8_t mac[6])
{
	struct inv_device *d = hashmap_get(&inv->macs, mac);
	char key[INV_KEY_LEN] = "mac:";

	if (d)
		return d;
	inv_format_mac(mac, key + 4);
	d = device_new(inv, key);
	if (!d)
		return NULL;
	d->has_mac = true;
	memcpy(d->mac, mac, 6);
	d->vendor = inv->oui ? oui_lookup(inv->oui, mac) : NULL;
	if (hashmap_put(&inv->macs, d->mac, d) < 0) {
		hashmap_remove(&inv->devices, d->key);
		device_free(d);
		return NULL;
	}
	alert_new_device(inv, d, NULL);
	return d;
}

static void device_unlink_ip(struct inv_device *d, struct inv_ip *ip)
{
	for (size_t i = 0; i < d->n_ips; i++) {
		if (d->ips[i] == ip) {
			d->ips[i] = d->ips[--d->n_ips];
			break;
		}
	}
	ip->dev = NULL;
	d->dirty = true;
}

static bool device_link_ip(struct inv_device *d, struct inv_ip *ip)
{
	if (d->n_ips == d->cap_ips) {
		size_t ncap = d->cap_ips ? d->cap_ips * 2 : 2;
		struct inv_ip **n = reallocarray(d->ips, ncap, sizeof(*n));
		if (!n)
			return false;
		d->ips = n;
		d->cap_ips = ncap;
	}
	d->ips[d->n_ips++] = ip;
	ip->dev = d;
	d->dirty = true;
	return true;
}

/* An IP with no usable MAC becomes its own device, keyed by the address. */
static void ip_make_own_device(struct inventory *inv, struct inv_ip *ip)
{
	char key[INV_KEY_LEN] = "ip:";
	struct inv_device *d;

	inv_format_ip(ip->key[0], ip->key + 1, key + 3);
	d = hashmap_get(&inv->devices, key);
	if (!d && (d = device_new(inv, key)))
		alert_new_device(inv, d, ip);
	if (d && !device_link_ip(d, ip)) {
		hashmap_remove(&inv->devices, d->key);
		device_free(d);
	}
}

/* Remembers the key of a dropped device the console knows about. Should memory run out, the retraction is
 * lost and the console keeps a stale IP-only device: wrong but harmless, and logged. */
static void note_removed(struct inventory *inv, const char *key)
{
	if (inv->n_removed == inv->cap_removed) {
		size_t ncap = inv->cap_removed ? inv->cap_removed * 2 : 8;
		char (*n)[INV_KEY_LEN] = reallocarray(inv->removed, ncap, sizeof(*n));
		if (!n) {
			log_warn("inventory: out of memory, device %s not retracted", key);
			return;
		}
		inv->removed = n;
		inv->cap_removed = ncap;
	}
	snprintf(inv->removed[inv->n_removed++], INV_KEY_LEN, "%s", key);
}

/* Drops an IP-only device whose address moved to a MAC. */
static void ip_release(struct inventory *inv, struct inv_ip *ip)
{
	struct inv_device *old = ip->dev;

	if (!old)
		return;
	device_unlink_ip(old, ip);
	if (!old->has_mac && old->n_ips == 0) {
		if (old->emitted)
			note_removed(inv, old->key);
		hashmap_remove(&inv->devices, old->key);
		device_free(old);
	}
}

/* The router rule: a MAC carrying more than one IPv4 (or more than one non-link-local IPv6) address in IP
 * traffic forwards for others. Its addresses that ARP did not tie to it become IP-only devices. */
static void device_check_router(struct inventory *inv, struct inv_device *d)
{
	unsigned v4 = 0, v6 = 0;

	if (d->router)
		return;
	for (size_t i = 0; i < d->n_ips; i++) {
		const struct inv_ip *ip = d->ips[i];
		if (!ip->ip_traffic)
			continue;
		if (ip->key[0] == 4)
			v4++;
		else if (!ip_is_link_local6(ip->key + 1))
			v6++;
	}
	if (v4 <= 1 && v6 <= 1)
		return;
	d->router = true;
	d->dirty = true;
	for (size_t i = d->n_ips; i-- > 0;) {
		struct inv_ip *ip = d->ips[i];
		if (ip->arp_claimed || ip->dhcp_claimed)
			continue;
		device_unlink_ip(d, ip);
		ip_make_own_device(inv, ip);
	}
}

struct inv_ip *inv_ip_find(const struct inventory *inv, int version, const uint8_t *addr)
{
	uint8_t key[17] = { (uint8_t)version };

	memcpy(key + 1, addr, version == 4 ? 4 : 16);
	return hashmap_get(&inv->ips, key);
}

struct inv_ip *inv_ip_get(struct inventory *inv, int version, const uint8_t *addr)
{
	uint8_t key[17] = { (uint8_t)version };
	struct inv_ip *ip;

	memcpy(key + 1, addr, version == 4 ? 4 : 16);
	ip = hashmap_get(&inv->ips, key);
	if (ip)
		return ip;
	ip = calloc(1, sizeof(*ip));
	if (!ip)
		return NULL;
	memcpy(ip->key, key, sizeof(key));
	if (hashmap_put(&inv->ips, ip->key, ip) < 0) {
		free(ip);
		return NULL;
	}
	return ip;
}

/* An IP seen as a unicast endpoint of an IP packet, in a frame whose MAC for that side is mac (NULL when the
 * link has none or it is not unicast). */
static struct inv_ip *ip_learn(struct inventory *inv, int version, const uint8_t *addr, const uint8_t *mac,
			       struct inv_device *known, int64_t ts, int vlan)
{
	struct inv_ip *ip = inv_ip_get(inv, version, addr);
	struct inv_device *md;

	if (!ip)
		return NULL;
	attrs_touch(&ip->attrs, ts, vlan);
	ip->ip_traffic = true;
	/* known: the caller already looked the MAC up and touched it (the frame's source) */
	md = known ? known : mac ? inv_device_for_mac(inv, mac) : NULL;
	if (md && !known)
		attrs_touch(&md->attrs, ts, vlan);
	if (md && ip->dev != md && !md->router && !(ip->dev && ip->dev->has_mac)) {
		/* Bind: the IP had no device or only its own IP-only one. An IP already on another MAC stays
		 * there (that MAC answered for it first; a router or a mirror of two segments shows it again). */
		ip_release(inv, ip);
		if (device_link_ip(md, ip))
			device_check_router(inv, md);
	}
	if (!ip->dev)
		ip_make_own_device(inv, ip);
	if (ip->dev)
		ip->dev->dirty = true;
	return ip;
}

/* ARP: the sender announces that its MAC owns its IP; that binding survives the router rule. */
static void arp_learn(struct inventory *inv, const struct dissect_frame *f, int64_t ts, int vlan)
{
	struct inv_device *md;
	struct inv_ip *ip;

	if (!mac_is_unicast(f->arp_sha) || ip_is_unspecified(4, f->arp_spa) || ip_is_group(4, f->arp_spa))
		return;
	md = inv_device_for_mac(inv, f->arp_sha);
	ip = inv_ip_get(inv, 4, f->arp_spa);
	if (!md || !ip)
		return;
	attrs_touch(&md->attrs, ts, vlan);
	attrs_touch(&ip->attrs, ts, vlan);
	md->dirty = true;
	if (ip->dev == md && ip->arp_claimed)
		return;
	if (inv->alerts && alerts_mode(inv->alerts) == ALERTS_LEARNING) {
		char a[46], m[18];
		inv_format_ip(4, f->arp_spa, a);
		inv_format_mac(f->arp_sha, m);
		alerts_arp_binding(inv->alerts, a, m, ts); /* a first claim while learning: the owner's binding */
	}
	if (ip->dev == md) {
		ip->arp_claimed = true;
		return;
	}
	if (inv->alerts && ip->arp_claimed && ip->dev && ip->dev->has_mac) {
		char a[46], m[18], o[18];
		inv_format_ip(4, f->arp_spa, a);
		inv_format_mac(f->arp_sha, m);
		inv_format_mac(ip->dev->mac, o);
		alerts_ip_conflict(inv->alerts, a, m, o, ts);
	}
	ip_release(inv, ip);
	ip->arp_claimed = true;
	if (device_link_ip(md, ip))
		device_check_router(inv, md);
}

void inv_dhcp_bind(struct inventory *inv, struct inv_device *d, const uint8_t addr[4], int64_t ts)
{
	struct inv_ip *ip = inv_ip_get(inv, 4, addr);

	if (!ip || ip_is_unspecified(4, addr) || ip_is_group(4, addr))
		return;
	attrs_touch(&ip->attrs, ts, -1);
	/* The client's earlier leases leave it: a DHCP client that changes address stays one device and
	 * does not look like a router carrying several addresses. */
	for (size_t i = d->n_ips; i-- > 0;) {
		struct inv_ip *old = d->ips[i];
		if (old != ip && old->dhcp_claimed && old->key[0] == 4) {
			old->dhcp_claimed = false;
			device_unlink_ip(d, old);
		}
	}
	ip->dhcp_claimed = true;
	if (ip->dev == d)
		return;
	ip_release(inv, ip);
	if (device_link_ip(d, ip))
		device_check_router(inv, d);
}

static struct inv_conn *conn_get(struct inventory *inv, const struct inv_conn_key *k, bool broadcast, int64_t ts)
{
	struct inv_conn *c = hashmap_get(&inv->conns, k);

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->key = *k;
	c->broadcast = broadcast;
	c->first_seen = ts;
	if (hashmap_put(&inv->conns, &c->key, c) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

static void conn_count(struct inv_conn *c, const char *proto, int64_t ts, uint32_t len)
{
	c->packets++;
	c->bytes += len;
	if (ts < c->first_seen)
		c->first_seen = ts;
	if (ts > c->last_seen)
		c->last_seen = ts;
	c->dirty = true;
	if (!proto)
		return;
	for (uint8_t i = 0; i < c->n_protos; i++)
		if (strcmp(c->protos[i], proto) == 0)
			return;
	if (c->n_protos < INV_MAX_CONN_PROTOS)
		c->protos[c->n_protos++] = proto;
}

static void ip_role(struct inv_ip *ip, const char *proto, uint8_t role)
{
	if (!ip || !proto)
		return;
	inv_attrs_add_proto(&ip->attrs, proto, role);
	if (ip->dev)
		ip->dev->dirty = true;
}

/* Idle flows release their inspection state and table entry after this much packet time. */
#define INV_FLOW_IDLE_USEC (300LL * 1000000)
#define INV_EXPIRY_EVERY_USEC (30LL * 1000000)

static uint8_t proto_role_of(uint8_t inv_role)
{
	return inv_role == INV_ROLE_CLIENT ? PROTO_ROLE_CLIENT
	       : inv_role == INV_ROLE_SERVER ? PROTO_ROLE_SERVER
					      : PROTO_ROLE_PEER;
}

/* TCP/UDP: the flow decides the server; the connection is (transport, client IP, server IP, server port).
 * A protocol with a dissector is named only once the dissector confirms a PDU of it (the sink does that);
 * a protocol without one is named by its port. */
static void transport_packet(struct inventory *inv, const struct dissect_frame *f, bool group, struct inv_ip *src,
			     struct inv_ip *dst, int64_t ts, uint32_t len)
{
	struct inv_conn *c = NULL;
	struct inv_ip *client, *server;
	struct flow *fl;
	struct inv_conn_key k;
	bool created, to_server;
	size_t alen = f->ip_version == 4 ? 4 : 16;
	const struct registry_proto *rp;
	const char *proto;
	bool dpi;
	uint8_t src_role, dst_role;

	fl = flows_lookup(inv->flows, f, group, &created, &to_server);
	if (!fl)
		return;
	fl->last_seen = ts;
	if (created && inv->indicators && inv->alerts) /* the malware engine: a flow to or from a known-bad IP */
		indicators_check_flow(inv->indicators, inv->alerts, f->transport == DISSECT_T_TCP ? "tcp" : "udp",
				      f->ip_version, to_server ? f->src_ip : f->dst_ip, to_server ? f->dst_ip : f->src_ip, ts);
	if (!fl->conn) {
		memset(&k, 0, sizeof(k));
		k.transport = f->transport == DISSECT_T_TCP ? INV_T_TCP : INV_T_UDP;
		k.ip_version = f->ip_version;
		k.port = to_server ? f->dst_port : f->src_port;
		memcpy(k.src, to_server ? f->src_ip : f->dst_ip, alen);
		memcpy(k.dst, to_server ? f->dst_ip : f->src_ip, alen);
		fl->conn = conn_get(inv, &k, to_server && group, ts);
		if (!fl->conn)
			return;
		if (inv->alerts && !group && ((struct inv_conn *)fl->conn)->packets == 0) {
			char cl[46], sv[46];
			inv_conn_addrs(fl->conn, cl, sv);
			alerts_new_connection(inv->alerts, f->transport == DISSECT_T_TCP ? "tcp" : "udp", cl, sv, k.port,
					      ts);
		}
		if (to_server && src && !group) /* a broadcast expects no answer from anyone in particular */
			src->beh.out_conns++;
	}
	c = fl->conn;
	if (inv->alerts && f->transport == DISSECT_T_TCP && (f->tcp_flags & (DISSECT_TCP_SYN | DISSECT_TCP_ACK)) ==
	    DISSECT_TCP_SYN && to_server && !group) {
		char cl[46], sv[46];
		inv_conn_addrs(c, cl, sv);
		alerts_syn(inv->alerts, cl, sv, c->key.port, ts);
	}
	if (f->ip_fragment && flows_note_datagram(inv->flows, f, c, ts) < 0)
		log_warn("inventory: out of memory tracking fragments");
	client = to_server ? src : dst;
	server = to_server ? dst : src;
	/* A reset from a closed port is not an answer: a SYN scan collects nothing but those. */
	if (!to_server && !c->replied && !(f->transport == DISSECT_T_TCP && (f->tcp_flags & DISSECT_TCP_RST))) {
		c->replied = true;
		if (client)
			client->beh.out_replied++;
	}
	rp = registry_entry_by_port(f->transport, c->key.port);
	dpi = rp && rp->dissector && rp->dissector->parse;
	proto = rp && !dpi ? rp->name : NULL;
	conn_count(c, proto, ts, len);
	if (c->broadcast || group) {
		ip_role(src, proto, INV_ROLE_PEER);
		src_role = PROTO_ROLE_PEER;
		dst_role = PROTO_ROLE_NONE;
	} else {
		ip_role(client, proto, INV_ROLE_CLIENT);
		ip_role(server, proto, INV_ROLE_SERVER);
		src_role = proto_role_of(to_server ? INV_ROLE_CLIENT : INV_ROLE_SERVER);
		dst_role = proto_role_of(to_server ? INV_ROLE_SERVER : INV_ROLE_CLIENT);
	}
	/* A fragmented datagram is not reassembled: its pieces are counted but not inspected, since a first
	 * fragment would look like a truncated PDU. */
	if (dpi && !f->ip_fragment) {
		struct inv_packet_ctx pc = { .inv = inv, .conn = c, .src_ip = src, .dst_ip = dst };
		struct inv_packet_ctx rev = { .inv = inv, .conn = c, .src_ip = dst, .dst_ip = src };
		if (fl->fin && f->transport == DISSECT_T_TCP && to_server &&
		    (f->tcp_flags & (DISSECT_TCP_SYN | DISSECT_TCP_ACK)) == DISSECT_TCP_SYN) {
			/* A new connection reuses the closed one's addresses and ports: it starts afresh. */
			if (fl->dpi)
				dpi_flow_end(inv->dpi, &fl->dpi, f, &pc, &rev);
			fl->fin = 0;
		}
		dpi_packet(inv->dpi, &fl->dpi, rp->dissector, f, to_server, src_role, dst_role, ts, &pc, &rev);
		if (f->transport == DISSECT_T_TCP && fl->dpi) {
			if (f->tcp_flags & DISSECT_TCP_FIN)
				fl->fin |= to_server ? 1 : 2;
			if ((f->tcp_flags & DISSECT_TCP_RST) || fl->fin == 3) {
				struct dissect_frame r;
				if (!to_server)
					dpi_frame_reverse(f, &r);
				dpi_flow_end(inv->dpi, &fl->dpi, to_server ? f : &r, to_server ? &pc : &rev,
					     to_server ? &rev : &pc);
			}
		}
	}
}

static void expire_flows(struct inventory *inv, int64_t ts)
{
	if (ts < inv->next_expiry)
		return;
	if (inv->next_expiry)
		flows_expire(inv->flows, ts - INV_FLOW_IDLE_USEC, flow_end_dpi, inv);
	inv->next_expiry = ts + INV_EXPIRY_EVERY_USEC;
}

/* Non-IP frames: (eth, source MAC, destination MAC). */
static void eth_packet(struct inventory *inv, const struct dissect_frame *f, struct inv_device *sd, int64_t ts,
		       uint32_t len)
{
	struct inv_conn_key k;
	struct inv_conn *c;
	bool group = mac_is_group(f->dst_mac);
	struct inv_device *dd;
	const struct dissector *dis;

	if (!f->has_src_mac || !f->has_dst_mac)
		return;
	memset(&k, 0, sizeof(k));
	k.transport = INV_T_ETH;
	memcpy(k.src, f->src_mac, 6);
	memcpy(k.dst, f->dst_mac, 6);
	c = conn_get(inv, &k, group, ts);
	if (!c)
		return;
	dis = registry_l2_dissector(f->l2_proto);
	dd = group ? NULL : hashmap_get(&inv->macs, f->dst_mac);
	if (dis && dis->parse) {
		struct inv_packet_ctx pc = { .inv = inv, .conn = c, .src_dev = sd, .dst_dev = dd };
		conn_count(c, NULL, ts, len);
		dpi_l2(inv->dpi, dis, f, ts, &pc);
		return;
	}
	conn_count(c, f->l2_proto, ts, len);
	if (!f->l2_proto)
		return;
	if (sd) {
		inv_attrs_add_proto(&sd->attrs, f->l2_proto, INV_ROLE_PEER);
		sd->dirty = true;
	}
	if (dd) {
		inv_attrs_add_proto(&dd->attrs, f->l2_proto, INV_ROLE_PEER);
		dd->dirty = true;
	}
}

static void ip_packet(struct inventory *inv, const struct dissect_frame *f, struct inv_device *sd, int64_t ts,
		      int vlan, uint32_t len)
{
	int v = f->ip_version;
	bool group = ip_is_group(v, f->dst_ip) || (f->has_dst_mac && mac_is_group(f->dst_mac)) || f->link_multicast;
	const uint8_t *smac = f->has_src_mac && mac_is_unicast(f->src_mac) ? f->src_mac : NULL;
	const uint8_t *dmac = f->has_dst_mac && mac_is_unicast(f->dst_mac) ? f->dst_mac : NULL;
	struct inv_ip *src = NULL, *dst = NULL;
	struct inv_conn *c;

	if (!ip_is_unspecified(v, f->src_ip) && !ip_is_group(v, f->src_ip))
		src = ip_learn(inv, v, f->src_ip, smac, smac ? sd : NULL, ts, vlan);
	if (!group && !ip_is_unspecified(v, f->dst_ip))
		dst = ip_learn(inv, v, f->dst_ip, dmac, NULL, ts, vlan);
	if (f->transport != DISSECT_T_NONE) {
		transport_packet(inv, f, group, src, dst, ts, len);
		return;
	}
	/* Later fragments go where the datagram's first fragment went; ICMP and other protocols are not
	 * connections (yet). */
	if (f->ip_later_fragment) {
		c = flows_fragment_conn(inv->flows, f);
		if (c)
			conn_count(c, NULL, ts, len);
	}
}

void inventory_packet(struct inventory *inv, int linktype, const struct pcap_pkthdr *h, const uint8_t *data)
{
	struct dissect_frame f;
	int64_t ts = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
	struct inv_device *sd = NULL;
	int vlan;

	inv->packets++;
	inv->bytes += h->len;
	inv->now = ts;
	if (inv->first_packet == 0 || ts < inv->first_packet)
		inv->first_packet = ts;
	if (ts > inv->last_packet)
		inv->last_packet = ts;
	expire_flows(inv, ts);
	inv_alerts_tick(inv, ts);
	if (!dissect_frame(linktype, data, h->caplen, &f)) {
		inv->undecoded++;
		return;
	}
	evidence_packet(inv->evidence, linktype, h, data, &f); /* before any engine: an alert's capture holds it */
	vlan = f.has_vlan ? f.vlan : -1;
	if (f.has_src_mac && mac_is_unicast(f.src_mac)) {
		sd = inv_device_for_mac(inv, f.src_mac);
		if (sd) {
			attrs_touch(&sd->attrs, ts, vlan);
			sd->dirty = true;
		}
	}
	if (f.has_arp)
		arp_learn(inv, &f, ts, vlan);
	if (f.ip_version)
		ip_packet(inv, &f, sd, ts, vlan, h->len);
	else
		eth_packet(inv, &f, sd, ts, h->len);
	evidence_packet_end(inv->evidence);
}

void inventory_mark_all_dirty(struct inventory *inv)
{
	for (size_t i = 0; i < inv->devices.cap; i++)
		if (inv->devices.slots[i].key)
			((struct inv_device *)inv->devices.slots[i].value)->dirty = true;
	for (size_t i = 0; i < inv->conns.cap; i++)
		if (inv->conns.slots[i].key)
			((struct inv_conn *)inv->conns.slots[i].value)->dirty = true;
}
