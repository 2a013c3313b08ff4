CREATE TABLE t (id int, a int);
GRANT SELECT, UPDATE, DELETE ON t TO pg_monitor;
GRANT SELECT (a) ON t TO pg_read_all_stats;
CREATE VIEW v AS SELECT id FROM t;
GRANT SELECT ON v TO pg_monitor;
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
CREATE TABLE gone (id int);
GRANT SELECT ON gone TO pg_monitor;
