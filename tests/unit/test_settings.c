/* The console's settings on the sensor: parsing, subnet and DHCP-range membership, persistence, and what they
 * change in device records. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sensor-agent/inventory.h"
#include "sensor-agent/settings.h"

static const char *doc_text = "{\"subnets\":[\"10.1.0.0/16\",\"fd00::/8\"],\"vlan_names\":{\"10\":\"Cell 1\"},"
			      "\"port_names\":{\"502\":\"Modbus\"},"
			      "\"dhcp_ranges\":[{\"start\":\"10.1.5.200\",\"end\":\"10.1.5.100\"}]}";

static void parses_and_matches(void **unused)
{
	struct settings s = { 0 };
	json_t *doc = json_loads(doc_text, 0, NULL);
	const uint8_t in[4] = { 10, 1, 200, 3 }, out[4] = { 10, 2, 0, 1 }, dyn[4] = { 10, 1, 5, 150 };
	uint8_t v6[16] = { 0xfd, 0x12 };
	char err[128];

	(void)unused;
	assert_int_equal(settings_parse(doc, &s, err, sizeof(err)), 0);
	assert_true(settings_monitored(&s, 4, in));
	assert_false(settings_monitored(&s, 4, out));
	assert_true(settings_monitored(&s, 6, v6));
	assert_true(settings_in_dhcp_range(&s, 4, dyn)); /* a reversed range covers the same addresses */
	assert_false(settings_in_dhcp_range(&s, 4, in));
	assert_string_equal(settings_vlan_name(&s, 10), "Cell 1");
	assert_null(settings_vlan_name(&s, 11));
	json_decref(doc);
	doc = json_loads("{\"subnets\":[\"10.1.0.0\"]}", 0, NULL);
	assert_int_equal(settings_parse(doc, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "settings.subnets"));
	assert_true(settings_monitored(&s, 4, in)); /* the earlier settings stay */
	assert_false(settings_monitored(&s, 4, out));
	json_decref(doc);
	settings_clear(&s);
	assert_true(settings_monitored(&s, 4, out)); /* no subnets: everything is monitored */
}

static void persists(void **unused)
{
	char dir[] = "/tmp/otw-settings-XXXXXX", path[64];
	struct settings s = { 0 };
	json_t *doc = json_loads(doc_text, 0, NULL);
	char err[128];

	(void)unused;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(settings_load(dir, &s, err, sizeof(err)), 0);
	assert_null(s.doc);
	assert_int_equal(settings_save(dir, doc), 0);
	assert_int_equal(settings_load(dir, &s, err, sizeof(err)), 0);
	assert_true(json_equal(s.doc, doc));
	assert_int_equal(s.n_nets, 2);
	settings_clear(&s);
	json_decref(doc);
	snprintf(path, sizeof(path), "%s/%s", dir, SETTINGS_FILE);
	unlink(path);
	rmdir(dir);
}

/* One ARP frame from 10.2.0.9 (outside the monitored subnets) and one from 10.1.5.150 (in the DHCP range). */
static void arp(struct inventory *inv, uint8_t last_mac, const uint8_t ip[4])
{
	uint8_t f[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, last_mac, 0x08, 0x06,
			  0, 1, 8, 0, 6, 4, 0, 1, 0x00, 0x11, 0x22, 0x33, 0x44, last_mac };
	struct pcap_pkthdr h = { .caplen = sizeof(f), .len = sizeof(f) };

	memcpy(f + 28, ip, 4);
	h.ts.tv_sec = 1700000000;
	inventory_packet(inv, 1, &h, f);
}

static void marks_devices(void **unused)
{
	struct inventory *inv = inventory_new(NULL);
	struct settings s = { 0 };
	json_t *doc = json_loads(doc_text, 0, NULL), *out, *devs;
	const uint8_t ext[4] = { 10, 2, 0, 9 }, dyn[4] = { 10, 1, 5, 150 };
	char err[128];

	(void)unused;
	assert_int_equal(settings_parse(doc, &s, err, sizeof(err)), 0);
	arp(inv, 1, ext);
	arp(inv, 2, dyn);
	inventory_set_settings(inv, &s, true);
	out = inventory_to_json(inv);
	devs = json_object_get(out, "devices");
	assert_int_equal(json_array_size(devs), 2);
	assert_true(json_is_true(json_object_get(json_array_get(devs, 0), "external")));
	assert_true(json_is_false(json_object_get(json_array_get(devs, 0), "dynamic_address")));
	assert_true(json_is_false(json_object_get(json_array_get(devs, 1), "external")));
	assert_true(json_is_true(json_object_get(json_array_get(devs, 1), "dynamic_address")));
	json_decref(out);
	inventory_free(inv);
	settings_clear(&s);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_and_matches),
		cmocka_unit_test(persists),
		cmocka_unit_test(marks_devices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
