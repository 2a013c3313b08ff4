-- atlas:txmode none

SET LOCAL lock_timeout = '1s';
ALTER TABLE t ADD COLUMN c int;
