/* The inventory's side of the alert engines: alert records with the MACs the inventory knows, and the minute tick
 * that feeds the engines over time (alerts_time.c) with each connection's packets, each device's last activity
 * and the capture's total. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "sensor-agent/alerts.h"
#include "sensor-agent/inventory_json.h"

#define TICK_USEC (60LL * 1000000)

struct alerts *inventory_alerts(struct inventory *inv) { return inv->alerts; }

/* The MAC of an IP address's device where the inventory knows it (layer-2 neighbours). */
static const char *mac_of(void *ud, const char *addr, char out[18])
{
	struct inventory *inv = ud;
	uint8_t key[17] = { 0 };
	struct inv_ip *ip;

	if (inet_pton(AF_INET, addr, key + 1) == 1)
		key[0] = 4;
	else if (inet_pton(AF_INET6, addr, key + 1) == 1)
		key[0] = 6;
	else
		return NULL; /* a MAC already, or unknown */
	ip = hashmap_get(&inv->ips, key);
	if (!ip || !ip->dev || !ip->dev->has_mac)
		return NULL;
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", ip->dev->mac[0], ip->dev->mac[1], ip->dev->mac[2],
		 ip->dev->mac[3], ip->dev->mac[4], ip->dev->mac[5]);
	return out;
}

int inv_alerts_flush(struct inventory *inv, inventory_record_fn fn, void *ud)
{
	if (!inv->alerts)
		return 0;
	return alerts_flush(inv->alerts, inv->last_packet, mac_of, inv, fn, ud);
}

/* A device's latest activity: its MAC's own traffic and its addresses'. */
static int64_t device_last_seen(const struct inv_device *d)
{
	int64_t t = d->attrs.last_seen;

	for (size_t i = 0; i < d->n_ips; i++)
		if (d->ips[i]->attrs.last_seen > t)
			t = d->ips[i]->attrs.last_seen;
	return t;
}

/* The address alerts name a device by: its MAC, or its IP. */
static const char *device_addr(const struct inv_device *d)
{
	const char *colon = strchr(d->key, ':');

	return colon ? colon + 1 : d->key;
}

void inventory_idle(struct inventory *inv, int64_t now)
{
	if (now > inv->last_packet)
		inv_alerts_tick(inv, now);
}

void inv_alerts_tick(struct inventory *inv, int64_t now)
{
	int64_t span;

	if (!inv->alerts)
		return;
	if (inv->tick_at == 0 || now < inv->tick_at) {
		inv->tick_at = now;
		inv->tick_packets = inv->packets;
		return;
	}
	if ((span = now - inv->tick_at) < TICK_USEC)
		return;
	for (size_t i = 0; i < inv->conns.cap; i++) {
		struct inv_conn *c = inv->conns.slots[i].value;
		char cl[46], sv[46];
		if (!inv->conns.slots[i].key || c->broadcast || c->key.transport == INV_T_ETH)
			continue;
		if (c->packets > c->rate_mark) {
			inv_conn_addrs(c, cl, sv);
			alerts_conn_rate(inv->alerts, cl, sv, c->key.transport == INV_T_TCP ? "tcp" : "udp", c->key.port,
					 c->packets - c->rate_mark, span, now);
		}
		c->rate_mark = c->packets;
	}
	for (size_t i = 0; i < inv->devices.cap; i++) {
		const struct inv_device *d = inv->devices.slots[i].value;
		if (inv->devices.slots[i].key)
			alerts_device_activity(inv->alerts, d->key, device_addr(d), device_last_seen(d), now);
	}
	alerts_total_rate(inv->alerts, inv->packets - inv->tick_packets, span, now);
	inv->tick_at = now;
	inv->tick_packets = inv->packets;
}
