/* otwatch-sensor subcommands. Each takes the arguments after the program name (argv[0] is the command
 * name) and returns the process exit status. */
#pragma once

int cmd_inspect(int argc, char **argv);
int cmd_activate(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_journal_status(int argc, char **argv);
