/*
 * op_void: voiding an event posted by mistake (ops.h). The event is kept,
 * with its reason; its process is recomputed without it, and the follow-on
 * processes it started (if they have no events of their own) are cancelled.
 */
#include "ops.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "evalio.h"
#include "log.h"
#include "op_sql.h"

#define OP_STATEMENTS(X)                                                                           \
    /* $12, the audit row's clock, is the void's known_at too (schema 012). */                     \
    X(VOID_WRITE, SQL_AUDITED("SELECT sf_void_event_at($12, $1, $2, $3, $4, $5, $6, $7, $8, $9,"   \
                              " $10, $11::jsonb)",                                                 \
                              "$12", "$13", "$14", "$15", "$16", "$17", "$18", "$19"))             \
    X(VOID_READ,                                                                                   \
      "SELECT c.id, c.version, " SQL_PROCESSES_OF_CASE ","                                         \
      " (SELECT json_build_object('id', e.id::text, 'process', e.process_id::text,"                \
      "  'type', e.type, 'on', e.on_date, 'process_json', sf_process_json(e.process_id),"          \
      "  'void', (SELECT json_build_object('reason', v.reason, 'actor', v.actor, 'on',"            \
      "   to_char(v.recorded_at AT TIME ZONE 'Europe/London', 'YYYY-MM-DD'))"                      \
      "   FROM event_voids v WHERE v.event_id = e.id),"                                            \
      "  'children', (SELECT coalesce(json_agg(json_build_object('id', k.id::text,"                \
      "   'workflow', k.workflow, 'events', (SELECT count(*) FROM events ke"                       \
      "   WHERE ke.process_id = k.id AND NOT EXISTS (SELECT 1 FROM event_voids v"                  \
      "   WHERE v.event_id = ke.id))) ORDER BY k.id), '[]'::json)"                                 \
      "   FROM processes k WHERE k.parent_event_id = e.id),"                                       \
      "  'history', (SELECT coalesce(json_agg(json_build_object('id', h.id, 'type',"               \
      "   h.type, 'on', h.on_date, 'attrs', h.attrs) ORDER BY h.on_date, h.id),"                   \
      "   '[]'::json) FROM events h WHERE h.process_id = e.process_id"                             \
      "   AND NOT EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = h.id)))"                  \
      "  FROM events e WHERE e.case_id = c.id AND e.id = $2::bigint),"                             \
      " (SELECT json_build_object('event', v.event_id::text, 'reason', v.reason,"                  \
      "  'process_json', sf_process_json(e.process_id)) FROM event_voids v"                        \
      "  JOIN events e ON e.id = v.event_id WHERE v.case_id = c.id AND v.idem_key = $3)"           \
      ", to_char(c.dob, 'YYYY-MM-DD')"                                                             \
      " FROM cases c WHERE c.ref = $1")

typedef enum stmt_id {
#define X(id, sql) STMT_##id,
    OP_STATEMENTS(X)
#undef X
} stmt_id;

static const store_stmt statements[] = {
#define X(id, sql) {"sf_" #id, sql},
    OP_STATEMENTS(X)
#undef X
};

const store_stmts op_void_statements = {statements, sizeof statements / sizeof statements[0]};

static void void_read(job *j);

/* Events in the order the engine replays them: by date, then by recording. */
static int cmp_replay_order(const void *a, const void *b)
{
    const eng_event *x = a, *y = b;
    if (x->on != y->on)
        return x->on < y->on ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/*
 * Check events (sorted in replay order) one at a time, as the event path
 * checked each when it was posted: each against those before it. Returns the
 * index of the first that eng_check_event refuses and is not in tolerated
 * (with the reason in err), or n when all fit. tolerated (NULL: none) marks
 * events refused already in the history as it stands (older data, or a
 * definition changed since), which a void cannot be blamed for.
 */
static size_t first_misfit(const eng_input *base, const eng_event *events, size_t n,
                           const bool *tolerated, char err[ENG_ERR_LEN])
{
    char ignored[ENG_ERR_LEN];
    for (size_t k = 0; k < n; k++) {
        eng_input in = *base;
        in.events = events;
        in.nevents = k;
        bool known = tolerated && tolerated[k];
        if (eng_check_event(&in, &events[k], known ? ignored : err) != 0 && !known)
            return k;
    }
    return n;
}

/*
 * Can the process do without the event at index gone of sorted (replay
 * order)? The other events must still fit the workflow, checked one by one
 * as they were when posted. Returns true, or false with the first later
 * event that depended on it in *dep and the engine's reason in err.
 */
static bool void_fits(const eng_input *base, eng_event *sorted, size_t n, size_t gone, size_t *dep,
                      char err[ENG_ERR_LEN])
{
    bool *before = xcalloc(n + 1, sizeof *before);
    bool *tolerated = xcalloc(n + 1, sizeof *tolerated);
    eng_event *rest = xcalloc(n + 1, sizeof *rest);
    size_t *orig = xcalloc(n + 1, sizeof *orig);
    char ignored[ENG_ERR_LEN];
    /* The refusals the full history already has, all of them. */
    for (size_t k = 0; k < n; k++) {
        eng_input in = *base;
        in.events = sorted;
        in.nevents = k;
        before[k] = eng_check_event(&in, &sorted[k], ignored) != 0;
    }
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        if (k == gone)
            continue;
        tolerated[m] = before[k];
        orig[m] = k;
        rest[m++] = sorted[k];
    }
    size_t bad = first_misfit(base, rest, m, tolerated, err);
    bool ok = bad == m;
    if (!ok)
        *dep = orig[bad];
    free(before);
    free(tolerated);
    free(rest);
    free(orig);
    return ok;
}

static void void_written(job *j, PGresult *res)
{
    if (job_lost_race(j, res, void_read))
        return;
    j->audited = true; /* by the write itself (SQL_AUDITED) */
    json_t *out = job_json(res, 0, 0);
    json_t *proc = json_incref(json_object_get(out, "process"));
    json_t *gone = json_object_get(out, "cancelled");
    log_info("conn %" PRIu64 ": case %s: event %s (%s on %s) voided%s%s; process %s now %s (%s)",
             j->req->conn_id, j->case_ref, j->event_id,
             json_string_value(json_object_get(j->voiding, "type")),
             json_string_value(json_object_get(j->voiding, "on")), j->actor ? " by " : "",
             j->actor ? j->actor : "", json_string_value(json_object_get(proc, "id")),
             j->result->state, eng_proc_status_name(j->result->status));
    size_t i;
    json_t *k;
    json_array_foreach(gone, i, k)
    {
        log_info("conn %" PRIu64 ": case %s: process %s cancelled: started by voided event %s",
                 j->req->conn_id, j->case_ref, json_string_value(k), j->event_id);
    }
    eio_decorate_process(proc, j->today);
    j->reply = json_pack("{s:s,s:b,s:o}", "voided", j->event_id, "duplicate", 0, "process", proc);
    json_decref(out);
    job_reply(j);
}

/* Answer a void already done: the process as it stands now. proc_json is borrowed. */
static void void_reply_duplicate(job *j, json_t *proc_json, const char *event_id)
{
    log_info("conn %" PRIu64 ": case %s: event %s was already voided for that reason; nothing "
             "changed",
             j->req->conn_id, j->case_ref, event_id);
    json_t *proc = json_deep_copy(proc_json);
    eio_decorate_process(proc, j->today);
    j->reply = json_pack("{s:s,s:b,s:o}", "voided", event_id, "duplicate", 1, "process", proc);
    job_reply(j);
}

/*
 * A void that need not (or must not) write: a retry under the same key, an
 * event already voided, no such event, or children with events of their own.
 * True when it has replied.
 */
static bool void_settled(job *j)
{
    if (j->dup) {
        const char *ev = json_string_value(json_object_get(j->dup, "event"));
        const char *why = json_string_value(json_object_get(j->dup, "reason"));
        if (strcmp(ev, j->event_id) != 0 || strcmp(why, j->reason) != 0) {
            job_fail(j, PROTO_ERR_KEY_CONFLICT,
                     "idempotency key \"%s\" was already used on case %s to void event %s (\"%s\");"
                     " nothing changed",
                     j->key, j->case_ref, ev, why);
            return true;
        }
        void_reply_duplicate(j, json_object_get(j->dup, "process_json"), ev);
        return true;
    }
    if (!j->voiding) {
        job_fail(j, PROTO_ERR_NO_EVENT, "case %s has no event %s (sendflow history %s lists them)",
                 j->case_ref, j->event_id, j->case_ref);
        return true;
    }
    json_t *done = json_object_get(j->voiding, "void");
    if (json_is_object(done)) {
        const char *why = json_string_value(json_object_get(done, "reason"));
        const char *by = json_string_value(json_object_get(done, "actor"));
        if (strcmp(why, j->reason) == 0) {
            void_reply_duplicate(j, json_object_get(j->voiding, "process_json"), j->event_id);
            return true;
        }
        job_fail(j, PROTO_ERR_NOT_ALLOWED, "event %s was already voided on %s by %s: %s",
                 j->event_id, json_string_value(json_object_get(done, "on")),
                 by ? by : "(no actor given)", why);
        return true;
    }
    /* A follow-on process that has a history of its own cannot silently vanish. */
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(j->voiding, "children"), i, k)
    {
        json_int_t nev = json_integer_value(json_object_get(k, "events"));
        if (nev == 0)
            continue;
        const char *wname = json_string_value(json_object_get(k, "workflow"));
        const wf_workflow *w = wf_set_find(j->d->workflows, wname);
        char title[128];
        snprintf(title, sizeof title, "%s", w && w->title ? w->title : wname);
        title[0] = (char)(title[0] >= 'A' && title[0] <= 'Z' ? title[0] - 'A' + 'a' : title[0]);
        job_fail(j, PROTO_ERR_NOT_ALLOWED,
                 "event %s (%s on %s) started process %s (%s), which has events of its own: "
                 "void the %" JSON_INTEGER_FORMAT " event%s of the %s it started first",
                 j->event_id, json_string_value(json_object_get(j->voiding, "type")),
                 json_string_value(json_object_get(j->voiding, "on")),
                 json_string_value(json_object_get(k, "id")), wname, nev, nev == 1 ? "" : "s",
                 title);
        return true;
    }
    return false;
}

/*
 * Recompute the event's process without it. Refused when the rest of its
 * history no longer fits the workflow (a later event depends on it), or when
 * the void would reopen the process beside another active one of its
 * workflow. Otherwise write the void, the process and the cancellation of the
 * (event-less) processes it started, in one statement.
 */
static void void_apply(job *j)
{
    const char *proc_id = json_string_value(json_object_get(j->voiding, "process"));
    size_t i;
    json_t *p;
    json_array_foreach(j->processes, i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "id")), proc_id) == 0)
            j->target = p;
    }
    if (!j->target) {
        job_fail(j, PROTO_ERR_INTERNAL, "event %s has no process %s", j->event_id, proc_id);
        return;
    }
    const char *wname = json_string_value(json_object_get(j->target, "workflow"));
    j->wf = wf_set_find(j->d->workflows, wname);
    if (!j->wf) {
        job_fail(j, PROTO_ERR_NOT_ALLOWED,
                 "event %s belongs to process %s, which runs workflow %s that this daemon has "
                 "not loaded",
                 j->event_id, proc_id, wname);
        return;
    }
    /* Its history includes the event to void: sorted, to find what depends on it. */
    size_t n = job_load_events(j, json_object_get(j->voiding, "history"), NULL, INT64_MIN, 0);
    qsort(j->events, n, sizeof *j->events, cmp_replay_order);
    int64_t seq = strtoll(j->event_id, NULL, 10);
    size_t gone = n;
    for (size_t k = 0; k < n; k++) {
        if (j->events[k].seq == seq)
            gone = k;
    }
    if (gone == n) {
        job_fail(j, PROTO_ERR_INTERNAL, "event %s is missing from its process's history",
                 j->event_id);
        return;
    }
    eng_input in = job_target_input(j);
    char err[ENG_ERR_LEN], d1[CAL_DATE_LEN], d2[CAL_DATE_LEN];
    const eng_event *ev = &j->events[gone];
    size_t dep = 0;
    if (!void_fits(&in, j->events, n, gone, &dep, err)) {
        const eng_event *later = &j->events[dep];
        job_fail(j, PROTO_ERR_NOT_ALLOWED,
                 "event %s (%s on %s) cannot be voided: event %" PRId64 " (%s on %s) depends on it"
                 " (without it, %s); void event %" PRId64 " first",
                 j->event_id, ev->type, cal_format(ev->on, d1), later->seq, later->type,
                 cal_format(later->on, d2), err, later->seq);
        return;
    }
    /* The remaining events, in the order they are sorted (the engine does not mind). */
    eng_event gone_ev = *ev;
    wf_kv *gone_attrs = j->event_attrs[gone];
    memmove(&j->events[gone], &j->events[gone + 1], (n - gone - 1) * sizeof *j->events);
    memmove(&j->event_attrs[gone], &j->event_attrs[gone + 1],
            (n - gone - 1) * sizeof *j->event_attrs);
    j->event_attrs[n - 1] = gone_attrs; /* still freed with the others */
    in.events = j->events;
    in.nevents = n - 1;
    if (eng_evaluate(&in, &j->result, err) != 0) {
        job_fail(j, PROTO_ERR_NOT_ALLOWED, "event %s (%s on %s) cannot be voided: without it, %s",
                 j->event_id, gone_ev.type, cal_format(gone_ev.on, d1), err);
        return;
    }
    /* Reopened (e.g. the final plan voided): one active process of a workflow per case. */
    if (j->result->status == ENG_ACTIVE &&
        strcmp(json_string_value(json_object_get(j->target, "status")), "active") != 0) {
        json_array_foreach(j->processes, i, p)
        {
            const char *id = json_string_value(json_object_get(p, "id"));
            bool child = false;
            size_t c;
            json_t *k;
            json_array_foreach(json_object_get(j->voiding, "children"), c, k)
            {
                child = child || strcmp(json_string_value(json_object_get(k, "id")), id) == 0;
            }
            if (p != j->target && !child &&
                strcmp(json_string_value(json_object_get(p, "workflow")), wname) == 0 &&
                strcmp(json_string_value(json_object_get(p, "status")), "active") == 0) {
                job_fail(j, PROTO_ERR_NOT_ALLOWED,
                         "voiding event %s would reopen process %s (%s), but case %s already "
                         "has an active %s (process %s)",
                         j->event_id, proc_id, wname, j->case_ref, wname, id);
                return;
            }
        }
    }
    char today[CAL_DATE_LEN], ended[CAL_DATE_LEN];
    json_t *dls = eio_deadlines(j->d, j->result);
    char *dltext = json_dumps(dls, JSON_COMPACT);
    json_decref(dls);
    const char *params[19] = {
        j->case_id,
        j->case_version,
        j->event_id,
        j->reason,
        j->actor,
        j->key,
        cal_format(j->today, today),
        eng_proc_status_name(j->result->status),
        j->result->state,
        j->result->ended_on == CAL_NONE ? NULL : cal_format(j->result->ended_on, ended),
        dltext};
    char now[CLOCK_STR_LEN];
    audit_job_params(j, params + 11, now);
    job_write(j, &statements[STMT_VOID_WRITE], 19, params, void_written, void_read);
    free(dltext);
}

static void void_have_case(job *j, PGresult *res)
{
    if (!job_read_case(j, res))
        return;
    j->voiding = job_json(res, 0, 3);
    j->dup = job_json(res, 0, 4);
    if (!void_settled(j))
        void_apply(j);
}

static void void_read(job *j)
{
    job_reset_read(j);
    j->attempts++;
    const char *p[3] = {j->case_ref, j->event_id, j->key};
    job_query(j, &statements[STMT_VOID_READ], 3, p, void_have_case);
}

int op_void_parse(job *j, proto_err *code, sb *err)
{
    json_t *m = j->req->msg;
    if (proto_case_ref(m, "case", &j->case_ref, code, err) ||
        proto_str(m, "event", true, &j->event_id, code, err) ||
        proto_str(m, "reason", true, &j->reason, code, err) ||
        proto_str(m, "actor", false, &j->actor, code, err) ||
        proto_str(m, "key", false, &j->key, code, err))
        return -1;
    if (!*j->event_id || strspn(j->event_id, "0123456789") != strlen(j->event_id)) {
        sb_add(err, "\"event\" must be an event id (digits, as history lists them)");
        return -1;
    }
    /* "012" names event 12: the id is compared as a string with keys and replies. */
    while (j->event_id[0] == '0' && j->event_id[1])
        j->event_id++;
    if (strlen(j->event_id) > 18) {
        sb_add(err, "\"event\": no event has an id that large");
        return -1;
    }
    /* The audit trail must say why: a reason of blanks says nothing. */
    if (strspn(j->reason, " \t\r\n") == strlen(j->reason) || strlen(j->reason) > 1000) {
        sb_add(err, "\"reason\" must say why the event is voided (1 to 1000 characters)");
        return -1;
    }
    return 0;
}

void op_void_begin(job *j)
{
    void_read(j);
}
