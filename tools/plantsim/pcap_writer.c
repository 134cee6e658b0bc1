#include "tools/plantsim/pcap_writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct pcap_writer {
	FILE *f;
	uint32_t snaplen;
};

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void pcap_writer_global_header(uint8_t hdr[PCAP_GLOBAL_HEADER_LEN], uint32_t snaplen, uint32_t linktype)
{
	put_le32(hdr, 0xa1b2c3d4);  /* microsecond resolution */
	put_le16(hdr + 4, 2);
	put_le16(hdr + 6, 4);
	put_le32(hdr + 8, 0);       /* thiszone */
	put_le32(hdr + 12, 0);      /* sigfigs */
	put_le32(hdr + 16, snaplen);
	put_le32(hdr + 20, linktype);
}

int pcap_writer_open(const char *path, uint32_t snaplen, uint32_t linktype, struct pcap_writer **out)
{
	uint8_t hdr[PCAP_GLOBAL_HEADER_LEN];
	struct pcap_writer *w = NULL;
	int r;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->snaplen = snaplen;
	w->f = fopen(path, "wb");
	if (!w->f) {
		r = -errno;
		goto out;
	}
	/* Large files are written sequentially; a big stdio buffer keeps syscalls rare. */
	setvbuf(w->f, NULL, _IOFBF, 1 << 20);
	pcap_writer_global_header(hdr, snaplen, linktype);
	if (fwrite(hdr, sizeof(hdr), 1, w->f) != 1) {
		r = errno ? -errno : -EIO;
		goto out;
	}
	*out = w;
	w = NULL;
	r = 0;
out:
	if (w) {
		if (w->f)
			fclose(w->f);
		free(w);
	}
	return r;
}

int pcap_writer_write(struct pcap_writer *w, uint32_t sec, uint32_t usec, const void *data, size_t len)
{
	uint8_t rec[PCAP_RECORD_HEADER_LEN];

	if (usec >= 1000000 || len > w->snaplen)
		return -EINVAL;
	put_le32(rec, sec);
	put_le32(rec + 4, usec);
	put_le32(rec + 8, (uint32_t)len);
	put_le32(rec + 12, (uint32_t)len);
	if (fwrite(rec, sizeof(rec), 1, w->f) != 1 || (len && fwrite(data, len, 1, w->f) != 1))
		return errno ? -errno : -EIO;
	return 0;
}

int pcap_writer_close(struct pcap_writer *w)
{
	int r = 0;

	if (!w)
		return 0;
	if (ferror(w->f))
		r = -EIO;
	if (fclose(w->f) != 0 && r == 0)
		r = errno ? -errno : -EIO;
	free(w);
	return r;
}
