#include "server/forward_format.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/timefmt.h"

void fwd_buf_free(struct fwd_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void fwd_buf_reset(struct fwd_buf *b)
{
	b->len = 0;
	b->oom = false;
	if (b->p)
		b->p[0] = '\0';
}

static bool buf_reserve(struct fwd_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (n > SIZE_MAX / 2 - b->len) {
		b->oom = true;
		return false;
	}
	if (b->len + n + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1)
		cap *= 2;
	if (!(p = realloc(b->p, cap))) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void fwd_buf_add(struct fwd_buf *b, const char *s, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void fwd_buf_adds(struct fwd_buf *b, const char *s)
{
	fwd_buf_add(b, s, strlen(s));
}

void fwd_buf_printf(struct fwd_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_reserve(b, (size_t)n)) {
		b->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static bool set(const char *s)
{
	return s && *s;
}

/* Bytes of s to take for at most max bytes (0: all) without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (max == 0 || n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

int fwd_cef_severity(const char *severity)
{
	static const struct {
		const char *name;
		int cef;
	} map[] = { { "warning", 1 }, { "minor", 4 }, { "major", 8 }, { "critical", 10 } };

	for (size_t i = 0; severity && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(severity, map[i].name) == 0)
			return map[i].cef;
	return 0;
}

const char *fwd_severity_label(const char *severity)
{
	static const char *const map[][2] = {
		{ "warning", "Warning" }, { "minor", "Minor" }, { "major", "Major" }, { "critical", "Critical" }
	};

	for (size_t i = 0; severity && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(severity, map[i][0]) == 0)
			return map[i][1];
	return severity ? severity : "";
}

const char *fwd_engine_label(const char *engine)
{
	static const char *const map[][2] = { { "policy_violation", "Policy Violation" },
					      { "protocol_violation", "Protocol Violation" },
					      { "anomaly", "Anomaly" },
					      { "operational", "Operational" },
					      { "malware", "Malware" } };

	for (size_t i = 0; engine && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(engine, map[i][0]) == 0)
			return map[i][1];
	return engine ? engine : "";
}

void fwd_cef_header_escape(struct fwd_buf *b, const char *s, size_t max)
{
	size_t n = utf8_cut(s, max);

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\\' || ch == '|') {
			char esc[2] = { '\\', (char)ch };
			fwd_buf_add(b, esc, 2);
		} else if (ch < 0x20 || ch == 0x7f) {
			fwd_buf_add(b, " ", 1);
		} else {
			fwd_buf_add(b, (const char *)&s[i], 1);
		}
	}
}

void fwd_cef_value_escape(struct fwd_buf *b, const char *s, size_t max)
{
	size_t n = utf8_cut(s, max);

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\\' || ch == '=') {
			char esc[2] = { '\\', (char)ch };
			fwd_buf_add(b, esc, 2);
		} else if (ch == '\n') {
			fwd_buf_add(b, "\\n", 2);
		} else if (ch == '\r') {
			fwd_buf_add(b, "\\r", 2);
		} else if (ch < 0x20 || ch == 0x7f) {
			fwd_buf_add(b, " ", 1);
		} else {
			fwd_buf_add(b, (const char *)&s[i], 1);
		}
	}
}

/* LEEF 2.0 defines no escape inside attribute values: the delimiter (tab) and line ends become spaces. */
static void leef_value(struct fwd_buf *b, const char *s, size_t max)
{
	size_t n = utf8_cut(s, max);

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		fwd_buf_add(b, ch < 0x20 || ch == 0x7f ? " " : (const char *)&s[i], 1);
	}
}

static const char *product(const struct fwd_event *e)
{
	return set(e->sensor_name) ? e->sensor_name : FWD_PRODUCT;
}

static const char *version(const struct fwd_event *e)
{
	return set(e->sensor_version) ? e->sensor_version : OTW_VERSION;
}

/* The event class id (CEF) and event id (LEEF): the engine of an alert, "system:<kind>" for a notification. */
static void event_class(struct fwd_buf *b, const struct fwd_event *e,
			void (*esc)(struct fwd_buf *, const char *, size_t))
{
	if (e->kind == FWD_SYSTEM) {
		fwd_buf_adds(b, "system:");
		esc(b, e->sys_kind ? e->sys_kind : "", 64);
	} else {
		esc(b, e->engine ? e->engine : "", 64);
	}
}

static void cef_kv(struct fwd_buf *b, bool *first, const char *key, const char *value, size_t max)
{
	if (!set(value))
		return;
	if (!*first)
		fwd_buf_add(b, " ", 1);
	*first = false;
	fwd_buf_adds(b, key);
	fwd_buf_add(b, "=", 1);
	fwd_cef_value_escape(b, value, max);
}

static void cef_kv_int(struct fwd_buf *b, bool *first, const char *key, int64_t v)
{
	char text[24];

	snprintf(text, sizeof(text), "%lld", (long long)v);
	cef_kv(b, first, key, text, 0);
}

void fwd_format_cef(struct fwd_buf *b, const struct fwd_event *e)
{
	bool first = true;

	fwd_buf_adds(b, "CEF:0|");
	fwd_cef_header_escape(b, FWD_VENDOR, 0);
	fwd_buf_add(b, "|", 1);
	fwd_cef_header_escape(b, product(e), 200);
	fwd_buf_add(b, "|", 1);
	fwd_cef_header_escape(b, version(e), 64);
	fwd_buf_add(b, "|", 1);
	event_class(b, e, fwd_cef_header_escape);
	fwd_buf_add(b, "|", 1);
	fwd_cef_header_escape(b, e->title ? e->title : "", 512);
	fwd_buf_printf(b, "|%d|", fwd_cef_severity(e->severity));
	/* The incumbent's keys first (REFERENCE.md), in its order, then standard CEF keys. */
	cef_kv(b, &first, "msg", e->message, FWD_MESSAGE_MAX);
	cef_kv(b, &first, "protocol", e->protocol, 64);
	cef_kv(b, &first, "severity", fwd_severity_label(e->severity), 0);
	cef_kv(b, &first, "type", e->kind == FWD_ALERT ? fwd_engine_label(e->engine) : e->sys_kind, 64);
	cef_kv_int(b, &first, "UUID", e->id);
	if (e->detected_usec)
		cef_kv_int(b, &first, "start", e->detected_usec / 1000);
	cef_kv(b, &first, "src_ip", e->src_ip, 64);
	cef_kv(b, &first, "src_mac", e->src_mac, 32);
	cef_kv(b, &first, "dst_ip", e->dst_ip, 64);
	cef_kv(b, &first, "dst_mac", e->dst_mac, 32);
	cef_kv(b, &first, "cat", e->kind == FWD_ALERT ? "Alert" : "System", 0);
	if (e->last_seen_usec)
		cef_kv_int(b, &first, "end", e->last_seen_usec / 1000);
	if (e->occurrences > 0)
		cef_kv_int(b, &first, "cnt", e->occurrences);
	cef_kv_int(b, &first, "externalId", e->id);
	cef_kv(b, &first, "deviceExternalId", e->sensor_id, 64);
	cef_kv(b, &first, "outcome", e->status, 16);
	if (set(e->zone_name)) {
		cef_kv(b, &first, "cs1Label", "zone", 0);
		cef_kv(b, &first, "cs1", e->zone_name, 200);
	}
	if (set(e->site_name)) {
		cef_kv(b, &first, "cs2Label", "site", 0);
		cef_kv(b, &first, "cs2", e->site_name, 200);
	}
	if (e->zone_id) {
		cef_kv(b, &first, "cn1Label", "zone_id", 0);
		cef_kv_int(b, &first, "cn1", e->zone_id);
	}
}

static bool is_ip(const char *s)
{
	unsigned char bin[16];

	return set(s) && (inet_pton(AF_INET, s, bin) == 1 || inet_pton(AF_INET6, s, bin) == 1);
}

static void leef_kv(struct fwd_buf *b, const char *key, const char *value, size_t max)
{
	if (!set(value))
		return;
	fwd_buf_add(b, "\t", 1);
	fwd_buf_adds(b, key);
	fwd_buf_add(b, "=", 1);
	leef_value(b, value, max);
}

static void leef_kv_int(struct fwd_buf *b, const char *key, int64_t v)
{
	char text[24];

	snprintf(text, sizeof(text), "%lld", (long long)v);
	leef_kv(b, key, text, 0);
}

void fwd_format_leef(struct fwd_buf *b, const struct fwd_event *e)
{
	char t[TIMEFMT_LEN];
	size_t attrs;

	fwd_buf_adds(b, "LEEF:2.0|");
	fwd_cef_header_escape(b, FWD_VENDOR, 0);
	fwd_buf_add(b, "|", 1);
	fwd_cef_header_escape(b, product(e), 200);
	fwd_buf_add(b, "|", 1);
	fwd_cef_header_escape(b, version(e), 64);
	fwd_buf_add(b, "|", 1);
	event_class(b, e, fwd_cef_header_escape);
	/* LEEF 2.0: the sixth header field names the attribute delimiter, here a tab in hex. */
	fwd_buf_adds(b, "|x09|");
	attrs = b->len;
	if (e->detected_usec) {
		leef_kv(b, "devTime", timefmt_rfc3339_ms(e->detected_usec, t), 0);
		leef_kv(b, "devTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSX", 0);
	}
	leef_kv(b, "cat", e->kind == FWD_ALERT ? fwd_engine_label(e->engine) : e->sys_kind, 64);
	leef_kv_int(b, "sev", fwd_cef_severity(e->severity));
	if (is_ip(e->src_ip))
		leef_kv(b, "src", e->src_ip, 64);
	if (is_ip(e->dst_ip))
		leef_kv(b, "dst", e->dst_ip, 64);
	leef_kv(b, "srcMAC", e->src_mac, 32);
	leef_kv(b, "dstMAC", e->dst_mac, 32);
	leef_kv(b, "title", e->title, 512);
	leef_kv(b, "msg", e->message, FWD_MESSAGE_MAX);
	leef_kv(b, "protocol", e->protocol, 64);
	leef_kv(b, "severity", fwd_severity_label(e->severity), 0);
	leef_kv_int(b, "externalId", e->id);
	leef_kv(b, "status", e->status, 16);
	if (e->occurrences > 0)
		leef_kv_int(b, "count", e->occurrences);
	if (e->last_seen_usec)
		leef_kv(b, "lastSeen", timefmt_rfc3339_ms(e->last_seen_usec, t), 0);
	leef_kv(b, "sensorId", e->sensor_id, 64);
	leef_kv(b, "sensor", e->sensor_name, 200);
	if (e->zone_id)
		leef_kv_int(b, "zoneId", e->zone_id);
	leef_kv(b, "zone", e->zone_name, 200);
	leef_kv(b, "site", e->site_name, 200);
	/* The attributes follow the header directly: the first carries no leading delimiter. */
	if (b->len > attrs && !b->oom) {
		memmove(b->p + attrs, b->p + attrs + 1, b->len - attrs);
		b->len--;
	}
}

static void text_kv(struct fwd_buf *b, bool *first, const char *key, const char *value)
{
	if (!set(value))
		return;
	fwd_buf_adds(b, *first ? " [" : " ");
	*first = false;
	fwd_buf_adds(b, key);
	fwd_buf_add(b, "=", 1);
	leef_value(b, value, 256);
}

void fwd_format_text(struct fwd_buf *b, const struct fwd_event *e)
{
	bool first = true;

	fwd_buf_printf(b, "%s %s %s %" PRId64 ": ", fwd_severity_label(e->severity),
		       e->kind == FWD_ALERT ? fwd_engine_label(e->engine) : "System",
		       e->kind == FWD_ALERT ? "alert" : (set(e->sys_kind) ? e->sys_kind : "notification"), e->id);
	leef_value(b, set(e->title) ? e->title : "", 512);
	if (set(e->message)) {
		fwd_buf_adds(b, " - ");
		leef_value(b, e->message, FWD_MESSAGE_MAX);
	}
	text_kv(b, &first, "protocol", e->protocol);
	text_kv(b, &first, "src", e->src_ip);
	text_kv(b, &first, "src_mac", e->src_mac);
	text_kv(b, &first, "dst", e->dst_ip);
	text_kv(b, &first, "dst_mac", e->dst_mac);
	text_kv(b, &first, "sensor", e->sensor_name);
	text_kv(b, &first, "zone", e->zone_name);
	text_kv(b, &first, "site", e->site_name);
	if (!first)
		fwd_buf_add(b, "]", 1);
}

static int obj_set(json_t *o, const char *key, json_t *v)
{
	return v ? json_object_set_new(o, key, v) : -1;
}

static void obj_str(json_t *o, const char *key, const char *s, size_t max)
{
	if (set(s))
		obj_set(o, key, json_stringn(s, utf8_cut(s, max)));
}

static void obj_time(json_t *o, const char *key, int64_t usec)
{
	char t[TIMEFMT_LEN];

	if (usec)
		obj_set(o, key, json_string(timefmt_rfc3339_ms(usec, t)));
}

void fwd_format_json(struct fwd_buf *b, const struct fwd_event *e)
{
	json_t *o = json_object(), *details;
	char *text;

	if (!o) {
		b->oom = true;
		return;
	}
	obj_set(o, "type", json_string(e->kind == FWD_ALERT ? "alert" : "system"));
	obj_set(o, "id", json_integer(e->id));
	obj_str(o, "title", e->title, 0);
	obj_str(o, "message", e->message, FWD_MESSAGE_MAX);
	obj_str(o, "severity", e->severity, 0);
	obj_str(o, "engine", e->engine, 0);
	obj_str(o, "kind", e->sys_kind, 0);
	obj_str(o, "status", e->status, 0);
	obj_str(o, "protocol", e->protocol, 0);
	obj_str(o, "src_ip", e->src_ip, 0);
	obj_str(o, "src_mac", e->src_mac, 0);
	obj_str(o, "dst_ip", e->dst_ip, 0);
	obj_str(o, "dst_mac", e->dst_mac, 0);
	obj_str(o, "remediation", e->remediation, FWD_MESSAGE_MAX);
	obj_str(o, "sensor_id", e->sensor_id, 0);
	obj_str(o, "sensor_name", e->sensor_name, 0);
	if (e->zone_id)
		obj_set(o, "zone_id", json_integer(e->zone_id));
	obj_str(o, "zone_name", e->zone_name, 0);
	if (e->site_id)
		obj_set(o, "site_id", json_integer(e->site_id));
	obj_str(o, "site_name", e->site_name, 0);
	obj_time(o, e->kind == FWD_ALERT ? "detected_at" : "at", e->detected_usec);
	obj_time(o, "last_seen", e->last_seen_usec);
	obj_time(o, "received_at", e->received_usec);
	if (e->occurrences > 0)
		obj_set(o, "occurrences", json_integer(e->occurrences));
	if (set(e->details_json) && (details = json_loads(e->details_json, 0, NULL)))
		obj_set(o, "details", details);
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text) {
		b->oom = true;
		return;
	}
	fwd_buf_adds(b, text);
	free(text);
}

void fwd_format_hec(struct fwd_buf *b, const struct fwd_event *e, const char *hostname, const char *index,
		    const char *sourcetype)
{
	struct fwd_buf ev = { 0 };
	json_t *o;
	char *text = NULL;
	int64_t t = e->detected_usec ? e->detected_usec : timefmt_now_usec();

	fwd_format_json(&ev, e);
	o = json_pack("{s:f, s:s, s:s, s:s}", "time", (double)(t / 1000) / 1000.0, "host",
		      set(hostname) ? hostname : "otwatch", "source", "otwatch", "sourcetype",
		      set(sourcetype) ? sourcetype : e->kind == FWD_ALERT ? "otwatch:alert" : "otwatch:system");
	if (o && set(index))
		obj_set(o, "index", json_string(index));
	if (o && !ev.oom && ev.p)
		obj_set(o, "event", json_loads(ev.p, 0, NULL));
	if (o && json_object_get(o, "event"))
		text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(16));
	if (text)
		fwd_buf_adds(b, text);
	else
		b->oom = true;
	free(text);
	json_decref(o);
	fwd_buf_free(&ev);
}

void fwd_syslog_header(struct fwd_buf *b, int facility, const char *hostname, const struct fwd_event *e)
{
	char t[TIMEFMT_LEN];
	size_t n = hostname ? strlen(hostname) : 0;

	fwd_buf_printf(b, "<%d>1 %s ", facility * 8 + 1,
		       timefmt_rfc3339_ms(e->detected_usec ? e->detected_usec : timefmt_now_usec(), t));
	if (n == 0 || n > 255) {
		fwd_buf_add(b, "-", 1);
	} else {
		/* RFC 5424 HOSTNAME: PRINTUSASCII (33-126) only. */
		for (size_t i = 0; i < n; i++)
			fwd_buf_add(b, hostname[i] > 32 && hostname[i] < 127 ? &hostname[i] : "-", 1);
	}
	fwd_buf_printf(b, " otwatch - %s - ", e->kind == FWD_ALERT ? "alert" : "system");
}

/* Header text: controls (CR, LF above all: header injection) become spaces. */
static void header_text(struct fwd_buf *b, const char *s, size_t max)
{
	leef_value(b, s ? s : "", max);
}

static void base64(struct fwd_buf *b, const unsigned char *in, size_t n, size_t line)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t col = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);
		char q[4] = { alpha[v >> 18 & 63], alpha[v >> 12 & 63], i + 1 < n ? alpha[v >> 6 & 63] : '=',
			      i + 2 < n ? alpha[v & 63] : '=' };
		fwd_buf_add(b, q, 4);
		col += 4;
		if (line && col >= line && i + 3 < n) {
			fwd_buf_add(b, "\r\n", 2);
			col = 0;
		}
	}
}

static void body_line(struct fwd_buf *b, const char *label, const char *value)
{
	if (!set(value))
		return;
	fwd_buf_printf(b, "%s: ", label);
	/* Line ends inside a value become CRLF, so the text survives any mail client. */
	for (const char *p = value; *p; p++) {
		if (*p == '\n')
			fwd_buf_add(b, "\r\n  ", 4);
		else if (*p != '\r')
			fwd_buf_add(b, p, 1);
	}
	fwd_buf_add(b, "\r\n", 2);
}

void fwd_format_email(struct fwd_buf *b, const struct fwd_event *e, const char *from, const char *const *to,
		      size_t n, const char *hostname, int64_t now_usec)
{
	struct fwd_buf subject = { 0 }, body = { 0 };
	char t[TIMEFMT_LEN], date[64], num[24];
	time_t now = (time_t)(now_usec / 1000000);
	struct tm tm;
	bool ascii = true;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	fwd_buf_printf(&subject, "[OTWatch] %s: ", fwd_severity_label(e->severity));
	header_text(&subject, e->title, 512);
	for (size_t i = 0; i < subject.len; i++)
		ascii = ascii && (unsigned char)subject.p[i] < 0x80;
	fwd_buf_adds(b, "From: ");
	header_text(b, from, 254);
	fwd_buf_adds(b, "\r\nTo: ");
	for (size_t i = 0; i < n; i++) {
		if (i)
			fwd_buf_adds(b, ", ");
		header_text(b, to[i], 254);
	}
	fwd_buf_adds(b, "\r\nSubject: ");
	if (ascii) {
		fwd_buf_add(b, subject.p ? subject.p : "", subject.len);
	} else {
		/* RFC 2047 encoded word: UTF-8 titles stay intact in any mail reader. */
		fwd_buf_adds(b, "=?UTF-8?B?");
		base64(b, (const unsigned char *)(subject.p ? subject.p : ""), subject.len, 0);
		fwd_buf_adds(b, "?=");
	}
	fwd_buf_printf(b, "\r\nDate: %s\r\nMessage-ID: <otwatch.%s.%lld.%lld@", date,
		       e->kind == FWD_ALERT ? "alert" : "system", (long long)e->id, (long long)now_usec);
	header_text(b, set(hostname) ? hostname : "localhost", 255);
	fwd_buf_adds(b, ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
			"Content-Transfer-Encoding: base64\r\n\r\n");
	body_line(&body, "Title", e->title);
	body_line(&body, "Severity", fwd_severity_label(e->severity));
	body_line(&body, "Engine", e->kind == FWD_ALERT ? fwd_engine_label(e->engine) : NULL);
	body_line(&body, "Kind", e->sys_kind);
	body_line(&body, "Protocol", e->protocol);
	body_line(&body, "Source", e->src_ip);
	body_line(&body, "Source MAC", e->src_mac);
	body_line(&body, "Destination", e->dst_ip);
	body_line(&body, "Destination MAC", e->dst_mac);
	body_line(&body, "Sensor", e->sensor_name);
	body_line(&body, "Zone", e->zone_name);
	body_line(&body, "Site", e->site_name);
	if (e->detected_usec)
		body_line(&body, e->kind == FWD_ALERT ? "Detected" : "At", timefmt_rfc3339_ms(e->detected_usec, t));
	snprintf(num, sizeof(num), "%lld", (long long)e->id);
	body_line(&body, e->kind == FWD_ALERT ? "Alert id" : "Notification id", num);
	fwd_buf_adds(&body, "\r\n");
	body_line(&body, "Message", e->message ? e->message : "");
	body_line(&body, "Remediation", e->remediation);
	base64(b, (const unsigned char *)(body.p ? body.p : ""), body.len, 76);
	fwd_buf_adds(b, "\r\n");
	if (subject.oom || body.oom)
		b->oom = true;
	fwd_buf_free(&subject);
	fwd_buf_free(&body);
}
