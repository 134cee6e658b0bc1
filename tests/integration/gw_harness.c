/* Gateway end to end, without mocks: real certificates made with the openssl CLI (including a foreign CA), the
 * real gateway and ingest writer on a throw-away PostgreSQL database (OTW_TEST_DB_URL; exit 77 = skipped
 * without it), and an lws client speaking otwatch.v1 over mutual TLS. */
#include <errno.h>
#include <libwebsockets.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/wire.h"
#include "server/gateway.h"
#include "tests/integration/gw_testdb.h"

#define SA "5a5a5a5a-0000-4000-8000-00000000000a" /* valid */
#define SR "5a5a5a5a-0000-4000-8000-00000000000e" /* revoked serial */
#define MAX_FRAME (64 * 1024)

static char dir[256], dbname[64], *dbinfo;
static const char *admin_url;
static int port, failures;
static PGconn *db;
static struct gateway *gw;

#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			failures++;                                                                          \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                      \
			fprintf(stderr, __VA_ARGS__);                                                        \
			fputc('\n', stderr);                                                                 \
		}                                                                                            \
	} while (0)

__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* ---- certificates ---- */

static int make_ca(const char *name)
{
	return sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key "
		  "-out %s.crt -subj /CN=%s -days 2 2>/dev/null >/dev/null",
		  dir, name, name, name);
}

static int make_cert(const char *name, const char *cn, const char *ca, const char *ext)
{
	return sh("cd %s && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key "
		  "-out %s.csr -subj /CN=%s 2>/dev/null >/dev/null && printf '%s\\n' > %s.ext && "
		  "openssl x509 -req -in %s.csr -CA %s.crt -CAkey %s.key -CAcreateserial -days 2 -extfile %s.ext "
		  "-out %s.crt 2>/dev/null >/dev/null",
		  dir, name, name, cn, ext, name, name, ca, ca, name, name);
}

static void cert_serial(const char *name, char *out, size_t len)
{
	char path[512], line[256] = "";
	FILE *p;

	snprintf(path, sizeof(path), "openssl x509 -in %s/%s.crt -noout -serial", dir, name);
	p = popen(path, "r");
	if (!p || !fgets(line, sizeof(line), p))
		line[0] = '\0';
	if (p)
		pclose(p);
	line[strcspn(line, "\r\n")] = '\0';
	snprintf(out, len, "%s", strchr(line, '=') ? strchr(line, '=') + 1 : "");
}

/* ---- the client ---- */

struct run {
	const char *const *msgs; /* sent one by one: message i after i replies arrived */
	size_t nmsgs;
	bool fragment;   /* send each message in two fragments */
	bool kick;       /* kick the sensor after the first reply */
	size_t sent, half;
	bool established, closed, done, error;
	int close_code;
	char close_reason[128];
	char replies[8][256];
	size_t nreplies;
};

static struct run *cur;
static lws_sorted_usec_list_t deadline;

static void on_deadline(lws_sorted_usec_list_t *sul) { cur->done = true; }

static int client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct run *r = cur;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		r->established = true;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE: {
		if (r->sent >= r->nmsgs || r->nreplies < r->sent)
			break;
		const char *m = r->msgs[r->sent];
		size_t n = strlen(m), from = 0, to = n;
		int flags = LWS_WRITE_TEXT;
		if (r->fragment) {
			if (r->half == 0) {
				to = n / 2;
				flags = LWS_WRITE_TEXT | LWS_WRITE_NO_FIN;
			} else {
				from = n / 2;
				flags = LWS_WRITE_CONTINUATION;
			}
		}
		unsigned char *buf = malloc(LWS_PRE + (to - from) + 1);
		memcpy(buf + LWS_PRE, m + from, to - from);
		int w = lws_write(wsi, buf + LWS_PRE, to - from, (enum lws_write_protocol)flags);
		free(buf);
		if (w < 0)
			return -1;
		if (r->fragment && r->half == 0) {
			r->half = 1;
			lws_callback_on_writable(wsi);
		} else {
			r->half = 0;
			r->sent++;
		}
		break;
	}
	case LWS_CALLBACK_CLIENT_RECEIVE:
		/* The config and indicators messages after a welcome (and on changes) answer no message sent here;
		 * tests/integration/test_devices.py and test_alerts_console.py check them. */
		if (memmem(in, len, "\"type\":\"config\"", 15) || memmem(in, len, "\"type\":\"indicators\"", 19))
			break;
		if (r->nreplies < 8)
			snprintf(r->replies[r->nreplies], sizeof(r->replies[0]), "%.*s", (int)len, (const char *)in);
		r->nreplies++;
		if (r->kick && r->nreplies == 1)
			gateway_kick_sensor(gw, SA, "sensor deleted");
		if (r->sent < r->nmsgs)
			lws_callback_on_writable(wsi);
		else if (!r->kick)
			r->done = true;
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2) {
			const unsigned char *p = in;
			r->close_code = (p[0] << 8) | p[1];
			snprintf(r->close_reason, sizeof(r->close_reason), "%.*s", (int)(len - 2), (const char *)in + 2);
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		r->error = true;
		r->done = true;
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		r->closed = true;
		r->done = true;
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		r->done = true;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols client_protocols[] = {
	{ WIRE_SUBPROTOCOL, client_cb, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* Connects with certificate `name` (NULL: none), plays r, and returns when the exchange ended. */
static void run_client(const char *name, struct run *r)
{
	struct lws_context_creation_info info;
	struct lws_client_connect_info ci;
	struct lws_context *ctx;
	char cert[512], key[512], ca[512];

	cur = r;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = client_protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	info.client_ssl_ca_filepath = ca;
	if (name) {
		snprintf(cert, sizeof(cert), "%s/%s.crt", dir, name);
		snprintf(key, sizeof(key), "%s/%s.key", dir, name);
		info.client_ssl_cert_filepath = cert;
		info.client_ssl_private_key_filepath = key;
	}
	ctx = lws_create_context(&info);
	if (!ctx) {
		CHECK(ctx, "client context");
		return;
	}
	memset(&ci, 0, sizeof(ci));
	ci.context = ctx;
	ci.address = "127.0.0.1";
	ci.port = port;
	ci.path = "/";
	ci.host = "localhost";
	ci.origin = "localhost";
	ci.protocol = WIRE_SUBPROTOCOL;
	ci.ssl_connection = LCCSCF_USE_SSL;
	memset(&deadline, 0, sizeof(deadline));
	lws_sul_schedule(ctx, 0, &deadline, on_deadline, 8 * LWS_US_PER_SEC);
	if (!lws_client_connect_via_info(&ci))
		r->done = r->error = true;
	while (!r->done)
		if (lws_service(ctx, 0) < 0)
			break;
	lws_sul_cancel(&deadline);
	lws_context_destroy(ctx);
	cur = NULL;
}

/* ---- scenarios ---- */

static char hello_a[512], hello_r[512];

static const char *batch_json(int from, const char *second_port)
{
	static char buf[2048];
	snprintf(buf, sizeof(buf),
		 "{\"type\":\"batch\",\"seq_from\":%d,\"seq_to\":%d,\"records\":["
		 "{\"seq\":%d,\"kind\":\"device\",\"key\":\"ip:10.0.0.9\",\"macs\":[],\"ips\":[\"10.0.0.9\"],"
		 "\"vlans\":[],\"vendor\":null,\"hostname\":null,\"type\":null,\"protocols\":[],"
		 "\"first_seen\":\"2024-01-01T00:00:00Z\",\"last_seen\":\"2024-01-01T00:00:01Z\"},"
		 "{\"seq\":%d,\"kind\":\"connection\",\"transport\":\"udp\",\"src_addr\":\"10.0.0.1\","
		 "\"dst_addr\":\"10.0.0.9\",\"port\":%s,\"broadcast\":false,\"protocols\":[],\"packets\":3,"
		 "\"bytes\":300,\"first_seen\":\"2024-01-01T00:00:00Z\",\"last_seen\":\"2024-01-01T00:00:01Z\"}]}",
		 from, from + 1, from, from + 1, second_port);
	return buf;
}

static long long q(const char *sql) { return testdb_num(db, sql); }

static bool wait_for(const char *sql, long long want)
{
	for (int i = 0; i < 50; i++) {
		if (q(sql) == want)
			return true;
		usleep(100000);
	}
	return false;
}

static void scenario_valid(void)
{
	char b[2048];
	snprintf(b, sizeof(b), "%s", batch_json(1, "47808"));
	const char *msgs[] = { hello_a, b };
	struct run r = { .msgs = msgs, .nmsgs = 2, .fragment = true };

	run_client("a", &r);
	CHECK(r.established, "valid client not established");
	CHECK(r.nreplies == 2, "%zu replies", r.nreplies);
	CHECK(strstr(r.replies[0], "\"welcome\"") && strstr(r.replies[0], "\"applied_seq\":0"), "%s", r.replies[0]);
	CHECK(strstr(r.replies[1], "\"ack\"") && strstr(r.replies[1], "\"seq\":2"), "%s", r.replies[1]);
	CHECK(q("select applied_seq from sensors where id = '" SA "'") == 2, "applied_seq");
	CHECK(q("select count(*) from devices") == 1, "devices");
	CHECK(q("select packets from connection_sightings") == 3, "packets");
	CHECK(q("select count(*) from sensors where id = '" SA "' and software_version = '0.9.1'"
		" and last_seen is not null") == 1,
	      "hello marks");
	CHECK(wait_for("select count(*) from sensors where connected", 0), "connected not cleared on close");

	/* Reconnect: welcome carries the applied seq; a resent batch is acked and changes nothing. */
	struct run r2 = { .msgs = msgs, .nmsgs = 2 };
	run_client("a", &r2);
	CHECK(r2.nreplies == 2 && strstr(r2.replies[0], "\"applied_seq\":2") && strstr(r2.replies[1], "\"seq\":2"),
	      "resend: %s / %s", r2.replies[0], r2.replies[1]);
	CHECK(q("select packets from connection_sightings") == 3, "resend applied twice");
}

static void scenario_refused_tls(const char *cert, const char *what)
{
	struct run r = { .msgs = (const char *[]){ hello_a }, .nmsgs = 1 };

	run_client(cert, &r);
	CHECK(!r.established, "%s: reached the gateway", what);
	CHECK(r.nreplies == 0, "%s: got a reply: %s", what, r.replies[0]);
}

static void expect_close(const char *cert, const char *const *msgs, size_t n, int code, const char *reason,
			 const char *what)
{
	struct run r = { .msgs = msgs, .nmsgs = n };

	run_client(cert, &r);
	CHECK(r.established, "%s: not established", what);
	CHECK(r.close_code == code, "%s: close %d \"%s\", want %d", what, r.close_code, r.close_reason, code);
	CHECK(!reason || strstr(r.close_reason, reason), "%s: reason \"%s\"", what, r.close_reason);
}

static void scenarios(void)
{
	char bad_major[512], wrong_id[512], malformed[2048], *big;

	scenario_valid();
	scenario_refused_tls(NULL, "no certificate");
	scenario_refused_tls("foreign", "foreign-CA certificate");

	expect_close("r", (const char *[]){ hello_r }, 1, 4003, "sensor revoked or unknown", "revoked serial");

	snprintf(bad_major, sizeof(bad_major),
		 "{\"type\":\"hello\",\"proto\":\"2.0\",\"sensor_id\":\"" SA "\",\"version\":\"9\","
		 "\"mode\":\"learning\",\"first_seq\":1,\"last_seq\":1}");
	expect_close("a", (const char *[]){ bad_major }, 1, 4001, "unsupported protocol version 2 (console speaks 1)",
		     "bad major");

	snprintf(wrong_id, sizeof(wrong_id),
		 "{\"type\":\"hello\",\"proto\":\"1.0\",\"sensor_id\":\"" SR "\",\"version\":\"9\","
		 "\"mode\":\"learning\",\"first_seq\":1,\"last_seq\":1}");
	expect_close("a", (const char *[]){ wrong_id }, 1, 4003, "does not match", "CN mismatch");

	/* Malformed: record 2 of the batch is bad; record 1 must not be applied either. */
	snprintf(malformed, sizeof(malformed), "%s", batch_json(3, "70000"));
	expect_close("a", (const char *[]){ hello_a, malformed }, 2, 4002, "records[1].port", "malformed batch");
	expect_close("a", (const char *[]){ hello_a, "{\"type\":\"batch\",\"seq_from\":3," }, 2, 4002, "not JSON",
		     "malformed JSON");
	CHECK(q("select applied_seq from sensors where id = '" SA "'") == 2, "malformed batch applied");
	CHECK(q("select count(*) from devices") == 1, "malformed batch applied a device");

	expect_close("a", (const char *[]){ "{\"type\":\"batch\",\"seq_from\":3,\"seq_to\":3,\"records\":[]}" }, 1,
		     4002, NULL, "batch before hello");

	/* Oversized: 100 KB after the hello (limit 64 KiB), 5 KB before it (limit 4 KiB). */
	big = malloc(100 * 1024 + 64);
	memset(big, ' ', 100 * 1024);
	strcpy(big + 100 * 1024, "{}");
	expect_close("a", (const char *[]){ hello_a, big }, 2, 1009, "larger than 65536", "oversized");
	big[5 * 1024] = '\0';
	expect_close("a", (const char *[]){ big }, 1, 1009, "larger than 4096", "oversized before hello");
	free(big);

	/* Revocation while connected. */
	struct run r = { .msgs = (const char *[]){ hello_a }, .nmsgs = 1, .kick = true };
	run_client("a", &r);
	CHECK(r.close_code == 4003 && strstr(r.close_reason, "sensor deleted"), "kick: %d %s", r.close_code,
	      r.close_reason);
	CHECK(wait_for("select count(*) from sensors where connected", 0), "connected after kick");
}

static int setup(void)
{
	char serial_a[128], serial_r[128], sql[1024];

	snprintf(dir, sizeof(dir), "/tmp/otw-gw-harness.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	if (make_ca("ca") || make_ca("foreignca") ||
	    make_cert("server", "localhost", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost") ||
	    make_cert("a", SA, "ca", "extendedKeyUsage=clientAuth") ||
	    make_cert("r", SR, "ca", "extendedKeyUsage=clientAuth") ||
	    make_cert("foreign", SA, "foreignca", "extendedKeyUsage=clientAuth")) {
		fprintf(stderr, "gw_harness: openssl failed\n");
		return -1;
	}
	cert_serial("a", serial_a, sizeof(serial_a));
	cert_serial("r", serial_r, sizeof(serial_r));
	snprintf(dbname, sizeof(dbname), "otw_t_gw_%d", (int)getpid());
	dbinfo = testdb_create(admin_url, dbname);
	if (!dbinfo)
		return -1;
	db = PQconnectdb(dbinfo);
	if (PQstatus(db) != CONNECTION_OK)
		return -1;
	/* Serials as openssl prints them (uppercase): the gateway compares without case and leading zeros. */
	snprintf(sql, sizeof(sql),
		 "insert into sensors (id, name, cert_serial) values ('" SA "', 'a', '%s'), ('" SR "', 'r', '%s');"
		 "insert into revoked_certificates (serial, sensor_id) values ('%s', '" SR "')",
		 serial_a, serial_r, serial_r);
	if (testdb_exec(db, sql))
		return -1;
	snprintf(hello_a, sizeof(hello_a),
		 "{\"type\":\"hello\",\"proto\":\"1.0\",\"sensor_id\":\"" SA "\",\"version\":\"0.9.1\","
		 "\"mode\":\"learning\",\"first_seq\":1,\"last_seq\":2}");
	snprintf(hello_r, sizeof(hello_r),
		 "{\"type\":\"hello\",\"proto\":\"1.0\",\"sensor_id\":\"" SR "\",\"version\":\"0.9.1\","
		 "\"mode\":\"learning\",\"first_seq\":1,\"last_seq\":2}");
	return 0;
}

int main(void)
{
	char ca[512], crt[512], key[512];
	struct gateway_opts o = { 0 };
	int rc;

	admin_url = getenv("OTW_TEST_DB_URL");
	if (!admin_url || !admin_url[0]) {
		printf("gw_harness: OTW_TEST_DB_URL not set; skipped\n");
		return 77;
	}
	if (getenv("OTW_LOG_LEVEL") && log_set_level_name(getenv("OTW_LOG_LEVEL")) < 0)
		return 2;
	if (setup()) {
		fprintf(stderr, "gw_harness: setup failed\n");
		rc = 1;
		goto out;
	}
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	snprintf(crt, sizeof(crt), "%s/server.crt", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	port = 20000 + (int)(getpid() % 20000);
	o.listen_addr = "127.0.0.1";
	o.port = port;
	o.ca_cert_path = ca;
	o.cert_path = crt;
	o.key_path = key;
	o.db_url = dbinfo;
	o.queue_max = 4;
	o.max_frame_bytes = MAX_FRAME;
	/* Put the foreign CA into OpenSSL's default trust store too (SSL_CERT_FILE): the gateway must trust its own
	 * CA only, never the operating system's, or any certificate from a public CA would pass the TLS check. */
	{
		char foreign[512];
		snprintf(foreign, sizeof(foreign), "%s/foreignca.crt", dir);
		setenv("SSL_CERT_FILE", foreign, 1);
	}
	if ((rc = gateway_start(&o, &gw)) < 0) {
		fprintf(stderr, "gw_harness: gateway_start: %s\n", strerror(-rc));
		rc = 1;
		goto out;
	}
	scenarios();
	gateway_stop(gw);
	rc = failures ? 1 : 0;
	printf("gw_harness: %s (%d failures)\n", rc ? "FAILED" : "ok", failures);
out:
	PQfinish(db);
	if (dbname[0])
		testdb_drop(admin_url, dbname);
	free(dbinfo);
	if (dir[0])
		sh("rm -rf %s", dir);
	return rc;
}
