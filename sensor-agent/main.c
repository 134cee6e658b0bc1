/* otwatch-sensor: dispatches to a subcommand. Each command lives in its own module and is declared in
 * commands.h; adding one is one line in the table below. */
#include <stdio.h>
#include <string.h>

#include "sensor-agent/commands.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "inspect", cmd_inspect, "read capture files and print the devices and connections found" },
	{ "activate", cmd_activate, "enroll this sensor with the console named in an activation file" },
	{ "run", cmd_run, "capture, build the inventory, journal it and send it to the console" },
	{ "journal-status", cmd_journal_status, "print the journal's seqs, size, record count and digest" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: otwatch-sensor COMMAND [ARGS...]\n       otwatch-sensor --help | --version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("otwatch-sensor %s\n", OTW_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "otwatch-sensor: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
