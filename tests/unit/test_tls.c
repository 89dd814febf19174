/*
 * test_tls: the daemon's TLS sessions on memory BIOs (daemon/tls.c), with
 * no socket and no loop: an OpenSSL client, on memory BIOs too, and the
 * server session exchange bytes through the test, in pieces as small as one
 * byte, as TCP may deliver them. The certificate is made here (a fresh
 * P-256 key, self-signed) in a temporary directory.
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tls.h"

static char dir[] = "/tmp/sftlsXXXXXX";
static char cert_path[64], key_path[64], other_key_path[64];

/* A new P-256 key written to path (PEM); the key (caller frees). */
static EVP_PKEY *write_key(const char *path)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    FILE *f = fopen(path, "w");
    CHECK(pk && f);
    if (!pk || !f)
        abort();
    PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    return pk;
}

static void make_cert(void)
{
    if (!mkdtemp(dir))
        abort();
    snprintf(cert_path, sizeof cert_path, "%s/cert.pem", dir);
    snprintf(key_path, sizeof key_path, "%s/key.pem", dir);
    snprintf(other_key_path, sizeof other_key_path, "%s/other.pem", dir);
    EVP_PKEY *pk = write_key(key_path);
    EVP_PKEY_free(write_key(other_key_path));
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pk);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    CHECK(X509_sign(x, pk, EVP_sha256()) > 0);
    FILE *f = fopen(cert_path, "w");
    if (!f)
        abort();
    PEM_write_X509(f, x);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(pk);
}

/* A client session on memory BIOs (no verification: the server's side is under test). */
typedef struct peer {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *in, *out; /* in: from the server; out: to the server */
} peer;

static void peer_init(peer *p)
{
    p->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(p->ctx, SSL_VERIFY_NONE, NULL);
    p->ssl = SSL_new(p->ctx);
    p->in = BIO_new(BIO_s_mem());
    p->out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(p->in, -1);
    SSL_set_bio(p->ssl, p->in, p->out);
    SSL_set_connect_state(p->ssl);
}

static void peer_free(peer *p)
{
    SSL_free(p->ssl);
    SSL_CTX_free(p->ctx);
}

/*
 * Move bytes both ways, the client's to the server chunk bytes at a time,
 * until neither side has anything to send; the server's plaintext is
 * appended to got. The last tls_conn_read result.
 */
static long pump(peer *p, tls_conn *s, size_t chunk, sb *got)
{
    long last = 0;
    for (int round = 0; round < 1000; round++) {
        SSL_do_handshake(p->ssl); /* a no-op once done; drives the client before that */
        char buf[4096];
        int n;
        bool moved = false;
        while ((n = BIO_read(p->out, buf, (int)(chunk < sizeof buf ? chunk : sizeof buf))) > 0) {
            tls_conn_feed(s, buf, (size_t)n);
            char err[256];
            while ((last = tls_conn_read(s, buf, sizeof buf, err, sizeof err)) > 0)
                sb_addn(got, buf, (size_t)last);
            if (last < 0)
                return last;
            moved = true;
        }
        size_t len;
        char *out = tls_conn_output(s, &len);
        if (out) {
            BIO_write(p->in, out, (int)len);
            free(out);
            moved = true;
        }
        if (!moved)
            break;
    }
    return last;
}

static void test_handshake_and_data_in_one_byte_pieces(void)
{
    tls_server *t;
    char err[512];
    CHECK_INT(tls_server_new(&t, cert_path, key_path, err, sizeof err), 0);
    tls_conn *s = tls_conn_new(t);
    peer p;
    peer_init(&p);
    sb got = {0};
    CHECK(!tls_conn_ready(s));
    CHECK_INT(tls_conn_write(s, "early\n", 6), -1); /* no session yet */
    pump(&p, s, 1, &got);
    CHECK(tls_conn_ready(s));
    CHECK(SSL_is_init_finished(p.ssl));
    /* Two request lines, one of them split over records. */
    SSL_write(p.ssl, "{\"op\":", 6);
    SSL_write(p.ssl, "\"ping\"}\n{\"op\":\"clock\"}\n", 24);
    pump(&p, s, 3, &got);
    CHECK_STR(sb_str(&got), "{\"op\":\"ping\"}\n{\"op\":\"clock\"}\n");
    /* A reply larger than a TLS record comes back whole. */
    size_t big = 100000;
    char *reply = xmalloc(big);
    memset(reply, 'r', big);
    reply[big - 1] = '\n';
    CHECK_INT(tls_conn_write(s, reply, big), 0);
    pump(&p, s, 4096, &got);
    sb back = {0};
    char buf[16384];
    int n;
    while ((n = SSL_read(p.ssl, buf, sizeof buf)) > 0)
        sb_addn(&back, buf, (size_t)n);
    CHECK_INT(back.len, big);
    CHECK(back.len == big && memcmp(back.buf, reply, big) == 0);
    /* The client says goodbye: the server sees the end. */
    CHECK(!tls_conn_closed(s));
    SSL_shutdown(p.ssl);
    pump(&p, s, 1, &got);
    CHECK(tls_conn_closed(s));
    free(reply);
    sb_free(&back);
    sb_free(&got);
    peer_free(&p);
    tls_conn_free(s);
    tls_server_free(t);
}

static void test_a_plain_text_client_fails_the_handshake(void)
{
    tls_server *t;
    char err[512];
    CHECK_INT(tls_server_new(&t, cert_path, key_path, err, sizeof err), 0);
    tls_conn *s = tls_conn_new(t);
    static const char line[] = "{\"op\":\"ping\"}\n";
    tls_conn_feed(s, line, sizeof line - 1);
    char buf[256];
    CHECK_INT(tls_conn_read(s, buf, sizeof buf, err, sizeof err), -1);
    CHECK_SUBSTR(err, "TLS handshake failed");
    CHECK(!tls_conn_ready(s));
    CHECK_INT(tls_conn_read(s, buf, sizeof buf, err, sizeof err), -1); /* and stays failed */
    size_t len;
    free(tls_conn_output(s, &len)); /* an alert, or nothing */
    tls_conn_free(s);
    tls_server_free(t);
}

static void test_bad_files_are_refused_naming_the_option(void)
{
    tls_server *t = NULL;
    char err[512];
    CHECK_INT(tls_server_new(&t, "/nonexistent/cert.pem", key_path, err, sizeof err), -1);
    CHECK(t == NULL);
    CHECK_SUBSTR(err, "--tls-cert /nonexistent/cert.pem");
    CHECK_INT(tls_server_new(&t, cert_path, "/nonexistent/key.pem", err, sizeof err), -1);
    CHECK_SUBSTR(err, "--tls-key /nonexistent/key.pem");
    CHECK_INT(tls_server_new(&t, cert_path, other_key_path, err, sizeof err), -1);
    CHECK_SUBSTR(err, "--tls-key");
    CHECK(t == NULL);
}

int main(void)
{
    make_cert();
    RUN(test_handshake_and_data_in_one_byte_pieces);
    RUN(test_a_plain_text_client_fails_the_handshake);
    RUN(test_bad_files_are_refused_naming_the_option);
    unlink(cert_path);
    unlink(key_path);
    unlink(other_key_path);
    rmdir(dir);
    return CHECK_DONE();
}
