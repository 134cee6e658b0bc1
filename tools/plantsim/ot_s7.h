/* S7comm over ISO-on-TCP (RFC 1006 TPKT + ISO 8073 COTP class 0): PDU builders and the plant's S7 sessions.
 * Every builder appends one TPKT-framed PDU to b. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/plantsim/wbuf.h"

#define S7_ROSCTR_JOB 1
#define S7_ROSCTR_ACK_DATA 3
#define S7_ROSCTR_USERDATA 7

#define S7_AREA_INPUTS 0x81
#define S7_AREA_OUTPUTS 0x82
#define S7_AREA_FLAGS 0x83
#define S7_AREA_DB 0x84

/* TPKT header (version 3); tpkt_end patches the length. Shared with S7comm-plus. */
size_t tpkt_begin(struct wbuf *b);
void tpkt_end(struct wbuf *b, size_t at);

/* COTP connection request (confirm = false) or confirm, with TPDU size 1024 and the two TSAPs. */
void s7_cotp_connect(struct wbuf *b, bool confirm, uint16_t dst_ref, uint16_t src_ref, const void *src_tsap,
	size_t src_len, const void *dst_tsap, size_t dst_len);
/* COTP connect with the classic two-byte TSAPs. */
void pl_s7_cotp_connect(struct wbuf *b, bool confirm, uint16_t dst_ref, uint16_t src_ref);

/* An S7 PDU under construction: s7_begin writes TPKT, COTP DT and the S7 header; the caller appends the
 * parameter part, calls s7_data, appends the data part and calls s7_end to patch the lengths. */
struct s7_pdu {
	size_t tpkt, hdr, par, dat;
};
void s7_begin(struct wbuf *b, struct s7_pdu *p, uint8_t rosctr, uint16_t pdu_ref);
void s7_data(struct wbuf *b, struct s7_pdu *p);
void s7_end(struct wbuf *b, struct s7_pdu *p);

void pl_s7_setup(struct wbuf *b, bool ack, uint16_t pdu_ref, uint16_t pdu_size);

struct s7_item {
	uint8_t area;
	uint16_t db;
	uint32_t byte_off;
	uint16_t count;          /* bytes */
};
/* Read var job and its ack (data: the items' bytes back to back, count bytes each). */
void s7_read_req(struct wbuf *b, uint16_t pdu_ref, const struct s7_item *items, uint8_t n);
void s7_read_rsp(struct wbuf *b, uint16_t pdu_ref, const struct s7_item *items, uint8_t n, const uint8_t *data);
/* Write var job with data and its ack (one success code per item). */
void s7_write_req(struct wbuf *b, uint16_t pdu_ref, const struct s7_item *items, uint8_t n, const uint8_t *data);
void s7_write_rsp(struct wbuf *b, uint16_t pdu_ref, uint8_t n);
void pl_s7_read_req(struct wbuf *b, uint16_t pdu_ref, uint16_t db, uint32_t byte_off, uint16_t n);

/* User-data "read SZL" request, and its response carrying n records of rec_len bytes. */
void s7_szl_req(struct wbuf *b, uint16_t pdu_ref, uint8_t seq, uint16_t szl_id, uint16_t index);
void s7_szl_rsp(struct wbuf *b, uint16_t pdu_ref, uint8_t seq, uint16_t szl_id, uint16_t index, uint16_t rec_len,
	uint16_t n, const uint8_t *records);

/* PLC control: stop (function 0x29) and the P_PROGRAM PI service (0x28, warm or cold restart). */
void s7_plc_stop(struct wbuf *b, uint16_t pdu_ref);
void s7_plc_start(struct wbuf *b, uint16_t pdu_ref, bool cold);
/* The one-byte-parameter ack of function fn (stop, start, download and upload steps). */
void s7_ack_fn(struct wbuf *b, uint16_t pdu_ref, uint8_t fn);

/* Block transfer. name is the 9-character file name "_0A00001P" (block type, number, file system). */
void s7_request_download(struct wbuf *b, uint16_t pdu_ref, const char *name, uint32_t load_len, uint32_t mc7_len);
void s7_download_block(struct wbuf *b, uint16_t pdu_ref, const char *name);   /* job from the PLC */
void s7_download_data(struct wbuf *b, uint16_t pdu_ref, bool more, const uint8_t *data, uint16_t n);
void s7_download_ended(struct wbuf *b, uint16_t pdu_ref, const char *name);  /* job from the PLC */
void s7_start_upload(struct wbuf *b, uint16_t pdu_ref, const char *name);
void s7_start_upload_ack(struct wbuf *b, uint16_t pdu_ref, uint32_t upload_id, uint32_t block_len);
void s7_upload(struct wbuf *b, uint16_t pdu_ref, uint32_t upload_id);
void s7_upload_data(struct wbuf *b, uint16_t pdu_ref, bool more, const uint8_t *data, uint16_t n);
void s7_end_upload(struct wbuf *b, uint16_t pdu_ref, uint32_t upload_id);

/* SZL record helpers: the firmware "Vx.y.z" as SZL 0x0011 index 7 Ausbg/Ausbe words. */
void s7_fw_words(const char *fw, uint16_t *ausbg, uint16_t *ausbe);
