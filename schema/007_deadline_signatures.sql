-- 007_deadline_signatures: write only what changed.
--
-- The daemon hashes each deadline it computes (every column, and the
-- escalation levels planned for it) into a signature stored with the row.
-- The read of a case returns the stored signatures, the daemon compares them
-- with what it computed, and a write carries only the rows that differ and
-- the names that are gone: an event that moves one deadline writes one row,
-- and its unchanged deadlines' escalation plans are not looked at.
-- A row written by an older daemon has no signature and is written once more.
--
-- From 007 on, function bodies live in schema/functions/ (re-applied at every
-- start); migrations hold tables and indexes only.

ALTER TABLE deadlines ADD COLUMN sig text;

-- A row changed by anything but a daemon's write (which always brings the new
-- row's signature) loses its signature, so the next recompute rewrites it: a
-- row touched by hand is never mistaken for one the daemon computed. Its
-- current body is in functions/00_guards.sql.
CREATE FUNCTION deadlines_forget_sig() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.sig IS NOT DISTINCT FROM OLD.sig THEN
        NEW.sig := NULL;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER deadlines_forget_sig BEFORE UPDATE ON deadlines
    FOR EACH ROW EXECUTE FUNCTION deadlines_forget_sig();
