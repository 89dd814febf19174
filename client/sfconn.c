/* sfconn: blocking Unix-socket client for the NDJSON protocol (see sfconn.h). */
#include "sfconn.h"

#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int sfc_connect(sfc_conn *c, const char *path)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc;
    do
        rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    c->fd = fd;
    return 0;
}

/* A TCP connection to host:port (blocking): the socket, or -1 with a reason in err. */
static int sfc__tcp(const char *host, const char *port, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, e = 0;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        do
            rc = connect(fd, a->ai_addr, a->ai_addrlen);
        while (rc < 0 && errno == EINTR);
        if (rc < 0) {
            e = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "cannot connect to %s:%s: %s", host, port, strerror(e));
    return fd;
}

/* The reason the last TLS call failed, for a message. */
static void sfc__tls_error(sfc_conn *c, const char *what, char *err, size_t errlen)
{
    long v = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    if (v != X509_V_OK)
        snprintf(err, errlen, "%s: the daemon's certificate was not accepted: %s", what,
                 X509_verify_cert_error_string(v));
    else
        snprintf(err, errlen, "%s%s%s", what, e ? ": " : "", e ? buf : " (connection closed)");
    ERR_clear_error();
}

int sfc_connect_tls(sfc_conn *c, const char *hostport, const char *ca_file, char *err,
                    size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    const char *colon = strrchr(hostport, ':');
    char host[256];
    if (!colon || colon == hostport || !colon[1] || (size_t)(colon - hostport) >= sizeof host) {
        snprintf(err, errlen, "invalid --connect \"%s\": expected HOST:PORT", hostport);
        return -1;
    }
    const char *h = hostport;
    size_t hlen = (size_t)(colon - hostport);
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') { /* [::1]:7480 */
        h++;
        hlen -= 2;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx) {
        sfc__tls_error(c, "cannot create a TLS context", err, errlen);
        return -1;
    }
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    /* The protocol frames itself (a reply ends with a newline): a daemon closing without
     * close_notify is an end of file here, and a cut reply is seen as one. */
    SSL_CTX_set_options(c->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    int ok = ca_file ? SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(c->ctx);
    if (ok != 1) {
        char what[512];
        snprintf(what, sizeof what, "cannot load the CA file %s", ca_file ? ca_file : "(system)");
        sfc__tls_error(c, what, err, errlen);
        sfc_close(c);
        return -1;
    }
    /* OpenSSL writes with write(2), which cannot be told MSG_NOSIGNAL: a daemon that went
     * away must be an error to report, not SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    c->fd = sfc__tcp(host, colon + 1, err, errlen);
    if (c->fd < 0) {
        sfc_close(c);
        return -1;
    }
    c->ssl = SSL_new(c->ctx);
    /* The certificate must name what we connected to: the address itself, or the host name. */
    X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1) {
        SSL_set_tlsext_host_name(c->ssl, host);
        SSL_set1_host(c->ssl, host);
    }
    SSL_set_fd(c->ssl, c->fd);
    if (SSL_connect(c->ssl) != 1) {
        char what[300];
        snprintf(what, sizeof what, "TLS with %s failed", hostport);
        sfc__tls_error(c, what, err, errlen);
        sfc_close(c);
        return -1;
    }
    return 0;
}

int sfc_send_all(sfc_conn *c, const char *buf, size_t len)
{
    if (c->ssl) {
        while (len > 0) {
            int n = SSL_write(c->ssl, buf, len > (1u << 30) ? 1 << 30 : (int)len);
            if (n <= 0) {
                ERR_clear_error();
                errno = errno ? errno : EPIPE;
                return -1;
            }
            buf += n;
            len -= (size_t)n;
        }
        return 0;
    }
    while (len > 0) {
        /* MSG_NOSIGNAL: a daemon that went away is an error to report, not SIGPIPE. */
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int sfc_read_line(sfc_conn *c, const char **line, size_t *len)
{
    for (;;) {
        char *start = c->buf.buf ? c->buf.buf + c->off : NULL;
        char *nl = start ? memchr(start, '\n', c->buf.len - c->off) : NULL;
        if (nl) {
            *nl = '\0';
            *line = start;
            *len = (size_t)(nl - start);
            c->off = (size_t)(nl - c->buf.buf) + 1;
            return 0;
        }
        if (c->off > 0) { /* keep only the unread tail */
            size_t rest = c->buf.len - c->off;
            memmove(c->buf.buf, c->buf.buf + c->off, rest);
            c->buf.len = rest;
            c->buf.buf[rest] = '\0';
            c->off = 0;
        }
        char chunk[65536];
        ssize_t got;
        if (c->ssl) {
            int n = SSL_read(c->ssl, chunk, sizeof chunk);
            if (n > 0) {
                sb_addn(&c->buf, chunk, (size_t)n);
                continue;
            }
            int e = SSL_get_error(c->ssl, n);
            ERR_clear_error();
            if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0))
                return 1;
            if (e == SSL_ERROR_SYSCALL && errno == EINTR)
                continue;
            errno = e == SSL_ERROR_SYSCALL ? errno : EPROTO;
            return -1;
        }
        got = recv(c->fd, chunk, sizeof chunk, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        if (got == 0)
            return 1;
        sb_addn(&c->buf, chunk, (size_t)got);
    }
}

size_t sfc_pending(const sfc_conn *c)
{
    return c->buf.len - c->off;
}

void sfc_close(sfc_conn *c)
{
    if (c->ssl) {
        /* A polite goodbye; the daemon does not wait for it. */
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        ERR_clear_error();
    }
    SSL_CTX_free(c->ctx);
    c->ssl = NULL;
    c->ctx = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    sb_free(&c->buf);
    c->off = 0;
}
