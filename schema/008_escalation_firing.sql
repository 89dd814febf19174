-- 008_escalation_firing: escalations fired thousands at a time.
--
-- The scheduler claims due levels in (fire_on, id) order, FOR UPDATE SKIP
-- LOCKED, a few thousand per statement (sf_fire_escalations). An index on
-- fire_on alone made every batch sort the day's remaining rows again: this
-- one hands them over in claim order, and also answers "what fires next"
-- (min(fire_on) of the pending ones), which the old index was for.
--
-- A level that fires when a later level of the same deadline is due too (an
-- "at risk" for a deadline already missed) is superseded: recorded as fired,
-- with superseded set and nobody told, and no notice sent for it.
--
-- The outbox wakes the daemons once per statement rather than once per row:
-- a firing of thousands of notices is one NOTIFY, not thousands (the payload
-- was never read).

DROP INDEX IF EXISTS escalations_pending_fire;
CREATE INDEX escalations_pending_claim ON escalations (fire_on, id) WHERE status = 'pending';

ALTER TABLE escalations ADD COLUMN superseded boolean NOT NULL DEFAULT false;

-- The notices of an escalation (its delivery counts, the escalations list).
-- Another branch may add the same index; IF NOT EXISTS makes a second harmless.
CREATE INDEX IF NOT EXISTS outbox_escalation ON outbox (escalation_id);

DROP TRIGGER outbox_notify ON outbox;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
