-- 010_tokens: the tokens that identify TCP clients (issue 9). A token is
-- shown once, when `sendflow token add` makes it; only its SHA-256 (hex) is
-- kept, so a copy of the database cannot be used to connect. A revoked token
-- stays (its name is in the audit trail as via = token:NAME) and its name is
-- never given to another token.
CREATE TABLE tokens (
    name       text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
    hash       text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
    role       text NOT NULL
               CHECK (role IN ('admin', 'manager', 'caseworker', 'integration', 'auditor')),
    events     text[],              -- integration only: the event types it may post (NULL: any)
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,       -- the admin's via (unix:USER or token:NAME)
    revoked_at timestamptz,
    revoked_by text
);
REVOKE ALL ON tokens FROM PUBLIC;
