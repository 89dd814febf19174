/*
 * op_escalations: the escalations that fired, and their acknowledgements
 * (ops.h).
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
    " e.recipients, e.superseded, e.fired_by = 'import' AS historical, e.resolved_on,"             \
    " e.acked_by, e.ack_note,"                                                                     \
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

#define OP_STATEMENTS(X)                                                                           \
    X(ESCALATIONS, SQL_ESCALATIONS_PAGE(""))                                                       \
    X(ESCALATIONS_OPEN, SQL_ESCALATIONS_PAGE(" AND k.resolved_on IS NULL"))                        \
    X(ACK,                                                                                         \
      "WITH e AS (SELECT id, status FROM escalations WHERE id = $1::bigint),"                      \
      " a AS (INSERT INTO escalation_acks (escalation_id, actor, note)"                            \
      "  SELECT id, $2, $3 FROM e WHERE status = 'fired' RETURNING escalation_id, recorded_at),"   \
      " u AS (UPDATE escalations x SET acked_at = a.recorded_at, acked_by = $2, ack_note = $3,"    \
      "  updated_at = now() FROM a WHERE x.id = a.escalation_id RETURNING x.id),"                  \
      " au AS (INSERT INTO audit_log (clock, who, role, via, on_behalf, op, case_ref, idem_key,"   \
      "  result, detail) SELECT $4, $5, $6, $7, $8, $9, coalesce($10, (SELECT c.ref FROM"          \
      "  escalations k JOIN cases c ON c.id = k.case_id WHERE k.id = u.id)), $11, 'ok',"           \
      "  'escalation ' || u.id FROM u)"                                                            \
      " SELECT (SELECT status FROM e), (SELECT count(*) FROM u)")

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

const store_stmts op_escalations_statements = {statements,
                                               sizeof statements / sizeof statements[0]};

static void escalations_loaded(job *j, PGresult *res)
{
    json_t *list = job_json(res, 0, 0), *next;
    if (job_page_by_id(j, list, &next, "an escalation") != 0)
        return;
    j->reply = json_pack("{s:o,s:o}", "escalations", list, "next", next);
    job_reply(j);
}

/* "open" (kept in j->overdue): only those whose deadline is not yet resolved. */
void op_escalations_begin(job *j)
{
    char fetch[24];
    const char *p[2] = {j->cursor.n ? j->cursor.field[0] : JOB_PAGE_ID_TOP,
                        job_page_fetch(j, fetch)};
    job_query(j, &statements[j->overdue ? STMT_ESCALATIONS_OPEN : STMT_ESCALATIONS], 2, p,
              escalations_loaded);
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
    j->audited = true; /* by the acknowledgement's statement */
    log_info("conn %" PRIu64 ": escalation %s acknowledged%s%s", j->req->conn_id, j->event_id,
             j->actor ? " by " : "", j->actor ? j->actor : "");
    j->reply = json_pack("{s:s,s:s,s:s?}", "acknowledged", j->event_id, "note", j->reason, "actor",
                         j->actor);
    job_reply(j);
}

void op_ack_begin(job *j)
{
    const char *p[11] = {j->event_id, j->actor, j->reason};
    char now[CLOCK_STR_LEN];
    audit_job_params(j, p + 3, now);
    job_query(j, &statements[STMT_ACK], 11, p, ack_done);
}

int op_escalations_parse(job *j, proto_err *code, sb *err)
{
    json_t *m = j->req->msg;
    /* "open": only those whose deadline is not yet resolved (kept in j->overdue). */
    return proto_bool(m, "open", false, &j->overdue, code, err) ||
                   proto_page(m, j->page = page_spec_of(j->op), &j->limit, &j->cursor, code, err)
               ? -1
               : 0;
}

int op_ack_parse(job *j, proto_err *code, sb *err)
{
    json_t *m = j->req->msg;
    if (proto_str(m, "escalation", true, &j->event_id, code, err) ||
        proto_str(m, "note", true, &j->reason, code, err) ||
        proto_str(m, "actor", false, &j->actor, code, err))
        return -1;
    if (!*j->event_id || strspn(j->event_id, "0123456789") != strlen(j->event_id) ||
        strlen(j->event_id) > 18) {
        sb_add(err, "\"escalation\" must be an escalation id (digits, as escalations lists them)");
        return -1;
    }
    if (strspn(j->reason, " \t\r\n") == strlen(j->reason) || strlen(j->reason) > 1000) {
        sb_add(err, "\"note\" must say what is being done (1 to 1000 characters)");
        return -1;
    }
    return 0;
}
