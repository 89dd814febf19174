-- 012_known_on: when, by the daemon's clock, each fact was recorded (issue
-- 11, "as known on"): what the system said on a day is what had been
-- recorded by then. The daemon's clock may be simulated, so recorded_at (the
-- database's wall clock) cannot say it. The daemon's writes set the
-- transaction-local setting sendflow.clock (Europe/London local time) first;
-- a row written without it falls back to the wall clock in London. Rows from
-- before this migration keep NULL, and readers take their recorded_at (in
-- London): the default is set after the column is added, so they are not
-- all stamped with the moment of the migration.
ALTER TABLE events ADD COLUMN known_at timestamp;
ALTER TABLE event_voids ADD COLUMN known_at timestamp;
ALTER TABLE processes ADD COLUMN known_at timestamp;
ALTER TABLE events ALTER COLUMN known_at SET DEFAULT
    coalesce(nullif(current_setting('sendflow.clock', true), '')::timestamp,
             now() AT TIME ZONE 'Europe/London');
ALTER TABLE event_voids ALTER COLUMN known_at SET DEFAULT
    coalesce(nullif(current_setting('sendflow.clock', true), '')::timestamp,
             now() AT TIME ZONE 'Europe/London');
ALTER TABLE processes ALTER COLUMN known_at SET DEFAULT
    coalesce(nullif(current_setting('sendflow.clock', true), '')::timestamp,
             now() AT TIME ZONE 'Europe/London');
