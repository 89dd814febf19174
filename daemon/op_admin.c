/*
 * op_admin: the operations answered from the daemon's own state (ops.h):
 * ping, the clock, the loaded workflows, and starting a recompute.
 */
#include "audit.h"
#include "ops.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evalio.h"
#include "log.h"
#include "recompute.h"
#include "reload.h"
#include "scheduler.h"
#include "sf_config.h"
#include "transfers.h"

static json_t *clock_reply(sf_daemon *d)
{
    char now[CLOCK_STR_LEN], today[CAL_DATE_LEN];
    return json_pack("{s:s,s:s,s:s,s:s}", "now", clock_now_str(&d->clock, now), "today",
                     cal_format(clock_today(&d->clock), today), "mode",
                     d->clock.simulated ? "simulated" : "real", "zone", "Europe/London");
}

static json_t *workflows_reply(sf_daemon *d)
{
    json_t *list = json_array();
    for (size_t i = 0; i < d->workflows->n; i++) {
        const wf_workflow *w = d->workflows->items[i];
        json_t *states = json_array(), *events = json_array(), *dls = json_array();
        for (size_t k = 0; k < w->nstates; k++)
            json_array_append_new(states, json_string(w->states[k].name));
        for (size_t k = 0; k < w->nevents; k++)
            json_array_append_new(events, json_string(w->events[k].name));
        for (size_t k = 0; k < w->ndeadlines; k++)
            json_array_append_new(dls,
                                  json_pack("{s:s,s:s,s:s}", "name", w->deadlines[k].name, "title",
                                            w->deadlines[k].title, "basis", w->deadlines[k].basis));
        json_array_append_new(list,
                              json_pack("{s:s,s:i,s:s,s:s,s:o,s:o,s:o}", "name", w->name, "version",
                                        w->version, "title", w->title, "file", w->file, "states",
                                        states, "events", events, "deadlines", dls));
    }
    return json_pack("{s:o}", "workflows", list);
}

/* The end of a recompute run asked for over the socket. */
static void recompute_replied(const json_t *summary, const char *why, void *arg)
{
    srv_req *req = arg;
    if (summary)
        srv_reply(req, json_deep_copy(summary));
    else
        srv_reply_error(req, "unavailable", "recompute stopped: %s", why);
}

/*
 * A recompute asked for with "progress": true gets a line {"progress":
 * {"processes", "batches"}} every second while it runs, before its answer:
 * the CLI draws it on a terminal (a run over a million processes takes
 * minutes).
 */
#define RECOMPUTE_PROGRESS_MS 1000

typedef struct progress_feed {
    uv_timer_t timer;
    sf_daemon *d;
    srv_req *req;
    const struct recompute *dry; /* a dry run's (its own run), else NULL: the daemon's run */
} progress_feed;

static void on_progress_tick(uv_timer_t *t)
{
    progress_feed *f = t->data;
    size_t processes = 0, batches = 0;
    if (f->dry)
        recompute_counts(f->dry, &processes, &batches);
    if (f->dry || recompute_progress(f->d, &processes, &batches))
        (void)srv_push(f->req, json_pack("{s:{s:I,s:I}}", "progress", "processes",
                                         (json_int_t)processes, "batches", (json_int_t)batches));
}

static void on_progress_closed(uv_handle_t *h)
{
    free(h->data);
}

/* The end of a recompute run asked for with progress lines: stop them, then answer. */
static void recompute_replied_fed(const json_t *summary, const char *why, void *arg)
{
    progress_feed *f = arg;
    srv_req *req = f->req;
    uv_timer_stop(&f->timer);
    uv_close((uv_handle_t *)&f->timer, on_progress_closed);
    recompute_replied(summary, why, req);
}

void op_ping(sf_daemon *d, srv_req *req)
{
    (void)d;
    /* Who the daemon takes the caller for: the dashboard's sign-in reads the role here. */
    srv_reply(req, json_pack("{s:s,s:s,s:s}", "version", SF_VERSION, "role",
                             access_role_name(req->ident->role), "who", req->ident->who));
}

void op_clock(sf_daemon *d, srv_req *req)
{
    srv_reply(req, clock_reply(d));
}

void op_workflows(sf_daemon *d, srv_req *req)
{
    srv_reply(req, workflows_reply(d));
}

void op_clock_set(sf_daemon *d, srv_req *req)
{
    const char *to = NULL;
    proto_err code;
    sb err = {0};
    if (proto_str(req->msg, "to", true, &to, &code, &err) != 0) {
        srv_reply_error(req, proto_err_code(code), "%s", sb_str(&err));
        sb_free(&err);
        return;
    }
    char now[CLOCK_STR_LEN];
    switch (clock_set(&d->clock, to)) {
    case 0:
        log_info("conn %" PRIu64 ": simulated clock set to %s", req->conn_id, to);
        audit_note(d, req, NULL, NULL, "ok");
        srv_reply(req, clock_reply(d));
        /* Time moved: phase transfers may have opened, escalations fallen due. */
        transfers_sweep(d, NULL);
        scheduler_kick(d);
        return;
    case -1:
        srv_reply_error(req, "clock_real",
                        "the daemon runs on the real clock; start it with --clock "
                        "simulated:YYYY-MM-DDTHH:MM to move time");
        return;
    case -2:
        srv_reply_error(req, "bad_date",
                        "\"to\": \"%s\" is not a real time in the form YYYY-MM-DDTHH:MM", to);
        return;
    default:
        srv_reply_error(req, "clock_backwards",
                        "the simulated clock only moves forward: it is %s, %s is earlier",
                        clock_now_str(&d->clock, now), to);
        return;
    }
}

void op_recompute(sf_daemon *d, srv_req *req)
{
    bool all = false, dry = false, progress = false;
    proto_err code;
    sb err = {0};
    if (proto_bool(req->msg, "all", false, &all, &code, &err) != 0 ||
        proto_bool(req->msg, "dry_run", false, &dry, &code, &err) != 0 ||
        proto_bool(req->msg, "progress", false, &progress, &code, &err) != 0) {
        srv_reply_error(req, proto_err_code(code), "%s", sb_str(&err));
        sb_free(&err);
        return;
    }
    if (d->stopping) {
        srv_reply_error(req, "shutting_down", "the daemon is stopping; nothing was recomputed");
        return;
    }
    log_info("conn %" PRIu64 ": recompute%s%s", req->conn_id, all ? " (all)" : "",
             dry ? " (dry run)" : "");
    if (!dry)
        audit_note(d, req, NULL, NULL, "started"); /* a dry run reads only: not audited */
    if (progress) {
        progress_feed *f = xcalloc(1, sizeof *f);
        f->d = d;
        f->req = req;
        uv_timer_init(d->loop, &f->timer);
        f->timer.data = f;
        uv_timer_start(&f->timer, on_progress_tick, RECOMPUTE_PROGRESS_MS, RECOMPUTE_PROGRESS_MS);
        if (dry)
            f->dry = recompute_dry_run(d, all, recompute_replied_fed, f);
        else
            recompute_run(d, all, recompute_replied_fed, f);
        return;
    }
    if (dry) {
        recompute_dry_run(d, all, recompute_replied, req);
        return;
    }
    recompute_run(d, all, recompute_replied, req);
}

/* The end of a reload asked for over the socket. */
static void reload_replied(const json_t *summary, const char *why, void *arg)
{
    srv_req *req = arg;
    if (summary)
        srv_reply(req, json_deep_copy(summary));
    else if (strcmp(why, "the daemon is stopping") == 0)
        srv_reply_error(req, "shutting_down", "the daemon is stopping; nothing was reloaded");
    else
        srv_reply_error(req, "invalid_definitions", "%s; nothing was reloaded", why);
}

void op_reload(sf_daemon *d, srv_req *req)
{
    if (d->stopping) {
        srv_reply_error(req, "shutting_down", "the daemon is stopping; nothing was reloaded");
        return;
    }
    char by[64];
    snprintf(by, sizeof by, "conn %" PRIu64, req->conn_id);
    audit_note(d, req, NULL, NULL, "started");
    reload_run(d, by, reload_replied, req);
}
