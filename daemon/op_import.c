/*
 * op_import: import (ops.h), a chunk of a caseload import, checked whole and
 * written whole or not at all.
 *
 * A request carries the rows of whole cases (the CLI cuts a file into chunks
 * of whole cases, so a chunk is never one case's half): each row one fact,
 * with the line of the file it came from. The daemon reads what the database
 * already holds of those cases (one statement), then replays each case's
 * rows in date order through the pure engine, as if each had been posted by
 * hand on the day: case first, then starts and events, with the follow-on
 * processes the events start. Every row at fault is reported as
 * {"line", "reason"}; with any, or with "dry_run", nothing is written and
 * the reply says what would have been done. Otherwise the computed cases,
 * processes, events and deadlines go to the database in one statement
 * (sf_import_cases: one transaction), with the audit rows; the escalation
 * levels whose day passed before today are recorded as fired and superseded
 * (historical: nobody told), so each open deadline sends only its current
 * level.
 *
 * Idempotent: a case the database holds already, with every fact of its
 * rows (by idempotency key: a row's "key", else one derived from the row),
 * is left as it is; a case it holds with other facts is refused (an import
 * adds whole new cases; further facts go through start and event).
 */
#include "ops.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "bounds.h"
#include "evalio.h"
#include "log.h"
#include "scheduler.h"
#include "transfers.h"

static const store_stmt statements[] = {
    /* For each ref the database has: the idempotency keys of its processes and events. */
    {"sf_import_read",
     "SELECT coalesce(json_object_agg(c.ref, json_build_object('keys', (SELECT"
     " coalesce(json_agg(k.key), '[]'::json) FROM (SELECT idem_key AS key FROM processes"
     " WHERE case_id = c.id AND idem_key IS NOT NULL UNION ALL SELECT idem_key FROM events"
     " WHERE case_id = c.id AND idem_key IS NOT NULL) k))), '{}'::json)"
     " FROM cases c WHERE c.ref IN (SELECT jsonb_array_elements_text($1::jsonb))"},
    {"sf_import_write", "SELECT sf_import_cases($1::jsonb)"},
};

const store_stmts op_import_statements = {statements, sizeof statements / sizeof statements[0]};

typedef enum im_kind { IM_CASE, IM_START, IM_EVENT } im_kind;

/* One row of the request, read and checked. Strings borrowed from the request. */
typedef struct im_row {
    int line;
    im_kind kind;
    const char *case_ref, *what, *key, *officer, *team;
    const wf_workflow *wf; /* IM_START */
    cal_day on, dob;
    bool has_dob;
    wf_kv *attrs; /* owned array */
    size_t nattrs;
    char derived[48]; /* the key when the row gives none */
    bool bad;         /* already reported */
} im_row;

/* A process of the case being replayed. */
typedef struct im_proc {
    const wf_workflow *wf;
    cal_day started;
    const wf_kv *attrs; /* borrowed (the row's, or the workflow's start attributes) */
    size_t nattrs;
    const char *key;
    int line;              /* its start row; 0 for a follow-on process */
    int parent, parent_ev; /* the process and event that started it, or -1 */
    eng_event *ev;         /* owned array */
    size_t nev;
    eng_result *res; /* owned: the last evaluation */
} im_proc;

typedef struct im_state {
    im_row *rows; /* owned */
    size_t nrows;
    size_t *order; /* owned: row indices by case, then case row first, date, line */
    size_t nkept;  /* rows in order: those read without fault, of cases without one */
    bool dry;
    json_t *errors; /* [{"line", "reason"}] (owned) */
    json_t *doc;    /* the write: {"cases", "processes", "events", "deadlines", "levels",
                       "audit"}, flat rows naming each other by index "k" (owned) */
    json_t *stored; /* ref -> {"keys"} of the cases the database has (owned) */
    json_int_t n_new, n_unchanged, n_procs, n_events, n_dob;
    sf_daemon *yielding; /* the daemon whose scheduler holds back for this chunk, or NULL */
} im_state;

static void im_state_free(void *arg)
{
    im_state *s = arg;
    if (s->yielding)
        scheduler_import_end(s->yielding);
    for (size_t i = 0; i < s->nrows; i++)
        free(s->rows[i].attrs);
    free(s->rows);
    free(s->order);
    json_decref(s->errors);
    json_decref(s->doc);
    json_decref(s->stored);
    free(s);
}

static void SF_PRINTF(3, 4) im_error(im_state *s, int line, const char *fmt, ...)
{
    sb m = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&m, fmt, ap);
    va_end(ap);
    json_array_append_new(s->errors, json_pack("{s:i,s:s}", "line", line, "reason", sb_str(&m)));
    sb_free(&m);
}

/* The key a row without one gets: its kind, date and an FNV-1a hash of what and attrs. */
static void derive_key(im_row *r)
{
    char *attrs = eio_attrs_text(r->attrs, r->nattrs);
    char on[CAL_DATE_LEN];
    sb text = {0};
    sb_addf(&text, "%s|%s|%s", r->what, cal_format(r->on, on), attrs);
    free(attrs);
    uint64_t h = sf_fnv1a64(sb_str(&text));
    sb_free(&text);
    snprintf(r->derived, sizeof r->derived, "import:%s:%016" PRIx64, on, h);
    r->key = r->derived;
}

/* Read and check one row's fields (no database): 0, or -1 after reporting it. */
static int row_parse(job *j, im_state *s, json_t *o, im_row *r)
{
    proto_err code;
    sb err = {0};
    json_t *line = json_object_get(o, "line");
    r->line = json_is_integer(line) ? (int)json_integer_value(line) : 0;
    if (!json_is_object(o) || r->line <= 0) {
        sb_add(&err, "each row must be an object with \"line\" (a positive integer)");
        goto bad;
    }
    if (proto_case_ref(o, "case", &r->case_ref, &code, &err) ||
        proto_date(o, "on", true, &r->on, NULL, &code, &err) ||
        proto_str(o, "what", true, &r->what, &code, &err) ||
        proto_attrs(o, "attrs", &r->attrs, &r->nattrs, &code, &err) ||
        proto_date(o, "dob", false, &r->dob, &r->has_dob, &code, &err) ||
        proto_name(o, "officer", false, &r->officer, &code, &err) ||
        proto_name(o, "team", false, &r->team, &code, &err) ||
        proto_str(o, "key", false, &r->key, &code, &err))
        goto bad;
    char today[CAL_DATE_LEN];
    if (r->on > j->today) {
        sb_addf(&err, "\"on\": %s is in the future (today is %s)",
                json_string_value(json_object_get(o, "on")), cal_format(j->today, today));
        goto bad;
    }
    if (r->key && (!*r->key || strlen(r->key) > 200)) {
        sb_add(&err, "\"key\" must be 1 to 200 characters");
        goto bad;
    }
    if (!strcmp(r->what, "case")) {
        r->kind = IM_CASE;
        if (r->has_dob && r->dob > j->today) {
            sb_addf(&err, "\"dob\": date of birth %s is after today (%s)",
                    json_string_value(json_object_get(o, "dob")), cal_format(j->today, today));
            goto bad;
        }
        /* officer and team are case attributes too: checked with the others. */
        wf_kv *all = xcalloc(r->nattrs + 2, sizeof *all);
        size_t n = 0;
        for (size_t i = 0; i < r->nattrs; i++)
            all[n++] = r->attrs[i];
        if (r->officer)
            all[n++] = (wf_kv){"officer", r->officer};
        if (r->team)
            all[n++] = (wf_kv){"team", r->team};
        free(r->attrs);
        r->attrs = all;
        r->nattrs = n;
        if (bounds_check_attrs(j->d->bounds, r->attrs, r->nattrs, true, &code, &err))
            goto bad;
        return 0;
    }
    if (r->has_dob || r->officer || r->team) {
        sb_add(&err, "dob, officer and team belong on the row that opens the case (what=case)");
        goto bad;
    }
    if (bounds_check_attrs(j->d->bounds, r->attrs, r->nattrs, false, &code, &err))
        goto bad;
    if (!strncmp(r->what, "start:", 6)) {
        r->kind = IM_START;
        r->wf = wf_set_find(j->d->workflows, r->what + 6);
        if (!r->wf) {
            sb_addf(&err, "no workflow \"%s\" (loaded:", r->what + 6);
            for (size_t i = 0; i < j->d->workflows->n; i++)
                sb_addf(&err, "%s %s", i ? "," : "", j->d->workflows->items[i]->name);
            sb_add(&err, ")");
            goto bad;
        }
        char e[ENG_ERR_LEN];
        if (eng_check_start_attrs(r->wf, r->attrs, r->nattrs, e) != 0) {
            sb_add(&err, e);
            goto bad;
        }
    } else {
        r->kind = IM_EVENT;
        bool known = false;
        for (size_t i = 0; i < j->d->workflows->n && !known; i++)
            known = wf_find_event(j->d->workflows->items[i], r->what) != NULL;
        if (!known) {
            sb_addf(&err,
                    "\"what\": \"%s\" is not case, start:WORKFLOW or an event type of a loaded "
                    "workflow",
                    r->what);
            goto bad;
        }
    }
    if (!r->key)
        derive_key(r);
    return 0;
bad:
    im_error(s, r->line, "%s", sb_str(&err));
    sb_free(&err);
    r->bad = true;
    return -1;
}

static const im_state *sort_state;

/* By case, then the case row first, then date, then line. */
static int row_cmp(const void *a, const void *b)
{
    const im_row *x = &sort_state->rows[*(const size_t *)a];
    const im_row *y = &sort_state->rows[*(const size_t *)b];
    int c = strcmp(x->case_ref, y->case_ref);
    if (c)
        return c;
    if ((x->kind == IM_CASE) != (y->kind == IM_CASE))
        return x->kind == IM_CASE ? -1 : 1;
    if (x->on != y->on)
        return x->on < y->on ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* ---- replaying one case --------------------------------------------------- */

typedef struct im_case {
    job *j;
    im_state *s;
    const char *ref;
    cal_day dob;
    im_proc *procs;
    size_t nprocs;
    json_t *events; /* the write's events */
    int64_t seq;    /* the next event's recording order */
} im_case;

static bool proc_active(const im_proc *p)
{
    return p->res && p->res->status == ENG_ACTIVE;
}

static eng_input proc_input(const im_case *c, const im_proc *p)
{
    eng_input in = {.wf = p->wf,
                    .start = p->started,
                    .attrs = p->attrs,
                    .nattrs = p->nattrs,
                    .events = p->ev,
                    .nevents = p->nev};
    eio_input_env(c->j->d, c->dob, &in);
    return in;
}

/* A new process; its evaluation is the caller's. Returns its index. */
static size_t proc_add(im_case *c, const wf_workflow *wf, cal_day on, const wf_kv *attrs,
                       size_t nattrs, const char *key, int line, int parent, int parent_ev)
{
    c->procs = xrealloc(c->procs, (c->nprocs + 1) * sizeof *c->procs);
    c->procs[c->nprocs] = (im_proc){.wf = wf,
                                    .started = on,
                                    .attrs = attrs,
                                    .nattrs = nattrs,
                                    .key = key,
                                    .line = line,
                                    .parent = parent,
                                    .parent_ev = parent_ev};
    return c->nprocs++;
}

/* Does process p's span hold date on (from its start; ended: before the day it ended)? */
static bool proc_spans(const im_proc *p, cal_day on)
{
    return on >= p->started && (proc_active(p) || (p->res && on < p->res->ended_on));
}

static bool proc_takes(const im_case *c, const im_proc *p, const eng_event *ev)
{
    eng_input in = proc_input(c, p);
    char err[ENG_ERR_LEN];
    return eng_check_event(&in, ev, err) == 0;
}

/* The follow-on processes the event numbered seq started in process t. */
static void start_children(im_case *c, size_t t, int64_t seq, int ev_index)
{
    const eng_result *res = c->procs[t].res;
    for (size_t k = 0; k < res->nstarts; k++) {
        const eng_start *st = &res->starts[k];
        if (st->event_seq != seq)
            continue;
        const wf_workflow *cw = wf_set_find(c->j->d->workflows, st->workflow);
        if (!cw)
            continue; /* wf_set_check guarantees it exists */
        bool taken = false;
        for (size_t i = 0; i < c->nprocs; i++)
            if (c->procs[i].wf == cw && proc_active(&c->procs[i]))
                taken = true;
        if (taken)
            continue; /* as op_event: another active process of that workflow keeps its place */
        size_t n = proc_add(c, cw, st->on, st->attrs, st->nattrs, NULL, 0, (int)t, ev_index);
        eng_input in = proc_input(c, &c->procs[n]);
        char err[ENG_ERR_LEN];
        if (eng_evaluate(&in, &c->procs[n].res, err) != 0) {
            log_error("import: case %s: cannot start %s: %s", c->ref, cw->name, err);
            c->nprocs--;
        }
    }
}

static void replay_start(im_case *c, const im_row *r)
{
    for (size_t i = 0; i < c->nprocs; i++)
        if (c->procs[i].wf == r->wf && proc_active(&c->procs[i])) {
            char on[CAL_DATE_LEN];
            im_error(c->s, r->line, "case %s already has an active %s (started %s%s%.0d)", c->ref,
                     r->wf->name, cal_format(c->procs[i].started, on),
                     c->procs[i].line ? ", line " : " by an event", c->procs[i].line);
            return;
        }
    size_t n = proc_add(c, r->wf, r->on, r->attrs, r->nattrs, r->key, r->line, -1, -1);
    eng_input in = proc_input(c, &c->procs[n]);
    char err[ENG_ERR_LEN];
    if (eng_check_start(&in, err) != 0 || eng_evaluate(&in, &c->procs[n].res, err) != 0) {
        im_error(c->s, r->line, "%s", err);
        c->nprocs--;
    }
}

static void replay_event(im_case *c, const im_row *r)
{
    eng_event ev = {
        .seq = c->seq, .type = r->what, .on = r->on, .attrs = r->attrs, .nattrs = r->nattrs};
    /* Which process takes it: as op_event, the one whose span holds the date; of several,
     * the one whose state takes it; of none, the latest declaring the type explains why not. */
    int fit = -1, nfit = 0, declares = -1, declares_active = -1;
    for (size_t i = 0; i < c->nprocs; i++) {
        const im_proc *p = &c->procs[i];
        if (!wf_find_event(p->wf, r->what))
            continue;
        declares = (int)i;
        if (proc_active(p))
            declares_active = (int)i;
        if (proc_spans(p, r->on)) {
            fit = (int)i;
            nfit++;
        }
    }
    if (nfit > 1) {
        int taker = -1, ntake = 0;
        for (size_t i = 0; i < c->nprocs; i++) {
            const im_proc *p = &c->procs[i];
            if (wf_find_event(p->wf, r->what) && proc_spans(p, r->on) && proc_takes(c, p, &ev)) {
                taker = (int)i;
                ntake++;
            }
        }
        if (ntake > 1) {
            im_error(c->s, r->line,
                     "several processes of case %s could take %s on that date; import cannot "
                     "choose (post it with sendflow event --process)",
                     c->ref, r->what);
            return;
        }
        fit = taker;
    }
    if (fit < 0)
        fit = declares_active >= 0 ? declares_active : declares;
    if (fit < 0) {
        im_error(c->s, r->line, "no process of case %s takes \"%s\" (start one first)", c->ref,
                 r->what);
        return;
    }
    im_proc *p = &c->procs[fit];
    eng_input in = proc_input(c, p);
    char err[ENG_ERR_LEN];
    if (eng_check_event(&in, &ev, err) != 0) {
        im_error(c->s, r->line, "%s", err);
        return;
    }
    p->ev = xrealloc(p->ev, (p->nev + 1) * sizeof *p->ev);
    p->ev[p->nev++] = ev;
    in = proc_input(c, p);
    eng_result *res = NULL;
    if (eng_evaluate(&in, &res, err) != 0) {
        p->nev--;
        im_error(c->s, r->line, "%s", err);
        return;
    }
    eng_result_free(p->res);
    p->res = res;
    int ev_index = (int)json_array_size(c->events);
    json_array_append_new(c->events,
                          json_pack("{s:i,s:i,s:s,s:o,s:o,s:s,s:s?}", "n", ev_index, "process", fit,
                                    "type", r->what, "on", eio_date(r->on), "attrs",
                                    eio_attrs_json(r->attrs, r->nattrs), "key", r->key, "actor",
                                    c->j->actor));
    c->seq++;
    start_children(c, (size_t)fit, ev.seq, ev_index);
}

/* Has the database every fact of the case's rows (rows[from..to) of order)? */
static const im_row *first_missing(im_state *s, json_t *stored, size_t from, size_t to)
{
    json_t *keys = json_object_get(stored, "keys");
    for (size_t k = from; k < to; k++) {
        const im_row *r = &s->rows[s->order[k]];
        if (r->kind == IM_CASE)
            continue;
        bool have = false;
        size_t i;
        json_t *v;
        json_array_foreach(keys, i, v) if (!strcmp(json_string_value(v), r->key)) have = true;
        if (!have)
            return r;
    }
    return NULL;
}

/* An index in one of the write's arrays, as the write names it. */
static json_t *doc_index(size_t k)
{
    return json_integer((json_int_t)k);
}

/*
 * The escalation levels of deadline dl ("escalate": its levels in order) of
 * process pk of case ck, added to levels. A level whose day passed before
 * today while a later level of the deadline is due by today is history:
 * "fired" and "superseded" (nobody told), so each open deadline sends only
 * its current level. ISO dates compare as strings.
 */
static void add_levels(json_t *levels, const json_t *dl, size_t ck, size_t pk, const char *today)
{
    const json_t *esc = json_object_get(dl, "escalate");
    if (!json_is_array(esc) || strcmp(json_string_value(json_object_get(dl, "resolution")), "open"))
        return;
    size_t n = json_array_size(esc);
    for (size_t i = 0; i < n; i++) {
        const json_t *l = json_array_get(esc, i);
        const char *fire = json_string_value(json_object_get(l, "fire_on"));
        bool past = false;
        for (size_t m = 0; m < n && strcmp(fire, today) < 0 && !past; m++) {
            const char *later =
                json_string_value(json_object_get(json_array_get(esc, m), "fire_on"));
            int c = strcmp(later, fire);
            past = strcmp(later, today) <= 0 && (c > 0 || (c == 0 && m > i));
        }
        json_array_append_new(
            levels, json_pack("{s:o,s:o,s:O,s:O,s:O,s:O,s:O,s:b,s:b}", "c", doc_index(ck), "p",
                              doc_index(pk), "deadline", json_object_get(dl, "name"), "level",
                              json_object_get(l, "level"), "due", json_object_get(dl, "due"),
                              "fire_on", json_object_get(l, "fire_on"), "roles",
                              json_object_get(l, "roles"), "fired", past, "superseded", past));
    }
}

/*
 * The levels duty dl of process pk of case ck had reached before it was met
 * or ended (on that day or earlier: a level fires at the start of its day),
 * added to levels: history, written fired and resolved on that day, nobody
 * told. The daemon would have fired them and then told their people it was
 * resolved; an import records that they were reached, and sends nothing.
 */
static void add_closed_levels(const sf_daemon *d, json_t *levels, const eng_deadline *dl, size_t ck,
                              size_t pk)
{
    cal_day end = dl->resolution == ENG_MET ? dl->met_on : dl->cancelled_on;
    if (dl->resolution == ENG_OPEN || end == CAL_NONE)
        return;
    json_t *esc = eio_levels(d, dl);
    size_t i;
    json_t *l;
    json_array_foreach(esc, i, l)
    {
        cal_day fire;
        if (cal_parse(json_string_value(json_object_get(l, "fire_on")), &fire) != 0 || fire > end)
            continue;
        json_array_append_new(
            levels, json_pack("{s:o,s:o,s:s,s:O,s:o,s:O,s:O,s:b,s:b,s:o}", "c", doc_index(ck), "p",
                              doc_index(pk), "deadline", dl->name, "level",
                              json_object_get(l, "level"), "due", eio_date(dl->due), "fire_on",
                              json_object_get(l, "fire_on"), "roles", json_object_get(l, "roles"),
                              "fired", true, "superseded", false, "resolved_on", eio_date(end)));
    }
    json_decref(esc);
}

/* Count the replayed case c (opened by row first) and, unless this is a dry run, add it
 * to the write with its audit row. */
static void add_case(job *j, im_state *s, const im_case *c, const im_row *first)
{
    s->n_new++;
    s->n_procs += (json_int_t)c->nprocs;
    s->n_events += (json_int_t)json_array_size(c->events);
    if (c->dob != CAL_NONE)
        s->n_dob++;
    if (s->dry)
        return; /* checking only: the rows the write would take are not built */
    json_t *cases = json_object_get(s->doc, "cases"), *procs = json_object_get(s->doc, "processes"),
           *events = json_object_get(s->doc, "events"), *dls = json_object_get(s->doc, "deadlines"),
           *levels = json_object_get(s->doc, "levels");
    size_t ck = json_array_size(cases), p0 = json_array_size(procs), e0 = json_array_size(events);
    char today[CAL_DATE_LEN];
    cal_format(j->today, today);
    json_array_append_new(cases, json_pack("{s:o,s:s,s:o,s:o}", "k", doc_index(ck), "ref", c->ref,
                                           "dob", eio_date(c->dob), "attrs",
                                           eio_attrs_json(first->attrs, first->nattrs)));
    for (size_t i = 0; i < c->nprocs; i++) {
        const im_proc *p = &c->procs[i];
        json_array_append_new(
            procs, json_pack("{s:o,s:o,s:s,s:i,s:o,s:o,s:s?,s:s,s:s,s:o,s:o,s:o,s:s?}", "k",
                             doc_index(p0 + i), "c", doc_index(ck), "workflow", p->wf->name,
                             "version", p->wf->version, "started_on", eio_date(p->started), "attrs",
                             eio_attrs_json(p->attrs, p->nattrs), "key", p->key, "status",
                             eng_proc_status_name(p->res->status), "state", p->res->state,
                             "ended_on", eio_date(p->res->ended_on), "parent",
                             p->parent >= 0 ? doc_index(p0 + (size_t)p->parent) : json_null(),
                             "parent_event",
                             p->parent_ev >= 0 ? doc_index(e0 + (size_t)p->parent_ev) : json_null(),
                             "actor", p->line ? j->actor : NULL));
        json_t *pdls = eio_deadlines(j->d, p->res); /* in the order of p->res->deadlines */
        size_t k;
        json_t *dl;
        json_array_foreach(pdls, k, dl)
        {
            add_levels(levels, dl, ck, p0 + i, today);
            add_closed_levels(j->d, levels, &p->res->deadlines[k], ck, p0 + i);
            json_object_del(dl, "escalate");
            json_object_set_new(dl, "p", doc_index(p0 + i));
            json_array_append(dls, dl);
        }
        json_decref(pdls);
    }
    size_t k;
    json_t *ev;
    json_array_foreach(c->events, k, ev)
    {
        json_object_set_new(ev, "k", doc_index(e0 + k));
        json_object_set_new(ev, "c", doc_index(ck));
        json_object_set_new(
            ev, "p", doc_index(p0 + (size_t)json_integer_value(json_object_get(ev, "process"))));
        json_object_del(ev, "n");
        json_object_del(ev, "process");
        json_array_append(events, ev);
    }
    j->case_ref = c->ref; /* the audit row's case (audit_item reads it) */
    json_t *audit = audit_item(j);
    j->case_ref = NULL;
    char detail[96];
    snprintf(detail, sizeof detail, "imported: %zu processes, %zu events", c->nprocs,
             json_array_size(c->events));
    json_object_set_new(audit, "detail", json_string(detail));
    json_array_append_new(json_object_get(s->doc, "audit"), audit);
}

/* Replay the case of rows[from..to) of order; add its write item, or report its rows. */
static void replay_case(job *j, im_state *s, size_t from, size_t to)
{
    const im_row *first = &s->rows[s->order[from]];
    json_t *stored = json_object_get(s->stored, first->case_ref);
    if (stored) {
        const im_row *miss = first_missing(s, stored, from, to);
        if (miss)
            im_error(s, miss->line,
                     "case %s already exists with other facts; an import adds new cases (and "
                     "repeats the same file without change): record further facts with sendflow "
                     "start and sendflow event",
                     first->case_ref);
        else
            s->n_unchanged++;
        return;
    }
    if (first->kind != IM_CASE) {
        im_error(s, first->line, "case %s is not in the database and no row opens it (what=case)",
                 first->case_ref);
        return;
    }
    if (from + 1 < to && s->rows[s->order[from + 1]].kind == IM_CASE) {
        im_error(s, s->rows[s->order[from + 1]].line, "case %s is opened twice (also line %d)",
                 first->case_ref, first->line);
        return;
    }
    /* Two rows with one key: the same fact twice, or a key given twice. */
    for (size_t a = from + 1; a < to; a++)
        for (size_t b = a + 1; b < to; b++) {
            const im_row *x = &s->rows[s->order[a]], *y = &s->rows[s->order[b]];
            if (!strcmp(x->key, y->key)) {
                const im_row *later = x->line > y->line ? x : y;
                im_error(s, later->line,
                         "the same key as line %d (%s); a fact that happened twice needs a key "
                         "of its own",
                         later == x ? y->line : x->line, x->key);
                return;
            }
        }
    size_t nerr = json_array_size(s->errors);
    im_case c = {.j = j,
                 .s = s,
                 .ref = first->case_ref,
                 .dob = first->has_dob ? first->dob : CAL_NONE,
                 .events = json_array()};
    for (size_t k = from + 1; k < to; k++) {
        const im_row *r = &s->rows[s->order[k]];
        if (r->kind == IM_START)
            replay_start(&c, r);
        else
            replay_event(&c, r);
    }
    if (json_array_size(s->errors) == nerr)
        add_case(j, s, &c, first);
    json_decref(c.events);
    for (size_t i = 0; i < c.nprocs; i++) {
        free(c.procs[i].ev);
        eng_result_free(c.procs[i].res);
    }
    free(c.procs);
}

/* ---- the job ---------------------------------------------------------------- */

static json_t *summary(job *j, im_state *s, bool written)
{
    return json_pack("{s:b,s:b,s:b,s:I,s:{s:I,s:I},s:I,s:I,s:O}", "dry_run", s->dry, "valid",
                     json_array_size(s->errors) == 0, "written", written, "rows",
                     (json_int_t)s->nrows, "cases", "new", s->n_new, "unchanged", s->n_unchanged,
                     "processes", s->n_procs, "events", s->n_events, "errors", s->errors);
    (void)j;
}

static void import_audited(job *j)
{
    job_reply(j);
}

static void import_written(job *j, PGresult *res)
{
    im_state *s = j->state;
    json_t *out = job_json(res, 0, 0);
    json_t *skipped = json_object_get(out, "existing");
    if (!out || json_array_size(skipped) > 0) {
        /* Another import created one of these cases meanwhile: nothing of this one was kept. */
        json_decref(out);
        job_fail(j, PROTO_ERR_UNAVAILABLE,
                 "another request opened some of these cases meanwhile; nothing of this chunk "
                 "was written: import the file again");
        return;
    }
    j->audited = true; /* by sf_import_cases, one row per case */
    log_info("conn %" PRIu64 ": import: %" JSON_INTEGER_FORMAT " cases, %" JSON_INTEGER_FORMAT
             " processes, %" JSON_INTEGER_FORMAT " events written (%" JSON_INTEGER_FORMAT
             " already there)",
             j->req->conn_id, s->n_new, s->n_procs, s->n_events, s->n_unchanged);
    /* Children with a date of birth and a plan may have phase transfers to open. */
    size_t i;
    json_t *id;
    json_array_foreach(json_object_get(out, "swept"), i, id)
        transfers_sweep(j->d, json_string_value(id));
    json_decref(out);
    j->reply = summary(j, s, true);
    job_reply(j);
}

static void import_read(job *j, PGresult *res)
{
    im_state *s = j->state;
    s->stored = job_json(res, 0, 0);
    if (!json_is_object(s->stored)) {
        job_fail(j, PROTO_ERR_INTERNAL, "import: the case read was not a JSON object");
        return;
    }
    size_t from = 0;
    for (size_t k = 1; s->nkept && k <= s->nkept; k++) {
        if (k < s->nkept &&
            !strcmp(s->rows[s->order[k]].case_ref, s->rows[s->order[from]].case_ref))
            continue;
        replay_case(j, s, from, k);
        from = k;
    }
    if (json_array_size(s->errors) || s->dry ||
        json_array_size(json_object_get(s->doc, "cases")) == 0) {
        /* Sorted by line, so the file's errors read in order. */
        size_t n = json_array_size(s->errors);
        for (size_t a = 1; a < n; a++)
            for (size_t b = a; b > 0; b--) {
                json_t *x = json_array_get(s->errors, b - 1), *y = json_array_get(s->errors, b);
                if (json_integer_value(json_object_get(x, "line")) <=
                    json_integer_value(json_object_get(y, "line")))
                    break;
                json_incref(x);
                json_array_set(s->errors, b - 1, y);
                json_array_set_new(s->errors, b, x);
            }
        j->reply = summary(j, s, false);
        /* A dry run, like recompute's, reads only: not audited; a refused import is. */
        j->audited = true;
        if (n && !s->dry) {
            audit_job(j, "invalid", import_audited);
            return;
        }
        job_reply(j);
        return;
    }
    char *doc = json_dumps(s->doc, JSON_COMPACT);
    const char *p[1] = {doc};
    job_query(j, &statements[1], 1, p, import_written);
    free(doc);
}

int op_import_parse(job *j, proto_err *code, sb *err)
{
    json_t *m = j->req->msg;
    json_t *rows = json_object_get(m, "rows");
    im_state *s = xcalloc(1, sizeof *s);
    j->state = s;
    j->state_free = im_state_free;
    if (proto_bool(m, "dry_run", false, &s->dry, code, err) ||
        proto_str(m, "actor", false, &j->actor, code, err))
        return -1;
    if (!json_is_array(rows) || json_array_size(rows) == 0) {
        sb_add(err, "\"rows\" must be a non-empty array of rows");
        *code = PROTO_ERR_BAD_REQUEST;
        return -1;
    }
    s->errors = json_array();
    s->doc = json_pack("{s:[],s:[],s:[],s:[],s:[],s:[]}", "cases", "processes", "events",
                       "deadlines", "levels", "audit");
    s->nrows = json_array_size(rows);
    s->rows = xcalloc(s->nrows, sizeof *s->rows);
    s->order = xcalloc(s->nrows, sizeof *s->order);
    size_t i;
    json_t *o;
    json_array_foreach(rows, i, o)
    {
        s->order[i] = i;
        (void)row_parse(j, s, o, &s->rows[i]);
    }
    return 0;
}

void op_import_begin(job *j)
{
    im_state *s = j->state;
    if (!s->dry) {
        /* Levels this chunk plans as due fire once it is written, not while it writes. */
        s->yielding = j->d;
        scheduler_import_begin(j->d);
    }
    /* Rows that could not be read take no part in the replay (their errors are reported). */
    size_t n = 0;
    for (size_t i = 0; i < s->nrows; i++)
        if (!s->rows[i].bad && s->rows[i].case_ref)
            s->order[n++] = i;
    /* A case with a bad row is not replayed: its other rows would report what follows. */
    json_t *bad_cases = json_object();
    for (size_t i = 0; i < s->nrows; i++)
        if (s->rows[i].bad && s->rows[i].case_ref)
            json_object_set_new(bad_cases, s->rows[i].case_ref, json_true());
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!json_object_get(bad_cases, s->rows[s->order[i]].case_ref))
            s->order[m++] = s->order[i];
    json_decref(bad_cases);
    size_t kept = s->nkept = m;
    sort_state = s;
    qsort(s->order, kept, sizeof *s->order, row_cmp);
    sort_state = NULL;
    json_t *refs = json_array();
    for (size_t k = 0; k < kept; k++)
        if (k == 0 || strcmp(s->rows[s->order[k]].case_ref, s->rows[s->order[k - 1]].case_ref))
            json_array_append_new(refs, json_string(s->rows[s->order[k]].case_ref));
    char *text = json_dumps(refs, JSON_COMPACT);
    json_decref(refs);
    const char *p[1] = {text};
    job_query(j, &statements[0], 1, p, import_read);
    free(text);
}
