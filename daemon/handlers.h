/*
 * handlers: what each protocol operation does. A request that touches the
 * database becomes a job on the store: a short chain of queries, each started
 * from the previous one's callback, inside one transaction when it writes.
 * The reply is sent only after COMMIT has succeeded, so an acknowledged event
 * is a committed event; on any failure the transaction is rolled back and the
 * reply says what was wrong, having changed nothing.
 */
#ifndef SF_HANDLERS_H
#define SF_HANDLERS_H

#include <uv.h>

#include "clock.h"
#include "config.h"
#include "server.h"
#include "store.h"
#include "wf.h"

/* Everything a handler needs: passed around instead of globals. */
typedef struct sf_daemon {
    uv_loop_t *loop;
    sf_config cfg;
    sf_clock clock;
    wf_set *workflows; /* owned; read-only after start */
    store *store;      /* owned */
    server *server;    /* owned */
    bool stopping;
} sf_daemon;

/* The table of SQL statements the handlers run, for store_new to prepare (static storage). */
const store_stmt *handlers_statements(size_t *n);
/* The server's dispatch callback: arg is the sf_daemon. Replies exactly once to req. */
void handlers_dispatch(srv_req *req, void *arg);

#endif
