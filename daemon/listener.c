/*
 * listener: LISTEN on a connection of its own (see listener.h).
 */
#include "listener.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define RETRY_MS 2000

struct listener {
    uv_loop_t *loop;
    char *conninfo;
    char *listen_sql; /* "LISTEN a; LISTEN b" */
    listener_cb cb;
    void *arg;
    PGconn *pg;
    uv_poll_t *poll; /* the current socket's watcher (a new one per connection), or NULL */
    bool connecting; /* PQconnectPoll in progress */
    bool listening;  /* LISTEN sent */
    bool stopping;
    uv_timer_t retry;
    int handles; /* open uv handles */
};

static void start_connect(listener *l);
static void on_retry(uv_timer_t *t);

static void on_closed(uv_handle_t *h)
{
    listener *l = h->data;
    if (h->type == UV_POLL)
        free(h);
    if (--l->handles == 0 && l->stopping) {
        free(l->conninfo);
        free(l->listen_sql);
        free(l);
    }
}

static void drop_conn(listener *l)
{
    if (l->poll) {
        uv_poll_stop(l->poll);
        uv_close((uv_handle_t *)l->poll, on_closed);
        l->poll = NULL;
    }
    if (l->pg)
        PQfinish(l->pg);
    l->pg = NULL;
    l->connecting = l->listening = false;
}

static void broken(listener *l, const char *why)
{
    log_warn("listener: %s; reconnecting in %d s", why, RETRY_MS / 1000);
    drop_conn(l);
    if (!l->stopping)
        uv_timer_start(&l->retry, on_retry, RETRY_MS, 0);
}

static void on_retry(uv_timer_t *t)
{
    start_connect(t->data);
}

static void watch_socket(listener *l, int events);

static void drain(listener *l)
{
    if (!PQconsumeInput(l->pg)) {
        broken(l, PQerrorMessage(l->pg));
        return;
    }
    while (!PQisBusy(l->pg)) {
        PGresult *res = PQgetResult(l->pg);
        if (!res)
            break;
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            log_warn("listener: %s", PQresultErrorMessage(res));
        PQclear(res);
    }
    PGnotify *n;
    while ((n = PQnotifies(l->pg)) != NULL) {
        l->cb(n->relname, n->extra, l->arg);
        PQfreemem(n);
    }
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    listener *l = p->data;
    (void)events;
    if (status < 0) {
        broken(l, uv_strerror(status));
        return;
    }
    if (l->connecting) {
        switch (PQconnectPoll(l->pg)) {
        case PGRES_POLLING_READING:
            watch_socket(l, UV_READABLE);
            return;
        case PGRES_POLLING_WRITING:
            watch_socket(l, UV_WRITABLE);
            return;
        case PGRES_POLLING_FAILED:
            broken(l, PQerrorMessage(l->pg));
            return;
        default:
            break;
        }
        l->connecting = false;
        if (PQsetnonblocking(l->pg, 1) != 0 || !PQsendQuery(l->pg, l->listen_sql) ||
            PQflush(l->pg) != 0) {
            broken(l, PQerrorMessage(l->pg));
            return;
        }
        l->listening = true;
        watch_socket(l, UV_READABLE);
        log_info("listener: listening");
        l->cb(NULL, NULL, l->arg); /* anything sent while we were not listening is lost */
        return;
    }
    drain(l);
}

static void watch_socket(listener *l, int events)
{
    if (!l->poll) {
        uv_poll_t *p = xcalloc(1, sizeof *p);
        if (uv_poll_init(l->loop, p, PQsocket(l->pg)) != 0) {
            free(p);
            broken(l, "cannot watch the socket");
            return;
        }
        p->data = l;
        l->poll = p;
        l->handles++;
    }
    uv_poll_start(l->poll, events, on_poll);
}

static void start_connect(listener *l)
{
    if (l->stopping)
        return;
    l->pg = PQconnectStart(l->conninfo);
    if (!l->pg || PQstatus(l->pg) == CONNECTION_BAD) {
        broken(l, l->pg ? PQerrorMessage(l->pg) : "out of memory");
        return;
    }
    l->connecting = true;
    watch_socket(l, UV_WRITABLE);
}

listener *listener_start(uv_loop_t *loop, const char *conninfo, const char *const *channels,
                         listener_cb cb, void *arg)
{
    listener *l = xcalloc(1, sizeof *l);
    l->loop = loop;
    l->conninfo = xstrdup(conninfo ? conninfo : "");
    l->cb = cb;
    l->arg = arg;
    sb sql = {0};
    for (const char *const *c = channels; *c; c++)
        sb_addf(&sql, "%sLISTEN %s", c == channels ? "" : "; ", *c);
    l->listen_sql = sb_steal(&sql);
    uv_timer_init(loop, &l->retry);
    l->retry.data = l;
    l->handles = 1;
    start_connect(l);
    return l;
}

void listener_stop(listener *l)
{
    if (!l)
        return;
    l->stopping = true;
    drop_conn(l);
    uv_timer_stop(&l->retry);
    uv_close((uv_handle_t *)&l->retry, on_closed);
}
