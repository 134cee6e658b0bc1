/* Tests for tools/plantsim/pcap_writer.c and the frame builders in tools/plantsim/frames.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/plantsim/frames.h"
#include "tools/plantsim/pcap_writer.h"

static char *temp_path(void)
{
	char *p = strdup("/tmp/otw-test-pcap-XXXXXX");
	int fd;

	assert_non_null(p);
	fd = mkstemp(p);
	assert_true(fd >= 0);
	close(fd);
	return p;
}

static size_t slurp(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void global_header_bytes(void **state)
{
	static const uint8_t want[PCAP_GLOBAL_HEADER_LEN] = {
		0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	};
	uint8_t hdr[PCAP_GLOBAL_HEADER_LEN];

	pcap_writer_global_header(hdr, 65535, PCAP_LINKTYPE_ETHERNET);
	assert_memory_equal(hdr, want, sizeof(want));
}

static void record_bytes(void **state)
{
	static const uint8_t frame[3] = { 0xaa, 0xbb, 0xcc };
	static const uint8_t want_rec[PCAP_RECORD_HEADER_LEN] = {
		0x80, 0x6f, 0x5b, 0x69,      /* 1767600000 */
		0x40, 0xe2, 0x01, 0x00,      /* 123456 */
		0x03, 0, 0, 0, 0x03, 0, 0, 0,
	};
	struct pcap_writer *w;
	char *path = temp_path();
	uint8_t buf[128];
	size_t n;

	assert_int_equal(pcap_writer_open(path, 65535, PCAP_LINKTYPE_ETHERNET, &w), 0);
	assert_int_equal(pcap_writer_write(w, 1767600000u, 123456, frame, sizeof(frame)), 0);
	assert_int_equal(pcap_writer_write(w, 1, 1000000, frame, sizeof(frame)), -EINVAL);
	assert_int_equal(pcap_writer_close(w), 0);
	n = slurp(path, buf, sizeof(buf));
	assert_int_equal(n, PCAP_GLOBAL_HEADER_LEN + PCAP_RECORD_HEADER_LEN + sizeof(frame));
	assert_memory_equal(buf + PCAP_GLOBAL_HEADER_LEN, want_rec, sizeof(want_rec));
	assert_memory_equal(buf + PCAP_GLOBAL_HEADER_LEN + PCAP_RECORD_HEADER_LEN, frame, sizeof(frame));
	unlink(path);
	free(path);
}

static void record_longer_than_snaplen_is_refused(void **state)
{
	uint8_t frame[100] = { 0 };
	struct pcap_writer *w;
	char *path = temp_path();

	assert_int_equal(pcap_writer_open(path, 64, PCAP_LINKTYPE_ETHERNET, &w), 0);
	assert_int_equal(pcap_writer_write(w, 0, 0, frame, sizeof(frame)), -EINVAL);
	assert_int_equal(pcap_writer_write(w, 0, 0, frame, 64), 0);
	assert_int_equal(pcap_writer_close(w), 0);
	unlink(path);
	free(path);
}

static void open_error_is_returned(void **state)
{
	struct pcap_writer *w = (struct pcap_writer *)1;

	assert_int_equal(pcap_writer_open("/nonexistent-dir/x.pcap", 65535, 1, &w), -ENOENT);
	assert_null(w);
	assert_int_equal(pcap_writer_close(NULL), 0);
}

static void checksum_rfc1071_example(void **state)
{
	/* RFC 1071 section 3: the sum of these bytes is ddf2, so the checksum is 220d. */
	static const uint8_t data[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	/* A textbook IPv4 header (192.168.0.1 -> 192.168.0.199, UDP) whose checksum is b861. */
	static const uint8_t ip[] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };

	assert_int_equal(frame_csum_fold(frame_csum_add(0, data, sizeof(data))), 0x220d);
	assert_int_equal(frame_csum(ip, sizeof(ip)), 0xb861);
	/* Odd length: the last byte is the high half of a zero-padded word. */
	assert_int_equal(frame_csum(data, 3), (uint16_t)~(0x0001 + 0xf200));
	/* Split sums agree with one pass when only the last chunk is odd. */
	assert_int_equal(frame_csum_fold(frame_csum_add(frame_csum_add(0, data, 4), data + 4, 3)),
		frame_csum(data, 7));
}

static const struct frame_l2 l2_plain = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, { 0x00, 0x1b, 0x1b, 1, 2, 3 }, 0 };
static const struct frame_l2 l2_vlan = { { 0x00, 0x0e, 0x8c, 4, 5, 6 }, { 0x00, 0x1b, 0x1b, 1, 2, 3 }, 20 };
static const struct frame_ip ip4 = { 0x0a0a010a, 0x0a0a010b, 0x1234, 64 };

/* One's-complement sum of a valid IPv4 header, or of a pseudo-header plus segment, is ffff. */
static void assert_l4_checksum_ok(const uint8_t *ip, uint8_t proto)
{
	size_t total = (size_t)(ip[2] << 8 | ip[3]), seg = total - 20;
	uint8_t ph[12];

	assert_int_equal(frame_csum(ip, 20), 0);
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = proto;
	ph[10] = (uint8_t)(seg >> 8);
	ph[11] = (uint8_t)seg;
	assert_int_equal(frame_csum_fold(frame_csum_add(frame_csum_add(0, ph, 12), ip + 20, seg)), 0);
}

static void builders_lengths_and_checksums(void **state)
{
	static const uint8_t mac[6] = { 0x00, 0x1b, 0x1b, 1, 2, 3 }, zero[6] = { 0 };
	uint8_t buf[FRAME_MAX_LEN + 64], payload[100];
	struct frame_tcp syn = { 50000, 502, 1000, 0, TCP_SYN, 64240, 1460 };
	struct frame_tcp psh = { 50000, 502, 1001, 7, TCP_PSH | TCP_ACK, 64240, 0 };

	memset(payload, 0x5a, sizeof(payload));
	assert_int_equal(frame_arp(buf, sizeof(buf), &l2_plain, ARP_OP_REQUEST, mac, 1, zero, 2), 60);
	assert_int_equal(buf[12], 0x08);
	assert_int_equal(buf[13], 0x06);
	assert_int_equal(buf[42], 0);   /* padding is zeroed */
	assert_int_equal(frame_arp(buf, sizeof(buf), &l2_vlan, ARP_OP_REPLY, mac, 1, zero, 2), 60);
	assert_int_equal(buf[12], 0x81);
	assert_int_equal(buf[15], 20);
	assert_int_equal(buf[16], 0x08);

	assert_int_equal(frame_udp(buf, sizeof(buf), &l2_plain, &ip4, 68, 67, payload, 100), 14 + 20 + 8 + 100);
	assert_int_equal(buf[14 + 2] << 8 | buf[14 + 3], 128);          /* IP total length */
	assert_int_equal(buf[34 + 4] << 8 | buf[34 + 5], 108);          /* UDP length */
	assert_l4_checksum_ok(buf + 14, 17);

	assert_int_equal(frame_tcp(buf, sizeof(buf), &l2_plain, &ip4, &syn, NULL, 0), 60);
	assert_int_equal(buf[14 + 2] << 8 | buf[14 + 3], 44);           /* 20 + 24 with the MSS option */
	assert_int_equal(buf[34 + 12] >> 4, 6);
	assert_l4_checksum_ok(buf + 14, 6);

	assert_int_equal(frame_tcp(buf, sizeof(buf), &l2_vlan, &ip4, &psh, payload, 12), 18 + 20 + 20 + 12);
	assert_l4_checksum_ok(buf + 18, 6);

	assert_int_equal(frame_tcp(buf, sizeof(buf), &l2_vlan, &ip4, &psh, payload, 1), 60);
	assert_l4_checksum_ok(buf + 18, 6);   /* odd payload length */

	assert_int_equal(frame_eth(buf, sizeof(buf), &l2_plain, ETHERTYPE_LLDP, payload, 4), 60);
	assert_int_equal(frame_udp(buf, 40, &l2_plain, &ip4, 1, 2, payload, 100), -ENOSPC);
	assert_int_equal(frame_arp(buf, 50, &l2_plain, ARP_OP_REQUEST, mac, 1, zero, 2), -ENOSPC);
}

/* An 802.3 frame (CDP in LLC/SNAP) carries its payload length where Ethernet II has the ethertype; a
 * PROFINET frame in the OT VLAN keeps the tag in front of ethertype 0x8892. */
static void length_and_tagged_frames(void **state)
{
	uint8_t buf[FRAME_MAX_LEN + 64], payload[200];

	memset(payload, 0xaa, sizeof(payload));
	assert_int_equal(frame_eth(buf, sizeof(buf), &l2_plain, (uint16_t)sizeof(payload), payload, sizeof(payload)),
		14 + 200);
	assert_int_equal(buf[12] << 8 | buf[13], 200);
	assert_int_equal(frame_eth(buf, sizeof(buf), &l2_vlan, 0x8892, payload, 20), 60);
	assert_int_equal(buf[12] << 8 | buf[13], ETHERTYPE_VLAN);
	assert_int_equal((buf[14] << 8 | buf[15]) & 0x0fff, 20);
	assert_int_equal(buf[16] << 8 | buf[17], 0x8892);
	assert_int_equal(buf[18 + 20], 0);              /* zero padding after the payload */
	assert_int_equal(frame_eth(buf, sizeof(buf), &l2_plain, 0x0800, payload, FRAME_MAX_LEN + 1), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(global_header_bytes),
		cmocka_unit_test(record_bytes),
		cmocka_unit_test(record_longer_than_snaplen_is_refused),
		cmocka_unit_test(open_error_is_returned),
		cmocka_unit_test(checksum_rfc1071_example),
		cmocka_unit_test(builders_lengths_and_checksums),
		cmocka_unit_test(length_and_tagged_frames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
