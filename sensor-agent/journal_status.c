/* otwatch-sensor journal-status: what the journal holds and its accounting (journal.h), read-only, so it can
 * run beside a live sensor. A drill compares records/digest with the console's sensors.records_applied /
 * records_digest. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sensor-agent/commands.h"
#include "sensor-agent/journal.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: otwatch-sensor journal-status --state DIR [--json]\n"
		   "  Prints the journal's seqs, size and accounting: records and digest count every record it\n"
		   "  kept or freed after an ack (not those compacted away or lost at the disk cap).\n");
}

int cmd_journal_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *state_dir = NULL;
	bool as_json = false;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "s:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 's': state_dir = optarg; break;
		case 'j': as_json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !state_dir) {
		usage(stderr);
		return 2;
	}
	struct journal_opts o;
	journal_opts_default(&o);
	o.read_only = true;
	struct journal *j;
	int rc = journal_open_opts(state_dir, &o, &j);
	if (rc < 0) {
		fprintf(stderr, "journal-status: cannot read the journal in %s: %s\n", state_dir, strerror(-rc));
		return 1;
	}
	struct journal_status st;
	journal_get_status(j, &st);
	journal_close(j);
	json_t *doc = journal_status_json(&st);
	char *text = doc ? json_dumps(doc, as_json ? JSON_COMPACT : JSON_INDENT(2)) : NULL;
	json_decref(doc);
	if (!text) {
		fprintf(stderr, "journal-status: out of memory\n");
		return 1;
	}
	if (as_json) {
		printf("%s\n", text);
	} else {
		printf("seqs %" PRIu64 "..%" PRIu64 ", acked %" PRIu64 "\n", st.first_seq, st.last_seq, st.acked);
		printf("records %" PRIu64 ", digest %" PRIu64 "\n", st.records, st.digest);
		printf("%zu segments, %" PRIu64 " bytes\n", st.segments, st.bytes);
		printf("compacted %" PRIu64 ", corrupt bytes %" PRIu64 "\n", st.compacted, st.corrupt_bytes);
		printf("lost at the cap:");
		uint64_t total = 0;
		for (int i = 0; i < JOURNAL_KINDS; i++) {
			if (st.lost[i])
				printf(" %s %" PRIu64, journal_kind_name((enum journal_kind)i), st.lost[i]);
			total += st.lost[i];
		}
		printf("%s\n", total ? "" : " none");
	}
	free(text);
	return 0;
}
