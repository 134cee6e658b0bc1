/* The plant's S7comm sessions (port 102):
 * - HMIs poll the Siemens PLCs (each PLC by at most two HMIs): read var of process DBs, sometimes a write var
 *   of a setpoint, the operating mode (SZL 0x0424) at connect;
 * - the historian reads several DB areas per request from every S7-300 (the S7-1500s it reads over OPC UA);
 * - the engineering workstation goes online with every Siemens PLC: identification (SZL 0x0011 order number
 *   and firmware, SZL 0x001C station, module, serial) and a look at a DB; about 20-40 s into the capture
 *   and then every 10-30 minutes it uploads OB1, stops the CPU, downloads DB1, and warm-restarts it (every
 *   third time a cold restart). The PLC drives the download: it sends the "download block" and "download
 *   ended" jobs and the workstation answers them. In scenario runs (quiet) the workstation downloads in RUN: no
 *   stop and restart around the download.
 * - scenarios add one-off visits: a PG connection that reads the identification, or downloads OB1. */
#include <stdio.h>
#include <string.h>

#include "tools/plantsim/ot_s7.h"
#include "tools/plantsim/sim.h"

enum s7_op {
	OP_CONNECT, OP_SETUP, OP_SZL_ID, OP_SZL_COMP, OP_SZL_MODE, OP_READ, OP_READ_MULTI, OP_WRITE, OP_UP_START,
	OP_UP, OP_UP_END, OP_STOP, OP_DL_REQ, OP_DL_BLOCK, OP_DL_END, OP_START, OP_END,
};

static const uint8_t plan_identity[] = { OP_CONNECT, OP_SETUP, OP_SZL_ID, OP_SZL_COMP, OP_SZL_MODE, OP_READ, OP_READ,
	OP_READ, OP_END };
static const uint8_t plan_program[] = { OP_CONNECT, OP_SETUP, OP_SZL_MODE, OP_UP_START, OP_UP, OP_UP, OP_UP_END,
	OP_STOP, OP_SZL_MODE, OP_DL_REQ, OP_DL_BLOCK, OP_DL_BLOCK, OP_DL_END, OP_START, OP_SZL_MODE, OP_END };
static const uint8_t plan_program_quiet[] = { OP_CONNECT, OP_SETUP, OP_SZL_MODE, OP_UP_START, OP_UP, OP_UP,
	OP_UP_END, OP_DL_REQ, OP_DL_BLOCK, OP_DL_BLOCK, OP_DL_END, OP_SZL_MODE, OP_END };
static const uint8_t plan_visit[] = { OP_CONNECT, OP_SETUP, OP_SZL_ID, OP_SZL_COMP, OP_SZL_MODE, OP_READ, OP_END };
static const uint8_t plan_visit_dl[] = { OP_CONNECT, OP_SETUP, OP_SZL_MODE, OP_DL_REQ, OP_DL_BLOCK, OP_DL_BLOCK,
	OP_DL_END, OP_END };
static const uint8_t plan_hmi[] = { OP_CONNECT, OP_SETUP, OP_SZL_MODE };
static const uint8_t plan_historian[] = { OP_CONNECT, OP_SETUP };

#define BLOCK_CHUNK 200
#define DB1_LEN 380
#define OB1_LEN 330

/* Session scratch. */
enum { V_REF, V_PLC_REF, V_SRC_REF, V_LIMIT, V_CUR_REF, V_CHUNK, V_STOPPED, V_KIND };
enum s7_kind { KIND_EWS, KIND_HMI, KIND_HISTORIAN, KIND_VISIT, KIND_VISIT_DL };

/* Programming-device (PG) connections: the workstation's and the visits. */
static bool is_pg(const struct sim_session *s) { return s->v[V_KIND] != KIND_HMI && s->v[V_KIND] != KIND_HISTORIAN; }

static const uint8_t *plan_of(const struct sim *t, struct sim_session *s, size_t *n)
{
	switch (s->v[V_KIND]) {
	case KIND_HMI:
		*n = sizeof(plan_hmi);
		return plan_hmi;
	case KIND_HISTORIAN:
		*n = sizeof(plan_historian);
		return plan_historian;
	case KIND_VISIT:
		*n = sizeof(plan_visit);
		return plan_visit;
	case KIND_VISIT_DL:
		*n = sizeof(plan_visit_dl);
		return plan_visit_dl;
	default:
		break;
	}
	if (s->conn % 2 == 1 && t->quiet) {
		*n = sizeof(plan_program_quiet);
		return plan_program_quiet;
	}
	if (s->conn % 2 == 1) {
		*n = sizeof(plan_program);
		return plan_program;
	}
	*n = sizeof(plan_identity);
	return plan_identity;
}

/* The items a read with this PDU reference asks for (recomputed for the response). */
static uint8_t read_items(const struct sim_session *s, uint16_t ref, struct s7_item *it)
{
	if (s->v[V_KIND] == KIND_HISTORIAN) {
		it[0] = (struct s7_item){ S7_AREA_DB, 10, 0, 40 };
		it[1] = (struct s7_item){ S7_AREA_DB, 11, 0, 24 };
		it[2] = (struct s7_item){ S7_AREA_FLAGS, 0, 100, 5 };
		it[3] = (struct s7_item){ S7_AREA_INPUTS, 0, 0, 8 };
		return (uint8_t)(2 + ref % 3);
	}
	it[0] = (struct s7_item){ S7_AREA_DB, (uint16_t)(1 + ref % 3), (uint32_t)(ref % 2) * 32, 32 };
	return 1;
}

static void item_data(struct sim *t, struct sim_session *s, const struct s7_item *it, uint8_t n, uint8_t *out)
{
	uint64_t now_s = (s->at - t->start) / USEC_PER_SEC;
	size_t k = 0;

	for (uint8_t i = 0; i < n; i++)
		for (uint16_t j = 0; j < it[i].count; j++, k++)
			out[k] = (uint8_t)((j & 3) == 3 ? prng_next(&s->rng) : j * 7 + it[i].db + now_s / 10);
}

static void pad_copy(uint8_t *dst, size_t n, const char *src, char fill)
{
	size_t l = src ? strlen(src) : 0;

	memset(dst, fill, n);
	memcpy(dst, src, l < n ? l : n);
}

static void szl_identity(struct wbuf *b, const struct plant_host *h, uint16_t ref, uint8_t seq)
{
	static const uint16_t idx[] = { 0x0001, 0x0006, 0x0007 };
	uint8_t rec[3 * 28];
	uint16_t ausbg, ausbe, hw = (uint16_t)(h->model->hardware ? h->model->hardware[0] - '0' : 1);

	s7_fw_words(h->model->firmware, &ausbg, &ausbe);
	for (size_t i = 0; i < 3; i++) {
		uint8_t *r = rec + 28 * i;
		r[0] = 0;
		r[1] = (uint8_t)idx[i];
		pad_copy(r + 2, 20, h->model->order_number, ' ');
		r[22] = 0;
		r[23] = 0;
		r[24] = (uint8_t)(i == 2 ? ausbg >> 8 : 0);
		r[25] = (uint8_t)(i == 2 ? ausbg : hw);
		r[26] = (uint8_t)(i == 2 ? ausbe >> 8 : 0);
		r[27] = (uint8_t)(i == 2 ? ausbe : 0);
	}
	s7_szl_rsp(b, ref, seq, 0x0011, 0x0000, 28, 3, rec);
}

static void szl_components(struct wbuf *b, const struct plant_host *h, uint16_t ref, uint8_t seq)
{
	const char *text[5] = { h->name, "PLC_1", "Original Siemens Equipment", h->serial, h->model->model };
	static const uint8_t idx[5] = { 1, 2, 4, 5, 7 };
	uint8_t rec[5 * 34];

	for (size_t i = 0; i < 5; i++) {
		rec[34 * i] = 0;
		rec[34 * i + 1] = idx[i];
		pad_copy(rec + 34 * i + 2, 32, text[i], 0);
	}
	s7_szl_rsp(b, ref, seq, 0x001c, 0x0000, 34, 5, rec);
}

static uint8_t bcd(unsigned v) { return (uint8_t)((v / 10 % 10) << 4 | v % 10); }

/* SZL 0x0424 (current mode transition): event id, info, the mode nibbles (previous << 4 | current; 8 run,
 * 4 stop) and the time of the transition as S7 DATE_AND_TIME. */
static void szl_mode(struct sim *t, struct wbuf *b, struct sim_session *s, uint16_t ref, uint8_t seq)
{
	uint64_t secs = s->at / USEC_PER_SEC;
	bool stopped = s->v[V_STOPPED] != 0;
	uint8_t rec[20] = { 0x43, stopped ? 0x01 : 0x02, 0xff, stopped ? 0x84 : 0x48 };
	unsigned day = (unsigned)(secs / 86400 % 28) + 1, hh = (unsigned)(secs / 3600 % 24);

	rec[12] = bcd(26);
	rec[13] = bcd(1);
	rec[14] = bcd(day);
	rec[15] = bcd(hh);
	rec[16] = bcd((unsigned)(secs / 60 % 60));
	rec[17] = bcd((unsigned)(secs % 60));
	rec[18] = 0;
	rec[19] = (uint8_t)(1 + day % 7);
	s7_szl_rsp(b, ref, seq, 0x0424, 0x0000, sizeof(rec), 1, rec);
}

static void block_bytes(struct sim_session *s, uint8_t *out, size_t n, uint8_t type, uint16_t number, size_t total)
{
	static const uint8_t hdr[] = { 0x70, 0x70, 0x01, 0x01, 0x05 };
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)prng_next(&s->rng);
	if (n >= 12) {
		memcpy(out, hdr, sizeof(hdr));
		out[5] = type;
		out[6] = (uint8_t)(number >> 8);
		out[7] = (uint8_t)number;
		out[8] = (uint8_t)(total >> 24);
		out[9] = (uint8_t)(total >> 16);
		out[10] = (uint8_t)(total >> 8);
		out[11] = (uint8_t)total;
	}
}

/* The block a download loads: the workstation's parameter block DB1, an intruder's OB1 (the main cycle). */
static const char *dl_name(const struct sim_session *s)
{
	return s->v[V_KIND] == KIND_VISIT_DL ? "_0800001P" : "_0A00001P";
}

static size_t dl_len(const struct sim_session *s) { return s->v[V_KIND] == KIND_VISIT_DL ? OB1_LEN : DB1_LEN; }

static uint16_t pdu_size(const struct sim_session *s, const struct plant_host *plc)
{
	uint16_t want = is_pg(s) ? 960 : 480, max = plc->model->slot == 1 ? 480 : 240;
	return want < max ? want : max;
}

/* The request of op; false for ops a session does not send (OP_END). */
static bool op_request(struct sim *t, struct sim_session *s, enum s7_op op, struct wbuf *b, bool *from_plc)
{
	const struct plant_host *plc = sim_host(t, s->b);
	uint16_t ref = (uint16_t)++s->v[V_REF];
	uint8_t tsap_src[2] = { 0x01, 0x00 }, tsap_dst[2];
	struct s7_item it[4];
	uint8_t data[64];
	char name[10];

	*from_plc = false;
	s->v[V_CUR_REF] = ref;
	switch (op) {
	case OP_CONNECT:
		s->v[V_REF]--;
		s->v[V_SRC_REF] = (uint32_t)prng_range(&s->rng, 1, 0xfffe);
		/* Remote TSAP: connection type (1 PG, 2 OP, 3 S7 basic) and rack 0 / slot. */
		tsap_dst[0] = (uint8_t)(is_pg(s) ? 1 : s->v[V_KIND] == KIND_HMI ? 2 : 3);
		tsap_dst[1] = plc->model->slot;
		s7_cotp_connect(b, false, 0, (uint16_t)s->v[V_SRC_REF], tsap_src, 2, tsap_dst, 2);
		return true;
	case OP_SETUP:
		pl_s7_setup(b, false, ref, is_pg(s) ? 960 : 480);
		return true;
	case OP_SZL_ID:
		s7_szl_req(b, ref, 0, 0x0011, 0x0000);
		return true;
	case OP_SZL_COMP:
		s7_szl_req(b, ref, 0, 0x001c, 0x0000);
		return true;
	case OP_SZL_MODE:
		s7_szl_req(b, ref, 0, 0x0424, 0x0000);
		return true;
	case OP_READ:
	case OP_READ_MULTI:
		s7_read_req(b, ref, it, read_items(s, ref, it));
		return true;
	case OP_WRITE:
		it[0] = (struct s7_item){ S7_AREA_DB, 20, (uint32_t)prng_range(&s->rng, 0, 15) * 4, 4 };
		for (size_t i = 0; i < 4; i++)
			data[i] = (uint8_t)prng_next(&s->rng);
		s7_write_req(b, ref, it, 1, data);
		return true;
	case OP_UP_START:
		s7_start_upload(b, ref, "_0800001A");
		return true;
	case OP_UP:
		s7_upload(b, ref, s->v[V_PLC_REF] | 7);
		return true;
	case OP_UP_END:
		s7_end_upload(b, ref, s->v[V_PLC_REF] | 7);
		return true;
	case OP_STOP:
		s7_plc_stop(b, ref);
		return true;
	case OP_DL_REQ:
		s->v[V_CHUNK] = 0;
		s7_request_download(b, ref, dl_name(s), dl_len(s), dl_len(s) - 36);
		return true;
	case OP_DL_BLOCK:
	case OP_DL_END:
		/* The PLC's own job: its own PDU reference. */
		s->v[V_REF]--;
		ref = (uint16_t)(0x0100 + ++s->v[V_PLC_REF]);
		s->v[V_CUR_REF] = ref;
		snprintf(name, sizeof(name), "%s", dl_name(s));
		if (op == OP_DL_BLOCK)
			s7_download_block(b, ref, name);
		else
			s7_download_ended(b, ref, name);
		*from_plc = true;
		return true;
	case OP_START:
		s7_plc_start(b, ref, s->conn % 6 == 5);
		return true;
	case OP_END:
		break;
	}
	return false;
}

static void op_response(struct sim *t, struct sim_session *s, enum s7_op op, struct wbuf *b)
{
	const struct plant_host *plc = sim_host(t, s->b);
	uint16_t ref = (uint16_t)s->v[V_CUR_REF];
	uint8_t tsap_src[2] = { 0x01, 0x00 }, tsap_dst[2] = { 0x01, plc->model->slot };
	uint8_t data[BLOCK_CHUNK + 64];
	struct s7_item it[4];
	uint8_t n;
	size_t off, len;

	switch (op) {
	case OP_CONNECT:
		tsap_dst[0] = (uint8_t)(is_pg(s) ? 1 : s->v[V_KIND] == KIND_HMI ? 2 : 3);
		s7_cotp_connect(b, true, (uint16_t)s->v[V_SRC_REF], (uint16_t)(0x4400 | (s->v[V_SRC_REF] & 0xff)),
			tsap_src, 2, tsap_dst, 2);
		break;
	case OP_SETUP:
		pl_s7_setup(b, true, ref, pdu_size(s, plc));
		break;
	case OP_SZL_ID:
		szl_identity(b, plc, ref, 1);
		sim_reveal(t, s->b, PP_S7COMM, PF_BIT(PF_ORDER_NUMBER) | PF_BIT(PF_FIRMWARE));
		break;
	case OP_SZL_COMP:
		szl_components(b, plc, ref, 2);
		sim_reveal(t, s->b, PP_S7COMM, PF_BIT(PF_MODEL) | PF_BIT(PF_SERIAL));
		break;
	case OP_SZL_MODE:
		szl_mode(t, b, s, ref, 3);
		break;
	case OP_READ:
	case OP_READ_MULTI:
		n = read_items(s, ref, it);
		item_data(t, s, it, n, data);
		s7_read_rsp(b, ref, it, n, data);
		break;
	case OP_WRITE:
		s7_write_rsp(b, ref, 1);
		break;
	case OP_UP_START:
		s7_start_upload_ack(b, ref, s->v[V_PLC_REF] | 7, OB1_LEN);
		s->v[V_CHUNK] = 0;
		break;
	case OP_UP:
		off = (size_t)s->v[V_CHUNK]++ * BLOCK_CHUNK;
		len = OB1_LEN - off > BLOCK_CHUNK ? BLOCK_CHUNK : OB1_LEN - off;
		block_bytes(s, data, len, 0x08, 1, OB1_LEN);
		s7_upload_data(b, ref, off + len < OB1_LEN, data, (uint16_t)len);
		break;
	case OP_DL_BLOCK:
		off = (size_t)s->v[V_CHUNK]++ * BLOCK_CHUNK;
		len = dl_len(s) - off > BLOCK_CHUNK ? BLOCK_CHUNK : dl_len(s) - off;
		block_bytes(s, data, len, s->v[V_KIND] == KIND_VISIT_DL ? 0x08 : 0x0a, 1, dl_len(s));
		s7_download_data(b, ref, off + len < dl_len(s), data, (uint16_t)len);
		break;
	case OP_STOP:
		s->v[V_STOPPED] = 1;
		s7_ack_fn(b, ref, 0x29);
		break;
	case OP_START:
		s->v[V_STOPPED] = 0;
		s7_ack_fn(b, ref, 0x28);
		break;
	case OP_UP_END:
		s7_ack_fn(b, ref, 0x1f);
		break;
	case OP_DL_REQ:
		s7_ack_fn(b, ref, 0x1a);
		break;
	case OP_DL_END:
		s7_ack_fn(b, ref, 0x1c);
		break;
	case OP_END:
		break;
	}
}

/* After the plan: the pollers' loop. */
static enum s7_op loop_op(struct sim_session *s)
{
	if (s->v[V_KIND] == KIND_HISTORIAN)
		return OP_READ_MULTI;
	return sim_chance(s, 30) ? OP_WRITE : OP_READ;
}

static bool s7_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	size_t plan_n;
	const uint8_t *plan = plan_of(t, s, &plan_n);
	size_t i = s->n / 2;
	enum s7_op op;
	bool from_plc;

	if (s->n == 0) {
		s->v[V_REF] = (uint32_t)prng_range(&s->rng, 0, 0x3000);
		s->v[V_LIMIT] = (uint32_t)prng_range(&s->rng, 60, 600);
	}
	if (s->n % 2 == 1) {
		op = (enum s7_op)s->phase;
		op_response(t, s, op, b);
		/* A PLC job is answered by the workstation; everything else by the PLC. */
		m->from_server = !(op == OP_DL_BLOCK || op == OP_DL_END);
		m->gap_us = m->from_server ? sim_us(s, 600, 9000) : sim_us(s, 2000, 20000);
		return true;
	}
	if (i < plan_n)
		op = (enum s7_op)plan[i];
	else if (!is_pg(s) && i < s->v[V_LIMIT])
		op = loop_op(s);
	else
		op = OP_END;
	s->phase = op;
	if (!op_request(t, s, op, b, &from_plc)) {
		if (s->v[V_KIND] == KIND_EWS)
			m->idle_us = s->conn == 0 ? sim_ms(s, 12000, 25000) : sim_ms(s, 600000, 1800000);
		m->last = s->v[V_KIND] == KIND_VISIT || s->v[V_KIND] == KIND_VISIT_DL;
		return false;
	}
	m->from_server = from_plc;
	if (from_plc)
		m->gap_us = sim_us(s, 500, 4000);
	else if (op == OP_CONNECT || op == OP_SETUP)
		m->gap_us = sim_us(s, 200, 3000);
	else if (is_pg(s))
		m->gap_us = op == OP_START ? sim_ms(s, 800, 3000) : sim_ms(s, 20, 400);
	else
		m->gap_us = s->v[V_KIND] == KIND_HMI ? sim_ms(s, 150, 1000) : sim_ms(s, 900, 1100);
	return true;
}

static const struct tcp_app app_s7 = { PP_S7COMM, 102, false, 3000, 12000, s7_script };

static int add_s7(struct sim *t, unsigned client, unsigned plc, enum s7_kind kind, uint64_t lo_ms, uint64_t hi_ms)
{
	struct sim_session *s;
	int r = tcp_add(t, &app_s7, client, plc, 0, &s);

	if (r < 0)
		return r;
	s->v[V_KIND] = kind;
	s->at = t->start + sim_ms(s, lo_ms, hi_ms);
	return 0;
}

int s7_add_visit(struct sim *t, unsigned client, unsigned plc, bool download, uint64_t at)
{
	struct sim_session *s;
	int r = tcp_add(t, &app_s7, client, plc, at, &s);

	if (r < 0)
		return r;
	s->v[V_KIND] = download ? KIND_VISIT_DL : KIND_VISIT;
	return 0;
}

int s7_spawn(struct sim *t)
{
	const struct plant *p = t->plant;
	unsigned hmis[PLANT_MAX_HOSTS], nh = 0, ns = 0;
	int r;

	for (unsigned i = 0; i < p->n_hosts; i++)
		if (p->hosts[i].role == ROLE_HMI)
			hmis[nh++] = i;
	for (unsigned j = 0; j < p->n_hosts; j++) {
		const struct plant_host *plc = &p->hosts[j];
		if (!(plc->model->serves & PP_BIT(PP_S7COMM)))
			continue;
		for (unsigned ci = 0; ci < nh; ci++) {
			if (nh > 1 && ci != ns % nh && ci != (ns + 1) % nh)
				continue;
			r = add_s7(t, hmis[ci], j, KIND_HMI, 100, 3000);
			if (r < 0)
				return r;
		}
		ns++;
		for (unsigned i = 0; i < p->n_hosts; i++) {
			r = 0;
			if (p->hosts[i].role == ROLE_HISTORIAN && !(plc->model->serves & PP_BIT(PP_OPCUA)))
				r = add_s7(t, i, j, KIND_HISTORIAN, 500, 4000);
			else if (p->hosts[i].role == ROLE_EWS)
				r = add_s7(t, i, j, KIND_EWS, 3000, 10000);
			if (r < 0)
				return r;
		}
	}
	return 0;
}
