/* BACnet in the plant:
 * - the engineering workstation (the building-management front end) broadcasts Who-Is every 15-45 s and
 *   every BACnet controller answers with a broadcast I-Am (device instance, max APDU, segmentation, vendor);
 * - it then reads each controller's device object (object-name, vendor-name, vendor-identifier, model-name,
 *   firmware-revision, application-software-version), and over the first minute (then every so often) writes
 *   a setpoint (WriteProperty, priority 8), disables and re-enables its communication
 *   (DeviceCommunicationControl) and warm-starts it (ReinitializeDevice), all password-protected;
 * - the historian reads the controllers' analog-input present values every few seconds. */
#include "tools/plantsim/ot_bacnet.h"

#include <stdio.h>
#include <string.h>

#include "tools/plantsim/sim.h"

#define BACNET_PORT 47808
#define SVC_DCC 0x11
#define SVC_READ_PROPERTY 0x0c
#define SVC_WRITE_PROPERTY 0x0f
#define SVC_REINITIALIZE 0x14

void pl_bacnet_whois(struct wbuf *b)
{
	static const uint8_t msg[] = {
		0x81, 0x0b, 0x00, 0x0c,             /* BVLC: Original-Broadcast-NPDU, length 12 */
		0x01, 0x20, 0xff, 0xff, 0x00, 0xff, /* NPDU: version 1, DNET 0xffff (global), hop count 255 */
		0x10, 0x08,                         /* APDU: unconfirmed request, Who-Is */
	};
	wbuf_bytes(b, msg, sizeof(msg));
}

size_t bacnet_begin(struct wbuf *b, bool broadcast, bool expect_reply)
{
	size_t at = b->len;

	wbuf_u8(b, 0x81);
	wbuf_u8(b, broadcast ? 0x0b : 0x0a);
	wbuf_u16(b, 0);
	wbuf_u8(b, 0x01);
	wbuf_u8(b, expect_reply ? 0x04 : 0x00);
	return at;
}

void bacnet_end(struct wbuf *b, size_t at) { wbuf_patch16(b, at + 2, (uint16_t)(b->len - at)); }

/* Tag octet: tag number, class (context 0x08) and length/value/type (5: an extended length follows). */
static void tag(struct wbuf *b, uint8_t number, bool context, size_t len)
{
	if (len <= 4) {
		wbuf_u8(b, (uint8_t)(number << 4 | (context ? 0x08 : 0) | len));
		return;
	}
	wbuf_u8(b, (uint8_t)(number << 4 | (context ? 0x08 : 0) | 5));
	wbuf_u8(b, (uint8_t)len);           /* < 254 here */
}

static void uint_body(struct wbuf *b, int ctx, uint8_t app_tag, uint32_t v)
{
	size_t n = v > 0xffffff ? 4 : v > 0xffff ? 3 : v > 0xff ? 2 : 1;

	tag(b, ctx < 0 ? app_tag : (uint8_t)ctx, ctx >= 0, n);
	for (size_t i = n; i-- > 0;)
		wbuf_u8(b, (uint8_t)(v >> (8 * i)));
}

void bacnet_unsigned(struct wbuf *b, int ctx, uint32_t v) { uint_body(b, ctx, 2, v); }

void bacnet_enum(struct wbuf *b, int ctx, uint32_t v) { uint_body(b, ctx, 9, v); }

void bacnet_objid(struct wbuf *b, int ctx, uint16_t type, uint32_t instance)
{
	tag(b, ctx < 0 ? 12 : (uint8_t)ctx, ctx >= 0, 4);
	wbuf_u32(b, (uint32_t)type << 22 | (instance & 0x3fffff));
}

void bacnet_string(struct wbuf *b, int ctx, const char *s)
{
	size_t n = strlen(s) > 200 ? 200 : strlen(s);

	tag(b, ctx < 0 ? 7 : (uint8_t)ctx, ctx >= 0, n + 1);
	wbuf_u8(b, 0);                      /* character set: UTF-8 */
	wbuf_bytes(b, s, n);
}

void bacnet_real(struct wbuf *b, float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	tag(b, 4, false, 4);
	wbuf_u32(b, u);
}

void bacnet_open(struct wbuf *b, uint8_t ctx) { wbuf_u8(b, (uint8_t)(ctx << 4 | 0x0e)); }

void bacnet_close(struct wbuf *b, uint8_t ctx) { wbuf_u8(b, (uint8_t)(ctx << 4 | 0x0f)); }

void bacnet_iam(struct wbuf *b, uint32_t instance, uint16_t vendor)
{
	wbuf_u8(b, 0x10);                   /* unconfirmed request */
	wbuf_u8(b, 0x00);                   /* I-Am */
	bacnet_objid(b, -1, BACNET_OBJ_DEVICE, instance);
	bacnet_unsigned(b, -1, 1476);       /* max APDU length accepted */
	bacnet_enum(b, -1, 3);              /* segmentation: none */
	bacnet_unsigned(b, -1, vendor);
}

/* ---- Sessions ---------------------------------------------------------------------------------- */

static int whois_step(struct sim *t, struct sim_session *s)
{
	const struct plant *p = t->plant;
	uint64_t ts = s->at;
	struct wbuf b;
	size_t at;
	int r;

	wbuf_init(&b, t->payload, sizeof(t->payload));
	if (s->state == 0) {
		struct endpoint me = sim_host_ep(t, s->a);
		pl_bacnet_whois(&b);
		r = sim_udp(t, ts, &me, sim_mac_broadcast, plant_broadcast(p), BACNET_PORT, BACNET_PORT, &b);
		sim_seen(t, s->a, PP_BACNET, PR_CLIENT);
		s->v[0] = 0;
	} else {
		const struct plant_host *h = &p->hosts[s->v[0]];
		struct endpoint dev = sim_host_ep(t, s->v[0]);
		at = bacnet_begin(&b, true, false);
		bacnet_iam(&b, h->address, h->model->bacnet_vendor);
		bacnet_end(&b, at);
		r = sim_udp(t, ts, &dev, sim_mac_broadcast, plant_broadcast(p), BACNET_PORT, BACNET_PORT, &b);
		sim_seen(t, s->v[0], PP_BACNET, PR_SERVER);
		s->v[0]++;
	}
	while (s->v[0] < p->n_hosts && !(p->hosts[s->v[0]].model->serves & PP_BIT(PP_BACNET)))
		s->v[0]++;
	if (s->v[0] < p->n_hosts) {
		s->state = 1;
		s->at += sim_us(s, 500, 40000);
	} else {
		s->state = 0;
		s->at += sim_ms(s, 15000, 45000);
	}
	return r;
}

/* Requests of the workstation's session: the device-object reads, then the operations. */
enum op { OP_READ_PROP, OP_WRITE_SETPOINT, OP_DCC_DISABLE, OP_DCC_ENABLE, OP_REINIT, OP_READ_PV };

static const uint8_t device_props[] = { BACNET_PROP_OBJECT_NAME, BACNET_PROP_VENDOR_NAME,
	BACNET_PROP_VENDOR_IDENTIFIER, BACNET_PROP_MODEL_NAME, BACNET_PROP_FIRMWARE_REVISION,
	BACNET_PROP_APP_SW_VERSION };

static const struct { uint8_t op; uint16_t at_s; uint32_t again_s; } specials[] = {
	{ OP_WRITE_SETPOINT, 21, 600 }, { OP_DCC_DISABLE, 35, 3600 }, { OP_DCC_ENABLE, 41, 3600 },
	{ OP_REINIT, 52, 7200 },
};

#define N_SPECIALS (sizeof(specials) / sizeof(specials[0]))
enum { V_INVOKE, V_OP, V_ARG, V_STEP, V_DUE0 = 8 };

static void confirmed(struct wbuf *b, uint8_t invoke, uint8_t service)
{
	wbuf_u8(b, 0x00);                   /* confirmed request, unsegmented */
	wbuf_u8(b, 0x05);                   /* max segments: unspecified, max APDU 1476 */
	wbuf_u8(b, invoke);
	wbuf_u8(b, service);
}

static void build_request(struct sim_session *s, struct wbuf *b, const struct plant_host *dev)
{
	uint8_t inv = (uint8_t)s->v[V_INVOKE];

	switch ((enum op)s->v[V_OP]) {
	case OP_READ_PROP:
		confirmed(b, inv, SVC_READ_PROPERTY);
		bacnet_objid(b, 0, BACNET_OBJ_DEVICE, dev->address);
		bacnet_enum(b, 1, device_props[s->v[V_ARG]]);
		break;
	case OP_READ_PV:
		confirmed(b, inv, SVC_READ_PROPERTY);
		bacnet_objid(b, 0, BACNET_OBJ_ANALOG_INPUT, 1 + s->v[V_ARG]);
		bacnet_enum(b, 1, BACNET_PROP_PRESENT_VALUE);
		break;
	case OP_WRITE_SETPOINT:
		confirmed(b, inv, SVC_WRITE_PROPERTY);
		bacnet_objid(b, 0, BACNET_OBJ_ANALOG_VALUE, 1);
		bacnet_enum(b, 1, BACNET_PROP_PRESENT_VALUE);
		bacnet_open(b, 3);
		bacnet_real(b, (float)(20.5 + (double)prng_range(&s->rng, 0, 30) / 10.0));
		bacnet_close(b, 3);
		bacnet_unsigned(b, 4, 8);       /* priority 8: manual operator */
		break;
	case OP_DCC_DISABLE:
	case OP_DCC_ENABLE:
		confirmed(b, inv, SVC_DCC);
		if (s->v[V_OP] == OP_DCC_DISABLE)
			bacnet_unsigned(b, 0, 5);   /* minutes */
		bacnet_enum(b, 1, s->v[V_OP] == OP_DCC_DISABLE ? 1 : 0);
		bacnet_string(b, 2, "bms-admin");
		break;
	case OP_REINIT:
		confirmed(b, inv, SVC_REINITIALIZE);
		bacnet_enum(b, 0, 1);           /* warmstart */
		bacnet_string(b, 1, "bms-admin");
		break;
	}
}

static void build_response(struct sim *t, struct sim_session *s, struct wbuf *b, const struct plant_host *dev)
{
	uint8_t inv = (uint8_t)s->v[V_INVOKE];
	char app[32];

	switch ((enum op)s->v[V_OP]) {
	case OP_READ_PROP:
	case OP_READ_PV:
		wbuf_u8(b, 0x30);               /* complex ACK */
		wbuf_u8(b, inv);
		wbuf_u8(b, SVC_READ_PROPERTY);
		if (s->v[V_OP] == OP_READ_PV) {
			bacnet_objid(b, 0, BACNET_OBJ_ANALOG_INPUT, 1 + s->v[V_ARG]);
			bacnet_enum(b, 1, BACNET_PROP_PRESENT_VALUE);
			bacnet_open(b, 3);
			bacnet_real(b, (float)(18.0 + 2.0 * s->v[V_ARG] + (double)prng_range(&s->rng, 0, 99) / 50.0));
			bacnet_close(b, 3);
			break;
		}
		bacnet_objid(b, 0, BACNET_OBJ_DEVICE, dev->address);
		bacnet_enum(b, 1, device_props[s->v[V_ARG]]);
		bacnet_open(b, 3);
		switch (device_props[s->v[V_ARG]]) {
		case BACNET_PROP_OBJECT_NAME:
			bacnet_string(b, -1, dev->name);
			sim_reveal(t, s->b, PP_BACNET, PF_BIT(PF_HOSTNAME));
			break;
		case BACNET_PROP_VENDOR_NAME:
			bacnet_string(b, -1, dev->model->vendor);
			sim_reveal(t, s->b, PP_BACNET, PF_BIT(PF_VENDOR));
			break;
		case BACNET_PROP_VENDOR_IDENTIFIER: bacnet_unsigned(b, -1, dev->model->bacnet_vendor); break;
		case BACNET_PROP_MODEL_NAME:
			bacnet_string(b, -1, dev->model->model);
			sim_reveal(t, s->b, PP_BACNET, PF_BIT(PF_MODEL));
			break;
		case BACNET_PROP_FIRMWARE_REVISION:
			bacnet_string(b, -1, dev->model->firmware);
			sim_reveal(t, s->b, PP_BACNET, PF_BIT(PF_FIRMWARE));
			break;
		default:
			snprintf(app, sizeof(app), "%s-APP 2.4", dev->model->family);
			bacnet_string(b, -1, app);
			break;
		}
		bacnet_close(b, 3);
		break;
	default:
		wbuf_u8(b, 0x20);               /* simple ACK */
		wbuf_u8(b, inv);
		wbuf_u8(b, s->v[V_OP] == OP_WRITE_SETPOINT ? SVC_WRITE_PROPERTY :
			s->v[V_OP] == OP_REINIT ? SVC_REINITIALIZE : SVC_DCC);
		break;
	}
}

/* The next request of the session: returns the time it is due. */
static uint64_t next_request(struct sim *t, struct sim_session *s, bool poller)
{
	uint64_t best;

	s->v[V_INVOKE] = (s->v[V_INVOKE] + 1) & 0xff;
	if (poller) {
		s->v[V_OP] = OP_READ_PV;
		s->v[V_ARG] = (s->v[V_ARG] + 1) % 4;
		return s->at + (s->v[V_ARG] == 0 ? sim_ms(s, 4000, 8000) : sim_ms(s, 20, 120));
	}
	if (s->v[V_STEP] < sizeof(device_props)) {
		s->v[V_OP] = OP_READ_PROP;
		s->v[V_ARG] = s->v[V_STEP]++;
		return s->at + sim_ms(s, 20, 200);
	}
	/* Device object re-read every half hour; operations at their times. */
	best = s->due[0];
	s->v[V_OP] = OP_READ_PROP;
	for (unsigned k = 0; k < N_SPECIALS; k++) {
		uint64_t due = t->start + s->due[3] + (uint64_t)s->v[V_DUE0 + k] * USEC_PER_SEC;
		if (due < best) {
			best = due;
			s->v[V_OP] = specials[k].op;
			s->v[V_ARG] = k;
		}
	}
	if (s->v[V_OP] == OP_READ_PROP) {
		s->v[V_STEP] = 1;
		s->v[V_ARG] = 0;
		s->due[0] += 1800 * USEC_PER_SEC;
	} else {
		unsigned k = s->v[V_ARG];
		s->v[V_DUE0 + k] += specials[k].again_s;
	}
	return best > s->at ? best : s->at + sim_ms(s, 20, 200);
}

static int client_step(struct sim *t, struct sim_session *s, bool poller)
{
	const struct plant_host *dev = sim_host(t, s->b);
	struct endpoint me = sim_host_ep(t, s->a), peer = sim_host_ep(t, s->b);
	uint64_t ts = s->at;
	struct wbuf b;
	size_t at;
	int r;

	wbuf_init(&b, t->payload, sizeof(t->payload));
	if (s->state == 0) {
		at = bacnet_begin(&b, false, true);
		build_request(s, &b, dev);
		bacnet_end(&b, at);
		r = sim_udp(t, ts, &me, peer.mac, peer.ip, BACNET_PORT, BACNET_PORT, &b);
		sim_seen(t, s->a, PP_BACNET, PR_CLIENT);
		s->state = 1;
		s->at += sim_us(s, 2000, 25000);
		return r;
	}
	at = bacnet_begin(&b, false, false);
	build_response(t, s, &b, dev);
	bacnet_end(&b, at);
	r = sim_udp(t, ts, &peer, me.mac, me.ip, BACNET_PORT, BACNET_PORT, &b);
	sim_seen(t, s->b, PP_BACNET, PR_SERVER);
	s->state = 0;
	s->at = next_request(t, s, poller);
	return r;
}

static int ews_step(struct sim *t, struct sim_session *s) { return client_step(t, s, false); }

static int poll_step(struct sim *t, struct sim_session *s) { return client_step(t, s, true); }

int bacnet_spawn(struct sim *t)
{
	const struct plant *p = t->plant;
	unsigned ews = plant_find(p, ROLE_EWS), whois = ews < p->n_hosts ? ews : plant_find(p, ROLE_HMI);
	struct sim_session *s;
	int r;

	if (whois < p->n_hosts) {
		r = sim_add(t, whois_step, whois, 0, 0, &s);
		if (r < 0)
			return r;
		s->at = t->start + sim_ms(s, 1000, 8000);
	}
	for (unsigned j = 0; j < p->n_hosts; j++) {
		if (!(p->hosts[j].model->serves & PP_BIT(PP_BACNET)))
			continue;
		if (ews < p->n_hosts) {
			r = sim_add(t, ews_step, ews, j, 0, &s);
			if (r < 0)
				return r;
			s->at = t->start + sim_ms(s, 9000, 15000);
			s->due[0] = s->at + 1800 * USEC_PER_SEC;
			s->due[3] = sim_ms(s, 0, 3000);
			for (unsigned k = 0; k < N_SPECIALS; k++) {
				s->v[V_DUE0 + k] = specials[k].at_s;
				/* Scenario runs: the setpoint writes, but no communication control or restart. */
				if (t->quiet && specials[k].op != OP_WRITE_SETPOINT)
					s->v[V_DUE0 + k] = SIM_NEVER_S;
			}
			s->v[V_OP] = OP_READ_PROP;
			s->v[V_STEP] = 1;
		}
		for (unsigned i = 0; i < p->n_hosts; i++) {
			if (p->hosts[i].role != ROLE_HISTORIAN)
				continue;
			r = sim_add(t, poll_step, i, j, 0, &s);
			if (r < 0)
				return r;
			s->at = t->start + sim_ms(s, 3000, 9000);
			s->v[V_OP] = OP_READ_PV;
		}
	}
	return 0;
}
