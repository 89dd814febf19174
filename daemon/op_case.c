/*
 * op_case: opening a case and starting a workflow for it (ops.h).
 */
#include "ops.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "evalio.h"
#include "bounds.h"
#include "delivery.h"
#include "log.h"
#include "scheduler.h"
#include "transfers.h"

#define OP_STATEMENTS(X)                                                                           \
    X(CASE_COMPARE, "SELECT (dob IS NOT DISTINCT FROM $2::date) AND attrs = $3::jsonb,"            \
                    " to_char(dob, 'YYYY-MM-DD'), attrs::text FROM cases WHERE ref = $1")          \
    X(CASE_ASSIGN, SQL_AUDITED("SELECT sf_assign_case($1, $2, $3, $4::jsonb, $5::date)", "$6",     \
                               "$7", "$8", "$9", "$10", "$11", "$12", "$13"))

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

const store_stmts op_case_statements = {statements, sizeof statements / sizeof statements[0]};

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
    job_reply(j);
}

/* The reply's case: what was asked for. */
static json_t *case_open_reply(job *j, bool created)
{
    return json_pack("{s:{s:s,s:o,s:o},s:b}", "case", "ref", j->case_ref, "dob",
                     eio_date(j->has_dob ? j->dob : CAL_NONE), "attrs",
                     eio_attrs_json(j->attrs, j->nattrs), "created", created);
}

/* The case existed already (with a connection now): the same, or refused. */
static void case_open_compare(job *j)
{
    char dob[CAL_DATE_LEN];
    char *attrs = eio_attrs_text(j->attrs, j->nattrs);
    j->reply = case_open_reply(j, false);
    const char *p[3] = {j->case_ref, j->has_dob ? cal_format(j->dob, dob) : NULL, attrs};
    job_query(j, &statements[STMT_CASE_COMPARE], 3, p, case_open_compared);
    free(attrs);
}

static void case_open_exists(job *j)
{
    job_connect(j, case_open_compare);
}

static void case_open_created(job *j, json_t *answer)
{
    (void)answer;
    log_info("conn %" PRIu64 ": case %s opened", j->req->conn_id, j->case_ref);
    j->audited = true; /* by sf_open_cases, with the case */
    j->reply = case_open_reply(j, true);
    job_reply(j);
}

/* Inserted with the other case_opens queued meanwhile (op_batch.c). */
void op_case_open_begin(job *j)
{
    json_t *item = json_pack("{s:s,s:o,s:o}", "ref", j->case_ref, "dob",
                             eio_date(j->has_dob ? j->dob : CAL_NONE), "attrs",
                             eio_attrs_json(j->attrs, j->nattrs));
    json_object_set_new(item, "audit", audit_item(j));
    op_batch_write(j, OP_BATCH_OPENS, item, case_open_exists, case_open_created);
}

/* ---- start ---- */

static void start_read(job *j);

static void start_written(job *j, json_t *answer)
{
    j->audited = true; /* by sf_start_processes, with the process */
    json_t *proc = json_deep_copy(answer);
    char on[CAL_DATE_LEN];
    log_info("conn %" PRIu64 ": case %s: process %s %s started on %s", j->req->conn_id, j->case_ref,
             json_string_value(json_object_get(proc, "id")), j->workflow, cal_format(j->on, on));
    eio_decorate_process(proc, j->today);
    j->reply = json_pack("{s:b,s:o}", "duplicate", 0, "process", proc);
    /* A plan (annual review) with a date of birth may have phase transfers to open. */
    transfers_sweep(j->d, j->case_id);
    job_reply(j);
}

/* The case is read (op_batch_read_case): a retry, a conflict, or compute and write. */
static void start_have_case(job *j)
{
    size_t i;
    json_t *p;
    json_array_foreach(j->processes, i, p)
    {
        const char *key = json_string_value(json_object_get(p, "key"));
        if (j->key && key && strcmp(key, j->key) == 0) {
            json_t *want_attrs = eio_attrs_json(j->attrs, j->nattrs);
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
            json_t *proc = json_deep_copy(j->dup);
            eio_decorate_process(proc, j->today);
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
    json_t *item = json_pack("{s:s,s:s,s:s,s:i,s:o,s:o,s:s?,s:s,s:s,s:o,s:o,s:s?}", "case",
                             j->case_id, "case_version", j->case_version, "workflow", j->workflow,
                             "version", j->wf->version, "started_on", eio_date(j->on), "attrs",
                             eio_attrs_json(j->attrs, j->nattrs), "key", j->key, "status",
                             eng_proc_status_name(j->result->status), "state", j->result->state,
                             "ended_on", eio_date(j->result->ended_on), "deadlines",
                             eio_deadlines(j->d, j->result), "actor", j->actor);
    json_object_set_new(item, "audit", audit_item(j));
    op_batch_write(j, OP_BATCH_STARTS, item, start_read, start_written);
}

static void start_read(job *j)
{
    op_batch_read_case(j, true, start_have_case);
}

int op_case_open_parse(job *j, proto_err *code, sb *err)
{
    json_t *m = j->req->msg;
    char today[CAL_DATE_LEN];
    if (proto_case_ref(m, "case", &j->case_ref, code, err) ||
        proto_date(m, "dob", false, &j->dob, &j->has_dob, code, err) ||
        proto_attrs(m, "attrs", &j->attrs, &j->nattrs, code, err) ||
        bounds_check_attrs(j->d->bounds, j->attrs, j->nattrs, true, code, err))
        return -1;
    if (j->has_dob && j->dob > j->today) {
        sb_addf(err, "\"dob\": date of birth %s is after today (%s)",
                json_string_value(json_object_get(m, "dob")), cal_format(j->today, today));
        *code = PROTO_ERR_BAD_DATE;
        return -1;
    }
    return 0;
}

int op_start_parse(job *j, proto_err *code, sb *err)
{
    json_t *m = j->req->msg;
    if (proto_case_ref(m, "case", &j->case_ref, code, err) ||
        proto_str(m, "workflow", true, &j->workflow, code, err) ||
        proto_date(m, "on", true, &j->on, NULL, code, err) ||
        proto_attrs(m, "attrs", &j->attrs, &j->nattrs, code, err) ||
        bounds_check_attrs(j->d->bounds, j->attrs, j->nattrs, false, code, err) ||
        proto_str(m, "key", false, &j->key, code, err) ||
        proto_str(m, "actor", false, &j->actor, code, err))
        return -1;
    if (!(j->wf = wf_set_find(j->d->workflows, j->workflow))) {
        sb names = {0};
        for (size_t i = 0; i < j->d->workflows->n; i++)
            sb_addf(&names, "%s%s", i ? ", " : "", j->d->workflows->items[i]->name);
        sb_addf(err, "no workflow \"%s\" (loaded: %s)", j->workflow, sb_str(&names));
        sb_free(&names);
        *code = PROTO_ERR_UNKNOWN_WORKFLOW;
        return -1;
    }
    char e[ENG_ERR_LEN];
    if (eng_check_start_attrs(j->wf, j->attrs, j->nattrs, e) != 0) {
        sb_add(err, e);
        *code = PROTO_ERR_BAD_ATTRIBUTE;
        return -1;
    }
    return job_check_not_future(j, code, err);
}

void op_start_begin(job *j)
{
    start_read(j);
}

/* ---- case_assign ---- */

static void case_assigned(job *j, PGresult *res)
{
    if (PQgetisnull(res, 0, 0)) {
        job_fail(j, PROTO_ERR_UNKNOWN_CASE, "no case %s (open it first: sendflow case open %s)",
                 j->case_ref, j->case_ref);
        return;
    }
    j->audited = true; /* by the assignment's statement (SQL_AUDITED) */
    json_t *out = job_json(res, 0, 0);
    if (!out) {
        job_fail(j, PROTO_ERR_INTERNAL, "case_assign: the database's answer was not JSON");
        return;
    }
    json_int_t told = json_integer_value(json_object_get(out, "told"));
    const char *was = json_string_value(json_object_get(out, "was_officer"));
    log_info("conn %" PRIu64 ": case %s assigned to %s (was %s)%s", j->req->conn_id, j->case_ref,
             j->officer, was ? was : "unassigned",
             told ? ": open escalations told the new officer" : "");
    if (told)
        delivery_kick(j->d);
    json_object_set_new(out, "case", json_string(j->case_ref));
    j->reply = out;
    job_reply(j);
}

void op_case_assign_begin(job *j)
{
    char today[CAL_DATE_LEN];
    const char *p[13] = {j->case_ref, j->officer, j->team, scheduler_routing(j->d),
                         cal_format(j->today, today)};
    char now[CLOCK_STR_LEN];
    audit_job_params(j, p + 5, now);
    job_query(j, &statements[STMT_CASE_ASSIGN], 13, p, case_assigned);
}

int op_case_assign_parse(job *j, proto_err *code, sb *err)
{
    json_t *m = j->req->msg;
    return proto_case_ref(m, "case", &j->case_ref, code, err) ||
                   proto_name(m, "officer", true, &j->officer, code, err) ||
                   proto_name(m, "team", false, &j->team, code, err)
               ? -1
               : 0;
}
