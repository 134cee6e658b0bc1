/* The malware engine's alerts (indicators.h): what matched, raised on the alert engines' table with engine
 * "malware", in operational mode only. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "sensor-agent/alerts.h"
#include "sensor-agent/indicators_internal.h"

#define RECENT_USEC (10LL * 1000000) /* a DNS answer this close to its query's match is that query's */
#define MSG_LEN 192 /* alerts.c keeps messages of up to 191 bytes: compose within that, whole characters */

static const char REM_IP[] = "Isolate the internal host and check it for compromise (unknown processes, services, "
			     "accounts, scheduled tasks); block the address at the perimeter and look for other hosts "
			     "that talked to it.";
static const char REM_NAME[] = "Isolate the host that asked for the name and check it for compromise; block the "
			       "name at the DNS resolver and proxy and look for other hosts that resolved it.";
static const char REM_FILE[] = "Isolate the client and check it and the server for compromise; quarantine the file, "
			       "compare controller programs with the approved versions and look for other transfers.";

struct msg {
	char s[MSG_LEN];
	size_t len;
};

/* Appends at most max bytes of s: whole UTF-8 characters, control bytes and invalid sequences as '?'. */
static void msg_add(struct msg *m, const char *s, size_t n, size_t max)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, limit = m->len + max < MSG_LEN - 1 ? m->len + max : MSG_LEN - 1;

	while (i < n && m->len < limit) {
		uint8_t b = p[i];
		size_t l = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 0;
		bool ok = l && i + l <= n && (l > 1 || (b >= 0x20 && b != 0x7f));
		for (size_t k = 1; ok && k < l; k++)
			ok = (p[i + k] & 0xc0) == 0x80;
		if (!ok)
			l = 1;
		if (m->len + l > limit)
			break;
		if (ok)
			memcpy(m->s + m->len, p + i, l);
		else
			m->s[m->len] = '?';
		m->len += ok ? l : 1;
		i += l;
	}
	m->s[m->len] = 0;
}

static void msg_str(struct msg *m, const char *s)
{
	msg_add(m, s ? s : "?", strlen(s ? s : "?"), MSG_LEN);
}

/* ": matches <type> indicator <value> "<description>" (bundle <name> <version>)" */
static void msg_indicator(struct msg *m, const struct indicators *ind, const struct indicator *it)
{
	msg_str(m, ": matches ");
	msg_str(m, indicator_type_name(it->type));
	msg_str(m, " indicator ");
	msg_add(m, it->value, strlen(it->value), 64);
	if (it->description[0]) {
		msg_str(m, " \"");
		msg_add(m, it->description, strlen(it->description), 56);
		msg_str(m, "\"");
	}
	msg_str(m, " (bundle ");
	msg_add(m, ind->name, strlen(ind->name), 24);
	msg_str(m, " ");
	msg_add(m, ind->version, strlen(ind->version), 16);
	msg_str(m, ")");
}

static bool operational(const struct indicators *ind, const struct alerts *a)
{
	return ind && a && ind->n && alerts_mode(a) == ALERTS_OPERATIONAL;
}

void indicators_check_flow(struct indicators *ind, struct alerts *a, const char *transport, int version,
			   const uint8_t *client, const uint8_t *server, int64_t ts)
{
	const struct indicator *it;
	char cl[INET6_ADDRSTRLEN], sv[INET6_ADDRSTRLEN];
	int af = version == 4 ? AF_INET : AF_INET6;
	struct msg m = { .len = 0 };

	if (!operational(ind, a) || !ind->n_type[INDICATOR_IP])
		return;
	it = indicators_match_ip(ind, version, server);
	if (!it)
		it = indicators_match_ip(ind, version, client);
	if (!it || !inet_ntop(af, client, cl, sizeof(cl)) || !inet_ntop(af, server, sv, sizeof(sv)))
		return;
	msg_str(&m, transport);
	msg_str(&m, " connection ");
	msg_str(&m, cl);
	msg_str(&m, " -> ");
	msg_str(&m, sv);
	msg_indicator(&m, ind, it);
	alerts_raise(a, "malware", it->severity, "Known-bad IP address", cl, sv, transport, REM_IP, ts, m.s);
}

/* (querier, server, name as matched) as 64 bits (FNV-1a): the key of the recent DNS query matches. */
static uint64_t recent_key(const char *client, const char *server, const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const char *parts[2] = { client ? client : "", server ? server : "" };

	for (int k = 0; k < 2; k++) {
		for (const char *p = parts[k]; *p; p++)
			h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
		h = (h ^ 0xff) * 0x100000001b3ull; /* a separator no address contains */
	}
	if (len && name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len; i++)
		h = (h ^ indicators_lower((uint8_t)name[i])) * 0x100000001b3ull;
	return h | 1; /* never the 0 of an empty slot */
}

/* A DNS answer counts only when no query of the same name between the same hosts matched just before. */
static bool dns_seen(struct indicators *ind, enum indicator_seen what, uint64_t key, int64_t ts)
{
	if (what == INDICATOR_SEEN_DNS) {
		ind->recent[ind->recent_next].key = key;
		ind->recent[ind->recent_next].ts = ts;
		ind->recent_next = (ind->recent_next + 1) % INDICATORS_RECENT;
		return false;
	}
	for (unsigned i = 0; i < INDICATORS_RECENT; i++)
		if (ind->recent[i].key == key && ts - ind->recent[i].ts <= RECENT_USEC &&
		    ind->recent[i].ts - ts <= RECENT_USEC)
			return true;
	return false;
}

void indicators_check_name(struct indicators *ind, struct alerts *a, enum indicator_seen what, const char *proto,
			   const char *client, const char *server, const void *name, size_t len, int64_t ts)
{
	const struct indicator *it;
	const char *s = name, *title, *rem = REM_NAME, *verb;
	struct msg m = { .len = 0 };

	if (!operational(ind, a) || !name || !len)
		return;
	switch (what) {
	case INDICATOR_SEEN_DNS:
	case INDICATOR_SEEN_DNS_ANSWER:
		it = indicators_match_domain(ind, s, len);
		title = "Known-bad domain queried";
		verb = what == INDICATOR_SEEN_DNS ? " queried " : " was answered for ";
		if (it && dns_seen(ind, what, recent_key(client, server, s, len), ts))
			return;
		break;
	case INDICATOR_SEEN_TLS_SNI:
		it = indicators_match_sni(ind, s, len);
		title = "Known-bad TLS server name";
		verb = " asked for TLS server name ";
		break;
	case INDICATOR_SEEN_HTTP_HOST:
		it = indicators_match_domain(ind, s, len);
		title = "Known-bad HTTP host";
		verb = " requested HTTP host ";
		break;
	case INDICATOR_SEEN_FILE:
		it = indicators_match_file(ind, s, len);
		title = "Known-bad file name transferred";
		verb = " transferred file ";
		rem = REM_FILE;
		break;
	default:
		return;
	}
	if (!it)
		return;
	msg_str(&m, client);
	msg_str(&m, verb);
	msg_add(&m, s, len, 64);
	msg_str(&m, " (");
	msg_str(&m, proto);
	msg_str(&m, ", ");
	msg_str(&m, server);
	msg_str(&m, ")");
	msg_indicator(&m, ind, it);
	alerts_raise(a, "malware", it->severity, title, client, server, proto, rem, ts, m.s);
}
