/* otwatch-snmp-agent: an AgentX subagent that serves OTWATCH-MIB (console and sensor health) through a
 * net-snmp master agent (snmpd). integrations/snmp/README.md says how to wire it. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "common/log.h"
#include "integrations/snmp/otwatch_snmp_cache.h"
#include "integrations/snmp/otwatch_snmp_mib.h"

#define APP_NAME "otwatch-snmp-agent"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " APP_NAME " --db URL --agentx SOCKET [--refresh SEC] [--foreground]\n"
		"                          [--log-level error|warn|info|debug]\n"
		"  --db URL            the console's PostgreSQL (libpq URL or conninfo; prefer a passfile to a\n"
		"                      password in the URL, which other users can see in the process list)\n"
		"  --agentx SOCKET     the master agent's AgentX socket: unix:/path or tcp:HOST:PORT\n"
		"  --refresh SEC       seconds between database refreshes (default 5)\n"
		"  --foreground        stay in the foreground (default: detach; logs still go to stderr)\n");
}

static int parse_seconds(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* One pass of the loop: net-snmp's sockets and timers (AgentX session, its pings and reconnects) plus the
 * database socket of the cache, in one select(), as net-snmp's agent_check_and_process does for its own. */
static void loop_once(struct snmp_cache *cache)
{
	fd_set rd, wr;
	struct timeval tv = { .tv_sec = 3600, .tv_usec = 0 };
	int nfds = 0, block = 0, count;
	int64_t cache_ms = snmp_cache_tick(cache);

	FD_ZERO(&rd);
	FD_ZERO(&wr);
	snmp_select_info(&nfds, &rd, &tv, &block);
	if (block)  /* no net-snmp timer pending */
		tv = (struct timeval){ .tv_sec = 3600, .tv_usec = 0 };
	if (cache_ms < 0)
		cache_ms = 0;
	if ((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000 > cache_ms) {
		tv.tv_sec = (time_t)(cache_ms / 1000);
		tv.tv_usec = (suseconds_t)(cache_ms % 1000) * 1000;
	}
	snmp_cache_fds(cache, &nfds, &rd, &wr);
	count = select(nfds, &rd, &wr, NULL, &tv);
	if (count > 0) {
		snmp_read(&rd);
		snmp_cache_io(cache, &rd, &wr);
	} else if (count == 0) {
		snmp_timeout();
	} else if (errno != EINTR) {
		log_error("snmp: select: %s", strerror(errno));
	}
	run_alarms();
	netsnmp_check_outstanding_agent_requests();
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "agentx", required_argument, NULL, 'x' },
		{ "refresh", required_argument, NULL, 'r' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL, *agentx = NULL;
	unsigned refresh = 5;
	bool foreground = false;
	struct snmp_cache *cache = NULL;
	struct sigaction sa;
	int opt, rc = 1;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': db = optarg; break;
		case 'x': agentx = optarg; break;
		case 'r':
			if (parse_seconds(optarg, 1, 3600, &refresh) < 0) {
				fprintf(stderr, APP_NAME ": --refresh wants 1..3600 seconds\n");
				return 2;
			}
			break;
		case 'f': foreground = true; break;
		case 'l':
			if (log_set_level_name(optarg) < 0) {
				fprintf(stderr, APP_NAME ": unknown log level\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!db || !agentx || optind != argc) {
		usage(stderr);
		return 2;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!foreground && daemon(0, 1) != 0) {
		log_error("snmp: cannot detach: %s", strerror(errno));
		return 1;
	}

	cache = snmp_cache_new(db, refresh);
	if (!cache) {
		log_error("snmp: out of memory");
		return 1;
	}

	snmp_disable_log();
	snmp_enable_stderrlog();
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);  /* AgentX subagent */
	netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET, agentx);
	/* Ping the master every 5 s, so that a master gone away is noticed; net-snmp then reconnects by itself
	 * (after 15 s), also when the master is not up yet at start. */
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL, 5);
	/* Timers run from our select() loop, never from SIGALRM. */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
	/* The subagent has no configuration or state of its own: it reads no snmp.conf and writes nothing under
	 * /var/lib/snmp; it parses no MIB files either (the manager needs OTWATCH-MIB, not the agent). */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	setenv("MIBS", "", 1);

	if (init_agent(APP_NAME) != 0) {
		log_error("snmp: net-snmp agent initialisation failed");
		goto out;
	}
	if (snmp_mib_register(cache) != 0)
		goto out;
	init_snmp(APP_NAME);
	log_info("snmp: " APP_NAME " %s serving OTWATCH-MIB through AgentX %s, refresh every %u s", OTW_VERSION,
		 agentx, refresh);

	while (!stop_requested)
		loop_once(cache);
	log_info("snmp: stopping");
	rc = 0;
	snmp_shutdown(APP_NAME);
out:
	snmp_cache_free(cache);
	return rc;
}
