/* Web and remote access:
 * - laptops open TLS sessions to the off-site services (ClientHello with SNI, ServerHello, application data)
 *   and fetch over plain HTTP from them (User-Agent Microsoft-CryptoAPI, Server nginx);
 * - the engineering workstation browses the historian's web UI (a browser User-Agent, Server Microsoft-IIS,
 *   pages larger than one segment);
 * - laptops log in over SSH to the file server and to the Cisco switch: identification strings, KEXINIT,
 *   curve25519 key exchange, NEWKEYS, then a few encrypted (chacha20-poly1305) packets. */
#include "tools/plantsim/it_web.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tools/plantsim/sim.h"

static size_t tls_record_begin(struct wbuf *b, uint8_t type, uint16_t version)
{
	size_t at = b->len;
	wbuf_u8(b, type);
	wbuf_u16(b, version);
	wbuf_u16(b, 0);
	return at;
}

static void tls_record_end(struct wbuf *b, size_t at) { wbuf_patch16(b, at + 3, (uint16_t)(b->len - at - 5)); }

/* Handshake header: type + 24-bit length, patched at the end (messages here are < 64 KiB). */
static size_t tls_hs_begin(struct wbuf *b, uint8_t type)
{
	size_t at = b->len;
	wbuf_u8(b, type);
	wbuf_u24(b, 0);
	return at;
}

static void tls_hs_end(struct wbuf *b, size_t at) { wbuf_patch16(b, at + 2, (uint16_t)(b->len - at - 4)); }

void pl_tls_client_hello(struct wbuf *b, const uint8_t random[32], const uint8_t sid[32], const char *sni)
{
	static const uint8_t suites[] = { 0xc0, 0x2f, 0xc0, 0x30, 0xc0, 0x2b, 0xc0, 0x2c, 0x00, 0x9c, 0x00, 0x9d };
	static const uint8_t groups_ext[] = { 0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17 };
	static const uint8_t points_ext[] = { 0x00, 0x0b, 0x00, 0x02, 0x01, 0x00 };
	uint16_t n = (uint16_t)strlen(sni);
	size_t rec = tls_record_begin(b, 22, 0x0301), hs = tls_hs_begin(b, 1), ext;

	wbuf_u16(b, 0x0303);
	wbuf_bytes(b, random, 32);
	wbuf_u8(b, 32);
	wbuf_bytes(b, sid, 32);
	wbuf_u16(b, sizeof(suites));
	wbuf_bytes(b, suites, sizeof(suites));
	wbuf_u8(b, 1);
	wbuf_u8(b, 0);          /* null compression */
	ext = b->len;
	wbuf_u16(b, 0);
	wbuf_u16(b, 0x0000);    /* server_name (RFC 6066 section 3) */
	wbuf_u16(b, (uint16_t)(n + 5));
	wbuf_u16(b, (uint16_t)(n + 3));
	wbuf_u8(b, 0);
	wbuf_u16(b, n);
	wbuf_bytes(b, sni, n);
	wbuf_bytes(b, groups_ext, sizeof(groups_ext));
	wbuf_bytes(b, points_ext, sizeof(points_ext));
	wbuf_patch16(b, ext, (uint16_t)(b->len - ext - 2));
	tls_hs_end(b, hs);
	tls_record_end(b, rec);
}

void pl_tls_server_hello(struct wbuf *b, const uint8_t random[32], const uint8_t sid[32])
{
	static const uint8_t reneg_ext[] = { 0xff, 0x01, 0x00, 0x01, 0x00 };
	size_t rec = tls_record_begin(b, 22, 0x0303), hs = tls_hs_begin(b, 2);

	wbuf_u16(b, 0x0303);
	wbuf_bytes(b, random, 32);
	wbuf_u8(b, 32);
	wbuf_bytes(b, sid, 32);
	wbuf_u16(b, 0xc02f);    /* ECDHE-RSA-AES128-GCM-SHA256 */
	wbuf_u8(b, 0);
	wbuf_u16(b, sizeof(reneg_ext));
	wbuf_bytes(b, reneg_ext, sizeof(reneg_ext));
	tls_hs_end(b, hs);
	tls_record_end(b, rec);
}

void pl_tls_app_data(struct wbuf *b, const uint8_t *ciphertext, uint16_t n)
{
	size_t rec = tls_record_begin(b, 23, 0x0303);

	wbuf_bytes(b, ciphertext, n);
	tls_record_end(b, rec);
}

static void random_bytes(struct sim_session *s, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)prng_next(&s->rng);
}

static bool tls_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	uint8_t rnd[32], sid[32], ct[1400];
	bool reply = s->n % 2 == 1;
	uint16_t n;

	if (s->n == 0)
		s->v[0] = (uint32_t)prng_range(&s->rng, 2, 6);
	if (!reply && s->n / 2 >= s->v[0])
		return false;
	m->from_server = reply;
	m->gap_us = reply ? sim_ms(s, 23, 100) : sim_ms(s, 30, 400);
	if (s->n == 0)
		m->gap_us = sim_us(s, 100, 3000);
	if (s->n <= 1) {
		random_bytes(s, rnd, sizeof(rnd));
		random_bytes(s, sid, sizeof(sid));
		if (reply)
			pl_tls_server_hello(b, rnd, sid);
		else
			pl_tls_client_hello(b, rnd, sid, t->plant->offsite_name[s->b]);
		return true;
	}
	n = (uint16_t)(reply ? prng_range(&s->rng, 300, sizeof(ct)) : prng_range(&s->rng, 80, 600));
	random_bytes(s, ct, n);
	pl_tls_app_data(b, ct, n);
	return true;
}

/* ---- HTTP -------------------------------------------------------------------------------------- */

static void http_date(char *out, size_t cap, uint64_t usec)
{
	time_t secs = (time_t)(usec / USEC_PER_SEC);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static const char ua_browser[] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
	"Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91";

static bool http_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	static const char *const pages[] = { "/Historian/Trends/Reactor1", "/Historian/Reports/Daily",
		"/Historian/api/tags?filter=Line1", "/Historian/Alarms" };
	static const char *const fetches[] = { "/pki/crl/vendor-ca-2023.crl", "/update/manifest.json",
		"/telemetry/v2/config" };
	bool offsite = s->app->offsite, reply = s->n % 2 == 1;
	char head[512], date[40], host[64];
	size_t body, hl;
	unsigned k;

	if (s->n == 0)
		s->v[0] = offsite ? 1 : (uint32_t)prng_range(&s->rng, 2, 5);
	if (!reply && s->n / 2 >= s->v[0])
		return false;
	m->from_server = reply;
	m->gap_us = reply ? (offsite ? sim_ms(s, 20, 90) : sim_ms(s, 3, 40)) : sim_ms(s, 500, 6000);
	if (s->n == 0)
		m->gap_us = sim_us(s, 100, 2000);
	if (offsite)
		snprintf(host, sizeof(host), "%s", t->plant->offsite_name[s->b]);
	else
		snprintf(host, sizeof(host), "%s.plant.local", sim_host(t, s->b)->name);
	if (!reply) {
		k = (unsigned)(prng_next(&s->rng) % (offsite ? 3 : 4));
		s->v[1] = k;
		hl = (size_t)snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
			"Accept: %s\r\nAccept-Encoding: identity\r\nConnection: keep-alive\r\n\r\n",
			offsite ? fetches[k] : pages[k], host, offsite ? "Microsoft-CryptoAPI/10.0" : ua_browser,
			offsite ? "*/*" : "text/html,application/xhtml+xml");
		wbuf_bytes(b, head, hl < sizeof(head) ? hl : sizeof(head) - 1);
		return true;
	}
	body = (size_t)prng_range(&s->rng, offsite ? 300 : 1500, offsite ? 1200 : 4000);
	http_date(date, sizeof(date), s->at);
	hl = (size_t)snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nServer: %s\r\nDate: %s\r\n"
		"Content-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-cache\r\n\r\n",
		offsite ? "nginx/1.24.0" : "Microsoft-IIS/10.0", date,
		offsite ? "application/octet-stream" : "text/html; charset=utf-8", body);
	wbuf_bytes(b, head, hl < sizeof(head) ? hl : sizeof(head) - 1);
	if (!offsite) {
		static const char doc[] = "<!DOCTYPE html><html><head><title>Historian</title></head><body>";
		wbuf_bytes(b, doc, sizeof(doc) - 1);
	}
	while (b->len < hl + body && !b->overflow)
		wbuf_u8(b, offsite ? (uint8_t)prng_next(&s->rng) : (uint8_t)"<td>0123456789.</td>\n"[prng_next(&s->rng) % 21]);
	return true;
}

/* ---- SSH --------------------------------------------------------------------------------------- */

void ssh_packet(struct wbuf *b, const uint8_t *payload, size_t n)
{
	size_t pad = 8 - (5 + n) % 8;

	if (pad < 4)
		pad += 8;
	wbuf_u32(b, (uint32_t)(1 + n + pad));
	wbuf_u8(b, (uint8_t)pad);
	wbuf_bytes(b, payload, n);
	wbuf_zero(b, pad);
}

static void ssh_string(struct wbuf *b, const void *s, size_t n)
{
	wbuf_u32(b, (uint32_t)n);
	wbuf_bytes(b, s, n);
}

static void ssh_kexinit(struct wbuf *b, struct sim_session *s, bool server)
{
	static const char *const client_lists[] = { "curve25519-sha256,ecdh-sha2-nistp256,diffie-hellman-group14-sha256",
		"ssh-ed25519,rsa-sha2-512,rsa-sha2-256", "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com",
		"chacha20-poly1305@openssh.com,aes256-gcm@openssh.com", "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", "" };
	static const char *const server_lists[] = { "curve25519-sha256,diffie-hellman-group14-sha256",
		"ssh-ed25519", "chacha20-poly1305@openssh.com", "chacha20-poly1305@openssh.com", "hmac-sha2-256", "hmac-sha2-256",
		"none", "none", "", "" };
	uint8_t p[600];
	struct wbuf w;

	wbuf_init(&w, p, sizeof(p));
	wbuf_u8(&w, 20);
	for (int i = 0; i < 16; i++)
		wbuf_u8(&w, (uint8_t)prng_next(&s->rng));
	for (int i = 0; i < 10; i++) {
		const char *l = server ? server_lists[i] : client_lists[i];
		ssh_string(&w, l, strlen(l));
	}
	wbuf_u8(&w, 0);
	wbuf_u32(&w, 0);
	ssh_packet(b, w.p, w.len);
	b->overflow |= w.overflow;
}

static bool ssh_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	const struct plant_host *srv = sim_host(t, s->b);
	bool reply = s->n % 2 == 1;
	uint8_t p[256], rnd[64];
	struct wbuf w;
	size_t n;

	if (s->n == 0)
		s->v[0] = (uint32_t)prng_range(&s->rng, 6, 14);
	if (s->n >= s->v[0])
		return false;
	m->from_server = reply;
	m->gap_us = reply ? sim_ms(s, 1, 15) : sim_ms(s, 5, 2000);
	m->whole = s->n >= 6;
	wbuf_init(&w, p, sizeof(p));
	switch (s->n) {
	case 0:
		wbuf_bytes(b, "SSH-2.0-PuTTY_Release_0.80\r\n", 28);
		return true;
	case 1:
		if (srv->vendor == VENDOR_CISCO)
			wbuf_bytes(b, "SSH-2.0-Cisco-1.25\r\n", 20);
		else
			wbuf_bytes(b, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", 40);
		return true;
	case 2:
	case 3:
		ssh_kexinit(b, s, reply);
		return true;
	case 4:
		wbuf_u8(&w, 30);                /* KEX_ECDH_INIT: client's ephemeral key */
		random_bytes(s, rnd, 32);
		ssh_string(&w, rnd, 32);
		ssh_packet(b, w.p, w.len);
		return true;
	case 5: {
		uint8_t key[51];
		wbuf_u8(&w, 31);                /* KEX_ECDH_REPLY: host key, server's ephemeral key, signature */
		memcpy(key, "\0\0\0\x0bssh-ed25519\0\0\0\x20", 19);
		random_bytes(s, key + 19, 32);
		ssh_string(&w, key, sizeof(key));
		random_bytes(s, rnd, 32);
		ssh_string(&w, rnd, 32);
		{
			uint8_t sig[83];
			memcpy(sig, "\0\0\0\x0bssh-ed25519\0\0\0\x40", 19);
			random_bytes(s, sig + 19, 64);
			ssh_string(&w, sig, sizeof(sig));
		}
		ssh_packet(b, w.p, w.len);
		wbuf_init(&w, p, sizeof(p));
		wbuf_u8(&w, 21);                /* NEWKEYS */
		ssh_packet(b, w.p, w.len);
		return true;
	}
	case 6:
		wbuf_u8(&w, 21);
		ssh_packet(b, w.p, w.len);
		break;
	default:
		break;
	}
	/* chacha20-poly1305: encrypted length, encrypted packet, 16-byte tag; all of it looks random. */
	n = 8 * (size_t)prng_range(&s->rng, 4, reply ? 80 : 16);
	for (size_t i = 0; i < 4 + n + 16; i++)
		wbuf_u8(b, (uint8_t)prng_next(&s->rng));
	return true;
}

static const struct tcp_app app_tls = { PP_TLS, 443, true, 2000, 20000, tls_script };
static const struct tcp_app app_http_out = { PP_HTTP, 80, true, 20000, 90000, http_script };
static const struct tcp_app app_http_hist = { PP_HTTP, 80, false, 20000, 120000, http_script };
static const struct tcp_app app_ssh = { PP_SSH, 22, false, 60000, 600000, ssh_script };

int web_spawn(struct sim *t)
{
	const struct plant *p = t->plant;
	unsigned ews = plant_find(p, ROLE_EWS), hist = plant_find(p, ROLE_HISTORIAN), nl = 0;
	struct sim_session *s;
	int r;

	for (unsigned i = 0; i < p->n_hosts; i++) {
		if (p->hosts[i].role != ROLE_LAPTOP)
			continue;
		r = tcp_add(t, &app_tls, i, 0, 0, &s);
		if (r < 0)
			return r;
		s->at = t->start + sim_ms(s, 3000, 8000);
		r = tcp_add(t, &app_http_out, i, 0, 0, &s);
		if (r < 0)
			return r;
		s->at = t->start + sim_ms(s, 5000, 20000);
		/* Alternate laptops administer the file server and the switch. */
		if (nl++ % 2 == 0 || plant_find(p, ROLE_FILESERVER) >= p->n_hosts)
			r = tcp_add(t, &app_ssh, i, p->it_switch, 0, &s);
		else
			r = tcp_add(t, &app_ssh, i, plant_find(p, ROLE_FILESERVER), 0, &s);
		if (r < 0)
			return r;
		s->at = t->start + sim_ms(s, 10000, 30000);
	}
	if (ews < p->n_hosts && hist < p->n_hosts) {
		r = tcp_add(t, &app_http_hist, ews, hist, 0, &s);
		if (r < 0)
			return r;
		s->at = t->start + sim_ms(s, 6000, 20000);
	}
	return 0;
}
