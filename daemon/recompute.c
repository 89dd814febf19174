/*
 * recompute: batched recomputation of open processes (see recompute.h).
 */
#include "recompute.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "evalio.h"
#include "log.h"

enum {
    RC_READ,
    RC_WRITE,
};

static const store_stmt statements[] = {
    /* $1 last id seen, $2 every active process, $3 batch size. Each process comes with its
     * stored deadlines ({name: [sig, due]}): the daemon writes only what changed and
     * says which deadlines moved. */
    {"sf_recompute_read",
     "SELECT p.id::text, p.workflow, c.version::text, to_char(c.dob, 'YYYY-MM-DD'),"
     " json_build_object('started_on', p.started_on, 'attrs', p.attrs),"
     " (SELECT coalesce(json_agg(json_build_object('id', e.id::text, 'type', e.type,"
     "   'on', e.on_date, 'attrs', e.attrs) ORDER BY e.on_date, e.id), '[]'::json)"
     "  FROM events e WHERE e.process_id = p.id"
     "   AND NOT EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = e.id)),"
     " c.id::text, c.ref,"
     " (SELECT coalesce(json_object_agg(d.name, json_build_array(d.sig, d.due)), '{}'::json)"
     "  FROM deadlines d WHERE d.process_id = p.id),"
     " p.status, p.state, to_char(p.ended_on, 'YYYY-MM-DD')"
     " FROM processes p JOIN cases c ON c.id = p.case_id"
     " WHERE p.status = 'active' AND p.id > $1::bigint"
     "   AND ($2::boolean OR p.defs IS DISTINCT FROM"
     "        (nullif(current_setting('sendflow.defs', true), '')::jsonb -> p.workflow ->> 'defs'))"
     " ORDER BY p.id LIMIT $3::integer"},
    {"sf_recompute_write", "SELECT sf_recompute_batch($1::jsonb, $2::boolean)"},
};

/* The columns of sf_recompute_read. */
enum {
    COL_ID,
    COL_WORKFLOW,
    COL_CASE_VERSION,
    COL_DOB,
    COL_PROCESS,
    COL_EVENTS,
    COL_CASE_ID,
    COL_CASE_REF,
    COL_STORED,
    COL_STATUS,
    COL_STATE,
    COL_ENDED,
};

const store_stmt *recompute_statements(size_t *n)
{
    *n = sizeof statements / sizeof statements[0];
    return statements;
}

typedef struct waiter {
    recompute_done_cb cb;
    void *arg;
} waiter;

/*
 * A run is a pipeline: while batches are being written, the next is read
 * (on another connection) and computed, so the database and the engine work
 * side by side. At most one read and RECOMPUTE_WRITES writes are in flight.
 */
typedef struct recompute {
    sf_daemon *d;
    bool dry; /* a dry run: compute and report, write nothing (not d->recompute) */
    bool all;
    bool then_all; /* --all was asked while a run of the stale ones was going: run again, all */
    int passes;    /* runs so far: a run that skipped processes goes round again */
    waiter *later; /* the callers of the follow-up --all run */
    size_t nlater;
    char cursor[24]; /* last process id read, as text */
    bool reading;    /* a read is in flight */
    bool read_all;   /* the last read came back empty: nothing left to read */
    int writing;     /* writes in flight */
    json_t *ready;   /* a computed batch waiting for the write in flight (new ref), or NULL */
    json_t *ready_moved;
    char *failed_why; /* the first database failure: the run stops once nothing is in flight */
    size_t processes, changed, unchanged, skipped, failed, batches, nmoved;
    json_t *moved;    /* the first RECOMPUTE_MAX_MOVED moved deadlines */
    json_t *failures; /* processes the engine refused: [{"process", "workflow", "why"}] */
    uint64_t t0, last_progress;
    waiter *waiters;
    size_t nwaiters;
} recompute;

/* One batch's write: its moved deadlines are counted once the write says who was skipped. */
typedef struct rc_write {
    recompute *rc;
    json_t *items; /* new ref: the items for sf_recompute_batch */
    json_t
        *moved; /* new ref: [{"case", "process", "workflow", "deadline", "from", "to", "days"}] */
    size_t n;   /* items */
} rc_write;

static void pump(recompute *rc);

/* Start the next pass of the same run over the stale processes (or all of them). */
static void restart(recompute *rc, bool all)
{
    rc->all = all;
    rc->passes++;
    rc->read_all = false;
    snprintf(rc->cursor, sizeof rc->cursor, "0");
    pump(rc);
}

static void finish(recompute *rc, const char *why)
{
    sf_daemon *d = rc->d;
    /*
     * A process skipped because its case changed meanwhile was not necessarily
     * recomputed by that change (an event rewrites only its own process): go
     * round again for the stale ones, a few times at most.
     */
    if (!why && !rc->dry && rc->skipped && rc->passes < RECOMPUTE_MAX_PASSES && !d->stopping) {
        log_info("recompute: %zu processes skipped (their case changed meanwhile): again",
                 rc->skipped);
        rc->skipped = 0;
        restart(rc, false);
        return;
    }
    if (!rc->dry)
        d->recompute = NULL;
    uint64_t ms = uv_now(d->loop) - rc->t0;
    json_t *summary = NULL;
    if (!why) {
        summary = json_pack(
            "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:O,s:b,s:O,s:b}", "processes", (json_int_t)rc->processes,
            "changed", (json_int_t)rc->changed, "unchanged", (json_int_t)rc->unchanged, "skipped",
            (json_int_t)rc->skipped, "failed", (json_int_t)rc->failed, "batches",
            (json_int_t)rc->batches, "ms", (json_int_t)ms, "moved", rc->moved, "moved_truncated",
            rc->nmoved > json_array_size(rc->moved), "failures", rc->failures, "dry_run", rc->dry);
        log_info("recompute%s: %zu processes in %zu batches (%" PRIu64 " ms), %.0f/s: %zu %s "
                 "(%zu with nothing to rewrite but their stamp), %zu moved deadlines, %zu skipped "
                 "(changed meanwhile), %zu failed",
                 rc->dry ? " (dry run)" : "", rc->processes, rc->batches, ms,
                 ms ? (double)rc->processes * 1000.0 / (double)ms : 0.0, rc->changed,
                 rc->dry ? "would be saved" : "saved", rc->unchanged, rc->nmoved, rc->skipped,
                 rc->failed);
    } else {
        log_warn("recompute stopped after %zu processes: %s", rc->processes, why);
    }
    for (size_t i = 0; i < rc->nwaiters; i++)
        if (rc->waiters[i].cb)
            rc->waiters[i].cb(summary, why, rc->waiters[i].arg);
    json_decref(summary);
    json_decref(rc->moved);
    json_decref(rc->failures);
    json_decref(rc->ready);
    json_decref(rc->ready_moved);
    free(rc->failed_why);
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

/* Remember the first failure; the run ends when nothing is in flight any more. */
static void fail(recompute *rc, const char *why)
{
    if (!rc->failed_why)
        rc->failed_why = xstrdup(why);
}

/*
 * A write that met another transaction's locks (a deadlock, a lock wait past
 * lock_timeout, a serialization failure): nothing of it was written, and
 * trying its processes again is the answer, not failing the run.
 */
static bool is_conflict(const char *sqlstate)
{
    return !strcmp(sqlstate, "40P01") || !strcmp(sqlstate, "40001") || !strcmp(sqlstate, "55P03");
}

static void on_written(store_tx *tx, PGresult *res, void *arg)
{
    rc_write *w = arg;
    recompute *rc = w->rc;
    rc->writing--;
    if (res && !store_ok(res) && is_conflict(store_sqlstate(res))) {
        /* Rolled back whole: the pass goes round again for its processes. */
        log_info("recompute: a batch of %zu met another writer (%s): again", w->n,
                 store_sqlstate(res));
        store_release(tx);
        rc->skipped += w->n;
    } else if (!res || !store_ok(res)) {
        char why[300];
        snprintf(why, sizeof why, "the database failed writing a batch: %s",
                 res ? PQresultErrorMessage(res) : store_tx_error(tx));
        store_release(tx);
        fail(rc, why);
    } else {
        json_t *out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
        store_release(tx);
        json_t *skipped = json_object_get(out, "skipped");
        rc->changed += (size_t)json_integer_value(json_object_get(out, "saved"));
        rc->skipped += json_array_size(skipped);
        size_t i, k;
        json_t *m, *sk;
        json_array_foreach(w->moved, i, m)
        {
            const char *pid = json_string_value(json_object_get(m, "process"));
            bool was_skipped = false;
            json_array_foreach(skipped, k, sk) was_skipped |= !strcmp(json_string_value(sk), pid);
            if (was_skipped)
                continue;
            rc->nmoved++;
            if (rc->nmoved <= 50)
                log_info("recompute: %s %s %s %s -> %s",
                         json_string_value(json_object_get(m, "case")),
                         json_string_value(json_object_get(m, "workflow")),
                         json_string_value(json_object_get(m, "deadline")),
                         json_is_string(json_object_get(m, "from"))
                             ? json_string_value(json_object_get(m, "from"))
                             : "(none)",
                         json_is_string(json_object_get(m, "to"))
                             ? json_string_value(json_object_get(m, "to"))
                             : "(none)");
            if (json_array_size(rc->moved) < RECOMPUTE_MAX_MOVED)
                json_array_append(rc->moved, m);
        }
        json_decref(out);
    }
    json_decref(w->moved);
    free(w);
    pump(rc);
}

/*
 * The escalation levels of deadline dl (as computed: its "escalate" levels,
 * only while it is an open duty) whose day has come by today under its new
 * date but had not under its old one (from, or none: a new deadline): they
 * fire at the scheduler's next look (or would, after a dry run). The
 * superseded rule still holds: of several, only the latest is sent. A new
 * JSON array of level names.
 */
static json_t *levels_due(const recompute *rc, const char *name, const json_t *dl, const char *from)
{
    json_t *due = json_array();
    cal_day today = clock_today(&rc->d->clock), old_due = CAL_NONE;
    esc_fire before[ESC_MAX_LEVELS];
    size_t nbefore = 0;
    if (from && cal_parse(from, &old_due) == 0 && rc->d->esc)
        nbefore = esc_plan(rc->d->esc, rc->d->cal, name, old_due, before, ESC_MAX_LEVELS);
    size_t i;
    const json_t *lv;
    json_array_foreach(json_object_get(dl, "escalate"), i, lv)
    {
        const char *level = json_string_value(json_object_get(lv, "level"));
        cal_day on = eio_json_date(json_object_get(lv, "fire_on"));
        if (!level || on == CAL_NONE || on > today)
            continue;
        bool had_come = false;
        for (size_t k = 0; k < nbefore; k++)
            if (!strcmp(before[k].level, level) && before[k].fire_on <= today)
                had_come = true;
        if (!had_come)
            json_array_append_new(due, json_string(level));
    }
    return due;
}

/*
 * The deadlines that moved between what was stored (stored: {name: [sig, due]})
 * and what was computed (dls), appended to moved: every deadline whose due date
 * changed, appeared or disappeared, with the escalation levels the move brings
 * due (levels_due).
 */
static void add_moved(const recompute *rc, json_t *moved, const PGresult *res, int row,
                      json_t *stored, json_t *dls)
{
    json_t *after = json_object(), *by_name = json_object();
    size_t i;
    json_t *dl;
    json_array_foreach(dls, i, dl)
    {
        const char *n = json_string_value(json_object_get(dl, "name"));
        json_object_set(after, n, json_object_get(dl, "due"));
        json_object_set(by_name, n, dl);
    }
    json_t *names = json_object();
    const char *name;
    json_t *v;
    json_object_foreach(stored, name, v) json_object_set_new(names, name, json_true());
    json_object_foreach(after, name, v) json_object_set_new(names, name, json_true());
    json_object_foreach(names, name, v)
    {
        json_t *from = json_array_get(json_object_get(stored, name), 1);
        json_t *to = json_object_get(after, name);
        const char *fs = json_string_value(from), *ts = json_string_value(to);
        if ((!fs && !ts) || (fs && ts && !strcmp(fs, ts)))
            continue;
        cal_day f, t;
        json_t *days = fs && ts && cal_parse(fs, &f) == 0 && cal_parse(ts, &t) == 0
                           ? json_integer(t - f)
                           : json_null();
        json_t *now = json_object_get(by_name, name);
        json_array_append_new(moved, json_pack("{s:s,s:s,s:s,s:s,s:O,s:O,s:o,s:o}", "case",
                                               PQgetvalue(res, row, COL_CASE_REF), "process",
                                               PQgetvalue(res, row, COL_ID), "workflow",
                                               PQgetvalue(res, row, COL_WORKFLOW), "deadline", name,
                                               "from", from ? from : json_null(), "to",
                                               to ? to : json_null(), "days", days, "levels_due",
                                               now ? levels_due(rc, name, now, fs) : json_array()));
    }
    json_decref(names);
    json_decref(after);
    json_decref(by_name);
}

/*
 * Replay one process under the loaded definitions; its item for
 * sf_recompute_batch (only the deadline rows that changed), or NULL. Appends
 * its moved deadlines to moved; counts an unchanged process.
 */
static json_t *compute_one(recompute *rc, const PGresult *res, int row, json_t *moved)
{
    const char *id = PQgetvalue(res, row, COL_ID), *wname = PQgetvalue(res, row, COL_WORKFLOW);
    const wf_workflow *wf = wf_set_find(rc->d->workflows, wname);
    if (!wf)
        return NULL; /* a workflow this daemon did not load: not ours to judge */
    json_t *proc = json_loads(PQgetvalue(res, row, COL_PROCESS), 0, NULL);
    json_t *events = json_loads(PQgetvalue(res, row, COL_EVENTS), 0, NULL);
    json_t *stored = json_loads(PQgetvalue(res, row, COL_STORED), 0, NULL);
    json_t *dob =
        PQgetisnull(res, row, COL_DOB) ? json_null() : json_string(PQgetvalue(res, row, COL_DOB));
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
        json_t *sigs = json_object();
        const char *name;
        json_t *v;
        json_object_foreach(stored, name, v) json_object_set(sigs, name, json_array_get(v, 0));
        json_t *dls = eio_deadlines(rc->d, r);
        json_t *gone = NULL;
        json_t *changed = eio_deadlines_changed(dls, sigs, &gone);
        char ended[CAL_DATE_LEN];
        const char *status = eng_proc_status_name(r->status);
        bool same_process = !strcmp(PQgetvalue(res, row, COL_STATUS), status) &&
                            !strcmp(PQgetvalue(res, row, COL_STATE), r->state) &&
                            !strcmp(PQgetvalue(res, row, COL_ENDED),
                                    r->ended_on == CAL_NONE ? "" : cal_format(r->ended_on, ended));
        if (same_process && json_array_size(changed) == 0 && json_array_size(gone) == 0)
            rc->unchanged++;
        add_moved(rc, moved, res, row, stored, dls);
        item =
            json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o}", "id", id, "case",
                      PQgetvalue(res, row, COL_CASE_ID), "case_version",
                      PQgetvalue(res, row, COL_CASE_VERSION), "status", status, "state", r->state,
                      "ended_on", eio_date(r->ended_on), "deadlines", changed, "gone", gone);
        json_decref(dls);
        json_decref(sigs);
    }
    eng_result_free(r);
    eio_input_free(&x);
    json_decref(proc);
    json_decref(events);
    json_decref(stored);
    json_decref(dob);
    return item;
}

static void on_write_connection(store_tx *tx, void *arg)
{
    rc_write *w = arg;
    recompute *rc = w->rc;
    if (!tx) {
        rc->writing--;
        fail(rc, "the database is unavailable");
        json_decref(w->items);
        json_decref(w->moved);
        free(w);
        pump(rc);
        return;
    }
    char *text = json_dumps(w->items, JSON_COMPACT);
    json_decref(w->items);
    w->items = NULL;
    bool plan = rc->d->esc && rc->d->esc->nlevels > 0;
    const char *params[2] = {text, plan ? "true" : "false"};
    int sent = store_exec(tx, &statements[RC_WRITE], 2, params, on_written, w);
    free(text);
    if (sent != 0)
        on_written(tx, NULL, w);
}

static void on_read(store_tx *tx, PGresult *res, void *arg)
{
    recompute *rc = arg;
    rc->reading = false;
    if (!res || !store_ok(res)) {
        char why[300];
        snprintf(why, sizeof why, "the database failed reading a batch: %s",
                 res ? PQresultErrorMessage(res) : store_tx_error(tx));
        store_release(tx);
        fail(rc, why);
        pump(rc);
        return;
    }
    int n = PQntuples(res);
    if (n == 0) {
        store_release(tx);
        rc->read_all = true;
        pump(rc);
        return;
    }
    rc->batches++;
    json_t *items = json_array();
    json_t *moved = json_array();
    for (int row = 0; row < n; row++) {
        json_t *item = compute_one(rc, res, row, moved);
        if (item)
            json_array_append_new(items, item);
    }
    rc->processes += (size_t)n;
    snprintf(rc->cursor, sizeof rc->cursor, "%s", PQgetvalue(res, n - 1, COL_ID));
    store_release(tx);
    rc->ready = items;
    rc->ready_moved = moved;
    uint64_t now = uv_now(rc->d->loop);
    if (now - rc->last_progress >= 5000) {
        rc->last_progress = now;
        log_info("recompute: %zu processes so far (%.0f/s), %zu unchanged", rc->processes,
                 now > rc->t0 ? (double)rc->processes * 1000.0 / (double)(now - rc->t0) : 0.0,
                 rc->unchanged);
    }
    pump(rc);
}

static void on_read_connection(store_tx *tx, void *arg)
{
    recompute *rc = arg;
    if (!tx) {
        rc->reading = false;
        fail(rc, "the database is unavailable");
        pump(rc);
        return;
    }
    char limit[16];
    snprintf(limit, sizeof limit, "%d", RECOMPUTE_BATCH);
    const char *params[3] = {rc->cursor, rc->all ? "true" : "false", limit};
    if (store_exec(tx, &statements[RC_READ], 3, params, on_read, rc) != 0) {
        store_release(tx);
        rc->reading = false;
        fail(rc, "the database connection broke");
        pump(rc);
    }
}

/*
 * Move the pipeline on: write the computed batch while fewer than
 * RECOMPUTE_WRITES are in flight, read the next while there is room for it,
 * finish when nothing is left.
 */
static void pump(recompute *rc)
{
    if (rc->d->stopping)
        fail(rc, "the daemon is stopping");
    if (rc->failed_why) {
        json_decref(rc->ready);
        rc->ready = NULL;
        json_decref(rc->ready_moved);
        rc->ready_moved = NULL;
        if (!rc->reading && !rc->writing) {
            char why[300];
            snprintf(why, sizeof why, "%s", rc->failed_why);
            finish(rc, why);
        }
        return;
    }
    if (rc->ready && rc->dry) {
        /* Nothing is written: what would have been saved and moved is counted as it is. */
        rc->changed += json_array_size(rc->ready);
        size_t i;
        json_t *m;
        json_array_foreach(rc->ready_moved, i, m)
        {
            rc->nmoved++;
            if (json_array_size(rc->moved) < RECOMPUTE_MAX_MOVED)
                json_array_append(rc->moved, m);
        }
        json_decref(rc->ready);
        json_decref(rc->ready_moved);
        rc->ready = rc->ready_moved = NULL;
    }
    if (rc->ready && rc->writing < RECOMPUTE_WRITES) {
        rc_write *w = xcalloc(1, sizeof *w);
        w->rc = rc;
        w->items = rc->ready;
        w->moved = rc->ready_moved;
        w->n = json_array_size(w->items);
        rc->ready = NULL;
        rc->ready_moved = NULL;
        rc->writing++;
        store_submit(rc->d->store, on_write_connection, w);
    }
    if (!rc->ready && !rc->reading && !rc->read_all) {
        rc->reading = true;
        store_submit(rc->d->store, on_read_connection, rc);
    }
    if (rc->read_all && !rc->ready && !rc->reading && !rc->writing)
        finish(rc, NULL);
}

/* A new run (its pipeline not yet started). */
static recompute *run_new(sf_daemon *d, bool all, bool dry)
{
    recompute *rc = xcalloc(1, sizeof *rc);
    rc->d = d;
    rc->all = all;
    rc->dry = dry;
    snprintf(rc->cursor, sizeof rc->cursor, "0");
    rc->moved = json_array();
    rc->failures = json_array();
    rc->t0 = rc->last_progress = uv_now(d->loop);
    return rc;
}

const recompute *recompute_dry_run(sf_daemon *d, bool all, recompute_done_cb done, void *arg)
{
    recompute *rc = run_new(d, all, true);
    rc->waiters = xcalloc(1, sizeof *rc->waiters);
    rc->waiters[rc->nwaiters++] = (waiter){done, arg};
    pump(rc);
    return rc;
}

void recompute_counts(const recompute *rc, size_t *processes, size_t *batches)
{
    *processes = rc->processes;
    *batches = rc->batches;
}

void recompute_run(sf_daemon *d, bool all, recompute_done_cb done, void *arg)
{
    recompute *rc = d->recompute;
    if (!rc) {
        rc = run_new(d, all, false);
        d->recompute = rc;
        pump(rc);
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

bool recompute_progress(const sf_daemon *d, size_t *processes, size_t *batches)
{
    const recompute *rc = d->recompute;
    *processes = rc ? rc->processes : 0;
    *batches = rc ? rc->batches : 0;
    return rc != NULL;
}
