/* The builders of otwatch.v1 messages and the base64 of evidence captures (the parsers are in wire.c). */
#include "common/wire.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *wire_build_hello(const char *sensor_id, const char *version, const char *mode, uint64_t first_seq,
			 uint64_t last_seq)
{
	char proto[24];

	snprintf(proto, sizeof(proto), "%d.%d", WIRE_PROTO_MAJOR, WIRE_PROTO_MINOR);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "type", "hello", "proto", proto, "sensor_id",
			 sensor_id, "version", version, "mode", mode, "first_seq", (json_int_t)first_seq, "last_seq",
			 (json_int_t)last_seq);
}

json_t *wire_build_batch(uint64_t seq_from, uint64_t seq_to, json_t *records)
{
	return json_pack("{s:s, s:I, s:I, s:o}", "type", "batch", "seq_from", (json_int_t)seq_from, "seq_to",
			 (json_int_t)seq_to, "records", records);
}

json_t *wire_build_welcome(uint64_t applied_seq)
{
	return json_pack("{s:s, s:I}", "type", "welcome", "applied_seq", (json_int_t)applied_seq);
}

json_t *wire_build_ack(uint64_t seq)
{
	return json_pack("{s:s, s:I}", "type", "ack", "seq", (json_int_t)seq);
}

json_t *wire_build_ping(void) { return json_pack("{s:s}", "type", "ping"); }

json_t *wire_build_config(json_t *settings, const char *mode, int64_t mode_rev, json_t *learned)
{
	json_t *m = json_pack("{s:s, s:O}", "type", "config", "settings", settings);

	if (m && mode &&
	    json_object_set_new(m, "mode_request", json_pack("{s:s, s:I}", "mode", mode, "rev", (json_int_t)mode_rev))) {
		json_decref(m);
		return NULL;
	}
	if (m && learned && json_object_set(m, "learned", learned)) {
		json_decref(m);
		return NULL;
	}
	return m;
}
json_t *wire_build_pong(void) { return json_pack("{s:s}", "type", "pong"); }

static char *wire_base64(const void *data, size_t len)
{
	char *out = malloc((len + 2) / 3 * 4 + 1);

	if (out && len > INT32_MAX / 2) {
		free(out);
		return NULL;
	}
	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

int wire_base64_decode(const char *in, size_t len, uint8_t **out, size_t *outlen)
{
	size_t pad = 0;
	uint8_t *buf;
	int n;

	*out = NULL;
	*outlen = 0;
	if (len % 4 || len > INT32_MAX / 2)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '=')
			pad++;
		else if (pad || (!isalnum((unsigned char)in[i]) && in[i] != '+' && in[i] != '/'))
			return -EINVAL; /* padding only at the end */
	}
	if (pad > 2)
		return -EINVAL;
	if (!(buf = malloc(len / 4 * 3 + 1)))
		return -ENOMEM;
	n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n < pad) {
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	*outlen = (size_t)n - pad;
	return 0;
}

json_t *wire_build_renew(const char *csr_pem)
{
	return json_pack("{s:s, s:s}", "type", "renew", "csr", csr_pem);
}

json_t *wire_build_certificate(const char *cert_pem, const char *error)
{
	if (error)
		return json_pack("{s:s, s:s}", "type", "certificate", "error", error);
	return json_pack("{s:s, s:s}", "type", "certificate", "certificate", cert_pem);
}

json_t *wire_build_evidence_request(uint64_t id, const char *ref)
{
	return json_pack("{s:s, s:I, s:s}", "type", "evidence_request", "id", (json_int_t)id, "ref", ref);
}

json_t *wire_build_evidence(uint64_t id, const char *ref, const void *data, size_t len, const char *error)
{
	json_t *m;
	char *b64;

	if (!data)
		return json_pack("{s:s, s:I, s:s, s:s}", "type", "evidence", "id", (json_int_t)id, "ref", ref, "error",
				 error ? error : "not available");
	if (!(b64 = wire_base64(data, len)))
		return NULL;
	m = json_pack("{s:s, s:I, s:s, s:s}", "type", "evidence", "id", (json_int_t)id, "ref", ref, "pcap", b64);
	free(b64);
	return m;
}

char *wire_encode(json_t *msg, size_t *len)
{
	char *s;

	if (!msg)
		return NULL;
	s = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (s && len)
		*len = strlen(s);
	return s;
}
