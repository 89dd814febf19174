-- 015_report_indexes: indexes for the board report (daemon/reports.c,
-- sf_report_read) at a million processes.
--
-- Each figure of the report is its own aggregate over a range of one of
-- these, rather than one pass over every deadline that any figure needs.
-- All are partial: a row costs an entry only in the index of its state, so
-- a deadline write touches at most one of the deadline indexes below (two
-- when it moves from open to met or cancelled). Building them takes a lock
-- that holds up writers to these tables until it is done (seconds per
-- million rows), once.

-- Deadlines met, by the day met: the trend's months (met_on from the
-- trend's first day) and the duties met after the as-on day (open on it).
-- Covering: the report reads them index-only, then the process's workflow.
CREATE INDEX deadlines_met ON deadlines (met_on) INCLUDE (name, kind, due, excusable, process_id)
    WHERE resolution = 'met';

-- Deadlines cancelled, by the day: those cancelled after the as-on day.
CREATE INDEX deadlines_cancelled ON deadlines (cancelled_on) INCLUDE (name, kind, due, excusable)
    WHERE resolution = 'cancelled';

-- Duties open now, by name and due date: overdue on the as-on day, counted
-- by name and age band index-only (006's deadlines_open_duty_due has no
-- excusable).
CREATE INDEX deadlines_open_duty_name ON deadlines (name, due) INCLUDE (excusable)
    WHERE kind = 'duty' AND resolution = 'open';

-- The phase-transfer round's deadlines (14 February and 30 March).
CREATE INDEX deadlines_transfer_due ON deadlines (due) WHERE name = 'phase_transfer_plan';

-- Requests: assessments by the day the request was received.
CREATE INDEX processes_assessment_started ON processes (started_on) INCLUDE (parent_event_id)
    WHERE workflow = 'ehcp-assessment';

-- Exception periods started, by day.
CREATE INDEX events_exception_started ON events (on_date) WHERE type = 'exception_started';
