-- 003_definitions: which definitions each process was computed under, so that
-- a changed workflow, calendar or service setting recomputes exactly the
-- processes it affects; follow-on processes with start attributes; the
-- recompute batch; phase transfers opened by the daemon.
--
-- Each daemon connection sets sendflow.defs (a session setting) to a JSON
-- object {"workflow": {"version": N, "defs": "..."}} describing the
-- definitions that daemon loaded. A trigger stamps every process the
-- connection writes with them, so several daemons on one database each stamp
-- what they computed with, and "stale" is a comparison with the session's
-- own definitions.

ALTER TABLE processes ADD COLUMN defs text;

CREATE FUNCTION processes_stamp_defs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    m jsonb := nullif(current_setting('sendflow.defs', true), '')::jsonb;
BEGIN
    IF m IS NOT NULL AND m ? NEW.workflow THEN
        NEW.defs := m -> NEW.workflow ->> 'defs';
        NEW.wf_version := (m -> NEW.workflow ->> 'version')::integer;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER processes_stamp_defs BEFORE INSERT OR UPDATE OF status, state, ended_on
    ON processes FOR EACH ROW EXECUTE FUNCTION processes_stamp_defs();

-- The active processes whose stamp differs from the session's definitions.
CREATE INDEX processes_active_id ON processes (id) WHERE status = 'active';

-- As in 001, except that a follow-on process gets the start attributes its
-- workflow gives it (child->'attrs'): an annual review started by a review
-- meeting knows it follows a meeting.
CREATE OR REPLACE FUNCTION sf_record_event(p_case bigint, p_case_version bigint, p_process bigint,
                                           p_type text, p_on date, p_attrs jsonb, p_key text,
                                           p_actor text, p_status text, p_state text,
                                           p_ended date, p_deadlines jsonb, p_children jsonb)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    ev_id   bigint;
    child   jsonb;
    kid     bigint;
    started json[] := '{}';
BEGIN
    UPDATE cases SET version = version + 1 WHERE id = p_case AND version = p_case_version;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO events (case_id, process_id, type, on_date, attrs, idem_key, actor)
    VALUES (p_case, p_process, p_type, p_on, p_attrs, p_key, p_actor)
    RETURNING id INTO ev_id;
    PERFORM sf_save_process(p_process, p_status, p_state, p_ended, p_deadlines);
    FOR child IN SELECT value FROM jsonb_array_elements(p_children) LOOP
        kid := sf_create_process(p_case, child->>'workflow', (child->>'version')::integer,
                                 (child->>'started_on')::date,
                                 coalesce(child->'attrs', '{}'::jsonb), p_process, ev_id,
                                 NULL, child->>'status', child->>'state',
                                 (child->>'ended_on')::date, child->'deadlines');
        started := started || sf_process_json(kid);
    END LOOP;
    RETURN json_build_object('event_id', ev_id::text, 'process', sf_process_json(p_process),
                             'started', to_json(started));
END
$$;

-- Write one batch of recomputed processes: p_items is a JSON array of
-- {"id", "case_version", "status", "state", "ended_on", "deadlines"}. A
-- process whose case changed since the daemon read it is skipped (whatever
-- changed it computed it afresh). Returns {"saved": N, "skipped": N,
-- "moved": [{"case", "process", "workflow", "deadline", "from", "to"}]}:
-- every deadline whose due date changed, appeared or disappeared.
CREATE FUNCTION sf_recompute(p_items jsonb) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    it      jsonb;
    pid     bigint;
    cid     bigint;
    bumped  bigint[] := '{}';
    before  jsonb;
    after   jsonb;
    k       text;
    moved   json[] := '{}';
    saved   integer := 0;
    skipped integer := 0;
    ref     text;
    wfname  text;
BEGIN
    FOR it IN SELECT value FROM jsonb_array_elements(p_items) LOOP
        pid := (it->>'id')::bigint;
        SELECT p.case_id, c.ref, p.workflow INTO cid, ref, wfname
          FROM processes p JOIN cases c ON c.id = p.case_id WHERE p.id = pid;
        IF NOT FOUND THEN
            skipped := skipped + 1;
            CONTINUE;
        END IF;
        -- One batch may hold several processes of a case: check and bump once.
        IF NOT cid = ANY (bumped) THEN
            UPDATE cases SET version = version + 1
             WHERE id = cid AND version = (it->>'case_version')::bigint;
            IF NOT FOUND THEN
                skipped := skipped + 1;
                CONTINUE;
            END IF;
            bumped := bumped || cid;
        END IF;
        SELECT coalesce(jsonb_object_agg(name, due), '{}') INTO before
          FROM deadlines WHERE process_id = pid;
        PERFORM sf_save_process(pid, it->>'status', it->>'state', (it->>'ended_on')::date,
                                it->'deadlines');
        SELECT coalesce(jsonb_object_agg(name, due), '{}') INTO after
          FROM deadlines WHERE process_id = pid;
        saved := saved + 1;
        FOR k IN SELECT jsonb_object_keys(before || after) LOOP
            IF before->>k IS DISTINCT FROM after->>k THEN
                moved := moved || json_build_object('case', ref, 'process', pid::text,
                                                    'workflow', wfname, 'deadline', k,
                                                    'from', before->k, 'to', after->k);
            END IF;
        END LOOP;
    END LOOP;
    RETURN json_build_object('saved', saved, 'skipped', skipped, 'moved', to_json(moved));
END
$$;
