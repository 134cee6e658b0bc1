/* `otwatch-sensor inspect`: read capture files into one inventory and print it. */
#pragma once
#include <stdio.h>

#include "sensor-agent/inventory.h"

/* Reads one capture file into inv. Returns 0 (a truncated file is reported on stderr and still 0), or a
 * negative errno when the file cannot be read as a capture (reported on stderr). */
int inspect_read_file(struct inventory *inv, const char *path) __attribute__((warn_unused_result));
/* Prints the inspect document as a human-readable table (devices, then connections). */
void inspect_print_table(FILE *out, json_t *doc);
