/* Inventory settings that callers change between packets: deep-inspection memory caps, the alert engines'
 * mode and the console's settings. */
#include <errno.h>
#include <stdlib.h>

#include "sensor-agent/alerts.h"
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

int inventory_enable_alerts(struct inventory *inv, bool operational)
{
	if (!inv->alerts && !(inv->alerts = alerts_new()))
		return -ENOMEM;
	alerts_set_mode(inv->alerts, operational ? ALERTS_OPERATIONAL : ALERTS_LEARNING);
	if (operational)
		alerts_clear(inv->alerts); /* what the learning period raised is not reported */
	return 0;
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
