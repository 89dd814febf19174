/*
 * tls: the daemon's side of TLS for TCP clients (--tls-cert, --tls-key),
 * through OpenSSL with memory BIOs, so it never touches a socket and never
 * blocks: the server feeds it the ciphertext libuv read (tls_conn_feed),
 * takes the plaintext out (tls_conn_read), hands it replies to encrypt
 * (tls_conn_write) and writes whatever ciphertext it has to send
 * (tls_conn_output) with uv_write. The handshake runs inside feed/read; its
 * messages come out of tls_conn_output like any other.
 */
#ifndef SF_TLS_H
#define SF_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

typedef struct tls_server tls_server;
typedef struct tls_conn tls_conn;

/*
 * A server context with the certificate chain in cert_file and the private
 * key in key_file (PEM), TLS 1.2 or later. 0 and a new context (free with
 * tls_server_free), or -1 with a reason in err.
 */
int tls_server_new(tls_server **out, const char *cert_file, const char *key_file, char *err,
                   size_t errlen) SF_MUSTCHECK;
void tls_server_free(tls_server *t);

/* A server-side session for one accepted connection (t must outlive it). Free with tls_conn_free.
 */
tls_conn *tls_conn_new(tls_server *t);
void tls_conn_free(tls_conn *c);
/* Hand over len bytes of ciphertext received from the peer. */
void tls_conn_feed(tls_conn *c, const char *data, size_t len);
/*
 * Decrypt into buf (up to cap bytes): the count (> 0), 0 when more
 * ciphertext is needed (or the peer sent close_notify: tls_conn_closed),
 * or -1 when the session failed (a bad handshake, a plain-text client),
 * with a reason in err for the log. Call until it returns 0, then send
 * tls_conn_output: the handshake's replies and alerts are there.
 */
long tls_conn_read(tls_conn *c, char *buf, size_t cap, char *err, size_t errlen);
/* The peer sent close_notify: it will send nothing more. */
bool tls_conn_closed(const tls_conn *c);
/* The handshake is done (replies may be written). */
bool tls_conn_ready(const tls_conn *c);
/* Encrypt len bytes of plaintext (after the handshake): 0, or -1 if the session failed. */
int tls_conn_write(tls_conn *c, const char *data, size_t len) SF_MUSTCHECK;
/* Queue close_notify (once the handshake is done; else nothing). */
void tls_conn_shutdown(tls_conn *c);
/* The ciphertext waiting to be sent (new buffer, caller frees; *len its size), or NULL if none. */
char *tls_conn_output(tls_conn *c, size_t *len);

#endif
