/* IEC 60870-5-104: the APCI (start 0x68, length, four control octets in I, S or U format) and, in I-format
 * APDUs, the ASDU header of IEC 60870-5-101 with the 104 field sizes (IEC 60870-5-104 clause 9: two-octet
 * cause of transmission, two-octet common address, three-octet information object address).
 *
 * Every type id is reported as a function under its standard name. The ASDU length is checked against the
 * number of information objects times the element size of the type (IEC 60870-5-101 clause 7.3), and the
 * send sequence numbers N(S) of each direction must count up by one. */
#include <stdio.h>

#include "common/cursor.h"
#include "sensor-agent/dissect/proto.h"

#define IEC104_START 0x68
#define IEC104_MIN_LEN 4     /* the length octet counts the control field and the ASDU */
#define IEC104_MAX_LEN 253
#define IEC104_ASDU_HDR 6    /* type id, variable structure qualifier, COT (2), common address (2) */
#define IEC104_IOA 3
#define IEC104_VAR 0xff      /* element of variable size (file segment) */

/* U-format functions: the first control octet, other three zero. Reported as 0x100 | octet. */
#define IEC104_U_STARTDT_ACT 0x07
#define IEC104_U_STARTDT_CON 0x0b
#define IEC104_U_STOPDT_ACT 0x13
#define IEC104_U_STOPDT_CON 0x23
#define IEC104_U_TESTFR_ACT 0x43
#define IEC104_U_TESTFR_CON 0x83
#define IEC104_U_CODE(cf1) (0x100u | (cf1))

/* Causes of transmission (IEC 60870-5-101 7.2.3). */
enum {
	IEC104_COT_ACT = 6,
	IEC104_COT_ACTCON = 7,
	IEC104_COT_DEACT = 8,
	IEC104_COT_DEACTCON = 9,
	IEC104_COT_UNKNOWN_TYPE = 44,
	IEC104_COT_UNKNOWN_IOA = 47,
};
#define IEC104_COT_PN 0x40

enum { IEC104_MONITOR = 1, IEC104_CONTROL, IEC104_FILE };

enum {
	IEC104_C_CS_NA_1 = 103,
	IEC104_C_RP_NA_1 = 105,
	IEC104_F_FR_NA_1 = 120,
	IEC104_F_SC_NA_1 = 122,
};

struct iec104_type {
	const char *name;
	uint8_t size; /* information element bytes after the object address (IEC104_VAR: variable) */
	uint8_t dir;  /* IEC104_MONITOR: sent by the controlled station; CONTROL: commands and their replies */
};

/* IEC 60870-5-101/104 type identifications and their information element sizes: process information in
 * monitor direction (1-40), in control direction (45-64), system information (70, 100-107), parameters
 * (110-113) and file transfer (120-127). Time tags are CP24Time2a (3 bytes) or CP56Time2a (7 bytes). */
#define M(n, s) { n, s, IEC104_MONITOR }
#define C(n, s) { n, s, IEC104_CONTROL }
#define F(n, s) { n, s, IEC104_FILE }
static const struct iec104_type iec104_types[128] = {
	[1] = M("M_SP_NA_1", 1),   [2] = M("M_SP_TA_1", 4),   [3] = M("M_DP_NA_1", 1),   [4] = M("M_DP_TA_1", 4),
	[5] = M("M_ST_NA_1", 2),   [6] = M("M_ST_TA_1", 5),   [7] = M("M_BO_NA_1", 5),   [8] = M("M_BO_TA_1", 8),
	[9] = M("M_ME_NA_1", 3),   [10] = M("M_ME_TA_1", 6),  [11] = M("M_ME_NB_1", 3),  [12] = M("M_ME_TB_1", 6),
	[13] = M("M_ME_NC_1", 5),  [14] = M("M_ME_TC_1", 8),  [15] = M("M_IT_NA_1", 5),  [16] = M("M_IT_TA_1", 8),
	[17] = M("M_EP_TA_1", 6),  [18] = M("M_EP_TB_1", 7),  [19] = M("M_EP_TC_1", 7),  [20] = M("M_PS_NA_1", 5),
	[21] = M("M_ME_ND_1", 2),
	[30] = M("M_SP_TB_1", 8),  [31] = M("M_DP_TB_1", 8),  [32] = M("M_ST_TB_1", 9),  [33] = M("M_BO_TB_1", 12),
	[34] = M("M_ME_TD_1", 10), [35] = M("M_ME_TE_1", 10), [36] = M("M_ME_TF_1", 12), [37] = M("M_IT_TB_1", 12),
	[38] = M("M_EP_TD_1", 10), [39] = M("M_EP_TE_1", 11), [40] = M("M_EP_TF_1", 11),
	[45] = C("C_SC_NA_1", 1),  [46] = C("C_DC_NA_1", 1),  [47] = C("C_RC_NA_1", 1),  [48] = C("C_SE_NA_1", 3),
	[49] = C("C_SE_NB_1", 3),  [50] = C("C_SE_NC_1", 5),  [51] = C("C_BO_NA_1", 4),
	[58] = C("C_SC_TA_1", 8),  [59] = C("C_DC_TA_1", 8),  [60] = C("C_RC_TA_1", 8),  [61] = C("C_SE_TA_1", 10),
	[62] = C("C_SE_TB_1", 10), [63] = C("C_SE_TC_1", 12), [64] = C("C_BO_TA_1", 11),
	[70] = M("M_EI_NA_1", 1),
	[100] = C("C_IC_NA_1", 1), [101] = C("C_CI_NA_1", 1), [102] = C("C_RD_NA_1", 0), [103] = C("C_CS_NA_1", 7),
	[104] = C("C_TS_NA_1", 2), [105] = C("C_RP_NA_1", 1), [106] = C("C_CD_NA_1", 2), [107] = C("C_TS_TA_1", 9),
	[110] = C("P_ME_NA_1", 3), [111] = C("P_ME_NB_1", 3), [112] = C("P_ME_NC_1", 5), [113] = C("P_AC_NA_1", 1),
	[120] = F("F_FR_NA_1", 6), [121] = F("F_SR_NA_1", 7), [122] = F("F_SC_NA_1", 4), [123] = F("F_LS_NA_1", 5),
	[124] = F("F_AF_NA_1", 4), [125] = F("F_SG_NA_1", IEC104_VAR), [126] = F("F_DR_TA_1", 13),
	[127] = F("F_SC_NB_1", 16),
};
#undef M
#undef C
#undef F

/* Negative replies of the controlled station (COT 44-47). */
static const char *const iec104_cot_errors[4] = {
	"unknown_type_id", "unknown_cause_of_transmission", "unknown_common_address", "unknown_object_address",
};

struct iec104_dir_state {
	uint16_t next_ns; /* the N(S) the next I-format APDU must carry */
	uint8_t seen;     /* an I-format APDU was seen in this direction */
};

struct iec104_state {
	struct iec104_dir_state dir[2];
};

static long iec104_pdu_len(const uint8_t *p, size_t len)
{
	if (p[0] != IEC104_START)
		return -1;
	if (len < 2)
		return 0;
	if (p[1] < IEC104_MIN_LEN || p[1] > IEC104_MAX_LEN)
		return -1;
	return 2 + (long)p[1];
}

static enum proto_result iec104_malformed(struct proto_ctx *ctx, const char *name, const char *detail)
{
	proto_violation(ctx, name, detail);
	return PROTO_MALFORMED;
}

static void iec104_roles(struct proto_ctx *ctx, bool from_controlling)
{
	ctx->src_role = from_controlling ? PROTO_ROLE_CLIENT : PROTO_ROLE_SERVER;
	ctx->dst_role = from_controlling ? PROTO_ROLE_SERVER : PROTO_ROLE_CLIENT;
}

/* Causes 1-13, 20-41 and 44-47 are defined and 48-63 are the private range; 0 is not used and 14-19 and
 * 42-43 are reserved. */
static bool iec104_cot_valid(uint8_t cot)
{
	return (cot >= 1 && cot <= 13) || (cot >= 20 && cot <= 41) || cot >= 44;
}

static void iec104_events(struct proto_ctx *ctx, uint8_t type, uint8_t cot, const uint8_t *elem)
{
	char detail[32];

	if (type == IEC104_F_FR_NA_1 || type == IEC104_F_SC_NA_1) {
		proto_event(ctx, "file_operation", iec104_types[type].name);
		return;
	}
	if (cot != IEC104_COT_ACT)
		return;
	if (type == IEC104_C_CS_NA_1) {
		proto_event(ctx, "time_sync", "C_CS_NA_1");
	} else if (type == IEC104_C_RP_NA_1) {
		/* QRP 1: general reset of process; 2: reset of pending information with time tag of the event
		 * buffer (IEC 60870-5-101 7.2.6.27). */
		snprintf(detail, sizeof(detail), "C_RP_NA_1 qrp %u", elem[0]);
		proto_event(ctx, elem[0] == 1 ? "cold_restart" : "warm_restart", detail);
	}
}

static enum proto_result iec104_asdu(struct proto_ctx *ctx, const uint8_t *a, size_t n)
{
	const struct iec104_type *t;
	uint8_t type, vsq, cot, count;
	size_t body, need;
	char detail[64];

	if (n < IEC104_ASDU_HDR)
		return iec104_malformed(ctx, "bad_length", "asdu header");
	type = a[0];
	vsq = a[1];
	cot = a[2] & 0x3f;
	t = type < 128 ? &iec104_types[type] : NULL;
	if (!t || !t->name) {
		snprintf(detail, sizeof(detail), "type id %u", type);
		proto_violation(ctx, "illegal_function", detail);
		return PROTO_OK;
	}
	proto_function(ctx, type, t->name);
	if (t->dir == IEC104_MONITOR)
		iec104_roles(ctx, false);
	else if (t->dir == IEC104_CONTROL)
		iec104_roles(ctx, cot == IEC104_COT_ACT || cot == IEC104_COT_DEACT);
	if (!iec104_cot_valid(cot)) {
		snprintf(detail, sizeof(detail), "%s: cause %u", t->name, cot);
		proto_violation(ctx, "bad_cause", detail);
	} else if (cot >= IEC104_COT_UNKNOWN_TYPE && cot <= IEC104_COT_UNKNOWN_IOA) {
		snprintf(detail, sizeof(detail), "%s: %s", t->name, iec104_cot_errors[cot - IEC104_COT_UNKNOWN_TYPE]);
		proto_event(ctx, "exception_response", detail);
	} else if ((a[2] & IEC104_COT_PN) && (cot == IEC104_COT_ACTCON || cot == IEC104_COT_DEACTCON)) {
		snprintf(detail, sizeof(detail), "%s: negative confirmation", t->name);
		proto_event(ctx, "exception_response", detail);
	}
	/* SQ=0: count objects, each with its own address; SQ=1: one address, then count elements. */
	count = vsq & 0x7f;
	body = n - IEC104_ASDU_HDR;
	if (count == 0)
		return iec104_malformed(ctx, "bad_length", t->name);
	if (t->size != IEC104_VAR) {
		need = (vsq & 0x80) ? IEC104_IOA + (size_t)count * t->size : (size_t)count * (IEC104_IOA + t->size);
		if (body != need)
			return iec104_malformed(ctx, "bad_length", t->name);
	} else if (body < IEC104_IOA) {
		return iec104_malformed(ctx, "bad_length", t->name);
	}
	if (t->size != IEC104_VAR && t->size >= 1)
		iec104_events(ctx, type, cot, a + IEC104_ASDU_HDR + IEC104_IOA);
	return PROTO_OK;
}

static enum proto_result iec104_u_frame(struct proto_ctx *ctx, const uint8_t *cf)
{
	static const struct {
		uint8_t cf1;
		const char *name;
		uint8_t role; /* 1: sent by the controlling station, 2: by the controlled one, 0: either */
	} u[] = {
		{ IEC104_U_STARTDT_ACT, "startdt_act", 1 }, { IEC104_U_STARTDT_CON, "startdt_con", 2 },
		{ IEC104_U_STOPDT_ACT, "stopdt_act", 1 },   { IEC104_U_STOPDT_CON, "stopdt_con", 2 },
		{ IEC104_U_TESTFR_ACT, "testfr_act", 0 },   { IEC104_U_TESTFR_CON, "testfr_con", 0 },
	};

	if (cf[1] || cf[2] || cf[3])
		return iec104_malformed(ctx, "bad_header", "u-format control field");
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		if (u[i].cf1 != cf[0])
			continue;
		proto_function(ctx, IEC104_U_CODE(cf[0]), u[i].name);
		if (u[i].role)
			iec104_roles(ctx, u[i].role == 1);
		return PROTO_OK;
	}
	proto_violation(ctx, "illegal_function", "u-format function");
	return PROTO_OK;
}

static void iec104_sequence(struct iec104_state *st, struct proto_ctx *ctx, uint16_t ns)
{
	struct iec104_dir_state *d = &st->dir[ctx->dir & 1];
	char detail[48];

	if (d->seen && ns != d->next_ns) {
		snprintf(detail, sizeof(detail), "N(S) %u, expected %u", ns, d->next_ns);
		proto_violation(ctx, "bad_sequence", detail);
	}
	d->seen = 1;
	d->next_ns = (uint16_t)((ns + 1) & 0x7fff);
}

static enum proto_result iec104_parse(void *state, struct proto_ctx *ctx, const uint8_t *p, size_t len)
{
	struct iec104_state *st = state;
	struct cursor c;
	uint8_t start, l;
	const uint8_t *cf;

	cursor_init(&c, p, len);
	if (!cursor_u8(&c, &start) || start != IEC104_START)
		return PROTO_NOT_MINE;
	if (!cursor_u8(&c, &l) || !cursor_bytes(&c, 4, &cf))
		return iec104_malformed(ctx, "truncated", "apci");
	if (l < IEC104_MIN_LEN || l > IEC104_MAX_LEN || (size_t)l + 2 != len)
		return iec104_malformed(ctx, "bad_length", "apci");
	if (!(cf[0] & 0x01)) {
		/* I format: N(S) in octets 1-2, N(R) in octets 3-4, both shifted left by one. */
		if (cf[2] & 0x01)
			return iec104_malformed(ctx, "bad_header", "i-format control field");
		if (st)
			iec104_sequence(st, ctx, (uint16_t)(cf[0] >> 1 | cf[1] << 7));
		return iec104_asdu(ctx, cursor_ptr(&c), cursor_remaining(&c));
	}
	if (l != IEC104_MIN_LEN)
		return iec104_malformed(ctx, "bad_length", (cf[0] & 0x03) == 0x01 ? "s-format apdu" : "u-format apdu");
	if ((cf[0] & 0x03) == 0x01) {
		if (cf[0] != 0x01 || cf[1] || (cf[2] & 0x01))
			return iec104_malformed(ctx, "bad_header", "s-format control field");
		return PROTO_OK;
	}
	return iec104_u_frame(ctx, cf);
}

const struct dissector dissector_iec104 = {
	.name = "iec60870_104",
	.state_size = sizeof(struct iec104_state),
	.pdu_len = iec104_pdu_len,
	.parse = iec104_parse,
	.max_pdu = 2 + IEC104_MAX_LEN,
};
