/* The web UI's built files (webui/dist: index.html, hashed assets/, .gz siblings), served by the console's HTTPS
 * listener for every path outside /api, /external and /metrics.
 *
 * The directory (setting ui_dir) is read once, at `serve` start, into an immutable in-memory table: path ->
 * bytes, optional gzip bytes from `<file>.gz`, content type by extension, strong ETag (SHA-256 of the bytes).
 * Symlinks, dotfiles, special files and names a URL cannot reach are skipped; nothing outside the directory is
 * ever opened (each level is opened with O_NOFOLLOW relative to its parent). A request is answered by a table
 * lookup after strict percent-decoding: no filesystem path is ever built from request bytes.
 *
 * Answers: an exact file; for a path whose last segment has no file extension, index.html (the SPA's client-side
 * routes); otherwise 404. GET and HEAD only (405 with Allow otherwise); 503 {"error":{"code":"ui_unavailable"}}
 * when the directory did not load. Every answer carries a strict Content-Security-Policy and the other browser
 * hardening headers; /assets/ files are cached for a year (their names carry a content hash), everything else is
 * revalidated (Cache-Control: no-cache, ETag, If-None-Match -> 304). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evhttp_request;

#define UI_STATIC_MAX_BYTES ((size_t)64 << 20) /* all files and .gz siblings together */
#define UI_STATIC_MAX_FILES 4096
#define UI_STATIC_MAX_DEPTH 16          /* directory levels below ui_dir */
#define UI_STATIC_PATH_MAX 1024         /* a file's path in the table, and a decoded request path */
#define UI_STATIC_RAW_PATH_MAX 2048     /* a request path before decoding */
#define UI_STATIC_ETAG_MAX 40           /* "\"" + 32 hex + "\"" + NUL, with room */

/* The UI's own Content-Security-Policy: scripts, styles, fonts and API calls from the console's origin only;
 * no inline script or style, no eval, not framable. */
#define UI_STATIC_CSP                                                                                        \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; " \
	"connect-src 'self'; worker-src 'self' blob:; manifest-src 'self'; base-uri 'none'; "                   \
	"form-action 'self'; frame-ancestors 'none'"

struct ui_static;

/* Reads dir into a new table. max_bytes caps the file bytes (identity and gzip) held in memory. Skipped entries
 * (symlinks, dotfiles, special files, unreachable names, a .gz that is not gzip) are logged at warn. Returns 0
 * with *out (free with ui_static_free), or a negative errno with *out NULL and a reason in why: -ENOENT (no such
 * directory, or no index.html in it), -ENOTDIR, -EFBIG (more than max_bytes or UI_STATIC_MAX_FILES), -ENOMEM,
 * -EIO or what opendir/read said. */
int ui_static_load(const char *dir, size_t max_bytes, struct ui_static **out, char *why, size_t whylen)
	__attribute__((warn_unused_result));
/* For `serve`: ui_static_load with UI_STATIC_MAX_BYTES; logs one info line (files, bytes) on success, or one
 * warning naming the ui_dir setting and returns NULL, in which case every UI path answers 503. */
struct ui_static *ui_static_open(const char *dir);
void ui_static_free(struct ui_static *ui);
/* Number of files in the table (the .gz siblings count with their file) and their total bytes. */
size_t ui_static_count(const struct ui_static *ui);
size_t ui_static_bytes(const struct ui_static *ui);

/* True when a request's raw path belongs to the UI: everything except /api, /external and /metrics (alone or
 * followed by '/'), whose answers, 404s included, stay the API's. NULL is not a UI path. */
bool ui_static_is_ui_path(const char *raw_path);

/* Strict percent-decoding of a raw request path into out (outlen bytes, NUL-terminated). The path must start
 * with '/', be at most UI_STATIC_RAW_PATH_MAX bytes raw and decode to less than outlen (and UI_STATIC_PATH_MAX)
 * bytes of valid UTF-8 (no overlong forms, no surrogates). Refused: a '%' not followed by two hex digits, NUL
 * and other control bytes, '\\', an encoded '/', empty segments ("//"), and "." or ".." segments. Returns 0 or
 * -EINVAL. The query is not part of the path (evhttp splits it off). */
int ui_static_decode_path(const char *raw, char *out, size_t outlen) __attribute__((warn_unused_result));

/* True when a file name (one segment) is something a decoded request path can spell: valid UTF-8 without control
 * bytes or '\\'. The loader skips other names; the table holds nothing a request could not ask for. */
bool ui_static_name_ok(const char *name);

/* True when the last segment of a decoded path has a file extension: a '.' not in first place followed by 1 to
 * 12 letters and digits with at least one letter ("app.js", "x.woff2"; not "10.0.0.1", not ".env"). Paths
 * without one are the SPA's routes. */
bool ui_static_has_extension(const char *path);

/* Accept-Encoding (RFC 9110 section 12.5.3): feed each header line, then ask whether gzip may be sent. q-values
 * are parsed strictly (q=0 refuses; a malformed element is ignored); an explicit gzip / x-gzip wins over "*". */
struct ui_accept {
	int gzip_q; /* thousandths; -1: not named */
	int star_q;
};
void ui_static_accept_init(struct ui_accept *a);
void ui_static_accept_parse(struct ui_accept *a, const char *value);
bool ui_static_accept_gzip(const struct ui_accept *a);

/* If-None-Match (RFC 9110 section 13.1.2, weak comparison): true when the header lists etag (with or without
 * W/) or is "*". A malformed list matches nothing from the malformed element on. */
bool ui_static_etag_match(const char *if_none_match, const char *etag);

/* What to answer, decided without I/O (the unit tests drive this). Pointers point into the table. */
struct ui_answer {
	int status;                /* 200, 304, 400, 404, 405 or 503 */
	const char *code;          /* error code for >= 400 */
	const char *message;       /* error message for >= 400 */
	const uint8_t *body;       /* 200: the representation's bytes */
	size_t len;                /* 200 and 304: its length */
	const char *path;          /* 200 and 304: the file served (index.html for SPA routes) */
	const char *type;          /* Content-Type */
	const char *etag;          /* the representation's strong ETag */
	const char *cache_control; /* per file: immutable under /assets/, no-cache elsewhere */
	bool gzip;                 /* Content-Encoding: gzip */
	bool vary;                 /* the file has a .gz: Vary: Accept-Encoding */
};
/* get_or_head: the method is GET or HEAD. ui NULL: the UI did not load (503). */
void ui_static_resolve(const struct ui_static *ui, bool get_or_head, const char *raw_path, bool gzip_ok,
		       const char *if_none_match, struct ui_answer *a);

/* Answers req (a UI path) on the loop thread: method, path, Accept-Encoding and If-None-Match from the request,
 * headers and body from the table (referenced, not copied: ui must outlive the listener's connections). client is
 * the request's client address for the log line. */
void ui_static_serve(const struct ui_static *ui, struct evhttp_request *req, const char *client);
