/*
 * handlers: what each protocol operation does. A request that touches the
 * database becomes a job on the store: one read statement and, for writes,
 * one write statement (a plpgsql function) that commits as a whole or not at
 * all; concurrent changes to a case are detected by its version and retried.
 * The reply is sent only after the write has committed, so an acknowledged
 * event is a committed event; a refused request changes nothing.
 */
#ifndef SF_HANDLERS_H
#define SF_HANDLERS_H

#include <uv.h>

#include "clock.h"
#include "hol.h"
#include "svc.h"
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
    hol_calendar *cal; /* owned: bank holidays, working days, school terms (workflows/calendars) */
    svc_settings *svc; /* owned: the service's settings (workflows/service.yaml, or defaults) */
    char *defs_json;   /* owned: {"workflow": {"version": N, "defs": "..."}}: what the daemon
                          computes with, set on every connection as sendflow.defs */
    struct recompute *recompute; /* owned: the running recompute, or NULL */
    struct esc_policy *esc;      /* owned: escalation policy (workflows/escalations.yaml) */
    struct chan_config *chan;    /* owned: people, boards and channels (workflows/channels.yaml) */
    struct delivery *delivery;   /* owned: the outbox worker */
    struct scheduler *scheduler; /* owned: the escalation scheduler */
    struct watch *watch;         /* owned: the clients streaming notices (sendflow watch) */
    struct listener *listener;   /* owned: LISTEN for other daemons' changes */
    struct writer *writer;       /* owned: group commit of events (handlers_start) */
    store *store;                /* owned: the clients' requests, recompute, reports */
    store *work_store;           /* owned: the scheduler's and the outbox worker's (--work-pool) */
    server *server;              /* owned */
    bool stopping;
} sf_daemon;

/* The table of SQL statements the handlers run, for store_new to prepare (static storage). */
const store_stmt *handlers_statements(size_t *n);
/* Set up what the handlers need beside the store (the group-commit writer); after store_new. */
void handlers_start(sf_daemon *d);
/* Free what handlers_start made, once the loop has ended. */
void handlers_free(sf_daemon *d);
/* The server's dispatch callback: arg is the sf_daemon. Replies exactly once to req. */
void handlers_dispatch(srv_req *req, void *arg);

#endif
