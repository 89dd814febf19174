-- 015_outbox_claim: the outbox claim in the order of an index.
--
-- The delivery worker claims the due notices, a few dozen at a time. It
-- took them in id order over outbox_ready (next_attempt_at), which found the
-- due rows but had to sort all of them for every claim: while thousands of
-- escalations fire, every claim sorted the whole backlog again (50 ms a
-- claim at 50,000 due, on the cores the firing needs). It now claims in
-- (next_attempt_at, id) order, this index's: the oldest due first, each
-- claim reading about as many index entries as it takes. Its first column
-- is outbox_ready's, which it replaces (the next due moment is its first
-- entry). outbox_leases finds the rows whose claimant vanished (lease run
-- out) among the few being sent, without reading the pending backlog.
CREATE INDEX outbox_claim ON outbox (next_attempt_at, id) WHERE status IN ('pending', 'sending');
CREATE INDEX outbox_leases ON outbox (lease_until) WHERE status = 'sending';
DROP INDEX outbox_ready;
