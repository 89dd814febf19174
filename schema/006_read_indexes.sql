-- 006_read_indexes: indexes for the paged reads (due, history, escalations,
-- outbox) at a year's scale.
--
-- Each of those operations answers one page at a time with a keyset cursor
-- (the sort key of the last row listed, never an OFFSET): a page must be one
-- index range scan in the order it lists, reading about as many rows as it
-- returns however many are stored, and never a sequential scan or a sort of a
-- table that grows with the years. 001-005 are deployed: they are never
-- edited; this only adds indexes. Building them takes a lock that holds up
-- writers to these tables until it is done (seconds per million rows), once.

-- due: the open deadlines of each kind in (due, process, name) order. A duty
-- is listed from the oldest overdue on; a period only while it runs, so the
-- periods that ran their course (which stay open: nothing more can meet
-- them) lie outside the range of every "due" and are never read. One index
-- per kind, rather than one on (kind, due, ...): a page of periods is then
-- plainly this index's range, never 001's deadlines_open_due walked through
-- the duties of the same days and sorted.
CREATE INDEX deadlines_open_duty_due ON deadlines (due, process_id, name)
    WHERE resolution = 'open' AND kind = 'duty';
CREATE INDEX deadlines_open_period_due ON deadlines (due, process_id, name)
    WHERE resolution = 'open' AND kind = 'period';

-- escalations: fired ones newest first, and those still unresolved.
CREATE INDEX escalations_fired ON escalations (id) WHERE status = 'fired';
CREATE INDEX escalations_fired_open ON escalations (id)
    WHERE status = 'fired' AND resolved_on IS NULL;

-- escalations counts each escalation's notices by status (an index-only scan).
CREATE INDEX outbox_escalation ON outbox (escalation_id, kind, status)
    WHERE escalation_id IS NOT NULL;

-- outbox --failed: the parked notices, newest first (the primary key serves
-- the whole outbox).
CREATE INDEX outbox_failed ON outbox (id) WHERE status = 'failed';

-- history: a case's starts, events and voids in recording order.
CREATE INDEX processes_case_created ON processes (case_id, created_at, id);
CREATE INDEX events_case_recorded ON events (case_id, recorded_at, id);
CREATE INDEX event_voids_case_recorded ON event_voids (case_id, recorded_at, id);
