/* otwatch-console: dispatches to one command (server/commands.h). */
#include <stdio.h>
#include <string.h>

#include "server/commands.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* One line per command. */
static const struct command commands[] = {
	{ "init", cmd_init, "create the state directory, migrate the database, create the first admin" },
	{ "migrate", cmd_migrate, "apply the database migrations" },
	{ "sensor", cmd_sensor, "add, list and revoke sensors" },
	{ "serve", cmd_serve, "run the console: HTTPS API and sensor gateway" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: otwatch-console <command> [options]   (otwatch-console <command> --help)\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CMD_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CMD_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("otwatch-console %s\n", OTW_VERSION);
		return CMD_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "otwatch-console: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return CMD_EXIT_USAGE;
}
