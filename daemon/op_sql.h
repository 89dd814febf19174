/*
 * op_sql: SQL fragments shared by the operations' statements (ops.h).
 *
 * The statements leave out voided events wherever they read events for the
 * engine ("NOT EXISTS (SELECT 1 FROM event_voids ...)"): a voided event stays
 * in the events table, but no process is ever computed from it.
 */
#ifndef SF_OP_SQL_H
#define SF_OP_SQL_H

/*
 * The processes of case c as a JSON array (a sub-select of the reads of
 * start, event and void). "void_start" marks a follow-on process whose
 * starting event was voided: it was cancelled with it and takes no events.
 * "sigs" maps each stored deadline's name to its signature, so that a write
 * carries only the rows that changed (eio_deadlines_changed).
 */
#define SQL_PROCESSES_OF_CASE                                                                      \
    "(SELECT coalesce(json_agg(json_build_object('id', p.id::text, 'workflow', p.workflow,"        \
    " 'version', p.wf_version, 'started_on', p.started_on, 'attrs', p.attrs,"                      \
    " 'status', p.status, 'ended_on', p.ended_on, 'key', p.idem_key, 'void_start',"                \
    " EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = p.parent_event_id),"                  \
    " 'sigs', (SELECT coalesce(json_object_agg(d.name, d.sig), '{}'::json) FROM deadlines d"       \
    "  WHERE d.process_id = p.id)) ORDER BY p.id), '[]'::json) FROM processes p"                   \
    " WHERE p.case_id = c.id)"

/* to_char's format for UTC ISO 8601 ("2026-01-05T09:00:00Z"), applied AT TIME ZONE 'UTC'. */
#define SQL_ISO_UTC "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'"

/* As SQL_ISO_UTC with microseconds: a history row's place, exact, for its cursor. */
#define SQL_ISO_UTC_US "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'"

#endif
