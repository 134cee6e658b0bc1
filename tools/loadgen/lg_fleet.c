#include "tools/loadgen/lg_fleet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"

enum role { R_CONTROLLER, R_HMI, R_EWS, R_HISTORIAN, R_SWITCH, R_IT };

/* One kind of device. OUIs from the IEEE MA-L registry (the ones tools/plantsim/plant.c uses). */
struct profile {
	enum role role;
	const char *type, *vendor, *model, *firmware, *host_prefix;
	uint8_t oui[3];
	int purdue;
	const char *proto; /* a controller's server protocol */
	int port;
	uint16_t vlan;
};

static const struct profile controllers[] = {
	{ R_CONTROLLER, "plc", "Siemens", "CPU 1516-3 PN/DP", "V2.9.4", "plc", { 0x00, 0x1b, 0x1b }, 1, "s7comm", 102, 10 },
	{ R_CONTROLLER, "plc", "Rockwell", "1756-L83E/B", "33.011", "plc", { 0x00, 0x1d, 0x9c }, 1, "enip", 44818, 10 },
	{ R_CONTROLLER, "plc", "Schneider", "BMEP584040", "3.20", "plc", { 0x00, 0x80, 0xf4 }, 1, "mbtcp", 502, 10 },
	{ R_CONTROLLER, "rtu", "SEL", "SEL-3530 RTAC", "R148-V2", "rtu", { 0x00, 0x30, 0xa7 }, 1, "dnp3", 20000, 10 },
};
static const struct profile others[] = {
	{ R_HMI, "hmi", "Advantech", "TPC-1551T", NULL, "hmi", { 0x00, 0xd0, 0xc9 }, 2, NULL, 0, 20 },
	{ R_EWS, "engineering_workstation", "Dell", "Precision 3660", NULL, "ews", { 0xb8, 0xca, 0x3a }, 2, NULL, 0, 20 },
	{ R_HISTORIAN, "historian", "HP", "ProLiant DL360", NULL, "hist", { 0x3c, 0x52, 0x82 }, 3, NULL, 0, 20 },
	{ R_SWITCH, "switch", "Hirschmann", "RSP35", "HiOS-09.1.00", "sw", { 0x00, 0x80, 0x63 }, 2, NULL, 0, 1 },
	{ R_IT, "it_host", "Lenovo", NULL, NULL, "pc", { 0x10, 0xc5, 0x95 }, 4, NULL, 0, 30 },
};

/* What a client protocol reads, as the dissectors name it. */
static const struct {
	const char *proto;
	int code;
	const char *name;
} reads[] = {
	{ "s7comm", 4, "read_var" },
	{ "enip", 0x4c, "read_tag" },
	{ "mbtcp", 3, "read_holding_registers" },
	{ "dnp3", 1, "read" },
};

struct lg_fleet_dev {
	const struct profile *p;
	uint8_t mac[6];
	char mac_s[18], ip_s[16], host[32];
};

struct lg_fleet_conn {
	size_t client, server;
};

/* i % 10: 0-2 controllers (rotating over the four kinds), 3-4 HMIs, 5 an engineering workstation, 6 a
 * historian, 7 a switch, 8-9 IT hosts. */
static const struct profile *profile_of(size_t i)
{
	static const int other_of[10] = { -1, -1, -1, 0, 0, 1, 2, 3, 4, 4 };
	int o = other_of[i % 10];
	return o < 0 ? &controllers[(i / 10 * 3 + i % 10) % 4] : &others[o];
}

static bool is_client(const struct lg_fleet_dev *d)
{
	return d->p->role == R_HMI || d->p->role == R_EWS || d->p->role == R_HISTORIAN;
}

int lg_fleet_init(struct lg_fleet *f, unsigned sensor, unsigned devices, unsigned seed)
{
	size_t nc = 0, ns = 0, *cl = NULL, *sv = NULL;
	int rc = -ENOMEM;

	memset(f, 0, sizeof(*f));
	if (sensor >= LG_FLEET_MAX_SENSORS || devices < 1 || devices > LG_FLEET_MAX_DEVICES)
		return -EINVAL;
	f->sensor = sensor;
	f->rnd = seed ^ (sensor * 2654435761u);
	f->n_dev = devices;
	f->dev = calloc(devices, sizeof(*f->dev));
	cl = calloc(devices, sizeof(*cl));
	sv = calloc(devices, sizeof(*sv));
	if (!f->dev || !cl || !sv)
		goto out;
	/* 10.0.0.0/8 cut into /22s, one per sensor; host i is .i+1 of it. MACs: the OUI, then the same 24 bits. */
	for (size_t i = 0; i < devices; i++) {
		struct lg_fleet_dev *d = &f->dev[i];
		uint32_t host = ((uint32_t)sensor << 10) | (uint32_t)(i + 1);
		d->p = profile_of(i);
		memcpy(d->mac, d->p->oui, 3);
		d->mac[3] = (uint8_t)(host >> 16);
		d->mac[4] = (uint8_t)(host >> 8);
		d->mac[5] = (uint8_t)host;
		snprintf(d->mac_s, sizeof(d->mac_s), "%02x:%02x:%02x:%02x:%02x:%02x", d->mac[0], d->mac[1], d->mac[2],
			 d->mac[3], d->mac[4], d->mac[5]);
		snprintf(d->ip_s, sizeof(d->ip_s), "10.%u.%u.%u", (host >> 16) & 0xff, (host >> 8) & 0xff, host & 0xff);
		snprintf(d->host, sizeof(d->host), "%s-%u-%zu", d->p->host_prefix, sensor, i);
		if (is_client(d))
			cl[nc++] = i;
		else if (d->p->role == R_CONTROLLER)
			sv[ns++] = i;
	}
	/* Every client polls controllers: pair c is client c % nc with controller (c / nc) % ns. */
	f->n_conn = nc * ns < devices ? nc * ns : devices;
	if (f->n_conn) {
		f->conn = calloc(f->n_conn, sizeof(*f->conn));
		if (!f->conn)
			goto out;
		for (size_t c = 0; c < f->n_conn; c++)
			f->conn[c] = (struct lg_fleet_conn){ cl[c % nc], sv[(c / nc) % ns] };
	}
	rc = 0;
out:
	free(cl);
	free(sv);
	if (rc < 0)
		lg_fleet_free(f);
	return rc;
}

void lg_fleet_free(struct lg_fleet *f)
{
	free(f->dev);
	free(f->conn);
	memset(f, 0, sizeof(*f));
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *attr(const char *value, const char *source)
{
	return json_pack("{s:s, s:s}", "value", value, "source", source);
}

json_t *lg_fleet_device(struct lg_fleet *f, size_t i, int64_t now)
{
	const struct lg_fleet_dev *d = &f->dev[i];
	const struct profile *p = d->p;
	char key[24], t[TIMEFMT_LEN];
	json_t *protos = json_array(), *attrs = json_object(), *evidence = json_array(), *o;
	bool ctl = p->role == R_CONTROLLER;

	if (!protos || !attrs || !evidence)
		goto fail;
	if (ctl) {
		json_array_append_new(protos, json_pack("{s:s, s:s}", "name", p->proto, "role", "server"));
		json_object_set_new(attrs, "vendor", attr(p->vendor, p->proto));
		json_object_set_new(attrs, "model", attr(p->model, p->proto));
		json_object_set_new(attrs, "firmware", attr(p->firmware, p->proto));
		json_array_append_new(evidence, json_sprintf("%s server", p->proto));
	} else if (is_client(d)) {
		/* Sorted by name, as the sensor sorts them. */
		static const char *const client_protos[] = { "dnp3", "enip", "mbtcp", "s7comm" };
		for (size_t k = 0; k < 4; k++)
			json_array_append_new(protos, json_pack("{s:s, s:s}", "name", client_protos[k], "role", "client"));
		json_array_append_new(evidence, json_string("polls controllers"));
	} else if (p->role == R_SWITCH) {
		json_array_append_new(protos, json_pack("{s:s, s:s}", "name", "lldp", "role", "peer"));
		json_object_set_new(attrs, "platform", attr(p->model, "lldp"));
		json_array_append_new(evidence, json_string("lldp system capabilities: bridge"));
	} else {
		json_array_append_new(protos, json_pack("{s:s, s:s}", "name", "dns", "role", "client"));
		json_array_append_new(evidence, json_string("it traffic only"));
	}
	snprintf(key, sizeof(key), "mac:%s", d->mac_s);
	timefmt_rfc3339_ms(now, t);
	o = json_pack("{s:s, s:s, s:[s], s:[s], s:[i], s:s, s:s, s:o, s:o, s:n, s:s, s:n, s:n, s:s, s:o, s:i, s:o,"
		      " s:{s:b, s:b}, s:o, s:b, s:b, s:{}, s:o, s:s, s:s}",
		      "kind", "device", "key", key, "macs", d->mac_s, "ips", d->ip_s, "vlans", (int)p->vlan,
		      "vendor", p->vendor, "oui_vendor", p->vendor, "model", str_or_null(p->model), "firmware",
		      str_or_null(p->firmware), "serial", "hostname", d->host, "fqdn", "os", "type", p->type,
		      "type_evidence", evidence, "purdue_level", p->purdue, "plc_mode",
		      ctl ? json_string("run") : json_null(), "flags", "scanner", 0, "programming_device",
		      p->role == R_EWS, "attributes", attrs, "external", 0, "dynamic_address", 0, "vlan_names",
		      "protocols", protos, "first_seen", t, "last_seen", t);
	return o;
fail:
	json_decref(protos);
	json_decref(attrs);
	json_decref(evidence);
	return NULL;
}

static json_t *connection(struct lg_fleet *f, size_t c, int64_t now)
{
	const struct lg_fleet_dev *cl = &f->dev[f->conn[c].client], *sv = &f->dev[f->conn[c].server];
	const char *proto = sv->p->proto;
	char t[TIMEFMT_LEN];
	int code = 0;
	const char *fname = NULL;

	for (size_t k = 0; k < sizeof(reads) / sizeof(reads[0]); k++)
		if (strcmp(reads[k].proto, proto) == 0) {
			code = reads[k].code;
			fname = reads[k].name;
		}
	/* A poll cycle since the previous record: request and response frames of 60 to 160 bytes. */
	json_int_t packets = 10 + rand_r(&f->rnd) % 200;
	json_int_t bytes = packets * (60 + rand_r(&f->rnd) % 100);
	timefmt_rfc3339_ms(now, t);
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:b, s:[s], s:[{s:s, s:i, s:s}], s:I, s:I, s:s, s:s}", "kind",
			 "connection", "transport", "tcp", "src_addr", cl->ip_s, "dst_addr", sv->ip_s, "port",
			 sv->p->port, "broadcast", 0, "protocols", proto, "functions", "proto", proto, "code", code,
			 "name", fname, "packets", packets, "bytes", bytes, "first_seen", t, "last_seen", t);
}

json_t *lg_fleet_next(struct lg_fleet *f, int64_t now)
{
	json_t *r;

	if (f->n_conn && f->n_records++ % 2) {
		r = connection(f, f->next_conn, now);
		f->next_conn = (f->next_conn + 1) % f->n_conn;
		return r;
	}
	r = lg_fleet_device(f, f->next_dev, now);
	f->next_dev = (f->next_dev + 1) % f->n_dev;
	return r;
}

/* A device of the given role, or device 0 when the plant has none. */
static const struct lg_fleet_dev *pick(struct lg_fleet *f, enum role role)
{
	size_t start = (size_t)rand_r(&f->rnd) % f->n_dev;
	for (size_t k = 0; k < f->n_dev; k++) {
		const struct lg_fleet_dev *d = &f->dev[(start + k) % f->n_dev];
		if (d->p->role == role)
			return d;
	}
	return &f->dev[0];
}

json_t *lg_fleet_alert(struct lg_fleet *f, int64_t now)
{
	char t[TIMEFMT_LEN], msg[192];
	uint64_t n = f->n_alerts++;
	const struct lg_fleet_dev *ctl = pick(f, R_CONTROLLER);

	timefmt_rfc3339_ms(now, t);
	if (n % 3 == 0) {
		const struct lg_fleet_dev *cl = pick(f, R_HMI);
		int port = 1024 + (int)(n / 3 % 60000); /* a new port each time: a new alert, not a repeat */
		snprintf(msg, sizeof(msg), "New tcp connection %s -> %s port %d", cl->ip_s, ctl->ip_s, port);
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:i, s:s, s:s,"
				 " s:{s:s, s:s, s:s, s:s, s:i}, s:n}",
				 "kind", "alert", "engine", "policy_violation", "severity", "warning", "title",
				 "New connection", "message", msg, "remediation",
				 "Check that the connection is expected; learn it if it is.", "src", cl->ip_s, "dst",
				 ctl->ip_s, "src_mac", cl->mac_s, "dst_mac", ctl->mac_s, "protocol", "count", 1,
				 "first_seen", t, "last_seen", t, "learn", "kind", "connection", "a", cl->ip_s, "b",
				 ctl->ip_s, "proto", "tcp", "code", port, "evidence");
	}
	if (n % 3 == 1) {
		const struct lg_fleet_dev *it = pick(f, R_IT);
		snprintf(msg, sizeof(msg), "%s probed 12 TCP ports of %s within a minute", it->ip_s, ctl->ip_s);
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:i, s:s, s:s, s:n, s:n}",
				 "kind", "alert", "engine", "anomaly", "severity", "major", "title", "Port scan",
				 "message", msg, "remediation", "Find out who runs the scanner and why.", "src",
				 it->ip_s, "dst", ctl->ip_s, "src_mac", it->mac_s, "dst_mac", ctl->mac_s, "protocol",
				 "count", 12, "first_seen", t, "last_seen", t, "learn", "evidence");
	}
	const struct lg_fleet_dev *ews = pick(f, R_EWS);
	snprintf(msg, sizeof(msg), "%s sent a stop command to %s (%s)", ews->ip_s, ctl->ip_s, ctl->p->proto);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:n, s:n}", "kind",
			 "alert", "engine", "operational", "severity", "major", "title", "PLC stop / start command",
			 "message", msg, "remediation", "Confirm the stop with the process owner.", "src", ews->ip_s,
			 "dst", ctl->ip_s, "src_mac", ews->mac_s, "dst_mac", ctl->mac_s, "protocol", ctl->p->proto,
			 "count", 1, "first_seen", t, "last_seen", t, "learn", "evidence");
}
