/* IEC 60870-5-104 (APCI over TCP port 2404, ASDUs of IEC 60870-5-101 with 2-octet cause of transmission,
 * 2-octet common address and 3-octet information object addresses): APDU builders and the plant's
 * controlling-station / controlled-station sessions. */
#pragma once
#include <stdint.h>

#include "tools/plantsim/wbuf.h"

#define IEC104_STARTDT_ACT 0x07
#define IEC104_STARTDT_CON 0x0b
#define IEC104_TESTFR_ACT 0x43
#define IEC104_TESTFR_CON 0x83

enum {
	IEC104_M_SP_NA_1 = 1, IEC104_M_DP_NA_1 = 3, IEC104_M_ME_NC_1 = 13, IEC104_M_SP_TB_1 = 30,
	IEC104_M_ME_TF_1 = 36, IEC104_C_SC_NA_1 = 45, IEC104_C_DC_NA_1 = 46, IEC104_M_EI_NA_1 = 70,
	IEC104_C_IC_NA_1 = 100, IEC104_C_CS_NA_1 = 103,
};

enum { IEC104_COT_SPONT = 3, IEC104_COT_INIT = 4, IEC104_COT_ACT = 6, IEC104_COT_ACTCON = 7,
	IEC104_COT_ACTTERM = 10, IEC104_COT_INROGEN = 20 };

void iec104_u(struct wbuf *b, uint8_t fn);
void iec104_s(struct wbuf *b, uint16_t nr);

/* An I-format APDU under construction: iec104_i_begin writes the APCI and the ASDU header (type, variable
 * structure qualifier, cause of transmission, originator 0, common address); the caller appends the
 * information objects and calls iec104_i_end to patch the length. */
size_t iec104_i_begin(struct wbuf *b, uint16_t ns, uint16_t nr, uint8_t type, uint8_t vsq, uint8_t cot, uint16_t ca);
void iec104_i_end(struct wbuf *b, size_t at);
void iec104_ioa(struct wbuf *b, uint32_t ioa);
/* CP56Time2a of a packet time (microseconds since the epoch, UTC). */
void iec104_cp56(struct wbuf *b, uint64_t usec);
