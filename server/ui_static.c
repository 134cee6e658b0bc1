#include "server/ui_static.h"

#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "server/http_util.h"
#include "server/metrics.h"

#define CACHE_IMMUTABLE "public, max-age=31536000, immutable"
#define CACHE_REVALIDATE "no-cache"
#define CACHE_ERROR "no-store"
#define ASSETS_PREFIX "/assets/"

struct ui_file {
	char *path; /* decoded URL path: "/index.html", "/assets/app-3f2a9c1b.js" */
	uint8_t *data;
	size_t len;
	uint8_t *gz; /* from "<path>.gz", NULL when there is none */
	size_t gz_len;
	const char *type;
	const char *cache_control;
	char etag[UI_STATIC_ETAG_MAX];
	char gz_etag[UI_STATIC_ETAG_MAX];
	bool merged; /* loader only: this entry was a .gz sibling and moved into its file */
};

struct ui_static {
	struct ui_file *files; /* sorted by path (strcmp) */
	size_t n, cap;
	size_t bytes;
	const struct ui_file *index;
};

/* ---- The table ------------------------------------------------------------------------------------------ */

static const char *content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "js", "text/javascript; charset=utf-8" },
		{ "mjs", "text/javascript; charset=utf-8" },
		{ "css", "text/css; charset=utf-8" },
		{ "json", "application/json" },
		{ "map", "application/json" },
		{ "svg", "image/svg+xml" },
		{ "png", "image/png" },
		{ "ico", "image/x-icon" },
		{ "woff2", "font/woff2" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "webmanifest", "application/manifest+json" },
	};
	const char *seg = strrchr(path, '/'), *dot;

	seg = seg ? seg + 1 : path;
	dot = strrchr(seg, '.');
	if (dot && dot != seg)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot + 1, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

static int file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ui_file *)a)->path, ((const struct ui_file *)b)->path);
}

static const struct ui_file *lookup(const struct ui_static *ui, const char *path)
{
	struct ui_file key = { .path = (char *)path };

	return ui->n ? bsearch(&key, ui->files, ui->n, sizeof(*ui->files), file_cmp) : NULL;
}

/* Strong ETag: the first 128 bits of the bytes' SHA-256, in hex and quotes. */
static int make_etag(const uint8_t *data, size_t len, char out[UI_STATIC_ETAG_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 16)
		return -ENOMEM;
	out[0] = '"';
	for (unsigned i = 0; i < 16; i++)
		snprintf(out + 1 + 2 * i, 3, "%02x", md[i]);
	out[33] = '"';
	out[34] = '\0';
	return 0;
}

void ui_static_free(struct ui_static *ui)
{
	if (!ui)
		return;
	for (size_t i = 0; i < ui->n; i++) {
		free(ui->files[i].path);
		free(ui->files[i].data);
		free(ui->files[i].gz);
	}
	free(ui->files);
	free(ui);
}

size_t ui_static_count(const struct ui_static *ui)
{
	return ui ? ui->n : 0;
}

size_t ui_static_bytes(const struct ui_static *ui)
{
	return ui ? ui->bytes : 0;
}

struct loader {
	struct ui_static *ui;
	const char *dir; /* for log lines */
	size_t max_bytes;
	char *why;
	size_t whylen;
};

static int read_all(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO; /* shrank while we read it */
		got += (size_t)r;
	}
	return 0;
}

static int load_file(struct loader *L, int dirfd, const char *name, const char *rel, const struct stat *seen)
{
	struct ui_static *ui = L->ui;
	struct stat st;
	uint8_t *data = NULL;
	char *path = NULL;
	size_t len;
	int fd, rc;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		snprintf(L->why, L->whylen, "%s%s: %s", L->dir, rel, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(L->why, L->whylen, "%s%s: %s", L->dir, rel, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_ino != seen->st_ino || st.st_dev != seen->st_dev) {
		rc = -EIO;
		snprintf(L->why, L->whylen, "%s%s changed while it was read", L->dir, rel);
		goto out;
	}
	if (ui->n >= UI_STATIC_MAX_FILES) {
		rc = -EFBIG;
		snprintf(L->why, L->whylen, "more than %d files", UI_STATIC_MAX_FILES);
		goto out;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > L->max_bytes - ui->bytes) {
		rc = -EFBIG;
		snprintf(L->why, L->whylen, "more than %zu bytes of files (at %s)", L->max_bytes, rel);
		goto out;
	}
	len = (size_t)st.st_size;
	rc = -ENOMEM;
	if (!(data = malloc(len ? len : 1)) || !(path = strdup(rel))) {
		snprintf(L->why, L->whylen, "out of memory");
		goto out;
	}
	if ((rc = read_all(fd, data, len)) < 0) {
		snprintf(L->why, L->whylen, "%s%s: %s", L->dir, rel, strerror(-rc));
		goto out;
	}
	if (ui->n == ui->cap) {
		size_t cap = ui->cap ? ui->cap * 2 : 64;
		struct ui_file *nf = reallocarray(ui->files, cap, sizeof(*nf));
		if (!nf) {
			rc = -ENOMEM;
			snprintf(L->why, L->whylen, "out of memory");
			goto out;
		}
		ui->files = nf;
		ui->cap = cap;
	}
	ui->files[ui->n++] = (struct ui_file){ .path = path, .data = data, .len = len };
	ui->bytes += len;
	path = NULL;
	data = NULL;
	rc = 0;
out:
	free(path);
	free(data);
	close(fd);
	return rc;
}

/* Reads the directory open on fd (taken) whose URL path is rel[0..rlen) ("" for the root). rel has room for
 * UI_STATIC_PATH_MAX bytes and is restored before returning. */
static int load_dir(struct loader *L, int fd, char *rel, size_t rlen, unsigned depth)
{
	DIR *d = fdopendir(fd);
	int rc = 0;

	if (!d) {
		rc = -errno;
		snprintf(L->why, L->whylen, "%s%s: %s", L->dir, rel, strerror(errno));
		close(fd);
		return rc;
	}
	for (;;) {
		struct dirent *de;
		struct stat st;
		size_t nlen;
		errno = 0;
		if (!(de = readdir(d))) {
			if (errno) {
				rc = -errno;
				snprintf(L->why, L->whylen, "%s%s: %s", L->dir, rel, strerror(errno));
			}
			break;
		}
		if (de->d_name[0] == '.') /* ".", ".." and dotfiles */
			continue;
		nlen = strlen(de->d_name);
		if (!ui_static_name_ok(de->d_name) || rlen + 1 + nlen >= UI_STATIC_PATH_MAX) {
			log_warn("ui: skipping %s%s/%s: a name no URL path can reach", L->dir, rel, de->d_name);
			continue;
		}
		rel[rlen] = '/';
		memcpy(rel + rlen + 1, de->d_name, nlen + 1);
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -errno;
			snprintf(L->why, L->whylen, "%s%s: %s", L->dir, rel, strerror(errno));
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			log_warn("ui: skipping %s%s: symbolic links are not served", L->dir, rel);
		} else if (S_ISDIR(st.st_mode)) {
			int sub;
			if (depth >= UI_STATIC_MAX_DEPTH) {
				log_warn("ui: skipping %s%s: more than %d levels deep", L->dir, rel, UI_STATIC_MAX_DEPTH);
			} else if ((sub = openat(dirfd(d), de->d_name,
						 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
				rc = -errno;
				snprintf(L->why, L->whylen, "%s%s: %s", L->dir, rel, strerror(errno));
				break;
			} else if ((rc = load_dir(L, sub, rel, rlen + 1 + nlen, depth + 1)) < 0) {
				break;
			}
		} else if (S_ISREG(st.st_mode)) {
			if ((rc = load_file(L, dirfd(d), de->d_name, rel, &st)) < 0)
				break;
		} else {
			log_warn("ui: skipping %s%s: not a regular file", L->dir, rel);
		}
		rel[rlen] = '\0';
	}
	rel[rlen] = '\0';
	closedir(d);
	return rc;
}

/* Moves each "<path>.gz" into its file when <path> exists and the bytes are gzip (RFC 1952 magic, deflate). */
static void merge_gzip(struct ui_static *ui)
{
	size_t w = 0;

	for (size_t i = 0; i < ui->n; i++) {
		struct ui_file *gz = &ui->files[i], *base;
		char key[UI_STATIC_PATH_MAX];
		size_t n = strlen(gz->path);
		if (n <= 3 || strcmp(gz->path + n - 3, ".gz") != 0)
			continue;
		memcpy(key, gz->path, n - 3);
		key[n - 3] = '\0';
		base = (struct ui_file *)lookup(ui, key);
		/* "a.gz.gz" after "a.gz" went into "a" (sorted, a base comes first): it stays a file of its own, as the
		 * merged entry's bytes would be lost with it. */
		if (!base || base->merged)
			continue;
		if (gz->len < 18 || gz->data[0] != 0x1f || gz->data[1] != 0x8b || gz->data[2] != 8) {
			log_warn("ui: %s is not gzip; %s is served without compression", gz->path, key);
			continue;
		}
		base->gz = gz->data;
		base->gz_len = gz->len;
		gz->data = NULL;
		gz->merged = true;
	}
	for (size_t i = 0; i < ui->n; i++) {
		if (ui->files[i].merged) {
			free(ui->files[i].path);
			continue;
		}
		ui->files[w++] = ui->files[i];
	}
	ui->n = w;
}

int ui_static_load(const char *dir, size_t max_bytes, struct ui_static **out, char *why, size_t whylen)
{
	struct ui_static *ui = NULL;
	char rel[UI_STATIC_PATH_MAX] = "";
	struct loader L = { .dir = dir, .max_bytes = max_bytes, .why = why, .whylen = whylen };
	int fd, rc;

	*out = NULL;
	if (whylen)
		why[0] = '\0';
	if (!dir || !*dir) {
		snprintf(why, whylen, "not set");
		return -ENOENT;
	}
	/* The directory itself may be a symlink (a deployment's "current"); nothing below it may. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(why, whylen, "%s: %s", dir, strerror(errno));
		return rc;
	}
	if (!(ui = calloc(1, sizeof(*ui)))) {
		close(fd);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	L.ui = ui;
	if ((rc = load_dir(&L, fd, rel, 0, 0)) < 0)
		goto out;
	if (ui->n)
		qsort(ui->files, ui->n, sizeof(*ui->files), file_cmp);
	merge_gzip(ui);
	for (size_t i = 0; i < ui->n; i++) {
		struct ui_file *f = &ui->files[i];
		f->type = content_type(f->path);
		f->cache_control = strncmp(f->path, ASSETS_PREFIX, strlen(ASSETS_PREFIX)) == 0 ? CACHE_IMMUTABLE
											      : CACHE_REVALIDATE;
		if ((rc = make_etag(f->data, f->len, f->etag)) < 0 ||
		    (f->gz && (rc = make_etag(f->gz, f->gz_len, f->gz_etag)) < 0)) {
			snprintf(why, whylen, "cannot hash %s", f->path);
			goto out;
		}
	}
	if (!(ui->index = lookup(ui, "/index.html"))) {
		rc = -ENOENT;
		snprintf(why, whylen, "%s has no index.html", dir);
		goto out;
	}
	*out = ui;
	ui = NULL;
	rc = 0;
out:
	ui_static_free(ui);
	return rc;
}

struct ui_static *ui_static_open(const char *dir)
{
	struct ui_static *ui;
	char why[512];

	if (ui_static_load(dir, UI_STATIC_MAX_BYTES, &ui, why, sizeof(why)) < 0) {
		log_warn("ui: the web UI is not served (setting ui_dir, flag --ui-dir): %s; its paths answer 503", why);
		return NULL;
	}
	log_info("ui: serving the web UI from %s (%zu files, %zu KiB)", dir, ui->n, (ui->bytes + 1023) / 1024);
	return ui;
}

/* A segment starting with '.': dotfiles are never loaded, so such a path is a 404 and never an SPA route. */
static bool has_dot_segment(const char *path)
{
	for (const char *p = path; (p = strchr(p, '/')); p++)
		if (p[1] == '.')
			return true;
	return false;
}

/* ---- Answers -------------------------------------------------------------------------------------------- */

static void answer_error(struct ui_answer *a, int status, const char *code, const char *message)
{
	a->status = status;
	a->code = code;
	a->message = message;
}

void ui_static_resolve(const struct ui_static *ui, bool get_or_head, const char *raw_path, bool gzip_ok,
		       const char *if_none_match, struct ui_answer *a)
{
	char path[UI_STATIC_PATH_MAX];
	const struct ui_file *f;

	memset(a, 0, sizeof(*a));
	if (!get_or_head) {
		answer_error(a, 405, "method_not_allowed", "the web UI answers GET and HEAD only");
		return;
	}
	if (!ui) {
		answer_error(a, 503, "ui_unavailable",
			     "the web UI is not installed on this console (setting ui_dir); the API works");
		return;
	}
	if (ui_static_decode_path(raw_path, path, sizeof(path)) < 0) {
		answer_error(a, 400, "invalid_path", "malformed request path");
		return;
	}
	if (has_dot_segment(path)) {
		answer_error(a, 404, "not_found", "no such file");
		return;
	}
	f = strcmp(path, "/") == 0 ? ui->index : lookup(ui, path);
	if (!f) {
		if (ui_static_has_extension(path)) {
			answer_error(a, 404, "not_found", "no such file");
			return;
		}
		f = ui->index; /* a client-side route of the single-page app */
	}
	a->path = f->path;
	a->type = f->type;
	a->cache_control = f->cache_control;
	a->vary = f->gz != NULL;
	a->gzip = gzip_ok && f->gz;
	a->body = a->gzip ? f->gz : f->data;
	a->len = a->gzip ? f->gz_len : f->len;
	a->etag = a->gzip ? f->gz_etag : f->etag;
	a->status = ui_static_etag_match(if_none_match, a->etag) ? 304 : 200;
}

/* Every UI answer, errors included: the browser hardening set. */
static void ui_headers(struct evkeyvalq *h, const char *cache_control)
{
	evhttp_add_header(h, "Content-Security-Policy", UI_STATIC_CSP);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
	evhttp_add_header(h, "Strict-Transport-Security", "max-age=31536000");
	evhttp_add_header(h, "Cache-Control", cache_control);
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

static const char *method_text(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	default: return "OTHER";
	}
}

/* HEAD gets the headers GET would, Content-Length included, and no body (evhttp adds no length for HEAD). */
static void send_bytes(struct evhttp_request *req, int status, const void *body, size_t len, bool head, bool ref)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *buf = NULL;
	char clen[24];

	snprintf(clen, sizeof(clen), "%zu", len);
	evhttp_remove_header(h, "Content-Length");
	evhttp_add_header(h, "Content-Length", clen);
	if (!head && len) {
		buf = evbuffer_new();
		if (!buf || (ref ? evbuffer_add_reference(buf, body, len, NULL, NULL) : evbuffer_add(buf, body, len)) != 0) {
			if (buf)
				evbuffer_free(buf);
			evhttp_remove_header(h, "Content-Length");
			evhttp_send_reply(req, 500, reason(500), NULL);
			return;
		}
	}
	evhttp_send_reply(req, status, reason(status), buf);
	if (buf)
		evbuffer_free(buf);
}

static void send_answer(struct evhttp_request *req, const struct ui_answer *a, bool head)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (a->status >= 400) {
		struct http_error e;
		json_t *body;
		char *text = NULL;
		http_error_set(&e, a->status, a->code, NULL, "%s", a->message);
		ui_headers(h, CACHE_ERROR);
		if (a->status == 405)
			evhttp_add_header(h, "Allow", "GET, HEAD");
		evhttp_add_header(h, "Content-Type", "application/json");
		body = http_error_json(&e);
		text = body ? json_dumps(body, JSON_COMPACT) : NULL;
		json_decref(body);
		if (!text) {
			evhttp_send_reply(req, 500, reason(500), NULL);
			return;
		}
		send_bytes(req, a->status, text, strlen(text), head, false);
		free(text);
		return;
	}
	ui_headers(h, a->cache_control);
	evhttp_add_header(h, "ETag", a->etag);
	if (a->vary)
		evhttp_add_header(h, "Vary", "Accept-Encoding");
	if (a->status == 304) {
		evhttp_send_reply(req, 304, reason(304), NULL);
		return;
	}
	evhttp_add_header(h, "Content-Type", a->type);
	if (a->gzip)
		evhttp_add_header(h, "Content-Encoding", "gzip");
	send_bytes(req, 200, a->body, a->len, head, true);
}

void ui_static_serve(const struct ui_static *ui, struct evhttp_request *req, const char *client)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *inm = NULL;
	struct ui_accept acc;
	struct ui_answer a;
	struct evkeyval *kv;

	ui_static_accept_init(&acc);
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next) {
		if (strcasecmp(kv->key, "Accept-Encoding") == 0)
			ui_static_accept_parse(&acc, kv->value);
		else if (strcasecmp(kv->key, "If-None-Match") == 0 && !inm)
			inm = kv->value;
	}
	ui_static_resolve(ui, cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD, raw, ui_static_accept_gzip(&acc), inm,
			  &a);
	metrics_http_response(a.status);
	if (a.status >= 400)
		log_info("ui: %s %.200s %d %s client=%s", method_text(cmd), raw ? raw : "?", a.status, a.code, client);
	else
		log_debug("ui: %s %.200s %d %s%s client=%s", method_text(cmd), raw ? raw : "?", a.status, a.path,
			  a.gzip ? " gzip" : "", client);
	send_answer(req, &a, cmd == EVHTTP_REQ_HEAD);
}
