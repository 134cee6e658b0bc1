/* SMB dissector (sensor-agent/dissect/smb.c): framing over direct TCP and the NetBIOS session service, roles,
 * file names of SMB2 CREATE and SMB1 open requests (UTF-16LE and OEM, compound and AndX chains, streams,
 * surrogates, bounds), malformed messages, and every prefix of a real request.
 *
 * No public capture in /work/shared/pcaps holds SMB, so the real messages below were captured on the loopback
 * interface with tcpdump: Samba 4.17 smbd answering smbclient 4.17, once over SMB 3.1.1 on port 445
 * (`put payload.bin tools\Evil-Dropper.EXE`) and once over SMB1 (NT LM 0.12) on port 139 through a NetBIOS
 * session (`put payload.bin tools\Stuxnet.dll`). Wireshark 4.0 decodes each as the comment says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/proto_harness.h"

/* SMB2 capture, frame 4: NEGOTIATE request (SMB 2.0.2 .. 3.1.1) */
static const uint8_t smb2_negotiate[] = {
	0x00, 0x00, 0x00, 0xe2, 0xfe, 0x53, 0x4d, 0x42, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x7f, 0x00, 0x00, 0x00,
	0x1f, 0xc7, 0xfb, 0x1a, 0xa7, 0x2d, 0xc2, 0x4b, 0xaa, 0x26, 0x58, 0x2c, 0xa8, 0xa3, 0xc7, 0x33,
	0x70, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x02, 0x02, 0x10, 0x02, 0x00, 0x03, 0x02, 0x03,
	0x11, 0x03, 0x00, 0x00, 0x01, 0x00, 0x26, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x20, 0x00,
	0x01, 0x00, 0x2d, 0x14, 0x11, 0xd0, 0x5e, 0xcf, 0x1b, 0x77, 0xf6, 0x8d, 0x77, 0x34, 0xc6, 0x66,
	0x22, 0x72, 0xeb, 0xe3, 0x74, 0x11, 0x6a, 0x50, 0x7c, 0xbf, 0x33, 0x57, 0xd3, 0x66, 0xe2, 0x04,
	0x7b, 0xd6, 0x00, 0x00, 0x02, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x02, 0x00,
	0x01, 0x00, 0x04, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x08, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x12, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x31, 0x00, 0x32, 0x00, 0x37, 0x00, 0x2e, 0x00, 0x30, 0x00, 0x2e, 0x00,
	0x30, 0x00, 0x2e, 0x00, 0x31, 0x00,
};

/* SMB2 capture, frame 20: CREATE request for the directory "tools" */
static const uint8_t smb2_create_dir[] = {
	0x00, 0x00, 0x00, 0x84, 0xfe, 0x53, 0x4d, 0x42, 0x40, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x05, 0x00, 0x01, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x07, 0xbd, 0x90, 0x05, 0x3c, 0x0a, 0xba,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x39, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
	0x10, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x78, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x74, 0x00, 0x6f, 0x00,
	0x6f, 0x00, 0x6c, 0x00, 0x73, 0x00, 0x00, 0x00,
};

/* SMB2 capture, frame 24: CREATE request for "tools\\Evil-Dropper.EXE" (NameOffset 120, NameLength 44) */
static const uint8_t smb2_create[] = {
	0x00, 0x00, 0x00, 0xa4, 0xfe, 0x53, 0x4d, 0x42, 0x40, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x05, 0x00, 0x01, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x07, 0xbd, 0x90, 0x05, 0x3c, 0x0a, 0xba,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x39, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9f, 0x01, 0x12, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00,
	0x78, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x74, 0x00, 0x6f, 0x00,
	0x6f, 0x00, 0x6c, 0x00, 0x73, 0x00, 0x5c, 0x00, 0x45, 0x00, 0x76, 0x00, 0x69, 0x00, 0x6c, 0x00,
	0x2d, 0x00, 0x44, 0x00, 0x72, 0x00, 0x6f, 0x00, 0x70, 0x00, 0x70, 0x00, 0x65, 0x00, 0x72, 0x00,
	0x2e, 0x00, 0x45, 0x00, 0x58, 0x00, 0x45, 0x00,
};

/* SMB2 capture, frame 25: its CREATE response */
static const uint8_t smb2_create_rsp[] = {
	0x00, 0x00, 0x00, 0x98, 0xfe, 0x53, 0x4d, 0x42, 0x40, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x05, 0x00, 0x01, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x07, 0xbd, 0x90, 0x05, 0x3c, 0x0a, 0xba,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x59, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0xd9, 0x07, 0xcf, 0xdb,
	0xe8, 0x7e, 0xdd, 0x01, 0xd9, 0x07, 0xcf, 0xdb, 0xe8, 0x7e, 0xdd, 0x01, 0xd9, 0x07, 0xcf, 0xdb,
	0xe8, 0x7e, 0xdd, 0x01, 0xd9, 0x07, 0xcf, 0xdb, 0xe8, 0x7e, 0xdd, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x21, 0x94, 0xe5, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x5d, 0x63, 0xe5, 0xb0,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* SMB1 capture (port 139), frame 4: NetBIOS session request */
static const uint8_t nb_session_request[] = {
	0x81, 0x00, 0x00, 0x44, 0x20, 0x44, 0x42, 0x44, 0x43, 0x44, 0x48, 0x43, 0x4f, 0x44, 0x41, 0x43,
	0x4f, 0x44, 0x41, 0x43, 0x4f, 0x44, 0x42, 0x43, 0x41, 0x43, 0x41, 0x43, 0x41, 0x43, 0x41, 0x43,
	0x41, 0x43, 0x41, 0x43, 0x41, 0x00, 0x20, 0x46, 0x47, 0x45, 0x4e, 0x43, 0x41, 0x43, 0x41, 0x43,
	0x41, 0x43, 0x41, 0x43, 0x41, 0x43, 0x41, 0x43, 0x41, 0x43, 0x41, 0x43, 0x41, 0x43, 0x41, 0x43,
	0x41, 0x43, 0x41, 0x43, 0x41, 0x41, 0x41, 0x00,
};

/* SMB1 capture, frame 6: positive session response */
static const uint8_t nb_positive[] = {
	0x82, 0x00, 0x00, 0x00,
};

/* SMB1 capture, frame 8: SMB1 NEGOTIATE request (NT LM 0.12) */
static const uint8_t smb1_negotiate[] = {
	0x00, 0x00, 0x00, 0x3e, 0xff, 0x53, 0x4d, 0x42, 0x72, 0x00, 0x00, 0x00, 0x00, 0x18, 0x43, 0xc8,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe, 0xff,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x1b, 0x00, 0x02, 0x4e, 0x54, 0x20, 0x4c, 0x41, 0x4e, 0x4d, 0x41,
	0x4e, 0x20, 0x31, 0x2e, 0x30, 0x00, 0x02, 0x4e, 0x54, 0x20, 0x4c, 0x4d, 0x20, 0x30, 0x2e, 0x31,
	0x32, 0x00,
};

/* SMB1 capture, frame 22: NT_CREATE_ANDX request for "\\tools\\Stuxnet.dll" (Unicode, NameLength 38 with the NUL) */
static const uint8_t smb1_nt_create[] = {
	0x00, 0x00, 0x00, 0x7c, 0xff, 0x53, 0x4d, 0x42, 0xa2, 0x00, 0x00, 0x00, 0x00, 0x18, 0x43, 0xc8,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x62, 0xa2, 0x53, 0x5e,
	0x19, 0x0b, 0x07, 0x00, 0x18, 0xff, 0x00, 0x00, 0x00, 0x00, 0x26, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x9f, 0x01, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00,
	0x02, 0x00, 0x00, 0x00, 0x00, 0x29, 0x00, 0x00, 0x5c, 0x00, 0x74, 0x00, 0x6f, 0x00, 0x6f, 0x00,
	0x6c, 0x00, 0x73, 0x00, 0x5c, 0x00, 0x53, 0x00, 0x74, 0x00, 0x75, 0x00, 0x78, 0x00, 0x6e, 0x00,
	0x65, 0x00, 0x74, 0x00, 0x2e, 0x00, 0x64, 0x00, 0x6c, 0x00, 0x6c, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* SMB1 capture, frame 23: its NT_CREATE_ANDX response */
static const uint8_t smb1_nt_create_rsp[] = {
	0x00, 0x00, 0x00, 0x67, 0xff, 0x53, 0x4d, 0x42, 0xa2, 0x00, 0x00, 0x00, 0x00, 0x88, 0x03, 0xc8,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x62, 0xa2, 0x53, 0x5e,
	0x19, 0x0b, 0x07, 0x00, 0x22, 0xff, 0x00, 0x00, 0x00, 0x00, 0x90, 0x30, 0x02, 0x00, 0x00, 0x00,
	0xe1, 0x90, 0x09, 0xdf, 0xe8, 0x7e, 0xdd, 0x01, 0xe1, 0x90, 0x09, 0xdf, 0xe8, 0x7e, 0xdd, 0x01,
	0xe1, 0x90, 0x09, 0xdf, 0xe8, 0x7e, 0xdd, 0x01, 0xe1, 0x90, 0x09, 0xdf, 0xe8, 0x7e, 0xdd, 0x01,
	0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

#define TO_SERVER PROTO_DIR_TO_SERVER
#define TO_CLIENT PROTO_DIR_TO_CLIENT
#define CREATE_FIXED (4 + 64 + 56) /* NetBIOS header, SMB2 header, CREATE request up to its Buffer */

static struct harness h;

static long pdu_len(const void *p, size_t len)
{
	return dissector_smb.pdu_len(p, len);
}

static enum proto_result parse_dir(int dir, const void *p, size_t len)
{
	return harness_parse(&h, &dissector_smb, dir, p, len);
}

/* The names reported so far, joined with '|'. */
static const char *names(void)
{
	static char out[1024];
	size_t o = 0;

	out[0] = 0;
	for (size_t i = 0; i < h.n; i++) {
		if (h.obs[i].o.kind != PROTO_OBS_NAME)
			continue;
		assert_int_equal(h.obs[i].o.attr, PROTO_NAME_FILE);
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", o ? "|" : "", h.obs[i].buf);
	}
	return out;
}

static void put24(uint8_t *p, size_t v)
{
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static size_t utf16(const char *s, uint8_t *out)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = (uint8_t)s[i];
		out[2 * i + 1] = 0;
	}
	return 2 * n;
}

/* The real CREATE request with its name replaced by n bytes of UTF-16LE. */
static size_t create_named(uint8_t *out, const uint8_t *name, size_t n)
{
	memcpy(out, smb2_create, CREATE_FIXED);
	memcpy(out + CREATE_FIXED, name, n);
	out[4 + 64 + 46] = (uint8_t)n;
	out[4 + 64 + 47] = (uint8_t)(n >> 8);
	put24(out, CREATE_FIXED - 4 + n);
	return CREATE_FIXED + n;
}

static size_t create_ascii(uint8_t *out, const char *name)
{
	uint8_t u[1024];
	return create_named(out, u, utf16(name, u));
}

static void test_framing(void **s)
{
	uint8_t buf[16];
	(void)s;

	assert_int_equal(pdu_len(smb2_create, sizeof(smb2_create)), sizeof(smb2_create));
	assert_int_equal(pdu_len(smb2_negotiate, sizeof(smb2_negotiate)), sizeof(smb2_negotiate));
	assert_int_equal(pdu_len(smb1_nt_create, sizeof(smb1_nt_create)), sizeof(smb1_nt_create));
	assert_int_equal(pdu_len(nb_session_request, sizeof(nb_session_request)), 72);
	assert_int_equal(pdu_len(nb_positive, sizeof(nb_positive)), 4);
	for (size_t n = 1; n < 4; n++) /* too short to tell */
		assert_int_equal(pdu_len(smb2_create, n), 0);
	for (size_t n = 4; n <= 8; n++) /* the length, then as much of the protocol id as there is */
		assert_int_equal(pdu_len(smb2_create, n), sizeof(smb2_create));
	assert_true(dissector_smb.max_pdu >= 4 + 0xffffff); /* an 8 MiB SMB3 write frames as one message */
	memcpy(buf, smb2_create, 8);
	buf[5] = 'X'; /* not an SMB protocol id */
	assert_int_equal(pdu_len(buf, 8), -1);
	buf[5] = 'S';
	buf[4] = 0x42;
	assert_int_equal(pdu_len(buf, 5), -1);
	memcpy(buf, "\x00\x00\x00\x0a\xfeSMB", 8); /* shorter than any SMB message */
	assert_int_equal(pdu_len(buf, 8), -1);
	assert_int_equal(pdu_len("\x86\x00\x00\x00", 4), -1);      /* not a session packet type */
	assert_int_equal(pdu_len("\x85\x02\x00\x00", 4), -1);      /* reserved flag bits */
	assert_int_equal(pdu_len("\x81\x01\x00\x44", 4), -1);      /* a control packet of 64 KiB */
	assert_int_equal(pdu_len("\x85\x00\x00\x00", 4), 4);       /* keep-alive */
	assert_int_equal(pdu_len("GET / HTTP/1.1\r\n", 16), -1);
}

static void test_smb2_exchange(void **s)
{
	(void)s;

	harness_init(&h, &dissector_smb);
	assert_int_equal(parse_dir(TO_SERVER, smb2_negotiate, sizeof(smb2_negotiate)), PROTO_OK);
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_CLIENT);
	assert_int_equal(h.ctx.dst_role, PROTO_ROLE_SERVER);
	assert_string_equal(names(), "");
	assert_int_equal(parse_dir(TO_SERVER, smb2_create_dir, sizeof(smb2_create_dir)), PROTO_OK);
	assert_int_equal(parse_dir(TO_SERVER, smb2_create, sizeof(smb2_create)), PROTO_OK);
	assert_string_equal(names(), "tools|Evil-Dropper.EXE");
	/* the response names nothing and says who the server is */
	assert_int_equal(parse_dir(TO_CLIENT, smb2_create_rsp, sizeof(smb2_create_rsp)), PROTO_OK);
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_SERVER);
	assert_int_equal(h.ctx.dst_role, PROTO_ROLE_CLIENT);
	assert_string_equal(names(), "tools|Evil-Dropper.EXE");
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, NULL), 0);
	assert_int_equal(harness_count(&h, PROTO_OBS_FUNCTION, NULL), 0);
}

static void test_smb1_exchange(void **s)
{
	(void)s;

	harness_init(&h, &dissector_smb);
	/* session set-up: valid, but no roles (it does not confirm SMB by itself) */
	assert_int_equal(parse_dir(TO_SERVER, nb_session_request, sizeof(nb_session_request)), PROTO_OK);
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_NONE);
	assert_int_equal(h.ctx.dst_role, PROTO_ROLE_NONE);
	assert_int_equal(parse_dir(TO_CLIENT, nb_positive, sizeof(nb_positive)), PROTO_OK);
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_NONE);
	assert_int_equal(parse_dir(TO_SERVER, smb1_negotiate, sizeof(smb1_negotiate)), PROTO_OK);
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_CLIENT);
	assert_int_equal(parse_dir(TO_SERVER, smb1_nt_create, sizeof(smb1_nt_create)), PROTO_OK);
	assert_string_equal(names(), "Stuxnet.dll");
	assert_int_equal(parse_dir(TO_CLIENT, smb1_nt_create_rsp, sizeof(smb1_nt_create_rsp)), PROTO_OK);
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_SERVER);
	assert_string_equal(names(), "Stuxnet.dll");
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, NULL), 0);
}

static void test_smb2_names(void **s)
{
	uint8_t msg[2048], u[1024];
	/* "Ünïcode-😀.exe": U+00DC, U+00EF, then U+1F600 as a surrogate pair */
	static const uint8_t intl[] = { 'd', 0, '\\', 0, 0xdc, 0, 'n', 0, 0xef, 0, 'c', 0, '-', 0, 0x3d, 0xd8, 0x00,
					0xde, '.', 0, 'e', 0, 'x', 0, 'e', 0 };
	/* an unpaired high surrogate, then "x" */
	static const uint8_t lone[] = { 0x3d, 0xd8, 'x', 0 };
	char longname[300];
	(void)s;

	harness_init(&h, &dissector_smb);
	assert_int_equal(parse_dir(TO_SERVER, msg, create_ascii(msg, "a/b\\c\\report.pdf:Zone.Identifier:$DATA")),
			 PROTO_OK);
	assert_int_equal(parse_dir(TO_SERVER, msg, create_named(msg, intl, sizeof(intl))), PROTO_OK);
	assert_int_equal(parse_dir(TO_SERVER, msg, create_named(msg, lone, sizeof(lone))), PROTO_OK);
	assert_string_equal(names(), "report.pdf|\xc3\x9cn\xc3\xaf" "c-\xf0\x9f\x98\x80.exe|\xef\xbf\xbdx");

	/* the share's root, a trailing separator, a name of 255 bytes and one of 256 */
	harness_init(&h, &dissector_smb);
	assert_int_equal(parse_dir(TO_SERVER, msg, create_named(msg, u, 0)), PROTO_OK);
	assert_int_equal(parse_dir(TO_SERVER, msg, create_ascii(msg, "dir\\")), PROTO_OK);
	memset(longname, 'a', sizeof(longname));
	longname[255] = 0;
	assert_int_equal(parse_dir(TO_SERVER, msg, create_ascii(msg, longname)), PROTO_OK);
	assert_int_equal(strlen(names()), 255);
	longname[255] = 'a';
	longname[256] = 0;
	assert_int_equal(parse_dir(TO_SERVER, msg, create_ascii(msg, longname)), PROTO_OK);
	assert_int_equal(strlen(names()), 255); /* too long to be any indicator's: not reported */
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, NULL), 0);
}

/* Two CREATE requests in one compound message (MS-SMB2 3.2.4.1.4): the first padded to 8 bytes. */
static void test_smb2_compound(void **s)
{
	uint8_t a[512], b[512], msg[1024];
	size_t na = create_ascii(a, "first.txt") - 4, nb = create_ascii(b, "second.bin") - 4, pad = (8 - na % 8) % 8;
	(void)s;

	memcpy(msg + 4, a + 4, na);
	memset(msg + 4 + na, 0, pad);
	msg[4 + 20] = (uint8_t)(na + pad); /* NextCommand */
	memcpy(msg + 4 + na + pad, b + 4, nb);
	msg[0] = 0;
	put24(msg, na + pad + nb);
	harness_init(&h, &dissector_smb);
	assert_int_equal(pdu_len(msg, 4 + na + pad + nb), (long)(4 + na + pad + nb));
	assert_int_equal(parse_dir(TO_SERVER, msg, 4 + na + pad + nb), PROTO_OK);
	assert_string_equal(names(), "first.txt|second.bin");

	/* NextCommand not 8-aligned, or past the end */
	msg[4 + 20] = (uint8_t)(na + pad + 1);
	harness_init(&h, &dissector_smb);
	assert_int_equal(parse_dir(TO_SERVER, msg, 4 + na + pad + nb), PROTO_MALFORMED);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "bad_length"), 1);
	msg[4 + 20] = 0;
	msg[4 + 21] = 0x10;
	harness_init(&h, &dissector_smb);
	assert_int_equal(parse_dir(TO_SERVER, msg, 4 + na + pad + nb), PROTO_MALFORMED);
}

/* An SMB1 request built on the real header: the command, Flags2, then WordCount/words/ByteCount/bytes blocks
 * given as raw bytes. */
static size_t smb1_request(uint8_t *out, uint8_t cmd, bool unicode, const void *blocks, size_t n)
{
	memcpy(out, smb1_nt_create, 4 + 32);
	out[4 + 4] = cmd;
	if (!unicode)
		out[4 + 11] &= 0x7f; /* Flags2 high byte: SMB_FLAGS2_UNICODE off */
	memcpy(out + 4 + 32, blocks, n);
	put24(out, 32 + n);
	return 4 + 32 + n;
}

static void test_smb1_opens(void **s)
{
	uint8_t msg[512];
	/* OPEN_ANDX (OEM): WordCount 15, AndX none, 26 more bytes of words, ByteCount, "\\PLC\\Proj.S7P" */
	static const uint8_t open_andx[] = { 15, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					     0, 0, 0, 0, 0, 0, 0, 0, 14, 0, '\\', 'P', 'L', 'C', '\\', 'P', 'r', 'o', 'j',
					     '.', 'S', '7', 'P', 0 };
	/* OPEN (Unicode): WordCount 2, ByteCount, BufferFormat 0x04 at offset 39 of the message, so the name is
	 * 2-aligned without padding */
	static const uint8_t open_uni[] = { 2, 0, 0, 0, 0, 13, 0, 0x04, 'a', 0, '.', 0, 'b', 0, 'a', 0, 't', 0, 0, 0 };
	/* TREE_CONNECT_ANDX (words: AndX -> NT_CREATE_ANDX at offset 43, flags, password length), no bytes;
	 * then an NT_CREATE_ANDX with an OEM name "x.ps1" (NameLength 5) */
	uint8_t chain[128] = { 4, 0xa2, 0, 43, 0, 0, 0, 0, 0, 0, 0, 24 };
	size_t n = 11;
	(void)s;

	harness_init(&h, &dissector_smb);
	assert_int_equal(parse_dir(TO_SERVER, msg, smb1_request(msg, 0x2d, false, open_andx, sizeof(open_andx))),
			 PROTO_OK);
	assert_int_equal(parse_dir(TO_SERVER, msg, smb1_request(msg, 0x02, true, open_uni, sizeof(open_uni))),
			 PROTO_OK);
	memset(chain + n + 1, 0, 48);
	chain[n + 1] = 0xff; /* AndXCommand: none */
	chain[n + 6] = 5;    /* NameLength */
	n += 1 + 48;
	chain[n++] = 5;
	chain[n++] = 0;
	memcpy(chain + n, "x.ps1", 5);
	n += 5;
	assert_int_equal(parse_dir(TO_SERVER, msg, smb1_request(msg, 0x75, false, chain, n)), PROTO_OK);
	assert_string_equal(names(), "Proj.S7P|a.bat|x.ps1");
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, NULL), 0);

	/* an AndX offset that does not move forward */
	chain[3] = 20;
	assert_int_equal(parse_dir(TO_SERVER, msg, smb1_request(msg, 0x75, false, chain, n)), PROTO_MALFORMED);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "bad_length"), 1);
	/* NT_CREATE_ANDX with the wrong WordCount */
	chain[3] = 43;
	chain[n - 5 - 2 - 48 - 1] = 23;
	assert_int_equal(parse_dir(TO_SERVER, msg, smb1_request(msg, 0x75, false, chain, n)), PROTO_MALFORMED);
	/* a ByteCount beyond the message */
	assert_int_equal(parse_dir(TO_SERVER, msg, smb1_request(msg, 0x2d, false, open_andx, sizeof(open_andx) - 3)),
			 PROTO_MALFORMED);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "truncated"), 1);
}

static void test_malformed(void **s)
{
	uint8_t msg[512];
	size_t n;
	(void)s;

	harness_init(&h, &dissector_smb);
	/* NameOffset past the message */
	n = create_ascii(msg, "x.exe");
	msg[4 + 64 + 44] = 0xf0;
	assert_int_equal(parse_dir(TO_SERVER, msg, n), PROTO_MALFORMED);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "bad_length"), 1);
	/* NameOffset inside the fixed part */
	msg[4 + 64 + 44] = 0x40;
	assert_int_equal(parse_dir(TO_SERVER, msg, n), PROTO_MALFORMED);
	/* an odd NameLength */
	n = create_ascii(msg, "x.exe");
	msg[4 + 64 + 46] = 9;
	assert_int_equal(parse_dir(TO_SERVER, msg, n), PROTO_MALFORMED);
	/* StructureSize of the header, and of the CREATE request */
	n = create_ascii(msg, "x.exe");
	msg[4 + 4] = 0x41;
	assert_int_equal(parse_dir(TO_SERVER, msg, n), PROTO_MALFORMED);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "bad_header"), 1);
	n = create_ascii(msg, "x.exe");
	msg[4 + 64] = 0x38;
	assert_int_equal(parse_dir(TO_SERVER, msg, n), PROTO_MALFORMED);
	/* an SMB2 header cut short, and an unknown command */
	assert_int_equal(parse_dir(TO_SERVER, smb2_create, 4 + 40), PROTO_MALFORMED);
	n = create_ascii(msg, "x.exe");
	msg[4 + 12] = 0x13;
	assert_int_equal(parse_dir(TO_SERVER, msg, n), PROTO_OK);
	assert_int_equal(harness_count(&h, PROTO_OBS_VIOLATION, "illegal_function"), 1);
	assert_string_equal(names(), "");
	/* not SMB at all, and SMB3 encrypted */
	assert_int_equal(parse_dir(TO_SERVER, "GET / HTTP/1.1\r\n\r\n", 18), PROTO_NOT_MINE);
	memset(msg, 0, 4 + 52);
	memcpy(msg + 4, "\xfdSMB", 4);
	put24(msg, 52);
	assert_int_equal(parse_dir(TO_CLIENT, msg, 4 + 52), PROTO_OK);
	assert_int_equal(h.ctx.src_role, PROTO_ROLE_DEFAULT);
}

/* Every prefix of the real requests: framing never overreads and parsing never crashes. */
static void test_prefixes(void **s)
{
	const struct {
		const uint8_t *p;
		size_t n;
	} msgs[] = { { smb2_create, sizeof(smb2_create) }, { smb1_nt_create, sizeof(smb1_nt_create) },
		     { smb2_negotiate, sizeof(smb2_negotiate) }, { nb_session_request, sizeof(nb_session_request) } };
	(void)s;

	for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
		for (size_t n = 1; n <= msgs[m].n; n++) {
			uint8_t *copy = malloc(n); /* exactly n bytes: ASan sees any overread */
			long l;
			assert_non_null(copy);
			memcpy(copy, msgs[m].p, n);
			l = pdu_len(copy, n);
			assert_true(l == 0 || l == (long)msgs[m].n);
			harness_init(&h, &dissector_smb);
			(void)parse_dir(TO_SERVER, copy, n);
			free(copy);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing),     cmocka_unit_test(test_smb2_exchange),
		cmocka_unit_test(test_smb1_exchange), cmocka_unit_test(test_smb2_names),
		cmocka_unit_test(test_smb2_compound), cmocka_unit_test(test_smb1_opens),
		cmocka_unit_test(test_malformed),   cmocka_unit_test(test_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
