/*
 * http: the daemon's HTTP front end (--http HOST:PORT), on the daemon's own
 * libuv loop through h2o's libuv build (libh2o): HTTP/1.1, and HTTP/2 under
 * TLS. Plain HTTP is served on a loopback address only; anywhere else
 * --tls-cert/--tls-key are required (pages carry tokens and children's
 * deadlines). GET /healthz, /readyz and /metrics are answered here; the
 * calendar feeds (ical.h) and the dashboard (dash.h) build on an exchange
 * (http_ex): the request's parts copied out of h2o, protocol requests run
 * for it as its caller (http_call: the very ops, roles and SQL the sockets
 * serve, through handlers.c and the store, so the loop never waits), and
 * one response. A client that goes away mid-way is noticed (the exchange
 * outlives h2o's request; its response is dropped).
 */
#ifndef SF_HTTP_H
#define SF_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"
#include "util.h"

typedef struct http_server http_server;

/* Most header lines a response may add (Set-Cookie, Location...). */
#define HTTP_MAX_HEADERS 8

/* One HTTP request and its response. */
typedef struct http_ex {
    http_server *hs;
    sf_daemon *d;
    uint64_t id;         /* names it in logs: "http 7" (and its protocol requests' conn) */
    bool post;           /* POST; else GET or HEAD */
    bool tls;            /* it came over TLS (cookies get Secure) */
    char *path;          /* owned: the normalised path, without the query */
    char *query;         /* owned: what followed '?', or "" */
    char *body;          /* owned: the request's body (a form), NUL-terminated */
    char *cookie;        /* owned: the Cookie header, or NULL */
    char *authorization; /* owned: the Authorization header, or NULL */
    char *origin;        /* owned: the Origin header, or NULL */
    bool feed_url;       /* a calendar URL: only a feed token may serve its requests */
    void *data;          /* the page's own state, freed with data_free when the exchange ends */
    void (*data_free)(void *data);
    /* private to http.c */
    void *req;   /* h2o's request; NULL once the client has gone */
    void **slot; /* in the request's pool: points back here while both live */
    struct {
        char *name, *value;
    } headers[HTTP_MAX_HEADERS];
    int nheaders;
} http_ex;

/*
 * Check --http before anything starts (0, or -1 with a reason in err): a
 * numeric HOST:PORT, and TLS unless the address is loopback. 0 without --http.
 */
int http_check(const sf_config *cfg, char *err, size_t errlen) SF_MUSTCHECK;
/*
 * Listen on d->cfg.http (numeric HOST:PORT) on d->loop, TLS with
 * d->cfg.tls_cert/tls_key when given; refuses plain HTTP on an address that
 * is not loopback. 0 and d->http set, or -1 with a reason in err. Reads
 * files (certificate, schema directory): call before the loop runs.
 */
int http_start(sf_daemon *d, char *err, size_t errlen) SF_MUSTCHECK;
/*
 * Stop listening, close idle connections, let exchanges in flight answer,
 * then free d->http (NULL) and call done(arg). d->http may be NULL (done
 * is called at once).
 */
void http_stop(sf_daemon *d, void (*done)(void *arg), void *arg);

/* The dashboard's state (its sessions: dash.h), owned by the server. */
struct dash *http_dash(const http_ex *ex);
/* Add a header line to ex's response (copied). At most HTTP_MAX_HEADERS. */
void http_header(http_ex *ex, const char *name, const char *value);
/*
 * Send the response (status, content type, body of len bytes, copied) and
 * end the exchange: ex is freed. Dropped when the client has gone.
 */
void http_respond(http_ex *ex, int status, const char *ctype, const char *body, size_t len);
/* http_respond with a plain-text sentence (printf-style) and a newline. */
void http_respond_text(http_ex *ex, int status, const char *fmt, ...) SF_PRINTF(3, 4);
/*
 * Run the protocol request msg (stolen) for ex as the holder of token
 * (borrowed; a fresh lookup each time, so a revoked token fails at once):
 * then(ex, reply) gets the answer line (borrowed: "ok" true with the op's
 * fields, or false with "error": {"code", "message"}).
 */
void http_call(http_ex *ex, json_t *msg, const char *token,
               void (*then)(http_ex *ex, json_t *reply));
/*
 * The value of name in an application/x-www-form-urlencoded string (a query
 * or a form body), decoded (new string, caller frees), or NULL when absent
 * or malformed (a bad %-escape, a control character).
 */
char *http_param(const char *qs, const char *name);
/* n bytes of a %-escaped string decoded (new string), or NULL if malformed or a control char. */
char *http_unescape(const char *s, size_t n);
/* Append s to out escaped for HTML text and attribute values. */
void http_html_escape(sb *out, const char *s);
/* Append s to out percent-encoded for a URL path segment or query value. */
void http_url_escape(sb *out, const char *s);

#endif
