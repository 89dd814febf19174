/*
 * audit: the audit trail (schema/009_audit.sql). Every change, every read of
 * one child's record and every refusal of an identified caller is a row:
 * who, role, via, on whose behalf, wall-clock and daemon-clock time, op,
 * case, idempotency key and result.
 *
 * Where the rows are written:
 *   - events, starts and case_opens: by sf_record_events, sf_start_processes
 *     and sf_open_cases, in the transaction that records them (the item
 *     carries audit_item's object: no extra round trip);
 *   - void, ack: by their write statement itself;
 *   - the reads (show, history, case_export), and any job that is
 *     refused or replayed: one INSERT on the job's connection after its work
 *     and before its reply (job.c);
 *   - clock_set, recompute and refusals by role: one INSERT on a connection
 *     of their own, not waited for (audit_note).
 * The audit op (sendflow audit) reads them, a page at a time.
 */
#ifndef SF_AUDIT_H
#define SF_AUDIT_H

#include <jansson.h>
#include <stdbool.h>

#include "daemon.h"
#include "job.h"
#include "proto.h"
#include "server.h"

/* The module's statements (static storage). */
extern const store_stmts audit_statements;

/* Is op's every outcome recorded (the changes and the reads of one child's record)? */
bool audit_wanted(proto_op op);
/* On whose behalf req acts: its "actor" when the caller may name one and it differs; borrowed. */
const char *audit_on_behalf(const srv_req *req, const char *actor);
/*
 * A write that records its own audit row in its statement (so in its
 * transaction): call, whose result is column r (NULL: the write lost a race,
 * and no row), then the row from parameters $a.. $a+7 (audit_job_params).
 */
#define SQL_AUDITED(call, a1, a2, a3, a4, a5, a6, a7, a8)                                          \
    "WITH w AS (" call " AS r), a AS (INSERT INTO audit_log (clock, who, role, via, on_behalf,"    \
    " op, case_ref, idem_key, result) SELECT " a1 ", " a2 ", " a3 ", " a4 ", " a5 ", " a6 ", " a7  \
    ", " a8 ", 'ok' FROM w WHERE w.r IS NOT NULL) SELECT r FROM w"
/* The eight parameters SQL_AUDITED takes for j; now is the caller's buffer. */
void audit_job_params(const job *j, const char *p[8], char now[CLOCK_STR_LEN]);
/* The "audit" object of a group-commit item (event, start, case_open): the row's fields (new ref).
 */
json_t *audit_item(const job *j);
/*
 * Send j's audit row on j->tx (which the job holds) with result ("ok" or an
 * error code); then(j) runs once it is written (or failed: logged). Fails
 * nothing: a row that cannot be written is logged as an error.
 */
void audit_job(job *j, const char *result, void (*then)(job *j));
/*
 * Record an outcome that has no job (a direct op, a refusal by role): on a
 * connection of its own, not waited for. case_ref and key may be NULL.
 */
void audit_note(sf_daemon *d, const srv_req *req, const char *case_ref, const char *key,
                const char *result);

/* audit: the rows, oldest first, of one case (or all) since a date. */
int op_audit_parse(job *j, proto_err *code, sb *err);
void op_audit_begin(job *j);

#endif
