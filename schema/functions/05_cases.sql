-- Cases: opening them (group commit).

-- Open a batch of cases in one statement. p_items: [{"ref", "dob", "attrs",
-- "audit"}].
-- Returns a JSON array with, for each item in order, {"created": true} when
-- this item created its case, or NULL when the case already existed (or an
-- earlier item of the batch, or another daemon meanwhile, created it): the
-- daemon then compares what is stored with what was asked, so a repeated
-- identical case_open is idempotent and a different one is refused.
CREATE OR REPLACE FUNCTION sf_open_cases(p_items jsonb) RETURNS json LANGUAGE sql AS $$
WITH it AS (
    SELECT i.value AS item, i.ordinality AS n
      FROM jsonb_array_elements(p_items) WITH ORDINALITY i),
first AS (
    SELECT DISTINCT ON (item->>'ref') item->>'ref' AS ref, n, item
      FROM it ORDER BY item->>'ref', n),
ins AS (
    INSERT INTO cases (ref, dob, attrs)
    SELECT ref, (item->>'dob')::date, coalesce(item->'attrs', '{}'::jsonb) FROM first ORDER BY n
    ON CONFLICT (ref) DO NOTHING
    RETURNING ref),
-- The audit rows of the cases created, in the same transaction.
audited AS (
    SELECT sf_audit_items(jsonb_agg(first.item->'audit')) AS n
      FROM first JOIN ins ON ins.ref = first.ref WHERE first.item ? 'audit')
SELECT json_agg(CASE WHEN f.n IS NOT NULL THEN json_build_object('created', true) END
                ORDER BY it.n)
  FROM it
  CROSS JOIN audited
  LEFT JOIN (SELECT first.n FROM first JOIN ins ON ins.ref = first.ref) f ON f.n = it.n
$$;

-- Assign a case to an officer, and to a team when p_team is not NULL: the
-- case's attrs "officer" and "team" change, and its version moves on (an
-- event read before it reads again). Pending escalation levels find their
-- people when they fire, so they follow the case by themselves; a level
-- that fired and is not resolved tells the people its roles name now and
-- did not name then (the new officer hears of what is already at risk or
-- overdue), recorded in its recipients. p_routing is sf_fire_escalations's.
-- Returns {"officer", "team", "was_officer", "was_team", "told"} (told: the
-- notices queued), or NULL when there is no such case.
CREATE OR REPLACE FUNCTION sf_assign_case(p_ref text, p_officer text, p_team text,
                                          p_routing jsonb, p_today date)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    cid   bigint;
    was   jsonb;
    now_a jsonb;
    told  integer;
BEGIN
    SELECT id, attrs INTO cid, was FROM cases WHERE ref = p_ref FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    UPDATE cases
       SET attrs = attrs || jsonb_build_object('officer', p_officer)
                         || CASE WHEN p_team IS NULL THEN '{}'::jsonb
                                 ELSE jsonb_build_object('team', p_team) END,
           version = version + 1
     WHERE id = cid
    RETURNING attrs INTO now_a;
    WITH lv AS (
        SELECT e.id, e.process_id, e.deadline, e.level, e.due, e.roles, e.recipients,
               p.workflow, coalesce(d.title, e.deadline) AS title,
               coalesce(d.basis, '') AS basis, coalesce(d.explain, '') AS explain
          FROM escalations e
          JOIN processes p ON p.id = e.process_id
          LEFT JOIN deadlines d ON d.process_id = e.process_id AND d.name = e.deadline
         WHERE e.case_id = cid AND e.status = 'fired' AND e.resolved_on IS NULL
           AND NOT e.superseded),
    tg AS (
        SELECT lv.id, rp.person, x.v->>'channel' AS channel, x.v->>'target' AS target
          FROM lv
         CROSS JOIN LATERAL sf_role_people(lv.roles, now_a, p_routing) rp
         CROSS JOIN LATERAL jsonb_array_elements(
               coalesce(p_routing->'people'->rp.person, '[]'::jsonb)) x(v)
         WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(lv.recipients) r
                            WHERE r->>'person' = rp.person)),
    queued AS (
        INSERT INTO outbox (kind, escalation_id, channel, target, subject, body, payload,
                            idem_key)
        SELECT 'escalation', tg.id, tg.channel, tg.target, n.subject, n.body,
               n.payload || jsonb_build_object('recipient', tg.person, 'reassigned', true),
               format('escalation:%s:%s:%s', tg.id, tg.channel, tg.target)
          FROM tg JOIN lv ON lv.id = tg.id
         CROSS JOIN LATERAL sf_notice('escalation', lv.id, lv.level, p_ref, lv.process_id,
                                      lv.workflow, lv.deadline, lv.title, lv.due, lv.basis,
                                      lv.explain, now_a, p_today, NULL) n
        ON CONFLICT (idem_key) DO NOTHING
        RETURNING escalation_id, payload->>'recipient' AS person, channel, target),
    marked AS (
        UPDATE escalations e
           SET recipients = e.recipients || q.added, updated_at = now()
          FROM (SELECT escalation_id,
                       jsonb_agg(jsonb_build_object('person', person, 'channel', channel,
                                                    'target', target)
                                 ORDER BY person, channel, target) AS added
                  FROM queued GROUP BY escalation_id) q
         WHERE e.id = q.escalation_id
        RETURNING e.id)
    SELECT count(*) INTO told FROM queued;
    RETURN json_build_object('officer', p_officer, 'team', now_a->>'team',
                             'was_officer', was->>'officer', 'was_team', was->>'team',
                             'told', told);
END
$$;
