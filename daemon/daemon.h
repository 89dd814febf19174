/*
 * daemon: the daemon's context, everything its modules share. One value of
 * it lives in main and is passed to every module instead of globals.
 */
#ifndef SF_DAEMON_H
#define SF_DAEMON_H

#include <stdbool.h>
#include <uv.h>

#include "access.h"
#include "clock.h"
#include "config.h"
#include "hol.h"
#include "server.h"
#include "store.h"
#include "svc.h"
#include "wf.h"

typedef struct sf_daemon {
    uv_loop_t *loop;
    sf_config cfg;
    sf_clock clock;
    wf_set *workflows; /* owned; replaced as a whole by a reload (reload.h), never changed */
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
    struct op_batches *batches;  /* owned: the ops' batched reads and writes (handlers_start) */
    store *store;                /* owned: the clients' requests, recompute, reports */
    store *work_store;           /* owned: the scheduler's and the outbox worker's (--work-pool) */
    server *server;              /* owned */
    access_map *access;          /* owned: who may connect, with which role (--access) */
    struct bounds *bounds;       /* owned: connection shares, idle timeout, attribute bounds */
    struct reload *reload;       /* owned: a reload running, the definitions it replaced */
    struct metrics *metrics;     /* owned: the counters GET /metrics shows (metrics.h) */
    struct http_server *http;    /* owned: the --http front end (http.h), or NULL */
    bool stopping;
} sf_daemon;

#endif
