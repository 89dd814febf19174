-- Recompute: writing a batch of processes recomputed under new definitions
-- (a changed workflow, calendar, escalation policy or service settings).

-- The row-at-a-time form of daemons before 007 (kept while one may share the database).
CREATE OR REPLACE FUNCTION sf_recompute(p_items jsonb) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    it      jsonb;
    pid     bigint;
    cid     bigint;
    bumped  bigint[] := '{}';
    before  jsonb;
    after   jsonb;
    k       text;
    moved   json[] := '{}';
    saved   integer := 0;
    skipped integer := 0;
    ref     text;
    wfname  text;
    planned jsonb := '[]';
BEGIN
    PERFORM set_config('sendflow.plan_later', 'on', true);
    FOR it IN SELECT value FROM jsonb_array_elements(p_items) LOOP
        pid := (it->>'id')::bigint;
        SELECT p.case_id, c.ref, p.workflow INTO cid, ref, wfname
          FROM processes p JOIN cases c ON c.id = p.case_id WHERE p.id = pid;
        IF NOT FOUND THEN
            skipped := skipped + 1;
            CONTINUE;
        END IF;
        IF NOT cid = ANY (bumped) THEN
            UPDATE cases SET version = version + 1
             WHERE id = cid AND version = (it->>'case_version')::bigint;
            IF NOT FOUND THEN
                skipped := skipped + 1;
                CONTINUE;
            END IF;
            bumped := bumped || cid;
        END IF;
        SELECT coalesce(jsonb_object_agg(name, due), '{}') INTO before
          FROM deadlines WHERE process_id = pid;
        PERFORM sf_save_process(pid, it->>'status', it->>'state', (it->>'ended_on')::date,
                                it->'deadlines');
        SELECT coalesce(jsonb_object_agg(name, due), '{}') INTO after
          FROM deadlines WHERE process_id = pid;
        planned := planned || jsonb_build_object('process', pid, 'deadlines', it->'deadlines');
        saved := saved + 1;
        FOR k IN SELECT jsonb_object_keys(before || after) LOOP
            IF before->>k IS DISTINCT FROM after->>k THEN
                moved := moved || json_build_object('case', ref, 'process', pid::text,
                                                    'workflow', wfname, 'deadline', k,
                                                    'from', before->k, 'to', after->k);
            END IF;
        END LOOP;
    END LOOP;
    PERFORM set_config('sendflow.plan_later', 'off', true);
    PERFORM sf_plan_escalations_many(planned);
    RETURN json_build_object('saved', saved, 'skipped', skipped, 'moved', to_json(moved));
END
$$;

-- A recompute batch, set-based (what the daemon calls since 007). p_items:
-- [{"id", "case", "case_version", "status", "state", "ended_on", "deadlines"
-- (only the rows whose signature changed), "gone" (names no longer
-- produced)}]; the daemon computed which deadlines moved from what it read.
-- Every case whose version is still the one read is bumped once; the items of
-- the others are skipped (whatever changed them computed them afresh). The
-- processes are written (the trigger stamps them with this session's
-- definitions, so an unchanged process costs one row), then the gone and
-- changed deadline rows, then the escalations of the changed rows are planned
-- together (p_plan: the daemon has a policy).
-- Returns {"saved": N, "skipped": [process id...]}.
CREATE OR REPLACE FUNCTION sf_recompute_batch(p_items jsonb, p_plan boolean) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    ok      bigint[];
    skipped text[];
    saved   integer;
BEGIN
    -- Batches are written two at a time, and the processes of one case may sit
    -- in both: the cases are locked in id order first, so two batches wait for
    -- each other instead of deadlocking (the second then finds the version
    -- moved on and skips that case's items).
    PERFORM 1 FROM cases
      WHERE id IN (SELECT (i->>'case')::bigint FROM jsonb_array_elements(p_items) i)
      ORDER BY id FOR UPDATE;
    WITH it AS (
        SELECT DISTINCT (i->>'case')::bigint AS cid, (i->>'case_version')::bigint AS ver
          FROM jsonb_array_elements(p_items) i),
    bumped AS (
        UPDATE cases c SET version = c.version + 1
          FROM it WHERE c.id = it.cid AND c.version = it.ver
        RETURNING c.id)
    SELECT coalesce(array_agg(id), '{}') INTO ok FROM bumped;

    UPDATE processes p SET status = i.status, state = i.state, ended_on = i.ended_on,
                           updated_at = now()
      FROM jsonb_to_recordset(p_items) AS i(id bigint, "case" bigint, status text, state text,
                                            ended_on date)
     WHERE p.id = i.id AND i."case" = ANY (ok);
    GET DIAGNOSTICS saved = ROW_COUNT;

    DELETE FROM deadlines d
     USING (SELECT (i->>'id')::bigint AS pid, g.name
              FROM jsonb_array_elements(p_items) i,
                   jsonb_array_elements_text(coalesce(i->'gone', '[]'::jsonb)) AS g(name)
             WHERE (i->>'case')::bigint = ANY (ok)) x
     WHERE d.process_id = x.pid AND d.name = x.name;

    PERFORM sf_upsert_deadlines((SELECT jsonb_agg(i) FROM jsonb_array_elements(p_items) i
                                  WHERE (i->>'case')::bigint = ANY (ok)), 'id');

    IF p_plan THEN
        PERFORM sf_plan_escalations_many(coalesce(jsonb_agg(jsonb_build_object(
                    'process', (i->>'id')::bigint, 'deadlines', i->'deadlines',
                    'gone', coalesce(i->'gone', '[]'::jsonb), 'plan', true)), '[]'::jsonb))
           FROM jsonb_array_elements(p_items) i
          WHERE (i->>'case')::bigint = ANY (ok)
            AND (jsonb_array_length(i->'deadlines') > 0
                 OR jsonb_array_length(coalesce(i->'gone', '[]'::jsonb)) > 0);
    END IF;

    SELECT coalesce(array_agg(i->>'id'), '{}') INTO skipped
      FROM jsonb_array_elements(p_items) i
     WHERE NOT (i->>'case')::bigint = ANY (ok);
    RETURN json_build_object('saved', saved, 'skipped', to_json(skipped));
END
$$;
