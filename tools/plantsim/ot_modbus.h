/* Modbus/TCP (Modbus Application Protocol v1.1b3 and Modbus Messaging on TCP/IP v1.0b): PDU builders and
 * the plant's Modbus sessions. Each builder appends one MBAP-framed ADU to b. */
#pragma once
#include <stdint.h>

#include "tools/plantsim/wbuf.h"

#define MB_EXC_ILLEGAL_FUNCTION 0x01
#define MB_EXC_ILLEGAL_ADDRESS 0x02
#define MB_EXC_GATEWAY_TARGET 0x0b

/* Read coils / discrete inputs / holding / input registers (function 1..4). qty <= 125 registers. */
void mb_read_req(struct wbuf *b, uint16_t tid, uint8_t unit, uint8_t fc, uint16_t addr, uint16_t qty);
void mb_read_regs_rsp(struct wbuf *b, uint16_t tid, uint8_t unit, uint8_t fc, const uint16_t *regs, uint16_t qty);
void mb_read_bits_rsp(struct wbuf *b, uint16_t tid, uint8_t unit, uint8_t fc, const uint8_t *bits, uint16_t qty);
/* Write single coil (5) / register (6): the response echoes the request. */
void mb_write_single(struct wbuf *b, uint16_t tid, uint8_t unit, uint8_t fc, uint16_t addr, uint16_t value);
/* Write multiple registers (16): request with values, response with address and quantity. */
void mb_write_regs_req(struct wbuf *b, uint16_t tid, uint8_t unit, uint16_t addr, const uint16_t *regs,
	uint16_t qty);
void mb_write_regs_rsp(struct wbuf *b, uint16_t tid, uint8_t unit, uint16_t addr, uint16_t qty);
/* Read Device Identification (function 43, MEI type 14). */
void mb_devid_req(struct wbuf *b, uint16_t tid, uint8_t unit, uint8_t code, uint8_t object);
/* Response carrying objects first_id .. first_id + n - 1 (all of them: "more follows" is 0). */
void mb_devid_rsp(struct wbuf *b, uint16_t tid, uint8_t unit, uint8_t code, uint8_t conformity,
	uint8_t first_id, const char *const *objects, uint8_t n);
void mb_exception(struct wbuf *b, uint16_t tid, uint8_t unit, uint8_t fc, uint8_t code);

/* Backwards-compatible shorthands for function 3. */
void pl_modbus_read_req(struct wbuf *b, uint16_t tid, uint8_t unit, uint16_t addr, uint16_t qty);
void pl_modbus_read_rsp(struct wbuf *b, uint16_t tid, uint8_t unit, const uint16_t *regs, uint16_t qty);
