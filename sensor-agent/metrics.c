#include "sensor-agent/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/hostport.h"
#include "common/log.h"
#include "sensor-agent/metrics_text.h"

#define POLL_MS 250 /* how soon the thread sees a stop request */

/* Counted record kinds (the wire kinds; anything else is "other"), and alert severities. */
static const char *const record_kinds[] = { "device", "connection", "health", "device_remove", "event",
					    "violation", "alert", "other" };
#define NKINDS (sizeof(record_kinds) / sizeof(record_kinds[0]))
static const char *const severities[] = { "warning", "minor", "major", "critical", "other" };
#define NSEV (sizeof(severities) / sizeof(severities[0]))

struct sensor_metrics {
	int fd;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	pthread_mutex_t mu; /* guards snap (all zero, so no interface, before the run loop's first publish) */
	struct sensor_metrics_snapshot snap;
	atomic_uint_fast64_t records[NKINDS];
	atomic_uint_fast64_t alerts[NSEV];
	atomic_uint_fast64_t scrapes;
};

/* ---- the request ---- */

static const char *find_head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] == '\n' && buf[i + 1] == '\n')
			return buf + i + 2;
		if (i + 3 < len && memcmp(buf + i, "\r\n\r\n", 4) == 0)
			return buf + i + 4;
	}
	return NULL;
}

int sensor_metrics_parse_request(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len), *sp1, *sp2, *end, *q;
	size_t line, mlen, tlen, plen;

	if (!nl)
		return 0;
	line = (size_t)(nl - buf);
	if (line && buf[line - 1] == '\r')
		line--;
	for (size_t i = 0; i < line; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e)
			return 400;
	end = buf + line;
	sp1 = memchr(buf, ' ', line);
	if (!sp1)
		return 400;
	mlen = (size_t)(sp1 - buf);
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (!sp2 || mlen == 0 || mlen > 16)
		return 400;
	tlen = (size_t)(sp2 - sp1 - 1);
	if (tlen == 0 || sp1[1] != '/' || (size_t)(end - sp2 - 1) != 8 ||
	    (memcmp(sp2 + 1, "HTTP/1.0", 8) != 0 && memcmp(sp2 + 1, "HTTP/1.1", 8) != 0))
		return 400;
	for (size_t i = 0; i < mlen; i++)
		if (buf[i] < 'A' || buf[i] > 'Z')
			return 400;
	if (!find_head_end(buf, len))
		return 0;
	if (mlen != 3 || memcmp(buf, "GET", 3) != 0)
		return 405;
	q = memchr(sp1 + 1, '?', tlen);
	plen = q ? (size_t)(q - sp1 - 1) : tlen;
	return plen == 8 && memcmp(sp1 + 1, "/metrics", 8) == 0 ? 200 : 404;
}

/* ---- the document ---- */

static void fam(struct metrics_text *m, const char *name, enum metrics_type t, const char *help)
{
	metrics_text_family(m, name, t, help);
}

char *sensor_metrics_render(const struct sensor_metrics *sm, const struct sensor_metrics_snapshot *s, size_t *len)
{
	struct metrics_text m;
	struct metrics_label l[2];
	/* No source before the run loop's first snapshot: the per-interface families have no sample yet (a made-up
	 * interface label would start a series that ends at the first snapshot). */
	bool src = s->source[0] != '\0';

	metrics_text_init(&m);
	l[0] = (struct metrics_label){ "interface", s->source };
	fam(&m, "otwatch_sensor_packets_total", METRICS_COUNTER, "Packets the sensor handled, per interface.");
	if (src)
		metrics_text_sample_u64(&m, "otwatch_sensor_packets_total", l, 1, s->packets);
	fam(&m, "otwatch_sensor_bytes_total", METRICS_COUNTER, "Bytes (wire length) of the packets handled.");
	if (src)
		metrics_text_sample_u64(&m, "otwatch_sensor_bytes_total", l, 1, s->bytes);
	fam(&m, "otwatch_sensor_packets_received_total", METRICS_COUNTER,
	    "Packets the kernel received for the capture (libpcap ps_recv; 0 for a file).");
	if (src)
		metrics_text_sample_u64(&m, "otwatch_sensor_packets_received_total", l, 1, s->received);
	fam(&m, "otwatch_sensor_drops_total", METRICS_COUNTER,
	    "Packets dropped before the sensor saw them: by the kernel (ring buffer full) or the interface.");
	l[1] = (struct metrics_label){ "reason", "kernel" };
	if (src)
		metrics_text_sample_u64(&m, "otwatch_sensor_drops_total", l, 2, s->kernel_drops);
	l[1].value = "interface";
	if (src)
		metrics_text_sample_u64(&m, "otwatch_sensor_drops_total", l, 2, s->iface_drops);

	fam(&m, "otwatch_sensor_parser_pdus_total", METRICS_COUNTER, "Valid PDUs parsed, per protocol.");
	for (size_t i = 0; i < s->nprotos; i++) {
		l[0] = (struct metrics_label){ "protocol", s->protos[i].name };
		metrics_text_sample_u64(&m, "otwatch_sensor_parser_pdus_total", l, 1, s->protos[i].pdus);
	}
	fam(&m, "otwatch_sensor_parser_errors_total", METRICS_COUNTER,
	    "Malformed PDUs and framing failures, per protocol (each also records a protocol violation).");
	for (size_t i = 0; i < s->nprotos; i++) {
		l[0] = (struct metrics_label){ "protocol", s->protos[i].name };
		metrics_text_sample_u64(&m, "otwatch_sensor_parser_errors_total", l, 1, s->protos[i].malformed);
	}
	fam(&m, "otwatch_sensor_parser_violations_total", METRICS_COUNTER, "Protocol violations observed, per protocol.");
	for (size_t i = 0; i < s->nprotos; i++) {
		l[0] = (struct metrics_label){ "protocol", s->protos[i].name };
		metrics_text_sample_u64(&m, "otwatch_sensor_parser_violations_total", l, 1, s->protos[i].violations);
	}
	fam(&m, "otwatch_sensor_parser_gaps_total", METRICS_COUNTER,
	    "Stream gaps (bytes lost or not captured) the parsers resynchronised over, per protocol.");
	for (size_t i = 0; i < s->nprotos; i++) {
		l[0] = (struct metrics_label){ "protocol", s->protos[i].name };
		metrics_text_sample_u64(&m, "otwatch_sensor_parser_gaps_total", l, 1, s->protos[i].gaps);
	}
	fam(&m, "otwatch_sensor_dpi_memory_bytes", METRICS_GAUGE, "Deep-inspection reassembly and state memory in use.");
	metrics_text_sample_u64(&m, "otwatch_sensor_dpi_memory_bytes", NULL, 0, s->dpi_mem_used);
	fam(&m, "otwatch_sensor_dpi_evictions_total", METRICS_COUNTER,
	    "Flow buffers dropped to stay under the deep-inspection memory cap.");
	metrics_text_sample_u64(&m, "otwatch_sensor_dpi_evictions_total", NULL, 0, s->dpi_evictions);

	fam(&m, "otwatch_sensor_journal_backlog_records", METRICS_GAUGE,
	    "Records journaled and not yet acknowledged by the console.");
	metrics_text_sample_u64(&m, "otwatch_sensor_journal_backlog_records", NULL, 0,
				s->journal_last_seq > s->journal_acked ? s->journal_last_seq - s->journal_acked : 0);
	fam(&m, "otwatch_sensor_journal_backlog_bytes", METRICS_GAUGE, "Bytes of the journal's segments on disk.");
	metrics_text_sample_u64(&m, "otwatch_sensor_journal_backlog_bytes", NULL, 0, s->journal_bytes);
	fam(&m, "otwatch_sensor_journal_last_seq", METRICS_GAUGE, "Seq of the last record journaled.");
	metrics_text_sample_u64(&m, "otwatch_sensor_journal_last_seq", NULL, 0, s->journal_last_seq);
	fam(&m, "otwatch_sensor_journal_acked_seq", METRICS_GAUGE,
	    "Every record up to this seq was committed by the console (records acked).");
	metrics_text_sample_u64(&m, "otwatch_sensor_journal_acked_seq", NULL, 0, s->journal_acked);
	fam(&m, "otwatch_sensor_journal_lost_records_total", METRICS_COUNTER,
	    "Unacknowledged records dropped at the journal's disk cap.");
	metrics_text_sample_u64(&m, "otwatch_sensor_journal_lost_records_total", NULL, 0, s->journal_lost);

	fam(&m, "otwatch_sensor_uplink_connected", METRICS_GAUGE, "1 while the console has welcomed this sensor.");
	metrics_text_sample_u64(&m, "otwatch_sensor_uplink_connected", NULL, 0, s->uplink_connected ? 1 : 0);
	fam(&m, "otwatch_sensor_uplink_connections_total", METRICS_COUNTER, "Connections the console welcomed.");
	metrics_text_sample_u64(&m, "otwatch_sensor_uplink_connections_total", NULL, 0, s->uplink_connections);

	fam(&m, "otwatch_sensor_records_total", METRICS_COUNTER, "Records journaled for the console, per kind.");
	for (size_t i = 0; i < NKINDS; i++) {
		l[0] = (struct metrics_label){ "kind", record_kinds[i] };
		metrics_text_sample_u64(&m, "otwatch_sensor_records_total", l, 1, sm ? atomic_load(&sm->records[i]) : 0);
	}
	fam(&m, "otwatch_sensor_alerts_total", METRICS_COUNTER,
	    "Alert records raised (an alert's first record and its later occurrences), per severity.");
	for (size_t i = 0; i < NSEV; i++) {
		l[0] = (struct metrics_label){ "severity", severities[i] };
		metrics_text_sample_u64(&m, "otwatch_sensor_alerts_total", l, 1, sm ? atomic_load(&sm->alerts[i]) : 0);
	}
	fam(&m, "otwatch_sensor_scrapes_total", METRICS_COUNTER, "Requests for this document.");
	metrics_text_sample_u64(&m, "otwatch_sensor_scrapes_total", NULL, 0, sm ? atomic_load(&sm->scrapes) : 0);
	return metrics_text_take(&m, len);
}

void sensor_metrics_count_record(struct sensor_metrics *sm, json_t *record)
{
	const char *kind, *sev;
	size_t i, k;

	if (!sm)
		return;
	kind = json_string_value(json_object_get(record, "kind"));
	for (i = 0; i < NKINDS - 1 && !(kind && strcmp(kind, record_kinds[i]) == 0); i++)
		;
	atomic_fetch_add_explicit(&sm->records[i], 1, memory_order_relaxed);
	if (strcmp(record_kinds[i], "alert") != 0)
		return;
	sev = json_string_value(json_object_get(record, "severity"));
	for (k = 0; k < NSEV - 1 && !(sev && strcmp(sev, severities[k]) == 0); k++)
		;
	atomic_fetch_add_explicit(&sm->alerts[k], 1, memory_order_relaxed);
}

void sensor_metrics_publish(struct sensor_metrics *sm, const struct sensor_metrics_snapshot *snap)
{
	if (!sm)
		return;
	pthread_mutex_lock(&sm->mu);
	sm->snap = *snap;
	pthread_mutex_unlock(&sm->mu);
}

/* ---- the server ---- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends on the non-blocking fd until done, the deadline, or a stop request: a client that does not read never
 * holds the thread (and so the sensor's shutdown) longer than that. False when the answer was cut short. */
static bool send_all(struct sensor_metrics *sm, int fd, const char *p, size_t n, int64_t deadline)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };
			int64_t left = deadline - mono_ms();
			if (left <= 0 || atomic_load(&sm->stop))
				return false;
			(void)poll(&pf, 1, (int)(left < POLL_MS ? left : POLL_MS));
			continue;
		}
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void answer(struct sensor_metrics *sm, int fd, int status, const char *type, const char *body, size_t blen)
{
	int64_t deadline = mono_ms() + SENSOR_METRICS_SEND_TIMEOUT_MS;
	char head[256];
	const char *reason = status == 200 ? "OK" : status == 404 ? "Not Found" : status == 405 ? "Method Not Allowed"
			   : status == 431 ? "Request Header Fields Too Large" : status == 500 ? "Internal Server Error"
			   : "Bad Request";
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
			 status, reason, type, blen, status == 405 ? "Allow: GET\r\n" : "");

	if (n > 0 && (size_t)n < sizeof(head) && send_all(sm, fd, head, (size_t)n, deadline))
		(void)send_all(sm, fd, body, blen, deadline);
}

/* Reads one request head (bounded in size and time) and answers it. */
static void serve_one(struct sensor_metrics *sm, int fd)
{
	char buf[SENSOR_METRICS_REQ_MAX];
	size_t len = 0;
	int status = 0;
	int64_t deadline = mono_ms() + SENSOR_METRICS_REQ_TIMEOUT_MS;

	while (status == 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - mono_ms();
		ssize_t n;
		if (left <= 0 || atomic_load(&sm->stop))
			return;
		if (poll(&p, 1, (int)(left < POLL_MS ? left : POLL_MS)) <= 0)
			continue;
		n = recv(fd, buf + len, sizeof(buf) - len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n <= 0)
			return;
		len += (size_t)n;
		status = sensor_metrics_parse_request(buf, len);
		if (status == 0 && len == sizeof(buf))
			status = 431;
	}
	if (status == 200) {
		struct sensor_metrics_snapshot *snap = malloc(sizeof(*snap));
		char *doc = NULL;
		size_t dlen = 0;
		atomic_fetch_add_explicit(&sm->scrapes, 1, memory_order_relaxed);
		if (snap) {
			pthread_mutex_lock(&sm->mu);
			*snap = sm->snap;
			pthread_mutex_unlock(&sm->mu);
			doc = sensor_metrics_render(sm, snap, &dlen);
			free(snap);
		}
		if (doc)
			answer(sm, fd, 200, METRICS_CONTENT_TYPE, doc, dlen);
		else
			answer(sm, fd, 500, "text/plain", "out of memory\n", 14);
		free(doc);
		return;
	}
	answer(sm, fd, status, "text/plain", status == 404 ? "not found: GET /metrics\n" : "bad request\n",
	       status == 404 ? 24 : 12);
}

static void *server_main(void *arg)
{
	struct sensor_metrics *sm = arg;

	while (!atomic_load(&sm->stop)) {
		struct pollfd p = { .fd = sm->fd, .events = POLLIN };
		int c;
		if (poll(&p, 1, POLL_MS) <= 0)
			continue;
		/* Non-blocking: a client gone between poll and accept leaves nothing to wait for. */
		c = accept4(sm->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			continue;
		serve_one(sm, c);
		shutdown(c, SHUT_WR);
		close(c);
	}
	return NULL;
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return false;
}

int sensor_metrics_start(const char *listen_addr, struct sensor_metrics **out, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	struct sensor_metrics *sm = NULL;
	char host[256], port[8];
	int rc, one = 1, portnum;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (hostport_split(listen_addr, host, sizeof(host), &portnum) < 0) {
		snprintf(err, errlen, "--metrics-listen: expected host:port, got \"%s\"", listen_addr);
		return -EINVAL;
	}
	snprintf(port, sizeof(port), "%d", portnum);
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "--metrics-listen %s: %s", listen_addr, gai_strerror(rc));
		return -EINVAL;
	}
	rc = -ENOMEM;
	if (!(sm = calloc(1, sizeof(*sm))))
		goto fail;
	sm->fd = -1;
	pthread_mutex_init(&sm->mu, NULL);
	atomic_init(&sm->stop, false);
	for (size_t i = 0; i < NKINDS; i++)
		atomic_init(&sm->records[i], 0);
	for (size_t i = 0; i < NSEV; i++)
		atomic_init(&sm->alerts[i], 0);
	atomic_init(&sm->scrapes, 0);
	sm->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sm->fd < 0 || setsockopt(sm->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(sm->fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(sm->fd, 16) < 0) {
		rc = -errno;
		snprintf(err, errlen, "--metrics-listen %s: %s", listen_addr, strerror(errno));
		goto fail;
	}
	if (!is_loopback(ai->ai_addr))
		log_warn("run: the metrics endpoint listens on %s, not a loopback address; it has no authentication",
			 listen_addr);
	if ((rc = -pthread_create(&sm->thread, NULL, server_main, sm)) < 0) {
		snprintf(err, errlen, "--metrics-listen: cannot start its thread");
		goto fail;
	}
	sm->started = true;
	freeaddrinfo(ai);
	log_info("run: metrics on http://%s/metrics", listen_addr);
	*out = sm;
	return 0;
fail:
	freeaddrinfo(ai);
	sensor_metrics_stop(sm);
	if (rc == -ENOMEM && !*err)
		snprintf(err, errlen, "out of memory");
	return rc;
}

void sensor_metrics_stop(struct sensor_metrics *sm)
{
	if (!sm)
		return;
	atomic_store(&sm->stop, true);
	if (sm->started)
		pthread_join(sm->thread, NULL);
	if (sm->fd >= 0)
		close(sm->fd);
	pthread_mutex_destroy(&sm->mu);
	free(sm);
}
