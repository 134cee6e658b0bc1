/* IEEE OUI registry (Debian's ieee-data: /usr/share/ieee-data/oui.csv, plus mam/oui36 for longer prefixes):
 * MAC prefix -> organisation name. */
#pragma once
#include <stdint.h>

struct oui_db;

#define OUI_DEFAULT_DIR "/usr/share/ieee-data"

/* Loads the registry files from dir; returns NULL (and logs) when none can be read. */
struct oui_db *oui_load(const char *dir);
void oui_free(struct oui_db *db);
/* The organisation for a MAC, longest prefix first, or NULL. Locally administered addresses have none. */
const char *oui_lookup(const struct oui_db *db, const uint8_t mac[6]);
