-- 002_corrections: voiding events posted by mistake, and who started a process.
--
-- Events stay append-only: a mistaken event is never edited or deleted. A
-- void is a row of its own in event_voids, naming the event and why it was
-- voided; the daemon replays a process without its voided events, so the
-- engine never sees them, and the history keeps both. A void is itself never
-- undone (re-record the event instead), so event_voids is append-only too.
--
-- 001 is deployed: it is never edited; everything here changes it forward.

-- Who started a process by hand (the start request's actor). A follow-on
-- process started by an event has none: its actor is its event's.
ALTER TABLE processes ADD COLUMN started_by text;

CREATE TABLE event_voids (
    id          bigserial PRIMARY KEY,
    event_id    bigint NOT NULL UNIQUE REFERENCES events (id),  -- voided once, for good
    case_id     bigint NOT NULL REFERENCES cases (id),
    reason      text NOT NULL CHECK (btrim(reason) <> ''),       -- the audit trail says why
    actor       text,                                            -- who voided it
    idem_key    text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, idem_key)
);

CREATE FUNCTION event_voids_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'sendflow: event voids are append-only (% refused)', TG_OP;
END
$$;
CREATE TRIGGER event_voids_append_only BEFORE UPDATE OR DELETE ON event_voids
    FOR EACH ROW EXECUTE FUNCTION event_voids_append_only();

-- A follow-on process is started once per event, not once per parent process:
-- when the final plan is voided and issued again, the new final_plan_issued
-- event must start a new annual review beside the cancelled one. 001 named no
-- constraint, so find it by its columns rather than trust a generated name.
DO $$
DECLARE
    con text;
BEGIN
    SELECT c.conname INTO con
      FROM pg_constraint c
     WHERE c.conrelid = 'processes'::regclass AND c.contype = 'u'
       AND (SELECT array_agg(a.attname::text ORDER BY a.attname)
              FROM unnest(c.conkey) k JOIN pg_attribute a
                ON a.attrelid = c.conrelid AND a.attnum = k) = ARRAY['parent_id', 'workflow'];
    IF con IS NULL THEN
        RAISE EXCEPTION 'sendflow: processes has no UNIQUE (parent_id, workflow) to replace';
    END IF;
    EXECUTE format('ALTER TABLE processes DROP CONSTRAINT %I', con);
END
$$;
ALTER TABLE processes ADD CONSTRAINT processes_parent_event_workflow_key
    UNIQUE (parent_event_id, workflow);

-- As in 001, except that "already started" means by the same event (see the
-- constraint above).
CREATE OR REPLACE FUNCTION sf_create_process(p_case bigint, p_workflow text, p_version integer,
                                             p_started date, p_attrs jsonb, p_parent bigint,
                                             p_parent_event bigint, p_key text, p_status text,
                                             p_state text, p_ended date, p_deadlines jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    new_id bigint;
BEGIN
    IF p_parent_event IS NOT NULL THEN
        SELECT id INTO new_id FROM processes
         WHERE parent_event_id = p_parent_event AND workflow = p_workflow;
        IF FOUND THEN
            RETURN new_id;
        END IF;
    END IF;
    INSERT INTO processes (case_id, workflow, wf_version, started_on, attrs, status, state,
                           ended_on, parent_id, parent_event_id, idem_key)
    VALUES (p_case, p_workflow, p_version, p_started, p_attrs, p_status, p_state, p_ended,
            p_parent, p_parent_event, p_key)
    RETURNING id INTO new_id;
    PERFORM sf_save_process(new_id, p_status, p_state, p_ended, p_deadlines);
    RETURN new_id;
END
$$;

-- Start a process by hand, recording who started it (001's sf_start_process
-- plus p_actor; the 11-argument form stays for daemons not yet upgraded).
-- Returns the process, or NULL when the case changed since the daemon read it.
CREATE FUNCTION sf_start_process(p_case bigint, p_case_version bigint, p_workflow text,
                                 p_version integer, p_started date, p_attrs jsonb, p_key text,
                                 p_status text, p_state text, p_ended date, p_deadlines jsonb,
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
    RETURN sf_process_json(new_id);
END
$$;

-- Void an event and write its process as recomputed without it, in one
-- statement, if the case is still at the version the daemon read (as
-- sf_record_event: NULL means "changed meanwhile, read again"). The daemon
-- has checked that the rest of the process's history still fits its
-- workflow, and that the follow-on processes the event started have no
-- events of their own left: those are cancelled here, their row kept, their
-- open deadlines cancelled on p_today with a note saying why.
-- Returns {"process": <process>, "cancelled": [<process id>...]}.
CREATE FUNCTION sf_void_event(p_case bigint, p_case_version bigint, p_event bigint,
                              p_reason text, p_actor text, p_key text, p_today date,
                              p_status text, p_state text, p_ended date, p_deadlines jsonb)
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
                         updated_at = now()
     WHERE process_id IN (SELECT id FROM processes WHERE parent_event_id = p_event)
       AND resolution = 'open';
    -- After the children: a process reopened by the void (e.g. voiding the review
    -- meeting that started the next cycle) must not meet its cancelled child in
    -- processes_one_active.
    PERFORM sf_save_process(proc_id, p_status, p_state, p_ended, p_deadlines);
    RETURN json_build_object('process', sf_process_json(proc_id), 'cancelled', to_json(cancelled));
END
$$;
