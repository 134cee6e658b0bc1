#include "integrations/snmp/otwatch_snmp_mib.h"

#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "common/log.h"

/* otwatchObjects: { experimental 6879 1 } (OTWATCH-MIB's placeholder arc, see its DESCRIPTION). */
static const oid mib_root[] = { 1, 3, 6, 1, 3, 6879, 1 };
#define ROOT_LEN (sizeof(mib_root) / sizeof(mib_root[0]))
#define ARC_CONSOLE 1            /* otwConsole: scalars 1..N_SCALARS, instance .0 */
#define ARC_TABLE 2              /* otwSensorTable.otwSensorEntry(1).column.index */
#define N_SCALARS 15
#define FIRST_COL 2              /* otwSensorIndex (1) is not-accessible */
#define LAST_COL 24
#define N_COLS (LAST_COL - FIRST_COL + 1)
#define TRUTH(b) ((b) ? 1 : 2)   /* TruthValue */

struct cell_value {
	u_char type;
	long i;
	u_long u;
	struct counter64 c64;
	const char *s;
};

static size_t cell_count(const struct snmp_snapshot *snap)
{
	return N_SCALARS + (size_t)N_COLS * snap->nrows;
}

/* The OID of instance pos (0 <= pos < cell_count) into buf (room for ROOT_LEN + 4); returns its length. */
static size_t cell_oid(const struct snmp_snapshot *snap, size_t pos, oid *buf)
{
	memcpy(buf, mib_root, sizeof(mib_root));
	if (pos < N_SCALARS) {
		buf[ROOT_LEN] = ARC_CONSOLE;
		buf[ROOT_LEN + 1] = (oid)(pos + 1);
		buf[ROOT_LEN + 2] = 0;
		return ROOT_LEN + 3;
	}
	pos -= N_SCALARS;
	buf[ROOT_LEN] = ARC_TABLE;
	buf[ROOT_LEN + 1] = 1;
	buf[ROOT_LEN + 2] = (oid)(FIRST_COL + pos / snap->nrows);
	buf[ROOT_LEN + 3] = (oid)snap->rows[pos % snap->nrows].index;
	return ROOT_LEN + 4;
}

/* The first instance whose OID is greater than (strict) or not less than the request; cell_count if none.
 * Instances are numbered in OID order, so a binary search over their numbers finds it. */
static size_t cell_search(const struct snmp_snapshot *snap, const oid *req, size_t reqlen, bool strict)
{
	size_t lo = 0, hi = cell_count(snap);
	oid buf[ROOT_LEN + 4];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, len = cell_oid(snap, mid, buf);
		int cmp = snmp_oid_compare(buf, len, req, reqlen);

		if (cmp < 0 || (strict && cmp == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void console_value(const struct snmp_cache *cache, unsigned arc, struct cell_value *v)
{
	const struct snmp_snapshot *s = snmp_cache_snapshot(cache);
	uint32_t g = 0;

	switch (arc) {
	case 1:
		v->type = ASN_OCTET_STR;
		v->s = OTW_VERSION;
		return;
	case 2:
		v->type = ASN_INTEGER;
		v->i = TRUTH(snmp_cache_db_reachable(cache));
		return;
	case 3: g = snmp_cache_db_latency_ms(cache); break;
	case 4: g = snmp_cache_data_age(cache); break;
	case 5: g = s->sensors_total; break;
	case 6: g = s->sensors_connected; break;
	case 7: g = s->sensors_silent; break;
	case 8: g = s->alerts_new; break;
	case 9: g = s->alerts_critical; break;
	case 10: g = s->alerts_major; break;
	case 11: g = s->alerts_minor; break;
	case 12: g = s->alerts_warning; break;
	case 13: g = s->devices_total; break;
	case 14: g = s->forwarding_backlog; break;
	case 15: g = s->forwarding_oldest_age; break;
	default: break;
	}
	v->type = ASN_GAUGE;
	v->u = g;
}

static void sensor_value(const struct snmp_sensor *r, unsigned col, struct cell_value *v)
{
	uint64_t c64 = 0;
	uint32_t g = 0;

	switch (col) {
	case 2: v->type = ASN_OCTET_STR; v->s = r->name; return;
	case 3: v->type = ASN_OCTET_STR; v->s = r->uuid; return;
	case 4: v->type = ASN_OCTET_STR; v->s = r->site; return;
	case 5: v->type = ASN_OCTET_STR; v->s = r->zone; return;
	case 6: v->type = ASN_INTEGER; v->i = TRUTH(r->connected); return;
	case 7: v->type = ASN_INTEGER; v->i = TRUTH(r->silent); return;
	case 8: v->type = ASN_INTEGER; v->i = r->mode; return;
	case 9: v->type = ASN_OCTET_STR; v->s = r->version; return;
	case 10: v->type = ASN_INTEGER; v->i = r->last_seen_age; return;
	case 11: c64 = r->applied_seq; break;
	case 12: v->type = ASN_INTEGER; v->i = r->health_age; return;
	case 13: g = r->cpu_hundredths; break;
	case 14: g = r->mem_rss_kib; break;
	case 15: g = r->mem_total_kib; break;
	case 16: g = r->mem_avail_kib; break;
	case 17: g = r->disk_free_mib; break;
	case 18: g = r->disk_total_mib; break;
	case 19: c64 = r->capture_packets; break;
	case 20: c64 = r->capture_drops; break;
	case 21: g = r->journal_records; break;
	case 22: g = r->journal_kib; break;
	case 23: g = r->uptime_sec; break;
	case 24: g = r->proc_cpu_hundredths; break;
	default: break;
	}
	if (col == 11 || col == 19 || col == 20) {
		v->type = ASN_COUNTER64;
		v->c64.high = (u_long)(c64 >> 32);
		v->c64.low = (u_long)(c64 & 0xffffffffu);
		return;
	}
	v->type = ASN_GAUGE;
	v->u = g;
}

static void cell_value(const struct snmp_cache *cache, size_t pos, struct cell_value *v)
{
	const struct snmp_snapshot *s = snmp_cache_snapshot(cache);

	memset(v, 0, sizeof(*v));
	if (pos < N_SCALARS) {
		console_value(cache, (unsigned)pos + 1, v);
		return;
	}
	pos -= N_SCALARS;
	sensor_value(&s->rows[pos % s->nrows], (unsigned)(FIRST_COL + pos / s->nrows), v);
}

static void set_value(netsnmp_variable_list *vb, const struct cell_value *v)
{
	switch (v->type) {
	case ASN_OCTET_STR:
		snmp_set_var_typed_value(vb, ASN_OCTET_STR, v->s, strlen(v->s));
		break;
	case ASN_INTEGER:
		snmp_set_var_typed_value(vb, ASN_INTEGER, &v->i, sizeof(v->i));
		break;
	case ASN_COUNTER64:
		snmp_set_var_typed_value(vb, ASN_COUNTER64, &v->c64, sizeof(v->c64));
		break;
	default:
		snmp_set_var_typed_value(vb, ASN_GAUGE, &v->u, sizeof(v->u));
		break;
	}
}

/* For a GET that matched no instance: noSuchInstance when the object exists (a scalar without .0, a row that
 * is not there), noSuchObject otherwise. */
static int missing_kind(const oid *req, size_t len)
{
	if (len > ROOT_LEN + 1 && req[ROOT_LEN] == ARC_CONSOLE && req[ROOT_LEN + 1] >= 1 &&
	    req[ROOT_LEN + 1] <= N_SCALARS)
		return SNMP_NOSUCHINSTANCE;
	if (len > ROOT_LEN + 2 && req[ROOT_LEN] == ARC_TABLE && req[ROOT_LEN + 1] == 1 &&
	    req[ROOT_LEN + 2] >= FIRST_COL && req[ROOT_LEN + 2] <= LAST_COL)
		return SNMP_NOSUCHINSTANCE;
	return SNMP_NOSUCHOBJECT;
}

static int mib_handler(netsnmp_mib_handler *handler, netsnmp_handler_registration *reginfo,
		       netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
	const struct snmp_cache *cache = handler->myvoid;
	const struct snmp_snapshot *snap = snmp_cache_snapshot(cache);
	size_t total = cell_count(snap);

	for (netsnmp_request_info *req = requests; req; req = req->next) {
		netsnmp_variable_list *vb = req->requestvb;
		struct cell_value v;
		oid buf[ROOT_LEN + 4];
		size_t pos, len;

		if (req->processed)
			continue;
		switch (reqinfo->mode) {
		case MODE_GET:
			pos = cell_search(snap, vb->name, vb->name_length, false);
			if (pos < total) {
				len = cell_oid(snap, pos, buf);
				if (snmp_oid_compare(buf, len, vb->name, vb->name_length) == 0) {
					cell_value(cache, pos, &v);
					set_value(vb, &v);
					break;
				}
			}
			netsnmp_set_request_error(reqinfo, req, missing_kind(vb->name, vb->name_length));
			break;
		case MODE_GETNEXT:
			pos = cell_search(snap, vb->name, vb->name_length, true);
			/* Past our last instance: leave the varbind alone and the agent goes on with the next
			 * registered subtree. */
			if (pos >= total)
				break;
			len = cell_oid(snap, pos, buf);
			snmp_set_var_objid(vb, buf, len);
			cell_value(cache, pos, &v);
			set_value(vb, &v);
			break;
		default:
			netsnmp_set_request_error(reqinfo, req, SNMP_ERR_GENERR);
			break;
		}
	}
	return SNMP_ERR_NOERROR;
}

int snmp_mib_register(struct snmp_cache *cache)
{
	netsnmp_handler_registration *reg;

	reg = netsnmp_create_handler_registration("otwatchObjects", mib_handler, mib_root, ROOT_LEN,
						  HANDLER_CAN_RONLY);
	if (!reg)
		return -1;
	reg->handler->myvoid = cache;
	if (netsnmp_register_handler(reg) != MIB_REGISTERED_OK) {
		log_error("snmp: could not register OTWATCH-MIB's objects with the agent");
		return -1;
	}
	return 0;
}
