/*
 * op_batch: the batched reads and writes of start and event (ops.h).
 *
 * A start or an event holds no connection of its own: its case is read with
 * the other cases queued meanwhile, in one statement, and its write goes with
 * the others queued meanwhile, in one transaction; a case_open's insert goes
 * with the other case_opens'. Each request is answered only after its batch
 * has committed; see writer.h for how one bad item is kept from failing its
 * neighbours.
 */
#include "ops.h"

#include <stdlib.h>
#include <string.h>

#include "evalio.h"
#include "op_sql.h"
#include "writer.h"

/*
 * Items {"case": ref, "key": key or absent, "start": true when a start}: for
 * each, null (no such case) or the case's id, version, processes, date of
 * birth, its events that are not voided, and what the key already names
 * ("dup": the event, or for a start the process, recorded under it).
 */
#define OP_STATEMENTS(X)                                                                           \
    X(CASES_READ,                                                                                  \
      "SELECT json_agg(CASE WHEN c.id IS NULL THEN NULL ELSE json_build_object("                   \
      " 'id', c.id::text, 'version', c.version::text, 'processes', " SQL_PROCESSES_OF_CASE ","     \
      " 'dup', CASE WHEN r.item ? 'start' THEN (SELECT sf_process_json(p.id) FROM processes p"     \
      "  WHERE p.case_id = c.id AND p.idem_key = r.item->>'key') ELSE"                             \
      " (SELECT json_build_object('id', e.id::text, 'process', e.process_id::text,"                \
      "  'type', e.type, 'on', e.on_date, 'attrs', e.attrs,"                                       \
      "  'process_json', sf_process_json(e.process_id), 'started_json',"                           \
      "  (SELECT coalesce(json_agg(sf_process_json(k.id) ORDER BY k.id), '[]'::json)"              \
      "   FROM processes k WHERE k.parent_event_id = e.id))"                                       \
      "  FROM events e WHERE e.case_id = c.id AND e.idem_key = r.item->>'key') END,"               \
      " 'events', CASE WHEN r.item ? 'start' THEN '[]'::json ELSE"                                 \
      " (SELECT coalesce(json_agg(json_build_object('id', e.id, 'process',"                        \
      "  e.process_id::text, 'type', e.type, 'on', e.on_date, 'attrs', e.attrs)"                   \
      "  ORDER BY e.on_date, e.id), '[]'::json) FROM events e WHERE e.case_id = c.id"              \
      "  AND NOT EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = e.id)) END,"               \
      " 'dob', c.dob) END ORDER BY r.n)"                                                           \
      " FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY r(item, n)"                           \
      " LEFT JOIN cases c ON c.ref = r.item->>'case'")                                             \
    X(EVENTS_WRITE, "SELECT sf_record_events($1::jsonb)")                                          \
    X(STARTS_WRITE, "SELECT sf_start_processes($1::jsonb)")                                        \
    X(OPENS_WRITE, "SELECT sf_open_cases($1::jsonb)")

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

const store_stmts op_batch_statements = {statements, sizeof statements / sizeof statements[0]};

/* Most items one batch carries, and batches of each kind in flight at once. */
#define BATCH_MAX      256
#define BATCH_INFLIGHT 2

struct op_batches {
    writer *reader;            /* the cases of starts and events */
    writer *write[OP_BATCH_N]; /* by op_batch_kind */
};

void op_batch_start(sf_daemon *d)
{
    static const stmt_id write_stmt[OP_BATCH_N] = {
        [OP_BATCH_EVENTS] = STMT_EVENTS_WRITE,
        [OP_BATCH_STARTS] = STMT_STARTS_WRITE,
        [OP_BATCH_OPENS] = STMT_OPENS_WRITE,
    };
    op_batches *b = xcalloc(1, sizeof *b);
    b->reader = writer_new(d->store, &statements[STMT_CASES_READ], BATCH_MAX, BATCH_INFLIGHT);
    for (int k = 0; k < OP_BATCH_N; k++)
        b->write[k] = writer_new(d->store, &statements[write_stmt[k]], BATCH_MAX, BATCH_INFLIGHT);
    d->batches = b;
}

void op_batch_free(sf_daemon *d)
{
    op_batches *b = d->batches;
    if (!b)
        return;
    writer_free(b->reader);
    for (int k = 0; k < OP_BATCH_N; k++)
        writer_free(b->write[k]);
    free(b);
    d->batches = NULL;
}

/* The batch read holding the job's case answered: fill the job, or fail it. */
static void case_read(PGresult *res, json_t *answer, void *arg)
{
    job *j = arg;
    void (*have)(job *) = j->retry;
    j->retry = NULL;
    if (!answer) {
        if (!res)
            job_fail_no_connection(j);
        else
            job_db_error(j, res, NULL);
        return;
    }
    if (json_is_null(answer)) {
        job_fail(j, PROTO_ERR_UNKNOWN_CASE, "no case %s (open it first: sendflow case open %s)",
                 j->case_ref, j->case_ref);
        return;
    }
    j->case_id = xstrdup(json_string_value(json_object_get(answer, "id")));
    j->case_version = xstrdup(json_string_value(json_object_get(answer, "version")));
    j->processes = json_incref(json_object_get(answer, "processes"));
    j->case_dob = eio_json_date(json_object_get(answer, "dob"));
    j->case_events = json_incref(json_object_get(answer, "events"));
    json_t *dup = json_object_get(answer, "dup");
    j->dup = json_is_null(dup) ? NULL : json_incref(dup);
    have(j);
}

void op_batch_read_case(job *j, bool start, void (*have)(job *j))
{
    job_reset_read(j);
    j->attempts++;
    j->retry = have;
    json_t *item = json_pack("{s:s,s:s?}", "case", j->case_ref, "key", j->key);
    if (start)
        json_object_set_new(item, "start", json_true());
    writer_submit(j->d->batches->reader, item, case_read, j);
}

/* The batch holding the job's write answered: written, or read again, or fail. */
static void written(PGresult *res, json_t *answer, void *arg)
{
    job *j = arg;
    void (*again)(job *) = j->retry;
    void (*done)(job *, json_t *) = j->written;
    j->retry = NULL;
    if (!answer) {
        if (!res) {
            job_fail(j, PROTO_ERR_UNAVAILABLE,
                     "the database connection was lost; if this changed data it was not "
                     "acknowledged, so retry (with the same key)");
            return;
        }
        /* A key or an active slot taken meanwhile (written alone): read again. */
        if (strcmp(store_sqlstate(res), "23505") == 0 && j->attempts < JOB_MAX_ATTEMPTS)
            again(j);
        else
            job_db_error(j, res, NULL);
        return;
    }
    if (json_is_null(answer)) {
        /* The case changed since it was read (another request got there first). */
        if (j->attempts >= JOB_MAX_ATTEMPTS) {
            job_fail(j, PROTO_ERR_UNAVAILABLE,
                     "case %s is being changed by many requests at once; nothing was recorded, "
                     "retry",
                     j->case_ref);
            return;
        }
        again(j);
        return;
    }
    done(j, answer);
}

void op_batch_write(job *j, op_batch_kind kind, json_t *item, void (*again)(job *j),
                    void (*done)(job *j, json_t *answer))
{
    j->retry = again;
    j->written = done;
    writer_submit(j->d->batches->write[kind], item, written, j);
}
