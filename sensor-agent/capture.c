#include "sensor-agent/capture.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/timefmt.h"

#define CAPTURE_SNAPLEN 65535
#define CAPTURE_TIMEOUT_MS 100

static void capture_set_error(struct capture_stats *st, const char *msg)
{
	snprintf(st->error, sizeof(st->error), "%s", msg);
}

/* Progress of a file, drop counters of a live handle (at most once a second: pcap_stats is a syscall). */
static void refresh_stats(pcap_t *p, struct capture_stats *st, bool offline, int64_t *next)
{
	struct pcap_stat ps;
	int64_t now;
	FILE *f;

	if (offline) {
		f = pcap_file(p);
		if (f) {
			long pos = ftell(f);
			if (pos >= 0)
				st->file_pos = (uint64_t)pos;
		}
		return;
	}
	now = timefmt_now_usec();
	if (now < *next)
		return;
	*next = now + 1000000;
	if (pcap_stats(p, &ps) == 0) {
		/* The counters are 32-bit and wrap: accumulate differences. */
		st->received += (uint32_t)(ps.ps_recv - (uint32_t)st->received);
		st->kernel_drops += (uint32_t)(ps.ps_drop - (uint32_t)st->kernel_drops);
		st->iface_drops += (uint32_t)(ps.ps_ifdrop - (uint32_t)st->iface_drops);
	}
}

/* Drains a handle; returns 0 at the end of input (or when *stop), a negative errno on a hard error, or the
 * callback's value. Live and offline handles share it so both count the same way. */
static int capture_loop(pcap_t *p, volatile sig_atomic_t *stop, capture_packet_fn fn, void *ud,
			struct capture_stats *st, bool offline)
{
	int linktype = pcap_datalink(p);
	int64_t next_stats = 0;

	for (;;) {
		struct pcap_pkthdr *h;
		const u_char *data;
		int r;

		if (stop && *stop)
			return 0;
		if (offline ? (st->packets & 4095) == 0 : (st->packets & 255) == 0)
			refresh_stats(p, st, offline, &next_stats);
		r = pcap_next_ex(p, &h, &data);
		if (r == 1) {
			st->packets++;
			st->bytes += h->len;
			r = fn(ud, linktype, h, data);
			if (r)
				return r;
			continue;
		}
		if (r == 0) {
			/* Live and non-blocking: nothing to read. Wait for the descriptor at most one tick, so that
			 * *stop is seen and the caller gets an idle tick even on a silent link (a blocking read with
			 * TPACKET_V3 would wait for the first packet however long that takes). */
			struct pollfd pfd = { .fd = pcap_get_selectable_fd(p), .events = POLLIN };
			if (pfd.fd < 0 || poll(&pfd, 1, CAPTURE_TIMEOUT_MS) == 0) {
				refresh_stats(p, st, offline, &next_stats);
				r = fn(ud, linktype, NULL, NULL);
				if (r)
					return r;
			}
			continue;
		}
		if (r == PCAP_ERROR_BREAK)
			return 0;
		capture_set_error(st, pcap_geterr(p));
		/* libpcap reports a file cut in the middle of a record as an error whose text says "truncated";
		 * everything before it was delivered, so that is an end of input, not a failure. */
		if (offline && strstr(st->error, "truncated")) {
			st->truncated = true;
			return 0;
		}
		return -EIO;
	}
}

int capture_file(const char *path, capture_packet_fn fn, void *ud, struct capture_stats *st)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p;
	int r;

	memset(st, 0, sizeof(*st));
	p = pcap_open_offline(path, errbuf);
	if (!p) {
		capture_set_error(st, errbuf);
		/* libpcap folds "cannot open" and "not a capture" into one error string. */
		return strstr(errbuf, "No such file") ? -ENOENT : strstr(errbuf, "ermission") ? -EACCES : -EINVAL;
	}
	{
		struct stat sb;
		FILE *f = pcap_file(p);
		if (f && fstat(fileno(f), &sb) == 0)
			st->file_size = (uint64_t)sb.st_size;
	}
	r = capture_loop(p, NULL, fn, ud, st, true);
	st->file_pos = st->file_size;
	pcap_close(p);
	return r;
}

int capture_iface(const char *iface, const struct capture_opts *opts, volatile sig_atomic_t *stop,
		  capture_packet_fn fn, void *ud, struct capture_stats *st)
{
	static const struct capture_opts defaults = { 0 };
	const char *bpf;
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	bool have_prog = false;
	pcap_t *p;
	int r;

	memset(st, 0, sizeof(*st));
	if (!opts)
		opts = &defaults;
	bpf = opts->bpf;
	p = pcap_create(iface, errbuf);
	if (!p) {
		capture_set_error(st, errbuf);
		return -ENODEV;
	}
	if (pcap_set_snaplen(p, opts->snaplen ? (int)opts->snaplen : CAPTURE_SNAPLEN) ||
	    pcap_set_promisc(p, !opts->no_promisc) || pcap_set_timeout(p, CAPTURE_TIMEOUT_MS) ||
	    (opts->buffer_mib && pcap_set_buffer_size(p, (int)opts->buffer_mib * 1024 * 1024))) {
		capture_set_error(st, "cannot configure the capture handle");
		r = -EINVAL;
		goto out;
	}
	r = pcap_activate(p);
	if (r < 0) {
		capture_set_error(st, pcap_geterr(p));
		r = r == PCAP_ERROR_PERM_DENIED ? -EPERM : r == PCAP_ERROR_NO_SUCH_DEVICE ? -ENODEV : -EIO;
		goto out;
	}
	if (r > 0)
		log_warn("capture %s: %s", iface, pcap_geterr(p));
	if (pcap_setnonblock(p, 1, errbuf) < 0) {
		capture_set_error(st, errbuf);
		r = -EIO;
		goto out;
	}
	if (bpf && *bpf) {
		if (pcap_compile(p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) < 0) {
			capture_set_error(st, pcap_geterr(p));
			r = -EINVAL;
			goto out;
		}
		have_prog = true;
		if (pcap_setfilter(p, &prog) < 0) {
			capture_set_error(st, pcap_geterr(p));
			r = -EINVAL;
			goto out;
		}
	}
	r = capture_loop(p, stop, fn, ud, st, false);
out:
	if (have_prog)
		pcap_freecode(&prog);
	pcap_close(p);
	return r;
}
