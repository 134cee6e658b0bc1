/* otwatch-plantsim: writes a deterministic pcap of a small simulated industrial site. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/plantsim/pcap_writer.h"
#include "tools/plantsim/plant.h"
#include "tools/plantsim/traffic.h"

#define DEFAULT_START 1767600000ULL   /* 2026-01-05T08:00:00Z */
#define DEFAULT_DURATION 60ULL
#define MAX_DURATION (10ULL * 365 * 86400)
#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f, "usage: otwatch-plantsim --out FILE [--seed N] [--hosts N] [--duration SECONDS]\n"
		"                        [--start EPOCH_SECONDS] [--site-octet K]\n"
		"  --hosts       %u..%u (default %u)\n"
		"  --duration    seconds of packet time (default %llu)\n"
		"  --start       capture start, seconds since the epoch (default %llu, 2026-01-05T08:00:00Z)\n"
		"  --site-octet  second octet of 10.K.1.0/24, 1..254 except 200 (default %u)\n",
		PLANT_MIN_HOSTS, PLANT_MAX_HOSTS, PLANT_DEFAULT_HOSTS, DEFAULT_DURATION, DEFAULT_START,
		PLANT_DEFAULT_SITE_OCTET);
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

int main(int argc, char **argv)
{
	const char *out = NULL;
	uint64_t seed = 1, hosts = PLANT_DEFAULT_HOSTS, duration = DEFAULT_DURATION, start = DEFAULT_START;
	uint64_t site = PLANT_DEFAULT_SITE_OCTET;
	struct pcap_writer *w = NULL;
	struct traffic_stats st = { 0 };
	struct traffic_config cfg;
	struct plant *p = NULL;
	int r, rc = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--out") && strcmp(a, "--seed") && strcmp(a, "--hosts") && strcmp(a, "--duration") &&
		    strcmp(a, "--start") && strcmp(a, "--site-octet")) {
			fprintf(stderr, "otwatch-plantsim: unknown argument '%s'\n", a);
			usage(stderr);
			return EXIT_USAGE;
		}
		if (!v) {
			fprintf(stderr, "otwatch-plantsim: %s needs a value\n", a);
			return EXIT_USAGE;
		}
		i++;
		r = 0;
		if (strcmp(a, "--out") == 0)
			out = v;
		else if (strcmp(a, "--seed") == 0)
			r = parse_u64(a, v, 0, UINT64_MAX, &seed);
		else if (strcmp(a, "--hosts") == 0)
			r = parse_u64(a, v, PLANT_MIN_HOSTS, PLANT_MAX_HOSTS, &hosts);
		else if (strcmp(a, "--duration") == 0)
			r = parse_u64(a, v, 1, MAX_DURATION, &duration);
		else if (strcmp(a, "--start") == 0)
			r = parse_u64(a, v, 0, (uint64_t)UINT32_MAX - MAX_DURATION, &start);
		else
			r = parse_u64(a, v, 1, 254, &site);
		if (r < 0)
			return EXIT_USAGE;
	}
	if (!out || !*out) {
		fprintf(stderr, "otwatch-plantsim: --out FILE is required\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (site == 200) {
		fprintf(stderr, "otwatch-plantsim: --site-octet 200 is reserved for the off-site addresses\n");
		return EXIT_USAGE;
	}

	p = malloc(sizeof(*p));
	if (!p) {
		fprintf(stderr, "otwatch-plantsim: out of memory\n");
		goto out;
	}
	r = plant_build(p, seed, (unsigned)hosts, (unsigned)site);
	if (r < 0) {
		fprintf(stderr, "otwatch-plantsim: cannot build the plant: %s\n", strerror(-r));
		goto out;
	}
	r = pcap_writer_open(out, 65535, PCAP_LINKTYPE_ETHERNET, &w);
	if (r < 0) {
		fprintf(stderr, "otwatch-plantsim: %s: %s\n", out, strerror(-r));
		goto out;
	}
	cfg = (struct traffic_config){ seed, start * 1000000ULL, duration * 1000000ULL };
	r = traffic_run(p, &cfg, w, &st);
	if (r < 0)
		fprintf(stderr, "otwatch-plantsim: generating traffic: %s\n", strerror(-r));
	{
		int rc_close = pcap_writer_close(w);
		w = NULL;
		if (r == 0 && rc_close < 0) {
			fprintf(stderr, "otwatch-plantsim: %s: %s\n", out, strerror(-rc_close));
			r = rc_close;
		}
	}
	if (r == 0) {
		fprintf(stderr, "otwatch-plantsim: wrote %" PRIu64 " packets (%" PRIu64 " frame bytes) to %s\n",
			st.packets, st.bytes, out);
		rc = 0;
	}
out:
	if (w && pcap_writer_close(w) < 0)
		rc = 1;
	free(p);
	return rc;
}
