/* S7comm-plus (the S7-1200/1500 engineering protocol) on port 102, kept simple: the engineering workstation
 * connects to every S7-1500 with the string TSAP "SIMATIC-ROOT-ES", creates a session (CreateObject, frame
 * version 1), whose response carries the CPU's ServerSessionVersion "1;<order number> ;V<major.minor>", then
 * sets the session up and reads a few variables with integrity-protected (version 3) frames and deletes the
 * session. Frame: 0x72, version, data length, data, trailer 0x72 version 0x0000. The object encoding inside
 * the data is a plausible subset; stock Wireshark has no S7comm-plus dissector and shows the COTP data. */
#include <stdio.h>
#include <string.h>

#include "tools/plantsim/ot_s7.h"
#include "tools/plantsim/sim.h"

#define S7P_REQUEST 0x31
#define S7P_RESPONSE 0x32
#define S7P_CREATE_OBJECT 0x04ca
#define S7P_DELETE_OBJECT 0x04d4
#define S7P_SET_MULTI_VARS 0x0542
#define S7P_GET_MULTI_VARS 0x054c
#define S7P_EXPLORE 0x04bb
#define S7P_NULL_SESSION 0x00000120u

/* Unsigned variable-length quantity: 7 bits per byte, most significant group first, high bit = more. */
static void vlq(struct wbuf *b, uint32_t v)
{
	uint8_t tmp[5];
	int n = 0;

	do {
		tmp[n++] = (uint8_t)(v & 0x7f);
		v >>= 7;
	} while (v && n < 5);
	while (n-- > 0)
		wbuf_u8(b, (uint8_t)(tmp[n] | (n ? 0x80 : 0)));
}

/* A WString attribute value: item flags, datatype 0x15 (WString), VLQ length, bytes. */
static void wstring(struct wbuf *b, const char *s)
{
	wbuf_u8(b, 0x00);
	wbuf_u8(b, 0x15);
	vlq(b, (uint32_t)strlen(s));
	wbuf_bytes(b, s, strlen(s));
}

struct s7p_frame {
	size_t tpkt, len_at;
};

static void frame_begin(struct wbuf *b, struct s7p_frame *f, uint8_t version, struct sim_session *s)
{
	f->tpkt = tpkt_begin(b);
	wbuf_u8(b, 2);
	wbuf_u8(b, 0xf0);
	wbuf_u8(b, 0x80);
	wbuf_u8(b, 0x72);
	wbuf_u8(b, version);
	f->len_at = b->len;
	wbuf_u16(b, 0);
	if (version == 3) {
		/* Integrity part: digest length and a 32-byte digest. */
		wbuf_u8(b, 32);
		for (int i = 0; i < 32; i++)
			wbuf_u8(b, (uint8_t)prng_next(&s->rng));
	}
}

static void frame_end(struct wbuf *b, struct s7p_frame *f, uint8_t version)
{
	wbuf_patch16(b, f->len_at, (uint16_t)(b->len - f->len_at - 2));
	wbuf_u8(b, 0x72);
	wbuf_u8(b, version);
	wbuf_u16(b, 0);
	tpkt_end(b, f->tpkt);
}

static void pdu_head(struct wbuf *b, uint8_t opcode, uint16_t fn, uint16_t seq, uint32_t session)
{
	wbuf_u8(b, opcode);
	wbuf_u16(b, 0);
	wbuf_u16(b, fn);
	wbuf_u16(b, 0);
	wbuf_u16(b, seq);
	if (opcode == S7P_REQUEST)
		wbuf_u32(b, session);
	wbuf_u8(b, opcode == S7P_REQUEST ? 0x36 : 0x00);    /* transport flags */
}

enum { V_SEQ, V_SESSION };

static bool s7plus_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	static const uint8_t cli_tsap[2] = { 0x06, 0x00 };
	static const char srv_tsap[] = "SIMATIC-ROOT-ES";
	static const uint16_t plan[] = { 0, S7P_CREATE_OBJECT, S7P_SET_MULTI_VARS, S7P_EXPLORE, S7P_GET_MULTI_VARS,
		S7P_GET_MULTI_VARS, S7P_DELETE_OBJECT };
	const struct plant_host *plc = sim_host(t, s->b);
	unsigned i = s->n / 2;
	bool reply = s->n % 2 == 1;
	uint8_t version = i == 1 ? 1 : 3;
	struct s7p_frame f;
	char ver[64];
	uint16_t fn;
	unsigned major = 0, minor = 0;

	if (i >= sizeof(plan) / sizeof(plan[0]))
		return false;
	m->from_server = reply;
	m->gap_us = reply ? sim_us(s, 800, 12000) : sim_ms(s, 20, 300);
	if (i == 0) {
		if (!reply)
			s->v[V_SEQ] = (uint32_t)prng_range(&s->rng, 1, 0x7fff);
		s7_cotp_connect(b, reply, reply ? 0x0001 : 0, reply ? 0x1001 : 0x0001, cli_tsap, 2, srv_tsap,
			sizeof(srv_tsap) - 1);
		return true;
	}
	fn = plan[i];
	frame_begin(b, &f, version, s);
	if (!reply) {
		pdu_head(b, S7P_REQUEST, fn, (uint16_t)++s->v[V_SEQ], i == 1 ? S7P_NULL_SESSION : s->v[V_SESSION]);
		if (fn == S7P_CREATE_OBJECT) {
			wbuf_u8(b, 0xa1);                /* object start: relation, class ServerSession */
			wbuf_u32(b, S7P_NULL_SESSION);
			vlq(b, 287);
			vlq(b, 0);
			wbuf_u8(b, 0xa3);                /* attribute: client name */
			vlq(b, 233);
			wstring(b, "TIA Portal V17 - EWS");
			wbuf_u8(b, 0xa2);                /* object end */
		} else if (fn == S7P_GET_MULTI_VARS || fn == S7P_EXPLORE) {
			vlq(b, s->v[V_SESSION]);
			vlq(b, (uint32_t)prng_range(&s->rng, 1, 8));     /* item count */
			for (int k = 0; k < 4; k++)
				vlq(b, (uint32_t)prng_range(&s->rng, 0x100, 0x9000));
		} else {
			vlq(b, s->v[V_SESSION]);
		}
		wbuf_u32(b, 0);
	} else {
		pdu_head(b, S7P_RESPONSE, fn, (uint16_t)s->v[V_SEQ], 0);
		vlq(b, 0);                           /* return value: OK */
		if (fn == S7P_CREATE_OBJECT) {
			s->v[V_SESSION] = 0x3e0 + (uint32_t)prng_range(&s->rng, 0, 0x1f);
			wbuf_u8(b, 1);                   /* object ids */
			vlq(b, s->v[V_SESSION]);
			sscanf(plc->model->firmware + (plc->model->firmware[0] == 'V'), "%u.%u", &major, &minor);
			snprintf(ver, sizeof(ver), "1;%s ;V%u.%u", plc->model->order_number ? plc->model->order_number : "",
				major, minor);
			wbuf_u8(b, 0xa1);
			wbuf_u32(b, s->v[V_SESSION]);
			vlq(b, 287);
			vlq(b, 0);
			sim_reveal(t, s->b, PP_S7COMM_PLUS, PF_BIT(PF_ORDER_NUMBER));
			wbuf_u8(b, 0xa3);                /* attribute 306: ServerSessionVersion */
			vlq(b, 306);
			wstring(b, ver);
			wbuf_u8(b, 0xa2);
		} else if (fn == S7P_GET_MULTI_VARS || fn == S7P_EXPLORE) {
			for (int k = 0; k < 6; k++)
				vlq(b, (uint32_t)prng_next(&s->rng) & 0xfffff);
		}
		wbuf_u32(b, 0);
	}
	frame_end(b, &f, version);
	return true;
}

static const struct tcp_app app_s7plus = { PP_S7COMM_PLUS, 102, false, 600000, 1200000, s7plus_script };

int s7plus_spawn(struct sim *t)
{
	const struct plant *p = t->plant;
	unsigned ews = plant_find(p, ROLE_EWS);
	struct sim_session *s;
	int r;

	if (ews >= p->n_hosts)
		return 0;
	for (unsigned j = 0; j < p->n_hosts; j++) {
		if (!(p->hosts[j].model->serves & PP_BIT(PP_S7COMM_PLUS)))
			continue;
		r = tcp_add(t, &app_s7plus, ews, j, 0, &s);
		if (r < 0)
			return r;
		s->at = t->start + sim_ms(s, 5000, 12000);
	}
	return 0;
}
