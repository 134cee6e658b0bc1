/* What the console sends to the uplink (uplink.h): welcome, ack, ping, config, indicator bundles, evidence
 * requests and the answer to a renewal. Runs on the uplink thread. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sensor-agent/evidence.h"
#include "sensor-agent/uplink_internal.h"

#define ANSWERS_DATA_MAX 8 /* evidence answers waiting that carry a capture; beyond, requests get an error answer */

static void on_ack(struct uplink *u, uint64_t seq)
{
	if (seq > journal_last_seq(u->j))
		log_warn("uplink: console acked seq %" PRIu64 " beyond the journal's last %" PRIu64, seq,
			 journal_last_seq(u->j));
	int rc = journal_ack(u->j, seq);
	if (rc < 0)
		log_error("uplink: cannot record ack %" PRIu64 ": %s", seq, strerror(-rc));
	else if (u->on_ack)
		u->on_ack(u->cb_arg, journal_acked(u->j));
	pthread_mutex_lock(&u->mu);
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->mu);
}

/* The console asks for an evidence capture: read on this thread (at most WIRE_MAX_EVIDENCE_BYTES; the sensor
 * writes about 33 KiB at most) and queue the answer, or an error answer. */
static void on_evidence_request(struct uplink *u, struct lws *wsi, uint64_t id, const char *ref)
{
	const char *error = NULL;
	uint8_t *data = NULL;
	size_t len = 0, tlen;
	char *text;
	int rc = 0;

	if (u->n_answers == UPLINK_ANSWERS_MAX) {
		log_warn("uplink: evidence request for %s dropped: %d answers are waiting", ref, UPLINK_ANSWERS_MAX);
		return;
	}
	if (!u->evidence_dir)
		error = "this sensor keeps no evidence captures";
	else if (u->n_data_answers >= ANSWERS_DATA_MAX)
		error = "too many evidence requests at once; try again";
	else if ((rc = evidence_read(u->evidence_dir, ref, WIRE_MAX_EVIDENCE_BYTES, &data, &len)) < 0)
		error = rc == -ENOENT ? "no such evidence capture"
			: rc == -EFBIG ? "evidence capture too large" : "cannot read the evidence capture";
	if (rc < 0 && rc != -ENOENT)
		log_warn("uplink: evidence capture %s: %s", ref, strerror(-rc));
	text = wire_encode(wire_build_evidence(id, ref, data, len, error), &tlen);
	free(data);
	if (!text) {
		log_warn("uplink: out of memory answering the evidence request for %s", ref);
		return;
	}
	u->answers[u->n_answers++] = (struct uplink_answer){ text, tlen, !error };
	if (!error)
		u->n_data_answers++;
	log_info("uplink: evidence capture %s requested: %s", ref, error ? error : "sending");
	lws_callback_on_writable(wsi);
}

int uplink_on_message(struct uplink *u, struct lws *wsi, const char *buf, size_t len)
{
	struct wire_msg m;
	char err[256];
	if (wire_parse(buf, len, &m, err, sizeof(err)) < 0) {
		log_warn("uplink: malformed message from the console: %s", err);
		return 0;
	}
	switch (m.type) {
	case WIRE_WELCOME: {
		uint64_t applied = m.u.welcome.applied_seq;
		/* Before the ack below: acking may free the journal's head. */
		if (uplink_gap(applied, journal_first_seq(u->j), journal_last_seq(u->j))) {
			log_warn("uplink: the console applied up to seq %" PRIu64 " but the journal starts at %" PRIu64
				 ": asking for a snapshot of the inventory", applied, journal_first_seq(u->j));
			pthread_mutex_lock(&u->mu);
			u->snapshot_request = true;
			pthread_mutex_unlock(&u->mu);
		}
		if (applied > journal_acked(u->j))
			on_ack(u, applied);
		u->send_next = applied + 1;
		/* The console holds up to `applied` (journal_note_sent keeps the highest seq it may hold). */
		journal_note_sent(u->j, applied);
		u->win.n = 0;
		u->welcomed = true;
		uplink_set_connected(u, true);
		uplink_backoff_reset(&u->backoff);
		log_info("uplink: connected to %s:%d; console applied up to seq %" PRIu64 ", journal ends at %" PRIu64,
			 u->host, u->port, applied, journal_last_seq(u->j));
		uplink_renew_welcomed(u);
		lws_callback_on_writable(wsi);
		break;
	}
	case WIRE_CERTIFICATE:
		uplink_renew_answer(u, &m);
		break;
	case WIRE_ACK:
		if (!u->welcomed)
			break;
		on_ack(u, m.u.ack.seq);
		uplink_window_ack(&u->win, m.u.ack.seq);
		if (u->send_next <= m.u.ack.seq)
			u->send_next = m.u.ack.seq + 1;
		lws_callback_on_writable(wsi);
		break;
	case WIRE_PING:
		u->pongs_pending++;
		lws_callback_on_writable(wsi);
		break;
	case WIRE_EVIDENCE_REQUEST:
		on_evidence_request(u, wsi, m.u.evidence_request.id, m.u.evidence_request.ref);
		break;
	case WIRE_INDICATORS: {
		json_t *copy = json_deep_copy(m.u.indicators.bundle);
		if (!copy)
			break;
		pthread_mutex_lock(&u->mu);
		json_decref(u->indicators);
		u->indicators = copy;
		pthread_mutex_unlock(&u->mu);
		log_info("uplink: new indicator bundle from the console");
		break;
	}
	case WIRE_CONFIG: {
		/* The whole message (validated): settings, mode request, learned items. */
		json_t *copy = json_deep_copy(m.root);
		if (!copy)
			break;
		pthread_mutex_lock(&u->mu);
		json_decref(u->settings);
		u->settings = copy;
		u->configs++;
		pthread_cond_broadcast(&u->cond);
		pthread_mutex_unlock(&u->mu);
		log_info("uplink: new config from the console");
		break;
	}
	default:
		log_debug("uplink: ignoring message type %d", (int)m.type);
		break;
	}
	wire_msg_free(&m);
	return 0;
}
