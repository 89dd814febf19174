/*
 * handlers: the protocol's dispatch (see handlers.h).
 */
#include "handlers.h"

#include <inttypes.h>
#include <string.h>

#include "delivery.h"
#include "log.h"
#include "ops.h"
#include "reports.h"
#include "watch.h"

/* How one operation is served: directly, or parsed into a job that runs on the store. */
typedef struct op_def {
    proto_op op;
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

static const op_def ops[] = {
    {PROTO_OP_PING, op_ping, NULL, NULL, false},
    {PROTO_OP_CLOCK, op_clock, NULL, NULL, false},
    {PROTO_OP_CLOCK_SET, op_clock_set, NULL, NULL, false},
    {PROTO_OP_WORKFLOWS, op_workflows, NULL, NULL, false},
    {PROTO_OP_RECOMPUTE, op_recompute, NULL, NULL, false},
    {PROTO_OP_REPORT, op_report, NULL, NULL, false},
    {PROTO_OP_OUTBOX, op_outbox, NULL, NULL, false},
    {PROTO_OP_WATCH, op_watch, NULL, NULL, false},
    {PROTO_OP_CASE_OPEN, NULL, op_case_open_parse, op_case_open_begin, true},
    {PROTO_OP_START, NULL, op_start_parse, op_start_begin, true},
    {PROTO_OP_EVENT, NULL, op_event_parse, op_event_begin, true},
    {PROTO_OP_VOID, NULL, op_void_parse, op_void_begin, false},
    {PROTO_OP_SHOW, NULL, op_show_parse, op_show_begin, false},
    {PROTO_OP_DUE, NULL, op_due_parse, op_due_begin, false},
    {PROTO_OP_HISTORY, NULL, op_history_parse, op_history_begin, false},
    {PROTO_OP_ESCALATIONS, NULL, op_escalations_parse, op_escalations_begin, false},
    {PROTO_OP_ACK, NULL, op_ack_parse, op_ack_begin, false},
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
    static store_stmts tables[5];
    tables[0] = op_case_statements;
    tables[1] = op_batch_statements;
    tables[2] = op_void_statements;
    tables[3] = op_read_statements;
    tables[4] = op_escalations_statements;
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

/* Checks every operation's fields share; 0, or -1 with *code and err set. */
static int check_common(const job *j, proto_err *code, sb *err)
{
    if (j->key && (!*j->key || strlen(j->key) > 200)) {
        sb_add(err, "\"key\" must be 1 to 200 characters");
        *code = PROTO_ERR_BAD_REQUEST;
        return -1;
    }
    return 0;
}

void handlers_dispatch(srv_req *req, void *arg)
{
    sf_daemon *d = arg;
    proto_op op = proto_op_lookup(req->op);
    const op_def *def = op == PROTO_OP_UNKNOWN ? NULL : op_find(op);
    if (!def) {
        srv_reply_error(req, "unknown_op", "unknown op \"%s\" (known: %s)", req->op,
                        proto_op_list());
        return;
    }
    log_debug("conn %" PRIu64 ": %s", req->conn_id, req->op);
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
