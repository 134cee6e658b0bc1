/* Certificate renewal in the uplink (uplink.h, cert_renew.h). Runs on the uplink thread only.
 *
 * One renew per connection at most: the key stays in memory (u->renew_key) until the console's answer arrives on
 * the same connection. A lost connection drops it; the next welcome asks again and the console revokes the next
 * certificate it signed but never saw used. Failures hold further attempts off for UPLINK_RENEW_RETRY_SEC, checked
 * at every welcome and by an hourly timer while connected: a flapping connection or a console that keeps refusing
 * never makes the sensor ask in a loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/pki.h"
#include "common/timefmt.h"
#include "sensor-agent/cert_renew.h"
#include "sensor-agent/uplink_internal.h"

static int64_t mono_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static void hold(struct uplink *u, int64_t sec)
{
	u->renew_hold_until = mono_sec() + sec;
}

void uplink_renew_lost(struct uplink *u)
{
	EVP_PKEY_free(u->renew_key);
	u->renew_key = NULL;
	free(u->renew_csr);
	u->renew_csr = NULL;
}

/* Asks for a new certificate when the current one is due. */
static void check(struct uplink *u)
{
	char until[TIMEFMT_LEN];
	int64_t not_after;
	bool due;
	int rc;

	if (!uplink_renew_wanted(u->renew_before_sec, u->renew_key != NULL, mono_sec(), u->renew_hold_until) ||
	    !u->wsi || !u->welcomed || u->closing || u->reload)
		return;
	if ((rc = cert_renew_due(u->cert_path, u->renew_before_sec, &due, &not_after)) < 0) {
		log_warn("uplink: cannot read the certificate %s to check its expiry: %s", u->cert_path, strerror(-rc));
		hold(u, UPLINK_RENEW_RETRY_SEC);
		return;
	}
	if (!due)
		return;
	if ((rc = cert_renew_request(u->sensor_id, &u->renew_key, &u->renew_csr)) < 0) {
		log_error("uplink: cannot make a key and CSR for the certificate renewal: %s", strerror(-rc));
		hold(u, UPLINK_RENEW_RETRY_SEC);
		return;
	}
	log_info("uplink: the certificate expires at %s, within the renewal window of %lld days: asking the console "
		 "for a new one", timefmt_rfc3339_ms(not_after, until), (long long)(u->renew_before_sec / 86400));
	lws_callback_on_writable(u->wsi);
}

static void check_timer(lws_sorted_usec_list_t *sul)
{
	struct uplink *u = lws_container_of(sul, struct uplink, sul_renew);
	check(u);
	lws_sul_schedule(u->ctx, 0, &u->sul_renew, check_timer, (lws_usec_t)UPLINK_RENEW_CHECK_SEC * LWS_US_PER_SEC);
}

void uplink_renew_welcomed(struct uplink *u)
{
	if (!u->renew_before_sec)
		return;
	check(u);
	lws_sul_schedule(u->ctx, 0, &u->sul_renew, check_timer, (lws_usec_t)UPLINK_RENEW_CHECK_SEC * LWS_US_PER_SEC);
}

int uplink_renew_write(struct uplink *u, struct lws *wsi)
{
	if (!u->renew_csr)
		return 0;
	json_t *msg = wire_build_renew(u->renew_csr);
	free(u->renew_csr);
	u->renew_csr = NULL; /* the key stays: it waits for the answer */
	if (uplink_send_msg(wsi, msg) < 0)
		return -1;
	log_debug("uplink: renew sent");
	lws_callback_on_writable(wsi); /* batches go on meanwhile */
	return 1;
}

/* Serial and end of validity of an installed certificate, for the log. */
static void describe(const char *cert_pem, char serial[PKI_SERIAL_HEX_LEN], char until[TIMEFMT_LEN])
{
	X509 *cert = NULL;
	int64_t usec;

	snprintf(serial, PKI_SERIAL_HEX_LEN, "?");
	snprintf(until, TIMEFMT_LEN, "?");
	if (pki_cert_from_pem(cert_pem, &cert) < 0)
		return;
	if (pki_cert_serial_hex(cert, serial) < 0)
		snprintf(serial, PKI_SERIAL_HEX_LEN, "?");
	struct tm tm;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm)) {
		usec = (int64_t)timegm(&tm) * 1000000;
		timefmt_rfc3339_ms(usec, until);
	}
	X509_free(cert);
}

void uplink_renew_answer(struct uplink *u, const struct wire_msg *m)
{
	char err[256], serial[PKI_SERIAL_HEX_LEN], until[TIMEFMT_LEN];
	int64_t not_after;
	bool due = false;
	int rc;

	if (!u->renew_key || u->renew_csr) {
		log_warn("uplink: the console sent a certificate this connection did not ask for; ignored");
		return;
	}
	if (m->u.certificate.error) {
		log_warn("uplink: the console did not renew the certificate: %.200s; asking again in %d min",
			 m->u.certificate.error, UPLINK_RENEW_RETRY_SEC / 60);
		uplink_renew_lost(u);
		hold(u, UPLINK_RENEW_RETRY_SEC);
		return;
	}
	rc = cert_renew_install(u->state_dir, u->ca_path, u->sensor_id, u->renew_key, m->u.certificate.certificate,
				err, sizeof(err));
	uplink_renew_lost(u);
	if (rc < 0) {
		log_error("uplink: renewed certificate not installed: %s; asking again in %d min", err,
			  UPLINK_RENEW_RETRY_SEC / 60);
		/* A rename that failed half way leaves a pair the next start could not load: settle it now. The
		 * context in use keeps the old pair in memory meanwhile. */
		if ((rc = cert_renew_recover(u->state_dir)) < 0)
			log_error("uplink: cannot settle the interrupted install in %s: %s", u->state_dir, strerror(-rc));
		hold(u, UPLINK_RENEW_RETRY_SEC);
		return;
	}
	describe(m->u.certificate.certificate, serial, until);
	log_info("uplink: certificate renewed: serial %s, valid until %s; reconnecting with it", serial, until);
	if (cert_renew_due(u->cert_path, u->renew_before_sec, &due, &not_after) == 0 && due) {
		log_warn("uplink: the renewed certificate expires within the renewal window (%lld days) too; renewing at "
			 "most once a day", (long long)(u->renew_before_sec / 86400));
		hold(u, UPLINK_RENEW_REPEAT_SEC);
	}
	/* The lws context loaded the old pair when it was made: close, rebuild it, reconnect (thread_main). */
	u->reload = true;
	uplink_begin_close(u, LWS_CLOSE_STATUS_NORMAL, "certificate renewed");
}
