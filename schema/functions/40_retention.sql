-- Retention: purging the personal data of cases that ended long ago
-- (schema/011_retention.sql; README "Data we hold").

-- A case reference as a regular expression matching itself (refs are
-- letters, digits and . _ / -, but quote anything not alphanumeric).
CREATE OR REPLACE FUNCTION sf_regex_quote(p text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT regexp_replace(p, '([^[:alnum:]_])', '\\\1', 'g')
$$;

-- Purge every case whose processes all ended (completed or cancelled) more
-- than p_days days before p_today, the daemon's today. A case with no
-- process, or with one still active, is kept. For each case, in one
-- transaction:
--   - cases: ref becomes "#purged-ID", dob and attrs go, purged_on is set,
--     and version moves on (so a start racing with the purge reads again,
--     and finds no case);
--   - processes: attrs, started_by and idem_key go; workflow, dates, status
--     and deadlines stay (the board reports count them);
--   - events: attrs go but for an exception's "reason" (one of the
--     workflow's fixed values, counted by the reports), actor and idem_key
--     go; type and on_date stay;
--   - event voids: the free-text reason becomes "(purged)", actor and key go;
--   - deadlines: a note naming a void's free-text reason loses the reason;
--   - escalations, their acknowledgements and their notices in the outbox
--     (escalation, resolved) are deleted: they are about the child's
--     deadlines and name staff, and no report reads them;
--   - digests and board packs in the outbox that list the case name it
--     "#purged-ID" instead, as the reports computed afresh do;
--   - one audit row (op "purge", the old ref) from p_audit ({"clock", "who",
--     "role", "via"}), in the same transaction. The audit rows written
--     before are kept unchanged: the trail is append-only (README).
-- Returns how many cases were purged. Several daemons may run it at once: each case is purged once.
CREATE OR REPLACE FUNCTION sf_purge_cases(p_today date, p_days integer, p_audit jsonb)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r      record;
    pseudo text;
    pat    text;
    n      integer := 0;
BEGIN
    IF p_days IS NULL OR p_days <= 0 THEN
        RETURN 0;
    END IF;
    PERFORM set_config('sendflow.purging', 'on', true);
    FOR r IN
        SELECT c.id, c.ref,
               (SELECT count(*) FROM processes p WHERE p.case_id = c.id) AS nproc,
               (SELECT max(p.ended_on) FROM processes p WHERE p.case_id = c.id) AS last_end
          FROM cases c
         WHERE c.purged_on IS NULL
           AND EXISTS (SELECT 1 FROM processes p WHERE p.case_id = c.id)
           AND NOT EXISTS (SELECT 1 FROM processes p
                            WHERE p.case_id = c.id
                              AND (p.status = 'active' OR p.ended_on IS NULL
                                   OR p.ended_on >= p_today - p_days))
         ORDER BY c.id
           FOR UPDATE OF c SKIP LOCKED
    LOOP
        pseudo := '#purged-' || r.id;
        -- The reference standing alone: not inside a longer one (references are
        -- letters, digits and . _ / -).
        pat := '(^|[^[:alnum:]._/-])' || sf_regex_quote(r.ref) || '(?=[^[:alnum:]._/-]|$)';
        UPDATE cases SET ref = pseudo, dob = NULL, attrs = '{}', purged_on = p_today,
                         version = version + 1
         WHERE id = r.id;
        UPDATE processes SET attrs = '{}', started_by = NULL, idem_key = NULL
         WHERE case_id = r.id;
        UPDATE events
           SET attrs = CASE WHEN type LIKE 'exception\_%' AND attrs ? 'reason'
                            THEN jsonb_build_object('reason', attrs->'reason')
                            ELSE '{}'::jsonb END,
               actor = NULL, idem_key = NULL
         WHERE case_id = r.id;
        UPDATE event_voids SET reason = '(purged)', actor = NULL, idem_key = NULL
         WHERE case_id = r.id;
        UPDATE deadlines
           SET note = regexp_replace(note, '^(started by event \d+, which was voided): .*$',
                                     '\1', 's')
         WHERE process_id IN (SELECT id FROM processes WHERE case_id = r.id)
           AND note ~ '^started by event \d+, which was voided: ';
        DELETE FROM outbox
         WHERE escalation_id IN (SELECT id FROM escalations WHERE case_id = r.id);
        DELETE FROM escalation_acks
         WHERE escalation_id IN (SELECT id FROM escalations WHERE case_id = r.id);
        DELETE FROM escalations WHERE case_id = r.id;
        -- Notices that list several cases (digests, board packs) name it by its
        -- new id: the reference wherever it stands alone, in the text, the JSON
        -- payload and a pack's HTML alike.
        UPDATE outbox o
           SET body = regexp_replace(o.body, pat, '\1' || pseudo, 'g'),
               payload = regexp_replace(o.payload::text, pat, '\1' || pseudo, 'g')::jsonb,
               subject = regexp_replace(o.subject, pat, '\1' || pseudo, 'g')
         WHERE o.kind IN ('digest', 'board_pack')
           AND (strpos(o.body, r.ref) > 0 OR strpos(o.payload::text, r.ref) > 0);
        PERFORM sf_audit_items(jsonb_build_array(
            p_audit || jsonb_build_object(
                'op', 'purge', 'case', r.ref,
                'detail', format('retention: %s process%s, the last ended on %s; personal data '
                                 'removed, statutory dates kept', r.nproc,
                                 CASE WHEN r.nproc = 1 THEN '' ELSE 'es' END, r.last_end))));
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
