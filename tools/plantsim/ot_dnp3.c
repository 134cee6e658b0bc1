/* DNP3 between the SCADA master and every DNP3 RTU (outstation), one long-lived TCP connection each.
 * At connect: link status, disable unsolicited, device attributes (group 0: manufacturer, product, software
 * version, serial number), integrity poll (class 0123), LAN time sync (record current time + write g50v3),
 * clear the restart IIN, enable unsolicited. Then class 1/2/3 event polls every few seconds, unsolicited
 * event reports that the master confirms, and over the first minute (then every so often): a select/operate
 * of a CROB, a direct-operate analog output, a file read (open, two blocks, close), a warm restart (the
 * outstation then reports its restart unsolicited) and a cold restart, after which the RTU drops the
 * connection while it reboots. Large responses span several link frames in one TCP segment. Scenario runs (quiet)
 * leave out the restarts, but for the one a scenario asks for. */
#include "tools/plantsim/ot_dnp3.h"

#include <string.h>

#include "tools/plantsim/sim.h"

uint16_t dnp3_crc(const uint8_t *p, size_t n)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xa6bc) : (uint16_t)(crc >> 1);
	}
	return (uint16_t)~crc;
}

static void put_crc(struct wbuf *b, const uint8_t *p, size_t n)
{
	uint16_t c = dnp3_crc(p, n);
	wbuf_u16le(b, c);
}

void dnp3_link_frame(struct wbuf *b, uint8_t ctrl, uint16_t dst, uint16_t src, const uint8_t *user, size_t n)
{
	uint8_t h[8] = { 0x05, 0x64, (uint8_t)(5 + n), ctrl, (uint8_t)dst, (uint8_t)(dst >> 8), (uint8_t)src,
		(uint8_t)(src >> 8) };

	if (n > 250) {
		b->overflow = true;
		return;
	}
	wbuf_bytes(b, h, sizeof(h));
	put_crc(b, h, sizeof(h));
	for (size_t off = 0; off < n; off += 16) {
		size_t k = n - off < 16 ? n - off : 16;
		wbuf_bytes(b, user + off, k);
		put_crc(b, user + off, k);
	}
}

void dnp3_frames(struct wbuf *b, bool from_master, uint16_t dst, uint16_t src, uint8_t *tseq, const uint8_t *apdu,
	size_t n)
{
	uint8_t ctrl = (uint8_t)((from_master ? DNP3_CTRL_DIR : 0) | DNP3_CTRL_PRM | DNP3_LINK_UNCONFIRMED_DATA);
	uint8_t seg[250];
	size_t off = 0;

	do {
		size_t k = n - off < 249 ? n - off : 249;
		seg[0] = (uint8_t)((off == 0 ? 0x40 : 0) | (off + k == n ? 0x80 : 0) | (*tseq & 0x3f));
		memcpy(seg + 1, apdu + off, k);
		dnp3_link_frame(b, ctrl, dst, src, seg, k + 1);
		*tseq = (uint8_t)((*tseq + 1) & 0x3f);
		off += k;
	} while (off < n);
}

/* ---- Application objects ---------------------------------------------------------------------- */

static void obj_hdr(struct wbuf *a, uint8_t group, uint8_t var, uint8_t qual)
{
	wbuf_u8(a, group);
	wbuf_u8(a, var);
	wbuf_u8(a, qual);
}

static void class_objs(struct wbuf *a, bool class0)
{
	for (uint8_t v = 2; v <= 4; v++)
		obj_hdr(a, 60, v, 0x06);
	if (class0)
		obj_hdr(a, 60, 1, 0x06);
}

/* Range start/stop with 8-bit indexes. */
static void range8(struct wbuf *a, uint8_t group, uint8_t var, uint8_t start, uint8_t stop)
{
	obj_hdr(a, group, var, 0x00);
	wbuf_u8(a, start);
	wbuf_u8(a, stop);
}

static void dnp_time(struct wbuf *a, uint64_t usec)
{
	uint64_t ms = usec / 1000;
	for (int i = 0; i < 6; i++)
		wbuf_u8(a, (uint8_t)(ms >> (8 * i)));
}

static void float_le(struct wbuf *a, float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	wbuf_u32le(a, u);
}

/* Device attribute (group 0) variation var holding a visible string (data type 1). */
static void attr_str(struct wbuf *a, uint8_t var, const char *s)
{
	size_t n = strlen(s) > 200 ? 200 : strlen(s);
	range8(a, 0, var, 0, 0);
	wbuf_u8(a, 1);
	wbuf_u8(a, (uint8_t)n);
	wbuf_bytes(a, s, n);
}

/* Static data of the integrity poll: 16 binary inputs, 4 binary outputs, 4 counters, 8 analog inputs
 * (float), 2 analog output statuses. */
static void static_data(struct wbuf *a, struct sim_session *s, uint64_t now)
{
	unsigned minute = (unsigned)(now / (60 * USEC_PER_SEC));

	range8(a, 1, 2, 0, 15);
	for (unsigned i = 0; i < 16; i++)
		wbuf_u8(a, (uint8_t)(0x01 | (((i * 7 + minute) & 4) ? 0x80 : 0)));
	range8(a, 10, 2, 0, 3);
	for (unsigned i = 0; i < 4; i++)
		wbuf_u8(a, (uint8_t)(0x01 | (i == 1 ? 0x80 : 0)));
	range8(a, 20, 1, 0, 3);
	for (unsigned i = 0; i < 4; i++) {
		wbuf_u8(a, 0x01);
		wbuf_u32le(a, (uint32_t)(now / USEC_PER_SEC / (i + 1)) % 1000000u);
	}
	range8(a, 30, 5, 0, 7);
	for (unsigned i = 0; i < 8; i++) {
		wbuf_u8(a, 0x01);
		float_le(a, (float)(230.0 + 3.0 * i + (double)prng_range(&s->rng, 0, 100) / 100.0));
	}
	range8(a, 40, 1, 0, 1);
	for (unsigned i = 0; i < 2; i++) {
		wbuf_u8(a, 0x01);
		wbuf_u32le(a, 500 + 100 * i);
	}
}

/* Events: binary input changes with time (g2v2) and analog changes with time (g32v3), 1-byte count and
 * 1-byte index prefix (qualifier 0x17). */
static void events(struct wbuf *a, struct sim_session *s, uint64_t now, unsigned nb, unsigned na)
{
	if (nb) {
		obj_hdr(a, 2, 2, 0x17);
		wbuf_u8(a, (uint8_t)nb);
		for (unsigned i = 0; i < nb; i++) {
			wbuf_u8(a, (uint8_t)prng_range(&s->rng, 0, 15));
			wbuf_u8(a, (uint8_t)(0x01 | (sim_chance(s, 2) ? 0x80 : 0)));
			dnp_time(a, now - sim_ms(s, 5, 900));
		}
	}
	if (na) {
		obj_hdr(a, 32, 3, 0x17);
		wbuf_u8(a, (uint8_t)na);
		for (unsigned i = 0; i < na; i++) {
			wbuf_u8(a, (uint8_t)prng_range(&s->rng, 0, 7));
			wbuf_u8(a, 0x01);
			wbuf_u32le(a, (uint32_t)prng_range(&s->rng, 200, 260));
			dnp_time(a, now - sim_ms(s, 5, 900));
		}
	}
}

/* File objects use qualifier 0x5b: a one-byte count of 1, then the object's two-byte size. */
static size_t file_obj_begin(struct wbuf *a, uint8_t var)
{
	size_t at;
	obj_hdr(a, 70, var, 0x5b);
	wbuf_u8(a, 1);
	at = a->len;
	wbuf_u16le(a, 0);
	return at;
}

static void file_obj_end(struct wbuf *a, size_t at)
{
	uint16_t n = (uint16_t)(a->len - at - 2);
	if (!a->overflow) {
		a->p[at] = (uint8_t)n;
		a->p[at + 1] = (uint8_t)(n >> 8);
	}
}

static const char file_name[] = "/log/soe.csv";
#define FILE_SIZE 1400u
#define FILE_BLOCK 700u

static void file_open(struct wbuf *a, uint64_t now)
{
	size_t at = file_obj_begin(a, 3);
	wbuf_u16le(a, 26);                       /* file name offset */
	wbuf_u16le(a, (uint16_t)strlen(file_name));
	dnp_time(a, now);                        /* creation time (ignored when reading) */
	wbuf_u16le(a, 0x01a4);                   /* permissions rw-r--r-- */
	wbuf_u32le(a, 0);                        /* authentication key */
	wbuf_u32le(a, 0);                        /* file size */
	wbuf_u16le(a, 1);                        /* mode: read */
	wbuf_u16le(a, FILE_BLOCK);
	wbuf_u16le(a, 1);                        /* request id */
	wbuf_bytes(a, file_name, strlen(file_name));
	file_obj_end(a, at);
}

static void file_status(struct wbuf *a, uint32_t handle, uint32_t size)
{
	size_t at = file_obj_begin(a, 4);
	wbuf_u32le(a, handle);
	wbuf_u32le(a, size);
	wbuf_u16le(a, FILE_BLOCK);
	wbuf_u16le(a, 1);
	wbuf_u8(a, 0);                           /* status: success */
	file_obj_end(a, at);
}

static void file_transport(struct wbuf *a, struct sim_session *s, uint32_t handle, uint32_t block, bool data)
{
	size_t at = file_obj_begin(a, 5);
	bool last = (block + 1) * FILE_BLOCK >= FILE_SIZE;
	wbuf_u32le(a, handle);
	wbuf_u32le(a, block | (data && last ? 0x80000000u : 0));
	for (unsigned i = 0; data && i < FILE_BLOCK; i++)
		wbuf_u8(a, (uint8_t)(i % 64 == 63 ? '\n' : "0123456789,:;ABCDEF"[prng_next(&s->rng) % 19]));
	file_obj_end(a, at);
}

/* ---- Session ----------------------------------------------------------------------------------- */

enum act {
	ACT_LINK, ACT_DISABLE_UNSOL, ACT_ATTRS, ACT_INTEGRITY, ACT_TIME, ACT_CLEAR_RESTART, ACT_ENABLE_UNSOL,
	ACT_EVENT_POLL, ACT_UNSOL, ACT_CONTROL, ACT_ANALOG_OUT, ACT_FILE, ACT_WARM, ACT_COLD, ACT_RESTART_UNSOL,
};

/* Messages per activity, master first unless noted. */
static unsigned act_len(enum act a)
{
	switch (a) {
	case ACT_TIME:
	case ACT_CONTROL: return 4;
	case ACT_FILE: return 8;
	default: return 2;
	}
}

static const uint8_t startup[] = { ACT_LINK, ACT_DISABLE_UNSOL, ACT_ATTRS, ACT_INTEGRITY, ACT_TIME,
	ACT_CLEAR_RESTART, ACT_ENABLE_UNSOL };
/* Special operations, at these offsets (s) into the capture, then every `again` seconds. */
static const struct { uint8_t act; uint16_t at_s; uint32_t again_s; } specials[] = {
	{ ACT_CONTROL, 14, 600 }, { ACT_ANALOG_OUT, 19, 900 }, { ACT_FILE, 24, 1800 }, { ACT_WARM, 33, 7200 },
	{ ACT_COLD, 50, 21600 },
};

enum { V_STEP, V_SEQ, V_START, V_FLAGS, V_SPECIAL, V_TSEQ = 6, V_REQSEQ, V_DUE0 };
#define N_SPECIALS (sizeof(specials) / sizeof(specials[0]))
#define F_UNSOL_ON 1u
#define F_RESTARTED 2u
#define DNP3_MASTER_ADDR 1

static uint8_t next_seq(struct sim_session *s, bool unsol)
{
	unsigned shift = unsol ? 4 : 0, v = (s->v[V_SEQ] >> shift) & 15;
	s->v[V_SEQ] = (s->v[V_SEQ] & ~(15u << shift)) | (((v + 1) & 15) << shift);
	return (uint8_t)v;
}

/* Each special operation has its own next time, in seconds from the capture start (s->v[V_DUE0 + k]). */
static uint64_t special_due(struct sim *t, const struct sim_session *s, unsigned k)
{
	return t->start + s->due[3] + (uint64_t)s->v[V_DUE0 + k] * USEC_PER_SEC;
}

/* Builds message `step` of activity `act`: the APDU into a, and whether the outstation sends it. */
static bool act_msg(struct sim *t, struct sim_session *s, enum act act, unsigned step, struct wbuf *a)
{
	const struct plant_host *rtu = sim_host(t, s->b);
	bool outstation = step % 2 == 1;
	uint8_t iin1 = (uint8_t)((s->v[V_FLAGS] & F_RESTARTED) ? 0x90 : 0x00), seq;
	uint64_t now = s->at;

	if (act == ACT_UNSOL || act == ACT_RESTART_UNSOL)
		outstation = step == 0;
	if (act == ACT_UNSOL || act == ACT_RESTART_UNSOL) {
		if (outstation) {
			seq = next_seq(s, true);
			s->v[V_REQSEQ] = seq;
			wbuf_u8(a, (uint8_t)(DNP3_AC_FIR | DNP3_AC_FIN | DNP3_AC_CON | DNP3_AC_UNS | seq));
			wbuf_u8(a, DNP3_UNSOLICITED);
			wbuf_u8(a, (uint8_t)(iin1 | (act == ACT_UNSOL ? 0x02 : 0)));
			wbuf_u8(a, 0);
			if (act == ACT_UNSOL)
				events(a, s, now, (unsigned)prng_range(&s->rng, 1, 3), (unsigned)prng_range(&s->rng, 0, 2));
		} else {
			wbuf_u8(a, (uint8_t)(DNP3_AC_FIR | DNP3_AC_FIN | DNP3_AC_UNS | s->v[V_REQSEQ]));
			wbuf_u8(a, DNP3_CONFIRM);
		}
		return outstation;
	}
	if (!outstation) {
		static const uint8_t fc[] = { [ACT_DISABLE_UNSOL] = DNP3_DISABLE_UNSOL, [ACT_ATTRS] = DNP3_READ,
			[ACT_INTEGRITY] = DNP3_READ, [ACT_CLEAR_RESTART] = DNP3_WRITE, [ACT_ENABLE_UNSOL] = DNP3_ENABLE_UNSOL,
			[ACT_EVENT_POLL] = DNP3_READ, [ACT_ANALOG_OUT] = DNP3_DIRECT_OPERATE, [ACT_WARM] = DNP3_WARM_RESTART,
			[ACT_COLD] = DNP3_COLD_RESTART };
		uint8_t f = fc[act];
		seq = next_seq(s, false);
		s->v[V_REQSEQ] = seq;
		if (act == ACT_TIME)
			f = step == 0 ? DNP3_RECORD_TIME : DNP3_WRITE;
		else if (act == ACT_CONTROL)
			f = step == 0 ? DNP3_SELECT : DNP3_OPERATE;
		else if (act == ACT_FILE)
			f = step == 0 ? DNP3_OPEN_FILE : step == 6 ? DNP3_CLOSE_FILE : DNP3_READ;
		wbuf_u8(a, (uint8_t)(DNP3_AC_FIR | DNP3_AC_FIN | seq));
		wbuf_u8(a, f);
	} else {
		wbuf_u8(a, (uint8_t)(DNP3_AC_FIR | DNP3_AC_FIN | s->v[V_REQSEQ]));
		wbuf_u8(a, DNP3_RESPONSE);
		wbuf_u8(a, iin1);
		wbuf_u8(a, 0);
	}
	switch (act) {
	case ACT_DISABLE_UNSOL:
	case ACT_ENABLE_UNSOL:
		if (!outstation)
			class_objs(a, false);
		break;
	case ACT_ATTRS:
		if (!outstation) {
			/* manufacturer, product and model, software version, hardware version, serial number */
			static const uint8_t vars[] = { 252, 250, 242, 243, 248 };
			for (size_t i = 0; i < sizeof(vars); i++)
				range8(a, 0, vars[i], 0, 0);
		} else {
			attr_str(a, 252, rtu->model->vendor);
			attr_str(a, 250, rtu->model->model);
			attr_str(a, 242, rtu->model->firmware);
			attr_str(a, 243, rtu->model->hardware ? rtu->model->hardware : "");
			attr_str(a, 248, rtu->serial);
			sim_reveal(t, s->b, PP_DNP3, PF_BIT(PF_VENDOR) | PF_BIT(PF_MODEL) | PF_BIT(PF_FIRMWARE) |
				PF_BIT(PF_SERIAL));
		}
		break;
	case ACT_INTEGRITY:
		if (!outstation)
			class_objs(a, true);
		else
			static_data(a, s, now - t->start);
		break;
	case ACT_EVENT_POLL:
		if (!outstation)
			class_objs(a, false);
		else if (!sim_chance(s, 3))
			events(a, s, now, (unsigned)prng_range(&s->rng, 0, 2), (unsigned)prng_range(&s->rng, 1, 3));
		break;
	case ACT_TIME:
		if (step == 2) {
			obj_hdr(a, 50, 3, 0x07);     /* last recorded time */
			wbuf_u8(a, 1);
			dnp_time(a, now - sim_ms(s, 20, 60));
		}
		break;
	case ACT_CLEAR_RESTART:
		if (!outstation) {
			range8(a, 80, 1, 7, 7);     /* IIN1.7 device restart := 0 */
			wbuf_u8(a, 0);
		}
		s->v[V_FLAGS] &= ~F_RESTARTED;
		break;
	case ACT_CONTROL:
		obj_hdr(a, 12, 1, 0x28);         /* CROB, 2-byte count and index */
		wbuf_u16le(a, 1);
		wbuf_u16le(a, 2);
		wbuf_u8(a, 0x41);                /* pulse on, close */
		wbuf_u8(a, 1);
		wbuf_u32le(a, 1000);
		wbuf_u32le(a, 0);
		wbuf_u8(a, 0);                   /* status: success */
		break;
	case ACT_ANALOG_OUT:
		obj_hdr(a, 41, 2, 0x28);
		wbuf_u16le(a, 1);
		wbuf_u16le(a, 0);
		wbuf_u16le(a, (uint16_t)prng_range(&s->rng, 400, 600));
		wbuf_u8(a, 0);
		break;
	case ACT_FILE:
		if (step == 0)
			file_open(a, now);
		else if (step == 1)
			file_status(a, 0x1000 + s->b, FILE_SIZE);
		else if (step == 6 || step == 7)
			file_status(a, 0x1000 + s->b, 0);
		else
			file_transport(a, s, 0x1000 + s->b, (step - 2) / 2, outstation);
		break;
	case ACT_WARM:
	case ACT_COLD:
		if (outstation) {
			obj_hdr(a, 52, 2, 0x07);    /* time delay fine: how long until the restart is done (ms) */
			wbuf_u8(a, 1);
			wbuf_u16le(a, act == ACT_WARM ? 1500 : 12000);
		}
		break;
	default:
		break;
	}
	return outstation;
}

/* The next activity after the start-up sequence: the earliest of event poll, unsolicited report and the
 * next special operation. Sets *at to its time. */
static enum act pick(struct sim *t, struct sim_session *s, uint64_t *at)
{
	uint64_t best = s->due[0];
	enum act a = ACT_EVENT_POLL;

	if ((s->v[V_FLAGS] & F_UNSOL_ON) && s->due[1] < best) {
		best = s->due[1];
		a = ACT_UNSOL;
	}
	for (unsigned k = 0; k < N_SPECIALS; k++) {
		if (special_due(t, s, k) < best) {
			best = special_due(t, s, k);
			a = (enum act)specials[k].act;
			s->v[V_SPECIAL] = k;
		}
	}
	*at = best;
	return a;
}

static void advance_special(struct sim_session *s)
{
	unsigned k = s->v[V_SPECIAL];
	s->v[V_DUE0 + k] += specials[k].again_s + (uint32_t)prng_range(&s->rng, 0, specials[k].again_s / 10);
}

/* Ends activity s->phase at `now` and chooses the next one (s->phase, starting at *at). Returns false when
 * the connection closes instead (m says when). */
static bool next_act(struct sim *t, struct sim_session *s, uint64_t now, uint64_t *at, struct tcp_msg *m)
{
	*at = now + sim_ms(s, 20, 150);
	switch ((enum act)s->phase) {
	case ACT_ENABLE_UNSOL:
		s->v[V_FLAGS] |= F_UNSOL_ON;
		break;
	case ACT_EVENT_POLL:
		s->due[0] = now + sim_ms(s, 4000, 9000);
		break;
	case ACT_UNSOL:
		s->due[1] = now + sim_ms(s, 2000, 9000);
		break;
	case ACT_CONTROL:
	case ACT_ANALOG_OUT:
	case ACT_FILE:
		advance_special(s);
		break;
	case ACT_WARM:
		/* Back after the announced delay, with unsolicited reporting off until the master enables it. */
		advance_special(s);
		s->v[V_FLAGS] = F_RESTARTED;
		s->phase = ACT_RESTART_UNSOL;
		*at = now + 1500 * USEC_PER_MS + sim_ms(s, 100, 900);
		return true;
	case ACT_COLD:
		/* The RTU reboots: the connection drops; the master reconnects once it is back. */
		advance_special(s);
		m->gap_us = sim_ms(s, 5, 40);
		m->idle_us = sim_ms(s, 10000, 20000);
		return false;
	case ACT_RESTART_UNSOL:
		s->v[V_START] = 3;          /* integrity poll, time sync, clear restart, enable unsolicited */
		s->phase = startup[3];
		return true;
	default:
		break;
	}
	if (s->v[V_START] < sizeof(startup) && ++s->v[V_START] < sizeof(startup)) {
		s->phase = startup[s->v[V_START]];
		return true;
	}
	s->phase = pick(t, s, at);
	if (*at < now + 20 * USEC_PER_MS)
		*at = now + sim_ms(s, 20, 80);
	return true;
}

/* Scenario runs: no routine restarts; the dnp3-cold-restart scenario's one at its time instead. */
static void quiet_restarts(const struct sim *t, struct sim_session *s)
{
	for (unsigned k = 0; t->quiet && k < N_SPECIALS; k++) {
		if (specials[k].act != ACT_WARM && specials[k].act != ACT_COLD)
			continue;
		s->v[V_DUE0 + k] = SIM_NEVER_S;
		if (specials[k].act == ACT_COLD && t->dnp3_cold_at > t->start && s->b == t->dnp3_cold_rtu)
			s->v[V_DUE0 + k] = (uint32_t)((t->dnp3_cold_at - t->start) / USEC_PER_SEC);
	}
}

static bool dnp3_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	const struct plant_host *rtu = sim_host(t, s->b);
	uint8_t apdu_buf[1400], tseq;
	struct wbuf a;
	bool outstation;
	uint64_t at = s->at;

	if (s->n == 0) {
		s->v[V_STEP] = 0;
		s->v[V_START] = 0;
		s->v[V_FLAGS] = F_RESTARTED;
		s->due[0] = s->at + sim_ms(s, 4000, 8000);
		s->due[1] = s->at + sim_ms(s, 2000, 6000);
		if (s->conn == 0) {
			s->due[3] = sim_ms(s, 0, 4000);     /* this master's offset of the special operations */
			for (unsigned k = 0; k < N_SPECIALS; k++)
				s->v[V_DUE0 + k] = specials[k].at_s;
			quiet_restarts(t, s);
		}
		s->phase = startup[0];
	} else if (s->v[V_STEP] >= act_len((enum act)s->phase)) {
		s->v[V_STEP] = 0;
		if (!next_act(t, s, s->at, &at, m))
			return false;
	}
	if (s->phase == ACT_LINK) {
		/* Link layer only: request link status, link status. */
		outstation = s->v[V_STEP] == 1;
		if (outstation)
			dnp3_link_frame(b, DNP3_LINK_STATUS, DNP3_MASTER_ADDR, (uint16_t)rtu->address, NULL, 0);
		else
			dnp3_link_frame(b, DNP3_CTRL_DIR | DNP3_CTRL_PRM | DNP3_LINK_REQUEST_STATUS, (uint16_t)rtu->address,
				DNP3_MASTER_ADDR, NULL, 0);
	} else {
		wbuf_init(&a, apdu_buf, sizeof(apdu_buf));
		outstation = act_msg(t, s, (enum act)s->phase, s->v[V_STEP], &a);
		if (a.overflow)
			return false;
		tseq = (uint8_t)(s->v[V_TSEQ] >> (outstation ? 8 : 0));
		if (outstation)
			dnp3_frames(b, false, DNP3_MASTER_ADDR, (uint16_t)rtu->address, &tseq, a.p, a.len);
		else
			dnp3_frames(b, true, (uint16_t)rtu->address, DNP3_MASTER_ADDR, &tseq, a.p, a.len);
		s->v[V_TSEQ] = outstation ? (s->v[V_TSEQ] & 0xffu) | (uint32_t)tseq << 8 : (s->v[V_TSEQ] & ~0xffu) | tseq;
	}
	m->from_server = outstation;
	if (at != s->at)
		m->gap_us = at - s->at;
	else
		m->gap_us = outstation ? sim_ms(s, 4, 40) : sim_ms(s, 10, 60);
	s->v[V_STEP]++;
	return true;
}

static const struct tcp_app app_dnp3 = { PP_DNP3, 20000, false, 3000, 8000, dnp3_script };

int dnp3_spawn(struct sim *t)
{
	return tcp_spawn_role(t, &app_dnp3, ROLE_SCADA, 300, 2500);
}
