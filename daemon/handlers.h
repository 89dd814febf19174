/*
 * handlers: the protocol's dispatch. One table says, for every operation,
 * how its fields are read and where it runs: directly from the daemon's
 * state, or as a job on the store (job.h) whose steps live in the op_*.c
 * file of its group (ops.h). A refused request changes nothing; a write is
 * answered only after it has committed.
 */
#ifndef SF_HANDLERS_H
#define SF_HANDLERS_H

#include "daemon.h"
#include "server.h"
#include "store.h"

/* The operations' statement tables, for store_new (static storage); *n gets how many. */
const store_stmts *handlers_statement_tables(size_t *n);
/* Set up what the handlers need beside the store (the group-commit writer); after store_new. */
void handlers_start(sf_daemon *d);
/* Free what handlers_start made, once the loop has ended. */
void handlers_free(sf_daemon *d);
/* The server's dispatch callback: arg is the sf_daemon. Replies exactly once to req. */
void handlers_dispatch(srv_req *req, void *arg);

#endif
