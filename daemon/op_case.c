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
#include "log.h"
#include "op_sql.h"
#include "transfers.h"

#define OP_STATEMENTS(X)                                                                           \
    X(CASE_COMPARE, "SELECT (dob IS NOT DISTINCT FROM $2::date) AND attrs = $3::jsonb,"            \
                    " to_char(dob, 'YYYY-MM-DD'), attrs::text FROM cases WHERE ref = $1")          \
    X(CASE_INSERT, SQL_AUDITED("INSERT INTO cases (ref, dob, attrs) VALUES ($1, $2, $3::jsonb)"    \
                               " ON CONFLICT (ref) DO NOTHING RETURNING id",                       \
                               "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11"))                  \
    X(START_WRITE, SQL_AUDITED("SELECT sf_start_process($1, $2, $3, $4, $5, $6::jsonb, $7, $8,"    \
                               " $9, $10, $11::jsonb, $12)",                                       \
                               "$13", "$14", "$15", "$16", "$17", "$18", "$19", "$20"))            \
    X(START_READ, "SELECT c.id, c.version, " SQL_PROCESSES_OF_CASE ","                             \
                  " (SELECT sf_process_json(p.id) FROM processes p"                                \
                  "  WHERE p.case_id = c.id AND p.idem_key = $2)"                                  \
                  ", to_char(c.dob, 'YYYY-MM-DD')"                                                 \
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
    json_object_set_new(j->reply, "created", json_false());
    job_reply(j);
}

static void case_open_inserted(job *j, PGresult *res)
{
    char dob[CAL_DATE_LEN];
    char *attrs = eio_attrs_text(j->attrs, j->nattrs);
    j->reply = json_pack("{s:{s:s,s:o,s:o}}", "case", "ref", j->case_ref, "dob",
                         eio_date(j->has_dob ? j->dob : CAL_NONE), "attrs",
                         eio_attrs_json(j->attrs, j->nattrs));
    if (PQntuples(res) == 1) {
        log_info("conn %" PRIu64 ": case %s opened", j->req->conn_id, j->case_ref);
        j->audited = true; /* by the insert itself (SQL_AUDITED) */
        json_object_set_new(j->reply, "created", json_true());
        free(attrs);
        job_reply(j);
        return;
    }
    const char *p[3] = {j->case_ref, j->has_dob ? cal_format(j->dob, dob) : NULL, attrs};
    job_query(j, &statements[STMT_CASE_COMPARE], 3, p, case_open_compared);
    free(attrs);
}

void op_case_open_begin(job *j)
{
    char dob[CAL_DATE_LEN];
    char *attrs = eio_attrs_text(j->attrs, j->nattrs);
    const char *p[11] = {j->case_ref, j->has_dob ? cal_format(j->dob, dob) : NULL, attrs};
    char now[CLOCK_STR_LEN];
    audit_job_params(j, p + 3, now);
    job_query(j, &statements[STMT_CASE_INSERT], 11, p, case_open_inserted);
    free(attrs);
}

/* ---- start ---- */

static void start_read(job *j);

static void start_written(job *j, PGresult *res)
{
    if (job_lost_race(j, res, start_read))
        return;
    j->audited = true; /* by the write itself (SQL_AUDITED) */
    json_t *proc = job_json(res, 0, 0);
    char on[CAL_DATE_LEN];
    log_info("conn %" PRIu64 ": case %s: process %s %s started on %s", j->req->conn_id, j->case_ref,
             json_string_value(json_object_get(proc, "id")), j->workflow, cal_format(j->on, on));
    eio_decorate_process(proc, j->today);
    j->reply = json_pack("{s:b,s:o}", "duplicate", 0, "process", proc);
    /* A plan (annual review) with a date of birth may have phase transfers to open. */
    transfers_sweep(j->d, j->case_id);
    job_reply(j);
}

static void start_have_case(job *j, PGresult *res)
{
    if (!job_read_case(j, res))
        return;
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
            json_t *proc = job_json(res, 0, 3);
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
    char on[CAL_DATE_LEN], ver[16], ended[CAL_DATE_LEN];
    snprintf(ver, sizeof ver, "%d", j->wf->version);
    char *attrs = eio_attrs_text(j->attrs, j->nattrs);
    json_t *dls = eio_deadlines(j->d, j->result);
    char *dltext = json_dumps(dls, JSON_COMPACT);
    json_decref(dls);
    const char *params[20] = {
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
    char now[CLOCK_STR_LEN];
    audit_job_params(j, params + 12, now);
    job_write(j, &statements[STMT_START_WRITE], 20, params, start_written, start_read);
    free(attrs);
    free(dltext);
}

static void start_read(job *j)
{
    job_reset_read(j);
    j->attempts++;
    const char *p[2] = {j->case_ref, j->key};
    job_query(j, &statements[STMT_START_READ], 2, p, start_have_case);
}

int op_case_open_parse(job *j, proto_err *code, sb *err)
{
    json_t *m = j->req->msg;
    char today[CAL_DATE_LEN];
    if (proto_case_ref(m, "case", &j->case_ref, code, err) ||
        proto_date(m, "dob", false, &j->dob, &j->has_dob, code, err) ||
        proto_attrs(m, "attrs", &j->attrs, &j->nattrs, code, err))
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
