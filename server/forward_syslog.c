#include "server/forward_syslog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/forward_format.h"

/* Keepalive on an idle rule connection: a collector host that vanished is noticed within about a minute. */
#define KEEPIDLE_SEC 30
#define KEEPINTVL_SEC 10
#define KEEPCNT 3
/* A write or acknowledgement that makes progress (bytes written, the send queue shrinking) extends the attempt's
 * deadline by the timeout again, up to this many timeouts in all: a slow link finishes a large batch. */
#define PROGRESS_CAP 10
/* UDP: the host's addresses are reused for this long (and dropped after a send error) instead of resolving the
 * name on a thread for every batch. */
#define UDP_ADDR_TTL_MS 60000

struct fwd_syslog {
	enum fwd_transport transport;
	char host[254];
	int port;
	int timeout_ms;
	int stop_fd;
	char *ca_pem, *cert_pem, *key_pem; /* TLS; key_pem is a secret: freed with OPENSSL_clear_free */
	int fd;                            /* non-blocking */
	SSL_CTX *ctx;
	SSL *ssl;
	struct fwd_buf out; /* TCP, TLS: the framed messages of one attempt */
	struct addrinfo *udp_res; /* UDP: the resolved addresses (freeaddrinfo), cached until udp_res_until */
	int64_t udp_res_until;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/* Waits until fd has one of events, the stop fd is readable (-ECANCELED) or the deadline (monotonic ms) passes
 * (-ETIMEDOUT). fd < 0: only waits for stop or the deadline. */
static int wait_fd(const struct fwd_syslog *s, int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = s->stop_fd, .events = POLLIN }, { .fd = fd, .events = events } };
		int64_t left = deadline - now_ms();
		int rc;

		if (left <= 0)
			return -ETIMEDOUT;
		rc = poll(p, fd >= 0 ? 2 : 1, left > INT_MAX ? INT_MAX : (int)left);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc > 0 && p[0].revents)
			return -ECANCELED;
		if (rc > 0 && p[1].revents)
			return 0;
	}
}

static const char *why(int rc)
{
	return rc == -ECANCELED ? "cut short by shutdown" : rc == -ETIMEDOUT ? "timed out" : strerror(-rc);
}

/* --- name resolution with a deadline ----------------------------------------------------------------------
 * getaddrinfo() cannot be interrupted: a name is resolved on a detached thread, and the delivery thread waits for
 * it no longer than the attempt's deadline (or stop). The job is shared and freed by whichever side lets go last. */
struct resolve_job {
	pthread_mutex_t mu;
	int refs;
	bool done;
	int pipe[2];
	char host[254], port[8];
	int socktype, grc;
	struct addrinfo *res;
};

static void job_unref(struct resolve_job *j)
{
	int refs;

	pthread_mutex_lock(&j->mu);
	refs = --j->refs;
	pthread_mutex_unlock(&j->mu);
	if (refs > 0)
		return;
	if (j->res)
		freeaddrinfo(j->res);
	close(j->pipe[0]);
	close(j->pipe[1]);
	pthread_mutex_destroy(&j->mu);
	free(j);
}

static void *resolve_main(void *arg)
{
	struct resolve_job *j = arg;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = j->socktype }, *res = NULL;
	int grc = getaddrinfo(j->host, j->port, &hints, &res);

	pthread_mutex_lock(&j->mu);
	j->grc = grc;
	j->res = grc == 0 ? res : NULL;
	j->done = true;
	pthread_mutex_unlock(&j->mu);
	if (write(j->pipe[1], "x", 1) < 0) {
		/* the pipe is empty and the reader waits with a deadline: nothing to do */
	}
	job_unref(j);
	return NULL;
}

/* The addresses of the rule's host (*res, freeaddrinfo) by the deadline. */
static int resolve(struct fwd_syslog *s, int socktype, int64_t deadline, struct addrinfo **res, char *err,
		   size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = socktype, .ai_flags = AI_NUMERICHOST };
	struct resolve_job *j;
	pthread_attr_t attr;
	pthread_t t;
	char port[8];
	int rc, grc;

	*res = NULL;
	snprintf(port, sizeof(port), "%d", s->port);
	if ((grc = getaddrinfo(s->host, port, &hints, res)) == 0)
		return 0; /* an address literal */
	if (grc != EAI_NONAME)
		return errf(err, errlen, -EHOSTUNREACH, "cannot resolve %s: %s", s->host, gai_strerror(grc));
	if (!(j = calloc(1, sizeof(*j))))
		return errf(err, errlen, -ENOMEM, "out of memory");
	if (pipe2(j->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(j);
		return errf(err, errlen, -EMFILE, "cannot resolve %s: no file descriptors", s->host);
	}
	pthread_mutex_init(&j->mu, NULL);
	j->refs = 2;
	j->socktype = socktype;
	snprintf(j->host, sizeof(j->host), "%s", s->host);
	snprintf(j->port, sizeof(j->port), "%s", port);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, resolve_main, j);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		j->refs = 1;
		job_unref(j);
		return errf(err, errlen, -EAGAIN, "cannot resolve %s: no thread", s->host);
	}
	rc = wait_fd(s, j->pipe[0], POLLIN, deadline);
	pthread_mutex_lock(&j->mu);
	if (j->done) {
		grc = j->grc;
		*res = j->res;
		j->res = NULL;
		rc = 0;
	}
	pthread_mutex_unlock(&j->mu);
	job_unref(j);
	if (rc < 0)
		return errf(err, errlen, rc, "cannot resolve %s: %s", s->host, why(rc));
	if (grc != 0)
		return errf(err, errlen, -EHOSTUNREACH, "cannot resolve %s: %s", s->host, gai_strerror(grc));
	return 0;
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*oom = true;
	return d;
}

int fwd_syslog_new(const struct fwd_action *a, int timeout_ms, int stop_fd, struct fwd_syslog **out)
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
	s->stop_fd = stop_fd;
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
	if (s->udp_res)
		freeaddrinfo(s->udp_res);
	fwd_buf_free(&s->out);
	SSL_CTX_free(s->ctx);
	free(s->ca_pem);
	free(s->cert_pem);
	if (s->key_pem)
		OPENSSL_clear_free(s->key_pem, strlen(s->key_pem));
	free(s);
}

/* Connects one address by the deadline; the socket stays non-blocking. TCP: keepalive and TCP_USER_TIMEOUT, so
 * that data the peer never acknowledges fails the connection instead of waiting in it for the kernel's ~15 min;
 * TCP_NODELAY, since a batch is written at once and then waited for: Nagle would hold its last partial segment
 * until everything before it was acknowledged, a round trip more per batch. */
static int connect_addr(struct fwd_syslog *s, const struct addrinfo *ai, int64_t deadline)
{
	int fd, soerr = 0, rc, on = 1, idle = KEEPIDLE_SEC, intvl = KEEPINTVL_SEC, cnt = KEEPCNT;
	unsigned int uto = (unsigned int)s->timeout_ms;
	socklen_t sl = sizeof(soerr);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (ai->ai_socktype == SOCK_DGRAM) {
		s->fd = fd;
		return 0;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof(uto)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0)
		goto fail_errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS)
			goto fail_errno;
		if ((rc = wait_fd(s, fd, POLLOUT, deadline)) < 0) {
			close(fd);
			return rc;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			goto fail_errno;
		if (soerr) {
			close(fd);
			return -soerr;
		}
	}
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

static int tls_handshake(struct fwd_syslog *s, int64_t deadline, char *err, size_t errlen)
{
	unsigned char bin[16];
	bool ip = inet_pton(AF_INET, s->host, bin) == 1 || inet_pton(AF_INET6, s->host, bin) == 1;
	long vr;
	int r, e, rc;

	if (tls_ctx(s, err, errlen) < 0)
		return -EPROTO;
	if (!(s->ssl = SSL_new(s->ctx)) || SSL_set_fd(s->ssl, s->fd) != 1)
		return errf(err, errlen, -ENOMEM, "cannot create a TLS session");
	/* The certificate must name the host the rule names: a DNS name (with SNI) or an IP address. */
	if (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl), s->host) != 1
	       : SSL_set1_host(s->ssl, s->host) != 1 || SSL_set_tlsext_host_name(s->ssl, s->host) != 1)
		return errf(err, errlen, -ENOMEM, "cannot set the expected server name");
	while ((r = SSL_connect(s->ssl)) != 1) {
		e = SSL_get_error(s->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			rc = wait_fd(s, s->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
			if (rc < 0) {
				ERR_clear_error();
				return errf(err, errlen, rc, "TLS handshake with %s:%d: %s", s->host, s->port, why(rc));
			}
			continue;
		}
		vr = SSL_get_verify_result(s->ssl);
		if (vr != X509_V_OK)
			errf(err, errlen, -EPROTO, "TLS handshake with %s:%d failed: certificate not trusted (%s)", s->host,
			     s->port, X509_verify_cert_error_string(vr));
		else
			errf(err, errlen, -EPROTO, "TLS handshake with %s:%d failed: %s", s->host, s->port,
			     ERR_reason_error_string(ERR_peek_last_error()) ? ERR_reason_error_string(ERR_peek_last_error())
									    : "connection closed");
		ERR_clear_error();
		return -EPROTO;
	}
	return 0;
}

static int do_connect(struct fwd_syslog *s, int64_t deadline, char *err, size_t errlen)
{
	struct addrinfo *res = NULL, *ai;
	int rc = -EHOSTUNREACH;

	if ((rc = resolve(s, SOCK_STREAM, deadline, &res, err, errlen)) < 0)
		return rc;
	rc = -EHOSTUNREACH;
	/* One deadline for every address: a host with many unreachable addresses does not multiply it. */
	for (ai = res; ai && rc != -ECANCELED && rc != -ETIMEDOUT; ai = ai->ai_next)
		if ((rc = connect_addr(s, ai, deadline)) == 0)
			break;
	freeaddrinfo(res);
	if (rc < 0)
		return errf(err, errlen, rc, "cannot connect to %s:%d: %s", s->host, s->port, why(rc));
	if (s->transport == FWD_TR_TLS && (rc = tls_handshake(s, deadline, err, errlen)) < 0) {
		disconnect(s);
		return rc;
	}
	return 0;
}

/* A syslog server never writes to us: a readable stream is closed (EOF), reset, or carries TLS housekeeping
 * (TLS 1.3 session tickets, close_notify). True when the connection can still take a message. */
static bool stream_alive(struct fwd_syslog *s)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	char scratch[512];

	if (poll(&p, 1, 0) <= 0)
		return true;
	if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
		return false;
	if (!s->ssl) {
		ssize_t n = recv(s->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	}
	for (;;) {
		int n = SSL_read(s->ssl, scratch, sizeof(scratch));
		bool alive;
		if (n > 0)
			continue;
		alive = SSL_get_error(s->ssl, n) == SSL_ERROR_WANT_READ;
		ERR_clear_error();
		return alive;
	}
}

/* The deadline after progress: timeout_ms from now, at most cap. */
static int64_t extend(const struct fwd_syslog *s, int64_t cap)
{
	int64_t d = now_ms() + s->timeout_ms;

	return d < cap ? d : cap;
}

static int write_all(struct fwd_syslog *s, const char *p, size_t n, int64_t *deadline, int64_t cap, char *err,
		     size_t errlen)
{
	int rc;

	while (n > 0) {
		short ev = POLLOUT;
		if (s->ssl) {
			int w = SSL_write(s->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n), e;
			if (w > 0) {
				p += w;
				n -= (size_t)w;
				*deadline = extend(s, cap);
				continue;
			}
			e = SSL_get_error(s->ssl, w);
			ERR_clear_error();
			if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
				return errf(err, errlen, -EPIPE, "TLS write to %s:%d failed", s->host, s->port);
			ev = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		} else {
			ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL);
			if (w > 0) {
				p += w;
				n -= (size_t)w;
				*deadline = extend(s, cap);
				continue;
			}
			if (w < 0 && errno == EINTR)
				continue;
			if (w == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				return errf(err, errlen, w < 0 ? -errno : -EPIPE, "write to %s:%d failed: %s", s->host,
					    s->port, w < 0 ? strerror(errno) : "nothing written");
		}
		if ((rc = wait_fd(s, s->fd, ev, *deadline)) < 0)
			return errf(err, errlen, rc, "write to %s:%d: %s", s->host, s->port, why(rc));
	}
	return 0;
}

/* Waits until the collector's kernel acknowledged every byte written (the send queue, SIOCOUTQ, is empty) and the
 * connection is still up. Written is not delivered: a collector host that lost power or its network takes
 * whatever fits the send buffer without a word. There is no event for "acknowledged": the queue is looked at
 * with a growing pause (1 ms doubling up to 10 ms: a WAN round trip is not overshot by much), still against the
 * attempt's deadline (extended while the queue shrinks, up to cap) and stop. Called once per batch, not per
 * message. */
static int wait_acked(struct fwd_syslog *s, int64_t deadline, int64_t cap, char *err, size_t errlen)
{
	int step = 1, rc, last = -1;

	for (;;) {
		int outq = 0, soerr = 0;
		socklen_t sl = sizeof(soerr);
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);

		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr)
			return errf(err, errlen, -soerr, "connection to %s:%d failed before the collector acknowledged: %s",
				    s->host, s->port, strerror(soerr));
		if (ioctl(s->fd, SIOCOUTQ, &outq) < 0)
			return errf(err, errlen, -errno, "cannot read the send queue: %s", strerror(errno));
		if (outq == 0) {
			/* A reset empties the queue too: only an established (or half-closed by the peer after it
			 * acknowledged) connection counts. */
			memset(&ti, 0, sizeof(ti));
			if (getsockopt(s->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 &&
			    (ti.tcpi_state == TCP_ESTABLISHED || ti.tcpi_state == TCP_CLOSE_WAIT))
				return 0;
			return errf(err, errlen, -ECONNRESET, "connection to %s:%d closed before the collector acknowledged",
				    s->host, s->port);
		}
		if (last >= 0 && outq < last)
			deadline = extend(s, cap);
		last = outq;
		if (deadline - now_ms() <= 0)
			return errf(err, errlen, -ETIMEDOUT, "%s:%d did not acknowledge the messages in time (%d ms without "
				    "progress, or %d ms in all)", s->host, s->port, s->timeout_ms, PROGRESS_CAP * s->timeout_ms);
		rc = wait_fd(s, -1, 0, now_ms() + step < deadline ? now_ms() + step : deadline);
		if (rc == -ECANCELED)
			return errf(err, errlen, rc, "waiting for %s:%d to acknowledge: %s", s->host, s->port, why(rc));
		step = step * 2 > 10 ? 10 : step * 2;
	}
}

/* Unconnected: sendto() each datagram, so an ICMP error from an earlier one never fails a later message. */
static int send_udp(struct fwd_syslog *s, const char *const *msgs, const size_t *lens, size_t n, int64_t deadline,
		    char *err, size_t errlen)
{
	struct addrinfo *res;
	int rc = 0;

	if (s->udp_res && now_ms() >= s->udp_res_until) {
		freeaddrinfo(s->udp_res);
		s->udp_res = NULL;
	}
	if (!s->udp_res) {
		/* The socket's family follows the first address: a new resolution gets a new socket. */
		disconnect(s);
		if ((rc = resolve(s, SOCK_DGRAM, deadline, &s->udp_res, err, errlen)) < 0)
			return rc;
		s->udp_res_until = now_ms() + UDP_ADDR_TTL_MS;
	}
	res = s->udp_res;
	if (s->fd < 0 && (rc = connect_addr(s, res, deadline)) < 0) {
		errf(err, errlen, rc, "cannot open a UDP socket: %s", strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		while (sendto(s->fd, msgs[i], lens[i], MSG_NOSIGNAL, res->ai_addr, res->ai_addrlen) < 0) {
			if (errno == EINTR)
				continue;
			if ((errno == EAGAIN || errno == EWOULDBLOCK) && (rc = wait_fd(s, s->fd, POLLOUT, deadline)) == 0)
				continue;
			rc = errf(err, errlen, rc < 0 ? rc : -errno, "UDP send to %s:%d failed: %s", s->host, s->port,
				  rc < 0 ? why(rc) : strerror(errno));
			disconnect(s);
			break;
		}
	}
out:
	if (rc < 0 && s->udp_res) {
		freeaddrinfo(s->udp_res); /* resolved again on the next attempt: the host may have moved */
		s->udp_res = NULL;
	}
	return rc;
}

int fwd_syslog_send(struct fwd_syslog *s, const char *const *msgs, const size_t *lens, size_t n, char *err,
		    size_t errlen)
{
	int64_t deadline = now_ms() + s->timeout_ms, cap = now_ms() + (int64_t)PROGRESS_CAP * s->timeout_ms;
	int rc;

	if (s->transport == FWD_TR_UDP)
		return send_udp(s, msgs, lens, n, deadline, err, errlen);
	/* RFC 6587 3.4.1 / RFC 5425 4.3: MSG-LEN SP SYSLOG-MSG, one after the other in one write. */
	fwd_buf_reset(&s->out);
	for (size_t i = 0; i < n; i++) {
		fwd_buf_printf(&s->out, "%zu ", lens[i]);
		fwd_buf_add(&s->out, msgs[i], lens[i]);
	}
	if (s->out.oom || !s->out.p)
		return errf(err, errlen, -ENOMEM, "out of memory framing %zu messages", n);
	if (s->fd >= 0 && !stream_alive(s))
		disconnect(s);
	if (s->fd < 0 && (rc = do_connect(s, deadline, err, errlen)) < 0)
		return rc;
	if ((rc = write_all(s, s->out.p, s->out.len, &deadline, cap, err, errlen)) < 0 ||
	    (rc = wait_acked(s, deadline, cap, err, errlen)) < 0)
		disconnect(s);
	return rc;
}
