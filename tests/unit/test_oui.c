/* IEEE registry loading and longest-prefix lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "sensor-agent/oui.h"

static char dir[64];

static void write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/otw-oui-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	write_file("oui.csv", "Registry,Assignment,Organization Name,Organization Address\n"
			      "MA-L,001D9C,Rockwell Automation,1 Allen-Bradley Dr. Mayfield Heights OH US 44124-6118 \n"
			      "MA-L,70B3D5,IEEE Registration Authority,445 Hoes Lane Piscataway NJ US 08554 \n"
			      "MA-L,0800A0,\"Quoted, Inc.\",\"Somewhere, \"\"Nowhere\"\"\"\r\n"
			      "MA-L,BADHEX,Broken,\n"
			      "MA-L,001B1B,Siemens AG,Gleiwitzer Str. 555 Nuernberg DE 90475 \n");
	write_file("mam.csv", "Registry,Assignment,Organization Name,Organization Address\n"
			      "MA-M,001B1B5,Siemens Sub,Somewhere\n");
	write_file("oui36.csv", "Registry,Assignment,Organization Name,Organization Address\n"
				"MA-S,70B3D5F2F,TELEPLATFORMS,\"Polbina st., 3/1 Moscow  RU 109388 \"\n");
	return 0;
}

static int teardown(void **state)
{
	char path[128];
	const char *names[] = { "oui.csv", "mam.csv", "oui36.csv" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}

static void fixture_lookups(void **state)
{
	struct oui_db *db = oui_load(dir);
	const uint8_t rockwell[6] = { 0x00, 0x1d, 0x9c, 0xc6, 0x72, 0xe8 };
	const uint8_t quoted[6] = { 0x08, 0x00, 0xa0, 1, 2, 3 };
	const uint8_t ma_s[6] = { 0x70, 0xb3, 0xd5, 0xf2, 0xf1, 0x23 };
	const uint8_t ma_l_only[6] = { 0x70, 0xb3, 0xd5, 0x11, 0x11, 0x11 };
	const uint8_t mam[6] = { 0x00, 0x1b, 0x1b, 0x5f, 0xff, 0xff };
	const uint8_t mal[6] = { 0x00, 0x1b, 0x1b, 0x4f, 0xff, 0xff };
	const uint8_t local[6] = { 0x02, 0x1d, 0x9c, 0xc6, 0x72, 0xe8 };
	const uint8_t mcast[6] = { 0x01, 0x1d, 0x9c, 0xc6, 0x72, 0xe8 };
	const uint8_t unknown[6] = { 0x00, 0x00, 0x01, 0, 0, 0 };

	assert_non_null(db);
	assert_string_equal(oui_lookup(db, rockwell), "Rockwell Automation");
	assert_string_equal(oui_lookup(db, quoted), "Quoted, Inc.");
	assert_string_equal(oui_lookup(db, ma_s), "TELEPLATFORMS");
	assert_string_equal(oui_lookup(db, ma_l_only), "IEEE Registration Authority");
	assert_string_equal(oui_lookup(db, mam), "Siemens Sub");
	assert_string_equal(oui_lookup(db, mal), "Siemens AG");
	assert_null(oui_lookup(db, local));
	assert_null(oui_lookup(db, mcast));
	assert_null(oui_lookup(db, unknown));
	assert_null(oui_lookup(NULL, rockwell));
	oui_free(db);
}

static void missing_dir(void **state)
{
	assert_null(oui_load("/nonexistent/otw-oui"));
	oui_free(NULL);
}

static void real_registry(void **state)
{
	struct timespec a, b;
	struct oui_db *db;
	const uint8_t siemens[6] = { 0x00, 0x1b, 0x1b, 0x01, 0x02, 0x03 };

	if (access(OUI_DEFAULT_DIR "/oui.csv", R_OK) != 0) {
		print_message("skipped: no %s/oui.csv\n", OUI_DEFAULT_DIR);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	db = oui_load(OUI_DEFAULT_DIR);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_non_null(db);
	print_message("loaded %s in %.1f ms\n", OUI_DEFAULT_DIR,
		      (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
	assert_non_null(oui_lookup(db, siemens));
	assert_non_null(strstr(oui_lookup(db, siemens), "Siemens"));
	oui_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fixture_lookups),
		cmocka_unit_test(missing_dir),
		cmocka_unit_test(real_registry),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
