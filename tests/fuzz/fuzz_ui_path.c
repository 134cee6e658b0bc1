/* libFuzzer target for the web UI's request parsing (server/ui_static.h): the strict path decoder, the UI/API path
 * split, the extension rule, the Accept-Encoding and If-None-Match parsers, and the answer decision over a small
 * table loaded once from a directory made at start.
 *
 * Input: the raw path up to the first '\n', then header lines (Accept-Encoding values, the last one also used as
 * If-None-Match). The first byte also picks a small output buffer for a second decode.
 *
 * Checks, besides memory safety: a decoded path starts with '/', fits, is valid as the decoder promises (no NUL,
 * control byte or '\\', no "." / ".." / empty inner segment) and decodes again to itself once re-encoded; a refusal
 * leaves "" behind; a small buffer either holds the same result or refuses; Accept-Encoding lines parsed one by
 * one equal the same lines joined with commas; a matching If-None-Match names the tag or is "*"; an answer is one
 * of the documented statuses, and a 200 or 304 is the exact file when the table has it, index.html otherwise. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/ui_static.h"

#define LINES_MAX 8
#define INPUT_MAX 8192

static struct ui_static *table;
static const char *const table_files[] = { "/index.html", "/robots.txt", "/assets/app-1.js", "/assets/app-1.css" };

static void put(const char *dir, const char *rel, const void *data, size_t len)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s%s", dir, rel);
	if (!(f = fopen(p, "wb")) || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t gz[20] = { 0x1f, 0x8b, 0x08 };
	char dir[] = "/tmp/otw-fuzz-ui-XXXXXX", sub[64], why[256], cmd[96];

	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		abort();
	snprintf(sub, sizeof(sub), "%s/assets", dir);
	if (mkdir(sub, 0700) != 0)
		abort();
	for (size_t i = 0; i < sizeof(table_files) / sizeof(table_files[0]); i++)
		put(dir, table_files[i], table_files[i], strlen(table_files[i]));
	put(dir, "/assets/app-1.js.gz", gz, sizeof(gz));
	if (ui_static_load(dir, 1 << 20, &table, why, sizeof(why)) != 0)
		abort();
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	if (system(cmd) != 0)
		abort();
	return 0;
}

static bool in_table(const char *path)
{
	for (size_t i = 0; i < sizeof(table_files) / sizeof(table_files[0]); i++)
		if (strcmp(path, table_files[i]) == 0)
			return true;
	return false;
}

static void check_decoded(const char *out)
{
	size_t n = strlen(out);
	char again[3 * UI_STATIC_PATH_MAX + 1], back[UI_STATIC_PATH_MAX];
	size_t w = 0;

	if (n == 0 || n >= UI_STATIC_PATH_MAX || out[0] != '/')
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			abort();
		if (c == '/' && i + 1 < n && out[i + 1] == '/')
			abort();
	}
	if (strstr(out, "/../") || strstr(out, "/./") || (n >= 3 && strcmp(out + n - 3, "/..") == 0) ||
	    (n >= 2 && strcmp(out + n - 2, "/.") == 0))
		abort();
	/* Re-encode everything but '/': decodes to the same path (if it still fits the raw cap). */
	for (size_t i = 0; i < n; i++) {
		if (out[i] == '/')
			again[w++] = '/';
		else
			w += (size_t)snprintf(again + w, sizeof(again) - w, "%%%02X", (unsigned char)out[i]);
	}
	again[w] = '\0';
	if (w <= UI_STATIC_RAW_PATH_MAX) {
		if (ui_static_decode_path(again, back, sizeof(back)) != 0 || strcmp(back, out) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[INPUT_MAX + 1], out[UI_STATIC_PATH_MAX], small[64], joined[INPUT_MAX + LINES_MAX + 1];
	const char *lines[LINES_MAX];
	size_t nlines = 0, j = 0;
	struct ui_accept one, all;
	struct ui_answer a;
	const char *etag = "\"0123456789abcdef0123456789abcdef\"", *inm = NULL;
	char *path, *p;
	size_t small_len;
	int rc, rc_small;

	if (size > INPUT_MAX)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	small_len = size ? (size_t)data[0] % sizeof(small) + 1 : 1;
	path = buf;
	p = strchr(buf, '\n');
	if (p) {
		*p++ = '\0';
		while (p && nlines < LINES_MAX) {
			char *nl = strchr(p, '\n');
			if (nl)
				*nl = '\0';
			lines[nlines++] = p;
			p = nl ? nl + 1 : NULL;
		}
	}

	rc = ui_static_decode_path(path, out, sizeof(out));
	if (rc == 0)
		check_decoded(out);
	else if (out[0] != '\0')
		abort();
	rc_small = ui_static_decode_path(path, small, small_len);
	if (rc_small == 0 && (rc != 0 || strcmp(small, out) != 0))
		abort();
	if (rc == 0 && rc_small != 0 && strlen(out) + 1 <= small_len)
		abort();
	(void)ui_static_is_ui_path(path);
	if (rc == 0)
		(void)ui_static_has_extension(out);

	ui_static_accept_init(&one);
	ui_static_accept_init(&all);
	for (size_t i = 0; i < nlines; i++) {
		size_t n = strlen(lines[i]);
		ui_static_accept_parse(&one, lines[i]);
		if (i)
			joined[j++] = ',';
		memcpy(joined + j, lines[i], n);
		j += n;
	}
	joined[j] = '\0';
	ui_static_accept_parse(&all, joined);
	if (one.gzip_q != all.gzip_q || one.star_q != all.star_q ||
	    ui_static_accept_gzip(&one) != ui_static_accept_gzip(&all))
		abort();
	if (one.gzip_q > 1000 || one.star_q > 1000 || one.gzip_q < -1 || one.star_q < -1)
		abort();

	if (nlines) {
		inm = lines[nlines - 1];
		if (ui_static_etag_match(inm, etag) && !strstr(inm, etag) && !strchr(inm, '*'))
			abort();
	}
	ui_static_resolve(table, size && (data[0] & 1), path, ui_static_accept_gzip(&one), inm, &a);
	switch (a.status) {
	case 200:
	case 304:
		if (!a.path || !a.etag || !a.type || !a.cache_control || (a.status == 200 && !a.body && a.len))
			abort();
		if (rc != 0)
			abort();
		if (in_table(out) ? strcmp(a.path, out) != 0 : strcmp(a.path, "/index.html") != 0)
			abort();
		if (a.gzip && strcmp(a.path, "/assets/app-1.js") != 0)
			abort();
		break;
	case 400:
		if (rc == 0)
			abort();
		break;
	case 404:
	case 405:
		if (!a.code || !a.message)
			abort();
		break;
	default:
		abort();
	}
	return 0;
}
