/* Sensor settings documents: validation with field paths, canonical form, the zone/sensor overlay and the config
 * message (server/sensor_settings.c); and the PATCH /api/v1/devices/{id} checks the body table cannot express. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/wire.h"
#include "server/api_devices.h"
#include "server/sensor_settings.h"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (!v)
		fail_msg("bad test JSON: %s: %s", text, e.text);
	return v;
}

/* Checks `body` and returns the canonical document as compact sorted text (caller frees), or NULL with *field. */
static char *check(const char *body, char field[64])
{
	json_t *in = parse(body), *out = NULL;
	struct http_error err = { 0 };
	char *text = NULL;

	field[0] = '\0';
	if (sensor_settings_check(in, &out, &err) == 0) {
		text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	} else {
		assert_int_equal(err.status, 400);
		snprintf(field, 64, "%s", err.field);
	}
	json_decref(in);
	json_decref(out);
	return text;
}

static void accepts_and_canonicalises(void **state)
{
	char field[64], *t;

	t = check("{\"subnets\":[\"10.0.0.0/24\",\"2001:DB8:0:0::/64\",\"192.168.1.7/32\",\"0.0.0.0/0\"],"
		  "\"vlan_names\":{\"10\":\"PLC net\",\"4094\":\"Top\"},\"port_names\":{\"502\":\"Modbus HMI\",\"1\":\"x\"},"
		  "\"dhcp_ranges\":[{\"start\":\"10.0.0.100\",\"end\":\"10.0.0.200\"},{\"start\":\"fe80::1\",\"end\":\"FE80::1\"}]}",
		  field);
	assert_non_null(t);
	assert_string_equal(t, "{\"dhcp_ranges\":[{\"end\":\"10.0.0.200\",\"start\":\"10.0.0.100\"},"
			       "{\"end\":\"fe80::1\",\"start\":\"fe80::1\"}],\"port_names\":{\"1\":\"x\",\"502\":\"Modbus HMI\"},"
			       "\"subnets\":[\"10.0.0.0/24\",\"2001:db8::/64\",\"192.168.1.7/32\",\"0.0.0.0/0\"],"
			       "\"vlan_names\":{\"10\":\"PLC net\",\"4094\":\"Top\"}}");
	free(t);
	/* Null members count as absent; an empty body is an empty document. */
	t = check("{\"subnets\":null,\"vlan_names\":{}}", field);
	assert_string_equal(t, "{\"vlan_names\":{}}");
	free(t);
	t = check("{}", field);
	assert_string_equal(t, "{}");
	free(t);
}

static void refuses_with_field_paths(void **state)
{
	static const struct {
		const char *body, *field;
	} bad[] = {
		{ "{\"subnet\":[]}", "subnet" },
		{ "{\"subnets\":\"10.0.0.0/8\"}", "subnets" },
		{ "{\"subnets\":[\"10.0.0.0/8\",\"10.0.0.1/24\"]}", "subnets[1]" },  /* host bits */
		{ "{\"subnets\":[\"10.0.0.0\"]}", "subnets[0]" },                     /* no prefix */
		{ "{\"subnets\":[\"10.0.0.0/33\"]}", "subnets[0]" },
		{ "{\"subnets\":[\"10.0.0.0/08\"]}", "subnets[0]" },
		{ "{\"subnets\":[\"10.0.0/8\"]}", "subnets[0]" },
		{ "{\"subnets\":[\"::/129\"]}", "subnets[0]" },
		{ "{\"subnets\":[\"10.0.0.0/8\",\"10.0.0.0/8\"]}", "subnets[1]" },
		{ "{\"subnets\":[5]}", "subnets[0]" },
		{ "{\"vlan_names\":[]}", "vlan_names" },
		{ "{\"vlan_names\":{\"0\":\"x\"}}", "vlan_names.0" },
		{ "{\"vlan_names\":{\"4095\":\"x\"}}", "vlan_names.4095" },
		{ "{\"vlan_names\":{\"010\":\"x\"}}", "vlan_names.010" },
		{ "{\"vlan_names\":{\"10\":\"\"}}", "vlan_names.10" },
		{ "{\"vlan_names\":{\"10\":\"a\\nb\"}}", "vlan_names.10" },
		{ "{\"vlan_names\":{\"10\":7}}", "vlan_names.10" },
		{ "{\"port_names\":{\"65536\":\"x\"}}", "port_names.65536" },
		{ "{\"port_names\":{\"-1\":\"x\"}}", "port_names.-1" },
		{ "{\"port_names\":{\"502\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}",
		  "port_names.502" }, /* 65 bytes */
		{ "{\"port_names\":{\"502\":\"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
		  "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
		  "\u00e9\u00e9\u00e9\"}}", "port_names.502" }, /* 33 characters, 66 bytes */
		{ "{\"dhcp_ranges\":{}}", "dhcp_ranges" },
		{ "{\"dhcp_ranges\":[{\"start\":\"10.0.0.9\",\"end\":\"10.0.0.1\"}]}", "dhcp_ranges[0].end" },
		{ "{\"dhcp_ranges\":[{\"start\":\"10.0.0.1\",\"end\":\"::1\"}]}", "dhcp_ranges[0].end" },
		{ "{\"dhcp_ranges\":[{\"start\":\"10.0.0.1\"}]}", "dhcp_ranges[0].end" },
		{ "{\"dhcp_ranges\":[{\"start\":\"x\",\"end\":\"10.0.0.1\"}]}", "dhcp_ranges[0].start" },
		{ "{\"dhcp_ranges\":[{\"start\":\"10.0.0.1\",\"end\":\"10.0.0.2\",\"mask\":\"x\"}]}", "dhcp_ranges[0].mask" },
		{ "{\"dhcp_ranges\":[{\"start\":\"10.0.0.1\",\"end\":\"10.0.0.2\"},{\"start\":\"10.0.0.1\",\"end\":\"10.0.0.2\"}]}",
		  "dhcp_ranges[1]" },
	};
	char field[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *t = check(bad[i].body, field);
		if (t || strcmp(field, bad[i].field) != 0)
			fail_msg("case %zu (%s): accepted or wrong field \"%s\"", i, bad[i].body, field);
	}
}

static void overlay_and_message(void **state)
{
	json_t *zone = parse("{\"subnets\":[\"10.0.0.0/16\"],\"vlan_names\":{\"10\":\"PLC net\",\"20\":\"HMI\"},"
			     "\"dhcp_ranges\":[{\"start\":\"10.0.0.100\",\"end\":\"10.0.0.200\"}]}");
	json_t *sensor = parse("{\"vlan_names\":{\"20\":\"Operators\",\"30\":\"Cams\"},\"port_names\":{\"502\":\"Modbus\"},"
			       "\"dhcp_ranges\":[]}");
	json_t *eff = sensor_settings_effective(zone, sensor), *view;
	char *msg = sensor_settings_config_message(eff, NULL, 0, NULL);

	assert_string_equal(msg, "{\"settings\":{\"dhcp_ranges\":[],\"learning_quiet_period\":604800,"
				 "\"port_names\":{\"502\":\"Modbus\"},"
				 "\"subnets\":[\"10.0.0.0/16\"],\"vlan_names\":{\"10\":\"PLC net\",\"20\":\"Operators\","
				 "\"30\":\"Cams\"}},\"type\":\"config\"}");
	/* What sensors parse (common/wire.c) accepts it. */
	{
		struct wire_msg m;
		char err[128];
		assert_int_equal(wire_parse(msg, strlen(msg), &m, err, sizeof(err)), 0);
		assert_int_equal(m.type, WIRE_CONFIG);
		wire_msg_free(&m);
	}
	free(msg);
	json_decref(eff);
	/* Nothing set anywhere: four empty members and the default quiet period; a mode request and learned items. */
	eff = sensor_settings_effective(NULL, NULL);
	{
		json_t *learned = json_array();
		msg = sensor_settings_config_message(eff, "operational", 2, learned);
		json_decref(learned);
	}
	assert_string_equal(msg, "{\"learned\":[],\"mode_request\":{\"mode\":\"operational\",\"rev\":2},"
				 "\"settings\":{\"dhcp_ranges\":[],\"learning_quiet_period\":604800,\"port_names\":{},"
				 "\"subnets\":[],\"vlan_names\":{}},\"type\":\"config\"}");
	free(msg);
	json_decref(eff);
	/* A sensor's view shows what it inherits as null; the zone's shows empty values. */
	view = sensor_settings_view(sensor, true);
	assert_true(json_is_null(json_object_get(view, "subnets")));
	assert_int_equal(json_object_size(json_object_get(view, "vlan_names")), 2);
	json_decref(view);
	view = sensor_settings_view(NULL, false);
	assert_true(json_is_array(json_object_get(view, "subnets")) && json_object_size(view) == 5);
	json_decref(view);
	/* The zone document was not changed by the overlay. */
	assert_string_equal(json_string_value(json_object_get(json_object_get(zone, "vlan_names"), "20")), "HMI");
	json_decref(zone);
	json_decref(sensor);
}

static void device_patch_checks(void **state)
{
	static const struct {
		const char *body, *field; /* field NULL: accepted */
	} cases[] = {
		{ "{\"type\":\"plc\",\"importance\":\"high\",\"purdue_level\":0,\"tags\":[\"a\",\"b\"]}", NULL },
		{ "{\"type\":null,\"importance\":null,\"purdue_level\":null,\"tags\":null}", NULL },
		{ "{\"description\":\"line 1\\nline 2\\tend\"}", NULL },
		{ "{\"type\":\"toaster\"}", "type" },
		{ "{\"importance\":\"urgent\"}", "importance" },
		{ "{\"purdue_level\":6}", "purdue_level" },
		{ "{\"purdue_level\":\"1\"}", "purdue_level" },
		{ "{\"purdue_level\":1.5}", "purdue_level" },
		{ "{\"tags\":\"a\"}", "tags" },
		{ "{\"tags\":[\"a\",\"a\"]}", "tags" },
		{ "{\"tags\":[\"\"]}", "tags" },
		{ "{\"tags\":[7]}", "tags" },
		{ "{\"tags\":[\"a\\u0001\"]}", "tags" },
		{ "{\"description\":\"bell\\u0007\"}", "description" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *body = parse(cases[i].body);
		struct http_error err = { 0 };
		int rc = api_devices_check_update(body, &err);
		json_decref(body);
		if (!cases[i].field ? rc != 0 : rc == 0 || err.status != 400 || strcmp(err.field, cases[i].field) != 0)
			fail_msg("case %zu (%s): rc %d field \"%s\"", i, cases[i].body, rc, err.field);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepts_and_canonicalises),
		cmocka_unit_test(refuses_with_field_paths),
		cmocka_unit_test(overlay_and_message),
		cmocka_unit_test(device_patch_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
