/* `otwatch-sensor run --state DIR (--pcap FILE [--rate max|realtime] [--follow] | --iface IFACE [--bpf EXPR])
 *  [--log-level L]`: capture -> inventory -> journal -> uplink.
 *
 * The capture thread feeds the inventory; every second of packet time (and at the end of a file) it flushes the
 * inventory's changes as records into the journal, syncs it and wakes the uplink thread (uplink.h).
 *
 * Replaying a file is resumable. Flushes happen on packet-time boundaries only, so the records a file produces
 * are the same sequence on every run. Before journaling records of a file, run writes `capture.json` in the
 * state dir: the file's identity (path, device, inode, size, mtime) and the seq its first record got. A run
 * over the same file skips the records that are already journaled (next_seq - first_seq of them) and journals
 * only the rest, so a run that was killed and restarted, or repeated, applies every record exactly once. For
 * the same reason an interrupted (SIGINT/SIGTERM) file run does not flush a partial second: it syncs and exits,
 * and the next run regenerates that second. A live capture (--iface) flushes on a signal. */
#pragma once

/* The command; returns the process exit status: 0 done (file processed and acked, or stopped by a signal), 1
 * error or refused by the console (the reason is printed), 2 usage. */
int cmd_run(int argc, char **argv);
