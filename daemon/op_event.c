/*
 * op_event: recording an event (ops.h). The job reads the case, replays the
 * target process's events with the new one in the engine, then writes the
 * event and the recomputed process; both the read and the write are batched
 * with other requests' (op_batch.c), and the reply goes out once the write's
 * batch has committed.
 */
#include "ops.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "evalio.h"
#include "bounds.h"
#include "log.h"
#include "esc.h"
#include "transfers.h"

/* The protocol error for a negated eng_err from eng_check_event. */
static proto_err eng_err_to_proto(int rc)
{
    switch (-rc) {
    case ENG_EUNKNOWN_EVENT:
        return PROTO_ERR_UNKNOWN_EVENT;
    case ENG_EBAD_ATTRIBUTE:
        return PROTO_ERR_BAD_ATTRIBUTE;
    case ENG_EBAD_DATE:
        return PROTO_ERR_BAD_DATE;
    default:
        return PROTO_ERR_NOT_ALLOWED;
    }
}
static void event_read(job *j);

static void event_written(job *j, json_t *out)
{
    const char *event_id = json_string_value(json_object_get(out, "event_id"));
    json_t *proc = json_object_get(out, "process");
    json_t *started = json_object_get(out, "started");
    char on[CAL_DATE_LEN];
    log_info("conn %" PRIu64 ": case %s: event %s %s on %s recorded for process %s (%s, %s)%s%s",
             j->req->conn_id, j->case_ref, event_id, j->type, cal_format(j->on, on),
             json_string_value(json_object_get(j->target, "id")), j->result->state,
             eng_proc_status_name(j->result->status), j->actor ? " by " : "",
             j->actor ? j->actor : "");
    eio_decorate_process(proc, j->today);
    size_t i;
    json_t *p;
    json_array_foreach(started, i, p)
    {
        log_info("conn %" PRIu64 ": case %s: process %s %s started on %s by event %s",
                 j->req->conn_id, j->case_ref, json_string_value(json_object_get(p, "id")),
                 json_string_value(json_object_get(p, "workflow")),
                 json_string_value(json_object_get(p, "started_on")), event_id);
        eio_decorate_process(p, j->today);
    }
    j->reply = json_pack("{s:b,s:{s:s,s:s,s:s,s:o},s:O,s:O}", "duplicate", 0, "event", "id",
                         event_id, "type", j->type, "on", on, "attrs",
                         eio_attrs_json(j->attrs, j->nattrs), "process", proc, "started", started);
    if (json_array_size(started))
        transfers_sweep(j->d, j->case_id);
    j->audited = true; /* by sf_record_events, with the event */
    job_reply(j);
}

/* The follow-on processes the event starts, as sf_record_event takes them (new ref). */
static json_t *children_json(job *j)
{
    json_t *children = json_array();
    for (size_t s = 0; s < j->result->nstarts; s++) {
        const eng_start *st = &j->result->starts[s];
        /* The replay reports the starts of recorded events too: those exist already. */
        if (st->event_seq != INT64_MAX)
            continue;
        const wf_workflow *cw = wf_set_find(j->d->workflows, st->workflow);
        if (!cw)
            continue; /* wf_set_check guarantees it exists */
        /* Another active process of that workflow (e.g. started by hand) keeps its place;
         * the process taking the event does not count when the event ends it. */
        bool taken = false;
        size_t i;
        json_t *p;
        json_array_foreach(j->processes, i, p)
        {
            if (p == j->target && j->result->status != ENG_ACTIVE)
                continue;
            if (strcmp(json_string_value(json_object_get(p, "workflow")), st->workflow) == 0 &&
                strcmp(json_string_value(json_object_get(p, "status")), "active") == 0)
                taken = true;
        }
        if (taken) {
            log_info("conn %" PRIu64 ": case %s already has an active %s; not starting another",
                     j->req->conn_id, j->case_ref, st->workflow);
            continue;
        }
        eng_input in = {.wf = cw, .start = st->on, .attrs = st->attrs, .nattrs = st->nattrs};
        eio_input_env(j->d, j->case_dob, &in);
        eng_result *cr = NULL;
        char err[ENG_ERR_LEN];
        if (eng_evaluate(&in, &cr, err) != 0) {
            log_error("conn %" PRIu64 ": cannot start %s: %s", j->req->conn_id, st->workflow, err);
            continue;
        }
        json_array_append_new(
            children, json_pack("{s:s,s:i,s:o,s:o,s:s,s:s,s:o,s:o}", "workflow", cw->name,
                                "version", cw->version, "started_on", eio_date(st->on), "attrs",
                                eio_attrs_json(st->attrs, st->nattrs), "status",
                                eng_proc_status_name(cr->status), "state", cr->state, "ended_on",
                                eio_date(cr->ended_on), "deadlines", eio_deadlines(j->d, cr)));
        eng_result_free(cr);
    }
    return children;
}

/* Replay the target's events with the new one; write it all if the engine accepts it. */
static void event_apply(job *j)
{
    /* The target's recorded events, as the engine sees them. */
    const char *target_id = json_string_value(json_object_get(j->target, "id"));
    size_t n = job_load_events(j, j->case_events, target_id, INT64_MIN, 1);
    eng_event *ev = &j->events[n];
    ev->seq = INT64_MAX; /* recorded after every existing event */
    ev->type = j->type;
    ev->on = j->on;
    ev->attrs = j->attrs;
    ev->nattrs = j->nattrs;
    j->nevents = n + 1;

    eng_input in = job_target_input(j);
    in.events = j->events;
    in.nevents = n;
    char err[ENG_ERR_LEN];
    int rc = eng_check_event(&in, ev, err);
    if (rc != 0) {
        job_fail(j, eng_err_to_proto(rc), "%s", err);
        return;
    }
    in.nevents = j->nevents;
    if (eng_evaluate(&in, &j->result, err) != 0) {
        job_fail(j, PROTO_ERR_NOT_ALLOWED, "%s", err);
        return;
    }
    /* Only the deadline rows that changed, and the names that are gone. */
    json_t *dls = eio_deadlines(j->d, j->result);
    json_t *gone = NULL;
    json_t *changed = eio_deadlines_changed(dls, json_object_get(j->target, "sigs"), &gone);
    json_decref(dls);
    bool plan = j->d->esc && j->d->esc->nlevels > 0;
    json_t *item = json_pack(
        "{s:s,s:s,s:s,s:s,s:o,s:o,s:s?,s:s?,s:s,s:s,s:o,s:o,s:o,s:b,s:o}", "case", j->case_id,
        "case_version", j->case_version, "process", target_id, "type", j->type, "on",
        eio_date(j->on), "attrs", eio_attrs_json(j->attrs, j->nattrs), "key", j->key, "actor",
        j->actor, "status", eng_proc_status_name(j->result->status), "state", j->result->state,
        "ended_on", eio_date(j->result->ended_on), "deadlines", changed, "gone", gone, "plan", plan,
        "children", children_json(j));
    json_object_set_new(item, "audit", audit_item(j));
    /* Group commit: written with whatever else is queued; a lost race reads again. */
    op_batch_write(j, OP_BATCH_EVENTS, item, event_read, event_written);
}

/* Is the event the same request as the one already recorded under its key? */
static bool event_same_as_dup(job *j)
{
    json_t *want_attrs = eio_attrs_json(j->attrs, j->nattrs);
    bool same = strcmp(json_string_value(json_object_get(j->dup, "type")), j->type) == 0 &&
                eio_json_date(json_object_get(j->dup, "on")) == j->on &&
                json_equal(json_object_get(j->dup, "attrs"), want_attrs) &&
                (!j->process ||
                 strcmp(json_string_value(json_object_get(j->dup, "process")), j->process) == 0);
    json_decref(want_attrs);
    return same;
}

/* Answer a retry of an event already recorded under the same key. */
static void event_reply_duplicate(job *j)
{
    if (!event_same_as_dup(j)) {
        job_fail(j, PROTO_ERR_KEY_CONFLICT,
                 "idempotency key \"%s\" was already used on case %s for %s on %s (event %s);"
                 " nothing changed",
                 j->key, j->case_ref, json_string_value(json_object_get(j->dup, "type")),
                 json_string_value(json_object_get(j->dup, "on")),
                 json_string_value(json_object_get(j->dup, "id")));
        return;
    }
    log_info("conn %" PRIu64 ": case %s: key %s already recorded as event %s; nothing changed",
             j->req->conn_id, j->case_ref, j->key,
             json_string_value(json_object_get(j->dup, "id")));
    json_t *proc = json_incref(json_object_get(j->dup, "process_json"));
    eio_decorate_process(proc, j->today);
    /* The same reply as the first time: the processes it started, as they are now. */
    json_t *started = json_incref(json_object_get(j->dup, "started_json"));
    size_t i;
    json_t *p;
    json_array_foreach(started, i, p) eio_decorate_process(p, j->today);
    json_t *event = json_deep_copy(j->dup);
    json_object_del(event, "process");
    json_object_del(event, "process_json");
    json_object_del(event, "started_json");
    j->reply = json_pack("{s:b,s:o,s:o,s:o}", "duplicate", 1, "event", event, "process", proc,
                         "started", started);
    job_reply(j);
}

/*
 * Which process takes the event: the one named; else the one process whose
 * workflow declares the type and whose span holds the event's date (from its
 * start; for an ended process, before the day it ended). When several fit, the
 * caller must name one; when none fits, the latest active (else ended) process
 * that declares the type is chosen, so that the engine explains precisely why
 * it cannot take the event. Sets j->target and j->wf, or fails the job.
 */
/*
 * Would process p (running workflow w) take the event, replayed with its
 * recorded events? Used to choose between processes whose dates fit.
 */
static bool event_fits(job *j, json_t *p, const wf_workflow *w)
{
    const char *pid = json_string_value(json_object_get(p, "id"));
    json_t *mine = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(j->case_events, i, e)
    {
        if (!strcmp(json_string_value(json_object_get(e, "process")), pid))
            json_array_append(mine, e);
    }
    eio_input x;
    json_t *dob = eio_date(j->case_dob);
    eio_input_build(j->d, w, p, mine, dob, &x);
    eng_event ev = {
        .seq = INT64_MAX, .type = j->type, .on = j->on, .attrs = j->attrs, .nattrs = j->nattrs};
    char err[ENG_ERR_LEN];
    bool fits = eng_check_event(&x.in, &ev, err) == 0;
    eio_input_free(&x);
    json_decref(dob);
    json_decref(mine);
    return fits;
}

static bool event_choose_process(job *j)
{
    json_t *fit = NULL, *active = NULL, *ended = NULL;
    int nfit = 0;
    size_t i;
    json_t *p;
    sb takers = {0};
    json_array_foreach(j->processes, i, p)
    {
        const char *id = json_string_value(json_object_get(p, "id"));
        const char *wname = json_string_value(json_object_get(p, "workflow"));
        const wf_workflow *w = wf_set_find(j->d->workflows, wname);
        if (j->process && strcmp(id, j->process) == 0) {
            j->target = p;
            break;
        }
        /* Cancelled with the voided event that started it: it never happened. */
        if (json_is_true(json_object_get(p, "void_start")))
            continue;
        if (!w || !wf_find_event(w, j->type))
            continue;
        bool is_active = strcmp(json_string_value(json_object_get(p, "status")), "active") == 0;
        cal_day started = eio_json_date(json_object_get(p, "started_on"));
        cal_day ended_on = eio_json_date(json_object_get(p, "ended_on"));
        if (is_active)
            active = p;
        else
            ended = p;
        if (j->on >= started && (is_active || j->on < ended_on)) {
            fit = p;
            nfit++;
            sb_addf(&takers, "%s%s (%s)", nfit > 1 ? ", " : "", id, wname);
        }
    }
    if (!j->process && nfit > 1) {
        /* Several processes' dates fit: the ones whose state takes the event decide. */
        json_t *taker = NULL;
        int ntake = 0;
        sb names = {0};
        json_array_foreach(j->processes, i, p)
        {
            const char *wname = json_string_value(json_object_get(p, "workflow"));
            const wf_workflow *w = wf_set_find(j->d->workflows, wname);
            cal_day started = eio_json_date(json_object_get(p, "started_on"));
            cal_day ended_on = eio_json_date(json_object_get(p, "ended_on"));
            bool is_active = !strcmp(json_string_value(json_object_get(p, "status")), "active");
            if (!w || !wf_find_event(w, j->type) ||
                json_is_true(json_object_get(p, "void_start")) || j->on < started ||
                !(is_active || j->on < ended_on) || !event_fits(j, p, w))
                continue;
            taker = p;
            ntake++;
            sb_addf(&names, "%s%s (%s)", ntake > 1 ? ", " : "",
                    json_string_value(json_object_get(p, "id")), wname);
        }
        if (ntake == 1) {
            fit = taker;
            nfit = 1;
            sb_free(&names);
        } else if (ntake > 1) {
            sb_free(&takers);
            takers = names;
        } else {
            sb_free(&names);
        }
    }
    if (j->process && !j->target) {
        sb_free(&takers);
        job_fail(j, PROTO_ERR_NO_PROCESS, "case %s has no process %s", j->case_ref, j->process);
        return false;
    }
    if (j->target && json_is_true(json_object_get(j->target, "void_start"))) {
        sb_free(&takers);
        job_fail(j, PROTO_ERR_NOT_ALLOWED,
                 "process %s was cancelled because the event that started it was voided; it "
                 "takes no events (see sendflow history %s)",
                 j->process, j->case_ref);
        return false;
    }
    if (!j->target && nfit > 1) {
        job_fail(j, PROTO_ERR_AMBIGUOUS_PROCESS,
                 "processes %s of case %s could all take %s on that date; name one with "
                 "\"process\" (sendflow event --process ID)",
                 sb_str(&takers), j->case_ref, j->type);
        sb_free(&takers);
        return false;
    }
    sb_free(&takers);
    if (!j->target)
        j->target = fit ? fit : active ? active : ended;
    if (!j->target) {
        /* Say what the case's active processes do take, so the caseworker can correct it. */
        sb open = {0};
        json_array_foreach(j->processes, i, p)
        {
            if (strcmp(json_string_value(json_object_get(p, "status")), "active") != 0)
                continue;
            const char *wname = json_string_value(json_object_get(p, "workflow"));
            const wf_workflow *w = wf_set_find(j->d->workflows, wname);
            sb_addf(&open, "%s%s takes", open.len ? "; " : "", wname);
            for (size_t k = 0; w && k < w->nevents; k++)
                sb_addf(&open, "%s %s", k ? "," : "", w->events[k].name);
        }
        job_fail(j, PROTO_ERR_UNKNOWN_EVENT, "no process of case %s takes \"%s\" (%s)", j->case_ref,
                 j->type, open.len ? sb_str(&open) : "it has no active process; start one first");
        sb_free(&open);
        return false;
    }
    const char *wname = json_string_value(json_object_get(j->target, "workflow"));
    j->wf = wf_set_find(j->d->workflows, wname);
    if (!j->wf) {
        job_fail(j, PROTO_ERR_NOT_ALLOWED,
                 "process %s runs workflow %s, which this daemon has not loaded",
                 json_string_value(json_object_get(j->target, "id")), wname);
        return false;
    }
    return true;
}

/* The case is read (op_batch_read_case): a retry, or choose the process and apply. */
static void event_have_case(job *j)
{
    if (j->dup) {
        event_reply_duplicate(j);
        return;
    }
    if (event_choose_process(j))
        event_apply(j);
}

static void event_read(job *j)
{
    op_batch_read_case(j, false, event_have_case);
}

int op_event_parse(job *j, proto_err *code, sb *err)
{
    json_t *m = j->req->msg;
    if (proto_case_ref(m, "case", &j->case_ref, code, err) ||
        proto_str(m, "type", true, &j->type, code, err) ||
        proto_date(m, "on", true, &j->on, NULL, code, err) ||
        proto_attrs(m, "attrs", &j->attrs, &j->nattrs, code, err) ||
        bounds_check_attrs(j->d->bounds, j->attrs, j->nattrs, false, code, err) ||
        proto_str(m, "key", false, &j->key, code, err) ||
        proto_str(m, "process", false, &j->process, code, err) ||
        proto_str(m, "actor", false, &j->actor, code, err))
        return -1;
    return job_check_not_future(j, code, err);
}

void op_event_begin(job *j)
{
    event_read(j);
}
