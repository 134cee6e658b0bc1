/* DNP3 (IEEE 1815-2012) over TCP port 20000: data link frames with their CRCs, transport segmentation and
 * application fragments; and the plant's master/outstation sessions. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/plantsim/wbuf.h"

/* Link-layer control: DIR (from the master), PRM (primary), function. */
#define DNP3_CTRL_DIR 0x80
#define DNP3_CTRL_PRM 0x40
#define DNP3_LINK_UNCONFIRMED_DATA 4
#define DNP3_LINK_REQUEST_STATUS 9
#define DNP3_LINK_STATUS 11

/* Application function codes used here. */
enum {
	DNP3_CONFIRM = 0x00, DNP3_READ = 0x01, DNP3_WRITE = 0x02, DNP3_SELECT = 0x03, DNP3_OPERATE = 0x04,
	DNP3_DIRECT_OPERATE = 0x05, DNP3_COLD_RESTART = 0x0d, DNP3_WARM_RESTART = 0x0e, DNP3_ENABLE_UNSOL = 0x14,
	DNP3_DISABLE_UNSOL = 0x15, DNP3_RECORD_TIME = 0x18, DNP3_OPEN_FILE = 0x19, DNP3_CLOSE_FILE = 0x1a,
	DNP3_RESPONSE = 0x81, DNP3_UNSOLICITED = 0x82,
};

/* Application control bits. */
#define DNP3_AC_FIR 0x80
#define DNP3_AC_FIN 0x40
#define DNP3_AC_CON 0x20
#define DNP3_AC_UNS 0x10

/* CRC-16/DNP over n bytes (polynomial 0x3D65, reflected, complemented); sent least significant byte first. */
uint16_t dnp3_crc(const uint8_t *p, size_t n);

/* One link frame: header (start 0x0564, length, control, destination, source, CRC) and the user data in
 * 16-byte blocks each followed by its CRC. n <= 250. */
void dnp3_link_frame(struct wbuf *b, uint8_t ctrl, uint16_t dst, uint16_t src, const uint8_t *user, size_t n);

/* An application fragment as transport segments (at most 249 application bytes each, FIR/FIN and a 6-bit
 * sequence number that *tseq carries across calls), each in its own unconfirmed-user-data link frame. */
void dnp3_frames(struct wbuf *b, bool from_master, uint16_t dst, uint16_t src, uint8_t *tseq, const uint8_t *apdu,
	size_t n);
