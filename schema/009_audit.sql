-- 009_audit: the audit trail (issue 9). Every change and every read of one
-- child's record, and every refusal, is one row: who (the connection's user),
-- their role, how they came (via: unix:USER), whom an integration acted for
-- (on_behalf: the request's "actor"), when by the wall clock (at) and by the
-- daemon's clock (clock, Europe/London: simulated in tests), the operation,
-- the case, the idempotency key and the result ("ok" or the error code).
--
-- Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE whoever asks
-- (the table's owner included), and PUBLIC has no grant. A daemon role
-- separate from the owner needs only INSERT and SELECT on it (README).
CREATE TABLE audit_log (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    clock     text NOT NULL,
    who       text NOT NULL,
    role      text NOT NULL,
    via       text NOT NULL,
    on_behalf text,
    op        text NOT NULL,
    case_ref  text,
    idem_key  text,
    result    text NOT NULL,
    detail    text
);
CREATE INDEX audit_log_case ON audit_log (case_ref, id) WHERE case_ref IS NOT NULL;
CREATE INDEX audit_log_at ON audit_log (at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'sendflow: the audit trail is append-only (% refused)', TG_OP;
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
REVOKE ALL ON audit_log FROM PUBLIC;
