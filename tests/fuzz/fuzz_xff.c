/* libFuzzer target for the trusted-proxies list and the X-Forwarded-For walk (server/http_util.h):
 * http_proxies_parse, http_proxies_match and http_client_address. The input is split at '\n' into the proxies
 * list, the TCP peer and up to XFF_LINES_MAX header values. When the list does not parse, a fixed one
 * (loopback, 10/8, fd00::/8) stands in, so the walk is always exercised with trusted hops.
 *
 * Checks, besides memory safety: a parsed list has at most HTTP_PROXIES_MAX networks with valid prefixes and no
 * host bits, and prints back to a list that parses to the same networks; a refusal says why; the client address
 * is NUL-terminated and fits, is the peer itself unless the peer is trusted, parses as an address, is the same
 * on a second call, and when it is not a trusted proxy, whatever a client prepends on the left cannot change
 * it. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "server/http_util.h"

#define INPUT_MAX 4096
#define XFF_LINES_MAX 24 /* more than HTTP_XFF_HOPS_MAX: the hop limit must hold */

static const char fallback_list[] = "127.0.0.0/8, ::1 10.0.0.0/8,fd00::/8";

static void check_list(const struct http_proxies *p)
{
	char text[HTTP_PROXIES_MAX * (INET6_ADDRSTRLEN + 8)], why[256];
	size_t w = 0;
	struct http_proxies again;

	if (p->n > HTTP_PROXIES_MAX)
		abort();
	for (size_t i = 0; i < p->n; i++) {
		const struct http_proxy_net *net = &p->net[i];
		unsigned max = net->family == AF_INET ? 32 : 128;
		char a[INET6_ADDRSTRLEN];
		if ((net->family != AF_INET && net->family != AF_INET6) || net->prefix > max)
			abort();
		for (unsigned b = net->prefix; b < 128; b++)
			if (net->addr[b / 8] & (0x80u >> (b % 8)))
				abort(); /* host bits, or bytes past an IPv4 address, set */
		if (!inet_ntop(net->family, net->addr, a, sizeof(a)))
			abort();
		int m = snprintf(text + w, sizeof(text) - w, "%s%s/%u", i ? ", " : "", a, net->prefix);
		if (m < 0 || (size_t)m >= sizeof(text) - w)
			abort();
		w += (size_t)m;
	}
	text[w] = '\0';
	/* An IPv4 network printed back is IPv4 text even when it was written IPv4-mapped (refused), so the
	 * round trip holds for every list that parsed. */
	if (http_proxies_parse(text, &again, why, sizeof(why)) != 0 || again.n != p->n)
		abort();
	for (size_t i = 0; i < p->n; i++)
		if (again.net[i].family != p->net[i].family || again.net[i].prefix != p->net[i].prefix ||
		    memcmp(again.net[i].addr, p->net[i].addr, 16) != 0)
			abort();
}

static void client(const struct http_proxies *p, const char *peer, const char *const *xff, size_t n, char *out,
		   size_t outlen)
{
	/* Poison beyond where the result may go: a write past outlen shows as changed bytes (or to ASan). */
	memset(out, 'Z', outlen);
	http_client_address(p, peer, xff, n, out, outlen);
	if (!memchr(out, '\0', outlen))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *parts[2 + XFF_LINES_MAX + 1], why[256];
	const char *xff[XFF_LINES_MAX + 1];
	size_t nparts = 0;
	struct http_proxies p;
	char out[INET6_ADDRSTRLEN], again[INET6_ADDRSTRLEN], peer_canon[INET6_ADDRSTRLEN];
	uint8_t bin[16];

	if (size > INPUT_MAX)
		return 0;
	if (!(buf = malloc(size + 1)))
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	/* A NUL inside a part ends its C string early, as it would a header value: it is just shorter. */
	for (size_t off = 0; nparts < 2 + XFF_LINES_MAX;) {
		parts[nparts++] = buf + off;
		char *nl = memchr(buf + off, '\n', size - off);
		if (!nl)
			break;
		*nl = '\0';
		off = (size_t)(nl - buf) + 1;
	}
	const char *list = parts[0], *peer = nparts > 1 ? parts[1] : "";
	size_t nxff = nparts > 2 ? nparts - 2 : 0;
	for (size_t i = 0; i < nxff; i++)
		xff[i + 1] = parts[i + 2]; /* xff[0] is left free for the prepended line below */

	memset(why, 'Z', sizeof(why));
	int rc = http_proxies_parse(list, &p, why, sizeof(why));
	if (rc == 0) {
		check_list(&p);
	} else {
		if (rc != -EINVAL || !memchr(why, '\0', sizeof(why)) || why[0] == '\0')
			abort();
		if (http_proxies_parse(fallback_list, &p, why, sizeof(why)) != 0)
			abort();
	}

	client(&p, peer, xff + 1, nxff, out, sizeof(out));
	/* Deterministic. */
	client(&p, peer, xff + 1, nxff, again, sizeof(again));
	if (strcmp(out, again) != 0)
		abort();
	/* Without a header, or without a trusted peer, the client is the peer (canonical when it parses). */
	client(&p, peer, xff + 1, 0, peer_canon, sizeof(peer_canon));
	struct http_proxies none = { 0 };
	client(&none, peer, xff + 1, nxff, again, sizeof(again));
	if (strcmp(again, peer_canon) != 0)
		abort();
	bool peer_ok = inet_pton(AF_INET, peer_canon, bin) == 1 || inet_pton(AF_INET6, peer_canon, bin) == 1;
	if (!http_proxies_match(&p, peer_canon) && strcmp(out, peer_canon) != 0)
		abort();
	if (peer_ok) {
		/* Whatever the walk believed, the result is an address in canonical form. */
		if (inet_pton(AF_INET, out, bin) != 1 && inet_pton(AF_INET6, out, bin) != 1)
			abort();
		/* An untrusted result ends the walk: a client writing more on the left changes nothing. */
		if (!http_proxies_match(&p, out)) {
			xff[0] = "203.0.113.9, [2001:db8::1]:443, garbage";
			client(&p, peer, xff, nxff + 1, again, sizeof(again));
			if (strcmp(out, again) != 0)
				abort();
		}
	} else if (strcmp(out, peer) != 0 && strlen(peer) < sizeof(out)) {
		abort(); /* a peer that does not parse is copied as it is (truncated when long) */
	}
	/* A small output buffer truncates but stays terminated. */
	char small[8];
	client(&p, peer, xff + 1, nxff, small, sizeof(small));
	free(buf);
	return 0;
}
