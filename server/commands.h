/* `otwatch-console <command>` entry points, dispatched by main.c. Each takes the arguments after the
 * command name (argv[0] is the command) and returns the process exit status: 0 success, 1 failure,
 * 2 usage error. */
#pragma once

#define CMD_EXIT_OK 0
#define CMD_EXIT_FAIL 1
#define CMD_EXIT_USAGE 2

int cmd_init(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_sensor(int argc, char **argv);
int cmd_serve(int argc, char **argv);
