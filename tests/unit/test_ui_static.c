/* server/ui_static.c: path decoding, the UI/API split, Accept-Encoding, If-None-Match, the loader (symlinks,
 * dotfiles, .gz siblings, size cap) and the answer decisions (exact file, SPA fallback, 404, 405, 304, 503). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/ui_static.h"

/* A small gzip member header (RFC 1952): magic, deflate, then padding; the loader checks the magic only. */
static const uint8_t GZ[24] = { 0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 'g', 'z', 'i', 'p', 'p', 'e', 'd' };

static int decode(const char *raw, char *out)
{
	return ui_static_decode_path(raw, out, UI_STATIC_PATH_MAX);
}

static void decode_accepts(void **state)
{
	char out[UI_STATIC_PATH_MAX];

	assert_int_equal(decode("/", out), 0);
	assert_string_equal(out, "/");
	assert_int_equal(decode("/assets/index-3f2a9c1b.js", out), 0);
	assert_string_equal(out, "/assets/index-3f2a9c1b.js");
	assert_int_equal(decode("/devices/42", out), 0);
	assert_int_equal(decode("/a%20b", out), 0);
	assert_string_equal(out, "/a b");
	assert_int_equal(decode("/caf%C3%A9", out), 0); /* valid UTF-8 */
	assert_string_equal(out, "/caf\xc3\xa9");
	assert_int_equal(decode("/devices/", out), 0);  /* a trailing empty segment */
	assert_int_equal(decode("/x%2e%2ey", out), 0);  /* dots inside a name are fine */
	assert_string_equal(out, "/x..y");
	assert_int_equal(decode("/%25", out), 0);
	assert_string_equal(out, "/%");
}

static void decode_refuses(void **state)
{
	static const char *const bad[] = {
		"",                                /* empty */
		"assets/app.js",                   /* not absolute */
		"*",                               /* asterisk-form */
		"/assets/../../etc/passwd",        /* traversal */
		"/..",
		"/assets/..",
		"/./index.html",
		"/%2e%2e/etc/passwd",              /* encoded traversal */
		"/%2E%2E/etc/passwd",
		"/assets/%2e%2e/%2e%2e/etc/passwd",
		"/.%2e/x",
		"/a%00b",                          /* NUL */
		"/a%0ab",                          /* control bytes */
		"/a%7fb",
		"/a\x01" "b",
		"/a%5c..%5cb",                     /* backslash, encoded */
		"/a\\b",                           /* backslash, raw */
		"/a%2fb",                          /* encoded slash */
		"/a%2Fb",
		"//etc/passwd",                    /* empty segment */
		"/assets//app.js",
		"/a%",                             /* truncated escapes */
		"/a%4",
		"/a%zz",
		"/a%+1",
		"/%c0%ae%c0%ae/etc/passwd",        /* overlong '.' */
		"/%c0%af",                         /* overlong '/' */
		"/%e0%80%ae",                      /* 3-byte overlong */
		"/%ed%a0%80",                      /* surrogate */
		"/%f4%90%80%80",                   /* beyond U+10FFFF */
		"/%ff",                            /* not UTF-8 */
		"/%c3",                            /* truncated sequence */
	};
	char out[UI_STATIC_PATH_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = decode(bad[i], out);
		if (rc != -EINVAL)
			fail_msg("accepted %s", bad[i]);
		assert_string_equal(out, "");
	}
	assert_int_equal(ui_static_decode_path(NULL, out, sizeof(out)), -EINVAL);
}

static void decode_bounds(void **state)
{
	char raw[UI_STATIC_RAW_PATH_MAX + 2], out[UI_STATIC_PATH_MAX], small[8];

	/* Decoded length: UI_STATIC_PATH_MAX - 1 bytes fit, one more does not. */
	raw[0] = '/';
	memset(raw + 1, 'a', UI_STATIC_PATH_MAX - 2);
	raw[UI_STATIC_PATH_MAX - 1] = '\0';
	assert_int_equal(decode(raw, out), 0);
	assert_int_equal(strlen(out), UI_STATIC_PATH_MAX - 1);
	raw[UI_STATIC_PATH_MAX - 1] = 'a';
	raw[UI_STATIC_PATH_MAX] = '\0';
	assert_int_equal(decode(raw, out), -EINVAL);
	/* Raw length cap, even when it would decode short. */
	memset(raw, 'a', sizeof(raw));
	raw[0] = '/';
	for (size_t i = 1; i + 3 <= UI_STATIC_RAW_PATH_MAX + 1; i += 3)
		memcpy(raw + i, "%41", 3);
	raw[UI_STATIC_RAW_PATH_MAX + 1] = '\0';
	assert_int_equal(decode(raw, out), -EINVAL);
	raw[UI_STATIC_RAW_PATH_MAX] = '\0'; /* at the cap it decodes */
	assert_int_equal(decode(raw, out), 0);
	/* A small caller buffer. */
	assert_int_equal(ui_static_decode_path("/abcdef", small, sizeof(small)), 0);
	assert_int_equal(ui_static_decode_path("/abcdefg", small, sizeof(small)), -EINVAL);
	assert_int_equal(ui_static_decode_path("/abcde%41", small, sizeof(small)), 0);
	assert_string_equal(small, "/abcdeA");
}

static void ui_paths(void **state)
{
	assert_true(ui_static_is_ui_path("/"));
	assert_true(ui_static_is_ui_path("/index.html"));
	assert_true(ui_static_is_ui_path("/inventory"));
	assert_true(ui_static_is_ui_path("/apiary"));
	assert_true(ui_static_is_ui_path("/metricsx"));
	assert_true(ui_static_is_ui_path("/externals/x"));
	assert_true(ui_static_is_ui_path("/assets/../api/v1/health")); /* answered 400 by the UI, not routed */
	assert_false(ui_static_is_ui_path("/api"));
	assert_false(ui_static_is_ui_path("/api/"));
	assert_false(ui_static_is_ui_path("/api/v1/health"));
	assert_false(ui_static_is_ui_path("/external"));
	assert_false(ui_static_is_ui_path("/external/v1/devices"));
	assert_false(ui_static_is_ui_path("/metrics"));
	assert_false(ui_static_is_ui_path("/metrics/x"));
	assert_false(ui_static_is_ui_path(NULL));
}

static void extensions(void **state)
{
	assert_true(ui_static_has_extension("/assets/app.js"));
	assert_true(ui_static_has_extension("/favicon.ico"));
	assert_true(ui_static_has_extension("/x.woff2"));
	assert_true(ui_static_has_extension("/site.webmanifest"));
	assert_true(ui_static_has_extension("/a.b/c.JS"));
	assert_false(ui_static_has_extension("/"));
	assert_false(ui_static_has_extension("/inventory"));
	assert_false(ui_static_has_extension("/devices/42"));
	assert_false(ui_static_has_extension("/devices/10.0.0.1")); /* an address is a route, not a file */
	assert_false(ui_static_has_extension("/a.b/c"));
	assert_false(ui_static_has_extension("/x."));
	assert_false(ui_static_has_extension("/.env"));
	assert_false(ui_static_has_extension("/x.averyverylongext"));
	assert_false(ui_static_has_extension("/x.j s"));
}

static bool gzip_ok(const char *v1, const char *v2)
{
	struct ui_accept a;

	ui_static_accept_init(&a);
	if (v1)
		ui_static_accept_parse(&a, v1);
	if (v2)
		ui_static_accept_parse(&a, v2);
	return ui_static_accept_gzip(&a);
}

static void accept_encoding(void **state)
{
	assert_false(gzip_ok(NULL, NULL));
	assert_false(gzip_ok("", NULL));
	assert_true(gzip_ok("gzip", NULL));
	assert_true(gzip_ok("GZIP", NULL));
	assert_true(gzip_ok("x-gzip", NULL));
	assert_true(gzip_ok("gzip, deflate, br", NULL));
	assert_true(gzip_ok("br;q=1.0, gzip;q=0.8, *;q=0.1", NULL));
	assert_true(gzip_ok("deflate , gzip ; q=0.001", NULL));
	assert_true(gzip_ok("*", NULL));
	assert_true(gzip_ok("identity;q=1, *;q=0.5", NULL));
	assert_true(gzip_ok("br", "gzip")); /* two header lines */
	assert_true(gzip_ok("gzip;q=1", NULL));
	assert_true(gzip_ok("gzip;q=1.000", NULL));
	assert_true(gzip_ok(",,gzip,,", NULL));
	/* q=0 refuses */
	assert_false(gzip_ok("gzip;q=0", NULL));
	assert_false(gzip_ok("gzip;q=0.000", NULL));
	assert_false(gzip_ok("gzip;Q=0", NULL));
	assert_false(gzip_ok("*;q=0", NULL));
	assert_false(gzip_ok("gzip;q=0, *", NULL));      /* explicit gzip wins over * */
	assert_false(gzip_ok("*, gzip;q=0", NULL));
	assert_false(gzip_ok("gzip, gzip;q=0", NULL));   /* refused anywhere: refused */
	assert_false(gzip_ok("gzip", "gzip;q=0"));
	assert_false(gzip_ok("deflate, br", NULL));
	assert_false(gzip_ok("gzipx", NULL));
	assert_false(gzip_ok("identity", NULL));
	/* malformed elements are ignored */
	assert_false(gzip_ok("gzip;q=2", NULL));
	assert_false(gzip_ok("gzip;q=1.5", NULL));
	assert_false(gzip_ok("gzip;q=0.0001", NULL));
	assert_false(gzip_ok("gzip;q=", NULL));
	assert_false(gzip_ok("gzip;q=abc", NULL));
	assert_false(gzip_ok("gzip;q=.5", NULL));
	assert_false(gzip_ok("gzip;level=9", NULL));
	assert_false(gzip_ok("gzip x", NULL));
	assert_false(gzip_ok("gzip;q=0.5 x", NULL));
	assert_false(gzip_ok("\"gzip\"", NULL));
	assert_true(gzip_ok("gzip;q=2, *;q=0.5", NULL)); /* the bad element is dropped, * still allows */
}

static void if_none_match(void **state)
{
	const char *tag = "\"0123456789abcdef0123456789abcdef\"";

	assert_true(ui_static_etag_match(tag, tag));
	assert_true(ui_static_etag_match("W/\"0123456789abcdef0123456789abcdef\"", tag));
	assert_true(ui_static_etag_match("\"x\", \"0123456789abcdef0123456789abcdef\"", tag));
	assert_true(ui_static_etag_match(" \"x\" ,W/\"y\",  \"0123456789abcdef0123456789abcdef\" ", tag));
	assert_true(ui_static_etag_match("*", tag));
	assert_true(ui_static_etag_match(" * ", tag));
	assert_false(ui_static_etag_match(NULL, tag));
	assert_false(ui_static_etag_match("", tag));
	assert_false(ui_static_etag_match("\"x\"", tag));
	assert_false(ui_static_etag_match("0123456789abcdef0123456789abcdef", tag)); /* unquoted */
	assert_false(ui_static_etag_match("\"0123456789abcdef0123456789abcdef", tag)); /* unterminated */
	assert_false(ui_static_etag_match("\"0123456789abcdef0123456789abcde\"", tag));
	assert_false(ui_static_etag_match("*, \"x\"", tag));
	assert_false(ui_static_etag_match("\"x\" junk, \"0123456789abcdef0123456789abcdef\"", tag));
	assert_false(ui_static_etag_match("w/\"0123456789abcdef0123456789abcdef\"", tag));
}

/* ---- The loader and the answers, over a directory made here ----------------------------------------------- */

struct fixture {
	char dir[64];
	char outside[64];
};

static void write_file(const char *dir, const char *rel, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void write_text(const char *dir, const char *rel, const char *text)
{
	write_file(dir, rel, text, strlen(text));
}

static void sub_path(char *out, size_t n, const char *dir, const char *rel)
{
	snprintf(out, n, "%s/%s", dir, rel);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char p[512];

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/otw-ui-XXXXXX");
	snprintf(fx->outside, sizeof(fx->outside), "/tmp/otw-ui-out-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_non_null(mkdtemp(fx->outside));
	write_text(fx->outside, "secret.txt", "SECRET");
	write_text(fx->dir, "index.html", "<!doctype html><title>OTWatch</title>");
	write_file(fx->dir, "index.html.gz", GZ, sizeof(GZ));
	write_text(fx->dir, "favicon.ico", "ico");
	write_text(fx->dir, "robots.txt", "User-agent: *\n");
	write_text(fx->dir, ".env", "SECRET=1");
	write_text(fx->dir, "plain.css.gz", "not gzip at all, but long enough");
	write_text(fx->dir, "plain.css", "body{}");
	write_text(fx->dir, "data.bin", "\x01\x02");
	write_text(fx->dir, "only.gz", "\x1f\x8b\x08 standalone gzip file");
	sub_path(p, sizeof(p), fx->dir, "assets");
	assert_int_equal(mkdir(p, 0755), 0);
	write_text(fx->dir, "assets/index-3f2a9c1b.js", "console.log('otw')");
	write_file(fx->dir, "assets/index-3f2a9c1b.js.gz", GZ, sizeof(GZ));
	write_text(fx->dir, "assets/app-abc123.css", "a{}");
	write_text(fx->dir, "assets/font.woff2", "wOF2");
	write_text(fx->dir, "assets/app.js.map", "{}");
	write_text(fx->dir, "assets/logo.svg", "<svg/>");
	write_text(fx->dir, "assets/m.mjs", "export{}");
	write_text(fx->dir, "assets/weird.xyz", "?");
	sub_path(p, sizeof(p), fx->dir, ".git");
	assert_int_equal(mkdir(p, 0755), 0);
	write_text(fx->dir, ".git/config", "[core]");
	/* Links out of the tree, to a file and to a directory, and a link inside it: none is served. */
	sub_path(p, sizeof(p), fx->dir, "passwd");
	assert_int_equal(symlink("/etc/passwd", p), 0);
	sub_path(p, sizeof(p), fx->dir, "out");
	assert_int_equal(symlink(fx->outside, p), 0);
	sub_path(p, sizeof(p), fx->dir, "assets/alias.js");
	assert_int_equal(symlink("index-3f2a9c1b.js", p), 0);
	sub_path(p, sizeof(p), fx->dir, "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s' '%s'", fx->dir, fx->outside);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static struct ui_static *load(const struct fixture *fx)
{
	struct ui_static *ui = NULL;
	char why[256];

	assert_int_equal(ui_static_load(fx->dir, UI_STATIC_MAX_BYTES, &ui, why, sizeof(why)), 0);
	assert_non_null(ui);
	return ui;
}

static void resolve(const struct ui_static *ui, const char *raw, struct ui_answer *a)
{
	ui_static_resolve(ui, true, raw, false, NULL, a);
}

static void load_table(void **state)
{
	struct fixture *fx = *state;
	struct ui_static *ui = load(fx);
	struct ui_answer a;

	/* index.html favicon.ico robots.txt plain.css plain.css.gz data.bin only.gz + 7 under assets/ */
	assert_int_equal(ui_static_count(ui), 14);
	/* Links, dotfiles, the FIFO and what is behind them are not in the table. */
	static const char *const absent[] = { "/out/secret.txt", "/assets/alias.js", "/.env", "/.git/config",
					      "/index.html.gz", "/assets/index-3f2a9c1b.js.gz" };
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		resolve(ui, absent[i], &a);
		if (a.status != 404)
			fail_msg("%s: %d", absent[i], a.status);
		assert_string_equal(a.code, "not_found");
		assert_null(a.body);
	}
	/* Without an extension they are SPA routes at most: index.html, never what is behind them. */
	static const char *const routes[] = { "/passwd", "/fifo", "/out", "/out/" };
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		resolve(ui, routes[i], &a);
		assert_int_equal(a.status, 200);
		assert_string_equal(a.path, "/index.html");
	}
	/* A .gz that is not gzip stays a plain file and gives its base no encoding; a lone .gz is a file. */
	ui_static_resolve(ui, true, "/plain.css", true, NULL, &a);
	assert_int_equal(a.status, 200);
	assert_false(a.gzip);
	assert_false(a.vary);
	resolve(ui, "/plain.css.gz", &a);
	assert_int_equal(a.status, 200);
	resolve(ui, "/only.gz", &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.type, "application/octet-stream");
	ui_static_free(ui);
}

/* "a", "a.gz", "a.gz.gz": a.gz is a's encoding; a.gz.gz stays a file of its own (it once went into the merged
 * a.gz entry and leaked with it: ASan's leak check). */
static void double_gzip(void **state)
{
	struct fixture *fx = *state;
	struct ui_static *ui;
	struct ui_answer a;

	write_text(fx->dir, "twice.txt", "twice");
	write_file(fx->dir, "twice.txt.gz", GZ, sizeof(GZ));
	write_file(fx->dir, "twice.txt.gz.gz", GZ, sizeof(GZ));
	ui = load(fx);
	assert_int_equal(ui_static_count(ui), 16);
	ui_static_resolve(ui, true, "/twice.txt", true, NULL, &a);
	assert_int_equal(a.status, 200);
	assert_true(a.gzip);
	resolve(ui, "/twice.txt.gz", &a);
	assert_int_equal(a.status, 404);
	resolve(ui, "/twice.txt.gz.gz", &a);
	assert_int_equal(a.status, 200);
	assert_false(a.gzip);
	ui_static_free(ui);
}

static void content_types(void **state)
{
	struct fixture *fx = *state;
	struct ui_static *ui = load(fx);
	static const struct {
		const char *path, *type;
	} want[] = {
		{ "/index.html", "text/html; charset=utf-8" },
		{ "/assets/index-3f2a9c1b.js", "text/javascript; charset=utf-8" },
		{ "/assets/m.mjs", "text/javascript; charset=utf-8" },
		{ "/assets/app-abc123.css", "text/css; charset=utf-8" },
		{ "/assets/font.woff2", "font/woff2" },
		{ "/assets/app.js.map", "application/json" },
		{ "/assets/logo.svg", "image/svg+xml" },
		{ "/favicon.ico", "image/x-icon" },
		{ "/robots.txt", "text/plain; charset=utf-8" },
		{ "/assets/weird.xyz", "application/octet-stream" },
		{ "/data.bin", "application/octet-stream" },
	};
	struct ui_answer a;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		resolve(ui, want[i].path, &a);
		assert_int_equal(a.status, 200);
		assert_string_equal(a.type, want[i].type);
	}
	ui_static_free(ui);
}

static void answers(void **state)
{
	struct fixture *fx = *state;
	struct ui_static *ui = load(fx);
	struct ui_answer a, b;
	char etag[UI_STATIC_ETAG_MAX];

	/* "/" and SPA routes: index.html, revalidated. */
	static const char *const routes[] = { "/", "/index.html", "/inventory", "/devices/42", "/devices/10.0.0.1",
					      "/alerts/", "/assets", "/assets/", "/assets/nothing" };
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		resolve(ui, routes[i], &a);
		if (a.status != 200)
			fail_msg("%s: %d", routes[i], a.status);
		assert_string_equal(a.path, "/index.html");
		assert_string_equal(a.cache_control, "no-cache");
		assert_memory_equal(a.body, "<!doctype html>", 15);
	}
	/* A missing file with an extension: 404, also under /assets/. */
	resolve(ui, "/assets/nope.js", &a);
	assert_int_equal(a.status, 404);
	resolve(ui, "/nope.png", &a);
	assert_int_equal(a.status, 404);
	/* Assets: immutable. */
	resolve(ui, "/assets/index-3f2a9c1b.js", &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.cache_control, "public, max-age=31536000, immutable");
	assert_int_equal(a.len, strlen("console.log('otw')"));
	assert_true(a.vary);
	assert_false(a.gzip);
	/* Strong ETag: quoted, 32 hex digits, the same for the same bytes on a second load. */
	assert_int_equal(strlen(a.etag), 34);
	assert_true(a.etag[0] == '"' && a.etag[33] == '"');
	snprintf(etag, sizeof(etag), "%s", a.etag);
	/* gzip: the .gz bytes, with their own ETag. */
	ui_static_resolve(ui, true, "/assets/index-3f2a9c1b.js", true, NULL, &b);
	assert_int_equal(b.status, 200);
	assert_true(b.gzip && b.vary);
	assert_int_equal(b.len, sizeof(GZ));
	assert_memory_equal(b.body, GZ, sizeof(GZ));
	assert_string_not_equal(b.etag, a.etag);
	/* A file without .gz: no Vary. */
	ui_static_resolve(ui, true, "/favicon.ico", true, NULL, &a);
	assert_false(a.gzip || a.vary);
	/* Methods. */
	ui_static_resolve(ui, false, "/index.html", false, NULL, &a);
	assert_int_equal(a.status, 405);
	assert_string_equal(a.code, "method_not_allowed");
	/* Bad paths: 400, never a file. */
	static const char *const bad[] = { "/assets/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/index.html%00",
					   "/assets%2f..%2f..%2fetc%2fpasswd", "/..%5c..%5cetc%5cpasswd", "/%c0%ae%c0%ae/x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		resolve(ui, bad[i], &a);
		if (a.status != 400)
			fail_msg("%s: %d", bad[i], a.status);
		assert_string_equal(a.code, "invalid_path");
		assert_null(a.body);
	}
	resolve(ui, "/.env", &a);
	assert_int_equal(a.status, 404);
	resolve(ui, "/assets/.hidden", &a);
	assert_int_equal(a.status, 404);
	ui_static_free(ui);
	ui = load(fx);
	resolve(ui, "/assets/index-3f2a9c1b.js", &a);
	assert_string_equal(a.etag, etag);
	ui_static_free(ui);
}

static void not_modified(void **state)
{
	struct fixture *fx = *state;
	struct ui_static *ui = load(fx);
	struct ui_answer a, b;
	char inm[128];

	resolve(ui, "/inventory", &a);
	ui_static_resolve(ui, true, "/inventory", false, a.etag, &b);
	assert_int_equal(b.status, 304);
	assert_string_equal(b.etag, a.etag);
	assert_string_equal(b.cache_control, "no-cache");
	snprintf(inm, sizeof(inm), "\"old\", W/%s", a.etag);
	ui_static_resolve(ui, true, "/", false, inm, &b);
	assert_int_equal(b.status, 304);
	ui_static_resolve(ui, true, "/", false, "\"old\"", &b);
	assert_int_equal(b.status, 200);
	/* The identity ETag does not validate the gzip representation, nor the other way round. */
	ui_static_resolve(ui, true, "/", true, a.etag, &b);
	assert_int_equal(b.status, 200);
	assert_true(b.gzip);
	ui_static_resolve(ui, true, "/", true, b.etag, &b);
	assert_int_equal(b.status, 304);
	ui_static_resolve(ui, true, "/", false, "*", &b);
	assert_int_equal(b.status, 304);
	ui_static_free(ui);
}

static void unavailable(void **state)
{
	struct fixture *fx = *state;
	struct ui_static *ui = (struct ui_static *)1;
	struct ui_answer a;
	char why[256], p[512];

	assert_int_equal(ui_static_load("/nonexistent/otw-ui", UI_STATIC_MAX_BYTES, &ui, why, sizeof(why)), -ENOENT);
	assert_null(ui);
	assert_non_null(strstr(why, "/nonexistent/otw-ui"));
	assert_int_equal(ui_static_load("", UI_STATIC_MAX_BYTES, &ui, why, sizeof(why)), -ENOENT);
	sub_path(p, sizeof(p), fx->dir, "index.html");
	assert_int_equal(ui_static_load(p, UI_STATIC_MAX_BYTES, &ui, why, sizeof(why)), -ENOTDIR);
	/* A directory without index.html is no UI. */
	assert_int_equal(ui_static_load(fx->outside, UI_STATIC_MAX_BYTES, &ui, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "index.html"));
	assert_null(ui_static_open("/nonexistent/otw-ui"));
	ui_static_resolve(NULL, true, "/", true, NULL, &a);
	assert_int_equal(a.status, 503);
	assert_string_equal(a.code, "ui_unavailable");
	ui_static_resolve(NULL, true, "/assets/x.js", true, NULL, &a);
	assert_int_equal(a.status, 503);
}

static void size_cap(void **state)
{
	struct fixture *fx = *state;
	struct ui_static *ui = load(fx);
	size_t total = ui_static_bytes(ui);
	char why[256];

	ui_static_free(ui);
	assert_true(total > 100);
	/* Exactly the total fits; one byte less is refused as a whole (no half-loaded UI). */
	assert_int_equal(ui_static_load(fx->dir, total, &ui, why, sizeof(why)), 0);
	assert_int_equal(ui_static_bytes(ui), total);
	ui_static_free(ui);
	assert_int_equal(ui_static_load(fx->dir, total - 1, &ui, why, sizeof(why)), -EFBIG);
	assert_null(ui);
	assert_non_null(strstr(why, "bytes"));
	assert_int_equal(ui_static_load(fx->dir, 0, &ui, why, sizeof(why)), -EFBIG);
}

static void symlinked_root(void **state)
{
	struct fixture *fx = *state;
	struct ui_static *ui = NULL;
	char link[128], why[256];
	struct ui_answer a;

	/* ui_dir itself may be a link (a deployment's "current"); links below it still are not followed. */
	snprintf(link, sizeof(link), "%s-link", fx->dir);
	unlink(link);
	assert_int_equal(symlink(fx->dir, link), 0);
	assert_int_equal(ui_static_load(link, UI_STATIC_MAX_BYTES, &ui, why, sizeof(why)), 0);
	resolve(ui, "/passwd", &a);
	assert_string_equal(a.path, "/index.html");
	resolve(ui, "/favicon.ico", &a);
	assert_int_equal(a.status, 200);
	ui_static_free(ui);
	unlink(link);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decode_accepts),
		cmocka_unit_test(decode_refuses),
		cmocka_unit_test(decode_bounds),
		cmocka_unit_test(ui_paths),
		cmocka_unit_test(extensions),
		cmocka_unit_test(accept_encoding),
		cmocka_unit_test(if_none_match),
		cmocka_unit_test_setup_teardown(load_table, setup, teardown),
		cmocka_unit_test_setup_teardown(double_gzip, setup, teardown),
		cmocka_unit_test_setup_teardown(content_types, setup, teardown),
		cmocka_unit_test_setup_teardown(answers, setup, teardown),
		cmocka_unit_test_setup_teardown(not_modified, setup, teardown),
		cmocka_unit_test_setup_teardown(unavailable, setup, teardown),
		cmocka_unit_test_setup_teardown(size_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(symlinked_root, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
