/* server/forward_format.c, forward_rule.c and the webhook signature of forward_http.c: exact bytes of CEF, LEEF,
 * JSON, the syslog header and email, and the validation of actions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "server/forward_format.h"
#include "server/forward_http.h"
#include "server/forward_rule.h"

static struct fwd_event sample(void)
{
	struct fwd_event e = { 0 };

	e.kind = FWD_ALERT;
	e.id = 42;
	e.title = "A|B\\C=D\nE";
	e.message = "x=1 \\ y|z\r\nnext";
	e.severity = "major";
	e.engine = "protocol_violation";
	e.status = "new";
	e.protocol = "modbus";
	e.src_ip = "10.0.0.1";
	e.dst_ip = "10.0.0.2";
	e.src_mac = "00:1b:1b:00:00:01";
	e.sensor_id = "7f0c1b9e-0000-4000-8000-000000000001";
	e.sensor_name = "s|1";
	e.zone_id = 3;
	e.zone_name = "Zone=A";
	e.detected_usec = 1735732800123000; /* 2025-01-01T12:00:00.123Z */
	e.last_seen_usec = 1735732801000000;
	e.occurrences = 2;
	return e;
}

static void test_cef_escaping_and_layout(void **state)
{
	struct fwd_event e = sample();
	struct fwd_buf b = { 0 };

	(void)state;
	fwd_format_cef(&b, &e);
	assert_false(b.oom);
	assert_string_equal(b.p, "CEF:0|OTWatch|s\\|1|" OTW_VERSION "|protocol_violation|A\\|B\\\\C=D E|8|"
				 "msg=x\\=1 \\\\ y|z\\r\\nnext protocol=modbus severity=Major type=Protocol Violation "
				 "UUID=42 start=1735732800123 src_ip=10.0.0.1 src_mac=00:1b:1b:00:00:01 dst_ip=10.0.0.2 "
				 "cat=Alert end=1735732801000 cnt=2 externalId=42 "
				 "deviceExternalId=7f0c1b9e-0000-4000-8000-000000000001 outcome=new cs1Label=zone "
				 "cs1=Zone\\=A cn1Label=zone_id cn1=3");
	fwd_buf_free(&b);
}

/* The incumbent's "text" format: readable, controls as spaces, absent fields left out. */
static void test_text(void **state)
{
	struct fwd_event e = sample();
	struct fwd_buf b = { 0 };

	(void)state;
	fwd_format_text(&b, &e);
	assert_false(b.oom);
	assert_string_equal(b.p, "Major Protocol Violation alert 42: A|B\\C=D E - x=1 \\ y|z  next [protocol=modbus "
				 "src=10.0.0.1 src_mac=00:1b:1b:00:00:01 dst=10.0.0.2 sensor=s|1 zone=Zone=A]");
	fwd_buf_reset(&b);
	e = (struct fwd_event){ .kind = FWD_SYSTEM, .id = 7, .severity = "minor", .sys_kind = "sensor_silent",
				.title = "Sensor silent: s1" };
	fwd_format_text(&b, &e);
	assert_string_equal(b.p, "Minor System sensor_silent 7: Sensor silent: s1");
	fwd_buf_free(&b);
}

static void test_cef_severity_map(void **state)
{
	(void)state;
	assert_int_equal(fwd_cef_severity("warning"), 1);
	assert_int_equal(fwd_cef_severity("minor"), 4);
	assert_int_equal(fwd_cef_severity("major"), 8);
	assert_int_equal(fwd_cef_severity("critical"), 10);
	assert_int_equal(fwd_cef_severity("bogus"), 0);
}

static void test_message_cut_at_utf8_boundary(void **state)
{
	char big[FWD_MESSAGE_MAX + 8];
	struct fwd_buf b = { 0 };

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* a two-byte character straddling the limit is dropped whole */
	big[FWD_MESSAGE_MAX - 1] = (char)0xc3;
	big[FWD_MESSAGE_MAX] = (char)0xa9;
	fwd_cef_value_escape(&b, big, FWD_MESSAGE_MAX);
	assert_int_equal(b.len, FWD_MESSAGE_MAX - 1);
	fwd_buf_free(&b);
}

static void test_leef(void **state)
{
	struct fwd_event e = sample();
	struct fwd_buf b = { 0 };

	(void)state;
	fwd_format_leef(&b, &e);
	assert_string_equal(b.p, "LEEF:2.0|OTWatch|s\\|1|" OTW_VERSION "|protocol_violation|x09|"
				 "devTime=2025-01-01T12:00:00.123Z\tdevTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSX\t"
				 "cat=Protocol Violation\tsev=8\tsrc=10.0.0.1\tdst=10.0.0.2\tsrcMAC=00:1b:1b:00:00:01\t"
				 "title=A|B\\C=D E\tmsg=x=1 \\ y|z  next\tprotocol=modbus\tseverity=Major\texternalId=42\t"
				 "status=new\tcount=2\tlastSeen=2025-01-01T12:00:01.000Z\t"
				 "sensorId=7f0c1b9e-0000-4000-8000-000000000001\tsensor=s|1\tzoneId=3\tzone=Zone=A");
	fwd_buf_free(&b);
}

static void test_syslog_header_and_json(void **state)
{
	struct fwd_event e = sample();
	struct fwd_buf b = { 0 };
	json_t *j;

	(void)state;
	fwd_syslog_header(&b, 1, "console 1", &e);
	assert_string_equal(b.p, "<9>1 2025-01-01T12:00:00.123Z console-1 otwatch - alert - ");
	fwd_buf_reset(&b);
	fwd_syslog_header(&b, 16, "", &e);
	assert_string_equal(b.p, "<129>1 2025-01-01T12:00:00.123Z - otwatch - alert - ");
	fwd_buf_reset(&b);
	fwd_format_json(&b, &e);
	j = json_loads(b.p, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "title")), e.title);
	assert_string_equal(json_string_value(json_object_get(j, "detected_at")), "2025-01-01T12:00:00.123Z");
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 42);
	assert_null(json_object_get(j, "dst_mac"));
	json_decref(j);
	fwd_buf_free(&b);
}

static void test_email_no_header_injection(void **state)
{
	struct fwd_event e = sample();
	struct fwd_buf b = { 0 };
	const char *to[2] = { "a@b.test", "c@d.test" };
	const char *hdr_end;

	(void)state;
	e.title = "evil\r\nBcc: victim@x.test";
	fwd_format_email(&b, &e, "otw@x.test", to, 2, "node1", 1735732800000000);
	hdr_end = strstr(b.p, "\r\n\r\n");
	assert_non_null(hdr_end);
	assert_non_null(strstr(b.p, "Subject: [OTWatch] Major: evil  Bcc: victim@x.test\r\n"));
	assert_non_null(strstr(b.p, "To: a@b.test, c@d.test\r\n"));
	assert_non_null(strstr(b.p, "Date: Wed, 01 Jan 2025 12:00:00 +0000\r\n"));
	/* no header line starts with Bcc */
	assert_null(strstr(b.p, "\r\nBcc:"));
	fwd_buf_free(&b);
}

static void test_webhook_signature(void **state)
{
	char sig[96];

	(void)state;
	/* python3 -c 'import hmac,hashlib;print(hmac.new(b"secret-secret-secret", b"1700000000.{}",
	 * hashlib.sha256).hexdigest())' */
	fwd_webhook_signature("secret-secret-secret", 1700000000, "{}", 2, sig);
	assert_string_equal(sig, "t=1700000000,v1=9abb7ec2de5533bf35e03b3947b220889dd81b1238d43182a426463aafcc6e8c");
}

static int parse(const char *text, char field[64])
{
	char msg[160];
	struct fwd_action a;
	json_t *j = json_loads(text, 0, NULL);
	int rc;

	assert_non_null(j);
	rc = fwd_action_parse(j, &a, field, msg);
	if (rc == 0)
		fwd_action_clear(&a);
	json_decref(j);
	return rc;
}

static void test_action_validation(void **state)
{
	char field[64];

	(void)state;
	assert_int_equal(parse("{\"type\":\"syslog\",\"format\":\"cef\",\"transport\":\"udp\",\"host\":\"10.0.0.5\","
			       "\"port\":514,\"facility\":\"local3\"}", field), 0);
	assert_int_equal(parse("{\"type\":\"syslog\",\"format\":\"cef\",\"transport\":\"udp\",\"host\":\"a b\","
			       "\"port\":514}", field), -22);
	assert_string_equal(field, "action.host");
	assert_int_equal(parse("{\"type\":\"syslog\",\"format\":\"cef\",\"transport\":\"udp\",\"host\":\"h\","
			       "\"port\":514,\"facility\":\"local9\"}", field), -22);
	assert_string_equal(field, "action.facility");
	assert_int_equal(parse("{\"type\":\"syslog\",\"format\":\"cef\",\"transport\":\"tcp\",\"host\":\"h\","
			       "\"port\":514,\"client_cert_pem\":\"x\"}", field), -22);
	assert_string_equal(field, "action.client_cert_pem");
	assert_int_equal(parse("{\"type\":\"email\",\"smtp_host\":\"relay\",\"smtp_port\":25,\"from\":\"a@b\","
			       "\"to\":[\"c@d\",\"e<f>@g\"]}", field), -22);
	assert_string_equal(field, "action.to");
	assert_int_equal(parse("{\"type\":\"hec\",\"url\":\"https://s:8088\",\"token\":\"t\",\"index\":\"main\"}",
			       field), 0);
	assert_int_equal(parse("[]", field), -22);
	assert_string_equal(field, "action");
	/* No credentials in a URL (rev7 #12); a 255-byte token is allowed (and fits the header, rev7 #11). */
	assert_int_equal(parse("{\"type\":\"webhook\",\"url\":\"https://u:p@h/x\"}", field), -22);
	assert_string_equal(field, "action.url");
	assert_int_equal(parse("{\"type\":\"webhook\",\"url\":\"https://h/x?token=1\"}", field), -22);
	assert_string_equal(field, "action.url");
	assert_int_equal(parse("{\"type\":\"webhook\",\"url\":\"https://h/a@b\"}", field), 0);
}

static int same(const char *a, const char *b)
{
	json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL);
	int r;

	assert_non_null(ja);
	assert_non_null(jb);
	r = fwd_action_same_destination(ja, jb);
	json_decref(ja);
	json_decref(jb);
	return r;
}

/* rev7 #2: stored secrets follow the destination only. */
static void test_same_destination(void **state)
{
	(void)state;
	assert_true(same("{\"type\":\"hec\",\"url\":\"https://s:8088\",\"index\":\"a\"}",
			 "{\"type\":\"hec\",\"url\":\"https://s:8088\",\"token\":\"t\"}"));
	assert_false(same("{\"type\":\"hec\",\"url\":\"https://evil:8088\"}",
			  "{\"type\":\"hec\",\"url\":\"https://s:8088\",\"token\":\"t\"}"));
	assert_false(same("{\"type\":\"hec\",\"url\":\"https://s:8088\",\"ca_pem\":\"x\"}",
			  "{\"type\":\"hec\",\"url\":\"https://s:8088\"}"));
	assert_false(same("{\"type\":\"webhook\",\"url\":\"https://s:8088\"}",
			  "{\"type\":\"hec\",\"url\":\"https://s:8088\"}"));
	assert_true(same("{\"type\":\"email\",\"smtp_host\":\"r\",\"smtp_port\":25,\"to\":[\"x@y\"]}",
			 "{\"type\":\"email\",\"smtp_host\":\"r\",\"smtp_port\":25,\"password\":\"p\"}"));
	assert_false(same("{\"type\":\"email\",\"smtp_host\":\"r\",\"smtp_port\":2525}",
			  "{\"type\":\"email\",\"smtp_host\":\"r\",\"smtp_port\":25}"));
	assert_false(same("{\"type\":\"email\",\"smtp_host\":\"r\",\"smtp_port\":25,\"starttls\":false}",
			  "{\"type\":\"email\",\"smtp_host\":\"r\",\"smtp_port\":25,\"starttls\":true}"));
	assert_false(same("{\"type\":\"syslog\",\"transport\":\"tls\",\"host\":\"h\",\"port\":6514}",
			  "{\"type\":\"syslog\",\"transport\":\"tls\",\"host\":\"h2\",\"port\":6514}"));
	assert_true(same("{\"type\":\"syslog\",\"transport\":\"tls\",\"host\":\"h\",\"port\":6514,\"format\":\"cef\"}",
			 "{\"type\":\"syslog\",\"transport\":\"tls\",\"host\":\"h\",\"port\":6514,\"format\":\"json\"}"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cef_escaping_and_layout), cmocka_unit_test(test_cef_severity_map),
		cmocka_unit_test(test_message_cut_at_utf8_boundary), cmocka_unit_test(test_leef),
		cmocka_unit_test(test_syslog_header_and_json), cmocka_unit_test(test_email_no_header_injection),
		cmocka_unit_test(test_webhook_signature), cmocka_unit_test(test_action_validation),
		cmocka_unit_test(test_same_destination), cmocka_unit_test(test_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
