/*
 * store: non-blocking libpq connections driven by uv_poll (see store.h).
 *
 * Each connection is an explicit state machine (conn_state); conn_set_state
 * is the one place that changes it and it aborts on a transition it does not
 * expect (the PgBouncer habit), so a logic error shows up at once rather than
 * as a hung request.
 */
#include "store.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* How long connecting and preparing may take before we give up and retry later. */
#define STORE_CONNECT_TIMEOUT_MS   10000
#define STORE_CONNECT_TIMEOUT_TEXT "10 s"
/* Run once on each new connection. The timeouts are far above any normal request. */
#define STORE_SESSION_SQL                                                                          \
    "SET statement_timeout = '30s'; SET lock_timeout = '10s';"                                     \
    " SET idle_in_transaction_session_timeout = '60s'"

typedef enum conn_state {
    CONN_CONNECTING, /* PQconnectPoll in progress */
    CONN_PREPARING,  /* connected, preparing the statement table */
    CONN_IDLE,       /* connected, no job */
    CONN_BOUND,      /* a job owns it, no query in flight */
    CONN_SENDING,    /* query sent, output not yet flushed */
    CONN_WAITING,    /* query flushed, waiting for results */
    CONN_BROKEN,     /* failed; a retry timer is running */
    CONN_CLOSED,     /* finished; handles closing */
} conn_state;

typedef struct store_job {
    store_begin_cb begin;
    void *arg;
    uint64_t submitted_ns; /* uv_hrtime at store_submit (the pool wait) */
    struct store_job *next;
} store_job;

struct store_tx {
    struct pconn *conn;
};

typedef struct pconn {
    store *owner;
    int index; /* position in the pool, for logs */
    conn_state state;
    PGconn *pg;       /* owned; NULL while broken */
    uv_poll_t *poll;  /* heap: re-created when the socket changes */
    int poll_fd;      /* the socket poll watches */
    int poll_events;  /* events poll currently watches */
    uv_timer_t retry; /* reconnect back-off */
    unsigned backoff_ms;
    store_tx tx;        /* handed to the job that owns the connection */
    store_result_cb cb; /* the in-flight query's callback */
    void *cb_arg;
    PGresult *result; /* the in-flight query's last result so far */
    uint64_t sent_ns; /* uv_hrtime when the in-flight query was sent */
    bool ever_connected;
    size_t prepared;      /* statements of the table prepared on this connection */
    bool session_set;     /* STORE_SESSION_SQL has run on this connection */
    unsigned session_gen; /* the store's session_gen when it ran */
    bool refreshing;      /* running a changed session again, then back to idle */
} pconn;

struct store {
    uv_loop_t *loop;
    char *conninfo;
    char *name;        /* owned: the pool's name in log lines ("main", "work") */
    store_stmt *stmts; /* owned copy of the table: prepared on every connection */
    size_t nstmts;
    char *session_sql;    /* owned: STORE_SESSION_SQL plus store_set_session's */
    unsigned session_gen; /* bumped by store_set_session: older connections run it again */
    pconn *conns;
    int nconns;
    store_job *head, *tail; /* waiting jobs */
    size_t running;         /* jobs holding a connection */
    size_t queued;
    bool closing;
    int open_handles; /* handles whose close callback is pending or not yet closed */
    void (*close_done)(void *);
    void *close_arg;
    uv_idle_t dispatch; /* runs waiting jobs outside of store_submit's caller */
    store_stats stats;  /* waits, query latency, refusals (connected, size: on demand) */
    bool dispatch_active;
};

static void conn_start_connect(pconn *c);
static void on_retry(uv_timer_t *t);
static void conn_update_poll(pconn *c, int events);
static void conn_prepared_one(pconn *c, PGresult *res);
static void dispatch_jobs(store *s);
static void maybe_finish_close(store *s);

static const char *conn_state_name(conn_state st)
{
    switch (st) {
    case CONN_CONNECTING:
        return "connecting";
    case CONN_PREPARING:
        return "preparing";
    case CONN_IDLE:
        return "idle";
    case CONN_BOUND:
        return "bound";
    case CONN_SENDING:
        return "sending";
    case CONN_WAITING:
        return "waiting";
    case CONN_BROKEN:
        return "broken";
    case CONN_CLOSED:
        return "closed";
    }
    return "?";
}

/* The only place a connection changes state. */
static void conn_set_state(pconn *c, conn_state to)
{
    bool ok;
    switch (to) {
    case CONN_CONNECTING:
        ok = c->state == CONN_BROKEN || c->state == CONN_CONNECTING;
        break;
    case CONN_PREPARING:
        /* From idle: the session changed (store_set_session) and runs again. */
        ok = c->state == CONN_CONNECTING || c->state == CONN_PREPARING || c->state == CONN_IDLE;
        break;
    case CONN_IDLE:
        ok = c->state == CONN_PREPARING || c->state == CONN_BOUND;
        break;
    case CONN_BOUND:
        ok = c->state == CONN_IDLE || c->state == CONN_SENDING || c->state == CONN_WAITING;
        break;
    case CONN_SENDING:
        ok = c->state == CONN_BOUND;
        break;
    case CONN_WAITING:
        ok = c->state == CONN_SENDING || c->state == CONN_BOUND;
        break;
    case CONN_BROKEN:
        ok = c->state != CONN_CLOSED;
        break;
    case CONN_CLOSED:
        ok = true;
        break;
    default:
        ok = false;
    }
    if (!ok) {
        log_error("store %s: connection %d: unexpected transition %s -> %s", c->owner->name,
                  c->index, conn_state_name(c->state), conn_state_name(to));
        abort();
    }
    c->state = to;
}

static void on_poll_closed(uv_handle_t *h)
{
    store *s = h->data;
    free(h);
    s->open_handles--;
    maybe_finish_close(s);
}

static void conn_drop_poll(pconn *c)
{
    if (c->poll) {
        uv_poll_stop(c->poll);
        c->poll->data = c->owner;
        uv_close((uv_handle_t *)c->poll, on_poll_closed);
        c->poll = NULL;
        c->poll_events = 0;
    }
}

static void deliver(pconn *c, PGresult *res)
{
    if (res)
        metrics_hist_add(&c->owner->stats.query, uv_hrtime() - c->sent_ns);
    store_result_cb cb = c->cb;
    void *arg = c->cb_arg;
    c->cb = NULL;
    c->cb_arg = NULL;
    cb(&c->tx, res, arg);
}

/* The connection failed: tell the job owning it, if any, and retry later. */
static void conn_fail(pconn *c, const char *why)
{
    conn_state was = c->state;
    log_warn("store %s: connection %d lost (%s): %s", c->owner->name, c->index,
             conn_state_name(was), why && *why ? why : "unknown error");
    conn_drop_poll(c);
    if (c->result) {
        PQclear(c->result);
        c->result = NULL;
    }
    if (c->pg) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    conn_set_state(c, CONN_BROKEN);
    if (c->owner->closing) {
        conn_set_state(c, CONN_CLOSED);
    } else {
        c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : 100;
        if (c->backoff_ms > 5000)
            c->backoff_ms = 5000;
        uv_timer_start(&c->retry, on_retry, c->backoff_ms, 0);
    }
    if (c->cb) {
        /* A query was in flight: its job hears NULL and keeps the broken tx until it
         * releases it. */
        deliver(c, NULL);
    }
    /* Jobs waiting for a connection may now have none to wait for. */
    dispatch_jobs(c->owner);
}

/* The back-off before reconnecting has passed, or connecting is taking too long. */
static void on_retry(uv_timer_t *t)
{
    pconn *c = t->data;
    if (c->owner->closing)
        return;
    if (c->state == CONN_BROKEN)
        conn_start_connect(c);
    else if (c->state == CONN_CONNECTING || c->state == CONN_PREPARING)
        conn_fail(c, "timed out connecting (" STORE_CONNECT_TIMEOUT_TEXT ")");
}

static void conn_read_results(pconn *c)
{
    if (!PQconsumeInput(c->pg)) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    while (!PQisBusy(c->pg)) {
        PGresult *r = PQgetResult(c->pg);
        if (!r) {
            /* The query is complete. */
            PGresult *res = c->result;
            c->result = NULL;
            if (c->state == CONN_PREPARING) {
                conn_prepared_one(c, res);
                return;
            }
            conn_update_poll(c, 0);
            conn_set_state(c, CONN_BOUND);
            if (!res) {
                conn_fail(c, "no result");
                return;
            }
            deliver(c, res);
            PQclear(res);
            return;
        }
        if (c->result)
            PQclear(c->result);
        c->result = r;
    }
}

static void conn_connect_step(pconn *c);

static void on_poll(uv_poll_t *h, int status, int events)
{
    pconn *c = h->data;
    if (status < 0 && c->state == CONN_CONNECTING) {
        /* libuv reports POLLERR (a refused connect, say) as an error and stops the
         * handle; libpq must see it to report the real error or try the next host or
         * address of the conninfo. */
        c->poll_events = 0;
        conn_connect_step(c);
        return;
    }
    if (status < 0) {
        conn_fail(c, uv_strerror(status));
        return;
    }
    switch (c->state) {
    case CONN_CONNECTING:
        conn_connect_step(c);
        break;
    case CONN_PREPARING:
        if (events & UV_WRITABLE) {
            int f = PQflush(c->pg);
            if (f < 0) {
                conn_fail(c, PQerrorMessage(c->pg));
                return;
            }
            if (f == 0)
                conn_update_poll(c, UV_READABLE);
        }
        if (events & UV_READABLE)
            conn_read_results(c);
        break;
    case CONN_SENDING: {
        int f = PQflush(c->pg);
        if (f < 0) {
            conn_fail(c, PQerrorMessage(c->pg));
            return;
        }
        if (f == 0) {
            conn_set_state(c, CONN_WAITING);
            conn_update_poll(c, UV_READABLE);
        }
        if (events & UV_READABLE)
            conn_read_results(c);
        break;
    }
    case CONN_WAITING:
        conn_read_results(c);
        break;
    case CONN_IDLE:
    case CONN_BOUND:
        /* Unsolicited input (a notice, or the server closing): consume it to notice failures. */
        if (!PQconsumeInput(c->pg)) {
            conn_fail(c, PQerrorMessage(c->pg));
            return;
        }
        if (PQstatus(c->pg) == CONNECTION_BAD)
            conn_fail(c, PQerrorMessage(c->pg));
        break;
    case CONN_BROKEN:
    case CONN_CLOSED:
        break;
    }
}

/* Watch the connection's socket for events; re-creates the handle when the socket changed. */
static void conn_update_poll(pconn *c, int events)
{
    int fd = PQsocket(c->pg);
    if (c->poll && c->poll_fd != fd)
        conn_drop_poll(c);
    if (!c->poll) {
        c->poll = xmalloc(sizeof *c->poll);
        if (uv_poll_init(c->owner->loop, c->poll, fd) != 0) {
            free(c->poll);
            c->poll = NULL;
            return;
        }
        c->owner->open_handles++;
        c->poll->data = c;
        c->poll_fd = fd;
        c->poll_events = 0;
    }
    /* Idle connections still watch for reads so that a server going away is noticed. */
    if (events == 0)
        events = UV_READABLE;
    if (events != c->poll_events) {
        uv_poll_start(c->poll, events, on_poll);
        c->poll_events = events;
    }
}

/*
 * Prepare the next statement of the table, one at a time (libpq runs one
 * command at a time outside pipeline mode); when all are prepared the
 * connection is ready for jobs. Preparing once per connection spares
 * PostgreSQL parsing and planning the same SQL for every request.
 */
static void conn_prepare_next(pconn *c)
{
    store *s = c->owner;
    if (!c->session_set) {
        /* Bound every wait, so a stuck query or lock cannot hold a pool connection for
         * ever: the job gets an error and the client a reply. */
        c->session_gen = s->session_gen;
        if (!PQsendQuery(c->pg, s->session_sql ? s->session_sql : STORE_SESSION_SQL)) {
            conn_fail(c, PQerrorMessage(c->pg));
            return;
        }
    } else if (c->prepared == s->nstmts && c->refreshing) {
        c->refreshing = false;
        conn_set_state(c, CONN_IDLE);
        conn_update_poll(c, UV_READABLE);
        dispatch_jobs(s);
        return;
    } else if (c->prepared == s->nstmts) {
        uv_timer_stop(&c->retry);
        log_info("store %s: connection %d %s (%zu statements prepared)", s->name, c->index,
                 c->ever_connected ? "re-established" : "established", s->nstmts);
        c->ever_connected = true;
        c->backoff_ms = 0;
        conn_set_state(c, CONN_IDLE);
        conn_update_poll(c, UV_READABLE);
        dispatch_jobs(s);
        return;
    } else {
        const store_stmt *st = &s->stmts[c->prepared];
        if (!PQsendPrepare(c->pg, st->name, st->sql, 0, NULL)) {
            conn_fail(c, PQerrorMessage(c->pg));
            return;
        }
    }
    int f = PQflush(c->pg);
    if (f < 0) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    conn_update_poll(c, f ? UV_READABLE | UV_WRITABLE : UV_READABLE);
}

static void conn_prepared_one(pconn *c, PGresult *res)
{
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        /* The schema and the daemon disagree: say which statement, then retry later. */
        char why[512];
        snprintf(why, sizeof why, "preparing %s: %s",
                 c->session_set ? c->owner->stmts[c->prepared].name : "the session",
                 res ? PQresultErrorMessage(res) : "no result");
        why[strcspn(why, "\n")] = '\0';
        if (res)
            PQclear(res);
        log_error("store %s: connection %d: %s", c->owner->name, c->index, why);
        conn_fail(c, why);
        return;
    }
    PQclear(res);
    if (c->session_set)
        c->prepared++;
    c->session_set = true;
    conn_prepare_next(c);
}

/* Server notices and warnings go to our log, not straight to stderr as libpq's default does. */
static void on_notice(void *arg, const char *message)
{
    pconn *c = arg;
    size_t n = strcspn(message, "\n");
    log_debug("store %s: connection %d: %.*s", c->owner->name, c->index, (int)n, message);
}

static void conn_connect_step(pconn *c)
{
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING:
        /* libpq may have closed the socket and opened another with the same number
         * (trying the next address): watch it with a fresh handle each time. */
        conn_drop_poll(c);
        conn_update_poll(c, UV_READABLE);
        return;
    case PGRES_POLLING_WRITING:
        conn_drop_poll(c);
        conn_update_poll(c, UV_WRITABLE);
        return;
    case PGRES_POLLING_OK:
        PQsetNoticeProcessor(c->pg, on_notice, c);
        if (PQsetnonblocking(c->pg, 1) != 0) {
            conn_fail(c, PQerrorMessage(c->pg));
            return;
        }
        c->prepared = 0;
        c->session_set = false;
        c->refreshing = false;
        conn_set_state(c, CONN_PREPARING);
        conn_prepare_next(c);
        return;
    case PGRES_POLLING_FAILED:
    default:
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
}

static void conn_start_connect(pconn *c)
{
    c->pg = PQconnectStart(c->owner->conninfo);
    if (!c->pg) {
        conn_fail(c, "out of memory");
        return;
    }
    conn_set_state(c, CONN_CONNECTING);
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    /* PQconnectPoll ignores connect_timeout: we keep our own. */
    uv_timer_start(&c->retry, on_retry, STORE_CONNECT_TIMEOUT_MS, 0);
    /* libpq asks to start as if the socket were writable. */
    conn_update_poll(c, UV_WRITABLE);
}

store *store_new(uv_loop_t *loop, const char *name, const char *conninfo, int size,
                 const store_stmts *tables, size_t ntables)
{
    store *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    s->name = xstrdup(name);
    for (size_t t = 0; t < ntables; t++)
        s->nstmts += tables[t].n;
    s->stmts = xcalloc(s->nstmts ? s->nstmts : 1, sizeof *s->stmts);
    for (size_t t = 0, k = 0; t < ntables; t++)
        for (size_t i = 0; i < tables[t].n; i++)
            s->stmts[k++] = tables[t].stmts[i];
    s->conninfo = xstrdup(conninfo ? conninfo : "");
    s->nconns = size;
    s->conns = xcalloc((size_t)size, sizeof *s->conns);
    uv_idle_init(loop, &s->dispatch);
    s->dispatch.data = s;
    s->open_handles++;
    for (int i = 0; i < size; i++) {
        pconn *c = &s->conns[i];
        c->owner = s;
        c->index = i;
        c->tx.conn = c;
        c->state = CONN_BROKEN;
        uv_timer_init(loop, &c->retry);
        c->retry.data = c;
        s->open_handles++;
        conn_start_connect(c);
    }
    return s;
}

static void on_dispatch(uv_idle_t *h)
{
    store *s = h->data;
    uv_idle_stop(h);
    s->dispatch_active = false;
    dispatch_jobs(s);
}

void store_submit(store *s, store_begin_cb begin, void *arg)
{
    store_job *j = xcalloc(1, sizeof *j);
    j->begin = begin;
    j->arg = arg;
    j->submitted_ns = uv_hrtime();
    if (s->tail)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    s->queued++;
    /* Run from the loop, so begin never runs inside the caller's stack. */
    if (!s->dispatch_active) {
        s->dispatch_active = true;
        uv_idle_start(&s->dispatch, on_dispatch);
    }
}

static store_job *pop_job(store *s)
{
    store_job *j = s->head;
    if (j) {
        s->head = j->next;
        if (!s->head)
            s->tail = NULL;
        s->queued--;
    }
    return j;
}

/* Hand waiting jobs to idle connections; refuse them when none can come. */
static void dispatch_jobs(store *s)
{
    /*
     * Idle connections set up before store_set_session changed the session
     * run it again before they take a job: the new value must hold for it.
     * (A failure here dispatches from conn_fail; the loop below looks afresh.)
     */
    for (int i = 0; i < s->nconns && !s->closing; i++) {
        pconn *c = &s->conns[i];
        if (c->state == CONN_IDLE && c->session_gen != s->session_gen) {
            c->session_set = false;
            c->refreshing = true;
            conn_set_state(c, CONN_PREPARING);
            conn_prepare_next(c);
        }
    }
    while (s->head) {
        pconn *idle = NULL;
        bool any_hope = false; /* some connection works or is (re)connecting */
        for (int i = 0; i < s->nconns; i++) {
            pconn *c = &s->conns[i];
            if (c->state == CONN_IDLE && !idle)
                idle = c;
            if (c->state != CONN_BROKEN && c->state != CONN_CLOSED)
                any_hope = true;
        }
        if (idle && !s->closing) {
            store_job *j = pop_job(s);
            conn_set_state(idle, CONN_BOUND);
            s->running++;
            metrics_hist_add(&s->stats.wait, uv_hrtime() - j->submitted_ns);
            j->begin(&idle->tx, j->arg);
            free(j);
            continue;
        }
        if (!any_hope || s->closing) {
            store_job *j = pop_job(s);
            s->stats.refused++;
            j->begin(NULL, j->arg);
            free(j);
            continue;
        }
        break;
    }
    maybe_finish_close(s);
}

int store_exec(store_tx *tx, const store_stmt *stmt, int nparams, const char *const *params,
               store_result_cb cb, void *arg)
{
    pconn *c = tx->conn;
    if (c->state != CONN_BOUND || !c->pg || !stmt)
        return -1;
    /* Prepared statements are found by name: every table was prepared on this connection. */
    if (!PQsendQueryPrepared(c->pg, stmt->name, nparams, params, NULL, NULL, 0)) {
        log_warn("store %s: connection %d: cannot send query: %s", c->owner->name, c->index,
                 PQerrorMessage(c->pg));
        return -1;
    }
    c->cb = cb;
    c->cb_arg = arg;
    c->sent_ns = uv_hrtime();
    conn_set_state(c, CONN_SENDING);
    int f = PQflush(c->pg);
    if (f < 0) {
        c->cb = NULL;
        conn_set_state(c, CONN_BOUND);
        return -1;
    }
    if (f == 0) {
        conn_set_state(c, CONN_WAITING);
        conn_update_poll(c, UV_READABLE);
    } else {
        conn_update_poll(c, UV_READABLE | UV_WRITABLE);
    }
    return 0;
}

void store_release(store_tx *tx)
{
    pconn *c = tx->conn;
    store *s = c->owner;
    s->running--;
    if (c->state == CONN_BOUND) {
        if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
            /* A job that forgot to end its transaction must not leak it to the next job. */
            log_error("store %s: connection %d released inside a transaction; resetting it",
                      c->owner->name, c->index);
            conn_fail(c, "released inside a transaction");
        } else {
            conn_set_state(c, CONN_IDLE);
        }
    }
    if (s->closing && c->state == CONN_IDLE) {
        conn_drop_poll(c);
        PQfinish(c->pg);
        c->pg = NULL;
        conn_set_state(c, CONN_CLOSED);
    }
    dispatch_jobs(s);
}

const char *store_tx_error(const store_tx *tx)
{
    return tx->conn->pg ? PQerrorMessage(tx->conn->pg) : "connection lost";
}

void store_get_stats(const store *s, store_stats *out)
{
    *out = s->stats;
    out->size = s->nconns;
    out->connected = 0;
    for (int i = 0; i < s->nconns; i++) {
        conn_state st = s->conns[i].state;
        if (st == CONN_IDLE || st == CONN_BOUND || st == CONN_SENDING || st == CONN_WAITING)
            out->connected++;
    }
}

size_t store_busy(const store *s)
{
    return s->running + s->queued;
}

static void on_handle_closed(uv_handle_t *h)
{
    store *s = h->data;
    s->open_handles--;
    maybe_finish_close(s);
}

static void maybe_finish_close(store *s)
{
    if (!s->closing || s->running > 0 || s->head)
        return;
    /* Close idle connections and timers once; then wait for the handles' callbacks. */
    for (int i = 0; i < s->nconns; i++) {
        pconn *c = &s->conns[i];
        if (c->state != CONN_CLOSED) {
            conn_drop_poll(c);
            if (c->pg) {
                PQfinish(c->pg);
                c->pg = NULL;
            }
            conn_set_state(c, CONN_CLOSED);
        }
        if (!uv_is_closing((uv_handle_t *)&c->retry)) {
            c->retry.data = s;
            uv_close((uv_handle_t *)&c->retry, on_handle_closed);
        }
    }
    if (!uv_is_closing((uv_handle_t *)&s->dispatch)) {
        uv_close((uv_handle_t *)&s->dispatch, on_handle_closed);
    }
    if (s->open_handles == 0 && s->close_done) {
        void (*done)(void *) = s->close_done;
        void *arg = s->close_arg;
        s->close_done = NULL;
        free(s->conns);
        free(s->conninfo);
        free(s->session_sql);
        free(s->stmts);
        free(s->name);
        free(s);
        done(arg);
    }
}

void store_close(store *s, void (*done)(void *arg), void *arg)
{
    s->closing = true;
    s->close_done = done;
    s->close_arg = arg;
    dispatch_jobs(s); /* refuses waiting jobs, then closes if nothing runs */
}

char *store_getvalue(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return xstrdup(PQgetvalue(res, row, col));
}

int store_ok(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

const char *store_sqlstate(const PGresult *res)
{
    const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return s ? s : "";
}

void store_set_session(store *s, const char *sql)
{
    free(s->session_sql);
    s->session_sql = xasprintf("%s; %s", STORE_SESSION_SQL, sql);
    s->session_gen++;
}
