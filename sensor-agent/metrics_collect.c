/* The run loop's side of the metrics endpoint: fills a snapshot from the capture counters, the journal, the uplink
 * and the inventory's deep-inspection counters (sensor-agent/metrics.h). */
#include "sensor-agent/metrics_collect.h"

#include <stdio.h>
#include <string.h>

#include "sensor-agent/inventory_json.h" /* inv_dpi_stats_json: the per-protocol parser counters */

static uint64_t ju64(json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

void sensor_metrics_collect(struct sensor_metrics *sm, const struct sensor_metrics_inputs *in)
{
	struct sensor_metrics_snapshot *s;
	struct journal_status js;
	struct uplink_status us;
	json_t *dpi, *v;
	const char *name;

	if (!sm || !(s = calloc(1, sizeof(*s))))
		return;
	snprintf(s->source, sizeof(s->source), "%s", in->source ? in->source : "file");
	s->live = in->live;
	if (in->cs) {
		s->packets = in->cs->packets;
		s->bytes = in->cs->bytes;
		s->received = in->cs->received;
		s->kernel_drops = in->cs->kernel_drops;
		s->iface_drops = in->cs->iface_drops;
	}
	if (in->j) {
		journal_get_status(in->j, &js);
		s->journal_last_seq = js.last_seq;
		s->journal_acked = js.acked;
		s->journal_bytes = js.bytes;
		for (size_t k = 0; k < JOURNAL_KINDS; k++)
			s->journal_lost += js.lost[k];
	}
	if (in->up) {
		uplink_get_status(in->up, &us);
		s->uplink_connected = us.connected;
		s->uplink_connections = us.welcomes;
	}
	if (in->inv && (dpi = inv_dpi_stats_json(in->inv))) {
		json_object_foreach(dpi, name, v) {
			struct sensor_metrics_proto *p;
			if (name[0] == '_') {
				s->dpi_mem_used = ju64(v, "mem_used");
				s->dpi_evictions = ju64(v, "evictions");
				continue;
			}
			if (s->nprotos == SENSOR_METRICS_PROTOS)
				continue;
			p = &s->protos[s->nprotos++];
			snprintf(p->name, sizeof(p->name), "%s", name);
			p->pdus = ju64(v, "pdus");
			p->malformed = ju64(v, "malformed");
			p->violations = ju64(v, "violations");
			p->gaps = ju64(v, "gaps");
		}
		json_decref(dpi);
	}
	sensor_metrics_publish(sm, s);
	free(s);
}
