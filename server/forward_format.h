/* Forwarding: what one alert or system notification looks like on the wire (docs/forwarding.md "Formats").
 * CEF (ArcSight CEF 0, field layout of REFERENCE.md "Syslog CEF layout"), LEEF 2.0 (tab-delimited) and one JSON
 * object, each alone (webhook, HEC, email) or behind an RFC 5424 syslog header. Pure: no I/O, no global state
 * (the unit test and the delivery thread call it alike). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable text buffer; the text is always NUL-terminated. Release with fwd_buf_free. */
struct fwd_buf {
	char *p;
	size_t len, cap;
	bool oom; /* an append failed: the buffer holds a prefix of what was meant */
};
void fwd_buf_free(struct fwd_buf *b);
void fwd_buf_reset(struct fwd_buf *b);
void fwd_buf_add(struct fwd_buf *b, const char *s, size_t n);
void fwd_buf_adds(struct fwd_buf *b, const char *s);
void fwd_buf_printf(struct fwd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Longest alert or notification message put into one record, in bytes (cut at a UTF-8 boundary): a syslog
 * datagram must stay far below 64 KiB and SIEMs truncate long lines anyway. */
#define FWD_MESSAGE_MAX 2048

enum fwd_kind { FWD_ALERT, FWD_SYSTEM };

/* One thing to forward, as read from the database. Strings are borrowed (the caller keeps them alive); NULL or ""
 * means absent. Times are microseconds since the epoch (0: absent). */
struct fwd_event {
	enum fwd_kind kind;
	int64_t id;            /* alerts.id or system_notifications.id */
	const char *title;
	const char *message;
	const char *severity;  /* warning | minor | major | critical */
	const char *engine;    /* alerts: policy_violation, ...; system: NULL */
	const char *sys_kind;  /* system: sensor_disconnected, ...; alerts: NULL */
	const char *status;    /* alerts: new | closed | learned | muted */
	const char *protocol;
	const char *src_ip, *dst_ip, *src_mac, *dst_mac; /* src_ip/dst_ip: the alert's src/dst address text */
	const char *remediation;
	const char *sensor_id, *sensor_name, *sensor_version;
	int64_t zone_id, site_id; /* 0: none */
	const char *zone_name, *site_name;
	int64_t detected_usec, last_seen_usec, received_usec; /* system: detected = at */
	int64_t occurrences;
	const char *details_json; /* system: the details object as JSON text */
};

/* Product identity in CEF/LEEF headers. */
#define FWD_VENDOR "OTWatch"
#define FWD_PRODUCT "OTWatch"

/* CEF severity of an alert severity: warning 1, minor 4, major 8, critical 10; 0 for unknown. */
int fwd_cef_severity(const char *severity);
/* "Warning", "Policy Violation", ...: the incumbent's labels; the value itself when unknown. */
const char *fwd_severity_label(const char *severity);
const char *fwd_engine_label(const char *engine);

/* Appends s escaped for a CEF header field (\ -> \\, | -> \|, CR/LF and other controls -> space), or an
 * extension value (\ -> \\, = -> \=, LF -> \n, CR -> \r, other controls -> space), at most max bytes of s (cut at a
 * UTF-8 boundary; 0: no limit). */
void fwd_cef_header_escape(struct fwd_buf *b, const char *s, size_t max);
void fwd_cef_value_escape(struct fwd_buf *b, const char *s, size_t max);

/* Appends the event as one CEF, LEEF 2.0 or JSON record (no syslog header, no line end). The CEF/LEEF header names
 * the sensor and its version (FWD_PRODUCT and OTW_VERSION when the event has none). */
void fwd_format_cef(struct fwd_buf *b, const struct fwd_event *e);
void fwd_format_leef(struct fwd_buf *b, const struct fwd_event *e);
void fwd_format_json(struct fwd_buf *b, const struct fwd_event *e);
/* Appends the event as one readable line for collectors that parse nothing (the incumbent's "text" format):
 * "<Severity> <Engine> alert <id>: <title> - <message> [protocol=.. src=.. src_mac=.. dst=.. dst_mac=.. sensor=..
 * zone=.. site=..]" (a notification: "<Severity> System <kind> <id>: ..."); fields absent are left out, control
 * characters become spaces, the message is cut at FWD_MESSAGE_MAX bytes. */
void fwd_format_text(struct fwd_buf *b, const struct fwd_event *e);

/* Appends a Splunk HTTP Event Collector event: {"time": detection time in seconds (ms precision), "host",
 * "source": "otwatch", "sourcetype" (default "otwatch:alert" / "otwatch:system"), "index" (when set), "event":
 * the JSON record}. */
void fwd_format_hec(struct fwd_buf *b, const struct fwd_event *e, const char *hostname, const char *index,
		    const char *sourcetype);

/* Appends an RFC 5424 header: "<PRI>1 TIMESTAMP HOSTNAME otwatch - MSGID - " with PRI = facility * 8 + 1 (alert),
 * TIMESTAMP the event's detection time in UTC with milliseconds, MSGID "alert" or "system". hostname: printable
 * ASCII without spaces, at most 255 bytes ("-" when empty). */
void fwd_syslog_header(struct fwd_buf *b, int facility, const char *hostname, const struct fwd_event *e);

/* The email: RFC 5322 header lines (From, To, Subject, Date, Message-ID, MIME) and a plain-text UTF-8 body, CRLF line
 * ends, dot-stuffing left to the SMTP client. Header values never carry CR or LF taken from the event. to: n
 * addresses (already validated). now_usec: the Date. */
void fwd_format_email(struct fwd_buf *b, const struct fwd_event *e, const char *from, const char *const *to,
		      size_t n, const char *hostname, int64_t now_usec);
