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
