/*
 * handlers: the protocol operations (see handlers.h).
 *
 * A job is a small state machine: job_query sends a query and names the step
 * that receives its result; failures at any step go through job_fail, which
 * replies with the error. No request holds a transaction open while the
 * daemon computes. Writers use optimistic concurrency instead: they read the
 * case (its version, processes and events) in one statement, replay the
 * events in the pure engine, then write everything in one statement (a
 * plpgsql function) that first bumps the case's version from the one read.
 * If another request, on this daemon or another, changed the case in between,
 * the write returns NULL and the job starts again from the read. A write is
 * a single statement, so it commits as a whole or not at all, and the reply
 * goes out only after it has committed.
 */
#include "handlers.h"

#include "delivery.h"
#include "evalio.h"
#include "recompute.h"
#include "reports.h"
#include "scheduler.h"
#include "transfers.h"
#include "watch.h"
#include "writer.h"
#include "cohort.h"
#include "xfer.h"
#include "esc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "log.h"
#include "proto.h"
#include "sf_config.h"

/* Reads and writes of one request lost to concurrent changes before we give up. */
#define MAX_ATTEMPTS 20

typedef struct job job;
typedef void (*step_fn)(job *j, PGresult *res);

struct job {
    sf_daemon *d;
    srv_req *req;
    proto_op op;
    store_tx *tx;          /* NULL until the store hands us a connection */
    step_fn next;          /* receives the result of the query in flight */
    void (*retry)(job *j); /* while writing: start again on a unique violation */
    int attempts;          /* reads done (optimistic retries) */
    cal_day today;         /* the daemon's date when the request arrived */

    json_t *reply; /* success reply */
    proto_err err; /* failure code, with err_msg */
    char *err_msg;

    /* Request fields: strings borrowed from req->msg. */
    const char *case_ref, *workflow, *type, *key, *actor, *process;
    const char *event_id, *reason; /* void */
    cal_day on, dob;
    bool has_on, has_dob;
    wf_kv *attrs; /* array owned, strings borrowed */
    size_t nattrs;
    long within;
    bool overdue;
    const page_spec *page; /* due, history, escalations: the paging (proto.def's SF_PAGE) */
    long limit;            /* rows per page */
    page_cursor cursor;    /* where the page starts (cursor.n == 0: at the first row) */

    /* Read from the database (reset before each attempt). */
    char *case_id;
    char *case_version;
    cal_day case_dob;    /* the case's date of birth, CAL_NONE if none */
    json_t *processes;   /* the case's processes (new ref) */
    json_t *dup;         /* what an idempotency key already names (new ref) */
    json_t *case_events; /* every event of the case that is not voided (new ref) */
    json_t *voiding;     /* void: the event to void, with its process's history (new ref) */
    json_t *target;      /* the process taking the event (borrowed from processes) */
    const wf_workflow *wf;
    eng_event *events; /* the target's events + the new one */
    size_t nevents;
    wf_kv **event_attrs; /* per event, owned arrays */
    wf_kv *proc_attrs;
    size_t nproc_attrs;
    eng_result *result;
};

/* ---- the SQL: every statement the daemon runs, prepared once per connection ---- */

/*
 * The SQL below leaves out voided events wherever it reads events for the
 * engine ("NOT EXISTS (SELECT 1 FROM event_voids ...)"): a voided event stays
 * in the events table, but no process is ever computed from it.
 */

/*
 * The processes of case c as a JSON array (a sub-select of the reads below).
 * "void_start" marks a follow-on process whose starting event was voided: it
 * was cancelled with it and takes no events. "sigs" maps each stored
 * deadline's name to its signature, so that a write carries only the rows
 * that changed (eio_deadlines_changed).
 */
#define SQL_PROCESSES_OF_CASE                                                                      \
    "(SELECT coalesce(json_agg(json_build_object('id', p.id::text, 'workflow', p.workflow,"        \
    " 'version', p.wf_version, 'started_on', p.started_on, 'attrs', p.attrs,"                      \
    " 'status', p.status, 'ended_on', p.ended_on, 'key', p.idem_key, 'void_start',"                \
    " EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = p.parent_event_id),"                  \
    " 'sigs', (SELECT coalesce(json_object_agg(d.name, d.sig), '{}'::json) FROM deadlines d"       \
    "  WHERE d.process_id = p.id)) ORDER BY p.id), '[]'::json) FROM processes p"                   \
    " WHERE p.case_id = c.id)"

/* to_char's format for UTC ISO 8601 ("2026-01-05T09:00:00Z"), applied AT TIME ZONE 'UTC'. */
#define SQL_ISO_UTC "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'"

/* As SQL_ISO_UTC with microseconds: a history row's place, exact, for its cursor. */
#define SQL_ISO_UTC_US "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'"

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
 * One page of fired escalations (cond narrows them), newest first: those
 * with an id below $1 (the cursor's; the first page passes the largest
 * bigint), at most $2. The partial indexes escalations_fired and
 * escalations_fired_open (006) serve the page; each row's notices are counted
 * through outbox_escalation.
 */
#define SQL_ESCALATIONS_PAGE(cond)                                                                 \
    "SELECT coalesce(json_agg(to_jsonb(x) - 'n' ORDER BY x.n DESC), '[]'::json) FROM ("            \
    " SELECT e.id AS n, e.id::text AS id, c.ref AS case, p.workflow, e.process_id::text AS"        \
    " process, e.deadline, coalesce(d.title, e.deadline) AS title, e.level, e.due, e.fire_on,"     \
    " e.status, to_char(e.fired_at AT TIME ZONE 'UTC', " SQL_ISO_UTC ") AS fired_at,"              \
    " e.recipients, e.superseded, e.resolved_on, e.acked_by, e.ack_note,"                          \
    " to_char(e.acked_at AT TIME ZONE 'UTC', " SQL_ISO_UTC ") AS acked_at,"                        \
    " (SELECT coalesce(json_object_agg(q.status, q.n), '{}'::json) FROM (SELECT o.status,"         \
    "  count(*) AS n FROM outbox o WHERE o.escalation_id = e.id AND o.kind = 'escalation'"         \
    "  GROUP BY o.status) q)"                                                                      \
    "  AS delivery"                                                                                \
    " FROM (SELECT * FROM escalations k WHERE k.status = 'fired'" cond                             \
    "  AND k.id < $1::bigint ORDER BY k.id DESC LIMIT $2::integer) e"                              \
    " JOIN cases c ON c.id = e.case_id"                                                            \
    " JOIN processes p ON p.id = e.process_id"                                                     \
    " LEFT JOIN deadlines d ON d.process_id = e.process_id AND d.name = e.deadline) x"

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
    "  ORDER BY k.due, k.process_id, k.name LIMIT $6::integer)"
#define SQL_DUE_PERIODS                                                                            \
    "(SELECT k.due, k.process_id, k.name"                                                          \
    "  FROM deadlines k WHERE k.resolution = 'open' AND k.kind = 'period' AND k.due <= $1::date"   \
    "  AND (k.due, k.process_id, k.name) >= (greatest($3::date, $2::date),"                        \
    "   CASE WHEN $3::date >= $2::date THEN $4::bigint ELSE 0 END,"                                \
    "   CASE WHEN $3::date >= $2::date THEN $5::text ELSE '' END)"                                 \
    "  AND (k.due, k.process_id, k.name) <> ($3::date, $4::bigint, $5::text)"                      \
    "  ORDER BY k.due, k.process_id, k.name LIMIT $6::integer)"

#define SF_STATEMENTS(X)                                                                           \
    X(CASE_COMPARE, "SELECT (dob IS NOT DISTINCT FROM $2::date) AND attrs = $3::jsonb,"            \
                    " to_char(dob, 'YYYY-MM-DD'), attrs::text FROM cases WHERE ref = $1")          \
    X(CASE_INSERT, "INSERT INTO cases (ref, dob, attrs) VALUES ($1, $2, $3::jsonb)"                \
                   " ON CONFLICT (ref) DO NOTHING RETURNING id")                                   \
    X(START_WRITE, "SELECT sf_start_process($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10,"       \
                   " $11::jsonb, $12)")                                                            \
    X(START_READ, "SELECT c.id, c.version, " SQL_PROCESSES_OF_CASE ","                             \
                  " (SELECT sf_process_json(p.id) FROM processes p"                                \
                  "  WHERE p.case_id = c.id AND p.idem_key = $2)"                                  \
                  ", to_char(c.dob, 'YYYY-MM-DD')"                                                 \
                  " FROM cases c WHERE c.ref = $1")                                                \
    X(EVENT_WRITE, "SELECT sf_record_events($1::jsonb)")                                           \
    X(EVENT_READ, "SELECT c.id, c.version, " SQL_PROCESSES_OF_CASE ","                             \
                  " (SELECT json_build_object('id', e.id::text, 'process', e.process_id::text,"    \
                  "  'type', e.type, 'on', e.on_date, 'attrs', e.attrs,"                           \
                  "  'process_json', sf_process_json(e.process_id), 'started_json',"               \
                  "  (SELECT coalesce(json_agg(sf_process_json(k.id) ORDER BY k.id), '[]'::json)"  \
                  "   FROM processes k WHERE k.parent_event_id = e.id))"                           \
                  "  FROM events e WHERE e.case_id = c.id AND e.idem_key = $2),"                   \
                  " (SELECT coalesce(json_agg(json_build_object('id', e.id, 'process',"            \
                  "  e.process_id::text, 'type', e.type, 'on', e.on_date, 'attrs', e.attrs)"       \
                  "  ORDER BY e.on_date, e.id), '[]'::json) FROM events e WHERE e.case_id = c.id"  \
                  "  AND NOT EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = e.id))"        \
                  ", to_char(c.dob, 'YYYY-MM-DD')"                                                 \
                  " FROM cases c WHERE c.ref = $1")                                                \
    X(VOID_WRITE, "SELECT sf_void_event($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)")     \
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
      " FROM cases c WHERE c.ref = $1")                                                            \
    X(HISTORY, "SELECT h.entry::text, to_char(h.at AT TIME ZONE 'UTC', " SQL_ISO_UTC_US "),"       \
               " h.rank::text, h.id::text FROM cases c LEFT JOIN LATERAL " SQL_HISTORY_PAGE        \
               " h ON true WHERE c.ref = $1 ORDER BY h.at, h.rank, h.id")                          \
    X(SHOW, "SELECT json_build_object('case', c.ref, 'dob', c.dob, 'attrs', c.attrs,"              \
            " 'processes', (SELECT coalesce(json_agg(sf_process_json(p.id) ORDER BY p.id),"        \
            " '[]'::json) FROM processes p WHERE p.case_id = c.id)),"                              \
            " (SELECT coalesce(json_agg(json_build_object('id', e.id, 'process',"                  \
            "  e.process_id::text, 'type', e.type, 'on', e.on_date, 'attrs', e.attrs)"             \
            "  ORDER BY e.on_date, e.id), '[]'::json) FROM events e WHERE e.case_id = c.id"        \
            "  AND NOT EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = e.id))"              \
            " FROM cases c WHERE c.ref = $1")                                                      \
    X(ESCALATIONS, SQL_ESCALATIONS_PAGE(""))                                                       \
    X(ESCALATIONS_OPEN, SQL_ESCALATIONS_PAGE(" AND k.resolved_on IS NULL"))                        \
    X(ACK,                                                                                         \
      "WITH e AS (SELECT id, status FROM escalations WHERE id = $1::bigint),"                      \
      " a AS (INSERT INTO escalation_acks (escalation_id, actor, note)"                            \
      "  SELECT id, $2, $3 FROM e WHERE status = 'fired' RETURNING escalation_id, recorded_at),"   \
      " u AS (UPDATE escalations x SET acked_at = a.recorded_at, acked_by = $2, ack_note = $3,"    \
      "  updated_at = now() FROM a WHERE x.id = a.escalation_id RETURNING x.id)"                   \
      " SELECT (SELECT status FROM e), (SELECT count(*) FROM u)")                                  \
    X(DUE, "SELECT c.ref, p.id::text, p.workflow, d.name, d.title, d.kind,"                        \
           " to_char(d.due, 'YYYY-MM-DD'), d.excusable, d.basis, d.explain"                        \
           " FROM (" SQL_DUE_DUTIES " UNION ALL " SQL_DUE_PERIODS ") k"                            \
           " JOIN deadlines d ON d.process_id = k.process_id AND d.name = k.name"                  \
           " JOIN processes p ON p.id = d.process_id JOIN cases c ON c.id = p.case_id"             \
           " ORDER BY k.due, k.process_id, k.name LIMIT $6::integer")

typedef enum stmt_id {
#define X(id, sql) STMT_##id,
    SF_STATEMENTS(X)
#undef X
        STMT_COUNT,
} stmt_id;

static const store_stmt statements[] = {
#define X(id, sql) {"sf_" #id, sql},
    SF_STATEMENTS(X)
#undef X
};

const store_stmt *handlers_statements(size_t *n)
{
    *n = STMT_COUNT;
    return statements;
}

/* Most events one group commit writes, and group commits in flight at once. */
#define WRITE_BATCH_MAX      256
#define WRITE_BATCH_INFLIGHT 2

void handlers_start(sf_daemon *d)
{
    d->writer = writer_new(d->store, STMT_EVENT_WRITE, WRITE_BATCH_MAX, WRITE_BATCH_INFLIGHT);
}

void handlers_free(sf_daemon *d)
{
    writer_free(d->writer);
    d->writer = NULL;
}

/* ---- job plumbing ---- */

/* Forget what the last read loaded, before reading again. */
static void job_reset_read(job *j)
{
    free(j->case_id);
    free(j->case_version);
    json_decref(j->processes);
    json_decref(j->dup);
    json_decref(j->case_events);
    json_decref(j->voiding);
    free(j->events);
    if (j->event_attrs) {
        for (size_t i = 0; i < j->nevents; i++)
            free(j->event_attrs[i]);
        free(j->event_attrs);
    }
    free(j->proc_attrs);
    eng_result_free(j->result);
    j->case_id = j->case_version = NULL;
    j->processes = j->dup = j->case_events = j->voiding = NULL;
    j->target = NULL;
    j->events = NULL;
    j->event_attrs = NULL;
    j->nevents = 0;
    j->proc_attrs = NULL;
    j->nproc_attrs = 0;
    j->result = NULL;
}

static void job_free(job *j)
{
    job_reset_read(j);
    json_decref(j->reply);
    free(j->err_msg);
    free(j->attrs);
    page_cursor_free(&j->cursor);
    free(j);
}

/* Release the connection and reply: the last thing a job does. */
static void job_reply(job *j)
{
    if (j->tx)
        store_release(j->tx);
    if (j->err_msg) {
        log_info("conn %" PRIu64 ": %s refused: %s: %s", j->req->conn_id, j->req->op,
                 proto_err_code(j->err), j->err_msg);
        srv_reply_error(j->req, proto_err_code(j->err), "%s", j->err_msg);
    } else {
        srv_reply(j->req, j->reply);
        j->reply = NULL;
    }
    job_free(j);
}

/* Fail with code and message, having changed nothing. */
static void job_fail(job *j, proto_err code, const char *fmt, ...) SF_PRINTF(3, 4);
static void job_fail(job *j, proto_err code, const char *fmt, ...)
{
    if (!j->err_msg) {
        sb m = {0};
        va_list ap;
        va_start(ap, fmt);
        sb_vaddf(&m, fmt, ap);
        va_end(ap);
        j->err = code;
        j->err_msg = sb_steal(&m);
    }
    job_reply(j);
}

/*
 * A failed statement (res not store_ok): a unique violation (a concurrent
 * request took the same idempotency key or the only active slot first) reads
 * again with retry when there is one; anything else fails the job, having
 * changed nothing.
 */
static void job_db_error(job *j, PGresult *res, void (*retry)(job *j))
{
    if (retry && strcmp(store_sqlstate(res), "23505") == 0 && j->attempts < MAX_ATTEMPTS) {
        retry(j);
        return;
    }
    char *msg = xstrdup(PQresultErrorMessage(res));
    msg[strcspn(msg, "\n")] = '\0';
    log_error("conn %" PRIu64 ": %s: database error %s: %s", j->req->conn_id, j->req->op,
              store_sqlstate(res), msg);
    free(msg);
    /* statement_timeout, lock_timeout (see store.c): the database is too slow now. */
    if (!strcmp(store_sqlstate(res), "57014") || !strcmp(store_sqlstate(res), "55P03")) {
        job_fail(j, PROTO_ERR_UNAVAILABLE,
                 "the database did not answer in time; nothing was recorded, retry");
        return;
    }
    job_fail(j, PROTO_ERR_INTERNAL, "database error (see the daemon's log); nothing was recorded");
}

static void job_on_result(store_tx *tx, PGresult *res, void *arg)
{
    job *j = arg;
    (void)tx;
    void (*retry)(job *) = j->retry;
    j->retry = NULL;
    if (!res) {
        job_fail(j, PROTO_ERR_UNAVAILABLE,
                 "the database connection was lost; if this changed data it was not "
                 "acknowledged, so retry (with the same key)");
        return;
    }
    if (!store_ok(res)) {
        job_db_error(j, res, retry);
        return;
    }
    j->next(j, res);
}

/* The store had no connection for the job: the database is down, or we are stopping. */
static void job_fail_no_connection(job *j)
{
    job_fail(j, j->d->stopping ? PROTO_ERR_SHUTTING_DOWN : PROTO_ERR_UNAVAILABLE, "%s",
             j->d->stopping ? "the daemon is stopping; nothing was recorded"
                            : "the database is unavailable; nothing was recorded, retry");
}

/* A connection again, for a job that gave its own back while its write was batched. */
static void job_reacquired(store_tx *tx, void *arg)
{
    job *j = arg;
    if (!tx) {
        job_fail_no_connection(j);
        return;
    }
    j->tx = tx;
    void (*again)(job *) = j->retry;
    j->retry = NULL;
    again(j);
}

/* Read again, on a new connection, after the batched write found the case changed. */
static void job_read_again(job *j, void (*again)(job *j))
{
    j->retry = again;
    store_submit(j->d->store, job_reacquired, j);
}

static void job_query(job *j, stmt_id stmt, int n, const char *const *params, step_fn next)
{
    j->next = next;
    if (store_exec(j->tx, stmt, n, params, job_on_result, j) != 0)
        job_fail(j, PROTO_ERR_UNAVAILABLE,
                 "the database connection was lost; nothing was recorded, retry");
}

/* A write that may lose a race: on a unique violation, retry from the read. */
static void job_write(job *j, stmt_id stmt, int n, const char *const *params, step_fn next,
                      void (*retry)(job *j))
{
    j->retry = retry; /* before the query: a failed send frees j */
    job_query(j, stmt, n, params, next);
}

/* ---- JSON helpers ---- */

/* Parse a JSON column value (new ref), or NULL. */
static json_t *parse_json(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY, NULL);
}

/* Add "status" and "days" to each deadline of a process from the database, as of today. */
static void decorate_process(json_t *proc, cal_day today)
{
    json_t *dls = json_object_get(proc, "deadlines");
    size_t i;
    json_t *dl;
    json_array_foreach(dls, i, dl)
    {
        eng_resolution res = ENG_OPEN;
        const char *rs = json_string_value(json_object_get(dl, "resolution"));
        if (!rs || eng_resolution_parse(rs, &res) != 0)
            res = ENG_OPEN;
        const char *kind = json_string_value(json_object_get(dl, "kind"));
        wf_deadline_kind k =
            kind && strcmp(kind, "period") == 0 ? WF_DEADLINE_PERIOD : WF_DEADLINE_DUTY;
        cal_day due = eio_json_date(json_object_get(dl, "due"));
        cal_day met_on = eio_json_date(json_object_get(dl, "met_on"));
        bool excusable = json_is_true(json_object_get(dl, "excusable"));
        eng_status st = eng_deadline_status(k, res, due, met_on, excusable, today);
        json_object_set_new(dl, "status", json_string(eng_status_name(st)));
        json_object_set_new(dl, "days", json_integer((json_int_t)due - today));
        json_object_del(dl, "resolution");
        json_object_del(dl, "excusable");
    }
}

/* attrs as a JSON object (new ref). */
static json_t *attrs_json(const wf_kv *kv, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, kv[i].key, json_string(kv[i].value));
    return o;
}

static char *attrs_text(const wf_kv *kv, size_t n)
{
    json_t *o = attrs_json(kv, n);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

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

/* ---- case_open ---- */

static void case_open_compared(job *j, PGresult *res)
{
    if (PQntuples(res) == 0) {
        /* Opened and gone between our two statements cannot happen (no deletes): be safe. */
        job_fail(j, PROTO_ERR_INTERNAL, "case %s vanished", j->case_ref);
        return;
    }
    bool same = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    if (!same) {
        job_fail(j, PROTO_ERR_CASE_EXISTS,
                 "case %s already exists with date of birth %s and attributes %s; nothing changed",
                 j->case_ref, PQgetisnull(res, 0, 1) ? "(none)" : PQgetvalue(res, 0, 1),
                 PQgetvalue(res, 0, 2));
        return;
    }
    json_object_set_new(j->reply, "created", json_false());
    job_reply(j);
}

static void case_open_inserted(job *j, PGresult *res)
{
    char dob[CAL_DATE_LEN];
    char *attrs = attrs_text(j->attrs, j->nattrs);
    j->reply = json_pack("{s:{s:s,s:o,s:o}}", "case", "ref", j->case_ref, "dob",
                         eio_date(j->has_dob ? j->dob : CAL_NONE), "attrs",
                         attrs_json(j->attrs, j->nattrs));
    if (PQntuples(res) == 1) {
        log_info("conn %" PRIu64 ": case %s opened", j->req->conn_id, j->case_ref);
        json_object_set_new(j->reply, "created", json_true());
        free(attrs);
        job_reply(j);
        return;
    }
    const char *p[3] = {j->case_ref, j->has_dob ? cal_format(j->dob, dob) : NULL, attrs};
    job_query(j, STMT_CASE_COMPARE, 3, p, case_open_compared);
    free(attrs);
}

static void case_open_begin(job *j)
{
    char dob[CAL_DATE_LEN];
    char *attrs = attrs_text(j->attrs, j->nattrs);
    const char *p[3] = {j->case_ref, j->has_dob ? cal_format(j->dob, dob) : NULL, attrs};
    job_query(j, STMT_CASE_INSERT, 3, p, case_open_inserted);
    free(attrs);
}

/* ---- shared by start and event: read the case in one statement ---- */

/* Load the case row's id, version and processes (columns 0-2); false after failing the job. */
static bool read_case(job *j, PGresult *res)
{
    if (PQntuples(res) == 0) {
        job_fail(j, PROTO_ERR_UNKNOWN_CASE, "no case %s (open it first: sendflow case open %s)",
                 j->case_ref, j->case_ref);
        return false;
    }
    j->case_id = xstrdup(PQgetvalue(res, 0, 0));
    j->case_version = xstrdup(PQgetvalue(res, 0, 1));
    j->processes = parse_json(res, 0, 2);
    /* Every read of a case ends with its date of birth. */
    int last = PQnfields(res) - 1;
    if (PQgetisnull(res, 0, last) || cal_parse(PQgetvalue(res, 0, last), &j->case_dob) != 0)
        j->case_dob = CAL_NONE;
    return true;
}

/* The write found the case changed since the read: read again, a bounded number of times. */
static bool lost_race(job *j, PGresult *res, void (*again)(job *j))
{
    if (!PQgetisnull(res, 0, 0))
        return false;
    log_debug("conn %" PRIu64 ": case %s changed concurrently; reading again", j->req->conn_id,
              j->case_ref);
    if (j->attempts >= MAX_ATTEMPTS) {
        job_fail(j, PROTO_ERR_UNAVAILABLE,
                 "case %s is being changed by many requests at once; nothing was recorded, retry",
                 j->case_ref);
        return true;
    }
    again(j);
    return true;
}

/* ---- start ---- */

static void start_read(job *j);

static void start_written(job *j, PGresult *res)
{
    if (lost_race(j, res, start_read))
        return;
    json_t *proc = parse_json(res, 0, 0);
    char on[CAL_DATE_LEN];
    log_info("conn %" PRIu64 ": case %s: process %s %s started on %s", j->req->conn_id, j->case_ref,
             json_string_value(json_object_get(proc, "id")), j->workflow, cal_format(j->on, on));
    decorate_process(proc, j->today);
    j->reply = json_pack("{s:b,s:o}", "duplicate", 0, "process", proc);
    /* A plan (annual review) with a date of birth may have phase transfers to open. */
    transfers_sweep(j->d, j->case_id);
    job_reply(j);
}

static void start_have_case(job *j, PGresult *res)
{
    if (!read_case(j, res))
        return;
    size_t i;
    json_t *p;
    json_array_foreach(j->processes, i, p)
    {
        const char *key = json_string_value(json_object_get(p, "key"));
        if (j->key && key && strcmp(key, j->key) == 0) {
            json_t *want_attrs = attrs_json(j->attrs, j->nattrs);
            bool same =
                strcmp(json_string_value(json_object_get(p, "workflow")), j->workflow) == 0 &&
                eio_json_date(json_object_get(p, "started_on")) == j->on &&
                json_equal(json_object_get(p, "attrs"), want_attrs);
            json_decref(want_attrs);
            if (!same) {
                job_fail(j, PROTO_ERR_KEY_CONFLICT,
                         "idempotency key \"%s\" was already used for another start on case %s "
                         "(process %s); nothing changed",
                         j->key, j->case_ref, json_string_value(json_object_get(p, "id")));
                return;
            }
            json_t *proc = parse_json(res, 0, 3);
            decorate_process(proc, j->today);
            j->reply = json_pack("{s:b,s:o}", "duplicate", 1, "process", proc);
            job_reply(j);
            return;
        }
    }
    json_array_foreach(j->processes, i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "workflow")), j->workflow) == 0 &&
            strcmp(json_string_value(json_object_get(p, "status")), "active") == 0) {
            job_fail(j, PROTO_ERR_ALREADY_ACTIVE,
                     "case %s already has an active %s (process %s, started %s)", j->case_ref,
                     j->workflow, json_string_value(json_object_get(p, "id")),
                     json_string_value(json_object_get(p, "started_on")));
            return;
        }
    }
    eng_input in = {.wf = j->wf, .start = j->on, .attrs = j->attrs, .nattrs = j->nattrs};
    eio_input_env(j->d, j->case_dob, &in);
    char err[ENG_ERR_LEN];
    /* A default (the transfer date) needs the case's date of birth. */
    if (eng_check_start(&in, err) != 0) {
        job_fail(j, PROTO_ERR_BAD_ATTRIBUTE, "%s", err);
        return;
    }
    if (eng_evaluate(&in, &j->result, err) != 0) {
        job_fail(j, PROTO_ERR_NOT_ALLOWED, "%s", err);
        return;
    }
    char on[CAL_DATE_LEN], ver[16], ended[CAL_DATE_LEN];
    snprintf(ver, sizeof ver, "%d", j->wf->version);
    char *attrs = attrs_text(j->attrs, j->nattrs);
    json_t *dls = eio_deadlines(j->d, j->result);
    char *dltext = json_dumps(dls, JSON_COMPACT);
    json_decref(dls);
    const char *params[12] = {
        j->case_id,
        j->case_version,
        j->workflow,
        ver,
        cal_format(j->on, on),
        attrs,
        j->key,
        eng_proc_status_name(j->result->status),
        j->result->state,
        j->result->ended_on == CAL_NONE ? NULL : cal_format(j->result->ended_on, ended),
        dltext,
        j->actor};
    job_write(j, STMT_START_WRITE, 12, params, start_written, start_read);
    free(attrs);
    free(dltext);
}

static void start_read(job *j)
{
    job_reset_read(j);
    j->attempts++;
    const char *p[2] = {j->case_ref, j->key};
    job_query(j, STMT_START_READ, 2, p, start_have_case);
}

/* ---- event ---- */

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
    decorate_process(proc, j->today);
    size_t i;
    json_t *p;
    json_array_foreach(started, i, p)
    {
        log_info("conn %" PRIu64 ": case %s: process %s %s started on %s by event %s",
                 j->req->conn_id, j->case_ref, json_string_value(json_object_get(p, "id")),
                 json_string_value(json_object_get(p, "workflow")),
                 json_string_value(json_object_get(p, "started_on")), event_id);
        decorate_process(p, j->today);
    }
    j->reply = json_pack("{s:b,s:{s:s,s:s,s:s,s:o},s:O,s:O}", "duplicate", 0, "event", "id",
                         event_id, "type", j->type, "on", on, "attrs",
                         attrs_json(j->attrs, j->nattrs), "process", proc, "started", started);
    if (json_array_size(started))
        transfers_sweep(j->d, j->case_id);
    job_reply(j);
}

/* The batch holding the event's write committed (or failed): answer, or read again. */
static void event_batch_done(PGresult *res, json_t *answer, void *arg)
{
    job *j = arg;
    if (!answer) {
        if (!res) {
            job_fail(j, PROTO_ERR_UNAVAILABLE,
                     "the database connection was lost; if this changed data it was not "
                     "acknowledged, so retry (with the same key)");
            return;
        }
        j->retry = NULL;
        if (strcmp(store_sqlstate(res), "23505") == 0 && j->attempts < MAX_ATTEMPTS)
            job_read_again(j, event_read);
        else
            job_db_error(j, res, NULL);
        return;
    }
    if (json_is_null(answer)) {
        log_debug("conn %" PRIu64 ": case %s changed concurrently; reading again", j->req->conn_id,
                  j->case_ref);
        if (j->attempts >= MAX_ATTEMPTS) {
            job_fail(j, PROTO_ERR_UNAVAILABLE,
                     "case %s is being changed by many requests at once; nothing was recorded, "
                     "retry",
                     j->case_ref);
            return;
        }
        job_read_again(j, event_read);
        return;
    }
    event_written(j, answer);
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
                                attrs_json(st->attrs, st->nattrs), "status",
                                eng_proc_status_name(cr->status), "state", cr->state, "ended_on",
                                eio_date(cr->ended_on), "deadlines", eio_deadlines(j->d, cr)));
        eng_result_free(cr);
    }
    return children;
}

/*
 * The recorded events of list (read with voided ones already left out) as the
 * engine sees them, into j->events: those of process_id (every one when NULL)
 * except the event numbered skip, with room for extra more after them.
 * Returns how many; j->nevents says the same. Strings borrowed from list.
 */
static size_t load_events(job *j, json_t *list, const char *process_id, int64_t skip, size_t extra)
{
    size_t total = json_array_size(list);
    j->events = xcalloc(total + extra + 1, sizeof *j->events);
    j->event_attrs = xcalloc(total + extra + 1, sizeof *j->event_attrs);
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (process_id && strcmp(json_string_value(json_object_get(e, "process")), process_id) != 0)
            continue;
        int64_t seq = (int64_t)json_integer_value(json_object_get(e, "id"));
        if (seq == skip)
            continue;
        eng_event *ev = &j->events[n];
        ev->seq = seq;
        ev->type = json_string_value(json_object_get(e, "type"));
        ev->on = eio_json_date(json_object_get(e, "on"));
        j->event_attrs[n] = eio_kv(json_object_get(e, "attrs"), &ev->nattrs);
        ev->attrs = j->event_attrs[n];
        n++;
    }
    j->nevents = n;
    return n;
}

/*
 * The engine's input for j->target under j->wf, without events: the one place
 * that says what the engine knows of a process besides its events.
 */
static eng_input target_input(job *j)
{
    free(j->proc_attrs);
    j->proc_attrs = eio_kv(json_object_get(j->target, "attrs"), &j->nproc_attrs);
    eng_input in = {.wf = j->wf,
                    .start = eio_json_date(json_object_get(j->target, "started_on")),
                    .attrs = j->proc_attrs,
                    .nattrs = j->nproc_attrs};
    eio_input_env(j->d, j->case_dob, &in);
    return in;
}

/* Replay the target's events with the new one; write it all if the engine accepts it. */
static void event_apply(job *j)
{
    /* The target's recorded events, as the engine sees them. */
    const char *target_id = json_string_value(json_object_get(j->target, "id"));
    size_t n = load_events(j, j->case_events, target_id, INT64_MIN, 1);
    eng_event *ev = &j->events[n];
    ev->seq = INT64_MAX; /* recorded after every existing event */
    ev->type = j->type;
    ev->on = j->on;
    ev->attrs = j->attrs;
    ev->nattrs = j->nattrs;
    j->nevents = n + 1;

    eng_input in = target_input(j);
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
    json_t *item =
        json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:s?,s:s?,s:s,s:s,s:o,s:o,s:o,s:b,s:o}", "case",
                  j->case_id, "case_version", j->case_version, "process", target_id, "type",
                  j->type, "on", eio_date(j->on), "attrs", attrs_json(j->attrs, j->nattrs), "key",
                  j->key, "actor", j->actor, "status", eng_proc_status_name(j->result->status),
                  "state", j->result->state, "ended_on", eio_date(j->result->ended_on), "deadlines",
                  changed, "gone", gone, "plan", plan, "children", children_json(j));
    /* Group commit: the connection goes back to the pool while the write waits for
     * its batch; a lost race reads again on a new one. */
    store_release(j->tx);
    j->tx = NULL;
    writer_submit(j->d->writer, item, event_batch_done, j);
}

/* Is the event the same request as the one already recorded under its key? */
static bool event_same_as_dup(job *j)
{
    json_t *want_attrs = attrs_json(j->attrs, j->nattrs);
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
    decorate_process(proc, j->today);
    /* The same reply as the first time: the processes it started, as they are now. */
    json_t *started = json_incref(json_object_get(j->dup, "started_json"));
    size_t i;
    json_t *p;
    json_array_foreach(started, i, p) decorate_process(p, j->today);
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

static void event_have_case(job *j, PGresult *res)
{
    if (!read_case(j, res))
        return;
    j->dup = parse_json(res, 0, 3);
    j->case_events = parse_json(res, 0, 4);
    if (j->dup) {
        event_reply_duplicate(j);
        return;
    }
    if (event_choose_process(j))
        event_apply(j);
}

static void event_read(job *j)
{
    job_reset_read(j);
    j->attempts++;
    const char *p[2] = {j->case_ref, j->key};
    job_query(j, STMT_EVENT_READ, 2, p, event_have_case);
}

/* ---- void ---- */

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
    if (lost_race(j, res, void_read))
        return;
    json_t *out = parse_json(res, 0, 0);
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
    decorate_process(proc, j->today);
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
    decorate_process(proc, j->today);
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
    size_t n = load_events(j, json_object_get(j->voiding, "history"), NULL, INT64_MIN, 0);
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
    eng_input in = target_input(j);
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
    const char *params[11] = {
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
    job_write(j, STMT_VOID_WRITE, 11, params, void_written, void_read);
    free(dltext);
}

static void void_have_case(job *j, PGresult *res)
{
    if (!read_case(j, res))
        return;
    j->voiding = parse_json(res, 0, 3);
    j->dup = parse_json(res, 0, 4);
    if (!void_settled(j))
        void_apply(j);
}

static void void_read(job *j)
{
    job_reset_read(j);
    j->attempts++;
    const char *p[3] = {j->case_ref, j->event_id, j->key};
    job_query(j, STMT_VOID_READ, 3, p, void_have_case);
}

/* ---- paging ---- */

/* The largest bigint: "before it" is where a newest-first page starts. */
#define PAGE_ID_TOP "9223372036854775807"

/*
 * The "next" of a page that stopped short of the rows read, whose last row
 * listed has sort key key (strings as the database gave them, borrowed): a
 * new JSON string. NULL after failing the job when no cursor can name that
 * row (it cannot happen with the rows the daemon writes).
 */
static json_t *page_next(job *j, const char *const *key)
{
    char *next = page_cursor_make(j->page, key);
    if (!next) {
        job_fail(j, PROTO_ERR_INTERNAL, "cannot write a cursor after the row with key \"%s\"",
                 key[0]);
        return NULL;
    }
    json_t *v = json_string(next);
    free(next);
    return v;
}

/* limit + 1 as a query parameter: one row more than the page, to know whether there are more. */
static const char *page_fetch(job *j, char buf[24])
{
    snprintf(buf, 24, "%ld", j->limit + 1);
    return buf;
}

/* ---- escalations and acknowledgements ---- */

static void escalations_loaded(job *j, PGresult *res)
{
    json_t *list = parse_json(res, 0, 0), *next = json_null();
    if (json_array_size(list) > (size_t)j->limit) {
        json_t *last = json_array_get(list, (size_t)j->limit - 1);
        const char *key[1] = {json_string_value(json_object_get(last, "id"))};
        json_decref(next);
        if (!key[0] || !(next = page_next(j, key))) {
            json_decref(list);
            if (!key[0])
                job_fail(j, PROTO_ERR_INTERNAL, "an escalation came without its id");
            return;
        }
        while (json_array_size(list) > (size_t)j->limit)
            json_array_remove(list, json_array_size(list) - 1);
    }
    j->reply = json_pack("{s:o,s:o}", "escalations", list, "next", next);
    job_reply(j);
}

/* "open" (kept in j->overdue): only those whose deadline is not yet resolved. */
static void escalations_begin(job *j)
{
    char fetch[24];
    const char *p[2] = {j->cursor.n ? j->cursor.field[0] : PAGE_ID_TOP, page_fetch(j, fetch)};
    job_query(j, j->overdue ? STMT_ESCALATIONS_OPEN : STMT_ESCALATIONS, 2, p, escalations_loaded);
}

static void ack_done(job *j, PGresult *res)
{
    if (PQgetisnull(res, 0, 0)) {
        job_fail(j, PROTO_ERR_NO_ESCALATION, "there is no escalation %s", j->event_id);
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 1), "1") != 0) {
        job_fail(j, PROTO_ERR_NOT_ALLOWED,
                 "escalation %s has not fired (it is %s): there is nothing to acknowledge yet",
                 j->event_id, PQgetvalue(res, 0, 0));
        return;
    }
    log_info("conn %" PRIu64 ": escalation %s acknowledged%s%s", j->req->conn_id, j->event_id,
             j->actor ? " by " : "", j->actor ? j->actor : "");
    j->reply = json_pack("{s:s,s:s,s:s?}", "acknowledged", j->event_id, "note", j->reason, "actor",
                         j->actor);
    job_reply(j);
}

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
        json_t *e = parse_json(res, r, 0);
        if (e)
            json_array_append_new(entries, e);
    }
    if (n > j->limit) {
        int r = (int)j->limit - 1;
        const char *key[3] = {PQgetvalue(res, r, 1), PQgetvalue(res, r, 2), PQgetvalue(res, r, 3)};
        json_decref(next);
        if (!(next = page_next(j, key))) {
            json_decref(entries);
            return;
        }
    }
    j->reply = json_pack("{s:s,s:o,s:o}", "case", j->case_ref, "entries", entries, "next", next);
    job_reply(j);
}

static void history_begin(job *j)
{
    char fetch[24];
    const char *p[5] = {j->case_ref, "-infinity", "0", "0", page_fetch(j, fetch)};
    if (j->cursor.n) {
        p[1] = j->cursor.field[0];
        p[2] = j->cursor.field[1];
        p[3] = j->cursor.field[2];
    }
    job_query(j, STMT_HISTORY, 5, p, history_loaded);
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

static void show_loaded(job *j, PGresult *res)
{
    if (PQntuples(res) == 0) {
        job_fail(j, PROTO_ERR_UNKNOWN_CASE, "no case %s", j->case_ref);
        return;
    }
    j->reply = parse_json(res, 0, 0);
    json_t *events = parse_json(res, 0, 1);
    json_t *dob = json_object_get(j->reply, "dob");
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(j->reply, "processes"), i, p)
    {
        decorate_process(p, j->today);
        show_flags(j, p, events, dob);
    }
    json_t *transfers = show_transfers(j, dob);
    if (transfers)
        json_object_set_new(j->reply, "transfers", transfers);
    json_decref(events);
    job_reply(j);
}

static void show_begin(job *j)
{
    const char *p[1] = {j->case_ref};
    job_query(j, STMT_SHOW, 1, p, show_loaded);
}

/* ---- due ---- */

/*
 * due judges statuses on j->on: the daemon's today, or a later day asked for
 * with "on" (what will be due or overdue then if nothing more is recorded).
 */
static void due_loaded(job *j, PGresult *res)
{
    json_t *items = json_array(), *next = json_null();
    int n = PQntuples(res);
    for (int r = 0; r < n && r < j->limit; r++) {
        cal_day due = CAL_NONE;
        (void)cal_parse(PQgetvalue(res, r, 6), &due);
        bool period = strcmp(PQgetvalue(res, r, 5), "period") == 0;
        bool excusable = strcmp(PQgetvalue(res, r, 7), "t") == 0;
        eng_status st = eng_deadline_status(period ? WF_DEADLINE_PERIOD : WF_DEADLINE_DUTY,
                                            ENG_OPEN, due, CAL_NONE, excusable, j->on);
        if (j->overdue && st != ENG_OVERDUE && st != ENG_EXCUSED)
            continue;
        json_array_append_new(
            items, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "case",
                             PQgetvalue(res, r, 0), "process", PQgetvalue(res, r, 1), "workflow",
                             PQgetvalue(res, r, 2), "deadline", PQgetvalue(res, r, 3), "title",
                             PQgetvalue(res, r, 4), "kind", PQgetvalue(res, r, 5), "due",
                             PQgetvalue(res, r, 6), "status", eng_status_name(st), "days",
                             (json_int_t)(due - j->on), "basis", PQgetvalue(res, r, 8), "explain",
                             PQgetvalue(res, r, 9)));
    }
    /* The next page starts after the last row read for this one, listed or not. */
    if (n > j->limit) {
        int r = (int)j->limit - 1;
        const char *key[3] = {PQgetvalue(res, r, 6), PQgetvalue(res, r, 1), PQgetvalue(res, r, 3)};
        json_decref(next);
        if (!(next = page_next(j, key))) {
            json_decref(items);
            return;
        }
    }
    char today[CAL_DATE_LEN], on[CAL_DATE_LEN];
    j->reply =
        json_pack("{s:s,s:s,s:b,s:I,s:b,s:o,s:o}", "today", cal_format(j->today, today), "on",
                  cal_format(j->on, on), "truncated", !json_is_null(next), "within",
                  (json_int_t)j->within, "overdue", j->overdue, "items", items, "next", next);
    job_reply(j);
}

static void due_begin(job *j)
{
    char horizon[CAL_DATE_LEN], on[CAL_DATE_LEN];
    cal_format(j->overdue ? j->on - 1 : cal_add_days(j->on, (int)j->within), horizon);
    cal_format(j->on, on);
    char fetch[24];
    const char *p[6] = {horizon, on, "-infinity", "0", "", page_fetch(j, fetch)};
    if (j->cursor.n) {
        p[2] = j->cursor.field[0];
        p[3] = j->cursor.field[1];
        p[4] = j->cursor.field[2];
    }
    /* The partial indexes deadlines_open_{duty,period}_due (006) serve each kind in order. */
    job_query(j, STMT_DUE, 6, p, due_loaded);
}

/* ---- requests that need no database ---- */

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

/* ---- dispatch ---- */

static void job_got_connection(store_tx *tx, void *arg)
{
    job *j = arg;
    if (!tx) {
        job_fail_no_connection(j);
        return;
    }
    j->tx = tx;
    switch (j->op) {
    case PROTO_OP_CASE_OPEN:
        case_open_begin(j);
        break;
    case PROTO_OP_START:
        start_read(j);
        break;
    case PROTO_OP_EVENT:
        event_read(j);
        break;
    case PROTO_OP_SHOW:
        show_begin(j);
        break;
    case PROTO_OP_DUE:
        due_begin(j);
        break;
    case PROTO_OP_HISTORY:
        history_begin(j);
        break;
    case PROTO_OP_VOID:
        void_read(j);
        break;
    case PROTO_OP_ESCALATIONS:
        escalations_begin(j);
        break;
    case PROTO_OP_ACK: {
        const char *p[3] = {j->event_id, j->actor, j->reason};
        job_query(j, STMT_ACK, 3, p, ack_done);
        break;
    }
    default:
        job_fail(j, PROTO_ERR_INTERNAL, "operation %s has no database step", j->req->op);
        break;
    }
}

/* Read and check the request's fields for op; 0, or -1 after replying with the error. */
static int parse_fields(job *j)
{
    json_t *m = j->req->msg;
    proto_err code = PROTO_ERR_BAD_REQUEST;
    sb err = {0};
    char today[CAL_DATE_LEN];
    int rc = 0;
    switch (j->op) {
    case PROTO_OP_CASE_OPEN:
        rc = proto_case_ref(m, "case", &j->case_ref, &code, &err) ||
             proto_date(m, "dob", false, &j->dob, &j->has_dob, &code, &err) ||
             proto_attrs(m, "attrs", &j->attrs, &j->nattrs, &code, &err);
        if (!rc && j->has_dob && j->dob > j->today) {
            sb_addf(&err, "\"dob\": date of birth %s is after today (%s)",
                    json_string_value(json_object_get(m, "dob")), cal_format(j->today, today));
            code = PROTO_ERR_BAD_DATE;
            rc = -1;
        }
        break;
    case PROTO_OP_START:
        rc = proto_case_ref(m, "case", &j->case_ref, &code, &err) ||
             proto_str(m, "workflow", true, &j->workflow, &code, &err) ||
             proto_date(m, "on", true, &j->on, NULL, &code, &err) ||
             proto_attrs(m, "attrs", &j->attrs, &j->nattrs, &code, &err) ||
             proto_str(m, "key", false, &j->key, &code, &err) ||
             proto_str(m, "actor", false, &j->actor, &code, &err);
        if (!rc && !(j->wf = wf_set_find(j->d->workflows, j->workflow))) {
            sb names = {0};
            for (size_t i = 0; i < j->d->workflows->n; i++)
                sb_addf(&names, "%s%s", i ? ", " : "", j->d->workflows->items[i]->name);
            sb_addf(&err, "no workflow \"%s\" (loaded: %s)", j->workflow, sb_str(&names));
            sb_free(&names);
            code = PROTO_ERR_UNKNOWN_WORKFLOW;
            rc = -1;
        }
        if (!rc) {
            char e[ENG_ERR_LEN];
            if (eng_check_start_attrs(j->wf, j->attrs, j->nattrs, e) != 0) {
                sb_add(&err, e);
                code = PROTO_ERR_BAD_ATTRIBUTE;
                rc = -1;
            }
        }
        break;
    case PROTO_OP_EVENT:
        rc = proto_case_ref(m, "case", &j->case_ref, &code, &err) ||
             proto_str(m, "type", true, &j->type, &code, &err) ||
             proto_date(m, "on", true, &j->on, NULL, &code, &err) ||
             proto_attrs(m, "attrs", &j->attrs, &j->nattrs, &code, &err) ||
             proto_str(m, "key", false, &j->key, &code, &err) ||
             proto_str(m, "process", false, &j->process, &code, &err) ||
             proto_str(m, "actor", false, &j->actor, &code, &err);
        break;
    case PROTO_OP_SHOW:
        rc = proto_case_ref(m, "case", &j->case_ref, &code, &err);
        break;
    case PROTO_OP_HISTORY:
        rc = proto_case_ref(m, "case", &j->case_ref, &code, &err) ||
             proto_page(m, j->page = page_spec_of(j->op), &j->limit, &j->cursor, &code, &err);
        break;
    case PROTO_OP_ESCALATIONS:
        /* "open": only those whose deadline is not yet resolved (kept in j->overdue). */
        rc = proto_bool(m, "open", false, &j->overdue, &code, &err) ||
             proto_page(m, j->page = page_spec_of(j->op), &j->limit, &j->cursor, &code, &err);
        break;
    case PROTO_OP_ACK:
        rc = proto_str(m, "escalation", true, &j->event_id, &code, &err) ||
             proto_str(m, "note", true, &j->reason, &code, &err) ||
             proto_str(m, "actor", false, &j->actor, &code, &err);
        if (!rc && (!*j->event_id || strspn(j->event_id, "0123456789") != strlen(j->event_id) ||
                    strlen(j->event_id) > 18)) {
            sb_add(&err, "\"escalation\" must be an escalation id (digits, as escalations lists "
                         "them)");
            rc = -1;
        }
        if (!rc &&
            (strspn(j->reason, " \t\r\n") == strlen(j->reason) || strlen(j->reason) > 1000)) {
            sb_add(&err, "\"note\" must say what is being done (1 to 1000 characters)");
            rc = -1;
        }
        break;
    case PROTO_OP_VOID:
        rc = proto_case_ref(m, "case", &j->case_ref, &code, &err) ||
             proto_str(m, "event", true, &j->event_id, &code, &err) ||
             proto_str(m, "reason", true, &j->reason, &code, &err) ||
             proto_str(m, "actor", false, &j->actor, &code, &err) ||
             proto_str(m, "key", false, &j->key, &code, &err);
        if (!rc && (!*j->event_id || strspn(j->event_id, "0123456789") != strlen(j->event_id))) {
            sb_add(&err, "\"event\" must be an event id (digits, as history lists them)");
            rc = -1;
        }
        /* "012" names event 12: the id is compared as a string with keys and replies. */
        while (!rc && j->event_id[0] == '0' && j->event_id[1])
            j->event_id++;
        if (!rc && strlen(j->event_id) > 18) {
            sb_add(&err, "\"event\": no event has an id that large");
            rc = -1;
        }
        /* The audit trail must say why: a reason of blanks says nothing. */
        if (!rc &&
            (strspn(j->reason, " \t\r\n") == strlen(j->reason) || strlen(j->reason) > 1000)) {
            sb_add(&err, "\"reason\" must say why the event is voided (1 to 1000 characters)");
            rc = -1;
        }
        break;
    case PROTO_OP_DUE:
        rc = proto_uint(m, "within", 7, 3660, &j->within, &code, &err) ||
             proto_bool(m, "overdue", false, &j->overdue, &code, &err) ||
             proto_date(m, "on", false, &j->on, &j->has_on, &code, &err) ||
             proto_page(m, j->page = page_spec_of(j->op), &j->limit, &j->cursor, &code, &err);
        /* A what-if looks ahead only: what was due on a past day depends on what had
         * been recorded by then, which today's deadlines no longer say. */
        if (!rc && j->has_on && j->on < j->today) {
            sb_addf(&err,
                    "\"on\": %s is in the past (today is %s): use show for what happened; --on "
                    "looks ahead",
                    json_string_value(json_object_get(m, "on")), cal_format(j->today, today));
            code = PROTO_ERR_BAD_DATE;
            rc = -1;
        }
        if (!rc && !j->has_on)
            j->on = j->today;
        break;
    default:
        break;
    }
    if (!rc && (j->op == PROTO_OP_START || j->op == PROTO_OP_EVENT) && j->on > j->today) {
        sb_addf(&err, "\"on\": %s is in the future (today is %s); record things once they happen",
                json_string_value(json_object_get(m, "on")), cal_format(j->today, today));
        code = PROTO_ERR_BAD_DATE;
        rc = -1;
    }
    if (!rc && j->key && (!*j->key || strlen(j->key) > 200)) {
        sb_add(&err, "\"key\" must be 1 to 200 characters");
        code = PROTO_ERR_BAD_REQUEST;
        rc = -1;
    }
    if (rc) {
        j->err = code;
        j->err_msg = sb_steal(&err);
        job_reply(j);
        return -1;
    }
    sb_free(&err);
    return 0;
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

void handlers_dispatch(srv_req *req, void *arg)
{
    sf_daemon *d = arg;
    proto_op op = proto_op_lookup(req->op);
    if (op == PROTO_OP_UNKNOWN) {
        srv_reply_error(req, "unknown_op", "unknown op \"%s\" (known: %s)", req->op,
                        proto_op_list());
        return;
    }
    log_debug("conn %" PRIu64 ": %s", req->conn_id, req->op);
    switch (op) {
    case PROTO_OP_PING:
        srv_reply(req, json_pack("{s:s}", "version", SF_VERSION));
        return;
    case PROTO_OP_CLOCK:
        srv_reply(req, clock_reply(d));
        return;
    case PROTO_OP_CLOCK_SET: {
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
    case PROTO_OP_WORKFLOWS:
        srv_reply(req, workflows_reply(d));
        return;
    case PROTO_OP_REPORT:
        reports_handle(d, req);
        return;
    case PROTO_OP_OUTBOX:
        delivery_handle_outbox(d, req);
        return;
    case PROTO_OP_WATCH:
        watch_add(d, req);
        return;
    case PROTO_OP_RECOMPUTE: {
        bool all = false;
        proto_err code;
        sb err = {0};
        if (proto_bool(req->msg, "all", false, &all, &code, &err) != 0) {
            srv_reply_error(req, proto_err_code(code), "%s", sb_str(&err));
            sb_free(&err);
            return;
        }
        if (d->stopping) {
            srv_reply_error(req, "shutting_down", "the daemon is stopping; nothing was recomputed");
            return;
        }
        log_info("conn %" PRIu64 ": recompute%s", req->conn_id, all ? " (all)" : "");
        recompute_run(d, all, recompute_replied, req);
        return;
    }
    default:
        break;
    }
    job *j = xcalloc(1, sizeof *j);
    j->d = d;
    j->req = req;
    j->op = op;
    j->today = clock_today(&d->clock);
    j->on = j->dob = CAL_NONE;
    if (parse_fields(j) != 0)
        return;
    if (d->stopping) {
        job_fail(j, PROTO_ERR_SHUTTING_DOWN, "the daemon is stopping; nothing was recorded");
        return;
    }
    store_submit(d->store, job_got_connection, j);
}
