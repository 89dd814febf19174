-- Trigger functions: the append-only guards, the definitions stamp and the
-- outbox wake-up. Their triggers are created by the numbered migrations
-- (001, 002, 003, 004; 008 made the outbox's per statement); their bodies live here.

-- The event log is append-only: corrections are new events, never edits. The
-- one exception is the retention purge (sf_purge_cases, 011), which blanks
-- personal fields in place with sendflow.purging set for its transaction;
-- DELETE is refused to everyone.
CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('sendflow.purging', true) = 'on' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'sendflow: events are append-only (% refused)', TG_OP;
END
$$;

-- A void is never undone (re-record the event instead); the purge blanks its
-- reason and actor as above.
CREATE OR REPLACE FUNCTION event_voids_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('sendflow.purging', true) = 'on' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'sendflow: event voids are append-only (% refused)', TG_OP;
END
$$;

-- Stamp a written process with the definitions of the daemon that computed it
-- (the session setting sendflow.defs, set on each of its connections).
CREATE OR REPLACE FUNCTION processes_stamp_defs() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- Wake the daemons: new notices to deliver. A statement trigger (schema 008):
-- one NOTIFY however many rows the statement queued; nobody reads the payload.
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sendflow_outbox', '');
    RETURN NULL;
END
$$;

-- A deadline row changed by anything but a daemon's write (which always brings
-- the new row's signature) loses its signature, so the next recompute
-- rewrites it (007).
CREATE OR REPLACE FUNCTION deadlines_forget_sig() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.sig IS NOT DISTINCT FROM OLD.sig THEN
        NEW.sig := NULL;
    END IF;
    RETURN NEW;
END
$$;
