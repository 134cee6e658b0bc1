/* The alert engines that look at traffic over time, fed once a minute of packet time by the inventory
 * (inventory_alerts.c): a connection's packet rate far above what it reached while learning, a device that used
 * to talk regularly falling silent, the whole capture's traffic collapsing, and new connections from the
 * monitored network to public addresses. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "sensor-agent/alerts_internal.h"

#define MIN_USEC (60LL * 1000000)
#define RATE_FACTOR 10        /* a connection's rate above RATE_FACTOR x its learnt peak ... */
#define RATE_MARGIN 600       /* ... and above peak + RATE_MARGIN packets a minute is a sudden change */
#define SILENCE_MIN_USEC (15 * MIN_USEC) /* a device is missed after at least this long ... */
#define SILENCE_GAPS 3        /* ... and SILENCE_GAPS x the longest gap it had while learning */
#define DROP_MIN_RATE 60      /* learnt minimum (packets a minute) below which a traffic drop is not judged */
#define DROP_FACTOR 10        /* below a tenth of the learnt minimum: traffic dropped */

static const char REM_RATE[] = "Find what makes the pair exchange so much more traffic: a misbehaving device, a "
			       "changed configuration, a data exfiltration or a flood (denial of service).";
static const char REM_SILENT[] = "Check the device: powered, connected, and its switch port and cabling; a silent "
				 "controller can mean a failure or a stopped process.";
static const char REM_DROP[] = "Check the mirror port or TAP feeding the sensor and the sensor's interface: the "
			       "sensor is not seeing the traffic it used to.";
static const char REM_INTERNET[] = "OT devices should not reach the internet directly: check what the device "
				   "contacts and why, and block it at the firewall unless approved.";

/* Neither private, shared, loopback, link-local, benchmarking, multicast nor reserved: an internet address. (The
 * documentation ranges count as internet: simulators and examples stand them in for it.) */
bool alerts_is_public_ip(const char *s)
{
	uint8_t a[16];

	if (inet_pton(AF_INET, s, a) == 1) {
		return !(a[0] == 0 || a[0] == 10 || a[0] == 127 || a[0] >= 224 || (a[0] == 169 && a[1] == 254) ||
			 (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
			 (a[0] == 100 && (a[1] & 0xc0) == 64) || (a[0] == 198 && (a[1] & 0xfe) == 18));
	}
	if (inet_pton(AF_INET6, s, a) == 1)
		return (a[0] & 0xe0) == 0x20; /* global unicast */
	return false;
}

void alerts_internet_connection(struct alerts *a, const char *client, const char *server, const char *transport,
				unsigned port, int64_t ts)
{
	char msg[192];
	struct bkey k = alerts_bkey(B_CONN, client, server, transport, port);

	if (a->mode != ALERTS_OPERATIONAL || !alerts_is_public_ip(server) || alerts_is_public_ip(client))
		return;
	snprintf(msg, sizeof(msg), "%s opened a %s connection to the internet address %s port %u", client, transport,
		 server, port);
	alerts_raise_item(a, "anomaly", "major", "New internet connection from the OT network", client, server,
			  transport, REM_INTERNET, ts, msg, &k);
}

void alerts_conn_rate(struct alerts *a, const char *client, const char *server, const char *transport,
		      unsigned port, uint64_t packets, int64_t span, int64_t now)
{
	struct bkey k = alerts_bkey(B_RATE, client, server, transport, port);
	struct bitem *it;
	uint64_t rate;
	char msg[192];

	if (span <= 0)
		return;
	rate = packets * (uint64_t)MIN_USEC / (uint64_t)span;
	if (a->mode == ALERTS_LEARNING) {
		if ((it = alerts_item_get(&a->baseline, &k, true)) && rate > it->n) {
			it->n = rate > UINT32_MAX ? UINT32_MAX : (uint32_t)rate;
			a->changes++;
		}
		return;
	}
	it = hashmap_get(&a->baseline, &k);
	if (!it || rate <= (uint64_t)it->n * RATE_FACTOR || rate <= (uint64_t)it->n + RATE_MARGIN)
		return;
	snprintf(msg, sizeof(msg), "%s -> %s %s/%u: %llu packets a minute, at most %u while learning", client, server,
		 transport, port, (unsigned long long)rate, it->n);
	alerts_raise(a, "anomaly", "minor", "Traffic rate change", client, server, transport, REM_RATE, now, msg);
}

void alerts_device_activity(struct alerts *a, const char *key, const char *addr, int64_t last_seen, int64_t now)
{
	struct bkey k = alerts_bkey(B_DEVICE, key, NULL, NULL, 0);
	struct bkey s = alerts_bkey(B_SILENT, key, NULL, NULL, 0);
	struct bitem *it = hashmap_get(&a->baseline, &k), *st;
	int64_t gap, limit;
	char msg[192];

	if (!it || last_seen <= 0)
		return;
	if (a->mode == ALERTS_LEARNING) {
		/* window_start: the last minute it was active; n: its longest silence in minutes */
		if (last_seen > it->window_start) {
			if (it->window_start > 0) {
				gap = (last_seen - it->window_start) / MIN_USEC;
				if (gap > it->n)
					it->n = (uint32_t)(gap > UINT32_MAX ? UINT32_MAX : gap);
				if (!it->alerted || gap > it->n)
					a->changes++;
				it->alerted = true; /* active in two minutes at least: n means something */
			}
			it->window_start = last_seen;
		}
		return;
	}
	st = alerts_item_get(&a->counters, &s, true);
	if (!st)
		return;
	if (last_seen > st->window_start) { /* it talks again: a later silence alerts again */
		st->window_start = last_seen;
		st->alerted = false;
	}
	if (!it->alerted || st->alerted)
		return;
	limit = (int64_t)it->n * MIN_USEC * SILENCE_GAPS;
	if (limit < SILENCE_MIN_USEC)
		limit = SILENCE_MIN_USEC;
	if (now - last_seen < limit)
		return;
	st->alerted = true;
	snprintf(msg, sizeof(msg), "%s has been silent for %lld minutes; while learning it was never silent for more "
		 "than %u", addr ? addr : key, (long long)((now - last_seen) / MIN_USEC), it->n);
	alerts_raise(a, "operational", "minor", "Device stopped communicating", addr, NULL, NULL, REM_SILENT, now, msg);
}

void alerts_total_rate(struct alerts *a, uint64_t packets, int64_t span, int64_t now)
{
	struct bkey k = alerts_bkey(B_TOTAL, NULL, NULL, NULL, 0);
	struct bitem *it;
	uint64_t rate;
	char msg[192];

	if (span < MIN_USEC)
		return;
	rate = packets * (uint64_t)MIN_USEC / (uint64_t)span;
	if (a->mode == ALERTS_LEARNING) {
		/* n: the lowest rate of a full minute; alerted: n is set */
		if ((it = alerts_item_get(&a->baseline, &k, true)) && (!it->alerted || rate < it->n)) {
			it->n = rate > UINT32_MAX ? UINT32_MAX : (uint32_t)rate;
			it->alerted = true;
			a->changes++;
		}
		return;
	}
	it = hashmap_get(&a->baseline, &k);
	if (!it || it->n < DROP_MIN_RATE)
		return;
	if (rate * DROP_FACTOR >= it->n) {
		it->window_start = 0; /* recovered */
		return;
	}
	if (it->window_start)
		return; /* once per drop */
	it->window_start = now;
	snprintf(msg, sizeof(msg), "the sensor saw %llu packets a minute; while learning never fewer than %u",
		 (unsigned long long)rate, it->n);
	alerts_raise(a, "operational", "major", "Sensor traffic drop", NULL, NULL, NULL, REM_DROP, now, msg);
}
