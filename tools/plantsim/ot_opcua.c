/* OPC UA binary (OPC 10000-6, UA TCP + UA Secure Conversation with SecurityPolicy None and security mode
 * None, so every service is readable) between the historian and every S7-1500 (port 4840): HEL/ACK,
 * OpenSecureChannel, GetEndpoints, CreateSession (the server's endpoint and application description), ActivateSession
 * (anonymous), a Browse of the Objects folder, a Read of the server's BuildInfo (manufacturer, product,
 * software version, build number), then a Read of process values every second, CloseSession and CLO. */
#include <stdio.h>
#include <string.h>

#include "tools/plantsim/sim.h"

#define POLICY_NONE "http://opcfoundation.org/UA/SecurityPolicy#None"
#define UA_OPN_REQ 446
#define UA_OPN_RSP 449
#define UA_CLO_REQ 452
#define UA_GET_ENDPOINTS_REQ 428
#define UA_GET_ENDPOINTS_RSP 431
#define UA_CREATE_SESSION_REQ 461
#define UA_CREATE_SESSION_RSP 464
#define UA_ACTIVATE_SESSION_REQ 467
#define UA_ACTIVATE_SESSION_RSP 470
#define UA_CLOSE_SESSION_REQ 473
#define UA_CLOSE_SESSION_RSP 476
#define UA_BROWSE_REQ 527
#define UA_BROWSE_RSP 530
#define UA_READ_REQ 631
#define UA_READ_RSP 634
#define UA_ANONYMOUS_TOKEN 321

static void ua_str(struct wbuf *b, const char *s)
{
	if (!s) {
		wbuf_u32le(b, 0xffffffffu);
		return;
	}
	wbuf_u32le(b, (uint32_t)strlen(s));
	wbuf_bytes(b, s, strlen(s));
}

static void ua_bytes(struct wbuf *b, struct sim_session *s, int n)
{
	if (n < 0) {
		wbuf_u32le(b, 0xffffffffu);
		return;
	}
	wbuf_u32le(b, (uint32_t)n);
	for (int i = 0; i < n; i++)
		wbuf_u8(b, (uint8_t)prng_next(&s->rng));
}

/* Numeric node id in the smallest encoding: two-byte, four-byte or full numeric. */
static void ua_nodeid(struct wbuf *b, uint16_t ns, uint32_t id)
{
	if (ns == 0 && id < 256) {
		wbuf_u8(b, 0x00);
		wbuf_u8(b, (uint8_t)id);
	} else if (ns < 256 && id < 65536) {
		wbuf_u8(b, 0x01);
		wbuf_u8(b, (uint8_t)ns);
		wbuf_u16le(b, (uint16_t)id);
	} else {
		wbuf_u8(b, 0x02);
		wbuf_u16le(b, ns);
		wbuf_u32le(b, id);
	}
}

static void ua_nodeid_str(struct wbuf *b, uint16_t ns, const char *id)
{
	wbuf_u8(b, 0x03);
	wbuf_u16le(b, ns);
	ua_str(b, id);
}

static void ua_time(struct wbuf *b, uint64_t usec)
{
	uint64_t t = usec * 10 + 116444736000000000ULL;   /* 100 ns ticks since 1601-01-01 */
	wbuf_u32le(b, (uint32_t)t);
	wbuf_u32le(b, (uint32_t)(t >> 32));
}

static void ua_double(struct wbuf *b, double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	wbuf_u32le(b, (uint32_t)u);
	wbuf_u32le(b, (uint32_t)(u >> 32));
}

static void ua_text(struct wbuf *b, const char *s)
{
	wbuf_u8(b, 0x02);       /* text only */
	ua_str(b, s);
}

static void ua_null_ext(struct wbuf *b)
{
	ua_nodeid(b, 0, 0);
	wbuf_u8(b, 0);
}

static void request_header(struct wbuf *b, uint32_t token, uint64_t now, uint32_t handle)
{
	if (token)
		ua_nodeid(b, 1, token);
	else
		ua_nodeid(b, 0, 0);
	ua_time(b, now);
	wbuf_u32le(b, handle);
	wbuf_u32le(b, 0);       /* return diagnostics */
	ua_str(b, NULL);        /* audit entry id */
	wbuf_u32le(b, 10000);   /* timeout hint */
	ua_null_ext(b);
}

static void response_header(struct wbuf *b, uint64_t now, uint32_t handle)
{
	ua_time(b, now);
	wbuf_u32le(b, handle);
	wbuf_u32le(b, 0);       /* Good */
	wbuf_u8(b, 0);          /* diagnostic info: empty */
	wbuf_u32le(b, 0);       /* string table */
	ua_null_ext(b);
}

static void app_description(struct wbuf *b, const char *uri, const char *product, const char *name, uint32_t type,
	const char *url)
{
	ua_str(b, uri);
	ua_str(b, product);
	ua_text(b, name);
	wbuf_u32le(b, type);
	ua_str(b, NULL);
	ua_str(b, NULL);
	if (url) {
		wbuf_u32le(b, 1);
		ua_str(b, url);
	} else {
		wbuf_u32le(b, 0xffffffffu);
	}
}

/* The server's one endpoint: security None, anonymous logins, UA TCP binary. */
static void endpoint_description(struct wbuf *b, const char *url, const char *product_uri, const char *app_name)
{
	ua_str(b, url);
	app_description(b, product_uri, product_uri, app_name, 0, url);
	ua_str(b, NULL);                /* server certificate */
	wbuf_u32le(b, 1);               /* security mode None */
	ua_str(b, POLICY_NONE);
	wbuf_u32le(b, 1);               /* user token policies */
	ua_str(b, "Anonymous");
	wbuf_u32le(b, 0);
	ua_str(b, NULL);
	ua_str(b, NULL);
	ua_str(b, NULL);
	ua_str(b, "http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary");
	wbuf_u8(b, 0);                  /* security level */
}

/* Message header (type, final chunk, size patched by msg_end). */
static size_t msg_begin(struct wbuf *b, const char *type)
{
	size_t at = b->len;
	wbuf_bytes(b, type, 3);
	wbuf_u8(b, 'F');
	wbuf_u32le(b, 0);
	return at;
}

static void msg_end(struct wbuf *b, size_t at)
{
	uint32_t n = (uint32_t)(b->len - at);
	if (!b->overflow) {
		b->p[at + 4] = (uint8_t)n;
		b->p[at + 5] = (uint8_t)(n >> 8);
		b->p[at + 6] = (uint8_t)(n >> 16);
		b->p[at + 7] = (uint8_t)(n >> 24);
	}
}

enum { V_CHANNEL, V_TOKEN, V_CSEQ, V_SSEQ, V_REQID, V_AUTH, V_LIMIT, V_SESSION };

/* Symmetric (MSG/CLO) or asymmetric (OPN) security header plus sequence header. */
static size_t secure_begin(struct wbuf *b, struct sim_session *s, const char *type, bool server)
{
	size_t at = msg_begin(b, type);

	wbuf_u32le(b, type[0] == 'O' && !server ? 0 : s->v[V_CHANNEL]);
	if (type[0] == 'O') {
		ua_str(b, POLICY_NONE);
		ua_str(b, NULL);    /* sender certificate */
		ua_str(b, NULL);    /* receiver certificate thumbprint */
	} else {
		wbuf_u32le(b, s->v[V_TOKEN]);
	}
	wbuf_u32le(b, server ? s->v[V_SSEQ]++ : s->v[V_CSEQ]++);
	wbuf_u32le(b, s->v[V_REQID]);
	return at;
}

static const char *const value_nodes[] = { "\"DB_Process\".\"Temp_Reactor\"", "\"DB_Process\".\"Pressure_Line1\"",
	"\"DB_Process\".\"Flow_Feed\"", "\"DB_Process\".\"Level_Tank2\"" };

static void read_request(struct wbuf *b, bool build_info)
{
	wbuf_u32le(b, 4);
	for (int i = 0; i < 4; i++) {
		if (build_info)
			ua_nodeid(b, 0, 2261 + (uint32_t)i);   /* BuildInfo: ProductName, ProductUri, Manufacturer.. */
		else
			ua_nodeid_str(b, 3, value_nodes[i]);
		wbuf_u32le(b, 13);                  /* attribute: Value */
		ua_str(b, NULL);
		wbuf_u16le(b, 0);
		ua_str(b, NULL);
	}
}

static bool opcua_script(struct sim *t, struct sim_session *s, struct tcp_msg *m, struct wbuf *b)
{
	const struct plant_host *plc = sim_host(t, s->b);
	unsigned i = s->n / 2;
	bool reply = s->n % 2 == 1;
	uint64_t now = s->at;
	char url[64], product_uri[96], app_name[64];
	size_t at;

	snprintf(url, sizeof(url), "opc.tcp://%u.%u.%u.%u:4840", plc->ip >> 24, plc->ip >> 16 & 0xff,
		plc->ip >> 8 & 0xff, plc->ip & 0xff);
	snprintf(product_uri, sizeof(product_uri), "urn:Siemens.Automation.%s:OPC-UA-Server", plc->model->family);
	snprintf(app_name, sizeof(app_name), "SIMATIC.%s.OPC-UA.Application:%s", plc->model->family, plc->name);
	if (s->n == 0) {
		memset(s->v, 0, sizeof(s->v));
		s->v[V_CSEQ] = 1;
		s->v[V_SSEQ] = 1;
		s->v[V_LIMIT] = (uint32_t)prng_range(&s->rng, 120, 900);
	}
	if (!reply && i > 6 + s->v[V_LIMIT] + 1)
		return false;
	m->from_server = reply;
	m->gap_us = reply ? sim_us(s, 600, 8000) : i < 7 ? sim_ms(s, 2, 40) : sim_ms(s, 950, 1050);
	if (i == 0) {
		at = msg_begin(b, reply ? "ACK" : "HEL");
		wbuf_u32le(b, 0);                   /* protocol version */
		wbuf_u32le(b, reply ? 8192 : 65535); /* receive buffer */
		wbuf_u32le(b, reply ? 8192 : 65535); /* send buffer */
		wbuf_u32le(b, reply ? 4194304 : 0); /* max message size */
		wbuf_u32le(b, reply ? 64 : 0);      /* max chunk count */
		if (!reply)
			ua_str(b, url);
		msg_end(b, at);
		return true;
	}
	if (!reply)
		s->v[V_REQID]++;
	if (i == 1) {
		if (reply) {
			s->v[V_CHANNEL] = (uint32_t)prng_range(&s->rng, 1, 0xffff);
			s->v[V_TOKEN] = (uint32_t)prng_range(&s->rng, 1, 0xffff);
		}
		at = secure_begin(b, s, "OPN", reply);
		ua_nodeid(b, 0, reply ? UA_OPN_RSP : UA_OPN_REQ);
		if (!reply) {
			request_header(b, 0, now, 1);
			wbuf_u32le(b, 0);               /* client protocol version */
			wbuf_u32le(b, 0);               /* request type: issue */
			wbuf_u32le(b, 1);               /* security mode: None */
			ua_bytes(b, s, 0);              /* client nonce */
			wbuf_u32le(b, 3600000);
		} else {
			response_header(b, now, 1);
			wbuf_u32le(b, 0);
			wbuf_u32le(b, s->v[V_CHANNEL]);
			wbuf_u32le(b, s->v[V_TOKEN]);
			ua_time(b, now);
			wbuf_u32le(b, 3600000);
			ua_bytes(b, s, 0);
		}
		msg_end(b, at);
		return true;
	}
	if (!reply && i == 6 + s->v[V_LIMIT] + 1) {
		/* CloseSecureChannel has no response; the client closes the connection after it. */
		at = secure_begin(b, s, "CLO", false);
		ua_nodeid(b, 0, UA_CLO_REQ);
		request_header(b, s->v[V_AUTH], now, s->v[V_REQID]);
		msg_end(b, at);
		m->gap_us = sim_ms(s, 2, 20);
		s->n++;
		return true;
	}
	at = secure_begin(b, s, "MSG", reply);
	if (i == 2) {
		/* GetEndpoints first, on the same channel, as most clients do. */
		ua_nodeid(b, 0, reply ? UA_GET_ENDPOINTS_RSP : UA_GET_ENDPOINTS_REQ);
		if (!reply) {
			request_header(b, 0, now, s->v[V_REQID]);
			ua_str(b, url);
			wbuf_u32le(b, 0xffffffffu);     /* locale ids */
			wbuf_u32le(b, 0xffffffffu);     /* profile uris */
		} else {
			response_header(b, now, s->v[V_REQID]);
			wbuf_u32le(b, 1);
			endpoint_description(b, url, product_uri, app_name);
		}
		msg_end(b, at);
		return true;
	}
	i--;                                    /* the session's phases count from CreateSession = 2 */
	if (i == 2) {
		ua_nodeid(b, 0, reply ? UA_CREATE_SESSION_RSP : UA_CREATE_SESSION_REQ);
		if (!reply) {
			request_header(b, 0, now, s->v[V_REQID]);
			app_description(b, "urn:historian:AVEVA:Historian", "urn:AVEVA:Historian", "Historian OPC UA Client", 1,
				NULL);
			ua_str(b, NULL);
			ua_str(b, url);
			ua_str(b, "Historian session");
			ua_bytes(b, s, 32);
			ua_str(b, NULL);                /* client certificate */
			ua_double(b, 1200000.0);
			wbuf_u32le(b, 0);
		} else {
			s->v[V_SESSION] = (uint32_t)prng_next(&s->rng);
			s->v[V_AUTH] = (uint32_t)prng_range(&s->rng, 1, 0xffff);
			response_header(b, now, s->v[V_REQID]);
			ua_nodeid(b, 1, s->v[V_SESSION]);
			ua_nodeid(b, 1, s->v[V_AUTH]);
			ua_double(b, 1200000.0);
			ua_bytes(b, s, 32);
			ua_str(b, NULL);                /* server certificate */
			wbuf_u32le(b, 1);               /* endpoints */
			endpoint_description(b, url, product_uri, app_name);
			wbuf_u32le(b, 0);               /* software certificates */
			ua_str(b, NULL);                /* signature: algorithm, bytes */
			ua_str(b, NULL);
			wbuf_u32le(b, 0);
		}
	} else if (i == 3) {
		ua_nodeid(b, 0, reply ? UA_ACTIVATE_SESSION_RSP : UA_ACTIVATE_SESSION_REQ);
		if (!reply) {
			request_header(b, s->v[V_AUTH], now, s->v[V_REQID]);
			ua_str(b, NULL);
			ua_str(b, NULL);
			wbuf_u32le(b, 0);               /* software certificates */
			wbuf_u32le(b, 1);
			ua_str(b, "en-US");
			ua_nodeid(b, 0, UA_ANONYMOUS_TOKEN);
			wbuf_u8(b, 0x01);               /* body: byte string */
			wbuf_u32le(b, 4 + 9);
			ua_str(b, "Anonymous");
			ua_str(b, NULL);
			ua_str(b, NULL);
		} else {
			response_header(b, now, s->v[V_REQID]);
			ua_bytes(b, s, 32);
			wbuf_u32le(b, 0);
			wbuf_u32le(b, 0);
		}
	} else if (i == 4) {
		ua_nodeid(b, 0, reply ? UA_BROWSE_RSP : UA_BROWSE_REQ);
		if (!reply) {
			request_header(b, s->v[V_AUTH], now, s->v[V_REQID]);
			ua_nodeid(b, 0, 0);             /* view */
			ua_time(b, 0);
			wbuf_u32le(b, 0);
			wbuf_u32le(b, 100);
			wbuf_u32le(b, 1);
			ua_nodeid(b, 0, 85);            /* Objects folder */
			wbuf_u32le(b, 0);               /* forward */
			ua_nodeid(b, 0, 33);            /* HierarchicalReferences */
			wbuf_u8(b, 1);
			wbuf_u32le(b, 0);
			wbuf_u32le(b, 63);
		} else {
			static const char *const names[] = { "Server", "DeviceSet", "ServerInterfaces" };
			static const uint32_t ids[] = { 2253, 5001, 6001 };
			response_header(b, now, s->v[V_REQID]);
			wbuf_u32le(b, 1);
			wbuf_u32le(b, 0);               /* status Good */
			ua_str(b, NULL);                /* continuation point */
			wbuf_u32le(b, 3);
			for (int k = 0; k < 3; k++) {
				ua_nodeid(b, 0, 35);        /* Organizes */
				wbuf_u8(b, 1);
				ua_nodeid(b, (uint16_t)(k ? 2 + k : 0), ids[k]);
				wbuf_u16le(b, (uint16_t)(k ? 2 : 0));
				ua_str(b, names[k]);
				ua_text(b, names[k]);
				wbuf_u32le(b, 1);           /* node class: Object */
				ua_nodeid(b, 0, 61);        /* FolderType */
			}
			wbuf_u32le(b, 0);
		}
	} else if (i < 5 + s->v[V_LIMIT]) {
		bool build_info = i == 5;
		ua_nodeid(b, 0, reply ? UA_READ_RSP : UA_READ_REQ);
		if (!reply) {
			request_header(b, s->v[V_AUTH], now, s->v[V_REQID]);
			ua_double(b, 0.0);
			wbuf_u32le(b, build_info ? 3 : 2);  /* timestamps: neither / both */
			read_request(b, build_info);
		} else {
			const char *info[4] = { plc->model->model, product_uri, plc->model->vendor, plc->model->firmware };
			if (build_info)
				sim_reveal(t, s->b, PP_OPCUA, PF_BIT(PF_VENDOR) | PF_BIT(PF_MODEL) | PF_BIT(PF_FIRMWARE));
			response_header(b, now, s->v[V_REQID]);
			wbuf_u32le(b, 4);
			for (int k = 0; k < 4; k++) {
				if (build_info) {
					wbuf_u8(b, 0x01);       /* value only */
					wbuf_u8(b, 12);         /* String */
					ua_str(b, info[k]);
				} else {
					wbuf_u8(b, 0x0d);       /* value, source and server timestamps */
					wbuf_u8(b, 11);         /* Double */
					ua_double(b, 20.0 * (k + 1) + (double)prng_range(&s->rng, 0, 999) / 100.0);
					ua_time(b, now - sim_ms(s, 1, 400));
					ua_time(b, now);
				}
			}
			wbuf_u32le(b, 0);
		}
	} else {
		ua_nodeid(b, 0, reply ? UA_CLOSE_SESSION_RSP : UA_CLOSE_SESSION_REQ);
		if (!reply) {
			request_header(b, s->v[V_AUTH], now, s->v[V_REQID]);
			wbuf_u8(b, 1);                  /* delete subscriptions */
		} else {
			response_header(b, now, s->v[V_REQID]);
		}
	}
	msg_end(b, at);
	return true;
}

static const struct tcp_app app_opcua = { PP_OPCUA, 4840, false, 5000, 15000, opcua_script };

int opcua_spawn(struct sim *t)
{
	return tcp_spawn_role(t, &app_opcua, ROLE_HISTORIAN, 500, 4000);
}
