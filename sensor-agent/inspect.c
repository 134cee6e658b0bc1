#include "sensor-agent/inspect.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sensor-agent/capture.h"
#include "sensor-agent/commands.h"
#include "sensor-agent/evidence.h"
#include "sensor-agent/indicators.h"
#include "sensor-agent/oui.h"
#include "sensor-agent/progress.h"

struct inspect_run {
	struct inventory *inv;
	struct progress prog;
	const struct capture_stats *st;
};

static int inspect_packet(void *ud, int linktype, const struct pcap_pkthdr *h, const uint8_t *data)
{
	struct inspect_run *ir = ud;

	inventory_packet(ir->inv, linktype, h, data);
	progress_update(&ir->prog, ir->st, false);
	return 0;
}

int inspect_read_file(struct inventory *inv, const char *path)
{
	struct capture_stats st;
	struct inspect_run ir = { .inv = inv, .st = &st };
	int r;

	progress_init(&ir.prog, path);
	r = capture_file(path, inspect_packet, &ir, &st);
	if (r == 0)
		progress_update(&ir.prog, &st, true);

	if (r < 0) {
		fprintf(stderr, "otwatch-sensor: %s: %s\n", path, st.error[0] ? st.error : strerror(-r));
		return r;
	}
	if (st.truncated)
		fprintf(stderr, "otwatch-sensor: warning: %s: truncated capture, kept %llu packets (%s)\n", path,
			(unsigned long long)st.packets, st.error);
	inventory_note_file(inv, st.truncated);
	return 0;
}

static const char *str_or(json_t *v, const char *dflt)
{
	return json_is_string(v) ? json_string_value(v) : dflt;
}

/* Joins the strings of an array (or the "name" of its objects, with "/role") with commas. */
static void join(json_t *arr, char *out, size_t cap)
{
	size_t i, used = 0;
	json_t *v;

	out[0] = '\0';
	json_array_foreach(arr, i, v) {
		char item[96];
		if (json_is_string(v))
			snprintf(item, sizeof(item), "%s", json_string_value(v));
		else if (json_is_integer(v))
			snprintf(item, sizeof(item), "%lld", (long long)json_integer_value(v));
		else
			snprintf(item, sizeof(item), "%s/%s", str_or(json_object_get(v, "name"), "?"),
				 str_or(json_object_get(v, "role"), "?"));
		int n = snprintf(out + used, cap - used, "%s%s", i ? "," : "", item);
		if (n < 0 || (size_t)n >= cap - used)
			break;
		used += (size_t)n;
	}
}

void inspect_print_table(FILE *out, json_t *doc)
{
	json_t *devs = json_object_get(doc, "devices"), *conns = json_object_get(doc, "connections");
	json_t *stats = json_object_get(doc, "stats"), *v;
	char ips[512], protos[512], vlans[64];
	size_t i;

	fprintf(out, "DEVICES (%zu)\n%-4s %-22s %-32s %-6s %-28s %s\n", json_array_size(devs), "ID", "KEY", "IPS",
		"VLANS", "VENDOR", "PROTOCOLS");
	json_array_foreach(devs, i, v) {
		join(json_object_get(v, "ips"), ips, sizeof(ips));
		join(json_object_get(v, "vlans"), vlans, sizeof(vlans));
		join(json_object_get(v, "protocols"), protos, sizeof(protos));
		fprintf(out, "%-4lld %-22s %-32s %-6s %-28.28s %s\n", (long long)json_integer_value(json_object_get(v, "id")),
			str_or(json_object_get(v, "key"), "?"), ips, vlans, str_or(json_object_get(v, "vendor"), "-"),
			protos);
	}
	fprintf(out, "\nCONNECTIONS (%zu)\n%-5s %-40s %-40s %-6s %-10s %-12s %s\n", json_array_size(conns), "PROTO",
		"SRC", "DST", "PORT", "PACKETS", "BYTES", "PROTOCOLS");
	json_array_foreach(conns, i, v) {
		json_t *port = json_object_get(v, "port");
		char portbuf[16] = "-";
		if (json_is_integer(port))
			snprintf(portbuf, sizeof(portbuf), "%lld", (long long)json_integer_value(port));
		join(json_object_get(v, "protocols"), protos, sizeof(protos));
		fprintf(out, "%-5s %-40s %-40s %-6s %-10lld %-12lld %s%s\n", str_or(json_object_get(v, "transport"), "?"),
			str_or(json_object_get(v, "src_addr"), "?"), str_or(json_object_get(v, "dst_addr"), "?"), portbuf,
			(long long)json_integer_value(json_object_get(v, "packets")),
			(long long)json_integer_value(json_object_get(v, "bytes")), protos,
			json_is_true(json_object_get(v, "broadcast")) ? " (broadcast)" : "");
	}
	fprintf(out, "\n%lld packets, %lld bytes, %s .. %s%s\n",
		(long long)json_integer_value(json_object_get(stats, "packets")),
		(long long)json_integer_value(json_object_get(stats, "bytes")),
		str_or(json_object_get(stats, "first_packet"), "-"), str_or(json_object_get(stats, "last_packet"), "-"),
		json_is_true(json_object_get(stats, "truncated")) ? " (truncated input)" : "");
}

static void inspect_usage(FILE *out)
{
	fprintf(out, "usage: otwatch-sensor inspect FILE... [--json] [--oui-dir DIR] [--dpi-mem-mib N]\n"
		     "                               [--dpi-flow-kib N] [--baseline-from FILE]... [--operational]\n"
		     "                               [--indicators BUNDLE.json] [--evidence-dir DIR [--evidence-mem-mib N]]\n"
		     "  Reads pcap/pcapng files into one inventory and prints devices and connections.\n"
		     "  --json            print the inspect JSON document\n"
		     "  --oui-dir DIR     IEEE registry CSVs (default " OUI_DEFAULT_DIR ")\n"
		     "  --dpi-mem-mib N   cap on deep-inspection memory, all flows (default 64)\n"
		     "  --dpi-flow-kib N  cap on bytes buffered per flow direction (default 64)\n"
		     "  --baseline-from F learn a baseline on capture F (repeatable), then report the alerts the\n"
		     "                    FILEs raise against it\n"
		     "  --operational     report alerts with an empty baseline (everything is new)\n"
		     "  --indicators B    malware engine: raise \"Known-bad ...\" alerts for the IPs, domains, TLS server\n"
		     "                    names and file names of indicator bundle B (JSON: {\"name\", \"version\",\n"
		     "                    \"indicators\": [{\"type\": ip|domain|sni|file_name, \"value\", \"description\",\n"
		     "                    \"severity\", \"reference\"}]}); with --operational or --baseline-from\n"
		     "  --evidence-dir D  keep each alert's evidence capture (the last packets of its flow) as D/REF.pcap;\n"
		     "                    alerts carry \"evidence\": REF and stats.evidence the store's figures\n"
		     "  --evidence-mem-mib N  cap on the packets kept for evidence, all flows (default 32)\n");
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "oui-dir", required_argument, NULL, 'o' },
		{ "dpi-mem-mib", required_argument, NULL, 'M' },
		{ "dpi-flow-kib", required_argument, NULL, 'K' },
		{ "baseline-from", required_argument, NULL, 'B' },
		{ "operational", no_argument, NULL, 'O' },
		{ "indicators", required_argument, NULL, 'I' },
		{ "evidence-dir", required_argument, NULL, 'E' },
		{ "evidence-mem-mib", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *oui_dir = OUI_DEFAULT_DIR;
	bool as_json = false;
	struct oui_db *oui = NULL;
	struct inventory *inv = NULL;
	json_t *doc = NULL;
	size_t mem_cap = 0, flow_cap = 0;
	const char *baselines[16];
	size_t n_baselines = 0;
	bool operational = false;
	const char *bundle = NULL;
	struct indicators *ind = NULL;
	const char *evidence_dir = NULL;
	struct evidence_limits ev_lim = { 0 };
	struct evidence *ev = NULL; /* owned by inv once set */
	int c, status = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jo:hM:K:B:OI:E:e:", opts, NULL)) != -1) {
		switch (c) {
		case 'I':
			bundle = optarg;
			break;
		case 'E':
			evidence_dir = optarg;
			break;
		case 'e':
			if (inventory_parse_limit('M', optarg, &ev_lim.mem_bytes) < 0) {
				fprintf(stderr, "otwatch-sensor: --evidence-mem-mib must be 1-4096\n");
				return 2;
			}
			break;
		case 'B':
			if (n_baselines == sizeof(baselines) / sizeof(baselines[0])) {
				fprintf(stderr, "otwatch-sensor: at most 16 --baseline-from captures\n");
				return 2;
			}
			baselines[n_baselines++] = optarg;
			break;
		case 'O':
			operational = true;
			break;
		case 'M':
		case 'K':
			if (inventory_parse_limit(c, optarg, c == 'M' ? &mem_cap : &flow_cap) < 0) {
				fprintf(stderr, "otwatch-sensor: --%s must be %s\n", c == 'M' ? "dpi-mem-mib" : "dpi-flow-kib",
					c == 'M' ? "1-4096" : "1-16384");
				return 2;
			}
			break;
		case 'j':
			as_json = true;
			break;
		case 'o':
			oui_dir = optarg;
			break;
		case 'h':
			inspect_usage(stdout);
			return 0;
		default:
			inspect_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		inspect_usage(stderr);
		return 2;
	}
	if (bundle) {
		char err[256];
		int r;
		if (!n_baselines && !operational) {
			fprintf(stderr, "otwatch-sensor: --indicators needs --operational or --baseline-from\n");
			return 2;
		}
		if ((r = indicators_load(bundle, &ind, err, sizeof(err))) < 0) {
			fprintf(stderr, "otwatch-sensor: %s: %s\n", bundle, err);
			return r == -ENOMEM ? 1 : 2;
		}
	}
	oui = oui_load(oui_dir);
	inv = inventory_new(oui);
	if (!inv || inventory_set_dpi_limits(inv, mem_cap, flow_cap) < 0) {
		fprintf(stderr, "otwatch-sensor: out of memory\n");
		goto out;
	}
	if ((n_baselines || operational) && inventory_enable_alerts(inv, operational && !n_baselines) < 0) {
		fprintf(stderr, "otwatch-sensor: out of memory\n");
		goto out;
	}
	inventory_set_indicators(inv, ind);
	ind = NULL;
	if (evidence_dir) {
		char err[512];
		if (!(ev = evidence_new(evidence_dir, &ev_lim, err, sizeof(err)))) {
			fprintf(stderr, "otwatch-sensor: evidence: %s\n", err);
			goto out;
		}
		inventory_set_evidence(inv, ev);
	}
	for (size_t i = 0; i < n_baselines; i++)
		if (inspect_read_file(inv, baselines[i]) < 0)
			goto out;
	if (n_baselines) {
		/* the learning period ends: what it held is parsed, then departures from it are alerts */
		inventory_drain(inv);
		if (inventory_enable_alerts(inv, true) < 0) {
			fprintf(stderr, "otwatch-sensor: out of memory\n");
			goto out;
		}
	}
	for (int i = optind; i < argc; i++)
		if (inspect_read_file(inv, argv[i]) < 0)
			goto out;
	inventory_drain(inv);
	doc = inventory_to_json(inv);
	if (doc && ev) {
		evidence_sync(ev); /* every capture written: the figures and the directory agree */
		json_object_set_new(json_object_get(doc, "stats"), "evidence", evidence_stats_json(ev));
	}
	if (!doc) {
		fprintf(stderr, "otwatch-sensor: out of memory\n");
		goto out;
	}
	if (as_json) {
		if (json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) < 0)
			goto out;
		fputc('\n', stdout);
	} else {
		inspect_print_table(stdout, doc);
	}
	status = fflush(stdout) == 0 ? 0 : 1;
out:
	json_decref(doc);
	inventory_free(inv);
	indicators_free(ind);
	oui_free(oui);
	return status;
}
