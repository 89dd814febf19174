-- 004_escalations: escalations of deadlines to people, and the outbox that
-- delivers every notice (escalations, "resolved" notices, digests, board
-- packs) through the channels.
--
-- An escalation is one (process, deadline, level): created pending with the
-- day it fires when the deadline is computed, claimed once by whichever
-- daemon sees it due (FOR UPDATE SKIP LOCKED, in the same transaction that
-- marks it fired and queues its notices), cancelled while pending if the
-- deadline is met or no longer applies. Deadline rows are derived and may be
-- rewritten, so escalations name their deadline rather than reference its row.

CREATE TABLE escalations (
    id          bigserial PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES cases (id),
    process_id  bigint NOT NULL REFERENCES processes (id),
    deadline    text NOT NULL,                 -- the deadline's name
    level       text NOT NULL,                 -- the policy's level ("at_risk", "missed", ...)
    due         date NOT NULL,                 -- the deadline's due date when planned
    fire_on     date NOT NULL,                 -- the day the level is reached
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'fired', 'cancelled')),
    fired_at    timestamptz,
    fired_by    text,                          -- which daemon claimed it
    recipients  jsonb,                         -- who was told, resolved when it fired
    resolved_on date,                          -- the deadline was met (or ended) after it fired
    acked_at    timestamptz,
    acked_by    text,
    ack_note    text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (process_id, deadline, level)
);
-- "What fires next" is one index lookup.
CREATE INDEX escalations_pending_fire ON escalations (fire_on) WHERE status = 'pending';
CREATE INDEX escalations_case ON escalations (case_id);

-- Acknowledgements are an audit trail: appended, never changed.
CREATE TABLE escalation_acks (
    id            bigserial PRIMARY KEY,
    escalation_id bigint NOT NULL REFERENCES escalations (id),
    actor         text,
    note          text NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('escalation', 'resolved', 'digest', 'board_pack')),
    escalation_id   bigint REFERENCES escalations (id),
    channel         text NOT NULL CHECK (channel IN ('webhook', 'email', 'command')),
    target          text NOT NULL,             -- webhook name, e-mail address, command name
    subject         text NOT NULL,
    body            text NOT NULL,             -- plain text a manager can act on
    payload         jsonb NOT NULL,            -- the documented JSON body
    idem_key        text NOT NULL UNIQUE,      -- sent as the Idempotency-Key; one notice once
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,               -- 'sending' is claimed until then
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX outbox_ready ON outbox (next_attempt_at) WHERE status IN ('pending', 'sending');

-- Wake the daemons: a new notice to deliver, or escalations planned anew.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sendflow_outbox', NEW.id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH ROW EXECUTE FUNCTION outbox_notify();
