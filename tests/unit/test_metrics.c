/* The Prometheus text writer (sensor-agent/metrics_text.c), the sensor's metrics request parser, document and
 * server, and the health record's /proc parsers. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sensor-agent/health.h"
#include "sensor-agent/metrics.h"
#include "sensor-agent/metrics_text.h"

static char *take(struct metrics_text *m)
{
	size_t len = 0;
	char *doc = metrics_text_take(m, &len);

	assert_non_null(doc);
	assert_int_equal(len, strlen(doc));
	return doc;
}

static void escapes_label_values_and_help(void **state)
{
	struct metrics_text m;
	struct metrics_label l[2] = { { "path", "C:\\dir\\\"x\"" }, { "note", "two\nlines" } };
	char *doc;

	metrics_text_init(&m);
	metrics_text_family(&m, "otw_test_total", METRICS_COUNTER, "Help with a \\ backslash\nand a newline \"quoted\".");
	metrics_text_sample_u64(&m, "otw_test_total", l, 2, 18446744073709551615ull);
	doc = take(&m);
	assert_string_equal(doc, "# HELP otw_test_total Help with a \\\\ backslash\\nand a newline \"quoted\".\n"
				 "# TYPE otw_test_total counter\n"
				 "otw_test_total{path=\"C:\\\\dir\\\\\\\"x\\\"\",note=\"two\\nlines\"} 18446744073709551615\n");
	free(doc);
}

static void writes_values(void **state)
{
	struct metrics_text m;
	char *doc;

	metrics_text_init(&m);
	metrics_text_family(&m, "g", METRICS_GAUGE, "");
	metrics_text_sample(&m, "g", NULL, 0, 0.5);
	metrics_text_sample(&m, "g", NULL, 0, NAN);
	metrics_text_sample(&m, "g", NULL, 0, INFINITY);
	metrics_text_sample(&m, "g", NULL, 0, -INFINITY);
	metrics_text_sample(&m, "g", NULL, 0, 3);
	doc = take(&m);
	assert_string_equal(doc, "# HELP g \n# TYPE g gauge\ng 0.5\ng NaN\ng +Inf\ng -Inf\ng 3\n");
	free(doc);
}

static void writes_histograms(void **state)
{
	static const double bounds[] = { 0.01, 0.1, 1 };
	static const uint64_t counts[] = { 2, 0, 3 };
	struct metrics_label l = { "writer", "0" };
	struct metrics_text m;
	char *doc;

	metrics_text_init(&m);
	metrics_text_family(&m, "tx_seconds", METRICS_HISTOGRAM, "Transaction time.");
	metrics_text_histogram(&m, "tx_seconds", &l, 1, bounds, counts, 3, 1, 2.5);
	doc = take(&m);
	assert_string_equal(doc, "# HELP tx_seconds Transaction time.\n# TYPE tx_seconds histogram\n"
				 "tx_seconds_bucket{writer=\"0\",le=\"0.01\"} 2\n"
				 "tx_seconds_bucket{writer=\"0\",le=\"0.1\"} 2\n"
				 "tx_seconds_bucket{writer=\"0\",le=\"1\"} 5\n"
				 "tx_seconds_bucket{writer=\"0\",le=\"+Inf\"} 6\n"
				 "tx_seconds_sum{writer=\"0\"} 2.5\n"
				 "tx_seconds_count{writer=\"0\"} 6\n");
	free(doc);
}

/* Misuse fails the whole document rather than emitting text Prometheus rejects. */
static void refuses_misuse(void **state)
{
	struct metrics_text m;
	struct metrics_label bad = { "__reserved", "x" }, bad2 = { "9lives", "x" };
	size_t len;

	metrics_text_init(&m);
	metrics_text_sample(&m, "orphan", NULL, 0, 1); /* no family declared */
	assert_null(metrics_text_take(&m, &len));

	metrics_text_init(&m);
	metrics_text_family(&m, "a", METRICS_GAUGE, "");
	metrics_text_sample(&m, "b", NULL, 0, 1); /* another family's name */
	assert_null(metrics_text_take(&m, &len));

	metrics_text_init(&m);
	metrics_text_family(&m, "a", METRICS_GAUGE, "");
	metrics_text_sample(&m, "a_bucket", NULL, 0, 1); /* histogram parts of a gauge */
	assert_null(metrics_text_take(&m, &len));

	metrics_text_init(&m);
	metrics_text_family(&m, "a-b", METRICS_GAUGE, "");
	assert_null(metrics_text_take(&m, &len));

	metrics_text_init(&m);
	metrics_text_family(&m, "a", METRICS_GAUGE, "");
	metrics_text_sample(&m, "a", &bad, 1, 1);
	assert_null(metrics_text_take(&m, &len));

	metrics_text_init(&m);
	metrics_text_family(&m, "a", METRICS_GAUGE, "");
	metrics_text_sample(&m, "a", &bad2, 1, 1);
	assert_null(metrics_text_take(&m, &len));

	metrics_text_init(&m);
	metrics_text_family(&m, "a", METRICS_GAUGE, "");
	metrics_text_family(&m, "a", METRICS_GAUGE, ""); /* declared twice */
	assert_null(metrics_text_take(&m, &len));

	assert_true(metrics_text_valid_name("otwatch_x:y_1"));
	assert_false(metrics_text_valid_name("1x"));
	assert_false(metrics_text_valid_name(""));
	assert_true(metrics_text_valid_label("_x1"));
	assert_false(metrics_text_valid_label("a:b"));
}

static void parses_requests(void **state)
{
#define REQ(s) sensor_metrics_parse_request(s, strlen(s))
	assert_int_equal(REQ("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
	assert_int_equal(REQ("GET /metrics?x=1 HTTP/1.0\n\n"), 200);
	assert_int_equal(REQ("GET /metrics HTTP/1.1\r\nHost: x\r\n"), 0); /* head not complete */
	assert_int_equal(REQ("GET /metr"), 0);
	assert_int_equal(REQ("GET / HTTP/1.1\r\n\r\n"), 404);
	assert_int_equal(REQ("GET /metricsx HTTP/1.1\r\n\r\n"), 404);
	assert_int_equal(REQ("POST /metrics HTTP/1.1\r\n\r\n"), 405);
	assert_int_equal(REQ("GET /metrics HTTP/2.0\r\n\r\n"), 400);
	assert_int_equal(REQ("GET metrics HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(REQ("GET  /metrics HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(REQ("get /metrics HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(REQ("\r\n\r\n"), 400);
	assert_int_equal(sensor_metrics_parse_request("GET /\0metrics HTTP/1.1\r\n\r\n", 26), 400);
#undef REQ
}

static void renders_sensor_document(void **state)
{
	struct sensor_metrics_snapshot s = { .packets = 10, .kernel_drops = 2, .nprotos = 1,
					     .journal_last_seq = 7, .journal_acked = 5, .uplink_connected = true };
	size_t len = 0;
	char *doc;

	snprintf(s.source, sizeof(s.source), "eth\"1");
	snprintf(s.protos[0].name, sizeof(s.protos[0].name), "mbtcp");
	s.protos[0].malformed = 3;
	doc = sensor_metrics_render(NULL, &s, &len); /* no listener: the record counters read as zero */
	assert_non_null(doc);
	assert_int_equal(len, strlen(doc));
	assert_non_null(strstr(doc, "\notwatch_sensor_packets_total{interface=\"eth\\\"1\"} 10\n"));
	assert_non_null(strstr(doc, "\notwatch_sensor_drops_total{interface=\"eth\\\"1\",reason=\"kernel\"} 2\n"));
	assert_non_null(strstr(doc, "\notwatch_sensor_parser_errors_total{protocol=\"mbtcp\"} 3\n"));
	assert_non_null(strstr(doc, "\notwatch_sensor_journal_backlog_records 2\n"));
	assert_non_null(strstr(doc, "\notwatch_sensor_uplink_connected 1\n"));
	assert_non_null(strstr(doc, "\notwatch_sensor_records_total{kind=\"alert\"} 0\n"));
	free(doc);

	/* Before the run loop's first snapshot: no interface yet, so no per-interface sample (no stray series). */
	memset(&s, 0, sizeof(s));
	s.nprotos = 1;
	snprintf(s.protos[0].name, sizeof(s.protos[0].name), "dnp3");
	s.protos[0].gaps = 4;
	doc = sensor_metrics_render(NULL, &s, &len);
	assert_non_null(doc);
	assert_null(strstr(doc, "interface="));
	assert_non_null(strstr(doc, "# TYPE otwatch_sensor_packets_total counter\n"));
	assert_non_null(strstr(doc, "\notwatch_sensor_parser_gaps_total{protocol=\"dnp3\"} 4\n"));
	free(doc);
}

struct stopper {
	struct sensor_metrics *sm;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool done;
};

static void *stop_main(void *arg)
{
	struct stopper *st = arg;

	sensor_metrics_stop(st->sm);
	pthread_mutex_lock(&st->mu);
	st->done = true;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

/* A scraper that asks and never reads its answer must not hold the server's thread, and with it the sensor's
 * shutdown (sensor_metrics_stop joins that thread). What this shows is that stop returns with such a client
 * connected. It does not reproduce a full send buffer: loopback buffers the whole (enlarged) document, so the
 * blocking send() of the first version passed it too; the deadline on sends (metrics.c) is checked by reading. */
static void stop_is_not_held_by_a_client_that_never_reads(void **state)
{
	struct sensor_metrics_snapshot *s = calloc(1, sizeof(*s));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct stopper st = { .done = false };
	const char req[] = "GET /metrics HTTP/1.1\r\n\r\n";
	char listen_addr[32], err[128];
	struct timespec until;
	pthread_t t;
	int fd, small = 1024, rc = 0;

	(void)state;
	assert_non_null(s);
	/* A free port: bound by the kernel, then released for the server. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	snprintf(listen_addr, sizeof(listen_addr), "127.0.0.1:%u", ntohs(a.sin_port));
	assert_int_equal(sensor_metrics_start(listen_addr, &st.sm, err, sizeof(err)), 0);

	snprintf(s->source, sizeof(s->source), "eth0");
	s->nprotos = SENSOR_METRICS_PROTOS;
	for (size_t i = 0; i < SENSOR_METRICS_PROTOS; i++) {
		snprintf(s->protos[i].name, sizeof(s->protos[i].name), "protocol-with-a-long-name-%04zu", i);
		s->protos[i].pdus = s->protos[i].malformed = s->protos[i].violations = s->protos[i].gaps = UINT64_MAX;
	}
	sensor_metrics_publish(st.sm, s);
	free(s);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(send(fd, req, sizeof(req) - 1, 0), (ssize_t)(sizeof(req) - 1));
	/* Give the server time to be in the middle of its answer (not a timing assertion: the stop must return
	 * whether or not it got there). */
	nanosleep(&(struct timespec){ .tv_sec = 0, .tv_nsec = 500 * 1000000L }, NULL);

	pthread_mutex_init(&st.mu, NULL);
	pthread_cond_init(&st.cond, NULL);
	assert_int_equal(pthread_create(&t, NULL, stop_main, &st), 0);
	/* Generous bound: without the fix the stop never returns. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	pthread_mutex_lock(&st.mu);
	while (!st.done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&st.cond, &st.mu, &until);
	pthread_mutex_unlock(&st.mu);
	assert_true(st.done);
	pthread_join(t, NULL);
	close(fd);
	pthread_mutex_destroy(&st.mu);
	pthread_cond_destroy(&st.cond);
}

static void parses_proc_files(void **state)
{
	uint64_t busy, total, mt, ma;

	assert_int_equal(health_parse_stat("cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 1 2 3 4\n", &busy, &total), 0);
	assert_int_equal(total, 1000);
	assert_int_equal(busy, 160);
	assert_int_equal(health_parse_stat("cpu  1 2 3 4\n", &busy, &total), 0); /* old kernels: 4 columns */
	assert_int_equal(total, 10);
	assert_int_equal(busy, 6);
	assert_int_not_equal(health_parse_stat("cpu0 1 2 3 4\n", &busy, &total), 0);
	assert_int_not_equal(health_parse_stat("cpu  1 2\n", &busy, &total), 0);
	assert_int_not_equal(health_parse_stat("cpu  99999999999999999999 1 1 1\n", &busy, &total), 0);
	assert_int_equal(health_parse_meminfo("MemTotal:       16000 kB\nMemFree:  100 kB\nMemAvailable:    8000 kB\n",
					      &mt, &ma),
			 0);
	assert_int_equal(mt, 16000 * 1024);
	assert_int_equal(ma, 8000 * 1024);
	assert_int_equal(health_parse_meminfo("MemTotal: 4 kB\nMemFree: 2 kB\n", &mt, &ma), 0);
	assert_int_equal(ma, 2048);
	assert_int_not_equal(health_parse_meminfo("MemFree: 2 kB\n", &mt, &ma), 0);
	assert_int_not_equal(health_parse_meminfo("MemTotalX: 2 kB\nMemFree: 1 kB\n", &mt, &ma), 0);
}

/* A sample on this machine carries every figure, in range. */
static void samples_health(void **state)
{
	struct health h;
	json_t *rec;

	health_init(&h, "/", 60);
	assert_true(health_due(&h, h.start_usec)); /* the first is due at once */
	rec = health_sample(&h, &(struct health_inputs){ .source = "eth1", .capture_packets = 5, .capture_drops = 1,
							 .journal_last_seq = 10, .journal_acked = 4, .journal_bytes = 99 },
			    h.start_usec + 1000000);
	assert_non_null(rec);
	assert_string_equal(json_string_value(json_object_get(rec, "event")), "system");
	assert_int_equal(json_integer_value(json_object_get(rec, "journal_backlog_records")), 6);
	assert_int_equal(json_integer_value(json_object_get(rec, "uptime_sec")), 1);
	assert_true(json_integer_value(json_object_get(rec, "mem_total_bytes")) > 0);
	assert_true(json_integer_value(json_object_get(rec, "mem_rss_bytes")) > 0);
	assert_true(json_integer_value(json_object_get(rec, "disk_total_bytes")) > 0);
	assert_false(health_due(&h, h.start_usec + 2000000));
	assert_true(health_due(&h, h.start_usec + 61000000));
	json_decref(rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escapes_label_values_and_help),
		cmocka_unit_test(writes_values),
		cmocka_unit_test(writes_histograms),
		cmocka_unit_test(refuses_misuse),
		cmocka_unit_test(parses_requests),
		cmocka_unit_test(renders_sensor_document),
		cmocka_unit_test(stop_is_not_held_by_a_client_that_never_reads),
		cmocka_unit_test(parses_proc_files),
		cmocka_unit_test(samples_health),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
