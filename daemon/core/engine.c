/*
 * engine: a process's state and deadlines from its events (see engine.h).
 *
 * Everything is derived, nothing is stored: the events are sorted by the day
 * they happened (then by recording order) and replayed through the workflow's
 * state machine from the initial state; then each deadline of the workflow is
 * laid against that history: when its clock started (its anchor), its due
 * date, the first event that met or cancelled it, and any exception period
 * that excuses missing it. A late-posted event therefore re-derives everything
 * after it, which is what the law wants: the dates are the dates things
 * happened, not the dates someone typed them in.
 *
 * Pure: no I/O, no clock. Every string in the result is owned by the result.
 */
#include "engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cohort.h"

/* An exception period: from an exception-start event to the next end with the same reason. */
typedef struct exc_period {
    const char *reason; /* borrowed from the event's attributes */
    const wf_event *et; /* borrowed: the start event's type (its minimum_length) */
    cal_day start;
    cal_day end; /* CAL_NONE while still open */
    /* Recognised from the calendar (reg. 10(4)(a)) rather than recorded: the closure, and the
     * event dated inside its window. */
    bool recognised;
    hol_closure closure;
    const eng_event *by;
} exc_period;

/*
 * An exception event the replay ignored: an end that closes nothing open (a
 * wrong reason, or dated before its start), or a second start of a reason
 * already open. eng_evaluate ignores them (older data may hold one);
 * eng_check_event refuses to record a new one.
 */
typedef struct exc_stray {
    size_t idx;            /* index in replay.ev */
    char why[ENG_ERR_LEN]; /* a sentence for a caseworker */
} exc_stray;

/* The outcome of replaying the events through the state machine. */
typedef struct replay {
    const eng_event **ev; /* owned array of borrowed events, in replay order */
    size_t n;
    const wf_state *state; /* the state reached */
    size_t ended_idx;      /* index in ev of the event that made the state final; n if none */
    cal_day ended_on;      /* its date; CAL_NONE while active */
    eng_start *starts;     /* owned */
    size_t nstarts;
    exc_period *exc; /* owned, in order of their start */
    size_t nexc;
    exc_stray *stray; /* owned: exception events that opened or closed nothing */
    size_t nstray;
    size_t fail_idx; /* on failure: index in ev of the event that did not fit */
} replay;

static void replay_free(replay *r)
{
    free(r->ev);
    free(r->starts);
    free(r->exc);
    free(r->stray);
    memset(r, 0, sizeof *r);
}

static void set_err(char *err, const char *fmt, ...) SF_PRINTF(2, 3);
static void set_err(char *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, ENG_ERR_LEN, fmt, ap);
    va_end(ap);
}

/* Copy an sb into err (truncated to ENG_ERR_LEN) and free it. */
static void set_err_sb(char *err, sb *b)
{
    if (err)
        snprintf(err, ENG_ERR_LEN, "%s", sb_str(b));
    sb_free(b);
}

static const char *day_str(cal_day d, char buf[CAL_DATE_LEN])
{
    return cal_format(d, buf);
}

/* The value of attribute key, or NULL. */
static const char *kv_get(const wf_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (kv[i].key && strcmp(kv[i].key, key) == 0)
            return kv[i].value ? kv[i].value : "";
    return NULL;
}

static bool in_list(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* Every when pair equals the event's attribute of that name. */
static bool when_matches(const wf_kv *when, size_t nwhen, const eng_event *ev)
{
    for (size_t i = 0; i < nwhen; i++) {
        const char *v = kv_get(ev->attrs, ev->nattrs, when[i].key);
        if (!v || strcmp(v, when[i].value) != 0)
            return false;
    }
    return true;
}

static bool match_event(const wf_match *m, const eng_event *ev)
{
    return strcmp(m->event, ev->type) == 0 && when_matches(m->when, m->nwhen, ev);
}

static const char *state_title(const wf_state *s)
{
    return s->title ? s->title : s->name;
}

static const char *event_title(const wf_workflow *wf, const char *type)
{
    const wf_event *e = wf_find_event(wf, type);
    return e && e->title ? e->title : type;
}

/* ---- replay ------------------------------------------------------------ */

typedef struct sort_item {
    const eng_event *ev;
    size_t idx; /* input position: keeps the sort stable for equal (on, seq) */
} sort_item;

static int cmp_items(const void *a, const void *b)
{
    const sort_item *x = a, *y = b;
    if (x->ev->on != y->ev->on)
        return x->ev->on < y->ev->on ? -1 : 1;
    if (x->ev->seq != y->ev->seq)
        return x->ev->seq < y->ev->seq ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* Remember that the exception event at index idx changed nothing; b becomes the reason. */
static void add_stray(replay *r, size_t idx, sb *b)
{
    r->stray = xrealloc(r->stray, (r->nstray + 1) * sizeof *r->stray);
    r->stray[r->nstray].idx = idx;
    snprintf(r->stray[r->nstray].why, ENG_ERR_LEN, "%s", sb_str(b));
    r->nstray++;
    sb_free(b);
}

/*
 * Record the exception event at index idx in the list of periods. A second
 * start while the same reason is open, or an end with no period of its reason
 * open on its date, changes nothing and is noted as a stray.
 */
static void note_exception(replay *r, size_t idx, const wf_event *et, const eng_event *ev)
{
    const char *reason = kv_get(ev->attrs, ev->nattrs, "reason");
    char d1[CAL_DATE_LEN], d2[CAL_DATE_LEN];
    if (!reason)
        return;
    if (et->exception == WF_EXC_START) {
        for (size_t i = 0; i < r->nexc; i++) {
            if (r->exc[i].end == CAL_NONE && strcmp(r->exc[i].reason, reason) == 0) {
                sb b = {0};
                sb_addf(&b, "%s (%s) on %s: the %s exception started on %s is still open", ev->type,
                        reason, day_str(ev->on, d1), reason, day_str(r->exc[i].start, d2));
                add_stray(r, idx, &b);
                return;
            }
        }
        r->exc = xrealloc(r->exc, (r->nexc + 1) * sizeof *r->exc);
        r->exc[r->nexc++] =
            (exc_period){.reason = reason, .et = et, .start = ev->on, .end = CAL_NONE};
    } else if (et->exception == WF_EXC_END) {
        for (size_t i = 0; i < r->nexc; i++) {
            if (r->exc[i].end == CAL_NONE && strcmp(r->exc[i].reason, reason) == 0) {
                r->exc[i].end = ev->on;
                return;
            }
        }
        sb b = {0};
        sb_addf(&b, "%s (%s) on %s: no %s exception is open on that date", ev->type, reason,
                day_str(ev->on, d1), reason);
        size_t nopen = 0;
        for (size_t i = 0; i < r->nexc; i++) {
            if (r->exc[i].end != CAL_NONE)
                continue;
            sb_addf(&b, "%s%s since %s", nopen++ ? ", " : " (open: ", r->exc[i].reason,
                    day_str(r->exc[i].start, d2));
        }
        sb_add(&b, nopen ? ")" : " (no exception is open)");
        add_stray(r, idx, &b);
    }
}

/* Is the event allowed without a transition in state s? */
static bool allowed_in(const wf_event *et, const wf_state *s)
{
    if (et->allowed_any && s->final == WF_OPEN)
        return true;
    return in_list(et->allowed_in, et->nallowed_in, s->name);
}

/*
 * Replay events (any order) from the initial state. 0, or -ENG_ENOT_ALLOWED
 * with a sentence in err and r->fail_idx set. r is filled either way; the
 * caller frees it with replay_free.
 */
static int replay_run(replay *r, const wf_workflow *wf, const eng_event *events, size_t n,
                      char *err)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    r->ev = xcalloc(n ? n : 1, sizeof *r->ev);
    sort_item *items = xcalloc(n ? n : 1, sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = (sort_item){&events[i], i};
    qsort(items, n, sizeof *items, cmp_items);
    for (size_t i = 0; i < n; i++)
        r->ev[i] = items[i].ev;
    free(items);

    r->state = wf_initial_state(wf);
    r->ended_idx = n;
    r->ended_on = CAL_NONE;
    char d1[CAL_DATE_LEN], d2[CAL_DATE_LEN];

    for (size_t i = 0; i < n; i++) {
        const eng_event *ev = r->ev[i];
        const wf_event *et = wf_find_event(wf, ev->type);
        if (!et) {
            r->fail_idx = i;
            set_err(err, "the %s workflow has no event \"%s\"", wf->name, ev->type);
            return -ENG_ENOT_ALLOWED;
        }
        if (r->state->final != WF_OPEN && et->after_end)
            continue; /* taken by the ended process without a change (an appeal's events) */
        if (r->state->final != WF_OPEN) {
            r->fail_idx = i;
            set_err(err, "%s on %s is not allowed: the process ended on %s (%s)", ev->type,
                    day_str(ev->on, d1), day_str(r->ended_on, d2), state_title(r->state));
            return -ENG_ENOT_ALLOWED;
        }
        const wf_state *next = NULL;
        for (size_t t = 0; t < et->ntransitions && !next; t++) {
            const wf_transition *tr = &et->transitions[t];
            bool from = tr->from_any || in_list(tr->from, tr->nfrom, r->state->name);
            if (from && when_matches(tr->when, tr->nwhen, ev)) {
                next = wf_find_state(wf, tr->to);
                if (!next) { /* the loader validates targets; be safe anyway */
                    r->fail_idx = i;
                    set_err(err, "the %s workflow has no state \"%s\"", wf->name, tr->to);
                    return -ENG_ENOT_ALLOWED;
                }
            }
        }
        if (!next) {
            if (!allowed_in(et, r->state)) {
                r->fail_idx = i;
                set_err(err, "%s on %s is not allowed while the process is \"%s\" (%s)", ev->type,
                        day_str(ev->on, d1), state_title(r->state), r->state->name);
                return -ENG_ENOT_ALLOWED;
            }
            next = r->state;
        }

        /* The event applies. */
        r->state = next;
        if (et->exception != WF_EXC_NONE)
            note_exception(r, i, et, ev);
        if (et->nstarts) {
            r->starts = xrealloc(r->starts, (r->nstarts + et->nstarts) * sizeof *r->starts);
            for (size_t s = 0; s < et->nstarts; s++)
                r->starts[r->nstarts++] = (eng_start){et->starts[s], ev->on, ev->seq,
                                                      et->starts_with ? et->starts_with[s] : NULL,
                                                      et->starts_with ? et->nstarts_with[s] : 0};
        }
        if (next->final != WF_OPEN) {
            r->ended_idx = i;
            r->ended_on = ev->on;
        }
    }
    return 0;
}

/* ---- inputs ------------------------------------------------------------ */

int eng_transfer_school_year(const svc_settings *svc, const char *transfer)
{
    static const struct {
        const char *name;
        int year;
    } usual[] = {
        {"early_years_to_school", 0}, {"infant_to_junior", 3},    {"primary_to_middle", 5},
        {"primary_to_secondary", 7},  {"middle_to_secondary", 9}, {"secondary_to_post16", 12},
    };
    if (!transfer)
        return -1;
    const svc_transfer *t = svc ? svc_find_transfer(svc, transfer) : NULL;
    if (t)
        return t->school_year;
    for (size_t i = 0; i < sizeof usual / sizeof usual[0]; i++)
        if (!strcmp(usual[i].name, transfer))
            return usual[i].year;
    return -1;
}

/* An attribute the engine derived (a default), with the words that explain it. */
typedef struct derived {
    const char *attr;          /* borrowed: the attribute's name */
    char value[CAL_DATE_LEN];  /* its value */
    char why[ENG_ERR_LEN / 2]; /* "the start of Year 7 for a child born on 2015-10-02" */
} derived;

/* The process's attributes with the defaults filled in. */
typedef struct attrs_eff {
    wf_kv *kv; /* owned array; strings borrowed from the input or from der */
    size_t n;
    derived *der; /* owned */
    size_t nder;
} attrs_eff;

static void attrs_eff_free(attrs_eff *a)
{
    free(a->kv);
    free(a->der);
    memset(a, 0, sizeof *a);
}

/* The derivation of attribute name, or NULL when it was given. */
static const derived *find_derived(const attrs_eff *a, const char *name)
{
    for (size_t i = 0; a && name && i < a->nder; i++)
        if (!strcmp(a->der[i].attr, name))
            return &a->der[i];
    return NULL;
}

/*
 * Fill in the start attributes the process was started without that have a
 * default: "default: {school_year_of: transfer}" is 1 September of the school
 * year of that transfer for the child's cohort (statutory-timescales §10). 0,
 * or -ENG_EBAD_ATTRIBUTE with a sentence in err (when given) for one that
 * cannot be derived; eng_evaluate leaves such an attribute absent.
 */
static int derive_attrs(const eng_input *in, attrs_eff *out, char *err)
{
    const wf_workflow *wf = in->wf;
    memset(out, 0, sizeof *out);
    out->kv = xcalloc(in->nattrs + wf->nattrs + 1, sizeof *out->kv);
    out->der = xcalloc(wf->nattrs + 1, sizeof *out->der);
    for (size_t i = 0; i < in->nattrs; i++)
        out->kv[out->n++] = in->attrs[i];
    int rc = 0;
    for (size_t i = 0; i < wf->nattrs; i++) {
        const wf_attr *a = &wf->attrs[i];
        if (!a->school_year_of || kv_get(in->attrs, in->nattrs, a->name))
            continue;
        const char *transfer = kv_get(in->attrs, in->nattrs, a->school_year_of);
        int year = eng_transfer_school_year(in->svc, transfer);
        if (year < 0 || !in->has_dob) {
            if (rc == 0)
                set_err(err, "the %s workflow needs %s=YYYY-MM-DD here: %s", wf->name, a->name,
                        year < 0 ? "this kind of transfer has no usual date to work out"
                                 : "the case has no date of birth to work out the year from");
            rc = -ENG_EBAD_ATTRIBUTE;
            continue;
        }
        derived *d = &out->der[out->nder++];
        d->attr = a->name;
        cal_day day = coh_year_start(in->dob, year);
        cal_format(day, d->value);
        char born[CAL_DATE_LEN];
        const char *words = svc_transfer_words(transfer);
        snprintf(d->why, sizeof d->why,
                 "%s on %s, the start of %s, year of transfer from date of birth %s",
                 words ? words : transfer, d->value, coh_year_name(year),
                 cal_format(in->dob, born));
        out->kv[out->n++] = (wf_kv){a->name, d->value};
    }
    return rc;
}

/* Each condition holds: the attribute has one of its values. */
static bool conds_all(const wf_cond *c, size_t n, const wf_kv *attrs, size_t na)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = kv_get(attrs, na, c[i].attr);
        if (!v || !in_list(c[i].values, c[i].nvalues, v))
            return false;
    }
    return true;
}

/* No condition holds. */
static bool conds_none(const wf_cond *c, size_t n, const wf_kv *attrs, size_t na)
{
    for (size_t i = 0; i < n; i++)
        if (conds_all(&c[i], 1, attrs, na))
            return false;
    return true;
}

/*
 * The events with the types an earlier version used renamed as "migrate:"
 * says, so a process started under version 1 replays under version 2. A new
 * array of borrowed events (free it), or NULL when the workflow renames none.
 */
static eng_event *renamed_events(const wf_workflow *wf, const eng_event *events, size_t n)
{
    if (!wf->nrenames)
        return NULL;
    eng_event *copy = xcalloc(n ? n : 1, sizeof *copy);
    for (size_t i = 0; i < n; i++) {
        copy[i] = events[i];
        const wf_rename *r = events[i].type && !wf_find_event(wf, events[i].type)
                                 ? wf_find_rename(wf, WF_RENAME_EVENT, events[i].type)
                                 : NULL;
        if (r && r->to)
            copy[i].type = r->to;
    }
    return copy;
}

/*
 * Reg. 10(4)(a): an event the workflow "recognises" (advice asked of a
 * school), dated inside the window around a school closure of 4 weeks or
 * more, opens the closure exception by itself until the schools reopen.
 */
static void recognise_closures(replay *r, const eng_input *in)
{
    if (!in->cal)
        return;
    for (size_t i = 0; i < r->n; i++) {
        const eng_event *ev = r->ev[i];
        const wf_event *et = wf_find_event(in->wf, ev->type);
        hol_closure cl;
        if (!et || !et->recognises ||
            !when_matches(et->recognises_when, et->nrecognises_when, ev) ||
            !hol_closure_window(in->cal, ev->on, &cl))
            continue;
        r->exc = xrealloc(r->exc, (r->nexc + 1) * sizeof *r->exc);
        r->exc[r->nexc++] = (exc_period){.reason = et->recognises,
                                         .et = et,
                                         .start = ev->on,
                                         .end = cal_add_days(cl.reopens, -1),
                                         .recognised = true,
                                         .closure = cl,
                                         .by = ev};
    }
}

/* ---- deadlines --------------------------------------------------------- */

/* One occurrence of a deadline: its anchor date and, with per:, the value. */
typedef struct instance {
    cal_day anchor;
    const char *value; /* borrowed; NULL without per */
    const char *type;  /* borrowed: the event type that started the clock; NULL if not an event */
} instance;

/* Does ev start the clock of dl (its event, or one of "any_of")? */
static bool anchor_matches(const wf_deadline *dl, const eng_event *ev)
{
    if (!dl->nanchor_any)
        return match_event(&dl->anchor, ev);
    for (size_t i = 0; i < dl->nanchor_any; i++)
        if (match_event(&dl->anchor_any[i], ev))
            return true;
    return false;
}

static int cmp_instances(const void *a, const void *b)
{
    const instance *x = a, *y = b;
    if (x->anchor != y->anchor)
        return x->anchor < y->anchor ? -1 : 1;
    return strcmp(x->value ? x->value : "", y->value ? y->value : "");
}

/* Replace every "{per}" in s by value (s unchanged without per). New string. */
static char *subst(const char *s, const char *per, const char *value)
{
    if (!s)
        return NULL;
    if (!per || !value)
        return xstrdup(s);
    sb b = {0};
    char *pat = xasprintf("{%s}", per);
    size_t plen = strlen(pat);
    const char *p = s, *hit;
    while ((hit = strstr(p, pat)) != NULL) {
        sb_addn(&b, p, (size_t)(hit - p));
        sb_add(&b, value);
        p = hit + plen;
    }
    sb_add(&b, p);
    free(pat);
    return sb_steal(&b);
}

static cal_day due_date(const wf_due *due, cal_day x, const hol_calendar *cal)
{
    int y, m, d;
    bool working = cal && due->unit == CAL_WORKING_DAYS;
    switch (due->kind) {
    case WF_DUE_WITHIN:
        return working ? hol_add_working_days(cal, x, due->n) : cal_add(x, due->n, due->unit);
    case WF_DUE_BEGINNING_WITH:
        return working ? hol_working_period_end(cal, x, due->n)
                       : cal_period_end(x, due->n, due->unit);
    case WF_DUE_BEFORE:
        if (working) {
            for (int left = due->n; left > 0;) {
                x = cal_add_days(x, -1);
                if (hol_is_working_day(cal, x))
                    left--;
            }
            return x;
        }
        return cal_add(x, -due->n, due->unit);
    case WF_DUE_DAY_OF_YEAR:
    case WF_DUE_LAST_DAY_BEFORE:
        cal_to_ymd(x, &y, NULL, NULL);
        m = due->month;
        d = due->day;
        if (d <= cal_days_in_month(y, m))
            return cal_add_days(cal_from_ymd(y, m, d),
                                due->kind == WF_DUE_LAST_DAY_BEFORE ? -1 : 0);
        /*
         * 29 February in a common year. "On 29 February" falls on the last day
         * of February (the 28th); "before 29 February" is before the day
         * after the 28th, so its last day is the 28th too, not the 27th.
         */
        return cal_from_ymd(y, m, cal_days_in_month(y, m));
    }
    return x;
}

/* "20 weeks from request received on 2026-01-05" and its siblings. */
static char *explain(const wf_workflow *wf, const wf_deadline *dl, const instance *in,
                     const derived *der)
{
    sb label = {0};
    if (dl->anchor_label)
        sb_add(&label, dl->anchor_label);
    else if (dl->anchor_kind == WF_ANCHOR_EVENT)
        sb_add(&label, event_title(wf, in->type ? in->type : dl->anchor.event));
    else if (dl->anchor_kind == WF_ANCHOR_ATTRIBUTE)
        sb_add(&label, dl->anchor_attr);
    else
        sb_add(&label, wf->start_label ? wf->start_label : "start");
    if (in->value)
        sb_addf(&label, " (%s)", in->value);

    char ds[CAL_DATE_LEN];
    day_str(in->anchor, ds);
    const wf_due *due = &dl->due;
    sb b = {0};
    switch (due->kind) {
    case WF_DUE_WITHIN:
        sb_addf(&b, "%d %s from %s on %s", due->n, cal_unit_name(due->unit, due->n), sb_str(&label),
                ds);
        break;
    case WF_DUE_BEGINNING_WITH:
        sb_addf(&b, "%d %s beginning with %s on %s", due->n, cal_unit_name(due->unit, due->n),
                sb_str(&label), ds);
        break;
    case WF_DUE_BEFORE:
        sb_addf(&b, "%d %s before %s %s", due->n, cal_unit_name(due->unit, due->n), sb_str(&label),
                ds);
        break;
    case WF_DUE_DAY_OF_YEAR:
    case WF_DUE_LAST_DAY_BEFORE: {
        int y;
        cal_to_ymd(in->anchor, &y, NULL, NULL);
        sb_addf(&b, "%s%d %s of %d, the calendar year of the %s on %s",
                due->kind == WF_DUE_LAST_DAY_BEFORE ? "before " : "", due->day,
                cal_month_name(due->month) ? cal_month_name(due->month) : "?", y, sb_str(&label),
                ds);
        break;
    }
    }
    if (der)
        sb_addf(&b, " (%s)", der->why);
    sb_free(&label);
    return sb_steal(&b);
}

/* Does ev meet/cancel (per the list) the instance? With per, a met_by event must carry the same
 * value. */
static bool list_matches(const wf_match *list, size_t n, const eng_event *ev, const char *per,
                         const char *value, bool strict_per)
{
    for (size_t i = 0; i < n; i++) {
        if (!match_event(&list[i], ev))
            continue;
        if (per && value) {
            const char *v = kv_get(ev->attrs, ev->nattrs, per);
            if (v ? strcmp(v, value) != 0 : strict_per)
                continue;
        }
        return true;
    }
    return false;
}

/* The minimum length the workflow sets for a period's reason, or NULL. */
static const wf_min_length *min_length(const exc_period *p)
{
    for (size_t i = 0; p->et && i < p->et->nmin_lengths; i++)
        if (strcmp(p->et->min_lengths[i].reason, p->reason) == 0)
            return &p->et->min_lengths[i];
    return NULL;
}

/*
 * Exception periods with a reason in excused_by overlapping [from, to]; the
 * note, appended to note, names them. A reason with a minimum_length counts
 * only when the period lasted at least that long, both days included: to its
 * end, or while still open to the due date (to), as far as this deadline is
 * concerned. A shorter one is named in the note as excusing nothing.
 */
static bool excused(const replay *r, const wf_deadline *dl, cal_day from, cal_day to, sb *note)
{
    bool any = false;
    char d1[CAL_DATE_LEN], d2[CAL_DATE_LEN];
    for (size_t i = 0; i < r->nexc; i++) {
        const exc_period *p = &r->exc[i];
        if (!in_list(dl->excused_by, dl->nexcused_by, p->reason))
            continue;
        if (p->start > to || (p->end != CAL_NONE && p->end < from))
            continue;
        const wf_min_length *ml = min_length(p);
        bool counts = true;
        if (ml) {
            int64_t length = (int64_t)(p->end != CAL_NONE ? p->end : to) - p->start + 1;
            int64_t need = (int64_t)cal_add(p->start, ml->n, ml->unit) - p->start;
            counts = length >= need;
        }
        if (note->len)
            sb_add(note, "; ");
        if (p->recognised) {
            char d3[CAL_DATE_LEN];
            sb_addf(note,
                    "exception (%s): %s on %s, inside reg. 10(4)(a)'s window around the %s "
                    "(closed %s, reopening %s)",
                    p->reason, p->et && p->et->title ? p->et->title : p->by->type,
                    day_str(p->by->on, d1), p->closure.name ? p->closure.name : "school closure",
                    day_str(p->closure.first, d2), day_str(p->closure.reopens, d3));
            any = true;
            continue;
        }
        if (p->end == CAL_NONE)
            sb_addf(note, "exception (%s) from %s, still open", p->reason, day_str(p->start, d1));
        else
            sb_addf(note, "exception (%s) from %s to %s", p->reason, day_str(p->start, d1),
                    day_str(p->end, d2));
        if (!counts)
            sb_addf(note, ", %s than %d %s: excuses nothing",
                    p->end == CAL_NONE ? "by the due date open for less" : "shorter", ml->n,
                    cal_unit_name(ml->unit, ml->n));
        any = any || counts;
    }
    return any;
}

/*
 * Lay one occurrence of a deadline against the replayed history.
 *
 * Events before the clock started cannot meet or cancel it. For a deadline
 * that falls before its anchor ("5 months before the transfer", "before
 * 15 February in the year of the transfer") or that is anchored on a date
 * attribute (the transfer date lies in the future), the work is done before
 * that date, so any event of the process counts.
 */
/*
 * The service's shorter review cycle for a child under 5 on the anchor date
 * (SEND Code of Practice 9.178), when it is shorter than the statutory one;
 * the explanation says so.
 */
static void apply_under_5(eng_deadline *out, const eng_input *in, const wf_deadline *dl)
{
    const svc_settings *svc = in->svc;
    if (!dl->under_5 || !svc || !svc->under5_on || !in->has_dob ||
        coh_age_on(in->dob, out->anchor_on) >= 5)
        return;
    wf_due shorter = dl->due;
    shorter.n = svc->under5_n;
    shorter.unit = svc->under5_unit;
    cal_day due = due_date(&shorter, out->anchor_on, in->cal);
    if (due >= out->due)
        return;
    char d1[CAL_DATE_LEN], d2[CAL_DATE_LEN];
    char *was = out->explain;
    out->explain = xasprintf("%d %s (the service's cycle for children under 5, SEND Code of "
                             "Practice 9.178: the child was %d on %s); the statutory limit is "
                             "%s: %s",
                             shorter.n, cal_unit_name(shorter.unit, shorter.n),
                             coh_age_on(in->dob, out->anchor_on), day_str(out->anchor_on, d1),
                             day_str(out->due, d2), was);
    free(was);
    out->due = due;
}

/*
 * HESC Tribunal Rules 2008: an appeal time limit that ends from 25 December to
 * 1 January, or in August, ends instead on the first working day after
 * 1 January or 31 August (r. 12(3), statutory-timescales §6); one that ends
 * on another day that is not a working day runs to the next working day
 * (r. 12(2)).
 */
static void apply_tribunal_closures(eng_deadline *out, const eng_input *in, const wf_deadline *dl)
{
    if (!dl->tribunal_closures)
        return;
    int y, m, d;
    cal_to_ymd(out->due, &y, &m, &d);
    cal_day after;
    if (m == 12 && d >= 25)
        after = cal_from_ymd(y + 1, 1, 1);
    else if (m == 1 && d == 1)
        after = cal_from_ymd(y, 1, 1);
    else if (m == 8)
        after = cal_from_ymd(y, 8, 31);
    else {
        /* r. 12(2): a time limit ending on a day that is not a working day runs to the next. */
        cal_day next = out->due;
        while (in->cal ? !hol_is_working_day(in->cal, next) : cal_weekday(next) > 5)
            next = cal_add_days(next, 1);
        if (next == out->due)
            return;
        char d0[CAL_DATE_LEN];
        char *was0 = out->explain;
        out->explain = xasprintf("%s ends %s, not a working day, so the time limit runs to the "
                                 "next working day (HESC Tribunal Rules 2008, r. 12(2))",
                                 was0, day_str(out->due, d0));
        free(was0);
        out->due = next;
        return;
    }
    cal_day moved = cal_add_days(after, 1);
    while (in->cal ? !hol_is_working_day(in->cal, moved) : cal_weekday(moved) > 5)
        moved = cal_add_days(moved, 1);
    char d1[CAL_DATE_LEN];
    char *was = out->explain;
    out->explain = xasprintf("%s ends %s, %s, so the time limit runs to the first working day "
                             "after (HESC Tribunal Rules 2008, r. 12(3) as IPSEA reads it)",
                             was, day_str(out->due, d1),
                             m == 8 ? "in August" : "between 25 December and 1 January");
    free(was);
    out->due = moved;
}

/*
 * "or_later": a second clock with its own anchor; the due date is the later
 * of the two. An event anchor counts only on or after the deadline's own (a
 * mediation certificate after the decision it concerns: the appeal window is
 * the later of 2 months from the decision and 1 month from the certificate,
 * r. 20(1)(c)); the latest such event with "use: latest". No anchor yet: no
 * change. The explanation names both.
 */
static void apply_or_later(eng_deadline *out, const eng_input *in, const replay *r,
                           const wf_deadline *dl, const attrs_eff *eff)
{
    const wf_deadline *o = dl->or_later;
    if (!o)
        return;
    instance inst = {CAL_NONE, NULL, NULL};
    switch (o->anchor_kind) {
    case WF_ANCHOR_START:
        inst.anchor = in->start;
        break;
    case WF_ANCHOR_ATTRIBUTE: {
        const char *sv = o->anchor_attr ? kv_get(eff->kv, eff->n, o->anchor_attr) : NULL;
        cal_day d;
        if (sv && cal_parse(sv, &d) == 0)
            inst.anchor = d;
        break;
    }
    case WF_ANCHOR_EVENT:
        for (size_t i = 0; i < r->n; i++) {
            const eng_event *ev = r->ev[i];
            if (ev->on < out->anchor_on || !anchor_matches(o, ev))
                continue;
            cal_day on = ev->on;
            if (o->anchor_event_attr) {
                const char *ds = kv_get(ev->attrs, ev->nattrs, o->anchor_event_attr);
                if (!ds || cal_parse(ds, &on) != 0)
                    continue;
            }
            inst.anchor = on;
            inst.type = ev->type;
            if (!o->anchor_latest)
                break;
        }
        break;
    }
    if (inst.anchor == CAL_NONE)
        return;
    cal_day due = due_date(&o->due, inst.anchor, in->cal);
    char *second = explain(in->wf, o, &inst, NULL);
    char d1[CAL_DATE_LEN];
    char *was = out->explain;
    if (due > out->due) {
        out->explain =
            xasprintf("%s; the later date applies: %s, ending %s", was, second, day_str(due, d1));
        out->due = due;
    } else {
        out->explain =
            xasprintf("%s (the later of this and %s, ending %s)", was, second, day_str(due, d1));
    }
    free(was);
    free(second);
}

static void fill_deadline(eng_deadline *out, const eng_input *in, const replay *r,
                          const wf_deadline *dl, const instance *inst, const attrs_eff *eff)
{
    const wf_workflow *wf = in->wf;
    char d1[CAL_DATE_LEN];
    memset(out, 0, sizeof *out);
    out->name = subst(dl->name ? dl->name : dl->key, dl->per, inst->value);
    out->title =
        subst(dl->title ? dl->title : (dl->name ? dl->name : dl->key), dl->per, inst->value);
    out->kind = dl->kind;
    out->anchor_on = inst->anchor;
    out->due = due_date(&dl->due, inst->anchor, in->cal);
    out->resolution = ENG_OPEN;
    out->met_on = CAL_NONE;
    out->cancelled_on = CAL_NONE;
    out->basis = dl->basis;
    out->explain =
        explain(wf, dl, inst,
                dl->anchor_kind == WF_ANCHOR_ATTRIBUTE ? find_derived(eff, dl->anchor_attr) : NULL);
    apply_under_5(out, in, dl);
    apply_or_later(out, in, r, dl, eff);
    apply_tribunal_closures(out, in, dl);

    cal_day from = inst->anchor;
    if (dl->anchor_kind == WF_ANCHOR_ATTRIBUTE || out->due < inst->anchor)
        from = CAL_NONE; /* INT32_MIN: every event counts */

    /* A clock started by an event the process takes after its end (a mediation
     * certificate is due after a decision that ended it) is not ended by that end. */
    const wf_event *anchor_et = inst->type ? wf_find_event(wf, inst->type) : NULL;
    bool outlives_end = anchor_et && anchor_et->after_end;
    sb note = {0};
    for (size_t i = 0; i < r->n; i++) {
        const eng_event *ev = r->ev[i];
        if (ev->on >= from) {
            /* A period that has run its course is met by its end, not by a later event. */
            bool can_meet = dl->kind != WF_DEADLINE_PERIOD || ev->on <= out->due;
            if (can_meet && list_matches(dl->met_by, dl->nmet_by, ev, dl->per, inst->value, true)) {
                out->resolution = ENG_MET;
                out->met_on = ev->on;
                break;
            }
            if (list_matches(dl->cancelled_by, dl->ncancelled_by, ev, dl->per, inst->value,
                             false)) {
                out->resolution = ENG_CANCELLED_DL;
                out->cancelled_on = ev->on;
                sb_addf(&note, "cancelled by %s on %s", event_title(wf, ev->type),
                        day_str(ev->on, d1));
                break;
            }
        }
        if (i == r->ended_idx && !outlives_end) {
            if (dl->kind == WF_DEADLINE_PERIOD) {
                /*
                 * A period is a right of the parent or young person (to make
                 * representations for 15 days): ending the process does not
                 * take it away. It runs its course (pending, then met) and
                 * says that the process ended too early.
                 */
                bool opened_by_end = dl->anchor_kind == WF_ANCHOR_EVENT && anchor_matches(dl, ev);
                if (r->ended_on <= out->due && !opened_by_end)
                    sb_addf(&note,
                            "the process ended on %s (%s) before this period had run: %s "
                            "requires it to run in full",
                            day_str(r->ended_on, d1), event_title(wf, ev->type), dl->basis);
                /* Events taken after the end (an appeal lodged) can still end it early. */
                continue;
            }
            /* A duty still unmet no longer applies; one already missed says so. */
            out->resolution = ENG_CANCELLED_DL;
            out->cancelled_on = r->ended_on;
            sb_addf(&note, "cancelled: process %s (%s) on %s",
                    r->state->final == WF_CANCELLED ? "cancelled" : "completed",
                    state_title(r->state), day_str(r->ended_on, d1));
            if (r->ended_on > out->due) {
                int64_t late = (int64_t)r->ended_on - out->due;
                sb_addf(&note, ", %lld day%s after it fell due", (long long)late,
                        late == 1 ? "" : "s");
            }
            break;
        }
    }

    /*
     * The exceptions matter only for a deadline that was missed: met late, or
     * a duty still unmet (the engine has no today: an unmet duty is missed
     * once its due date passes, and "excused" then needs its reason). A duty
     * met on time, a period, or a cancelled deadline keeps its own note.
     */
    sb exc = {0};
    out->excusable = excused(r, dl, from == CAL_NONE ? in->start : from, out->due, &exc);
    bool missed =
        dl->kind == WF_DEADLINE_DUTY &&
        (out->resolution == ENG_OPEN || (out->resolution == ENG_MET && out->met_on > out->due));
    if (missed && exc.len)
        out->note = sb_steal(&exc);
    else if (note.len)
        out->note = sb_steal(&note);
    sb_free(&exc);
    sb_free(&note);
}

/* The occurrences of one deadline that exist so far (0 or more), sorted. */
static size_t find_instances(const eng_input *in, const replay *r, const wf_deadline *dl,
                             const attrs_eff *eff, instance **out)
{
    instance *v = NULL;
    size_t n = 0;
    switch (dl->anchor_kind) {
    case WF_ANCHOR_START:
        v = xmalloc(sizeof *v);
        v[n++] = (instance){in->start, NULL, NULL};
        break;
    case WF_ANCHOR_ATTRIBUTE: {
        const char *s = dl->anchor_attr ? kv_get(eff->kv, eff->n, dl->anchor_attr) : NULL;
        cal_day d;
        if (s && cal_parse(s, &d) == 0) {
            v = xmalloc(sizeof *v);
            v[n++] = (instance){d, NULL, NULL};
        }
        break;
    }
    case WF_ANCHOR_EVENT:
        for (size_t i = 0; i < r->n; i++) {
            const eng_event *ev = r->ev[i];
            if (!anchor_matches(dl, ev))
                continue;
            cal_day on = ev->on;
            if (dl->anchor_event_attr) {
                const char *ds = kv_get(ev->attrs, ev->nattrs, dl->anchor_event_attr);
                if (!ds || cal_parse(ds, &on) != 0)
                    continue;
            }
            const char *value = NULL;
            if (dl->anchor_latest && !dl->per) {
                /* A rescheduled meeting replaces the earlier date. */
                if (!v)
                    v = xmalloc(sizeof *v);
                v[0] = (instance){on, NULL, ev->type};
                n = 1;
                continue;
            }
            if (dl->per) {
                value = kv_get(ev->attrs, ev->nattrs, dl->per);
                if (!value)
                    continue;
                bool seen = false;
                for (size_t k = 0; k < n && !seen; k++)
                    seen = strcmp(v[k].value, value) == 0;
                if (seen)
                    continue;
            }
            v = xrealloc(v, (n + 1) * sizeof *v);
            v[n++] = (instance){on, value, ev->type};
            if (!dl->per)
                break;
        }
        break;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_instances);
    *out = v;
    return n;
}

/* Flags the workflow raises on this history ("preparing for adulthood" from Year 9). */
static void raise_flags(eng_result *res, const eng_input *in)
{
    const wf_workflow *wf = in->wf;
    if (!in->has_dob || !wf->nflags)
        return;
    res->flags = xcalloc(wf->nflags, sizeof *res->flags);
    for (size_t i = 0; i < wf->nflags; i++) {
        const wf_flag *f = &wf->flags[i];
        const eng_deadline *dl = NULL;
        for (size_t k = 0; k < res->ndeadlines && !dl; k++)
            if (!strcmp(res->deadlines[k].name, f->deadline))
                dl = &res->deadlines[k];
        if (!dl)
            continue;
        bool met = dl->resolution == ENG_MET;
        cal_day on = met ? dl->met_on : dl->due;
        if (coh_school_year_on(in->dob, on) < f->from_school_year)
            continue;
        char d1[CAL_DATE_LEN], d2[CAL_DATE_LEN], d3[CAL_DATE_LEN];
        eng_flag *fl = &res->flags[res->nflags++];
        fl->name = f->name;
        fl->title = f->title;
        fl->basis = f->basis;
        fl->note = xasprintf("%s %s %s, in %s or later (%s began %s for a child born on %s)",
                             dl->title, met ? "met on" : "due by", day_str(on, d1),
                             coh_year_name(f->from_school_year), coh_year_name(f->from_school_year),
                             day_str(coh_year_start(in->dob, f->from_school_year), d2),
                             day_str(in->dob, d3));
    }
}

int eng_evaluate(const eng_input *in_orig, eng_result **out, char err[ENG_ERR_LEN])
{
    *out = NULL;
    eng_input local = *in_orig;
    eng_event *renamed = renamed_events(in_orig->wf, in_orig->events, in_orig->nevents);
    if (renamed)
        local.events = renamed;
    const eng_input *in = &local;
    attrs_eff eff;
    (void)derive_attrs(in, &eff, NULL);
    replay r;
    int rc = replay_run(&r, in->wf, in->events, in->nevents, err);
    if (rc < 0) {
        replay_free(&r);
        attrs_eff_free(&eff);
        free(renamed);
        return rc;
    }
    recognise_closures(&r, in);

    eng_result *res = xcalloc(1, sizeof *res);
    res->state = r.state->name;
    res->status = r.state->final == WF_COMPLETED   ? ENG_COMPLETED
                  : r.state->final == WF_CANCELLED ? ENG_CANCELLED
                                                   : ENG_ACTIVE;
    res->ended_on = r.ended_on;

    size_t cap = 0;
    for (size_t k = 0; k < in->wf->ndeadlines; k++) {
        const wf_deadline *dl = &in->wf->deadlines[k];
        if (!conds_all(dl->if_conds, dl->nif_conds, eff.kv, eff.n) ||
            !conds_none(dl->unless_conds, dl->nunless_conds, eff.kv, eff.n))
            continue;
        /* Of variants sharing a name, the first that applies wins. */
        bool taken = false;
        for (size_t j = 0; j < res->ndeadlines && !taken && !dl->per; j++)
            taken = !strcmp(res->deadlines[j].name, dl->name);
        if (taken)
            continue;
        instance *inst;
        size_t ni = find_instances(in, &r, dl, &eff, &inst);
        for (size_t j = 0; j < ni; j++) {
            if (res->ndeadlines == cap) {
                cap = cap ? cap * 2 : 8;
                res->deadlines = xrealloc(res->deadlines, cap * sizeof *res->deadlines);
            }
            fill_deadline(&res->deadlines[res->ndeadlines++], in, &r, dl, &inst[j], &eff);
        }
        free(inst);
    }
    raise_flags(res, in);

    res->starts = r.starts;
    res->nstarts = r.nstarts;
    r.starts = NULL;
    replay_free(&r);
    attrs_eff_free(&eff);
    free(renamed);
    *out = res;
    return 0;
}

void eng_result_free(eng_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->ndeadlines; i++) {
        free(res->deadlines[i].name);
        free(res->deadlines[i].title);
        free(res->deadlines[i].explain);
        free(res->deadlines[i].note);
    }
    free(res->deadlines);
    free(res->starts);
    for (size_t i = 0; i < res->nflags; i++)
        free(res->flags[i].note);
    free(res->flags);
    free(res);
}

/* ---- checking input ---------------------------------------------------- */

/* "a, b, c" of the spec's allowed values. */
static void add_values(sb *b, const wf_attr *a)
{
    for (size_t i = 0; i < a->nvalues; i++)
        sb_addf(b, "%s%s", i ? ", " : "", a->values[i]);
}

/*
 * Check attributes against their specs. subject starts every sentence
 * ("decision_to_assess", "the phase-transfer workflow"). 0 or -ENG_EBAD_ATTRIBUTE.
 */
static int check_attrs(const char *subject, const wf_attr *specs, size_t nspecs, const wf_kv *attrs,
                       size_t n, char *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *key = attrs[i].key ? attrs[i].key : "";
        const char *value = attrs[i].value ? attrs[i].value : "";
        const wf_attr *a = wf_find_attr(specs, nspecs, key);
        if (!a) {
            sb b = {0};
            if (!nspecs) {
                sb_addf(&b, "%s takes no attributes (got \"%s\")", subject, key);
            } else {
                sb_addf(&b, "%s has no attribute \"%s\"; it takes: ", subject, key);
                for (size_t k = 0; k < nspecs; k++)
                    sb_addf(&b, "%s%s", k ? ", " : "", specs[k].name);
            }
            set_err_sb(err, &b);
            return -ENG_EBAD_ATTRIBUTE;
        }
        for (size_t k = 0; k < i; k++) {
            if (attrs[k].key && strcmp(attrs[k].key, key) == 0) {
                set_err(err, "%s: attribute \"%s\" is given twice", subject, key);
                return -ENG_EBAD_ATTRIBUTE;
            }
        }
        if (a->nvalues && !in_list(a->values, a->nvalues, value)) {
            sb b = {0};
            sb_addf(&b, "%s: %s=\"%s\" is not allowed; use one of: ", subject, key, value);
            add_values(&b, a);
            set_err_sb(err, &b);
            return -ENG_EBAD_ATTRIBUTE;
        }
        if (a->is_date && cal_parse(value, NULL) != 0) {
            set_err(err, "%s: %s=\"%s\" is not a date (YYYY-MM-DD, a real day in %d..%d)", subject,
                    key, value, CAL_MIN_YEAR, CAL_MAX_YEAR);
            return -ENG_EBAD_ATTRIBUTE;
        }
    }
    for (size_t k = 0; k < nspecs; k++) {
        if (specs[k].required && !kv_get(attrs, n, specs[k].name)) {
            sb b = {0};
            sb_addf(&b, "%s needs the attribute %s", subject, specs[k].name);
            if (specs[k].nvalues) {
                sb_add(&b, " (one of: ");
                add_values(&b, &specs[k]);
                sb_add(&b, ")");
            } else if (specs[k].is_date) {
                sb_add(&b, " (a date, YYYY-MM-DD)");
            }
            set_err_sb(err, &b);
            return -ENG_EBAD_ATTRIBUTE;
        }
    }
    return 0;
}

int eng_check_start_attrs(const wf_workflow *wf, const wf_kv *attrs, size_t n,
                          char err[ENG_ERR_LEN])
{
    char subject[256];
    snprintf(subject, sizeof subject, "the %s workflow", wf->name);
    return check_attrs(subject, wf->attrs, wf->nattrs, attrs, n, err);
}

int eng_check_start(const eng_input *in, char err[ENG_ERR_LEN])
{
    int rc = eng_check_start_attrs(in->wf, in->attrs, in->nattrs, err);
    if (rc < 0)
        return rc;
    attrs_eff eff;
    rc = derive_attrs(in, &eff, err);
    attrs_eff_free(&eff);
    return rc;
}

/*
 * The replay with the candidate (all[in->nevents]) in place, r, found
 * exception events that open or close nothing. Refuse the candidate when it
 * is one of them, or when it makes a recorded one stray that was not before
 * (an end dated before a recorded end of the same period); strays already in
 * the recorded history (older data) are tolerated. 0 or -ENG_ENOT_ALLOWED.
 */
static int check_event(const eng_input *in, const eng_event *ev, char *err);

static int check_strays(const eng_input *in, const eng_event *all, const replay *r,
                        const eng_event *ev, char *err)
{
    char d1[CAL_DATE_LEN];
    for (size_t k = 0; k < r->nstray; k++) {
        if (r->ev[r->stray[k].idx] == &all[in->nevents]) {
            set_err(err, "%s", r->stray[k].why);
            return -ENG_ENOT_ALLOWED;
        }
    }
    replay before;
    int rc = 0;
    (void)replay_run(&before, in->wf, in->events, in->nevents, NULL);
    bool *was = xcalloc(in->nevents ? in->nevents : 1, sizeof *was);
    for (size_t k = 0; k < before.nstray; k++)
        was[before.ev[before.stray[k].idx] - in->events] = true;
    for (size_t k = 0; k < r->nstray && rc == 0; k++) {
        size_t pos = (size_t)(r->ev[r->stray[k].idx] - all);
        if (!was[pos]) {
            set_err(err, "%s on %s would put a recorded event out of place: %s", ev->type,
                    day_str(ev->on, d1), r->stray[k].why);
            rc = -ENG_ENOT_ALLOWED;
        }
    }
    free(was);
    replay_free(&before);
    return rc;
}

int eng_check_event(const eng_input *in_orig, const eng_event *ev, char err[ENG_ERR_LEN])
{
    eng_input local = *in_orig;
    eng_event *renamed = renamed_events(in_orig->wf, in_orig->events, in_orig->nevents);
    if (renamed)
        local.events = renamed;
    int rc = check_event(&local, ev, err);
    free(renamed);
    return rc;
}

/*
 * "refused_while_open": the event is refused on a day when one of the named
 * deadlines of the recorded history has started, has not ended, and is
 * neither met nor cancelled (a plan is not ceased while its appeal window is
 * open, CFA 2014 s. 45). 0 or -ENG_ENOT_ALLOWED with the window in err.
 */
static int check_refused_while_open(const eng_input *in, const wf_event *et, const eng_event *ev,
                                    char *err)
{
    eng_result *res = NULL;
    if (eng_evaluate(in, &res, NULL) != 0)
        return 0; /* the replay above already judged the history */
    int rc = 0;
    char d1[CAL_DATE_LEN], d2[CAL_DATE_LEN];
    for (size_t i = 0; i < res->ndeadlines && rc == 0; i++) {
        const eng_deadline *d = &res->deadlines[i];
        if (!in_list(et->refused_while_open, et->nrefused_while_open, d->name))
            continue;
        bool open_then =
            d->anchor_on <= ev->on && ev->on <= d->due &&
            (d->resolution == ENG_OPEN || (d->resolution == ENG_MET && d->met_on > ev->on) ||
             (d->resolution == ENG_CANCELLED_DL && d->cancelled_on > ev->on));
        if (!open_then)
            continue;
        set_err(err, "%s on %s is refused: the %s (%s) is open until %s (%s; %s)", ev->type,
                day_str(ev->on, d1), d->name, d->title, day_str(d->due, d2), d->explain, d->basis);
        rc = -ENG_ENOT_ALLOWED;
    }
    eng_result_free(res);
    return rc;
}

static int check_event(const eng_input *in, const eng_event *ev, char *err)
{
    const wf_workflow *wf = in->wf;
    const wf_event *et = wf_find_event(wf, ev->type ? ev->type : "");
    if (!et) {
        sb b = {0};
        sb_addf(&b, "the %s workflow has no event \"%s\"; it takes: ", wf->name,
                ev->type ? ev->type : "");
        for (size_t i = 0; i < wf->nevents; i++)
            sb_addf(&b, "%s%s", i ? ", " : "", wf->events[i].name);
        set_err_sb(err, &b);
        return -ENG_EUNKNOWN_EVENT;
    }
    int rc = check_attrs(et->name, et->attrs, et->nattrs, ev->attrs, ev->nattrs, err);
    if (rc < 0)
        return rc;
    char d1[CAL_DATE_LEN], d2[CAL_DATE_LEN];
    if (ev->on == CAL_NONE || ev->on < in->start) {
        set_err(err, "%s on %s is before the process started on %s", ev->type,
                ev->on == CAL_NONE ? "(no date)" : day_str(ev->on, d1), day_str(in->start, d2));
        return -ENG_EBAD_DATE;
    }

    /*
     * Replay the history with the new event. It has not been recorded yet, so
     * it is the last recorded: on a day it shares with recorded events it goes
     * after them, whatever seq the caller gave it.
     */
    eng_event *all = xcalloc(in->nevents + 1, sizeof *all);
    int64_t maxseq = INT64_MIN;
    for (size_t i = 0; i < in->nevents; i++) {
        all[i] = in->events[i];
        if (all[i].seq > maxseq)
            maxseq = all[i].seq;
    }
    eng_event cand = *ev;
    if (in->nevents && cand.seq <= maxseq && maxseq < INT64_MAX)
        cand.seq = maxseq + 1;
    all[in->nevents] = cand;

    replay r;
    char why[ENG_ERR_LEN];
    rc = replay_run(&r, wf, all, in->nevents + 1, why);
    if (rc < 0) {
        if (r.ev[r.fail_idx] == &all[in->nevents])
            set_err(err, "%s", why);
        else
            set_err(err, "%s on %s would put a recorded event out of place: %s", ev->type,
                    day_str(ev->on, d1), why);
        rc = -ENG_ENOT_ALLOWED;
    } else if (r.nstray) {
        rc = check_strays(in, all, &r, ev, err);
    }
    replay_free(&r);
    free(all);
    if (rc == 0 && et->nrefused_while_open)
        rc = check_refused_while_open(in, et, ev, err);
    return rc;
}

/* ---- statuses and names ------------------------------------------------ */

eng_status eng_deadline_status(wf_deadline_kind kind, eng_resolution res, cal_day due,
                               cal_day met_on, bool excusable, cal_day today)
{
    switch (res) {
    case ENG_CANCELLED_DL:
        return ENG_CANCELLED_ST;
    case ENG_MET:
        if (met_on <= due)
            return ENG_MET_ON_TIME;
        return excusable ? ENG_EXCUSED : ENG_LATE;
    case ENG_OPEN:
        break;
    }
    if (kind == WF_DEADLINE_PERIOD)
        return today > due ? ENG_MET_ON_TIME : ENG_PENDING;
    if (today <= due)
        return ENG_PENDING;
    return excusable ? ENG_EXCUSED : ENG_OVERDUE;
}

const char *eng_status_name(eng_status s)
{
    switch (s) {
    case ENG_PENDING:
        return "pending";
    case ENG_OVERDUE:
        return "overdue";
    case ENG_MET_ON_TIME:
        return "met";
    case ENG_LATE:
        return "late";
    case ENG_EXCUSED:
        return "excused";
    case ENG_CANCELLED_ST:
        return "cancelled";
    }
    return "?";
}

const char *eng_proc_status_name(eng_proc_status s)
{
    switch (s) {
    case ENG_ACTIVE:
        return "active";
    case ENG_COMPLETED:
        return "completed";
    case ENG_CANCELLED:
        return "cancelled";
    }
    return "?";
}

const char *eng_resolution_name(eng_resolution r)
{
    switch (r) {
    case ENG_OPEN:
        return "open";
    case ENG_MET:
        return "met";
    case ENG_CANCELLED_DL:
        return "cancelled";
    }
    return "?";
}

int eng_resolution_parse(const char *s, eng_resolution *out)
{
    static const eng_resolution all[] = {ENG_OPEN, ENG_MET, ENG_CANCELLED_DL};
    if (!s)
        return -1;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, eng_resolution_name(all[i])) == 0) {
            if (out)
                *out = all[i];
            return 0;
        }
    }
    return -1;
}
