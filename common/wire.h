/* The otwatch.v1 message layer shared by the sensor (uplink) and the console (gateway): constants, builders for
 * every message, and a strict parser that turns one websocket message into a typed `struct wire_msg`.
 * docs/architecture.md "Sensor <-> console protocol" is the specification; this file enforces it.
 *
 * Ownership: builders return a new json_t reference (json_decref it, or hand it to wire_encode). A parsed
 * wire_msg owns its JSON tree and the records array; every string pointer inside it points into that tree and
 * lives until wire_msg_free(). Numbers that the protocol calls uint64 (seq, packets, bytes) are limited to
 * 0..INT64_MAX, the range of both jansson integers and PostgreSQL bigint. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_SUBPROTOCOL "otwatch.v1"
#define WIRE_PROTO_MAJOR 1
#define WIRE_PROTO_MINOR 0

/* Limits. A sensor must stay inside them; the parser rejects anything beyond. */
#define WIRE_HELLO_MAX_BYTES 4096   /* largest message before the hello is accepted */
#define WIRE_MAX_RECORDS 10000      /* records per batch */
#define WIRE_MAX_STR 255            /* bytes of any string field (hostname, vendor, version, ...) */
#define WIRE_MAX_NAME 64            /* bytes of protocol names, roles, event names, mode */
#define WIRE_MAX_KEY 64             /* bytes of a device key ("mac:..." / "ip:...") */
#define WIRE_MAX_LIST 256           /* entries of macs/ips/vlans/protocols arrays */
#define WIRE_SENSOR_ID_LEN 36       /* canonical UUID text */

enum wire_type {
	WIRE_HELLO = 1, /* sensor -> console */
	WIRE_BATCH,
	WIRE_PONG,
	WIRE_WELCOME, /* console -> sensor */
	WIRE_ACK,
	WIRE_PING,
	WIRE_CONFIG, /* console -> sensor: the sensor's effective settings */
	WIRE_EVIDENCE_REQUEST, /* console -> sensor: send the evidence capture `ref` */
	WIRE_EVIDENCE,         /* sensor -> console: the capture (base64 pcap) or an error */
	WIRE_INDICATORS,       /* console -> sensor: the indicator bundle (checked by the sensor's parser) */
	WIRE_RENEW,            /* sensor -> console: a CSR for the sensor's next certificate */
	WIRE_CERTIFICATE,      /* console -> sensor: the renewed certificate (PEM) or an error */
};

#define WIRE_MAX_PEM 8192 /* a CSR or certificate in PEM */

#define WIRE_MAX_EVIDENCE_REF 64            /* bytes of an evidence reference: [A-Za-z0-9_-] */
#define WIRE_MAX_EVIDENCE_BYTES (1u << 20)   /* largest evidence capture (before base64; fits a 4 MiB frame) */

enum wire_rec_kind {
	WIRE_REC_DEVICE = 1,
	WIRE_REC_CONNECTION,
	WIRE_REC_HEALTH,
	WIRE_REC_DEVICE_REMOVE,
	WIRE_REC_EVENT,     /* a DPI event (plc_stop, program_download, ...) with a count */
	WIRE_REC_VIOLATION, /* a protocol violation with a count */
	WIRE_REC_ALERT,     /* an alert of the detection engines (issue 5) */
};

#define WIRE_MAX_DETAIL 1024  /* bytes of an event's detail, an alert's message or remediation */
#define WIRE_MAX_TITLE 128    /* bytes of an alert title */
#define WIRE_MAX_LEARNED 200000 /* learned baseline items in one config message */
#define WIRE_MAX_LEARN_ITEMS 64 /* learn items of one alert */

enum wire_transport { WIRE_TR_TCP = 1, WIRE_TR_UDP, WIRE_TR_ETH };

/* The string of a transport ("tcp", "udp", "eth"). */
const char *wire_transport_name(enum wire_transport t);

/* A device record. macs/ips/vlans/protocols are validated JSON arrays (borrowed from the message tree):
 * macs: strings "xx:xx:xx:xx:xx:xx"; ips: IPv4/IPv6 text; vlans: integers 0..4095;
 * protocols: objects {"name": str, "role": "client"|"server"|"peer"}. vendor/hostname/type may be NULL. */
struct wire_device {
	const char *key;
	json_t *macs, *ips, *vlans, *protocols;
	const char *vendor, *hostname, *type;
	int64_t first_seen, last_seen; /* µs since the epoch */
};

/* A connection record; packets/bytes are increments since the sensor's previous record of it. port is -1 when
 * the record has null. protocols: array of strings. */
struct wire_connection {
	enum wire_transport transport;
	const char *src_addr, *dst_addr;
	int port;
	bool broadcast;
	json_t *protocols;
	int64_t packets, bytes;
	int64_t first_seen, last_seen;
};

/* A health record: `event` is "capture_truncated", "capture_error", "stats", "capture_drops", "mode" or "system"
 * (the sensor's periodic CPU/memory/disk/backlog figures, sensor-agent/health.h); `obj` is
 * the whole record (the details are its other members). A "mode" record has "mode" ("learning"|"operational"),
 * "reason" ("console" | "quiet_period" | "activation") and "rev" (the console's mode request it applied, 0 when
 * none). */
struct wire_health {
	int64_t at;
	const char *event;
	json_t *obj;
};

/* A device_remove record: the sensor no longer has this device (an IP-only device whose address turned out to
 * belong to a MAC); what this sensor said of it is withdrawn. */
struct wire_device_remove {
	const char *key;
};

/* An event or violation record: counts are increments; times may be null on the wire (0 here). */
struct wire_event {
	const char *proto, *name;
	const char *src, *dst; /* IP, MAC or NULL */
	const char *detail;    /* NULL when absent */
	int64_t count, first_seen, last_seen;
};

/* An alert record: the occurrences since the sensor's previous record of the same alert (count >= 1, between
 * first_seen and last_seen, packet time). engine: policy_violation | protocol_violation | anomaly | operational |
 * malware; severity: warning | minor | major | critical. learn is the baseline item that "learn" adds on the
 * zone's sensors, or an array of 1..WIRE_MAX_LEARN_ITEMS of them (an alert that aggregates several new items),
 * each checked like wire_check_learn; NULL when absent. evidence names the sensor's evidence capture (NULL when
 * none). */
struct wire_alert {
	const char *engine, *severity, *title, *message, *remediation;
	const char *src, *dst, *src_mac, *dst_mac, *protocol, *evidence;
	int64_t count, first_seen, last_seen;
	json_t *learn;
};

struct wire_record {
	uint64_t seq;
	enum wire_rec_kind kind;
	json_t *obj; /* the record object (borrowed from the message tree) */
	union {
		struct wire_device dev;
		struct wire_connection conn;
		struct wire_health health;
		struct wire_device_remove dev_remove;
		struct wire_event ev;
		struct wire_alert alert;
	} u;
};

struct wire_msg {
	enum wire_type type;
	json_t *root; /* owned */
	union {
		struct {
			unsigned major, minor;
			const char *sensor_id; /* canonical lowercase-or-uppercase UUID text as sent */
			const char *version;
			const char *mode; /* "learning" | "operational" */
			uint64_t first_seq, last_seq;
		} hello;
		struct {
			uint64_t seq_from, seq_to;
			size_t nrecords; /* 1..WIRE_MAX_RECORDS */
			struct wire_record *records; /* owned; seqs strictly increasing within [seq_from, seq_to] */
		} batch;
		struct {
			uint64_t applied_seq;
		} welcome;
		struct {
			uint64_t id;     /* the console's request id, echoed in the answer */
			const char *ref; /* checked: 1..WIRE_MAX_EVIDENCE_REF bytes of [A-Za-z0-9_-] */
		} evidence_request;
		struct {
			json_t *bundle; /* an object, borrowed; sensor-agent/indicators.h checks its contents */
		} indicators;
		struct {
			uint64_t id;
			const char *ref;
			const char *pcap;  /* base64 of a pcap file (NULL when error is set) */
			size_t pcap_len;
			const char *error; /* NULL on success */
		} evidence;
		struct {
			const char *csr; /* PEM "CERTIFICATE REQUEST" */
		} renew;
		struct {
			const char *certificate; /* PEM, or NULL with error set */
			const char *error;
		} certificate;
		struct {
			uint64_t seq;
		} ack;
		struct {
			/* Validated, borrowed from root: {"subnets": ["10.0.0.0/24", ...], "vlan_names": {"10":
			 * "name"}, "port_names": {"502": "name"}, "dhcp_ranges": [{"start": ip, "end": ip}],
			 * "learning_quiet_period": seconds}; every member optional. */
			json_t *settings;
			/* The console's latest mode request ("learning"|"operational", rev >= 1), or NULL/0 when it
			 * made none: the sensor applies a rev once. */
			const char *mode;
			int64_t mode_rev;
			/* The items learned from alerts in the sensor's zone (array of learn items, borrowed), or
			 * NULL when the member is absent: the sensor's whole learned set, replacing the previous. */
			json_t *learned;
		} config;
	} u;
};

/* Parses and validates one message of len bytes (need not be NUL-terminated). Returns 0 and fills *out (free
 * with wire_msg_free), or -EINVAL with a message naming the field in err ("records[3].port: not an integer
 * 0..65535"); on failure *out needs no freeing. A hello with an unknown major version parses successfully (the
 * caller answers it with a close 4001); other unknown values are errors. Unknown members are ignored so that
 * minor versions can add fields. */
int wire_parse(const char *buf, size_t len, struct wire_msg *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void wire_msg_free(struct wire_msg *m);

/* Validates one record object as wire_parse does inside a batch (for the sensor's own tests and asserts). */
int wire_check_record(json_t *rec, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Builders. Each returns a new object or NULL on allocation failure. */
json_t *wire_build_hello(const char *sensor_id, const char *version, const char *mode, uint64_t first_seq,
			 uint64_t last_seq);
/* Steals the reference to `records` (a JSON array of record objects), also on failure. */
json_t *wire_build_batch(uint64_t seq_from, uint64_t seq_to, json_t *records);
json_t *wire_build_welcome(uint64_t applied_seq);
json_t *wire_build_ack(uint64_t seq);
json_t *wire_build_ping(void);
/* Borrows settings (a validated settings object; copied into the message) and learned (an array of learn items,
 * or NULL); mode NULL for no mode request. */
json_t *wire_build_config(json_t *settings, const char *mode, int64_t mode_rev, json_t *learned);
/* Checks a learn item: {"kind": "device"|"connection"|"pair_protocol"|"pair_function"|"writer"|"programmer"|
 * "alert"|"arp_binding", "a": str, "b": str, "proto": str, "code": 0..4294967295, "title"?: str}; 0 or -EINVAL
 * (err names the field). */
int wire_check_learn(json_t *item, char *err, size_t errlen) __attribute__((warn_unused_result));
/* Checks a settings object as a config message carries it; 0 or -EINVAL with the field named in err. */
int wire_check_settings(json_t *settings, char *err, size_t errlen) __attribute__((warn_unused_result));
/* "a.b.c.d/n" or IPv6 "x::/n" with a prefix length valid for the family. */
bool wire_is_cidr(const char *s);
json_t *wire_build_pong(void);
json_t *wire_build_evidence_request(uint64_t id, const char *ref);
/* renew {csr} (sensor -> console) and certificate {certificate} | {error} (console -> sensor). */
json_t *wire_build_renew(const char *csr_pem);
json_t *wire_build_certificate(const char *cert_pem, const char *error);
/* data/len: the pcap (base64-encoded here), or NULL with error set. */
json_t *wire_build_evidence(uint64_t id, const char *ref, const void *data, size_t len, const char *error);
/* Decodes standard base64 (padding required) into a heap buffer (free()); 0, -EINVAL or -ENOMEM. */
int wire_base64_decode(const char *in, size_t len, uint8_t **out, size_t *outlen);

/* The digest of one journal record: FNV-1a 64 of its JSON (with "seq") dumped with JSON_COMPACT|JSON_SORT_KEYS.
 * The sensor's journal and the console each keep the sum (mod 2^64) of the digests of the records they hold or
 * applied, so a drill can prove that the console holds exactly what the sensor produced, none twice (the sum is
 * order-independent and counts a duplicate twice). False only when out of memory. */
bool wire_record_digest(const json_t *record, uint64_t *out) __attribute__((warn_unused_result));
/* [A-Za-z0-9_-]{1,WIRE_MAX_EVIDENCE_REF}: safe as a file name. */
bool wire_is_evidence_ref(const char *s);

/* Compact JSON text of a message, heap-allocated (free()); *len gets its length. Steals `msg`. NULL on failure. */
char *wire_encode(json_t *msg, size_t *len);

/* Checks "xx:xx:xx:xx:xx:xx" (hex, either case) and IPv4/IPv6 text. */
bool wire_is_mac(const char *s);
bool wire_is_ip(const char *s);
/* Checks canonical UUID text (8-4-4-4-12 hex digits). */
bool wire_is_uuid(const char *s);
