/* JSON forms of the inventory: `device`/`connection` records (docs/architecture.md) and the inspect document. */
#include <errno.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"
#include "sensor-agent/alerts.h"
#include "sensor-agent/classify.h"
#include "sensor-agent/dissect/registry.h"
#include "sensor-agent/flows.h"
#include "sensor-agent/settings.h"
#include "sensor-agent/inventory_json.h"

static const char *const role_names[] = { "client", "server", "peer" };

/* JSON names of proto.h's PROTO_ATTR_* (same order). */
static const char *const attr_names[PROTO_ATTR__COUNT] = {
	"vendor", "vendor_id", "model", "product_code", "device_type", "firmware", "hardware", "serial",
	"order_number", "module", "rack", "slot", "hostname", "fqdn", "os", "device_instance", "station_name",
	"plc_mode", "dhcp_vendor_class", "dhcp_address", "platform", "port", "sys_descr", "http_server",
	"user_agent", "tls_sni", "ssh_banner", "capabilities", "mgmt_address", "security_mode",
};

static json_t *fact_json(const struct inv_fact *f)
{
	return f->is_num ? json_integer((json_int_t)f->num) : json_string(f->text);
}

static json_t *fact_or_null(const struct inv_facts *fs, enum proto_attr a)
{
	return fs->f[a].set ? fact_json(&fs->f[a]) : json_null();
}

/* The facts, each with the protocol that stated it, and the headline fields an analyst reads first. */
static void device_facts_json(const struct inv_device *d, const struct inv_attrs *a, json_t *o)
{
	struct inv_facts fs;
	struct inv_behaviour beh;
	struct classify_result cr;
	json_t *attrs = json_object(), *ev = json_array();

	inv_device_facts(d, &fs, &beh);
	for (int i = 0; i < PROTO_ATTR__COUNT && attrs; i++)
		if (fs.f[i].set)
			json_object_set_new(attrs, attr_names[i], json_pack("{s:o, s:s}", "value", fact_json(&fs.f[i]),
									   "source", fs.f[i].source));
	classify_device(a, &fs, &beh, d->router, &cr);
	for (size_t i = 0; i < cr.n_evidence && ev; i++)
		json_array_append_new(ev, json_string(cr.evidence[i]));
	json_object_set_new(o, "vendor", fs.f[PROTO_ATTR_VENDOR].set ? fact_json(&fs.f[PROTO_ATTR_VENDOR])
				       : d->vendor ? json_string(d->vendor) : json_null());
	json_object_set_new(o, "oui_vendor", d->vendor ? json_string(d->vendor) : json_null());
	/* A switch's model is what CDP calls its platform ("cisco WS-C3560-24TS"). */
	json_object_set_new(o, "model", fs.f[PROTO_ATTR_MODEL].set ? fact_json(&fs.f[PROTO_ATTR_MODEL])
				       : fact_or_null(&fs, PROTO_ATTR_PLATFORM));
	json_object_set_new(o, "firmware", fact_or_null(&fs, PROTO_ATTR_FIRMWARE));
	json_object_set_new(o, "serial", fact_or_null(&fs, PROTO_ATTR_SERIAL));
	json_object_set_new(o, "hostname", fs.f[PROTO_ATTR_HOSTNAME].set ? fact_json(&fs.f[PROTO_ATTR_HOSTNAME])
					 : fact_or_null(&fs, PROTO_ATTR_STATION_NAME));
	json_object_set_new(o, "fqdn", fact_or_null(&fs, PROTO_ATTR_FQDN));
	json_object_set_new(o, "os", fact_or_null(&fs, PROTO_ATTR_OS));
	json_object_set_new(o, "type", cr.type ? json_string(cr.type) : json_null());
	json_object_set_new(o, "type_evidence", ev);
	json_object_set_new(o, "purdue_level", cr.purdue_level >= 0 ? json_integer(cr.purdue_level) : json_null());
	json_object_set_new(o, "plc_mode", cr.plc_mode ? json_string(cr.plc_mode) : json_null());
	json_object_set_new(o, "flags", json_pack("{s:b, s:b}", "scanner", cr.scanner, "programming_device",
						   cr.programming_device));
	json_object_set_new(o, "attributes", attrs);
}

void inv_format_mac(const uint8_t m[6], char *out)
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

void inv_format_ip(int version, const uint8_t *addr, char *out)
{
	if (!inet_ntop(version == 4 ? AF_INET : AF_INET6, addr, out, 46))
		snprintf(out, 46, "?");
}

static void attrs_merge(struct inv_attrs *dst, const struct inv_attrs *src)
{
	if (src->first_seen && (!dst->first_seen || src->first_seen < dst->first_seen))
		dst->first_seen = src->first_seen;
	if (src->last_seen > dst->last_seen)
		dst->last_seen = src->last_seen;
	for (uint8_t i = 0; i < src->n_vlans; i++) {
		bool have = false;
		for (uint8_t j = 0; j < dst->n_vlans && !have; j++)
			have = dst->vlans[j] == src->vlans[i];
		if (!have && dst->n_vlans < INV_MAX_VLANS)
			dst->vlans[dst->n_vlans++] = src->vlans[i];
	}
	for (uint8_t i = 0; i < src->n_protos; i++) {
		bool have = false;
		for (uint8_t j = 0; j < dst->n_protos && !have; j++)
			have = dst->protos[j].role == src->protos[i].role &&
			       strcmp(dst->protos[j].name, src->protos[i].name) == 0;
		if (!have && dst->n_protos < INV_MAX_PROTOS)
			dst->protos[dst->n_protos++] = src->protos[i];
	}
}

void inv_device_merged(const struct inv_device *d, struct inv_attrs *out)
{
	*out = d->attrs;
	for (size_t i = 0; i < d->n_ips; i++)
		attrs_merge(out, &d->ips[i]->attrs);
}

/* What the console's settings say of a device: outside every monitored subnet (external), holding an
 * address from a DHCP range (dynamic), and the names of its VLANs. */
static void device_settings_json(const struct settings *st, const struct inv_device *d, const struct inv_attrs *a,
				 json_t *o)
{
	bool external = d->n_ips > 0, dynamic = false;
	json_t *names = json_object();

	for (size_t i = 0; i < d->n_ips; i++) {
		const struct inv_ip *ip = d->ips[i];
		if (settings_monitored(st, ip->key[0], ip->key + 1))
			external = false;
		if (settings_in_dhcp_range(st, ip->key[0], ip->key + 1))
			dynamic = true;
	}
	for (uint8_t i = 0; i < a->n_vlans && names; i++) {
		const char *n = settings_vlan_name(st, a->vlans[i]);
		char key[8];
		snprintf(key, sizeof(key), "%u", a->vlans[i]);
		if (n)
			json_object_set_new(names, key, json_string(n));
	}
	json_object_set_new(o, "external", json_boolean(external));
	json_object_set_new(o, "dynamic_address", json_boolean(dynamic));
	json_object_set_new(o, "vlan_names", names ? names : json_null());
}

static int u16_cmp(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static int proto_cmp(const void *a, const void *b)
{
	const struct inv_proto *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (int)x->role - (int)y->role;
}

static int ip_ptr_cmp(const void *a, const void *b)
{
	const struct inv_ip *x = *(const struct inv_ip *const *)a, *y = *(const struct inv_ip *const *)b;
	return memcmp(x->key, y->key, sizeof(x->key));
}

static json_t *time_json(int64_t usec)
{
	char buf[TIMEFMT_LEN];
	return usec ? json_string(timefmt_rfc3339_ms(usec, buf)) : json_null();
}

json_t *inv_device_json(const struct inventory *inv, const struct inv_device *d, bool with_kind)
{
	struct inv_attrs a;
	json_t *o = json_object(), *macs = json_array(), *ips = json_array(), *vlans = json_array(),
	       *protos = json_array();
	struct inv_ip **sorted = NULL;
	char buf[64];

	if (!o || !macs || !ips || !vlans || !protos)
		goto fail;
	inv_device_merged(d, &a);
	if (d->has_mac) {
		inv_format_mac(d->mac, buf);
		json_array_append_new(macs, json_string(buf));
	}
	if (d->n_ips) {
		sorted = malloc(d->n_ips * sizeof(*sorted));
		if (!sorted)
			goto fail;
		memcpy(sorted, d->ips, d->n_ips * sizeof(*sorted));
		qsort(sorted, d->n_ips, sizeof(*sorted), ip_ptr_cmp);
		for (size_t i = 0; i < d->n_ips; i++) {
			inv_format_ip(sorted[i]->key[0], sorted[i]->key + 1, buf);
			json_array_append_new(ips, json_string(buf));
		}
		free(sorted);
	}
	qsort(a.vlans, a.n_vlans, sizeof(a.vlans[0]), u16_cmp);
	for (uint8_t i = 0; i < a.n_vlans; i++)
		json_array_append_new(vlans, json_integer(a.vlans[i]));
	qsort(a.protos, a.n_protos, sizeof(a.protos[0]), proto_cmp);
	for (uint8_t i = 0; i < a.n_protos; i++)
		json_array_append_new(protos, json_pack("{s:s, s:s}", "name", a.protos[i].name, "role",
							role_names[a.protos[i].role]));
	if (with_kind)
		json_object_set_new(o, "kind", json_string("device"));
	json_object_set_new(o, "key", json_string(d->key));
	json_object_set_new(o, "macs", macs);
	json_object_set_new(o, "ips", ips);
	json_object_set_new(o, "vlans", vlans);
	device_facts_json(d, &a, o);
	if (inv->settings)
		device_settings_json(inv->settings, d, &a, o);
	json_object_set_new(o, "protocols", protos);
	json_object_set_new(o, "first_seen", time_json(a.first_seen));
	json_object_set_new(o, "last_seen", time_json(a.last_seen));
	return o;
fail:
	json_decref(o);
	json_decref(macs);
	json_decref(ips);
	json_decref(vlans);
	json_decref(protos);
	return NULL;
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int func_cmp(const void *a, const void *b)
{
	const struct inv_func *x = a, *y = b;
	int c = strcmp(x->proto, y->proto);
	return c ? c : x->code < y->code ? -1 : x->code > y->code;
}

static json_t *funcs_json(const struct inv_conn *c)
{
	struct inv_func sorted[INV_MAX_FUNCS];
	json_t *a = json_array();

	if (!a || !c->n_funcs)
		return a;
	memcpy(sorted, c->funcs, c->n_funcs * sizeof(sorted[0]));
	qsort(sorted, c->n_funcs, sizeof(sorted[0]), func_cmp);
	for (uint16_t i = 0; i < c->n_funcs; i++)
		json_array_append_new(a, json_pack("{s:s, s:I, s:s}", "proto", sorted[i].proto, "code",
						   (json_int_t)sorted[i].code, "name", sorted[i].name));
	return a;
}

void inv_conn_addrs(const struct inv_conn *c, char *src, char *dst)
{
	if (c->key.transport == INV_T_ETH) {
		inv_format_mac(c->key.src, src);
		inv_format_mac(c->key.dst, dst);
	} else {
		inv_format_ip(c->key.ip_version, c->key.src, src);
		inv_format_ip(c->key.ip_version, c->key.dst, dst);
	}
}

json_t *inv_conn_json(const struct inv_conn *c, bool increments, bool with_kind)
{
	static const char *const tnames[] = { "?", "tcp", "udp", "eth" };
	const char *protos[INV_MAX_CONN_PROTOS];
	char src[64], dst[64];
	json_t *o = json_object(), *pa = json_array();

	if (!o || !pa) {
		json_decref(o);
		json_decref(pa);
		return NULL;
	}
	inv_conn_addrs(c, src, dst);
	memcpy(protos, c->protos, c->n_protos * sizeof(protos[0]));
	qsort(protos, c->n_protos, sizeof(protos[0]), str_ptr_cmp);
	for (uint8_t i = 0; i < c->n_protos; i++)
		json_array_append_new(pa, json_string(protos[i]));
	if (with_kind)
		json_object_set_new(o, "kind", json_string("connection"));
	json_object_set_new(o, "transport", json_string(tnames[c->key.transport <= INV_T_ETH ? c->key.transport : 0]));
	json_object_set_new(o, "src_addr", json_string(src));
	json_object_set_new(o, "dst_addr", json_string(dst));
	json_object_set_new(o, "port", c->key.transport == INV_T_ETH ? json_null() : json_integer(c->key.port));
	json_object_set_new(o, "broadcast", json_boolean(c->broadcast));
	json_object_set_new(o, "protocols", pa);
	json_object_set_new(o, "functions", funcs_json(c));
	json_object_set_new(o, "packets", json_integer((json_int_t)(increments ? c->packets - c->sent_packets : c->packets)));
	json_object_set_new(o, "bytes", json_integer((json_int_t)(increments ? c->bytes - c->sent_bytes : c->bytes)));
	json_object_set_new(o, "first_seen", time_json(c->first_seen));
	json_object_set_new(o, "last_seen", time_json(c->last_seen));
	return o;
}

int inv_device_cmp(const void *a, const void *b)
{
	const struct inv_device *x = *(const struct inv_device *const *)a, *y = *(const struct inv_device *const *)b;
	return strcmp(x->key, y->key);
}

int inv_conn_cmp(const void *a, const void *b)
{
	const struct inv_conn *x = *(const struct inv_conn *const *)a, *y = *(const struct inv_conn *const *)b;
	return memcmp(&x->key, &y->key, sizeof(x->key));
}

void **inv_collect(const struct hashmap *m, size_t *n, int (*cmp)(const void *, const void *))
{
	void **v;
	size_t k = 0;

	*n = m->count;
	if (m->count == 0)
		return NULL;
	v = malloc(m->count * sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			v[k++] = m->slots[i].value;
	if (cmp)
		qsort(v, k, sizeof(*v), cmp);
	return v;
}

/* The device id (its index in key order) that owns an address, or -1. */
static json_int_t device_id(struct inv_device **devs, size_t nd, const struct inv_device *d)
{
	size_t lo = 0, hi = nd;

	if (!d)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(devs[mid]->key, d->key);
		if (c == 0)
			return (json_int_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static const struct inv_device *conn_end_device(const struct inventory *inv, const struct inv_conn *c, bool dst)
{
	const uint8_t *addr = dst ? c->key.dst : c->key.src;
	uint8_t key[17];
	const struct inv_ip *ip;

	if (c->key.transport == INV_T_ETH)
		return hashmap_get(&inv->macs, addr);
	key[0] = c->key.ip_version;
	memcpy(key + 1, addr, 16);
	if (c->key.ip_version == 4)
		memset(key + 5, 0, 12);
	ip = hashmap_get(&inv->ips, key);
	return ip ? ip->dev : NULL;
}

static json_t *id_json(json_int_t id)
{
	return id < 0 ? json_null() : json_integer(id);
}

json_t *inventory_to_json(const struct inventory *inv)
{
	size_t nd = 0, nc = 0;
	struct inv_device **devs = (struct inv_device **)inv_collect(&inv->devices, &nd, inv_device_cmp);
	struct inv_conn **conns = (struct inv_conn **)inv_collect(&inv->conns, &nc, inv_conn_cmp);
	size_t ne = 0;
	struct inv_event **evs = (struct inv_event **)inv_collect(&inv->events, &ne, inv_event_cmp);
	json_t *doc = NULL, *jd = json_array(), *jc = json_array(), *je = json_array(), *stats = json_object();

	if ((!devs && nd) || (!conns && nc) || (!evs && ne) || !jd || !jc || !je || !stats)
		goto fail;
	for (size_t i = 0; i < ne; i++)
		json_array_append_new(je, inv_event_json(evs[i], false));
	for (size_t i = 0; i < nd; i++) {
		json_t *o = inv_device_json(inv, devs[i], false);
		if (!o)
			goto fail;
		json_object_set_new(o, "id", json_integer((json_int_t)i));
		json_array_append_new(jd, o);
	}
	for (size_t i = 0; i < nc; i++) {
		json_t *o = inv_conn_json(conns[i], false, false);
		if (!o)
			goto fail;
		json_object_set_new(o, "src", id_json(device_id(devs, nd, conn_end_device(inv, conns[i], false))));
		json_object_set_new(o, "dst", conns[i]->broadcast ? json_null()
					      : id_json(device_id(devs, nd, conn_end_device(inv, conns[i], true))));
		json_array_append_new(jc, o);
	}
	json_object_set_new(stats, "packets", json_integer((json_int_t)inv->packets));
	json_object_set_new(stats, "bytes", json_integer((json_int_t)inv->bytes));
	json_object_set_new(stats, "undecoded", json_integer((json_int_t)inv->undecoded));
	json_object_set_new(stats, "devices", json_integer((json_int_t)nd));
	json_object_set_new(stats, "connections", json_integer((json_int_t)nc));
	json_object_set_new(stats, "flows", json_integer((json_int_t)flows_count(inv->flows)));
	json_object_set_new(stats, "files", json_integer(inv->files));
	json_object_set_new(stats, "first_packet", time_json(inv->first_packet));
	json_object_set_new(stats, "last_packet", time_json(inv->last_packet));
	json_object_set_new(stats, "truncated", json_boolean(inv->truncated));
	json_object_set_new(stats, "protocols", inv_dpi_stats_json(inv));
	doc = json_pack("{s:o, s:o, s:o, s:o, s:o}", "devices", jd, "connections", jc, "events", je, "alerts",
			inv->alerts ? alerts_json(inv->alerts) : json_array(), "stats", stats);
	jd = jc = je = stats = NULL;
fail:
	json_decref(jd);
	json_decref(jc);
	json_decref(je);
	json_decref(stats);
	free(evs);
	free(devs);
	free(conns);
	return doc;
}

json_t *inv_dpi_stats_json(const struct inventory *inv)
{
	struct dpi_proto_stats st[64];
	struct dpi_totals t;
	size_t n = dpi_stats(inv->dpi, st, sizeof(st) / sizeof(st[0]));
	json_t *o = json_object();

	for (size_t i = 0; i < n && o; i++)
		json_object_set_new(o, st[i].name,
				    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "pdus", (json_int_t)st[i].pdus,
					      "malformed", (json_int_t)st[i].malformed, "not_mine",
					      (json_int_t)st[i].not_mine, "violations", (json_int_t)st[i].violations,
					      "gaps", (json_int_t)st[i].gaps, "oversized", (json_int_t)st[i].oversized));
	dpi_totals(inv->dpi, &t);
	json_object_set_new(o, "_reassembly",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "mem_used", (json_int_t)t.mem_used,
				      "mem_peak", (json_int_t)t.mem_peak, "mem_cap", (json_int_t)t.mem_cap, "evictions",
				      (json_int_t)t.evictions, "flows", (json_int_t)t.flows, "flows_live",
				      (json_int_t)t.flows_live, "events_dropped", (json_int_t)inv->events_dropped));
	return o;
}

/* --- records for the console (run) --- */

/* Hands one new record to the callback and drops our reference; a NULL record is an allocation failure. */
static int emit(inventory_record_fn fn, void *ud, json_t *rec)
{
	int r = rec ? fn(ud, rec) : -ENOMEM;
	json_decref(rec);
	return r;
}

int inventory_flush(struct inventory *inv, inventory_record_fn fn, void *ud)
{
	size_t nd = 0, nc = 0;
	struct inv_device **devs = (struct inv_device **)inv_collect(&inv->devices, &nd, inv_device_cmp);
	struct inv_conn **conns = (struct inv_conn **)inv_collect(&inv->conns, &nc, inv_conn_cmp);
	size_t ne = 0;
	struct inv_event **evs = (struct inv_event **)inv_collect(&inv->events, &ne, inv_event_cmp);
	int r = 0;

	if ((!devs && nd) || (!conns && nc) || (!evs && ne)) {
		r = -ENOMEM;
		goto out;
	}
	/* Retractions first: a key dropped and made again in the same interval ends up present. */
	for (size_t i = 0; i < inv->n_removed; i++) {
		r = emit(fn, ud, json_pack("{s:s, s:s}", "kind", "device_remove", "key", inv->removed[i]));
		if (r) { /* keep the ones not sent for the next flush */
			memmove(inv->removed[0], inv->removed[i], (inv->n_removed - i) * sizeof(inv->removed[0]));
			inv->n_removed -= i;
			goto out;
		}
	}
	inv->n_removed = 0;
	for (size_t i = 0; i < nd; i++) {
		if (!devs[i]->dirty)
			continue;
		if ((r = emit(fn, ud, inv_device_json(inv, devs[i], true))))
			goto out;
		devs[i]->dirty = false;
		devs[i]->emitted = true;
	}
	for (size_t i = 0; i < nc; i++) {
		if (!conns[i]->dirty)
			continue;
		if ((r = emit(fn, ud, inv_conn_json(conns[i], true, true))))
			goto out;
		conns[i]->dirty = false;
		conns[i]->sent_packets = conns[i]->packets;
		conns[i]->sent_bytes = conns[i]->bytes;
	}
	for (size_t i = 0; i < ne; i++) {
		if (!evs[i]->dirty)
			continue;
		if ((r = emit(fn, ud, inv_event_json(evs[i], true))))
			goto out;
		evs[i]->dirty = false;
		evs[i]->sent = evs[i]->count;
	}
	r = inv_alerts_flush(inv, fn, ud); /* after the devices they name */
out:
	free(evs);
	free(devs);
	free(conns);
	return r;
}
