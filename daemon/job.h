/*
 * job: the layer every protocol operation that touches the database runs on.
 *
 * A job is a small state machine: job_query sends a statement and names the
 * step that receives its result; failures at any step go through job_fail,
 * which replies with the error and frees the job. No request holds a
 * transaction open while the daemon computes. Writers use optimistic
 * concurrency instead: they read the case (its version, processes and events),
 * replay the events in the pure engine, then write everything in one
 * statement (a plpgsql function) that first bumps the case's version from the
 * one read. If another request, on this daemon or another, changed the case
 * in between, the write returns NULL and the job starts again from the read
 * (job_lost_race). A write is a single statement, so it commits as a whole or
 * not at all, and the reply goes out only after it has committed. Start and
 * event run their read and their write in batches with other requests'
 * (op_batch.c) and hold no connection; so does case_open's insert. Void
 * holds one.
 *
 * The mapping of a failed statement to a protocol error (job_db_code) is
 * shared with the modules that answer requests without a job (reports, the
 * outbox list).
 */
#ifndef SF_JOB_H
#define SF_JOB_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"
#include "engine.h"
#include "page.h"
#include "proto.h"
#include "server.h"
#include "store.h"
#include "util.h"

/* Reads and writes of one request lost to concurrent changes before it gives up. */
#define JOB_MAX_ATTEMPTS 20

typedef struct job job;
/* A step: receives the successful result (borrowed) of the statement job_query sent. */
typedef void (*job_step)(job *j, PGresult *res);

struct job {
    sf_daemon *d;
    srv_req *req;
    proto_op op;
    store_tx *tx;                            /* NULL until the store hands us a connection */
    job_step next;                           /* receives the result of the query in flight */
    void (*retry)(job *j);                   /* while writing: start again on a unique violation */
    void (*written)(job *j, json_t *answer); /* a batched write's success step (op_batch_write) */
    int attempts;                            /* reads done (optimistic retries) */
    cal_day today;                           /* the daemon's date when the request arrived */

    json_t *reply; /* success reply */
    proto_err err; /* failure code, with err_msg */
    char *err_msg;
    bool audited; /* the outcome is in the audit trail (or is not to be) */

    /* Request fields: strings borrowed from req->msg. */
    const char *case_ref, *workflow, *type, *key, *actor, *process;
    const char *event_id, *reason; /* void, ack */
    const char *officer, *team;    /* case_assign; due and caseload: only these cases */
    bool mine;                     /* due: only the caller's own cases (officer = who) */
    cal_day on, dob;
    bool has_on, has_dob;
    wf_kv *attrs; /* array owned, strings borrowed */
    size_t nattrs;
    long within;
    bool overdue;
    const page_spec *page; /* due, history, escalations: the paging (proto.def's SF_PAGE) */
    long limit;            /* rows per page */
    page_cursor cursor;    /* where the page starts (cursor.n == 0: at the first row) */
    /* due as known on a past day (has_known): the items replayed so far, and the last process
     * read (the keyset of the next chunk). */
    cal_day known_on;
    bool has_known;
    json_t *known_items;
    char known_after[24];

    /* Read from the database by start, event and void (reset before each attempt). */
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
    /* An operation's own state (import), freed with state_free when the job ends. */
    void *state;
    void (*state_free)(void *state);
};

/* A job for req (op already known), dated today by the daemon's clock. Freed when it replies. */
job *job_new(sf_daemon *d, srv_req *req, proto_op op);
/* Release the connection, reply (the error if one was set) and free j: a job's last call. */
void job_reply(job *j);
/* Fail with code and message, having changed nothing; replies and frees j. */
void job_fail(job *j, proto_err code, const char *fmt, ...) SF_PRINTF(3, 4);
/* Fail because the store had no connection: the database is down, or the daemon is stopping. */
void job_fail_no_connection(job *j);
/*
 * A failed statement (res not store_ok): a unique violation (a concurrent
 * request took the same idempotency key or the only active slot first) calls
 * retry when there is one and attempts remain; anything else fails the job.
 */
void job_db_error(job *j, PGresult *res, void (*retry)(job *j));
/* Send statement stmt on the job's connection; next gets its result. Fails the job if unsent. */
void job_query(job *j, const store_stmt *stmt, int n, const char *const *params, job_step next);
/* A write that may lose a race: on a unique violation, retry (from the read). */
void job_write(job *j, const store_stmt *stmt, int n, const char *const *params, job_step next,
               void (*retry)(job *j));

/* Get a connection for a job that ran batched without one, then then(j) (or fail the job). */
void job_connect(job *j, void (*then)(job *j));

/* The protocol error for a failed statement (res NULL: the connection was lost). */
proto_err job_db_code(const PGresult *res);
/* The protocol error when the store has no connection: shutting_down or unavailable. */
proto_err job_no_connection_code(const sf_daemon *d);

/* start, event: the request's "on" is not after today; 0, or -1 with *code and err set. */
int job_check_not_future(const job *j, proto_err *code, sb *err);

/* A JSON column value (new ref), or NULL for SQL NULL. */
json_t *job_json(const PGresult *res, int row, int col);

/* Forget what the last read of the case loaded, before reading again. */
void job_reset_read(job *j);
/* Load the case row's id, version and processes (columns 0-2) and its date of birth (the last
 * column); false after failing the job (no such case). */
bool job_read_case(job *j, PGresult *res);
/* The write returned NULL (the case changed since the read): true after reading again with again
 * (or failing, after JOB_MAX_ATTEMPTS); false when the write went through. */
bool job_lost_race(job *j, PGresult *res, void (*again)(job *j));
/*
 * The recorded events of list (voided ones already left out) as the engine
 * sees them, into j->events: those of process_id (every one when NULL) except
 * the event numbered skip, with room for extra more after them. Returns how
 * many; j->nevents says the same. Strings borrowed from list.
 */
size_t job_load_events(job *j, json_t *list, const char *process_id, int64_t skip, size_t extra);
/* The engine's input for j->target under j->wf, without events. */
eng_input job_target_input(job *j);

/* The largest bigint: "before it" is where a newest-first page starts. */
#define JOB_PAGE_ID_TOP "9223372036854775807"
/* The "next" cursor after the row with sort key key (new JSON string); NULL after failing j. */
json_t *job_page_next(job *j, const char *const *key);
/*
 * Cut list (a page read with one row more than j->limit, each row with an
 * "id") to the page and set *next to the cursor after it (JSON null on the
 * last page). 0, or -1 when it failed j (a row without its id: what names
 * the rows in the message), having freed list.
 */
int job_page_by_id(job *j, json_t *list, json_t **next, const char *what);
/* limit + 1 as a query parameter, in buf: one row more than the page, to know if there are more. */
const char *job_page_fetch(const job *j, char buf[24]);

#endif
