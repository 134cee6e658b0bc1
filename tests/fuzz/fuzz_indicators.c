/* libFuzzer target for the malware engine's indicator bundles (sensor-agent/indicators.c): untrusted JSON an
 * operator loads. The parser must refuse anything invalid with a message naming the field and never crash or
 * leak; an accepted bundle must match each of its own indicators; the matchers and the alert messages must
 * take arbitrary bytes (the input itself is also fed to them as a name and an address). */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sensor-agent/alerts.h"
#include "sensor-agent/indicators.h"

/* Every indicator of an accepted bundle matches its own value. */
static void self_match(const struct indicators *ind, json_t *arr)
{
	size_t i;
	json_t *it;

	json_array_foreach(arr, i, it) {
		const char *type = json_string_value(json_object_get(it, "type"));
		const char *value = json_string_value(json_object_get(it, "value"));
		char addr[64];
		uint8_t a[16];
		const char *slash;
		size_t n;

		if (!type || !value)
			__builtin_trap();
		n = strlen(value);
		if (strcmp(type, "domain") == 0) {
			if (!indicators_match_domain(ind, value, n) || !indicators_match_sni(ind, value, n))
				__builtin_trap();
		} else if (strcmp(type, "sni") == 0) {
			if (!indicators_match_sni(ind, value, n))
				__builtin_trap();
		} else if (strcmp(type, "file_name") == 0) {
			if (!indicators_match_file(ind, value, n))
				__builtin_trap();
		} else {
			slash = strchr(value, '/');
			n = slash ? (size_t)(slash - value) : n;
			if (n >= sizeof(addr))
				__builtin_trap();
			memcpy(addr, value, n);
			addr[n] = 0;
			if (inet_pton(AF_INET, addr, a) == 1) {
				if (!indicators_match_ip(ind, 4, a))
					__builtin_trap();
			} else if (inet_pton(AF_INET6, addr, a) == 1) {
				static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
				bool as_v4 = memcmp(a, mapped, 12) == 0 && (!slash || atoi(slash + 1) >= 96);
				if (!indicators_match_ip(ind, as_v4 ? 4 : 6, as_v4 ? a + 12 : a))
					__builtin_trap();
			} else {
				__builtin_trap(); /* accepted, yet not an address */
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	struct indicators *ind = NULL;
	struct alerts *al;
	char err[256] = "";
	json_t *out;

	if (!doc)
		return 0;
	if (indicators_parse(doc, &ind, err, sizeof(err)) != 0) {
		if (!err[0] || ind)
			__builtin_trap(); /* every refusal says why, and leaves nothing behind */
		json_decref(doc);
		return 0;
	}
	if (indicators_count(ind) > json_array_size(json_object_get(doc, "indicators")))
		__builtin_trap();
	self_match(ind, json_object_get(doc, "indicators"));

	/* the raw input as a name and an address, through the matchers and the alert messages */
	al = alerts_new();
	if (al) {
		alerts_set_mode(al, ALERTS_OPERATIONAL);
		for (int what = INDICATOR_SEEN_DNS; what <= INDICATOR_SEEN_FILE; what++)
			indicators_check_name(ind, al, (enum indicator_seen)what, "dns", "10.0.0.1", "10.0.0.2", data, size,
					      1000000);
		if (size >= 16) {
			indicators_check_flow(ind, al, "tcp", 4, data, data + 4, 1000000);
			indicators_check_flow(ind, al, "udp", 6, data, data + size - 16, 1000000);
		}
		out = alerts_json(al);
		if (!out || json_array_size(out) != alerts_count(al))
			__builtin_trap(); /* every message is valid UTF-8 */
		json_decref(out);
		alerts_free(al);
	}
	indicators_free(ind);
	json_decref(doc);
	return 0;
}
