#include "server/events_listen.h"

#include <errno.h>
#include <event2/event_struct.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define EL_BACKOFF_MIN_SEC 1
#define EL_BACKOFF_MAX_SEC 30
#define EL_CHANNEL_MAX 63

enum el_state {
	EL_WAITING = 0, /* no connection; the retry timer is armed */
	EL_CONNECTING,  /* PQconnectPoll in progress */
	EL_LISTENING,   /* LISTEN sent, its result not read yet */
	EL_READY,       /* LISTEN confirmed: notifications flow */
};

struct events_listen {
	struct event_base *base;
	char *url;
	char channel[EL_CHANNEL_MAX + 1];
	char listen_sql[EL_CHANNEL_MAX + 16];
	events_listen_notify_fn on_notify;
	events_listen_state_fn on_state;
	void *arg;
	PGconn *conn;
	enum el_state state;
	struct event io; /* on PQsocket(conn); re-assigned when libpq changes the socket or what it waits for */
	bool io_armed;
	struct event retry;
	int backoff_sec;
};

static void el_on_io(evutil_socket_t fd, short what, void *arg);

/* libpq's message without its trailing newline; it names host and database, never the password. */
static void el_log_error(const struct events_listen *l, const char *what)
{
	const char *msg = l->conn ? PQerrorMessage(l->conn) : "out of memory";
	size_t n = strlen(msg);

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	log_warn("events: %s: %.*s; retrying in %d s", what, (int)n, msg, l->backoff_sec);
}

static void el_disarm(struct events_listen *l)
{
	if (l->io_armed) {
		event_del(&l->io);
		l->io_armed = false;
	}
}

/* Waits for `what` on the connection's current socket. */
static int el_wait(struct events_listen *l, short what)
{
	int fd = PQsocket(l->conn);

	el_disarm(l);
	if (fd < 0)
		return -EBADF;
	if (event_assign(&l->io, l->base, fd, what, el_on_io, l) != 0 || event_add(&l->io, NULL) != 0)
		return -ENOMEM;
	l->io_armed = true;
	return 0;
}

/* Drops the connection and arms the retry timer. */
static void el_fail(struct events_listen *l, const char *what)
{
	bool was_up = l->state == EL_READY;
	struct timeval tv = { l->backoff_sec, 0 };

	el_log_error(l, what);
	el_disarm(l);
	PQfinish(l->conn);
	l->conn = NULL;
	l->state = EL_WAITING;
	evtimer_add(&l->retry, &tv);
	if (l->backoff_sec < EL_BACKOFF_MAX_SEC)
		l->backoff_sec = l->backoff_sec * 2 > EL_BACKOFF_MAX_SEC ? EL_BACKOFF_MAX_SEC : l->backoff_sec * 2;
	if (was_up)
		l->on_state(l->arg, false);
}

static void el_connect(struct events_listen *l)
{
	l->conn = PQconnectStart(l->url);
	if (!l->conn || PQstatus(l->conn) == CONNECTION_BAD) {
		el_fail(l, "cannot connect to the database");
		return;
	}
	l->state = EL_CONNECTING;
	/* libpq: start as if PQconnectPoll had answered PGRES_POLLING_WRITING. */
	if (el_wait(l, EV_WRITE) < 0)
		el_fail(l, "cannot watch the database socket");
}

static void el_on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	el_connect(arg);
}

static void el_connect_step(struct events_listen *l)
{
	switch (PQconnectPoll(l->conn)) {
	case PGRES_POLLING_READING:
		if (el_wait(l, EV_READ) < 0)
			el_fail(l, "cannot watch the database socket");
		return;
	case PGRES_POLLING_WRITING:
		if (el_wait(l, EV_WRITE) < 0)
			el_fail(l, "cannot watch the database socket");
		return;
	case PGRES_POLLING_OK:
		break;
	default:
		el_fail(l, "cannot connect to the database");
		return;
	}
	if (PQsetnonblocking(l->conn, 1) != 0 || !PQsendQuery(l->conn, l->listen_sql)) {
		el_fail(l, "cannot send LISTEN");
		return;
	}
	l->state = EL_LISTENING;
	if (el_wait(l, EV_READ | EV_PERSIST | (PQflush(l->conn) == 1 ? EV_WRITE : 0)) < 0)
		el_fail(l, "cannot watch the database socket");
}

/* Reads what arrived: the LISTEN result, then notifications. Returns false after el_fail. */
static bool el_read(struct events_listen *l)
{
	PGresult *res;
	PGnotify *n;

	if (!PQconsumeInput(l->conn)) {
		el_fail(l, "lost the database connection");
		return false;
	}
	while (!PQisBusy(l->conn) && (res = PQgetResult(l->conn)) != NULL) {
		ExecStatusType st = PQresultStatus(res);
		PQclear(res);
		if (l->state != EL_LISTENING)
			continue;
		if (st != PGRES_COMMAND_OK) {
			el_fail(l, "LISTEN failed");
			return false;
		}
		l->state = EL_READY;
		l->backoff_sec = EL_BACKOFF_MIN_SEC;
		log_info("events: listening on %s", l->channel);
		l->on_state(l->arg, true);
	}
	while ((n = PQnotifies(l->conn)) != NULL) {
		if (l->state == EL_READY && strcmp(n->relname, l->channel) == 0)
			l->on_notify(l->arg, n->extra);
		PQfreemem(n);
	}
	return true;
}

static void el_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct events_listen *l = arg;

	(void)fd;
	if (l->state == EL_CONNECTING) {
		el_connect_step(l);
		return;
	}
	if ((what & EV_WRITE) && PQflush(l->conn) == 0 && el_wait(l, EV_READ | EV_PERSIST) < 0) {
		el_fail(l, "cannot watch the database socket");
		return;
	}
	if (what & EV_READ)
		el_read(l);
}

static bool channel_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > EL_CHANNEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
			return false;
	return true;
}

int events_listen_start(struct event_base *base, const char *db_url, const char *channel,
			events_listen_notify_fn on_notify, events_listen_state_fn on_state, void *arg,
			struct events_listen **out)
{
	struct events_listen *l;

	*out = NULL;
	if (!channel_ok(channel) || !on_notify || !on_state)
		return -EINVAL;
	if (!(l = calloc(1, sizeof(*l))))
		return -ENOMEM;
	if (!(l->url = strdup(db_url)) || evtimer_assign(&l->retry, base, el_on_retry, l) != 0) {
		free(l->url);
		free(l);
		return -ENOMEM;
	}
	l->base = base;
	snprintf(l->channel, sizeof(l->channel), "%s", channel);
	snprintf(l->listen_sql, sizeof(l->listen_sql), "LISTEN %s", channel);
	l->on_notify = on_notify;
	l->on_state = on_state;
	l->arg = arg;
	l->backoff_sec = EL_BACKOFF_MIN_SEC;
	el_connect(l);
	*out = l;
	return 0;
}

void events_listen_free(struct events_listen *l)
{
	if (!l)
		return;
	el_disarm(l);
	evtimer_del(&l->retry);
	PQfinish(l->conn);
	free(l->url);
	free(l);
}
