/*
 * job: the layer every database operation runs on (see job.h).
 */
#include "job.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "evalio.h"
#include "log.h"

job *job_new(sf_daemon *d, srv_req *req, proto_op op)
{
    job *j = xcalloc(1, sizeof *j);
    j->d = d;
    j->req = req;
    j->op = op;
    j->today = clock_today(&d->clock);
    j->on = j->dob = CAL_NONE;
    return j;
}

proto_err job_db_code(const PGresult *res)
{
    if (!res)
        return PROTO_ERR_UNAVAILABLE;
    /* statement_timeout, lock_timeout (see store.c): the database is too slow now. */
    const char *state = store_sqlstate(res);
    if (!strcmp(state, "57014") || !strcmp(state, "55P03"))
        return PROTO_ERR_UNAVAILABLE;
    return PROTO_ERR_INTERNAL;
}

int job_check_not_future(const job *j, proto_err *code, sb *err)
{
    if (j->on <= j->today)
        return 0;
    char today[CAL_DATE_LEN];
    sb_addf(err, "\"on\": %s is in the future (today is %s); record things once they happen",
            json_string_value(json_object_get(j->req->msg, "on")), cal_format(j->today, today));
    *code = PROTO_ERR_BAD_DATE;
    return -1;
}

proto_err job_no_connection_code(const sf_daemon *d)
{
    return d->stopping ? PROTO_ERR_SHUTTING_DOWN : PROTO_ERR_UNAVAILABLE;
}

/* Forget what the last read loaded, before reading again. */
void job_reset_read(job *j)
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
    json_decref(j->known_items);
    free(j->err_msg);
    free(j->attrs);
    page_cursor_free(&j->cursor);
    if (j->state_free)
        j->state_free(j->state);
    free(j);
}

static void job_audited(job *j)
{
    job_reply(j);
}

static void job_audit_got_tx(store_tx *tx, void *arg)
{
    job *j = arg;
    j->tx = tx;
    if (!tx) {
        log_error("conn %" PRIu64 ": %s: the audit row was not written: no database connection",
                  j->req->conn_id, j->req->op);
        job_reply(j);
        return;
    }
    audit_job(j, j->err_msg ? proto_err_code(j->err) : "ok", job_audited);
}

/* Release the connection and reply: the last thing a job does. Its outcome goes into the
 * audit trail first (audit.h), on its connection, or one of its own when it holds none;
 * not when the database is out of reach (the row could not be written either). */
void job_reply(job *j)
{
    if (!j->audited && audit_wanted(j->op) &&
        !(j->err_msg && (j->err == PROTO_ERR_UNAVAILABLE || j->err == PROTO_ERR_SHUTTING_DOWN))) {
        j->audited = true;
        if (j->tx)
            audit_job(j, j->err_msg ? proto_err_code(j->err) : "ok", job_audited);
        else
            store_submit(j->d->store, job_audit_got_tx, j);
        return;
    }
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
void job_fail(job *j, proto_err code, const char *fmt, ...)
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
void job_db_error(job *j, PGresult *res, void (*retry)(job *j))
{
    if (retry && strcmp(store_sqlstate(res), "23505") == 0 && j->attempts < JOB_MAX_ATTEMPTS) {
        retry(j);
        return;
    }
    char *msg = xstrdup(PQresultErrorMessage(res));
    msg[strcspn(msg, "\n")] = '\0';
    log_error("conn %" PRIu64 ": %s: database error %s: %s", j->req->conn_id, j->req->op,
              store_sqlstate(res), msg);
    free(msg);
    if (job_db_code(res) == PROTO_ERR_UNAVAILABLE) {
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
void job_fail_no_connection(job *j)
{
    job_fail(j, job_no_connection_code(j->d), "%s",
             j->d->stopping ? "the daemon is stopping; nothing was recorded"
                            : "the database is unavailable; nothing was recorded, retry");
}

static void job_connected(store_tx *tx, void *arg)
{
    job *j = arg;
    if (!tx) {
        job_fail_no_connection(j);
        return;
    }
    j->tx = tx;
    void (*then)(job *) = j->retry;
    j->retry = NULL;
    then(j);
}

void job_connect(job *j, void (*then)(job *j))
{
    j->retry = then;
    store_submit(j->d->store, job_connected, j);
}

void job_query(job *j, const store_stmt *stmt, int n, const char *const *params, job_step next)
{
    j->next = next;
    if (store_exec(j->tx, stmt, n, params, job_on_result, j) != 0)
        job_fail(j, PROTO_ERR_UNAVAILABLE,
                 "the database connection was lost; nothing was recorded, retry");
}

/* A write that may lose a race: on a unique violation, retry from the read. */
void job_write(job *j, const store_stmt *stmt, int n, const char *const *params, job_step next,
               void (*retry)(job *j))
{
    j->retry = retry; /* before the query: a failed send frees j */
    job_query(j, stmt, n, params, next);
}

/* Parse a JSON column value (new ref), or NULL. */
json_t *job_json(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY, NULL);
}

/* Load the case row's id, version and processes (columns 0-2); false after failing the job. */
bool job_read_case(job *j, PGresult *res)
{
    if (PQntuples(res) == 0) {
        job_fail(j, PROTO_ERR_UNKNOWN_CASE, "no case %s (open it first: sendflow case open %s)",
                 j->case_ref, j->case_ref);
        return false;
    }
    j->case_id = xstrdup(PQgetvalue(res, 0, 0));
    j->case_version = xstrdup(PQgetvalue(res, 0, 1));
    j->processes = job_json(res, 0, 2);
    /* Every read of a case ends with its date of birth. */
    int last = PQnfields(res) - 1;
    if (PQgetisnull(res, 0, last) || cal_parse(PQgetvalue(res, 0, last), &j->case_dob) != 0)
        j->case_dob = CAL_NONE;
    return true;
}

/* The write found the case changed since the read: read again, a bounded number of times. */
bool job_lost_race(job *j, PGresult *res, void (*again)(job *j))
{
    if (!PQgetisnull(res, 0, 0))
        return false;
    log_debug("conn %" PRIu64 ": case %s changed concurrently; reading again", j->req->conn_id,
              j->case_ref);
    if (j->attempts >= JOB_MAX_ATTEMPTS) {
        job_fail(j, PROTO_ERR_UNAVAILABLE,
                 "case %s is being changed by many requests at once; nothing was recorded, retry",
                 j->case_ref);
        return true;
    }
    again(j);
    return true;
}

/*
 * The recorded events of list (read with voided ones already left out) as the
 * engine sees them, into j->events: those of process_id (every one when NULL)
 * except the event numbered skip, with room for extra more after them.
 * Returns how many; j->nevents says the same. Strings borrowed from list.
 */
size_t job_load_events(job *j, json_t *list, const char *process_id, int64_t skip, size_t extra)
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
eng_input job_target_input(job *j)
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

/*
 * The "next" of a page that stopped short of the rows read, whose last row
 * listed has sort key key (strings as the database gave them, borrowed): a
 * new JSON string. NULL after failing the job when no cursor can name that
 * row (it cannot happen with the rows the daemon writes).
 */
json_t *job_page_next(job *j, const char *const *key)
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
const char *job_page_fetch(const job *j, char buf[24])
{
    snprintf(buf, 24, "%ld", j->limit + 1);
    return buf;
}

int job_page_by_id(job *j, json_t *list, json_t **next, const char *what)
{
    *next = json_null();
    if (json_array_size(list) <= (size_t)j->limit)
        return 0;
    json_t *last = json_array_get(list, (size_t)j->limit - 1);
    const char *key[1] = {json_string_value(json_object_get(last, "id"))};
    json_decref(*next);
    if (!key[0] || !(*next = job_page_next(j, key))) {
        json_decref(list);
        if (!key[0])
            job_fail(j, PROTO_ERR_INTERNAL, "%s came without its id", what);
        return -1;
    }
    while (json_array_size(list) > (size_t)j->limit)
        json_array_remove(list, json_array_size(list) - 1);
    return 0;
}
