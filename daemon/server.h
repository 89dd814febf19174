/*
 * server: the sockets. Listens on a Unix socket (and TCP when asked), splits
 * each connection's bytes into newline-delimited JSON requests and writes the
 * replies back in order.
 *
 * One request per connection is in flight at a time: the next line is parsed
 * only when the previous reply has been queued, which keeps replies in
 * request order for pipelining clients and gives natural backpressure (a
 * client that floods us, or never reads its replies, stops being read; other
 * clients are unaffected). Malformed lines are answered here without reaching
 * the handlers. With server_set_bounds, each connection counts in its peer's
 * share and an idle one is closed (bounds.h).
 */
#ifndef SF_SERVER_H
#define SF_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "access.h"
#include "bounds.h"
#include "tls.h"
#include "util.h"

/* Longest request line accepted (1 MiB); longer lines are answered with line_too_long. */
#define SRV_MAX_LINE (1024 * 1024)
/* Lines a stream may have queued unwritten before its connection is dropped. */
#define SRV_MAX_PUSHES_PENDING 1000

typedef struct server server;
typedef struct srv_conn srv_conn;

/*
 * Where a local request's answer goes (srv_local_req): reply is the whole
 * answer line ("ok" or "error" set), borrowed for the call. Called once.
 */
typedef void (*srv_local_cb)(json_t *reply, void *arg);

/* One parsed request. Valid until srv_reply / srv_reply_error. */
typedef struct srv_req {
    srv_conn *conn;            /* private to the server; NULL for a local request */
    server *srv;               /* the server it counts in (its observer), or NULL */
    uint64_t conn_id;          /* for logs: "conn 7" */
    json_t *msg;               /* the request object (owned by the request) */
    const char *op;            /* borrowed from msg */
    const access_ident *ident; /* who sent it: borrowed from the connection, valid as req */
    uint64_t started_ns;       /* uv_hrtime when it was parsed (latency) */
    srv_local_cb local;        /* a local request: where the answer goes */
    void *local_arg;
    access_ident local_ident; /* a local request's identity (ident points here) */
} srv_req;

/*
 * Called as each request is answered (op: its name, or "unknown" when no
 * such op; code: the error's code, NULL on success; ns: since it was parsed).
 */
typedef void (*srv_observe_cb)(const char *op, const char *code, uint64_t ns, void *arg);

/* Called for every well-formed request; it must eventually reply exactly once. */
typedef void (*srv_dispatch_cb)(srv_req *req, void *arg);

/*
 * Listen on socket_path (required) and listen ("HOST:PORT", may be NULL).
 * A stale socket file is replaced; a live one (another daemon) is an error.
 * The socket file is mode 0660, its group socket_group when given (else the
 * daemon's). Each Unix client is identified by its peer uid through access
 * (borrowed: it must outlive the server); a TCP client speaks TLS
 * (server_tls) and is identified by each request's token (srv_identify). 0 and a new server, or -1
 * with a reason in err.
 */
int server_start(server **out, uv_loop_t *loop, const char *socket_path, const char *listen,
                 const char *socket_group, const access_map *access, int max_clients,
                 srv_dispatch_cb dispatch, void *arg, char *err, size_t errlen) SF_MUSTCHECK;
/*
 * Send a reply: steals reply (a JSON object; NULL sends an internal error
 * instead), sets "id" to the request's and adds "ok": true unless present,
 * and frees req.
 */
void srv_reply(srv_req *req, json_t *reply);
/*
 * Send one more line for a request that stays in flight (a stream: `watch`),
 * with the request's id and "ok": true added; takes reply's reference. False
 * when the connection is closing or not reading (then it is closed): the
 * caller ends the request with srv_reply, whose line is then not sent.
 */
bool srv_push(srv_req *req, json_t *line);
/* Send {"ok": false, "error": {"code", "message"}} and free req. */
void srv_reply_error(srv_req *req, const char *code, const char *fmt, ...) SF_PRINTF(3, 4);
/*
 * TCP connections accepted from now on speak TLS with tls (borrowed: it must
 * outlive the server); call before the loop runs. Without it TCP clients are
 * refused (main.c will not listen on TCP without --tls-cert/--tls-key).
 */
void server_tls(server *s, tls_server *tls);
/*
 * The identity req's connection has from now on (a TCP client, once its
 * token is checked): id is copied. req->ident shows it at once.
 */
void srv_identify(srv_req *req, const access_ident *id);
/*
 * A request that did not come from a socket (the HTTP front end's: http.h):
 * msg (stolen) is dispatched like a line read from a connection, as ident
 * (copied; needs_token: msg's "token" identifies it, as on TCP), counted in
 * s's observer (s may be NULL), and its answer goes to done(reply, arg)
 * instead of a socket, exactly once. conn_id names it in logs. Returns the
 * request for the dispatcher (handlers_dispatch).
 */
srv_req *srv_local_req(server *s, uint64_t conn_id, json_t *msg, const access_ident *ident,
                       srv_local_cb done, void *arg);
/* Tell observe(op, code, ns, arg) of every answer from now on (metrics.h). */
void server_observe(server *s, srv_observe_cb observe, void *arg);
/*
 * "HOST:PORT" (numeric; an IPv6 address may be in brackets) into ss: 0, or
 * -1 with a sentence naming option ("--listen") in err.
 */
struct sockaddr_storage;
int srv_parse_host_port(const char *option, const char *hp, struct sockaddr_storage *ss, char *err,
                        size_t errlen) SF_MUSTCHECK;
/* Connected clients. */
size_t server_clients(const server *s);
/*
 * Bound the clients by l (borrowed: it must outlive the server) instead of
 * max_clients alone: each connection counts in its peer's share (refused
 * over it with a "busy" error line, then closed), and one idle for l's
 * timeout is closed after an "idle_timeout" error line. Call once, after
 * server_start.
 */
void server_set_bounds(server *s, bounds *l);
/* Identify connections accepted from now on by access (a reload; borrowed, must outlive s). */
void server_set_access(server *s, const access_map *access);
/*
 * Count req's connection under peer (BOUNDS_PEER_LEN at most) from now on,
 * e.g. the client a token names: 0, or -1 with a sentence in why when that
 * peer holds its share already (the connection stays as it was).
 */
int srv_set_peer(srv_req *req, const char *peer, char *why, size_t whylen) SF_MUSTCHECK;
/*
 * Stop: close the listeners (and remove the socket file), stop reading, let
 * in-flight requests reply and their bytes drain, close every connection,
 * then call done(arg) and free the server. Requests not yet started are
 * dropped unanswered (nothing was done for them).
 */
void server_stop(server *s, void (*done)(void *arg), void *arg);

#endif
