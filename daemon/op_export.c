/*
 * op_export: case_export (ops.h), everything held about one child, for a
 * subject access request (README, "Data we hold"): the case, its processes
 * with their deadlines, every event (voided ones too) and every void,
 * escalations with their acknowledgements, the notices that name the case
 * (its escalations' and "resolved" notices, the digests that list it, the
 * board packs whose lists, e.g. of missed deadlines, name it) and the audit
 * rows about it.
 *
 * One statement, so the export is one consistent snapshot. The notices that
 * list many cases (digests, board packs) are found by JSON containment on
 * their payload: a scan of the outbox, fine for a request made a few times a
 * year. A purged case (retention.h) has another reference, so its old one
 * answers unknown_case: nothing personal is left to give.
 *
 * export (the whole caseload: every case with its processes, deadlines and
 * events) answers a page of cases at a time, by case id, so a caseload of
 * thousands is never one reply; the CLI writes it out as CSV (the import's
 * format) or JSON.
 */
#include "ops.h"

#include "evalio.h"
#include "op_sql.h"

static const store_stmt statements[] = {
    {"sf_case_export",
     "SELECT json_build_object('case', c.ref, 'dob', c.dob, 'attrs', c.attrs,"
     " 'created_at', to_char(c.created_at AT TIME ZONE 'UTC', " SQL_ISO_UTC "),"
     " 'processes', (SELECT coalesce(json_agg((sf_process_json(p.id)::jsonb"
     "   || jsonb_build_object('started_by', p.started_by, 'key', p.idem_key,"
     "   'by_event', p.parent_event_id::text, 'recorded_at', to_char(p.created_at AT TIME ZONE "
     "'UTC', " SQL_ISO_UTC ")))"
     "   ORDER BY p.id), '[]'::json) FROM processes p WHERE p.case_id = c.id),"
     " 'events', (SELECT coalesce(json_agg(json_build_object('id', e.id::text,"
     "   'process', e.process_id::text, 'type', e.type, 'on', e.on_date, 'attrs', e.attrs,"
     "   'key', e.idem_key, 'actor', e.actor, 'recorded_at', to_char(e.recorded_at AT TIME ZONE "
     "'UTC', " SQL_ISO_UTC "),"
     "   'voided', EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = e.id))"
     "   ORDER BY e.id), '[]'::json) FROM events e WHERE e.case_id = c.id),"
     " 'voids', (SELECT coalesce(json_agg(json_build_object('id', w.id::text,"
     "   'event', w.event_id::text, 'reason', w.reason, 'actor', w.actor, 'key', w.idem_key,"
     "   'recorded_at', to_char(w.recorded_at AT TIME ZONE 'UTC', " SQL_ISO_UTC
     ")) ORDER BY w.id), '[]'::json)"
     "   FROM event_voids w WHERE w.case_id = c.id),"
     " 'escalations', (SELECT coalesce(json_agg(json_build_object('id', x.id::text,"
     "   'process', x.process_id::text, 'deadline', x.deadline, 'level', x.level, 'due', x.due,"
     "   'fire_on', x.fire_on, 'status', x.status, 'fired_at', to_char(x.fired_at AT TIME ZONE "
     "'UTC', " SQL_ISO_UTC "),"
     "   'roles', x.roles, 'recipients', x.recipients, 'resolved_on', x.resolved_on,"
     "   'acked_at', to_char(x.acked_at AT TIME ZONE 'UTC', " SQL_ISO_UTC
     "), 'acked_by', x.acked_by, 'ack_note', x.ack_note,"
     "   'acks', (SELECT coalesce(json_agg(json_build_object('actor', a.actor, 'note', a.note,"
     "    'recorded_at', to_char(a.recorded_at AT TIME ZONE 'UTC', " SQL_ISO_UTC
     ")) ORDER BY a.id), '[]'::json)"
     "    FROM escalation_acks a WHERE a.escalation_id = x.id)) ORDER BY x.id), '[]'::json)"
     "   FROM escalations x WHERE x.case_id = c.id),"
     " 'notices', (SELECT coalesce(json_agg(json_build_object('id', o.id::text, 'kind', o.kind,"
     "   'escalation', o.escalation_id::text, 'channel', o.channel, 'target', o.target,"
     "   'subject', o.subject, 'body', o.body, 'payload', o.payload, 'status', o.status,"
     "   'attempts', o.attempts, 'last_error', o.last_error,"
     "   'created_at', to_char(o.created_at AT TIME ZONE 'UTC', " SQL_ISO_UTC "),"
     "   'sent_at', to_char(o.sent_at AT TIME ZONE 'UTC', " SQL_ISO_UTC "))"
     "   ORDER BY o.id), '[]'::json) FROM outbox o"
     "   WHERE o.escalation_id IN (SELECT x.id FROM escalations x WHERE x.case_id = c.id)"
     "    OR (o.kind = 'digest' AND o.payload @> jsonb_build_object('items',"
     "        jsonb_build_array(jsonb_build_object('case', c.ref))))"
     "    OR (o.kind = 'board_pack' AND o.payload @> jsonb_build_object('data',"
     "        jsonb_build_object('sections', jsonb_build_array(jsonb_build_object('list',"
     "        jsonb_build_object('items', jsonb_build_array(jsonb_build_object('case',"
     "        c.ref))))))))),"
     " 'audit', (SELECT coalesce(json_agg(json_build_object('id', a.id::text,"
     "   'at', to_char(a.at AT TIME ZONE 'UTC', " SQL_ISO_UTC
     "), 'clock', a.clock, 'who', a.who, 'role', a.role,"
     "   'via', a.via, 'on_behalf', a.on_behalf, 'op', a.op, 'key', a.idem_key,"
     "   'result', a.result, 'detail', a.detail) ORDER BY a.id), '[]'::json)"
     "   FROM audit_log a WHERE a.case_ref = c.ref))"
     " FROM cases c WHERE c.ref = $1"},
    /* export: a page of cases (after case id $1, $2 rows), each with its processes (their
     * deadlines) and events, for the whole-caseload export; purged cases are left out. */
    {"sf_caseload_export",
     "SELECT coalesce(json_agg(x.o ORDER BY x.id), '[]'::json) FROM (SELECT c.id,"
     " json_build_object('id', c.id::text, 'case', c.ref, 'dob', c.dob, 'attrs', c.attrs,"
     " 'processes', (SELECT coalesce(json_agg((sf_process_json(p.id)::jsonb"
     "   || jsonb_build_object('key', p.idem_key, 'by_event', p.parent_event_id::text))"
     "   ORDER BY p.id), '[]'::json) FROM processes p WHERE p.case_id = c.id),"
     " 'events', (SELECT coalesce(json_agg(json_build_object('id', e.id::text,"
     "   'process', e.process_id::text, 'type', e.type, 'on', e.on_date, 'attrs', e.attrs,"
     "   'key', e.idem_key, 'voided', EXISTS (SELECT 1 FROM event_voids v"
     "   WHERE v.event_id = e.id)) ORDER BY e.id), '[]'::json) FROM events e"
     "   WHERE e.case_id = c.id)) AS o"
     " FROM cases c WHERE c.id > $1::bigint AND c.purged_on IS NULL ORDER BY c.id LIMIT $2) x"},
};

const store_stmts op_export_statements = {statements, sizeof statements / sizeof statements[0]};

static void export_loaded(job *j, PGresult *res)
{
    if (PQntuples(res) == 0) {
        job_fail(j, PROTO_ERR_UNKNOWN_CASE, "no case %s", j->case_ref);
        return;
    }
    j->reply = job_json(res, 0, 0);
    if (!j->reply) {
        job_fail(j, PROTO_ERR_INTERNAL, "the export of %s could not be read", j->case_ref);
        return;
    }
    /* The audit rows listed are those before this read: its own row follows the reply's read. */
    job_reply(j);
}

void op_export_begin(job *j)
{
    const char *p[1] = {j->case_ref};
    job_query(j, &statements[0], 1, p, export_loaded);
}

static void caseload_export_loaded(job *j, PGresult *res)
{
    json_t *list = job_json(res, 0, 0), *next;
    if (!list) {
        job_fail(j, PROTO_ERR_INTERNAL, "the export could not be read");
        return;
    }
    if (job_page_by_id(j, list, &next, "an exported case") != 0)
        return;
    size_t i, k;
    json_t *c, *p;
    json_array_foreach(list, i, c)
    {
        json_object_del(c, "id"); /* the cursor's, not the case's: references are the refs */
        json_array_foreach(json_object_get(c, "processes"), k, p) eio_decorate_process(p, j->today);
    }
    char today[CAL_DATE_LEN];
    j->reply = json_pack("{s:s,s:o,s:o}", "today", cal_format(j->today, today), "cases", list,
                         "next", next);
    job_reply(j);
}

void op_caseload_export_begin(job *j)
{
    char fetch[24];
    const char *p[2] = {j->cursor.n ? j->cursor.field[0] : "0", job_page_fetch(j, fetch)};
    job_query(j, &statements[1], 2, p, caseload_export_loaded);
}

int op_caseload_export_parse(job *j, proto_err *code, sb *err)
{
    return proto_page(j->req->msg, j->page = page_spec_of(j->op), &j->limit, &j->cursor, code, err);
}

int op_export_parse(job *j, proto_err *code, sb *err)
{
    return proto_case_ref(j->req->msg, "case", &j->case_ref, code, err);
}
