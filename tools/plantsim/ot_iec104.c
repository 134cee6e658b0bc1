/* IEC 104 between the SCADA master (controlling station) and every IEC 104 RTU (controlled station), one
 * long-lived connection each: STARTDT, end of initialisation (first connection), general interrogation
 * (activation confirmation, single points, double points, measured floats and the termination in one
 * segment), clock synchronisation, then spontaneous measurements with time tags acknowledged by S-frames
 * (at the latest after w = 8 I-frames), and over the first minute (then every so often) a single command and
 * a double command (select, then execute), a TESTFR exchange and a new interrogation. */
#include "tools/plantsim/ot_iec104.h"

#include <string.h>
#include <time.h>

#include "tools/plantsim/sim.h"

void iec104_u(struct wbuf *b, uint8_t fn)
{
	const uint8_t apdu[6] = { 0x68, 4, fn, 0, 0, 0 };
	wbuf_bytes(b, apdu, sizeof(apdu));
}

void iec104_s(struct wbuf *b, uint16_t nr)
{
	const uint8_t apdu[6] = { 0x68, 4, 0x01, 0, (uint8_t)(nr << 1), (uint8_t)(nr >> 7) };
	wbuf_bytes(b, apdu, sizeof(apdu));
}

size_t iec104_i_begin(struct wbuf *b, uint16_t ns, uint16_t nr, uint8_t type, uint8_t vsq, uint8_t cot, uint16_t ca)
{
	size_t at = b->len;

	wbuf_u8(b, 0x68);
	wbuf_u8(b, 0);
	wbuf_u8(b, (uint8_t)(ns << 1));
	wbuf_u8(b, (uint8_t)(ns >> 7));
	wbuf_u8(b, (uint8_t)(nr << 1));
	wbuf_u8(b, (uint8_t)(nr >> 7));
	wbuf_u8(b, type);
	wbuf_u8(b, vsq);
	wbuf_u8(b, cot);
	wbuf_u8(b, 0);          /* originator address */
	wbuf_u16le(b, ca);
	return at;
}

void iec104_i_end(struct wbuf *b, size_t at)
{
	if (!b->overflow)
		b->p[at + 1] = (uint8_t)(b->len - at - 2);
}

void iec104_ioa(struct wbuf *b, uint32_t ioa)
{
	wbuf_u8(b, (uint8_t)ioa);
	wbuf_u8(b, (uint8_t)(ioa >> 8));
	wbuf_u8(b, (uint8_t)(ioa >> 16));
}

void iec104_cp56(struct wbuf *b, uint64_t usec)
{
	time_t secs = (time_t)(usec / 1000000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	wbuf_u16le(b, (uint16_t)(tm.tm_sec * 1000 + (int)(usec / 1000 % 1000)));
	wbuf_u8(b, (uint8_t)tm.tm_min);
	wbuf_u8(b, (uint8_t)tm.tm_hour);
	wbuf_u8(b, (uint8_t)(tm.tm_mday | ((tm.tm_wday ? tm.tm_wday : 7) << 5)));
	wbuf_u8(b, (uint8_t)(tm.tm_mon + 1));
	wbuf_u8(b, (uint8_t)(tm.tm_year % 100));
}

static void float_le(struct wbuf *b, float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	wbuf_u32le(b, u);
}

/* ---- Session ----------------------------------------------------------------------------------- */

enum act { ACT_STARTDT, ACT_INIT, ACT_GI, ACT_CLOCK, ACT_SPONT, ACT_ACK, ACT_SC, ACT_DC, ACT_TESTFR };

static unsigned act_len(enum act a)
{
	switch (a) {
	case ACT_INIT:
	case ACT_SPONT:
	case ACT_ACK: return 1;
	case ACT_SC:
	case ACT_DC: return 4;
	default: return 2;
	}
}

static const struct { uint8_t act; uint16_t at_s; uint32_t again_s; } specials[] = {
	{ ACT_SC, 26, 900 }, { ACT_DC, 38, 1200 }, { ACT_TESTFR, 46, 600 }, { ACT_GI, 55, 900 },
};

enum { V_MNS, V_RNS, V_UNACKED, V_STEP, V_SPECIAL, V_STARTED = 6, V_DUE0 = 8 };
#define N_SPECIALS (sizeof(specials) / sizeof(specials[0]))
#define W_ACK 8

static uint16_t common_address(const struct plant_host *h) { return (uint16_t)(h->address - 9); }

/* RTU I-frame: its N(S) and N(R) = the master's sent count. */
static size_t rtu_i(struct sim_session *s, struct wbuf *b, uint8_t type, uint8_t vsq, uint8_t cot, uint16_t ca)
{
	s->v[V_UNACKED]++;
	return iec104_i_begin(b, (uint16_t)(s->v[V_RNS]++ & 0x7fff), (uint16_t)(s->v[V_MNS] & 0x7fff), type, vsq, cot,
		ca);
}

static size_t master_i(struct sim_session *s, struct wbuf *b, uint8_t type, uint8_t cot, uint16_t ca)
{
	s->v[V_UNACKED] = 0;
	return iec104_i_begin(b, (uint16_t)(s->v[V_MNS]++ & 0x7fff), (uint16_t)(s->v[V_RNS] & 0x7fff), type, 1, cot,
		ca);
}

static void interrogation_reply(struct sim *t, struct sim_session *s, struct wbuf *b, uint16_t ca)
{
	uint64_t minute = (s->at - t->start) / (60 * USEC_PER_SEC);
	size_t at;

	at = rtu_i(s, b, IEC104_C_IC_NA_1, 1, IEC104_COT_ACTCON, ca);
	iec104_ioa(b, 0);
	wbuf_u8(b, 20);
	iec104_i_end(b, at);
	at = rtu_i(s, b, IEC104_M_SP_NA_1, 0x80 | 16, IEC104_COT_INROGEN, ca);
	iec104_ioa(b, 1001);
	for (unsigned i = 0; i < 16; i++)
		wbuf_u8(b, (uint8_t)(((i * 5 + minute) & 4) ? 1 : 0));
	iec104_i_end(b, at);
	at = rtu_i(s, b, IEC104_M_DP_NA_1, 0x80 | 4, IEC104_COT_INROGEN, ca);
	iec104_ioa(b, 2001);
	for (unsigned i = 0; i < 4; i++)
		wbuf_u8(b, i == 2 ? 1 : 2);       /* DPI: 1 off, 2 on */
	iec104_i_end(b, at);
	at = rtu_i(s, b, IEC104_M_ME_NC_1, 0x80 | 8, IEC104_COT_INROGEN, ca);
	iec104_ioa(b, 3001);
	for (unsigned i = 0; i < 8; i++) {
		float_le(b, (float)(49.9 + 0.01 * (double)prng_range(&s->rng, 0, 20) + 10.0 * i));
		wbuf_u8(b, 0);                    /* QDS: good */
	}
	iec104_i_end(b, at);
	at = rtu_i(s, b, IEC104_C_IC_NA_1, 1, IEC104_COT_ACTTERM, ca);
	iec104_ioa(b, 0);
	wbuf_u8(b, 20);
	iec104_i_end(b, at);
}

static void spontaneous(struct sim_session *s, struct wbuf *b, uint16_t ca)
{
	unsigned n = (unsigned)prng_range(&s->rng, 1, 3);

	for (unsigned i = 0; i < n; i++) {
		size_t at;
		if (sim_chance(s, 3)) {
			at = rtu_i(s, b, IEC104_M_SP_TB_1, 1, IEC104_COT_SPONT, ca);
			iec104_ioa(b, 1001 + (uint32_t)prng_range(&s->rng, 0, 15));
			wbuf_u8(b, (uint8_t)(prng_next(&s->rng) & 1));
		} else {
			at = rtu_i(s, b, IEC104_M_ME_TF_1, 1, IEC104_COT_SPONT, ca);
			iec104_ioa(b, 3001 + (uint32_t)prng_range(&s->rng, 0, 7));
			float_le(b, (float)(49.9 + 0.01 * (double)prng_range(&s->rng, 0, 20)));
			wbuf_u8(b, 0);
		}
		iec104_cp56(b, s->at - sim_ms(s, 1, 200));
		iec104_i_end(b, at);
	}
}

/* A single (45) or double (46) command: step 0 select act, 1 actcon, 2 execute act, 3 actcon + actterm. */
static void command(struct sim_session *s, struct wbuf *b, uint8_t type, unsigned step, uint16_t ca)
{
	uint8_t co = (uint8_t)((type == IEC104_C_SC_NA_1 ? 0x01 : 0x02) | (step < 2 ? 0x80 : 0));
	uint32_t ioa = type == IEC104_C_SC_NA_1 ? 5001 : 6001;
	size_t at;

	at = step % 2 == 0 ? master_i(s, b, type, IEC104_COT_ACT, ca) : rtu_i(s, b, type, 1, IEC104_COT_ACTCON, ca);
	iec104_ioa(b, ioa);
	wbuf_u8(b, co);
	iec104_i_end(b, at);
	if (step == 3) {
		at = rtu_i(s, b, type, 1, IEC104_COT_ACTTERM, ca);
		iec104_ioa(b, ioa);
		wbuf_u8(b, co);
		iec104_i_end(b, at);
	}
}

/* Builds message `step` of `act`; returns true when the RTU sends it. */
static bool act_msg(struct sim *t, struct sim_session *s, enum act act, unsigned step, struct wbuf *b, uint16_t ca)
{
	size_t at;

	switch (act) {
	case ACT_STARTDT:
		iec104_u(b, step ? IEC104_STARTDT_CON : IEC104_STARTDT_ACT);
		return step != 0;
	case ACT_TESTFR:
		iec104_u(b, step ? IEC104_TESTFR_CON : IEC104_TESTFR_ACT);
		return step != 0;
	case ACT_INIT:
		at = rtu_i(s, b, IEC104_M_EI_NA_1, 1, IEC104_COT_INIT, ca);
		iec104_ioa(b, 0);
		wbuf_u8(b, 0);                    /* COI: local power switch on */
		iec104_i_end(b, at);
		return true;
	case ACT_GI:
		if (step == 0) {
			at = master_i(s, b, IEC104_C_IC_NA_1, IEC104_COT_ACT, ca);
			iec104_ioa(b, 0);
			wbuf_u8(b, 20);               /* QOI: station interrogation */
			iec104_i_end(b, at);
			return false;
		}
		interrogation_reply(t, s, b, ca);
		return true;
	case ACT_CLOCK:
		at = step == 0 ? master_i(s, b, IEC104_C_CS_NA_1, IEC104_COT_ACT, ca) :
			rtu_i(s, b, IEC104_C_CS_NA_1, 1, IEC104_COT_ACTCON, ca);
		iec104_ioa(b, 0);
		iec104_cp56(b, s->at);
		iec104_i_end(b, at);
		return step != 0;
	case ACT_SPONT:
		spontaneous(s, b, ca);
		return true;
	case ACT_ACK:
		iec104_s(b, (uint16_t)(s->v[V_RNS] & 0x7fff));
		s->v[V_UNACKED] = 0;
		return false;
	case ACT_SC:
	case ACT_DC:
		command(s, b, act == ACT_SC ? IEC104_C_SC_NA_1 : IEC104_C_DC_NA_1, step, ca);
		return step % 2 == 1;
	}
	return false;
}

static uint64_t special_due(struct sim *t, const struct sim_session *s, unsigned k)
{
	return t->start + s->due[3] + (uint64_t)s->v[V_DUE0 + k] * USEC_PER_SEC;
}

/* After activity s->phase ends at now: the next one (s->phase) and when it starts. */
static uint64_t next_act(struct sim *t, struct sim_session *s, uint64_t now)
{
	static const uint8_t startup[] = { ACT_STARTDT, ACT_INIT, ACT_GI, ACT_ACK, ACT_CLOCK };
	uint64_t at, sp;

	if (s->phase == ACT_SPONT)
		s->due[0] = now + sim_ms(s, 800, 6000);
	if (s->v[V_STARTED] < sizeof(startup)) {
		if (++s->v[V_STARTED] == 1 && s->conn > 0)
			s->v[V_STARTED]++;            /* end of initialisation only after the RTU's start */
		if (s->v[V_STARTED] < sizeof(startup)) {
			s->phase = startup[s->v[V_STARTED]];
			return now + sim_ms(s, 5, 60);
		}
	} else if (s->phase == specials[s->v[V_SPECIAL]].act && now >= special_due(t, s, s->v[V_SPECIAL])) {
		unsigned k = s->v[V_SPECIAL];
		s->v[V_DUE0 + k] += specials[k].again_s + (uint32_t)prng_range(&s->rng, 0, specials[k].again_s / 10);
	}
	/* An RTU burst not yet acknowledged: an S-frame within t2, at once when w frames are out. */
	if (s->v[V_UNACKED] >= W_ACK || (s->v[V_UNACKED] && s->due[0] > now + 3 * USEC_PER_SEC)) {
		s->phase = ACT_ACK;
		return now + (s->v[V_UNACKED] >= W_ACK ? sim_ms(s, 1, 30) : sim_ms(s, 500, 2500));
	}
	at = s->due[0];
	s->phase = ACT_SPONT;
	for (unsigned k = 0; k < N_SPECIALS; k++) {
		sp = special_due(t, s, k);
		if (sp < at) {
			at = sp;
			s->phase = specials[k].act;
			s->v[V_SPECIAL] = k;
		}
	}
	return at > now + 5 * USEC_PER_MS ? at : now + sim_ms(s, 5, 50);
}

static bool iec104_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	const struct plant_host *rtu = sim_host(t, s->b);
	uint16_t ca = common_address(rtu);
	uint64_t at = s->at;
	bool from_rtu;

	if (s->n == 0) {
		memset(s->v, 0, sizeof(s->v));
		s->due[0] = s->at + sim_ms(s, 2000, 5000);
		s->due[3] = sim_ms(s, 0, 3000);
		for (unsigned k = 0; k < N_SPECIALS; k++)
			s->v[V_DUE0 + k] = specials[k].at_s;
		s->phase = ACT_STARTDT;
	} else if (s->v[V_STEP] >= act_len((enum act)s->phase)) {
		s->v[V_STEP] = 0;
		at = next_act(t, s, s->at);
	}
	from_rtu = act_msg(t, s, (enum act)s->phase, s->v[V_STEP], b, ca);
	m->from_server = from_rtu;
	m->gap_us = at != s->at ? at - s->at : from_rtu ? sim_ms(s, 3, 40) : sim_ms(s, 10, 80);
	s->v[V_STEP]++;
	return true;
}

static const struct tcp_app app_iec104 = { PP_IEC104, 2404, false, 3000, 8000, iec104_script };

int iec104_spawn(struct sim *t)
{
	return tcp_spawn_role(t, &app_iec104, ROLE_SCADA, 200, 2000);
}
