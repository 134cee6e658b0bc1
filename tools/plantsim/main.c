/* otwatch-plantsim: writes a deterministic pcap of a small simulated industrial site, or a scenario's clean and
 * attack periods as two (scenarios.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/plantsim/pcap_writer.h"
#include "tools/plantsim/plant.h"
#include "tools/plantsim/scenarios.h"
#include "tools/plantsim/traffic.h"
#include "tools/plantsim/truth.h"

#define DEFAULT_START 1767600000ULL   /* 2026-01-05T08:00:00Z */
#define DEFAULT_DURATION 60ULL
#define MAX_DURATION (10ULL * 365 * 86400)
#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f, "usage: otwatch-plantsim --out FILE [--seed N] [--hosts N] [--duration SECONDS]\n"
		"                        [--start EPOCH_SECONDS] [--site-octet K] [--truth FILE] [--anomalies]\n"
		"       otwatch-plantsim --scenario NAME --out-baseline CLEAN.pcap --out ATTACK.pcap [options above]\n"
		"                        [--bad-domain NAME] [--bad-ip A.B.C.D]\n"
		"       otwatch-plantsim --list-scenarios\n"
		"\n"
		"Writes a deterministic classic pcap of a simulated plant (same arguments, same bytes).\n"
		"\n"
		"  --out         the capture to write (required)\n"
		"  --seed        random seed: vendors, addresses, serials, timing (default 1)\n"
		"  --hosts       %u..%u (default %u); the two infrastructure switches come on top\n"
		"  --duration    seconds of packet time (default %llu)\n"
		"  --start       capture start, seconds since the epoch (default %llu, 2026-01-05T08:00:00Z)\n"
		"  --site-octet  second octet of 10.K.1.0/24, 1..254 except 200 (default %u)\n"
		"  --truth       also write the ground truth as JSON: every device's IP, MAC, type, vendor,\n"
		"                model, firmware, serial and the protocols it used, with its role in each\n"
		"  --anomalies   add a port scan and malformed / illegal PDUs (Modbus, S7comm, DNP3, IEC 104,\n"
		"                BACnet, EtherNet/IP) about 20 s in; off by default\n"
		"  --scenario    an attack scenario (--list-scenarios): writes the clean learning period to\n"
		"                --out-baseline and the attack period (the same traffic continuing, and the\n"
		"                attack a minute in) to --out; --duration is per period (default %u); no\n"
		"                routine PLC stop/start, restarts or communication control in either\n"
		"  --bad-domain  known-bad-indicator: the domain (default %s)\n"
		"  --bad-ip      known-bad-indicator: its address (default 203.0.113.66)\n"
		"\n"
		"Hosts, in order: gateway, DHCP/DNS/SNMP server, HMI, PLC, engineering workstation, laptop,\n"
		"historian, PLC, PLC, SCADA master, RTU, BACnet controller (12: every protocol), then file server,\n"
		"HMI, laptop, RTU, PROFINET I/O, BACnet controller, RTU, and a repeating tail of PLCs, laptops,\n"
		"HMIs, I/O, RTUs and BACnet controllers.\n"
		"OT protocols: Modbus/TCP, S7comm, S7comm-plus, EtherNet/IP+CIP, DNP3, IEC 60870-5-104, BACnet/IP,\n"
		"OPC UA, PROFINET DCP. IT: ARP, LLDP, CDP, DHCP, DNS, mDNS, NetBIOS-NS, SNMP, HTTP, TLS, SSH.\n"
		"Rare operations (program download, PLC stop/start, restarts, file transfer, commands) all happen\n"
		"within the first minute, then every few minutes to hours. See docs/plantsim.md.\n",
		PLANT_MIN_HOSTS, PLANT_MAX_HOSTS, PLANT_DEFAULT_HOSTS, DEFAULT_DURATION, DEFAULT_START,
		PLANT_DEFAULT_SITE_OCTET, SCENARIO_DEFAULT_DURATION, SCENARIO_BAD_DOMAIN);
}

/* Parses a decimal unsigned integer in [lo, hi]; anything else (sign, spaces, suffix) is rejected. */
static int parse_u64(const char *flag, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || s[0] < '0' || s[0] > '9') {
		fprintf(stderr, "otwatch-plantsim: %s needs a non-negative decimal number, got '%s'\n", flag, s ? s : "");
		return -EINVAL;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end) {
		fprintf(stderr, "otwatch-plantsim: %s: '%s' is not a valid number\n", flag, s);
		return -EINVAL;
	}
	if (v < lo || v > hi) {
		fprintf(stderr, "otwatch-plantsim: %s must be between %" PRIu64 " and %" PRIu64 ", got %llu\n",
			flag, lo, hi, v);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

struct options {
	const char *out, *truth, *out_baseline, *scenario, *bad_domain, *bad_ip_text;
	uint64_t seed, hosts, duration, start, site;
	uint32_t bad_ip;
	unsigned scenario_id;
	bool anomalies, duration_set, list;
};

static void list_scenarios(void)
{
	for (unsigned id = SCEN_NONE + 1; id < SCEN__COUNT; id++)
		printf("%s\t%s\n", scenario_name(id), scenario_description(id));
}

static bool domain_ok(const char *d)
{
	size_t n = strlen(d);

	if (n == 0 || n >= PLANT_OFFSITE_NAME_LEN || d[0] == '.' || d[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= 'A' && d[i] <= 'Z') || (d[i] >= '0' && d[i] <= '9') ||
		      d[i] == '-' || d[i] == '.'))
			return false;
	return true;
}

/* The scenario options, once every argument is read. Returns 0 or EXIT_USAGE. */
static int check_scenario(struct options *o)
{
	struct in_addr a;

	if (!o->scenario) {
		if (o->out_baseline || o->bad_domain || o->bad_ip_text) {
			fprintf(stderr, "otwatch-plantsim: --out-baseline, --bad-domain and --bad-ip need --scenario\n");
			return EXIT_USAGE;
		}
		return 0;
	}
	if (!o->out_baseline || !*o->out_baseline) {
		fprintf(stderr, "otwatch-plantsim: --scenario needs --out-baseline FILE (the clean period) and --out FILE\n");
		return EXIT_USAGE;
	}
	if (strcmp(o->out_baseline, o->out) == 0) {
		fprintf(stderr, "otwatch-plantsim: --out-baseline and --out must be different files\n");
		return EXIT_USAGE;
	}
	if (o->anomalies) {
		fprintf(stderr, "otwatch-plantsim: --anomalies cannot be combined with --scenario\n");
		return EXIT_USAGE;
	}
	if (o->bad_domain && !domain_ok(o->bad_domain)) {
		fprintf(stderr, "otwatch-plantsim: --bad-domain: '%s' is not a domain name (letters, digits, '-', '.', "
			"at most %d characters)\n", o->bad_domain, PLANT_OFFSITE_NAME_LEN - 1);
		return EXIT_USAGE;
	}
	if (o->bad_ip_text) {
		if (inet_pton(AF_INET, o->bad_ip_text, &a) != 1) {
			fprintf(stderr, "otwatch-plantsim: --bad-ip: '%s' is not an IPv4 address\n", o->bad_ip_text);
			return EXIT_USAGE;
		}
		o->bad_ip = ntohl(a.s_addr);
	}
	if (!o->duration_set)
		o->duration = SCENARIO_DEFAULT_DURATION;
	if (o->duration > MAX_DURATION / 2) {
		fprintf(stderr, "otwatch-plantsim: --duration must be at most %llu with --scenario (two periods)\n",
			MAX_DURATION / 2);
		return EXIT_USAGE;
	}
	return 0;
}

/* Returns 0, 1 after --help, or EXIT_USAGE. */
static int parse_args(int argc, char **argv, struct options *o)
{
	static const char *const valued[] = { "--out", "--seed", "--hosts", "--duration", "--start", "--site-octet",
		"--truth", "--scenario", "--out-baseline", "--bad-domain", "--bad-ip" };

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool known = false;
		int r = 0;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 1;
		}
		if (strcmp(a, "--anomalies") == 0) {
			o->anomalies = true;
			continue;
		}
		if (strcmp(a, "--list-scenarios") == 0) {
			o->list = true;
			continue;
		}
		for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++)
			known |= strcmp(a, valued[k]) == 0;
		if (!known) {
			fprintf(stderr, "otwatch-plantsim: unknown argument '%s'\n", a);
			usage(stderr);
			return EXIT_USAGE;
		}
		if (!v) {
			fprintf(stderr, "otwatch-plantsim: %s needs a value\n", a);
			return EXIT_USAGE;
		}
		i++;
		if (strcmp(a, "--out") == 0)
			o->out = v;
		else if (strcmp(a, "--truth") == 0)
			o->truth = v;
		else if (strcmp(a, "--scenario") == 0) {
			o->scenario = v;
			o->scenario_id = scenario_find(v);
			if (o->scenario_id == SCEN_NONE) {
				fprintf(stderr, "otwatch-plantsim: unknown scenario '%s' (otwatch-plantsim --list-scenarios "
					"lists them)\n", v);
				return EXIT_USAGE;
			}
		}
		else if (strcmp(a, "--out-baseline") == 0)
			o->out_baseline = v;
		else if (strcmp(a, "--bad-domain") == 0)
			o->bad_domain = v;
		else if (strcmp(a, "--bad-ip") == 0)
			o->bad_ip_text = v;
		else if (strcmp(a, "--seed") == 0)
			r = parse_u64(a, v, 0, UINT64_MAX, &o->seed);
		else if (strcmp(a, "--hosts") == 0)
			r = parse_u64(a, v, PLANT_MIN_HOSTS, PLANT_MAX_HOSTS, &o->hosts);
		else if (strcmp(a, "--duration") == 0) {
			r = parse_u64(a, v, 1, MAX_DURATION, &o->duration);
			o->duration_set = true;
		}
		else if (strcmp(a, "--start") == 0)
			r = parse_u64(a, v, 0, (uint64_t)UINT32_MAX - MAX_DURATION, &o->start);
		else
			r = parse_u64(a, v, 1, 254, &o->site);
		if (r < 0)
			return EXIT_USAGE;
	}
	if (o->list) {
		list_scenarios();
		return 1;
	}
	if (!o->out || !*o->out) {
		fprintf(stderr, "otwatch-plantsim: --out FILE is required\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (o->truth && !*o->truth) {
		fprintf(stderr, "otwatch-plantsim: --truth needs a file name\n");
		return EXIT_USAGE;
	}
	if (o->site == 200) {
		fprintf(stderr, "otwatch-plantsim: --site-octet 200 is reserved for the off-site addresses\n");
		return EXIT_USAGE;
	}
	return check_scenario(o);
}

static int close_writer(struct pcap_writer **w, const char *path, int r)
{
	int rc_close = pcap_writer_close(*w);

	*w = NULL;
	if (r == 0 && rc_close < 0) {
		fprintf(stderr, "otwatch-plantsim: %s: %s\n", path, strerror(-rc_close));
		return rc_close;
	}
	return r;
}

int main(int argc, char **argv)
{
	struct options o = { .seed = 1, .hosts = PLANT_DEFAULT_HOSTS, .duration = DEFAULT_DURATION,
		.start = DEFAULT_START, .site = PLANT_DEFAULT_SITE_OCTET, .bad_ip = SCENARIO_BAD_IP };
	struct pcap_writer *w = NULL, *w_attack = NULL;
	struct traffic_stats *st = NULL;
	struct traffic_config cfg;
	struct traffic_scenario sc;
	struct plant *p = NULL;
	const char *first;
	char err[160];
	int r, rc = 1;

	r = parse_args(argc, argv, &o);
	if (r)
		return r == 1 ? 0 : r;
	p = malloc(sizeof(*p));
	st = calloc(1, sizeof(*st));
	if (!p || !st) {
		fprintf(stderr, "otwatch-plantsim: out of memory\n");
		goto out;
	}
	r = plant_build(p, o.seed, (unsigned)o.hosts, (unsigned)o.site);
	if (r < 0) {
		fprintf(stderr, "otwatch-plantsim: cannot build the plant: %s\n", strerror(-r));
		goto out;
	}
	if (o.scenario_id != SCEN_NONE && scenario_prepare(p, o.scenario_id, o.seed,
		o.bad_domain ? o.bad_domain : SCENARIO_BAD_DOMAIN, o.bad_ip, err, sizeof(err)) < 0) {
		fprintf(stderr, "otwatch-plantsim: %s\n", err);
		rc = EXIT_USAGE;
		goto out;
	}
	first = o.scenario_id != SCEN_NONE ? o.out_baseline : o.out;
	r = pcap_writer_open(first, 65535, PCAP_LINKTYPE_ETHERNET, &w);
	if (r < 0) {
		fprintf(stderr, "otwatch-plantsim: %s: %s\n", first, strerror(-r));
		goto out;
	}
	r = o.scenario_id != SCEN_NONE ? pcap_writer_open(o.out, 65535, PCAP_LINKTYPE_ETHERNET, &w_attack) : 0;
	if (r < 0) {
		fprintf(stderr, "otwatch-plantsim: %s: %s\n", o.out, strerror(-r));
		goto out;
	}
	/* A scenario's two periods are one run, cut in two files where the attack period begins. */
	cfg = (struct traffic_config){ o.seed, o.start * 1000000ULL,
		o.duration * 1000000ULL * (o.scenario_id != SCEN_NONE ? 2 : 1), o.anomalies };
	sc = (struct traffic_scenario){ o.scenario_id, (o.start + o.duration) * 1000000ULL, w_attack };
	r = o.scenario_id != SCEN_NONE ? traffic_run_scenario(p, &cfg, &sc, w, st) : traffic_run(p, &cfg, w, st);
	if (r < 0)
		fprintf(stderr, "otwatch-plantsim: generating traffic: %s\n", strerror(-r));
	r = close_writer(&w, first, r);
	if (w_attack)
		r = close_writer(&w_attack, o.out, r);
	if (r == 0 && o.truth) {
		struct truth_scenario ts = { scenario_name(o.scenario_id), sc.attack_start_usec };
		r = truth_write_scenario(o.truth, p, &cfg, st, o.scenario_id != SCEN_NONE ? &ts : NULL);
		if (r < 0)
			fprintf(stderr, "otwatch-plantsim: %s: %s\n", o.truth, strerror(-r));
	}
	if (r == 0 && o.scenario_id != SCEN_NONE) {
		fprintf(stderr, "otwatch-plantsim: %s: wrote %" PRIu64 " packets (%" PRIu64 " frame bytes) to %s and %"
			PRIu64 " packets (%" PRIu64 " frame bytes) to %s\n", scenario_name(o.scenario_id),
			st->packets - st->attack_packets, st->bytes - st->attack_bytes, o.out_baseline, st->attack_packets,
			st->attack_bytes, o.out);
		rc = 0;
	} else if (r == 0) {
		fprintf(stderr, "otwatch-plantsim: wrote %" PRIu64 " packets (%" PRIu64 " frame bytes) to %s\n",
			st->packets, st->bytes, o.out);
		rc = 0;
	}
out:
	if (w && pcap_writer_close(w) < 0)
		rc = 1;
	if (w_attack && pcap_writer_close(w_attack) < 0)
		rc = 1;
	free(st);
	free(p);
	return rc;
}
