#include "server/gateway_tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"

/* Reads the verified peer certificate's CN and serial; false (with a log line) when anything is off. The
 * default of every branch is refusal. */
bool gateway_tls_identity(struct lws *wsi, const char *peer, char *cn, size_t cnlen, char serial[PKI_SERIAL_HEX_LEN])
{
	union lws_tls_cert_info_results ir;
	SSL *ssl = lws_get_ssl(wsi);
	X509 *x = NULL;
	int n;
	bool ok = false;

	if (lws_tls_peer_cert_info(wsi, LWS_TLS_CERT_INFO_VERIFIED, &ir, 0) || !ir.verified || !ssl ||
	    SSL_get_verify_result(ssl) != X509_V_OK) {
		log_warn("gateway: %s: client certificate not verified; closing", peer);
		goto out;
	}
	x = SSL_get1_peer_certificate(ssl);
	if (!x) {
		log_warn("gateway: %s: no client certificate; closing", peer);
		goto out;
	}
	n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, (int)cnlen);
	if (n <= 0 || (size_t)n != strlen(cn) || (size_t)n >= cnlen - 1) {
		log_warn("gateway: %s: client certificate without a usable CN; closing", peer);
		cn[0] = '\0';
		goto out;
	}
	if (pki_cert_serial_hex(x, serial) < 0) {
		log_warn("gateway: %s (%s): unreadable certificate serial; closing", peer, cn);
		goto out;
	}
	ok = true;
out:
	X509_free(x);
	return ok;
}

/* TLS refusals (unknown CA, no certificate) never reach ESTABLISHED; lws 4.1 does not deliver
 * LWS_CALLBACK_SSL_INFO for them on this build, so the alert is taken from OpenSSL's info callback. */
void gateway_tls_info_cb(const SSL *ssl, int where, int ret)
{
	char peer[64] = "client";
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa);
	int fd;

	if (!(where & SSL_CB_ALERT) || !(where & SSL_CB_WRITE) || (ret >> 8) != SSL3_AL_FATAL)
		return;
	fd = SSL_get_fd(ssl);
	if (fd >= 0 && getpeername(fd, (struct sockaddr *)&sa, &salen) == 0) {
		if (sa.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, peer, sizeof(peer));
		else if (sa.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, peer, sizeof(peer));
	}
	/* Only the alerts we send: our refusals ("unknown CA", "certificate required", ...). */
	log_warn("gateway: TLS handshake or session refused, alert sent to %s: %s (%d)", peer,
		 SSL_alert_desc_string_long(ret), ret & 0xff);
}
