/* EtherNet/IP encapsulation (ODVA CIP Networks Library Vol. 2, chapter 2) and the CIP messages carried in
 * it (Vol. 1): ListIdentity over UDP 44818, RegisterSession / SendRRData / UnRegisterSession over TCP 44818.
 * All encapsulation and CIP fields are little-endian. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "tools/plantsim/wbuf.h"

#define ENIP_LIST_IDENTITY 0x0063
#define ENIP_REGISTER_SESSION 0x0065
#define ENIP_UNREGISTER_SESSION 0x0066
#define ENIP_SEND_RR_DATA 0x006f

struct enip_identity {
	uint16_t vendor, device_type, product_code;
	uint8_t major, minor;
	uint16_t status;
	uint32_t serial;
	const char *product_name;
	uint32_t ip;             /* the responder's address (socket address item), host order */
};

void enip_header(struct wbuf *b, uint16_t cmd, uint16_t len, uint32_t handle, uint64_t ctx);
void enip_list_identity_req(struct wbuf *b, uint64_t ctx);
void enip_list_identity_rsp(struct wbuf *b, uint64_t ctx, const struct enip_identity *id);
void pl_enip_register(struct wbuf *b, bool reply, uint32_t handle, uint64_t ctx);
void enip_unregister(struct wbuf *b, uint32_t handle, uint64_t ctx);
/* SendRRData with an unconnected data item carrying the n-byte CIP message. */
void enip_rr(struct wbuf *b, uint32_t handle, uint64_t ctx, bool reply, const uint8_t *cip, size_t n);

/* CIP requests (message router format: service, path size in words, path, data). */
void cip_get_attribute_all(struct wbuf *c, uint8_t cls, uint8_t inst);
void cip_get_attribute_single(struct wbuf *c, uint8_t cls, uint8_t inst, uint8_t attr);
void cip_read_tag(struct wbuf *c, const char *tag, uint16_t elements);
void cip_write_tag(struct wbuf *c, const char *tag, uint16_t type, const void *value, size_t n);
/* CIP reply header: service | 0x80, reserved, general status, no additional status. */
void cip_reply(struct wbuf *c, uint8_t service, uint8_t status);
/* The Identity object's attributes 1..7 as Get_Attribute_All returns them. */
void cip_identity_attrs(struct wbuf *c, const struct enip_identity *id);
