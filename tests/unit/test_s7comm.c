/* S7comm dissector (sensor-agent/dissect/s7comm.c): TPKT framing, COTP connection set-up and DT reassembly,
 * S7 job functions and events, userdata functions, SZL identity answers (also fragmented), S7comm-plus
 * detection, malformed input. PDUs are taken from the public captures in /work/shared/pcaps (file and frame
 * named above each array); hand-built PDUs cover what the captures lack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tests/unit/proto_harness.h"

/* s7comm/s7comm_reading_plc_status.pcap frame 8 (COTP CR, called TSAP 0x0102) */
static const uint8_t cotp_cr[] = {
	0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x00, 0x0f, 0x00, 0xc1, 0x02, 0x01, 0x00, 0xc2,
	0x02, 0x01, 0x02, 0xc0, 0x01, 0x0a,
};

/* s7comm/s7comm_reading_plc_status.pcap frame 9 (COTP CC) */
static const uint8_t cotp_cc[] = {
	0x03, 0x00, 0x00, 0x16, 0x11, 0xd0, 0x00, 0x0f, 0x00, 0x03, 0x00, 0xc0, 0x01, 0x0a, 0xc1, 0x02,
	0x01, 0x00, 0xc2, 0x02, 0x01, 0x02,
};

/* s7comm/s7comm_reading_plc_status.pcap frame 10 (setup communication job) */
static const uint8_t setup_job[] = {
	0x03, 0x00, 0x00, 0x19, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x08, 0x00,
	0x00, 0xf0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0xe0,
};

/* s7comm/s7comm_reading_plc_status.pcap frame 11 (setup communication ack_data, PDU size 240) */
static const uint8_t setup_ack[] = {
	0x03, 0x00, 0x00, 0x1b, 0x02, 0xf0, 0x80, 0x32, 0x03, 0x00, 0x00, 0x02, 0x00, 0x00, 0x08, 0x00,
	0x00, 0x00, 0x00, 0xf0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0xf0,
};

/* s7comm/s7comm_reading_plc_status.pcap frame 12 (empty DT with EOT clear) */
static const uint8_t dt_empty[] = {
	0x03, 0x00, 0x00, 0x07, 0x02, 0xf0, 0x00,
};

/* s7comm/s7comm_reading_plc_status.pcap frame 58 (read SZL 0x0011 request) */
static const uint8_t szl_0011_req[] = {
	0x03, 0x00, 0x00, 0x21, 0x02, 0xf0, 0x80, 0x32, 0x07, 0x00, 0x00, 0x11, 0x00, 0x00, 0x08, 0x00,
	0x08, 0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01, 0x00, 0xff, 0x09, 0x00, 0x04, 0x00, 0x11, 0x00,
	0x00,
};

/* s7comm/s7comm_reading_plc_status.pcap frame 59 (read SZL 0x0011 response) */
static const uint8_t szl_0011_resp[] = {
	0x03, 0x00, 0x00, 0x99, 0x02, 0xf0, 0x80, 0x32, 0x07, 0x00, 0x00, 0x11, 0x00, 0x00, 0x0c, 0x00,
	0x7c, 0x00, 0x01, 0x12, 0x08, 0x12, 0x84, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0xff, 0x09, 0x00,
	0x78, 0x00, 0x11, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x04, 0x00, 0x01, 0x36, 0x45, 0x53, 0x37, 0x20,
	0x31, 0x35, 0x31, 0x2d, 0x38, 0x41, 0x42, 0x30, 0x31, 0x2d, 0x30, 0x41, 0x42, 0x30, 0x20, 0x00,
	0xc0, 0x00, 0x03, 0x00, 0x01, 0x00, 0x06, 0x36, 0x45, 0x53, 0x37, 0x20, 0x31, 0x35, 0x31, 0x2d,
	0x38, 0x41, 0x42, 0x30, 0x31, 0x2d, 0x30, 0x41, 0x42, 0x30, 0x20, 0x00, 0xc0, 0x00, 0x03, 0x00,
	0x01, 0x00, 0x07, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
	0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x00, 0xc0, 0x56, 0x03, 0x02, 0x06, 0x00, 0x81, 0x42,
	0x6f, 0x6f, 0x74, 0x20, 0x4c, 0x6f, 0x61, 0x64, 0x65, 0x72, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
	0x20, 0x20, 0x20, 0x00, 0x00, 0x41, 0x20, 0x09, 0x09,
};

/* s7comm/snap7_s300_everything.pcapng frame 6 (SZL 0x001c response, first fragment) */
static const uint8_t szl_001c_frag1[] = {
	0x03, 0x00, 0x00, 0xf7, 0x02, 0xf0, 0x80, 0x32, 0x07, 0x00, 0x00, 0x02, 0x00, 0x00, 0x0c, 0x00,
	0xda, 0x00, 0x01, 0x12, 0x08, 0x12, 0x84, 0x01, 0x02, 0xd5, 0x01, 0x00, 0x00, 0xff, 0x09, 0x00,
	0xd6, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x22, 0x00, 0x0a, 0x00, 0x01, 0x53, 0x37, 0x33, 0x30, 0x30,
	0x2f, 0x45, 0x54, 0x32, 0x30, 0x30, 0x4d, 0x20, 0x73, 0x74, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x5f,
	0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x50, 0x4c, 0x43,
	0x5f, 0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x04, 0x4f, 0x72, 0x69, 0x67, 0x69, 0x6e, 0x61, 0x6c, 0x20, 0x53, 0x69, 0x65, 0x6d, 0x65, 0x6e,
	0x73, 0x20, 0x45, 0x71, 0x75, 0x69, 0x70, 0x6d, 0x65, 0x6e, 0x74, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x05, 0x53, 0x20, 0x43, 0x2d, 0x42, 0x31, 0x55, 0x33, 0x39, 0x33, 0x31, 0x34, 0x32,
	0x30, 0x31, 0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x07, 0x43, 0x50, 0x55, 0x20, 0x33, 0x31, 0x35, 0x2d, 0x32, 0x20, 0x50,
	0x4e, 0x2f, 0x44, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,
};

/* s7comm/snap7_s300_everything.pcapng frame 7 (SZL follow-up request) */
static const uint8_t szl_followup_req[] = {
	0x03, 0x00, 0x00, 0x21, 0x02, 0xf0, 0x80, 0x32, 0x07, 0x00, 0x00, 0x03, 0x00, 0x00, 0x0c, 0x00,
	0x04, 0x00, 0x01, 0x12, 0x08, 0x12, 0x44, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00,
	0x00,
};

/* s7comm/snap7_s300_everything.pcapng frame 8 (SZL 0x001c response, last fragment) */
static const uint8_t szl_001c_frag2[] = {
	0x03, 0x00, 0x00, 0xa7, 0x02, 0xf0, 0x80, 0x32, 0x07, 0x00, 0x00, 0x03, 0x00, 0x00, 0x0c, 0x00,
	0x8a, 0x00, 0x01, 0x12, 0x08, 0x12, 0x84, 0x01, 0x02, 0xd5, 0x00, 0x00, 0x00, 0xff, 0x09, 0x00,
	0x86, 0x4d, 0x4d, 0x43, 0x20, 0x34, 0x41, 0x31, 0x41, 0x43, 0x30, 0x31, 0x39, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x09, 0x00, 0x2a, 0xf6, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* s7comm/snap7_s300_everything.pcapng frame 12 (SZL 0x0424 response, mode RUN) */
static const uint8_t szl_0424_resp[] = {
	0x03, 0x00, 0x00, 0x3d, 0x02, 0xf0, 0x80, 0x32, 0x07, 0x00, 0x00, 0x05, 0x00, 0x00, 0x0c, 0x00,
	0x20, 0x00, 0x01, 0x12, 0x08, 0x12, 0x84, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0xff, 0x09, 0x00,
	0x1c, 0x04, 0x24, 0x00, 0x00, 0x00, 0x14, 0x00, 0x01, 0x51, 0x44, 0xff, 0x08, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x16, 0x02, 0x08, 0x14, 0x51, 0x37, 0x56, 0x92,
};

/* s7comm/snap7_s300_everything.pcapng frame 17 (start upload SDB0) */
static const uint8_t start_upload_job[] = {
	0x03, 0x00, 0x00, 0x23, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x08, 0x00, 0x00, 0x12, 0x00,
	0x00, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x5f, 0x30, 0x42, 0x30, 0x30, 0x30,
	0x30, 0x30, 0x41,
};

/* s7comm/snap7_s300_everything.pcapng frame 21 (end upload) */
static const uint8_t end_upload_job[] = {
	0x03, 0x00, 0x00, 0x19, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x08, 0x00,
	0x00, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
};

/* s7comm/snap7_s300_everything.pcapng frame 44 (ack with error 0xd20c) */
static const uint8_t ack_error[] = {
	0x03, 0x00, 0x00, 0x13, 0x02, 0xf0, 0x80, 0x32, 0x02, 0x00, 0x00, 0x15, 0x00, 0x00, 0x00, 0x00,
	0x00, 0xd2, 0x0c,
};

/* s7comm/snap7_s300_everything.pcapng frame 45 (userdata read clock) */
static const uint8_t read_clock_req[] = {
	0x03, 0x00, 0x00, 0x1d, 0x02, 0xf0, 0x80, 0x32, 0x07, 0x00, 0x00, 0x16, 0x00, 0x00, 0x08, 0x00,
	0x04, 0x00, 0x01, 0x12, 0x04, 0x11, 0x47, 0x01, 0x00, 0x0a, 0x00, 0x00, 0x00,
};

/* s7comm/snap7_s300_everything.pcapng frame 47 (userdata set clock) */
static const uint8_t set_clock_req[] = {
	0x03, 0x00, 0x00, 0x27, 0x02, 0xf0, 0x80, 0x32, 0x07, 0x00, 0x00, 0x17, 0x00, 0x00, 0x08, 0x00,
	0x0e, 0x00, 0x01, 0x12, 0x04, 0x11, 0x47, 0x02, 0x00, 0xff, 0x09, 0x00, 0x0a, 0x00, 0x19, 0x16,
	0x02, 0x08, 0x23, 0x08, 0x10, 0x00, 0x02,
};

/* s7comm/snap7_s300_everything.pcapng frame 57 (PLC stop P_PROGRAM) */
static const uint8_t plc_stop_job[] = {
	0x03, 0x00, 0x00, 0x21, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x10, 0x00,
	0x00, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x50, 0x5f, 0x50, 0x52, 0x4f, 0x47, 0x52, 0x41,
	0x4d,
};

/* s7comm/snap7_s300_everything.pcapng frame 59 (PI service _MODU) */
static const uint8_t pi_modu_job[] = {
	0x03, 0x00, 0x00, 0x23, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x1d, 0x00, 0x00, 0x12, 0x00,
	0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x00, 0x02, 0x45, 0x50, 0x05, 0x5f, 0x4d,
	0x4f, 0x44, 0x55,
};

/* s7comm/snap7_s300_everything.pcapng frame 63 (PI service P_PROGRAM "C ") */
static const uint8_t pi_start_cold_job[] = {
	0x03, 0x00, 0x00, 0x27, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x16, 0x00,
	0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x00, 0x02, 0x43, 0x20, 0x09, 0x50, 0x5f,
	0x50, 0x52, 0x4f, 0x47, 0x52, 0x41, 0x4d,
};

/* s7comm/step7_s300_download.pcapng frame 87 (request download DB1) */
static const uint8_t req_download_job[] = {
	0x03, 0x00, 0x00, 0x31, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x83, 0x00, 0x00, 0x20, 0x00,
	0x00, 0x1a, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x5f, 0x30, 0x41, 0x30, 0x30, 0x30,
	0x30, 0x31, 0x50, 0x0d, 0x31, 0x30, 0x30, 0x30, 0x32, 0x31, 0x36, 0x30, 0x30, 0x30, 0x30, 0x38,
	0x38,
};

/* s7comm/step7_s300_download.pcapng frame 89 (download block DB1, sent by the PLC) */
static const uint8_t download_block_job[] = {
	0x03, 0x00, 0x00, 0x23, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x65, 0x01, 0x00, 0x12, 0x00,
	0x00, 0x1b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x5f, 0x30, 0x41, 0x30, 0x30, 0x30,
	0x30, 0x31, 0x50,
};

/* s7comm/step7_s300_download.pcapng frame 90 (download block ack_data, sent by the PG) */
static const uint8_t download_block_ack[] = {
	0x03, 0x00, 0x00, 0xf1, 0x02, 0xf0, 0x80, 0x32, 0x03, 0x00, 0x00, 0x65, 0x01, 0x00, 0x02, 0x00,
	0xdc, 0x00, 0x00, 0x1b, 0x00, 0x00, 0xd8, 0x00, 0xfb, 0x70, 0x70, 0x01, 0x01, 0x05, 0x0a, 0x00,
	0x01, 0x00, 0x00, 0x00, 0xd8, 0x00, 0x00, 0x00, 0x00, 0x03, 0xaf, 0x74, 0x37, 0x2d, 0x70, 0x03,
	0xaf, 0x74, 0x37, 0x2d, 0x70, 0x00, 0x38, 0x00, 0x00, 0x00, 0x00, 0x00, 0x58, 0xba, 0xbe, 0x01,
	0x00, 0xfe, 0xad, 0xbe, 0xef, 0xaa, 0xbb, 0xcc, 0xdd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x01, 0x00, 0x31, 0x00, 0x00, 0x00, 0x11, 0x04, 0x17, 0x04,
	0x04, 0x01, 0x04, 0x06, 0x04, 0x08, 0x04, 0x06, 0x04, 0x06, 0x04, 0x06, 0x04, 0x06, 0x04, 0x06,
	0x04, 0x06, 0x04, 0x06, 0x04, 0x06, 0x04, 0x06, 0x04, 0x06, 0x04, 0x06, 0x04, 0x06, 0x04, 0x06,
	0x04, 0x06, 0x04, 0x06, 0x04, 0x06, 0x04, 0x06, 0x04, 0x06, 0x04, 0x06, 0x04, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x76, 0xe6, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00,
};

/* s7comm/step7_s300_download.pcapng frame 91 (download ended, sent by the PLC) */
static const uint8_t download_ended_job[] = {
	0x03, 0x00, 0x00, 0x23, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x67, 0x01, 0x00, 0x12, 0x00,
	0x00, 0x1c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x5f, 0x30, 0x41, 0x30, 0x30, 0x30,
	0x30, 0x31, 0x50,
};

/* s7comm/step7_s300_download.pcapng frame 93 (PI service _INSE DB1) */
static const uint8_t pi_inse_job[] = {
	0x03, 0x00, 0x00, 0x2b, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x84, 0x00, 0x00, 0x1a, 0x00,
	0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x00, 0x0a, 0x01, 0x00, 0x30, 0x41, 0x30,
	0x30, 0x30, 0x30, 0x31, 0x50, 0x05, 0x5f, 0x49, 0x4e, 0x53, 0x45,
};

/* mixed/mb2.pcap frame 7 (read var) */
static const uint8_t read_var_job[] = {
	0x03, 0x00, 0x00, 0x1f, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0e, 0x00,
	0x00, 0x04, 0x01, 0x12, 0x0a, 0x10, 0x02, 0x00, 0x04, 0x00, 0x67, 0x84, 0x00, 0x00, 0x90,
};

/* s7comm/wincc_s300_setup-alarm-read-write.pcapng frame 27 (write var) */
static const uint8_t write_var_job[] = {
	0x03, 0x00, 0x00, 0x24, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0e, 0x00,
	0x05, 0x05, 0x01, 0x12, 0x0a, 0x10, 0x01, 0x00, 0x01, 0x00, 0x00, 0x83, 0x00, 0x00, 0x08, 0x00,
	0x03, 0x00, 0x01, 0x00,
};

#define D (&dissector_s7comm)
#define TO_SERVER PROTO_DIR_TO_SERVER
#define TO_CLIENT PROTO_DIR_TO_CLIENT

static struct harness H;

static int setup(void **unused)
{
	(void)unused;
	harness_init(&H, D);
	return 0;
}

static enum proto_result parse(int dir, const uint8_t *p, size_t len)
{
	return harness_parse(&H, D, dir, p, len);
}

/* TPKT + COTP DT header around an S7 payload; returns the TPDU length. */
static size_t dt(uint8_t *out, bool eot, const uint8_t *s7, size_t n)
{
	size_t len = 7 + n;

	out[0] = 3;
	out[1] = 0;
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	out[4] = 2;
	out[5] = 0xf0;
	out[6] = eot ? 0x80 : 0x00;
	if (n)
		memcpy(out + 7, s7, n);
	return len;
}

static size_t n_obs(int kind)
{
	return harness_count(&H, kind, NULL);
}

static void assert_roles(uint8_t src, uint8_t dst)
{
	assert_int_equal(H.ctx.src_role, src);
	assert_int_equal(H.ctx.dst_role, dst);
}

static const char *fn_name(long long code)
{
	for (size_t i = 0; i < H.n; i++)
		if (H.obs[i].o.kind == PROTO_OBS_FUNCTION && H.obs[i].o.num == code)
			return H.obs[i].o.name;
	return NULL;
}

static const char *event_detail(const char *name)
{
	for (size_t i = 0; i < H.n; i++)
		if (H.obs[i].o.kind == PROTO_OBS_EVENT && strcmp(H.obs[i].o.name, name) == 0)
			return H.obs[i].buf;
	return NULL;
}

static void test_pdu_len(void **unused)
{
	static const uint8_t garbage[] = { 0x45, 0x00, 0x00, 0x19 };
	static const uint8_t bad_reserved[] = { 0x03, 0x01, 0x00, 0x19 };
	static const uint8_t too_short[] = { 0x03, 0x00, 0x00, 0x06 };
	static const uint8_t huge[] = { 0x03, 0x00, 0xff, 0xff };
	uint8_t two[sizeof(setup_job) * 2];

	(void)unused;
	for (size_t n = 1; n < 4; n++)
		assert_int_equal(D->pdu_len(setup_job, n), 0);
	assert_int_equal(D->pdu_len(setup_job, sizeof(setup_job)), sizeof(setup_job));
	memcpy(two, setup_job, sizeof(setup_job));
	memcpy(two + sizeof(setup_job), setup_ack, sizeof(setup_job));
	assert_int_equal(D->pdu_len(two, sizeof(two)), sizeof(setup_job));
	assert_true(D->pdu_len(garbage, sizeof(garbage)) < 0);
	assert_true(D->pdu_len(garbage, 1) < 0);
	assert_true(D->pdu_len(bad_reserved, sizeof(bad_reserved)) < 0);
	assert_true(D->pdu_len(too_short, sizeof(too_short)) < 0);
	assert_int_equal(D->pdu_len(huge, sizeof(huge)), 65535);
	assert_true(D->pdu_len(huge, sizeof(huge)) > (long)D->max_pdu);
	assert_true(D->state_size <= 1024);
}

static void test_cotp_connect(void **unused)
{
	(void)unused;
	assert_int_equal(parse(TO_SERVER, cotp_cr, sizeof(cotp_cr)), PROTO_OK);
	assert_roles(PROTO_ROLE_NONE, PROTO_ROLE_NONE);
	assert_int_equal(harness_attr_num(&H, PROTO_ATTR_RACK), 0);
	assert_int_equal(harness_attr_num(&H, PROTO_ATTR_SLOT), 2);
	for (size_t i = 0; i < H.n; i++)
		assert_int_equal(H.obs[i].o.target.kind, PROTO_TARGET_DST);
	H.n = 0;
	assert_int_equal(parse(TO_CLIENT, cotp_cc, sizeof(cotp_cc)), PROTO_OK);
	assert_roles(PROTO_ROLE_NONE, PROTO_ROLE_NONE);
	assert_int_equal(H.n, 0);
}

static void test_cotp_cr_rack_slot(void **unused)
{
	/* hand-built CR: called TSAP 0x0331 (other, rack 1, slot 17), then a non-S7 TSAP which is ignored */
	static const uint8_t cr[] = { 0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x00, 0x01, 0x00,
				      0xc1, 0x02, 0x10, 0x00, 0xc2, 0x02, 0x03, 0x31, 0xc0, 0x01, 0x0a };
	static const uint8_t cr_mms[] = { 0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x00, 0x01, 0x00,
					  0xc1, 0x02, 0x00, 0x01, 0xc2, 0x02, 0x00, 0x01, 0xc0, 0x01, 0x0a };

	(void)unused;
	assert_int_equal(parse(TO_SERVER, cr, sizeof(cr)), PROTO_OK);
	assert_int_equal(harness_attr_num(&H, PROTO_ATTR_RACK), 1);
	assert_int_equal(harness_attr_num(&H, PROTO_ATTR_SLOT), 17);
	H.n = 0;
	assert_int_equal(parse(TO_SERVER, cr_mms, sizeof(cr_mms)), PROTO_OK);
	assert_int_equal(H.n, 0);
}

static void test_setup_communication(void **unused)
{
	uint8_t small_ack[sizeof(setup_ack)];

	(void)unused;
	assert_int_equal(parse(TO_SERVER, setup_job, sizeof(setup_job)), PROTO_OK);
	assert_roles(PROTO_ROLE_CLIENT, PROTO_ROLE_SERVER);
	assert_string_equal(fn_name(0xf0), "setup_communication");
	assert_int_equal(parse(TO_CLIENT, setup_ack, sizeof(setup_ack)), PROTO_OK);
	assert_roles(PROTO_ROLE_SERVER, PROTO_ROLE_CLIENT);
	/* 240 bytes negotiated: the 240-byte SZL fragment is within it */
	assert_int_equal(parse(TO_CLIENT, szl_001c_frag1, sizeof(szl_001c_frag1)), PROTO_OK);
	assert_int_equal(n_obs(PROTO_OBS_VIOLATION), 0);
	/* hand-built: the same ack negotiating 16 bytes; the 18-byte setup job then exceeds it */
	memcpy(small_ack, setup_ack, sizeof(small_ack));
	small_ack[sizeof(small_ack) - 2] = 0;
	small_ack[sizeof(small_ack) - 1] = 16;
	assert_int_equal(parse(TO_CLIENT, small_ack, sizeof(small_ack)), PROTO_OK);
	assert_int_equal(parse(TO_SERVER, setup_job, sizeof(setup_job)), PROTO_OK);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "pdu_size_exceeded"), 1);
}

static void test_szl_module_identification(void **unused)
{
	(void)unused;
	assert_int_equal(parse(TO_SERVER, szl_0011_req, sizeof(szl_0011_req)), PROTO_OK);
	assert_roles(PROTO_ROLE_CLIENT, PROTO_ROLE_SERVER);
	assert_string_equal(fn_name(0x1401), "userdata_cpu_read_szl");
	assert_int_equal(parse(TO_CLIENT, szl_0011_resp, sizeof(szl_0011_resp)), PROTO_OK);
	assert_roles(PROTO_ROLE_SERVER, PROTO_ROLE_CLIENT);
	assert_string_equal(harness_attr(&H, PROTO_ATTR_ORDER_NUMBER), "6ES7 151-8AB01-0AB0");
	assert_string_equal(harness_attr(&H, PROTO_ATTR_HARDWARE), "3");
	assert_string_equal(harness_attr(&H, PROTO_ATTR_FIRMWARE), "V3.2.6");
	assert_string_equal(harness_attr(&H, PROTO_ATTR_VENDOR), "Siemens AG");
	for (size_t i = 0; i < H.n; i++)
		if (H.obs[i].o.kind == PROTO_OBS_ATTR)
			assert_int_equal(H.obs[i].o.target.kind, PROTO_TARGET_SRC);
	assert_int_equal(n_obs(PROTO_OBS_VIOLATION), 0);
	/* the firmware-extension record (index 0x0081, "Boot Loader") is not the CPU's firmware */
	assert_int_equal(harness_count(&H, PROTO_OBS_ATTR, NULL), 4);
}

static void test_szl_component_identification_fragmented(void **unused)
{
	(void)unused;
	assert_int_equal(parse(TO_CLIENT, szl_001c_frag1, sizeof(szl_001c_frag1)), PROTO_OK);
	assert_string_equal(harness_attr(&H, PROTO_ATTR_MODULE), "PLC_1");
	assert_string_equal(harness_attr(&H, PROTO_ATTR_SERIAL), "S C-B1U393142011");
	assert_string_equal(harness_attr(&H, PROTO_ATTR_MODEL), "CPU 315-2 PN/DP");
	assert_string_equal(harness_attr(&H, PROTO_ATTR_VENDOR), "Siemens AG");
	assert_int_equal(harness_attr_num(&H, PROTO_ATTR_VENDOR_ID), -1);
	assert_int_equal(parse(TO_SERVER, szl_followup_req, sizeof(szl_followup_req)), PROTO_OK);
	assert_true(harness_has_function(&H, 0x1401));
	/* the manufacturer record (index 9) is in the second fragment, its record before it spans both */
	assert_int_equal(parse(TO_CLIENT, szl_001c_frag2, sizeof(szl_001c_frag2)), PROTO_OK);
	assert_int_equal(harness_attr_num(&H, PROTO_ATTR_VENDOR_ID), 0x2a);
	assert_int_equal(n_obs(PROTO_OBS_VIOLATION), 0);

	/* the second fragment alone (no SZL header seen) yields nothing */
	harness_init(&H, D);
	assert_int_equal(parse(TO_CLIENT, szl_001c_frag2, sizeof(szl_001c_frag2)), PROTO_OK);
	assert_int_equal(n_obs(PROTO_OBS_ATTR), 0);
}

static void test_szl_mode(void **unused)
{
	(void)unused;
	assert_int_equal(parse(TO_CLIENT, szl_0424_resp, sizeof(szl_0424_resp)), PROTO_OK);
	assert_string_equal(harness_attr(&H, PROTO_ATTR_PLC_MODE), "run");
	assert_null(harness_attr(&H, PROTO_ATTR_VENDOR));
}

static void test_plc_stop_start(void **unused)
{
	(void)unused;
	assert_int_equal(parse(TO_SERVER, plc_stop_job, sizeof(plc_stop_job)), PROTO_OK);
	assert_string_equal(fn_name(0x29), "plc_stop");
	assert_string_equal(event_detail("plc_stop"), "P_PROGRAM");
	assert_int_equal(parse(TO_SERVER, pi_modu_job, sizeof(pi_modu_job)), PROTO_OK);
	assert_string_equal(fn_name(0x28), "plc_control");
	assert_int_equal(n_obs(PROTO_OBS_EVENT), 1);
	assert_int_equal(parse(TO_SERVER, pi_start_cold_job, sizeof(pi_start_cold_job)), PROTO_OK);
	assert_string_equal(event_detail("plc_start"), "cold restart");
	assert_int_equal(n_obs(PROTO_OBS_EVENT), 2);
	assert_int_equal(n_obs(PROTO_OBS_VIOLATION), 0);
}

static void test_pi_services_hand_built(void **unused)
{
	/* P_PROGRAM with an empty parameter block, _MSRST, _DELE of DB1 (layout as the _INSE in
	 * step7_s300_download.pcapng frame 93) */
	static const uint8_t warm[] = { 0x32, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x14, 0x00, 0x00, 0x28, 0x00,
					0x00, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x09, 'P', '_', 'P',
					'R', 'O', 'G', 'R', 'A', 'M' };
	static const uint8_t msrst[] = { 0x32, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x11, 0x00, 0x00, 0x28, 0x00,
					 0x00, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x06, '_', 'M', 'S',
					 'R', 'S', 'T' };
	static const uint8_t dele[] = { 0x32, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x1a, 0x00, 0x00, 0x28, 0x00,
					0x00, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x00, 0x0a, 0x01, 0x00, '0', 'A',
					'0', '0', '0', '0', '1', 'B', 0x05, '_', 'D', 'E', 'L', 'E' };
	uint8_t b[64];

	(void)unused;
	assert_int_equal(parse(TO_SERVER, b, dt(b, true, warm, sizeof(warm))), PROTO_OK);
	assert_string_equal(event_detail("plc_start"), "restart");
	assert_int_equal(parse(TO_SERVER, b, dt(b, true, msrst, sizeof(msrst))), PROTO_OK);
	assert_string_equal(event_detail("reinitialize_device"), "memory reset");
	assert_int_equal(parse(TO_SERVER, b, dt(b, true, dele, sizeof(dele))), PROTO_OK);
	assert_string_equal(event_detail("program_delete"), "DB1");
	assert_int_equal(n_obs(PROTO_OBS_VIOLATION), 0);
}

static void test_upload(void **unused)
{
	(void)unused;
	assert_int_equal(parse(TO_SERVER, start_upload_job, sizeof(start_upload_job)), PROTO_OK);
	assert_string_equal(fn_name(0x1d), "start_upload");
	assert_string_equal(event_detail("program_upload"), "SDB0");
	assert_int_equal(parse(TO_SERVER, end_upload_job, sizeof(end_upload_job)), PROTO_OK);
	assert_string_equal(fn_name(0x1f), "end_upload");
	assert_int_equal(n_obs(PROTO_OBS_EVENT), 1);
}

static void test_download_roles(void **unused)
{
	(void)unused;
	assert_int_equal(parse(TO_SERVER, req_download_job, sizeof(req_download_job)), PROTO_OK);
	assert_roles(PROTO_ROLE_CLIENT, PROTO_ROLE_SERVER);
	assert_string_equal(fn_name(0x1a), "request_download");
	assert_string_equal(event_detail("program_download"), "DB1");
	/* the PLC pulls the block: it sends the download block job, the PG answers with the data */
	assert_int_equal(parse(TO_CLIENT, download_block_job, sizeof(download_block_job)), PROTO_OK);
	assert_roles(PROTO_ROLE_SERVER, PROTO_ROLE_CLIENT);
	assert_string_equal(fn_name(0x1b), "download_block");
	assert_int_equal(parse(TO_SERVER, download_block_ack, sizeof(download_block_ack)), PROTO_OK);
	assert_roles(PROTO_ROLE_CLIENT, PROTO_ROLE_SERVER);
	assert_int_equal(parse(TO_CLIENT, download_ended_job, sizeof(download_ended_job)), PROTO_OK);
	assert_roles(PROTO_ROLE_SERVER, PROTO_ROLE_CLIENT);
	assert_string_equal(fn_name(0x1c), "download_ended");
	assert_int_equal(parse(TO_SERVER, pi_inse_job, sizeof(pi_inse_job)), PROTO_OK);
	assert_true(harness_has_function(&H, 0x28));
	assert_int_equal(harness_count(&H, PROTO_OBS_EVENT, "program_download"), 1);
	assert_int_equal(n_obs(PROTO_OBS_EVENT), 1);
	assert_int_equal(n_obs(PROTO_OBS_VIOLATION), 0);

	/* a capture that starts at the download block still reports the download, once */
	harness_init(&H, D);
	assert_int_equal(parse(TO_CLIENT, download_block_job, sizeof(download_block_job)), PROTO_OK);
	assert_int_equal(parse(TO_CLIENT, download_block_job, sizeof(download_block_job)), PROTO_OK);
	assert_int_equal(harness_count(&H, PROTO_OBS_EVENT, "program_download"), 1);
}

static void test_read_write_var(void **unused)
{
	(void)unused;
	assert_int_equal(parse(TO_SERVER, read_var_job, sizeof(read_var_job)), PROTO_OK);
	assert_string_equal(fn_name(0x04), "read_var");
	assert_int_equal(parse(TO_SERVER, write_var_job, sizeof(write_var_job)), PROTO_OK);
	assert_string_equal(fn_name(0x05), "write_var");
	assert_int_equal(n_obs(PROTO_OBS_EVENT), 0);
	assert_int_equal(n_obs(PROTO_OBS_VIOLATION), 0);
}

static void test_userdata_time_and_errors(void **unused)
{
	(void)unused;
	assert_int_equal(parse(TO_SERVER, read_clock_req, sizeof(read_clock_req)), PROTO_OK);
	assert_string_equal(fn_name(0x1701), "userdata_time_read_clock");
	assert_int_equal(n_obs(PROTO_OBS_EVENT), 0);
	assert_int_equal(parse(TO_SERVER, set_clock_req, sizeof(set_clock_req)), PROTO_OK);
	assert_string_equal(fn_name(0x1702), "userdata_time_set_clock");
	assert_int_equal(harness_count(&H, PROTO_OBS_EVENT, "time_sync"), 1);
	assert_int_equal(parse(TO_CLIENT, ack_error, sizeof(ack_error)), PROTO_OK);
	assert_roles(PROTO_ROLE_SERVER, PROTO_ROLE_CLIENT);
	assert_string_equal(event_detail("exception_response"), "error class 0xd2 code 0x0c");
}

static void test_mode_transition_push(void **unused)
{
	/* hand-built userdata push, function group 0 (mode transition), subfunction 0 (STOP) */
	static const uint8_t push[] = { 0x32, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00,
					0x00, 0x01, 0x12, 0x04, 0x11, 0x00, 0x00, 0x00 };
	uint8_t b[64];

	(void)unused;
	assert_int_equal(parse(TO_CLIENT, b, dt(b, true, push, sizeof(push))), PROTO_OK);
	assert_roles(PROTO_ROLE_SERVER, PROTO_ROLE_CLIENT);
	assert_string_equal(harness_attr(&H, PROTO_ATTR_PLC_MODE), "stop");
	assert_string_equal(event_detail("plc_mode_change"), "stop");
	assert_int_equal(n_obs(PROTO_OBS_FUNCTION), 0);
}

static void test_illegal_functions(void **unused)
{
	static const uint8_t job77[] = { 0x32, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x77, 0x00 };
	static const uint8_t group9[] = { 0x32, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00,
					  0x00, 0x01, 0x12, 0x04, 0x11, 0x49, 0x01, 0x00 };
	uint8_t b[64];

	(void)unused;
	assert_int_equal(parse(TO_SERVER, b, dt(b, true, job77, sizeof(job77))), PROTO_OK);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "illegal_function"), 1);
	assert_int_equal(parse(TO_SERVER, b, dt(b, true, group9, sizeof(group9))), PROTO_OK);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "illegal_function"), 2);
	assert_int_equal(n_obs(PROTO_OBS_FUNCTION), 0);
}

static void test_segmentation(void **unused)
{
	const uint8_t *s7 = szl_0011_resp + 7;
	size_t n = sizeof(szl_0011_resp) - 7;
	uint8_t b[512];

	(void)unused;
	/* the empty EOT=0 DT some clients send before each PDU */
	assert_int_equal(parse(TO_SERVER, dt_empty, sizeof(dt_empty)), PROTO_OK);
	assert_roles(PROTO_ROLE_NONE, PROTO_ROLE_NONE);
	assert_int_equal(parse(TO_SERVER, szl_0011_req, sizeof(szl_0011_req)), PROTO_OK);
	assert_roles(PROTO_ROLE_CLIENT, PROTO_ROLE_SERVER);
	assert_true(harness_has_function(&H, 0x1401));

	/* the response split over three DTs, with a request of the other direction in between */
	assert_int_equal(parse(TO_CLIENT, b, dt(b, false, s7, 40)), PROTO_OK);
	assert_roles(PROTO_ROLE_NONE, PROTO_ROLE_NONE);
	assert_int_equal(parse(TO_CLIENT, b, dt(b, false, s7 + 40, 60)), PROTO_OK);
	assert_int_equal(n_obs(PROTO_OBS_ATTR), 0);
	assert_int_equal(parse(TO_SERVER, szl_0011_req, sizeof(szl_0011_req)), PROTO_OK);
	assert_int_equal(parse(TO_CLIENT, b, dt(b, true, s7 + 100, n - 100)), PROTO_OK);
	assert_roles(PROTO_ROLE_SERVER, PROTO_ROLE_CLIENT);
	assert_string_equal(harness_attr(&H, PROTO_ATTR_ORDER_NUMBER), "6ES7 151-8AB01-0AB0");
	assert_string_equal(harness_attr(&H, PROTO_ATTR_FIRMWARE), "V3.2.6");
	assert_int_equal(n_obs(PROTO_OBS_VIOLATION), 0);
}

static void test_segmentation_long_pdu(void **unused)
{
	/* hand-built write var job of 400 bytes (more than the 240 kept): the function still counts */
	static const uint8_t param[] = { 0x05, 0x01, 0x12, 0x0a, 0x10, 0x02, 0x01, 0x70,
					 0x00, 0x01, 0x84, 0x00, 0x00, 0x00 };
	uint8_t s7[400], b[512];

	(void)unused;
	memset(s7, 0xab, sizeof(s7));
	memcpy(s7, (const uint8_t[]){ 0x32, 0x01, 0x00, 0x00, 0x00, 0x09, 0x00, 14, 0x01, 0x78 }, 10);
	memcpy(s7 + 10, param, sizeof(param));
	assert_int_equal(parse(TO_SERVER, b, dt(b, false, s7, 200)), PROTO_OK);
	assert_int_equal(parse(TO_SERVER, b, dt(b, true, s7 + 200, 200)), PROTO_OK);
	assert_string_equal(fn_name(0x05), "write_var");
	assert_int_equal(n_obs(PROTO_OBS_VIOLATION), 0);
}

static void test_reassembly_overflow(void **unused)
{
	static uint8_t b[8196], pay[8189];
	size_t i;

	(void)unused;
	memset(pay, 0x32, sizeof(pay));
	for (i = 0; i < 17; i++)
		assert_int_equal(parse(TO_SERVER, b, dt(b, false, pay, sizeof(pay))), PROTO_OK);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "reassembly_overflow"), 1);
	assert_int_equal(parse(TO_SERVER, b, dt(b, false, pay, sizeof(pay))), PROTO_OK);
	assert_int_equal(parse(TO_SERVER, b, dt(b, true, pay, 10)), PROTO_OK);
	assert_roles(PROTO_ROLE_NONE, PROTO_ROLE_NONE);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, NULL), 1);
	assert_int_equal(parse(TO_SERVER, setup_job, sizeof(setup_job)), PROTO_OK);
	assert_true(harness_has_function(&H, 0xf0));
}

static void test_s7comm_plus(void **unused)
{
	/* hand-built S7comm-plus PDUs: V1 CreateObject request, V2 (integrity digest first) SetMultiVariables
	 * request, V3 response */
	static const uint8_t v1_req[] = { 0x72, 0x01, 0x00, 0x0d, 0x31, 0x00, 0x00, 0x04, 0xca, 0x00, 0x00,
					  0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x72, 0x01, 0x00, 0x00 };
	uint8_t v2_req[4 + 33 + 13], v3_resp[] = { 0x72, 0x03, 0x00, 0x05, 0x32, 0x00, 0x00, 0x00, 0x01 };
	uint8_t b[128];

	(void)unused;
	memset(v2_req, 0x5a, sizeof(v2_req));
	memcpy(v2_req, (const uint8_t[]){ 0x72, 0x02, 0x00, 46, 0x20 }, 5);
	memcpy(v2_req + 37, (const uint8_t[]){ 0x31, 0x00, 0x00, 0x05, 0x42 }, 5);

	assert_int_equal(parse(TO_SERVER, b, dt(b, true, v1_req, sizeof(v1_req))), PROTO_OK);
	assert_string_equal(H.ctx.proto, "s7comm_plus");
	assert_roles(PROTO_ROLE_CLIENT, PROTO_ROLE_SERVER);
	assert_string_equal(fn_name(0x04ca), "create_object");
	assert_string_equal(H.obs[H.n - 1].proto, "s7comm_plus");
	assert_int_equal(parse(TO_SERVER, b, dt(b, true, v2_req, sizeof(v2_req))), PROTO_OK);
	assert_string_equal(fn_name(0x0542), "set_multi_variables");
	assert_int_equal(parse(TO_CLIENT, b, dt(b, true, v3_resp, sizeof(v3_resp))), PROTO_OK);
	assert_string_equal(H.ctx.proto, "s7comm_plus");
	assert_roles(PROTO_ROLE_SERVER, PROTO_ROLE_CLIENT);
	assert_int_equal(n_obs(PROTO_OBS_FUNCTION), 2);
	assert_int_equal(n_obs(PROTO_OBS_VIOLATION), 0);
	/* an S7comm PDU afterwards is s7comm again */
	assert_int_equal(parse(TO_SERVER, setup_job, sizeof(setup_job)), PROTO_OK);
	assert_string_equal(H.ctx.proto, "s7comm");
}

static void test_other_iso_on_tcp(void **unused)
{
	/* hand-built DT carrying an ISO 8327 session CONNECT SPDU (MMS over ISO-on-TCP) */
	static const uint8_t spdu[] = { 0x0d, 0x05, 0x06, 0x01, 0x00, 0x01, 0x00 };
	uint8_t b[32];

	(void)unused;
	assert_int_equal(parse(TO_SERVER, b, dt(b, true, spdu, sizeof(spdu))), PROTO_NOT_MINE);
	assert_int_equal(H.n, 0);
}

static void test_malformed(void **unused)
{
	static const uint8_t li_long[] = { 0x03, 0x00, 0x00, 0x07, 0x10, 0xf0, 0x80 };
	static const uint8_t li_short[] = { 0x03, 0x00, 0x00, 0x07, 0x01, 0xf0, 0x80 };
	static const uint8_t bad_type[] = { 0x03, 0x00, 0x00, 0x07, 0x02, 0x30, 0x80 };
	static const uint8_t s7_short[] = { 0x32, 0x01, 0x00 };
	static const uint8_t tpkt_v4[] = { 0x04, 0x00, 0x00, 0x07, 0x02, 0xf0, 0x80 };
	uint8_t b[64];

	(void)unused;
	memcpy(b, setup_job, sizeof(setup_job));
	b[3]++;
	assert_int_equal(parse(TO_SERVER, b, sizeof(setup_job)), PROTO_MALFORMED);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "bad_length"), 1);
	assert_int_equal(parse(TO_SERVER, li_long, sizeof(li_long)), PROTO_MALFORMED);
	assert_int_equal(parse(TO_SERVER, li_short, sizeof(li_short)), PROTO_MALFORMED);
	assert_int_equal(parse(TO_SERVER, bad_type, sizeof(bad_type)), PROTO_MALFORMED);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "bad_header"), 3);
	/* S7 lengths that do not add up, a ROSCTR that does not exist, a cut header */
	memcpy(b, setup_job, sizeof(setup_job));
	b[7 + 9] = 1;
	assert_int_equal(parse(TO_SERVER, b, sizeof(setup_job)), PROTO_MALFORMED);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "bad_length"), 2);
	memcpy(b, setup_job, sizeof(setup_job));
	b[7 + 1] = 5;
	assert_int_equal(parse(TO_SERVER, b, sizeof(setup_job)), PROTO_MALFORMED);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "bad_header"), 4);
	assert_int_equal(parse(TO_SERVER, b, dt(b, true, s7_short, sizeof(s7_short))), PROTO_MALFORMED);
	assert_int_equal(harness_count(&H, PROTO_OBS_VIOLATION, "truncated"), 1);
	assert_int_equal(parse(TO_SERVER, tpkt_v4, sizeof(tpkt_v4)), PROTO_NOT_MINE);
	assert_int_equal(n_obs(PROTO_OBS_FUNCTION), 0);
	/* every malformed result came with a specific violation */
	assert_int_equal(n_obs(PROTO_OBS_VIOLATION), 7);
}

struct sample {
	const uint8_t *p;
	size_t len;
	int dir;
};

#define S(a, d) { a, sizeof(a), d }
static const struct sample samples[] = {
	S(cotp_cr, TO_SERVER),          S(cotp_cc, TO_CLIENT),          S(setup_job, TO_SERVER),
	S(setup_ack, TO_CLIENT),        S(dt_empty, TO_SERVER),         S(szl_0011_req, TO_SERVER),
	S(szl_0011_resp, TO_CLIENT),    S(szl_001c_frag1, TO_CLIENT),   S(szl_followup_req, TO_SERVER),
	S(szl_001c_frag2, TO_CLIENT),   S(szl_0424_resp, TO_CLIENT),    S(start_upload_job, TO_SERVER),
	S(end_upload_job, TO_SERVER),   S(ack_error, TO_CLIENT),        S(read_clock_req, TO_SERVER),
	S(set_clock_req, TO_SERVER),    S(plc_stop_job, TO_SERVER),     S(pi_modu_job, TO_SERVER),
	S(pi_start_cold_job, TO_SERVER), S(req_download_job, TO_SERVER), S(download_block_job, TO_CLIENT),
	S(download_block_ack, TO_SERVER), S(download_ended_job, TO_CLIENT), S(pi_inse_job, TO_SERVER),
	S(read_var_job, TO_SERVER),     S(write_var_job, TO_SERVER),
};
#define N_SAMPLES (sizeof(samples) / sizeof(samples[0]))

/* Every prefix of every sample, as a whole TPKT and as S7 payload of a DT (so the S7 layer sees every cut),
 * on a fresh state and on one carrying a pending segment and SZL answer. */
static void test_prefixes(void **unused)
{
	static uint8_t b[600];

	(void)unused;
	for (size_t i = 0; i < N_SAMPLES; i++) {
		const struct sample *s = &samples[i];
		for (size_t n = 0; n < s->len; n++) {
			uint8_t *copy = malloc(n ? n : 1);
			assert_non_null(copy);
			memcpy(copy, s->p, n);
			harness_init(&H, D);
			(void)parse(s->dir, copy, n);
			free(copy);
			if (s->len > 7 && n >= 7) {
				harness_init(&H, D);
				(void)parse(s->dir, b, dt(b, true, s->p + 7, n - 7));
				(void)parse(TO_CLIENT, szl_001c_frag1, sizeof(szl_001c_frag1));
				(void)parse(s->dir, b, dt(b, false, s->p + 7, n - 7));
				(void)parse(TO_CLIENT, b, dt(b, true, szl_001c_frag2 + 7, n - 7 < 160 ? n - 7 : 160));
			}
		}
	}
}

/* Deterministic byte flips over the samples, parsed as one flow: nothing may read out of bounds (run
 * under ASan) and every malformed result names its violation. */
static void test_mutations(void **unused)
{
	uint32_t seed = 0x5eed;
	uint8_t b[600];

	(void)unused;
	for (int round = 0; round < 4000; round++) {
		const struct sample *s = &samples[round % N_SAMPLES];
		size_t before;
		memcpy(b, s->p, s->len);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245u + 12345u;
			b[(seed >> 8) % s->len] ^= (uint8_t)(seed >> 20);
		}
		if (round % 50 == 0)
			harness_init(&H, D);
		before = harness_count(&H, PROTO_OBS_VIOLATION, NULL);
		if (H.n > HARNESS_MAX_OBS - 16)
			harness_init(&H, D), before = 0;
		if (parse(s->dir, b, s->len) == PROTO_MALFORMED)
			assert_true(harness_count(&H, PROTO_OBS_VIOLATION, NULL) > before);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_pdu_len, setup),
		cmocka_unit_test_setup(test_cotp_connect, setup),
		cmocka_unit_test_setup(test_cotp_cr_rack_slot, setup),
		cmocka_unit_test_setup(test_setup_communication, setup),
		cmocka_unit_test_setup(test_szl_module_identification, setup),
		cmocka_unit_test_setup(test_szl_component_identification_fragmented, setup),
		cmocka_unit_test_setup(test_szl_mode, setup),
		cmocka_unit_test_setup(test_plc_stop_start, setup),
		cmocka_unit_test_setup(test_pi_services_hand_built, setup),
		cmocka_unit_test_setup(test_upload, setup),
		cmocka_unit_test_setup(test_download_roles, setup),
		cmocka_unit_test_setup(test_read_write_var, setup),
		cmocka_unit_test_setup(test_userdata_time_and_errors, setup),
		cmocka_unit_test_setup(test_mode_transition_push, setup),
		cmocka_unit_test_setup(test_illegal_functions, setup),
		cmocka_unit_test_setup(test_segmentation, setup),
		cmocka_unit_test_setup(test_segmentation_long_pdu, setup),
		cmocka_unit_test_setup(test_reassembly_overflow, setup),
		cmocka_unit_test_setup(test_s7comm_plus, setup),
		cmocka_unit_test_setup(test_other_iso_on_tcp, setup),
		cmocka_unit_test_setup(test_malformed, setup),
		cmocka_unit_test_setup(test_prefixes, setup),
		cmocka_unit_test_setup(test_mutations, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
