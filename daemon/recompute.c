/*
 * recompute: batched recomputation of open processes (see recompute.h).
 */
#include "recompute.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "evalio.h"
#include "log.h"

enum {
    RC_READ,
    RC_WRITE,
};

static const store_stmt statements[] = {
    /* $1 last id seen, $2 every active process, $3 batch size. */
    {"sf_recompute_read",
     "SELECT p.id::text, p.workflow, c.version::text, to_char(c.dob, 'YYYY-MM-DD'),"
     " json_build_object('started_on', p.started_on, 'attrs', p.attrs),"
     " (SELECT coalesce(json_agg(json_build_object('id', e.id::text, 'type', e.type,"
     "   'on', e.on_date, 'attrs', e.attrs) ORDER BY e.on_date, e.id), '[]'::json)"
     "  FROM events e WHERE e.process_id = p.id"
     "   AND NOT EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = e.id))"
     " FROM processes p JOIN cases c ON c.id = p.case_id"
     " WHERE p.status = 'active' AND p.id > $1::bigint"
     "   AND ($2::boolean OR p.defs IS DISTINCT FROM"
     "        (nullif(current_setting('sendflow.defs', true), '')::jsonb -> p.workflow ->> 'defs'))"
     " ORDER BY p.id LIMIT $3::integer"},
    {"sf_recompute_write", "SELECT sf_recompute($1::jsonb)"},
};

static size_t stmt_base;

const store_stmt *recompute_statements(size_t *n)
{
    *n = sizeof statements / sizeof statements[0];
    return statements;
}

void recompute_set_stmt_base(size_t base)
{
    stmt_base = base;
}

typedef struct waiter {
    recompute_done_cb cb;
    void *arg;
} waiter;

typedef struct recompute {
    sf_daemon *d;
    bool all;
    bool then_all; /* --all was asked while a run of the stale ones was going: run again, all */
    int passes;    /* runs so far: a run that skipped processes goes round again */
    waiter *later; /* the callers of the follow-up --all run */
    size_t nlater;
    char cursor[24]; /* last process id read, as text */
    size_t processes, changed, skipped, failed, batches, nmoved;
    json_t *moved;    /* the first RECOMPUTE_MAX_MOVED moved deadlines */
    json_t *failures; /* processes the engine refused: [{"process", "workflow", "why"}] */
    uint64_t t0;
    waiter *waiters;
    size_t nwaiters;
} recompute;

static void on_connection(store_tx *tx, void *arg);

/* Start the next pass of the same run over the stale processes (or all of them). */
static void restart(recompute *rc, bool all)
{
    rc->all = all;
    rc->passes++;
    snprintf(rc->cursor, sizeof rc->cursor, "0");
    store_submit(rc->d->store, on_connection, rc);
}

static void finish(recompute *rc, const char *why)
{
    sf_daemon *d = rc->d;
    /*
     * A process skipped because its case changed meanwhile was not necessarily
     * recomputed by that change (an event rewrites only its own process): go
     * round again for the stale ones, a few times at most.
     */
    if (!why && rc->skipped && rc->passes < RECOMPUTE_MAX_PASSES && !d->stopping) {
        log_info("recompute: %zu processes skipped (their case changed meanwhile): again",
                 rc->skipped);
        rc->skipped = 0;
        restart(rc, false);
        return;
    }
    d->recompute = NULL;
    uint64_t ms = uv_now(d->loop) - rc->t0;
    json_t *summary = NULL;
    if (!why) {
        summary = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:O,s:b,s:O}", "processes",
                            (json_int_t)rc->processes, "changed", (json_int_t)rc->changed,
                            "skipped", (json_int_t)rc->skipped, "failed", (json_int_t)rc->failed,
                            "batches", (json_int_t)rc->batches, "ms", (json_int_t)ms, "moved",
                            rc->moved, "moved_truncated", rc->nmoved > json_array_size(rc->moved),
                            "failures", rc->failures);
        log_info("recompute: %zu processes in %zu batches (%" PRIu64 " ms): %zu moved deadlines, "
                 "%zu skipped (changed meanwhile), %zu failed",
                 rc->processes, rc->batches, ms, rc->nmoved, rc->skipped, rc->failed);
    } else {
        log_warn("recompute stopped after %zu processes: %s", rc->processes, why);
    }
    for (size_t i = 0; i < rc->nwaiters; i++)
        if (rc->waiters[i].cb)
            rc->waiters[i].cb(summary, why, rc->waiters[i].arg);
    json_decref(summary);
    json_decref(rc->moved);
    json_decref(rc->failures);
    free(rc->waiters);
    waiter *later = rc->later;
    size_t nlater = rc->nlater;
    bool then_all = rc->then_all;
    free(rc);
    /* Asked for every process while this run only took the stale ones: now every one. */
    for (size_t i = 0; then_all && i < nlater; i++)
        recompute_run(d, true, later[i].cb, later[i].arg);
    free(later);
}

static void next_batch(recompute *rc);

static void on_written(store_tx *tx, PGresult *res, void *arg)
{
    recompute *rc = arg;
    if (!res || !store_ok(res)) {
        char why[300];
        snprintf(why, sizeof why, "the database failed writing a batch: %s",
                 res ? PQresultErrorMessage(res) : store_tx_error(tx));
        store_release(tx);
        finish(rc, why);
        return;
    }
    json_t *out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    store_release(tx);
    rc->changed += (size_t)json_integer_value(json_object_get(out, "saved"));
    rc->skipped += (size_t)json_integer_value(json_object_get(out, "skipped"));
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(out, "moved"), i, m)
    {
        rc->nmoved++;
        const char *from = json_string_value(json_object_get(m, "from"));
        const char *to = json_string_value(json_object_get(m, "to"));
        cal_day f, t;
        if (from && to && cal_parse(from, &f) == 0 && cal_parse(to, &t) == 0)
            json_object_set_new(m, "days", json_integer(t - f));
        else
            json_object_set_new(m, "days", json_null());
        if (rc->nmoved <= 50)
            log_info("recompute: %s %s %s %s -> %s", json_string_value(json_object_get(m, "case")),
                     json_string_value(json_object_get(m, "workflow")),
                     json_string_value(json_object_get(m, "deadline")), from ? from : "(none)",
                     to ? to : "(none)");
        if (json_array_size(rc->moved) < RECOMPUTE_MAX_MOVED)
            json_array_append(rc->moved, m);
    }
    json_decref(out);
    next_batch(rc);
}

/* Replay one process under the loaded definitions; its item for sf_recompute, or NULL. */
static json_t *compute_one(recompute *rc, const PGresult *res, int row)
{
    const char *id = PQgetvalue(res, row, 0), *wname = PQgetvalue(res, row, 1);
    const wf_workflow *wf = wf_set_find(rc->d->workflows, wname);
    if (!wf)
        return NULL; /* a workflow this daemon did not load: not ours to judge */
    json_t *proc = json_loads(PQgetvalue(res, row, 4), 0, NULL);
    json_t *events = json_loads(PQgetvalue(res, row, 5), 0, NULL);
    json_t *dob = PQgetisnull(res, row, 3) ? json_null() : json_string(PQgetvalue(res, row, 3));
    eio_input x;
    eio_input_build(rc->d, wf, proc, events, dob, &x);
    eng_result *r = NULL;
    char err[ENG_ERR_LEN];
    json_t *item = NULL;
    if (eng_evaluate(&x.in, &r, err) != 0) {
        rc->failed++;
        log_warn("recompute: process %s (%s) does not replay: %s", id, wname, err);
        json_array_append_new(
            rc->failures, json_pack("{s:s,s:s,s:s}", "process", id, "workflow", wname, "why", err));
    } else {
        item = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "id", id, "case_version",
                         PQgetvalue(res, row, 2), "status", eng_proc_status_name(r->status),
                         "state", r->state, "ended_on", eio_date(r->ended_on), "deadlines",
                         eio_deadlines(rc->d, r));
    }
    eng_result_free(r);
    eio_input_free(&x);
    json_decref(proc);
    json_decref(events);
    json_decref(dob);
    return item;
}

static void on_read(store_tx *tx, PGresult *res, void *arg)
{
    recompute *rc = arg;
    if (!res || !store_ok(res)) {
        char why[300];
        snprintf(why, sizeof why, "the database failed reading a batch: %s",
                 res ? PQresultErrorMessage(res) : store_tx_error(tx));
        store_release(tx);
        finish(rc, why);
        return;
    }
    int n = PQntuples(res);
    if (n == 0) {
        store_release(tx);
        finish(rc, NULL);
        return;
    }
    rc->batches++;
    json_t *items = json_array();
    for (int row = 0; row < n; row++) {
        json_t *item = compute_one(rc, res, row);
        if (item)
            json_array_append_new(items, item);
    }
    rc->processes += (size_t)n;
    snprintf(rc->cursor, sizeof rc->cursor, "%s", PQgetvalue(res, n - 1, 0));
    char *text = json_dumps(items, JSON_COMPACT);
    json_decref(items);
    const char *params[1] = {text};
    int sent = store_exec(tx, stmt_base + RC_WRITE, 1, params, on_written, rc);
    free(text);
    if (sent != 0) {
        store_release(tx);
        finish(rc, "the database connection broke");
    }
}

static void on_connection(store_tx *tx, void *arg)
{
    recompute *rc = arg;
    if (!tx) {
        finish(rc, "the database is unavailable");
        return;
    }
    char limit[16];
    snprintf(limit, sizeof limit, "%d", RECOMPUTE_BATCH);
    const char *params[3] = {rc->cursor, rc->all ? "true" : "false", limit};
    if (store_exec(tx, stmt_base + RC_READ, 3, params, on_read, rc) != 0) {
        store_release(tx);
        finish(rc, "the database connection broke");
    }
}

static void next_batch(recompute *rc)
{
    if (rc->d->stopping) {
        finish(rc, "the daemon is stopping");
        return;
    }
    store_submit(rc->d->store, on_connection, rc);
}

void recompute_run(sf_daemon *d, bool all, recompute_done_cb done, void *arg)
{
    recompute *rc = d->recompute;
    if (!rc) {
        rc = xcalloc(1, sizeof *rc);
        rc->d = d;
        rc->all = all;
        snprintf(rc->cursor, sizeof rc->cursor, "0");
        rc->moved = json_array();
        rc->failures = json_array();
        rc->t0 = uv_now(d->loop);
        d->recompute = rc;
        store_submit(d->store, on_connection, rc);
    }
    if (all && !rc->all) {
        rc->then_all = true;
        rc->later = xrealloc(rc->later, (rc->nlater + 1) * sizeof *rc->later);
        rc->later[rc->nlater++] = (waiter){done, arg};
        return;
    }
    rc->waiters = xrealloc(rc->waiters, (rc->nwaiters + 1) * sizeof *rc->waiters);
    rc->waiters[rc->nwaiters++] = (waiter){done, arg};
}
