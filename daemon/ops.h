/*
 * ops: the protocol operations, one file per group, for handlers.c's table.
 *
 * An operation that touches the database has a parse function (read and
 * check the request's fields into the job; 0, or -1 with *code and err set,
 * having changed nothing) and a begin function (run once the job has a
 * connection). One that does not is answered directly from the daemon's
 * state. Each group's SQL is its own table of statements, registered with
 * the store through handlers_statement_tables.
 *
 *   op_batch.c       the batched case reads and writes of start and event
 *   op_case.c        case_open, start, case_assign
 *   op_event.c       event
 *   op_void.c        void
 *   op_read.c        show, due, history, caseload
 *   op_escalations.c escalations, ack
 *   op_admin.c       ping, clock, clock_set, workflows, recompute
 *   op_export.c      case_export, export
 *   op_import.c      import
 */
#ifndef SF_OPS_H
#define SF_OPS_H

#include "job.h"

/* The statements of each group (static storage). */
extern const store_stmts op_batch_statements;
extern const store_stmts op_case_statements;
extern const store_stmts op_void_statements;
extern const store_stmts op_read_statements;
extern const store_stmts op_escalations_statements;
extern const store_stmts op_export_statements;
extern const store_stmts op_import_statements;

/* case_open: open a case (idempotent when repeated identically). */
int op_case_open_parse(job *j, proto_err *code, sb *err);
void op_case_open_begin(job *j);
/* start: start a workflow for a case. */
int op_start_parse(job *j, proto_err *code, sb *err);
void op_start_begin(job *j);
/* case_assign: a case's officer (and team); fired open escalations tell the new people. */
int op_case_assign_parse(job *j, proto_err *code, sb *err);
void op_case_assign_begin(job *j);

/* event: record an event and recompute its process; begin needs no connection (batched). */
int op_event_parse(job *j, proto_err *code, sb *err);
void op_event_begin(job *j);

/* The group commits: what each batches. */
typedef enum op_batch_kind {
    OP_BATCH_EVENTS, /* sf_record_events: events and their recomputed processes */
    OP_BATCH_STARTS, /* sf_start_processes: processes started by hand */
    OP_BATCH_OPENS,  /* sf_open_cases: new cases ({"created": true}, else null) */
    OP_BATCH_N
} op_batch_kind;
typedef struct op_batches op_batches;

/* Make the batched case reader and the group commits (d->batches). */
void op_batch_start(sf_daemon *d);
/* Free them, once the loop has ended. */
void op_batch_free(sf_daemon *d);
/* Read j's case (start: what its key names is a process) with others queued, then have(j). */
void op_batch_read_case(job *j, bool start, void (*have)(job *j));
/* Write item (stolen) with others of its kind queued: done(j, answer) once committed; again(j)
 * when the answer is null (the case changed since it was read) or a key was taken meanwhile. */
void op_batch_write(job *j, op_batch_kind kind, json_t *item, void (*again)(job *j),
                    void (*done)(job *j, json_t *answer));

/* void: void an event posted by mistake and recompute. */
int op_void_parse(job *j, proto_err *code, sb *err);
void op_void_begin(job *j);

/* show, due, history: the reads of cases and deadlines. */
int op_show_parse(job *j, proto_err *code, sb *err);
void op_show_begin(job *j);
int op_due_parse(job *j, proto_err *code, sb *err);
void op_due_begin(job *j);
int op_history_parse(job *j, proto_err *code, sb *err);
void op_history_begin(job *j);
/* caseload: per officer, open processes, duties due soon and overdue, open escalations. */
int op_caseload_parse(job *j, proto_err *code, sb *err);
void op_caseload_begin(job *j);
/* How far ahead caseload's "due soon" looks, in working days. */
#define CASELOAD_DUE_SOON_WORKING_DAYS 10

/* escalations, ack: fired escalations and their acknowledgements. */
int op_escalations_parse(job *j, proto_err *code, sb *err);
void op_escalations_begin(job *j);
int op_ack_parse(job *j, proto_err *code, sb *err);
void op_ack_begin(job *j);

/* case_export: everything held about one child (a subject access request). */
int op_export_parse(job *j, proto_err *code, sb *err);
void op_export_begin(job *j);
/* export: a page of the whole caseload (cases, processes with deadlines, events). */
int op_caseload_export_parse(job *j, proto_err *code, sb *err);
void op_caseload_export_begin(job *j);

/* import: check (dry run) or write a chunk of whole cases, all or nothing. */
int op_import_parse(job *j, proto_err *code, sb *err);
void op_import_begin(job *j);

/* Answered from the daemon's state, without a job (d is the sf_daemon). */
void op_ping(sf_daemon *d, srv_req *req);
void op_clock(sf_daemon *d, srv_req *req);
void op_clock_set(sf_daemon *d, srv_req *req);
void op_workflows(sf_daemon *d, srv_req *req);
void op_recompute(sf_daemon *d, srv_req *req);
/* reload: read the definitions again (reload.h); answered once in use or refused. */
void op_reload(sf_daemon *d, srv_req *req);

#endif
