/* http: the HTTP front end on h2o's libuv build (see http.h). */
#include "http.h"

#include <h2o.h>
#include <h2o/http2.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dash.h"
#include "handlers.h"
#include "job.h"
#include "ical.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "scheduler.h"
#include "server.h"
#include "store.h"

/* The largest request body accepted: the dashboard's forms are a few hundred bytes. */
#define HTTP_MAX_BODY (64 * 1024)

/* An accepted connection's handle: h2o owns it until its close callback. */
typedef struct http_sock {
    uv_tcp_t tcp; /* first: h2o's close callback gets this handle */
    http_server *hs;
} http_sock;

struct http_server {
    sf_daemon *d;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept;
    uv_tcp_t listener;
    SSL_CTX *ssl;         /* owned, or NULL for plain HTTP (loopback only) */
    int latest_migration; /* the schema directory's highest migration (/readyz) */
    struct dash *dash;    /* owned: the dashboard's sessions */
    size_t sockets;       /* connections open (their handles not yet closed) */
    size_t exchanges;     /* exchanges not yet ended */
    uint64_t next_id;
    bool listening;
    bool stopping;
    bool listener_closed;
    void (*stop_done)(void *arg);
    void *stop_arg;
};

static void maybe_stopped(http_server *hs);

/* ---- helpers ------------------------------------------------------------- */

void http_html_escape(sb *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            sb_add(out, "&amp;");
            break;
        case '<':
            sb_add(out, "&lt;");
            break;
        case '>':
            sb_add(out, "&gt;");
            break;
        case '"':
            sb_add(out, "&quot;");
            break;
        case '\'':
            sb_add(out, "&#39;");
            break;
        default:
            sb_addn(out, s, 1);
        }
    }
}

void http_url_escape(sb *out, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            sb_addn(out, s, 1);
        else
            sb_addf(out, "%%%02X", c);
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *http_unescape(const char *s, size_t n)
{
    sb out = {0};
    sb_add(&out, "");
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+')
            c = ' ';
        else if (c == '%') {
            if (i + 2 >= n)
                goto bad;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                goto bad;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if ((unsigned char)c < 0x20 || c == 0x7f)
            goto bad;
        sb_addn(&out, &c, 1);
    }
    return sb_steal(&out);
bad:
    sb_free(&out);
    return NULL;
}

char *http_param(const char *qs, const char *name)
{
    size_t nlen = strlen(name);
    for (const char *p = qs; p && *p;) {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        if (klen == nlen && !memcmp(p, name, nlen))
            return eq ? http_unescape(eq + 1, len - klen - 1) : xstrdup("");
        p += len + (p[len] == '&');
    }
    return NULL;
}

/* ---- exchanges ----------------------------------------------------------- */

/* h2o is freeing the request (answered, or the client went): forget it. */
static void on_req_disposed(void *p)
{
    http_ex **slot = p;
    if (*slot)
        (*slot)->req = NULL;
}

static void ex_free(http_ex *ex)
{
    http_server *hs = ex->hs;
    if (ex->req)
        *ex->slot = NULL;
    if (ex->data_free)
        ex->data_free(ex->data);
    free(ex->path);
    free(ex->query);
    free(ex->body);
    free(ex->cookie);
    free(ex->authorization);
    free(ex->origin);
    for (int i = 0; i < ex->nheaders; i++) {
        free(ex->headers[i].name);
        free(ex->headers[i].value);
    }
    free(ex);
    hs->exchanges--;
    maybe_stopped(hs);
}

/* A request header's value (name in lower case) as a new string, or NULL. */
static char *header_dup(h2o_req_t *req, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    if (i < 0)
        return NULL;
    h2o_iovec_t v = req->headers.entries[i].value;
    return xstrndup(v.base, v.len);
}

static http_ex *ex_new(http_server *hs, h2o_req_t *req)
{
    http_ex *ex = xcalloc(1, sizeof *ex);
    ex->hs = hs;
    ex->d = hs->d;
    ex->id = ++hs->next_id;
    ex->post = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"));
    ex->tls = hs->ssl != NULL;
    size_t plen = req->path_normalized.len;
    ex->path = xstrndup(req->path_normalized.base, plen);
    ex->query = req->query_at != SIZE_MAX ? xstrndup(req->path.base + req->query_at + 1,
                                                     req->path.len - req->query_at - 1)
                                          : xstrdup("");
    ex->body = xstrndup(req->entity.base ? req->entity.base : "", req->entity.len);
    ex->cookie = header_dup(req, "cookie");
    ex->authorization = header_dup(req, "authorization");
    ex->origin = header_dup(req, "origin");
    ex->req = req;
    ex->slot = h2o_mem_alloc_shared(&req->pool, sizeof(http_ex *), on_req_disposed);
    *ex->slot = ex;
    hs->exchanges++;
    return ex;
}

struct dash *http_dash(const http_ex *ex)
{
    return ex->hs->dash;
}

void http_header(http_ex *ex, const char *name, const char *value)
{
    if (ex->nheaders >= HTTP_MAX_HEADERS) {
        log_error("http %llu: too many response headers; %s dropped", (unsigned long long)ex->id,
                  name);
        return;
    }
    ex->headers[ex->nheaders].name = xstrdup(name);
    ex->headers[ex->nheaders++].value = xstrdup(value);
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 303:
        return "See Other";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return status < 400 ? "OK" : "Error";
    }
}

void http_respond(http_ex *ex, int status, const char *ctype, const char *body, size_t len)
{
    metrics_http(ex->d->metrics, status);
    h2o_req_t *req = ex->req;
    if (!req) {
        log_debug("http %llu: the client went before its %d answer", (unsigned long long)ex->id,
                  status);
        ex_free(ex);
        return;
    }
    req->res.status = status;
    req->res.reason = reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype,
                   strlen(ctype));
    /* Nothing here is for a shared cache or another site's frame. */
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0,
                          NULL, H2O_STRLIT("nosniff"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-store"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-frame-options"), 0, NULL,
                          H2O_STRLIT("DENY"));
    for (int i = 0; i < ex->nheaders; i++) {
        h2o_iovec_t name = h2o_strdup(&req->pool, ex->headers[i].name, SIZE_MAX);
        h2o_iovec_t value = h2o_strdup(&req->pool, ex->headers[i].value, SIZE_MAX);
        h2o_add_header_by_str(&req->pool, &req->res.headers, name.base, name.len, 1, NULL,
                              value.base, value.len);
    }
    h2o_send_inline(req, body, len); /* copies body */
    ex_free(ex);
}

void http_respond_text(http_ex *ex, int status, const char *fmt, ...)
{
    sb b = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&b, fmt, ap);
    va_end(ap);
    sb_add(&b, "\n");
    http_respond(ex, status, "text/plain; charset=utf-8", sb_str(&b), b.len);
    sb_free(&b);
}

/* ---- protocol requests for an exchange ----------------------------------- */

typedef struct http_callout {
    http_ex *ex;
    void (*then)(http_ex *ex, json_t *reply);
} http_callout;

static void on_local_reply(json_t *reply, void *arg)
{
    http_callout *c = arg;
    http_ex *ex = c->ex;
    void (*then)(http_ex *, json_t *) = c->then;
    free(c);
    then(ex, reply);
}

void http_call(http_ex *ex, json_t *msg, const char *token,
               void (*then)(http_ex *ex, json_t *reply))
{
    access_ident id;
    memset(&id, 0, sizeof id);
    id.role = ACCESS_NONE;
    snprintf(id.who, sizeof id.who, "http");
    snprintf(id.via, sizeof id.via, "http");
    id.needs_token = true; /* the token in msg says who it is, checked afresh each time */
    id.feed_url = ex->feed_url;
    if (token)
        json_object_set_new(msg, "token", json_string(token));
    http_callout *c = xcalloc(1, sizeof *c);
    c->ex = ex;
    c->then = then;
    srv_req *req = srv_local_req(ex->d->server, ex->id, msg, &id, on_local_reply, c);
    handlers_dispatch(req, ex->d);
}

/* ---- /healthz, /readyz, /metrics ------------------------------------------ */

static void ready_result(store_tx *tx, PGresult *res, void *arg)
{
    http_ex *ex = arg;
    if (!res) {
        store_release(tx);
        http_respond_text(ex, 503, "not ready: the database connection was lost");
        return;
    }
    int applied = store_ok(res) ? atoi(PQgetvalue(res, 0, 0)) : -1;
    store_release(tx);
    sf_daemon *d = ex->d;
    if (applied < 0)
        http_respond_text(ex, 503, "not ready: the database did not answer");
    else if (applied < ex->hs->latest_migration)
        http_respond_text(ex, 503, "not ready: the database has migration %d, this daemon needs %d",
                          applied, ex->hs->latest_migration);
    else if (d->stopping || !scheduler_running(d))
        http_respond_text(ex, 503, "not ready: the scheduler is not running%s",
                          d->stopping ? " (stopping)" : "");
    else
        http_respond_text(ex, 200, "ready");
}

static void ready_begin(store_tx *tx, void *arg)
{
    http_ex *ex = arg;
    if (!tx) {
        http_respond_text(ex, 503, "not ready: the database cannot be reached");
        return;
    }
    if (store_exec(tx, &metrics_statements.stmts[1], 0, NULL, ready_result, ex) != 0) {
        store_release(tx);
        http_respond_text(ex, 503, "not ready: the database connection was lost");
    }
}

static void metrics_send(http_ex *ex, const json_t *db)
{
    sb out = {0};
    metrics_render(ex->d, db, &out);
    http_respond(ex, 200, "text/plain; version=0.0.4; charset=utf-8", sb_str(&out), out.len);
    sb_free(&out);
}

static void metrics_result(store_tx *tx, PGresult *res, void *arg)
{
    http_ex *ex = arg;
    json_t *db = res && store_ok(res) ? job_json(res, 0, 0) : NULL;
    store_release(tx);
    metrics_send(ex, db);
    json_decref(db);
}

static void metrics_begin(store_tx *tx, void *arg)
{
    http_ex *ex = arg;
    if (!tx) {
        metrics_send(ex, NULL); /* what the process knows, and sendflow_database_up 0 */
        return;
    }
    if (store_exec(tx, &metrics_statements.stmts[0], 0, NULL, metrics_result, ex) != 0) {
        store_release(tx);
        metrics_send(ex, NULL);
    }
}

/* ---- routing ------------------------------------------------------------- */

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    http_server *hs = *(http_server **)(self + 1);
    bool get = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
               h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    bool post = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"));
    http_ex *ex = ex_new(hs, req);
    log_debug("http %llu: %.*s %s", (unsigned long long)ex->id, (int)req->method.len,
              req->method.base, ex->path);
    if (!get && !post) {
        http_header(ex, "Allow", "GET, HEAD, POST");
        http_respond_text(ex, 405, "only GET, HEAD and POST are served");
    } else if (req->entity.len > HTTP_MAX_BODY) {
        http_respond_text(ex, 413, "the body is larger than %d bytes", HTTP_MAX_BODY);
    } else if (!strcmp(ex->path, "/healthz")) {
        http_respond_text(ex, 200, "ok"); /* we are on the loop, so it runs */
    } else if (!strcmp(ex->path, "/readyz")) {
        if (hs->d->stopping)
            http_respond_text(ex, 503, "not ready: stopping");
        else
            store_submit(hs->d->store, ready_begin, ex);
    } else if (!strcmp(ex->path, "/metrics")) {
        store_submit(hs->d->store, metrics_begin, ex);
    } else if (!strncmp(ex->path, "/ical/", 6)) {
        ical_serve(ex);
    } else {
        dash_serve(ex);
    }
    return 0;
}

/* ---- listening ----------------------------------------------------------- */

static void on_sock_closed(uv_handle_t *h)
{
    http_sock *s = (http_sock *)h;
    http_server *hs = s->hs;
    free(s);
    hs->sockets--;
    maybe_stopped(hs);
}

static void on_accept(uv_stream_t *listener, int status)
{
    http_server *hs = listener->data;
    if (status != 0 || hs->stopping)
        return;
    http_sock *s = xcalloc(1, sizeof *s);
    s->hs = hs;
    uv_tcp_init(listener->loop, &s->tcp);
    hs->sockets++;
    if (uv_accept(listener, (uv_stream_t *)&s->tcp) != 0) {
        uv_close((uv_handle_t *)&s->tcp, on_sock_closed);
        return;
    }
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&s->tcp, on_sock_closed);
    h2o_accept(&hs->accept, sock);
}

/* Is ss a loopback address (127.0.0.0/8, ::1)? Plain HTTP is served on nothing else. */
static bool loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a);
}

static int tls_setup(http_server *hs, const sf_config *cfg, char *err, size_t errlen)
{
    hs->ssl = SSL_CTX_new(TLS_server_method());
    if (!hs->ssl) {
        snprintf(err, errlen, "--http: cannot make a TLS context");
        return -1;
    }
    SSL_CTX_set_min_proto_version(hs->ssl, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(hs->ssl, cfg->tls_cert) != 1) {
        snprintf(err, errlen, "--http: cannot load --tls-cert %s: %s", cfg->tls_cert,
                 ERR_reason_error_string(ERR_get_error()));
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(hs->ssl, cfg->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(hs->ssl) != 1) {
        snprintf(err, errlen, "--http: --tls-key %s is not the key of --tls-cert %s", cfg->tls_key,
                 cfg->tls_cert);
        return -1;
    }
    h2o_ssl_register_alpn_protocols(hs->ssl, h2o_http2_alpn_protocols);
    hs->accept.ssl_ctx = hs->ssl;
    return 0;
}

static void free_server(http_server *hs)
{
    dash_free(hs->dash);
    if (hs->ssl)
        SSL_CTX_free(hs->ssl);
    h2o_config_dispose(&hs->config);
    free(hs);
}

/* --http's address into ss, refused when it is not loopback and there is no TLS. */
static int check_address(const sf_config *cfg, struct sockaddr_storage *ss, char *err,
                         size_t errlen)
{
    memset(ss, 0, sizeof *ss);
    if (srv_parse_host_port("--http", cfg->http, ss, err, errlen) != 0)
        return -1;
    if (!(cfg->tls_cert && cfg->tls_key) && !loopback(ss)) {
        snprintf(err, errlen,
                 "--http %s is not a loopback address: serve it over TLS with --tls-cert FILE "
                 "and --tls-key FILE (the pages carry tokens and children's deadlines), or "
                 "listen on 127.0.0.1 behind a TLS proxy",
                 cfg->http);
        return -1;
    }
    return 0;
}

int http_check(const sf_config *cfg, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    return cfg->http ? check_address(cfg, &ss, err, errlen) : 0;
}

int http_start(sf_daemon *d, char *err, size_t errlen)
{
    const sf_config *cfg = &d->cfg;
    struct sockaddr_storage ss;
    if (check_address(cfg, &ss, err, errlen) != 0)
        return -1;
    bool tls = cfg->tls_cert && cfg->tls_key;
    int latest = migrate_latest(cfg->schema, err, errlen);
    if (latest < 0)
        return -1;
    http_server *hs = xcalloc(1, sizeof *hs);
    hs->d = d;
    hs->latest_migration = latest;
    hs->dash = dash_new();
    h2o_config_init(&hs->config);
    hs->config.server_name = h2o_iovec_init(H2O_STRLIT("sendflowd"));
    /* h2o buffers a body before the handler runs: refuse a large one there (413). */
    hs->config.max_request_entity_size = HTTP_MAX_BODY;
    h2o_hostconf_t *host =
        h2o_config_register_host(&hs->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(path, sizeof(*handler) + sizeof(http_server *));
    *(http_server **)(handler + 1) = hs;
    handler->on_req = on_req;
    if (tls && tls_setup(hs, cfg, err, errlen) != 0) {
        free_server(hs);
        return -1;
    }
    h2o_context_init(&hs->ctx, d->loop, &hs->config);
    hs->accept.ctx = &hs->ctx;
    hs->accept.hosts = hs->config.hosts;
    uv_tcp_init(d->loop, &hs->listener);
    hs->listener.data = hs;
    int rc = uv_tcp_bind(&hs->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&hs->listener, 128, on_accept);
    if (rc != 0) {
        snprintf(err, errlen, "--http %s: %s", cfg->http, uv_strerror(rc));
        /* Nothing was accepted: the loop has not run, so closing here is immediate enough. */
        uv_close((uv_handle_t *)&hs->listener, NULL);
        uv_run(d->loop, UV_RUN_NOWAIT);
        h2o_context_dispose(&hs->ctx);
        free_server(hs);
        return -1;
    }
    hs->listening = true;
    d->http = hs;
    log_info("http: %s on %s (%s)", tls ? "HTTPS" : "plain HTTP (loopback)", cfg->http,
             tls ? cfg->tls_cert : "no TLS");
    return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
    http_server *hs = h->data;
    hs->listener_closed = true;
    maybe_stopped(hs);
}

/* Stopped once the listener, every connection and every exchange are gone. */
static void maybe_stopped(http_server *hs)
{
    if (!hs->stopping || !hs->listener_closed || hs->sockets || hs->exchanges)
        return;
    sf_daemon *d = hs->d;
    void (*done)(void *) = hs->stop_done;
    void *arg = hs->stop_arg;
    hs->stopping = false; /* once */
    /* h2o_context_request_shutdown's HTTP/2 grace timer: with no connection left, unneeded. */
    if (h2o_timeout_is_linked(&hs->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&hs->ctx.http2._graceful_shutdown_timeout);
    h2o_context_dispose(&hs->ctx);
    free_server(hs);
    d->http = NULL;
    log_info("http: stopped");
    done(arg);
}

void http_stop(sf_daemon *d, void (*done)(void *arg), void *arg)
{
    http_server *hs = d->http;
    if (!hs) {
        done(arg);
        return;
    }
    hs->stopping = true;
    hs->stop_done = done;
    hs->stop_arg = arg;
    /*
     * HTTP/2 connections are told to go away (GOAWAY). h2o 2.2 has no such
     * call for HTTP/1: an idle keep-alive connection waits on the request
     * timeout, so it is made zero and run now: idle ones close at once, busy
     * ones (their timeout is not running) once answered.
     */
    h2o_context_request_shutdown(&hs->ctx);
    hs->ctx.http1.req_timeout.timeout = 0;
    h2o_timeout_run(d->loop, &hs->ctx.http1.req_timeout, h2o_now(d->loop));
    uv_close((uv_handle_t *)&hs->listener, on_listener_closed);
}
