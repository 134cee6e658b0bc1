/* Inventory settings that callers change between packets: deep-inspection memory caps, the alert engines'
 * mode, the malware engine's indicators and the console's settings. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sensor-agent/alerts.h"
#include "sensor-agent/evidence.h"
#include "sensor-agent/flows.h"
#include "sensor-agent/indicators.h"
#include "sensor-agent/inventory_json.h"

int inventory_set_dpi_limits(struct inventory *inv, size_t total_bytes, size_t flow_bytes)
{
	struct dpi_limits lim = { .total_bytes = total_bytes, .flow_bytes = flow_bytes };
	struct dpi *d;

	if (inv->packets)
		return -EBUSY;
	d = dpi_new(&lim, inv_dpi_sink);
	if (!d)
		return -ENOMEM;
	dpi_free(inv->dpi);
	inv->dpi = d;
	return 0;
}

/* The malware engine checks flows when they start; a flow already open when the learning period ends or the
 * bundle arrives is checked then (a connection to a known-bad address opened while learning still alerts). */
static void indicators_flow(void *ud, struct flow *fl)
{
	struct inventory *inv = ud;
	const struct inv_conn *c = fl->conn;

	if (c && c->key.transport != INV_T_ETH)
		indicators_check_flow(inv->indicators, inv->alerts, c->key.transport == INV_T_TCP ? "tcp" : "udp",
				      c->key.ip_version, c->key.src, c->key.dst, inv->now);
}

static void indicators_sweep(struct inventory *inv)
{
	if (inv->indicators && inv->alerts && alerts_mode(inv->alerts) == ALERTS_OPERATIONAL)
		flows_foreach(inv->flows, indicators_flow, inv);
}

/* A new alert's evidence: the flow of the packet being handled (none between packets). */
static const char *save_evidence(void *ud, char ref[WIRE_MAX_EVIDENCE_REF + 1])
{
	return evidence_save(((struct inventory *)ud)->evidence, ref);
}

void inventory_set_evidence(struct inventory *inv, struct evidence *ev)
{
	if (inv->evidence != ev)
		evidence_free(inv->evidence);
	inv->evidence = ev;
}

struct evidence *inventory_evidence(struct inventory *inv) { return inv->evidence; }

int inventory_enable_alerts(struct inventory *inv, bool operational)
{
	if (!inv->alerts && !(inv->alerts = alerts_new()))
		return -ENOMEM;
	alerts_set_evidence_hook(inv->alerts, save_evidence, inv);
	alerts_set_mode(inv->alerts, operational ? ALERTS_OPERATIONAL : ALERTS_LEARNING);
	if (operational) {
		alerts_clear(inv->alerts); /* what the learning period raised is not reported */
		indicators_sweep(inv);
	}
	return 0;
}

void inventory_set_indicators(struct inventory *inv, struct indicators *ind)
{
	if (inv->indicators != ind)
		indicators_free(inv->indicators);
	inv->indicators = ind;
	indicators_sweep(inv);
}

int inventory_parse_limit(int opt, const char *arg, size_t *out)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (!*arg || *end || v < 1 || v > (opt == 'M' ? 4096UL : 16384UL))
		return -1;
	*out = (size_t)v * (opt == 'M' ? 1024 * 1024 : 1024);
	return 0;
}

void inventory_set_settings(struct inventory *inv, const struct settings *s, bool resend)
{
	inv->settings = s;
	if (!resend)
		return;
	/* Every device's record may read differently now: send them all again. */
	for (size_t i = 0; i < inv->devices.cap; i++)
		if (inv->devices.slots[i].key)
			((struct inv_device *)inv->devices.slots[i].value)->dirty = true;
}

