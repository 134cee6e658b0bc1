#include "server/forward_syslog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct fwd_syslog {
	enum fwd_transport transport;
	char host[254];
	int port;
	int timeout_ms;
	char *ca_pem, *cert_pem, *key_pem; /* TLS; key_pem is a secret: freed with OPENSSL_clear_free */
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

static char *dup_or_null(const char *s, bool *oom)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*oom = true;
	return d;
}

int fwd_syslog_new(const struct fwd_action *a, int timeout_ms, struct fwd_syslog **out)
{
	struct fwd_syslog *s = calloc(1, sizeof(*s));
	bool oom = false;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->transport = a->transport;
	snprintf(s->host, sizeof(s->host), "%s", a->host ? a->host : "");
	s->port = a->port;
	s->timeout_ms = timeout_ms;
	s->fd = -1;
	s->ca_pem = dup_or_null(a->ca_pem, &oom);
	s->cert_pem = dup_or_null(a->client_cert_pem, &oom);
	s->key_pem = dup_or_null(a->client_key_pem, &oom);
	if (oom) {
		fwd_syslog_free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

static void disconnect(struct fwd_syslog *s)
{
	if (s->ssl) {
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
}

void fwd_syslog_free(struct fwd_syslog *s)
{
	if (!s)
		return;
	disconnect(s);
	SSL_CTX_free(s->ctx);
	free(s->ca_pem);
	free(s->cert_pem);
	if (s->key_pem)
		OPENSSL_clear_free(s->key_pem, strlen(s->key_pem));
	free(s);
}

static int errf(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* Connects one address within the timeout; the socket is left blocking with send/receive timeouts. */
static int connect_addr(struct fwd_syslog *s, const struct addrinfo *ai)
{
	struct timeval tv = { s->timeout_ms / 1000, (s->timeout_ms % 1000) * 1000 };
	struct pollfd p;
	int fd, fl, soerr = 0, rc;
	socklen_t sl = sizeof(soerr);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (ai->ai_socktype == SOCK_DGRAM) {
		s->fd = fd;
		return 0;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		goto fail_errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS)
			goto fail_errno;
		p = (struct pollfd){ .fd = fd, .events = POLLOUT };
		do
			rc = poll(&p, 1, s->timeout_ms);
		while (rc < 0 && errno == EINTR);
		if (rc == 0) {
			close(fd);
			return -ETIMEDOUT;
		}
		if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			goto fail_errno;
		if (soerr) {
			close(fd);
			return -soerr;
		}
	}
	if (fcntl(fd, F_SETFL, fl) < 0 || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		goto fail_errno;
	s->fd = fd;
	return 0;
fail_errno:
	rc = -errno;
	close(fd);
	return rc;
}

static int load_pem_certs(X509_STORE *store, const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x;
	int n = 0;

	while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(store, x) == 1)
			n++;
		X509_free(x);
	}
	ERR_clear_error();
	BIO_free(bio);
	return n;
}

static int tls_ctx(struct fwd_syslog *s, char *err, size_t errlen)
{
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int rc = -EPROTO;

	if (s->ctx)
		return 0;
	if (!(s->ctx = SSL_CTX_new(TLS_client_method())))
		return errf(err, errlen, -ENOMEM, "cannot create a TLS context");
	SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
	if (s->ca_pem ? load_pem_certs(SSL_CTX_get_cert_store(s->ctx), s->ca_pem) == 0
		      : SSL_CTX_set_default_verify_paths(s->ctx) != 1) {
		errf(err, errlen, rc, "cannot load the CA certificates");
		goto out;
	}
	if (s->cert_pem) {
		if ((bio = BIO_new_mem_buf(s->cert_pem, -1)))
			x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
		if ((bio = BIO_new_mem_buf(s->key_pem, -1)))
			k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
		if (!x || !k || SSL_CTX_use_certificate(s->ctx, x) != 1 || SSL_CTX_use_PrivateKey(s->ctx, k) != 1) {
			errf(err, errlen, rc, "cannot use the client certificate");
			goto out;
		}
	}
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	ERR_clear_error();
	if (rc < 0) {
		SSL_CTX_free(s->ctx);
		s->ctx = NULL;
	}
	return rc;
}

static int tls_handshake(struct fwd_syslog *s, char *err, size_t errlen)
{
	unsigned char bin[16];
	bool ip = inet_pton(AF_INET, s->host, bin) == 1 || inet_pton(AF_INET6, s->host, bin) == 1;
	long vr;

	if (tls_ctx(s, err, errlen) < 0)
		return -EPROTO;
	if (!(s->ssl = SSL_new(s->ctx)) || SSL_set_fd(s->ssl, s->fd) != 1)
		return errf(err, errlen, -ENOMEM, "cannot create a TLS session");
	/* The certificate must name the host the rule names: a DNS name (with SNI) or an IP address. */
	if (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl), s->host) != 1
	       : SSL_set1_host(s->ssl, s->host) != 1 || SSL_set_tlsext_host_name(s->ssl, s->host) != 1)
		return errf(err, errlen, -ENOMEM, "cannot set the expected server name");
	if (SSL_connect(s->ssl) != 1) {
		vr = SSL_get_verify_result(s->ssl);
		if (vr != X509_V_OK)
			errf(err, errlen, -EPROTO, "TLS handshake with %s:%d failed: certificate not trusted (%s)", s->host,
			     s->port, X509_verify_cert_error_string(vr));
		else
			errf(err, errlen, -EPROTO, "TLS handshake with %s:%d failed: %s", s->host, s->port,
			     ERR_reason_error_string(ERR_peek_last_error()) ? ERR_reason_error_string(ERR_peek_last_error())
									    : "connection closed or timed out");
		ERR_clear_error();
		return -EPROTO;
	}
	return 0;
}

static int do_connect(struct fwd_syslog *s, char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	char port[8];
	int rc = -EHOSTUNREACH, grc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", s->port);
	if ((grc = getaddrinfo(s->host, port, &hints, &res)) != 0)
		return errf(err, errlen, -EHOSTUNREACH, "cannot resolve %s: %s", s->host, gai_strerror(grc));
	for (ai = res; ai; ai = ai->ai_next)
		if ((rc = connect_addr(s, ai)) == 0)
			break;
	if (rc < 0) {
		freeaddrinfo(res);
		return errf(err, errlen, rc, "cannot connect to %s:%d: %s", s->host, s->port, strerror(-rc));
	}
	freeaddrinfo(res);
	if (s->transport == FWD_TR_TLS && tls_handshake(s, err, errlen) < 0) {
		disconnect(s);
		return -EPROTO;
	}
	return 0;
}

/* A syslog server never writes to us: a readable stream is closed (EOF), reset, or carries TLS housekeeping
 * (TLS 1.3 session tickets, close_notify). True when the connection can still take a message. */
static bool stream_alive(struct fwd_syslog *s)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	char scratch[512];
	bool alive = true;
	int fl;

	if (poll(&p, 1, 0) <= 0)
		return true;
	if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
		return false;
	if (!s->ssl) {
		ssize_t n = recv(s->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	}
	fl = fcntl(s->fd, F_GETFL);
	if (fl < 0 || fcntl(s->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return false;
	for (;;) {
		int n = SSL_read(s->ssl, scratch, sizeof(scratch));
		if (n > 0)
			continue;
		alive = SSL_get_error(s->ssl, n) == SSL_ERROR_WANT_READ;
		break;
	}
	ERR_clear_error();
	if (fcntl(s->fd, F_SETFL, fl) < 0)
		alive = false;
	return alive;
}

static int write_all(struct fwd_syslog *s, const char *p, size_t n, char *err, size_t errlen)
{
	while (n > 0) {
		if (s->ssl) {
			int w = SSL_write(s->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
			if (w <= 0) {
				ERR_clear_error();
				return errf(err, errlen, -EPIPE, "TLS write to %s:%d failed", s->host, s->port);
			}
			p += w;
			n -= (size_t)w;
		} else {
			ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return errf(err, errlen, w < 0 ? -errno : -EPIPE, "write to %s:%d failed: %s", s->host,
					    s->port, w < 0 ? strerror(errno) : "nothing written");
			p += w;
			n -= (size_t)w;
		}
	}
	return 0;
}

/* Unconnected: sendto() each datagram, so an ICMP error from an earlier one never fails a later message. */
static int send_udp(struct fwd_syslog *s, const char *msg, size_t len, char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	char port[8];
	int rc = 0, grc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	snprintf(port, sizeof(port), "%d", s->port);
	if ((grc = getaddrinfo(s->host, port, &hints, &res)) != 0)
		return errf(err, errlen, -EHOSTUNREACH, "cannot resolve %s: %s", s->host, gai_strerror(grc));
	if (s->fd < 0 && (rc = connect_addr(s, res)) < 0) {
		errf(err, errlen, rc, "cannot open a UDP socket: %s", strerror(-rc));
	} else if (sendto(s->fd, msg, len, MSG_NOSIGNAL, res->ai_addr, res->ai_addrlen) < 0) {
		rc = errf(err, errlen, -errno, "UDP send to %s:%d failed: %s", s->host, s->port, strerror(errno));
		disconnect(s);
	}
	freeaddrinfo(res);
	return rc;
}

int fwd_syslog_send(struct fwd_syslog *s, const char *msg, size_t len, char *err, size_t errlen)
{
	char frame[24];
	int rc;

	if (s->transport == FWD_TR_UDP)
		return send_udp(s, msg, len, err, errlen);
	if (s->fd >= 0 && !stream_alive(s))
		disconnect(s);
	if (s->fd < 0 && (rc = do_connect(s, err, errlen)) < 0)
		return rc;
	/* RFC 6587 3.4.1 / RFC 5425 4.3: MSG-LEN SP SYSLOG-MSG. */
	snprintf(frame, sizeof(frame), "%zu ", len);
	if ((rc = write_all(s, frame, strlen(frame), err, errlen)) < 0 || (rc = write_all(s, msg, len, err, errlen)) < 0)
		disconnect(s);
	return rc;
}
