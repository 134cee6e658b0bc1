/* The traffic engine's internals, shared by traffic.c, tcp.c and the protocol modules (ot_*.c, it_*.c).
 * Not an API for anything outside tools/plantsim.
 *
 * A session is one state machine: each step emits at most one frame stamped s->at and moves s->at forward
 * (never back), so the heap in traffic.c writes frames in time order. Datagram and layer-2 sessions write
 * their own step function; TCP sessions hand a script to the TCP engine (tcp.c), which owns the handshake,
 * sequence numbers, segmentation, ACKs and the close, and asks the script for one application message at a
 * time. Every session draws from its own random stream, numbered by creation order. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "tools/plantsim/frames.h"
#include "tools/plantsim/pcap_writer.h"
#include "tools/plantsim/plant.h"
#include "tools/plantsim/prng.h"
#include "tools/plantsim/traffic.h"
#include "tools/plantsim/wbuf.h"

#define USEC_PER_MS 1000ULL
#define USEC_PER_SEC 1000000ULL
#define SIM_PAYLOAD_MAX 1480   /* largest datagram / layer-2 payload a step builds */
#define TCP_MSG_MAX 6144       /* largest application message; the engine segments it at the MSS */
#define TCP_MSS 1460
#define SIM_NEVER_S UINT32_MAX /* a special operation's due time (seconds from the start) that never comes */

struct sim;
struct sim_session;
struct tcp_conn;

typedef int (*sim_step_fn)(struct sim *t, struct sim_session *s);

/* What a TCP script returns with each message. */
struct tcp_msg {
	bool from_server;
	uint64_t gap_us;   /* from the end of the previous message (or the handshake) to this one */
	bool whole;        /* never cut this message across segments (it must fit the MSS): encrypted data that
			    * no receiver could delimit */
	bool last;         /* with a false return: do not reconnect after this close */
	uint64_t idle_us;  /* with a false return: close to next connection (0: the app's idle range) */
};

/* Writes the next message of connection s into b and fills m; returns false to close the connection
 * instead (m->gap_us is then the time to the client's FIN). s->n counts the messages of this connection
 * written so far, s->conn the connections before this one. */
typedef bool (*tcp_script_fn)(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b);

struct tcp_app {
	enum plant_proto proto;
	uint16_t port;
	bool offsite;                          /* server is an off-site address behind the router (s->b) */
	uint32_t idle_min_ms, idle_max_ms;     /* from a close to the next connection */
	tcp_script_fn script;
};

struct sim_session {
	uint64_t at;            /* packet time of the next step */
	uint32_t order;         /* creation number: breaks ties in the heap deterministically */
	bool done;
	sim_step_fn step;
	struct prng rng;
	unsigned a;             /* initiating host (TCP client) */
	unsigned b;             /* peer host (TCP server), or off-site index */
	unsigned state;         /* the step function's (the TCP engine's for TCP sessions) */
	unsigned n;             /* messages so far in this connection / exchange */
	unsigned conn;          /* TCP connections so far */
	unsigned phase;         /* the script's own state */
	uint32_t v[16];         /* per-protocol scratch */
	uint64_t due[4];        /* per-protocol deadlines (packet time) */
	const struct tcp_app *app;
	struct tcp_conn *tcp;
};

struct endpoint {
	const uint8_t *mac;
	uint32_t ip;
	uint16_t vlan;
	uint8_t ttl;
	uint16_t *ip_id;
	uint16_t window;
};

struct sim {
	const struct plant *plant;
	struct pcap_writer *w;
	uint64_t seed;
	uint64_t start;
	uint64_t end;
	bool anomalies;
	/* Scenario runs (scenarios.c): frames stamped at or after attack_start go to w_attack; quiet leaves out
	 * the plant's routine operations that alert by design (PLC stop/start, DNP3 restarts, BACnet communication
	 * control and reinitialisation); dnp3_cold_at (0: never) is when the SCADA master cold-restarts host
	 * dnp3_cold_rtu. */
	unsigned scenario;      /* SCEN_* (scenarios.h), 0: none */
	struct pcap_writer *w_attack;
	uint64_t attack_start;
	bool quiet;
	uint64_t dnp3_cold_at;
	unsigned dnp3_cold_rtu;
	struct sim_session *sessions;
	size_t n_sessions, cap_sessions;
	struct sim_session **heap;
	size_t heap_len;
	uint16_t ip_id[PLANT_MAX_DEVICES];
	uint16_t offsite_ip_id[PLANT_OFFSITE_COUNT + 1];
	uint16_t next_port[PLANT_MAX_DEVICES];
	struct traffic_stats stats;
	uint8_t frame[FRAME_MAX_LEN + 64];
	uint8_t payload[SIM_PAYLOAD_MAX];
};

extern const uint8_t sim_mac_broadcast[6];

static inline uint64_t sim_ms(struct sim_session *s, uint64_t lo, uint64_t hi)
{
	return prng_range(&s->rng, lo * USEC_PER_MS, hi * USEC_PER_MS);
}

static inline uint64_t sim_us(struct sim_session *s, uint64_t lo, uint64_t hi) { return prng_range(&s->rng, lo, hi); }

/* True with probability 1/n. */
static inline bool sim_chance(struct sim_session *s, unsigned n) { return prng_next(&s->rng) % n == 0; }

static inline const struct plant_host *sim_host(const struct sim *t, unsigned i) { return &t->plant->hosts[i]; }

/* Host i as an IP endpoint (TTL and window by device class). */
struct endpoint sim_host_ep(struct sim *t, unsigned i);

/* Records that device d took role r in protocol p (for the ground truth). */
static inline void sim_seen(struct sim *t, unsigned d, enum plant_proto p, enum plant_proto_role r)
{
	if (d < PLANT_MAX_DEVICES)
		t->stats.seen[d][r] |= PP_BIT(p);
}

/* Records that a frame of protocol p states the facts (PF_BIT()s) of device d. */
static inline void sim_reveal(struct sim *t, unsigned d, enum plant_proto p, unsigned facts)
{
	for (unsigned f = 0; f < PF__COUNT && d < PLANT_MAX_DEVICES; f++)
		if (facts & PF_BIT(f))
			t->stats.revealed[d][f] |= PP_BIT(p);
}

/* Records a deliberate anomaly (kept when there is room). */
void sim_anomaly(struct sim *t, uint64_t ts, const char *kind, enum plant_proto p, unsigned src, unsigned dst);
/* The same with a destination outside the plant (an address, not a device). */
void sim_anomaly_ip(struct sim *t, uint64_t ts, const char *kind, enum plant_proto p, unsigned src, uint32_t dst_ip);

/* Writes the frame in t->frame (len from a frame builder; a negative len is returned as is). */
int sim_emit(struct sim *t, uint64_t ts, int len) __attribute__((warn_unused_result));

int sim_udp(struct sim *t, uint64_t ts, const struct endpoint *from, const uint8_t *dst_mac, uint32_t dst_ip,
	uint16_t sport, uint16_t dport, const struct wbuf *pl) __attribute__((warn_unused_result));

/* A layer-2 frame with its own ethertype (or an 802.3 length, for LLC frames). */
int sim_l2(struct sim *t, uint64_t ts, const uint8_t *src, const uint8_t *dst, uint16_t vlan, uint16_t type,
	const struct wbuf *pl) __attribute__((warn_unused_result));

uint16_t sim_ephemeral_port(struct sim *t, unsigned host);

/* Adds a session whose first step runs at `at`; *out (may be NULL) points into the session table and stays
 * valid only until the next sim_add. Returns 0 or -ENOMEM. */
int sim_add(struct sim *t, sim_step_fn step, unsigned a, unsigned b, uint64_t at, struct sim_session **out)
	__attribute__((warn_unused_result));

/* Adds a TCP session of app from client to server (or off-site), first SYN at `at`. */
int tcp_add(struct sim *t, const struct tcp_app *app, unsigned client, unsigned server, uint64_t at,
	struct sim_session **out) __attribute__((warn_unused_result));

/* A session of app from every host of role `role` to every host serving app->proto, each first connecting at a
 * random time between first_min_ms and first_max_ms after the start. 0 or -ENOMEM. */
int tcp_spawn_role(struct sim *t, const struct tcp_app *app, enum plant_role role, uint32_t first_min_ms,
		   uint32_t first_max_ms) __attribute__((warn_unused_result));

/* The TCP engine's step function and its clean-up (frees s->tcp). */
int tcp_step(struct sim *t, struct sim_session *s);
void tcp_free(struct sim_session *s);

/* Per-protocol set-up: each adds the sessions its protocol needs for this plant. */
int modbus_spawn(struct sim *t) __attribute__((warn_unused_result));
int s7_spawn(struct sim *t) __attribute__((warn_unused_result));
int s7plus_spawn(struct sim *t) __attribute__((warn_unused_result));
int dnp3_spawn(struct sim *t) __attribute__((warn_unused_result));
int iec104_spawn(struct sim *t) __attribute__((warn_unused_result));
int enip_spawn(struct sim *t) __attribute__((warn_unused_result));
int bacnet_spawn(struct sim *t) __attribute__((warn_unused_result));
int opcua_spawn(struct sim *t) __attribute__((warn_unused_result));
int pndcp_spawn(struct sim *t) __attribute__((warn_unused_result));
int l2_spawn(struct sim *t) __attribute__((warn_unused_result));
int names_spawn(struct sim *t) __attribute__((warn_unused_result));
int mgmt_spawn(struct sim *t) __attribute__((warn_unused_result));
int web_spawn(struct sim *t) __attribute__((warn_unused_result));
int anomaly_spawn(struct sim *t) __attribute__((warn_unused_result));
int scenario_spawn(struct sim *t) __attribute__((warn_unused_result));

/* An S7 client that goes online with a PLC once and leaves (a PG connection, no reconnect): reads the
 * identification (SZL 0x0011, 0x001C), the operating mode and a DB, or, with download, loads OB1 into it. */
int s7_add_visit(struct sim *t, unsigned client, unsigned plc, bool download, uint64_t at)
	__attribute__((warn_unused_result));
