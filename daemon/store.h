/*
 * store: a pool of non-blocking PostgreSQL connections on the libuv loop.
 *
 * Work is submitted as a job; when a connection is free the job's begin
 * callback gets a store_tx bound to that connection and runs statements on it
 * one at a time (store_exec), each answered by a callback, until it calls
 * store_release. A job owns its connection for that whole time. The daemon's
 * SQL is a fixed table of statements that every connection prepares once when
 * it connects, so PostgreSQL does not parse and plan them for every request.
 *
 * libpq runs in non-blocking mode: one uv_poll_t watches each connection's
 * socket, PQflush runs until the query is sent, and results are drained with
 * PQconsumeInput / PQisBusy / PQgetResult, so the loop never waits on the
 * database. A connection that breaks is re-established with back-off; while
 * no connection works, jobs are refused at once rather than left hanging.
 */
#ifndef SF_STORE_H
#define SF_STORE_H

#include <libpq-fe.h>
#include <uv.h>

#include "metrics.h"
#include "util.h"

typedef struct store store;
typedef struct store_tx store_tx;

/* A statement every connection prepares once, when it connects. */
typedef struct store_stmt {
    const char *name; /* the prepared statement's name */
    const char *sql;  /* its text, with $1... parameters */
} store_stmt;

/* One module's table of statements (borrowed by store_new only while it copies it). */
typedef struct store_stmts {
    const store_stmt *stmts;
    size_t n;
} store_stmts;

/*
 * Called when the job gets a connection (tx != NULL), or with tx == NULL when
 * the database is unavailable or the store is closing (then there is nothing
 * to release).
 */
typedef void (*store_begin_cb)(store_tx *tx, void *arg);
/*
 * The result of one query: res is borrowed and cleared after the callback
 * returns. res == NULL means the connection was lost: the statement may or
 * may not have committed, and the job must release tx before returning (the
 * connection is re-established for other jobs). Otherwise the job still owns
 * tx and must execute another statement or release it.
 */
typedef void (*store_result_cb)(store_tx *tx, PGresult *res, void *arg);

/*
 * Create a pool called name (in its log lines) of size connections to
 * conninfo (connecting in the background); each prepares every statement of
 * the ntables tables (copied; their names must be unique) before it takes
 * jobs. Free with store_close.
 */
store *store_new(uv_loop_t *loop, const char *name, const char *conninfo, int size,
                 const store_stmts *tables, size_t ntables);
/*
 * More session SQL every connection runs when it connects (after the
 * timeouts), e.g. "SET sendflow.defs = '...'". Called again (a reload),
 * each open connection runs the new SQL before it takes its next job.
 */
void store_set_session(store *s, const char *sql);
/* Queue a job; begin is called from the loop, never from inside this call. */
void store_submit(store *s, store_begin_cb begin, void *arg);
/*
 * Execute stmt (an entry of one of the tables given to store_new), with text
 * parameters (NULL entries are SQL NULL), on the job's connection; cb
 * receives its result. params need only live until this returns. 0, or -1 if
 * it could not be sent (cb will not be called; the connection is then broken
 * and the job must release it).
 */
int store_exec(store_tx *tx, const store_stmt *stmt, int nparams, const char *const *params,
               store_result_cb cb, void *arg) SF_MUSTCHECK;
/* The job is done with its connection (never inside a transaction). tx is invalid afterwards. */
void store_release(store_tx *tx);
/* The last libpq error message of the job's connection (borrowed, for logs). */
const char *store_tx_error(const store_tx *tx);
/* A pool's figures since it started (/metrics). */
typedef struct store_stats {
    metrics_hist wait;  /* from store_submit until a connection (or a refusal) */
    metrics_hist query; /* from sending a statement until its result */
    uint64_t refused;   /* jobs given no connection (database down, closing) */
    int connected;      /* connections up now */
    int size;           /* connections in the pool */
} store_stats;

/* s's figures, copied into out. */
void store_get_stats(const store *s, store_stats *out);
/* Jobs queued or running. */
size_t store_busy(const store *s);
/*
 * Refuse new jobs (their begin gets NULL), let running ones finish, then
 * close every connection and handle and call done(arg). The store is freed
 * before done is called.
 */
void store_close(store *s, void (*done)(void *arg), void *arg);

/* Copy a result's field as a new string (caller frees), or NULL for SQL NULL. */
char *store_getvalue(const PGresult *res, int row, int col);
/* True when res is a successful command or query result. */
int store_ok(const PGresult *res);
/* The SQLSTATE of a failed result ("23505"), or "" . Borrowed from res. */
const char *store_sqlstate(const PGresult *res);

#endif
