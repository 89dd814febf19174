/*
 * op_read: show, due and history (ops.h): reads, judged as of the daemon's
 * today (due: or a later day asked for), paginated where a list can grow.
 */
#include "ops.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evalio.h"
#include "log.h"
#include "cohort.h"
#include "op_sql.h"
#include "xfer.h"

/*
 * One page of the starts, events and voids of case c in recording order
 * (at, rank, id), as history entries. A follow-on process is started in the
 * transaction of its event, so at the same instant: the event goes first
 * (rank 0), then what it started. A follow-on process has no actor of its
 * own: it is its event's.
 *
 * Each branch takes its rows after the cursor ($2 at, $3 rank, $4 id; the
 * first page passes -infinity, 0, 0), at most $5 of them, in order: the range
 * on at is what the (case_id, at, id) indexes of 006 serve; the row
 * comparison only sorts out rows recorded at the very same instant.
 */
#define SQL_HISTORY_PAGE                                                                           \
    "(SELECT * FROM ("                                                                             \
    " (SELECT p.created_at AS at, 1 AS rank, p.id, json_build_object('kind', 'start',"             \
    "  'process', p.id::text, 'workflow', p.workflow, 'on', p.started_on, 'attrs', p.attrs,"       \
    "  'actor', coalesce(p.started_by, pe.actor), 'recorded_at',"                                  \
    "  to_char(p.created_at AT TIME ZONE 'UTC', " SQL_ISO_UTC "),"                                 \
    "  'by_event', p.parent_event_id::text) AS entry"                                              \
    "  FROM processes p LEFT JOIN events pe ON pe.id = p.parent_event_id WHERE p.case_id = c.id"   \
    "  AND p.created_at >= $2::timestamptz"                                                        \
    "  AND (p.created_at, 1, p.id) > ($2::timestamptz, $3::integer, $4::bigint)"                   \
    "  ORDER BY p.created_at, p.id LIMIT $5::integer)"                                             \
    " UNION ALL"                                                                                   \
    " (SELECT e.recorded_at, 0, e.id, json_build_object('kind', 'event', 'id', e.id::text,"        \
    "  'process', e.process_id::text, 'workflow', ep.workflow, 'type', e.type, 'on', e.on_date,"   \
    "  'attrs', e.attrs, 'actor', e.actor, 'recorded_at',"                                         \
    "  to_char(e.recorded_at AT TIME ZONE 'UTC', " SQL_ISO_UTC "), 'key', e.idem_key,"             \
    "  'voided', EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = e.id))"                    \
    "  FROM events e JOIN processes ep ON ep.id = e.process_id WHERE e.case_id = c.id"             \
    "  AND e.recorded_at >= $2::timestamptz"                                                       \
    "  AND (e.recorded_at, 0, e.id) > ($2::timestamptz, $3::integer, $4::bigint)"                  \
    "  ORDER BY e.recorded_at, e.id LIMIT $5::integer)"                                            \
    " UNION ALL"                                                                                   \
    " (SELECT w.recorded_at, 2, w.id, json_build_object('kind', 'void',"                           \
    "  'event', w.event_id::text, 'type', we.type, 'on', we.on_date, 'reason', w.reason,"          \
    "  'actor', w.actor, 'recorded_at',"                                                           \
    "  to_char(w.recorded_at AT TIME ZONE 'UTC', " SQL_ISO_UTC "))"                                \
    "  FROM event_voids w JOIN events we ON we.id = w.event_id WHERE w.case_id = c.id"             \
    "  AND w.recorded_at >= $2::timestamptz"                                                       \
    "  AND (w.recorded_at, 2, w.id) > ($2::timestamptz, $3::integer, $4::bigint)"                  \
    "  ORDER BY w.recorded_at, w.id LIMIT $5::integer)"                                            \
    ") u ORDER BY u.at, u.rank, u.id LIMIT $5::integer)"

/*
 * The open deadlines of one kind due by $1 and after the cursor's (due,
 * process, name) ($3, $4, $5; the first page passes -infinity, 0, ''), at
 * most $6, in that order: a range of the index deadlines_open_duty_due or
 * deadlines_open_period_due (006), so periods that ran their course long ago
 * are never read. Duties are
 * listed from the oldest overdue on. Periods only while they run (due on $2
 * or later): their range starts at the later of $2 and the cursor, written as
 * one row comparison (>=, the cursor's own row left out by <>), because the
 * index scan starts at the first lower bound it is given on due, and a
 * second one would only filter the rows it walks through. Only the key is
 * read there (an index-only scan): asked for the other columns too, the
 * planner may prefer 001's deadlines_open_due and sort a day's rows of both
 * kinds; the page's rows are then read by (process, name), the unique key.
 */
#define SQL_DUE_DUTIES                                                                             \
    "(SELECT k.due, k.process_id, k.name"                                                          \
    "  FROM deadlines k WHERE k.resolution = 'open' AND k.kind = 'duty' AND k.due <= $1::date"     \
    "  AND (k.due, k.process_id, k.name) > ($3::date, $4::bigint, $5::text)"                       \
    "  AND ($7::text IS NULL AND $8::text IS NULL OR EXISTS (SELECT 1 FROM processes fp"           \
    "   JOIN cases fc ON fc.id = fp.case_id WHERE fp.id = k.process_id"                            \
    "   AND ($7::text IS NULL OR fc.attrs->>'officer' = $7)"                                       \
    "   AND ($8::text IS NULL OR fc.attrs->>'team' = $8)))"                                        \
    "  ORDER BY k.due, k.process_id, k.name LIMIT $6::integer)"
#define SQL_DUE_PERIODS                                                                            \
    "(SELECT k.due, k.process_id, k.name"                                                          \
    "  FROM deadlines k WHERE k.resolution = 'open' AND k.kind = 'period' AND k.due <= $1::date"   \
    "  AND (k.due, k.process_id, k.name) >= (greatest($3::date, $2::date),"                        \
    "   CASE WHEN $3::date >= $2::date THEN $4::bigint ELSE 0 END,"                                \
    "   CASE WHEN $3::date >= $2::date THEN $5::text ELSE '' END)"                                 \
    "  AND (k.due, k.process_id, k.name) <> ($3::date, $4::bigint, $5::text)"                      \
    "  AND ($7::text IS NULL AND $8::text IS NULL OR EXISTS (SELECT 1 FROM processes fp"           \
    "   JOIN cases fc ON fc.id = fp.case_id WHERE fp.id = k.process_id"                            \
    "   AND ($7::text IS NULL OR fc.attrs->>'officer' = $7)"                                       \
    "   AND ($8::text IS NULL OR fc.attrs->>'team' = $8)))"                                        \
    "  ORDER BY k.due, k.process_id, k.name LIMIT $6::integer)"

/*
 * Per officer (NULL: unassigned) of the cases with an active process, of
 * team $1 (NULL: every team): active processes by workflow, open duties
 * overdue (due before $2, today) and due from $2 to $3, fired escalations
 * not resolved. One row of JSON, officers by name, unassigned first.
 */
#define SQL_CASELOAD                                                                               \
    "WITH oc AS (SELECT c.id, c.attrs->>'officer' AS officer, c.attrs->>'team' AS team"            \
    "   FROM cases c WHERE ($1::text IS NULL OR c.attrs->>'team' = $1)"                            \
    "    AND EXISTS (SELECT 1 FROM processes p WHERE p.case_id = c.id AND p.status = 'active')),"  \
    " pr AS (SELECT oc.officer, p.workflow, count(*) AS n FROM oc"                                 \
    "   JOIN processes p ON p.case_id = oc.id AND p.status = 'active' GROUP BY 1, 2),"             \
    " dl AS (SELECT oc.officer, count(*) FILTER (WHERE d.due < $2::date) AS overdue,"              \
    "   count(*) FILTER (WHERE d.due >= $2::date) AS due_soon FROM oc"                             \
    "   JOIN processes p ON p.case_id = oc.id AND p.status = 'active'"                             \
    "   JOIN deadlines d ON d.process_id = p.id AND d.resolution = 'open' AND d.kind = 'duty'"     \
    "  WHERE d.due <= $3::date GROUP BY 1),"                                                       \
    " es AS (SELECT oc.officer, count(*) AS n FROM oc JOIN escalations e ON e.case_id = oc.id"     \
    "  WHERE e.status = 'fired' AND e.resolved_on IS NULL AND NOT e.superseded GROUP BY 1),"       \
    " cs AS (SELECT oc.officer, count(*) AS cases,"                                                \
    "   array_to_json(array_agg(DISTINCT oc.team) FILTER (WHERE oc.team IS NOT NULL)) AS teams"    \
    "   FROM oc GROUP BY 1)"                                                                       \
    " SELECT coalesce(json_agg(json_build_object('officer', cs.officer,"                           \
    "   'teams', coalesce(cs.teams, '[]'::json), 'cases', cs.cases,"                               \
    "   'processes', (SELECT json_object_agg(pr.workflow, pr.n ORDER BY pr.workflow) FROM pr"      \
    "                  WHERE pr.officer IS NOT DISTINCT FROM cs.officer),"                         \
    "   'open_processes', (SELECT sum(pr.n) FROM pr WHERE pr.officer IS NOT DISTINCT FROM"         \
    "                       cs.officer),"                                                          \
    "   'due_soon', coalesce(dl.due_soon, 0), 'overdue', coalesce(dl.overdue, 0),"                 \
    "   'escalations_open', coalesce(es.n, 0)) ORDER BY cs.officer NULLS FIRST), '[]'::json)"      \
    " FROM cs LEFT JOIN dl ON dl.officer IS NOT DISTINCT FROM cs.officer"                          \
    " LEFT JOIN es ON es.officer IS NOT DISTINCT FROM cs.officer"

/*
 * When the daemon's clock recorded a row (schema 012); rows from before it,
 * by the wall clock in London.
 */
#define SQL_KNOWN(t, wall) "coalesce(" t ".known_at, " t "." wall " AT TIME ZONE 'Europe/London')"
/*
 * show as known on $2: the processes and events recorded by the end of that
 * day, less the events voided by then (the daemon replays them). The case's
 * attributes are today's.
 */
#define SQL_SHOW_KNOWN                                                                             \
    "SELECT json_build_object('case', c.ref, 'dob', c.dob, 'attrs', c.attrs,"                      \
    " 'processes', (SELECT coalesce(json_agg(sf_process_json(p.id) ORDER BY p.id), '[]'::json)"    \
    "  FROM processes p WHERE p.case_id = c.id AND " SQL_KNOWN(                                    \
        "p",                                                                                       \
        "created_at") "  ::date <= $2::date)),"                                                    \
                      " (SELECT coalesce(json_agg(json_build_object('id', e.id::text, 'process',"  \
                      "  e.process_id::text, 'type', e.type, 'on', e.on_date, 'attrs', e.attrs)"   \
                      "  ORDER BY e.on_date, e.id), '[]'::json) FROM events e WHERE e.case_id = "  \
                      "c.id"                                                                       \
                      "  AND " SQL_KNOWN(                                                          \
                          "e", "recorded_at") "::date <= $2::date"                                 \
                                              "  AND NOT EXISTS (SELECT 1 FROM event_voids v "     \
                                              "WHERE v.event_id = e.id"                            \
                                              "   AND " SQL_KNOWN(                                 \
                                                  "v",                                             \
                                                  "recorded_at") "::date <= $2::date))"            \
                                                                 " FROM cases c WHERE c.ref = $1"

/*
 * due as known on $1: a chunk of at most $3 processes after process $2 (by
 * id), of those recorded by the end of that day (only the cases of officer
 * $4 / team $5 when given: today's attributes), each with its case and the
 * events recorded by then less those voided by then. The daemon replays
 * them (known_process) and lists the deadlines open on that day.
 */
#define SQL_DUE_KNOWN                                                                              \
    "SELECT p.id::text, c.ref, c.dob, c.attrs->>'officer', c.attrs->>'team', "                     \
    "sf_process_json(p.id),"                                                                       \
    " (SELECT coalesce(json_agg(json_build_object('id', e.id::text, 'process',"                    \
    "  e.process_id::text, 'type', e.type, 'on', e.on_date, 'attrs', e.attrs)"                     \
    "  ORDER BY e.on_date, e.id), '[]'::json) FROM events e WHERE e.process_id = p.id"             \
    "  AND " SQL_KNOWN(                                                                            \
        "e",                                                                                       \
        "recorded_at") "::date <= $1::date"                                                        \
                       "  AND NOT EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = e.id"     \
                       "   AND " SQL_KNOWN(                                                        \
                           "v",                                                                    \
                           "recorded_at") "::date <= $1::date))"                                   \
                                          " FROM processes p JOIN cases c ON c.id = p.case_id"     \
                                          " WHERE p.id > $2::bigint AND " SQL_KNOWN(               \
                                              "p",                                                 \
                                              "created_at") "::date <= $1::date"                   \
                                                            " AND ($4::text IS NULL OR "           \
                                                            "c.attrs->>'officer' = $4)"            \
                                                            " AND ($5::text IS NULL OR "           \
                                                            "c.attrs->>'team' = $5)"               \
                                                            " ORDER BY p.id LIMIT $3::integer"

#define OP_STATEMENTS(X)                                                                           \
    X(HISTORY, "SELECT h.entry::text, to_char(h.at AT TIME ZONE 'UTC', " SQL_ISO_UTC_US "),"       \
               " h.rank::text, h.id::text FROM cases c LEFT JOIN LATERAL " SQL_HISTORY_PAGE        \
               " h ON true WHERE c.ref = $1 ORDER BY h.at, h.rank, h.id")                          \
    X(SHOW_KNOWN, SQL_SHOW_KNOWN)                                                                  \
    X(SHOW, "SELECT json_build_object('case', c.ref, 'dob', c.dob, 'attrs', c.attrs,"              \
            " 'processes', (SELECT coalesce(json_agg(sf_process_json(p.id) ORDER BY p.id),"        \
            " '[]'::json) FROM processes p WHERE p.case_id = c.id)),"                              \
            " (SELECT coalesce(json_agg(json_build_object('id', e.id, 'process',"                  \
            "  e.process_id::text, 'type', e.type, 'on', e.on_date, 'attrs', e.attrs)"             \
            "  ORDER BY e.on_date, e.id), '[]'::json) FROM events e WHERE e.case_id = c.id"        \
            "  AND NOT EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = e.id))"              \
            " FROM cases c WHERE c.ref = $1")                                                      \
    X(DUE, "SELECT c.ref, p.id::text, p.workflow, d.name, d.title, d.kind,"                        \
           " to_char(d.due, 'YYYY-MM-DD'), d.excusable, d.basis, d.explain,"                       \
           " c.attrs->>'officer', c.attrs->>'team'"                                                \
           " FROM (" SQL_DUE_DUTIES " UNION ALL " SQL_DUE_PERIODS ") k"                            \
           " JOIN deadlines d ON d.process_id = k.process_id AND d.name = k.name"                  \
           " JOIN processes p ON p.id = d.process_id JOIN cases c ON c.id = p.case_id"             \
           " ORDER BY k.due, k.process_id, k.name LIMIT $6::integer")                              \
    X(CASELOAD, SQL_CASELOAD)                                                                      \
    X(DUE_KNOWN, SQL_DUE_KNOWN)

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

const store_stmts op_read_statements = {statements, sizeof statements / sizeof statements[0]};

/* ---- history ---- */

/* One row per entry (entry, at, rank, id), or one row of NULLs for a page with none. */
static void history_loaded(job *j, PGresult *res)
{
    int n = PQntuples(res);
    if (n == 0) {
        job_fail(j, PROTO_ERR_UNKNOWN_CASE, "no case %s", j->case_ref);
        return;
    }
    json_t *entries = json_array(), *next = json_null();
    for (int r = 0; r < n && r < j->limit; r++) {
        json_t *e = job_json(res, r, 0);
        if (e)
            json_array_append_new(entries, e);
    }
    if (n > j->limit) {
        int r = (int)j->limit - 1;
        const char *key[3] = {PQgetvalue(res, r, 1), PQgetvalue(res, r, 2), PQgetvalue(res, r, 3)};
        json_decref(next);
        if (!(next = job_page_next(j, key))) {
            json_decref(entries);
            return;
        }
    }
    j->reply = json_pack("{s:s,s:o,s:o}", "case", j->case_ref, "entries", entries, "next", next);
    job_reply(j);
}

void op_history_begin(job *j)
{
    char fetch[24];
    const char *p[5] = {j->case_ref, "-infinity", "0", "0", job_page_fetch(j, fetch)};
    if (j->cursor.n) {
        p[1] = j->cursor.field[0];
        p[2] = j->cursor.field[1];
        p[3] = j->cursor.field[2];
    }
    job_query(j, &statements[STMT_HISTORY], 5, p, history_loaded);
}

/* ---- show ---- */

/* Flags the engine raises on a process (a review in Year 9 or later...), added to it. */
static void show_flags(job *j, json_t *proc, json_t *events, json_t *dob)
{
    const wf_workflow *w =
        wf_set_find(j->d->workflows, json_string_value(json_object_get(proc, "workflow")));
    if (!w || !w->nflags || !json_is_string(dob))
        return;
    const char *pid = json_string_value(json_object_get(proc, "id"));
    json_t *mine = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
    {
        if (!strcmp(json_string_value(json_object_get(e, "process")), pid))
            json_array_append(mine, e);
    }
    eio_input x;
    eio_input_build(j->d, w, proc, mine, dob, &x);
    eng_result *r = NULL;
    char err[ENG_ERR_LEN];
    if (eng_evaluate(&x.in, &r, err) == 0 && r->nflags) {
        json_t *flags = json_array();
        for (size_t k = 0; k < r->nflags; k++)
            json_array_append_new(flags, json_pack("{s:s,s:s,s:s,s:s}", "name", r->flags[k].name,
                                                   "title", r->flags[k].title, "basis",
                                                   r->flags[k].basis, "note", r->flags[k].note));
        json_object_set_new(proc, "flags", flags);
    }
    eng_result_free(r);
    eio_input_free(&x);
    json_decref(mine);
}

/*
 * The child's coming phase transfers (from the date of birth and the
 * service's settings): when each happens, when its process opens, its
 * deadline, and the process once opened. NULL without a date of birth.
 */
static json_t *show_transfers(job *j, json_t *dob)
{
    const wf_workflow *pt = wf_set_find(j->d->workflows, "phase-transfer");
    cal_day born = eio_json_date(dob);
    if (!pt || born == CAL_NONE)
        return NULL;
    size_t na;
    wf_kv *kv = eio_kv(json_object_get(j->reply, "attrs"), &na);
    xfer_item items[16];
    size_t n = xfer_coming(j->d->svc, born, kv, na, j->today, items, 16);
    json_t *out = json_array();
    for (size_t i = 0; i < n && i < 16; i++) {
        wf_kv a[1] = {{"transfer", items[i].transfer}};
        eng_input in = {.wf = pt, .start = items[i].opens, .attrs = a, .nattrs = 1};
        eio_input_env(j->d, born, &in);
        eng_result *r = NULL;
        char err[ENG_ERR_LEN];
        cal_day due = CAL_NONE;
        if (eng_evaluate(&in, &r, err) == 0)
            for (size_t k = 0; k < r->ndeadlines; k++)
                if (!strcmp(r->deadlines[k].name, "phase_transfer_plan"))
                    due = r->deadlines[k].due;
        eng_result_free(r);
        const char *pid = NULL;
        size_t k;
        json_t *p;
        json_array_foreach(json_object_get(j->reply, "processes"), k, p)
        {
            const char *tr =
                json_string_value(json_object_get(json_object_get(p, "attrs"), "transfer"));
            if (!strcmp(json_string_value(json_object_get(p, "workflow")), "phase-transfer") &&
                tr && !strcmp(tr, items[i].transfer))
                pid = json_string_value(json_object_get(p, "id"));
        }
        json_array_append_new(out,
                              json_pack("{s:s,s:s,s:o,s:o,s:o,s:s?}", "transfer", items[i].transfer,
                                        "school_year", coh_year_name(items[i].school_year), "date",
                                        eio_date(items[i].date), "opens", eio_date(items[i].opens),
                                        "deadline", eio_date(due), "process", pid));
    }
    free(kv);
    return out;
}

/*
 * Process p replayed from the events recorded by a day (events, one
 * process's or another's): its "deadlines" (as stored: with resolution and
 * excusable), status, state and end are replaced; a replay the engine
 * refuses keeps what is stored, with a note.
 */
static void known_replay(job *j, json_t *p, json_t *events, json_t *dob)
{
    const wf_workflow *wf =
        wf_set_find(j->d->workflows, json_string_value(json_object_get(p, "workflow")));
    const char *id = json_string_value(json_object_get(p, "id"));
    json_t *mine = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
    {
        const char *pid = json_string_value(json_object_get(e, "process"));
        if (pid && id && !strcmp(pid, id))
            json_array_append(mine, e);
    }
    eio_input x;
    eng_result *r = NULL;
    char err[ENG_ERR_LEN];
    if (wf) {
        eio_input_build(j->d, wf, p, mine, dob, &x);
        if (eng_evaluate(&x.in, &r, err) == 0) {
            json_t *dls = eio_deadlines(NULL, r);
            json_t *dl;
            json_array_foreach(dls, i, dl) json_object_del(dl, "sig");
            json_object_set_new(p, "deadlines", dls);
            json_object_set_new(p, "status", json_string(eng_proc_status_name(r->status)));
            json_object_set_new(p, "state", json_string(r->state));
            json_object_set_new(p, "ended_on", eio_date(r->ended_on));
        } else {
            json_object_set_new(p, "note", json_sprintf("not replayed as on that day: %s", err));
        }
        eng_result_free(r);
        eio_input_free(&x);
    }
    json_decref(mine);
}

/* A process as the system would have shown it on day (known_replay), judged on that day. */
static void known_process(job *j, json_t *p, json_t *events, json_t *dob, cal_day day)
{
    known_replay(j, p, events, dob);
    eio_decorate_process(p, day);
}

/*
 * show's answer: today's processes with their flags and the coming phase
 * transfers, or (as_known_on, j->has_on) each process as the system would
 * have shown it on j->on.
 */
static void show_loaded(job *j, PGresult *res)
{
    if (PQntuples(res) == 0) {
        job_fail(j, PROTO_ERR_UNKNOWN_CASE, "no case %s", j->case_ref);
        return;
    }
    j->reply = job_json(res, 0, 0);
    json_t *events = job_json(res, 0, 1);
    json_t *dob = json_object_get(j->reply, "dob");
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(j->reply, "processes"), i, p)
    {
        if (j->has_on) {
            known_process(j, p, events, dob, j->on);
            continue;
        }
        eio_decorate_process(p, j->today);
        show_flags(j, p, events, dob);
    }
    json_t *transfers = j->has_on ? NULL : show_transfers(j, dob);
    if (transfers)
        json_object_set_new(j->reply, "transfers", transfers);
    if (j->has_on) {
        char day[CAL_DATE_LEN];
        json_object_set_new(j->reply, "as_known_on", json_string(cal_format(j->on, day)));
    }
    json_decref(events);
    job_reply(j);
}

void op_show_begin(job *j)
{
    if (j->has_on) {
        char day[CAL_DATE_LEN];
        const char *p[2] = {j->case_ref, cal_format(j->on, day)};
        job_query(j, &statements[STMT_SHOW_KNOWN], 2, p, show_loaded);
        return;
    }
    const char *p[1] = {j->case_ref};
    job_query(j, &statements[STMT_SHOW], 1, p, show_loaded);
}

/* ---- due ---- */

/*
 * due judges statuses on j->on: the daemon's today, or a later day asked for
 * with "on" (what will be due or overdue then if nothing more is recorded).
 */
/* One open deadline as due lists it; officer and team NULL when the case has none. */
typedef struct due_row {
    const char *ref, *process, *workflow, *name, *title, *kind, *due, *basis, *explain;
    const char *officer, *team;
    bool excusable;
} due_row;

/* r as an item of due's list, judged on j->on (new ref); NULL when --overdue leaves it out. */
static json_t *due_item(const job *j, const due_row *r)
{
    cal_day due = CAL_NONE;
    (void)cal_parse(r->due, &due);
    bool period = strcmp(r->kind, "period") == 0;
    eng_status st = eng_deadline_status(period ? WF_DEADLINE_PERIOD : WF_DEADLINE_DUTY, ENG_OPEN,
                                        due, CAL_NONE, r->excusable, j->on);
    if (j->overdue && st != ENG_OVERDUE && st != ENG_EXCUSED)
        return NULL;
    json_t *item =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "case", r->ref, "process",
                  r->process, "workflow", r->workflow, "deadline", r->name, "title", r->title,
                  "kind", r->kind, "due", r->due, "status", eng_status_name(st), "days",
                  (json_int_t)(due - j->on), "basis", r->basis, "explain", r->explain);
    /* The case's officer and team: null when it has none (unassigned). */
    json_object_set_new(item, "officer", r->officer ? json_string(r->officer) : json_null());
    json_object_set_new(item, "team", r->team ? json_string(r->team) : json_null());
    return item;
}

/* due's reply around items and next (both stolen), then answer. */
static void due_reply(job *j, json_t *items, json_t *next)
{
    char today[CAL_DATE_LEN], on[CAL_DATE_LEN];
    j->reply =
        json_pack("{s:s,s:s,s:b,s:I,s:b,s:o,s:o,s:s?,s:s?}", "today", cal_format(j->today, today),
                  "on", cal_format(j->on, on), "truncated", !json_is_null(next), "within",
                  (json_int_t)j->within, "overdue", j->overdue, "items", items, "next", next,
                  "officer", j->officer, "team", j->team);
    if (j->has_known)
        json_object_set_new(j->reply, "as_known_on", json_string(on));
    job_reply(j);
}

static void due_loaded(job *j, PGresult *res)
{
    json_t *items = json_array(), *next = json_null();
    int n = PQntuples(res);
    for (int r = 0; r < n && r < j->limit; r++) {
        due_row row = {
            .ref = PQgetvalue(res, r, 0),
            .process = PQgetvalue(res, r, 1),
            .workflow = PQgetvalue(res, r, 2),
            .name = PQgetvalue(res, r, 3),
            .title = PQgetvalue(res, r, 4),
            .kind = PQgetvalue(res, r, 5),
            .due = PQgetvalue(res, r, 6),
            .excusable = strcmp(PQgetvalue(res, r, 7), "t") == 0,
            .basis = PQgetvalue(res, r, 8),
            .explain = PQgetvalue(res, r, 9),
            .officer = PQgetisnull(res, r, 10) ? NULL : PQgetvalue(res, r, 10),
            .team = PQgetisnull(res, r, 11) ? NULL : PQgetvalue(res, r, 11),
        };
        json_t *item = due_item(j, &row);
        if (item)
            json_array_append_new(items, item);
    }
    /* The next page starts after the last row read for this one, listed or not. */
    if (n > j->limit) {
        int r = (int)j->limit - 1;
        const char *key[3] = {PQgetvalue(res, r, 6), PQgetvalue(res, r, 1), PQgetvalue(res, r, 3)};
        json_decref(next);
        if (!(next = job_page_next(j, key))) {
            json_decref(items);
            return;
        }
    }
    due_reply(j, items, next);
}

/*
 * due as known on a past day. What was due then depends on what had been
 * recorded by then, which today's deadline rows no longer say, so every
 * process recorded by then is replayed, a chunk at a time (one turn of the
 * loop each), and its deadlines open on that day are listed in due's order
 * (due, process, name). A page is cut from the whole list: each page
 * replays the caseload again, which is the price of an answer that is rarely
 * asked for (a complaint, an Ombudsman enquiry) and must be exact.
 */
#define DUE_KNOWN_CHUNK 500

/* Order of due's list: (due, process by number, deadline name). */
static int due_key_cmp(const char *due_a, const char *proc_a, const char *name_a, const char *due_b,
                       const char *proc_b, const char *name_b)
{
    int c = strcmp(due_a, due_b);
    if (c)
        return c;
    long long pa = strtoll(proc_a, NULL, 10), pb = strtoll(proc_b, NULL, 10);
    if (pa != pb)
        return pa < pb ? -1 : 1;
    return strcmp(name_a, name_b);
}

static int due_item_cmp(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
#define F(o, k) json_string_value(json_object_get(o, k))
    return due_key_cmp(F(x, "due"), F(x, "process"), F(x, "deadline"), F(y, "due"), F(y, "process"),
                       F(y, "deadline"));
#undef F
}

/* The deadlines of process p (replayed as on j->on) that the list takes, into j->known_items. */
static void due_known_take(job *j, json_t *p, const due_row *base)
{
    cal_day horizon = j->overdue ? j->on - 1 : cal_add_days(j->on, (int)j->within);
    size_t i;
    json_t *dl;
    json_array_foreach(json_object_get(p, "deadlines"), i, dl)
    {
        const char *res = json_string_value(json_object_get(dl, "resolution"));
        const char *due_s = json_string_value(json_object_get(dl, "due"));
        const char *kind = json_string_value(json_object_get(dl, "kind"));
        cal_day due = CAL_NONE;
        if (!res || strcmp(res, "open") || !due_s || !kind || cal_parse(due_s, &due))
            continue;
        bool period = strcmp(kind, "period") == 0;
        /* As due: duties from the oldest overdue on, periods only while they run. */
        if (due > horizon || (period && due < j->on))
            continue;
        due_row row = *base;
        row.name = json_string_value(json_object_get(dl, "name"));
        row.title = json_string_value(json_object_get(dl, "title"));
        row.kind = kind;
        row.due = due_s;
        row.excusable = json_is_true(json_object_get(dl, "excusable"));
        row.basis = json_string_value(json_object_get(dl, "basis"));
        row.explain = json_string_value(json_object_get(dl, "explain"));
        if (!row.name || !row.title || !row.basis || !row.explain)
            continue;
        if (j->cursor.n == 3 && due_key_cmp(row.due, row.process, row.name, j->cursor.field[0],
                                            j->cursor.field[1], j->cursor.field[2]) <= 0)
            continue;
        json_t *item = due_item(j, &row);
        if (item)
            json_array_append_new(j->known_items, item);
    }
}

static void due_known_query(job *j);

static void due_known_loaded(job *j, PGresult *res)
{
    int n = PQntuples(res);
    for (int r = 0; r < n; r++) {
        json_t *p = job_json(res, r, 5), *events = job_json(res, r, 6);
        json_t *dob = PQgetisnull(res, r, 2) ? json_null() : json_string(PQgetvalue(res, r, 2));
        snprintf(j->known_after, sizeof j->known_after, "%s", PQgetvalue(res, r, 0));
        if (p && events) {
            known_replay(j, p, events, dob);
            /* A replay the engine refused keeps today's rows: not what was said then. */
            if (!json_object_get(p, "note")) {
                due_row base = {
                    .ref = PQgetvalue(res, r, 1),
                    .process = PQgetvalue(res, r, 0),
                    .workflow = json_string_value(json_object_get(p, "workflow")),
                    .officer = PQgetisnull(res, r, 3) ? NULL : PQgetvalue(res, r, 3),
                    .team = PQgetisnull(res, r, 4) ? NULL : PQgetvalue(res, r, 4),
                };
                if (base.workflow)
                    due_known_take(j, p, &base);
            } else {
                log_warn("due as known on: process %s not replayed: %s", PQgetvalue(res, r, 0),
                         json_string_value(json_object_get(p, "note")));
            }
        }
        json_decref(p);
        json_decref(events);
        json_decref(dob);
    }
    if (n == DUE_KNOWN_CHUNK) {
        due_known_query(j);
        return;
    }
    json_t *items = j->known_items, *next = json_null();
    j->known_items = NULL;
    size_t total = json_array_size(items);
    json_t **v = xcalloc(total ? total : 1, sizeof *v);
    for (size_t i = 0; i < total; i++)
        v[i] = json_incref(json_array_get(items, i));
    qsort(v, total, sizeof *v, due_item_cmp);
    json_array_clear(items);
    for (size_t i = 0; i < total; i++) {
        if (i < (size_t)j->limit)
            json_array_append(items, v[i]);
        json_decref(v[i]);
    }
    free(v);
    if (total > (size_t)j->limit) {
        json_t *last = json_array_get(items, (size_t)j->limit - 1);
        const char *key[3] = {json_string_value(json_object_get(last, "due")),
                              json_string_value(json_object_get(last, "process")),
                              json_string_value(json_object_get(last, "deadline"))};
        json_decref(next);
        if (!(next = job_page_next(j, key))) {
            json_decref(items);
            return;
        }
    }
    due_reply(j, items, next);
}

static void due_known_query(job *j)
{
    char on[CAL_DATE_LEN], chunk[24];
    snprintf(chunk, sizeof chunk, "%d", DUE_KNOWN_CHUNK);
    const char *p[5] = {cal_format(j->on, on), j->known_after, chunk, j->officer, j->team};
    job_query(j, &statements[STMT_DUE_KNOWN], 5, p, due_known_loaded);
}

void op_due_begin(job *j)
{
    if (j->has_known) {
        j->known_items = json_array();
        snprintf(j->known_after, sizeof j->known_after, "0");
        due_known_query(j);
        return;
    }
    char horizon[CAL_DATE_LEN], on[CAL_DATE_LEN];
    cal_format(j->overdue ? j->on - 1 : cal_add_days(j->on, (int)j->within), horizon);
    cal_format(j->on, on);
    char fetch[24];
    const char *p[8] = {horizon,    on,     "-infinity", "0", "", job_page_fetch(j, fetch),
                        j->officer, j->team};
    if (j->cursor.n) {
        p[2] = j->cursor.field[0];
        p[3] = j->cursor.field[1];
        p[4] = j->cursor.field[2];
    }
    /* The partial indexes deadlines_open_{duty,period}_due (006) serve each kind in order. */
    job_query(j, &statements[STMT_DUE], 8, p, due_loaded);
}

int op_show_parse(job *j, proto_err *code, sb *err)
{
    json_t *m = j->req->msg;
    char today[CAL_DATE_LEN];
    if (proto_case_ref(m, "case", &j->case_ref, code, err) ||
        proto_date(m, "as_known_on", false, &j->on, &j->has_on, code, err))
        return -1;
    /* What the system said on a day that has not come yet is not known. */
    if (j->has_on && j->on > j->today) {
        sb_addf(err, "\"as_known_on\": %s is after today (%s): use due --on to look ahead",
                json_string_value(json_object_get(m, "as_known_on")), cal_format(j->today, today));
        *code = PROTO_ERR_BAD_DATE;
        return -1;
    }
    return 0;
}

int op_history_parse(job *j, proto_err *code, sb *err)
{
    json_t *m = j->req->msg;
    return proto_case_ref(m, "case", &j->case_ref, code, err) ||
                   proto_page(m, j->page = page_spec_of(j->op), &j->limit, &j->cursor, code, err)
               ? -1
               : 0;
}

int op_due_parse(job *j, proto_err *code, sb *err)
{
    json_t *m = j->req->msg;
    char today[CAL_DATE_LEN];
    if (proto_uint(m, "within", 7, 3660, &j->within, code, err) ||
        proto_bool(m, "overdue", false, &j->overdue, code, err) ||
        proto_date(m, "on", false, &j->on, &j->has_on, code, err) ||
        proto_name(m, "officer", false, &j->officer, code, err) ||
        proto_name(m, "team", false, &j->team, code, err) ||
        proto_bool(m, "mine", false, &j->mine, code, err) ||
        proto_date(m, "as_known_on", false, &j->known_on, &j->has_known, code, err) ||
        proto_page(m, j->page = page_spec_of(j->op), &j->limit, &j->cursor, code, err))
        return -1;
    if (j->has_known && (j->has_on || j->known_on > j->today)) {
        if (j->has_on)
            sb_add(err, "\"as_known_on\" looks back and \"on\" looks ahead: give one");
        else
            sb_addf(err, "\"as_known_on\": %s is after today (%s): use due --on to look ahead",
                    json_string_value(json_object_get(m, "as_known_on")),
                    cal_format(j->today, today));
        *code = j->has_on ? PROTO_ERR_BAD_REQUEST : PROTO_ERR_BAD_DATE;
        return -1;
    }
    if (j->mine && j->officer) {
        sb_add(err, "\"mine\" and \"officer\" name the officer twice: give one");
        *code = PROTO_ERR_BAD_REQUEST;
        return -1;
    }
    if (j->mine)
        j->officer = j->req->ident->who; /* the caller's own cases: officer = their user name */
    /* A what-if looks ahead only: what was due on a past day depends on what had
     * been recorded by then, which today's deadlines no longer say. */
    if (j->has_on && j->on < j->today) {
        sb_addf(err,
                "\"on\": %s is in the past (today is %s): use show for what happened; --on "
                "looks ahead",
                json_string_value(json_object_get(m, "on")), cal_format(j->today, today));
        *code = PROTO_ERR_BAD_DATE;
        return -1;
    }
    if (!j->has_on)
        j->on = j->has_known ? j->known_on : j->today;
    return 0;
}

/* ---- caseload ---- */

static void caseload_loaded(job *j, PGresult *res)
{
    json_t *officers = job_json(res, 0, 0);
    if (!officers) {
        job_fail(j, PROTO_ERR_INTERNAL, "caseload: the database's answer was not JSON");
        return;
    }
    char today[CAL_DATE_LEN], until[CAL_DATE_LEN];
    j->reply = json_pack("{s:s,s:s,s:s?,s:o}", "today", cal_format(j->today, today), "due_by",
                         cal_format(j->on, until), "team", j->team, "officers", officers);
    job_reply(j);
}

void op_caseload_begin(job *j)
{
    char today[CAL_DATE_LEN], until[CAL_DATE_LEN];
    const char *p[3] = {j->team, cal_format(j->today, today), cal_format(j->on, until)};
    job_query(j, &statements[STMT_CASELOAD], 3, p, caseload_loaded);
}

int op_caseload_parse(job *j, proto_err *code, sb *err)
{
    if (proto_name(j->req->msg, "team", false, &j->team, code, err))
        return -1;
    /* "Due soon": the next 10 working days, as the digest's default window. */
    j->on = hol_add_working_days(j->d->cal, j->today, CASELOAD_DUE_SOON_WORKING_DAYS);
    return 0;
}
