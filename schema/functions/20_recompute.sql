-- Recompute: writing a batch of processes recomputed under new definitions
-- (a changed workflow, calendar, escalation policy or service settings).

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
