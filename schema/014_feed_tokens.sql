-- 014_feed_tokens: calendar feed tokens (issue 12). A feed token goes in a
-- calendar URL (/ical/officer/NAME.ics?token=T), so it is a token of its own
-- that reads one officer's or one team's open deadlines and nothing else:
-- role 'feed', with the officer or the team it is for. Revoked like any token.
ALTER TABLE tokens DROP CONSTRAINT tokens_role_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_role_check
    CHECK (role IN ('admin', 'manager', 'caseworker', 'integration', 'auditor', 'feed'));
ALTER TABLE tokens ADD COLUMN feed_officer text;  -- feed only: the officer's calendar
ALTER TABLE tokens ADD COLUMN feed_team text;     -- feed only: the team's calendar
-- A feed token reads exactly one calendar; no other token names one.
ALTER TABLE tokens ADD CONSTRAINT tokens_feed_scope
    CHECK ((role = 'feed') = (num_nonnulls(feed_officer, feed_team) = 1));
