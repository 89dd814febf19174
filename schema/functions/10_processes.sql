-- Processes and their deadlines: saving a computed process, starting one,
-- recording events (one or a batch: group commit), voiding an event, and a
-- process as the protocol shows it.
--
-- Writers use optimistic concurrency: the daemon reads a case (its version,
-- processes and events) in one statement, replays the events in the pure
-- engine, then writes here; every write first bumps the case's version from
-- the one read, and returns NULL when another writer got there first (the
-- daemon then reads again).

-- Write deadline rows: for each item of p_items, the rows of its "deadlines"
-- array for the process whose id is under p_key ("process", or "id" for a
-- recompute batch); a row whose every column is as stored is left alone
-- (no dead tuple, no trigger). The one home of the deadline upsert.
CREATE OR REPLACE FUNCTION sf_upsert_deadlines(p_items jsonb, p_key text) RETURNS void
LANGUAGE sql AS $$
INSERT INTO deadlines (process_id, name, title, kind, anchor_on, due, resolution, met_on,
                       cancelled_on, excusable, basis, explain, note, sig)
SELECT (i->>p_key)::bigint, d.name, d.title, d.kind, d.anchor_on, d.due, d.resolution,
       d.met_on, d.cancelled_on, d.excusable, d.basis, d.explain, d.note, d.sig
  FROM jsonb_array_elements(coalesce(p_items, '[]'::jsonb)) i,
       jsonb_to_recordset(coalesce(i->'deadlines', '[]'::jsonb))
           AS d(name text, title text, kind text, anchor_on date, due date, resolution text,
                met_on date, cancelled_on date, excusable boolean, basis text, explain text,
                note text, sig text)
ON CONFLICT (process_id, name) DO UPDATE
   SET title = excluded.title, kind = excluded.kind, anchor_on = excluded.anchor_on,
       due = excluded.due, resolution = excluded.resolution, met_on = excluded.met_on,
       cancelled_on = excluded.cancelled_on, excusable = excluded.excusable,
       basis = excluded.basis, explain = excluded.explain, note = excluded.note,
       sig = excluded.sig, updated_at = now()
 WHERE (deadlines.title, deadlines.kind, deadlines.anchor_on, deadlines.due,
        deadlines.resolution, deadlines.met_on, deadlines.cancelled_on, deadlines.excusable,
        deadlines.basis, deadlines.explain, deadlines.note, deadlines.sig)
       IS DISTINCT FROM
       (excluded.title, excluded.kind, excluded.anchor_on, excluded.due, excluded.resolution,
        excluded.met_on, excluded.cancelled_on, excluded.excusable, excluded.basis,
        excluded.explain, excluded.note, excluded.sig)
$$;

-- Write a computed process. p_deadlines: the deadline rows to write (objects
-- with the deadlines' columns, "sig", and "escalate" when the daemon has an
-- escalation policy); p_gone: the names of deadlines the engine no longer
-- produces, or NULL when p_deadlines is the whole set (names not in it go).
-- p_plan: plan escalations for the rows given (false when the daemon has no
-- policy: nothing to plan, no planning work).
CREATE OR REPLACE FUNCTION sf_save_process(p_id bigint, p_status text, p_state text, p_ended date,
                                           p_deadlines jsonb, p_gone text[], p_plan boolean)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- Always written, even unchanged: the trigger stamps the definitions it was computed under.
    UPDATE processes SET status = p_status, state = p_state, ended_on = p_ended,
                         updated_at = now()
     WHERE id = p_id;
    IF p_gone IS NULL THEN
        DELETE FROM deadlines
         WHERE process_id = p_id
           AND name NOT IN (SELECT d->>'name' FROM jsonb_array_elements(p_deadlines) d);
    ELSIF cardinality(p_gone) > 0 THEN
        DELETE FROM deadlines WHERE process_id = p_id AND name = ANY (p_gone);
    END IF;
    IF jsonb_array_length(p_deadlines) > 0 THEN
        PERFORM sf_upsert_deadlines(jsonb_build_array(jsonb_build_object(
                    'process', p_id, 'deadlines', p_deadlines)), 'process');
    END IF;
    -- A recompute batch plans all its processes at once afterwards.
    IF p_plan AND current_setting('sendflow.plan_later', true) IS DISTINCT FROM 'on' THEN
        PERFORM sf_plan_escalations_many(jsonb_build_array(jsonb_build_object(
            'process', p_id, 'deadlines', p_deadlines, 'gone', to_jsonb(p_gone),
            'plan', true)));
    END IF;
END
$$;

-- The whole-set form older daemons call: plans when the rows carry "escalate".
CREATE OR REPLACE FUNCTION sf_save_process(p_id bigint, p_status text, p_state text, p_ended date,
                                           p_deadlines jsonb) RETURNS void LANGUAGE sql AS $$
SELECT sf_save_process(p_id, p_status, p_state, p_ended, p_deadlines, NULL,
                       EXISTS (SELECT 1 FROM jsonb_array_elements(p_deadlines) d
                                WHERE d ? 'escalate'))
$$;

-- Create processes with their computed status and deadlines (the whole set),
-- set-based: one INSERT of the processes (ids drawn first), one of their
-- deadlines, one plan of their escalations. p_items: [{"k" (the caller's
-- number for the item), "case", "workflow", "version", "started_on", "attrs",
-- "status", "state", "ended_on", "parent", "parent_event", "key", "actor",
-- "deadlines"}]. Returns each item's k with its new id. The one home of
-- creating a process.
CREATE OR REPLACE FUNCTION sf_create_processes(p_items jsonb)
RETURNS TABLE (k bigint, id bigint) LANGUAGE plpgsql AS $$
DECLARE
    made jsonb;
BEGIN
    WITH it AS MATERIALIZED (
        SELECT i.value AS item, (i.value->>'k')::bigint AS k,
               nextval(pg_get_serial_sequence('processes', 'id')) AS id
          FROM jsonb_array_elements(coalesce(p_items, '[]'::jsonb)) i),
    ins AS (
        INSERT INTO processes (id, case_id, workflow, wf_version, started_on, attrs, status,
                               state, ended_on, parent_id, parent_event_id, idem_key,
                               started_by)
        SELECT it.id, (item->>'case')::bigint, item->>'workflow', (item->>'version')::integer,
               (item->>'started_on')::date, coalesce(item->'attrs', '{}'::jsonb),
               item->>'status', item->>'state', (item->>'ended_on')::date,
               (item->>'parent')::bigint, (item->>'parent_event')::bigint, item->>'key',
               item->>'actor'
          FROM it ORDER BY it.k)
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'k', it.k, 'process', it.id,
               'deadlines', coalesce(item->'deadlines', '[]'::jsonb))), '[]'::jsonb)
      INTO made FROM it;
    PERFORM sf_upsert_deadlines(made, 'process');
    PERFORM sf_plan_escalations_many(jsonb_agg(jsonb_build_object(
                'process', (m->>'process')::bigint, 'deadlines', m->'deadlines',
                'gone', NULL, 'plan', true, 'new', true)))
       FROM jsonb_array_elements(made) m
      WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(m->'deadlines') d WHERE d ? 'escalate')
     HAVING count(*) > 0;
    RETURN QUERY SELECT (m->>'k')::bigint, (m->>'process')::bigint
                   FROM jsonb_array_elements(made) m;
END
$$;

-- One process (sf_create_processes); returns its id. A follow-on process
-- (p_parent_event set) is created once per event: a second call returns the
-- existing one.
CREATE OR REPLACE FUNCTION sf_create_process(p_case bigint, p_workflow text, p_version integer,
                                             p_started date, p_attrs jsonb, p_parent bigint,
                                             p_parent_event bigint, p_key text, p_status text,
                                             p_state text, p_ended date, p_deadlines jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    new_id bigint;
BEGIN
    IF p_parent_event IS NOT NULL THEN
        SELECT p.id INTO new_id FROM processes p
         WHERE p.parent_event_id = p_parent_event AND p.workflow = p_workflow;
        IF FOUND THEN
            RETURN new_id;
        END IF;
    END IF;
    SELECT c.id INTO new_id FROM sf_create_processes(jsonb_build_array(jsonb_build_object(
        'k', 1, 'case', p_case, 'workflow', p_workflow, 'version', p_version,
        'started_on', p_started, 'attrs', p_attrs, 'status', p_status, 'state', p_state,
        'ended_on', p_ended, 'parent', p_parent, 'parent_event', p_parent_event,
        'key', p_key, 'deadlines', p_deadlines))) c;
    RETURN new_id;
END
$$;

-- One process as the protocol shows it (deadline statuses are added by the
-- daemon, which knows "today"). Dates come out as YYYY-MM-DD whatever the
-- session's DateStyle, because json encodes them in ISO 8601.
CREATE OR REPLACE FUNCTION sf_process_json(p_id bigint) RETURNS json LANGUAGE sql STABLE AS $$
SELECT json_build_object(
    'id', p.id::text, 'workflow', p.workflow, 'version', p.wf_version, 'status', p.status,
    'state', p.state, 'started_on', p.started_on, 'ended_on', p.ended_on, 'attrs', p.attrs,
    'parent', p.parent_id::text,
    'deadlines', (SELECT coalesce(json_agg(json_build_object(
                         'name', d.name, 'title', d.title, 'kind', d.kind,
                         'anchor_on', d.anchor_on, 'due', d.due, 'resolution', d.resolution,
                         'met_on', d.met_on, 'cancelled_on', d.cancelled_on,
                         'excusable', d.excusable, 'basis', d.basis, 'explain', d.explain,
                         'note', d.note) ORDER BY d.due, d.name), '[]'::json)
                    FROM deadlines d WHERE d.process_id = p.id))
  FROM processes p WHERE p.id = p_id
$$;

-- Start a process by hand, recording who started it, if the case is still at
-- the version the daemon read. Returns the process, or NULL to read again.
CREATE OR REPLACE FUNCTION sf_start_process(p_case bigint, p_case_version bigint,
                                            p_workflow text, p_version integer, p_started date,
                                            p_attrs jsonb, p_key text, p_status text,
                                            p_state text, p_ended date, p_deadlines jsonb,
                                            p_actor text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    new_id bigint;
BEGIN
    UPDATE cases SET version = version + 1 WHERE id = p_case AND version = p_case_version;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    new_id := sf_create_process(p_case, p_workflow, p_version, p_started, p_attrs, NULL, NULL,
                                p_key, p_status, p_state, p_ended, p_deadlines);
    UPDATE processes SET started_by = p_actor WHERE id = new_id;
    -- A separate statement: a STABLE function in the same expression would not see the insert.
    RETURN sf_process_json(new_id);
END
$$;

-- The items of a batch that win their case: of the items for one case, the
-- first (in p_items' order), when the case's version is still the one it was
-- read at ("case", "case_version"); each winning case's version is bumped
-- once. The others are not written (their daemon reads again). n is the
-- item's place in p_items (from 1). plpgsql so its plan is kept.
CREATE OR REPLACE FUNCTION sf_case_winners(p_items jsonb)
RETURNS TABLE (item jsonb, n bigint, cid bigint) LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    WITH it AS (
        SELECT i.value AS item, i.ordinality AS n, (i.value->>'case')::bigint AS cid,
               (i.value->>'case_version')::bigint AS ver
          FROM jsonb_array_elements(p_items) WITH ORDINALITY i),
    first AS (
        SELECT DISTINCT ON (it.cid) * FROM it ORDER BY it.cid, it.n),
    bumped AS (
        UPDATE cases c SET version = c.version + 1
          FROM first f WHERE c.id = f.cid AND c.version = f.ver
        RETURNING c.id)
    SELECT f.item, f.n, f.cid FROM first f JOIN bumped b ON b.id = f.cid ORDER BY f.n;
END
$$;

-- Group commit of starts: a batch of sf_start_process items in one
-- transaction (one commit). Items: {"case", "case_version", "workflow",
-- "version", "started_on", "attrs", "key", "status", "state", "ended_on",
-- "deadlines", "actor", "audit"}. Returns a JSON array with each item's process, or
-- NULL for an item whose case changed since it was read (of several items
-- for one case, all but the first: their daemon reads again). Set-based: the
-- cases' versions in one UPDATE, the processes by sf_create_processes, the
-- audit rows in one INSERT; a unique violation fails the batch, and the
-- daemon writes each item alone.
CREATE OR REPLACE FUNCTION sf_start_processes(p_items jsonb) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    won  jsonb;
    made jsonb;
BEGIN
    -- The daemon clock's time, for known_at (schema 012): the first item's.
    PERFORM set_config('sendflow.clock', coalesce(p_items->0->'audit'->>'clock', ''), true);
    SELECT coalesce(jsonb_agg(w.item || jsonb_build_object('k', w.n) ORDER BY w.n), '[]'::jsonb)
      INTO won FROM sf_case_winners(p_items) w;
    SELECT coalesce(jsonb_object_agg(c.k::text, c.id), '{}'::jsonb) INTO made
      FROM sf_create_processes(won) c;
    -- The audit rows in the same transaction (items of older daemons carry no "audit").
    PERFORM sf_audit_items((SELECT jsonb_agg(i->'audit' || jsonb_build_object(
                                   'detail', 'process ' || (made->>(i->>'k')))
                                   ORDER BY (i->>'k')::bigint)
                              FROM jsonb_array_elements(won) i WHERE i ? 'audit'));
    -- A separate statement: sf_process_json (STABLE) sees what the statements above wrote.
    RETURN (SELECT json_agg(CASE WHEN made ? i.n::text
                                 THEN sf_process_json((made->>(i.n::text))::bigint) END
                            ORDER BY i.n)
              FROM jsonb_array_elements(p_items) WITH ORDINALITY i(v, n));
END
$$;

-- 001's form, without the actor, for daemons not yet upgraded.
CREATE OR REPLACE FUNCTION sf_start_process(p_case bigint, p_case_version bigint,
                                            p_workflow text, p_version integer, p_started date,
                                            p_attrs jsonb, p_key text, p_status text,
                                            p_state text, p_ended date, p_deadlines jsonb)
RETURNS json LANGUAGE sql AS $$
SELECT sf_start_process(p_case, p_case_version, p_workflow, p_version, p_started, p_attrs, p_key,
                        p_status, p_state, p_ended, p_deadlines, NULL)
$$;

-- Record one event and its recomputed process, if the case is still at the
-- version the daemon read. p_item: {"case", "case_version", "process", "type",
-- "on", "attrs", "key", "actor", "status", "state", "ended_on", "deadlines"
-- (the rows that changed), "gone" (names no longer produced; absent: the
-- deadlines are the whole set), "plan" (plan escalations), "children" (the
-- follow-on processes the event starts, each {"workflow", "version",
-- "started_on", "attrs", "status", "state", "ended_on", "deadlines"})}.
-- Returns {"event_id", "process": <process>, "started": [<process>...]}, or
-- NULL when the case changed since the read.
CREATE OR REPLACE FUNCTION sf_record_one(p_item jsonb) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    cid     bigint := (p_item->>'case')::bigint;
    pid     bigint := (p_item->>'process')::bigint;
    ev_id   bigint;
    child   jsonb;
    kid     bigint;
    started json[] := '{}';
BEGIN
    UPDATE cases SET version = version + 1
     WHERE id = cid AND version = (p_item->>'case_version')::bigint;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO events (case_id, process_id, type, on_date, attrs, idem_key, actor)
    VALUES (cid, pid, p_item->>'type', (p_item->>'on')::date,
            coalesce(p_item->'attrs', '{}'::jsonb), p_item->>'key', p_item->>'actor')
    RETURNING id INTO ev_id;
    PERFORM sf_save_process(pid, p_item->>'status', p_item->>'state',
                            (p_item->>'ended_on')::date, p_item->'deadlines',
                            CASE WHEN p_item ? 'gone'
                                 THEN ARRAY(SELECT jsonb_array_elements_text(p_item->'gone'))
                            END,
                            coalesce((p_item->>'plan')::boolean,
                                     EXISTS (SELECT 1 FROM jsonb_array_elements(p_item->'deadlines') d
                                              WHERE d ? 'escalate')));
    FOR child IN SELECT value FROM jsonb_array_elements(coalesce(p_item->'children', '[]'))
    LOOP
        kid := sf_create_process(cid, child->>'workflow', (child->>'version')::integer,
                                 (child->>'started_on')::date,
                                 coalesce(child->'attrs', '{}'::jsonb), pid, ev_id,
                                 NULL, child->>'status', child->>'state',
                                 (child->>'ended_on')::date, child->'deadlines');
        started := started || sf_process_json(kid);
    END LOOP;
    RETURN json_build_object('event_id', ev_id::text, 'process', sf_process_json(pid),
                             'started', to_json(started));
END
$$;

-- Group commit: record a batch of events in one transaction (one commit, one
-- round trip), set-based: a fixed handful of statements whatever the batch's
-- size (items as sf_record_one takes them). Of several items for one case,
-- only the first can be written, and only if the case is still at the
-- version its daemon read: the case versions are bumped in one UPDATE, the
-- events inserted in one INSERT, the processes updated in one UPDATE, the
-- deadline rows that changed deleted and upserted in one statement each, and
-- the escalations of every item planned together. Follow-on processes (a
-- final plan starting its annual review) are created one by one: few events
-- start one. Returns a JSON array with sf_record_one's answer for each item,
-- in order: NULL for an item not written (its daemon reads again). A unique
-- violation (an idempotency key or an active slot taken by another daemon
-- meanwhile) fails the whole statement: the daemon then records each item
-- alone, so one request never fails its neighbours.
CREATE OR REPLACE FUNCTION sf_record_events(p_items jsonb) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    won     jsonb;
    kids    jsonb;
    made    jsonb;
    started jsonb := '{}';
BEGIN
    -- The daemon clock's time, for known_at (schema 012): the first item's.
    PERFORM set_config('sendflow.clock', coalesce(p_items->0->'audit'->>'clock', ''), true);
    WITH wins AS MATERIALIZED (
        SELECT w.item, w.n, w.cid, nextval(pg_get_serial_sequence('events', 'id')) AS ev
          FROM sf_case_winners(p_items) w),
    ins AS (
        INSERT INTO events (id, case_id, process_id, type, on_date, attrs, idem_key, actor)
        SELECT ev, cid, (item->>'process')::bigint, item->>'type', (item->>'on')::date,
               coalesce(item->'attrs', '{}'::jsonb), item->>'key', item->>'actor'
          FROM wins ORDER BY n
        RETURNING id)
    SELECT coalesce(jsonb_agg(item || jsonb_build_object('n', n, 'event_id', ev) ORDER BY n),
                    '[]'::jsonb)
      INTO won FROM wins;
    IF jsonb_array_length(won) = 0 THEN
        RETURN (SELECT json_agg(NULL::json) FROM jsonb_array_elements(p_items));
    END IF;
    -- The audit trail, in the same transaction as the events (items of older daemons
    -- carry no "audit").
    PERFORM sf_audit_items((SELECT jsonb_agg(i->'audit' || jsonb_build_object(
                                   'op', 'event', 'detail', 'event ' || (i->>'event_id')))
                              FROM jsonb_array_elements(won) i WHERE i ? 'audit'));
    UPDATE processes p SET status = i.status, state = i.state, ended_on = i.ended_on,
                           updated_at = now()
      FROM jsonb_to_recordset(won) AS i(process bigint, status text, state text, ended_on date)
     WHERE p.id = i.process;
    -- "gone": the names no longer produced, as (process, name) pairs, so the delete
    -- is an index probe per pair (a CASE over the items made it a scan per item).
    DELETE FROM deadlines d
     USING (SELECT (i->>'process')::bigint AS pid, g.name
              FROM jsonb_array_elements(won) i,
                   jsonb_array_elements_text(i->'gone') AS g(name)
             WHERE i ? 'gone') x
     WHERE d.process_id = x.pid AND d.name = x.name;
    -- Without "gone" an item's rows are the whole set (the form of older daemons).
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(won) i WHERE NOT i ? 'gone') THEN
        DELETE FROM deadlines d
         USING jsonb_array_elements(won) i
         WHERE NOT i ? 'gone' AND d.process_id = (i->>'process')::bigint
           AND d.name NOT IN (SELECT x->>'name' FROM jsonb_array_elements(i->'deadlines') x);
    END IF;
    PERFORM sf_upsert_deadlines(won, 'process');
    -- Planned together: "plan" is false when the daemon has no escalation policy.
    PERFORM sf_plan_escalations_many(jsonb_agg(jsonb_build_object(
                'process', (i->>'process')::bigint, 'deadlines', i->'deadlines',
                'gone', i->'gone', 'plan', true)))
       FROM jsonb_array_elements(won) i
      WHERE coalesce((i->>'plan')::boolean,
                     EXISTS (SELECT 1 FROM jsonb_array_elements(i->'deadlines') d
                              WHERE d ? 'escalate'))
     HAVING count(*) > 0;
    -- The follow-on processes the events start, created together; "k" numbers them
    -- in the order of the items and of each item's children.
    SELECT coalesce(jsonb_agg(c.value || jsonb_build_object(
               'k', (w.value->>'n')::bigint * 1000 + c.ordinality, 'case', w.value->'case',
               'parent', w.value->'process', 'parent_event', w.value->'event_id')), '[]'::jsonb)
      INTO kids
      FROM jsonb_array_elements(won) w,
           jsonb_array_elements(coalesce(w.value->'children', '[]'::jsonb)) WITH ORDINALITY c;
    IF jsonb_array_length(kids) > 0 THEN
        SELECT jsonb_agg(jsonb_build_object('k', c.k, 'id', c.id)) INTO made
          FROM sf_create_processes(kids) c;
        -- A separate statement: sf_process_json (STABLE) sees what the one above wrote.
        SELECT jsonb_object_agg(s.n, s.procs) INTO started
          FROM (SELECT ((m->>'k')::bigint / 1000)::text AS n,
                       jsonb_agg(sf_process_json((m->>'id')::bigint)::jsonb
                                 ORDER BY (m->>'k')::bigint) AS procs
                  FROM jsonb_array_elements(made) m GROUP BY 1) s;
    END IF;
    -- A separate statement: sf_process_json (STABLE) sees what the statements above wrote.
    RETURN (SELECT json_agg(CASE WHEN x.item IS NULL THEN NULL
                                 ELSE json_build_object(
                                     'event_id', x.item->>'event_id',
                                     'process', sf_process_json((x.item->>'process')::bigint),
                                     'started', coalesce(started->(n::text), '[]'::jsonb))
                            END ORDER BY n)
              FROM (SELECT i.ordinality AS n, w2.value AS item
                      FROM jsonb_array_elements(p_items) WITH ORDINALITY i
                      LEFT JOIN jsonb_array_elements(won) w2
                        ON (w2.value->>'n')::bigint = i.ordinality) x);
END
$$;

-- 003's form of one event, for daemons not yet upgraded.
CREATE OR REPLACE FUNCTION sf_record_event(p_case bigint, p_case_version bigint, p_process bigint,
                                           p_type text, p_on date, p_attrs jsonb, p_key text,
                                           p_actor text, p_status text, p_state text,
                                           p_ended date, p_deadlines jsonb, p_children jsonb)
RETURNS json LANGUAGE sql AS $$
SELECT sf_record_one(jsonb_build_object(
    'case', p_case, 'case_version', p_case_version, 'process', p_process, 'type', p_type,
    'on', p_on, 'attrs', p_attrs, 'key', p_key, 'actor', p_actor, 'status', p_status,
    'state', p_state, 'ended_on', p_ended, 'deadlines', p_deadlines, 'children', p_children))
$$;

-- Void an event and write its process as recomputed without it, in one
-- statement, if the case is still at the version the daemon read (NULL means
-- "changed meanwhile, read again"). The daemon has checked that the rest of
-- the process's history still fits its workflow, and that the follow-on
-- processes the event started have no events of their own left: those are
-- cancelled here, their row kept, their open deadlines cancelled on p_today
-- with a note saying why.
-- Returns {"process": <process>, "cancelled": [<process id>...]}.
-- sf_void_event with the daemon clock's time for the void's known_at
-- (schema 012), as the daemon calls it.
CREATE OR REPLACE FUNCTION sf_void_event_at(p_clock text, p_case bigint, p_case_version bigint,
                                            p_event bigint, p_reason text, p_actor text,
                                            p_key text, p_today date, p_status text,
                                            p_state text, p_ended date, p_deadlines jsonb)
RETURNS json LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('sendflow.clock', coalesce(p_clock, ''), true);
    RETURN sf_void_event(p_case, p_case_version, p_event, p_reason, p_actor, p_key, p_today,
                         p_status, p_state, p_ended, p_deadlines);
END
$$;

CREATE OR REPLACE FUNCTION sf_void_event(p_case bigint, p_case_version bigint, p_event bigint,
                                         p_reason text, p_actor text, p_key text, p_today date,
                                         p_status text, p_state text, p_ended date,
                                         p_deadlines jsonb)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    proc_id   bigint;
    why       text;
    cancelled text[];
BEGIN
    UPDATE cases SET version = version + 1 WHERE id = p_case AND version = p_case_version;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT process_id INTO STRICT proc_id FROM events WHERE id = p_event AND case_id = p_case;
    INSERT INTO event_voids (event_id, case_id, reason, actor, idem_key)
    VALUES (p_event, p_case, p_reason, p_actor, p_key);
    why := format('started by event %s, which was voided: %s', p_event, p_reason);
    WITH k AS (
        UPDATE processes SET status = 'cancelled', ended_on = greatest(started_on, p_today),
                             updated_at = now()
         WHERE parent_event_id = p_event AND status <> 'cancelled'
        RETURNING id)
    SELECT coalesce(array_agg(id::text ORDER BY id), '{}') INTO cancelled FROM k;
    UPDATE deadlines SET resolution = 'cancelled', cancelled_on = p_today, note = why,
                         sig = NULL, updated_at = now()
     WHERE process_id IN (SELECT id FROM processes WHERE parent_event_id = p_event)
       AND resolution = 'open';
    -- After the children: a process reopened by the void (e.g. voiding the review
    -- meeting that started the next cycle) must not meet its cancelled child in
    -- processes_one_active.
    PERFORM sf_save_process(proc_id, p_status, p_state, p_ended, p_deadlines);
    RETURN json_build_object('process', sf_process_json(proc_id), 'cancelled', to_json(cancelled));
END
$$;
