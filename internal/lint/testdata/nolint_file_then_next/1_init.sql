CREATE TABLE t (id int);
GRANT SELECT ON t TO pg_monitor;
