-- The audit trail's rows written with a group commit (schema/009_audit.sql).

-- Append one audit row per element of p_rows, each the "audit" object of a
-- group-commit item (audit_item in daemon/audit.c: clock, who, role, via,
-- on_behalf, op, case, key) with the "detail" the caller adds. The rows are
-- written in the caller's transaction, so with the change they record.
CREATE OR REPLACE FUNCTION sf_audit_items(p_rows jsonb) RETURNS integer
LANGUAGE sql AS $$
WITH ins AS (
    INSERT INTO audit_log (clock, who, role, via, on_behalf, op, case_ref, idem_key, result,
                           detail)
    SELECT a->>'clock', a->>'who', a->>'role', a->>'via', a->>'on_behalf', a->>'op',
           a->>'case', a->>'key', 'ok', a->>'detail'
      FROM jsonb_array_elements(coalesce(p_rows, '[]'::jsonb)) a
    RETURNING 1)
SELECT count(*)::integer FROM ins
$$;
