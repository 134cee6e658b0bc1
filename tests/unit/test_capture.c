/* capture_file over pcap files written here: whole, cut mid-record, and not a capture. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include "sensor-agent/capture.h"

static char path[64];

static void put32(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); }
static void put16(FILE *f, uint16_t v) { fwrite(&v, 2, 1, f); }

/* A classic pcap (host byte order, as libpcap writes it) with n 60-byte Ethernet frames; returns its size. */
static long write_pcap(int n)
{
	FILE *f = fopen(path, "wb");
	uint8_t frame[60];

	assert_non_null(f);
	put32(f, 0xa1b2c3d4);
	put16(f, 2);
	put16(f, 4);
	put32(f, 0);
	put32(f, 0);
	put32(f, 65535);
	put32(f, 1);
	memset(frame, 0, sizeof(frame));
	frame[12] = 0x88; /* LLDP */
	frame[13] = 0xcc;
	for (int i = 0; i < n; i++) {
		put32(f, 1700000000u + (uint32_t)i);
		put32(f, 0);
		put32(f, sizeof(frame));
		put32(f, 64); /* original length: a 4-byte FCS was not captured */
		fwrite(frame, sizeof(frame), 1, f);
	}
	long size = ftell(f);
	fclose(f);
	return size;
}

struct counter {
	int packets;
	int stop_at;
	int linktype;
};

static int count(void *ud, int linktype, const struct pcap_pkthdr *h, const uint8_t *data)
{
	struct counter *c = ud;
	c->linktype = linktype;
	assert_int_equal(h->caplen, 60);
	assert_int_equal(data[12], 0x88);
	return ++c->packets == c->stop_at ? 42 : 0;
}

static int setup(void **state)
{
	snprintf(path, sizeof(path), "/tmp/otw-capture-%d.pcap", (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

static void whole_file(void **state)
{
	struct counter c = { 0, -1, -1 };
	struct capture_stats st;

	write_pcap(5);
	assert_int_equal(capture_file(path, count, &c, &st), 0);
	assert_int_equal(c.packets, 5);
	assert_int_equal(c.linktype, 1);
	assert_int_equal(st.packets, 5);
	assert_int_equal(st.bytes, 5 * 64);
	assert_false(st.truncated);
	assert_string_equal(st.error, "");
}

static void truncated_file(void **state)
{
	struct counter c = { 0, -1, -1 };
	struct capture_stats st;
	long size = write_pcap(5);

	/* Cut in the middle of the last record's data, then in the middle of its header. */
	assert_int_equal(truncate(path, size - 20), 0);
	assert_int_equal(capture_file(path, count, &c, &st), 0);
	assert_int_equal(c.packets, 4);
	assert_true(st.truncated);
	assert_non_null(strstr(st.error, "truncated"));
	assert_int_equal(truncate(path, size - 76 + 8), 0);
	c.packets = 0;
	assert_int_equal(capture_file(path, count, &c, &st), 0);
	assert_int_equal(c.packets, 4);
	assert_true(st.truncated);
}

static void callback_stops(void **state)
{
	struct counter c = { 0, 2, -1 };
	struct capture_stats st;

	write_pcap(5);
	assert_int_equal(capture_file(path, count, &c, &st), 42);
	assert_int_equal(c.packets, 2);
}

static void not_a_capture(void **state)
{
	struct counter c = { 0, -1, -1 };
	struct capture_stats st;
	FILE *f = fopen(path, "w");

	fputs("this is not a pcap file at all\n", f);
	fclose(f);
	assert_true(capture_file(path, count, &c, &st) < 0);
	assert_true(st.error[0] != '\0');
	assert_int_equal(capture_file("/nonexistent/x.pcap", count, &c, &st), -ENOENT);
	assert_int_equal(c.packets, 0);
}

static volatile sig_atomic_t live_stop;

struct live {
	int ticks, packets;
};

/* On the first idle tick it sends one UDP datagram over loopback; it stops once that datagram came back
 * through the capture and a few idle ticks passed, or after 100 ticks (then the test fails). */
static int count_ticks(void *ud, int linktype, const struct pcap_pkthdr *h, const uint8_t *data)
{
	struct live *l = ud;

	if (h) {
		l->packets++;
	} else if (++l->ticks == 1) {
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(39999) };
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_true(fd >= 0);
		assert_int_equal(sendto(fd, "otw", 3, 0, (struct sockaddr *)&to, sizeof(to)), 3);
		close(fd);
	}
	if ((l->packets >= 1 && l->ticks >= 3) || l->ticks >= 100)
		live_stop = 1;
	return 0;
}

/* A quiet live capture still calls back (idle ticks), so the sensor can flush on the wall clock. Needs the
 * right to capture (root or CAP_NET_RAW); skipped without it. */
static void live_idle_ticks(void **state)
{
	struct capture_stats st;
	struct live l = { 0, 0 };
	int r;

	live_stop = 0;
	{
		const struct capture_opts co = { .bpf = "udp dst port 39999", .buffer_mib = 4 };
		r = capture_iface("lo", &co, &live_stop, count_ticks, &l, &st);
	}
	if (r == -EPERM || r == -ENODEV)
		skip();
	assert_int_equal(r, 0);
	assert_int_equal(l.packets, 1);
	assert_int_equal(st.packets, 1);
	assert_true(l.ticks >= 3 && l.ticks < 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole_file),
		cmocka_unit_test(truncated_file),
		cmocka_unit_test(callback_stops),
		cmocka_unit_test(not_a_capture),
		cmocka_unit_test(live_idle_ticks),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
