/* audit: the audit trail's rows and the audit op (see audit.h). */
#include "audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evalio.h"
#include "log.h"
#include "op_sql.h"

#define AUDIT_STATEMENTS(X)                                                                        \
    X(INSERT,                                                                                      \
      "INSERT INTO audit_log (clock, who, role, via, on_behalf, op, case_ref, idem_key, result)"   \
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")                                              \
    X(PAGE,                                                                                        \
      "SELECT coalesce(json_agg(json_build_object('id', a.id::text, 'at',"                         \
      " to_char(a.at AT TIME ZONE 'UTC', " SQL_ISO_UTC "), 'clock', a.clock, 'who', a.who,"        \
      " 'role', a.role, 'via', a.via, 'on_behalf', a.on_behalf, 'op', a.op, 'case', a.case_ref,"   \
      " 'key', a.idem_key, 'result', a.result, 'detail', a.detail) ORDER BY a.id), '[]'::json)"    \
      " FROM (SELECT * FROM audit_log WHERE id > $1::bigint"                                       \
      "  AND ($2::text IS NULL OR case_ref = $2)"                                                  \
      "  AND ($3::date IS NULL OR at >= $3::date::timestamp AT TIME ZONE 'Europe/London')"         \
      "  ORDER BY id LIMIT $4::integer) a")

typedef enum stmt_id {
#define X(id, sql) STMT_##id,
    AUDIT_STATEMENTS(X)
#undef X
} stmt_id;

static const store_stmt statements[] = {
#define X(id, sql) {"sf_audit_" #id, sql},
    AUDIT_STATEMENTS(X)
#undef X
};

const store_stmts audit_statements = {statements, sizeof statements / sizeof statements[0]};

bool audit_wanted(proto_op op)
{
    switch (op) {
    case PROTO_OP_CASE_OPEN:
    case PROTO_OP_CASE_ASSIGN:
    case PROTO_OP_START:
    case PROTO_OP_EVENT:
    case PROTO_OP_VOID:
    case PROTO_OP_ACK:
    case PROTO_OP_SHOW:
    case PROTO_OP_HISTORY:
    case PROTO_OP_CASE_EXPORT:
    case PROTO_OP_EXPORT:
    case PROTO_OP_IMPORT:
    case PROTO_OP_CLOCK_SET:
    case PROTO_OP_RECOMPUTE:
        return true;
    default:
        return false;
    }
}

const char *audit_on_behalf(const srv_req *req, const char *actor)
{
    const access_ident *id = req->ident;
    if (!actor || (id->role != ACCESS_INTEGRATION && id->role != ACCESS_ADMIN))
        return NULL;
    return strcmp(actor, id->who) == 0 ? NULL : actor;
}

json_t *audit_item(const job *j)
{
    const access_ident *id = j->req->ident;
    char now[CLOCK_STR_LEN];
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s?,s:s,s:s,s:s?}", "clock", clock_now_str(&j->d->clock, now), "who",
        id->who, "role", access_role_name(id->role), "via", id->via, "on_behalf",
        audit_on_behalf(j->req, j->actor), "op", j->req->op, "case", j->case_ref, "key", j->key);
}

/* The INSERT's nine parameters; now is the caller's buffer. */
static void audit_params(const char *p[9], char now[CLOCK_STR_LEN], sf_daemon *d,
                         const srv_req *req, const char *actor, const char *case_ref,
                         const char *key, const char *result)
{
    const access_ident *id = req->ident;
    p[0] = clock_now_str(&d->clock, now);
    p[1] = id->who;
    p[2] = access_role_name(id->role);
    p[3] = id->via;
    p[4] = audit_on_behalf(req, actor);
    p[5] = req->op;
    p[6] = case_ref;
    p[7] = key;
    p[8] = result;
}

void audit_job_params(const job *j, const char *p[8], char now[CLOCK_STR_LEN])
{
    const char *all[9];
    audit_params(all, now, j->d, j->req, j->actor, j->case_ref, j->key, "ok");
    for (int i = 0; i < 8; i++)
        p[i] = all[i];
}

typedef struct audit_wait {
    job *j;
    void (*then)(job *j);
} audit_wait;

static void audit_job_written(store_tx *tx, PGresult *res, void *arg)
{
    audit_wait *w = arg;
    job *j = w->j;
    void (*then)(job *) = w->then;
    free(w);
    (void)tx;
    if (!res || !store_ok(res)) {
        log_error("conn %" PRIu64 ": %s: the audit row was not written: %s", j->req->conn_id,
                  j->req->op, res ? PQresultErrorMessage(res) : "connection lost");
        if (!res && j->tx) {
            /* The connection is gone: release it now, as the store asks. */
            store_release(j->tx);
            j->tx = NULL;
        }
    }
    then(j);
}

void audit_job(job *j, const char *result, void (*then)(job *j))
{
    const char *p[9];
    char now[CLOCK_STR_LEN];
    audit_params(p, now, j->d, j->req, j->actor, j->case_ref, j->key, result);
    audit_wait *w = xcalloc(1, sizeof *w);
    w->j = j;
    w->then = then;
    if (store_exec(j->tx, &statements[STMT_INSERT], 9, p, audit_job_written, w) != 0) {
        log_error("conn %" PRIu64 ": %s: the audit row could not be sent", j->req->conn_id,
                  j->req->op);
        free(w);
        store_release(j->tx);
        j->tx = NULL;
        then(j);
    }
}

/* A row to write on a connection of its own (audit_note): its parameters, copied. */
typedef struct audit_row {
    char *v[9];
} audit_row;

static void audit_row_free(audit_row *r)
{
    for (int i = 0; i < 9; i++)
        free(r->v[i]);
    free(r);
}

static void audit_note_written(store_tx *tx, PGresult *res, void *arg)
{
    audit_row *r = arg;
    if (!res || !store_ok(res))
        log_error("audit: a row (%s by %s: %s) was not written: %s", r->v[5], r->v[1], r->v[8],
                  res ? PQresultErrorMessage(res) : "connection lost");
    audit_row_free(r);
    store_release(tx);
}

static void audit_note_got_tx(store_tx *tx, void *arg)
{
    audit_row *r = arg;
    if (!tx) {
        log_error("audit: a row (%s by %s: %s) was not written: no database connection", r->v[5],
                  r->v[1], r->v[8]);
        audit_row_free(r);
        return;
    }
    if (store_exec(tx, &statements[STMT_INSERT], 9, (const char *const *)r->v, audit_note_written,
                   r) != 0) {
        log_error("audit: a row (%s by %s) could not be sent", r->v[5], r->v[1]);
        audit_row_free(r);
        store_release(tx);
    }
}

void audit_note(sf_daemon *d, const srv_req *req, const char *case_ref, const char *key,
                const char *result)
{
    const char *p[9];
    char now[CLOCK_STR_LEN];
    const char *actor = NULL;
    json_t *a = json_object_get(req->msg, "actor");
    if (json_is_string(a))
        actor = json_string_value(a);
    audit_params(p, now, d, req, actor, case_ref, key, result);
    audit_row *r = xcalloc(1, sizeof *r);
    for (int i = 0; i < 9; i++)
        r->v[i] = p[i] ? xstrdup(p[i]) : NULL;
    store_submit(d->store, audit_note_got_tx, r);
}

int op_audit_parse(job *j, proto_err *code, sb *err)
{
    json_t *m = j->req->msg;
    if (json_object_get(m, "case") && proto_case_ref(m, "case", &j->case_ref, code, err))
        return -1;
    return proto_date(m, "since", false, &j->on, &j->has_on, code, err) ||
                   proto_page(m, j->page = page_spec_of(j->op), &j->limit, &j->cursor, code, err)
               ? -1
               : 0;
}

static void audit_loaded(job *j, PGresult *res)
{
    json_t *list = job_json(res, 0, 0), *next;
    if (!list) {
        job_fail(j, PROTO_ERR_INTERNAL, "the audit rows could not be read");
        return;
    }
    if (job_page_by_id(j, list, &next, "an audit row") != 0)
        return;
    j->reply = json_pack("{s:o,s:o}", "rows", list, "next", next);
    job_reply(j);
}

void op_audit_begin(job *j)
{
    char fetch[24], since[CAL_DATE_LEN];
    const char *p[4] = {j->cursor.n ? j->cursor.field[0] : "0", j->case_ref,
                        j->has_on ? cal_format(j->on, since) : NULL, job_page_fetch(j, fetch)};
    job_query(j, &statements[STMT_PAGE], 4, p, audit_loaded);
}
