-- 011_retention: the retention period (sendflowd --retention DAYS, README
-- "Data we hold"). A case whose processes all ended more than DAYS days ago
-- is purged by sf_purge_cases (schema/functions/40_retention.sql): its
-- personal data go, its statutory facts (processes, deadlines, dates) stay,
-- so the board reports of past periods count what they counted.
--
-- purged_on: the daemon's day the case was purged (NULL: never). Its ref is
-- then "#purged-ID", which no request can name ('#' is not allowed in a
-- reference), so show, history and case export answer unknown_case.
ALTER TABLE cases ADD COLUMN purged_on date;

-- Events and voids stay append-only to everything but the purge, which
-- blanks their personal fields in place (the rows stay, so the processes
-- computed from them keep their meaning) with sendflow.purging set for its
-- transaction: the guards' bodies are in schema/functions/00_guards.sql.
-- That is a guard against mistakes, not against the tables' owner, who could
-- drop the trigger anyway; the purge itself is in the audit trail.

-- The daily purge looks for cases not yet purged.
CREATE INDEX cases_not_purged ON cases (id) WHERE purged_on IS NULL;
