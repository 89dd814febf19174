-- Escalations: planning them when deadlines are computed, firing them once,
-- "resolved" notices, daily digests.
--
-- The daemon computes, for each open duty, the day each level of the policy
-- fires and the roles it goes to, and sends them with the deadlines
-- ("escalate": [{"level", "fire_on", "roles"}]). Saving a process plans the
-- pending escalations, cancels those no longer due (the deadline was met or
-- no longer applies) and, for levels that already fired, queues a "resolved"
-- notice to the people they told.

CREATE OR REPLACE FUNCTION sf_watch_text(p jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT CASE WHEN octet_length(p::text) < 7900 THEN p::text
            ELSE jsonb_build_object('kind', p->>'kind', 'escalation', p->>'escalation',
                                    'level', p->>'level', 'case', p->>'case',
                                    'deadline', p->>'deadline', 'due', p->>'due',
                                    'truncated', true)::text END
$$;

-- 005's item reader, replaced by sf_plan_set (a new result shape).
DROP FUNCTION IF EXISTS sf_plan_items(jsonb);

-- The processes of a plan to look at: p_items is [{"process": id, "deadlines":
-- [...], "gone": [names] (optional), "plan": true (optional)}]. "gone" present
-- means "deadlines" holds only the rows that changed (partial): only those and
-- the gone names are planned anew, the process's other levels are left as they
-- are. Without "plan", a process is planned when its deadlines carry
-- "escalate" (a daemon without a policy sends none: left as it is).
CREATE OR REPLACE FUNCTION sf_plan_set(p_items jsonb)
RETURNS TABLE (pid bigint, dls jsonb, gone text[], partial boolean)
LANGUAGE sql IMMUTABLE AS $$
SELECT (i->>'process')::bigint, coalesce(i->'deadlines', '[]'::jsonb),
       ARRAY(SELECT jsonb_array_elements_text(coalesce(i->'gone', '[]'::jsonb))),
       i ? 'gone' AND jsonb_typeof(i->'gone') = 'array'
  FROM jsonb_array_elements(p_items) i
 WHERE coalesce((i->>'plan')::boolean,
                EXISTS (SELECT 1 FROM jsonb_array_elements(i->'deadlines') d WHERE d ? 'escalate'))
$$;

CREATE OR REPLACE FUNCTION sf_plan_escalations_many(p_items jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    earliest date;
    r record;
    t jsonb;
BEGIN
    -- Plan (or re-plan) the levels of open duties.
    WITH planned AS (
    INSERT INTO escalations AS e (case_id, process_id, deadline, level, due, fire_on, roles)
    SELECT p.case_id, it.pid, d->>'name', l->>'level', (d->>'due')::date,
           (l->>'fire_on')::date, l->'roles'
      FROM sf_plan_set(p_items) it JOIN processes p ON p.id = it.pid,
           jsonb_array_elements(it.dls) d,
           jsonb_array_elements(coalesce(d->'escalate', '[]'::jsonb)) l
     WHERE d->>'resolution' = 'open'
    ON CONFLICT (process_id, deadline, level) DO UPDATE
       SET due = excluded.due, fire_on = excluded.fire_on, roles = excluded.roles,
           status = 'pending', updated_at = now()
     WHERE e.status = 'cancelled'
        OR (e.status = 'pending'
            AND (e.due, e.fire_on, e.roles) IS DISTINCT FROM
                (excluded.due, excluded.fire_on, excluded.roles))
    RETURNING e.fire_on)
    SELECT min(fire_on) INTO earliest FROM planned;
    -- Pending levels no longer planned stop: met, cancelled, gone, or switched off
    -- (for a partial plan, among the deadlines it names).
    UPDATE escalations e SET status = 'cancelled', updated_at = now()
      FROM sf_plan_set(p_items) it
     WHERE e.process_id = it.pid AND e.status = 'pending'
       AND (NOT it.partial OR e.deadline = ANY (it.gone)
            OR EXISTS (SELECT 1 FROM jsonb_array_elements(it.dls) c
                        WHERE c->>'name' = e.deadline))
       AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(it.dls) d,
                              jsonb_array_elements(coalesce(d->'escalate', '[]'::jsonb)) l
                        WHERE d->>'resolution' = 'open' AND d->>'name' = e.deadline
                          AND l->>'level' = e.level);
    -- Levels that fired for a deadline now met or ended: tell the same people.
    FOR r IN SELECT e.id, e.level, e.deadline, e.recipients, e.due, c.ref, p.workflow,
                    d->>'resolution' AS res,
                    coalesce(d->>'met_on', d->>'cancelled_on') AS on_date, d->>'title' AS title
               FROM sf_plan_set(p_items) it
               JOIN escalations e ON e.process_id = it.pid
               JOIN cases c ON c.id = e.case_id
               JOIN processes p ON p.id = e.process_id
               JOIN jsonb_array_elements(it.dls) d ON d->>'name' = e.deadline
              WHERE e.status = 'fired' AND e.resolved_on IS NULL
                AND d->>'resolution' <> 'open'
    LOOP
        UPDATE escalations SET resolved_on = coalesce(r.on_date::date, current_date),
                               updated_at = now()
         WHERE id = r.id;
        FOR t IN SELECT value FROM jsonb_array_elements(coalesce(r.recipients, '[]'::jsonb))
        LOOP
            CONTINUE WHEN coalesce(t->>'channel', '') NOT IN ('webhook', 'email', 'command');
            INSERT INTO outbox (kind, escalation_id, channel, target, subject, body, payload,
                                idem_key)
            VALUES ('resolved', r.id, t->>'channel', t->>'target',
                    format('Resolved: %s, case %s', r.title, r.ref),
                    format(E'Resolved: "%s" (%s) for case %s was %s on %s.\n' ||
                           E'It had been escalated at level %s (escalation %s).\n\n' ||
                           E'See the case: sendflow show %s\n',
                           r.title, r.deadline, r.ref,
                           CASE r.res WHEN 'met' THEN 'met' ELSE 'no longer due' END,
                           coalesce(r.on_date, '?'), r.level, r.id, r.ref),
                    jsonb_build_object('kind', 'resolved', 'escalation', r.id::text,
                                       'level', r.level, 'case', r.ref,
                                       'workflow', r.workflow, 'deadline', r.deadline,
                                       'title', r.title, 'due', r.due, 'resolution', r.res,
                                       'on', r.on_date, 'recipient', t->>'person',
                                       'command', 'sendflow show ' || r.ref),
                    format('resolved:%s:%s:%s', r.id, t->>'channel', t->>'target'))
            ON CONFLICT (idem_key) DO NOTHING;
        END LOOP;
        PERFORM pg_notify('sendflow_watch',
                          sf_watch_text(jsonb_build_object('kind', 'resolved',
                                                           'escalation', r.id::text,
                                                           'level', r.level, 'case', r.ref,
                                                           'deadline', r.deadline,
                                                           'title', r.title,
                                                           'resolution', r.res,
                                                           'on', r.on_date)));
    END LOOP;
    -- A level that fired for a deadline that is open again (its event was voided)
    -- is open again too.
    UPDATE escalations e SET resolved_on = NULL, updated_at = now()
      FROM sf_plan_set(p_items) it, jsonb_array_elements(it.dls) d
     WHERE e.process_id = it.pid AND e.status = 'fired' AND e.resolved_on IS NOT NULL
       AND d->>'name' = e.deadline AND d->>'resolution' = 'open';
    -- Tell the schedulers the earliest day a level planned here fires: they tick
    -- at once only when it is due already, else set their timer earlier if need be.
    IF earliest IS NOT NULL THEN
        PERFORM pg_notify('sendflow_escalations', earliest::text);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION sf_plan_escalations(p_id bigint, p_deadlines jsonb) RETURNS void
LANGUAGE sql AS $$
SELECT sf_plan_escalations_many(jsonb_build_array(jsonb_build_object('process', p_id,
                                                                     'deadlines', p_deadlines)))
$$;

CREATE OR REPLACE FUNCTION sf_role_people(p_roles jsonb, p_case_attrs jsonb, p_routing jsonb)
RETURNS text[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    role   text;
    spec   jsonb;
    val    text;
    people text[] := '{}';
BEGIN
    FOR role IN SELECT jsonb_array_elements_text(coalesce(p_roles, '[]'::jsonb)) LOOP
        spec := p_routing->'roles'->role;
        IF spec IS NULL THEN
            CONTINUE;
        ELSIF spec ? 'people' THEN
            people := people || ARRAY(SELECT jsonb_array_elements_text(spec->'people'));
        ELSE
            val := p_case_attrs->>(spec->>'attribute');
            IF val IS NOT NULL AND spec ? 'map' THEN
                val := spec->'map'->>val;
            END IF;
            IF val IS NOT NULL AND NOT val = ANY (people) THEN
                people := people || val;
            END IF;
        END IF;
    END LOOP;
    RETURN ARRAY(SELECT DISTINCT unnest(people) ORDER BY 1);
END
$$;

CREATE OR REPLACE FUNCTION sf_fire_escalations(p_today date, p_daemon text, p_routing jsonb,
                                    p_limit integer) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    r       record;
    person  text;
    tgt     jsonb;
    recips  jsonb;
    fired   json[] := '{}';
    payload jsonb;
    subj    text;
    body    text;
    overdue integer;
BEGIN
    FOR r IN
        WITH due AS (
            SELECT id FROM escalations
             WHERE status = 'pending' AND fire_on <= p_today
             ORDER BY fire_on, id LIMIT p_limit FOR UPDATE SKIP LOCKED)
        UPDATE escalations e SET status = 'fired', fired_at = now(), fired_by = p_daemon,
                                 updated_at = now()
          FROM due WHERE e.id = due.id
        RETURNING e.id, e.case_id, e.process_id, e.deadline, e.level, e.due, e.fire_on, e.roles
    LOOP
        recips := '[]'::jsonb;
        DECLARE
            cref  text;
            cattr jsonb;
            wfn   text;
            dtit  text;
            dbas  text;
            dexp  text;
        BEGIN
            SELECT c.ref, c.attrs, p.workflow, coalesce(d.title, r.deadline),
                   coalesce(d.basis, ''), coalesce(d.explain, '')
              INTO cref, cattr, wfn, dtit, dbas, dexp
              FROM cases c JOIN processes p ON p.case_id = c.id
              LEFT JOIN deadlines d ON d.process_id = p.id AND d.name = r.deadline
             WHERE c.id = r.case_id AND p.id = r.process_id;
            overdue := p_today - r.due;
            payload := jsonb_build_object(
                'kind', 'escalation', 'escalation', r.id::text, 'level', r.level,
                'case', cref, 'process', r.process_id::text, 'workflow', wfn,
                'deadline', r.deadline, 'title', dtit, 'due', r.due,
                'days_overdue', greatest(overdue, 0), 'days_left', greatest(-overdue, 0),
                'basis', dbas, 'explain', dexp, 'officer', cattr->>'officer',
                'team', cattr->>'team', 'fired_on', p_today,
                'command', 'sendflow show ' || cref,
                'ack', format('sendflow ack %s --note TEXT', r.id));
            subj := format('%s: %s, case %s (due %s)',
                           CASE WHEN overdue > 0 THEN 'Overdue' ELSE 'At risk' END, dtit, cref,
                           r.due);
            body := format(E'%s: %s (%s)\n' ||
                           E'Case: %s (%s, process %s)\n' ||
                           E'Due: %s (%s)\n' ||
                           E'Legal basis: %s\n' ||
                           E'How the date was set: %s\n' ||
                           E'Officer: %s   Team: %s\n' ||
                           E'Level: %s (escalation %s)\n\n' ||
                           E'See the case: sendflow show %s\n' ||
                           E'Acknowledge: sendflow ack %s --note "what you are doing about it"\n',
                           CASE WHEN overdue > 0 THEN 'Deadline missed' ELSE 'Deadline at risk' END,
                           dtit, r.deadline, cref, wfn, r.process_id, r.due,
                           CASE WHEN overdue > 0 THEN format('%s day%s overdue', overdue,
                                                             CASE WHEN overdue = 1 THEN '' ELSE 's' END)
                                WHEN overdue = 0 THEN 'due today'
                                ELSE format('%s day%s left', -overdue,
                                            CASE WHEN overdue = -1 THEN '' ELSE 's' END) END,
                           dbas, dexp, coalesce(cattr->>'officer', '(none)'),
                           coalesce(cattr->>'team', '(none)'), r.level, r.id, cref, r.id);
            FOREACH person IN ARRAY sf_role_people(r.roles, cattr, p_routing) LOOP
                IF jsonb_array_length(coalesce(p_routing->'people'->person, '[]'::jsonb)) = 0 THEN
                    recips := recips || jsonb_build_object('person', person, 'channel', 'none');
                    CONTINUE;
                END IF;
                FOR tgt IN SELECT value FROM jsonb_array_elements(p_routing->'people'->person)
                LOOP
                    recips := recips || jsonb_build_object('person', person,
                                                           'channel', tgt->>'channel',
                                                           'target', tgt->>'target');
                    INSERT INTO outbox (kind, escalation_id, channel, target, subject, body,
                                        payload, idem_key)
                    VALUES ('escalation', r.id, tgt->>'channel', tgt->>'target', subj, body,
                            payload || jsonb_build_object('recipient', person),
                            format('escalation:%s:%s:%s', r.id, tgt->>'channel',
                                   tgt->>'target'))
                    ON CONFLICT (idem_key) DO NOTHING;
                END LOOP;
            END LOOP;
            UPDATE escalations SET recipients = recips WHERE id = r.id;
            payload := payload || jsonb_build_object('recipients', recips);
            PERFORM pg_notify('sendflow_watch', sf_watch_text(payload));
            fired := fired || payload::json;
        END;
    END LOOP;
    RETURN to_json(fired);
END
$$;

CREATE OR REPLACE FUNCTION sf_queue_digests(p_today date, p_until date, p_routing jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r      record;
    tgt    jsonb;
    queued integer := 0;
    k      integer;
BEGIN
    FOR r IN
        SELECT person, count(*) AS n,
               string_agg(format('%s  %-12s %-28s %s (%s)', d.due, c.ref, d.name, d.title,
                                 d.basis), E'\n' ORDER BY d.due, c.ref, d.name) AS lines,
               jsonb_agg(jsonb_build_object('case', c.ref, 'deadline', d.name,
                                            'title', d.title, 'due', d.due, 'basis', d.basis)
                         ORDER BY d.due, c.ref, d.name) AS items
          FROM deadlines d JOIN processes p ON p.id = d.process_id
          JOIN cases c ON c.id = p.case_id,
               unnest(sf_role_people(p_routing->'digest_roles', c.attrs, p_routing)) AS person
         WHERE d.resolution = 'open' AND d.kind = 'duty' AND p.status = 'active'
           AND d.due BETWEEN p_today AND p_until
         GROUP BY person
    LOOP
        FOR tgt IN SELECT value FROM jsonb_array_elements(
                       coalesce(p_routing->'people'->r.person, '[]'::jsonb))
        LOOP
            INSERT INTO outbox (kind, channel, target, subject, body, payload, idem_key)
            VALUES ('digest', tgt->>'channel', tgt->>'target',
                    format('Due by %s: %s deadline%s', p_until, r.n,
                           CASE WHEN r.n = 1 THEN '' ELSE 's' END),
                    format(E'Deadlines of your cases due from %s to %s:\n\n%s\n\n' ||
                           E'See a case: sendflow show REF\n', p_today, p_until, r.lines),
                    jsonb_build_object('kind', 'digest', 'recipient', r.person,
                                       'from', p_today, 'to', p_until, 'items', r.items),
                    format('digest:%s:%s:%s:%s', r.person, p_today, tgt->>'channel',
                           tgt->>'target'))
            ON CONFLICT (idem_key) DO NOTHING;
            GET DIAGNOSTICS k = ROW_COUNT;
            queued := queued + k;
        END LOOP;
    END LOOP;
    RETURN queued;
END
$$;
