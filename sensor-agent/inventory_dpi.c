/* What deep inspection tells the inventory (dpi.h's sink): protocol confirmations with roles, device facts,
 * function codes per connection, events and protocol violations. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"
#include "sensor-agent/alerts.h"
#include "sensor-agent/dissect/registry.h"
#include "sensor-agent/indicators.h"
#include "sensor-agent/inventory_json.h"

static uint8_t inv_role_of(uint8_t r)
{
	return r == PROTO_ROLE_CLIENT ? INV_ROLE_CLIENT : r == PROTO_ROLE_SERVER ? INV_ROLE_SERVER : INV_ROLE_PEER;
}

/* The devices a packet's endpoints belong to: the IP's when there is one, else the MAC's. */
static struct inv_device *end_device(const struct inv_packet_ctx *pc, const struct proto_ctx *ctx, bool dst)
{
	const struct dissect_frame *f = ctx->frame;
	struct inv_ip *ip = dst ? pc->dst_ip : pc->src_ip;

	if (ip)
		return ip->dev;
	if (dst)
		return pc->dst_dev ? pc->dst_dev
		       : (f && f->has_dst_mac && !(f->dst_mac[0] & 1)) ? hashmap_get(&pc->inv->macs, f->dst_mac)
									  : NULL;
	return pc->src_dev ? pc->src_dev : (f && f->has_src_mac) ? hashmap_get(&pc->inv->macs, f->src_mac) : NULL;
}

static void add_role(const struct inv_packet_ctx *pc, const struct proto_ctx *ctx, bool dst, uint8_t role)
{
	struct inv_ip *ip = dst ? pc->dst_ip : pc->src_ip;
	struct inv_device *d;

	if (role == PROTO_ROLE_NONE || role == PROTO_ROLE_DEFAULT)
		return;
	if (ip) {
		inv_attrs_add_proto(&ip->attrs, ctx->proto, inv_role_of(role));
		if (ip->dev)
			ip->dev->dirty = true;
		return;
	}
	d = end_device(pc, ctx, dst);
	if (d) {
		inv_attrs_add_proto(&d->attrs, ctx->proto, inv_role_of(role));
		d->dirty = true;
	}
}

static void confirm(const struct inv_packet_ctx *pc, const struct proto_ctx *ctx)
{
	struct inv_conn *c = pc->conn;
	const char *name = registry_name(ctx->proto);

	if (!name)
		return;
	if (c) {
		bool have = false;
		for (uint8_t i = 0; i < c->n_protos && !have; i++)
			have = c->protos[i] == name;
		if (!have && c->n_protos < INV_MAX_CONN_PROTOS) {
			c->protos[c->n_protos++] = name;
			c->dirty = true;
		}
	}
	add_role(pc, ctx, false, ctx->src_role);
	add_role(pc, ctx, true, ctx->dst_role);
	if (pc->inv->alerts && c && !c->broadcast && c->key.transport != INV_T_ETH) {
		char cl[46], sv[46];
		inv_conn_addrs(c, cl, sv);
		alerts_pair_protocol(pc->inv->alerts, cl, sv, name, ctx->ts);
	}
}

static void function(const struct inv_packet_ctx *pc, const struct proto_ctx *ctx, const struct proto_obs *o)
{
	struct inv_conn *c = pc->conn;
	uint32_t code = (uint32_t)o->num;

	if (!c)
		return;
	for (uint16_t i = 0; i < c->n_funcs; i++)
		if (c->funcs[i].code == code && c->funcs[i].proto == ctx->proto)
			return;
	if (c->n_funcs >= INV_MAX_FUNCS)
		return;
	if (c->n_funcs == c->cap_funcs) {
		uint16_t ncap = c->cap_funcs ? (uint16_t)(c->cap_funcs * 2) : 4;
		struct inv_func *n = reallocarray(c->funcs, ncap, sizeof(*n));
		if (!n)
			return;
		c->funcs = n;
		c->cap_funcs = ncap;
	}
	c->funcs[c->n_funcs++] = (struct inv_func){ ctx->proto, o->name ? o->name : "", code };
	c->dirty = true;
	if (pc->inv->alerts && !c->broadcast && c->key.transport != INV_T_ETH) {
		char cl[46], sv[46];
		inv_conn_addrs(c, cl, sv);
		alerts_pair_function(pc->inv->alerts, cl, sv, ctx->proto, code, o->name, ctx->ts);
	}
}

/* Keeps printable text only: control bytes and invalid UTF-8 become '?', surrounding blanks and NULs go. */
static size_t sanitise(const uint8_t *in, size_t n, char *out, size_t cap)
{
	size_t o = 0, i = 0;

	while (n && (in[n - 1] == 0 || in[n - 1] == ' ' || in[n - 1] == '\r' || in[n - 1] == '\n' || in[n - 1] == '\t'))
		n--;
	while (i < n && (in[i] == ' ' || in[i] == 0 || in[i] == '\t'))
		i++;
	while (i < n && o + 4 < cap) {
		uint8_t b = in[i];
		size_t len = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 0;
		bool ok = len && i + len <= n && (len > 1 || (b >= 0x20 && b != 0x7f));
		for (size_t k = 1; ok && k < len; k++)
			ok = (in[i + k] & 0xc0) == 0x80;
		if (!ok) {
			out[o++] = '?';
			i++;
			continue;
		}
		memcpy(out + o, in + i, len);
		o += len;
		i += len;
	}
	out[o] = 0;
	return o;
}

static struct inv_facts **facts_slot_ip(struct inv_ip *ip) { return &ip->facts; }

/* OPC UA security modes, weakest first: a server that accepts any channel without security is reported as
 * such even if other clients negotiated encryption with it. */
static int security_rank(const char *mode)
{
	if (strncmp(mode, "None", 4) == 0)
		return 0;
	if (strncmp(mode, "SignAndEncrypt", 14) == 0)
		return 2;
	return strncmp(mode, "Sign", 4) == 0 ? 1 : 3;
}

/* How much a protocol's word on a device's identity weighs: what a controller answers about itself over
 * its own control protocol (S7 SZL, CIP identity, Modbus FC 43, BACnet device object, DNP3 attributes)
 * beats what discovery and management protocols announce (SNMP, LLDP/CDP, DCP) and what an OPC UA server
 * says of its application (a software name, not the hardware), which beats what naming and IT protocols
 * imply. A fact is replaced only by one of at least the same weight. */
static int source_rank(const char *proto)
{
	static const char *const strong[] = { "s7comm", "s7comm_plus", "enip", "mbtcp", "bacnet", "dnp3",
					      "iec60870_104" };
	static const char *const middle[] = { "snmp", "lldp", "cdp", "pn_dcp", "opcua" };

	for (size_t i = 0; proto && i < sizeof(strong) / sizeof(strong[0]); i++)
		if (strcmp(proto, strong[i]) == 0)
			return 3;
	for (size_t i = 0; proto && i < sizeof(middle) / sizeof(middle[0]); i++)
		if (strcmp(proto, middle[i]) == 0)
			return 2;
	return 1;
}

static void fact_set(struct inv_facts **slot, const struct proto_ctx *ctx, const struct proto_obs *o)
{
	struct inv_fact *f;
	char buf[INV_FACT_LEN];

	if (o->attr >= PROTO_ATTR__COUNT)
		return;
	if (!*slot && !(*slot = calloc(1, sizeof(**slot))))
		return;
	f = &(*slot)->f[o->attr];
	if (f->set && source_rank(f->source) > source_rank(ctx->proto))
		return;
	f->ts = ctx->ts;
	f->source = ctx->proto;
	if (o->has_num) {
		free(f->text);
		f->text = NULL;
		f->num = o->num;
		f->is_num = true;
		f->set = true;
		return;
	}
	if (!o->text || !sanitise(o->text, o->text_len, buf, sizeof(buf)))
		return;
	if (f->text && strcmp(f->text, buf) == 0) {
		f->set = true;
		return;
	}
	if (o->attr == PROTO_ATTR_SECURITY_MODE && f->text && security_rank(f->text) < security_rank(buf))
		return;
	free(f->text);
	f->text = strdup(buf);
	f->is_num = false;
	f->set = f->text != NULL;
}

/* A DHCP lease ties the address to the client's MAC. */
static void dhcp_lease(struct inventory *inv, struct inv_device *d, const struct proto_obs *o, int64_t ts)
{
	char buf[64];
	uint8_t a[4];

	if (!d || !d->has_mac || !o->text || o->text_len >= sizeof(buf))
		return;
	memcpy(buf, o->text, o->text_len);
	buf[o->text_len] = 0;
	if (inet_pton(AF_INET, buf, a) == 1)
		inv_dhcp_bind(inv, d, a, ts);
}

static void attr(const struct inv_packet_ctx *pc, const struct proto_ctx *ctx, const struct proto_obs *o)
{
	struct inventory *inv = pc->inv;
	struct inv_ip *ip = NULL;
	struct inv_device *d = NULL;

	switch (o->target.kind) {
	case PROTO_TARGET_SRC:
	case PROTO_TARGET_DST: {
		bool dst = o->target.kind == PROTO_TARGET_DST;
		ip = dst ? pc->dst_ip : pc->src_ip;
		if (!ip)
			d = end_device(pc, ctx, dst);
		break;
	}
	case PROTO_TARGET_IP:
		if (o->target.ip_version == 4 || o->target.ip_version == 6)
			ip = inv_ip_find(inv, o->target.ip_version, o->target.addr);
		break;
	case PROTO_TARGET_MAC:
		if (!(o->target.addr[0] & 1) && memcmp(o->target.addr, "\0\0\0\0\0\0", 6) != 0)
			d = inv_device_for_mac(inv, o->target.addr);
		break;
	default:
		return;
	}
	if (o->attr == PROTO_ATTR_DHCP_ADDRESS && !o->has_num)
		dhcp_lease(inv, d ? d : ip ? ip->dev : NULL, o, ctx->ts);
	if (ip) {
		fact_set(facts_slot_ip(ip), ctx, o);
		if (ip->dev)
			ip->dev->dirty = true;
	} else if (d) {
		fact_set(&d->facts, ctx, o);
		d->dirty = true;
	}
}

/* Events that show the sender programs or commands controllers. */
static bool programming_event(const char *name)
{
	static const char *const names[] = { "program_download", "program_upload", "firmware_update", "plc_stop",
					     "plc_start", "plc_mode_change" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static void end_addr(const struct inv_packet_ctx *pc, const struct proto_ctx *ctx, bool dst, char *out)
{
	const struct dissect_frame *f = ctx->frame;

	out[0] = 0;
	if (!f)
		return;
	if (f->ip_version)
		inv_format_ip(f->ip_version, dst ? f->dst_ip : f->src_ip, out);
	else if (dst ? f->has_dst_mac : f->has_src_mac)
		inv_format_mac(dst ? f->dst_mac : f->src_mac, out);
	(void)pc;
}

static void event(const struct inv_packet_ctx *pc, const struct proto_ctx *ctx, const struct proto_obs *o)
{
	struct inventory *inv = pc->inv;
	struct inv_event_key k;
	struct inv_event *e;
	const char *name = o->name ? o->name : "unknown";

	memset(&k, 0, sizeof(k));
	k.kind = o->kind;
	snprintf(k.proto, sizeof(k.proto), "%s", ctx->proto ? ctx->proto : "");
	snprintf(k.name, sizeof(k.name), "%s", name);
	end_addr(pc, ctx, false, k.src);
	end_addr(pc, ctx, true, k.dst);
	e = hashmap_get(&inv->events, &k);
	if (!e) {
		if (inv->events.count >= INV_MAX_EVENTS) {
			inv->events_dropped++;
			return;
		}
		e = calloc(1, sizeof(*e));
		if (!e)
			return;
		e->key = k;
		e->first_seen = ctx->ts;
		if (hashmap_put(&inv->events, &e->key, e) < 0) {
			free(e);
			return;
		}
	}
	e->count++;
	if (ctx->ts < e->first_seen)
		e->first_seen = ctx->ts;
	if (ctx->ts > e->last_seen)
		e->last_seen = ctx->ts;
	if (o->text && o->text_len)
		sanitise(o->text, o->text_len, e->detail, sizeof(e->detail));
	e->dirty = true;
	if (inv->alerts)
		alerts_dpi(inv->alerts, o->kind == PROTO_OBS_VIOLATION, k.proto, name, e->detail[0] ? e->detail : NULL,
			   k.src[0] ? k.src : NULL, k.dst[0] ? k.dst : NULL, ctx->dir == PROTO_DIR_TO_SERVER, ctx->ts);
	if (o->kind == PROTO_OBS_EVENT && programming_event(name)) {
		/* The requester (client) of the PDU is the programming station. */
		bool src_is_client = ctx->dir == PROTO_DIR_TO_SERVER;
		struct inv_ip *ip = src_is_client ? pc->src_ip : pc->dst_ip;
		struct inv_behaviour *b = ip ? &ip->beh : NULL;
		struct inv_device *d = ip ? ip->dev : end_device(pc, ctx, !src_is_client);
		if (!b && d)
			b = &d->beh;
		if (b && !b->programming) {
			b->programming = true;
			b->programming_evidence = o->name;
			if (d)
				d->dirty = true;
		}
	}
}

/* The malware engine (indicators.h): a name a PDU carries, asked for by the PDU's client (the roles the
 * dissector set, else the flow's direction). */
static void indicator_name(const struct inv_packet_ctx *pc, const struct proto_ctx *ctx, enum indicator_seen what,
			   const uint8_t *s, size_t n)
{
	char src[46], dst[46];
	bool src_is_client = ctx->src_role == PROTO_ROLE_CLIENT ||
			     (ctx->src_role == PROTO_ROLE_DEFAULT && ctx->dir == PROTO_DIR_TO_SERVER);

	if (!pc->inv->indicators || !pc->inv->alerts || !s || !n)
		return;
	end_addr(pc, ctx, false, src);
	end_addr(pc, ctx, true, dst);
	indicators_check_name(pc->inv->indicators, pc->inv->alerts, what, ctx->proto, src_is_client ? src : dst,
			      src_is_client ? dst : src, s, n, ctx->ts);
}

void inv_dpi_sink(void *ud, const struct proto_ctx *ctx, const struct proto_obs *o)
{
	static const uint8_t seen[] = { [PROTO_NAME_DNS_QUERY] = INDICATOR_SEEN_DNS,
					[PROTO_NAME_DNS_ANSWER] = INDICATOR_SEEN_DNS_ANSWER,
					[PROTO_NAME_HTTP_HOST] = INDICATOR_SEEN_HTTP_HOST,
					[PROTO_NAME_FILE] = INDICATOR_SEEN_FILE };
	const struct inv_packet_ctx *pc = ud;

	if (!pc)
		return;
	switch (o->kind) {
	case DPI_OBS_CONFIRM:
		confirm(pc, ctx);
		break;
	case PROTO_OBS_FUNCTION:
		function(pc, ctx, o);
		break;
	case PROTO_OBS_ATTR:
		attr(pc, ctx, o);
		if (o->attr == PROTO_ATTR_TLS_SNI && !o->has_num)
			indicator_name(pc, ctx, INDICATOR_SEEN_TLS_SNI, o->text, o->text_len);
		break;
	case PROTO_OBS_NAME:
		if (o->attr < sizeof(seen))
			indicator_name(pc, ctx, seen[o->attr], o->text, o->text_len);
		break;
	case PROTO_OBS_EVENT:
	case PROTO_OBS_VIOLATION:
		event(pc, ctx, o);
		break;
	default:
		break;
	}
}

void inv_facts_free(struct inv_facts *f)
{
	if (!f)
		return;
	for (int i = 0; i < PROTO_ATTR__COUNT; i++)
		free(f->f[i].text);
	free(f);
}

void inv_conn_free(struct inv_conn *c)
{
	if (!c)
		return;
	free(c->funcs);
	free(c);
}

void inv_events_free(struct inventory *inv)
{
	for (size_t i = 0; i < inv->events.cap; i++)
		if (inv->events.slots[i].key)
			free(inv->events.slots[i].value);
	hashmap_free(&inv->events);
}

static void facts_merge(struct inv_facts *out, const struct inv_facts *in)
{
	if (!in)
		return;
	for (int i = 0; i < PROTO_ATTR__COUNT; i++) {
		int a, b;
		if (!in->f[i].set)
			continue;
		a = source_rank(in->f[i].source);
		b = out->f[i].set ? source_rank(out->f[i].source) : 0;
		if (a > b || (a == b && in->f[i].ts > out->f[i].ts))
			out->f[i] = in->f[i];
	}
}

static void beh_merge(struct inv_behaviour *out, const struct inv_behaviour *in)
{
	out->out_conns += in->out_conns;
	out->out_replied += in->out_replied;
	if (in->programming && !out->programming) {
		out->programming = true;
		out->programming_evidence = in->programming_evidence;
	}
}

void inv_device_facts(const struct inv_device *d, struct inv_facts *out, struct inv_behaviour *beh)
{
	memset(out, 0, sizeof(*out));
	memset(beh, 0, sizeof(*beh));
	facts_merge(out, d->facts);
	beh_merge(beh, &d->beh);
	for (size_t i = 0; i < d->n_ips; i++) {
		facts_merge(out, d->ips[i]->facts);
		beh_merge(beh, &d->ips[i]->beh);
	}
}

static json_t *time_or_null(int64_t usec)
{
	char buf[TIMEFMT_LEN];
	return usec ? json_string(timefmt_rfc3339_ms(usec, buf)) : json_null();
}

json_t *inv_event_json(const struct inv_event *e, bool increments)
{
	return json_pack("{s:s, s:s, s:s, s:s*, s:s*, s:I, s:o, s:o, s:s*}", "kind",
			 e->key.kind == PROTO_OBS_VIOLATION ? "violation" : "event", "proto", e->key.proto, "name",
			 e->key.name, "src_addr", e->key.src[0] ? e->key.src : NULL, "dst_addr",
			 e->key.dst[0] ? e->key.dst : NULL, "count",
			 (json_int_t)(increments ? e->count - e->sent : e->count), "first_seen",
			 time_or_null(e->first_seen), "last_seen", time_or_null(e->last_seen), "detail",
			 e->detail[0] ? e->detail : NULL);
}

int inv_event_cmp(const void *a, const void *b)
{
	const struct inv_event *x = *(const struct inv_event *const *)a, *y = *(const struct inv_event *const *)b;
	return memcmp(&x->key, &y->key, sizeof(x->key));
}
