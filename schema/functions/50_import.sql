-- Caseload import (daemon/op_import.c): a chunk of whole new cases, computed
-- by the daemon, written in one transaction.

-- p_items: [{"ref", "dob", "attrs", "audit",
--            "processes": [{"n", "workflow", "version", "started_on", "attrs", "key",
--                           "status", "state", "ended_on", "deadlines", "parent" (n or null),
--                           "parent_event" (an event's n or null), "actor"}],
--            "events": [{"n", "process" (n), "type", "on", "attrs", "key", "actor"}]}],
-- the events of each case in the order the daemon replayed them (their ids keep
-- that order, as a recompute replays same-day events by id). p_today: the
-- daemon's date; p_plan: the daemon has an escalation policy.
--
-- Escalation levels whose day passed before p_today are history: of an open
-- deadline's levels due by p_today, all but the last are recorded as fired
-- and superseded (nobody told, fired_by 'import', fired_at their own day),
-- and the last, the deadline's current level, is left pending for the
-- scheduler to send once. An import must not send a year's worth of "at
-- risk" notices at once. sf_plan_escalations_many writes them so ("history"),
-- and, the processes being new ("new"), plans nothing else.
--
-- Returns {"existing": [refs of cases the database already had: then nothing
-- was written], "swept": [ids of new cases with a date of birth: the daemon
-- sweeps their phase transfers]}.
CREATE OR REPLACE FUNCTION sf_import_cases(p_items jsonb, p_today date, p_plan boolean)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    existing jsonb;
    ids      jsonb;
    ps       jsonb;
    es       jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(c.ref), '[]') INTO existing
      FROM cases c WHERE c.ref IN (SELECT i->>'ref' FROM jsonb_array_elements(p_items) i);
    IF jsonb_array_length(existing) > 0 THEN
        RETURN json_build_object('existing', existing, 'swept', '[]'::json);
    END IF;
    -- The daemon clock's time, for known_at (schema 012).
    PERFORM set_config('sendflow.clock', coalesce(p_items->0->'audit'->>'clock', ''), true);
    -- ref -> the new case's id (not each case's whole item copied with its id: that
    -- copy was a fifth of a chunk's write).
    WITH ins AS (
        INSERT INTO cases (ref, dob, attrs)
        SELECT i->>'ref', (i->>'dob')::date, coalesce(i->'attrs', '{}'::jsonb)
          FROM jsonb_array_elements(p_items) i
        RETURNING id, ref)
    SELECT jsonb_object_agg(ins.ref, ins.id) INTO ids FROM ins;
    -- Ids first, in replay order: processes and events name each other.
    SELECT coalesce(jsonb_agg(x.p || jsonb_build_object('case_id', x.cid,
                                                        'id', nextval(pg_get_serial_sequence('processes', 'id')))), '[]')
      INTO ps
      FROM (SELECT p.value AS p, (ids->>(c->>'ref'))::bigint AS cid
              FROM jsonb_array_elements(p_items) c, jsonb_array_elements(c->'processes') p
             ORDER BY 2, (p.value->>'n')::integer) x;
    SELECT coalesce(jsonb_agg(x.e || jsonb_build_object('case_id', x.cid,
                                                        'id', nextval(pg_get_serial_sequence('events', 'id')))), '[]')
      INTO es
      FROM (SELECT e.value AS e, (ids->>(c->>'ref'))::bigint AS cid
              FROM jsonb_array_elements(p_items) c, jsonb_array_elements(c->'events') e
             ORDER BY 2, (e.value->>'n')::integer) x;
    INSERT INTO processes (id, case_id, workflow, wf_version, started_on, attrs, status, state,
                           ended_on, parent_id, parent_event_id, idem_key, started_by)
    SELECT p.id, p.case_id, p.workflow, p.version, p.started_on, coalesce(p.attrs, '{}'),
           p.status, p.state, p.ended_on, par.id, ev.id, p.key, p.actor
      FROM jsonb_to_recordset(ps) AS p(id bigint, case_id bigint, n integer, workflow text,
                                       version integer, started_on date, attrs jsonb,
                                       status text, state text, ended_on date, parent integer,
                                       parent_event integer, key text, actor text)
      LEFT JOIN jsonb_to_recordset(ps) AS par(id bigint, case_id bigint, n integer)
             ON par.case_id = p.case_id AND par.n = p.parent
      LEFT JOIN jsonb_to_recordset(es) AS ev(id bigint, case_id bigint, n integer)
             ON ev.case_id = p.case_id AND ev.n = p.parent_event
     ORDER BY p.id;
    INSERT INTO events (id, case_id, process_id, type, on_date, attrs, idem_key, actor)
    SELECT e.id, e.case_id, p.id, e.type, e.on, coalesce(e.attrs, '{}'), e.key, e.actor
      FROM jsonb_to_recordset(es) AS e(id bigint, case_id bigint, process integer, type text,
                                       "on" date, attrs jsonb, key text, actor text)
      JOIN jsonb_to_recordset(ps) AS p(id bigint, case_id bigint, n integer)
        ON p.case_id = e.case_id AND p.n = e.process
     ORDER BY e.id;
    PERFORM sf_upsert_deadlines(ps, 'id');
    IF p_plan THEN
        PERFORM sf_plan_escalations_many((SELECT jsonb_agg(jsonb_build_object(
                    'process', (p->>'id')::bigint, 'deadlines', p->'deadlines', 'plan', true,
                    'new', true, 'history', p_today))
                                            FROM jsonb_array_elements(ps) p));
    END IF;
    PERFORM sf_audit_items((SELECT jsonb_agg(c->'audit') FROM jsonb_array_elements(p_items) c));
    RETURN json_build_object('existing', '[]'::json,
                             'swept', (SELECT coalesce(json_agg(ids->>(c->>'ref')), '[]'::json)
                                         FROM jsonb_array_elements(p_items) c
                                        WHERE c->>'dob' IS NOT NULL));
END
$$;
