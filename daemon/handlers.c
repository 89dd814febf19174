/*
 * handlers: the protocol's dispatch (see handlers.h).
 */
#include "handlers.h"

#include <inttypes.h>
#include <string.h>

#include "audit.h"
#include "delivery.h"
#include "log.h"
#include "ops.h"
#include "reports.h"
#include "tokens.h"
#include "watch.h"

/* How one operation is served: directly, or parsed into a job that runs on the store. */
typedef struct op_def {
    proto_op op;
    unsigned roles; /* who may run it (ACCESS_BIT of each role), checked before anything else */
    void (*direct)(sf_daemon *d, srv_req *req);     /* answered without a job */
    int (*parse)(job *j, proto_err *code, sb *err); /* read and check the fields */
    void (*begin)(job *j);                          /* run with a connection */
    bool batched; /* begin runs at once, without a connection: its steps batch their statements */
} op_def;

static void op_report(sf_daemon *d, srv_req *req)
{
    reports_handle(d, req);
}

static void op_outbox(sf_daemon *d, srv_req *req)
{
    delivery_handle_outbox(d, req);
}

static void op_watch(sf_daemon *d, srv_req *req)
{
    watch_add(d, req);
}

/* The roles of design.md's table; ops it does not name are placed in the nearest group. */
#define R_ANY                                                                                      \
    (ACCESS_BIT(ACCESS_ADMIN) | ACCESS_BIT(ACCESS_MANAGER) | ACCESS_BIT(ACCESS_CASEWORKER) |       \
     ACCESS_BIT(ACCESS_INTEGRATION) | ACCESS_BIT(ACCESS_AUDITOR))
#define R_STAFF                                                                                    \
    (ACCESS_BIT(ACCESS_ADMIN) | ACCESS_BIT(ACCESS_MANAGER) | ACCESS_BIT(ACCESS_CASEWORKER))
#define R_WRITE (R_STAFF | ACCESS_BIT(ACCESS_INTEGRATION)) /* case open, start, event */
#define R_READ  (R_STAFF | ACCESS_BIT(ACCESS_AUDITOR))     /* show, due, history, ... */
#define R_ADMIN ACCESS_BIT(ACCESS_ADMIN)
#define R_AUDIT (ACCESS_BIT(ACCESS_ADMIN) | ACCESS_BIT(ACCESS_AUDITOR))

static const op_def ops[] = {
    {PROTO_OP_PING, R_ANY, op_ping, NULL, NULL, false},
    {PROTO_OP_CLOCK, R_ANY, op_clock, NULL, NULL, false},
    {PROTO_OP_CLOCK_SET, R_ADMIN, op_clock_set, NULL, NULL, false},
    {PROTO_OP_WORKFLOWS, R_ANY, op_workflows, NULL, NULL, false},
    {PROTO_OP_RECOMPUTE, R_ADMIN, op_recompute, NULL, NULL, false},
    {PROTO_OP_RELOAD, R_ADMIN, op_reload, NULL, NULL, false},
    {PROTO_OP_REPORT, R_READ, op_report, NULL, NULL, false},
    {PROTO_OP_OUTBOX, R_READ, op_outbox, NULL, NULL, false},
    {PROTO_OP_WATCH, R_READ, op_watch, NULL, NULL, false},
    {PROTO_OP_CASE_OPEN, R_WRITE, NULL, op_case_open_parse, op_case_open_begin, true},
    {PROTO_OP_START, R_WRITE, NULL, op_start_parse, op_start_begin, true},
    {PROTO_OP_EVENT, R_WRITE, NULL, op_event_parse, op_event_begin, true},
    {PROTO_OP_VOID, R_STAFF, NULL, op_void_parse, op_void_begin, false},
    {PROTO_OP_SHOW, R_READ, NULL, op_show_parse, op_show_begin, false},
    {PROTO_OP_DUE, R_READ | ACCESS_BIT(ACCESS_FEED), NULL, op_due_parse, op_due_begin, false},
    {PROTO_OP_HISTORY, R_READ, NULL, op_history_parse, op_history_begin, false},
    {PROTO_OP_ESCALATIONS, R_READ, NULL, op_escalations_parse, op_escalations_begin, false},
    {PROTO_OP_ACK, R_STAFF, NULL, op_ack_parse, op_ack_begin, false},
    {PROTO_OP_AUDIT, R_AUDIT, NULL, op_audit_parse, op_audit_begin, false},
    {PROTO_OP_CASE_ASSIGN, R_STAFF, NULL, op_case_assign_parse, op_case_assign_begin, false},
    {PROTO_OP_CASELOAD, R_READ, NULL, op_caseload_parse, op_caseload_begin, false},
    {PROTO_OP_TOKEN_ADD, R_ADMIN, op_token_add, NULL, NULL, false},
    {PROTO_OP_TOKEN_LIST, R_ADMIN, op_token_list, NULL, NULL, false},
    {PROTO_OP_TOKEN_REVOKE, R_ADMIN, op_token_revoke, NULL, NULL, false},
    {PROTO_OP_CASE_EXPORT, R_READ, NULL, op_export_parse, op_export_begin, false},
    {PROTO_OP_EXPORT, R_READ, NULL, op_caseload_export_parse, op_caseload_export_begin, false},
    {PROTO_OP_IMPORT, R_STAFF, NULL, op_import_parse, op_import_begin, false},
};

static const op_def *op_find(proto_op op)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ops[i].op == op)
            return &ops[i];
    return NULL;
}

const store_stmts *handlers_statement_tables(size_t *n)
{
    static store_stmts tables[9];
    tables[0] = op_case_statements;
    tables[1] = op_batch_statements;
    tables[2] = op_void_statements;
    tables[3] = op_read_statements;
    tables[4] = op_escalations_statements;
    tables[5] = audit_statements;
    tables[6] = tokens_statements;
    tables[7] = op_export_statements;
    tables[8] = op_import_statements;
    *n = sizeof tables / sizeof tables[0];
    return tables;
}

void handlers_start(sf_daemon *d)
{
    op_batch_start(d);
}

void handlers_free(sf_daemon *d)
{
    op_batch_free(d);
}

static void job_got_connection(store_tx *tx, void *arg)
{
    job *j = arg;
    if (!tx) {
        job_fail_no_connection(j);
        return;
    }
    j->tx = tx;
    const op_def *def = op_find(j->op);
    if (!def || !def->begin) {
        job_fail(j, PROTO_ERR_INTERNAL, "operation %s has no database step", j->req->op);
        return;
    }
    def->begin(j);
}

/*
 * The request's actor. A manager or caseworker is the connection's user,
 * whatever the request claims: a different "actor" is not trusted, and is
 * replaced (and logged), so `SENDFLOW_ACTOR` or a stale $USER cannot make
 * them someone else. An integration (or admin) may name the caseworker it
 * acts for: kept as given, beside the connection's identity in the audit
 * trail.
 */
static void settle_actor(job *j)
{
    const access_ident *id = j->req->ident;
    if (id->role != ACCESS_MANAGER && id->role != ACCESS_CASEWORKER)
        return;
    if (j->actor && strcmp(j->actor, id->who) != 0)
        log_info("conn %" PRIu64 ": %s: \"actor\" %s ignored: a %s acts as %s", j->req->conn_id,
                 j->req->op, j->actor, access_role_name(id->role), id->who);
    j->actor = id->who;
}

/* Checks every operation's fields share; 0, or -1 with *code and err set. */
static int check_common(job *j, proto_err *code, sb *err)
{
    settle_actor(j);
    if (j->key && (!*j->key || strlen(j->key) > 200)) {
        sb_add(err, "\"key\" must be 1 to 200 characters");
        *code = PROTO_ERR_BAD_REQUEST;
        return -1;
    }
    return 0;
}

/* Refuse req as forbidden (what: "a caseworker may not void"); recorded, not waited for. */
static void refuse_forbidden(sf_daemon *d, srv_req *req, const char *what)
{
    const access_ident *id = req->ident;
    log_info("conn %" PRIu64 ": %s refused: forbidden (%s, %s)", req->conn_id, req->op, id->via,
             access_role_name(id->role));
    /* Refusals are recorded too (not waited for): nothing else changes. */
    json_t *cref = json_object_get(req->msg, "case"), *key = json_object_get(req->msg, "key");
    audit_note(d, req, json_is_string(cref) ? json_string_value(cref) : NULL,
               json_is_string(key) ? json_string_value(key) : NULL, "forbidden");
    srv_reply_error(req, proto_err_code(PROTO_ERR_FORBIDDEN), "%s", what);
}

static void dispatch_identified(srv_req *req, void *arg);

/* Does a feed token's due ask for exactly its own calendar (its officer, or its team)? */
static bool feed_scope_ok(json_t *msg, const access_ident *id)
{
    json_t *officer = json_object_get(msg, "officer"), *team = json_object_get(msg, "team");
    if (json_object_get(msg, "mine"))
        return false;
    if (*id->feed_officer)
        return !team && json_is_string(officer) &&
               !strcmp(json_string_value(officer), id->feed_officer);
    return !officer && json_is_string(team) && !strcmp(json_string_value(team), id->feed_team);
}

void handlers_dispatch(srv_req *req, void *arg)
{
    proto_op op = proto_op_lookup(req->op);
    if (op == PROTO_OP_UNKNOWN || !op_find(op)) {
        srv_reply_error(req, "unknown_op", "unknown op \"%s\" (known: %s)", req->op,
                        proto_op_list());
        return;
    }
    /* A TCP client is whoever its token says, checked afresh for every request. */
    if (req->ident->needs_token) {
        tokens_authenticate(arg, req, dispatch_identified, arg);
        return;
    }
    dispatch_identified(req, arg);
}

/* The request, its sender identified: check the role, then run the operation. */
static void dispatch_identified(srv_req *req, void *arg)
{
    sf_daemon *d = arg;
    proto_op op = proto_op_lookup(req->op);
    const op_def *def = op_find(op);
    /* Who may do this, before reading anything else of the request. */
    const access_ident *id = req->ident;
    if (id->role == ACCESS_NONE) {
        log_info("conn %" PRIu64 ": %s refused: unauthenticated (%s)", req->conn_id, req->op,
                 id->via);
        srv_reply_error(req, proto_err_code(PROTO_ERR_UNAUTHENTICATED), "%s",
                        "this user is not in the daemon's access file");
        return;
    }
    char why[256];
    /* A calendar URL takes a feed token only: a stronger one must not sit in a calendar app. */
    if (id->feed_url && id->role != ACCESS_FEED) {
        snprintf(why, sizeof why,
                 "a calendar URL takes a feed token (token add NAME --role feed --officer NAME), "
                 "not a%s %s token",
                 id->role == ACCESS_ADMIN || id->role == ACCESS_INTEGRATION ||
                         id->role == ACCESS_AUDITOR
                     ? "n"
                     : "",
                 access_role_name(id->role));
        refuse_forbidden(d, req, why);
        return;
    }
    /* A feed token reads its own officer's or team's deadlines, nothing more. */
    if (id->role == ACCESS_FEED && op == PROTO_OP_DUE && !feed_scope_ok(req->msg, id)) {
        snprintf(why, sizeof why, "the feed token %.64s reads %s %.64s's deadlines only", id->who,
                 *id->feed_officer ? "officer" : "team",
                 *id->feed_officer ? id->feed_officer : id->feed_team);
        refuse_forbidden(d, req, why);
        return;
    }
    if (!(def->roles & ACCESS_BIT(id->role))) {
        snprintf(why, sizeof why, "a%s %s may not %s",
                 id->role == ACCESS_ADMIN || id->role == ACCESS_INTEGRATION ||
                         id->role == ACCESS_AUDITOR
                     ? "n"
                     : "",
                 access_role_name(id->role), req->op);
        refuse_forbidden(d, req, why);
        return;
    }
    /* An integration token made with --events posts those event types only. */
    json_t *type = json_object_get(req->msg, "type");
    if (op == PROTO_OP_EVENT && json_is_string(type) &&
        !access_event_allowed(id, json_string_value(type))) {
        snprintf(why, sizeof why, "the token %.64s may not post %.60s events (only %.60s)", id->who,
                 json_string_value(type), id->events);
        refuse_forbidden(d, req, why);
        return;
    }
    log_debug("conn %" PRIu64 ": %s (%s)", req->conn_id, req->op, id->via);
    if (def->direct) {
        def->direct(d, req);
        return;
    }
    job *j = job_new(d, req, op);
    proto_err code = PROTO_ERR_BAD_REQUEST;
    sb err = {0};
    if (def->parse(j, &code, &err) != 0 || check_common(j, &code, &err) != 0) {
        j->err = code;
        j->err_msg = sb_steal(&err);
        job_reply(j);
        return;
    }
    sb_free(&err);
    if (d->stopping) {
        job_fail(j, PROTO_ERR_SHUTTING_DOWN, "the daemon is stopping; nothing was recorded");
        return;
    }
    if (def->batched)
        def->begin(j);
    else
        store_submit(d->store, job_got_connection, j);
}
