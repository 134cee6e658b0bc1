/* The flow table's server decision and the hash map under it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sensor-agent/dissect/hashmap.h"
#include "sensor-agent/flows.h"

static struct dissect_frame pkt(enum dissect_transport t, uint8_t src, uint16_t sport, uint8_t dst, uint16_t dport,
				uint8_t flags)
{
	struct dissect_frame f;

	memset(&f, 0, sizeof(f));
	f.ip_version = 4;
	f.src_ip[0] = 10;
	f.src_ip[3] = src;
	f.dst_ip[0] = 10;
	f.dst_ip[3] = dst;
	f.transport = t;
	f.src_port = sport;
	f.dst_port = dport;
	f.tcp_flags = flags;
	return f;
}

static void server_decision(void **state)
{
	struct dissect_frame f;

	/* SYN: the sender is the client, whatever the ports say. */
	f = pkt(DISSECT_T_TCP, 1, 502, 2, 40000, DISSECT_TCP_SYN);
	assert_true(flows_server_is_dst(&f, false));
	/* SYN+ACK: the sender is the server. */
	f = pkt(DISSECT_T_TCP, 1, 40000, 2, 502, DISSECT_TCP_SYN | DISSECT_TCP_ACK);
	assert_false(flows_server_is_dst(&f, false));
	/* Mid-stream: exactly one well-known port decides, even when it is the higher one. */
	f = pkt(DISSECT_T_TCP, 1, 44818, 2, 1024, DISSECT_TCP_ACK);
	assert_false(flows_server_is_dst(&f, false));
	f = pkt(DISSECT_T_UDP, 1, 1024, 2, 47808, 0);
	assert_true(flows_server_is_dst(&f, false));
	/* Both well-known (dhcp 68 -> 67): the lower port. */
	f = pkt(DISSECT_T_UDP, 1, 67, 2, 68, 0);
	assert_false(flows_server_is_dst(&f, false));
	/* Neither: the lower port; a tie: the destination. */
	f = pkt(DISSECT_T_TCP, 1, 3000, 2, 60000, DISSECT_TCP_ACK);
	assert_false(flows_server_is_dst(&f, false));
	f = pkt(DISSECT_T_UDP, 1, 7000, 2, 7000, 0);
	assert_true(flows_server_is_dst(&f, false));
	/* A broadcast/multicast destination is always the server side. */
	f = pkt(DISSECT_T_UDP, 1, 67, 2, 68, 0);
	assert_true(flows_server_is_dst(&f, true));
}

static void both_directions_one_flow(void **state)
{
	struct flow_table *t = flows_new();
	struct dissect_frame f;
	struct flow *a, *b;
	bool created, to_server;

	assert_non_null(t);
	/* First seen: the server's reply (SYN+ACK) from 10.0.0.2:502. */
	f = pkt(DISSECT_T_TCP, 2, 502, 1, 40000, DISSECT_TCP_SYN | DISSECT_TCP_ACK);
	a = flows_lookup(t, &f, false, &created, &to_server);
	assert_non_null(a);
	assert_true(created);
	assert_false(to_server);
	f = pkt(DISSECT_T_TCP, 1, 40000, 2, 502, DISSECT_TCP_ACK);
	b = flows_lookup(t, &f, false, &created, &to_server);
	assert_ptr_equal(a, b);
	assert_false(created);
	assert_true(to_server);
	/* A later SYN on the same 5-tuple does not change the decision. */
	f = pkt(DISSECT_T_TCP, 2, 502, 1, 40000, DISSECT_TCP_SYN);
	b = flows_lookup(t, &f, false, &created, &to_server);
	assert_ptr_equal(a, b);
	assert_false(to_server);
	/* Same addresses, UDP: another flow. */
	f = pkt(DISSECT_T_UDP, 1, 40000, 2, 502, 0);
	b = flows_lookup(t, &f, false, &created, &to_server);
	assert_ptr_not_equal(a, b);
	assert_int_equal(flows_count(t), 2);
	/* Non-transport frames have no flow. */
	f = pkt(DISSECT_T_NONE, 1, 0, 2, 0, 0);
	assert_null(flows_lookup(t, &f, false, &created, &to_server));
	flows_free(t);
}

static void self_flow(void **state)
{
	struct flow_table *t = flows_new();
	struct dissect_frame f = pkt(DISSECT_T_TCP, 1, 2404, 1, 2404, DISSECT_TCP_ACK);
	bool created, to_server;

	assert_non_null(flows_lookup(t, &f, false, &created, &to_server));
	assert_true(to_server);
	flows_free(t);
}

static void fragments_follow_datagram(void **state)
{
	struct flow_table *t = flows_new();
	struct dissect_frame f = pkt(DISSECT_T_UDP, 1, 53, 2, 5000, 0);
	int conn;

	assert_null(flows_fragment_conn(t, &f));
	f.ip_proto = 17;
	assert_int_equal(flows_note_datagram(t, &f, &conn, 1), 0);
	f.transport = DISSECT_T_NONE;
	f.ip_later_fragment = true;
	assert_ptr_equal(flows_fragment_conn(t, &f), &conn);
	f.ip_proto = 6;
	assert_null(flows_fragment_conn(t, &f));
	flows_free(t);
}

struct item {
	uint32_t key;
	int v;
};

static void hashmap_put_get_remove(void **state)
{
	enum { N = 20000 };
	struct hashmap m;
	struct item *items = calloc(N, sizeof(*items));

	assert_non_null(items);
	hashmap_init(&m, sizeof(uint32_t));
	uint32_t probe = 7;
	assert_null(hashmap_get(&m, &probe));
	assert_null(hashmap_remove(&m, &probe));
	for (uint32_t i = 0; i < N; i++) {
		items[i].key = i * 2654435761u;
		items[i].v = (int)i;
		assert_int_equal(hashmap_put(&m, &items[i].key, &items[i]), 0);
	}
	assert_int_equal(m.count, N);
	for (uint32_t i = 0; i < N; i += 2)
		assert_ptr_equal(hashmap_remove(&m, &items[i].key), &items[i]);
	assert_int_equal(m.count, N / 2);
	for (uint32_t i = 0; i < N; i++) {
		struct item *it = hashmap_get(&m, &items[i].key);
		if (i % 2)
			assert_ptr_equal(it, &items[i]);
		else
			assert_null(it);
	}
	/* Replacing keeps the count. */
	assert_int_equal(hashmap_put(&m, &items[1].key, &items[3]), 0);
	assert_int_equal(m.count, N / 2);
	assert_ptr_equal(hashmap_get(&m, &items[1].key), &items[3]);
	hashmap_free(&m);
	free(items);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(server_decision),
		cmocka_unit_test(both_directions_one_flow),
		cmocka_unit_test(self_flow),
		cmocka_unit_test(fragments_follow_datagram),
		cmocka_unit_test(hashmap_put_get_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
