-- Caseload import (daemon/op_import.c): a chunk of whole new cases, computed
-- by the daemon, written in one transaction.

-- p_doc: the chunk as flat rows that name each other by their index "k" (from
-- 0) in their array:
--   "cases":     [{"k", "ref", "dob", "attrs"}]
--   "processes": [{"k", "c" (its case), "workflow", "version", "started_on", "attrs",
--                  "key", "status", "state", "ended_on", "parent" (a process's k or
--                  null), "parent_event" (an event's k or null), "actor"}]
--   "events":    [{"k", "c", "p" (its process), "type", "on", "attrs", "key", "actor"}],
--                in the order the daemon replayed them (their ids keep that order,
--                as a recompute replays same-day events by id)
--   "deadlines": [{"p", the deadlines' columns, "sig"}]
--   "levels":    [{"c", "p", "deadline", "level", "due", "fire_on", "roles", "fired",
--                  "superseded", "resolved_on"}]
--   "audit":     [audit rows, one a case (sf_audit_items)]
-- Flat rows, and every id drawn before anything is written, so each table is one
-- plain INSERT from its array: nested items copied with their new ids, and the
-- levels worked out here from each deadline's "escalate", were half of a chunk's
-- write.
--
-- The daemon decided which levels are history ("fired": an import must not send
-- a year's worth of "at risk" notices at once): of an open deadline's levels due
-- by the import's today, all but the last, written fired and superseded; of a
-- deadline met or ended before the import, those reached by then, written fired
-- and resolved on that day. Nobody is told of either (fired_by 'import', fired_at
-- their own day). An open deadline's current level is left pending for the
-- scheduler to send once. The processes are new, so there is nothing to re-plan,
-- cancel or resolve.
--
-- Returns {"existing": [refs of cases the database already had: then nothing
-- was written], "swept": [ids of new cases with a date of birth: the daemon
-- sweeps their phase transfers]}.
DROP FUNCTION IF EXISTS sf_import_cases(jsonb, date, boolean);
CREATE OR REPLACE FUNCTION sf_import_cases(p_doc jsonb)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    existing jsonb;
    cid      bigint[];
    pid      bigint[];
    eid      bigint[];
    earliest date;
BEGIN
    SELECT coalesce(jsonb_agg(c.ref), '[]') INTO existing
      FROM cases c WHERE c.ref IN (SELECT i->>'ref' FROM jsonb_array_elements(p_doc->'cases') i);
    IF jsonb_array_length(existing) > 0 THEN
        RETURN json_build_object('existing', existing, 'swept', '[]'::json);
    END IF;
    -- The daemon clock's time, for known_at (schema 012).
    PERFORM set_config('sendflow.clock', coalesce(p_doc->'audit'->0->>'clock', ''), true);
    -- Ids in ascending order: row k gets the (k+1)th.
    cid := ARRAY(SELECT n FROM (SELECT nextval(pg_get_serial_sequence('cases', 'id')) AS n
                                  FROM generate_series(1, jsonb_array_length(p_doc->'cases'))) x
                 ORDER BY n);
    pid := ARRAY(SELECT n FROM (SELECT nextval(pg_get_serial_sequence('processes', 'id')) AS n
                                  FROM generate_series(1, jsonb_array_length(p_doc->'processes'))) x
                 ORDER BY n);
    eid := ARRAY(SELECT n FROM (SELECT nextval(pg_get_serial_sequence('events', 'id')) AS n
                                  FROM generate_series(1, jsonb_array_length(p_doc->'events'))) x
                 ORDER BY n);
    INSERT INTO cases (id, ref, dob, attrs)
    SELECT cid[c.k + 1], c.ref, c.dob, coalesce(c.attrs, '{}')
      FROM jsonb_to_recordset(p_doc->'cases') AS c(k integer, ref text, dob date, attrs jsonb)
     ORDER BY c.k;
    -- A process names the event that started it (parent_event_id has no foreign key:
    -- the event is written after it).
    INSERT INTO processes (id, case_id, workflow, wf_version, started_on, attrs, status, state,
                           ended_on, parent_id, parent_event_id, idem_key, started_by)
    SELECT pid[p.k + 1], cid[p.c + 1], p.workflow, p.version, p.started_on,
           coalesce(p.attrs, '{}'), p.status, p.state, p.ended_on, pid[p.parent + 1],
           eid[p.parent_event + 1], p.key, p.actor
      FROM jsonb_to_recordset(p_doc->'processes')
           AS p(k integer, c integer, workflow text, version integer, started_on date,
                attrs jsonb, status text, state text, ended_on date, parent integer,
                parent_event integer, key text, actor text)
     ORDER BY p.k;
    INSERT INTO events (id, case_id, process_id, type, on_date, attrs, idem_key, actor)
    SELECT eid[e.k + 1], cid[e.c + 1], pid[e.p + 1], e.type, e.on, coalesce(e.attrs, '{}'),
           e.key, e.actor
      FROM jsonb_to_recordset(p_doc->'events')
           AS e(k integer, c integer, p integer, type text, "on" date, attrs jsonb, key text,
                actor text)
     ORDER BY e.k;
    -- New processes: a plain INSERT (the upsert's speculative insertion,
    -- sf_upsert_deadlines, cannot meet a conflict here).
    INSERT INTO deadlines (process_id, name, title, kind, anchor_on, due, resolution, met_on,
                           cancelled_on, excusable, basis, explain, note, sig)
    SELECT pid[d.p + 1], d.name, d.title, d.kind, d.anchor_on, d.due, d.resolution, d.met_on,
           d.cancelled_on, d.excusable, d.basis, d.explain, d.note, d.sig
      FROM jsonb_to_recordset(p_doc->'deadlines')
           AS d(p integer, name text, title text, kind text, anchor_on date, due date,
                resolution text, met_on date, cancelled_on date, excusable boolean,
                basis text, explain text, note text, sig text);
    WITH planned AS (
        INSERT INTO escalations (case_id, process_id, deadline, level, due, fire_on, roles,
                                 status, superseded, recipients, fired_by, fired_at,
                                 resolved_on)
        SELECT cid[l.c + 1], pid[l.p + 1], l.deadline, l.level, l.due, l.fire_on, l.roles,
               CASE WHEN l.fired THEN 'fired' ELSE 'pending' END, l.superseded,
               CASE WHEN l.fired THEN '[]'::jsonb END, CASE WHEN l.fired THEN 'import' END,
               CASE WHEN l.fired THEN l.fire_on::timestamp AT TIME ZONE 'Europe/London' END,
               l.resolved_on
          FROM jsonb_to_recordset(p_doc->'levels')
               AS l(c integer, p integer, deadline text, level text, due date, fire_on date,
                    roles jsonb, fired boolean, superseded boolean, resolved_on date)
        RETURNING CASE WHEN status = 'pending' THEN fire_on END AS fire_on)
    SELECT min(fire_on) INTO earliest FROM planned;
    -- As sf_plan_escalations_many: the schedulers learn the earliest day a level fires.
    IF earliest IS NOT NULL THEN
        PERFORM pg_notify('sendflow_escalations', earliest::text);
    END IF;
    PERFORM sf_audit_items(p_doc->'audit');
    RETURN json_build_object('existing', '[]'::json,
                             'swept', (SELECT coalesce(json_agg(cid[c.k + 1]::text), '[]'::json)
                                         FROM jsonb_to_recordset(p_doc->'cases')
                                              AS c(k integer, dob date)
                                        WHERE c.dob IS NOT NULL));
END
$$;
