/* Web and remote-access payloads: TLS 1.2 records (RFC 5246, SNI per RFC 6066), HTTP/1.1 (RFC 9112) and the
 * SSH transport layer (RFC 4253, curve25519 key exchange per RFC 8731). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "tools/plantsim/wbuf.h"

/* TLS records: ClientHello with SNI, ServerHello, and opaque application data. */
void pl_tls_client_hello(struct wbuf *b, const uint8_t random[32], const uint8_t sid[32], const char *sni);
void pl_tls_server_hello(struct wbuf *b, const uint8_t random[32], const uint8_t sid[32]);
void pl_tls_app_data(struct wbuf *b, const uint8_t *ciphertext, uint16_t n);

/* SSH binary packet around payload (padding to a multiple of 8, at least 4 bytes, zero-filled). */
void ssh_packet(struct wbuf *b, const uint8_t *payload, size_t n);
