/* The malware engine (indicators.c): bundle validation with errors naming the field, limits, domain /
 * subdomain, SNI, CIDR (IPv4, IPv6, mapped) and file-name matching, a 100k-indicator bundle, loading files,
 * the alerts it raises (titles, addresses, severities, the DNS answer rule, messages kept valid), and the
 * names the dissectors hand to it (PROTO_OBS_NAME). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <errno.h>
#include <arpa/inet.h>

#include "sensor-agent/alerts.h"
#include "sensor-agent/indicators.h"
#include "tests/unit/proto_harness.h"

#define SEC 1000000LL

static struct indicators *parse_text(const char *text, int want, const char *want_err)
{
	json_error_t je;
	json_t *doc = json_loads(text, 0, &je);
	struct indicators *ind = NULL;
	char err[256] = "";
	int r;

	if (!doc)
		fail_msg("test JSON: %s: %s", je.text, text);
	r = indicators_parse(doc, &ind, err, sizeof(err));
	json_decref(doc);
	if (r != want || (want_err && !strstr(err, want_err)))
		fail_msg("%s\n  got %d \"%s\", want %d \"%s\"", text, r, err, want, want_err ? want_err : "");
	if (r == 0)
		assert_non_null(ind);
	else
		assert_null(ind);
	return ind;
}

static const char *domain(const struct indicators *ind, const char *name)
{
	const struct indicator *it = indicators_match_domain(ind, name, strlen(name));
	return it ? it->value : NULL;
}

static const char *sni(const struct indicators *ind, const char *name)
{
	const struct indicator *it = indicators_match_sni(ind, name, strlen(name));
	return it ? it->value : NULL;
}

static const char *file(const struct indicators *ind, const char *name)
{
	const struct indicator *it = indicators_match_file(ind, name, strlen(name));
	return it ? it->value : NULL;
}

static const char *ip(const struct indicators *ind, const char *addr)
{
	uint8_t a[16];
	const struct indicator *it = NULL;

	if (inet_pton(AF_INET, addr, a) == 1)
		it = indicators_match_ip(ind, 4, a);
	else if (inet_pton(AF_INET6, addr, a) == 1)
		it = indicators_match_ip(ind, 6, a);
	else
		fail_msg("bad test address %s", addr);
	return it ? it->value : NULL;
}

static void test_parse(void **s)
{
	struct indicators *ind;
	const struct indicator *it;
	(void)s;

	ind = parse_text("{\"name\": \"acme\", \"version\": \"2026.05\", \"indicators\": ["
			 "{\"type\": \"ip\", \"value\": \"203.0.113.66\"},"
			 "{\"type\": \"domain\", \"value\": \"evil.example\", \"description\": \"C2\", \"severity\": \"minor\","
			 " \"reference\": \"https://ti.example/1\"},"
			 "{\"type\": \"sni\", \"value\": \"beacon.example\", \"description\": null},"
			 "{\"type\": \"file_name\", \"value\": \"mimikatz.exe\", \"severity\": \"warning\"}]}",
			 0, NULL);
	assert_int_equal(indicators_count(ind), 4);
	assert_string_equal(indicators_name(ind), "acme");
	assert_string_equal(indicators_version(ind), "2026.05");
	it = indicators_match_domain(ind, "evil.example", 12);
	assert_non_null(it);
	assert_int_equal(it->type, INDICATOR_DOMAIN);
	assert_string_equal(it->severity, "minor");
	assert_string_equal(it->description, "C2");
	assert_string_equal(it->reference, "https://ti.example/1");
	it = indicators_match_sni(ind, "beacon.example", 14);
	assert_non_null(it);
	assert_string_equal(it->severity, "critical"); /* the default */
	assert_string_equal(it->description, "");
	assert_string_equal(it->reference, "");
	assert_string_equal(file(ind, "MIMIKATZ.EXE"), "mimikatz.exe");
	assert_string_equal(indicators_match_file(ind, "mimikatz.exe", 12)->severity, "warning");
	indicators_free(ind);

	ind = parse_text("{\"name\": \"empty\", \"version\": \"0\", \"indicators\": []}", 0, NULL);
	assert_int_equal(indicators_count(ind), 0);
	assert_null(ip(ind, "203.0.113.66"));
	assert_null(domain(ind, "evil.example"));
	indicators_free(ind);
	indicators_free(NULL);
	assert_null(indicators_match_domain(NULL, "x", 1));
}

static void test_errors(void **s)
{
	static const struct {
		const char *json, *err;
	} cases[] = {
		{ "[]", "bundle: not a JSON object" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [], \"extra\": 1}", "bundle: unknown field \"extra\"" },
		{ "{\"version\": \"1\", \"indicators\": []}", "name: missing" },
		{ "{\"name\": 5, \"version\": \"1\", \"indicators\": []}", "name: not a string" },
		{ "{\"name\": \"\", \"version\": \"1\", \"indicators\": []}", "name: empty" },
		{ "{\"name\": \"a\", \"version\": null, \"indicators\": []}", "version: missing" },
		{ "{\"name\": \"a\", \"version\": \"1\"}", "indicators: missing" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": {}}", "indicators: not an array" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [7]}", "indicators[0]: not an object" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"ip\", \"value\": \"1.2.3.4\"},"
		  " {\"type\": \"ip\", \"value\": \"1.2.3.4\", \"tags\": []}]}", "indicators[1]: unknown field \"tags\"" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"value\": \"x\"}]}", "indicators[0].type: missing" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"sha256\", \"value\": \"x\"}]}",
		  "indicators[0].type: unknown type \"sha256\" (ip, domain, sni or file_name)" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"ip\"}]}", "indicators[0].value: missing" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"ip\", \"value\": \"\"}]}",
		  "indicators[0].value: empty" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"ip\", \"value\": 17}]}",
		  "indicators[0].value: not a string" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"ip\", \"value\": \"1.2.3\"}]}",
		  "indicators[0].value: not an IP address or subnet" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"ip\", \"value\": \"1.2.3.4/33\"}]}",
		  "indicators[0].value: not an IP address or subnet" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"ip\", \"value\": \"1.2.3.4/\"}]}",
		  "not an IP address or subnet" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"ip\", \"value\": \"1.2.3.4/-1\"}]}",
		  "not an IP address or subnet" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"ip\", \"value\": \"2001:db8::/129\"}]}",
		  "not an IP address or subnet" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"ip\", \"value\": \"evil.example\"}]}",
		  "not an IP address or subnet" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"ip\", \"value\": \"fe80::1%eth0\"}]}",
		  "not an IP address or subnet" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"domain\", \"value\": \"*.evil.example\"}]}",
		  "indicators[0].value: not a domain name (no wildcards: a domain matches its subdomains)" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"domain\", \"value\": \"a..example\"}]}",
		  "indicators[0].value: not a domain name" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"sni\", \"value\": \"a b.example\"}]}",
		  "indicators[0].value: not a domain name" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"domain\", \"value\": \".\"}]}",
		  "not a domain name" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"domain\", \"value\": "
		  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example\"}]}",
		  "not a domain name" }, /* a 64-byte label */
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"file_name\", \"value\": \"C:\\\\dir\\\\\"}]}",
		  "indicators[0].value: not a file name" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"file_name\", \"value\": \"..\"}]}",
		  "not a file name" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"ip\", \"value\": \"1.2.3.4\","
		  " \"severity\": \"high\"}]}",
		  "indicators[0].severity: unknown severity \"high\" (warning, minor, major or critical)" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"ip\", \"value\": \"1.2.3.4\","
		  " \"description\": [\"x\"]}]}", "indicators[0].description: not a string" },
		{ "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"ip\", \"value\": \"1.2.3.4\","
		  " \"reference\": \"a\\nb\"}]}", "indicators[0].reference: contains a control character" },
	};
	(void)s;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		parse_text(cases[i].json, -EINVAL, cases[i].err);
	/* a NUL inside a string built in memory */
	{
		json_t *b = json_pack("{s:s, s:s, s:[{s:s, s:o}]}", "name", "a", "version", "1", "indicators", "type",
				      "file_name", "value", json_stringn("a\0b", 3));
		struct indicators *ind = NULL;
		char err[128];
		assert_int_equal(indicators_parse(b, &ind, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, "indicators[0].value: contains a NUL character");
		json_decref(b);
	}
}

static void test_limits(void **s)
{
	char value[300], text[600];
	json_t *arr, *b, *one;
	struct indicators *ind = NULL;
	char err[128];
	(void)s;

	memset(value, 'a', sizeof(value));
	value[255] = 0;
	snprintf(text, sizeof(text), "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"file_name\","
		 " \"value\": \"%s\"}]}", value);
	indicators_free(parse_text(text, 0, NULL));
	value[255] = 'a';
	value[256] = 0;
	snprintf(text, sizeof(text), "{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"file_name\","
		 " \"value\": \"%s\"}]}", value);
	parse_text(text, -EINVAL, "indicators[0].value: longer than 255 bytes");

	/* more than a million indicators: refused before any is read (the array holds one object many times) */
	arr = json_array();
	one = json_pack("{s:s, s:s}", "type", "ip", "value", "10.0.0.1");
	for (size_t i = 0; i < INDICATORS_MAX + 1; i++)
		json_array_append(arr, one);
	json_decref(one);
	b = json_pack("{s:s, s:s, s:o}", "name", "a", "version", "1", "indicators", arr);
	assert_int_equal(indicators_parse(b, &ind, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "indicators: more than 1000000 indicators");
	assert_null(ind);
	/* exactly a million: accepted (all the same one, kept once) */
	json_array_remove(arr, 0);
	assert_int_equal(indicators_parse(b, &ind, err, sizeof(err)), 0);
	assert_int_equal(indicators_count(ind), 1);
	indicators_free(ind);
	json_decref(b);
}

static void test_domains(void **s)
{
	struct indicators *ind;
	char name[400];
	(void)s;

	ind = parse_text("{\"name\": \"a\", \"version\": \"1\", \"indicators\": ["
			 "{\"type\": \"domain\", \"value\": \"Evil.Example.\"},"
			 "{\"type\": \"domain\", \"value\": \"deep.sub.evil.example\"},"
			 "{\"type\": \"domain\", \"value\": \"bad_host-1.corp\"},"
			 "{\"type\": \"sni\", \"value\": \"tls-only.example\"}]}",
			 0, NULL);
	assert_string_equal(domain(ind, "evil.example"), "Evil.Example.");
	assert_string_equal(domain(ind, "EVIL.EXAMPLE."), "Evil.Example.");
	assert_string_equal(domain(ind, "a.b.evil.example"), "Evil.Example.");
	assert_string_equal(domain(ind, "sub.evil.example"), "Evil.Example.");
	/* the most specific indicator wins */
	assert_string_equal(domain(ind, "x.deep.sub.evil.example"), "deep.sub.evil.example");
	assert_string_equal(domain(ind, "bad_host-1.corp"), "bad_host-1.corp");
	assert_null(domain(ind, "notevil.example"));
	assert_null(domain(ind, "example"));
	assert_null(domain(ind, "evil.example.com"));
	assert_null(domain(ind, "evil"));
	assert_null(domain(ind, ""));
	assert_null(domain(ind, "."));
	assert_null(domain(ind, "evil.example.."));
	assert_null(domain(ind, "tls-only.example")); /* an sni indicator is for TLS only */
	/* a name longer than any DNS name still matches by its last labels, never by a cut label */
	memset(name, 'a', sizeof(name));
	memcpy(name + 300, ".x.evil.example", 16);
	assert_string_equal(domain(ind, name), "Evil.Example.");
	name[100] = '.'; /* a label boundary inside the kept tail: still the same answer */
	assert_string_equal(domain(ind, name), "Evil.Example.");
	memset(name, 'a', sizeof(name));
	memcpy(name + 400 - 13, "vil.example", 12); /* "...aaaavil.example": no label boundary before "vil" */
	assert_null(domain(ind, name));
	/* arbitrary bytes */
	assert_null(indicators_match_domain(ind, "\x00\xff.evil.exampl\xc3", sizeof("\x00\xff.evil.exampl\xc3") - 1));
	assert_non_null(indicators_match_domain(ind, "\x00\xff.evil.example", sizeof("\x00\xff.evil.example") - 1));
	indicators_free(ind);
}

static void test_sni(void **s)
{
	struct indicators *ind;
	(void)s;

	ind = parse_text("{\"name\": \"a\", \"version\": \"1\", \"indicators\": ["
			 "{\"type\": \"domain\", \"value\": \"evil.example\", \"severity\": \"major\"},"
			 "{\"type\": \"sni\", \"value\": \"cdn.evil.example\", \"severity\": \"minor\"},"
			 "{\"type\": \"sni\", \"value\": \"beacon.net\"}]}",
			 0, NULL);
	assert_string_equal(sni(ind, "x.cdn.evil.example"), "cdn.evil.example");
	assert_string_equal(sni(ind, "www.evil.example"), "evil.example"); /* domain indicators cover TLS too */
	assert_string_equal(sni(ind, "BEACON.net."), "beacon.net");
	assert_null(sni(ind, "beacon.network"));
	assert_string_equal(domain(ind, "x.cdn.evil.example"), "evil.example");
	indicators_free(ind);

	/* a bundle of sni indicators only: no domain lookups */
	ind = parse_text("{\"name\": \"a\", \"version\": \"1\", \"indicators\": [{\"type\": \"sni\", \"value\": \"s.net\"}]}",
			 0, NULL);
	assert_string_equal(sni(ind, "a.s.net"), "s.net");
	assert_null(domain(ind, "a.s.net"));
	indicators_free(ind);
}

static void test_ips(void **s)
{
	struct indicators *ind;
	(void)s;

	ind = parse_text("{\"name\": \"a\", \"version\": \"1\", \"indicators\": ["
			 "{\"type\": \"ip\", \"value\": \"203.0.113.66\"},"
			 "{\"type\": \"ip\", \"value\": \"198.51.100.0/24\"},"
			 "{\"type\": \"ip\", \"value\": \"198.51.100.128/25\"},"
			 "{\"type\": \"ip\", \"value\": \"10.1.2.3/8\"},"
			 "{\"type\": \"ip\", \"value\": \"2001:db8:bad::/48\"},"
			 "{\"type\": \"ip\", \"value\": \"2001:DB8::1\"},"
			 "{\"type\": \"ip\", \"value\": \"::ffff:192.0.2.0/120\"},"
			 "{\"type\": \"ip\", \"value\": \"0.0.0.0/0\", \"severity\": \"warning\"}]}",
			 0, NULL);
	assert_string_equal(ip(ind, "203.0.113.66"), "203.0.113.66");
	assert_string_equal(ip(ind, "198.51.100.1"), "198.51.100.0/24");
	assert_string_equal(ip(ind, "198.51.100.200"), "198.51.100.128/25"); /* most specific */
	assert_string_equal(ip(ind, "10.200.0.1"), "10.1.2.3/8");            /* host bits cleared */
	assert_string_equal(ip(ind, "192.0.2.77"), "::ffff:192.0.2.0/120");  /* mapped: taken as IPv4 /24 */
	assert_string_equal(ip(ind, "203.0.113.67"), "0.0.0.0/0");           /* everything else IPv4 */
	assert_string_equal(ip(ind, "2001:db8:bad:ffff::1"), "2001:db8:bad::/48");
	assert_string_equal(ip(ind, "2001:db8::1"), "2001:DB8::1");
	assert_null(ip(ind, "2001:db8::2"));
	assert_null(ip(ind, "2001:db8:bac::1"));
	assert_null(indicators_match_ip(ind, 5, (const uint8_t *)"0123456789abcdef"));
	indicators_free(ind);
}

static void test_files(void **s)
{
	struct indicators *ind;
	(void)s;

	ind = parse_text("{\"name\": \"a\", \"version\": \"1\", \"indicators\": ["
			 "{\"type\": \"file_name\", \"value\": \"C:\\\\Windows\\\\Temp\\\\Dropper.EXE\"},"
			 "{\"type\": \"file_name\", \"value\": \"FC1869\"},"
			 "{\"type\": \"file_name\", \"value\": \"/tmp/x.sh\"}]}",
			 0, NULL);
	assert_string_equal(file(ind, "dropper.exe"), "C:\\Windows\\Temp\\Dropper.EXE");
	assert_string_equal(file(ind, "\\\\srv\\share\\a\\DROPPER.exe"), "C:\\Windows\\Temp\\Dropper.EXE");
	assert_string_equal(file(ind, "other/dir/dropper.EXE"), "C:\\Windows\\Temp\\Dropper.EXE");
	assert_string_equal(file(ind, "fc1869"), "FC1869");
	assert_string_equal(file(ind, "X.SH"), "/tmp/x.sh");
	assert_null(file(ind, "dropper.exe.txt"));
	assert_null(file(ind, "dropper"));
	assert_null(file(ind, "dropper.exe\\"));
	assert_null(file(ind, ""));
	indicators_free(ind);
}

static void test_duplicates(void **s)
{
	struct indicators *ind;
	(void)s;

	ind = parse_text("{\"name\": \"a\", \"version\": \"1\", \"indicators\": ["
			 "{\"type\": \"domain\", \"value\": \"evil.example\", \"description\": \"first\"},"
			 "{\"type\": \"domain\", \"value\": \"EVIL.example.\", \"description\": \"second\"},"
			 "{\"type\": \"sni\", \"value\": \"evil.example\", \"description\": \"an sni one\"},"
			 "{\"type\": \"ip\", \"value\": \"10.0.0.0/8\"},"
			 "{\"type\": \"ip\", \"value\": \"10.9.9.9/8\"}]}",
			 0, NULL);
	assert_int_equal(indicators_count(ind), 3);
	assert_string_equal(indicators_match_domain(ind, "evil.example", 12)->description, "first");
	assert_string_equal(indicators_match_sni(ind, "evil.example", 12)->description, "an sni one");
	indicators_free(ind);
}

/* 100,000 indicators, a quarter of each type: it parses, and every kind matches and misses. */
static void test_big_bundle(void **s)
{
	json_t *arr = json_array(), *b;
	struct indicators *ind = NULL;
	char err[128], v[64];
	struct timespec t0, t1, t2;
	double parse_s, match_s;
	size_t hits = 0;
	(void)s;

	for (unsigned i = 0; i < 25000; i++) {
		snprintf(v, sizeof(v), "10.%u.%u.0/24", i / 256, i % 256);
		json_array_append_new(arr, json_pack("{s:s, s:s}", "type", "ip", "value", v));
		snprintf(v, sizeof(v), "c2-%u.bad.example", i);
		json_array_append_new(arr, json_pack("{s:s, s:s}", "type", "domain", "value", v));
		snprintf(v, sizeof(v), "beacon-%u.cdn.example", i);
		json_array_append_new(arr, json_pack("{s:s, s:s}", "type", "sni", "value", v));
		snprintf(v, sizeof(v), "payload-%u.dll", i);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "type", "file_name", "value", v, "severity",
						     "major"));
	}
	b = json_pack("{s:s, s:s, s:o}", "name", "big", "version", "1", "indicators", arr);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(indicators_parse(b, &ind, err, sizeof(err)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	json_decref(b);
	assert_int_equal(indicators_count(ind), 100000);
	for (unsigned i = 0; i < 25000; i += 7) {
		uint8_t a[4] = { 10, (uint8_t)(i / 256), (uint8_t)(i % 256), (uint8_t)i };
		char n[96];
		hits += indicators_match_ip(ind, 4, a) != NULL;
		snprintf(n, sizeof(n), "www.C2-%u.bad.example", i);
		hits += indicators_match_domain(ind, n, strlen(n)) != NULL;
		snprintf(n, sizeof(n), "beacon-%u.cdn.example", i);
		hits += indicators_match_sni(ind, n, strlen(n)) != NULL;
		snprintf(n, sizeof(n), "c:\\x\\PAYLOAD-%u.DLL", i);
		hits += indicators_match_file(ind, n, strlen(n)) != NULL;
		/* misses */
		a[0] = 11;
		assert_null(indicators_match_ip(ind, 4, a));
		snprintf(n, sizeof(n), "c2-%u.good.example", i);
		assert_null(indicators_match_domain(ind, n, strlen(n)));
		snprintf(n, sizeof(n), "payload-%u.dll.bak", i);
		assert_null(indicators_match_file(ind, n, strlen(n)));
	}
	clock_gettime(CLOCK_MONOTONIC, &t2);
	assert_int_equal(hits, 4 * ((25000 + 6) / 7));
	parse_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	match_s = (double)(t2.tv_sec - t1.tv_sec) + (double)(t2.tv_nsec - t1.tv_nsec) / 1e9;
	print_message("100k indicators: parse %.3f s, %zu lookups %.3f s\n", parse_s, (size_t)7 * 3572, match_s);
	indicators_free(ind);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_load(void **s)
{
	char dir[] = "/tmp/otw-ind-XXXXXX", path[128], err[256];
	struct indicators *ind = (struct indicators *)1;
	FILE *f;
	(void)s;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/b.json", dir);
	write_file(path, "{\"name\": \"f\", \"version\": \"1\", \"indicators\": [{\"type\": \"ip\", \"value\": \"1.2.3.4\"}]}");
	assert_int_equal(indicators_load(path, &ind, err, sizeof(err)), 0);
	assert_int_equal(indicators_count(ind), 1);
	indicators_free(ind);

	write_file(path, "{\"name\": \"f\",\n \"version\": \"1\",\n \"indicators\": [\n  {\"type\": \"ip\",}]}");
	assert_int_equal(indicators_load(path, &ind, err, sizeof(err)), -EINVAL);
	assert_null(ind);
	assert_non_null(strstr(err, "line 4"));
	write_file(path, "{\"name\": \"f\", \"name\": \"g\", \"version\": \"1\", \"indicators\": []}");
	assert_int_equal(indicators_load(path, &ind, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "duplicate"));
	write_file(path, "");
	assert_int_equal(indicators_load(path, &ind, err, sizeof(err)), -EINVAL);
	write_file(path, "{\"name\": \"f\", \"version\": \"1\", \"indicators\": [{\"type\": \"ip\", \"value\": \"x\"}]}");
	assert_int_equal(indicators_load(path, &ind, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "indicators[0].value: not an IP address or subnet");

	/* larger than 64 MiB (a sparse file) */
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), (off_t)INDICATORS_MAX_FILE + 1), 0);
	fclose(f);
	assert_int_equal(indicators_load(path, &ind, err, sizeof(err)), -EFBIG);
	assert_string_equal(err, "larger than 64 MiB");
	unlink(path);
	assert_int_equal(indicators_load(path, &ind, err, sizeof(err)), -ENOENT);
	assert_null(ind);
	rmdir(dir);
}

static json_t *find(json_t *arr, const char *title, const char *src)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (strcmp(json_string_value(json_object_get(v, "title")), title) == 0 &&
		    (!src || strcmp(json_string_value(json_object_get(v, "src")), src) == 0))
			return v;
	return NULL;
}

static const char *str(json_t *al, const char *key)
{
	return json_string_value(json_object_get(al, key));
}

static void test_alerts(void **s)
{
	struct indicators *ind = parse_text(
		"{\"name\": \"acme-ti\", \"version\": \"7\", \"indicators\": ["
		"{\"type\": \"ip\", \"value\": \"203.0.113.0/24\", \"severity\": \"major\", \"description\": \"C2\"},"
		"{\"type\": \"domain\", \"value\": \"evil.example\", \"description\": \"d\\u00e9j\\u00e0 vu \\u2014 "
		"a rather long description that goes on and on so that the message has to be cut somewhere\"},"
		"{\"type\": \"file_name\", \"value\": \"FC1869\", \"severity\": \"minor\"}]}",
		0, NULL);
	struct alerts *a = alerts_new();
	uint8_t c[4] = { 10, 0, 0, 5 }, bad[4] = { 203, 0, 113, 66 };
	json_t *out, *al;
	(void)s;

	/* learning: nothing */
	indicators_check_flow(ind, a, "tcp", 4, c, bad, 1 * SEC);
	indicators_check_name(ind, a, INDICATOR_SEEN_DNS, "dns", "10.0.0.5", "10.0.0.2", "evil.example", 12, 1 * SEC);
	assert_int_equal(alerts_count(a), 0);

	alerts_set_mode(a, ALERTS_OPERATIONAL);
	indicators_check_flow(ind, a, "tcp", 4, c, bad, 2 * SEC);
	indicators_check_flow(ind, a, "udp", 4, bad, c, 3 * SEC); /* the indicator address initiates */
	indicators_check_flow(ind, a, "tcp", 4, c, c, 3 * SEC);   /* neither end: nothing */
	/* a query and its answer count once; an answer whose query was missed counts; so does a later one */
	indicators_check_name(ind, a, INDICATOR_SEEN_DNS, "dns", "10.0.0.5", "10.0.0.2", "www.evil.example", 16, 4 * SEC);
	indicators_check_name(ind, a, INDICATOR_SEEN_DNS_ANSWER, "dns", "10.0.0.5", "10.0.0.2", "WWW.evil.example.",
			      17, 4 * SEC + 2000);
	indicators_check_name(ind, a, INDICATOR_SEEN_DNS_ANSWER, "dns", "10.0.0.6", "10.0.0.2", "www.evil.example", 16,
			      5 * SEC);
	indicators_check_name(ind, a, INDICATOR_SEEN_DNS_ANSWER, "dns", "10.0.0.5", "10.0.0.2", "www.evil.example", 16,
			      30 * SEC);
	indicators_check_name(ind, a, INDICATOR_SEEN_TLS_SNI, "tls", "10.0.0.5", "203.0.113.66", "evil.example", 12,
			      6 * SEC);
	indicators_check_name(ind, a, INDICATOR_SEEN_HTTP_HOST, "http", "10.0.0.5", "198.51.100.1",
			      "cdn.evil.example", 16, 7 * SEC);
	indicators_check_name(ind, a, INDICATOR_SEEN_FILE, "s7comm", "10.0.0.20", "10.0.0.6", "FC1869", 6, 8 * SEC);
	/* no match: nothing */
	indicators_check_name(ind, a, INDICATOR_SEEN_FILE, "smb", "10.0.0.20", "10.0.0.6", "FC1870", 6, 8 * SEC);
	indicators_check_name(ind, a, INDICATOR_SEEN_DNS, "dns", "10.0.0.5", "10.0.0.2", "evil.example.org", 16, 9 * SEC);

	out = alerts_json(a);
	assert_int_equal(json_array_size(out), 7);
	al = find(out, "Known-bad IP address", "10.0.0.5");
	assert_non_null(al);
	assert_string_equal(str(al, "engine"), "malware");
	assert_string_equal(str(al, "severity"), "major");
	assert_string_equal(str(al, "dst"), "203.0.113.66");
	assert_string_equal(str(al, "protocol"), "tcp");
	assert_string_equal(str(al, "message"),
			    "tcp connection 10.0.0.5 -> 203.0.113.66: matches ip indicator 203.0.113.0/24 \"C2\" (bundle "
			    "acme-ti 7)");
	assert_non_null(strstr(str(al, "remediation"), "Isolate"));
	al = find(out, "Known-bad IP address", "203.0.113.66");
	assert_non_null(al);
	assert_string_equal(str(al, "dst"), "10.0.0.5");
	assert_string_equal(str(al, "protocol"), "udp");
	al = find(out, "Known-bad domain queried", "10.0.0.5");
	assert_non_null(al);
	assert_int_equal(json_integer_value(json_object_get(al, "count")), 2); /* the query, then the late answer */
	assert_string_equal(str(al, "dst"), "10.0.0.2");
	assert_string_equal(str(al, "severity"), "critical");
	/* the message is cut on a character boundary, within what alerts.c keeps */
	assert_true(strlen(str(al, "message")) < 192);
	assert_non_null(strstr(str(al, "message"), "10.0.0.5 queried www.evil.example (dns, 10.0.0.2): matches domain"));
	assert_non_null(strstr(str(al, "message"), "d\xc3\xa9j\xc3\xa0 vu \xe2\x80\x94"));
	assert_non_null(strstr(str(al, "message"), "(bundle acme-ti 7)"));
	al = find(out, "Known-bad domain queried", "10.0.0.6");
	assert_non_null(al);
	assert_int_equal(json_integer_value(json_object_get(al, "count")), 1);
	assert_non_null(find(out, "Known-bad TLS server name", "10.0.0.5"));
	assert_non_null(find(out, "Known-bad HTTP host", "10.0.0.5"));
	al = find(out, "Known-bad file name transferred", "10.0.0.20");
	assert_non_null(al);
	assert_string_equal(str(al, "protocol"), "s7comm");
	assert_string_equal(str(al, "severity"), "minor");
	json_decref(out);

	/* names with control bytes and broken UTF-8 stay valid text in the message */
	alerts_clear(a);
	indicators_check_name(ind, a, INDICATOR_SEEN_HTTP_HOST, "http", "10.0.0.5", "10.0.0.9",
			      "\x01\xff\xe2\x82.\n.evil.example", sizeof("\x01\xff\xe2\x82.\n.evil.example") - 1, 10 * SEC);
	out = alerts_json(a);
	assert_int_equal(json_array_size(out), 1);
	assert_non_null(strstr(str(json_array_get(out, 0), "message"), "requested HTTP host ????.?.evil.example"));
	json_decref(out);
	alerts_free(a);
	indicators_free(ind);
}

/* ---- the names the dissectors hand to the matcher (proto.h PROTO_OBS_NAME) ---- */

static struct harness h;

static const char *obs_name(enum proto_name_kind kind)
{
	for (size_t i = 0; i < h.n; i++)
		if (h.obs[i].o.kind == PROTO_OBS_NAME && h.obs[i].o.attr == kind)
			return h.obs[i].buf;
	return NULL;
}

/* s7comm/step7_s300_download.pcapng frame 87 (request download DB1), as in test_s7comm.c */
static const uint8_t s7_req_download[] = {
	0x03, 0x00, 0x00, 0x31, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x83, 0x00, 0x00, 0x20, 0x00,
	0x00, 0x1a, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x5f, 0x30, 0x41, 0x30, 0x30, 0x30,
	0x30, 0x31, 0x50, 0x0d, 0x31, 0x30, 0x30, 0x30, 0x32, 0x31, 0x36, 0x30, 0x30, 0x30, 0x30, 0x38,
	0x38,
};

static void test_observations(void **s)
{
	/* a standard query for "Update.Bad.example" A, then its response (question echoed, one A answer) */
	static const uint8_t query[] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 6, 'U', 'p', 'd', 'a', 't',
					 'e', 3, 'B', 'a', 'd', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1 };
	uint8_t response[sizeof(query) + 16];
	static const char http[] = "GET / HTTP/1.1\r\nHost: WWW.bad.example:8080\r\nUser-Agent: t\r\n\r\n";
	static const char http6[] = "GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n";
	(void)s;

	harness_init(&h, &dissector_dns);
	assert_int_equal(harness_parse(&h, &dissector_dns, PROTO_DIR_TO_SERVER, query, sizeof(query)), PROTO_OK);
	assert_string_equal(obs_name(PROTO_NAME_DNS_QUERY), "Update.Bad.example");
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_CLIENT); /* set before the name was reported */
	assert_null(obs_name(PROTO_NAME_DNS_ANSWER));
	memcpy(response, query, sizeof(query));
	response[2] = 0x81;
	response[3] = 0x80;
	response[7] = 1;
	memcpy(response + sizeof(query), "\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\xcb\x00\x71\x42", 16);
	assert_int_equal(harness_parse(&h, &dissector_dns, PROTO_DIR_TO_CLIENT, response, sizeof(response)), PROTO_OK);
	assert_string_equal(obs_name(PROTO_NAME_DNS_ANSWER), "Update.Bad.example");
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_SERVER);

	harness_init(&h, &dissector_http);
	assert_int_equal(harness_parse(&h, &dissector_http, PROTO_DIR_TO_SERVER, http, strlen(http)), PROTO_OK);
	assert_string_equal(obs_name(PROTO_NAME_HTTP_HOST), "WWW.bad.example");
	harness_init(&h, &dissector_http);
	assert_int_equal(harness_parse(&h, &dissector_http, PROTO_DIR_TO_SERVER, http6, strlen(http6)), PROTO_OK);
	assert_string_equal(obs_name(PROTO_NAME_HTTP_HOST), "[2001:db8::1]");

	harness_init(&h, &dissector_s7comm);
	assert_int_equal(harness_parse(&h, &dissector_s7comm, PROTO_DIR_TO_SERVER, s7_req_download,
				       sizeof(s7_req_download)), PROTO_OK);
	assert_string_equal(obs_name(PROTO_NAME_FILE), "DB1");
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_CLIENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),      cmocka_unit_test(test_errors),     cmocka_unit_test(test_limits),
		cmocka_unit_test(test_domains),    cmocka_unit_test(test_sni),        cmocka_unit_test(test_ips),
		cmocka_unit_test(test_files),      cmocka_unit_test(test_duplicates), cmocka_unit_test(test_big_bundle),
		cmocka_unit_test(test_load),       cmocka_unit_test(test_alerts),     cmocka_unit_test(test_observations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
