/* tls: TLS sessions over memory BIOs for the event loop (see tls.h). */
#include "tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tls_server {
    SSL_CTX *ctx; /* owned */
};

struct tls_conn {
    SSL *ssl;  /* owned; owns both BIOs */
    BIO *rbio; /* ciphertext from the peer, read by OpenSSL */
    BIO *wbio; /* ciphertext for the peer, written by OpenSSL */
    bool closed;
    bool failed;
};

/* The oldest queued OpenSSL error as text (and the queue emptied), or what. */
static void tls__error(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256];
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    snprintf(err, errlen, "%s%s%s", what, e ? ": " : "", e ? buf : "");
    ERR_clear_error();
}

int tls_server_new(tls_server **out, const char *cert_file, const char *key_file, char *err,
                   size_t errlen)
{
    *out = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        tls__error(err, errlen, "cannot create a TLS context");
        return -1;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    char what[1024];
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        snprintf(what, sizeof what, "--tls-cert %s: cannot load the certificate", cert_file);
        tls__error(err, errlen, what);
        SSL_CTX_free(ctx);
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        snprintf(what, sizeof what, "--tls-key %s: cannot load the private key", key_file);
        tls__error(err, errlen, what);
        SSL_CTX_free(ctx);
        return -1;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(what, sizeof what, "--tls-key %s does not match --tls-cert %s", key_file,
                 cert_file);
        tls__error(err, errlen, what);
        SSL_CTX_free(ctx);
        return -1;
    }
    tls_server *t = xcalloc(1, sizeof *t);
    t->ctx = ctx;
    *out = t;
    return 0;
}

void tls_server_free(tls_server *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

tls_conn *tls_conn_new(tls_server *t)
{
    tls_conn *c = xcalloc(1, sizeof *c);
    c->ssl = SSL_new(t->ctx);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (!c->ssl || !c->rbio || !c->wbio)
        abort(); /* out of memory: the one OOM policy */
    /* An empty read BIO means "wait for more", not end of file. */
    BIO_set_mem_eof_return(c->rbio, -1);
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_accept_state(c->ssl);
    return c;
}

void tls_conn_free(tls_conn *c)
{
    if (!c)
        return;
    SSL_free(c->ssl);
    free(c);
}

void tls_conn_feed(tls_conn *c, const char *data, size_t len)
{
    /* A memory BIO grows as needed: the write takes everything. */
    if (len > 0 && BIO_write(c->rbio, data, (int)len) != (int)len)
        abort();
}

long tls_conn_read(tls_conn *c, char *buf, size_t cap, char *err, size_t errlen)
{
    if (c->failed)
        return -1;
    if (c->closed || cap == 0)
        return 0;
    int want = cap > (1u << 30) ? 1 << 30 : (int)cap;
    int n = SSL_read(c->ssl, buf, want);
    if (n > 0)
        return n;
    switch (SSL_get_error(c->ssl, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        c->closed = true;
        return 0;
    default:
        c->failed = true;
        tls__error(err, errlen,
                   SSL_is_init_finished(c->ssl) ? "TLS session failed" : "TLS handshake failed");
        return -1;
    }
}

bool tls_conn_closed(const tls_conn *c)
{
    return c->closed;
}

bool tls_conn_ready(const tls_conn *c)
{
    return !c->failed && SSL_is_init_finished(c->ssl);
}

int tls_conn_write(tls_conn *c, const char *data, size_t len)
{
    if (!tls_conn_ready(c))
        return -1;
    while (len > 0) {
        int chunk = len > (1u << 30) ? 1 << 30 : (int)len;
        int n = SSL_write(c->ssl, data, chunk);
        if (n <= 0) {
            c->failed = true;
            ERR_clear_error();
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

void tls_conn_shutdown(tls_conn *c)
{
    if (tls_conn_ready(c) && SSL_shutdown(c->ssl) < 0)
        ERR_clear_error();
}

char *tls_conn_output(tls_conn *c, size_t *len)
{
    size_t n = BIO_ctrl_pending(c->wbio);
    *len = 0;
    if (n == 0)
        return NULL;
    char *buf = xmalloc(n);
    int got = BIO_read(c->wbio, buf, (int)n);
    if (got <= 0) {
        free(buf);
        return NULL;
    }
    *len = (size_t)got;
    return buf;
}
