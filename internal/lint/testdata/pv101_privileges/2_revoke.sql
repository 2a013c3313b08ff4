REVOKE UPDATE, DELETE ON t FROM pg_monitor;
REVOKE SELECT (a) ON t FROM pg_read_all_stats;
-- Gaining a privilege is not reported.
GRANT INSERT ON t TO pg_read_all_stats;
-- Re-created without its grant.
DROP VIEW v;
CREATE VIEW v AS SELECT id, a FROM t;
-- The default EXECUTE for PUBLIC taken back.
REVOKE EXECUTE ON FUNCTION f() FROM PUBLIC;
-- atlas:nolint DS102
DROP TABLE gone;
