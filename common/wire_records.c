/* The otwatch.v1 records of deep inspection and detection: event, violation and alert records, and the learn
 * items that alerts carry and config messages push back (common/wire.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/wire.h"
#include "common/wire_impl.h"

/* An address member: IP, MAC or null; absent only when optional. */
static int get_addr(struct perr *e, json_t *o, const char *f, bool optional, const char **out)
{
	int r;

	*out = NULL;
	if (optional && !json_object_get(o, f))
		return 0;
	if ((r = wire_get_str(e, o, f, 45, true, out)))
		return r;
	if (*out && !wire_is_ip(*out) && !wire_is_mac(*out))
		return wire_fail(e, f, "not an IP address, a MAC address or null");
	return 0;
}

static int get_mac(struct perr *e, json_t *o, const char *f, const char **out)
{
	int r;

	*out = NULL;
	if (!json_object_get(o, f))
		return 0;
	if ((r = wire_get_str(e, o, f, 17, true, out)))
		return r;
	if (*out && !wire_is_mac(*out))
		return wire_fail(e, f, "not a MAC address or null");
	return 0;
}

/* A time member that may be null (0). */
static int get_time_or_null(struct perr *e, json_t *o, const char *f, int64_t *out)
{
	json_t *v = json_object_get(o, f);

	*out = 0;
	if (json_is_null(v))
		return 0;
	if (!v)
		return wire_fail(e, f, "missing");
	if (!json_is_string(v))
		return wire_fail(e, f, "not an RFC 3339 time or null");
	return wire_get_time(e, o, f, out);
}

/* An optional string: absent and null are NULL. */
static int get_opt_str(struct perr *e, json_t *o, const char *f, size_t maxlen, const char **out)
{
	*out = NULL;
	if (!json_object_get(o, f))
		return 0;
	return wire_get_str(e, o, f, maxlen, true, out);
}

int wire_parse_event(struct perr *e, json_t *o, struct wire_record *rec)
{
	struct wire_event *ev = &rec->u.ev;
	int r;

	if ((r = wire_get_str(e, o, "proto", WIRE_MAX_NAME, false, &ev->proto)) ||
	    (r = wire_get_str(e, o, "name", WIRE_MAX_NAME, false, &ev->name)))
		return r;
	if (!ev->name[0])
		return wire_fail(e, "name", "empty");
	if ((r = get_addr(e, o, "src_addr", false, &ev->src)) || (r = get_addr(e, o, "dst_addr", false, &ev->dst)) ||
	    (r = wire_get_int(e, o, "count", 0, INT64_MAX, &ev->count)) ||
	    (r = get_time_or_null(e, o, "first_seen", &ev->first_seen)) ||
	    (r = get_time_or_null(e, o, "last_seen", &ev->last_seen)) ||
	    (r = get_opt_str(e, o, "detail", WIRE_MAX_DETAIL, &ev->detail)))
		return r;
	return 0;
}

static const char *const learn_kinds[] = { "device", "connection", "pair_protocol", "pair_function", "writer",
					   "programmer", "alert", "arp_binding", NULL };

int wire_parse_learn(struct perr *e, json_t *o, const char *f)
{
	char path[96];
	struct perr le = { e->buf, e->len, path };
	const char *s;
	int64_t code;
	int r, k;

	if (e->path[0])
		snprintf(path, sizeof(path), "%s.%s", e->path, f);
	else
		snprintf(path, sizeof(path), "%s", f);
	if (!json_is_object(o))
		return wire_fail(e, f, "not an object");
	if ((r = wire_get_enum(&le, o, "kind", learn_kinds, &k)) || (r = wire_get_str(&le, o, "a", 64, false, &s)) ||
	    (r = wire_get_str(&le, o, "b", 64, false, &s)) || (r = wire_get_str(&le, o, "proto", 32, false, &s)) ||
	    (r = wire_get_int(&le, o, "code", 0, UINT32_MAX, &code)) ||
	    (r = get_opt_str(&le, o, "title", WIRE_MAX_TITLE, &s)))
		return r;
	if (strcmp(learn_kinds[k], "alert") == 0 && !s)
		return wire_fail(&le, "title", "missing (an alert item needs its title)");
	return 0;
}

int wire_check_learn(json_t *item, char *err, size_t errlen)
{
	struct perr e = { err, errlen, "" };

	if (errlen)
		err[0] = '\0';
	return wire_parse_learn(&e, item, "learn");
}

int wire_parse_alert(struct perr *e, json_t *o, struct wire_record *rec)
{
	static const char *const engines[] = { "policy_violation", "protocol_violation", "anomaly", "operational",
					       "malware", NULL };
	static const char *const severities[] = { "warning", "minor", "major", "critical", NULL };
	struct wire_alert *al = &rec->u.alert;
	int r, eng, sev;

	if ((r = wire_get_enum(e, o, "engine", engines, &eng)) || (r = wire_get_enum(e, o, "severity", severities, &sev)) ||
	    (r = wire_get_str(e, o, "title", WIRE_MAX_TITLE, false, &al->title)) ||
	    (r = wire_get_str(e, o, "message", WIRE_MAX_DETAIL, false, &al->message)) ||
	    (r = get_opt_str(e, o, "remediation", WIRE_MAX_DETAIL, &al->remediation)) ||
	    (r = get_addr(e, o, "src", false, &al->src)) || (r = get_addr(e, o, "dst", false, &al->dst)) ||
	    (r = get_mac(e, o, "src_mac", &al->src_mac)) || (r = get_mac(e, o, "dst_mac", &al->dst_mac)) ||
	    (r = wire_get_str(e, o, "protocol", WIRE_MAX_NAME, true, &al->protocol)) ||
	    (r = wire_get_int(e, o, "count", 1, INT64_MAX, &al->count)) ||
	    (r = wire_get_time(e, o, "first_seen", &al->first_seen)) ||
	    (r = wire_get_time(e, o, "last_seen", &al->last_seen)) ||
	    (r = get_opt_str(e, o, "evidence", 64, &al->evidence)))
		return r;
	if (!al->title[0])
		return wire_fail(e, "title", "empty");
	if (al->last_seen < al->first_seen)
		return wire_fail(e, "last_seen", "before first_seen");
	al->engine = engines[eng];
	al->severity = severities[sev];
	al->learn = json_object_get(o, "learn");
	if (json_is_null(al->learn))
		al->learn = NULL;
	if (json_is_array(al->learn)) {
		char f[32];
		size_t i;
		json_t *it;
		if (json_array_size(al->learn) == 0 || json_array_size(al->learn) > WIRE_MAX_LEARN_ITEMS)
			return wire_fail(e, "learn", "not an array of 1..%d items", WIRE_MAX_LEARN_ITEMS);
		json_array_foreach(al->learn, i, it) {
			snprintf(f, sizeof(f), "learn[%zu]", i);
			if ((r = wire_parse_learn(e, it, f)))
				return r;
		}
	} else if (al->learn && (r = wire_parse_learn(e, al->learn, "learn"))) {
		return r;
	}
	return 0;
}
