/* S7comm PDU builders. S7comm has no public specification; the layouts follow the protocol as Siemens
 * devices put it on the wire (header: protocol id 0x32, ROSCTR, PDU reference, parameter and data lengths;
 * ack-data adds error class and code) and as published by the open-source S7 community (Snap7, the S7comm
 * Wireshark plugin documentation), checked against tshark's dissector. */
#include "tools/plantsim/ot_s7.h"

#include <stdio.h>
#include <string.h>

size_t tpkt_begin(struct wbuf *b)
{
	size_t at = b->len;

	wbuf_u8(b, 3);
	wbuf_u8(b, 0);
	wbuf_u16(b, 0);
	return at;
}

void tpkt_end(struct wbuf *b, size_t at) { wbuf_patch16(b, at + 2, (uint16_t)(b->len - at)); }

void s7_cotp_connect(struct wbuf *b, bool confirm, uint16_t dst_ref, uint16_t src_ref, const void *src_tsap,
	size_t src_len, const void *dst_tsap, size_t dst_len)
{
	size_t at = tpkt_begin(b);

	/* Length indicator: the header after itself, i.e. the 6-byte fixed part plus the parameters. */
	wbuf_u8(b, (uint8_t)(6 + 3 + 2 + src_len + 2 + dst_len));
	wbuf_u8(b, confirm ? 0xd0 : 0xe0);
	wbuf_u16(b, dst_ref);
	wbuf_u16(b, src_ref);
	wbuf_u8(b, 0);          /* class 0 */
	wbuf_u8(b, 0xc0);       /* TPDU size: 2^10 */
	wbuf_u8(b, 1);
	wbuf_u8(b, 0x0a);
	wbuf_u8(b, 0xc1);
	wbuf_u8(b, (uint8_t)src_len);
	wbuf_bytes(b, src_tsap, src_len);
	wbuf_u8(b, 0xc2);
	wbuf_u8(b, (uint8_t)dst_len);
	wbuf_bytes(b, dst_tsap, dst_len);
	tpkt_end(b, at);
}

void pl_s7_cotp_connect(struct wbuf *b, bool confirm, uint16_t dst_ref, uint16_t src_ref)
{
	static const uint8_t pg[2] = { 0x01, 0x00 }, cpu[2] = { 0x01, 0x02 };   /* PG -> rack 0 slot 2 */
	s7_cotp_connect(b, confirm, dst_ref, src_ref, pg, 2, cpu, 2);
}

void s7_begin(struct wbuf *b, struct s7_pdu *p, uint8_t rosctr, uint16_t pdu_ref)
{
	p->tpkt = tpkt_begin(b);
	wbuf_u8(b, 2);          /* COTP DT: length indicator 2, code 0xf0, last data unit */
	wbuf_u8(b, 0xf0);
	wbuf_u8(b, 0x80);
	p->hdr = b->len;
	wbuf_u8(b, 0x32);
	wbuf_u8(b, rosctr);
	wbuf_u16(b, 0);         /* redundancy identification */
	wbuf_u16(b, pdu_ref);
	wbuf_u16(b, 0);         /* parameter length, patched */
	wbuf_u16(b, 0);         /* data length, patched */
	if (rosctr == 2 || rosctr == S7_ROSCTR_ACK_DATA)
		wbuf_u16(b, 0);     /* error class, error code */
	p->par = b->len;
	p->dat = 0;
}

void s7_data(struct wbuf *b, struct s7_pdu *p) { p->dat = b->len; }

void s7_end(struct wbuf *b, struct s7_pdu *p)
{
	if (!p->dat)
		p->dat = b->len;
	wbuf_patch16(b, p->hdr + 6, (uint16_t)(p->dat - p->par));
	wbuf_patch16(b, p->hdr + 8, (uint16_t)(b->len - p->dat));
	tpkt_end(b, p->tpkt);
}

void pl_s7_setup(struct wbuf *b, bool ack, uint16_t pdu_ref, uint16_t pdu_size)
{
	struct s7_pdu p;

	s7_begin(b, &p, ack ? S7_ROSCTR_ACK_DATA : S7_ROSCTR_JOB, pdu_ref);
	wbuf_u8(b, 0xf0);
	wbuf_u8(b, 0);
	wbuf_u16(b, 1);         /* max AmQ calling */
	wbuf_u16(b, 1);         /* max AmQ called */
	wbuf_u16(b, pdu_size);
	s7_end(b, &p);
}

static void put_items(struct wbuf *b, const struct s7_item *items, uint8_t n)
{
	for (uint8_t i = 0; i < n; i++) {
		wbuf_u8(b, 0x12);   /* variable specification */
		wbuf_u8(b, 0x0a);
		wbuf_u8(b, 0x10);   /* syntax id S7ANY */
		wbuf_u8(b, 0x02);   /* transport size BYTE */
		wbuf_u16(b, items[i].count);
		wbuf_u16(b, items[i].db);
		wbuf_u8(b, items[i].area);
		wbuf_u24(b, items[i].byte_off * 8);
	}
}

/* Item data: return code (or reserved 0 in a write), transport size 4 (length in bits), data, and a fill
 * byte after odd-length items except the last. */
static const uint8_t *put_item_data(struct wbuf *b, uint8_t code, const struct s7_item *it, bool last,
	const uint8_t *data)
{
	wbuf_u8(b, code);
	wbuf_u8(b, 0x04);
	wbuf_u16(b, (uint16_t)(it->count * 8));
	wbuf_bytes(b, data, it->count);
	if ((it->count & 1) && !last)
		wbuf_u8(b, 0);
	return data + it->count;
}

void s7_read_req(struct wbuf *b, uint16_t pdu_ref, const struct s7_item *items, uint8_t n)
{
	struct s7_pdu p;

	s7_begin(b, &p, S7_ROSCTR_JOB, pdu_ref);
	wbuf_u8(b, 0x04);
	wbuf_u8(b, n);
	put_items(b, items, n);
	s7_end(b, &p);
}

void s7_read_rsp(struct wbuf *b, uint16_t pdu_ref, const struct s7_item *items, uint8_t n, const uint8_t *data)
{
	struct s7_pdu p;

	s7_begin(b, &p, S7_ROSCTR_ACK_DATA, pdu_ref);
	wbuf_u8(b, 0x04);
	wbuf_u8(b, n);
	s7_data(b, &p);
	for (uint8_t i = 0; i < n; i++)
		data = put_item_data(b, 0xff, &items[i], i + 1 == n, data);
	s7_end(b, &p);
}

void s7_write_req(struct wbuf *b, uint16_t pdu_ref, const struct s7_item *items, uint8_t n, const uint8_t *data)
{
	struct s7_pdu p;

	s7_begin(b, &p, S7_ROSCTR_JOB, pdu_ref);
	wbuf_u8(b, 0x05);
	wbuf_u8(b, n);
	put_items(b, items, n);
	s7_data(b, &p);
	for (uint8_t i = 0; i < n; i++)
		data = put_item_data(b, 0x00, &items[i], i + 1 == n, data);
	s7_end(b, &p);
}

void s7_write_rsp(struct wbuf *b, uint16_t pdu_ref, uint8_t n)
{
	struct s7_pdu p;

	s7_begin(b, &p, S7_ROSCTR_ACK_DATA, pdu_ref);
	wbuf_u8(b, 0x05);
	wbuf_u8(b, n);
	s7_data(b, &p);
	for (uint8_t i = 0; i < n; i++)
		wbuf_u8(b, 0xff);
	s7_end(b, &p);
}

void pl_s7_read_req(struct wbuf *b, uint16_t pdu_ref, uint16_t db, uint32_t byte_off, uint16_t n)
{
	struct s7_item it = { S7_AREA_DB, db, byte_off, n };
	s7_read_req(b, pdu_ref, &it, 1);
}

/* User-data parameter head 00 01 12, length, method (0x11 request, 0x12 response), type (4 bits) and
 * function group 4 (CPU functions), subfunction 1 (read SZL), sequence number. */
void s7_szl_req(struct wbuf *b, uint16_t pdu_ref, uint8_t seq, uint16_t szl_id, uint16_t index)
{
	static const uint8_t par[] = { 0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01 };
	struct s7_pdu p;

	s7_begin(b, &p, S7_ROSCTR_USERDATA, pdu_ref);
	wbuf_bytes(b, par, sizeof(par));
	wbuf_u8(b, seq);
	s7_data(b, &p);
	wbuf_u8(b, 0xff);
	wbuf_u8(b, 0x09);       /* octet string */
	wbuf_u16(b, 4);
	wbuf_u16(b, szl_id);
	wbuf_u16(b, index);
	s7_end(b, &p);
}

void s7_szl_rsp(struct wbuf *b, uint16_t pdu_ref, uint8_t seq, uint16_t szl_id, uint16_t index, uint16_t rec_len,
	uint16_t n, const uint8_t *records)
{
	static const uint8_t par[] = { 0x00, 0x01, 0x12, 0x08, 0x12, 0x84, 0x01 };
	struct s7_pdu p;

	s7_begin(b, &p, S7_ROSCTR_USERDATA, pdu_ref);
	wbuf_bytes(b, par, sizeof(par));
	wbuf_u8(b, seq);
	wbuf_u8(b, 0);          /* data unit reference */
	wbuf_u8(b, 0);          /* last data unit: yes */
	wbuf_u16(b, 0);         /* error code */
	s7_data(b, &p);
	wbuf_u8(b, 0xff);
	wbuf_u8(b, 0x09);
	wbuf_u16(b, (uint16_t)(8 + rec_len * n));
	wbuf_u16(b, szl_id);
	wbuf_u16(b, index);
	wbuf_u16(b, rec_len);
	wbuf_u16(b, n);
	wbuf_bytes(b, records, (size_t)rec_len * n);
	s7_end(b, &p);
}

static void pi_name(struct wbuf *b, const char *s)
{
	wbuf_u8(b, (uint8_t)strlen(s));
	wbuf_bytes(b, s, strlen(s));
}

void s7_plc_stop(struct wbuf *b, uint16_t pdu_ref)
{
	struct s7_pdu p;

	s7_begin(b, &p, S7_ROSCTR_JOB, pdu_ref);
	wbuf_u8(b, 0x29);
	wbuf_zero(b, 5);
	pi_name(b, "P_PROGRAM");
	s7_end(b, &p);
}

void s7_plc_start(struct wbuf *b, uint16_t pdu_ref, bool cold)
{
	static const uint8_t unk[7] = { 0, 0, 0, 0, 0, 0, 0xfd };
	struct s7_pdu p;

	s7_begin(b, &p, S7_ROSCTR_JOB, pdu_ref);
	wbuf_u8(b, 0x28);
	wbuf_bytes(b, unk, sizeof(unk));
	wbuf_u16(b, cold ? 2 : 0);       /* parameter block: "C " asks for a cold restart */
	if (cold)
		wbuf_bytes(b, "C ", 2);
	pi_name(b, "P_PROGRAM");
	s7_end(b, &p);
}

void s7_ack_fn(struct wbuf *b, uint16_t pdu_ref, uint8_t fn)
{
	struct s7_pdu p;

	s7_begin(b, &p, S7_ROSCTR_ACK_DATA, pdu_ref);
	wbuf_u8(b, fn);
	s7_end(b, &p);
}

/* Function, status, two unknown bytes, session (upload) id, then the file name. */
static void xfer_head(struct wbuf *b, uint8_t fn, uint16_t unk, uint32_t id, const char *name)
{
	wbuf_u8(b, fn);
	wbuf_u8(b, 0);
	wbuf_u16(b, unk);
	wbuf_u32(b, id);
	if (name)
		pi_name(b, name);
}

void s7_request_download(struct wbuf *b, uint16_t pdu_ref, const char *name, uint32_t load_len, uint32_t mc7_len)
{
	struct s7_pdu p;
	char part2[16];

	s7_begin(b, &p, S7_ROSCTR_JOB, pdu_ref);
	xfer_head(b, 0x1a, 0x0100, 0, name);
	snprintf(part2, sizeof(part2), "1%06u%06u", (unsigned)(load_len % 1000000), (unsigned)(mc7_len % 1000000));
	pi_name(b, part2);
	s7_end(b, &p);
}

void s7_download_block(struct wbuf *b, uint16_t pdu_ref, const char *name)
{
	struct s7_pdu p;

	s7_begin(b, &p, S7_ROSCTR_JOB, pdu_ref);
	xfer_head(b, 0x1b, 0x0100, 0, name);
	s7_end(b, &p);
}

/* Block data: status bit 0 says more follows; data is length, 0x00fb, bytes. */
static void xfer_data(struct wbuf *b, uint16_t pdu_ref, uint8_t fn, bool more, const uint8_t *data, uint16_t n)
{
	struct s7_pdu p;

	s7_begin(b, &p, S7_ROSCTR_ACK_DATA, pdu_ref);
	wbuf_u8(b, fn);
	wbuf_u8(b, more ? 0x01 : 0x00);
	s7_data(b, &p);
	wbuf_u16(b, n);
	wbuf_u16(b, 0x00fb);
	wbuf_bytes(b, data, n);
	s7_end(b, &p);
}

void s7_download_data(struct wbuf *b, uint16_t pdu_ref, bool more, const uint8_t *data, uint16_t n)
{
	xfer_data(b, pdu_ref, 0x1b, more, data, n);
}

void s7_download_ended(struct wbuf *b, uint16_t pdu_ref, const char *name)
{
	struct s7_pdu p;

	s7_begin(b, &p, S7_ROSCTR_JOB, pdu_ref);
	xfer_head(b, 0x1c, 0x0000, 0, name);   /* here the two bytes are an error code */
	s7_end(b, &p);
}

void s7_start_upload(struct wbuf *b, uint16_t pdu_ref, const char *name)
{
	struct s7_pdu p;

	s7_begin(b, &p, S7_ROSCTR_JOB, pdu_ref);
	xfer_head(b, 0x1d, 0x0000, 0, name);
	s7_end(b, &p);
}

void s7_start_upload_ack(struct wbuf *b, uint16_t pdu_ref, uint32_t upload_id, uint32_t block_len)
{
	struct s7_pdu p;
	char len[16];

	s7_begin(b, &p, S7_ROSCTR_ACK_DATA, pdu_ref);
	xfer_head(b, 0x1d, 0x0100, upload_id, NULL);
	snprintf(len, sizeof(len), "%07u", (unsigned)(block_len % 10000000));
	pi_name(b, len);
	s7_end(b, &p);
}

void s7_upload(struct wbuf *b, uint16_t pdu_ref, uint32_t upload_id)
{
	struct s7_pdu p;

	s7_begin(b, &p, S7_ROSCTR_JOB, pdu_ref);
	xfer_head(b, 0x1e, 0x0000, upload_id, NULL);
	s7_end(b, &p);
}

void s7_upload_data(struct wbuf *b, uint16_t pdu_ref, bool more, const uint8_t *data, uint16_t n)
{
	xfer_data(b, pdu_ref, 0x1e, more, data, n);
}

void s7_end_upload(struct wbuf *b, uint16_t pdu_ref, uint32_t upload_id)
{
	struct s7_pdu p;

	s7_begin(b, &p, S7_ROSCTR_JOB, pdu_ref);
	xfer_head(b, 0x1f, 0x0000, upload_id, NULL);
	s7_end(b, &p);
}

void s7_fw_words(const char *fw, uint16_t *ausbg, uint16_t *ausbe)
{
	unsigned a = 0, c = 0, d = 0;

	if (fw && (*fw == 'V' || *fw == 'v'))
		fw++;
	if (!fw || sscanf(fw, "%u.%u.%u", &a, &c, &d) < 1)
		a = c = d = 0;
	*ausbg = (uint16_t)('V' << 8 | (a & 0xff));
	*ausbe = (uint16_t)((c & 0xff) << 8 | (d & 0xff));
}
