-- Escalations: planning them when deadlines are computed, firing them once,
-- "resolved" notices, daily digests.
--
-- The daemon computes, for each open duty, the day each level of the policy
-- fires and the roles it goes to, and sends them with the deadlines
-- ("escalate": [{"level", "fire_on", "roles"}]). Saving a process plans the
-- pending escalations, cancels those no longer due (the deadline was met or
-- no longer applies) and, for levels that already fired, queues a "resolved"
-- notice to the people they told.

-- A watch line: what NOTIFY sendflow_watch carries for a notice, under
-- PostgreSQL's 8,000-byte payload limit. sf_watch_line takes the notice's
-- JSON as text (a caller that has the text serialises it once): the text
-- itself, or, when too long, sf_watch_brief's key fields with "truncated".
-- All three are single expressions, so the planner inlines them.
CREATE OR REPLACE FUNCTION sf_watch_brief(p jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT jsonb_build_object('kind', p->>'kind', 'escalation', p->>'escalation',
                          'level', p->>'level', 'case', p->>'case',
                          'deadline', p->>'deadline', 'due', p->>'due',
                          'truncated', true)::text
$$;

CREATE OR REPLACE FUNCTION sf_watch_line(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT CASE WHEN octet_length(t) < 7900 THEN t ELSE sf_watch_brief(t::jsonb) END
$$;

CREATE OR REPLACE FUNCTION sf_watch_text(p jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT sf_watch_line(p::text)
$$;

-- 005's item reader, replaced by sf_plan_set (a new result shape).
DROP FUNCTION IF EXISTS sf_plan_items(jsonb);

-- A result type changed is a new function: sf_plan_set lost "history" and
-- sf_plan_levels its status columns (an import writes its past levels itself,
-- 50_import.sql).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'sf_plan_set'
                  AND 'history' = ANY (coalesce(proargnames, '{}'))) THEN
        DROP FUNCTION sf_plan_set(jsonb);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'sf_plan_levels'
                  AND 'superseded' = ANY (coalesce(proargnames, '{}'))) THEN
        DROP FUNCTION sf_plan_levels(jsonb);
    END IF;
END
$$;

-- The processes of a plan to look at: p_items is [{"process": id, "deadlines":
-- [...], "gone": [names] (optional), "plan": true (optional), "new": true (a
-- process created in this transaction: sf_plan_escalations_many only inserts
-- its levels)}]. "gone" present
-- means "deadlines" holds only the rows that changed (partial): only those and
-- the gone names are planned anew, the process's other levels are left as they
-- are. Without "plan", a process is planned when its deadlines carry "escalate"
-- (a daemon without a policy sends none: left as it is).
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

-- The levels a plan writes (sf_plan_escalations_many): one row per level of each
-- open duty of p_items (sf_plan_set), with the escalations columns it sets. A SQL
-- function of one SELECT: inlined where used.
CREATE OR REPLACE FUNCTION sf_plan_levels(p_items jsonb)
RETURNS TABLE (case_id bigint, process_id bigint, deadline text, level text, due date,
               fire_on date, roles jsonb)
LANGUAGE sql STABLE AS $$
SELECT p.case_id, it.pid, d->>'name', l->>'level', (d->>'due')::date,
       (l->>'fire_on')::date, l->'roles'
  FROM sf_plan_set(p_items) it JOIN processes p ON p.id = it.pid,
       jsonb_array_elements(it.dls) d,
       jsonb_array_elements(coalesce(d->'escalate', '[]'::jsonb)) l
 WHERE d->>'resolution' = 'open'
$$;

CREATE OR REPLACE FUNCTION sf_plan_escalations_many(p_items jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    earliest date;
    k bigint;
BEGIN
    -- Plan (or re-plan) the levels of open duties.
    WITH planned AS (
    INSERT INTO escalations AS e (case_id, process_id, deadline, level, due, fire_on, roles)
    SELECT * FROM sf_plan_levels(p_items)
    ON CONFLICT (process_id, deadline, level) DO UPDATE
       SET due = excluded.due, fire_on = excluded.fire_on, roles = excluded.roles,
           status = 'pending', updated_at = now()
     WHERE e.status = 'cancelled'
        OR (e.status = 'pending'
            AND (e.due, e.fire_on, e.roles) IS DISTINCT FROM
                (excluded.due, excluded.fire_on, excluded.roles))
    RETURNING CASE WHEN e.status = 'pending' THEN e.fire_on END AS fire_on)
    SELECT min(fire_on) INTO earliest FROM planned;
    -- A process created by this transaction ("new": sf_create_processes) has no
    -- levels yet to stop, resolve or reopen: for a batch of those, planning is
    -- the INSERT alone.
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_items) i
                WHERE NOT coalesce((i->>'new')::boolean, false)) THEN
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
        -- Levels that fired for a deadline now met or ended: tell the people they
        -- told (a superseded level told nobody), and the watch streams.
        WITH ended AS (
            UPDATE escalations e SET resolved_on = coalesce(x.on_date, current_date),
                                     updated_at = now()
              FROM (SELECT e2.id, d->>'resolution' AS res, d->>'title' AS title,
                           coalesce(d->>'met_on', d->>'cancelled_on')::date AS on_date
                      FROM sf_plan_set(p_items) it
                      JOIN escalations e2 ON e2.process_id = it.pid
                      JOIN jsonb_array_elements(it.dls) d ON d->>'name' = e2.deadline
                     WHERE e2.status = 'fired' AND e2.resolved_on IS NULL
                       AND d->>'resolution' <> 'open') x
             WHERE e.id = x.id
            RETURNING e.id, e.case_id, e.process_id, e.deadline, e.level, e.due, e.recipients,
                      e.superseded, e.fire_on, x.res, x.title, x.on_date),
        nt AS (
            SELECT ended.id, ended.process_id, ended.deadline, ended.fire_on, ended.recipients,
                   ended.superseded, n.subject, n.body, n.payload
              FROM ended JOIN cases c ON c.id = ended.case_id
              JOIN processes p ON p.id = ended.process_id
              CROSS JOIN LATERAL sf_notice('resolved', ended.id, ended.level, c.ref,
                                           ended.process_id, p.workflow, ended.deadline,
                                           ended.title, ended.due, NULL, NULL, NULL,
                                           ended.on_date, ended.res) n),
        -- One "resolved" notice per deadline and address, however many of its levels
        -- told that address: the one of the last level that fired.
        queued AS (
            INSERT INTO outbox (kind, escalation_id, channel, target, subject, body, payload,
                                idem_key)
            SELECT DISTINCT ON (nt.process_id, nt.deadline, t->>'channel', t->>'target')
                   'resolved', nt.id, t->>'channel', t->>'target', nt.subject, nt.body,
                   nt.payload || jsonb_build_object('recipient', t->>'person'),
                   format('resolved:%s:%s:%s', nt.id, t->>'channel', t->>'target')
              FROM nt, jsonb_array_elements(coalesce(nt.recipients, '[]'::jsonb)) t
             WHERE coalesce(t->>'channel', '') IN ('webhook', 'email', 'command')
             ORDER BY nt.process_id, nt.deadline, t->>'channel', t->>'target', nt.fire_on DESC,
                      nt.id DESC
            ON CONFLICT (idem_key) DO NOTHING)
        SELECT count(*) INTO k
          FROM nt LEFT JOIN LATERAL (SELECT pg_notify('sendflow_watch', sf_watch_text(nt.payload))
                                      WHERE NOT nt.superseded) w ON true;
        -- A level that fired for a deadline that is open again (its event was voided)
        -- is open again too.
        UPDATE escalations e SET resolved_on = NULL, updated_at = now()
          FROM sf_plan_set(p_items) it, jsonb_array_elements(it.dls) d
         WHERE e.process_id = it.pid AND e.status = 'fired' AND e.resolved_on IS NOT NULL
           AND d->>'name' = e.deadline AND d->>'resolution' = 'open';
    END IF;
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

-- The people a list of roles names for a case, each once. p_routing->'roles'
-- maps a role to {"attribute": "officer", "map": {...}} or {"people": [...]};
-- p_routing->'unassigned' lists the roles told in place of a per-case role
-- that names nobody for the case.
-- A set-returning SQL function of one SELECT, so the planner inlines it into
-- the statements that fire and digest thousands of rows at once (it was a
-- plpgsql loop returning text[], called row by row).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'sf_role_people' AND NOT proretset) THEN
        DROP FUNCTION sf_role_people(jsonb, jsonb, jsonb);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION sf_role_people(p_roles jsonb, p_case_attrs jsonb, p_routing jsonb)
RETURNS TABLE (person text) LANGUAGE sql STABLE AS $$
SELECT DISTINCT x.person
  FROM jsonb_array_elements_text(coalesce(p_roles, '[]'::jsonb)) r(role)
 CROSS JOIN LATERAL (SELECT p_routing->'roles'->r.role AS spec) s
 CROSS JOIN LATERAL (
       SELECT CASE WHEN s.spec ? 'people' THEN NULL
                   WHEN s.spec ? 'map' THEN s.spec->'map'->>(p_case_attrs->>(s.spec->>'attribute'))
                   ELSE p_case_attrs->>(s.spec->>'attribute') END AS one) a
 CROSS JOIN LATERAL (
       SELECT jsonb_array_elements_text(s.spec->'people') WHERE s.spec ? 'people'
       UNION ALL
       SELECT a.one WHERE NOT s.spec ? 'people'
       UNION ALL
       -- A per-case role naming nobody for this case (no officer; a team the map
       -- lacks): the policy's "unassigned" roles hear instead, so a case nobody
       -- holds reaches its team manager rather than no one.
       SELECT f.person
         FROM jsonb_array_elements_text(coalesce(p_routing->'unassigned', '[]'::jsonb)) ur(role)
        CROSS JOIN LATERAL (SELECT p_routing->'roles'->ur.role AS spec) us
        CROSS JOIN LATERAL (
              SELECT jsonb_array_elements_text(us.spec->'people') WHERE us.spec ? 'people'
              UNION ALL
              SELECT CASE WHEN us.spec ? 'map'
                          THEN us.spec->'map'->>(p_case_attrs->>(us.spec->>'attribute'))
                          ELSE p_case_attrs->>(us.spec->>'attribute') END
               WHERE NOT us.spec ? 'people') f(person)
        WHERE NOT s.spec ? 'people' AND a.one IS NULL) x(person)
 WHERE x.person IS NOT NULL
$$;

-- A notice's subject, plain-text body and JSON payload (without "recipient",
-- which the caller adds per person): the one place their words are written.
-- p_kind 'escalation' (p_on: the day it fired; p_basis, p_explain, p_attrs
-- used) or 'resolved' (p_on: the day it was met or ended, p_resolution 'met'
-- or 'cancelled'). One SELECT, inlined into the statements that queue them.
CREATE OR REPLACE FUNCTION sf_notice(p_kind text, p_escalation bigint, p_level text,
                                     p_case text, p_process bigint, p_workflow text,
                                     p_deadline text, p_title text, p_due date, p_basis text,
                                     p_explain text, p_attrs jsonb, p_on date,
                                     p_resolution text)
RETURNS TABLE (subject text, body text, payload jsonb) LANGUAGE sql STABLE AS $$
SELECT format('%s: %s, case %s (due %s)',
              CASE WHEN o.overdue > 0 THEN 'Overdue' ELSE 'At risk' END, p_title, p_case, p_due),
       format(E'%s: %s (%s)\n' ||
              E'Case: %s (%s, process %s)\n' ||
              E'Due: %s (%s)\n' ||
              E'Legal basis: %s\n' ||
              E'How the date was set: %s\n' ||
              E'Officer: %s   Team: %s\n' ||
              E'Level: %s (escalation %s)\n\n' ||
              E'See the case: sendflow show %s\n' ||
              E'Acknowledge: sendflow ack %s --note "what you are doing about it"\n',
              CASE WHEN o.overdue > 0 THEN 'Deadline missed' ELSE 'Deadline at risk' END,
              p_title, p_deadline, p_case, p_workflow, p_process, p_due,
              CASE WHEN o.overdue > 0
                   THEN format('%s day%s overdue', o.overdue,
                               CASE WHEN o.overdue = 1 THEN '' ELSE 's' END)
                   WHEN o.overdue = 0 THEN 'due today'
                   ELSE format('%s day%s left', -o.overdue,
                               CASE WHEN o.overdue = -1 THEN '' ELSE 's' END) END,
              p_basis, p_explain, coalesce(p_attrs->>'officer', 'unassigned'),
              coalesce(p_attrs->>'team', '(none)'), p_level, p_escalation, p_case,
              p_escalation),
       jsonb_build_object('kind', 'escalation', 'escalation', p_escalation::text,
                          'level', p_level, 'case', p_case, 'process', p_process::text,
                          'workflow', p_workflow, 'deadline', p_deadline, 'title', p_title,
                          'due', p_due, 'days_overdue', greatest(o.overdue, 0),
                          'days_left', greatest(-o.overdue, 0), 'basis', p_basis,
                          'explain', p_explain, 'officer', p_attrs->>'officer',
                          'team', p_attrs->>'team', 'fired_on', p_on,
                          'command', 'sendflow show ' || p_case,
                          'ack', format('sendflow ack %s --note TEXT', p_escalation))
  FROM (SELECT p_on - p_due AS overdue) o
 WHERE p_kind = 'escalation'
UNION ALL
SELECT format('Resolved: %s, case %s', p_title, p_case),
       format(E'Resolved: "%s" (%s) for case %s was %s on %s.\n' ||
              E'It had been escalated at level %s (escalation %s).\n\n' ||
              E'See the case: sendflow show %s\n',
              p_title, p_deadline, p_case,
              CASE p_resolution WHEN 'met' THEN 'met' ELSE 'no longer due' END,
              coalesce(p_on::text, '?'), p_level, p_escalation, p_case),
       jsonb_build_object('kind', 'resolved', 'escalation', p_escalation::text,
                          'level', p_level, 'case', p_case, 'workflow', p_workflow,
                          'deadline', p_deadline, 'title', p_title, 'due', p_due,
                          'resolution', p_resolution, 'on', p_on,
                          'command', 'sendflow show ' || p_case)
 WHERE p_kind = 'resolved'
$$;

-- The result was json (every fired escalation's whole notice); it is a table now.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'sf_fire_escalations' AND NOT proretset) THEN
        DROP FUNCTION sf_fire_escalations(date, text, jsonb, integer);
    END IF;
    -- The table gained "unreachable": a new result type is a new function.
    IF EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'sf_fire_escalations' AND proretset
                  AND NOT 'unreachable' = ANY (coalesce(proargnames, '{}'))) THEN
        DROP FUNCTION sf_fire_escalations(date, text, jsonb, integer);
    END IF;
END
$$;

-- Fire the escalations due on p_today: claim up to p_limit pending ones in
-- (fire_on, id) order (the index escalations_pending_claim, schema 008), FOR
-- UPDATE SKIP LOCKED so two daemons never take the same one; mark them
-- fired; resolve who they go to; queue one notice per person and channel
-- (one INSERT ... SELECT for the whole batch, the idempotency key making it
-- once only); NOTIFY the watch streams of each. All in one statement, so one
-- transaction.
--
-- A level is superseded when a later level of the same process and deadline
-- (greater (fire_on, id)) has fired already or is due by p_today too: then it
-- is recorded as fired with superseded set and no recipients, and nothing is
-- sent or NOTIFYed for it (an "at risk" for a deadline already missed).
--
-- A level fires once (claimed pending, left fired), so its notices' keys are
-- new: they are inserted without ON CONFLICT (a speculative insertion per
-- row costs a fifth of the statement), two people sharing an address get one
-- notice (DISTINCT ON), and the unique key still refuses a duplicate. jit is
-- off: the planner's guesses for the JSON set functions make the plan look
-- costly enough to compile, which took a second per batch.
--
-- plpgsql (RETURN QUERY) rather than a SQL function: its plan is kept for
-- the session, where a SQL function's statement was planned again at every
-- call (a few ms a batch, which the small first batches of a tick pay
-- many times). Each watch line is made text once, its size checked on that
-- text (sf_watch_line; sf_watch_text, a SQL function not inlined here,
-- serialised it twice a level and was a tenth of the statement).
--
-- p_routing: {"roles": {...}, "people": {"mk": [{"channel": "email",
-- "target": "mk@example.org"}]}}. Returns one row per level claimed, in
-- claim order, with how many people and channels it told, and the people
-- its roles named who have no channel in channels.yaml ("unreachable", NULL
-- when none: the daemon warns, so nobody is left out silently).
CREATE OR REPLACE FUNCTION sf_fire_escalations(p_today date, p_daemon text, p_routing jsonb,
                                               p_limit integer)
RETURNS TABLE (escalation bigint, level text, case_ref text, deadline text, due date,
               recipients integer, superseded boolean, unreachable text)
LANGUAGE plpgsql SET jit = off SET work_mem = '64MB' AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
WITH claimed AS (
    SELECT e.id, e.case_id, e.process_id, e.deadline, e.level, e.due, e.fire_on, e.roles
      FROM escalations e
     WHERE e.status = 'pending' AND e.fire_on <= p_today
     ORDER BY e.fire_on, e.id
     LIMIT p_limit
       FOR UPDATE SKIP LOCKED),
lv AS (
    SELECT cl.*, c.ref, c.attrs, p.workflow, coalesce(d.title, cl.deadline) AS title,
           coalesce(d.basis, '') AS basis, coalesce(d.explain, '') AS explain,
           EXISTS (SELECT 1 FROM escalations l
                    WHERE l.process_id = cl.process_id AND l.deadline = cl.deadline
                      AND (l.fire_on, l.id) > (cl.fire_on, cl.id)
                      AND (l.status = 'fired'
                           OR (l.status = 'pending' AND l.fire_on <= p_today))) AS sup
      FROM claimed cl
      JOIN cases c ON c.id = cl.case_id
      JOIN processes p ON p.id = cl.process_id
      LEFT JOIN deadlines d ON d.process_id = cl.process_id AND d.name = cl.deadline),
-- Each level's recipients (a person with no channel as {"person", "channel": "none"})
-- and its notice, worked out beside the level (LATERAL), so that no later step
-- joins two of these lists by id: planned on a stale estimate of one claimed
-- level (a table grown by an import, not analysed yet), such a join was a
-- nested loop over both lists, 1.8 s for 1,500 levels.
nl AS (
    SELECT lv.*, r.recips, n.subject, n.body, n.payload
      FROM lv
      LEFT JOIN LATERAL (
           SELECT jsonb_agg(CASE WHEN t.channel = 'none'
                                 THEN jsonb_build_object('person', rp.person, 'channel', 'none')
                                 ELSE jsonb_build_object('person', rp.person,
                                                         'channel', t.channel,
                                                         'target', t.target) END
                            ORDER BY rp.person, t.ord) AS recips
             FROM sf_role_people(lv.roles, lv.attrs, p_routing) rp
            CROSS JOIN LATERAL (
                  SELECT x.ord, x.v->>'channel', x.v->>'target'
                    FROM jsonb_array_elements(p_routing->'people'->rp.person)
                         WITH ORDINALITY x(v, ord)
                  UNION ALL
                  SELECT 0, 'none', NULL
                   WHERE jsonb_array_length(coalesce(p_routing->'people'->rp.person,
                                                     '[]'::jsonb)) = 0) t(ord, channel, target)
            WHERE NOT lv.sup) r ON true
      LEFT JOIN LATERAL (
           SELECT * FROM sf_notice('escalation', lv.id, lv.level, lv.ref, lv.process_id,
                                   lv.workflow, lv.deadline, lv.title, lv.due, lv.basis,
                                   lv.explain, lv.attrs, p_today, NULL)
            WHERE NOT lv.sup) n ON true),
queued AS (
    INSERT INTO outbox (kind, escalation_id, channel, target, subject, body, payload, idem_key)
    SELECT DISTINCT ON (nl.id, t->>'channel', t->>'target')
           'escalation', nl.id, t->>'channel', t->>'target', nl.subject, nl.body,
           nl.payload || jsonb_build_object('recipient', t->>'person'),
           format('escalation:%s:%s:%s', nl.id, t->>'channel', t->>'target')
      FROM nl, jsonb_array_elements(nl.recips) t
     WHERE t->>'channel' <> 'none'
     ORDER BY nl.id, t->>'channel', t->>'target', t->>'person'),
-- Executed whether or not read (a data-modifying WITH always runs to completion);
-- the result below reads the recipients from nl, as written here.
marked AS (
    UPDATE escalations e
       SET status = 'fired', fired_at = now(), fired_by = p_daemon, updated_at = now(),
           superseded = nl.sup, recipients = coalesce(nl.recips, '[]'::jsonb)
      FROM nl
     WHERE e.id = nl.id)
SELECT nl.id, nl.level, nl.ref, nl.deadline, nl.due,
       jsonb_array_length(coalesce(nl.recips, '[]'::jsonb)), nl.sup,
       (SELECT string_agg(r->>'person', ', ' ORDER BY r->>'person')
          FROM jsonb_array_elements(nl.recips) r WHERE r->>'channel' = 'none')
  FROM nl
  LEFT JOIN LATERAL (SELECT (nl.payload || jsonb_build_object('recipients',
                                                               coalesce(nl.recips, '[]'::jsonb)))::text AS t
                      WHERE NOT nl.sup OFFSET 0) wt ON true
  LEFT JOIN LATERAL (SELECT pg_notify('sendflow_watch', sf_watch_line(wt.t))
                      WHERE NOT nl.sup) w ON true
 ORDER BY nl.fire_on, nl.id;
END
$$;

-- Queue today's digest for every person a digest role names: the open duties
-- of their cases due by p_until, those already overdue (due before p_today)
-- first and named so, then those due from p_today, one notice per channel,
-- once a day (the idempotency key holds the date). An overdue duty stays in
-- every digest until it is met: the digest replaces the officer's at-risk
-- notices, so it must not be quieter than they were. Returns how many were
-- queued.
CREATE OR REPLACE FUNCTION sf_queue_digests(p_today date, p_until date, p_routing jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r      record;
    tgt    jsonb;
    queued integer := 0;
    k      integer;
BEGIN
    FOR r IN
        SELECT rp.person, count(*) AS n, count(*) FILTER (WHERE d.due < p_today) AS n_over,
               string_agg(format('%s  %-12s %-28s %s (%s)', d.due, c.ref, d.name, d.title,
                                 d.basis), E'\n' ORDER BY d.due, c.ref, d.name)
                   FILTER (WHERE d.due < p_today) AS over_lines,
               string_agg(format('%s  %-12s %-28s %s (%s)', d.due, c.ref, d.name, d.title,
                                 d.basis), E'\n' ORDER BY d.due, c.ref, d.name)
                   FILTER (WHERE d.due >= p_today) AS due_lines,
               jsonb_agg(jsonb_build_object('case', c.ref, 'deadline', d.name,
                                            'title', d.title, 'due', d.due, 'basis', d.basis,
                                            'overdue', d.due < p_today)
                         ORDER BY d.due, c.ref, d.name) AS items
          FROM deadlines d JOIN processes p ON p.id = d.process_id
          JOIN cases c ON c.id = p.case_id
         CROSS JOIN LATERAL sf_role_people(p_routing->'digest_roles', c.attrs, p_routing) rp
         WHERE d.resolution = 'open' AND d.kind = 'duty' AND p.status = 'active'
           AND d.due <= p_until
         GROUP BY rp.person
    LOOP
        FOR tgt IN SELECT value FROM jsonb_array_elements(
                       coalesce(p_routing->'people'->r.person, '[]'::jsonb))
        LOOP
            INSERT INTO outbox (kind, channel, target, subject, body, payload, idem_key)
            VALUES ('digest', tgt->>'channel', tgt->>'target',
                    format('Due by %s: %s deadline%s%s', p_until, r.n,
                           CASE WHEN r.n = 1 THEN '' ELSE 's' END,
                           CASE WHEN r.n_over > 0 THEN format(', %s overdue', r.n_over) END),
                    CASE WHEN r.n_over > 0
                         THEN format(E'Overdue deadlines of your cases (due before %s):\n\n%s\n\n',
                                     p_today, r.over_lines) ELSE '' END ||
                    CASE WHEN r.n > r.n_over
                         THEN format(E'Deadlines of your cases due from %s to %s:\n\n%s\n\n',
                                     p_today, p_until, r.due_lines) ELSE '' END ||
                    E'See a case: sendflow show REF\n',
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
