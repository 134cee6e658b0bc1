#include "tools/plantsim/truth.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static void ip_text(uint32_t ip, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 0xff, ip >> 8 & 0xff, ip & 0xff);
}

/* Protocol numbers sorted by name. */
static void by_name(unsigned order[PP__COUNT])
{
	for (unsigned p = 0; p < PP__COUNT; p++)
		order[p] = p;
	for (unsigned i = 1; i < PP__COUNT; i++)
		for (unsigned j = i; j > 0 && strcmp(plant_proto_name((enum plant_proto)order[j - 1]),
			plant_proto_name((enum plant_proto)order[j])) > 0; j--) {
			unsigned tmp = order[j];
			order[j] = order[j - 1];
			order[j - 1] = tmp;
		}
}

/* Which protocols stated each identity fact: {"vendor": ["mbtcp", "snmp"], ...}, facts never stated left out. */
static json_t *revealed_json(const struct traffic_stats *st, unsigned d)
{
	json_t *o = json_object();
	unsigned order[PP__COUNT];

	if (!o)
		return NULL;
	by_name(order);
	for (unsigned f = 0; f < PF__COUNT; f++) {
		json_t *a;
		if (!st->revealed[d][f])
			continue;
		a = json_array();
		for (unsigned k = 0; k < PP__COUNT && a; k++)
			if (st->revealed[d][f] & PP_BIT(order[k]))
				json_array_append_new(a, json_string(plant_proto_name((enum plant_proto)order[k])));
		json_object_set_new(o, plant_fact_name((enum plant_fact)f), a);
	}
	return o;
}

/* Protocols in the sensor's order: by name, then client, server, peer. */
static json_t *protocols_json(const struct traffic_stats *st, unsigned d)
{
	const char *names[PP__COUNT];
	json_t *a = json_array();
	unsigned order[PP__COUNT];

	if (!a)
		return NULL;
	for (unsigned p = 0; p < PP__COUNT; p++)
		names[p] = plant_proto_name((enum plant_proto)p);
	by_name(order);
	for (unsigned k = 0; k < PP__COUNT; k++)
		for (unsigned r = 0; r < PR__COUNT; r++)
			if (st->seen[d][r] & PP_BIT(order[k]))
				json_array_append_new(a, json_pack("{s:s, s:s}", "name", names[order[k]], "role",
					plant_proto_role_name((enum plant_proto_role)r)));
	return a;
}

static json_t *device_json(const struct plant *p, unsigned d, const struct traffic_stats *st)
{
	const struct plant_host *h = &p->hosts[d];
	const struct plant_model *m = h->model;
	char ip[16], mac[18];
	json_t *o;

	ip_text(h->ip, ip);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", h->mac[0], h->mac[1], h->mac[2], h->mac[3],
		h->mac[4], h->mac[5]);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:b}", "name", h->name, "role", plant_role_name(h->role),
		"type", plant_role_type(h->role), "ip", ip, "mac", mac, "vlan", (json_int_t)h->vlan, "dhcp", h->dhcp);
	if (!o)
		return NULL;
	json_object_set_new(o, "oui_vendor", json_string(plant_vendor_name(h->vendor)));
	json_object_set_new(o, "vendor", json_string(m->vendor));
	json_object_set_new(o, "model", json_string(m->model));
	json_object_set_new(o, "family", str_or_null(m->family));
	json_object_set_new(o, "order_number", str_or_null(m->order_number));
	json_object_set_new(o, "firmware", str_or_null(m->firmware));
	json_object_set_new(o, "hardware", str_or_null(m->hardware));
	json_object_set_new(o, "serial", json_string(h->serial));
	json_object_set_new(o, "os", str_or_null(m->os));
	if (m->cip_vendor) {
		char rev[16];
		snprintf(rev, sizeof(rev), "%u.%u", m->cip_major, m->cip_minor);
		json_object_set_new(o, "cip", json_pack("{s:i, s:i, s:i, s:s, s:I}", "vendor_id", (json_int_t)m->cip_vendor,
			"device_type", (json_int_t)m->cip_device_type, "product_code", (json_int_t)m->cip_product_code,
			"revision", rev, "serial_number", (json_int_t)strtoul(h->serial, NULL, 16)));
	}
	if (m->bacnet_vendor)
		json_object_set_new(o, "bacnet", json_pack("{s:i, s:i}", "vendor_id", (json_int_t)m->bacnet_vendor,
			"device_instance", (json_int_t)h->address));
	if (m->pn_vendor)
		json_object_set_new(o, "profinet", json_pack("{s:i, s:i, s:s}", "vendor_id", (json_int_t)m->pn_vendor,
			"device_id", (json_int_t)m->pn_device, "station_name", h->name));
	if (m->serves & PP_BIT(PP_DNP3))
		json_object_set_new(o, "dnp3_address", json_integer(h->address));
	if (m->serves & PP_BIT(PP_IEC104))
		json_object_set_new(o, "iec104_common_address", json_integer(h->address - 9));
	if (m->slot)
		json_object_set_new(o, "s7", json_pack("{s:i, s:i}", "rack", 0, "slot", (json_int_t)m->slot));
	json_object_set_new(o, "hostname", json_string(h->name));
	json_object_set_new(o, "protocols", protocols_json(st, d));
	json_object_set_new(o, "revealed", revealed_json(st, d));
	return o;
}

int truth_write(const char *path, const struct plant *p, const struct traffic_config *cfg,
	const struct traffic_stats *st)
{
	return truth_write_scenario(path, p, cfg, st, NULL);
}

/* {"name", "baseline": {"start", "end"}, "attack": {"start", "end"}}: the two periods of a scenario run. */
static json_t *scenario_json(const struct traffic_config *cfg, const struct truth_scenario *sc)
{
	char t0[TIMEFMT_LEN], t1[TIMEFMT_LEN], t2[TIMEFMT_LEN];

	return json_pack("{s:s, s:{s:s, s:s}, s:{s:s, s:s}}", "name", sc->name, "baseline", "start",
		timefmt_rfc3339_ms((int64_t)cfg->start_usec, t0), "end", timefmt_rfc3339_ms((int64_t)sc->attack_start_usec, t1),
		"attack", "start", t1, "end", timefmt_rfc3339_ms((int64_t)(cfg->start_usec + cfg->duration_usec), t2));
}

int truth_write_scenario(const char *path, const struct plant *p, const struct traffic_config *cfg,
	const struct traffic_stats *st, const struct truth_scenario *sc)
{
	char ts[TIMEFMT_LEN], ip[16], ip2[16], subnet[24];
	json_t *root, *devices, *offsite, *anomalies;
	int r = -ENOMEM;

	snprintf(subnet, sizeof(subnet), "10.%u.1.0/24", p->site_octet);
	root = json_pack("{s:s, s:s, s:I, s:i, s:i, s:s, s:s, s:I, s:b}", "generator", "otwatch-plantsim", "version",
		OTW_VERSION, "seed", (json_int_t)cfg->seed, "hosts", (json_int_t)p->n_hosts, "site_octet",
		(json_int_t)p->site_octet, "subnet", subnet, "start",
		timefmt_rfc3339_ms((int64_t)cfg->start_usec, ts), "duration_seconds",
		(json_int_t)(cfg->duration_usec / 1000000), "anomalies_enabled", cfg->anomalies);
	devices = json_array();
	offsite = json_array();
	anomalies = json_array();
	if (!root || !devices || !offsite || !anomalies)
		goto out;
	for (unsigned d = 0; d < p->n_devices + (p->has_visitor ? 1 : 0); d++) {
		json_t *o = device_json(p, d, st);
		if (!o || json_array_append_new(devices, o) < 0)
			goto out;
	}
	for (unsigned i = 0; i < PLANT_OFFSITE_COUNT; i++) {
		ip_text(p->offsite[i], ip);
		json_array_append_new(offsite, json_pack("{s:s, s:s}", "name", p->offsite_name[i], "ip", ip));
	}
	for (unsigned i = 0; i < st->n_anomalies; i++) {
		const struct traffic_anomaly *a = &st->anomalies[i];
		ip_text(p->hosts[a->src].ip, ip);
		ip_text(a->dst_ip ? a->dst_ip : p->hosts[a->dst].ip, ip2);
		json_array_append_new(anomalies, json_pack("{s:s, s:s, s:s, s:s, s:s}", "time",
			timefmt_rfc3339_ms((int64_t)a->ts_usec, ts), "kind", a->kind, "protocol",
			a->proto == PP__COUNT ? "tcp" : plant_proto_name(a->proto), "src", ip, "dst", ip2));
	}
	json_object_set_new(root, "devices", devices);
	json_object_set_new(root, "offsite", offsite);
	json_object_set_new(root, "anomalies", anomalies);
	if (sc)
		json_object_set_new(root, "scenario", scenario_json(cfg, sc));
	devices = offsite = anomalies = NULL;
	errno = 0;
	r = json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 ? 0 : (errno ? -errno : -EIO);
out:
	json_decref(devices);
	json_decref(offsite);
	json_decref(anomalies);
	json_decref(root);
	return r;
}
