/* server: listeners, connections and NDJSON framing (see server.h). */
#include "server.h"

#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bounds.h"
#include "log.h"
#include "proto.h"
#include "tls.h"

/* After a stop, how long a client may leave replies unread before we close it. */
#define SRV_DRAIN_MS 5000
/* Stop parsing a connection's requests while this many reply bytes wait to be written. */
#define SRV_MAX_PENDING_WRITE (4 * 1024 * 1024)

typedef union srv_stream {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_pipe_t pipe;
    uv_tcp_t tcp;
} srv_stream;

struct srv_conn {
    srv_stream s; /* s.handle.data points back here */
    server *srv;
    uint64_t id;
    char *buf; /* unparsed input */
    size_t len, cap;
    bool discarding; /* dropping the rest of an over-long line */
    bool busy;       /* a request is in flight */
    bool eof;        /* the client sent EOF: answer what is complete, then close */
    bool reading;
    bool processing; /* conn_process is on the stack: replies must not re-enter it */
    bool closing;
    size_t writes;              /* uv_write requests not yet completed */
    int refs;                   /* 1 while open, +1 for the in-flight request */
    access_ident ident;         /* who is connected (Unix: fixed at accept; TCP: per request) */
    tls_conn *tls;              /* owned: the TLS session of a TCP connection; NULL on Unix */
    bool tls_shut;              /* close_notify queued: close once it is written */
    char peer[BOUNDS_PEER_LEN]; /* whose share it counts in: "uid:N", "tcp:ADDRESS" (bounds.h) */
    bool admitted;              /* counted in the bounds: released when it closes */
    uint64_t last_active;       /* uv_now of its last byte read, reply written or request done */
    srv_conn *prev, *next;
};

struct server {
    uv_loop_t *loop;
    srv_stream unix_listener;
    srv_stream tcp_listener;
    bool has_tcp;
    char *socket_path;
    int max_clients;
    bounds *bounds;           /* borrowed, or NULL: max_clients alone (server_set_bounds) */
    uint64_t refused;         /* connections refused as busy since the last such log line */
    uint64_t refused_logged;  /* uv_now of that line */
    const access_map *access; /* borrowed */
    srv_dispatch_cb dispatch;
    void *arg;
    srv_conn *conns; /* doubly linked list of open connections */
    size_t nconns;
    uint64_t next_id;
    bool stopping;
    int open_listeners;
    bool bound;       /* we created the socket file (so we may remove it) */
    uv_timer_t drain; /* the idle sweep while running; after stop: how long unread replies may
                         hold a connection */
    bool drain_closing;
    srv_observe_cb observe; /* told of every answer (server_observe), or NULL */
    void *observe_arg;
    tls_server *tls;          /* borrowed: TCP connections speak TLS with it (server_tls) */
    char tls_rbuf[64 * 1024]; /* ciphertext of the read in progress (one at a time on the loop) */
    void (*stop_done)(void *);
    void *stop_arg;
};

typedef struct srv_write {
    uv_write_t req;
    srv_conn *conn;
    char *data;
} srv_write;

static void conn_process(srv_conn *c);
static void conn_close(srv_conn *c);
static void maybe_stop_done(server *s);
static int conn_start_reading(srv_conn *c);
static size_t conn_flush_tls(srv_conn *c);

static void conn_unref(srv_conn *c)
{
    if (--c->refs > 0)
        return;
    tls_conn_free(c->tls);
    free(c->buf);
    free(c);
}

static void on_conn_closed(uv_handle_t *h)
{
    srv_conn *c = h->data;
    server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    if (c->admitted)
        bounds_release(s->bounds, c->peer);
    log_debug("conn %llu: closed", (unsigned long long)c->id);
    conn_unref(c);
    maybe_stop_done(s);
}

static void conn_close(srv_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    /* uv_close cancels pending writes; callers wait for writes first where it matters. */
    uv_close(&c->s.handle, on_conn_closed);
}

/* Close once nothing is in flight or being written, when the client or the server is done. */
static void conn_maybe_finish(srv_conn *c)
{
    if (c->closing || c->busy || c->writes > 0)
        return;
    if (!c->eof && !c->srv->stopping)
        return;
    /* A TLS peer is told the end is deliberate (close_notify), not a truncation. */
    if (c->tls && !c->tls_shut) {
        c->tls_shut = true;
        tls_conn_shutdown(c->tls);
        if (conn_flush_tls(c) > 0)
            return; /* on_write comes back here */
    }
    conn_close(c);
}

static void on_write(uv_write_t *req, int status)
{
    srv_write *w = (srv_write *)req;
    srv_conn *c = w->conn;
    free(w->data);
    free(w);
    c->writes--;
    if (status < 0 && status != UV_ECANCELED) {
        log_debug("conn %llu: write failed: %s", (unsigned long long)c->id, uv_strerror(status));
        conn_close(c);
    } else if (!c->closing) {
        c->last_active = uv_now(c->srv->loop); /* it reads its replies */
        /* The client may have been waiting for us to drain before we read more. */
        conn_process(c);
        conn_maybe_finish(c);
    }
    conn_unref(c);
}

/* Write n bytes of data (taken: freed once written) to the socket as they are. */
static void conn_write(srv_conn *c, char *data, size_t n)
{
    srv_write *w = xcalloc(1, sizeof *w);
    w->conn = c;
    w->data = data;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    c->refs++;
    c->writes++;
    int rc = uv_write(&w->req, &c->s.stream, &b, 1, on_write);
    if (rc != 0) {
        c->refs--;
        c->writes--;
        free(w->data);
        free(w);
        conn_close(c);
    }
}

/* Write the ciphertext the TLS session has for the peer; how many bytes (0: none). */
static size_t conn_flush_tls(srv_conn *c)
{
    size_t n;
    char *out = tls_conn_output(c->tls, &n);
    if (out)
        conn_write(c, out, n);
    return out ? n : 0;
}

static void conn_send(srv_conn *c, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    if (!text) {
        log_error("conn %llu: cannot encode a reply", (unsigned long long)c->id);
        return;
    }
    size_t n = strlen(text);
    text = xrealloc(text, n + 2);
    text[n] = '\n';
    if (!c->tls) {
        conn_write(c, text, n + 1);
        return;
    }
    /* Before the handshake there is no session to answer on (a refusal at accept): close. */
    int rc = tls_conn_write(c->tls, text, n + 1);
    free(text);
    if (rc != 0) {
        c->tls_shut = true;
        c->eof = true;
        return;
    }
    conn_flush_tls(c);
}

static json_t *error_object(json_t *id, const char *code, const char *message)
{
    return json_pack("{s:O?,s:b,s:{s:s,s:s}}", "id", id, "ok", 0, "error", "code", code, "message",
                     message);
}

static void conn_send_error(srv_conn *c, json_t *id, const char *code, const char *message)
{
    json_t *o = error_object(id, code, message);
    conn_send(c, o);
    json_decref(o);
}

/* Tell the observer (metrics) how req was answered: code NULL on success. */
static void req_observe(srv_req *req, const char *code)
{
    server *s = req->srv;
    if (!s || !s->observe)
        return;
    const char *op = proto_op_lookup(req->op) == PROTO_OP_UNKNOWN ? "unknown" : req->op;
    s->observe(op, code, uv_hrtime() - req->started_ns, s->observe_arg);
}

static void req_free(srv_req *req)
{
    srv_conn *c = req->conn;
    json_decref(req->msg);
    free(req);
    if (!c)
        return; /* a local request: no connection to go on with */
    c->busy = false;
    c->last_active = uv_now(c->srv->loop); /* idle from the end of its last request */
    /* A request answered at once (ping, a bad field) replies from inside conn_process:
     * its loop takes the next line. Recursing here instead would let a client pipelining
     * many such lines grow the stack without bound. */
    if (!c->closing && !c->processing) {
        conn_process(c);
        conn_maybe_finish(c);
    }
    conn_unref(c);
}

void srv_reply(srv_req *req, json_t *reply)
{
    srv_conn *c = req->conn;
    if (!reply) {
        /* Building the reply failed: still answer, so a pipelining client stays in step. */
        log_error("conn %llu: %s: could not build the reply", (unsigned long long)req->conn_id,
                  req->op);
        srv_reply_error(req, "internal", "the daemon could not build the reply (logged)");
        return;
    }
    if (!json_object_get(reply, "ok"))
        json_object_set_new(reply, "ok", json_true());
    json_t *id = json_object_get(req->msg, "id");
    json_object_set(reply, "id", id ? id : json_null());
    req_observe(req, NULL);
    if (!c)
        req->local(reply, req->local_arg);
    else if (!c->closing)
        conn_send(c, reply);
    json_decref(reply);
    req_free(req);
}

bool srv_push(srv_req *req, json_t *line)
{
    srv_conn *c = req->conn;
    if (!c) {
        json_decref(line); /* a local request takes one answer: no stream */
        return false;
    }
    if (c->closing || c->writes > SRV_MAX_PUSHES_PENDING) {
        /* A watcher that does not read its stream is dropped rather than buffered for ever. */
        if (!c->closing)
            conn_close(c);
        json_decref(line);
        return false;
    }
    json_t *id = json_object_get(req->msg, "id");
    json_object_set(line, "id", id ? id : json_null());
    if (!json_object_get(line, "ok"))
        json_object_set_new(line, "ok", json_true());
    conn_send(c, line);
    json_decref(line);
    return true;
}

void srv_reply_error(srv_req *req, const char *code, const char *fmt, ...)
{
    sb msg = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&msg, fmt, ap);
    va_end(ap);
    json_t *o = error_object(json_object_get(req->msg, "id"), code, sb_str(&msg));
    sb_free(&msg);
    req_observe(req, code);
    if (!req->conn)
        req->local(o, req->local_arg);
    else if (!req->conn->closing)
        conn_send(req->conn, o);
    json_decref(o);
    req_free(req);
}

/* Handle one complete line (without its newline). */
static void conn_line(srv_conn *c, const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == len)
        return; /* blank lines are keep-alives, not requests */
    json_error_t jerr;
    json_t *msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!msg || !json_is_object(msg)) {
        char why[256];
        if (!msg)
            snprintf(why, sizeof why, "invalid JSON at column %d: %s", jerr.column, jerr.text);
        else
            snprintf(why, sizeof why, "a request must be a JSON object, not %s",
                     json_is_array(msg) ? "an array" : "a scalar");
        log_info("conn %llu: bad request line: %s", (unsigned long long)c->id, why);
        conn_send_error(c, NULL, "bad_json", why);
        json_decref(msg);
        return;
    }
    json_t *op = json_object_get(msg, "op");
    if (!json_is_string(op)) {
        conn_send_error(c, json_object_get(msg, "id"), "bad_request",
                        op ? "\"op\" must be a string" : "missing \"op\"");
        json_decref(msg);
        return;
    }
    srv_req *req = xcalloc(1, sizeof *req);
    req->conn = c;
    req->srv = c->srv;
    req->conn_id = c->id;
    req->started_ns = uv_hrtime();
    req->msg = msg;
    req->op = json_string_value(op);
    if (c->tls) {
        /* A TCP client is identified afresh by each request's token (handlers.c), so a
         * token revoked meanwhile is refused at once. */
        c->ident.role = ACCESS_NONE;
        c->ident.limited = false;
        snprintf(c->ident.who, sizeof c->ident.who, "tcp");
        snprintf(c->ident.via, sizeof c->ident.via, "tcp");
    }
    req->ident = &c->ident;
    c->busy = true;
    c->refs++;
    c->srv->dispatch(req, c->srv->arg);
}

/* Parse and dispatch complete lines while nothing is in flight; manage reading. */
static void conn_process(srv_conn *c)
{
    if (c->processing)
        return;
    c->processing = true;
    while (!c->busy && !c->closing) {
        if (c->writes > 0 && uv_stream_get_write_queue_size(&c->s.stream) > SRV_MAX_PENDING_WRITE)
            break; /* the client is not reading its replies: wait for on_write */
        char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
        if (!nl) {
            if (c->len > SRV_MAX_LINE && !c->discarding) {
                log_info("conn %llu: request line over %d bytes refused", (unsigned long long)c->id,
                         SRV_MAX_LINE);
                conn_send_error(c, NULL, "line_too_long",
                                "request line longer than 1 MiB; it was discarded");
                c->discarding = true;
            }
            if (c->discarding)
                c->len = 0;
            break;
        }
        size_t linelen = (size_t)(nl - c->buf);
        bool skip = c->discarding;
        c->discarding = false;
        if (!skip) {
            if (linelen > SRV_MAX_LINE) {
                conn_send_error(c, NULL, "line_too_long",
                                "request line longer than 1 MiB; it was discarded");
            } else {
                /* Copy out: the handler may run while more input arrives. */
                char *line = xstrndup(c->buf, linelen);
                memmove(c->buf, nl + 1, c->len - linelen - 1);
                c->len -= linelen + 1;
                conn_line(c, line, linelen);
                free(line);
                continue;
            }
        }
        memmove(c->buf, nl + 1, c->len - linelen - 1);
        c->len -= linelen + 1;
    }
    c->processing = false;
    /* Read more only while there is room: a flooding client is simply not read. */
    bool want = !c->closing && !c->eof && !c->srv->stopping && c->len <= SRV_MAX_LINE + 1 &&
                !(c->busy && c->len > 64 * 1024);
    if (want && !c->reading)
        conn_start_reading(c);
    if (!want && c->reading) {
        uv_read_stop(&c->s.stream);
        c->reading = false;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    srv_conn *c = h->data;
    if (c->tls) {
        /* libuv calls on_read with this buffer before it allocates another, and on_read
         * takes all of it: one buffer serves every TLS connection. */
        *buf = uv_buf_init(c->srv->tls_rbuf, sizeof c->srv->tls_rbuf);
        return;
    }
    size_t want = suggested < 65536 ? 65536 : suggested;
    if (c->cap - c->len < want) {
        c->cap = c->len + want;
        c->buf = xrealloc(c->buf, c->cap);
    }
    *buf = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

/*
 * Ciphertext arrived: decrypt what it completes into the line buffer, send
 * what the session answers (the handshake, alerts), then parse as usual. A
 * failed session (a plain-text client, a bad handshake) gets its alert and
 * is closed, unanswered.
 */
static void conn_read_tls(srv_conn *c, const char *data, size_t n)
{
    tls_conn_feed(c->tls, data, n);
    char why[256];
    long got;
    for (;;) {
        if (c->cap - c->len < 16384) {
            c->cap = c->len + 65536;
            c->buf = xrealloc(c->buf, c->cap);
        }
        got = tls_conn_read(c->tls, c->buf + c->len, c->cap - c->len, why, sizeof why);
        if (got <= 0)
            break;
        c->len += (size_t)got;
    }
    conn_flush_tls(c);
    if (got < 0) {
        log_info("conn %llu: closed: %s", (unsigned long long)c->id, why);
        c->tls_shut = true; /* no session to say goodbye on */
    }
    if (got < 0 || tls_conn_closed(c->tls)) {
        c->eof = true;
        uv_read_stop(&c->s.stream);
        c->reading = false;
        if (got < 0)
            c->len = 0; /* nothing from a failed session is a request */
    }
    conn_process(c);
    conn_maybe_finish(c);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    srv_conn *c = stream->data;
    (void)buf;
    if (nread == UV_EOF) {
        c->eof = true;
        uv_read_stop(stream);
        c->reading = false;
        conn_process(c);
        conn_maybe_finish(c);
        return;
    }
    if (nread < 0) {
        log_debug("conn %llu: read error: %s", (unsigned long long)c->id, uv_strerror((int)nread));
        conn_close(c);
        return;
    }
    if (c->tls) {
        conn_read_tls(c, buf->base, (size_t)nread);
        return;
    }
    c->len += (size_t)nread;
    c->last_active = uv_now(c->srv->loop);
    conn_process(c);
}

static int conn_start_reading(srv_conn *c)
{
    int rc = uv_read_start(&c->s.stream, on_alloc, on_read);
    c->reading = rc == 0;
    return rc;
}

/* Who the client is: its peer uid on the Unix socket (the kernel's word, not the client's). */
static void conn_identify(srv_conn *c, bool is_unix)
{
    memset(&c->ident, 0, sizeof c->ident);
    c->ident.role = ACCESS_NONE;
    snprintf(c->ident.who, sizeof c->ident.who, "%s", is_unix ? "unknown" : "tcp");
    snprintf(c->ident.via, sizeof c->ident.via, "%s", is_unix ? "unix:unknown" : "tcp");
    c->ident.needs_token = !is_unix;
    if (is_unix) {
        uv_os_fd_t fd;
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (uv_fileno(&c->s.handle, &fd) == 0 &&
            getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
            access_identify_uid(c->srv->access, cred.uid, &c->ident);
            snprintf(c->peer, sizeof c->peer, "uid:%u", (unsigned)cred.uid);
        } else
            log_warn("conn %llu: cannot read the peer's credentials: %s", (unsigned long long)c->id,
                     strerror(errno));
    }
    log_debug("conn %llu: connected (%s, %s)", (unsigned long long)c->id, c->ident.via,
              access_role_name(c->ident.role));
}

/*
 * Whose share a connection counts in: the Unix peer's uid (conn_identify), or
 * the TCP peer's address (not its port: one host, one share) until a token
 * names it (srv_set_peer).
 */
static void conn_peer_key(srv_conn *c, bool is_unix)
{
    snprintf(c->peer, sizeof c->peer, "%s", is_unix ? "unix:unknown" : "tcp:unknown");
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char addr[INET6_ADDRSTRLEN] = "";
    if (!is_unix && uv_tcp_getpeername(&c->s.tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&ss, addr, sizeof addr);
        else
            uv_ip4_name((struct sockaddr_in *)&ss, addr, sizeof addr);
        snprintf(c->peer, sizeof c->peer, "tcp:%s", addr);
    }
}

/* Count the connection in its peer's share: false (and refused with busy) when it is full. */
static bool conn_admit(srv_conn *c)
{
    server *s = c->srv;
    char why[256];
    if (!s->bounds) {
        if ((int)s->nconns <= s->max_clients)
            return true;
        snprintf(why, sizeof why, "too many clients connected");
    } else if (bounds_admit(s->bounds, c->peer, why, sizeof why) == 0) {
        c->admitted = true;
        return true;
    }
    /* A client hammering the socket must not flood the log too: a line a second at most. */
    s->refused++;
    log_debug("conn %llu: refused (%s): %s", (unsigned long long)c->id, c->peer, why);
    uint64_t now = uv_now(s->loop);
    if (s->refused_logged == 0 || now - s->refused_logged >= 1000) {
        log_warn("conn %llu: refused (%s): %s (%llu refused since the last such line)",
                 (unsigned long long)c->id, c->peer, why, (unsigned long long)s->refused);
        s->refused = 0;
        s->refused_logged = now;
    }
    conn_send_error(c, NULL, proto_err_code(PROTO_ERR_BUSY), why);
    c->eof = true;
    conn_maybe_finish(c);
    return false;
}

static void on_connection(uv_stream_t *listener, int status)
{
    server *s = listener->data;
    if (status < 0) {
        log_warn("accept failed: %s", uv_strerror(status));
        return;
    }
    srv_conn *c = xcalloc(1, sizeof *c);
    c->srv = s;
    c->refs = 1;
    c->id = ++s->next_id;
    if (listener == &s->unix_listener.stream)
        uv_pipe_init(s->loop, &c->s.pipe, 0);
    else
        uv_tcp_init(s->loop, &c->s.tcp);
    c->s.handle.data = c;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    if (uv_accept(listener, &c->s.stream) != 0) {
        conn_close(c);
        return;
    }
    if (listener != &s->unix_listener.stream) {
        if (!s->tls) {
            log_error("conn %llu: refused: TCP without TLS", (unsigned long long)c->id);
            conn_close(c);
            return;
        }
        c->tls = tls_conn_new(s->tls);
    }
    c->last_active = uv_now(s->loop);
    if (s->stopping) {
        log_warn("conn %llu: refused (shutting down)", (unsigned long long)c->id);
        conn_send_error(c, NULL, "shutting_down", "the daemon is stopping");
        c->eof = true;
        conn_maybe_finish(c);
        return;
    }
    bool is_unix = listener == &s->unix_listener.stream;
    conn_peer_key(c, is_unix);
    conn_identify(c, is_unix);
    if (!conn_admit(c))
        return;
    if (conn_start_reading(c) != 0)
        conn_close(c);
}

/* Replace a stale socket file, but never steal one that a live daemon answers on. */
static int prepare_socket_path(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "socket path too long (max %zu bytes): %s", sizeof sa.sun_path - 1,
                 path);
        return -1;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a socket", path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int live = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    if (live) {
        snprintf(err, errlen, "another daemon is already listening on %s", path);
        return -1;
    }
    unlink(path);
    return 0;
}

int srv_parse_host_port(const char *option, const char *hp, struct sockaddr_storage *ss, char *err,
                        size_t errlen)
{
    const char *colon = strrchr(hp, ':');
    if (!colon || colon == hp || !colon[1]) {
        snprintf(err, errlen, "invalid %s \"%s\": expected HOST:PORT", option, hp);
        return -1;
    }
    char host[256];
    size_t hlen = (size_t)(colon - hp);
    if (hp[0] == '[' && hlen >= 2 && hp[hlen - 1] == ']') {
        hp++;
        hlen -= 2;
    }
    if (hlen >= sizeof host) {
        snprintf(err, errlen, "invalid %s host", option);
        return -1;
    }
    memcpy(host, hp, hlen);
    host[hlen] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535) {
        snprintf(err, errlen, "invalid %s port \"%s\"", option, colon + 1);
        return -1;
    }
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) != 0 &&
        uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) != 0) {
        snprintf(err, errlen, "invalid %s address \"%s\" (use a numeric IP address)", option, host);
        return -1;
    }
    return 0;
}

/* Only the daemon's user and the socket's group may connect: mode 0660, group chosen. */
static int socket_bind(uv_pipe_t *pipe, const char *path, const char *group, char *err,
                       size_t errlen)
{
    gid_t gid = (gid_t)-1;
    if (group) {
        struct group *g = getgrnam(group);
        if (!g) {
            snprintf(err, errlen, "--socket-group: no such group \"%s\"", group);
            return -1;
        }
        gid = g->gr_gid;
    }
    /* The umask makes the file 0660 from its creation: no window where others could connect. */
    mode_t old = umask(0117);
    int rc = uv_pipe_bind(pipe, path);
    umask(old);
    if (rc != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", path, uv_strerror(rc));
        return -1;
    }
    if (chmod(path, 0660) != 0 || (group && chown(path, (uid_t)-1, gid) != 0)) {
        snprintf(err, errlen, "cannot set the mode or group of %s: %s", path, strerror(errno));
        return 1; /* bound: the caller removes the file */
    }
    return 0;
}

int server_start(server **out, uv_loop_t *loop, const char *socket_path, const char *listen,
                 const char *socket_group, const access_map *access, int max_clients,
                 srv_dispatch_cb dispatch, void *arg, char *err, size_t errlen)
{
    *out = NULL;
    if (prepare_socket_path(socket_path, err, errlen) != 0)
        return -1;
    server *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    s->dispatch = dispatch;
    s->arg = arg;
    s->max_clients = max_clients;
    s->access = access;
    s->socket_path = xstrdup(socket_path);
    uv_timer_init(loop, &s->drain);
    s->drain.data = s;
    int rc;
    uv_pipe_init(loop, &s->unix_listener.pipe, 0);
    s->unix_listener.handle.data = s;
    s->open_listeners = 1;
    int bound = socket_bind(&s->unix_listener.pipe, socket_path, socket_group, err, errlen);
    if (bound >= 0)
        s->bound = true;
    if (bound != 0)
        goto fail;
    if ((rc = uv_listen(&s->unix_listener.stream, 128, on_connection)) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", socket_path, uv_strerror(rc));
        goto fail;
    }
    if (listen) {
        struct sockaddr_storage ss;
        if (srv_parse_host_port("--listen", listen, &ss, err, errlen) != 0)
            goto fail;
        uv_tcp_init(loop, &s->tcp_listener.tcp);
        s->tcp_listener.handle.data = s;
        s->has_tcp = true;
        s->open_listeners++;
        if ((rc = uv_tcp_bind(&s->tcp_listener.tcp, (struct sockaddr *)&ss, 0)) != 0 ||
            (rc = uv_listen(&s->tcp_listener.stream, 128, on_connection)) != 0) {
            snprintf(err, errlen, "cannot listen on %s: %s", listen, uv_strerror(rc));
            goto fail;
        }
    }
    *out = s;
    return 0;
fail:
    /* Listener handles must be closed through the loop; the caller runs it briefly. */
    server_stop(s, NULL, NULL);
    return -1;
}

void server_tls(server *s, tls_server *tls)
{
    s->tls = tls;
}

srv_req *srv_local_req(server *s, uint64_t conn_id, json_t *msg, const access_ident *ident,
                       srv_local_cb done, void *arg)
{
    srv_req *req = xcalloc(1, sizeof *req);
    req->srv = s;
    req->conn_id = conn_id;
    req->started_ns = uv_hrtime();
    req->msg = msg;
    json_t *op = json_object_get(msg, "op");
    req->op = json_is_string(op) ? json_string_value(op) : "";
    req->local = done;
    req->local_arg = arg;
    req->local_ident = *ident;
    req->ident = &req->local_ident;
    return req;
}

void server_observe(server *s, srv_observe_cb observe, void *arg)
{
    s->observe = observe;
    s->observe_arg = arg;
}

void srv_identify(srv_req *req, const access_ident *id)
{
    access_ident *mine = req->conn ? &req->conn->ident : &req->local_ident;
    bool needs_token = mine->needs_token, feed_url = mine->feed_url;
    *mine = *id;
    mine->needs_token = needs_token;
    mine->feed_url = feed_url;
}

size_t server_clients(const server *s)
{
    return s->nconns;
}

/*
 * Close the connections idle for the bounds' idle timeout: no request in flight
 * (a watch stream always has one) and nothing read or written meanwhile. One
 * sweep a second over the list costs less than a timer per connection.
 */
static void on_idle_sweep(uv_timer_t *t)
{
    server *s = t->data;
    uint64_t idle = bounds_idle_ms(s->bounds), now = uv_now(s->loop);
    for (srv_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->closing || c->busy || c->eof || now - c->last_active < idle)
            continue;
        if (c->writes > 0) {
            /* It has not read its replies for that long: nothing more can reach it. */
            log_info("conn %llu (%s): closed: replies unread for %llu s", (unsigned long long)c->id,
                     c->peer, (unsigned long long)(idle / 1000));
            conn_close(c);
            continue;
        }
        log_info("conn %llu (%s): closed: idle for %llu s", (unsigned long long)c->id, c->peer,
                 (unsigned long long)(idle / 1000));
        char why[128];
        snprintf(why, sizeof why,
                 "no request for %llu s (--idle-timeout): the connection is closed; reconnect "
                 "to go on",
                 (unsigned long long)(idle / 1000));
        conn_send_error(c, NULL, proto_err_code(PROTO_ERR_IDLE_TIMEOUT), why);
        if (c->reading) {
            uv_read_stop(&c->s.stream);
            c->reading = false;
        }
        c->eof = true;
        c->len = 0;
        conn_maybe_finish(c);
    }
}

void server_set_access(server *s, const access_map *access)
{
    s->access = access;
}

void server_set_bounds(server *s, bounds *l)
{
    s->bounds = l;
    uint64_t idle = bounds_idle_ms(l);
    if (idle && !s->stopping)
        uv_timer_start(&s->drain, on_idle_sweep, idle < 1000 ? idle : 1000,
                       idle < 1000 ? idle : 1000);
}

int srv_set_peer(srv_req *req, const char *peer, char *why, size_t whylen)
{
    srv_conn *c = req->conn;
    if (!c)
        return 0; /* a local request holds no connection slot */
    if (c->admitted && bounds_rekey(c->srv->bounds, c->peer, peer, why, whylen) != 0)
        return -1;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
    server *s = h->data;
    s->open_listeners--;
    maybe_stop_done(s);
}

static void on_drain_closed(uv_handle_t *h)
{
    server *s = h->data;
    void (*done)(void *) = s->stop_done;
    void *arg = s->stop_arg;
    free(s->socket_path);
    free(s);
    if (done)
        done(arg);
}

static void maybe_stop_done(server *s)
{
    if (!s->stopping || s->open_listeners > 0 || s->conns || s->drain_closing)
        return;
    s->drain_closing = true;
    uv_close((uv_handle_t *)&s->drain, on_drain_closed);
}

/* Stopping: a client that does not read its replies must not hold the daemon up. */
static void on_drain_timeout(uv_timer_t *t)
{
    server *s = t->data;
    for (srv_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (!c->busy && !c->closing) {
            log_warn("conn %llu: closed with %zu replies unread by the client",
                     (unsigned long long)c->id, c->writes);
            conn_close(c);
        }
    }
}

void server_stop(server *s, void (*done)(void *arg), void *arg)
{
    s->stopping = true;
    s->stop_done = done;
    s->stop_arg = arg;
    uv_close(&s->unix_listener.handle, on_listener_closed);
    if (s->bound)
        unlink(s->socket_path);
    uv_timer_start(&s->drain, on_drain_timeout, SRV_DRAIN_MS, SRV_DRAIN_MS);
    if (s->has_tcp)
        uv_close(&s->tcp_listener.handle, on_listener_closed);
    for (srv_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->reading) {
            uv_read_stop(&c->s.stream);
            c->reading = false;
        }
        /* Requests not started yet are dropped: nothing was done for them. */
        c->len = 0;
        conn_maybe_finish(c);
    }
}
