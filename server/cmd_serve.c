/* otwatch-console serve: the HTTPS API (libevent main loop + worker pool) and the sensor gateway, until
 * SIGTERM or SIGINT. */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "common/hostport.h"
#include "common/log.h"
#include "server/api_router.h"
#include "server/commands.h"
#include "server/config.h"
#include "server/forward_outbox.h"
#include "server/gateway.h"
#include "server/http_server.h"
#include "server/map_fold.h"
#include "server/retention.h"
#include "server/sensor_watch.h"
#include "server/state.h"
#include "server/workers.h"

#define SERVE_JOBS_PER_WORKER 64
#define SERVE_JOBS_MAX 4096
#define SERVE_HTTP_TIMEOUT_SEC 30

static void serve_usage(FILE *f)
{
	fprintf(f, "usage: otwatch-console serve --state DIR --db URL [--api-listen H:P] [--sensor-listen H:P]\n"
		   "                             [--config FILE] [--log-level L] [--ui-dir DIR]\n");
	config_print_help(f);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	log_info("serve: %s received, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopexit(base, NULL);
}

/* Every sensor holds a socket: 2,000 of them need more than the usual soft limit of 1,024 descriptors. Raises the
 * soft limit to the hard one and says what it got. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("serve: cannot read the open-file limit: %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			log_warn("serve: cannot raise the open-file limit from %llu: %s", (unsigned long long)was,
				 strerror(errno));
			return;
		}
		log_info("serve: open-file limit raised from %llu to %llu (sensors, API clients and the database)",
			 (unsigned long long)was, (unsigned long long)rl.rlim_cur);
	} else {
		log_info("serve: open-file limit %llu", (unsigned long long)rl.rlim_cur);
	}
	if (rl.rlim_cur < 4096)
		log_warn("serve: an open-file limit of %llu caps the sensors this node can hold; raise the hard limit "
			 "(LimitNOFILE= in systemd, ulimit -Hn) for more than about %llu", (unsigned long long)rl.rlim_cur,
			 (unsigned long long)(rl.rlim_cur > 64 ? rl.rlim_cur - 64 : 0));
}

int cmd_serve(int argc, char **argv)
{
	struct console_config cfg;
	struct console_state st = { 0 };
	struct config_strv pos = { 0 };
	struct event_base *base = NULL;
	struct event *sigterm = NULL, *sigint = NULL;
	struct workers *workers = NULL;
	struct http_server *http = NULL;
	struct gateway *gw = NULL;
	struct retention *retention = NULL;
	struct map_fold *fold = NULL;
	struct sensor_watch *watch = NULL;
	struct forward *fwd = NULL;
	struct api_env env = { 0 };
	char err[1024], api_host[256], gw_host[256];
	int api_port, gw_port, ret = CMD_EXIT_USAGE, rc;
	size_t queue;
	bool state_loaded = false;

	if (config_init(&cfg) < 0) {
		fprintf(stderr, "serve: out of memory\n");
		return CMD_EXIT_FAIL;
	}
	rc = config_parse_args(&cfg, argc, argv, 1, NULL, 0, &pos, err, sizeof(err));
	if (rc == 1) {
		serve_usage(stdout);
		ret = CMD_EXIT_OK;
		goto out;
	}
	if (rc < 0 || pos.n || !*cfg.state || !*cfg.db) {
		fprintf(stderr, "serve: %s\n",
			rc < 0 ? err : pos.n ? "unexpected argument" : !*cfg.state ? "--state is required"
										: "--db is required");
		serve_usage(stderr);
		goto out;
	}
	if (hostport_split(cfg.api_listen, api_host, sizeof(api_host), &api_port) < 0 ||
	    hostport_split(cfg.sensor_listen, gw_host, sizeof(gw_host), &gw_port) < 0) {
		fprintf(stderr, "serve: bad listen address\n");
		goto out;
	}
	if (log_set_level_name(cfg.log_level) < 0)
		goto out;
	ret = CMD_EXIT_FAIL;
	if (state_load(cfg.state, &st, err, sizeof(err)) < 0) {
		log_error("serve: %s", err);
		goto out;
	}
	state_loaded = true;
	/* Peers that vanish mid-write must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	/* Before the base exists: workers wake the loop with event_active() from their threads. */
	if (evthread_use_pthreads() != 0 || !(base = event_base_new())) {
		log_error("serve: cannot create the event loop");
		goto out;
	}
	queue = (size_t)cfg.workers * SERVE_JOBS_PER_WORKER;
	if (queue > SERVE_JOBS_MAX)
		queue = SERVE_JOBS_MAX;
	rc = workers_start(base, cfg.db, (unsigned)cfg.workers, queue, &workers);
	if (rc < 0) {
		log_error("serve: cannot start %lld workers: %s", (long long)cfg.workers, strerror(-rc));
		goto out;
	}
	env.base = base;
	env.workers = workers;
	env.st = &st;
	env.cfg = &cfg;
	env.session_ttl_sec = cfg.session_ttl;
	env.session_idle_sec = cfg.session_idle;
	env.access_ttl_sec = cfg.access_token_ttl;
	rc = http_server_start(base,
			       &(struct http_server_opts){ .host = api_host,
							   .port = api_port,
							   .cert_path = st.server_cert_path,
							   .key_path = st.server_key_path,
							   .timeout_sec = SERVE_HTTP_TIMEOUT_SEC,
							   .workers = (unsigned)cfg.workers },
			       &env, &http);
	if (rc < 0)
		goto out;
	rc = gateway_start(&(struct gateway_opts){ .listen_addr = gw_host,
						   .port = gw_port,
						   .ca_cert_path = st.ca_cert_path,
						   .cert_path = st.server_cert_path,
						   .key_path = st.server_key_path,
						   .db_url = cfg.db,
						   .queue_max = (size_t)cfg.ingest_queue,
						   .queue_bytes = (size_t)cfg.ingest_queue_mib << 20,
						   .writers = (unsigned)cfg.ingest_writers,
						   .group_max = (size_t)cfg.ingest_group,
						   .state = &st,
						   .max_frame_bytes = (size_t)cfg.max_frame_bytes,
						   .max_inflight = (unsigned)cfg.sensor_max_inflight,
						   .msg_rate = (unsigned)cfg.sensor_msg_rate,
						   .msg_burst = (unsigned)cfg.sensor_msg_burst },
			   &gw);
	if (rc < 0)
		goto out;
	env.gw = gw; /* no request runs before the loop does */
	if ((rc = retention_start(base, workers, cfg.device_retention_days, cfg.alert_retention_days,
				   cfg.retention_interval, &retention)) < 0) {
		log_error("serve: cannot start the retention timer");
		goto out;
	}
	if ((rc = map_fold_start(base, workers, cfg.map_fold_interval, &fold)) < 0) {
		log_error("serve: cannot start the map's fold timer");
		goto out;
	}
	if ((rc = sensor_watch_start(base, workers, cfg.sensor_silent_sec, &watch)) < 0) {
		log_error("serve: cannot start the silent-sensor watchdog");
		goto out;
	}
	if ((rc = forward_start(&(struct forward_opts){ .db_url = cfg.db,
							.poll_ms = cfg.forward_poll_ms,
							.backoff_max_sec = cfg.forward_backoff_max,
							.timeout_ms = cfg.forward_timeout_ms,
							.batch = cfg.forward_batch },
				&fwd)) < 0) {
		log_error("serve: cannot start the forwarding thread: %s", strerror(-rc));
		goto out;
	}
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	if (!sigterm || !sigint || evsignal_add(sigterm, NULL) != 0 || evsignal_add(sigint, NULL) != 0) {
		log_error("serve: cannot install signal handlers");
		goto out;
	}
	log_info("serve: API listening on https://%s, sensor gateway on wss://%s (%lld workers)", cfg.api_listen,
		 cfg.sensor_listen, (long long)cfg.workers);
	if (event_base_dispatch(base) < 0) {
		log_error("serve: event loop failed");
		goto out;
	}
	ret = CMD_EXIT_OK;
out:
	/* Order matters: no new sensor data, then let running jobs finish and deliver their answers (the
	 * requests they answer belong to evhttp), then close the listener and connections. */
	if (gw)
		gateway_stop(gw);
	forward_stop(fwd);
	/* No timer may hand the pool a job once it stops: the loop pass below runs overdue timers. */
	retention_disarm(retention);
	map_fold_disarm(fold);
	sensor_watch_disarm(watch);
	if (workers) {
		workers_stop(workers);
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	/* After the loop pass that delivered a cancelled purge's completion. */
	retention_free(retention);
	map_fold_free(fold);
	sensor_watch_free(watch);
	http_server_free(http);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	if (base)
		event_base_free(base);
	if (state_loaded)
		state_free(&st);
	config_strv_free(&pos);
	config_free(&cfg);
	if (ret == CMD_EXIT_OK && rc == 0)
		log_info("serve: stopped");
	return ret;
}
