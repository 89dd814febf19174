-- 001_init: cases, processes, the append-only event log and the deadlines.
--
-- Postgres is the source of truth: the daemon keeps nothing a restart would
-- lose. Events are never updated or deleted, so any process can be recomputed
-- from them; deadlines are derived rows, rewritten whenever their process is
-- recomputed, and indexed by due date so that "what is due or overdue across
-- every case" is one index range scan.

CREATE TABLE cases (
    id          bigserial PRIMARY KEY,
    ref         text NOT NULL UNIQUE,          -- the authority's pseudonymous reference
    dob         date,                          -- only for phase transfers and under-5 reviews
    attrs       jsonb NOT NULL DEFAULT '{}',   -- e.g. officer, team: no names or addresses
    version     bigint NOT NULL DEFAULT 0,     -- bumped by every change to the case's processes
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE processes (
    id              bigserial PRIMARY KEY,
    case_id         bigint NOT NULL REFERENCES cases (id),
    workflow        text NOT NULL,
    wf_version      integer NOT NULL,          -- the definition version it was computed under
    started_on      date NOT NULL,
    attrs           jsonb NOT NULL DEFAULT '{}',
    status          text NOT NULL CHECK (status IN ('active', 'completed', 'cancelled')),
    state           text NOT NULL,
    ended_on        date,
    parent_id       bigint REFERENCES processes (id),  -- the process whose event started this one
    parent_event_id bigint,
    idem_key        text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, idem_key),
    UNIQUE (parent_id, workflow)               -- a follow-on process is started once
);
-- One active process of a workflow per case (one assessment at a time).
CREATE UNIQUE INDEX processes_one_active ON processes (case_id, workflow) WHERE status = 'active';
CREATE INDEX processes_case ON processes (case_id);

CREATE TABLE events (
    id          bigserial PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES cases (id),
    process_id  bigint NOT NULL REFERENCES processes (id),
    type        text NOT NULL,
    on_date     date NOT NULL,                 -- when it happened (not when it was posted)
    attrs       jsonb NOT NULL DEFAULT '{}',
    idem_key    text,
    actor       text,                          -- who posted it
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, idem_key)
);
CREATE INDEX events_process ON events (process_id, on_date, id);

-- The event log is append-only: corrections are new events, never edits.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'sendflow: events are append-only (% refused)', TG_OP;
END
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

CREATE TABLE deadlines (
    id           bigserial PRIMARY KEY,
    process_id   bigint NOT NULL REFERENCES processes (id),
    name         text NOT NULL,
    title        text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('duty', 'period')),
    anchor_on    date NOT NULL,
    due          date NOT NULL,
    resolution   text NOT NULL CHECK (resolution IN ('open', 'met', 'cancelled')),
    met_on       date,
    cancelled_on date,
    excusable    boolean NOT NULL DEFAULT false,
    basis        text NOT NULL,
    explain      text NOT NULL,
    note         text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (process_id, name)
);
-- "What is due or overdue" scans only open deadlines, by due date.
CREATE INDEX deadlines_open_due ON deadlines (due) WHERE resolution = 'open';

-- Write a recomputed process: its status and its whole set of deadlines
-- (given as a JSON array of objects with the deadlines' columns). Deadlines
-- the engine no longer produces are removed; the others are upserted.
CREATE FUNCTION sf_save_process(p_id bigint, p_status text, p_state text, p_ended date,
                                p_deadlines jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE processes SET status = p_status, state = p_state, ended_on = p_ended,
                         updated_at = now()
     WHERE id = p_id;
    DELETE FROM deadlines
     WHERE process_id = p_id
       AND name NOT IN (SELECT d->>'name' FROM jsonb_array_elements(p_deadlines) d);
    INSERT INTO deadlines (process_id, name, title, kind, anchor_on, due, resolution, met_on,
                           cancelled_on, excusable, basis, explain, note)
    SELECT p_id, d.name, d.title, d.kind, d.anchor_on, d.due, d.resolution, d.met_on,
           d.cancelled_on, d.excusable, d.basis, d.explain, d.note
      FROM jsonb_to_recordset(p_deadlines) AS d(name text, title text, kind text, anchor_on date,
                                                due date, resolution text, met_on date,
                                                cancelled_on date, excusable boolean,
                                                basis text, explain text, note text)
    ON CONFLICT (process_id, name) DO UPDATE
       SET title = excluded.title, kind = excluded.kind, anchor_on = excluded.anchor_on,
           due = excluded.due, resolution = excluded.resolution, met_on = excluded.met_on,
           cancelled_on = excluded.cancelled_on, excusable = excluded.excusable,
           basis = excluded.basis, explain = excluded.explain, note = excluded.note,
           updated_at = now()
     WHERE (deadlines.title, deadlines.kind, deadlines.anchor_on, deadlines.due,
            deadlines.resolution, deadlines.met_on, deadlines.cancelled_on, deadlines.excusable,
            deadlines.basis, deadlines.explain, deadlines.note)
           IS DISTINCT FROM
           (excluded.title, excluded.kind, excluded.anchor_on, excluded.due, excluded.resolution,
            excluded.met_on, excluded.cancelled_on, excluded.excusable, excluded.basis,
            excluded.explain, excluded.note);
END
$$;

-- Create a process with its computed status and deadlines; returns its id.
-- A follow-on process (p_parent set) is created once: a second call returns
-- the existing one.
CREATE FUNCTION sf_create_process(p_case bigint, p_workflow text, p_version integer,
                                  p_started date, p_attrs jsonb, p_parent bigint,
                                  p_parent_event bigint, p_key text, p_status text,
                                  p_state text, p_ended date, p_deadlines jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    new_id bigint;
BEGIN
    IF p_parent IS NOT NULL THEN
        SELECT id INTO new_id FROM processes WHERE parent_id = p_parent AND workflow = p_workflow;
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

-- One process as the protocol shows it (deadline statuses are added by the
-- daemon, which knows "today"). Dates come out as YYYY-MM-DD whatever the
-- session's DateStyle, because json encodes them in ISO 8601.
CREATE FUNCTION sf_process_json(p_id bigint) RETURNS json LANGUAGE sql STABLE AS $$
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

-- Record an event and the recomputed process in one statement, if the case
-- is still at the version the daemon read (optimistic concurrency: the daemon
-- reads the case, replays its events in C, then writes; a concurrent change
-- to the same case makes this return NULL and the daemon starts again from
-- the read). p_children are the follow-on processes the event starts, each
-- {"workflow","version","started_on","status","state","ended_on","deadlines"}.
-- Returns {"event_id", "process": <process>, "started": [<process>...]}.
CREATE FUNCTION sf_record_event(p_case bigint, p_case_version bigint, p_process bigint,
                                p_type text, p_on date, p_attrs jsonb, p_key text, p_actor text,
                                p_status text, p_state text, p_ended date, p_deadlines jsonb,
                                p_children jsonb) RETURNS json LANGUAGE plpgsql AS $$
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
                                 (child->>'started_on')::date, '{}'::jsonb, p_process, ev_id,
                                 NULL, child->>'status', child->>'state',
                                 (child->>'ended_on')::date, child->'deadlines');
        started := started || sf_process_json(kid);
    END LOOP;
    RETURN json_build_object('event_id', ev_id::text, 'process', sf_process_json(p_process),
                             'started', to_json(started));
END
$$;

-- Start a process by hand, if the case is still at the version the daemon
-- read (see sf_record_event). Returns the process, or NULL to retry.
CREATE FUNCTION sf_start_process(p_case bigint, p_case_version bigint, p_workflow text,
                                 p_version integer, p_started date, p_attrs jsonb, p_key text,
                                 p_status text, p_state text, p_ended date, p_deadlines jsonb)
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
    -- A separate statement: a STABLE function in the same expression would not see the insert.
    RETURN sf_process_json(new_id);
END
$$;
