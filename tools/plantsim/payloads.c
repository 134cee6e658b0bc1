#include "tools/plantsim/payloads.h"

#include <string.h>

void pl_modbus_read_req(struct wbuf *b, uint16_t tid, uint8_t unit, uint16_t addr, uint16_t qty)
{
	wbuf_u16(b, tid);
	wbuf_u16(b, 0);         /* protocol id */
	wbuf_u16(b, 6);         /* unit id + PDU */
	wbuf_u8(b, unit);
	wbuf_u8(b, 3);
	wbuf_u16(b, addr);
	wbuf_u16(b, qty);
}

void pl_modbus_read_rsp(struct wbuf *b, uint16_t tid, uint8_t unit, const uint16_t *regs, uint16_t qty)
{
	wbuf_u16(b, tid);
	wbuf_u16(b, 0);
	wbuf_u16(b, (uint16_t)(3 + 2 * qty));
	wbuf_u8(b, unit);
	wbuf_u8(b, 3);
	wbuf_u8(b, (uint8_t)(2 * qty));
	for (uint16_t i = 0; i < qty; i++)
		wbuf_u16(b, regs[i]);
}

/* TPKT (RFC 1006): version 3, reserved, total length including itself. */
static size_t tpkt_begin(struct wbuf *b)
{
	size_t at = b->len;
	wbuf_u8(b, 3);
	wbuf_u8(b, 0);
	wbuf_u16(b, 0);
	return at;
}

static void tpkt_end(struct wbuf *b, size_t at) { wbuf_patch16(b, at + 2, (uint16_t)(b->len - at)); }

void pl_s7_cotp_connect(struct wbuf *b, bool confirm, uint16_t dst_ref, uint16_t src_ref)
{
	static const uint8_t params[] = { 0xc0, 0x01, 0x0a,             /* TPDU size 1024 */
		0xc1, 0x02, 0x01, 0x00, 0xc2, 0x02, 0x01, 0x02 };       /* TSAPs: PG -> rack 0 slot 2 */
	size_t at = tpkt_begin(b);

	wbuf_u8(b, (uint8_t)(6 + sizeof(params)));
	wbuf_u8(b, confirm ? 0xd0 : 0xe0);
	wbuf_u16(b, dst_ref);
	wbuf_u16(b, src_ref);
	wbuf_u8(b, 0);          /* class 0 */
	wbuf_bytes(b, params, sizeof(params));
	tpkt_end(b, at);
}

/* COTP DT (last data unit) followed by an S7 header; ack_data (ROSCTR 3) carries error class/code. */
static void s7_header(struct wbuf *b, bool ack, uint16_t pdu_ref, uint16_t plen, uint16_t dlen)
{
	wbuf_u8(b, 2);
	wbuf_u8(b, 0xf0);
	wbuf_u8(b, 0x80);
	wbuf_u8(b, 0x32);
	wbuf_u8(b, ack ? 3 : 1);
	wbuf_u16(b, 0);
	wbuf_u16(b, pdu_ref);
	wbuf_u16(b, plen);
	wbuf_u16(b, dlen);
	if (ack)
		wbuf_u16(b, 0);
}

void pl_s7_setup(struct wbuf *b, bool ack, uint16_t pdu_ref)
{
	size_t at = tpkt_begin(b);

	s7_header(b, ack, pdu_ref, 8, 0);
	wbuf_u8(b, 0xf0);
	wbuf_u8(b, 0);
	wbuf_u16(b, 1);         /* max AmQ calling */
	wbuf_u16(b, 1);         /* max AmQ called */
	wbuf_u16(b, ack ? 240 : 480);
	tpkt_end(b, at);
}

void pl_s7_read_req(struct wbuf *b, uint16_t pdu_ref, uint16_t db, uint32_t byte_off, uint16_t n)
{
	size_t at = tpkt_begin(b);
	uint32_t bit_addr = byte_off * 8;

	s7_header(b, false, pdu_ref, 14, 0);
	wbuf_u8(b, 0x04);       /* read var */
	wbuf_u8(b, 1);
	wbuf_u8(b, 0x12);       /* variable specification */
	wbuf_u8(b, 0x0a);
	wbuf_u8(b, 0x10);       /* S7ANY */
	wbuf_u8(b, 0x02);       /* transport size BYTE */
	wbuf_u16(b, n);
	wbuf_u16(b, db);
	wbuf_u8(b, 0x84);       /* area DB */
	wbuf_u24(b, bit_addr);
	tpkt_end(b, at);
}

void pl_s7_read_rsp(struct wbuf *b, uint16_t pdu_ref, const uint8_t *data, uint16_t n)
{
	size_t at = tpkt_begin(b);

	s7_header(b, true, pdu_ref, 2, (uint16_t)(4 + n));
	wbuf_u8(b, 0x04);
	wbuf_u8(b, 1);
	wbuf_u8(b, 0xff);       /* success */
	wbuf_u8(b, 0x04);       /* BYTE/WORD/DWORD: length in bits */
	wbuf_u16(b, (uint16_t)(n * 8));
	wbuf_bytes(b, data, n);
	tpkt_end(b, at);
}

/* EtherNet/IP encapsulation header (Vol. 2 section 2-3): little-endian fields. */
static void enip_header(struct wbuf *b, uint16_t cmd, uint16_t len, uint32_t handle, uint64_t ctx)
{
	wbuf_u16le(b, cmd);
	wbuf_u16le(b, len);
	wbuf_u32le(b, handle);
	wbuf_u32le(b, 0);       /* status */
	wbuf_u32le(b, (uint32_t)ctx);
	wbuf_u32le(b, (uint32_t)(ctx >> 32));
	wbuf_u32le(b, 0);       /* options */
}

void pl_enip_register(struct wbuf *b, bool reply, uint32_t handle, uint64_t ctx)
{
	enip_header(b, 0x0065, 4, reply ? handle : 0, ctx);
	wbuf_u16le(b, 1);       /* protocol version */
	wbuf_u16le(b, 0);
}

void pl_enip_identity(struct wbuf *b, bool reply, uint32_t handle, uint64_t ctx, uint32_t serial,
	const char *product)
{
	static const uint8_t req[] = { 0x01, 0x02, 0x20, 0x01, 0x24, 0x01 }; /* Get_Attribute_All 1/1 */
	size_t plen = strlen(product) > 32 ? 32 : strlen(product);
	uint16_t cip_len = reply ? (uint16_t)(4 + 15 + plen) : (uint16_t)sizeof(req);

	enip_header(b, 0x006f, (uint16_t)(16 + cip_len), handle, ctx);
	wbuf_u32le(b, 0);       /* interface handle: CIP */
	wbuf_u16le(b, reply ? 0 : 10);
	wbuf_u16le(b, 2);       /* items: null address, unconnected data */
	wbuf_u16le(b, 0x0000);
	wbuf_u16le(b, 0);
	wbuf_u16le(b, 0x00b2);
	wbuf_u16le(b, cip_len);
	if (!reply) {
		wbuf_bytes(b, req, sizeof(req));
		return;
	}
	wbuf_u8(b, 0x81);
	wbuf_u8(b, 0);
	wbuf_u8(b, 0);          /* general status success */
	wbuf_u8(b, 0);
	wbuf_u16le(b, 1);       /* vendor: Rockwell Automation/Allen-Bradley */
	wbuf_u16le(b, 0x0e);    /* device type: programmable logic controller */
	wbuf_u16le(b, 0x0037);
	wbuf_u8(b, 20);         /* revision 20.11 */
	wbuf_u8(b, 11);
	wbuf_u16le(b, 0x3060);
	wbuf_u32le(b, serial);
	wbuf_u8(b, (uint8_t)plen);
	wbuf_bytes(b, product, plen);
}

static size_t tls_record_begin(struct wbuf *b, uint8_t type, uint16_t version)
{
	size_t at = b->len;
	wbuf_u8(b, type);
	wbuf_u16(b, version);
	wbuf_u16(b, 0);
	return at;
}

static void tls_record_end(struct wbuf *b, size_t at) { wbuf_patch16(b, at + 3, (uint16_t)(b->len - at - 5)); }

/* Handshake header: type + 24-bit length, patched at the end (messages here are < 64 KiB). */
static size_t tls_hs_begin(struct wbuf *b, uint8_t type)
{
	size_t at = b->len;
	wbuf_u8(b, type);
	wbuf_u24(b, 0);
	return at;
}

static void tls_hs_end(struct wbuf *b, size_t at) { wbuf_patch16(b, at + 2, (uint16_t)(b->len - at - 4)); }

void pl_tls_client_hello(struct wbuf *b, const uint8_t random[32], const uint8_t sid[32], const char *sni)
{
	static const uint8_t suites[] = { 0xc0, 0x2f, 0xc0, 0x30, 0xc0, 0x2b, 0xc0, 0x2c, 0x00, 0x9c, 0x00, 0x9d };
	static const uint8_t groups_ext[] = { 0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17 };
	static const uint8_t points_ext[] = { 0x00, 0x0b, 0x00, 0x02, 0x01, 0x00 };
	uint16_t n = (uint16_t)strlen(sni);
	size_t rec = tls_record_begin(b, 22, 0x0301), hs = tls_hs_begin(b, 1), ext;

	wbuf_u16(b, 0x0303);
	wbuf_bytes(b, random, 32);
	wbuf_u8(b, 32);
	wbuf_bytes(b, sid, 32);
	wbuf_u16(b, sizeof(suites));
	wbuf_bytes(b, suites, sizeof(suites));
	wbuf_u8(b, 1);
	wbuf_u8(b, 0);          /* null compression */
	ext = b->len;
	wbuf_u16(b, 0);
	wbuf_u16(b, 0x0000);    /* server_name (RFC 6066 section 3) */
	wbuf_u16(b, (uint16_t)(n + 5));
	wbuf_u16(b, (uint16_t)(n + 3));
	wbuf_u8(b, 0);
	wbuf_u16(b, n);
	wbuf_bytes(b, sni, n);
	wbuf_bytes(b, groups_ext, sizeof(groups_ext));
	wbuf_bytes(b, points_ext, sizeof(points_ext));
	wbuf_patch16(b, ext, (uint16_t)(b->len - ext - 2));
	tls_hs_end(b, hs);
	tls_record_end(b, rec);
}

void pl_tls_server_hello(struct wbuf *b, const uint8_t random[32], const uint8_t sid[32])
{
	static const uint8_t reneg_ext[] = { 0xff, 0x01, 0x00, 0x01, 0x00 };
	size_t rec = tls_record_begin(b, 22, 0x0303), hs = tls_hs_begin(b, 2);

	wbuf_u16(b, 0x0303);
	wbuf_bytes(b, random, 32);
	wbuf_u8(b, 32);
	wbuf_bytes(b, sid, 32);
	wbuf_u16(b, 0xc02f);    /* ECDHE-RSA-AES128-GCM-SHA256 */
	wbuf_u8(b, 0);
	wbuf_u16(b, sizeof(reneg_ext));
	wbuf_bytes(b, reneg_ext, sizeof(reneg_ext));
	tls_hs_end(b, hs);
	tls_record_end(b, rec);
}

void pl_tls_app_data(struct wbuf *b, const uint8_t *ciphertext, uint16_t n)
{
	size_t rec = tls_record_begin(b, 23, 0x0303);

	wbuf_bytes(b, ciphertext, n);
	tls_record_end(b, rec);
}

/* Encodes a dotted name as DNS labels (RFC 1035 section 3.1); labels over 63 bytes are cut. */
static void dns_name(struct wbuf *b, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);
		if (n > 63)
			n = 63;
		wbuf_u8(b, (uint8_t)n);
		wbuf_bytes(b, name, n);
		name += n;
		if (*name == '.')
			name++;
	}
	wbuf_u8(b, 0);
}

static void dns_header(struct wbuf *b, uint16_t id, uint16_t flags, uint16_t an)
{
	wbuf_u16(b, id);
	wbuf_u16(b, flags);
	wbuf_u16(b, 1);
	wbuf_u16(b, an);
	wbuf_u16(b, 0);
	wbuf_u16(b, 0);
}

void pl_dns_query(struct wbuf *b, uint16_t id, const char *name)
{
	dns_header(b, id, 0x0100, 0);   /* RD */
	dns_name(b, name);
	wbuf_u16(b, 1);
	wbuf_u16(b, 1);
}

void pl_dns_answer(struct wbuf *b, uint16_t id, const char *name, uint32_t ip)
{
	dns_header(b, id, 0x8180, 1);   /* QR RD RA, NOERROR */
	dns_name(b, name);
	wbuf_u16(b, 1);
	wbuf_u16(b, 1);
	wbuf_u16(b, 0xc00c);    /* pointer to the question name */
	wbuf_u16(b, 1);
	wbuf_u16(b, 1);
	wbuf_u32(b, 300);
	wbuf_u16(b, 4);
	wbuf_u32(b, ip);
}

static void dhcp_opt_str(struct wbuf *b, uint8_t code, const char *s)
{
	size_t n = strlen(s) > 255 ? 255 : strlen(s);
	wbuf_u8(b, code);
	wbuf_u8(b, (uint8_t)n);
	wbuf_bytes(b, s, n);
}

static void dhcp_opt_u32(struct wbuf *b, uint8_t code, uint32_t v)
{
	wbuf_u8(b, code);
	wbuf_u8(b, 4);
	wbuf_u32(b, v);
}

void pl_dhcp(struct wbuf *b, const struct pl_dhcp *m)
{
	static const uint8_t prl[] = { 1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252 };
	bool client = m->type == DHCP_DISCOVER || m->type == DHCP_REQUEST;
	size_t start = b->len;

	wbuf_u8(b, client ? 1 : 2);
	wbuf_u8(b, 1);
	wbuf_u8(b, 6);
	wbuf_u8(b, 0);
	wbuf_u32(b, m->xid);
	wbuf_u16(b, m->secs);
	wbuf_u16(b, 0);
	wbuf_u32(b, 0);                 /* ciaddr */
	wbuf_u32(b, client ? 0 : m->yiaddr);
	wbuf_u32(b, 0);                 /* siaddr */
	wbuf_u32(b, 0);                 /* giaddr */
	wbuf_bytes(b, m->chaddr, 6);
	wbuf_zero(b, 10 + 64 + 128);    /* chaddr padding, sname, file */
	wbuf_u32(b, 0x63825363);        /* magic cookie (RFC 2131 section 3) */
	wbuf_u8(b, 53);
	wbuf_u8(b, 1);
	wbuf_u8(b, m->type);
	if (client) {
		wbuf_u8(b, 61);
		wbuf_u8(b, 7);
		wbuf_u8(b, 1);
		wbuf_bytes(b, m->chaddr, 6);
		if (m->type == DHCP_REQUEST) {
			dhcp_opt_u32(b, 50, m->yiaddr);
			dhcp_opt_u32(b, 54, m->server);
		}
		dhcp_opt_str(b, 12, m->hostname);
		dhcp_opt_str(b, 60, m->vendor_class);
		wbuf_u8(b, 55);
		wbuf_u8(b, sizeof(prl));
		wbuf_bytes(b, prl, sizeof(prl));
	} else {
		dhcp_opt_u32(b, 54, m->server);
		dhcp_opt_u32(b, 51, 86400);
		dhcp_opt_u32(b, 58, 43200);
		dhcp_opt_u32(b, 59, 75600);
		dhcp_opt_u32(b, 1, m->mask);
		dhcp_opt_u32(b, 3, m->router);
		dhcp_opt_u32(b, 6, m->server);
		dhcp_opt_str(b, 15, m->domain);
	}
	wbuf_u8(b, 255);
	if (b->len - start < 300)
		wbuf_zero(b, 300 - (b->len - start));
}

static void lldp_tlv(struct wbuf *b, uint8_t type, uint8_t subtype, const void *v, size_t n)
{
	size_t len = n + (subtype ? 1 : 0);
	wbuf_u16(b, (uint16_t)((type << 9) | (len & 0x1ff)));
	if (subtype)
		wbuf_u8(b, subtype);
	wbuf_bytes(b, v, n);
}

void pl_lldp(struct wbuf *b, const uint8_t mac[6], const char *port, const char *sysname, const char *descr,
	uint16_t ttl)
{
	uint8_t t[2] = { (uint8_t)(ttl >> 8), (uint8_t)ttl };
	uint8_t caps[4] = { 0x00, 0x04, 0x00, 0x04 };   /* bridge, enabled */

	lldp_tlv(b, 1, 4, mac, 6);                      /* chassis id: MAC address */
	lldp_tlv(b, 2, 5, port, strlen(port));          /* port id: interface name */
	lldp_tlv(b, 3, 0, t, 2);
	lldp_tlv(b, 5, 0, sysname, strlen(sysname));
	lldp_tlv(b, 6, 0, descr, strlen(descr));
	lldp_tlv(b, 7, 0, caps, 4);
	wbuf_u16(b, 0);                                 /* end of LLDPDU */
}

void pl_bacnet_whois(struct wbuf *b)
{
	static const uint8_t msg[] = {
		0x81, 0x0b, 0x00, 0x0c,             /* BVLC: Original-Broadcast-NPDU, length 12 */
		0x01, 0x20, 0xff, 0xff, 0x00, 0xff, /* NPDU: version 1, DNET 0xffff (global), hop count 255 */
		0x10, 0x08,                         /* APDU: unconfirmed request, Who-Is */
	};
	wbuf_bytes(b, msg, sizeof(msg));
}
