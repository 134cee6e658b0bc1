#include "server/config_push.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "server/sensor_settings.h"
#include "server/sensors_admin.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000
#define PENDING_MAX 65536 /* welcomed sensors waiting for their config; beyond, everyone connected is resent */

struct request {
	struct request *next;
	char sensor_id[37];
};

struct config_push {
	pthread_t thread;
	pthread_mutex_t mu; /* guards head, npending, overflow, stop */
	struct request *head;
	size_t npending;
	bool overflow, stop;
	int wake[2]; /* written to wake the thread: a request or stop */
	char *db_url;
	PGconn *db;
	config_push_fn fn;
	char *indicators; /* push thread: the indicators message as last built (one text for every sensor), or NULL
			   * until built again after a change */
	void *ctx;
};

/* Per sensor: id, zone settings, own settings, mode request and its revision, the learned items of its zone
 * (or its own, unplaced) in a stable order. */
static const char *const load_sql =
	"select s.id::text, zs.settings::text, ss.settings::text, s.mode_request, s.mode_request_rev, "
	"(select coalesce(jsonb_agg(e.item order by l.id, e.n), '[]') from learned_items l cross join lateral "
	"  jsonb_array_elements(case jsonb_typeof(l.item) when 'array' then l.item else jsonb_build_array(l.item) end) "
	"  with ordinality e(item, n) "
	"  where (s.zone_id is not null and l.zone_id = s.zone_id) or (s.zone_id is null and l.sensor_id = s.id))::text "
	"from sensors s "
	"left join zone_settings zs on zs.zone_id = s.zone_id left join sensor_settings ss on ss.sensor_id = s.id "
	"where s.revoked_at is null and (s.id = $1::uuid or s.zone_id = $2::bigint or ($3::boolean and s.connected))";

/* The enabled bundles' indicators as one bundle (the sensors keep the first of duplicates); its version is the
 * digest of the list, so an unchanged set gives the same text. */
static const char *const indicators_sql =
	"with l as (select coalesce(jsonb_agg(x.e order by b.id, x.n), '[]') list, "
	"coalesce(string_agg(distinct b.name || ' ' || b.version, ', '), '') names "
	"from indicator_bundles b cross join lateral jsonb_array_elements(b.indicators) with ordinality x(e, n) "
	"where b.enabled) "
	"select jsonb_build_object('bundle', jsonb_build_object('name', "
	"case when names = '' then 'none' else left(names, 255) end, 'version', md5(list::text), "
	"'indicators', list))::text from l";

/* The indicators message, built once per change of the bundles (a reconnecting fleet would otherwise rebuild
 * it for every welcome); borrowed, NULL when it cannot be built. */
static const char *indicators_message(struct config_push *cp)
{
	PGresult *res;
	char *text = NULL;

	if (cp->indicators)
		return cp->indicators;
	res = PQexec(cp->db, indicators_sql);

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		/* compact, with "type" first, like every other message */
		json_t *m = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
		json_t *o = json_pack("{s:s, s:O}", "type", "indicators", "bundle", json_object_get(m, "bundle"));
		text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		json_decref(o);
		json_decref(m);
	} else
		log_warn("config push: cannot load the indicator bundles: %s",
			 res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "no result");
	PQclear(res);
	cp->indicators = text;
	return text;
}

/* Loads the effective settings of the sensors selected by one of sensor_id, zone_id or all_connected and hands
 * each one's messages to the callback (the indicators message too when `indicators`). */
static void load(struct config_push *cp, const char *sensor_id, const char *zone_id, bool all_connected,
		 bool indicators)
{
	const char *params[3] = { sensor_id, zone_id, all_connected ? "true" : "false" };
	PGresult *res = PQexecParams(cp->db, load_sql, 3, NULL, params, NULL, NULL, 0);
	const char *ind = indicators && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res)
				  ? indicators_message(cp)
				  : NULL;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("config push: cannot load sensor settings: %s",
			 res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "no result");
		PQclear(res);
		return;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		json_t *zone = PQgetisnull(res, r, 1) ? NULL : json_loads(PQgetvalue(res, r, 1), 0, NULL);
		json_t *own = PQgetisnull(res, r, 2) ? NULL : json_loads(PQgetvalue(res, r, 2), 0, NULL);
		json_t *eff = sensor_settings_effective(zone, own);
		json_t *learned = json_loads(PQgetvalue(res, r, 5), 0, NULL);
		const char *mode = PQgetisnull(res, r, 3) ? NULL : PQgetvalue(res, r, 3);
		char *text = eff && learned ? sensor_settings_config_message(eff, mode, strtoll(PQgetvalue(res, r, 4), NULL, 10),
									    learned)
					    : NULL;
		json_decref(learned);
		/* Indicators first: a sensor that waits for its config before replaying a file has both then. */
		if (ind) {
			char *copy = strdup(ind);
			if (copy)
				cp->fn(cp->ctx, PQgetvalue(res, r, 0), CONFIG_PUSH_INDICATORS, copy);
		}
		if (text)
			cp->fn(cp->ctx, PQgetvalue(res, r, 0), CONFIG_PUSH_CONFIG, text);
		else
			log_error("config push: out of memory; sensor %s keeps its previous settings", PQgetvalue(res, r, 0));
		json_decref(eff);
		json_decref(zone);
		json_decref(own);
	}
	PQclear(res);
}

static void forget_indicators(struct config_push *cp)
{
	free(cp->indicators);
	cp->indicators = NULL;
}

static bool is_id(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (s[n] < '0' || s[n] > '9')
			return false;
	return n > 0 && n < 20;
}

/* "z:<zone id>" or "s:<sensor id>" (sql/005_dpi.sql otw_settings_notify), "a" for every sensor's indicators
 * (sql/008_indicators.sql). */
static void on_notify(struct config_push *cp, const char *payload)
{
	const char *id = payload[0] && payload[1] == ':' ? payload + 2 : NULL;

	if (strcmp(payload, "a") == 0) {
		forget_indicators(cp);
		load(cp, NULL, NULL, true, true);
	}
	else if (id && payload[0] == 'z' && is_id(id))
		load(cp, NULL, id, false, false);
	else if (id && payload[0] == 's' && sensors_admin_id_valid(id))
		load(cp, id, NULL, false, false);
	else
		log_warn("config push: ignoring notification \"%.64s\"", payload);
}

static bool connect_listen(struct config_push *cp)
{
	PGresult *res;

	if (cp->db)
		PQfinish(cp->db);
	cp->db = PQconnectdb(cp->db_url);
	if (PQstatus(cp->db) != CONNECTION_OK) {
		/* libpq's message names host and database, never the password. */
		char msg[256];
		size_t n;
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(cp->db));
		n = strlen(msg);
		while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			msg[--n] = '\0';
		log_warn("config push: cannot connect to the database: %s", msg);
		return false;
	}
	res = PQexec(cp->db, "listen otw_settings");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_warn("config push: listen failed: %s", PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
		PQclear(res);
		return false;
	}
	PQclear(res);
	return true;
}

static bool stopping(struct config_push *cp)
{
	bool stop;

	pthread_mutex_lock(&cp->mu);
	stop = cp->stop;
	pthread_mutex_unlock(&cp->mu);
	return stop;
}

/* Waits for the database socket (fd, or -1), a wake-up or the timeout. */
static void wait_for(struct config_push *cp, int fd, int timeout_ms)
{
	struct pollfd p[2] = { { cp->wake[0], POLLIN, 0 }, { fd, POLLIN, 0 } };
	char buf[64];

	if (poll(p, fd >= 0 ? 2 : 1, timeout_ms) > 0 && (p[0].revents & POLLIN))
		while (read(cp->wake[0], buf, sizeof(buf)) > 0)
			;
}

static void *push_main(void *arg)
{
	struct config_push *cp = arg;
	long backoff = BACKOFF_MIN_MS;
	bool had_db = false;

	while (!stopping(cp)) {
		struct request *reqs, *next;
		PGnotify *nt;
		bool resend_all;

		if (!cp->db || PQstatus(cp->db) != CONNECTION_OK) {
			if (!connect_listen(cp)) {
				wait_for(cp, -1, (int)backoff);
				backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			backoff = BACKOFF_MIN_MS;
			/* Announcements made while the connection was down are lost: resend everything. */
			pthread_mutex_lock(&cp->mu);
			cp->overflow |= had_db;
			pthread_mutex_unlock(&cp->mu);
			had_db = true;
		}
		pthread_mutex_lock(&cp->mu);
		reqs = cp->head;
		cp->head = NULL;
		cp->npending = 0;
		resend_all = cp->overflow;
		cp->overflow = false;
		pthread_mutex_unlock(&cp->mu);
		if (resend_all) {
			forget_indicators(cp); /* changes announced while the connection was down are lost */
			load(cp, NULL, NULL, true, true);
		}
		for (; reqs; reqs = next) {
			next = reqs->next;
			if (!resend_all)
				load(cp, reqs->sensor_id, NULL, false, true);
			free(reqs);
		}
		if (PQconsumeInput(cp->db) != 1)
			continue; /* connection lost: reconnect at the top */
		while ((nt = PQnotifies(cp->db))) {
			on_notify(cp, nt->extra);
			PQfreemem(nt);
		}
		pthread_mutex_lock(&cp->mu);
		bool idle = !cp->head && !cp->overflow && !cp->stop;
		pthread_mutex_unlock(&cp->mu);
		if (idle)
			wait_for(cp, PQsocket(cp->db), 60000);
	}
	return NULL;
}

static void wake(struct config_push *cp)
{
	ssize_t n = write(cp->wake[1], "x", 1);

	(void)n; /* a full pipe already wakes the thread */
}

void config_push_request(struct config_push *cp, const char *sensor_id)
{
	struct request *r;

	if (!cp)
		return;
	r = calloc(1, sizeof(*r));
	pthread_mutex_lock(&cp->mu);
	if (!r || cp->npending >= PENDING_MAX) {
		cp->overflow = true;
		free(r);
	} else {
		snprintf(r->sensor_id, sizeof(r->sensor_id), "%s", sensor_id);
		r->next = cp->head;
		cp->head = r;
		cp->npending++;
	}
	pthread_mutex_unlock(&cp->mu);
	wake(cp);
}

static void push_free(struct config_push *cp)
{
	struct request *r, *next;

	for (r = cp->head; r; r = next) {
		next = r->next;
		free(r);
	}
	if (cp->db)
		PQfinish(cp->db);
	free(cp->indicators);
	if (cp->wake[0] >= 0)
		close(cp->wake[0]);
	if (cp->wake[1] >= 0)
		close(cp->wake[1]);
	pthread_mutex_destroy(&cp->mu);
	free(cp->db_url);
	free(cp);
}

int config_push_start(const char *db_url, config_push_fn fn, void *ctx, struct config_push **out)
{
	struct config_push *cp = calloc(1, sizeof(*cp));
	int rc;

	if (!cp)
		return -ENOMEM;
	cp->wake[0] = cp->wake[1] = -1;
	pthread_mutex_init(&cp->mu, NULL);
	cp->fn = fn;
	cp->ctx = ctx;
	if (!(cp->db_url = strdup(db_url))) {
		push_free(cp);
		return -ENOMEM;
	}
	if (pipe2(cp->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
		rc = -errno;
		push_free(cp);
		return rc;
	}
	if ((rc = pthread_create(&cp->thread, NULL, push_main, cp))) {
		push_free(cp);
		return -rc;
	}
	*out = cp;
	return 0;
}

void config_push_stop(struct config_push *cp)
{
	if (!cp)
		return;
	pthread_mutex_lock(&cp->mu);
	cp->stop = true;
	pthread_mutex_unlock(&cp->mu);
	wake(cp);
	pthread_join(cp->thread, NULL);
	push_free(cp);
}
