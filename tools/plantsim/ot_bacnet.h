/* BACnet/IP (ANSI/ASHRAE 135, Annex J BVLL; clause 6 NPDU; clauses 20-21 APDU encoding): builders and the
 * plant's BACnet sessions on UDP 47808. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "tools/plantsim/wbuf.h"

#define BACNET_OBJ_ANALOG_INPUT 0
#define BACNET_OBJ_ANALOG_VALUE 2
#define BACNET_OBJ_DEVICE 8

#define BACNET_PROP_APP_SW_VERSION 12
#define BACNET_PROP_FIRMWARE_REVISION 44
#define BACNET_PROP_MODEL_NAME 70
#define BACNET_PROP_OBJECT_NAME 77
#define BACNET_PROP_PRESENT_VALUE 85
#define BACNET_PROP_VENDOR_IDENTIFIER 120
#define BACNET_PROP_VENDOR_NAME 121

/* Original-Broadcast-NPDU carrying an unconfirmed Who-Is to all networks. */
void pl_bacnet_whois(struct wbuf *b);

/* A BVLC frame under construction (function 0x0a unicast or 0x0b broadcast) with its NPDU header; the
 * caller appends the APDU and calls bacnet_end to patch the BVLC length. */
size_t bacnet_begin(struct wbuf *b, bool broadcast, bool expect_reply);
void bacnet_end(struct wbuf *b, size_t at);

/* Application-tagged values and context tags. */
void bacnet_unsigned(struct wbuf *b, int ctx, uint32_t v);   /* ctx < 0: application tag 2 */
void bacnet_enum(struct wbuf *b, int ctx, uint32_t v);       /* ctx < 0: application tag 9 */
void bacnet_objid(struct wbuf *b, int ctx, uint16_t type, uint32_t instance);
void bacnet_string(struct wbuf *b, int ctx, const char *s);  /* UTF-8 character string */
void bacnet_real(struct wbuf *b, float f);
void bacnet_open(struct wbuf *b, uint8_t ctx);
void bacnet_close(struct wbuf *b, uint8_t ctx);

/* Unconfirmed I-Am of a device. */
void bacnet_iam(struct wbuf *b, uint32_t instance, uint16_t vendor);
