/* The TLS side of the sensor gateway: who the verified client certificate names, and the log line for a
 * handshake the gateway refused. Called on the gateway's service thread only. */
#pragma once
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/pki.h"

/* Reads the verified peer certificate's CN (cnlen bytes with its NUL) and serial (hex); false, with a log line
 * naming `peer`, when anything is off. The default of every branch is refusal. */
bool gateway_tls_identity(struct lws *wsi, const char *peer, char *cn, size_t cnlen, char serial[PKI_SERIAL_HEX_LEN])
	__attribute__((warn_unused_result));

/* OpenSSL info callback (SSL_CTX_set_info_callback): logs the fatal alerts the gateway sends. */
void gateway_tls_info_cb(const SSL *ssl, int where, int ret);
