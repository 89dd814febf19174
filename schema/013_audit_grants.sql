-- 013_audit_grants: the daemon's own database role cannot change the audit
-- trail either (issue 9). The role that runs the migrations owns audit_log,
-- and an owner holds every privilege until it gives them up: it gives up
-- UPDATE, DELETE and TRUNCATE here, so the trail is refused by privilege
-- first and by 009's triggers beside it. (A superuser ignores privileges:
-- run sendflowd as an ordinary role; README "Audit trail".)
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM CURRENT_USER;
