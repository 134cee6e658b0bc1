/* otwatch-syslogsink: the two ends of `scripts/bench forward` (scripts/lib/bench_forward.sh).
 *
 *   otwatch-syslogsink listen --bind ADDR --expect N [--timeout SEC] [--save-first FILE]
 *       Listens on ADDR (port chosen by the kernel, printed as the first line "port P"), accepts any number of
 *       TCP connections and reads RFC 6587 octet-counted syslog messages ("LEN SP MSG") from them until N messages
 *       arrived (or the timeout, or SIGTERM), then prints one JSON object: messages, bytes, connections, and the
 *       wall clock (seconds since the epoch) of the first byte and of the last message. --save-first writes the
 *       first message (without framing) to FILE.
 *   otwatch-syslogsink send --host ADDR --port P --count N --message-file FILE
 *       The baseline client: one TCP connection, N copies of FILE's message framed the same way, written as fast
 *       as the connection takes them, then waits until the peer's kernel acknowledged everything (SIOCOUTQ == 0,
 *       what the forwarder waits for). Prints one JSON object with its start and end wall clock.
 *
 * Single-threaded, poll(2), 256 KiB reads: on this machine it takes several hundred thousand messages a second,
 * far more than either sender offers (the bench prints its own figure for comparison). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONN 64
#define READ_SIZE (256 * 1024)
#define MAX_MSG (1024 * 1024)

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr, "usage: otwatch-syslogsink listen --bind ADDR --expect N [--timeout SEC] [--save-first FILE]\n"
			"       otwatch-syslogsink send --host ADDR --port P --count N --message-file FILE\n");
	return 2;
}

/* One connection's parser: the length digits of the frame being read, then how much of its message is left. */
struct conn {
	int fd;
	size_t want;   /* bytes of the current message still to come; 0: reading a length */
	size_t len;    /* the length being read */
	int digits;
	char *first;   /* the first message, while it is being saved */
	size_t first_len, first_have;
};

struct sink {
	uint64_t messages, bytes, expect;
	int connections;
	double first_at, last_at;
	const char *save_first;
	bool saved;
};

/* Parses what one read brought. Returns false on a framing error. */
static bool parse(struct sink *k, struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		if (c->want > 0) {
			size_t take = n < c->want ? n : c->want;
			if (c->first && c->first_have < c->first_len) {
				size_t t = take < c->first_len - c->first_have ? take : c->first_len - c->first_have;
				memcpy(c->first + c->first_have, p, t);
				c->first_have += t;
			}
			c->want -= take;
			p += take;
			n -= take;
			if (c->want == 0) {
				k->messages++;
				k->last_at = wall();
				if (c->first) {
					FILE *f = fopen(k->save_first, "wb");
					if (f) {
						fwrite(c->first, 1, c->first_len, f);
						fclose(f);
					}
					free(c->first);
					c->first = NULL;
				}
			}
			continue;
		}
		if (*p >= '0' && *p <= '9' && c->digits < 8) {
			c->len = c->len * 10 + (size_t)(*p - '0');
			c->digits++;
		} else if (*p == ' ' && c->digits > 0 && c->len > 0 && c->len <= MAX_MSG) {
			c->want = c->len;
			if (k->save_first && !k->saved) {
				k->saved = true;
				c->first = malloc(c->len);
				c->first_len = c->first ? c->len : 0;
				c->first_have = 0;
			}
			c->len = 0;
			c->digits = 0;
		} else {
			return false;
		}
		p++;
		n--;
	}
	return true;
}

static int cmd_listen(int argc, char **argv)
{
	const char *bind_addr = NULL;
	struct sink k = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct conn conns[MAX_CONN];
	struct pollfd p[MAX_CONN + 1];
	double timeout = 600, start;
	char *buf;
	int lfd, on = 1, nconn = 0, rc = 0;

	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--bind") == 0)
			bind_addr = argv[i + 1];
		else if (strcmp(argv[i], "--expect") == 0)
			k.expect = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--timeout") == 0)
			timeout = strtod(argv[i + 1], NULL);
		else if (strcmp(argv[i], "--save-first") == 0)
			k.save_first = argv[i + 1];
		else
			return usage();
	}
	if (!bind_addr || k.expect == 0 || inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1)
		return usage();
	if (!(buf = malloc(READ_SIZE)))
		return 1;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
		perror("otwatch-syslogsink: listen");
		return 1;
	}
	printf("port %d\n", ntohs(sa.sin_port));
	fflush(stdout);
	start = wall();
	while (!stopping && k.messages < k.expect) {
		int left = (int)((start + timeout - wall()) * 1000), n;
		if (left <= 0) {
			rc = 1;
			break;
		}
		p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (int i = 0; i < nconn; i++)
			p[i + 1] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
		n = poll(p, (nfds_t)nconn + 1, left < 500 ? left : 500);
		if (n < 0 && errno != EINTR) {
			perror("otwatch-syslogsink: poll");
			rc = 1;
			break;
		}
		if (n <= 0)
			continue;
		for (int i = nconn - 1; i >= 0; i--) {
			ssize_t r;
			if (!p[i + 1].revents)
				continue;
			r = read(conns[i].fd, buf, READ_SIZE);
			if (r > 0) {
				if (k.first_at == 0)
					k.first_at = wall();
				k.bytes += (uint64_t)r;
				if (parse(&k, &conns[i], buf, (size_t)r))
					continue;
				fprintf(stderr, "otwatch-syslogsink: framing error, connection closed\n");
			} else if (r < 0 && errno == EINTR) {
				continue;
			}
			close(conns[i].fd);
			free(conns[i].first);
			conns[i] = conns[--nconn];
		}
		if (p[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0 && nconn < MAX_CONN) {
				conns[nconn++] = (struct conn){ .fd = fd };
				k.connections++;
			} else if (fd >= 0) {
				close(fd);
			}
		}
	}
	printf("{\"messages\": %llu, \"bytes\": %llu, \"connections\": %d, \"first_at\": %.6f, \"last_at\": %.6f}\n",
	       (unsigned long long)k.messages, (unsigned long long)k.bytes, k.connections, k.first_at, k.last_at);
	fflush(stdout);
	for (int i = 0; i < nconn; i++) {
		close(conns[i].fd);
		free(conns[i].first);
	}
	close(lfd);
	free(buf);
	return rc;
}

static int cmd_send(int argc, char **argv)
{
	const char *host = NULL, *file = NULL;
	uint64_t count = 0;
	int port = 0, fd, on = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char msg[MAX_MSG + 16], frame[16];
	size_t mlen, flen, chunk, per;
	char *out;
	FILE *f;
	double t0, t1;

	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--host") == 0)
			host = argv[i + 1];
		else if (strcmp(argv[i], "--port") == 0)
			port = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--count") == 0)
			count = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--message-file") == 0)
			file = argv[i + 1];
		else
			return usage();
	}
	if (!host || !file || count == 0 || port <= 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return usage();
	if (!(f = fopen(file, "rb")))
		return perror(file), 1;
	mlen = fread(msg, 1, MAX_MSG, f);
	fclose(f);
	if (mlen == 0)
		return usage();
	flen = (size_t)snprintf(frame, sizeof(frame), "%zu ", mlen);
	per = flen + mlen;
	/* A chunk of whole frames, about 256 KiB, written again and again. */
	chunk = READ_SIZE / per > 0 ? READ_SIZE / per : 1;
	if (!(out = malloc(chunk * per)))
		return 1;
	for (size_t i = 0; i < chunk; i++) {
		memcpy(out + i * per, frame, flen);
		memcpy(out + i * per + flen, msg, mlen);
	}
	sa.sin_port = htons((uint16_t)port);
	t0 = wall();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("otwatch-syslogsink: connect");
		return 1;
	}
	for (uint64_t sent = 0; sent < count;) {
		size_t frames = count - sent < chunk ? (size_t)(count - sent) : chunk, off = 0, n = frames * per;
		while (off < n) {
			ssize_t w = send(fd, out + off, n - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				perror("otwatch-syslogsink: send");
				return 1;
			}
			off += (size_t)w;
		}
		sent += frames;
	}
	for (;;) {
		int q = 0;
		if (ioctl(fd, SIOCOUTQ, &q) < 0 || q == 0)
			break;
		usleep(200);
	}
	t1 = wall();
	printf("{\"count\": %llu, \"message_bytes\": %zu, \"start_at\": %.6f, \"end_at\": %.6f}\n",
	       (unsigned long long)count, mlen, t0, t1);
	close(fd);
	free(out);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "listen") == 0)
		return cmd_listen(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "send") == 0)
		return cmd_send(argc, argv);
	return usage();
}
