/* The sensor's settings from the console (the `config` message, common/wire.h): monitored subnets, VLAN
 * and port names, DHCP ranges. Kept in the state directory (settings.json) so an air-gapped restart applies
 * the last settings it was given. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define SETTINGS_FILE "settings.json"

struct settings_net {
	uint8_t version; /* 4 or 6 */
	uint8_t addr[16];
	uint8_t bits;    /* prefix length */
};

struct settings_range {
	uint8_t version;
	uint8_t lo[16], hi[16];
};

struct settings {
	json_t *doc; /* the validated settings object (owned) */
	struct settings_net *nets;
	size_t n_nets;
	struct settings_range *ranges;
	size_t n_ranges;
};

/* Parses a settings object (validated with wire_check_settings); 0, -EINVAL (err names the field) or
 * -ENOMEM. *s is replaced only on success. */
int settings_parse(json_t *doc, struct settings *s, char *err, size_t errlen) __attribute__((warn_unused_result));
void settings_clear(struct settings *s);
/* Loads dir/settings.json if it exists (0 and empty settings when it does not). */
int settings_load(const char *dir, struct settings *s, char *err, size_t errlen) __attribute__((warn_unused_result));
/* Writes doc to dir/settings.json atomically (0600). */
int settings_save(const char *dir, json_t *doc) __attribute__((warn_unused_result));

/* True when no subnets are configured or the address is inside one of them. */
bool settings_monitored(const struct settings *s, int version, const uint8_t *addr);
/* True when the address is inside a configured DHCP range. */
bool settings_in_dhcp_range(const struct settings *s, int version, const uint8_t *addr);
/* The configured name of a VLAN, or NULL. */
const char *settings_vlan_name(const struct settings *s, unsigned vlan);
