/*
 * sfconn: a blocking client connection to sendflowd, shared by the CLI and
 * the benchmark's load generator: connect (to the Unix socket, or over TCP
 * with TLS, the daemon's certificate verified), send whole buffers, and read
 * the newline-delimited replies one line at a time (buffered, so pipelined
 * replies are never lost between reads).
 */
#ifndef SF_SFCONN_H
#define SF_SFCONN_H

#include <stddef.h>

#include "util.h"

struct ssl_st;
struct ssl_ctx_st;

typedef struct sfc_conn {
    int fd;                 /* the socket; -1 when closed */
    struct ssl_st *ssl;     /* owned: the TLS session (sfc_connect_tls), else NULL */
    struct ssl_ctx_st *ctx; /* owned: its context, else NULL */
    sb buf;                 /* received bytes not yet returned as lines */
    size_t off;             /* start of the unread part of buf */
} sfc_conn;

/* Connect to the socket at path: 0, or -1 with errno set (c->fd is then -1). */
int sfc_connect(sfc_conn *c, const char *path) SF_MUSTCHECK;
/*
 * Connect to "HOST:PORT" over TCP and TLS, verifying the daemon's
 * certificate (and that it names HOST) against the PEM CA file ca_file, or
 * the system's CAs when NULL. 0, or -1 with a one-line reason in err.
 */
int sfc_connect_tls(sfc_conn *c, const char *hostport, const char *ca_file, char *err,
                    size_t errlen) SF_MUSTCHECK;
/* Send all len bytes (never SIGPIPE): 0, or -1 with errno set. */
int sfc_send_all(sfc_conn *c, const char *buf, size_t len) SF_MUSTCHECK;
/*
 * The next line without its newline in *line (borrowed: valid until the next
 * call; NUL-terminated) and its length in *len. 0; 1 when the daemon closed
 * the connection first (sfc_pending tells whether it did so mid-line); -1 with
 * errno set on a read error.
 */
int sfc_read_line(sfc_conn *c, const char **line, size_t *len) SF_MUSTCHECK;
/* Bytes received after the last complete line. */
size_t sfc_pending(const sfc_conn *c);
/* Close the socket and free the buffer; c can be connected again. */
void sfc_close(sfc_conn *c);

#endif
