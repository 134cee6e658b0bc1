#include "sensor-agent/settings.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pki.h"
#include "common/wire.h"

static int parse_ip(const char *text, uint8_t *version, uint8_t *addr)
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, text, addr) == 1) {
		*version = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, text, addr) == 1) {
		*version = 6;
		return 0;
	}
	return -EINVAL;
}

void settings_clear(struct settings *s)
{
	json_decref(s->doc);
	free(s->nets);
	free(s->ranges);
	memset(s, 0, sizeof(*s));
}

int settings_parse(json_t *doc, struct settings *s, char *err, size_t errlen)
{
	struct settings n = { 0 };
	json_t *a = json_object_get(doc, "subnets"), *b = json_object_get(doc, "dhcp_ranges"), *v;
	size_t i;
	int r;

	if ((r = wire_check_settings(doc, err, errlen)) < 0)
		return r;
	n.nets = calloc(json_array_size(a) + 1, sizeof(*n.nets));
	n.ranges = calloc(json_array_size(b) + 1, sizeof(*n.ranges));
	if (!n.nets || !n.ranges) {
		settings_clear(&n);
		return -ENOMEM;
	}
	json_array_foreach(a, i, v) {
		char text[64];
		const char *cidr = json_string_value(v), *slash = strchr(cidr, '/');
		struct settings_net *net = &n.nets[n.n_nets++];
		snprintf(text, sizeof(text), "%.*s", (int)(slash - cidr), cidr);
		(void)parse_ip(text, &net->version, net->addr); /* wire_check_settings vouched for it */
		net->bits = (uint8_t)atoi(slash + 1);
	}
	json_array_foreach(b, i, v) {
		struct settings_range *rg = &n.ranges[n.n_ranges++];
		uint8_t v2;
		(void)parse_ip(json_string_value(json_object_get(v, "start")), &rg->version, rg->lo);
		(void)parse_ip(json_string_value(json_object_get(v, "end")), &v2, rg->hi);
		if (memcmp(rg->lo, rg->hi, 16) > 0) { /* a reversed range means the same addresses */
			uint8_t t[16];
			memcpy(t, rg->lo, 16);
			memcpy(rg->lo, rg->hi, 16);
			memcpy(rg->hi, t, 16);
		}
	}
	n.doc = json_incref(doc);
	settings_clear(s);
	*s = n;
	return 0;
}

int settings_load(const char *dir, struct settings *s, char *err, size_t errlen)
{
	char path[4096];
	char *data = NULL;
	size_t len;
	json_t *doc;
	json_error_t je;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, SETTINGS_FILE);
	r = pki_read_file(path, 1 << 20, &data, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	free(data);
	if (!doc) {
		snprintf(err, errlen, "%s: not JSON: %s", path, je.text);
		return -EINVAL;
	}
	r = settings_parse(doc, s, err, errlen);
	json_decref(doc);
	return r;
}

int settings_save(const char *dir, json_t *doc)
{
	char path[4096];
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	int r;

	if (!text)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", dir, SETTINGS_FILE);
	r = pki_write_file(path, text, strlen(text), 0600, 0);
	free(text);
	return r;
}

static bool in_net(const struct settings_net *n, int version, const uint8_t *addr)
{
	unsigned full = n->bits / 8, rest = n->bits % 8;

	if (n->version != version || memcmp(n->addr, addr, full) != 0)
		return false;
	return !rest || ((n->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool settings_monitored(const struct settings *s, int version, const uint8_t *addr)
{
	if (!s->n_nets)
		return true;
	for (size_t i = 0; i < s->n_nets; i++)
		if (in_net(&s->nets[i], version, addr))
			return true;
	return false;
}

bool settings_in_dhcp_range(const struct settings *s, int version, const uint8_t *addr)
{
	uint8_t a[16] = { 0 };

	memcpy(a, addr, version == 4 ? 4 : 16);
	for (size_t i = 0; i < s->n_ranges; i++)
		if (s->ranges[i].version == version && memcmp(a, s->ranges[i].lo, 16) >= 0 &&
		    memcmp(a, s->ranges[i].hi, 16) <= 0)
			return true;
	return false;
}

const char *settings_vlan_name(const struct settings *s, unsigned vlan)
{
	char key[8];

	snprintf(key, sizeof(key), "%u", vlan);
	return json_string_value(json_object_get(json_object_get(s->doc, "vlan_names"), key));
}
