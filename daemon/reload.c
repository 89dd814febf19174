/*
 * reload: the definitions read again while the daemon runs (see reload.h).
 */
#include "reload.h"

#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "bounds.h"
#include "defcheck.h"
#include "delivery.h"
#include "evalio.h"
#include "load.h"
#include "log.h"
#include "recompute.h"
#include "scheduler.h"
#include "server.h"
#include "transfers.h"

typedef struct waiter {
    reload_done_cb cb;
    void *arg;
} waiter;

/* One reload: read and checked on a worker thread, then applied on the loop. */
typedef struct attempt {
    uv_work_t work;
    sf_daemon *d;
    char *by;        /* who asked: "SIGHUP", "conn 7 (jb)" */
    load_defs defs;  /* read by the worker: owned until applied */
    access_map *acc; /* the --access file, NULL without one */
    sb notes;        /* the defaults taken, one per line */
    sb err;          /* why the reload is refused */
    waiter *waiters;
    size_t nwaiters;
} attempt;

/* What replaced definitions leave behind: freed at exit. */
typedef struct retired {
    load_defs defs;
    access_map *acc;
} retired;

struct reload {
    attempt *running; /* NULL when none runs */
    waiter *next;     /* asked while one ran: answered by the next run */
    size_t nnext;
    char *next_by;
    retired *retired;
    size_t nretired;
};

static struct reload *state(sf_daemon *d)
{
    if (!d->reload)
        d->reload = xcalloc(1, sizeof *d->reload);
    return d->reload;
}

void reload_stamp_sessions(sf_daemon *d)
{
    free(d->defs_json);
    d->defs_json = eio_defs_json(d);
    sb set = {0};
    sb_add(&set, "SET sendflow.defs = '");
    for (const char *p = d->defs_json; *p; p++)
        sb_addf(&set, "%s%c", *p == '\'' ? "'" : "", *p);
    sb_add(&set, "'");
    store_set_session(d->store, sb_str(&set));
    store_set_session(d->work_store, sb_str(&set));
    sb_free(&set);
}

/* On the worker thread: only the attempt's own fields and d's constant configuration. */
static void read_defs(uv_work_t *w)
{
    attempt *a = w->data;
    const sf_config *cfg = &a->d->cfg;
    if (load_all(cfg->workflows, &a->defs, &a->notes, &a->err) != 0)
        return;
    char err[1024];
    if (cfg->access && access_load(&a->acc, cfg->access, err, sizeof err) != 0) {
        sb_addf(&a->err, "invalid access file: %s", err);
        return;
    }
    if (defcheck_run(cfg->database, a->defs.workflows, err, sizeof err) != 0)
        sb_add(&a->err, err);
}

static void attempt_free(attempt *a)
{
    load_defs_free(&a->defs);
    access_free(a->acc);
    sb_free(&a->notes);
    sb_free(&a->err);
    free(a->waiters);
    free(a->by);
    free(a);
}

static void start(sf_daemon *d, char *by, waiter *waiters, size_t nwaiters);

/* Answer a's waiters, free it, and run the reload asked for meanwhile. */
static void finish(attempt *a, const json_t *summary, const char *why)
{
    sf_daemon *d = a->d;
    struct reload *r = state(d);
    r->running = NULL;
    for (size_t i = 0; i < a->nwaiters; i++)
        if (a->waiters[i].cb)
            a->waiters[i].cb(summary, why, a->waiters[i].arg);
    attempt_free(a);
    if (!r->next_by)
        return;
    char *by = r->next_by;
    waiter *w = r->next;
    size_t n = r->nnext;
    r->next_by = NULL;
    r->next = NULL;
    r->nnext = 0;
    if (!d->stopping) {
        start(d, by, w, n);
        return;
    }
    /* Asked for meanwhile, but the daemon is stopping: answered, not left waiting. */
    for (size_t i = 0; i < n; i++)
        if (w[i].cb)
            w[i].cb(NULL, "the daemon is stopping", w[i].arg);
    free(w);
    free(by);
}

/* A recompute that ran while the definitions changed took some processes under the old ones. */
static void recompute_again(const json_t *summary, const char *why, void *arg)
{
    (void)summary;
    (void)why;
    sf_daemon *d = arg;
    if (!d->stopping)
        recompute_run(d, false, NULL, NULL);
}

/* The reload's summary (new ref): old_json is the definitions stamp before it. */
static json_t *summary_of(sf_daemon *d, const char *old_json, const char *notes)
{
    json_t *old = json_loads(old_json ? old_json : "{}", 0, NULL);
    json_t *list = json_array(), *changed = json_array();
    for (size_t i = 0; i < d->workflows->n; i++) {
        const wf_workflow *wf = d->workflows->items[i];
        char *defs = eio_defs(d, wf);
        const char *was =
            json_string_value(json_object_get(json_object_get(old, wf->name), "defs"));
        bool moved = !was || strcmp(was, defs) != 0;
        free(defs);
        json_array_append_new(list, json_pack("{s:s,s:i,s:b}", "name", wf->name, "version",
                                              wf->version, "changed", moved));
        if (moved)
            json_array_append_new(changed, json_string(wf->name));
    }
    json_decref(old);
    json_t *note_list = json_array();
    for (const char *p = notes; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n)
            json_array_append_new(note_list, json_stringn(p, n));
        p += n + (nl ? 1 : 0);
    }
    json_t *policy = d->esc && d->esc->file
                         ? json_pack("{s:s,s:i}", "file", d->esc->file, "version", d->esc->version)
                         : json_null();
    return json_pack("{s:o,s:o,s:s,s:o,s:s,s:I,s:o}", "workflows", list, "changed", changed,
                     "calendar", hol_version(d->cal), "escalation_policy", policy, "channels",
                     d->chan && d->chan->file ? d->chan->file : "(none)", "access_users",
                     (json_int_t)(d->access ? access_users(d->access) : 0), "notes", note_list);
}

/* Back on the loop: put the new definitions in use, or refuse them. */
static void apply(uv_work_t *w, int status)
{
    attempt *a = w->data;
    sf_daemon *d = a->d;
    if (status != 0 && !a->err.len)
        sb_addf(&a->err, "the reload was cancelled: %s", uv_strerror(status));
    if (d->stopping && !a->err.len)
        sb_add(&a->err, "the daemon is stopping");
    char err[1024];
    if (!a->err.len &&
        bounds_set_case_keys(d->bounds, &d->cfg, a->defs.esc, a->defs.svc, err, sizeof err) != 0)
        sb_add(&a->err, err);
    if (!a->err.len && delivery_use_channels(d, a->defs.chan, err, sizeof err) != 0) {
        sb_addf(&a->err, "invalid channels: %s", err);
        /* Back to the keys of the definitions that stay (cannot fail: they were accepted). */
        if (bounds_set_case_keys(d->bounds, &d->cfg, d->esc, d->svc, err, sizeof err) != 0)
            log_error("reload: %s", err);
    }
    if (a->err.len) {
        log_error("reload (%s) refused, the running definitions stay: %s", a->by, sb_str(&a->err));
        finish(a, NULL, sb_str(&a->err));
        return;
    }
    struct reload *r = state(d);
    r->retired = xrealloc(r->retired, (r->nretired + 1) * sizeof *r->retired);
    r->retired[r->nretired++] = (retired){
        .defs = {d->workflows, d->cal, d->svc, d->esc, d->chan},
        .acc = a->acc ? d->access : NULL,
    };
    d->workflows = a->defs.workflows;
    d->cal = a->defs.cal;
    d->svc = a->defs.svc;
    d->esc = a->defs.esc;
    d->chan = a->defs.chan;
    memset(&a->defs, 0, sizeof a->defs);
    if (a->acc) {
        d->access = a->acc;
        a->acc = NULL;
        server_set_access(d->server, d->access);
    }
    char *old_json = d->defs_json;
    d->defs_json = NULL;
    reload_stamp_sessions(d);
    json_t *summary = summary_of(d, old_json, sb_str(&a->notes));
    free(old_json);
    char *line = json_dumps(json_object_get(summary, "changed"), JSON_COMPACT);
    log_info("reload (%s): definitions in use (workflows changed: %s; calendar %s)", a->by, line,
             hol_version(d->cal));
    free(line);
    /* As at start: processes computed under other definitions, transfers, escalations. */
    if (d->recompute)
        recompute_run(d, false, recompute_again, d);
    else
        recompute_run(d, false, NULL, NULL);
    transfers_sweep(d, NULL);
    scheduler_reroute(d);
    finish(a, summary, NULL);
    json_decref(summary);
}

static void start(sf_daemon *d, char *by, waiter *waiters, size_t nwaiters)
{
    attempt *a = xcalloc(1, sizeof *a);
    a->d = d;
    a->by = by;
    a->waiters = waiters;
    a->nwaiters = nwaiters;
    a->work.data = a;
    state(d)->running = a;
    log_info("reload (%s): reading %s", by, d->cfg.workflows);
    int rc = uv_queue_work(d->loop, &a->work, read_defs, apply);
    if (rc != 0) {
        sb_addf(&a->err, "cannot start the reload: %s", uv_strerror(rc));
        finish(a, NULL, sb_str(&a->err));
    }
}

void reload_run(sf_daemon *d, const char *by, reload_done_cb done, void *arg)
{
    struct reload *r = state(d);
    if (d->stopping) {
        if (done)
            done(NULL, "the daemon is stopping", arg);
        return;
    }
    if (r->running) {
        r->next = xrealloc(r->next, (r->nnext + 1) * sizeof *r->next);
        r->next[r->nnext++] = (waiter){done, arg};
        if (!r->next_by)
            r->next_by = xstrdup(by);
        return;
    }
    waiter *w = xcalloc(1, sizeof *w);
    w[0] = (waiter){done, arg};
    start(d, xstrdup(by), w, 1);
}

void reload_free(sf_daemon *d)
{
    struct reload *r = d->reload;
    if (!r)
        return;
    for (size_t i = 0; i < r->nretired; i++) {
        load_defs_free(&r->retired[i].defs);
        access_free(r->retired[i].acc);
    }
    free(r->retired);
    free(r->next);
    free(r->next_by);
    free(r);
    d->reload = NULL;
}
